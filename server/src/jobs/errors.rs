//! Why an operation on a job was refused, one enum per operation, each variant mapped to one HTTP
//! status in `api` (and to an exit code in `cli`): [`CreateJobError`], [`JobError`] and the
//! spending refusals they carry ([`BudgetError`]).

use almanac_core::catalog::UnknownModel;
use almanac_core::cost::CapExceeded;
use almanac_core::state::Mode;
use almanac_store::StoreError;

/// Why a job could not be created. Each variant maps to one HTTP status in `api`.
#[derive(Debug, thiserror::Error)]
pub enum CreateJobError {
    /// The request is malformed; the message says what to change.
    #[error("{0}")]
    Invalid(String),
    /// The model id is not in the catalogue.
    #[error(transparent)]
    UnknownModel(#[from] UnknownModel),
    /// The spreadsheet or sheet cannot be found or read by the service account.
    #[error("{0}")]
    SheetNotFound(String),
    /// The caller's own token shows no spreadsheet with this id.
    #[error("{0}")]
    SpreadsheetNotFound(String),
    /// The caller's own token may not open the spreadsheet.
    #[error("{0}")]
    NoAccess(String),
    /// Google refused the caller's own token.
    #[error("{0}")]
    UserTokenRejected(String),
    /// Google Sheets is unreachable or refused for now; try again later.
    #[error("{0}")]
    Unavailable(String),
    /// The server's batch strategy does not allow the mode asked for.
    #[error("{0}")]
    ModeNotAllowed(String),
    /// The estimate passes the job's cap or the spreadsheet's monthly budget.
    #[error(transparent)]
    OverBudget(#[from] BudgetError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a job could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// No such job for this owner (another owner's job is reported the same way).
    #[error("no job with id {0}")]
    NotFound(String),
    /// The job is finished and cannot be changed.
    #[error("job {0} is already finished")]
    Finished(String),
    /// The job is still running; wait for it to end (or cancel it) before retrying.
    #[error("job {0} is still running: wait for it to end, or cancel it, before retrying")]
    Running(String),
    /// The job has no failed rows that a retry could fix.
    #[error("job {0} has no failed rows to retry")]
    NothingToRetry(String),
    /// Retrying would pass the job's cap or the spreadsheet's monthly budget.
    #[error(transparent)]
    OverBudget(#[from] BudgetError),
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

    /// The stable error code: `over_job_budget` or `over_monthly_budget`.
    pub fn code(&self) -> &'static str {
        match self {
            BudgetError::OverJobCap { .. } => "over_job_budget",
            BudgetError::OverMonthlyBudget { .. } => "over_monthly_budget",
        }
    }
}
