//! Counters the emulator keeps for tests: [`CallCounts`] (requests per endpoint) and
//! [`ResponseStats`] (the Conversations and Responses stand-ins). Plain data: this module uses no
//! other module of the crate.

use std::collections::BTreeMap;

/// Requests received per endpoint (counted once the request is authenticated).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallCounts {
    /// `GET /v4/spreadsheets/{id}`.
    pub spreadsheets_get: usize,
    /// `GET /v4/spreadsheets/{id}/values/{range}`.
    pub values_get: usize,
    /// `GET /v4/spreadsheets/{id}/values:batchGet`.
    pub values_batch_get: usize,
    /// `POST /v4/spreadsheets/{id}/values:batchUpdate`.
    pub values_batch_update: usize,
    /// `POST /v4/spreadsheets/{id}/values:batchGetByDataFilter`.
    pub values_batch_get_by_data_filter: usize,
    /// `POST /v4/spreadsheets/{id}/values:batchUpdateByDataFilter`.
    pub values_batch_update_by_data_filter: usize,
    /// `PUT /v4/spreadsheets/{id}/values/{range}`.
    pub values_update: usize,
    /// `POST /v4/spreadsheets/{id}:getByDataFilter`.
    pub spreadsheets_get_by_data_filter: usize,
    /// `POST /v4/spreadsheets/{id}:batchUpdate`.
    pub spreadsheets_batch_update: usize,
    /// `GET /v4/spreadsheets/{id}/developerMetadata/{metadataId}`.
    pub developer_metadata_get: usize,
    /// `POST /v4/spreadsheets/{id}/developerMetadata:search`.
    pub developer_metadata_search: usize,
    /// `POST /v1/files`.
    pub files_create: usize,
    /// `POST /v1/batches`.
    pub batches_create: usize,
    /// `GET /v1/batches/{id}`.
    pub batches_retrieve: usize,
    /// `GET /v1/batches`.
    pub batches_list: usize,
    /// `POST /v1/batches/{id}/cancel`.
    pub batches_cancel: usize,
    /// `POST /v1/chat/completions`.
    pub chat_completions: usize,
    /// `POST /token` (every request, accepted or not).
    pub token: usize,
    /// `GET /oauth2/v3/certs`.
    pub jwks: usize,
    /// `GET /computeMetadata/v1/instance/service-accounts/default/token` (every request).
    pub metadata_token: usize,
}

impl CallCounts {
    /// Every Sheets API call counted (all of `/v4/spreadsheets/…`).
    pub fn sheets(&self) -> usize {
        self.spreadsheets_get
            + self.values_get
            + self.values_batch_get
            + self.values_batch_update
            + self.values_batch_get_by_data_filter
            + self.values_batch_update_by_data_filter
            + self.values_update
            + self.spreadsheets_get_by_data_filter
            + self.spreadsheets_batch_update
            + self.developer_metadata_get
            + self.developer_metadata_search
    }
}

/// Counters of the Conversations and Responses stand-ins (see
/// [`crate::Emulator::response_stats`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResponseStats {
    /// `POST /v1/conversations` that created a conversation.
    pub conversations_created: usize,
    /// `POST /v1/responses` that created a response (refused requests are not counted).
    pub created: usize,
    /// … of which with `background: true`.
    pub background: usize,
    /// … of which with `stream: true`.
    pub streamed: usize,
    /// Responses created per conversation id.
    pub per_conversation: BTreeMap<String, usize>,
    /// `GET /v1/responses/{id}` calls (polls).
    pub retrieved: usize,
    /// Responses that ended `completed`.
    pub completed: usize,
    /// … `failed`.
    pub failed: usize,
    /// … `incomplete`.
    pub incomplete: usize,
    /// … `cancelled`.
    pub cancelled: usize,
    /// `function_call` items the model emitted.
    pub function_calls: usize,
    /// Code interpreter runs.
    pub code_interpreter_runs: usize,
    /// `POST /v1/responses` refused with 429 by the rate limiter.
    pub throttled: usize,
}
