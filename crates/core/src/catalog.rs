//! The model catalogue: which models Almanac can use, what they cost, and how requests to them
//! are shaped.
//!
//! Models and prices live in a data file, `crates/core/data/models.toml`, not in code: it is
//! embedded in the binary ([`Catalog::builtin`]) and a replacement can be loaded from a path
//! ([`Catalog::from_path`]). A [`ModelSpec`] says what a model costs (USD per 1M tokens, realtime
//! prices, and the Batch API discount factor) and how requests to it are shaped (reasoning or not,
//! output cap, temperature, reasoning effort, tokenizer) — `almanac-openai` reads the latter to
//! build and count request bodies, [`crate::cost`] the former to price them.
//!
//! Prices: <https://platform.openai.com/docs/pricing>; batch discount:
//! <https://platform.openai.com/docs/guides/batch>.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::sync::OnceLock;

use almanac_protocol::{ModelInfo, ModelList};
use serde::Deserialize;

/// The catalogue shipped with Almanac (`crates/core/data/models.toml`).
pub const BUILTIN_TOML: &str = include_str!("../data/models.toml");

/// A tiktoken encoding, as named in the data file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tokenizer {
    /// `o200k_base`: GPT-4o, GPT-4.1, GPT-5 and the o-series.
    O200kBase,
    /// `cl100k_base`: GPT-4 and GPT-3.5.
    Cl100kBase,
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
    /// The `reasoning_effort` values this reasoning model accepts (`none` and `xhigh` from
    /// gpt-5.1 / gpt-5.2 on, `minimal` only on the gpt-5 models of August 2025); empty for other
    /// models.
    #[serde(default)]
    pub reasoning_efforts: Vec<String>,
    /// Rough wall time of a small batch (a few hundred requests), in minutes.
    pub typical_batch_minutes: f64,
    /// Rough extra batch wall time per 1,000 requests, in minutes.
    pub batch_minutes_per_1000_rows: f64,
    /// Rough latency of one realtime request, in seconds.
    pub typical_request_seconds: f64,
    /// Offered on flex processing (`service_tier: "flex"`, billed at Batch API rates): the GPT-5
    /// family, o3 and o4-mini, not GPT-4.1
    /// (<https://platform.openai.com/docs/guides/flex-processing>).
    #[serde(default)]
    pub flex: bool,
    /// Marked deprecated by OpenAI: new jobs cannot pick it; old jobs still show their cost.
    #[serde(default)]
    pub deprecated: bool,
    /// The catalogue's model to pick instead of a deprecated one (required when `deprecated`).
    #[serde(default)]
    pub replacement: Option<String>,
    /// The catalogue's `prices_as_of` (`YYYY-MM-DD`), copied to every model when the catalogue is
    /// read, so that an estimate priced at this spec says when its prices were checked.
    #[serde(skip)]
    pub prices_as_of: String,
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
            flex: self.flex,
            deprecated: self.deprecated,
            replacement: self.replacement.clone(),
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
            if let Some(bad) = self
                .reasoning_efforts
                .iter()
                .find(|e| !REASONING_EFFORTS.contains(&e.as_str()))
            {
                return Err(format!(
                    "model `{id}`: reasoning_efforts: {bad:?} is not one of {}",
                    REASONING_EFFORTS.join(", ")
                ));
            }
            if let Some(effort) = &self.reasoning_effort
                && !self.reasoning_efforts.contains(effort)
            {
                return Err(format!(
                    "model `{id}`: reasoning_effort must be one of its reasoning_efforts ({}), got {effort:?}",
                    self.reasoning_efforts.join(", ")
                ));
            }
        } else {
            if self.reasoning_effort.is_some()
                || !self.reasoning_efforts.is_empty()
                || self.typical_reasoning_tokens != 0
            {
                return Err(format!(
                    "model `{id}` is not a reasoning model: remove reasoning_effort, reasoning_efforts and typical_reasoning_tokens"
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

/// The `reasoning_effort` values of the Chat Completions API
/// (<https://platform.openai.com/docs/api-reference/chat/create#chat-create-reasoning_effort>):
/// `none` and `xhigh` from gpt-5.1 / gpt-5.2 on, `minimal` on the gpt-5 models of August 2025.
const REASONING_EFFORTS: [&str; 6] = ["none", "minimal", "low", "medium", "high", "xhigh"];

/// The whole catalogue: the contents of `models.toml`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// The model used when a request names none; one of `models`, not deprecated.
    pub default_model: String,
    /// The date (`YYYY-MM-DD`) the prices were checked against their source.
    pub prices_as_of: String,
    /// Where the prices come from (e.g. `genai-prices 0.2.5`).
    pub prices_source: String,
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
    /// The catalogue embedded from `crates/core/data/models.toml`, parsed on first use.
    ///
    /// # Panics
    /// Never at run time for a released binary: the embedded file is checked by a unit test.
    pub fn builtin() -> &'static Catalog {
        static BUILTIN: OnceLock<Catalog> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            Catalog::from_toml_str(BUILTIN_TOML).expect("crates/core/data/models.toml is valid")
        })
    }

    /// Parses and checks a catalogue in the `models.toml` format.
    ///
    /// # Errors
    /// [`CatalogError::Parse`] for bad TOML, unknown or missing keys; [`CatalogError::Invalid`]
    /// when no model is listed, an id repeats, `default_model` is not listed, a price is negative,
    /// `batch_price_factor` is outside (0, 1], or a reasoning model has a `temperature`.
    pub fn from_toml_str(s: &str) -> Result<Catalog, CatalogError> {
        let mut catalog: Catalog = toml::from_str(s)?;
        catalog.validate().map_err(CatalogError::Invalid)?;
        for m in &mut catalog.models {
            m.prices_as_of.clone_from(&catalog.prices_as_of);
        }
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
        if !is_date(&self.prices_as_of) {
            return Err(format!(
                "prices_as_of must be a date YYYY-MM-DD, got {:?}",
                self.prices_as_of
            ));
        }
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
        if self.default_spec().deprecated {
            return Err(format!(
                "default_model `{}` is deprecated",
                self.default_model
            ));
        }
        self.validate_deprecations()
    }

    /// Every deprecated model names a listed, current replacement; no other model names one.
    fn validate_deprecations(&self) -> Result<(), String> {
        for m in &self.models {
            match (m.deprecated, &m.replacement) {
                (false, None) => {}
                (false, Some(_)) => {
                    return Err(format!(
                        "model `{}`: replacement is only for a deprecated model",
                        m.id
                    ));
                }
                (true, None) => {
                    return Err(format!(
                        "model `{}` is deprecated: name a replacement",
                        m.id
                    ));
                }
                (true, Some(r)) => {
                    if !self.models.iter().any(|o| &o.id == r && !o.deprecated) {
                        return Err(format!(
                            "model `{}`: replacement `{r}` is not a listed current model",
                            m.id
                        ));
                    }
                }
            }
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

    /// Finds a model a new job may use: as [`Catalog::resolve`], and not deprecated.
    ///
    /// # Errors
    /// [`ModelRefused::Unknown`] as [`Catalog::resolve`]; [`ModelRefused::Deprecated`] naming the
    /// replacement when the model is deprecated.
    pub fn resolve_current(&self, id: &str) -> Result<&ModelSpec, ModelRefused> {
        let spec = self.resolve(id)?;
        match (&spec.deprecated, &spec.replacement) {
            (true, Some(replacement)) => Err(ModelRefused::Deprecated(DeprecatedModel {
                model: spec.id.clone(),
                replacement: replacement.clone(),
            })),
            _ => Ok(spec),
        }
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
            prices_as_of: self.prices_as_of.clone(),
            prices_source: self.prices_source.clone(),
            models: self.models.iter().map(ModelSpec::info).collect(),
        }
    }
}

/// `YYYY-MM-DD`, by shape.
fn is_date(text: &str) -> bool {
    text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        })
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

