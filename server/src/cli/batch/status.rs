//! `almanac batch status`: a batch by its `batch_…` id — waited for with `--wait`, its output
//! and error files saved as they download, the exit code from its state — or a job of
//! `almanac run` by its id (driven to its end with `--wait`, which resumes an interrupted run).

use almanac_core::ids::JobId;
use std::path::{Path, PathBuf};
use std::time::Duration;

use almanac_files::AtomicFile;
use almanac_openai::{BatchClient, BatchInfo, BatchState};
use serde_json::json;

use crate::cli::common::{
    CliError, CsvArgs, EXIT_FAILURES, EXIT_OK, EXIT_RUNNING, EndpointArgs, OutputArgs, Report,
    log_line, progress_bar,
};
use crate::cli::run::{drive, job_report};

/// Flags of `batch status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// A batch id (`batch_…`) or the job id printed by `almanac run`.
    pub id: String,
    /// Wait until it ends (a job is driven to its end: this resumes an interrupted `run`).
    #[arg(long)]
    pub wait: bool,
    /// Time between two checks with `--wait`: seconds (`60`, `0.5`) or with a unit (`2m`).
    #[arg(
        long,
        default_value = "60",
        value_parser = crate::config::duration(Duration::from_millis(1), "more than 0 seconds")
    )]
    pub check_interval: Duration,
    /// With `--wait` on a job: stop (exit 1) after this many failed tries in a row of one step.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    pub give_up_after: u32,
    /// Where to save a finished batch's result files.
    #[arg(long, default_value = ".")]
    pub output_dir: PathBuf,
    #[command(flatten)]
    /// `--raw-csv` (with `--wait` on a job of `almanac run`, which writes its output file).
    pub csv: CsvArgs,
    #[command(flatten)]
    /// Endpoints, keys and the job store (the same settings as `almanac serve`).
    pub endpoints: EndpointArgs,
    #[command(flatten)]
    /// `--json` and the progress bar.
    pub output_args: OutputArgs,
}

/// Runs `batch status`.
///
/// # Errors
/// A bad interval, an unknown id, or a failure of OpenAI or the store.
pub(super) async fn status(args: StatusArgs) -> Result<Report, CliError> {
    let poll = args.check_interval;
    if !args.id.starts_with("batch_") {
        return job_status(args, poll).await;
    }
    let openai = args.endpoints.openai()?;
    let mut info = openai.retrieve_batch(&args.id).await?;
    if args.wait && !info.status.is_terminal() {
        info = wait_for_batch(&openai, &args.id, info, &args.output_args, poll).await?;
    }
    let saved = if info.status.is_terminal() {
        save_result_files(&openai, &info, &args.output_dir).await?
    } else {
        Vec::new()
    };
    let exit = batch_exit(&info);
    Ok(Report {
        exit,
        text: batch_status_text(&info, &saved, exit),
        json: json!({
            "batch_id": info.id,
            "status": info.status.as_str(),
            "request_counts": info.request_counts,
            "input_file_id": info.input_file_id,
            "output_file_id": info.output_file_id,
            "error_file_id": info.error_file_id,
            "errors": info.errors,
            "saved_files": saved,
        }),
    })
}

/// Checks batch `id` every `poll` until it ends, showing its progress and logging each new status;
/// returns its last state.
async fn wait_for_batch(
    openai: &BatchClient,
    id: &str,
    mut info: BatchInfo,
    out: &OutputArgs,
    poll: Duration,
) -> Result<BatchInfo, CliError> {
    let bar = progress_bar(out, info.request_counts.total);
    let mut last = None;
    while !info.status.is_terminal() {
        if last != Some(info.status) {
            log_line(&bar, &format!("{}: {}", info.id, info.status.as_str()));
            last = Some(info.status);
        }
        bar.set_length(info.request_counts.total.max(1));
        bar.set_position(info.request_counts.completed + info.request_counts.failed);
        bar.set_message(info.status.as_str());
        tokio::time::sleep(poll).await;
        info = openai.retrieve_batch(id).await?;
    }
    bar.finish_and_clear();
    Ok(info)
}

/// Downloads an ended batch's output and error files into `dir` (created if needed) as
/// `<batch_id>.output.jsonl` and `<batch_id>.errors.jsonl`; returns the paths written.
async fn save_result_files(
    openai: &BatchClient,
    info: &BatchInfo,
    dir: &Path,
) -> Result<Vec<PathBuf>, CliError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::error("error", format!("cannot create {}: {e}", dir.display())))?;
    let mut saved = Vec::new();
    for (file_id, suffix) in [
        (&info.output_file_id, "output"),
        (&info.error_file_id, "errors"),
    ] {
        if let Some(file_id) = file_id {
            let path = dir.join(format!("{}.{suffix}.jsonl", info.id));
            save_download(openai, file_id, &path).await?;
            saved.push(path);
        }
    }
    Ok(saved)
}

/// Downloads a file into `path` as it arrives (atomically: the old file stays until the whole
/// download is on disk).
async fn save_download(openai: &BatchClient, file_id: &str, path: &Path) -> Result<(), CliError> {
    use std::io::Write as _;
    let mut download = openai.download(file_id).await?;
    let mut file = AtomicFile::create(path)?;
    while let Some(chunk) = download.chunk().await? {
        file.write_all(&chunk).map_err(|e| file.error(&e))?;
    }
    Ok(file.commit()?)
}

