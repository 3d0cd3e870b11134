//! Batches and how they move: validation of the input JSONL (the checks are in
//! [`crate::openai::batch_input`]), execution of its requests a slice per tick, and the output and
//! error files, following the Batch API
//! (<https://platform.openai.com/docs/api-reference/batch>) and the Batch guide
//! (<https://platform.openai.com/docs/guides/batch>).
//!
//! Life of a batch, one transition per tick of
//! [`EmulatorConfig::step`](crate::config::EmulatorConfig::step):
//!
//! ```text
//! validating ─┬─> failed                        (errors.data[] names each bad line)
//!             └─> in_progress ──(rows_per_step requests per tick)──> finalizing ──> completed
//!                     │  └──(Faults::expire_after requests done)──> expired
//!                     └──(cancel)──> cancelling ──> cancelled
//! ```
//!
//! Output lines are written in a different order than the input (sorted by a hash of `custom_id`,
//! reversed if that happens to keep the input order). A request that fails (HTTP status ≠ 200) goes
//! to the error file with its `response.body.error`; when every request failed the batch still ends
//! `completed`, with `output_file_id: null`. On expiry and on cancel, finished requests are in the
//! output/error files; on expiry the unfinished ones are also in the error file as `batch_expired`.
//! `request_counts.completed`/`failed` count executed requests only, so after an expiry or a cancel
//! `completed + failed < total`.

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::{Value, json};

use crate::faults::{Faults, RowFault};
use crate::openai::batch_input::{
    Request, batch_error, injected_line_errors, token_limit_error, validate,
};
use crate::openai::files::StoredFile;
use crate::openai::generate::{Outcome, chat_completion};
use crate::openai::wire::error_body;
use crate::util::{fnv1a, now_unix, random_alnum, random_hex};

/// Endpoints `POST /v1/batches` accepts (the `endpoint` enum of the current spec). Only
/// `/v1/chat/completions` is executed; requests of the others fail with a 400 in the error file.
pub const ENDPOINTS: [&str; 8] = [
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/videos",
];

/// Seconds a batch output file is kept (the guide: 30 days).
const FILE_RETENTION_SECS: u64 = 30 * 24 * 3600;

/// Where a batch is. Names are the `status` strings of the Batch object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Input file being checked.
    Validating,
    /// Input file invalid; see `errors`.
    Failed,
    /// Requests running.
    InProgress,
    /// Results being written.
    Finalizing,
    /// Done; output and/or error file ready.
    Completed,
    /// Ran out of time; partial results.
    Expired,
    /// Cancel asked.
    Cancelling,
    /// Stopped; partial results.
    Cancelled,
}

impl Status {
    /// The wire name, e.g. `in_progress`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Validating => "validating",
            Status::Failed => "failed",
            Status::InProgress => "in_progress",
            Status::Finalizing => "finalizing",
            Status::Completed => "completed",
            Status::Expired => "expired",
            Status::Cancelling => "cancelling",
            Status::Cancelled => "cancelled",
        }
    }

    /// True once nothing more will happen.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Failed | Status::Completed | Status::Expired | Status::Cancelled
        )
    }
}

/// One line of the output or error file.
#[derive(Clone, Debug)]
pub struct ResultLine {
    /// `custom_id` of the request.
    pub custom_id: String,
    /// The whole line object.
    pub line: Value,
    /// True for a 200 response (goes to the output file).
    pub ok: bool,
}

