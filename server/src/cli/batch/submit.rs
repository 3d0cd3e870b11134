//! `almanac batch submit`: a JSONL input checked line by line (a request object with a unique
//! `custom_id`, at most the Batch API's count) and hashed as it is read; a batch of the very same
//! bytes that has not failed is found by its label (`cli-sha256-<hash>`) instead of paying twice,
//! else the file is uploaded and its batch created.

use std::path::{Path, PathBuf};

use almanac_openai::{BatchState, jsonl};
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::cli::batch::lines::{Line, read_lines};
use crate::cli::common::{CliError, EXIT_OK, EndpointArgs, OutputArgs, Report, completion_window};

/// Flags of `batch submit`.
#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// The JSONL input (from `batch build`).
    pub file: PathBuf,
    /// Submit even if a batch of this very file (same bytes) was already submitted and has not
    /// failed, expired or been cancelled — that would run, and bill, every request again.
    #[arg(long)]
    pub force: bool,
    /// The batch's completion window (OpenAI accepts only `24h`).
    #[arg(long, default_value = "24h")]
    pub completion_window: String,
    #[command(flatten)]
    /// Endpoints, keys and the job store (the same settings as `almanac serve`).
    pub endpoints: EndpointArgs,
    #[command(flatten)]
    /// `--json` and the progress bar.
    pub output_args: OutputArgs,
}

/// Reads a JSONL input in blocks, checking that every line is a request object with a unique
/// `custom_id` (at most [`jsonl::MAX_REQUESTS_PER_BATCH`] of them, the ids of one batch held),
/// and hashing its bytes; returns the requests and the SHA-256 of the file.
fn check_jsonl(path: &Path) -> Result<(usize, String), CliError> {
    let mut hash = Sha256::new();
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut each = |line: Line<'_>| {
        let (n, text) = line.map_err(|e| {
            CliError::bad_input(format!(
                "{}:{}: {}",
                path.display(),
                e.line.unwrap_or(0),
                e.message
            ))
        })?;
        let bad = |m: String| CliError::bad_input(format!("{}:{n}: {m}", path.display()));
        let id = jsonl::check_line(text).map_err(bad)?;
        if let Some(first) = seen.get(id.as_ref()) {
            return Err(bad(format!(
                "custom_id `{id}` is used again (first on line {first})"
            )));
        }
        if seen.len() == jsonl::MAX_REQUESTS_PER_BATCH {
            return Err(bad(format!(
                "more than {} requests: one batch takes at most that many; build parts with `almanac batch build`",
                jsonl::MAX_REQUESTS_PER_BATCH
            )));
        }
        seen.insert(id.into_owned(), n);
        Ok(())
    };
    read_lines(path, &mut |block| hash.update(block), &mut each)?;
    if seen.is_empty() {
        return Err(CliError::bad_input(format!(
            "{}: no requests",
            path.display()
        )));
    }
    Ok((seen.len(), format!("{:x}", hash.finalize())))
}

/// Runs `batch submit`.
///
/// # Errors
/// A bad input file, or OpenAI's refusal.
pub(super) async fn submit(args: SubmitArgs) -> Result<Report, CliError> {
    completion_window(&args.completion_window)?;
    let (requests, sha256) = check_jsonl(&args.file)?;
    let openai = args.endpoints.openai()?;
    // The batch is labelled with its input's hash (`metadata.job_id`), so submitting the same
    // file again — a pipeline re-run after a lost answer — finds the first batch instead of
    // paying twice.
    let label = format!("cli-sha256-{sha256}");
    if !args.force
        && let Some(info) = openai.find_batch_labelled(&label).await?
        && !matches!(
            info.status,
            BatchState::Failed | BatchState::Expired | BatchState::Cancelled
        )
    {
        return Ok(Report {
            exit: EXIT_OK,
            json: json!({
                "batch_id": info.id,
                "input_file_id": info.input_file_id,
                "status": info.status.as_str(),
                "requests": requests,
                "already_submitted": true,
            }),
            text: format!(
                "{} was already submitted as batch {} (status {}): not sent again (--force sends it again, billing every request twice).\nCheck it with: almanac batch status {} --wait",
                args.file.display(),
                info.id,
                info.status.as_str(),
                info.id
            ),
        });
    }
    let file_id = openai.upload_jsonl_file(&args.file).await?;
    let info = openai.create_batch(&file_id, &label).await?;
    Ok(Report {
        exit: EXIT_OK,
        json: json!({
            "batch_id": info.id,
            "input_file_id": file_id,
            "status": info.status.as_str(),
            "requests": requests,
            "already_submitted": false,
        }),
        text: format!(
            "Batch {} created from {} ({requests} requests, input_file_id {file_id}); status {}.\nCheck it with: almanac batch status {} --wait",
            info.id,
            args.file.display(),
            info.status.as_str(),
            info.id
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JSONL file with `text` in the temporary directory; removed by the caller.
    fn file(text: &str) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("almanac-submit-{}.jsonl", uuid::Uuid::new_v4()));
        std::fs::write(&path, text).unwrap();
        path
    }

    fn request(custom_id: &str) -> String {
        json!({
            "custom_id": custom_id,
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "gpt-4.1-mini-2025-04-14", "messages": []},
        })
        .to_string()
    }

    #[test]
    fn a_good_file_is_counted_and_hashed_over_its_bytes() {
        let text = format!("{}\n{}\n", request("01-01"), request("01-02"));
        let path = file(&text);
        let checked = check_jsonl(&path);
        std::fs::remove_file(&path).unwrap();
        let (requests, sha256) = checked.unwrap();
        assert_eq!(requests, 2);
        assert_eq!(sha256, format!("{:x}", Sha256::digest(text.as_bytes())));
    }

    #[test]
    fn a_custom_id_used_twice_is_refused_with_both_lines() {
        let path = file(&format!("{}\n{}\n", request("01-01"), request("01-01")));
        let e = check_jsonl(&path).unwrap_err().message;
        std::fs::remove_file(&path).unwrap();
        assert!(
            e.contains(":2: custom_id `01-01` is used again (first on line 1)"),
            "{e}"
        );
    }

    #[test]
    fn an_empty_file_and_a_line_that_is_no_request_are_refused() {
        let empty = file("\n\n");
        let e = check_jsonl(&empty).unwrap_err().message;
        std::fs::remove_file(&empty).unwrap();
        assert!(e.ends_with(": no requests"), "{e}");
        let bad = file("not json\n");
        let e = check_jsonl(&bad).unwrap_err().message;
        std::fs::remove_file(&bad).unwrap();
        assert!(e.contains(":1: "), "{e}");
    }
}
