//! One job driven over the backend's public HTTP API, as the sidebar does it: list the models,
//! estimate the selected rows, create the job, follow its event stream (`GET /jobs/{id}/events`,
//! SSE) with a progress bar, read the finished job, and print the filled sheet.

use std::time::{Duration, Instant};

use almanac_protocol::{
    CreateJobRequest, Estimate, EstimateRequest, EstimateRow, Job, JobEvent, JobStatus, Mode,
    ModelList, RowState,
};
use anyhow::{Context, bail};
use comfy_table::{ContentArrangement, Table};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use crate::client::authorized_client;
use crate::session::{DEMO_SHEET_ID, DEMO_SPREADSHEET_ID, Demo, DemoArgs};

/// Runs one job on the backend at `base_url` over its HTTP API, as the demo user, and prints the
/// filled sheet (see the module documentation).
///
/// # Errors
/// When a call fails, or the job ends `failed` or does not end.
pub async fn run_job(demo: &Demo, base_url: &str) -> anyhow::Result<()> {
    println!(
        "Almanac demo — backend at {base_url} (store: {})",
        demo.database_url()
    );
    println!("OpenAI and Google are emulated locally: generated text is marked [emulated].\n");
    let proof = demo.access_proof(base_url).await?;
    println!(
        "You can edit the spreadsheet, and so can Almanac's service account: access proven.\n"
    );
    let http = authorized_client(&demo.id_token, Some(&proof))?;
    run(&http, base_url, demo, demo.args()).await
}

/// Runs the job and prints what happened.
async fn run(
    http: &reqwest::Client,
    base_url: &str,
    demo: &Demo,
    args: &DemoArgs,
) -> anyhow::Result<()> {
    let base = format!("{base_url}/api/v1");
    let models: ModelList = ok_json(http.get(format!("{base}/models")).send().await?).await?;
    let model = args.model.clone().unwrap_or(models.default_model);
    estimate(http, &base, demo, args, &model).await?;
    let created = http
        .post(format!("{base}/jobs"))
        .json(&CreateJobRequest {
            spreadsheet_id: DEMO_SPREADSHEET_ID.into(),
            sheet_id: DEMO_SHEET_ID,
            rows: vec![demo.span],
            model,
            mode: Mode::Batch,
            overwrite: args.overwrite,
        })
        .send()
        .await?;
    let job: Job = ok_json(created).await?;
    let counts = &job.row_counts;
    println!(
        "Job {} created: {} rows selected, {} to generate, {} skipped, {} failed at once\n",
        job.id, counts.total, counts.pending, counts.skipped, counts.failed
    );
    follow_progress(http, &base, &job).await?;
    let job: Job = ok_json(http.get(format!("{base}/jobs/{}", job.id)).send().await?).await?;
    report(&job);
    println!("\nThe sheet now:");
    let grid = demo.emulator.sheet_rows(DEMO_SPREADSHEET_ID, DEMO_SHEET_ID);
    println!("{}", sheet_table(&grid));
    if !job.status.is_terminal() || job.status == JobStatus::Failed {
        bail!(
            "the job did not complete: {}",
            job.error.map(|e| e.message).unwrap_or(job.status_text)
        );
    }
    Ok(())
}

/// `POST /estimate` of the rows the job will send (those with an id and an empty cell in C–F,
/// or all with `--overwrite`), printed on one line.
async fn estimate(
    http: &reqwest::Client,
    base: &str,
    demo: &Demo,
    args: &DemoArgs,
    model: &str,
) -> anyhow::Result<()> {
    let grid = demo.emulator.sheet_rows(DEMO_SPREADSHEET_ID, DEMO_SHEET_ID);
    let span = demo.span.start_row..=demo.span.end_row;
    let cell = |r: &Vec<String>, i: usize| r.get(i).cloned().unwrap_or_default();
    let rows: Vec<EstimateRow> = grid
        .iter()
        .enumerate()
        .filter(|(i, _)| span.contains(&(*i as u32 + 1)))
        .map(|(_, r)| r)
        .filter(|r| args.overwrite || (2..6).any(|c| cell(r, c).trim().is_empty()))
        .filter(|r| !cell(r, 0).trim().is_empty())
        .map(|r| EstimateRow {
            id: cell(r, 0),
            title: cell(r, 1),
        })
        .collect();
    let answer = http
        .post(format!("{base}/estimate"))
        .json(&EstimateRequest {
            model: model.to_owned(),
            rows,
        })
        .send()
        .await?;
    let e: Estimate = ok_json(answer).await?;
    println!(
        "Estimate for {} rows with {}: {} input + ~{} output tokens — batch ${:.4} vs realtime ${:.4}",
        e.rows, e.model, e.input_tokens, e.output_tokens, e.batch.total_usd, e.realtime.total_usd
    );
    Ok(())
}