/// A batch and everything needed to move it forward.
#[derive(Clone, Debug)]
pub struct BatchJob {
    /// `batch_…`.
    pub id: String,
    /// `endpoint`.
    pub endpoint: String,
    /// `input_file_id`.
    pub input_file_id: String,
    /// `completion_window` (always `24h`).
    pub completion_window: String,
    /// `metadata` as given (or null).
    pub metadata: Value,
    /// Current status.
    pub status: Status,
    /// Unix seconds of creation.
    pub created_at: u64,
    /// Unix seconds of each transition.
    pub in_progress_at: Option<u64>,
    /// `created_at + 24h`.
    pub expires_at: u64,
    /// See [`BatchJob::in_progress_at`].
    pub finalizing_at: Option<u64>,
    /// See [`BatchJob::in_progress_at`].
    pub completed_at: Option<u64>,
    /// See [`BatchJob::in_progress_at`].
    pub failed_at: Option<u64>,
    /// See [`BatchJob::in_progress_at`].
    pub expired_at: Option<u64>,
    /// See [`BatchJob::in_progress_at`].
    pub cancelling_at: Option<u64>,
    /// See [`BatchJob::in_progress_at`].
    pub cancelled_at: Option<u64>,
    /// `errors` (a list object) once validation failed.
    pub errors: Option<Value>,
    /// Output file once written.
    pub output_file_id: Option<String>,
    /// Error file once written.
    pub error_file_id: Option<String>,
    /// `model` of the first request, once validated.
    pub model: Option<String>,
    /// Requests, in input order.
    pub requests: Vec<Request>,
    /// How many requests have run.
    pub next: usize,
    /// Results of the requests that ran, in execution order.
    pub results: Vec<ResultLine>,
    /// Successful requests.
    pub completed: u64,
    /// Failed requests.
    pub failed: u64,
    /// Sum of `prompt_tokens`.
    pub input_tokens: u64,
    /// Sum of `completion_tokens`.
    pub output_tokens: u64,
}

impl BatchJob {
    /// A new batch in `validating`.
    pub fn new(endpoint: &str, input_file_id: &str, metadata: Value) -> BatchJob {
        let now = now_unix();
        BatchJob {
            id: format!("batch_{}", random_hex()),
            endpoint: endpoint.to_string(),
            input_file_id: input_file_id.to_string(),
            completion_window: "24h".to_string(),
            metadata,
            status: Status::Validating,
            created_at: now,
            in_progress_at: None,
            expires_at: now + 24 * 3600,
            finalizing_at: None,
            completed_at: None,
            failed_at: None,
            expired_at: None,
            cancelling_at: None,
            cancelled_at: None,
            errors: None,
            output_file_id: None,
            error_file_id: None,
            model: None,
            requests: Vec::new(),
            next: 0,
            results: Vec::new(),
            completed: 0,
            failed: 0,
            input_tokens: 0,
            output_tokens: 0,
        }
    }

