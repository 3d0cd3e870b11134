//! `almanac run INPUT OUTPUT`: the seed's one-shot `batch_workflow.py` — read a CSV or
//! `historical_events.json`, send the rows that need it in one batch, wait, and write the same
//! columns as the sheet flow into OUTPUT. It is an ordinary job in the command line's store (with
//! a file target), driven by the same worker steps as a sheet job, so an interrupted run resumes
//! its job — the batch already paid for — when the same command runs again.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use almanac_core::catalog::{Catalog, ModelSpec};
use almanac_core::ids::{BatchId, JobId};
use almanac_core::state::{JobStatus, Mode, RowState};
use almanac_files::Format;
use almanac_protocol::RowSpan;
use almanac_store::{FileTarget, JobRecord};
use serde_json::json;

use super::common::{
    CliError, CsvArgs, EXIT_FAILURES, EXIT_INTERRUPTED, EXIT_OK, EndpointArgs, OutputArgs, Report,
    completion_window, confirm, estimate_text, interactive, log_line, progress_bar,
};
use super::file_rows::{Selection, scan_estimate, select};
use crate::jobs::destination::file::temp_files_dir;
use crate::jobs::{JobService, NewFileJob, Services, Worker, job_view};

/// The owner recorded on command-line jobs.
pub const CLI_OWNER: &str = "cli";

const RUN_EXAMPLES: &str = "\
Examples:
  # the whole file, default model
  almanac run historical_events.json historical_events.out.json
  # the first 10 data rows, as a test
  almanac run events.csv out.csv --end-row 10
  # what would rows 100..199 cost? (sends nothing)
  almanac run events.csv out.csv --start-row 100 --end-row 200 --estimate-cost
  # in a pipeline: no prompts, one JSON document on stdout
  almanac run events.csv out.csv --model gpt-4.1-mini-2025-04-14 --yes --json

Rows are data rows (the header is not counted), 0-based: --start-row 100 --end-row 200 selects
rows 100 to 199, like the seed's batch_workflow.py. Rows whose year, content_simple,
content_detailed and related_movies are all filled are skipped (unless --overwrite); a filled cell
is never replaced unless --overwrite. OUTPUT may be INPUT; it is written once, atomically, when
the batch has ended. If the run is interrupted, run the same command again: it finds its job and
its batch in the store and does not pay twice.";

/// `--mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// OpenAI Batch API: half price, results within 24 h.
    Batch,
    /// One Chat Completions call per row, paced at the account's rate limits: full price,
    /// results in seconds.
    Realtime,
}

/// Flags of `almanac run`.
#[derive(Clone, Debug, clap::Args)]
#[command(after_help = RUN_EXAMPLES)]
pub struct RunArgs {
    /// The rows: a `.csv` with a header row (`id,title,…`) or a `.json` in the seed's shape (an
    /// object keyed by id, or an array of objects with `id` and `title`).
    pub input: PathBuf,
    /// Where to write the result (same format as INPUT; may be INPUT itself).
    pub output: PathBuf,
    /// First data row to process, 0-based (the header is not a data row).
    #[arg(long, default_value_t = 0)]
    pub start_row: usize,
    /// Data row to stop before, 0-based (default: to the end): `--end-row 10` processes the first 10.
    #[arg(long)]
    pub end_row: Option<usize>,
    /// Model id (see the catalogue; default: its default model).
    #[arg(long)]
    pub model: Option<String>,
    /// How to call OpenAI.
    #[arg(long, value_enum, default_value = "batch")]
    pub mode: ModeArg,
    /// Print what the run would cost and send nothing.
    #[arg(long)]
    pub estimate_cost: bool,
    /// Also keep the JSONL input and the downloaded result files, in `OUTPUT.almanac-files/`.
    #[arg(long)]
    pub keep_temp_files: bool,
    /// Time between two status checks of the batch: seconds (`60`, `0.5`) or with a unit (`2m`).
    #[arg(
        long,
        default_value = "60",
        value_parser = crate::config::duration(Duration::from_millis(1), "more than 0 seconds")
    )]
    pub check_interval: Duration,
    /// The batch's completion window (OpenAI accepts only `24h`).
    #[arg(long, default_value = "24h")]
    pub completion_window: String,
    /// Replace values already in year/content_simple/content_detailed/related_movies.
    #[arg(long)]
    pub overwrite: bool,
    /// Stop (exit 1, the job saved for the next run) after this many failed tries in a row of one
    /// step (OpenAI or the disk unreachable); tries are spaced 0.5 s, 1 s, 2 s … up to 60 s.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    pub give_up_after: u32,
    /// Do not ask before sending or before replacing an existing OUTPUT (needed to replace OUTPUT
    /// when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// `--raw-csv`.
    #[command(flatten)]
    pub csv: CsvArgs,
    /// Endpoints, keys and the job store (the same settings as `almanac serve`).
    #[command(flatten)]
    pub endpoints: EndpointArgs,
    /// `--json` and the progress bar.
    #[command(flatten)]
    pub output_args: OutputArgs,
}

