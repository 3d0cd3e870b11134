//! Retrying a finished job's failed rows. Rows whose failure code a retry can fix
//! (`FailureCode::is_retryable`: the request failed, expired, was cancelled or never sent, or the
//! answer could not be written) are sent again — in a new batch (attempt `n + 1`) for a batch job,
//! back to `pending` for a realtime job — and answers generated but not written are written again.
//! Rows that failed for a reason a retry cannot fix (no id, no title, an id used twice) stay
//! failed. A retry whose estimate would take the job past its `max_cost_usd`, or a sheet job's
//! spreadsheet past its monthly budget or its owner past the operator's caps, is refused.

use almanac_core::cost::{check_cap, usage_cost};
use almanac_core::domain::RowInput;
use almanac_core::state::{JobStatus, Mode, RowState};
use almanac_store::{Destination, JobRecord, RowRecord};

use crate::jobs::batch::parts::batch_parts;
use crate::jobs::errors::{BudgetError, JobError};
use crate::jobs::services::Services;
use crate::spreadsheet::budget;

/// Reopens `record` (a finished job) for a retry, or says why not.
///
/// # Errors
/// [`JobError::Running`] while the job runs, [`JobError::NothingToRetry`],
/// [`JobError::OverBudget`] when the retry would pass the job's cap.
pub async fn retry(svc: &Services, record: &JobRecord) -> Result<(), JobError> {
    let id = &record.id;
    if !record.status.is_terminal() {
        return Err(JobError::Running(id.clone()));
    }
    let rows = svc.store.rows(id).await?;
    let resend: Vec<&RowRecord> = rows.iter().filter(|r| r.is_retryable_failure()).collect();
    let unwritten = rows.iter().any(|r| r.state == RowState::Generated);
    if resend.is_empty() && !unwritten {
        return Err(JobError::NothingToRetry(id.clone()));
    }
    let inputs: Vec<RowInput> = resend.iter().filter_map(|r| r.input()).collect();
    let more = check_job_cap(svc, record, &inputs).await?;
    // A sheet job's retry is admitted like a new job: the spreadsheet's budget and the operator's
    // caps hold (the admission is held until the job is reopened).
    let _admission = match &record.destination {
        Destination::Sheet { spreadsheet_id, .. } if more > 0.0 => {
            let sp = svc.spreadsheets();
            let admission = budget::admit(&sp, &record.owner, spreadsheet_id.as_str()).await?;
            budget::check_monthly(&sp, &record.owner, spreadsheet_id.as_str(), more)
                .await?
                .map_err(BudgetError::from)?;
            Some(admission)
        }
        _ => None,
    };
    let reopened = match record.mode {
        Mode::Realtime => svc.store.reset_failed_realtime_rows(id).await? as usize,
        Mode::Batch | Mode::Auto => new_attempt(svc, record, &resend).await?,
    };
    let status = if reopened == 0 {
        JobStatus::Writing
    } else {
        JobStatus::Created
    };
    svc.store.reopen(id, status).await?;
    tracing::info!(job_id = %id, rows = reopened, mode = record.mode.as_str(), "retry requested");
    svc.wake_for(id).await;
    Ok(())
}

/// Creates the batches of attempt `n + 1` for the rows to send again; returns how many rows.
async fn new_attempt(
    svc: &Services,
    record: &JobRecord,
    resend: &[&RowRecord],
) -> Result<usize, JobError> {
    let resend: Vec<(i64, RowInput)> = resend
        .iter()
        .filter_map(|r| Some((r.seq, r.input()?)))
        .collect();
    if resend.is_empty() {
        return Ok(0);
    }
    let store = &svc.store;
    let spec = svc
        .catalog
        .resolve(&record.model)
        .map_err(|e| JobError::Store(almanac_store::StoreError::Corrupt(e.to_string())))?;
    let attempt = store
        .batches(&record.id)
        .await?
        .iter()
        .map(|b| b.attempt + 1)
        .max()
        .unwrap_or(0);
    store
        .create_batches(&record.id, attempt, &batch_parts(spec, &resend))
        .await?;
    Ok(resend.len())
}

/// The retry's estimate (in the job's mode), USD; refused when, added to what the job has spent,
/// it would pass the job's `max_cost_usd`.
async fn check_job_cap(
    svc: &Services,
    record: &JobRecord,
    inputs: &[RowInput],
) -> Result<f64, JobError> {
    let store = &svc.store;
    let Ok(spec) = svc.catalog.resolve(&record.model) else {
        return Ok(0.0);
    };
    let estimate = crate::jobs::creation::estimate::estimate(store, spec, inputs.to_vec()).await?;
    let more = almanac_core::cost::estimate_total(&estimate, record.mode);
    let Some(cap) = store.job_estimate(&record.id).await?.max_cost_usd else {
        return Ok(more);
    };
    let (_, used) = store.job_usage(&record.id).await?;
    let spent = usage_cost(spec, record.mode, &used);
    check_cap(Some(cap), spent, more)
        .map_err(|over| JobError::OverBudget(BudgetError::over_job_cap(over, record.mode)))?;
    Ok(more)
}
