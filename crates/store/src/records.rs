//! The rows of the store as Rust values: what is read ([`JobRecord`], [`RowRecord`],
//! [`BatchRecord`]) and what is written ([`NewJob`], [`NewRow`], [`RowResult`], [`RowUpdate`],
//! [`BatchProgress`]). States are typed (`JobStatus`, `Mode`, `RowState`, `BatchState`,
//! `FailureCode`, stored as their snake_case text), and so is where a job's answers go
//! ([`Destination`]); see `migrations/` for each column.

use almanac_core::domain::{BatchError, Generated, RowId, RowInput, SpreadsheetId};
use almanac_core::ids::{BatchId, JobId};
use almanac_core::state::{BatchState, FailureCode, JobStatus, Mode, RowFailure, RowState};
use almanac_protocol::{ErrorCode, RequestCounts, RowSpan, TokenUsage};
use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::StoreError;

/// The columns of `jobs` that [`JobRecord`] reads, in its field order.
pub(crate) const JOB_COLUMNS: &str = "id, owner, destination, spreadsheet_id, sheet_id, file_path, sheet_title, spans, model, mode, overwrite, status, cancel_requested, error_code, error_message, attempts, not_before, created_at, updated_at";
/// The columns of `job_rows` that [`RowRecord`] reads.
pub(crate) const ROW_COLUMNS: &str = "job_id, seq, row_id, title, row_number, state, reason, failure_code, batch, year, simple, detail, related_movies";
/// The columns of `batches` that [`BatchRecord`] reads.
pub(crate) const BATCH_COLUMNS: &str = "id, job_id, attempt, part, input_file_id, batch_id, status, output_file_id, error_file_id, total, completed, failed, errors, collected";

/// Where a job's answers go: a sheet of a Google spreadsheet (the sidebar's jobs), or an events
/// file (`almanac run`). Stored as the `jobs` columns `destination` (`sheet` | `file`),
/// `spreadsheet_id` and `sheet_id` (a sheet), `file_path` (a file; see
/// `migrations/*/0010_destination.sql`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// A sheet, by Sheets `spreadsheetId` and `sheetId` (stable across renames).
    Sheet {
        /// Sheets `spreadsheetId`.
        spreadsheet_id: SpreadsheetId,
        /// Sheets `sheetId` (the `gid`).
        sheet_id: i32,
    },
    /// An events file (CSV or JSON): the file the job's rows were read from, which its answers are
    /// merged into (written to its [`crate::FileTarget`]'s `output_path`).
    File {
        /// Absolute path of the events file read.
        path: String,
    },
}

impl Destination {
    /// The stored kind (`destination` column).
    fn kind(&self) -> &'static str {
        match self {
            Destination::Sheet { .. } => "sheet",
            Destination::File { .. } => "file",
        }
    }

    /// The `(destination, spreadsheet_id, sheet_id, file_path)` columns of this destination
    /// (a file job keeps `''` and `0` in the sheet's columns).
    pub(crate) fn columns(&self) -> (&'static str, &str, i64, Option<&str>) {
        match self {
            Destination::Sheet {
                spreadsheet_id,
                sheet_id,
            } => (
                self.kind(),
                spreadsheet_id.as_str(),
                i64::from(*sheet_id),
                None,
            ),
            Destination::File { path } => (self.kind(), "", 0, Some(path)),
        }
    }

    /// The destination stored in these columns.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for an unknown kind, an invalid `spreadsheetId` or `sheetId`, or a
    /// file job without a path.
    fn from_columns(
        kind: &str,
        spreadsheet_id: String,
        sheet_id: i64,
        file_path: Option<String>,
    ) -> Result<Destination, StoreError> {
        match (kind, file_path) {
            ("sheet", _) => Ok(Destination::Sheet {
                spreadsheet_id: SpreadsheetId::parse(&spreadsheet_id)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                sheet_id: i32::try_from(sheet_id).map_err(|_| {
                    StoreError::Corrupt(format!("sheet_id {sheet_id} is not an int32"))
                })?,
            }),
            ("file", Some(path)) => Ok(Destination::File { path }),
            (kind, path) => Err(StoreError::Corrupt(format!(
                "job destination {kind:?} with file_path {path:?}"
            ))),
        }
    }
}

