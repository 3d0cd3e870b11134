//! Benchmark (a binary that prints figures, not a test): for 50,000 rows, the time and peak heap
//! memory to build and upload the batch input JSONL, and to parse the batch output and plan the
//! sheet write. Uploads go to the in-process emulator over loopback HTTP, so the upload figure
//! includes the emulator receiving the file. Run with
//! `cargo bench -p almanac-tests --bench pipeline`.

use std::time::{Duration, Instant};

use almanac::app::install_crypto_provider;
use almanac_core::catalog::{Catalog, ModelSpec};
use almanac_core::domain::{Generated, RowId, RowInput};
use almanac_emulator::{Emulator, EmulatorConfig, SAMPLE_EN_CSV};
use almanac_openai::BatchClient;
use almanac_openai::{jsonl, output};
use almanac_sheets::{SheetRow, plan_writes};
use peak_alloc::PeakAlloc;
use secrecy::SecretString;

#[global_allocator]
static PEAK: PeakAlloc = PeakAlloc;

const ROWS: usize = 50_000;

/// Prints a phase's time and its peak heap above what was allocated when it started.
fn report(what: &str, started_with_mb: f32, elapsed: Duration, extra: &str) {
    println!(
        "{what:<40} {:>8.1} ms   peak heap +{:>7.1} MiB   {extra}",
        elapsed.as_secs_f64() * 1000.0,
        PEAK.peak_usage_as_mb() - started_with_mb
    );
}

/// Resets the peak and returns the current heap, in MiB.
fn phase_start() -> f32 {
    PEAK.reset_peak_usage();
    PEAK.current_usage_as_mb()
}

fn main() {
    install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let titles: Vec<&str> = SAMPLE_EN_CSV
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1))
        .collect();
    let rows: Vec<RowInput> = (0..ROWS)
        .map(|i| RowInput {
            id: RowId::parse(&format!("r{i:05}")).expect("id"),
            title: titles[i % titles.len()].to_owned(),
        })
        .collect();
    let spec = Catalog::builtin().default_spec();
    println!("{ROWS} rows, model {}", spec.id);
    let body = build_phase(spec, &rows);
    runtime.block_on(remote_phases(body, &titles));
}

/// 1. Builds the JSONL of `rows`.
fn build_phase(spec: &ModelSpec, rows: &[RowInput]) -> Vec<u8> {
    let base = phase_start();
    let started = Instant::now();
    let body = jsonl::build_jsonl(spec, rows).expect("jsonl");
    let bytes = body.len();
    report(
        "build JSONL",
        base,
        started.elapsed(),
        &format!("{:.1} MiB file", bytes as f64 / 1048576.0),
    );
    body
}

/// 2. Uploads `body` to an emulator and runs the batch; downloads its output, then
/// 3. parses it and plans the write.
async fn remote_phases(body: Vec<u8>, titles: &[&str]) {
    let emulator = Emulator::start(EmulatorConfig {
        step: Duration::from_millis(1),
        rows_per_step: ROWS,
    })
    .await
    .expect("emulator");
    let client = BatchClient::new(
        &SecretString::from("sk-bench".to_string()),
        &emulator.openai_base_url(),
    );
    let file_id = upload_phase(&client, body).await;
    let output_id = run_batch(&client, &file_id).await;
    let base = phase_start();
    let started = Instant::now();
    let out = client.file_content(&output_id).await.expect("download");
    report(
        "download output file",
        base,
        started.elapsed(),
        &format!("{:.1} MiB", out.len() as f64 / 1048576.0),
    );
    let current = sheet_as_read(titles);
    parse_and_plan_phase(&out, &current);
    emulator.shutdown().await;
}

/// 2. Uploads the JSONL; returns its file id.
async fn upload_phase(client: &BatchClient, body: Vec<u8>) -> String {
    let base = phase_start();
    let started = Instant::now();
    let file_id = client
        .upload_jsonl("bench.jsonl", body)
        .await
        .expect("upload");
    report(
        "upload JSONL (incl. emulator receiving)",
        base,
        started.elapsed(),
        "",
    );
    file_id
}

/// Creates a batch of the uploaded file and waits until it ends; returns its output file's id.
async fn run_batch(client: &BatchClient, file_id: &str) -> String {
    let batch = client.create_batch(file_id, "bench").await.expect("create");
    let info = loop {
        let info = client.retrieve_batch(&batch.id).await.expect("retrieve");
        if info.status.is_terminal() {
            break info;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    info.output_file_id.expect("output file")
}

/// The sheet as read at write time: ids in A, C–F empty, rows in reverse order.
fn sheet_as_read(titles: &[&str]) -> Vec<SheetRow> {
    (0..ROWS)
        .map(|i| SheetRow {
            row_number: i as u32 + 2,
            cells: vec![
                format!("r{:05}", ROWS - 1 - i),
                titles[(ROWS - 1 - i) % titles.len()].to_owned(),
            ],
        })
        .collect()
}

/// 3. Parses the output and plans the write.
fn parse_and_plan_phase(out: &[u8], current: &[SheetRow]) {
    let base = phase_start();
    let started = Instant::now();
    let results: Vec<(RowId, Generated)> = output::parse_file(out)
        .filter_map(|line| {
            let line = line.ok()?;
            Some((RowId::parse(&line.custom_id).ok()?, line.outcome.ok()?))
        })
        .collect();
    let parsed = started.elapsed();
    let plan = plan_writes(0, current, &results, false);
    report(
        "parse output + plan the write",
        base,
        started.elapsed(),
        &format!(
            "parse {:.1} ms; {} results, {} ranges, {} problems",
            parsed.as_secs_f64() * 1000.0,
            results.len(),
            plan.blocks.len(),
            plan.problems.len()
        ),
    );
    assert_eq!(plan.blocks.len(), ROWS);
}
