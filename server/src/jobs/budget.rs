//! Spending caps: a job's own `max_cost_usd` and a spreadsheet's monthly budget.
//!
//! A job is refused when its estimate is above its cap, or when this month's commitments on the
//! spreadsheet plus the estimate would pass the monthly budget; the refusal carries the figures.
//! "Committed" counts, for every job of the spreadsheet created this calendar month (UTC): the
//! actual cost of the responses so far, plus, for jobs still running, the estimate of the rows not
//! yet answered. A running realtime job stops sending once its spend plus the next call would pass
//! its cap (`jobs::realtime`); a running batch job submits no further batch (a later part, an
//! automatic resubmission) whose share of the estimate plus what it spent would pass it
//! (`jobs::worker`); a retry is refused when its estimate would.

use almanac_protocol::{Budget, Mode};
use chrono::{Datelike, TimeZone, Utc};

use super::Services;
use almanac_store::{StoreError, timestamp};

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
    /// The stable error code: `over_job_budget` or `over_monthly_budget`.
    pub fn code(&self) -> &'static str {
        match self {
            BudgetError::OverJobCap { .. } => "over_job_budget",
            BudgetError::OverMonthlyBudget { .. } => "over_monthly_budget",
        }
    }
}

/// The first instant of the current calendar month (UTC) and its `YYYY-MM` name.
fn this_month() -> (String, String) {
    let now = Utc::now();
    let start = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now);
    (
        timestamp(start),
        format!("{:04}-{:02}", now.year(), now.month()),
    )
}

/// A spreadsheet's budget and what this month's jobs have committed of it.
///
/// # Errors
/// [`StoreError`] on a database failure.
pub async fn budget(svc: &Services, spreadsheet_id: &str) -> Result<Budget, StoreError> {
    let store = &svc.store;
    let monthly_usd = store.budget(spreadsheet_id).await?;
    let (since, month) = this_month();
    let mut committed_usd = 0.0;
    for job in store.jobs_since(spreadsheet_id, &since).await? {
        let mode = if job.mode == Mode::Realtime.as_str() {
            Mode::Realtime
        } else {
            Mode::Batch
        };
        let (rows, usage) = store.job_usage(&job.id).await?;
        if let Ok(spec) = svc.catalog.resolve(&job.model) {
            committed_usd += almanac_core::cost::usage_cost(spec, mode, &usage);
        }
        let running =
            almanac_protocol::JobStatus::parse(&job.status).is_some_and(|s| !s.is_terminal());
        if running && job.est_rows > 0 {
            let left = (job.est_rows as f64 - rows as f64).max(0.0) / job.est_rows as f64;
            committed_usd += job.est_cost_usd * left;
        }
    }
    Ok(Budget {
        spreadsheet_id: spreadsheet_id.to_owned(),
        monthly_usd,
        month,
        committed_usd,
        remaining_usd: monthly_usd.map(|m| m - committed_usd),
    })
}

/// Checks a new job's estimate against its cap and the spreadsheet's monthly budget.
///
/// # Errors
/// `Ok(Err(BudgetError))` when the job would pass one; `Err(StoreError)` on a database failure.
pub async fn check(
    svc: &Services,
    spreadsheet_id: &str,
    mode: Mode,
    estimate_usd: f64,
    max_cost_usd: Option<f64>,
) -> Result<Result<(), BudgetError>, StoreError> {
    if let Some(max) = max_cost_usd
        && estimate_usd > max
    {
        return Ok(Err(BudgetError::OverJobCap {
            estimate_usd,
            max_cost_usd: max,
            mode: mode.as_str(),
        }));
    }
    let b = budget(svc, spreadsheet_id).await?;
    if let (Some(monthly_usd), Some(remaining_usd)) = (b.monthly_usd, b.remaining_usd)
        && estimate_usd > remaining_usd
    {
        return Ok(Err(BudgetError::OverMonthlyBudget {
            estimate_usd,
            monthly_usd,
            committed_usd: b.committed_usd,
            remaining_usd,
            month: b.month,
        }));
    }
    Ok(Ok(()))
}

/// Proves that the caller may open the spreadsheet (with their own OAuth token; `None` only in
/// insecure local development), as job creation does.
///
/// # Errors
/// The [`super::CreateJobError`] variants for a missing spreadsheet, no access, a refused token
/// or Sheets being unavailable.
pub async fn check_access(
    svc: &Services,
    spreadsheet_id: &str,
    user_token: Option<&secrecy::SecretString>,
) -> Result<(), super::CreateJobError> {
    use super::CreateJobError;
    use almanac_sheets::UserAccessError;
    let id = almanac_core::domain::SpreadsheetId::parse(spreadsheet_id)
        .map_err(|e| CreateJobError::Invalid(e.to_string()))?;
    let Some(token) = user_token else {
        return Ok(());
    };
    svc.sheets
        .check_user_access(&id, token)
        .await
        .map_err(|e| match e {
            UserAccessError::NotFound(_) => CreateJobError::SpreadsheetNotFound(format!(
                "{e}, or your Google account cannot see it: check the spreadsheet_id"
            )),
            UserAccessError::Forbidden(_) => {
                CreateJobError::NoAccess(format!("{e}: ask its owner to share it with you"))
            }
            UserAccessError::TokenRejected => CreateJobError::UserTokenRejected(e.to_string()),
            UserAccessError::Unavailable(_) => CreateJobError::Unavailable(e.to_string()),
        })
}