/// An absolute path for a file that may not exist yet.
fn absolute(path: &Path) -> Result<PathBuf, CliError> {
    std::path::absolute(path).map_err(|e| CliError::bad_input(format!("{}: {e}", path.display())))
}

/// INPUT and OUTPUT as absolute paths (INPUT exists; OUTPUT may not yet).
struct Paths {
    input: PathBuf,
    output: PathBuf,
}

impl Paths {
    fn of(args: &RunArgs) -> Result<Paths, CliError> {
        let input = std::fs::canonicalize(&args.input)
            .map_err(|e| CliError::bad_input(format!("{}: {e}", args.input.display())))?;
        Ok(Paths {
            input,
            output: absolute(&args.output)?,
        })
    }
}

/// Runs `almanac run`.
///
/// # Errors
/// See the exit codes.
pub async fn run(args: RunArgs) -> Result<Report, CliError> {
    completion_window(&args.completion_window)?;
    let poll = args.check_interval;
    let catalog = Catalog::builtin();
    let spec = match &args.model {
        Some(m) => catalog.resolve(m)?,
        None => catalog.default_spec(),
    };
    check_output_format(&args, Format::from_path(&args.input)?)?;
    if args.estimate_cost {
        let (store, _) = args.endpoints.open_store().await?;
        let prediction = crate::jobs::creation::estimate::prediction(&store, spec).await?;
        let json = args.output_args.json;
        let scan = scan_estimate(
            (&args.input, args.start_row, args.end_row),
            args.overwrite,
            spec,
            (prediction, json),
        )?;
        return Ok(scan.report(spec, json));
    }
    let selection = select(&args.input, args.start_row, args.end_row, args.overwrite)?;
    let paths = Paths::of(&args)?;
    let svc = args.endpoints.services(poll, args.csv.cells()).await?;
    let input = paths.input.to_string_lossy();
    let output = paths.output.to_string_lossy();
    let (job_id, resumed, note) = match svc.store.unfinished_file_job(&input, &output).await? {
        Some(job) => (job.id.clone(), true, resume(&svc, &job).await?),
        None => create(&svc, &args, spec, &selection, &paths).await?,
    };
    let out = &args.output_args;
    let bar = progress_bar(out, selection.pending.len() as u64);
    log_line(&bar, &note);
    let outcome = tokio::select! {
        job = drive(&svc, &job_id, &bar, args.give_up_after) => job?,
        _ = tokio::signal::ctrl_c() => {
            bar.abandon();
            eprintln!("Interrupted. Job {job_id} is saved; run the same command again to resume it without paying twice.");
            return Ok(Report {
                exit: EXIT_INTERRUPTED,
                json: json!({"job_id": job_id, "status": "interrupted"}),
                text: String::new(),
            });
        }
    };
    bar.finish_and_clear();
    job_report(&svc, &outcome, resumed).await
}

/// OUTPUT keeps INPUT's format.
fn check_output_format(args: &RunArgs, input_format: Format) -> Result<(), CliError> {
    let output_format = Format::from_path(&args.output)?;
    if output_format == input_format {
        return Ok(());
    }
    Err(CliError::bad_input(format!(
        "{} is {} but {} is {}: the output keeps the input's format; name it .{}",
        args.input.display(),
        input_format.as_str(),
        args.output.display(),
        output_format.as_str(),
        input_format.as_str()
    )))
}

/// Takes up a job an earlier run left: due now with a fresh count of failed tries, or — when it
/// ended with answers still unwritten (its write failed) — reopened at `writing`.
async fn resume(svc: &Services, job: &JobRecord) -> Result<String, CliError> {
    let store = &svc.store;
    if job.status.is_terminal() {
        store.reopen(&job.id, JobStatus::Writing).await?;
    } else {
        store
            .schedule(&job.id, std::time::Duration::ZERO, 0)
            .await?;
    }
    Ok(format!(
        "Resuming job {} ({}, model {}) found in the store: its batch is not sent again.",
        job.id, job.status, job.model
    ))
}

