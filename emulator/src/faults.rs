//! Failures and pauses a test can inject into the emulator, as plain data kept in the state:
//!
//! - [`Faults`]: what goes wrong with batch rows ([`RowFault`]), batch expiry, the enqueued-token
//!   limit and invalid input lines;
//! - [`CallFault`]s answer whole calls with a 429 or 5xx in the service's own error shape
//!   (OpenAI's `{"error":{"message","type","param","code"}}`, Google's
//!   `{"error":{"code","message","status"}}`), cut the connection mid-response, or answer late
//!   (after the effect), for a number of calls — the transient faults a client must wait out
//!   (applied by [`crate::inject`]);
//! - [`ResponseFault`]s make model responses fail, break off or end incomplete;
//! - holds stop one response at a [`HoldPoint`] *after* its effect is applied (the batch is
//!   created, the cells are written) and before it is sent, so that a test can kill the client
//!   exactly between "the remote side did it" and "the client learnt it" ([`Armed`] here, the
//!   handle and the waiting in [`crate::holds`]).
//!
//! This module uses no other module of the crate.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::Method;
use tokio::sync::{Notify, oneshot};

/// Failures to inject into batches. Applied when a request runs, so setting faults affects
/// requests that have not run yet.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// custom_id → what goes wrong with that request of a batch; for `POST /v1/chat/completions`
    /// (no custom_id) the key is the title the request is about.
    pub rows: HashMap<String, RowFault>,
    /// End every batch `expired` after this many requests are done.
    pub expire_after: Option<usize>,
    /// The next this-many batches fail in validation with `token_limit_exceeded` (the enqueued
    /// token limit of the organization), as the Batch API does when too many tokens are queued.
    pub token_limit_batches: usize,
    /// custom_id → `(code, message)`: validation reports that line as invalid, which fails the
    /// whole batch (`status: failed`, one `errors.data[]` entry per bad line), as the Batch API
    /// does (e.g. `model_not_found`).
    pub invalid_lines: HashMap<String, (String, String)>,
    /// Failures of whole HTTP calls (429, 5xx, cut connections), applied in order of the list:
    /// the first fault whose target matches a call and has calls left answers it.
    pub calls: Vec<CallFault>,
    /// Failures of model responses (`POST /v1/responses`): mid-stream `error` events or
    /// `response.failed`, cut streams, responses that end `failed` or `incomplete`. See
    /// [`ResponseFault`].
    pub responses: Vec<ResponseFault>,
}

/// What goes wrong with one request of a batch.
#[derive(Clone, Debug)]
pub enum RowFault {
    /// The model answers text that is not JSON.
    InvalidJson,
    /// The model's JSON lacks this field.
    MissingField(String),
    /// The request fails with this HTTP status (error in response.body.error).
    HttpError(u16),
    /// The model answers this value for every text field (e.g. "=SUM(A1:A2)") — to test formula
    /// injection. (`year` keeps its generated value.)
    Text(String),
    /// The model refuses: `message.content` is null and `message.refusal` holds this text
    /// (<https://platform.openai.com/docs/guides/structured-outputs#refusals>).
    Refusal(String),
    /// The answer hits the token limit: `finish_reason: "length"` and the JSON cut in half.
    Truncated,
}

/// Which calls a [`CallFault`] hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultTarget {
    /// Every OpenAI call under `/v1`.
    OpenAi,
    /// `POST /v1/batches` only (batch creation; a 429 here is the "batch creation rate limit").
    OpenAiBatchCreate,
    /// `POST /v1/responses` only (creating a model response; a 429 carries `retry-after: 1`).
    OpenAiResponses,
    /// Every Sheets call under `/v4/spreadsheets/`.
    Sheets,
    /// Sheets writes of values only (`values:batchUpdate`, `values:batchUpdateByDataFilter`,
    /// `values.update`).
    SheetsWrite,
}

impl FaultTarget {
    /// Whether a call with `method` to `path` is one of these calls.
    pub(crate) fn matches(self, method: &Method, path: &str) -> bool {
        match self {
            FaultTarget::OpenAi => path.starts_with("/v1/"),
            FaultTarget::OpenAiBatchCreate => method == Method::POST && path == "/v1/batches",
            FaultTarget::OpenAiResponses => method == Method::POST && path == "/v1/responses",
            FaultTarget::Sheets => path.starts_with("/v4/spreadsheets/"),
            FaultTarget::SheetsWrite => {
                path.starts_with("/v4/spreadsheets/")
                    && path.contains("/values")
                    && (method == Method::PUT
                        || path.ends_with(":batchUpdate")
                        || path.ends_with(":batchUpdateByDataFilter"))
            }
        }
    }
}

