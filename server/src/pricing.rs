//! The model catalogue and cost estimates.
//!
//! Models and prices live in a data file, `server/data/models.toml`, not in code: it is embedded in
//! the binary ([`Catalog::builtin`]) and a replacement can be loaded from a path
//! ([`Catalog::from_path`]). A [`ModelSpec`] says what a model costs (USD per 1M tokens, realtime
//! prices, and the Batch API discount factor) and how requests to it are shaped (reasoning or not,
//! output cap, temperature, reasoning effort) — [`crate::openai::jsonl`] reads the latter.
//!
//! [`estimate`] answers "what would generating these rows cost?" before anything is sent: input
//! tokens are counted with the model's tokenizer (tiktoken) over exactly the messages
//! [`crate::openai::jsonl`] will send; output tokens are the catalogue's typical figures. See
//! [`estimate`] for the assumptions, in particular about prompt caching.
//!
//! Prices: <https://platform.openai.com/docs/pricing>; batch discount:
//! <https://platform.openai.com/docs/guides/batch>; caching:
//! <https://platform.openai.com/docs/guides/prompt-caching>.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::sync::OnceLock;

use almanac_protocol::{Cost, Estimate, Mode, ModelInfo, ModelList, RowEstimate, TokenUsage};
use serde::Deserialize;
use tiktoken_rs::CoreBPE;

use crate::domain::RowInput;

/// The catalogue shipped with the server (`server/data/models.toml`).
const BUILTIN_TOML: &str = include_str!("../data/models.toml");

/// Realtime requests the wait estimate assumes are in flight at once. A conservative figure:
/// realtime mode itself runs as fast as the account's rate limits allow (`jobs::pacer`), which
/// the estimate cannot know before the first answer.
pub const REALTIME_CONCURRENCY: u64 = 8;

/// Prompt caching applies only when the shared prefix of a request is at least this long, in tokens
/// (<https://platform.openai.com/docs/guides/prompt-caching>).
pub const MIN_CACHEABLE_PREFIX_TOKENS: u64 = 1024;

/// Cache hits grow in steps of this many tokens beyond [`MIN_CACHEABLE_PREFIX_TOKENS`].
pub const CACHE_INCREMENT_TOKENS: u64 = 128;

/// Framing tokens per chat message (`<|start|>{role}<|message|>…<|end|>` minus the role itself),
/// as in OpenAI's cookbook "How to count tokens with tiktoken".
const TOKENS_PER_MESSAGE: u64 = 3;

/// Tokens that prime the assistant's reply, once per request (same source).
const REPLY_PRIMING_TOKENS: u64 = 3;

/// The longest wait the Batch API allows (`completion_window: "24h"`), in seconds.
const BATCH_WINDOW_SECONDS: u64 = 24 * 60 * 60;

/// A tiktoken encoding, as named in the data file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tokenizer {
    /// `o200k_base`: GPT-4o, GPT-4.1, GPT-5 and the o-series.
    O200kBase,
    /// `cl100k_base`: GPT-4 and GPT-3.5.
    Cl100kBase,
}

impl Tokenizer {
    /// The encoder, built once per process and shared (building it takes a noticeable fraction of
    /// a second; tiktoken-rs keeps it in a static).
    fn bpe(self) -> &'static CoreBPE {
        match self {
            Tokenizer::O200kBase => tiktoken_rs::o200k_base_singleton(),
            Tokenizer::Cl100kBase => tiktoken_rs::cl100k_base_singleton(),
        }
    }

    /// Tokens in `text` (no special tokens).
    fn count(self, text: &str) -> u64 {
        self.bpe().encode_ordinary(text).len() as u64
    }
}

/// One model of the catalogue: one `[[models]]` table of `models.toml`.
///
/// Money is US dollars per 1M tokens at realtime prices; the Batch API charges
/// `batch_price_factor` times these (<https://platform.openai.com/docs/guides/batch>).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The dated snapshot id sent as `body.model`, e.g. `gpt-4.1-mini-2025-04-14`.
    pub id: String,
    /// One line for people.
    pub description: String,
    /// A reasoning model (o-series, gpt-5 family): requests carry no `temperature` and cap the
    /// output with `max_completion_tokens`; hidden reasoning tokens are billed as output.
    pub reasoning: bool,
    /// USD per 1M input tokens, realtime.
    pub input_per_1m: f64,
    /// USD per 1M cached input tokens, realtime.
    pub cached_input_per_1m: f64,
    /// USD per 1M output tokens (reasoning included), realtime.
    pub output_per_1m: f64,
    /// Batch price divided by realtime price, in (0, 1]; 0.5 for every model today.
    pub batch_price_factor: f64,
    /// The tiktoken encoding used to count input tokens.
    pub tokenizer: Tokenizer,
    /// Output cap sent with every request (`max_tokens`, or `max_completion_tokens` for reasoning
    /// models where it covers reasoning and answer together).
    pub max_output_tokens: u32,
    /// Expected visible answer length per request, in tokens (estimates only).
    pub typical_output_tokens: u32,
    /// Expected hidden reasoning tokens per request, 0 for non-reasoning models (estimates only).
    #[serde(default)]
    pub typical_reasoning_tokens: u32,
    /// `temperature` for non-reasoning models; `None` leaves the API default.
    #[serde(default)]
    pub temperature: Option<f32>,
    /// `reasoning_effort` for reasoning models (`minimal`, `low`, `medium`, `high`); `None` leaves
    /// the API default.
    #[serde(default)]
    pub reasoning_effort: Option<String>,
    /// Rough wall time of a small batch (a few hundred requests), in minutes.
    pub typical_batch_minutes: f64,
    /// Rough extra batch wall time per 1,000 requests, in minutes.
    pub batch_minutes_per_1000_rows: f64,
    /// Rough latency of one realtime request, in seconds.
    pub typical_request_seconds: f64,
}

