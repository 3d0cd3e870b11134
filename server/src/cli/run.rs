//! `almanac run INPUT OUTPUT`: the seed's one-shot `batch_workflow.py` — read a CSV or
//! `historical_events.json`, send the rows that need it in one batch, wait, and write the same
//! columns as the sheet flow into OUTPUT. It is an ordinary job in the command line's store (with
//! a file target), driven by the same worker steps as a sheet job, so an interrupted run resumes
//! its job — the batch already paid for — when the same command runs again.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use almanac_protocol::{JobStatus, Mode, RowSpan, RowState};
use serde_json::json;

use super::common::{
    CliError, EXIT_FAILURES, EXIT_INTERRUPTED, EXIT_OK, EndpointArgs, OutputArgs, Report,
    check_interval, completion_window, confirm, estimate, estimate_json, estimate_text,
    interactive, log_line, progress_bar,
};
use crate::jobs::worker::Worker;
use crate::jobs::{Services, job_view, selection};
use almanac_core::catalog::Catalog;
use almanac_core::domain::RowInput;
use almanac_files::{EventsFile, FileRow};
use almanac_store::{FileTarget, JobRecord, NewJob, NewRow};

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
    /// One Chat Completions call per row (not available in this build yet).
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
    /// Seconds between two status checks of the batch.
    #[arg(long, default_value_t = 60.0)]
    pub check_interval: f64,
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
    #[command(flatten)]
    #[allow(missing_docs)]
    pub endpoints: EndpointArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub output_args: OutputArgs,
}

/// The selected rows of a file, checked and classified.
pub struct Selection {
    /// The file as read.
    pub file: EventsFile,
    /// The selected rows as job rows (pending, skipped or failed with a reason).
    pub rows: Vec<NewRow>,
    /// The inputs of the pending rows.
    pub pending: Vec<RowInput>,
}

/// Reads a file and classifies its rows `start..end` like the sheet flow does.
///
/// # Errors
/// Bad input for an unreadable file or an empty range.
pub fn select(
    path: &Path,
    start: usize,
    end: Option<usize>,
    overwrite: bool,
) -> Result<Selection, CliError> {
    let file = EventsFile::read(path)?;
    let total = file.rows().len();
    let end_row = end.unwrap_or(total).min(total);
    if start >= end_row {
        return Err(CliError::bad_input(format!(
            "{}: --start-row {start}{} selects no rows: the file has {total} data rows (numbered from 0)",
            path.display(),
            end.map(|e| format!(" --end-row {e}")).unwrap_or_default()
        )));
    }
    let selected: Vec<&FileRow> = file.rows()[start..end_row].iter().collect();
    let sheet_rows: Vec<_> = selected.iter().map(|r| r.as_sheet_row()).collect();
    let rows = selection::classify(&sheet_rows, overwrite)
        .into_iter()
        .map(|mut r| {
            // The sheet flow speaks of columns; a file has fields.
            r.reason = r.reason.map(|m| {
                m.replace("column A", "the id field")
                    .replace("column B", "the title field")
                    .replace(
                        "C–F",
                        "year, content_simple, content_detailed and related_movies",
                    )
                    .replace("choose overwrite", "pass --overwrite")
            });
            r
        })
        .collect::<Vec<_>>();
    let pending = rows
        .iter()
        .filter(|r| r.state == RowState::Pending)
        .filter_map(NewRow::input)
        .collect();
    Ok(Selection {
        file,
        rows,
        pending,
    })
}

/// An absolute path for a file that may not exist yet.
fn absolute(path: &Path) -> Result<PathBuf, CliError> {
    std::path::absolute(path).map_err(|e| CliError::bad_input(format!("{}: {e}", path.display())))
}