/// Prints the finished job's counts and each failed or skipped row with its reason.
fn report(job: &Job) {
    println!(
        "\nJob {}: {} — {} rows written, {} skipped, {} failed (batches: {})",
        job.id,
        job.status_text,
        job.row_counts.done,
        job.row_counts.skipped,
        job.row_counts.failed,
        job.batch_ids.join(", ")
    );
    for row in job
        .rows
        .iter()
        .filter(|r| r.state == RowState::Failed || r.state == RowState::Skipped)
    {
        println!(
            "  row {} ({}): {} — {}",
            row.row_number,
            row.id,
            row.state.as_str(),
            row.reason.as_deref().unwrap_or("")
        );
    }
}

/// The body of a 2xx answer, or an error with the backend's `{"error":{"message"}}`.
async fn ok_json<T: serde::de::DeserializeOwned>(resp: reqwest::Response) -> anyhow::Result<T> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp.json().await?);
    }
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    bail!(
        "the backend answered {status}: {}",
        body["error"]["message"].as_str().unwrap_or("no message")
    )
}

/// Follows the job's SSE stream with a progress bar until the job ends, printing a line at each
/// change of status.
async fn follow_progress(http: &reqwest::Client, base: &str, job: &Job) -> anyhow::Result<()> {
    let bar = ProgressBar::new(job.row_counts.pending);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} rows  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let started = Instant::now();
    let mut last_status = None;
    let resp = http
        .get(format!("{base}/jobs/{}/events", job.id))
        .send()
        .await?
        .error_for_status()?;
    let mut events = resp.bytes_stream().eventsource();
    while let Some(event) = events.next().await {
        let event = event.context("the progress stream broke")?;
        if event.event != "progress" {
            continue;
        }
        let progress: JobEvent = serde_json::from_str(&event.data)?;
        let counts = progress.request_counts;
        bar.set_length(counts.total.max(job.row_counts.pending));
        bar.set_position(counts.completed + counts.failed);
        bar.set_message(progress.status_text.clone());
        if last_status != Some(progress.status) {
            let line = format!(
                "[{:>5.1}s] {} ({} of {} requests done, {} failed)",
                started.elapsed().as_secs_f64(),
                progress.status_text,
                counts.completed,
                counts.total,
                counts.failed
            );
            // A hidden bar (output is not a terminal) prints nothing, so print plainly then.
            if bar.is_hidden() {
                println!("{line}");
            } else {
                bar.println(line);
            }
            last_status = Some(progress.status);
        }
        if progress.status.is_terminal() {
            break;
        }
    }
    bar.finish_and_clear();
    Ok(())
}

/// Renders a sheet grid (A–F) as a text table, shortening long cells.
pub fn sheet_table(grid: &[Vec<String>]) -> String {
    let mut table = Table::new();
    table.set_content_arrangement(ContentArrangement::Dynamic);
    table.set_width(180);
    let short = |s: &str, n: usize| -> String {
        if s.chars().count() > n {
            format!("{}…", s.chars().take(n).collect::<String>())
        } else {
            s.to_owned()
        }
    };
    let mut rows = grid.iter();
    if let Some(header) = rows.next() {
        table.set_header(header.iter().take(6).map(|h| short(h, 16)));
    }
    for row in rows {
        let widths = [6, 18, 6, 30, 30, 30];
        table.add_row(
            (0..6).map(|i| short(row.get(i).map(String::as_str).unwrap_or(""), widths[i])),
        );
    }
    table.to_string()
}
