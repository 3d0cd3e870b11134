//! Benchmark (not a test): a 2,000-row realtime job against the emulator set to fixed RPM/TPM
//! limits, through the real backend. Prints the rate achieved as a fraction of each limit (the
//! target is >= 0.9 of the binding one), the 429s met, and the Sheets calls used.
//!
//! Run: `cargo bench -p almanac-tests --bench realtime` (release profile). Optional arguments:
//! `-- <rows> <rpm> <tpm> <latency_ms>`; without them two scenarios run, one bound by requests
//! per minute and one by tokens per minute.

use std::time::{Duration, Instant};

use almanac_emulator::ratelimit::ChatLimits;
use almanac_protocol::{JobStatus, Mode};
use almanac_tests::{ENGLISH_CSV, fast, spawn_app};

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

async fn scenario(name: &str, rows: usize, rpm: u64, tpm: u64, latency: Duration) {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Bench", &sheet(rows));
    app.emulator.set_chat_limits(Some(ChatLimits {
        requests_per_minute: Some(rpm),
        tokens_per_minute: Some(tpm),
        burst_seconds: 1.0,
        latency,
    }));
    let before = app.emulator.calls();
    let started = Instant::now();
    let job = app
        .create_job(&app.request_in(0, 2, rows as u32 + 1, MODEL, Mode::Realtime))
        .await;
    let job = loop {
        let j = app.job(&job.id).await;
        if j.status.is_terminal() {
            break j;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let wall = started.elapsed().as_secs_f64();
    assert_eq!(job.status, JobStatus::Completed, "{:?}", job.row_counts);
    let stats = app.emulator.chat_limit_stats();
    let calls = app.emulator.calls();
    // The emulator's buckets start full with 1 s of burst; leave that second's worth out so the
    // figure is the sustained rate.
    let sustained_requests = stats.accepted as f64 - rpm as f64 / 60.0;
    let sustained_tokens = stats.accepted_tokens as f64 - tpm as f64 / 60.0;
    let minutes = stats.span_seconds / 60.0;
    let rpm_fraction = sustained_requests / minutes / rpm as f64;
    let tpm_fraction = sustained_tokens / minutes / tpm as f64;
    let sheets_calls = calls.sheets() - before.sheets();
    println!(
        "== {name}: {rows} rows, limits {rpm} RPM / {tpm} TPM, {} ms latency",
        latency.as_millis()
    );
    println!(
        "   job wall time {wall:.1} s; calls accepted {} over {:.1} s; 429s {}",
        stats.accepted, stats.span_seconds, stats.throttled
    );
    println!(
        "   achieved {:.0} RPM = {rpm_fraction:.3} of the RPM limit; {:.0} TPM = {tpm_fraction:.3} of the TPM limit; binding limit used at {:.3}",
        sustained_requests / minutes,
        sustained_tokens / minutes,
        rpm_fraction.max(tpm_fraction)
    );
    println!(
        "   Sheets calls: {sheets_calls} ({} values.batchGetByDataFilter, {} values.batchUpdateByDataFilter) for {} rows written",
        calls.values_batch_get_by_data_filter - before.values_batch_get_by_data_filter,
        calls.values_batch_update_by_data_filter - before.values_batch_update_by_data_filter,
        job.row_counts.done
    );
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        if let [rows, rpm, tpm, latency_ms] = args[..] {
            scenario(
                "custom",
                rows as usize,
                rpm,
                tpm,
                Duration::from_millis(latency_ms),
            )
            .await;
        } else {
            // Each request weighs ~2,400 tokens (input + the 2,048-token cap).
            scenario(
                "RPM-bound",
                2_000,
                3_000,
                20_000_000,
                Duration::from_millis(200),
            )
            .await;
            scenario(
                "TPM-bound",
                2_000,
                6_000,
                6_000_000,
                Duration::from_millis(200),
            )
            .await;
        }
    });
}