/// A deprecated model asked for by a new job.
///
/// Displays as: ``model `gpt-5-nano-2025-08-07` is deprecated; use `gpt-5.4-nano-2026-03-17` instead``.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("model `{model}` is deprecated; use `{replacement}` instead")]
pub struct DeprecatedModel {
    /// The deprecated model's full id.
    pub model: String,
    /// The catalogue's replacement (a current model).
    pub replacement: String,
}

/// Why a new job cannot use a model ([`Catalog::resolve_current`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ModelRefused {
    /// Not in the catalogue.
    #[error(transparent)]
    Unknown(#[from] UnknownModel),
    /// In the catalogue but deprecated.
    #[error(transparent)]
    Deprecated(DeprecatedModel),
}

#[cfg(test)]
mod tests {
    use super::*;

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
            "typical_batch_minutes = 45",
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
    fn a_deprecated_model_is_refused_for_new_jobs_naming_its_replacement() {
        let c = Catalog::builtin();
        let err = c.resolve_current("gpt-5-nano").unwrap_err();
        assert_eq!(
            err,
            ModelRefused::Deprecated(DeprecatedModel {
                model: "gpt-5-nano-2025-08-07".into(),
                replacement: "gpt-5.4-nano-2026-03-17".into(),
            })
        );
        assert_eq!(
            err.to_string(),
            "model `gpt-5-nano-2025-08-07` is deprecated; use `gpt-5.4-nano-2026-03-17` instead"
        );
        // Old jobs still price it.
        assert_eq!(c.resolve("gpt-5-nano").unwrap().input_per_1m, 0.05);
        assert_eq!(
            c.resolve_current("gpt-5.4-nano").unwrap().id,
            "gpt-5.4-nano-2026-03-17"
        );
        assert!(matches!(
            c.resolve_current("gpt-9"),
            Err(ModelRefused::Unknown(_))
        ));
        let minimal_on_5_4 = BUILTIN_TOML.replacen(
            "reasoning_effort = \"low\"\nreasoning_efforts = [\"none\", \"low\", \"medium\", \"high\", \"xhigh\"]",
            "reasoning_effort = \"minimal\"\nreasoning_efforts = [\"none\", \"low\", \"medium\", \"high\", \"xhigh\"]",
            1,
        );
        assert_ne!(minimal_on_5_4, BUILTIN_TOML);
        let err = Catalog::from_toml_str(&minimal_on_5_4)
            .unwrap_err()
            .to_string();
        assert!(err.contains("gpt-5.2-2025-12-11"), "{err}");
        assert!(err.contains("\"minimal\""), "{err}");
        let orphan = BUILTIN_TOML.replace("replacement = \"gpt-5.4-nano-2026-03-17\"\n", "");
        let err = Catalog::from_toml_str(&orphan).unwrap_err().to_string();
        assert!(err.contains("name a replacement"), "{err}");
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
}