/// Creates the run's job through the jobs layer, after asking (on a terminal) before replacing an
/// existing OUTPUT and before sending; returns its id and a line for the log.
async fn create(
    svc: &Arc<Services>,
    args: &RunArgs,
    spec: &'static ModelSpec,
    selection: &Selection,
    paths: &Paths,
) -> Result<(JobId, bool, String), CliError> {
    confirm_output(args, paths)?;
    if !selection.pending.is_empty() && !args.yes && interactive() {
        let est =
            crate::jobs::creation::estimate::estimate(&svc.store, spec, selection.pending.clone());
        eprintln!("{}", estimate_text(&est.await?));
        let question = format!("Send {} requests to OpenAI?", selection.pending.len());
        if !confirm(&question) {
            return Err(CliError::bad_input("stopped: nothing was sent"));
        }
    }
    let total = selection.total;
    let end = args.end_row.map(|e| e.min(total));
    let new = NewFileJob {
        rows: selection.rows.clone(),
        target: FileTarget {
            job_id: JobId::from(""),
            input_path: paths.input.to_string_lossy().into_owned(),
            output_path: paths.output.to_string_lossy().into_owned(),
            format: selection.format.as_str().into(),
            start_row: args.start_row as i64,
            end_row: end.map(|e| e as i64),
            keep_temp_files: args.keep_temp_files,
        },
        span: RowSpan {
            start_row: args.start_row as u32 + 1,
            end_row: end.unwrap_or(total) as u32,
        },
        title: args
            .input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        model: spec,
        mode: match args.mode {
            ModeArg::Batch => Mode::Batch,
            ModeArg::Realtime => Mode::Realtime,
        },
        overwrite: args.overwrite,
        owner: CLI_OWNER.into(),
    };
    let job = JobService::new(svc.clone()).create_file_job(new).await?;
    let note = format!(
        "Job {}: {} rows selected, {} to send, {} skipped, {} invalid (model {}).",
        job.id,
        selection.rows.len(),
        selection.pending.len(),
        selection.count(RowState::Skipped),
        selection.count(RowState::Failed),
        spec.id
    );
    Ok((job.id, false, note))
}

/// Refuses to replace an existing OUTPUT (other than INPUT) without `--yes` or a confirmation.
fn confirm_output(args: &RunArgs, paths: &Paths) -> Result<(), CliError> {
    if !paths.output.exists() || paths.output == paths.input || args.yes {
        return Ok(());
    }
    let out = args.output.display();
    if !interactive() {
        return Err(CliError::bad_input(format!(
            "{out} already exists: pass --yes to replace it when the run ends (or choose another OUTPUT). Rows are read from INPUT; to fill only what {out} still lacks, run `almanac run {out} {out}`"
        )));
    }
    if !confirm(&format!("{out} exists; replace it when the run ends?")) {
        return Err(CliError::bad_input("stopped: nothing was sent"));
    }
    Ok(())
}

/// Steps the job until it ends, updating the progress bar.
///
/// # Errors
/// When the store fails, or after `give_up_after` failed tries in a row of one step (the job stays
/// saved: running the command again resumes it).
pub async fn drive(
    svc: &Arc<Services>,
    job_id: &JobId,
    bar: &indicatif::ProgressBar,
    give_up_after: u32,
) -> Result<JobRecord, CliError> {
    let worker = Worker::new(svc.clone());
    let store = &svc.store;
    let mut last_status = None;
    loop {
        let job = store
            .job(job_id)
            .await?
            .ok_or_else(|| CliError::error("store_error", format!("job {job_id} vanished")))?;
        show_progress(svc, &job, bar, &mut last_status).await?;
        if job.status.is_terminal() {
            return Ok(job);
        }
        if job.attempts >= i64::from(give_up_after) {
            bar.abandon();
            return Err(CliError::error(
                "unavailable",
                format!(
                    "giving up for now: the step `{}` failed {} times in a row (see the warnings above). Job {job_id} is saved; run the same command again to resume it without paying twice",
                    job.status, job.attempts
                ),
            ));
        }
        let wait = (job.not_before - chrono::Utc::now())
            .to_std()
            .unwrap_or_default();
        if !wait.is_zero() {
            tokio::time::sleep(wait.min(std::time::Duration::from_millis(500))).await;
            continue;
        }
        worker.run_step(job_id).await;
    }
}

