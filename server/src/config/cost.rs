//! How a job's mode is chosen (`ALMANAC_BATCH_STRATEGY`, `ALMANAC_MAX_WAIT_TIME`,
//! `ALMANAC_AUTO_REALTIME_MAX_ROWS`) and how realtime calls are made: their endpoint
//! (`ALMANAC_REALTIME_BASE_URL`, `ALMANAC_REALTIME_API_KEY`), their pacing and how many run at once
//! (`ALMANAC_REALTIME_MAX_CONCURRENCY`, `ALMANAC_REALTIME_MAX_RUNS`); and what the operator lets
//! be spent, which no request can lift ([`SpendingSettings`]: `ALMANAC_MONTHLY_CAP_USD`,
//! `ALMANAC_USER_MONTHLY_CAP_USD`, `ALMANAC_SPREADSHEET_BUDGET_USD`,
//! `ALMANAC_ALLOW_SPREADSHEET_BUDGET_ABOVE_DEFAULT`).

use std::time::Duration;

use clap::{Args, ValueEnum};
use secrecy::{ExposeSecret as _, SecretString};

use super::parse;

/// Flags and environment variables of modes and realtime calls.
#[derive(Clone, Debug, Args)]
pub struct CostArgs {
    /// How a job's mode is chosen: `user_choice` (the person picks batch, realtime or auto),
    /// `always_batch` or `never_batch`.
    #[arg(
        long = "batch-strategy",
        env = "ALMANAC_BATCH_STRATEGY",
        default_value = "user_choice",
        value_parser = parse::one_of::<BatchStrategy>()
    )]
    batch_strategy: BatchStrategy,
    /// `auto` picks realtime when the batch wait is expected to exceed this (`30m`, `6h`, or
    /// seconds), unless the request names its own `max_wait_seconds`.
    #[arg(
        long = "max-wait-time",
        env = "ALMANAC_MAX_WAIT_TIME",
        default_value = "6h",
        value_parser = parse::duration(Duration::ZERO, "a wait")
    )]
    max_wait_time: Duration,
    /// `auto` picks realtime for jobs of at most this many rows.
    #[arg(
        long = "auto-realtime-max-rows",
        env = "ALMANAC_AUTO_REALTIME_MAX_ROWS",
        default_value_t = 100
    )]
    auto_realtime_max_rows: u64,
    /// Base URL of the OpenAI-compatible endpoint that serves realtime calls (e.g. a self-hosted
    /// vLLM at `http://gpu-box:8000/v1`); default: `OPENAI_BASE_URL`.
    #[arg(long = "realtime-base-url", env = "ALMANAC_REALTIME_BASE_URL")]
    realtime_base_url: Option<String>,
    /// API key for `ALMANAC_REALTIME_BASE_URL`; default: `OPENAI_API_KEY`.
    #[arg(
        long = "realtime-api-key",
        env = "ALMANAC_REALTIME_API_KEY",
        hide_env_values = true,
        value_parser = parse::secret
    )]
    realtime_api_key: Option<SecretString>,
    /// Most realtime calls in flight at once, per job.
    #[arg(
        long = "realtime-max-concurrency",
        env = "ALMANAC_REALTIME_MAX_CONCURRENCY",
        default_value_t = 64
    )]
    realtime_max_concurrency: usize,
    /// Most realtime jobs one replica runs at once; further ones are left to other replicas.
    #[arg(
        long = "realtime-max-runs",
        env = "ALMANAC_REALTIME_MAX_RUNS",
        default_value_t = 16
    )]
    realtime_max_runs: usize,
    /// What every job and chat turn of this backend together may commit per calendar month
    /// (UTC), USD; unset: no operator-wide cap.
    #[arg(long = "monthly-cap-usd", env = "ALMANAC_MONTHLY_CAP_USD", value_parser = parse::usd())]
    monthly_cap_usd: Option<f64>,
    /// What one user's jobs and chat turns (on every spreadsheet) may commit per calendar month
    /// (UTC), USD; unset: no per-user cap.
    #[arg(
        long = "user-monthly-cap-usd",
        env = "ALMANAC_USER_MONTHLY_CAP_USD",
        value_parser = parse::usd()
    )]
    user_monthly_cap_usd: Option<f64>,
    /// The monthly budget of a spreadsheet whose editors set none, USD; unset: none.
    #[arg(
        long = "spreadsheet-budget-usd",
        env = "ALMANAC_SPREADSHEET_BUDGET_USD",
        value_parser = parse::usd()
    )]
    spreadsheet_budget_usd: Option<f64>,
    /// Let a spreadsheet's editors set its budget above `ALMANAC_SPREADSHEET_BUDGET_USD`, or
    /// remove it.
    #[arg(
        long = "allow-spreadsheet-budget-above-default",
        env = "ALMANAC_ALLOW_SPREADSHEET_BUDGET_ABOVE_DEFAULT",
        value_parser = clap::builder::BoolishValueParser::new(),
        default_value_t = false,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    allow_spreadsheet_budget_above_default: bool,
}

/// What the operator lets be spent, USD per calendar month (UTC), counted as the spreadsheet
/// budget counts (`spreadsheet::budget`): answered responses at their price, plus the estimate
/// of what running jobs and chat runs have not answered yet. No request can lift these.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpendingSettings {
    /// Every job and chat turn together (`ALMANAC_MONTHLY_CAP_USD`); `None`: no cap.
    pub operator_monthly_usd: Option<f64>,
    /// One user's jobs and chat turns (`ALMANAC_USER_MONTHLY_CAP_USD`); `None`: no cap.
    pub user_monthly_usd: Option<f64>,
    /// The budget of a spreadsheet whose editors set none (`ALMANAC_SPREADSHEET_BUDGET_USD`);
    /// while set, editors may set a budget only up to it, and not remove it, unless
    /// [`SpendingSettings::allow_budget_above_default`].
    pub spreadsheet_monthly_usd: Option<f64>,
    /// Editors may set a spreadsheet's budget above the default, or remove it
    /// (`ALMANAC_ALLOW_SPREADSHEET_BUDGET_ABOVE_DEFAULT`, default false).
    pub allow_budget_above_default: bool,
}

