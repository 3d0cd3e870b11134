//! Jobs (`/api/v1/jobs`): what a person asks for ([`CreateJobRequest`] over [`RowSpan`]s, with
//! [`JobOptions`]: [`NewJobRequest`]), and what a job is as the API shows it ([`Job`] with its
//! [`JobRow`]s, [`RowCounts`], [`BatchSummary`]s, [`RequestCounts`] and [`JobCost`] in
//! [`TokenUsage`]; [`JobList`]).

use serde::{Deserialize, Serialize};

use crate::{BatchState, ErrorDetail, FailureCode, JobStatus, Mode, RowState};

/// An inclusive span of 1-based sheet row numbers, as a person selects them (`5:20`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowSpan {
    /// First row, 1-based (row 1 is usually the header).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10_000_000))]
    pub start_row: u32,
    /// Last row, 1-based, inclusive; `>= start_row`.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10_000_000))]
    pub end_row: u32,
}

impl RowSpan {
    /// Parses `START:END` (or a single row `N`) into a span of 1-based rows, as the command line
    /// takes them (`--rows 2:17`).
    ///
    /// # Errors
    /// A message saying how to write a span, when the text is not two positive row numbers in
    /// order.
    pub fn parse(spec: &str) -> Result<RowSpan, String> {
        let (a, b) = spec.split_once(':').unwrap_or((spec, spec));
        let parse = |s: &str| s.trim().parse::<u32>().ok().filter(|n| *n >= 1);
        match (parse(a), parse(b)) {
            (Some(start_row), Some(end_row)) if start_row <= end_row => {
                Ok(RowSpan { start_row, end_row })
            }
            _ => Err(format!(
                "{spec:?} is not a row span: write it like 2:17 (1-based, inclusive)"
            )),
        }
    }
}

/// `POST /api/v1/jobs`: generate C–F for the selected rows of one sheet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "spreadsheet_id": "demo-spreadsheet",
    "sheet_id": 0,
    "rows": [{"start_row": 2, "end_row": 17}],
    "model": "gpt-4.1-mini-2025-04-14"
})))]
pub struct CreateJobRequest {
    /// The spreadsheet's `spreadsheetId` (the long id in its URL).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{1,128}$"))]
    pub spreadsheet_id: String,
    /// The sheet's `sheetId` (the `gid` in its URL); stable across renames.
    pub sheet_id: i32,
    /// The selected rows (at most 1,000 spans, 50,000 rows in all); the backend reads them itself
    /// in one `values.batchGet`.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 1000))]
    pub rows: Vec<RowSpan>,
    /// A model id from `GET /api/v1/models`.
    pub model: String,
    /// Batch (default) or realtime.
    #[serde(default)]
    pub mode: Mode,
    /// Replace cells in C–F that are not empty. Default false: a filled cell is never touched.
    #[serde(default)]
    pub overwrite: bool,
}

/// Extra choices of `POST /api/v1/jobs`, beside [`CreateJobRequest`] (same JSON object).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobOptions {
    /// Refuse the job if its estimate is above this many US dollars, and stop sending requests
    /// once what it has spent plus the next request would pass it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost_usd: Option<f64>,
    /// With `mode: auto`: the longest the person is willing to wait for results, in seconds;
    /// realtime is chosen when the batch wait is expected to be longer. Default: the server's
    /// `max_wait_time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wait_seconds: Option<u64>,
}

/// The body of `POST /api/v1/jobs`: a [`CreateJobRequest`] and [`JobOptions`] in one JSON object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewJobRequest {
    /// What to generate.
    #[serde(flatten)]
    pub job: CreateJobRequest,
    /// Cap and wait.
    #[serde(flatten)]
    pub options: JobOptions,
}

/// Request counts of a job, summed over its batches, as in the Batch object's `request_counts`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestCounts {
    /// Requests sent to the model.
    pub total: u64,
    /// Requests that finished successfully.
    pub completed: u64,
    /// Requests that failed.
    pub failed: u64,
}

/// One batch of a job (<https://platform.openai.com/docs/api-reference/batch/object>).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchSummary {
    /// The OpenAI batch id (`batch_…`); absent until the batch is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<String>,
    /// 0 for the first submission, 1.. for rows sent again (after an expiry or a retry).
    pub attempt: u32,
    /// The part of that submission (0-based), when it needed several batches.
    pub part: u32,
    /// The Batch object's `status` (`validating`, `in_progress`, …), or `preparing` before it
    /// exists.
    pub status: BatchState,
    /// The batch's own `request_counts`.
    pub request_counts: RequestCounts,
}

/// Per-state row counts of a job.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowCounts {
    /// Rows in the job.
    pub total: u64,
    /// Rows waiting for the model.
    pub pending: u64,
    /// Rows answered, waiting to be written.
    pub generated: u64,
    /// Rows written into the sheet.
    pub done: u64,
    /// Rows skipped (already filled).
    pub skipped: u64,
    /// Rows failed with a reason.
    pub failed: u64,
}