/// How a faulted call goes wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallFaultKind {
    /// An error response with this HTTP status (429 carries `Retry-After: 1` for Sheets and
    /// OpenAI's `rate_limit_exceeded` code).
    Status(u16),
    /// A `200` whose body breaks off: the client sees the connection end mid-response.
    Reset,
    /// The call is carried out, then its answer waits this long — a client with a shorter timeout
    /// gives up although the effect (a created batch, written cells) happened.
    Delay(std::time::Duration),
    /// The call is carried out as usual: placed before other faults of the same target, lets the
    /// first `times` calls through (the third write of a job fails, not the first).
    Pass,
}

/// A failure of the next `times` calls to `target`.
#[derive(Clone, Debug)]
pub struct CallFault {
    /// Which calls.
    pub target: FaultTarget,
    /// What happens to them.
    pub kind: CallFaultKind,
    /// How many calls fail; `usize::MAX` for "until the faults are replaced".
    pub times: usize,
}

/// What goes wrong with a model response (see [`ResponseFault`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseFaultKind {
    /// Streams only: after `after_events` events (clamped to before the terminal event) an
    /// `error` event (`code: "server_error"`) ends the stream; the response ends `failed`.
    ErrorEvent {
        /// Events sent before the error.
        after_events: usize,
    },
    /// Streams only: after `after_events` events a `response.failed` event (the response with
    /// `status: "failed"`, `error.code: "server_error"`) ends the stream.
    FailedEvent {
        /// Events sent before `response.failed`.
        after_events: usize,
    },
    /// Streams only: after `after_events` events the connection is cut (the body errors, hyper
    /// aborts it). The response itself goes on and ends as planned: `GET /v1/responses/{id}`
    /// shows it, and a background stream resumes with `GET …?stream=true&starting_after=N`.
    Cut {
        /// Events sent before the cut.
        after_events: usize,
    },
    /// Any mode: the response ends `failed` (`error: {"code": "server_error", …}`, no output); a
    /// stream sends `response.created`, `response.in_progress`, `response.failed`.
    Failed,
    /// Any mode: the response ends `incomplete` (`incomplete_details.reason:
    /// "max_output_tokens"`): the answer's text is cut to half its characters and its message
    /// has `status: "incomplete"`.
    Incomplete,
    /// Any mode: each `container_file_citation` of the answer names a file in another container
    /// (a new one, holding a copy of the cited file) than the one its `code_interpreter_call` ran
    /// in — what a confused or manipulated answer could cite; the client must not fetch it.
    ForeignCitation,
}

impl ResponseFaultKind {
    /// Whether this kind applies only to `stream: true` requests.
    pub fn streams_only(self) -> bool {
        matches!(
            self,
            ResponseFaultKind::ErrorEvent { .. }
                | ResponseFaultKind::FailedEvent { .. }
                | ResponseFaultKind::Cut { .. }
        )
    }
}

/// A fault for the next `times` `POST /v1/responses` it applies to, in the order of
/// [`Faults::responses`]: the first fault with calls left, whose
/// `matching` text (if any) is in the latest user message and whose kind fits the request
/// (stream-only kinds skip non-streaming requests), is used and counted.
#[derive(Clone, Debug)]
pub struct ResponseFault {
    /// What goes wrong.
    pub kind: ResponseFaultKind,
    /// Only requests whose latest user message contains this text; `None` = any request.
    pub matching: Option<String>,
    /// How many requests it hits; `usize::MAX` for "until the faults are replaced".
    pub times: usize,
}

/// Points where [`Emulator::hold_next`](crate::Emulator::hold_next) can stop a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldPoint {
    /// `GET /v1/files`: the list is made (nothing changes; a client looking for a file it may
    /// have uploaded before waits here, before it uploads).
    FilesListed,
    /// `POST /v1/files`: the file is stored.
    FileUploaded,
    /// `POST /v1/batches`: the batch exists.
    BatchCreated,
    /// `GET /v1/batches/{id}`.
    BatchRetrieved,
    /// `GET /v1/files/{id}/content`.
    FileContent,
    /// `GET /v4/spreadsheets/{id}` (spreadsheets.get).
    SpreadsheetGet,
    /// `values:batchGet` or `values:batchGetByDataFilter`.
    ValuesBatchGet,
    /// `values:batchUpdate` or `values:batchUpdateByDataFilter`: the cells are written.
    ValuesBatchUpdated,
}

/// An armed hold, kept in the state until a call reaches its point.
pub struct Armed {
    /// Where the call stops.
    pub(crate) point: HoldPoint,
    /// Told when a call gets there (taken then).
    pub(crate) reached: Option<oneshot::Sender<()>>,
    /// Notified to let the held call go on.
    pub(crate) release: Arc<Notify>,
}
