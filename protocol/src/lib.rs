//! Wire types of Almanac's HTTP API (`/api/v1`), shared by the axum backend (`server/`) and the
//! Leptos sidebar (`sidebar/`). This crate depends on serde only, so it compiles to `wasm32`.
//!
//! Field names follow the OpenAI Batch API where a value comes from it (`request_counts`,
//! `completion_window`) and the Sheets API where a value names a place in a sheet (`spreadsheet_id`
//! for `spreadsheetId`, `sheet_id` for `sheetId`). All timestamps are RFC 3339 strings in UTC; all
//! money amounts are US dollars as `f64`; token counts are `u64`.
//!
//! [`chat`] holds the types of "Ask about the sheet", in the seed backend's shapes (Unix-second
//! times, as the Assistants API had them).
//!
//! With the optional `openapi` feature every type also derives `utoipa::ToSchema`, for the server's
//! OpenAPI document; without it (the sidebar's wasm build) the crate stays serde-only.

use serde::{Deserialize, Serialize};

pub mod chat;

/// The header that carries an access proof (from `POST /spreadsheets/{id}/access/proof`) beside
/// `Authorization: Bearer <ID token>` on the calls that act on a spreadsheet; lower case, as HTTP/2
/// sends header names.
pub const ACCESS_PROOF_HEADER: &str = "x-almanac-access-proof";

/// The developer-metadata key under which the add-on writes an access challenge's nonce
/// (`Spreadsheet.addDeveloperMetadata(key, nonce, DOCUMENT)` in Apps Script).
pub const ACCESS_PROOF_METADATA_KEY: &str = "almanac-access-proof";

/// Where a job is in its life. The order of variants is the order of the happy path.
///
/// ```text
/// created → submitting → validating → in_progress → finalizing → writing → completed
///                    ↘ failed      ↘ cancelling → cancelled       ↘ expired
/// ```
///
/// `validating`, `in_progress`, `finalizing`, `cancelling`, `cancelled`, `expired` mirror the Batch
/// object's `status` (<https://platform.openai.com/docs/api-reference/batch/object>).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[cfg_attr(feature = "sqlx", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Accepted and stored; rows not yet read from the sheet.
    Created,
    /// Rows read; the JSONL input file is being uploaded and the batch created.
    Submitting,
    /// The provider is validating the input file.
    Validating,
    /// The provider is running the requests.
    InProgress,
    /// The provider is preparing the output file.
    Finalizing,
    /// Results are downloaded and being written into the sheet.
    Writing,
    /// Every row is written, skipped or failed with a reason.
    Completed,
    /// The job could not run at all (see the job's `error`).
    Failed,
    /// A cancel was asked; waiting for the provider to stop.
    Cancelling,
    /// Stopped on request; results finished before the cancel were written.
    Cancelled,
    /// The 24 h completion window ran out; finished results were written, the rest can be retried.
    Expired,
}

impl JobStatus {
    /// Every status, in declaration order.
    pub const ALL: [JobStatus; 11] = [
        JobStatus::Created,
        JobStatus::Submitting,
        JobStatus::Validating,
        JobStatus::InProgress,
        JobStatus::Finalizing,
        JobStatus::Writing,
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Cancelling,
        JobStatus::Cancelled,
        JobStatus::Expired,
    ];

