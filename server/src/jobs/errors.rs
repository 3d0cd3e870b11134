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
    /// The call needs an access proof for this caller and spreadsheet, and has none that holds
    /// (missing, expired, for another spreadsheet or user); the message says how to get one.
    #[error("{0}")]
    AccessNotProven(String),
    /// An access challenge's nonce was not found in the spreadsheet (never written — only an
    /// editor can — or already used), or is not one this backend issued for the caller.
    #[error("{0}")]
    ProofNotFound(String),
    /// The spreadsheet is not shared with the service account (as Editor), so Almanac cannot work
    /// on it: a step for the person, naming the email to share with.
    #[error("{message}")]
    ServiceAccountNoAccess {
        /// The service account's email.
        email: String,
        /// What to do.
        message: String,
    },
    /// Google Sheets is unreachable or over quota for now, after a few quick tries.
    #[error("{message}")]
    Unavailable {
        /// What happened.
        message: String,
        /// How long to wait before trying again.
        retry_after: std::time::Duration,
    },
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
