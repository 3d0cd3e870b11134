//! A spreadsheet's monthly budget, the operator's caps, and admission.
//!
//! A job (or a chat turn) is refused when this month's commitments plus its estimate would pass
//! the spreadsheet's monthly budget, the caller's monthly cap or the operator's monthly cap
//! ([`check_monthly`], in that order); the refusal carries the figures and which cap
//! ([`CapScope`]). The caps are the operator's settings (`config::SpendingSettings`), which no
//! request can lift; a spreadsheet without a budget of its own has the operator's default one,
//! and its editors may not set one above it, or remove it, unless the operator allows it
//! ([`check_new_budget`]). A job is also refused when its estimate is above its own
//! `max_cost_usd` (`jobs::creation`).
//!
//! "Committed" counts, for every job of the scope (the spreadsheet, the user, everyone) created
//! this calendar month (UTC): the actual cost of the responses so far, plus, for jobs still
//! running, the estimate of the rows not yet answered; and for every chat run of the scope this
//! month (`crate::chat`, which checks its turns against [`check_monthly`] too): its `usage` and
//! containers once it ended, its estimate while it runs. A running realtime job stops sending once
//! its spend plus the next call would pass its cap (`jobs::realtime`); a running batch job submits
//! no further batch (a later part, an automatic resubmission) whose share of the estimate plus
//! what it spent would pass it (`jobs::batch::submit`); a retry is refused when its estimate
//! would. Every one of these checks is `almanac_core::cost::check_cap`.
//!
//! [`admit`]: while a job or a turn is checked against the caps and stored, no other one of the
//! same spreadsheet — nor, under a per-user cap, of the same user, nor, under the operator's cap,
//! any other — is admitted, on any replica, so two cannot together pass a cap.

use almanac_core::cost::{chat_turn_cost, check_cap, pro_rata, usage_cost};
use almanac_protocol::{Budget, ErrorCode};
use almanac_store::StoreError;
use almanac_store::admission::Admission;
use almanac_store::cost::SpendScope;
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

/// A spreadsheet's budget (its own, else the operator's default) and what this month's jobs
/// have committed of it.
///
/// # Errors
/// [`StoreError`] on a database failure.
pub async fn budget(sp: &Spreadsheets, spreadsheet_id: &str) -> Result<Budget, StoreError> {
    let own = sp.store.budget(spreadsheet_id).await?;
    let monthly_usd = own.or(sp.spending.spreadsheet_monthly_usd);
    let (since, month) = this_month();
    let committed_usd = committed(sp, SpendScope::Spreadsheet(spreadsheet_id), since).await?;
    Ok(Budget {
        spreadsheet_id: spreadsheet_id.to_owned(),
        monthly_usd,
        month,
        committed_usd,
        remaining_usd: monthly_usd.map(|m| m - committed_usd),
    })
}

/// What the jobs and chat runs of `scope` created since `since` committed, USD: each job's
/// answered responses at their price plus, while it runs, the estimate of its unanswered rows;
/// each chat run's `usage` and containers once ended, its estimate while it runs.
async fn committed(
    sp: &Spreadsheets,
    scope: SpendScope<'_>,
    since: DateTime<Utc>,
) -> Result<f64, StoreError> {
    let mut usd = 0.0;
    for job in sp.store.month_spend(scope, since).await? {
        if let Ok(spec) = sp.catalog.resolve(&job.model) {
            usd += usage_cost(spec, job.mode, &job.usage());
        }
        if !job.status.is_terminal() && job.est_rows > 0 {
            let whole = job.est_rows as u64;
            let answered = job.billed_rows.max(0) as u64;
            usd += pro_rata(job.est_cost_usd, whole.saturating_sub(answered), whole);
        }
    }
    for run in sp.store.chat_runs_since(scope, since).await? {
        if !run.status.is_terminal() {
            usd += run.est_cost_usd;
        } else if let Ok(spec) = sp.catalog.resolve(&run.model) {
            usd += chat_turn_cost(spec, &run.usage(), run.containers.max(0) as u64);
        }
    }
    Ok(usd)
}

/// Which monthly cap a refusal is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapScope {
    /// The spreadsheet's budget (its own, or the operator's default).
    Spreadsheet,
    /// The operator's per-user cap (`ALMANAC_USER_MONTHLY_CAP_USD`).
    User,
    /// The operator's cap on everything (`ALMANAC_MONTHLY_CAP_USD`).
    Operator,
}

/// This month's commitments plus an estimate would pass a monthly cap: the figures of the
/// refusal.
#[derive(Clone, Debug, PartialEq)]
pub struct OverMonthlyBudget {
    /// Which cap.
    pub scope: CapScope,
    /// The estimate, USD.
    pub estimate_usd: f64,
    /// The monthly budget or cap, USD.
    pub monthly_usd: f64,
    /// Committed this month in the cap's scope (jobs and chat runs), USD.
    pub committed_usd: f64,
    /// `monthly_usd − committed_usd`.
    pub remaining_usd: f64,
    /// `YYYY-MM`.
    pub month: String,
}