    /// True when the job will not change any more.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled | JobStatus::Expired
        )
    }

    /// The snake_case name used on the wire and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Created => "created",
            JobStatus::Submitting => "submitting",
            JobStatus::Validating => "validating",
            JobStatus::InProgress => "in_progress",
            JobStatus::Finalizing => "finalizing",
            JobStatus::Writing => "writing",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Cancelling => "cancelling",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Expired => "expired",
        }
    }

    /// Parses the snake_case name; `None` for anything else.
    pub fn parse(s: &str) -> Option<JobStatus> {
        JobStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// A short sentence for people ("Waiting for OpenAI to start…").
    pub fn describe(self) -> &'static str {
        match self {
            JobStatus::Created => "Queued: rows read, waiting to be sent",
            JobStatus::Submitting => "Sending the rows to OpenAI",
            JobStatus::Validating => "OpenAI is checking the batch",
            JobStatus::InProgress => "OpenAI is writing the content",
            JobStatus::Finalizing => "OpenAI is finishing the batch",
            JobStatus::Writing => "Writing the results into the sheet",
            JobStatus::Completed => "Done",
            JobStatus::Failed => "Failed",
            JobStatus::Cancelling => "Cancelling",
            JobStatus::Cancelled => "Cancelled",
            JobStatus::Expired => "Expired: finished rows were written",
        }
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for RowState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state of one row of a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[cfg_attr(feature = "sqlx", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum RowState {
    /// Sent (or about to be sent) to the model; no result yet.
    Pending,
    /// The model answered; the answer waits to be written.
    Generated,
    /// Written into the sheet.
    Done,
    /// Not sent: C–F were all filled already (or nothing was left to write).
    Skipped,
    /// Failed with a `reason`; can be retried.
    Failed,
}

impl RowState {
    /// The snake_case name used on the wire and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            RowState::Pending => "pending",
            RowState::Generated => "generated",
            RowState::Done => "done",
            RowState::Skipped => "skipped",
            RowState::Failed => "failed",
        }
    }

    /// Parses the snake_case name; `None` for anything else.
    pub fn parse(s: &str) -> Option<RowState> {
        [
            RowState::Pending,
            RowState::Generated,
            RowState::Done,
            RowState::Skipped,
            RowState::Failed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// Where one batch of a job is: `preparing` until OpenAI has it (input file not uploaded or batch
/// not created yet), then the Batch object's `status`
/// (<https://platform.openai.com/docs/api-reference/batch/object>).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[cfg_attr(feature = "sqlx", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum BatchState {
    /// Not at OpenAI yet: the input file is being uploaded or the batch created.
    Preparing,
    /// The input file is being validated.
    Validating,
    /// Validation failed (see the batch's errors); nothing ran.
    Failed,
    /// Requests are running.
    InProgress,
    /// Results are being assembled.
    Finalizing,
    /// Done; results are in the output and/or error file.
    Completed,
    /// The 24 h window ran out; finished requests are in the output file, the rest in the error
    /// file as `batch_expired`.
    Expired,
    /// A cancel was asked; in-flight requests finish (up to 10 minutes).
    Cancelling,
    /// Cancelled (or never sent because the job was cancelled or its cap reached).
    Cancelled,
}

impl BatchState {
    /// Every state, in declaration order.
    pub const ALL: [BatchState; 9] = [
        BatchState::Preparing,
        BatchState::Validating,
        BatchState::Failed,
        BatchState::InProgress,
        BatchState::Finalizing,
        BatchState::Completed,
        BatchState::Expired,
        BatchState::Cancelling,
        BatchState::Cancelled,
    ];

    /// The snake_case name used on the wire, by OpenAI and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchState::Preparing => "preparing",
            BatchState::Validating => "validating",
            BatchState::Failed => "failed",
            BatchState::InProgress => "in_progress",
            BatchState::Finalizing => "finalizing",
            BatchState::Completed => "completed",
            BatchState::Expired => "expired",
            BatchState::Cancelling => "cancelling",
            BatchState::Cancelled => "cancelled",
        }
    }

    /// Parses the snake_case name; `None` for anything else.
    pub fn parse(s: &str) -> Option<BatchState> {
        BatchState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// True when the batch will not change any more (`failed`, `completed`, `expired`,
    /// `cancelled`).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            BatchState::Failed
                | BatchState::Completed
                | BatchState::Expired
                | BatchState::Cancelled
        )
    }
}