impl ModelSpec {
    /// The id without its `-YYYY-MM-DD` snapshot date (`o3-2025-04-16` → `o3`); the id itself when
    /// it has no date.
    pub fn short_id(&self) -> &str {
        strip_date(&self.id)
    }

    /// The entry of `GET /api/v1/models` for this model.
    pub fn info(&self) -> ModelInfo {
        ModelInfo {
            id: self.id.clone(),
            description: self.description.clone(),
            reasoning: self.reasoning,
            input_per_1m: self.input_per_1m,
            cached_input_per_1m: self.cached_input_per_1m,
            output_per_1m: self.output_per_1m,
            batch_price_factor: self.batch_price_factor,
        }
    }

    fn validate(&self) -> Result<(), String> {
        let id = &self.id;
        if id.trim().is_empty() || id.trim() != id {
            return Err(format!(
                "model id {id:?} is empty or has surrounding spaces"
            ));
        }
        for (name, price) in [
            ("input_per_1m", self.input_per_1m),
            ("cached_input_per_1m", self.cached_input_per_1m),
            ("output_per_1m", self.output_per_1m),
            ("typical_batch_minutes", self.typical_batch_minutes),
            (
                "batch_minutes_per_1000_rows",
                self.batch_minutes_per_1000_rows,
            ),
            ("typical_request_seconds", self.typical_request_seconds),
        ] {
            if !price.is_finite() || price < 0.0 {
                return Err(format!("model `{id}`: {name} must be a number >= 0"));
            }
        }
        if !(self.batch_price_factor > 0.0 && self.batch_price_factor <= 1.0) {
            return Err(format!(
                "model `{id}`: batch_price_factor must be in (0, 1], got {}",
                self.batch_price_factor
            ));
        }
        let typical =
            u64::from(self.typical_output_tokens) + u64::from(self.typical_reasoning_tokens);
        if self.max_output_tokens == 0 || typical > u64::from(self.max_output_tokens) {
            return Err(format!(
                "model `{id}`: max_output_tokens ({}) must be > 0 and cover typical_output_tokens + typical_reasoning_tokens ({typical})",
                self.max_output_tokens
            ));
        }
        if self.reasoning {
            if self.temperature.is_some() {
                return Err(format!(
                    "model `{id}` is a reasoning model: it does not accept `temperature`; remove it"
                ));
            }
            if let Some(effort) = &self.reasoning_effort
                && !["minimal", "low", "medium", "high"].contains(&effort.as_str())
            {
                return Err(format!(
                    "model `{id}`: reasoning_effort must be minimal, low, medium or high, got {effort:?}"
                ));
            }
        } else {
            if self.reasoning_effort.is_some() || self.typical_reasoning_tokens != 0 {
                return Err(format!(
                    "model `{id}` is not a reasoning model: remove reasoning_effort and typical_reasoning_tokens"
                ));
            }
            if let Some(t) = self.temperature
                && !(0.0..=2.0).contains(&t)
            {
                return Err(format!(
                    "model `{id}`: temperature must be in [0, 2], got {t}"
                ));
            }
        }
        Ok(())
    }
}

/// The whole catalogue: the contents of `models.toml`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// The model used when a request names none; one of `models`.
    pub default_model: String,
    /// Known models, in the order the sidebar lists them.
    pub models: Vec<ModelSpec>,
}