/// A job as stored (see `migrations/0001_init.sql` for the meaning of each column).
#[derive(Clone, Debug)]
pub struct JobRecord {
    /// UUID v7.
    pub id: JobId,
    /// The caller's `sub`.
    pub owner: String,
    /// Where the job's answers go.
    pub destination: Destination,
    /// The sheet's title as last seen (a file job: the file's name).
    pub sheet_title: String,
    /// The selected spans (stored as JSON `[{start_row,end_row}]`).
    pub spans: Vec<RowSpan>,
    /// Model id.
    pub model: String,
    /// Batch or realtime (never `auto`: it is settled at creation).
    pub mode: Mode,
    /// Replace filled cells.
    pub overwrite: bool,
    /// Where the job is.
    pub status: JobStatus,
    /// The caller asked to cancel.
    pub cancel_requested: bool,
    /// Error code when failed.
    pub error_code: Option<ErrorCode>,
    /// Error message when failed.
    pub error_message: Option<String>,
    /// Consecutive transient failures of the current step.
    pub attempts: i64,
    /// The worker leaves the job alone until then.
    pub not_before: DateTime<Utc>,
    /// When the job was created.
    pub created_at: DateTime<Utc>,
    /// When the job last changed status (or was asked to cancel).
    pub updated_at: DateTime<Utc>,
}

impl JobRecord {
    /// The selected spans.
    pub fn spans(&self) -> &[RowSpan] {
        &self.spans
    }
}

/// The `jobs` columns of [`JOB_COLUMNS`] as the database holds them, before they are checked into
/// a [`JobRecord`].
#[derive(FromRow)]
pub(crate) struct JobRow {
    id: JobId,
    owner: String,
    destination: String,
    spreadsheet_id: String,
    sheet_id: i64,
    file_path: Option<String>,
    sheet_title: String,
    spans: String,
    model: String,
    mode: Mode,
    overwrite: bool,
    status: JobStatus,
    cancel_requested: bool,
    error_code: Option<ErrorCode>,
    error_message: Option<String>,
    attempts: i64,
    not_before: String,
    created_at: String,
    updated_at: String,
}

impl TryFrom<JobRow> for JobRecord {
    type Error = StoreError;

    /// # Errors
    /// [`StoreError::Corrupt`] when the destination's columns, the `spans` JSON or a time do not
    /// hold what the store writes.
    fn try_from(row: JobRow) -> Result<JobRecord, StoreError> {
        Ok(JobRecord {
            destination: Destination::from_columns(
                &row.destination,
                row.spreadsheet_id,
                row.sheet_id,
                row.file_path,
            )?,
            spans: serde_json::from_str(&row.spans).map_err(|e| {
                StoreError::Corrupt(format!("job {}: spans {:?}: {e}", row.id, row.spans))
            })?,
            id: row.id,
            owner: row.owner,
            sheet_title: row.sheet_title,
            model: row.model,
            mode: row.mode,
            overwrite: row.overwrite,
            status: row.status,
            cancel_requested: row.cancel_requested,
            error_code: row.error_code,
            error_message: row.error_message,
            attempts: row.attempts,
            not_before: parse_time(&row.not_before)?,
            created_at: parse_time(&row.created_at)?,
            updated_at: parse_time(&row.updated_at)?,
        })
    }
}

/// A time column as the database holds it (RFC 3339 text, see [`crate::timestamp`]), read into a
/// `DateTime<Utc>` field by `#[sqlx(try_from = "StoredTime")]`; text that is not a time is
/// [`StoreError::Corrupt`].
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub(crate) struct StoredTime(String);

