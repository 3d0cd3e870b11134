//! A spreadsheet's monthly budget, and admission.
//!
//! A job (or a chat turn) is refused when this month's commitments on the spreadsheet plus its
//! estimate would pass the monthly budget ([`check_monthly`]); the refusal carries the figures.
//! A job is also refused when its estimate is above its own `max_cost_usd` (`jobs::creation`).
//! "Committed" counts, for every job of the spreadsheet created this calendar month (UTC): the
//! actual cost of the responses so far, plus, for jobs still running, the estimate of the rows not
//! yet answered; and for every chat run on the spreadsheet's threads this month (`crate::chat`,
//! which checks its turns against [`check_monthly`] too): its `usage` and containers once it
//! ended, its estimate while it runs. A running realtime job stops sending once its spend plus the
//! next call would pass its cap (`jobs::realtime`); a running batch job submits no further batch (a later part, an
//! automatic resubmission) whose share of the estimate plus what it spent would pass it
//! (`jobs::batch::submit`); a retry is refused when its estimate would. Every one of these checks
//! is `almanac_core::cost::check_cap`.
//!
//! [`admit`]: while a job or a turn is checked against the budget and stored, no other one of the
//! same spreadsheet is admitted, on any replica, so two cannot together pass the cap.

use almanac_core::cost::{chat_turn_cost, check_cap, pro_rata, usage_cost};
use almanac_protocol::Budget;
use almanac_store::StoreError;
use almanac_store::admission::Admission;
use chrono::{DateTime, Datelike, TimeZone, Utc};

use crate::spreadsheet::handles::Spreadsheets;

/// The first instant of the current calendar month (UTC) and its `YYYY-MM` name.
fn this_month() -> (DateTime<Utc>, String) {
    let now = Utc::now();
    let start = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now);
    (start, format!("{:04}-{:02}", now.year(), now.month()))
}

/// A spreadsheet's budget and what this month's jobs have committed of it.
///
/// # Errors
/// [`StoreError`] on a database failure.
pub async fn budget(sp: &Spreadsheets, spreadsheet_id: &str) -> Result<Budget, StoreError> {
    let store = &sp.store;
    let monthly_usd = store.budget(spreadsheet_id).await?;
    let (since, month) = this_month();
    let mut committed_usd = 0.0;
    for job in store.jobs_since(spreadsheet_id, since).await? {
        let (rows, usage) = store.job_usage(&job.id).await?;
        if let Ok(spec) = sp.catalog.resolve(&job.model) {
            committed_usd += usage_cost(spec, job.mode, &usage);
        }
        if !job.status.is_terminal() && job.est_rows > 0 {
            let whole = job.est_rows as u64;
            committed_usd += pro_rata(job.est_cost_usd, whole.saturating_sub(rows), whole);
        }
    }
    committed_usd += chat_committed(sp, spreadsheet_id, since).await?;
    Ok(Budget {
        spreadsheet_id: spreadsheet_id.to_owned(),
        monthly_usd,
        month,
        committed_usd,
        remaining_usd: monthly_usd.map(|m| m - committed_usd),
    })
}

/// What the spreadsheet's chat runs since `since` committed, USD: an ended run's `usage` at
/// realtime prices plus its containers, a running one's estimate.
async fn chat_committed(
    sp: &Spreadsheets,
    spreadsheet_id: &str,
    since: DateTime<Utc>,
) -> Result<f64, StoreError> {
    let mut usd = 0.0;
    for run in sp.store.chat_runs_since(spreadsheet_id, since).await? {
        if !run.status.is_terminal() {
            usd += run.est_cost_usd;
        } else if let Ok(spec) = sp.catalog.resolve(&run.model) {
            usd += chat_turn_cost(spec, &run.usage(), run.containers.max(0) as u64);
        }
    }
    Ok(usd)
}

/// This month's commitments plus an estimate would pass the spreadsheet's monthly budget: the
/// figures of the refusal.
#[derive(Clone, Debug, PartialEq)]
pub struct OverMonthlyBudget {
    /// The estimate, USD.
    pub estimate_usd: f64,
    /// The monthly budget, USD.
    pub monthly_usd: f64,
    /// Committed this month (jobs and chat runs), USD.
    pub committed_usd: f64,
    /// `monthly_usd − committed_usd`.
    pub remaining_usd: f64,
    /// `YYYY-MM`.
    pub month: String,
}

/// Checks an estimate (a new job's, a retry's, a chat turn's) against the spreadsheet's monthly
/// budget; hold an [`admit`]ted value meanwhile.
///
/// # Errors
/// `Ok(Err(OverMonthlyBudget))` when it would pass; `Err(StoreError)` on a database failure.
pub async fn check_monthly(
    sp: &Spreadsheets,
    spreadsheet_id: &str,
    estimate_usd: f64,
) -> Result<Result<(), OverMonthlyBudget>, StoreError> {
    let b = budget(sp, spreadsheet_id).await?;
    match check_cap(b.monthly_usd, b.committed_usd, estimate_usd) {
        Err(over) => Ok(Err(OverMonthlyBudget {
            estimate_usd,
            monthly_usd: over.cap_usd,
            committed_usd: over.spent_usd,
            remaining_usd: over.remaining_usd(),
            month: b.month,
        })),
        Ok(()) => Ok(Ok(())),
    }
}

/// Waits until no other job or turn of `spreadsheet_id` is being admitted, on any replica; hold
/// the returned value while the estimate is checked and the job or run stored.
///
/// # Errors
/// [`StoreError`] when the database cannot be reached.
pub async fn admit(sp: &Spreadsheets, spreadsheet_id: &str) -> Result<Admission, StoreError> {
    sp.store.admit(spreadsheet_id).await
}
