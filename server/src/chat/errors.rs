//! Why a chat operation was refused ([`ChatError`]), each variant mapped to one HTTP status in
//! `api`. A thread, run or file of another user is refused exactly like a missing one.

use almanac_core::domain::InvalidValue;
use almanac_core::ids::{RunId, ThreadId};
use almanac_openai::OpenAiError;
use almanac_protocol::RowSpan;
use almanac_store::StoreError;

use crate::spreadsheet::SpreadsheetError;
use crate::spreadsheet::budget::{CapScope, OverMonthlyBudget};

/// Why a chat operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// The request is malformed; the message says what to change (400 `invalid_request`).
    #[error("{0}")]
    Invalid(#[from] InvalidChatRequest),
    /// The message is longer than the server allows (400 `message_too_long`).
    #[error(
        "the message has {chars} characters; at most {max} are accepted: shorten it, or split it into several questions"
    )]
    MessageTooLong {
        /// Its length, in characters.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// No spreadsheet was named and the server has no default (400 `spreadsheet_required`).
    #[error(
        "name the spreadsheet the conversation is about: send `spreadsheet_id` (and `sheet_id`), or set ALMANAC_CHAT_SPREADSHEET_ID on the server"
    )]
    NoSpreadsheet,
    /// No such thread for this caller (404 `thread_not_found`).
    #[error(
        "no thread with id {0}: start one with POST /api/v1/threads, or send a message without thread_id"
    )]
    ThreadNotFound(ThreadId),
    /// No such run on this thread (404 `run_not_found`).
    #[error("no run with id {0} on this thread")]
    RunNotFound(RunId),
    /// No such file on this thread (404 `file_not_found`).
    #[error("no file with id {0} on this thread")]
    FileNotFound(String),
    /// The thread already has a run that has not ended (409 `run_active`).
    #[error(
        "thread {thread_id} is still answering (run {run_id}): wait for it to end, or cancel it, before asking again"
    )]
    RunActive {
        /// The thread.
        thread_id: ThreadId,
        /// Its unfinished run.
        run_id: RunId,
    },
    /// The run has already ended (409 `run_finished`).
    #[error("run {0} has already ended")]
    RunFinished(RunId),
    /// A run was asked for but no message waits (400 `no_pending_message`).
    #[error(
        "thread {0} has no new message to answer: add one with POST /api/v1/threads/{0}/messages first"
    )]
    NothingToRun(ThreadId),
    /// The caller has as many threads on this spreadsheet as allowed (409 `too_many_threads`).
    #[error(
        "you have {max} conversations on this spreadsheet, the most allowed: delete one (DELETE /api/v1/threads/{{thread_id}}) or continue one"
    )]
    TooManyThreads {
        /// The limit.
        max: u64,
    },
    /// The thread holds as many messages as allowed (409 `thread_full`).
    #[error("this conversation holds {max} messages, the most allowed: start a new conversation")]
    ThreadFull {
        /// The limit.
        max: u64,
    },
    /// The caller cannot open the spreadsheet, or Sheets failed (as for jobs).
    #[error(transparent)]
    Access(#[from] SpreadsheetError),
    /// The turn's estimate passes the spreadsheet's monthly budget (422 `over_monthly_budget`).
    #[error(
        "this question is estimated at ${estimate_usd:.4}; the spreadsheet has ${committed_usd:.4} of its ${monthly_usd:.4} budget for {month} committed, so ${remaining_usd:.4} is left: raise the budget, or ask next month"
    )]
    OverBudget {
        /// The turn's estimate, USD.
        estimate_usd: f64,
        /// The monthly budget, USD.
        monthly_usd: f64,
        /// Committed this month (jobs and chat turns), USD.
        committed_usd: f64,
        /// `monthly_usd − committed_usd`.
        remaining_usd: f64,
        /// `YYYY-MM`.
        month: String,
    },
    /// The turn's estimate passes one of the operator's caps (422 `over_user_monthly_cap` or
    /// `over_operator_monthly_cap`).
    #[error("{}", .0.operator_message("this question"))]
    OverOperatorCap(OverMonthlyBudget),
    /// OpenAI failed before the turn started (502, or 503 when transient).
    #[error(transparent)]
    OpenAi(#[from] OpenAiError),
    /// The turn started but did not complete: failed, expired or cancelled.
    #[error("{}", .0.error.message)]
    TurnFailed(TurnFailure),
    /// The database failed (500).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<OverMonthlyBudget> for ChatError {
    fn from(over: OverMonthlyBudget) -> Self {
        if over.scope != CapScope::Spreadsheet {
            return ChatError::OverOperatorCap(over);
        }
        ChatError::OverBudget {
            estimate_usd: over.estimate_usd,
            monthly_usd: over.monthly_usd,
            committed_usd: over.committed_usd,
            remaining_usd: over.remaining_usd,
            month: over.month,
        }
    }
}