impl std::fmt::Display for BatchState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a row failed, for programs (the row's `reason` says it for people). Written as snake_case
/// text on the wire and in the store: `id_missing`, `http_500`, `batch_expired`, …
///
/// Three families, and what a retry of the job does with each ([`FailureCode::is_retryable`]):
/// - the row itself is unusable (`id_missing`, `id_invalid`, `id_duplicated`, `title_missing`,
///   `title_too_long`): a retry leaves it — fix the sheet and create a new job;
/// - its request did not produce an answer (`batch_expired`, `batch_cancelled`, `batch_rejected`,
///   `line_invalid`, `http_<status>`, `refusal`, `truncated`, `content_filter`, `empty_answer`,
///   `invalid_json`, `missing_field`, `invalid_field`, `no_response`, `request_error`,
///   `retries_exhausted`) or it was never sent (`not_sent_cancelled`, `not_sent_over_cap`,
///   `not_sent_refused`): a retry sends it again;
/// - its answer could not be written (`id_not_in_sheet`, `id_duplicated_in_sheet`,
///   `value_too_long`): a retry sends it again and writes where the id is then.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum FailureCode {
    /// Column A is empty.
    IdMissing,
    /// Column A is too long or holds a control character.
    IdInvalid,
    /// The id appears on several selected rows.
    IdDuplicated,
    /// Column B is empty.
    TitleMissing,
    /// Column B is longer than allowed.
    TitleTooLong,
    /// The batch expired before this row ran (`batch_expired` in the error file).
    BatchExpired,
    /// The batch was cancelled before this row ran.
    BatchCancelled,
    /// OpenAI rejected the batch in validation because of other rows' lines; this row did not run.
    BatchRejected,
    /// OpenAI rejected this row's own input line in validation.
    LineInvalid,
    /// OpenAI answered this row's request with this HTTP status.
    Http(u16),
    /// The model refused (`message.refusal`).
    Refusal,
    /// The answer was cut off (`finish_reason: length`).
    Truncated,
    /// The answer was withheld by content filtering.
    ContentFilter,
    /// The answer was empty.
    EmptyAnswer,
    /// The answer was not JSON.
    InvalidJson,
    /// The answer's JSON lacks a field of the schema.
    MissingField,
    /// A field of the answer's JSON is not a string.
    InvalidField,
    /// OpenAI returned no result line for this row.
    NoResponse,
    /// The request's line carried another error.
    RequestError,
    /// Realtime: every call of the row failed for a passing reason (429, 5xx, timeout).
    RetriesExhausted,
    /// Never sent: the job was cancelled first.
    NotSentCancelled,
    /// Never sent: it would have passed the job's `max_cost_usd`.
    NotSentOverCap,
    /// Never sent: an earlier call was refused in a way every call would be (bad key, no quota).
    NotSentRefused,
    /// At write time, no row of the sheet (or the input file) has this id.
    IdNotInSheet,
    /// At write time, several rows of the sheet have this id in column A.
    IdDuplicatedInSheet,
    /// A generated value is longer than a cell may hold.
    ValueTooLong,
}

impl FailureCode {
    /// Every code without data, and `Http(500)` standing for the `http_<status>` family.
    pub const EXAMPLES: [FailureCode; 26] = [
        FailureCode::IdMissing,
        FailureCode::IdInvalid,
        FailureCode::IdDuplicated,
        FailureCode::TitleMissing,
        FailureCode::TitleTooLong,
        FailureCode::BatchExpired,
        FailureCode::BatchCancelled,
        FailureCode::BatchRejected,
        FailureCode::LineInvalid,
        FailureCode::Http(500),
        FailureCode::Refusal,
        FailureCode::Truncated,
        FailureCode::ContentFilter,
        FailureCode::EmptyAnswer,
        FailureCode::InvalidJson,
        FailureCode::MissingField,
        FailureCode::InvalidField,
        FailureCode::NoResponse,
        FailureCode::RequestError,
        FailureCode::RetriesExhausted,
        FailureCode::NotSentCancelled,
        FailureCode::NotSentOverCap,
        FailureCode::NotSentRefused,
        FailureCode::IdNotInSheet,
        FailureCode::IdDuplicatedInSheet,
        FailureCode::ValueTooLong,
    ];

    /// The codes a retry of the job leaves alone: the row itself is unusable.
    pub const NOT_RETRYABLE: [FailureCode; 5] = [
        FailureCode::IdMissing,
        FailureCode::IdInvalid,
        FailureCode::IdDuplicated,
        FailureCode::TitleMissing,
        FailureCode::TitleTooLong,
    ];