/// Why a catalogue file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file could not be read.
    #[error("cannot read the model catalogue {path}: {source}")]
    Io {
        /// The path given.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not have the catalogue's shape.
    #[error("the model catalogue is not valid: {0}")]
    Parse(#[from] toml::de::Error),
    /// The values break a rule (duplicate id, default not listed, temperature on a reasoning model…).
    #[error("the model catalogue is not valid: {0}")]
    Invalid(String),
}

impl Catalog {
    /// The catalogue embedded from `server/data/models.toml`, parsed on first use.
    ///
    /// # Panics
    /// Never at run time for a released binary: the embedded file is checked by a unit test.
    pub fn builtin() -> &'static Catalog {
        static BUILTIN: OnceLock<Catalog> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            Catalog::from_toml_str(BUILTIN_TOML).expect("server/data/models.toml is valid")
        })
    }

    /// Parses and checks a catalogue in the `models.toml` format.
    ///
    /// # Errors
    /// [`CatalogError::Parse`] for bad TOML, unknown or missing keys; [`CatalogError::Invalid`]
    /// when no model is listed, an id repeats, `default_model` is not listed, a price is negative,
    /// `batch_price_factor` is outside (0, 1], or a reasoning model has a `temperature`.
    pub fn from_toml_str(s: &str) -> Result<Catalog, CatalogError> {
        let catalog: Catalog = toml::from_str(s)?;
        catalog.validate().map_err(CatalogError::Invalid)?;
        Ok(catalog)
    }

    /// Reads and checks a catalogue file (same format as the embedded one).
    ///
    /// # Errors
    /// [`CatalogError::Io`] when the file cannot be read, else as [`Catalog::from_toml_str`].
    pub fn from_path(path: &Path) -> Result<Catalog, CatalogError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Catalog::from_toml_str(&text)
    }

    fn validate(&self) -> Result<(), String> {
        if self.models.is_empty() {
            return Err("no [[models]] listed".into());
        }
        let mut seen = HashSet::new();
        for m in &self.models {
            m.validate()?;
            if !seen.insert(m.id.as_str()) {
                return Err(format!("model `{}` is listed twice", m.id));
            }
        }
        if !seen.contains(self.default_model.as_str()) {
            return Err(format!(
                "default_model `{}` is not one of the listed models",
                self.default_model
            ));
        }
        Ok(())
    }

    /// The spec of [`Catalog::default_model`].
    pub fn default_spec(&self) -> &ModelSpec {
        self.models
            .iter()
            .find(|m| m.id == self.default_model)
            .expect("validated: default_model is listed")
    }

    /// Finds a model by id.
    ///
    /// Accepts the exact id; the id in another letter case; or the id without its snapshot date
    /// when exactly one model has that short id (`o3` → `o3-2025-04-16`). The returned spec always
    /// carries the full dated id.
    ///
    /// # Errors
    /// [`UnknownModel`] with the nearest known id (by edit distance, when one is close enough) and
    /// the list of known ids.
    pub fn resolve(&self, id: &str) -> Result<&ModelSpec, UnknownModel> {
        let wanted = id.trim();
        if let Some(m) = self.models.iter().find(|m| m.id == wanted) {
            return Ok(m);
        }
        let lower = wanted.to_lowercase();
        if let Some(m) = self.models.iter().find(|m| m.id.to_lowercase() == lower) {
            return Ok(m);
        }
        let mut by_short = self
            .models
            .iter()
            .filter(|m| m.short_id().to_lowercase() == lower);
        if let (Some(m), None) = (by_short.next(), by_short.next()) {
            return Ok(m);
        }
        Err(UnknownModel {
            requested: wanted.to_owned(),
            nearest: self.nearest(&lower).map(str::to_owned),
            known: self.models.iter().map(|m| m.id.clone()).collect(),
        })
    }

    /// The known id most similar to `wanted` (normalized Levenshtein similarity over the full id
    /// and the short id, at least 0.5), if any.
    fn nearest(&self, wanted: &str) -> Option<&str> {
        const MIN_SIMILARITY: f64 = 0.5;
        let mut best: Option<(&str, f64)> = None;
        for m in &self.models {
            let score = strsim::normalized_levenshtein(wanted, &m.id.to_lowercase()).max(
                strsim::normalized_levenshtein(wanted, &m.short_id().to_lowercase()),
            );
            if score >= MIN_SIMILARITY && best.is_none_or(|(_, s)| score > s) {
                best = Some((&m.id, score));
            }
        }
        best.map(|(id, _)| id)
    }

    /// The answer of `GET /api/v1/models`: every model in catalogue order and the default.
    pub fn model_list(&self) -> ModelList {
        ModelList {
            default_model: self.default_model.clone(),
            models: self.models.iter().map(ModelSpec::info).collect(),
        }
    }
}

/// `-YYYY-MM-DD` at the end of an id is a snapshot date.
fn strip_date(id: &str) -> &str {
    const DATE_LEN: usize = "-2025-04-16".len();
    if id.len() <= DATE_LEN || !id.is_char_boundary(id.len() - DATE_LEN) {
        return id;
    }
    let (head, tail) = id.split_at(id.len() - DATE_LEN);
    let shape_ok = tail.bytes().enumerate().all(|(i, b)| match i {
        0 | 5 | 8 => b == b'-',
        _ => b.is_ascii_digit(),
    });
    if shape_ok { head } else { id }
}

/// A model id that is not in the catalogue.
///
/// Displays as: ``unknown model `o3-2025-04-26`; did you mean `o3-2025-04-16`? Known models: …``.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownModel {
    /// The id asked for (trimmed).
    pub requested: String,
    /// The closest known id, when one is close enough to be a likely typo.
    pub nearest: Option<String>,
    /// Every known id, in catalogue order.
    pub known: Vec<String>,
}

impl fmt::Display for UnknownModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown model `{}`", self.requested)?;
        if let Some(nearest) = &self.nearest {
            write!(f, "; did you mean `{nearest}`?")?;
        }
        write!(f, " Known models: {}", self.known.join(", "))
    }
}

