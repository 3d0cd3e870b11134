//! After a job's answers are written: the rows an expired batch never ran are sent once more (a
//! new attempt, at most once per job), or the job gets its end state from its latest attempt —
//! `cancelled` when asked, `expired` when its latest attempt expired, `failed` when every batch of
//! its latest attempt was rejected in validation, else `completed` (an expiry made good by a retry
//! ends `completed`).

use almanac_core::domain::RowInput;
use almanac_core::state::{BatchState, FailureCode, JobStatus, RowState};
use almanac_store::{BatchRecord, JobRecord};

use crate::jobs::batch::parts::batch_parts;
use crate::jobs::queue::step::StepError;
use crate::jobs::services::Services;

/// Resubmits an expired attempt's unfinished rows (once), or settles the job's end state.
///
/// # Errors
/// [`StepError::Store`] on a database failure.
pub async fn finish(svc: &Services, job: &JobRecord) -> Result<(), StepError> {
    if !job.cancel_requested && resubmit_expired(svc, job).await? {
        return Ok(());
    }
    let store = &svc.store;
    let batches = store.batches(&job.id).await?;
    let rejected = latest_attempt_rejected(&batches);
    let status = if job.cancel_requested {
        JobStatus::Cancelled
    } else if latest_attempt_expired(&batches) {
        JobStatus::Expired
    } else if rejected.is_some() {
        JobStatus::Failed
    } else {
        JobStatus::Completed
    };
    let error = rejected.map(|errors| {
        format!(
            "OpenAI rejected the batch without running it: {errors}. Each row says which request line was wrong; fix those rows and retry"
        )
    });
    let code = almanac_protocol::ErrorCode::BatchFailed;
    let error = error.as_deref().map(|message| (&code, message));
    store.set_status(&job.id, status, error).await?;
    tracing::info!(job_id = %job.id, status = status.as_str(), "job finished");
    Ok(())
}

/// If the latest attempt expired and no attempt expired before, sends the rows that never ran
/// (`batch_expired`) again as a new attempt and reopens the job. Returns `true` when the job was
/// reopened. Safe to repeat: a new attempt already created (a crash before the reopen) is only
/// reopened.
async fn resubmit_expired(svc: &Services, job: &JobRecord) -> Result<bool, StepError> {
    let store = &svc.store;
    let batches = store.batches(&job.id).await?;
    let Some(latest) = batches.iter().map(|b| b.attempt).max() else {
        return Ok(false);
    };
    let of_latest = |b: &&BatchRecord| b.attempt == latest;
    if batches
        .iter()
        .filter(of_latest)
        .any(|b| b.status == BatchState::Preparing)
    {
        store.reopen(&job.id, JobStatus::Created).await?;
        return Ok(true);
    }
    let mut expired_attempts: Vec<i64> = batches
        .iter()
        .filter(|b| b.status == BatchState::Expired)
        .map(|b| b.attempt)
        .collect();
    expired_attempts.dedup();
    if !latest_attempt_expired(&batches) || expired_attempts.len() != 1 {
        return Ok(false);
    }
    let expired: Vec<i64> = batches
        .iter()
        .filter(of_latest)
        .filter(|b| b.status == BatchState::Expired)
        .map(|b| b.id)
        .collect();
    let resend: Vec<(i64, RowInput)> = store
        .rows_in(&job.id, RowState::Failed)
        .await?
        .into_iter()
        .filter(|r| r.batch.is_some_and(|b| expired.contains(&b)))
        .filter(|r| r.failure_code == Some(FailureCode::BatchExpired))
        .filter_map(|r| Some((r.seq, r.input()?)))
        .collect();
    if resend.is_empty() {
        return Ok(false);
    }
    let parts = batch_parts(svc.model_spec(job)?, &resend);
    store.create_batches(&job.id, latest + 1, &parts).await?;
    store.reopen(&job.id, JobStatus::Created).await?;
    tracing::info!(
        rows = resend.len(),
        attempt = latest + 1,
        "the batch expired: its unfinished rows are sent again (once)"
    );
    Ok(true)
}

/// True when a batch of the job's latest attempt expired (an earlier expiry that a retry made
/// good does not count).
fn latest_attempt_expired(batches: &[BatchRecord]) -> bool {
    let latest = batches.iter().map(|b| b.attempt).max();
    batches
        .iter()
        .any(|b| Some(b.attempt) == latest && b.status == BatchState::Expired)
}

/// When every batch of the job's latest attempt was rejected in validation (`failed`): their
/// errors, joined for people.
fn latest_attempt_rejected(batches: &[BatchRecord]) -> Option<String> {
    let latest = batches.iter().map(|b| b.attempt).max()?;
    let last: Vec<&BatchRecord> = batches.iter().filter(|b| b.attempt == latest).collect();
    last.iter()
        .all(|b| b.status == BatchState::Failed)
        .then(|| {
            last.iter()
                .flat_map(|b| b.errors())
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        })
}