impl TryFrom<StoredTime> for DateTime<Utc> {
    type Error = StoreError;

    fn try_from(stored: StoredTime) -> Result<DateTime<Utc>, StoreError> {
        parse_time(&stored.0)
    }
}

/// A time column that may be NULL, as [`StoredTime`] (`#[sqlx(try_from = "MaybeStoredTime")]`).
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub(crate) struct MaybeStoredTime(Option<String>);

impl TryFrom<MaybeStoredTime> for Option<DateTime<Utc>> {
    type Error = StoreError;

    fn try_from(stored: MaybeStoredTime) -> Result<Option<DateTime<Utc>>, StoreError> {
        stored.0.as_deref().map(parse_time).transpose()
    }
}

/// Token counts as the store sums them (`BIGINT` columns: input, cached input, output,
/// reasoning) as a [`TokenUsage`]; a negative sum reads as 0.
pub(crate) fn token_usage(input: i64, cached: i64, output: i64, reasoning: i64) -> TokenUsage {
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    TokenUsage {
        input_tokens: count(input),
        cached_input_tokens: count(cached),
        output_tokens: count(output),
        reasoning_tokens: count(reasoning),
    }
}

/// A time as the store keeps it (RFC 3339, see [`crate::timestamp`]).
///
/// # Errors
/// [`StoreError::Corrupt`] when `text` is not an RFC 3339 time.
pub(crate) fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("time {text:?}: {e}")))
}

/// A row of a job as stored.
#[derive(Clone, Debug, FromRow)]
pub struct RowRecord {
    /// The job.
    pub job_id: JobId,
    /// Position in the selection (0-based).
    pub seq: i64,
    /// Column A; `''` when the cell was empty.
    pub row_id: String,
    /// Column B.
    pub title: String,
    /// 1-based row number at submission.
    pub row_number: i64,
    /// Where the row is.
    pub state: RowState,
    /// Why failed or skipped, for people.
    pub reason: Option<String>,
    /// Why failed, for programs (failed rows only).
    pub failure_code: Option<FailureCode>,
    /// The local id of the batch the row was last sent in.
    pub batch: Option<i64>,
    /// Column C answer.
    pub year: Option<String>,
    /// Column D answer.
    pub simple: Option<String>,
    /// Column E answer.
    pub detail: Option<String>,
    /// Column F answer.
    pub related_movies: Option<String>,
}

impl RowRecord {
    /// The row as a model input, when its id is valid (rows that failed the selection checks may
    /// have none).
    pub fn input(&self) -> Option<RowInput> {
        Some(RowInput {
            id: RowId::parse(&self.row_id).ok()?,
            title: self.title.clone(),
        })
    }

    /// The stored answer, when there is one.
    pub fn generated(&self) -> Option<Generated> {
        Some(Generated {
            year: self.year.clone()?,
            simple: self.simple.clone()?,
            detail: self.detail.clone()?,
            related_movies: self.related_movies.clone()?,
        })
    }

    /// True for a failed row that a retry of its job sends again
    /// ([`FailureCode::is_retryable`]).
    pub fn is_retryable_failure(&self) -> bool {
        self.state == RowState::Failed && self.failure_code.is_some_and(FailureCode::is_retryable)
    }
}

/// A batch (one OpenAI batch, or one about to be created) as stored.
#[derive(Clone, Debug, FromRow)]
pub struct BatchRecord {
    /// Local id.
    pub id: i64,
    /// The job.
    pub job_id: JobId,
    /// 0 = first submission, 1.. = retries.
    pub attempt: i64,
    /// Index within the attempt.
    pub part: i64,
    /// OpenAI input file id, once uploaded.
    pub input_file_id: Option<String>,
    /// OpenAI batch id, once created.
    pub batch_id: Option<BatchId>,
    /// `preparing`, then the Batch object's status.
    pub status: BatchState,
    /// OpenAI output file id.
    pub output_file_id: Option<String>,
    /// OpenAI error file id.
    pub error_file_id: Option<String>,
    /// `request_counts.total`.
    pub total: i64,
    /// `request_counts.completed`.
    pub completed: i64,
    /// `request_counts.failed`.
    pub failed: i64,
    /// Validation errors (`errors.data[]`) as they came; empty unless validation failed.
    #[sqlx(json(nullable))]
    pub errors: Option<Vec<BatchError>>,
    /// Output and error files have been parsed into rows.
    pub collected: bool,
}