impl std::error::Error for UnknownModel {}

/// Input tokens of one Chat Completions request body, counted the way OpenAI's cookbook ("How to
/// count tokens with tiktoken") counts chat input, with the model's encoding:
///
/// - per message: 3 framing tokens + the role + the content (text parts of an array are counted
///   as text) + 1 and the name when a `name` is given;
/// - 3 tokens priming the reply;
/// - structured outputs: the compact JSON text of `response_format.json_schema`. How the service
///   renders the schema internally is not published; this is the approximation the emulator uses
///   too, so the estimate and the emulator's `usage.prompt_tokens` agree exactly.
///
/// `body` is the exact body sent ([`crate::openai::jsonl::request_body`]). Long texts that repeat
/// in every body (the system prompt, the schema) are counted once per process and remembered.
pub fn request_input_tokens(tokenizer: Tokenizer, body: &serde_json::Value) -> u64 {
    let mut tokens = REPLY_PRIMING_TOKENS;
    for message in body
        .get("messages")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
    {
        tokens += TOKENS_PER_MESSAGE;
        if let Some(role) = message.get("role").and_then(serde_json::Value::as_str) {
            tokens += count_remembered(tokenizer, role);
        }
        match message.get("content") {
            Some(serde_json::Value::String(text)) => tokens += count_remembered(tokenizer, text),
            Some(serde_json::Value::Array(parts)) => {
                for part in parts {
                    if let Some(text) = part.get("text").and_then(serde_json::Value::as_str) {
                        tokens += count_remembered(tokenizer, text);
                    }
                }
            }
            _ => {}
        }
        if let Some(name) = message.get("name").and_then(serde_json::Value::as_str) {
            tokens += 1 + tokenizer.count(name);
        }
    }
    if let Some(schema) = body.pointer("/response_format/json_schema") {
        let text = serde_json::to_string(schema).expect("a JSON value serializes");
        tokens += count_remembered(tokenizer, &text);
    }
    tokens
}

/// Tokens of the part of [`request_input_tokens`] that every request of a job shares (system
/// messages and the schema): the prefix a provider may serve from its prompt cache.
fn shared_prefix_tokens(tokenizer: Tokenizer, body: &serde_json::Value) -> u64 {
    let system_only = serde_json::json!({
        "messages": body
            .get("messages")
            .and_then(serde_json::Value::as_array)
            .map(|m| {
                m.iter()
                    .filter(|m| m.get("role").and_then(serde_json::Value::as_str) == Some("system"))
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
        "response_format": body.get("response_format").cloned().unwrap_or_default(),
    });
    request_input_tokens(tokenizer, &system_only) - REPLY_PRIMING_TOKENS
}

/// Counts `text`; texts of 256 bytes or more (the system prompt, the schema) are remembered, so
/// counting 50,000 bodies encodes them once.
fn count_remembered(tokenizer: Tokenizer, text: &str) -> u64 {
    use std::collections::HashMap;
    use std::sync::Mutex;
    const REMEMBER_FROM_BYTES: usize = 256;
    const MAX_REMEMBERED: usize = 64;
    if text.len() < REMEMBER_FROM_BYTES {
        return tokenizer.count(text);
    }
    static MEMO: OnceLock<Mutex<HashMap<(Tokenizer, String), u64>>> = OnceLock::new();
    let memo = MEMO.get_or_init(Default::default);
    let key = (tokenizer, text.to_owned());
    if let Some(n) = memo.lock().expect("not poisoned").get(&key) {
        return *n;
    }
    let n = tokenizer.count(text);
    let mut memo = memo.lock().expect("not poisoned");
    if memo.len() >= MAX_REMEMBERED {
        memo.clear();
    }
    memo.insert(key, n);
    n
}

/// Of a request whose shared prefix is `prefix` tokens, how many a cache hit covers.
fn cacheable_tokens(prefix: u64) -> u64 {
    if prefix < MIN_CACHEABLE_PREFIX_TOKENS {
        0
    } else {
        prefix - prefix % CACHE_INCREMENT_TOKENS
    }
}

/// The expected output tokens per request, and where the figure comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutputPrediction {
    /// Output tokens (reasoning included) expected per request.
    pub tokens_per_row: u64,
    /// `"history"` or `"catalogue"` (see [`predict_output`]).
    pub source: &'static str,
}

/// Predicts output tokens per request: the average `completion_tokens` per row of finished jobs
/// with the same model and prompt template when there is one (`history`, from the store), else the
/// catalogue's `typical_output_tokens + typical_reasoning_tokens`; either way at most the
/// schema's limit for one answer, the request's `max_output_tokens` (an answer cannot be longer).
pub fn predict_output(spec: &ModelSpec, history_per_row: Option<f64>) -> OutputPrediction {
    let cap = u64::from(spec.max_output_tokens);
    match history_per_row.filter(|n| n.is_finite() && *n > 0.0) {
        Some(avg) => OutputPrediction {
            tokens_per_row: (avg.round() as u64).clamp(1, cap),
            source: "history",
        },
        None => OutputPrediction {
            tokens_per_row: (u64::from(spec.typical_output_tokens)
                + u64::from(spec.typical_reasoning_tokens))
            .min(cap),
            source: "catalogue",
        },
    }
}

/// Tokens charged against a tokens-per-minute rate limit by one request: its input tokens plus its
/// output cap (`max_tokens` / `max_completion_tokens`), as OpenAI counts them before the request
/// runs (<https://platform.openai.com/docs/guides/rate-limits>).
pub fn rate_limit_tokens(spec: &ModelSpec, input_tokens: u64) -> u64 {
    input_tokens + u64::from(spec.max_output_tokens)
}

/// What generating these rows would cost and how long it would take, with the catalogue's output
/// figure. Same as [`estimate_with`] with [`predict_output`]`(spec, None)`.
pub fn estimate(spec: &ModelSpec, rows: &[RowInput]) -> Estimate {
    estimate_with(spec, rows, predict_output(spec, None))
}

/// Same as [`estimate`] over bare titles (row ids `1`, `2`, … in the per-row figures).
pub fn estimate_titles<'a>(
    spec: &ModelSpec,
    titles: impl IntoIterator<Item = &'a str>,
) -> Estimate {
    let rows: Vec<RowInput> = titles
        .into_iter()
        .enumerate()
        .map(|(i, title)| RowInput {
            id: crate::domain::RowId::parse(&(i + 1).to_string()).expect("a number is a row id"),
            title: title.to_owned(),
        })
        .collect();
    estimate(spec, &rows)
}