/// One row of a job, as `GET /api/v1/jobs/{id}` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobRow {
    /// The row's id (column A); the batch line's `custom_id`.
    pub id: String,
    /// The row's title (column B).
    pub title: String,
    /// 1-based row number when the job was submitted (it may have moved since).
    pub row_number: u32,
    /// Where the row is.
    pub state: RowState,
    /// Why the row failed or was skipped, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why the row failed, for programs (only on failed rows): see [`FailureCode`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_code: Option<FailureCode>,
}

/// A job: `POST /api/v1/jobs` (201) and `GET /api/v1/jobs/{id}` return it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Job {
    /// The job's id (a UUID).
    pub id: String,
    /// The spreadsheet's `spreadsheetId`.
    pub spreadsheet_id: String,
    /// The sheet's `sheetId`.
    pub sheet_id: i32,
    /// The sheet's title as last seen (informative; the job follows `sheet_id`).
    pub sheet_title: String,
    /// The model id.
    pub model: String,
    /// Batch or realtime.
    pub mode: Mode,
    /// Whether filled cells may be replaced.
    pub overwrite: bool,
    /// Where the job is.
    pub status: JobStatus,
    /// `status` in words.
    pub status_text: String,
    /// Summed `request_counts` of the job's batches.
    pub request_counts: RequestCounts,
    /// Rows per state.
    pub row_counts: RowCounts,
    /// The OpenAI batch ids of this job (`batch_…`).
    pub batch_ids: Vec<String>,
    /// Every batch of the job — several when the selection is over the Batch API's limits
    /// (50,000 requests or 200 MB per batch) or rows were sent again — with its own status and
    /// `request_counts`; `request_counts` above is their sum.
    #[serde(default)]
    pub batches: Vec<BatchSummary>,
    /// Why the job failed, when `status` is `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
    /// When the job was created (RFC 3339).
    pub created_at: String,
    /// When the job last changed (RFC 3339).
    pub updated_at: String,
    /// The rows; omitted from list responses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<JobRow>,
    /// Estimated and actual tokens and cost, and the spending cap.
    #[serde(default)]
    pub cost: JobCost,
}

/// `GET /api/v1/jobs?spreadsheet_id=…`: newest first, without rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobList {
    /// The jobs.
    pub jobs: Vec<Job>,
}

/// Token counts of a job (estimated or as billed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenUsage {
    /// Input (prompt) tokens, cached ones included (`usage.prompt_tokens`).
    pub input_tokens: u64,
    /// Of `input_tokens`, those billed at the cached rate (`prompt_tokens_details.cached_tokens`).
    pub cached_input_tokens: u64,
    /// Output tokens, reasoning included (`usage.completion_tokens`).
    pub output_tokens: u64,
    /// Of `output_tokens`, hidden reasoning (`completion_tokens_details.reasoning_tokens`).
    pub reasoning_tokens: u64,
}

/// What a job was expected to cost and what it cost, in US dollars.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobCost {
    /// Rows the estimate covered (the rows sent when the job was created).
    pub estimated_rows: u64,
    /// Tokens the estimate expected for those rows.
    pub estimated: TokenUsage,
    /// The estimate for those rows in the job's mode.
    pub estimated_usd: f64,
    /// Rows whose responses reported `usage` so far.
    pub actual_rows: u64,
    /// Tokens the responses' `usage` fields reported (requests that ran, failed answers included).
    pub actual: TokenUsage,
    /// Cost of `actual` at the model's prices in the job's mode.
    pub actual_usd: f64,
    /// `(actual_usd − estimate for actual_rows) / estimate for actual_rows`; `None` before any
    /// usage is known. 0.05 means the bill was 5 % above the estimate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate_error: Option<f64>,
    /// The job's spending cap, when one was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost_usd: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_spans_parse_ranges_and_single_rows_and_refuse_the_rest() {
        assert_eq!(
            RowSpan::parse("2:17").unwrap(),
            RowSpan {
                start_row: 2,
                end_row: 17
            }
        );
        assert_eq!(
            RowSpan::parse("5").unwrap(),
            RowSpan {
                start_row: 5,
                end_row: 5
            }
        );
        assert!(RowSpan::parse("0:3").is_err());
        assert!(RowSpan::parse("9:3").is_err());
        assert!(RowSpan::parse("A1:B2").is_err());
    }

    #[test]
    fn create_job_request_defaults_to_batch_without_overwrite() {
        let req: CreateJobRequest = serde_json::from_str(
            r#"{"spreadsheet_id":"s","sheet_id":0,"rows":[{"start_row":2,"end_row":3}],"model":"m"}"#,
        )
        .unwrap();
        assert_eq!(req.mode, Mode::Batch);
        assert!(!req.overwrite);
    }
}
