//! Why an operation on a job was refused, one enum per operation, each variant mapped to one HTTP
//! status in `api` (and to an exit code in `cli`): [`CreateJobError`] (with the malformed requests
//! it refuses, [`InvalidRequest`]), [`JobError`] and the spending refusals they carry
//! ([`BudgetError`]), whose codes are [`ErrorCode`]s.

use almanac_core::catalog::{DeprecatedModel, ModelRefused, UnknownModel};
use almanac_core::cost::CapExceeded;
use almanac_core::domain::InvalidValue;
use almanac_core::ids::JobId;
use almanac_core::state::Mode;
use almanac_protocol::ErrorCode;
use almanac_store::StoreError;

use crate::spreadsheet::SpreadsheetError;
use crate::spreadsheet::budget::{BudgetAboveDefault, CapScope, OverMonthlyBudget};

/// Why a job could not be created. Each variant maps to one HTTP status in `api`.
#[derive(Debug, thiserror::Error)]
pub enum CreateJobError {
    /// The request is malformed; the message says what to change.
    #[error(transparent)]
    Invalid(#[from] InvalidRequest),
    /// The spreadsheet cannot be used: not found, not shared with the service account, no access
    /// proof, or Google unavailable for now (its own error, shared with the chat).
    #[error(transparent)]
    Spreadsheet(SpreadsheetError),
    /// The job was stored but could not be read back for the answer.
    #[error(transparent)]
    NotReadBack(JobError),
    /// The model id is not in the catalogue.
    #[error(transparent)]
    UnknownModel(#[from] UnknownModel),
    /// The model is deprecated: new jobs cannot pick it.
    #[error(transparent)]
    DeprecatedModel(DeprecatedModel),
    /// The server's batch strategy does not allow the mode asked for.
    #[error("{0}")]
    ModeNotAllowed(String),
    /// The estimate passes the job's cap, the spreadsheet's monthly budget or one of the
    /// operator's caps.
    #[error(transparent)]
    OverBudget(#[from] BudgetError),
    /// The spreadsheet budget asked for is above the operator's default (or removes it), which
    /// the operator does not allow.
    #[error(transparent)]
    BudgetAboveDefault(#[from] BudgetAboveDefault),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What is wrong with a request for a job or an estimate, with the facts its message names. Each
/// is a 400 `invalid_request` in `api` (bad input in `cli`).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum InvalidRequest {
    /// The `spreadsheet_id` is not a `spreadsheetId`.
    #[error("{0}")]
    SpreadsheetId(InvalidValue),
    /// `max_cost_usd` is negative or not a number.
    #[error("max_cost_usd must be a number of US dollars >= 0, not {max_cost_usd}")]
    MaxCost {
        /// The value sent.
        max_cost_usd: f64,
    },
    /// No row span was sent.
    #[error("rows is empty: select at least one row below the header")]
    NoRows,
    /// More row spans than one job takes.
    #[error(
        "{spans} separate row spans selected; one job takes at most {max}: merge the spans or split the job"
    )]
    TooManySpans {
        /// Spans sent.
        spans: usize,
        /// Most spans a job takes.
        max: usize,
    },
    /// A span ends past the last row a spreadsheet can have.
    #[error("row {row} does not exist: a spreadsheet has at most {max} rows")]
    RowPastEnd {
        /// The span's `end_row`.
        row: u32,
        /// The last row a spreadsheet can have.
        max: u32,
    },
    /// A span starts at row 0 or ends before it starts.
    #[error(
        "row span {start_row}:{end_row} is not valid: rows are numbered from 1 and end_row must be >= start_row"
    )]
    BadSpan {
        /// The span's `start_row`.
        start_row: u32,
        /// The span's `end_row`.
        end_row: u32,
    },
    /// The spans hold more rows than one job takes.
    #[error("{rows} rows selected; one job takes at most {max}: select fewer rows")]
    TooManyRows {
        /// Rows in the spans.
        rows: u64,
        /// Most rows a job takes.
        max: u64,
    },
    /// More rows than one estimate takes.
    #[error("{rows} rows sent; an estimate takes at most {max}: send fewer rows")]
    TooManyEstimateRows {
        /// Rows sent.
        rows: usize,
        /// Most rows an estimate takes.
        max: u64,
    },
    /// A row of an estimate has an id that is not a row id.
    #[error("rows[{index}]: {error}")]
    EstimateRowId {
        /// The row's 0-based position in `rows`.
        index: usize,
        /// What is wrong with its id.
        error: InvalidValue,
    },
    /// A row of an estimate has a title over the limit.
    #[error("rows[{index}]: the title is longer than {max} characters: shorten it")]
    EstimateTitleTooLong {
        /// The row's 0-based position in `rows`.
        index: usize,
        /// Most characters a title may have.
        max: usize,
    },
}