/// What generating one request per row would cost and how long it would take.
///
/// - `input_tokens`: [`request_input_tokens`] of each row's exact request body
///   ([`crate::openai::jsonl::request_body`]), with the model's tokenizer.
/// - `cached_input_tokens`: prompt caching covers a shared prefix only when it is at least
///   [`MIN_CACHEABLE_PREFIX_TOKENS`] (1024) tokens long, in steps of [`CACHE_INCREMENT_TOKENS`].
///   The shared prefix is the system message and the schema; for every request but the first, its
///   cacheable part is priced at `cached_input_per_1m`. Today's prompt is well under 1024 tokens,
///   so this is **0** and the estimate does not pretend otherwise. Caching is best effort even
///   when it applies, so a non-zero figure is an upper bound of the saving.
/// - `output_tokens`: `prediction.tokens_per_row` per row (see [`predict_output`]).
/// - `batch` / `realtime`: input at `input_per_1m` (cached part at `cached_input_per_1m`), output
///   at `output_per_1m`; batch is realtime × `batch_price_factor`. USD, unrounded. `per_row` has
///   each row's share (the cache saving goes to rows after the first).
/// - `batch_wait_seconds`: `typical_batch_minutes + batch_minutes_per_1000_rows × rows / 1000`,
///   at most 24 h. `realtime_wait_seconds`: `typical_request_seconds` per request with
///   [`REALTIME_CONCURRENCY`] requests in flight. Both 0 for no rows.
pub fn estimate_with(
    spec: &ModelSpec,
    rows: &[RowInput],
    prediction: OutputPrediction,
) -> Estimate {
    let per_token = |usd_per_1m: f64| usd_per_1m / 1_000_000.0;
    let mut per_row = Vec::with_capacity(rows.len());
    let mut input_tokens: u64 = 0;
    let mut cached_input_tokens: u64 = 0;
    let mut prefix: Option<u64> = None;
    let output = prediction.tokens_per_row;
    let output_usd_row = output as f64 * per_token(spec.output_per_1m);
    for (i, row) in rows.iter().enumerate() {
        let body = crate::openai::jsonl::request_body(spec, &row.title);
        let tokens = request_input_tokens(spec.tokenizer, &body);
        let prefix = *prefix.get_or_insert_with(|| shared_prefix_tokens(spec.tokenizer, &body));
        let cached = if i == 0 {
            0
        } else {
            cacheable_tokens(prefix).min(tokens)
        };
        input_tokens += tokens;
        cached_input_tokens += cached;
        let input_usd = (tokens - cached) as f64 * per_token(spec.input_per_1m)
            + cached as f64 * per_token(spec.cached_input_per_1m);
        let realtime_usd = input_usd + output_usd_row;
        per_row.push(RowEstimate {
            id: row.id.as_str().to_owned(),
            input_tokens: tokens,
            output_tokens: output,
            batch_usd: realtime_usd * spec.batch_price_factor,
            realtime_usd,
        });
    }
    let n = rows.len() as u64;
    let output_tokens = n * output;
    let input_usd = (input_tokens - cached_input_tokens) as f64 * per_token(spec.input_per_1m)
        + cached_input_tokens as f64 * per_token(spec.cached_input_per_1m);
    let output_usd = output_tokens as f64 * per_token(spec.output_per_1m);
    let realtime = cost(input_usd, output_usd);
    let batch = cost(
        input_usd * spec.batch_price_factor,
        output_usd * spec.batch_price_factor,
    );
    let (batch_wait_seconds, realtime_wait_seconds) = waits(spec, n);
    Estimate {
        model: spec.id.clone(),
        rows: n,
        input_tokens,
        cached_input_tokens,
        output_tokens,
        batch,
        realtime,
        batch_wait_seconds,
        realtime_wait_seconds,
        output_tokens_source: prediction.source.to_owned(),
        per_row,
    }
}

