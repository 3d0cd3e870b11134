//! How the worker paces itself: polls of running batches (`ALMANAC_POLL_INTERVAL_SECS`), the grace
//! period of a shutdown (`ALMANAC_SHUTDOWN_GRACE_SECS`), a replica's lease on a step
//! (`ALMANAC_LEASE_SECS`) and the delays after transient failures.

use std::time::Duration;

use almanac_files::CsvCells;
use clap::Args;

use super::parse;

/// Flags and environment variables of the worker.
#[derive(Clone, Debug, Args)]
pub struct WorkerArgs {
    /// Time between two polls of a running batch: seconds, or a duration such as `500ms`, `1m`.
    #[arg(
        long = "poll-interval",
        env = "ALMANAC_POLL_INTERVAL_SECS",
        default_value = "30",
        value_parser = parse::duration(Duration::from_nanos(1), "more than zero")
    )]
    poll_interval: Duration,
    /// Time that in-flight requests and the worker's current step get to finish after SIGTERM /
    /// Ctrl-C before they are abandoned (safe: every step can be repeated): seconds, or a
    /// duration.
    #[arg(
        long = "shutdown-grace",
        env = "ALMANAC_SHUTDOWN_GRACE_SECS",
        default_value = "30",
        value_parser = parse::duration(Duration::ZERO, "zero or more")
    )]
    shutdown_grace: Duration,
    /// Time a replica's claim on a job's step lasts without a heartbeat (renewed every third of
    /// it): after a crash, other replicas take the job over once it has run out. Seconds, or a
    /// duration; at least 0.05 s.
    #[arg(
        long = "lease",
        env = "ALMANAC_LEASE_SECS",
        default_value = "30",
        value_parser = parse::duration(Duration::from_millis(50), "at least 0.05 s")
    )]
    lease: Duration,
}

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
    /// How a file job (`almanac run`) writes answers into a CSV output: formula-like ones escaped
    /// (the default), or raw with `--raw-csv`.
    pub csv_cells: CsvCells,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            poll_interval: Duration::from_secs(30),
            retry_min_delay: Duration::from_secs(2),
            retry_max_delay: Duration::from_secs(300),
            shutdown_grace: Duration::from_secs(30),
            lease: Duration::from_secs(30),
            csv_cells: CsvCells::Escaped,
        }
    }
}

impl WorkerArgs {
    /// The worker's settings: these flags, the default retry delays.
    pub fn settings(&self) -> WorkerSettings {
        WorkerSettings {
            poll_interval: self.poll_interval,
            shutdown_grace: self.shutdown_grace,
            lease: self.lease,
            ..WorkerSettings::default()
        }
    }
}