    /// Whether a retry of the job sends this row again: every code but [`Self::NOT_RETRYABLE`].
    pub fn is_retryable(self) -> bool {
        !Self::NOT_RETRYABLE.contains(&self)
    }

    /// Whether the row was never sent (`not_sent_*`).
    pub fn is_unsent(self) -> bool {
        matches!(
            self,
            FailureCode::NotSentCancelled
                | FailureCode::NotSentOverCap
                | FailureCode::NotSentRefused
        )
    }

    fn name(self) -> &'static str {
        match self {
            FailureCode::IdMissing => "id_missing",
            FailureCode::IdInvalid => "id_invalid",
            FailureCode::IdDuplicated => "id_duplicated",
            FailureCode::TitleMissing => "title_missing",
            FailureCode::TitleTooLong => "title_too_long",
            FailureCode::BatchExpired => "batch_expired",
            FailureCode::BatchCancelled => "batch_cancelled",
            FailureCode::BatchRejected => "batch_rejected",
            FailureCode::LineInvalid => "line_invalid",
            FailureCode::Http(_) => "http",
            FailureCode::Refusal => "refusal",
            FailureCode::Truncated => "truncated",
            FailureCode::ContentFilter => "content_filter",
            FailureCode::EmptyAnswer => "empty_answer",
            FailureCode::InvalidJson => "invalid_json",
            FailureCode::MissingField => "missing_field",
            FailureCode::InvalidField => "invalid_field",
            FailureCode::NoResponse => "no_response",
            FailureCode::RequestError => "request_error",
            FailureCode::RetriesExhausted => "retries_exhausted",
            FailureCode::NotSentCancelled => "not_sent_cancelled",
            FailureCode::NotSentOverCap => "not_sent_over_cap",
            FailureCode::NotSentRefused => "not_sent_refused",
            FailureCode::IdNotInSheet => "id_not_in_sheet",
            FailureCode::IdDuplicatedInSheet => "id_duplicated_in_sheet",
            FailureCode::ValueTooLong => "value_too_long",
        }
    }

    /// Parses the snake_case text (`http_429` for [`FailureCode::Http`]); `None` for anything
    /// else.
    pub fn parse(s: &str) -> Option<FailureCode> {
        if let Some(status) = s.strip_prefix("http_") {
            return status
                .parse::<u16>()
                .ok()
                .filter(|n| (100..=599).contains(n))
                .map(FailureCode::Http);
        }
        Self::EXAMPLES
            .into_iter()
            .filter(|c| !matches!(c, FailureCode::Http(_)))
            .find(|c| c.name() == s)
    }
}

impl std::fmt::Display for FailureCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FailureCode::Http(status) => write!(f, "http_{status}"),
            other => f.write_str(other.name()),
        }
    }
}

impl PartialEq<&str> for FailureCode {
    /// Compares with the snake_case text (`FailureCode::Http(429) == "http_429"`).
    fn eq(&self, other: &&str) -> bool {
        FailureCode::parse(other) == Some(*self)
    }
}

impl From<FailureCode> for String {
    fn from(code: FailureCode) -> String {
        code.to_string()
    }
}

impl TryFrom<String> for FailureCode {
    type Error = String;
    fn try_from(s: String) -> Result<FailureCode, String> {
        FailureCode::parse(&s).ok_or_else(|| format!("unknown failure code {s:?}"))
    }
}