/// `(batch_wait_seconds, realtime_wait_seconds)` of `rows` requests (see [`estimate_with`]).
pub fn waits(spec: &ModelSpec, rows: u64) -> (u64, u64) {
    if rows == 0 {
        return (0, 0);
    }
    let batch_minutes =
        spec.typical_batch_minutes + spec.batch_minutes_per_1000_rows * rows as f64 / 1000.0;
    let rounds = rows.div_ceil(REALTIME_CONCURRENCY);
    (
        ((batch_minutes * 60.0).round() as u64).min(BATCH_WINDOW_SECONDS),
        (rounds as f64 * spec.typical_request_seconds).round() as u64,
    )
}

/// What `usage` costs at this model's prices in this mode, USD: uncached input at `input_per_1m`,
/// cached input at `cached_input_per_1m`, output (reasoning included) at `output_per_1m`, times
/// `batch_price_factor` in batch mode.
pub fn usage_cost(spec: &ModelSpec, mode: Mode, usage: &TokenUsage) -> f64 {
    let per_token = |usd_per_1m: f64| usd_per_1m / 1_000_000.0;
    let cached = usage.cached_input_tokens.min(usage.input_tokens);
    let realtime = (usage.input_tokens - cached) as f64 * per_token(spec.input_per_1m)
        + cached as f64 * per_token(spec.cached_input_per_1m)
        + usage.output_tokens as f64 * per_token(spec.output_per_1m);
    match mode {
        Mode::Batch => realtime * spec.batch_price_factor,
        Mode::Realtime | Mode::Auto => realtime,
    }
}

/// The total of an estimate in `mode` (batch or realtime; `auto` reads as realtime, the dearer).
pub fn estimate_total(estimate: &Estimate, mode: Mode) -> f64 {
    match mode {
        Mode::Batch => estimate.batch.total_usd,
        Mode::Realtime | Mode::Auto => estimate.realtime.total_usd,
    }
}

