//! The jobs layer's settings: how the worker paces and retries its steps ([`WorkerSettings`]), how
//! a job's mode is chosen and how realtime calls are made ([`CostSettings`], [`BatchStrategy`]).
//! The server's `config` reads them from flags and the environment; nothing here reads either.

use std::time::Duration;

use secrecy::SecretString;

/// How the worker paces itself.
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    /// Time between two polls of a running batch.
    pub poll_interval: Duration,
    /// First delay after a transient failure; doubles each time, with jitter.
    pub retry_min_delay: Duration,
    /// Longest delay between two tries after transient failures.
    pub retry_max_delay: Duration,
    /// On SIGTERM / Ctrl-C: how long in-flight HTTP requests and the worker's current step may
    /// take to finish before they are abandoned (abandoning is safe: every step can be repeated).
    pub shutdown_grace: Duration,
    /// How long a claimed step (or a realtime run) is a replica's alone without a heartbeat: the
    /// holder renews it every third of this; when a replica dies, another takes its jobs over
    /// once this has passed since the last renewal.
    pub lease: Duration,
}

impl WorkerSettings {
    /// How often the holder of a lease renews it: a third of [`WorkerSettings::lease`] (at least
    /// 10 ms).
    pub fn heartbeat(&self) -> Duration {
        (self.lease / 3).max(Duration::from_millis(10))
    }

    /// The delay before try number `attempts + 1` of a step: exponential from
    /// `retry_min_delay`, capped at `retry_max_delay`, with jitter (the `backon` crate computes
    /// it).
    pub fn retry_delay(&self, attempts: i64) -> Duration {
        use backon::BackoffBuilder;
        backon::ExponentialBuilder::default()
            .with_min_delay(self.retry_min_delay)
            .with_max_delay(self.retry_max_delay)
            .with_jitter()
            .without_max_times()
            .build()
            .nth(attempts.clamp(0, 64) as usize)
            .unwrap_or(self.retry_max_delay)
    }
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            poll_interval: Duration::from_secs(30),
            retry_min_delay: Duration::from_secs(2),
            retry_max_delay: Duration::from_secs(300),
            shutdown_grace: Duration::from_secs(30),
            lease: Duration::from_secs(30),
        }
    }
}

/// How a job's mode is chosen (the seeds' `batch_strategy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BatchStrategy {
    /// The person chooses batch, realtime or auto.
    #[default]
    UserChoice,
    /// Every job goes through the Batch API; realtime requests are refused.
    AlwaysBatch,
    /// Every job is sent as realtime calls; batch requests are refused.
    NeverBatch,
}

impl BatchStrategy {
    /// Reads `user_choice`, `always_batch` or `never_batch`.
    ///
    /// # Errors
    /// A message naming the accepted values.
    pub fn parse(s: &str) -> Result<BatchStrategy, String> {
        match s.trim() {
            "user_choice" => Ok(BatchStrategy::UserChoice),
            "always_batch" => Ok(BatchStrategy::AlwaysBatch),
            "never_batch" => Ok(BatchStrategy::NeverBatch),
            other => Err(format!(
                "ALMANAC_BATCH_STRATEGY must be user_choice, always_batch or never_batch, not {other:?}"
            )),
        }
    }

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchStrategy::UserChoice => "user_choice",
            BatchStrategy::AlwaysBatch => "always_batch",
            BatchStrategy::NeverBatch => "never_batch",
        }
    }
}

/// How jobs choose their mode and how realtime calls are made. Part of the server's
/// `ApiSettings` so that every way of building a configuration gets the defaults.
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
    pub pacer: crate::jobs::realtime::pacer::PacerSettings,
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
}

impl Default for CostSettings {
    fn default() -> Self {
        CostSettings {
            strategy: BatchStrategy::UserChoice,
            max_wait: Duration::from_secs(6 * 3600),
            auto_realtime_max_rows: 100,
            realtime_base_url: None,
            realtime_api_key: None,
            pacer: crate::jobs::realtime::pacer::PacerSettings::default(),
            flush_rows: 200,
            flush_interval: Duration::from_secs(3),
            max_attempts: 6,
            max_runs: 16,
            request_timeout: Duration::from_secs(120),
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
    }
}