/// The text of `batch status` for a batch: its counts, errors, the files saved, and how to check
/// again while it runs.
fn batch_status_text(info: &BatchInfo, saved: &[PathBuf], exit: u8) -> String {
    let c = info.request_counts;
    let mut text = format!(
        "{}: {} — {}/{} requests completed, {} failed",
        info.id,
        info.status.as_str(),
        c.completed,
        c.total,
        c.failed
    );
    if !info.errors.is_empty() {
        let errors: Vec<String> = info.errors.iter().map(ToString::to_string).collect();
        text.push_str(&format!("\nErrors: {}", errors.join("; ")));
    }
    for p in saved {
        text.push_str(&format!("\nSaved {}", p.display()));
    }
    if exit == EXIT_RUNNING {
        text.push_str(&format!(
            "\nStill running: check again, or wait with `almanac batch status {} --wait`",
            info.id
        ));
    }
    text
}

/// The exit code of a batch: 0 when it completed with no failed request, 4 when it ended
/// otherwise, 3 while it runs.
fn batch_exit(info: &BatchInfo) -> u8 {
    match info.status {
        BatchState::Completed if info.request_counts.failed == 0 => EXIT_OK,
        s if s.is_terminal() => EXIT_FAILURES,
        _ => EXIT_RUNNING,
    }
}

/// `batch status` of a job of `almanac run`: read from the store, or driven to its end with
/// `--wait`.
async fn job_status(args: StatusArgs, poll: Duration) -> Result<Report, CliError> {
    let out = &args.output_args;
    if args.wait {
        let svc = args.endpoints.services(poll, args.csv.cells()).await?;
        let Some(job) = svc.store.job(&JobId::from(args.id.as_str())).await? else {
            return Err(not_found(&args.id));
        };
        let bar = progress_bar(out, 0);
        let job = if job.status.is_terminal() {
            job
        } else {
            drive(&svc, &job.id, &bar, args.give_up_after).await?
        };
        bar.finish_and_clear();
        return job_report(&svc, &job, true).await;
    }
    // Without --wait only the store is read: no credentials needed.
    let (store, _) = args.endpoints.open_store().await?;
    let Some(job) = store.job(&JobId::from(args.id.as_str())).await? else {
        return Err(not_found(&args.id));
    };
    let view = crate::jobs::job_view(&store, &job).await?;
    let status = job.status;
    let exit = if !status.is_terminal() {
        EXIT_RUNNING
    } else if status == almanac_protocol::JobStatus::Completed && view.row_counts.failed == 0 {
        EXIT_OK
    } else {
        EXIT_FAILURES
    };
    let c = &view.row_counts;
    Ok(Report {
        exit,
        text: format!(
            "Job {}: {} — {} rows: {} written, {} pending, {} generated, {} skipped, {} failed (batch {}){}",
            job.id,
            status.describe(),
            c.total,
            c.done,
            c.pending,
            c.generated,
            c.skipped,
            c.failed,
            view.batch_ids.join(", "),
            if exit == EXIT_RUNNING {
                format!(
                    "\nStill running: `almanac batch status {} --wait` resumes and waits for it",
                    job.id
                )
            } else {
                String::new()
            }
        ),
        json: json!({"job": view}),
    })
}

/// Neither a job of the store nor a batch id.
fn not_found(id: &str) -> CliError {
    CliError::bad_input(format!(
        "no job `{id}` in the store, and it is not a batch id (`batch_…`): pass the job id printed by `almanac run`, with the same --store"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(status: &str, completed: u64, failed: u64) -> BatchInfo {
        BatchInfo {
            id: "batch_1".into(),
            status: almanac_core::state::BatchState::parse(status).unwrap(),
            input_file_id: "file-in".into(),
            output_file_id: None,
            error_file_id: None,
            request_counts: almanac_protocol::RequestCounts {
                total: completed + failed + 1,
                completed,
                failed,
            },
            errors: Vec::new(),
            metadata_job_id: None,
        }
    }

    #[test]
    fn the_exit_code_says_succeeded_failed_or_running() {
        assert_eq!(batch_exit(&batch("completed", 3, 0)), EXIT_OK);
        assert_eq!(batch_exit(&batch("completed", 2, 1)), EXIT_FAILURES);
        assert_eq!(batch_exit(&batch("expired", 0, 0)), EXIT_FAILURES);
        assert_eq!(batch_exit(&batch("in_progress", 1, 0)), EXIT_RUNNING);
    }

    #[test]
    fn the_text_names_the_counts_the_files_saved_and_how_to_wait() {
        let running = batch("in_progress", 1, 1);
        let text = batch_status_text(&running, &[], EXIT_RUNNING);
        assert!(
            text.starts_with("batch_1: in_progress — 1/3 requests completed, 1 failed"),
            "{text}"
        );
        assert!(
            text.contains("almanac batch status batch_1 --wait"),
            "{text}"
        );
        let done = batch("completed", 2, 0);
        let saved = [PathBuf::from("out/batch_1.output.jsonl")];
        let text = batch_status_text(&done, &saved, EXIT_OK);
        assert!(text.contains("\nSaved out/batch_1.output.jsonl"), "{text}");
        assert!(!text.contains("Still running"), "{text}");
    }
}