impl std::str::FromStr for FailureCode {
    type Err = String;
    fn from_str(s: &str) -> Result<FailureCode, String> {
        FailureCode::try_from(s.to_owned())
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for FailureCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let names: Vec<String> = FailureCode::EXAMPLES
            .iter()
            .map(|c| match c {
                FailureCode::Http(_) => "http_<status>".to_owned(),
                other => other.to_string(),
            })
            .collect();
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[a-z_]+$|^http_[1-5][0-9][0-9]$"))
            .description(Some(format!(
                "Why the row failed, for programs: one of {}",
                names.join(", ")
            )))
            .examples(["batch_expired", "http_500"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for FailureCode {}

#[cfg(feature = "sqlx")]
mod failure_code_sql {
    //! `FailureCode` in SQL: a text column holding its snake_case name, for every database whose
    //! `String` is text.

    use super::FailureCode;
    use sqlx::encode::IsNull;
    use sqlx::error::BoxDynError;
    use sqlx::{Database, Decode, Encode, Type};

    impl<DB: Database> Type<DB> for FailureCode
    where
        String: Type<DB>,
    {
        fn type_info() -> DB::TypeInfo {
            <String as Type<DB>>::type_info()
        }

        fn compatible(ty: &DB::TypeInfo) -> bool {
            <String as Type<DB>>::compatible(ty)
        }
    }

    impl<'q, DB: Database> Encode<'q, DB> for FailureCode
    where
        String: Encode<'q, DB>,
    {
        fn encode_by_ref(
            &self,
            buf: &mut <DB as Database>::ArgumentBuffer,
        ) -> Result<IsNull, BoxDynError> {
            self.to_string().encode(buf)
        }
    }

    impl<'r, DB: Database> Decode<'r, DB> for FailureCode
    where
        String: Decode<'r, DB>,
    {
        fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<FailureCode, BoxDynError> {
            let text = <String as Decode<'r, DB>>::decode(value)?;
            Ok(
                FailureCode::parse(&text)
                    .ok_or_else(|| format!("unknown failure code {text:?}"))?,
            )
        }
    }
}

/// How the rows are sent to the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[cfg_attr(feature = "sqlx", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The OpenAI Batch API: half the price, results within 24 h.
    #[default]
    Batch,
    /// One Chat Completions call per row: full price, results in seconds.
    Realtime,
    /// Only in requests: let the server choose (realtime for a small job or when the batch wait
    /// would exceed `max_wait_seconds`, batch otherwise). A job's own mode is never `auto`.
    Auto,
}

impl Mode {
    /// The snake_case name used on the wire and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Batch => "batch",
            Mode::Realtime => "realtime",
            Mode::Auto => "auto",
        }
    }
}

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

/// Machine-readable error: `{"error":{"code","message"}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// A stable snake_case code (`unknown_model`, `not_found`, `invalid_request`, …).
    pub code: String,
    /// What was wrong and what to do, for people.
    pub message: String,
}

/// The body of every error response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
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

/// One event of `GET /api/v1/jobs/{id}/events` (SSE event name `progress`; data is this as JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobEvent {
    /// The job's id.
    pub job_id: String,
    /// Where the job is.
    pub status: JobStatus,
    /// `status` in words.
    pub status_text: String,
    /// Summed `request_counts` of the job's batches.
    pub request_counts: RequestCounts,
    /// Rows per state.
    pub row_counts: RowCounts,
}

/// A row for `POST /api/v1/estimate`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EstimateRow {
    /// The row's id (column A): at most 64 characters, no control characters, not blank.
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 64,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    pub id: String,
    /// The row's title (column B): at most 500 characters.
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub title: String,
}

/// `POST /api/v1/estimate`: what generating these rows would cost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EstimateRequest {
    /// A model id from `GET /api/v1/models`.
    pub model: String,
    /// The rows to send (rows already filled should be left out by the caller); at most 50,000.
    #[cfg_attr(feature = "openapi", schema(max_items = 50_000))]
    pub rows: Vec<EstimateRow>,
}

/// A cost split by token kind, in US dollars.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cost {
    /// Input (prompt) tokens, including cached ones at their price.
    pub input_usd: f64,
    /// Output (completion) tokens, reasoning tokens included.
    pub output_usd: f64,
    /// `input_usd + output_usd`.
    pub total_usd: f64,
}

