//! The state enums of `/api/v1`, stored as the same snake_case text: where a job is
//! ([`JobStatus`]), where one of its rows is ([`RowState`]), where one of its batches is
//! ([`BatchState`]), and how its rows are sent ([`Mode`]). Why a row failed is in `failure`.

use serde::{Deserialize, Serialize};

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

impl std::fmt::Display for RowState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_status_names_round_trip_through_serde_and_parse() {
        for st in JobStatus::ALL {
            let json = serde_json::to_string(&st).unwrap();
            assert_eq!(json, format!("\"{}\"", st.as_str()));
            assert_eq!(JobStatus::parse(st.as_str()), Some(st));
        }
        assert_eq!(JobStatus::parse("done"), None);
    }
}