/// Why a turn that started has no answer, by what the caller can do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// OpenAI failed or refused the response (502).
    OpenAi,
    /// OpenAI could not be reached, or is rate-limiting: ask again later (503).
    Unavailable,
    /// Cancelled on request (409).
    Cancelled,
    /// Stopped at the run timeout (504).
    Expired,
    /// Our side failed to store the end (500).
    Internal,
}

/// A turn that ended without an answer: what kind of failure, and the run's `last_error`.
#[derive(Clone, Debug, PartialEq)]
pub struct TurnFailure {
    /// What the caller can do.
    pub kind: FailureKind,
    /// The stable code and the message, as stored on the run.
    pub error: almanac_protocol::ErrorDetail,
}

/// What is wrong with a chat request, each case a sentence saying what to change.
#[derive(Debug, thiserror::Error)]
pub enum InvalidChatRequest {
    /// The `spreadsheet_id` is not a `spreadsheetId`.
    #[error("{0}")]
    SpreadsheetId(InvalidValue),
    /// A list's `limit` is out of range.
    #[error("limit must be between 1 and {max}, not {limit}")]
    Limit {
        /// The value sent.
        limit: i64,
        /// The largest page.
        max: i64,
    },
    /// A message added by the caller must be the user's.
    #[error("only `user` messages can be added; the assistant's come from runs")]
    NotUserRole,
    /// The message has no text.
    #[error("the message is empty: write a question")]
    EmptyMessage,
    /// A turn names a thread and another spreadsheet or sheet.
    #[error(
        "thread {thread_id} is about spreadsheet {spreadsheet_id} (sheet {sheet_id}): leave out spreadsheet_id and sheet_id, or leave out thread_id to start a new thread"
    )]
    OtherSheet {
        /// The thread named.
        thread_id: ThreadId,
        /// Its spreadsheet.
        spreadsheet_id: String,
        /// Its sheet (`sheetId`).
        sheet_id: i64,
    },
    /// More row spans than a turn reads.
    #[error("{spans} row spans sent; at most {max}: select fewer blocks of rows")]
    TooManySpans {
        /// Spans sent.
        spans: usize,
        /// The most a turn reads.
        max: usize,
    },
    /// A span starts at row 0, ends before it starts or past the last row.
    #[error(
        "rows[{index}]: a span runs from start_row ≥ 1 to end_row ≥ start_row (at most {max}), not {start_row}:{end_row}"
    )]
    BadSpan {
        /// Its place in `rows`.
        index: usize,
        /// Its `start_row`.
        start_row: u32,
        /// Its `end_row`.
        end_row: u32,
        /// The last row a spreadsheet can have.
        max: u32,
    },
    /// The spans cover more rows than a turn reads.
    #[error(
        "the spans cover {rows} rows; at most {max}: select fewer rows, or send none for the whole sheet"
    )]
    TooManyRows {
        /// Rows covered.
        rows: u64,
        /// The most a turn reads.
        max: u64,
    },
}

/// Rows (1-based, inclusive) a request names, checked as jobs check them: at most
/// [`MAX_SPANS_PER_JOB`](crate::spreadsheet::read::MAX_SPANS_PER_JOB) spans of
/// [`MAX_ROWS_PER_JOB`](crate::spreadsheet::read::MAX_ROWS_PER_JOB) rows in all, each from
/// `start_row ≥ 1` to `end_row ≥ start_row`.
///
/// # Errors
/// [`InvalidChatRequest`] saying which span is wrong.
pub(crate) fn check_spans(spans: &[RowSpan]) -> Result<(), InvalidChatRequest> {
    use crate::spreadsheet::read::{MAX_ROW_NUMBER, MAX_ROWS_PER_JOB, MAX_SPANS_PER_JOB};
    if spans.len() > MAX_SPANS_PER_JOB {
        return Err(InvalidChatRequest::TooManySpans {
            spans: spans.len(),
            max: MAX_SPANS_PER_JOB,
        });
    }
    let mut rows: u64 = 0;
    for (i, s) in spans.iter().enumerate() {
        if s.start_row == 0 || s.end_row < s.start_row || s.end_row > MAX_ROW_NUMBER {
            return Err(InvalidChatRequest::BadSpan {
                index: i,
                start_row: s.start_row,
                end_row: s.end_row,
                max: MAX_ROW_NUMBER,
            });
        }
        rows += u64::from(s.end_row - s.start_row) + 1;
    }
    if rows > MAX_ROWS_PER_JOB {
        return Err(InvalidChatRequest::TooManyRows {
            rows,
            max: MAX_ROWS_PER_JOB,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_checked_as_jobs_check_them() {
        let span = |start_row, end_row| RowSpan { start_row, end_row };
        assert!(check_spans(&[span(2, 10), span(12, 12)]).is_ok());
        assert!(check_spans(&[span(0, 1)]).is_err());
        assert!(check_spans(&[span(5, 4)]).is_err());
        let many = check_spans(&[span(1, 60_000)]).unwrap_err().to_string();
        assert!(many.contains("60000 rows; at most 50000"), "{many}");
    }
}
