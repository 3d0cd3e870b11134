//! Benchmark (not a test): realtime jobs through the real backend against the emulator set to
//! OpenAI-like rate limits — token buckets refilled continuously at `limit / 60` per second,
//! `x-ratelimit-*` headers with their documented meaning (`reset-*` is the time until the bucket
//! is full), 429 `rate_limit_exceeded` with `retry-after` past them. Prints, per scenario, the
//! rate achieved as a fraction of the binding limit, the 429s met, the rows lost (ended failed),
//! the wall time, and the Sheets calls used.
//!
//! Scenarios (600-row jobs unless said otherwise):
//!
//! - **per-second buckets, RPM-bound**: 600 RPM in buckets of one second (10 requests), 200 ms
//!   latency: the pace must follow the refill (10/s) from the first second on;
//! - **full-minute burst**: 600 RPM with a bucket of a whole minute, 500 ms latency: the job fits
//!   in what the first answer advertises (`remaining-requests: 599`), so it is bound by latency,
//!   not by the rate; printed beside the provider's latency-bound time,
//!   ⌈rows ÷ calls in flight⌉ × latency (the fastest any client holding that many calls in flight
//!   can finish), and with as many calls in flight as rows;
//! - **per-second buckets, TPM-bound**: 6,000 RPM but 1,500,000 TPM (a call weighs its input plus
//!   its 2,048-token cap, ~2,500 tokens), 200 ms latency.
//!
//! Run: `cargo bench -p almanac-tests --bench realtime` (release profile). Optional arguments:
//! `-- <rows> <rpm> <tpm> <latency_ms> [burst_seconds]` run one custom scenario.

use std::time::{Duration, Instant};

use almanac_emulator::ratelimit::ChatLimits;
use almanac_protocol::{JobStatus, Mode};
use almanac_tests::{ENGLISH_CSV, fast, spawn_app_with};

const MODEL: &str = "gpt-4.1-nano-2025-04-14";

/// A sheet of `rows` events: the English sample's titles, numbered so that each is unique.
fn sheet(rows: usize) -> String {
    let titles: Vec<&str> = ENGLISH_CSV
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1))
        .map(|t| t.trim_matches('"'))
        .filter(|t| !t.is_empty())
        .collect();
    let mut csv = String::from("id,title,year,content_simple,content_detailed,related_movies\n");
    for i in 0..rows {
        let title = titles[i % titles.len()];
        csv.push_str(&format!(
            "b{i:05},\"{title} ({})\",,,,\n",
            i / titles.len() + 1
        ));
    }
    csv
}

/// One scenario's limits and job.
struct Scenario {
    name: &'static str,
    rows: usize,
    rpm: u64,
    tpm: u64,
    latency: Duration,
    /// Seconds of refill each bucket holds (1 = per-second buckets, 60 = a whole minute).
    burst_seconds: f64,
    /// Most calls in flight (`ALMANAC_REALTIME_MAX_CONCURRENCY`).
    max_concurrency: usize,
}