/// Sets the bar from the job's request counts and logs a line at each change of status.
async fn show_progress(
    svc: &Services,
    job: &JobRecord,
    bar: &indicatif::ProgressBar,
    last_status: &mut Option<JobStatus>,
) -> Result<(), CliError> {
    let store = &svc.store;
    let counts = store.request_counts(&job.id).await?;
    if counts.total > 0 {
        bar.set_length(counts.total);
    }
    bar.set_position(counts.completed + counts.failed);
    let describe = match job.status {
        JobStatus::Writing => "Writing the output file",
        s => s.describe(),
    };
    bar.set_message(describe.to_owned());
    if *last_status == Some(job.status) {
        return Ok(());
    }
    let batches: Vec<String> = store
        .batches(&job.id)
        .await?
        .into_iter()
        .filter_map(|b| b.batch_id.map(BatchId::into_string))
        .collect();
    let batch = if batches.is_empty() {
        String::new()
    } else {
        format!(" (batch {})", batches.join(", "))
    };
    log_line(bar, &format!("{}: {describe}{batch}", job.status));
    *last_status = Some(job.status);
    Ok(())
}

/// The report of a finished (or stopped) job: counts, failures, batch ids, exit code.
///
/// # Errors
/// When the store fails.
pub async fn job_report(
    svc: &Services,
    job: &JobRecord,
    resumed: bool,
) -> Result<Report, CliError> {
    let store = &svc.store;
    let mut view = job_view(store, job).await?;
    let target = store.file_target(&job.id).await?;
    if target.is_some() && view.status == JobStatus::Writing {
        "Writing the output file".clone_into(&mut view.status_text);
    }
    let rows = store.rows(&job.id).await?;
    let problems: Vec<_> = rows
        .iter()
        .filter(|r| r.state == RowState::Failed)
        .map(|r| json!({"line": r.row_number, "id": r.row_id, "reason": r.reason}))
        .collect();
    let status = job.status;
    let exit = if !status.is_terminal() {
        super::common::EXIT_RUNNING
    } else if status == JobStatus::Completed && view.row_counts.failed == 0 {
        EXIT_OK
    } else {
        EXIT_FAILURES
    };
    let c = &view.row_counts;
    let mut text = format!(
        "Job {}: {} — {} rows written, {} skipped, {} failed{}",
        job.id,
        status.describe(),
        c.done,
        c.skipped,
        c.failed,
        if view.batch_ids.is_empty() {
            String::new()
        } else {
            format!(" (batch {})", view.batch_ids.join(", "))
        }
    );
    if let Some(t) = &target
        && status.is_terminal()
        && status != JobStatus::Failed
    {
        text.push_str(&format!("\nWrote {}", t.output_path));
        if t.keep_temp_files {
            text.push_str(&format!(
                "\nKept the batch files in {}",
                temp_files_dir(Path::new(&t.output_path)).display()
            ));
        }
    }
    if view.cost.actual_rows > 0 {
        text.push_str(&cost_line(&view.cost));
    }
    if let Some(e) = &view.error {
        text.push_str(&format!("\nError ({}): {}", e.code, e.message));
    }
    for p in &problems {
        text.push_str(&format!(
            "\n  line {} ({}): {}",
            p["line"],
            p["id"].as_str().unwrap_or(""),
            p["reason"].as_str().unwrap_or("")
        ));
    }
    Ok(Report {
        exit,
        json: json!({
            "job": view,
            "resumed": resumed,
            "output": target.as_ref().map(|t| t.output_path.clone()),
            "failed_rows": problems,
        }),
        text,
    })
}

/// `Cost: $… for … input + … output tokens (estimate $…, off by …)`, on a new line.
fn cost_line(cost: &almanac_protocol::JobCost) -> String {
    format!(
        "\nCost: ${:.4} for {} input + {} output tokens (estimate ${:.4}{})",
        cost.actual_usd,
        cost.actual.input_tokens,
        cost.actual.output_tokens,
        cost.estimated_usd,
        cost.estimate_error
            .map(|e| format!(", off by {:+.1} %", e * 100.0))
            .unwrap_or_default()
    )
}