    /// The Batch object (<https://platform.openai.com/docs/api-reference/batch/object>).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "model": self.model,
            "errors": self.errors,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status.as_str(),
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "in_progress_at": self.in_progress_at,
            "expires_at": self.expires_at,
            "finalizing_at": self.finalizing_at,
            "completed_at": self.completed_at,
            "failed_at": self.failed_at,
            "expired_at": self.expired_at,
            "cancelling_at": self.cancelling_at,
            "cancelled_at": self.cancelled_at,
            "request_counts": {
                "total": self.requests.len(),
                "completed": self.completed,
                "failed": self.failed,
            },
            "usage": {
                "input_tokens": self.input_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": self.output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": self.input_tokens + self.output_tokens,
            },
            "metadata": self.metadata,
        })
    }

    /// Moves the batch one step. `files` holds the input file and receives the output files.
    pub fn advance(
        &mut self,
        files: &mut HashMap<String, StoredFile>,
        faults: &mut Faults,
        hold: bool,
        rows_per_step: usize,
    ) {
        let now = now_unix();
        match self.status {
            Status::Validating => self.validate_input(now, files, faults),
            Status::InProgress if hold => {}
            Status::InProgress => self.run_slice(now, files, faults, rows_per_step),
            Status::Finalizing => {
                self.status = Status::Completed;
                self.completed_at = Some(now);
                self.write_files(files, Vec::new());
            }
            Status::Cancelling => {
                self.status = Status::Cancelled;
                self.cancelled_at = Some(now);
                self.write_files(files, Vec::new());
            }
            Status::Failed | Status::Completed | Status::Expired | Status::Cancelled => {}
        }
    }

    /// The `validating` step: fails the batch when [`Faults::token_limit_batches`] says so (using
    /// one up), when the input file is missing or when lines are invalid (checked by [`validate`],
    /// then [`Faults::invalid_lines`]); otherwise takes its requests and goes `in_progress`.
    fn validate_input(
        &mut self,
        now: u64,
        files: &HashMap<String, StoredFile>,
        faults: &mut Faults,
    ) {
        if faults.token_limit_batches > 0 {
            faults.token_limit_batches -= 1;
            let model = self.first_model(files);
            self.fail(now, vec![token_limit_error(&model)]);
            return;
        }
        let Some(file) = files.get(&self.input_file_id) else {
            let error = batch_error(
                "invalid_request",
                &format!(
                    "Cannot find file {}, or organization org-emulator does not have access to it.",
                    self.input_file_id
                ),
                Some("file_id"),
                None,
            );
            self.fail(now, vec![error]);
            return;
        };
        match validate(&file.content, &self.endpoint)
            .and_then(|requests| injected_line_errors(requests, &faults.invalid_lines))
        {
            Err(errors) => self.fail(now, errors),
            Ok(requests) => {
                self.model = requests
                    .first()
                    .and_then(|r| r.body.get("model"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                self.requests = requests;
                self.status = Status::InProgress;
                self.in_progress_at = Some(now);
            }
        }
    }

    /// One `in_progress` step: runs the next `rows_per_step` requests (fewer when
    /// [`Faults::expire_after`] comes first), then goes `finalizing` once every request ran, or
    /// ends `expired` at the fault's limit.
    fn run_slice(
        &mut self,
        now: u64,
        files: &mut HashMap<String, StoredFile>,
        faults: &Faults,
        rows_per_step: usize,
    ) {
        let total = self.requests.len();
        let mut budget = rows_per_step.max(1);
        if let Some(limit) = faults.expire_after {
            budget = budget.min(limit.saturating_sub(self.next));
        }
        let end = (self.next + budget).min(total);
        for i in self.next..end {
            let request = self.requests[i].clone();
            let fault = faults.rows.get(&request.custom_id);
            self.run(&request, fault);
        }
        self.next = end;
        if self.next >= total {
            self.status = Status::Finalizing;
            self.finalizing_at = Some(now);
        } else if faults.expire_after.is_some_and(|limit| self.next >= limit) {
            self.expire(now, files);
        }
    }

    /// Ends the batch `expired`: the finished requests go to the output and error files, the
    /// unfinished ones to the error file as `batch_expired`.
    fn expire(&mut self, now: u64, files: &mut HashMap<String, StoredFile>) {
        self.status = Status::Expired;
        self.expired_at = Some(now);
        let unfinished: Vec<ResultLine> = self.requests[self.next..]
            .iter()
            .map(expired_line)
            .collect();
        self.write_files(files, unfinished);
    }

    /// The `model` of the input file's first line, for messages.
    fn first_model(&self, files: &HashMap<String, StoredFile>) -> String {
        files
            .get(&self.input_file_id)
            .and_then(|f| {
                let text = String::from_utf8_lossy(&f.content);
                let first = text.lines().next()?.to_string();
                let v: Value = serde_json::from_str(&first).ok()?;
                v["body"]["model"].as_str().map(str::to_string)
            })
            .unwrap_or_else(|| "this model".to_string())
    }

    /// Asks to cancel. Returns the status that refused it (`completed`, `failed`, `expired`).
    pub fn cancel(&mut self) -> Result<(), Status> {
        match self.status {
            Status::Validating | Status::InProgress | Status::Finalizing => {
                self.status = Status::Cancelling;
                self.cancelling_at = Some(now_unix());
                Ok(())
            }
            Status::Cancelling | Status::Cancelled => Ok(()),
            Status::Completed | Status::Failed | Status::Expired => Err(self.status),
        }
    }

    fn fail(&mut self, now: u64, errors: Vec<Value>) {
        self.status = Status::Failed;
        self.failed_at = Some(now);
        self.errors = Some(json!({"object": "list", "data": errors}));
    }

    fn run(&mut self, request: &Request, fault: Option<&RowFault>) {
        let outcome = if self.endpoint == "/v1/chat/completions" {
            chat_completion(&request.body, fault)
        } else {
            Outcome {
                status: 400,
                body: error_body(
                    &format!(
                        "[emulated] The emulator only runs /v1/chat/completions requests, not {}.",
                        self.endpoint
                    ),
                    "invalid_request_error",
                    None,
                    None,
                ),
            }
        };
        let (prompt, completion) = outcome.usage();
        self.input_tokens += prompt;
        self.output_tokens += completion;
        let ok = outcome.status == 200;
        if ok {
            self.completed += 1;
        } else {
            self.failed += 1;
        }
        self.results.push(ResultLine {
            custom_id: request.custom_id.clone(),
            line: json!({
                "id": format!("batch_req_{}", random_hex()),
                "custom_id": request.custom_id,
                "response": {
                    "status_code": outcome.status,
                    "request_id": random_hex(),
                    "body": outcome.body,
                },
                "error": null,
            }),
            ok,
        });
    }

    fn write_files(
        &mut self,
        files: &mut HashMap<String, StoredFile>,
        extra_errors: Vec<ResultLine>,
    ) {
        let (ok, mut failed): (Vec<ResultLine>, Vec<ResultLine>) =
            self.results.iter().cloned().partition(|r| r.ok);
        failed.extend(extra_errors);
        if !ok.is_empty() {
            let id = store_jsonl(files, &format!("{}_output.jsonl", self.id), shuffled(ok));
            self.output_file_id = Some(id);
        }
        if !failed.is_empty() {
            let id = store_jsonl(files, &format!("{}_error.jsonl", self.id), shuffled(failed));
            self.error_file_id = Some(id);
        }
    }
}

/// Reorders result lines deterministically so that they differ from execution order.
fn shuffled(mut lines: Vec<ResultLine>) -> Vec<ResultLine> {
    let original: Vec<String> = lines.iter().map(|l| l.custom_id.clone()).collect();
    lines.sort_by_key(|l| (fnv1a(l.custom_id.as_bytes()), l.custom_id.clone()));
    if lines.len() > 1 && lines.iter().map(|l| &l.custom_id).eq(original.iter()) {
        lines.reverse();
    }
    lines
}

fn store_jsonl(
    files: &mut HashMap<String, StoredFile>,
    filename: &str,
    lines: Vec<ResultLine>,
) -> String {
    let mut content = String::new();
    for l in lines {
        content.push_str(&l.line.to_string());
        content.push('\n');
    }
    let now = now_unix();
    let file = StoredFile {
        id: format!("file-{}", random_alnum(22)),
        filename: filename.to_string(),
        purpose: "batch_output".to_string(),
        created_at: now,
        seq: crate::openai::files::next_seq(),
        expires_at: Some(now + FILE_RETENTION_SECS),
        content: Bytes::from(content),
    };
    let id = file.id.clone();
    files.insert(id.clone(), file);
    id
}

/// The error-file line of a request the batch did not run before it expired.
fn expired_line(request: &Request) -> ResultLine {
    ResultLine {
        custom_id: request.custom_id.clone(),
        line: json!({
            "id": format!("batch_req_{}", random_hex()),
            "custom_id": request.custom_id,
            "response": null,
            "error": {
                "code": "batch_expired",
                "message": "This request could not be executed before the completion window expired.",
            },
        }),
        ok: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_never_keeps_input_order() {
        for n in 2..30 {
            let lines: Vec<ResultLine> = (0..n)
                .map(|i| ResultLine {
                    custom_id: format!("row-{i}"),
                    line: Value::Null,
                    ok: true,
                })
                .collect();
            let before: Vec<String> = lines.iter().map(|l| l.custom_id.clone()).collect();
            let after: Vec<String> = shuffled(lines).into_iter().map(|l| l.custom_id).collect();
            assert_ne!(before, after);
            let mut sorted = after.clone();
            sorted.sort();
            let mut expected = before.clone();
            expected.sort();
            assert_eq!(sorted, expected);
        }
    }
}