/// The answer of `POST /api/v1/estimate`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Estimate {
    /// The resolved model id.
    pub model: String,
    /// Rows counted.
    pub rows: u64,
    /// Input tokens of all requests, counted with the model's tokenizer.
    pub input_tokens: u64,
    /// Of `input_tokens`, how many repeat the shared system prompt and may be billed at the cached rate.
    pub cached_input_tokens: u64,
    /// Expected output tokens (an estimate: answers vary).
    pub output_tokens: u64,
    /// Cost through the Batch API.
    pub batch: Cost,
    /// Cost through realtime Chat Completions calls.
    pub realtime: Cost,
    /// Expected wait in batch mode, in seconds (typical, not the 24 h bound).
    pub batch_wait_seconds: u64,
    /// Expected wait in realtime mode, in seconds.
    pub realtime_wait_seconds: u64,
    /// Where `output_tokens` comes from: `history` (the average of finished jobs with the same
    /// model and prompt template) or `catalogue` (the model's typical figure), capped by the
    /// output limit of every request.
    #[serde(default)]
    pub output_tokens_source: String,
    /// Each row's own figures, in the order given.
    #[serde(default)]
    pub per_row: Vec<RowEstimate>,
}

/// One row of an [`Estimate`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowEstimate {
    /// The row's id (column A).
    pub id: String,
    /// Input tokens of this row's request body.
    pub input_tokens: u64,
    /// Expected output tokens.
    pub output_tokens: u64,
    /// Cost through the Batch API, USD.
    pub batch_usd: f64,
    /// Cost through realtime calls, USD.
    pub realtime_usd: f64,
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

/// `GET/PUT /api/v1/spreadsheets/{spreadsheet_id}/budget`: a spreadsheet's monthly budget and
/// what this calendar month (UTC) has used of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Budget {
    /// The spreadsheet's `spreadsheetId`.
    pub spreadsheet_id: String,
    /// The monthly budget in US dollars; `None` means no budget.
    pub monthly_usd: Option<f64>,
    /// The month counted, `YYYY-MM` (UTC).
    pub month: String,
    /// This month's jobs and chat turns: actual cost of finished requests and turns plus the
    /// estimate of those still to run, USD.
    pub committed_usd: f64,
    /// `monthly_usd − committed_usd`, when there is a budget (may be negative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_usd: Option<f64>,
}

/// `POST /api/v1/spreadsheets/{spreadsheet_id}/access/challenge`: what the add-on must write into
/// the spreadsheet — developer metadata `metadata_key` = `nonce`, visibility `DOCUMENT`, on the
/// spreadsheet — to prove that the caller can edit it. Only an editor can add developer metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessChallenge {
    /// The spreadsheet.
    pub spreadsheet_id: String,
    /// The developer-metadata key to write ([`ACCESS_PROOF_METADATA_KEY`]).
    pub metadata_key: String,
    /// The value to write: single use, bound to the caller and the spreadsheet, valid until
    /// `expires_at` (it starts with `ap1.<expiry as Unix seconds>.`).
    pub nonce: String,
    /// When the nonce stops being accepted (RFC 3339, UTC); ten minutes after it was issued.
    pub expires_at: String,
    /// The backend's service account: the spreadsheet must be shared with it as Editor.
    pub service_account_email: String,
}

/// The body of `POST /api/v1/spreadsheets/{spreadsheet_id}/access/proof`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessProofRequest {
    /// The nonce of the challenge, once written into the spreadsheet.
    pub nonce: String,
}

/// An access proof: the caller can edit the spreadsheet and the service account can too. Sent as
/// [`ACCESS_PROOF_HEADER`] on `POST /jobs` and the budget calls for this spreadsheet, until
/// `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessProof {
    /// The spreadsheet.
    pub spreadsheet_id: String,
    /// The proof, for [`ACCESS_PROOF_HEADER`]; bound to the caller and the spreadsheet.
    pub proof: String,
    /// When it stops being accepted (RFC 3339, UTC); one hour after it was issued.
    pub expires_at: String,
    /// The backend's service account.
    pub service_account_email: String,
}

/// The body of `PUT /api/v1/spreadsheets/{spreadsheet_id}/budget`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetBudgetRequest {
    /// US dollars per calendar month (UTC), `>= 0`; `null` removes the budget.
    pub monthly_usd: Option<f64>,
}