async fn scenario(s: &Scenario) {
    let max_concurrency = s.max_concurrency;
    let app = spawn_app_with(fast(), move |c| {
        c.api.cost.pacer.max_concurrency = max_concurrency;
    })
    .await;
    app.add_sheet(0, "Bench", &sheet(s.rows));
    app.emulator.set_chat_limits(Some(ChatLimits {
        requests_per_minute: Some(s.rpm),
        tokens_per_minute: Some(s.tpm),
        burst_seconds: s.burst_seconds,
        latency: s.latency,
    }));
    let before = app.emulator.calls();
    let started = Instant::now();
    let job = app
        .create_job(&app.request_in(0, 2, s.rows as u32 + 1, MODEL, Mode::Realtime))
        .await;
    let job = loop {
        let j = app.job(&job.id).await;
        if j.status.is_terminal() {
            break j;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let wall = started.elapsed().as_secs_f64();
    let stats = app.emulator.chat_limit_stats();
    let calls = app.emulator.calls();
    // The buckets start full; leave their first fill out so the figure is the sustained rate.
    let burst = |limit: u64| limit as f64 * s.burst_seconds / 60.0;
    let minutes = stats.span_seconds / 60.0;
    let rate = |accepted: f64, limit: u64| ((accepted - burst(limit)).max(0.0) / minutes, limit);
    let (rpm_rate, _) = rate(stats.accepted as f64, s.rpm);
    let (tpm_rate, _) = rate(stats.accepted_tokens as f64, s.tpm);
    let (rpm_fraction, tpm_fraction) = (rpm_rate / s.rpm as f64, tpm_rate / s.tpm as f64);
    let sheets_calls = calls.sheets() - before.sheets();
    println!(
        "== {}: {} rows, {} RPM / {} TPM in buckets of {} s, {} ms latency, {} calls in flight at most",
        s.name,
        s.rows,
        s.rpm,
        s.tpm,
        s.burst_seconds,
        s.latency.as_millis(),
        s.max_concurrency
    );
    println!(
        "   job {:?} in {wall:.2} s; {} calls accepted over {:.2} s; 429s {}; rows lost {} ({} written)",
        job.status,
        stats.accepted,
        stats.span_seconds,
        stats.throttled,
        job.row_counts.failed,
        job.row_counts.done
    );
    if stats.accepted as f64 > burst(s.rpm) + 1.0 {
        println!(
            "   sustained {rpm_rate:.0} RPM = {rpm_fraction:.3} of the RPM limit; {tpm_rate:.0} TPM = {tpm_fraction:.3} of the TPM limit; binding limit used at {:.3}",
            rpm_fraction.max(tpm_fraction)
        );
    } else {
        let rounds = s.rows.div_ceil(s.max_concurrency) as f64;
        let bound = rounds * s.latency.as_secs_f64();
        println!(
            "   fits in the advertised burst: latency-bound time ⌈{} / {}⌉ × {} ms = {bound:.2} s; wall = {:.2} × that",
            s.rows,
            s.max_concurrency,
            s.latency.as_millis(),
            wall / bound
        );
    }
    println!(
        "   Sheets calls: {sheets_calls} ({} values.batchGetByDataFilter, {} values.batchUpdateByDataFilter) for {} rows written",
        calls.values_batch_get_by_data_filter - before.values_batch_get_by_data_filter,
        calls.values_batch_update_by_data_filter - before.values_batch_update_by_data_filter,
        job.row_counts.done
    );
    assert_eq!(job.status, JobStatus::Completed, "{:?}", job.row_counts);
}

fn scenarios() -> Vec<Scenario> {
    let ms = Duration::from_millis;
    vec![
        Scenario {
            name: "per-second buckets, RPM-bound",
            rows: 600,
            rpm: 600,
            tpm: 100_000_000,
            latency: ms(200),
            burst_seconds: 1.0,
            max_concurrency: 64,
        },
        Scenario {
            name: "full-minute burst",
            rows: 600,
            rpm: 600,
            tpm: 100_000_000,
            latency: ms(500),
            burst_seconds: 60.0,
            max_concurrency: 64,
        },
        Scenario {
            name: "full-minute burst, as many calls in flight as rows",
            rows: 600,
            rpm: 600,
            tpm: 100_000_000,
            latency: ms(500),
            burst_seconds: 60.0,
            max_concurrency: 600,
        },
        Scenario {
            name: "per-second buckets, TPM-bound",
            rows: 600,
            rpm: 6_000,
            tpm: 1_500_000,
            latency: ms(200),
            burst_seconds: 1.0,
            max_concurrency: 64,
        },
    ]
}

fn main() {
    let args: Vec<f64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        if let [rows, rpm, tpm, latency_ms, ref rest @ ..] = args[..] {
            scenario(&Scenario {
                name: "custom",
                rows: rows as usize,
                rpm: rpm as u64,
                tpm: tpm as u64,
                latency: Duration::from_secs_f64(latency_ms / 1000.0),
                burst_seconds: rest.first().copied().unwrap_or(1.0),
                max_concurrency: 64,
            })
            .await;
        } else {
            for s in scenarios() {
                scenario(&s).await;
            }
        }
    });
}