impl BatchRecord {
    /// True once the batch will not change any more (or never reached OpenAI and never will).
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }

    /// The validation errors (none when the batch passed validation).
    pub fn errors(&self) -> &[BatchError] {
        self.errors.as_deref().unwrap_or_default()
    }
}

/// What a Batch object says now, to save on its batch ([`crate::Store::update_batch`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchProgress {
    /// Its status.
    pub status: BatchState,
    /// Its `request_counts`.
    pub request_counts: RequestCounts,
    /// Its output file, once there is one.
    pub output_file_id: Option<String>,
    /// Its error file, once there is one.
    pub error_file_id: Option<String>,
    /// Its validation errors.
    pub errors: Vec<BatchError>,
}

/// A job to insert.
#[derive(Clone, Debug)]
pub struct NewJob {
    /// UUID v7.
    pub id: JobId,
    /// The caller's `sub`.
    pub owner: String,
    /// Where its answers go.
    pub destination: Destination,
    /// Current title.
    pub sheet_title: String,
    /// Selected spans.
    pub spans: Vec<RowSpan>,
    /// Model id (resolved).
    pub model: String,
    /// Batch or realtime.
    pub mode: Mode,
    /// Replace filled cells.
    pub overwrite: bool,
    /// Initial status.
    pub status: JobStatus,
}

/// A row to insert with its job.
#[derive(Clone, Debug)]
pub struct NewRow {
    /// Column A (`''` when empty).
    pub row_id: String,
    /// Column B.
    pub title: String,
    /// 1-based row number.
    pub row_number: u32,
    /// Initial state (`pending`, `skipped` or `failed`).
    pub state: RowState,
    /// Why skipped or failed, for people.
    pub reason: Option<String>,
    /// Why failed, for programs.
    pub failure_code: Option<FailureCode>,
}

impl NewRow {
    /// The row as a model input, when its id is valid (rows that failed the selection checks may
    /// have none).
    pub fn input(&self) -> Option<RowInput> {
        Some(RowInput {
            id: RowId::parse(&self.row_id).ok()?,
            title: self.title.clone(),
        })
    }
}

/// What the model answered for one row of a batch, to record.
#[derive(Clone, Debug)]
pub struct RowResult {
    /// The row's `custom_id`.
    pub row_id: String,
    /// The answer, or why there is none.
    pub outcome: Result<Generated, RowFailure>,
}

/// A new state for one row, by its `seq` ([`crate::Store::set_row_states`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowUpdate {
    /// The row's position in its job.
    pub seq: i64,
    /// Its new state.
    pub state: RowState,
    /// Why (for skipped and failed rows), for people.
    pub reason: Option<String>,
    /// Why, for programs (failed rows only).
    pub failure_code: Option<FailureCode>,
}

impl RowUpdate {
    /// The row is written (or already held this answer).
    pub fn done(seq: i64) -> RowUpdate {
        RowUpdate {
            seq,
            state: RowState::Done,
            reason: None,
            failure_code: None,
        }
    }

    /// The row is left as a person filled it.
    pub fn skipped(seq: i64, reason: String) -> RowUpdate {
        RowUpdate {
            seq,
            state: RowState::Skipped,
            reason: Some(reason),
            failure_code: None,
        }
    }

    /// The row failed.
    pub fn failed(seq: i64, failure: RowFailure) -> RowUpdate {
        RowUpdate {
            seq,
            state: RowState::Failed,
            reason: Some(failure.reason),
            failure_code: Some(failure.code),
        }
    }
}
