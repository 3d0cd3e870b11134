//! The model catalogue as the API shows it (`GET /api/v1/models`): [`ModelList`] of
//! [`ModelInfo`], with prices per 1M tokens.

use serde::{Deserialize, Serialize};

/// One entry of `GET /api/v1/models`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelInfo {
    /// The model id as OpenAI names it (`gpt-4.1-mini-2025-04-14`).
    pub id: String,
    /// A short description for people.
    pub description: String,
    /// Reasoning model (o-series, gpt-5 family): no `temperature`, uses `max_completion_tokens`.
    pub reasoning: bool,
    /// USD per 1M input tokens, realtime.
    pub input_per_1m: f64,
    /// USD per 1M cached input tokens, realtime.
    pub cached_input_per_1m: f64,
    /// USD per 1M output tokens, realtime.
    pub output_per_1m: f64,
    /// Batch price as a fraction of the realtime price (0.5 = half).
    pub batch_price_factor: f64,
    /// Offered on flex processing (`service_tier: "flex"`, Batch API rates).
    #[serde(default)]
    pub flex: bool,
    /// Deprecated by OpenAI: new jobs cannot pick it (400 `deprecated_model`).
    #[serde(default)]
    pub deprecated: bool,
    /// The model to pick instead of a deprecated one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
}

/// `GET /api/v1/models`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelList {
    /// The model used when a request names none.
    pub default_model: String,
    /// The date (`YYYY-MM-DD`, UTC) the prices were checked against their source: "prices as of".
    #[serde(default)]
    pub prices_as_of: String,
    /// Where the prices come from, e.g. `genai-prices 0.2.5` (<https://github.com/pydantic/genai-prices>).
    #[serde(default)]
    pub prices_source: String,
    /// Known models.
    pub models: Vec<ModelInfo>,
}