/// How a job's mode is chosen (the seeds' `batch_strategy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum BatchStrategy {
    /// The person chooses batch, realtime or auto.
    #[default]
    UserChoice,
    /// Every job goes through the Batch API; realtime requests are refused.
    AlwaysBatch,
    /// Every job is sent as realtime calls; batch requests are refused.
    NeverBatch,
}

/// How realtime calls are paced (see the jobs layer's `pacer`).
#[derive(Clone, Debug, PartialEq)]
pub struct PacerSettings {
    /// Fraction of the advertised refill rates the mirror follows, in (0, 1]. Default 0.99: the
    /// mirror never holds more than the provider says is left, so only a little room is kept for
    /// clock drift between us and the provider.
    pub target_fraction: f64,
    /// Most calls in flight at once. Default 64.
    pub max_concurrency: usize,
    /// Calls in flight at once when the first answer comes without rate-limit headers (then
    /// AIMD). Default 8.
    pub initial_concurrency: usize,
    /// Pause after a 429 that carries no `retry-after`. Default 1 s.
    pub default_pause: Duration,
}

impl Default for PacerSettings {
    fn default() -> Self {
        PacerSettings {
            target_fraction: 0.99,
            max_concurrency: 64,
            initial_concurrency: 8,
            default_pause: Duration::from_secs(1),
        }
    }
}

/// How jobs choose their mode and how realtime calls are made. Part of [`ApiSettings`] so that
/// every way of building a configuration gets the defaults.
///
/// [`ApiSettings`]: super::ApiSettings
#[derive(Clone, Debug)]
pub struct CostSettings {
    /// The server's rule for modes.
    pub strategy: BatchStrategy,
    /// `auto` picks realtime when the batch wait is expected to exceed this.
    pub max_wait: Duration,
    /// `auto` picks realtime for jobs of at most this many rows.
    pub auto_realtime_max_rows: u64,
    /// Realtime endpoint base URL; `None` = the OpenAI base URL.
    pub realtime_base_url: Option<String>,
    /// Realtime endpoint key; `None` = the OpenAI key.
    pub realtime_api_key: Option<SecretString>,
    /// Pacing of realtime calls.
    pub pacer: PacerSettings,
    /// Write answers to the sheet once this many are waiting…
    pub flush_rows: usize,
    /// …or once the oldest has waited this long.
    pub flush_interval: Duration,
    /// Calls per row before a transient failure (429, 5xx, timeout) fails the row.
    pub max_attempts: u32,
    /// Realtime runs one replica keeps at once; a realtime job claimed beyond that is left for
    /// another replica (rescheduled in half a second), so several replicas share the runs.
    pub max_runs: usize,
    /// Timeout of one realtime call.
    pub request_timeout: Duration,
    /// The operator's caps on spending.
    pub spending: SpendingSettings,
}

impl Default for CostSettings {
    fn default() -> Self {
        CostSettings {
            strategy: BatchStrategy::UserChoice,
            max_wait: Duration::from_secs(6 * 3600),
            auto_realtime_max_rows: 100,
            realtime_base_url: None,
            realtime_api_key: None,
            pacer: PacerSettings::default(),
            flush_rows: 200,
            flush_interval: Duration::from_secs(3),
            max_attempts: 6,
            max_runs: 16,
            request_timeout: Duration::from_secs(120),
            spending: SpendingSettings::default(),
        }
    }
}

impl PartialEq for CostSettings {
    /// Compares everything but the key.
    fn eq(&self, other: &Self) -> bool {
        self.strategy == other.strategy
            && self.max_wait == other.max_wait
            && self.auto_realtime_max_rows == other.auto_realtime_max_rows
            && self.realtime_base_url == other.realtime_base_url
            && self.realtime_api_key.is_some() == other.realtime_api_key.is_some()
            && self.pacer == other.pacer
            && self.flush_rows == other.flush_rows
            && self.flush_interval == other.flush_interval
            && self.max_attempts == other.max_attempts
            && self.max_runs == other.max_runs
            && self.request_timeout == other.request_timeout
            && self.spending == other.spending
    }
}

impl CostArgs {
    /// The mode strategy and realtime settings these flags ask for (a blank URL or key is unset;
    /// a concurrency or a number of runs of 0 is 1).
    pub fn settings(&self) -> CostSettings {
        CostSettings {
            strategy: self.batch_strategy,
            max_wait: self.max_wait_time,
            auto_realtime_max_rows: self.auto_realtime_max_rows,
            realtime_base_url: self
                .realtime_base_url
                .clone()
                .filter(|u| !u.trim().is_empty()),
            realtime_api_key: self
                .realtime_api_key
                .clone()
                .filter(|k| !k.expose_secret().trim().is_empty()),
            pacer: PacerSettings {
                max_concurrency: self.realtime_max_concurrency.max(1),
                ..PacerSettings::default()
            },
            max_runs: self.realtime_max_runs.max(1),
            spending: SpendingSettings {
                operator_monthly_usd: self.monthly_cap_usd,
                user_monthly_usd: self.user_monthly_cap_usd,
                spreadsheet_monthly_usd: self.spreadsheet_budget_usd,
                allow_budget_above_default: self.allow_spreadsheet_budget_above_default,
            },
            ..CostSettings::default()
        }
    }
}