/// One entry of `GET /api/v1/models`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelInfo {
    /// The model id as OpenAI names it (`gpt-4.1-mini-2025-04-14`).
    pub id: String,
    /// A short description for people.
    pub description: String,
    /// Reasoning model (o-series, gpt-5 family): no `temperature`, uses `max_completion_tokens`.
    pub reasoning: bool,
    /// USD per 1M input tokens, realtime.
    pub input_per_1m: f64,
    /// USD per 1M cached input tokens, realtime.
    pub cached_input_per_1m: f64,
    /// USD per 1M output tokens, realtime.
    pub output_per_1m: f64,
    /// Batch price as a fraction of the realtime price (0.5 = half).
    pub batch_price_factor: f64,
}

/// `GET /api/v1/models`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelList {
    /// The model used when a request names none.
    pub default_model: String,
    /// Known models.
    pub models: Vec<ModelInfo>,
}

/// `GET /api/v1/health`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// The server's version.
    pub version: String,
}

/// One selected row, as the Apps Script side's `getSelectionContext()` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelectedRow {
    /// 1-based row number in the sheet.
    pub row_number: u32,
    /// Column A, as displayed (may be empty).
    pub id: String,
    /// Column B, as displayed (may be empty).
    pub title: String,
    /// Whether each of C `year`, D `content_simple`, E `content_detailed`, F `related_movies` holds
    /// something.
    pub filled: [bool; 4],
}

impl SelectedRow {
    /// True when every one of C–F is filled: without `overwrite` the row is skipped.
    pub fn is_filled(&self) -> bool {
        self.filled.iter().all(|f| *f)
    }
}

/// What the sidebar learns from the sheet when it opens: `google.script.run.getSelectionContext()`
/// returns this as JSON (camelCase, as Apps Script code writes it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelectionContext {
    /// The spreadsheet's `spreadsheetId`.
    pub spreadsheet_id: String,
    /// The active sheet's `sheetId`.
    pub sheet_id: i32,
    /// The active sheet's title.
    pub sheet_title: String,
    /// The backend's base URL (no trailing slash, without `/api/v1`), from Script Properties.
    pub backend_url: String,
    /// `ScriptApp.getIdentityToken()`: sent as `Authorization: Bearer …`.
    pub identity_token: String,
    /// The service account the script's owner set up (Script Property
    /// `ALMANAC_SERVICE_ACCOUNT_EMAIL`), `""` when none: the sidebar offers to share the
    /// spreadsheet with it only when it is the backend's own.
    #[serde(default)]
    pub service_account_email: String,
    /// The signed-in user's email, for display.
    pub user_email: String,
    /// The selected rows, top to bottom.
    pub rows: Vec<SelectedRow>,
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
    fn job_status_names_round_trip_through_serde_and_parse() {
        for st in JobStatus::ALL {
            let json = serde_json::to_string(&st).unwrap();
            assert_eq!(json, format!("\"{}\"", st.as_str()));
            assert_eq!(JobStatus::parse(st.as_str()), Some(st));
        }
        assert_eq!(JobStatus::parse("done"), None);
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

    #[test]
    fn selection_context_reads_the_camel_case_json_of_apps_script() {
        let ctx: SelectionContext = serde_json::from_str(
            r#"{"spreadsheetId":"s","sheetId":7,"sheetTitle":"Events","backendUrl":"https://b",
                "identityToken":"i","serviceAccountEmail":"sa@p.iam.gserviceaccount.com","userEmail":"a@b.c",
                "rows":[{"rowNumber":2,"id":"01-01","title":"New year","filled":[true,false,false,false]}]}"#,
        )
        .unwrap();
        assert_eq!(ctx.sheet_id, 7);
        assert_eq!(ctx.rows[0].row_number, 2);
        assert!(!ctx.rows[0].is_filled());
        let back = serde_json::to_value(&ctx).unwrap();
        assert_eq!(back["rows"][0]["rowNumber"], 2);
        assert_eq!(back["backendUrl"], "https://b");
    }
}