fn cost(input_usd: f64, output_usd: f64) -> Cost {
    Cost {
        input_usd,
        output_usd,
        total_usd: input_usd + output_usd,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RowId;
    use crate::prompt;

    fn row(id: &str, title: &str) -> RowInput {
        RowInput {
            id: RowId::parse(id).unwrap(),
            title: title.into(),
        }
    }

    const SEED_MODELS: [&str; 6] = [
        "gpt-4.1-nano-2025-04-14",
        "gpt-4.1-mini-2025-04-14",
        "gpt-4.1-2025-04-14",
        "o4-mini-2025-04-16",
        "o3-mini-2025-01-31",
        "o3-2025-04-16",
    ];

    #[test]
    fn the_builtin_catalogue_parses_and_covers_the_seed_models_with_their_published_prices() {
        let c = Catalog::builtin();
        assert_eq!(c.default_model, "gpt-4.1-mini-2025-04-14");
        for id in SEED_MODELS {
            assert!(c.resolve(id).is_ok(), "{id} missing");
        }
        let p = |id: &str| {
            let m = c.resolve(id).unwrap();
            (m.input_per_1m, m.cached_input_per_1m, m.output_per_1m)
        };
        assert_eq!(p("gpt-4.1-2025-04-14"), (2.00, 0.50, 8.00));
        assert_eq!(p("gpt-4.1-mini-2025-04-14"), (0.40, 0.10, 1.60));
        assert_eq!(p("gpt-4.1-nano-2025-04-14"), (0.10, 0.025, 0.40));
        assert_eq!(p("o4-mini-2025-04-16"), (1.10, 0.275, 4.40));
        assert_eq!(p("o3-mini-2025-01-31"), (1.10, 0.55, 4.40));
        assert_eq!(p("o3-2025-04-16"), (2.00, 0.50, 8.00));
        assert_eq!(p("gpt-5-2025-08-07"), (1.25, 0.125, 10.00));
        assert!(c.models.iter().all(|m| m.batch_price_factor == 0.5));
    }

    #[test]
    fn reasoning_flags_follow_the_model_family() {
        for m in &Catalog::builtin().models {
            let family_reasons = m.id.starts_with('o') || m.id.starts_with("gpt-5");
            assert_eq!(m.reasoning, family_reasons, "{}", m.id);
            assert_eq!(m.temperature.is_none(), m.reasoning, "{}", m.id);
        }
    }

    #[test]
    fn the_seed_typo_o3_2025_04_26_suggests_o3_2025_04_16() {
        let err = Catalog::builtin().resolve("o3-2025-04-26").unwrap_err();
        assert_eq!(err.requested, "o3-2025-04-26");
        assert_eq!(err.nearest.as_deref(), Some("o3-2025-04-16"));
        let text = err.to_string();
        assert!(
            text.starts_with(
                "unknown model `o3-2025-04-26`; did you mean `o3-2025-04-16`? Known models: "
            ),
            "{text}"
        );
        assert!(text.contains("gpt-4.1-mini-2025-04-14"));
    }

    #[test]
    fn a_name_far_from_every_model_gets_no_suggestion() {
        let err = Catalog::builtin().resolve("claude-sonnet").unwrap_err();
        assert_eq!(err.nearest, None);
        assert!(!err.to_string().contains("did you mean"));
        assert_eq!(err.known.len(), Catalog::builtin().models.len());
    }

    #[test]
    fn an_id_without_its_date_resolves_to_the_full_id_when_unambiguous() {
        let c = Catalog::builtin();
        assert_eq!(c.resolve("o3").unwrap().id, "o3-2025-04-16");
        assert_eq!(c.resolve("o3-mini").unwrap().id, "o3-mini-2025-01-31");
        assert_eq!(
            c.resolve(" GPT-4.1-Mini ").unwrap().id,
            "gpt-4.1-mini-2025-04-14"
        );
        assert_eq!(c.resolve("gpt-5").unwrap().id, "gpt-5-2025-08-07");
        // A misspelt short id is still a suggestion, not a guess.
        let err = c.resolve("gpt4.1-mini").unwrap_err();
        assert_eq!(err.nearest.as_deref(), Some("gpt-4.1-mini-2025-04-14"));
    }

    #[test]
    fn an_ambiguous_short_id_is_refused() {
        let toml = BUILTIN_TOML.replace("gpt-4o-2024-08-06", "gpt-4.1-2024-01-01");
        let c = Catalog::from_toml_str(&toml).unwrap();
        assert!(c.resolve("gpt-4.1").is_err());
        assert_eq!(
            c.resolve("gpt-4.1-2024-01-01").unwrap().id,
            "gpt-4.1-2024-01-01"
        );
    }

    #[test]
    fn catalogue_errors_name_the_broken_rule() {
        let dup = format!(
            "{BUILTIN_TOML}\n[[models]]\n{}",
            BUILTIN_TOML
                .split("[[models]]")
                .nth(1)
                .unwrap()
                .trim_start()
        );
        let err = Catalog::from_toml_str(&dup).unwrap_err().to_string();
        assert!(err.contains("listed twice"), "{err}");

        let no_default = BUILTIN_TOML.replace(
            "default_model = \"gpt-4.1-mini-2025-04-14\"",
            "default_model = \"gpt-9\"",
        );
        let err = Catalog::from_toml_str(&no_default).unwrap_err().to_string();
        assert!(err.contains("default_model `gpt-9`"), "{err}");

        let hot_reasoner = BUILTIN_TOML.replace(
            "reasoning_effort = \"low\"\ntypical_batch_minutes = 45",
            "temperature = 0.7\ntypical_batch_minutes = 45",
        );
        let err = Catalog::from_toml_str(&hot_reasoner)
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not accept `temperature`"), "{err}");

        let typo = BUILTIN_TOML.replacen("output_per_1m = 0.40", "ouput_per_1m = 0.40", 1);
        assert!(matches!(
            Catalog::from_toml_str(&typo),
            Err(CatalogError::Parse(_))
        ));

        let free_lunch =
            BUILTIN_TOML.replacen("batch_price_factor = 0.5", "batch_price_factor = 0", 1);
        let err = Catalog::from_toml_str(&free_lunch).unwrap_err().to_string();
        assert!(err.contains("batch_price_factor"), "{err}");
    }

    #[test]
    fn a_catalogue_file_loads_from_a_path_and_a_missing_file_says_which() {
        let dir = std::env::temp_dir().join(format!("almanac-pricing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("models.toml");
        std::fs::write(&path, BUILTIN_TOML).unwrap();
        assert_eq!(&Catalog::from_path(&path).unwrap(), Catalog::builtin());
        let missing = dir.join("nope.toml");
        let err = Catalog::from_path(&missing).unwrap_err().to_string();
        assert!(err.contains("nope.toml"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_model_list_mirrors_the_catalogue() {
        let list = Catalog::builtin().model_list();
        assert_eq!(list.default_model, "gpt-4.1-mini-2025-04-14");
        assert_eq!(list.models.len(), Catalog::builtin().models.len());
        let o3 = list
            .models
            .iter()
            .find(|m| m.id == "o3-2025-04-16")
            .unwrap();
        assert!(o3.reasoning);
        assert_eq!(o3.output_per_1m, 8.0);
        assert_eq!(o3.batch_price_factor, 0.5);
    }

    #[test]
    fn short_ids_drop_only_a_trailing_snapshot_date() {
        let c = Catalog::builtin();
        assert_eq!(
            c.resolve("o4-mini-2025-04-16").unwrap().short_id(),
            "o4-mini"
        );
        assert_eq!(strip_date("gpt-4o"), "gpt-4o");
        assert_eq!(strip_date("model-2025-4-16x"), "model-2025-4-16x");
        assert_eq!(
            strip_date("가나다라마바사아자차카타"),
            "가나다라마바사아자차카타"
        );
    }

    #[test]
    fn input_tokens_match_a_hand_count_of_the_messages() {
        let spec = Catalog::builtin()
            .resolve("gpt-4.1-mini-2025-04-14")
            .unwrap();
        let bpe = tiktoken_rs::o200k_base_singleton();
        let n = |s: &str| bpe.encode_ordinary(s).len() as u64;
        let schema = serde_json::to_string(&prompt::response_format()["json_schema"]).unwrap();
        let title = "오키나와 전투 개시";
        let expected = 3
            + n("system")
            + n(prompt::SYSTEM_PROMPT)
            + n(&schema)
            + 3
            + n("user")
            + n(&prompt::user_message(title))
            + 3;
        let e = estimate(spec, &[row("04-01", title)]);
        assert_eq!(e.rows, 1);
        assert_eq!(e.input_tokens, expected);
        assert_eq!(e.output_tokens, u64::from(spec.typical_output_tokens));
    }

    #[test]
    fn costs_follow_the_prices_and_batch_is_half_of_realtime() {
        let spec = Catalog::builtin().resolve("gpt-4.1-2025-04-14").unwrap();
        let rows: Vec<RowInput> = (0..10).map(|i| row(&format!("r{i}"), "3·1 운동")).collect();
        let e = estimate(spec, &rows);
        assert_eq!(
            e.cached_input_tokens, 0,
            "today's prompt is shorter than 1024 tokens"
        );
        let input = e.input_tokens as f64 * 2.00 / 1e6;
        let output = e.output_tokens as f64 * 8.00 / 1e6;
        assert!((e.realtime.input_usd - input).abs() < 1e-12);
        assert!((e.realtime.output_usd - output).abs() < 1e-12);
        assert!((e.realtime.total_usd - (input + output)).abs() < 1e-12);
        assert!((e.batch.total_usd - e.realtime.total_usd / 2.0).abs() < 1e-12);
        assert_eq!(e.model, "gpt-4.1-2025-04-14");
    }

    #[test]
    fn reasoning_models_count_reasoning_tokens_as_output() {
        let spec = Catalog::builtin().resolve("o3-2025-04-16").unwrap();
        let e = estimate(
            spec,
            &[row("a", "Battle of Hastings"), row("b", "Moon landing")],
        );
        assert_eq!(
            e.output_tokens,
            2 * u64::from(spec.typical_output_tokens + spec.typical_reasoning_tokens)
        );
        assert!(spec.typical_reasoning_tokens > 0);
    }

    #[test]
    fn cached_tokens_need_a_1024_token_prefix_and_come_in_128_token_steps() {
        assert_eq!(cacheable_tokens(0), 0);
        assert_eq!(cacheable_tokens(1023), 0);
        assert_eq!(cacheable_tokens(1024), 1024);
        assert_eq!(cacheable_tokens(1151), 1024);
        assert_eq!(cacheable_tokens(1152), 1152);
        assert_eq!(cacheable_tokens(5000), 4992);
    }

    #[test]
    fn no_rows_cost_nothing_and_take_no_time() {
        let spec = Catalog::builtin().default_spec();
        let e = estimate(spec, &[]);
        assert_eq!(
            (
                e.rows,
                e.input_tokens,
                e.output_tokens,
                e.batch_wait_seconds,
                e.realtime_wait_seconds
            ),
            (0, 0, 0, 0, 0)
        );
        assert_eq!(e.batch.total_usd, 0.0);
    }

    #[test]
    fn waits_grow_with_rows_and_batch_waits_stay_within_24_hours() {
        let spec = Catalog::builtin().resolve("gpt-4.1-2025-04-14").unwrap();
        let few = estimate_titles(spec, ["a"; 80]);
        assert_eq!(
            few.batch_wait_seconds,
            ((spec.typical_batch_minutes + spec.batch_minutes_per_1000_rows * 0.08) * 60.0).round()
                as u64
        );
        assert_eq!(
            few.realtime_wait_seconds,
            (10.0 * spec.typical_request_seconds).round() as u64
        );
        let many = estimate_titles(spec, std::iter::repeat_n("a", 1_000_000));
        assert!(many.batch_wait_seconds > few.batch_wait_seconds);
        assert!(many.batch_wait_seconds <= 24 * 3600);
    }

    #[test]
    fn estimating_50000_rows_is_fast() {
        let spec = Catalog::builtin().default_spec();
        let titles: Vec<String> = (0..50_000)
            .map(|i| format!("제{i}차 세계 평화 회의 개최와 그 결과"))
            .collect();
        let _warm = estimate_titles(spec, ["warm up"]);
        let started = std::time::Instant::now();
        let e = estimate_titles(spec, titles.iter().map(String::as_str));
        let took = started.elapsed();
        assert_eq!(e.rows, 50_000);
        // Generous for a debug build on a busy 2-core machine; a release build takes ~0.1 s.
        assert!(took.as_secs_f64() < 10.0, "took {took:?}");
    }
}
