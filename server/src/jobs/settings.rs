//! What the jobs layer derives from its settings: a lease's heartbeat and the delay before a step
//! is tried again. The settings themselves — how the worker paces and retries its steps
//! ([`WorkerSettings`]), how a job's mode is chosen and how realtime calls are made
//! ([`CostSettings`], [`BatchStrategy`]) — are the server's `config`, read from flags and the
//! environment there; nothing here reads either.

use std::time::Duration;

pub use crate::config::{BatchStrategy, CostSettings, WorkerSettings};

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