/// Runs `almanac run`.
///
/// # Errors
/// See the exit codes.
pub async fn run(args: RunArgs) -> Result<Report, CliError> {
    completion_window(&args.completion_window)?;
    let poll = check_interval(args.check_interval)?;
    let catalog = Catalog::builtin();
    let spec = match &args.model {
        Some(m) => catalog.resolve(m)?,
        None => catalog.default_spec(),
    };
    let selection = select(&args.input, args.start_row, args.end_row, args.overwrite)?;
    let output_format = almanac_files::Format::from_path(&args.output)?;
    if output_format != selection.file.format {
        return Err(CliError::bad_input(format!(
            "{} is {} but {} is {}: the output keeps the input's format; name it .{}",
            args.input.display(),
            selection.file.format.as_str(),
            args.output.display(),
            output_format.as_str(),
            selection.file.format.as_str()
        )));
    }
    let counts = |state: RowState| selection.rows.iter().filter(|r| r.state == state).count();
    let est = estimate(spec, &selection.pending);
    if args.estimate_cost {
        let failed: Vec<_> = selection
            .rows
            .iter()
            .filter(|r| r.state == RowState::Failed)
            .map(|r| json!({"line": r.row_number, "id": r.row_id, "reason": r.reason}))
            .collect();
        return Ok(Report {
            exit: EXIT_OK,
            json: json!({
                "estimate": estimate_json(&est),
                "rows": {"selected": selection.rows.len(), "to_send": selection.pending.len(),
                         "skipped": counts(RowState::Skipped), "failed": counts(RowState::Failed)},
                "invalid_rows": failed,
                "sent": false,
            }),
            text: format!(
                "{}\n{} rows selected: {} to send, {} skipped (already filled), {} invalid. Nothing was sent.",
                estimate_text(&est),
                selection.rows.len(),
                selection.pending.len(),
                counts(RowState::Skipped),
                counts(RowState::Failed)
            ),
        });
    }

    let input_abs = std::fs::canonicalize(&args.input)
        .map_err(|e| CliError::bad_input(format!("{}: {e}", args.input.display())))?;
    let output_abs = absolute(&args.output)?;
    let svc = args.endpoints.services(poll).await?;
    let store = &svc.store;
    let out = &args.output_args;
    let mut notes = Vec::new();
    let (job_id, resumed) = match store
        .unfinished_file_job(&input_abs.to_string_lossy(), &output_abs.to_string_lossy())
        .await?
    {
        Some(job) => {
            notes.push(format!(
                "Resuming job {} ({}, model {}) found in the store: its batch is not sent again.",
                job.id, job.status, job.model
            ));
            if job.status()?.is_terminal() {
                // It ended with answers still unwritten (its write failed): write them now.
                store.reopen(&job.id, JobStatus::Writing).await?;
            } else {
                // A new run, a new count of failed tries; and due now.
                store.schedule(&job.id, &almanac_store::now(), 0).await?;
            }
            (job.id, true)
        }
        None => {
            if output_abs.exists() && output_abs != input_abs && !args.yes {
                if !interactive() {
                    return Err(CliError::bad_input(format!(
                        "{} already exists: pass --yes to replace it when the run ends (or choose another OUTPUT). Rows are read from INPUT; to fill only what {} still lacks, run `almanac run {} {}`",
                        args.output.display(),
                        args.output.display(),
                        args.output.display(),
                        args.output.display()
                    )));
                }
                if !confirm(&format!(
                    "{} exists; replace it when the run ends?",
                    args.output.display()
                )) {
                    return Err(CliError::bad_input("stopped: nothing was sent"));
                }
            }
            if !selection.pending.is_empty() && !args.yes && interactive() {
                eprintln!("{}", estimate_text(&est));
                if !confirm(&format!(
                    "Send {} requests to OpenAI?",
                    selection.pending.len()
                )) {
                    return Err(CliError::bad_input("stopped: nothing was sent"));
                }
            }
            let id = uuid::Uuid::now_v7().to_string();
            let end = args.end_row.map(|e| e.min(selection.file.rows().len()));
            let job = NewJob {
                id: id.clone(),
                owner: CLI_OWNER.into(),
                spreadsheet_id: format!("file:{}", input_abs.display()),
                sheet_id: 0,
                sheet_title: args
                    .input
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                spans: vec![RowSpan {
                    start_row: args.start_row as u32 + 1,
                    end_row: end.unwrap_or(selection.file.rows().len()) as u32,
                }],
                model: spec.id.clone(),
                mode: match args.mode {
                    ModeArg::Batch => Mode::Batch,
                    ModeArg::Realtime => Mode::Realtime,
                },
                overwrite: args.overwrite,
                status: if selection.pending.is_empty() {
                    JobStatus::Writing
                } else {
                    JobStatus::Created
                },
            };
            let target = FileTarget {
                job_id: id.clone(),
                input_path: input_abs.to_string_lossy().into_owned(),
                output_path: output_abs.to_string_lossy().into_owned(),
                format: selection.file.format.as_str().into(),
                start_row: args.start_row as i64,
                end_row: end.map(|e| e as i64),
                keep_temp_files: args.keep_temp_files,
            };
            store
                .insert_file_job(&job, &selection.rows, &target)
                .await?;
            // Stored like a sheet job's, so the report can set the bill beside the estimate.
            store
                .set_job_estimate(
                    &id,
                    &almanac_store::cost::JobEstimateRecord {
                        template: almanac_core::prompt::template_id().to_owned(),
                        max_cost_usd: None,
                        est_rows: est.rows as i64,
                        est_input_tokens: est.input_tokens as i64,
                        est_cached_tokens: est.cached_input_tokens as i64,
                        est_output_tokens: est.output_tokens as i64,
                        est_cost_usd: match job.mode {
                            Mode::Realtime => est.realtime.total_usd,
                            _ => est.batch.total_usd,
                        },
                    },
                )
                .await?;
            notes.push(format!(
                "Job {id}: {} rows selected, {} to send, {} skipped, {} invalid (model {}).",
                selection.rows.len(),
                selection.pending.len(),
                counts(RowState::Skipped),
                counts(RowState::Failed),
                spec.id
            ));
            (id, false)
        }
    };

    let bar = progress_bar(out, selection.pending.len() as u64);
    for note in &notes {
        log_line(&bar, note);
    }
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

/// Steps the job until it ends, updating the progress bar.
///
/// # Errors
/// When the store fails, or after `give_up_after` failed tries in a row of one step (the job stays
/// saved: running the command again resumes it).
pub async fn drive(
    svc: &Arc<Services>,
    job_id: &str,
    bar: &indicatif::ProgressBar,
    give_up_after: u32,
) -> Result<JobRecord, CliError> {
    let worker = Worker::new(svc.clone());
    let store = &svc.store;
    let mut last_status = String::new();
    loop {
        let job = store
            .job(job_id)
            .await?
            .ok_or_else(|| CliError::error("store_error", format!("job {job_id} vanished")))?;
        let counts = store.request_counts(job_id).await?;
        if counts.total > 0 {
            bar.set_length(counts.total);
        }
        bar.set_position(counts.completed + counts.failed);
        let status = job.status()?;
        let describe = match status {
            JobStatus::Writing => "Writing the output file",
            s => s.describe(),
        };
        bar.set_message(describe.to_owned());
        if job.status != last_status {
            let batches: Vec<String> = store
                .batches(job_id)
                .await?
                .into_iter()
                .filter_map(|b| b.batch_id)
                .collect();
            log_line(
                bar,
                &format!(
                    "{}: {}{}",
                    job.status,
                    describe,
                    if batches.is_empty() {
                        String::new()
                    } else {
                        format!(" (batch {})", batches.join(", "))
                    }
                ),
            );
            last_status = job.status.clone();
        }
        if status.is_terminal() {
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
        let wait = chrono::DateTime::parse_from_rfc3339(&job.not_before)
            .map(|t| {
                (t.with_timezone(&chrono::Utc) - chrono::Utc::now())
                    .to_std()
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        if !wait.is_zero() {
            tokio::time::sleep(wait.min(std::time::Duration::from_millis(500))).await;
            continue;
        }
        worker.run_step(job_id).await;
    }
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
        .filter(|r| r.state == RowState::Failed.as_str())
        .map(|r| json!({"line": r.row_number, "id": r.row_id, "reason": r.reason}))
        .collect();
    let status = job.status()?;
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
                crate::jobs::file_target::temp_files_dir(Path::new(&t.output_path)).display()
            ));
        }
    }
    if view.cost.actual_rows > 0 {
        let cost = &view.cost;
        text.push_str(&format!(
            "\nCost: ${:.4} for {} input + {} output tokens (estimate ${:.4}{})",
            cost.actual_usd,
            cost.actual.input_tokens,
            cost.actual.output_tokens,
            cost.estimated_usd,
            cost.estimate_error
                .map(|e| format!(", off by {:+.1} %", e * 100.0))
                .unwrap_or_default()
        ));
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
