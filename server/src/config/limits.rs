//! Limits on what every caller shares, so that no one user can exhaust it: the access checks one
//! user and one spreadsheet may ask for per minute (`ALMANAC_ACCESS_CHECKS_PER_USER_PER_MINUTE`,
//! `ALMANAC_ACCESS_CHECKS_PER_SPREADSHEET_PER_MINUTE`: each proof is a service-account Sheets
//! write, and Sheets' write quota is the project's), the event and chat streams one user may hold
//! open (`ALMANAC_STREAMS_PER_USER`), the connections the server holds at once
//! (`ALMANAC_MAX_CONNECTIONS`), how long a request's head may take to arrive
//! (`ALMANAC_HEADER_READ_TIMEOUT`) and how long a connection may stay silent
//! (`ALMANAC_IDLE_TIMEOUT`); and where `/metrics` is served (`ALMANAC_METRICS_BIND`, loopback by
//! default, never the API's address).

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use super::parse;

/// Flags and environment variables of the shared limits.
#[derive(Clone, Debug, Args)]
pub struct LimitArgs {
    /// Access checks (`POST …/access/challenge`, `POST …/access/proof`, each counted alone) one
    /// user may ask for per minute, also the burst.
    #[arg(
        long = "access-checks-per-user-per-minute",
        env = "ALMANAC_ACCESS_CHECKS_PER_USER_PER_MINUTE",
        default_value = "10",
        value_parser = parse::at_least(1_u32)
    )]
    access_checks_per_user: u32,
    /// Access checks all users together may ask for on one spreadsheet per minute, also the burst.
    #[arg(
        long = "access-checks-per-spreadsheet-per-minute",
        env = "ALMANAC_ACCESS_CHECKS_PER_SPREADSHEET_PER_MINUTE",
        default_value = "30",
        value_parser = parse::at_least(1_u32)
    )]
    access_checks_per_spreadsheet: u32,
    /// Event streams (`GET /jobs/{id}/events`) and streamed chat turns one user may hold open at
    /// once, on this replica.
    #[arg(
        long = "streams-per-user",
        env = "ALMANAC_STREAMS_PER_USER",
        default_value = "8",
        value_parser = parse::at_least(1_usize)
    )]
    streams_per_user: usize,
    /// Connections the server holds at once; one more is answered 503 and closed.
    #[arg(
        long = "max-connections",
        env = "ALMANAC_MAX_CONNECTIONS",
        default_value = "1024",
        value_parser = parse::at_least(1_usize)
    )]
    max_connections: usize,
    /// Longest time a request's line and headers may take to arrive (also the longest wait for
    /// the next request on a kept-alive connection): seconds, or a duration such as `10s`.
    #[arg(
        long = "header-read-timeout",
        env = "ALMANAC_HEADER_READ_TIMEOUT",
        default_value = "10",
        value_parser = parse::duration(Duration::from_millis(100), "at least 0.1 s")
    )]
    header_read_timeout: Duration,
    /// Longest time a connection may pass without a byte read or written before it is closed
    /// (event streams send a keep-alive comment every 15 s): seconds, or a duration.
    #[arg(
        long = "idle-timeout",
        env = "ALMANAC_IDLE_TIMEOUT",
        default_value = "60",
        value_parser = parse::duration(Duration::from_secs(20), "at least 20 s (streams send a keep-alive every 15 s)")
    )]
    idle_timeout: Duration,
    /// Address of `GET /metrics` (Prometheus), apart from the API's; `off` serves none.
    #[arg(
        long = "metrics-bind",
        env = "ALMANAC_METRICS_BIND",
        default_value = "127.0.0.1:9464",
        value_parser = parse::address_or_off()
    )]
    metrics_bind: parse::AddressOrOff,
}

/// Where `/metrics` is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricsBind {
    /// Nowhere.
    Off,
    /// On its own listener at this address (port 0 picks a free port).
    At(SocketAddr),
}

/// The shared limits, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct LimitSettings {
    /// Access checks one user may ask for per minute, also the burst; at least 1.
    pub access_checks_per_user: u32,
    /// Access checks on one spreadsheet per minute, also the burst; at least 1.
    pub access_checks_per_spreadsheet: u32,
    /// Event and chat streams one user may hold open at once (per replica); at least 1.
    pub streams_per_user: usize,
    /// Connections held at once; at least 1.
    pub max_connections: usize,
    /// Longest wait for a request's head.
    pub header_read_timeout: Duration,
    /// Longest silence on a connection.
    pub idle_timeout: Duration,
    /// Where `/metrics` is served.
    pub metrics_bind: MetricsBind,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            access_checks_per_user: 10,
            access_checks_per_spreadsheet: 30,
            streams_per_user: 8,
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            metrics_bind: MetricsBind::At(SocketAddr::from(([127, 0, 0, 1], 9464))),
        }
    }
}

impl LimitArgs {
    /// The settings these flags ask for.
    pub fn settings(&self) -> LimitSettings {
        LimitSettings {
            access_checks_per_user: self.access_checks_per_user,
            access_checks_per_spreadsheet: self.access_checks_per_spreadsheet,
            streams_per_user: self.streams_per_user,
            max_connections: self.max_connections,
            header_read_timeout: self.header_read_timeout,
            idle_timeout: self.idle_timeout,
            metrics_bind: self
                .metrics_bind
                .0
                .map_or(MetricsBind::Off, MetricsBind::At),
        }
    }
}