/// Why a job could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// No such job for this owner (another owner's job is reported the same way).
    #[error("no job with id {0}")]
    NotFound(JobId),
    /// The job is finished and cannot be changed.
    #[error("job {0} is already finished")]
    Finished(JobId),
    /// The job is still running; wait for it to end (or cancel it) before retrying.
    #[error("job {0} is still running: wait for it to end, or cancel it, before retrying")]
    Running(JobId),
    /// The job has no failed rows that a retry could fix.
    #[error("job {0} has no failed rows to retry")]
    NothingToRetry(JobId),
    /// Retrying would pass the job's cap or the spreadsheet's monthly budget.
    #[error(transparent)]
    OverBudget(#[from] BudgetError),
    /// The caller's access proof for the job's spreadsheet does not hold (a retry or a cancel
    /// makes the service account write to it, so the caller must still be able to edit it).
    #[error(transparent)]
    Spreadsheet(#[from] SpreadsheetError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a job may not spend what it would.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum BudgetError {
    /// The estimate is above the job's own cap.
    #[error(
        "this job is estimated at ${estimate_usd:.4} in {mode} mode, above its max_cost_usd of ${max_cost_usd:.4}: select fewer rows, pick a cheaper model or mode, or raise max_cost_usd"
    )]
    OverJobCap {
        /// The estimate, USD.
        estimate_usd: f64,
        /// The cap, USD.
        max_cost_usd: f64,
        /// `batch` or `realtime`.
        mode: &'static str,
    },
    /// This month's commitments plus the estimate pass the spreadsheet's monthly budget.
    #[error(
        "this job is estimated at ${estimate_usd:.4}; the spreadsheet has ${committed_usd:.4} of its ${monthly_usd:.4} budget for {month} committed, so ${remaining_usd:.4} is left: select fewer rows, pick a cheaper model or mode, or raise the budget"
    )]
    OverMonthlyBudget {
        /// The estimate, USD.
        estimate_usd: f64,
        /// The monthly budget, USD.
        monthly_usd: f64,
        /// Committed this month, USD.
        committed_usd: f64,
        /// `monthly_usd − committed_usd`.
        remaining_usd: f64,
        /// `YYYY-MM`.
        month: String,
    },
    /// This month's commitments plus the estimate pass one of the operator's caps: the caller's
    /// monthly cap or the cap on all spending (`ALMANAC_USER_MONTHLY_CAP_USD`,
    /// `ALMANAC_MONTHLY_CAP_USD`).
    #[error("{}", .0.operator_message("this job"))]
    OverOperatorCap(OverMonthlyBudget),
}

impl BudgetError {
    /// The refusal of a job whose spending would pass its `max_cost_usd` (the figures from the
    /// one cap check, [`almanac_core::cost::check_cap`]).
    pub fn over_job_cap(over: CapExceeded, mode: Mode) -> BudgetError {
        BudgetError::OverJobCap {
            estimate_usd: over.total_usd(),
            max_cost_usd: over.cap_usd,
            mode: mode.as_str(),
        }
    }

    /// The stable error code: `over_job_budget`, `over_monthly_budget`,
    /// `over_user_monthly_cap` or `over_operator_monthly_cap`.
    pub fn code(&self) -> ErrorCode {
        match self {
            BudgetError::OverJobCap { .. } => ErrorCode::OverJobBudget,
            BudgetError::OverMonthlyBudget { .. } => ErrorCode::OverMonthlyBudget,
            BudgetError::OverOperatorCap(over) => over.code(),
        }
    }
}

impl From<SpreadsheetError> for CreateJobError {
    /// The spreadsheet's refusal, as the refusal of the job operation (a malformed spreadsheet id
    /// is the request's fault).
    fn from(e: SpreadsheetError) -> Self {
        match e {
            SpreadsheetError::SpreadsheetId(e) => {
                CreateJobError::Invalid(InvalidRequest::SpreadsheetId(e))
            }
            other => CreateJobError::Spreadsheet(other),
        }
    }
}

impl From<OverMonthlyBudget> for BudgetError {
    fn from(over: OverMonthlyBudget) -> Self {
        if over.scope != CapScope::Spreadsheet {
            return BudgetError::OverOperatorCap(over);
        }
        BudgetError::OverMonthlyBudget {
            estimate_usd: over.estimate_usd,
            monthly_usd: over.monthly_usd,
            committed_usd: over.committed_usd,
            remaining_usd: over.remaining_usd,
            month: over.month,
        }
    }
}

impl From<ModelRefused> for CreateJobError {
    fn from(e: ModelRefused) -> Self {
        match e {
            ModelRefused::Unknown(u) => CreateJobError::UnknownModel(u),
            ModelRefused::Deprecated(d) => CreateJobError::DeprecatedModel(d),
        }
    }
}