impl OverMonthlyBudget {
    /// The stable error code: `over_monthly_budget`, `over_user_monthly_cap` or
    /// `over_operator_monthly_cap`.
    pub fn code(&self) -> ErrorCode {
        match self.scope {
            CapScope::Spreadsheet => ErrorCode::OverMonthlyBudget,
            CapScope::User => ErrorCode::OverUserMonthlyCap,
            CapScope::Operator => ErrorCode::OverOperatorMonthlyCap,
        }
    }

    /// The refusal of one of the operator's caps, for a person: `what` ("this job", "this
    /// question") and its estimate, what was committed of which cap, and what to do.
    pub fn operator_message(&self, what: &str) -> String {
        let (whose, who) = match self.scope {
            CapScope::User => (
                "you have",
                "the monthly cap per user that this backend's operator set",
            ),
            _ => (
                "this backend has",
                "the monthly cap on all spending that its operator set",
            ),
        };
        format!(
            "{what} is estimated at ${:.4}; {whose} committed ${:.4} of ${:.4}, {who}, for {}, so ${:.4} is left: ask for less, or ask the operator to raise the cap",
            self.estimate_usd, self.committed_usd, self.monthly_usd, self.month, self.remaining_usd
        )
    }
}

/// Checks an estimate (a new job's, a retry's, a chat turn's) of `owner` on `spreadsheet_id`
/// against the spreadsheet's monthly budget, then the operator's per-user and operator-wide caps;
/// hold an [`admit`]ted value meanwhile.
///
/// # Errors
/// `Ok(Err(OverMonthlyBudget))` when it would pass one; `Err(StoreError)` on a database failure.
pub async fn check_monthly(
    sp: &Spreadsheets,
    owner: &str,
    spreadsheet_id: &str,
    estimate_usd: f64,
) -> Result<Result<(), OverMonthlyBudget>, StoreError> {
    let b = budget(sp, spreadsheet_id).await?;
    let caps = [
        (
            CapScope::User,
            sp.spending.user_monthly_usd,
            SpendScope::Owner(owner),
        ),
        (
            CapScope::Operator,
            sp.spending.operator_monthly_usd,
            SpendScope::Everyone,
        ),
    ];
    let mut checks = vec![(CapScope::Spreadsheet, b.monthly_usd, b.committed_usd)];
    for (scope, cap, spend) in caps {
        if cap.is_some() {
            checks.push((scope, cap, committed(sp, spend, this_month().0).await?));
        }
    }
    for (scope, cap, spent) in checks {
        if let Err(over) = check_cap(cap, spent, estimate_usd) {
            return Ok(Err(OverMonthlyBudget {
                scope,
                estimate_usd,
                monthly_usd: over.cap_usd,
                committed_usd: over.spent_usd,
                remaining_usd: over.remaining_usd(),
                month: b.month,
            }));
        }
    }
    Ok(Ok(()))
}

/// A spreadsheet budget its editors may not set: above the operator's default budget, or none at
/// all while the operator set a default, unless the operator allows it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error(
    "this backend's operator sets a spreadsheet's monthly budget at ${default_usd:.4} at most (ALMANAC_SPREADSHEET_BUDGET_USD); {asked}: set a budget of at most ${default_usd:.4}, or ask the operator"
)]
pub struct BudgetAboveDefault {
    /// The operator's default budget, USD.
    pub default_usd: f64,
    /// What was asked for, for the message.
    pub asked: String,
}

/// Checks a budget an editor sets (`None`: remove it) against the operator's settings.
///
/// # Errors
/// [`BudgetAboveDefault`] when the operator set a default budget, does not allow more, and
/// `monthly_usd` is above it or `None`.
pub fn check_new_budget(
    sp: &Spreadsheets,
    monthly_usd: Option<f64>,
) -> Result<(), BudgetAboveDefault> {
    let spending = &sp.spending;
    let Some(default_usd) = spending.spreadsheet_monthly_usd else {
        return Ok(());
    };
    if spending.allow_budget_above_default {
        return Ok(());
    }
    let asked = match monthly_usd {
        Some(usd) if usd <= default_usd => return Ok(()),
        Some(usd) => format!("${usd:.4} is above it"),
        None => "a budget cannot be removed".to_owned(),
    };
    Err(BudgetAboveDefault { default_usd, asked })
}

/// Waits until no other job or turn of `spreadsheet_id` — nor of `owner` under a per-user cap,
/// nor any under the operator's cap — is being admitted, on any replica; hold the returned value
/// while the estimate is checked and the job or run stored.
///
/// # Errors
/// [`StoreError`] when the database cannot be reached.
pub async fn admit(
    sp: &Spreadsheets,
    owner: &str,
    spreadsheet_id: &str,
) -> Result<Admission, StoreError> {
    // The widest scope first, always in this order: two admissions never wait crosswise.
    let mut keys = Vec::with_capacity(3);
    if sp.spending.operator_monthly_usd.is_some() {
        keys.push("operator:".to_owned());
    }
    if sp.spending.user_monthly_usd.is_some() {
        keys.push(format!("user:{owner}"));
    }
    keys.push(spreadsheet_id.to_owned());
    sp.store.admit(&keys).await
}
