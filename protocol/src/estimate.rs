//! What generating rows would cost (`POST /api/v1/estimate`): the rows asked about
//! ([`EstimateRequest`] of [`EstimateRow`]s) and the answer ([`Estimate`]: tokens, [`Cost`] in
//! batch and realtime mode, waits, and each row's [`RowEstimate`]).

use serde::{Deserialize, Serialize};

/// A row for `POST /api/v1/estimate`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EstimateRow {
    /// The row's id (column A): at most 64 characters, no control characters, not blank.
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 64,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    pub id: String,
    /// The row's title (column B): at most 500 characters.
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub title: String,
}

/// `POST /api/v1/estimate`: what generating these rows would cost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EstimateRequest {
    /// A model id from `GET /api/v1/models`.
    pub model: String,
    /// The rows to send (rows already filled should be left out by the caller); at most 50,000.
    #[cfg_attr(feature = "openapi", schema(max_items = 50_000))]
    pub rows: Vec<EstimateRow>,
}

/// A cost split by token kind, in US dollars.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cost {
    /// Input (prompt) tokens, including cached ones at their price.
    pub input_usd: f64,
    /// Output (completion) tokens, reasoning tokens included.
    pub output_usd: f64,
    /// `input_usd + output_usd`.
    pub total_usd: f64,
}

/// The answer of `POST /api/v1/estimate`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Estimate {
    /// The resolved model id.
    pub model: String,
    /// Rows counted.
    pub rows: u64,
    /// Input tokens of all requests, counted with the model's tokenizer.
    pub input_tokens: u64,
    /// Of `input_tokens`, how many repeat the shared system prompt and may be billed at the cached rate.
    pub cached_input_tokens: u64,
    /// Expected output tokens (an estimate: answers vary).
    pub output_tokens: u64,
    /// Cost through the Batch API.
    pub batch: Cost,
    /// Cost through realtime Chat Completions calls.
    pub realtime: Cost,
    /// Expected wait in batch mode, in seconds (typical, not the 24 h bound).
    pub batch_wait_seconds: u64,
    /// Expected wait in realtime mode, in seconds.
    pub realtime_wait_seconds: u64,
    /// Where `output_tokens` comes from: `history` (the average of finished jobs with the same
    /// model and prompt template) or `catalogue` (the model's typical figure), capped by the
    /// output limit of every request.
    #[serde(default)]
    pub output_tokens_source: String,
    /// Each row's own figures, in the order given.
    #[serde(default)]
    pub per_row: Vec<RowEstimate>,
    /// The date (`YYYY-MM-DD`, UTC) the catalogue's prices were checked against their source:
    /// the estimate's "prices as of" (as `prices_as_of` of `GET /api/v1/models`).
    #[serde(default)]
    pub prices_as_of: String,
}

/// One row of an [`Estimate`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowEstimate {
    /// The row's id (column A).
    pub id: String,
    /// Input tokens of this row's request body.
    pub input_tokens: u64,
    /// Expected output tokens.
    pub output_tokens: u64,
    /// Cost through the Batch API, USD.
    pub batch_usd: f64,
    /// Cost through realtime calls, USD.
    pub realtime_usd: f64,
}
