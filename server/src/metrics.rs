//! Prometheus metrics, served at `GET /metrics` in the text exposition format
//! (<https://prometheus.io/docs/instrumenting/exposition_formats/>) on an address of their own
//! (`ALMANAC_METRICS_BIND`, loopback by default; never the API's). Code records through the
//! `metrics` facade (`metrics::counter!`, `metrics::histogram!`); this module installs the
//! process-wide recorder of `metrics-exporter-prometheus` once and renders it. A scrape renders
//! what is in memory: no scrape queries the database (the job counts are refreshed every
//! [`JOB_COUNTS_EVERY`] by the app).
//!
//! | metric | type | labels | what |
//! |---|---|---|---|
//! | `almanac_jobs` | gauge | `status` | jobs per status (counted by the jobs layer every [`JOB_COUNTS_EVERY`], all replicas' jobs) |
//! | `almanac_rows_written_total` | counter | | rows whose C–F were written to the sheet (or found already holding our answer) |
//! | `almanac_rows_failed_total` | counter | `stage` (`openai`, `sheet`) | rows that ended failed, with the stage that failed them |
//! | `almanac_external_requests_total` | counter | `service` (`openai`, `sheets`), `operation`, `status` | every HTTP attempt to OpenAI or Google Sheets; `status` is the HTTP status, or `timeout` / `connection` |
//! | `almanac_external_request_duration_seconds` | histogram | `service`, `operation` | latency of those attempts |
//! | `almanac_step_retries_total` | counter | `reason` (`transient`, `token_limit`) | worker steps rescheduled after a transient failure or an enqueued-token limit |

use std::sync::{Arc, OnceLock};

use almanac_core::calls::{CallObserver, ExternalCall, Observer};
use almanac_protocol::JobStatus;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// `almanac_external_requests_total`.
pub const EXTERNAL_REQUESTS: &str = "almanac_external_requests_total";
/// `almanac_external_request_duration_seconds`.
pub const EXTERNAL_DURATION: &str = "almanac_external_request_duration_seconds";
/// `almanac_rows_written_total`.
pub const ROWS_WRITTEN: &str = "almanac_rows_written_total";
/// `almanac_rows_failed_total`.
pub const ROWS_FAILED: &str = "almanac_rows_failed_total";
/// `almanac_jobs`.
pub const JOBS: &str = "almanac_jobs";
/// `almanac_step_retries_total`.
pub const STEP_RETRIES: &str = "almanac_step_retries_total";
/// `almanac_leases_lost_total`: steps or realtime runs stopped because another replica took
/// their job over.
pub const LEASES_LOST: &str = "almanac_leases_lost_total";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder as the process's `metrics` recorder (first call only) and
/// returns the handle that renders it. Safe to call from every [`Application`](crate::app::Application)
/// of a process: they share one registry. If another recorder was installed first, the handle
/// renders an empty registry.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(EXTERNAL_DURATION.to_owned()),
                    &[
                        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0,
                    ],
                )
                .expect("bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics stays empty");
            }
            handle
        })
        .clone()
}

/// Records every HTTP attempt of the OpenAI and Sheets clients as `almanac_external_requests_total`
/// and `almanac_external_request_duration_seconds` (labels `service`, `operation`, `status`).
#[derive(Clone, Copy, Debug, Default)]
pub struct CallMetrics;

impl CallObserver for CallMetrics {
    fn observe(&self, call: &ExternalCall) {
        metrics::counter!(EXTERNAL_REQUESTS, "service" => call.service, "operation" => call.operation.clone(), "status" => call.status.clone())
            .increment(1);
        metrics::histogram!(EXTERNAL_DURATION, "service" => call.service, "operation" => call.operation.clone())
            .record(call.took.as_secs_f64());
    }
}

/// The observer to hand the clients: [`CallMetrics`].
pub fn call_observer() -> Observer {
    Some(Arc::new(CallMetrics))
}

/// How often `almanac_jobs{status}` is counted again (one query per replica, whatever the scrapes).
pub const JOB_COUNTS_EVERY: std::time::Duration = std::time::Duration::from_secs(15);

/// Sets `almanac_jobs{status}` from `counts` (jobs per status; every status is set, zeros
/// included).
pub fn set_job_counts(counts: &[(JobStatus, u64)]) {
    for status in JobStatus::ALL {
        let n = counts
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n);
        metrics::gauge!(JOBS, "status" => status.as_str()).set(n as f64);
    }
}
