//! The `validating`/`in_progress`/`finalizing`/`cancelling` step of a batch job: read each
//! running batch, cancel it if the job was asked to, forget one refused for the organization's
//! enqueued-token limit (nothing ran; it is created again after a wait), save what OpenAI says,
//! collect the batches that ended, and move the job to `writing` once every batch has.

use almanac_core::state::{BatchState, JobStatus};
use almanac_openai::BatchInfo;
use almanac_store::{BatchProgress, BatchRecord, JobRecord};
use tracing::Instrument;

use crate::jobs::batch::collect::collect;
use crate::jobs::queue::step::StepError;
use crate::jobs::services::Services;

/// What reading one batch came to.
enum Read {
    /// Saved; nothing else to do.
    Saved,
    /// Refused for the enqueued-token limit and forgotten: the job must wait and submit again.
    TokenLimited,
}

/// Polls the job's running batches, cancels them if asked, collects the finished ones, and
/// moves the job to `writing` when all are collected (else looks again after the poll interval).
///
/// # Errors
/// [`StepError`] from OpenAI or the store.
pub async fn poll(svc: &Services, job: &JobRecord) -> Result<(), StepError> {
    let store = &svc.store;
    let mut limited = false;
    for batch in store.batches(&job.id).await? {
        let Some(batch_id) = batch.batch_id.clone() else {
            continue;
        };
        if batch.is_terminal() {
            continue;
        }
        let span = tracing::info_span!("batch", batch_id = %batch_id);
        let read = read_one(svc, job, &batch, &batch_id)
            .instrument(span)
            .await?;
        limited |= matches!(read, Read::TokenLimited);
    }
    if limited {
        return wait_for_token_limit(svc, job).await;
    }
    let batches = store.batches(&job.id).await?;
    for batch in batches.iter().filter(|b| b.is_terminal() && !b.collected) {
        let batch_id = batch.batch_id.as_deref().unwrap_or_default();
        let span = tracing::info_span!("batch", batch_id = %batch_id);
        collect(svc, batch).instrument(span).await?;
    }
    let status = if batches.iter().all(BatchRecord::is_terminal) {
        JobStatus::Writing
    } else if job.cancel_requested {
        JobStatus::Cancelling
    } else {
        aggregate(&batches)
    };
    if status != job.status {
        store.set_status(&job.id, status, None).await?;
    }
    if status != JobStatus::Writing {
        schedule_in(svc, job, svc.settings.poll_interval, 0).await?;
    }
    Ok(())
}

/// Reads one batch (cancelling it if the job was asked to) and saves what it says, or forgets it
/// when OpenAI refused it for the enqueued-token limit.
async fn read_one(
    svc: &Services,
    job: &JobRecord,
    batch: &BatchRecord,
    batch_id: &str,
) -> Result<Read, StepError> {
    let openai = &svc.openai;
    let mut info = openai.retrieve_batch(batch_id).await?;
    if job.cancel_requested && !info.status.is_terminal() && info.status != BatchState::Cancelling {
        info = openai.cancel_batch(batch_id).await?;
    }
    if info.status == BatchState::Failed
        && !job.cancel_requested
        && info.errors.iter().any(|e| e.is_token_limit())
    {
        // The organization's enqueued-token limit: nothing ran and nothing was billed. Forget
        // this batch and create it again once the queue has drained.
        let errors: Vec<String> = info.errors.iter().map(ToString::to_string).collect();
        tracing::warn!(errors = %errors.join("; "), "enqueued-token limit reached; the batch will be created again");
        svc.store.reset_batch(batch.id).await?;
        return Ok(Read::TokenLimited);
    }
    svc.store.update_batch(batch.id, &progress(&info)).await?;
    Ok(Read::Saved)
}

/// What a Batch object says, as the store keeps it (the validation errors one by one, with their
/// lines, so that each row gets the error of its own input line).
fn progress(info: &BatchInfo) -> BatchProgress {
    BatchProgress {
        status: info.status,
        request_counts: info.request_counts,
        output_file_id: info.output_file_id.clone(),
        error_file_id: info.error_file_id.clone(),
        errors: info.errors.clone(),
    }
}

/// After an enqueued-token refusal: back to `submitting`, tried again after
/// `max(poll_interval, retry delay)`.
async fn wait_for_token_limit(svc: &Services, job: &JobRecord) -> Result<(), StepError> {
    svc.store
        .set_status(&job.id, JobStatus::Submitting, None)
        .await?;
    let wait = svc.settings.poll_interval.max(svc.settings.retry_delay(0));
    metrics::counter!(crate::metrics::STEP_RETRIES, "reason" => "token_limit").increment(1);
    schedule_in(svc, job, wait, 0).await
}

/// Leaves the job alone for `wait`.
async fn schedule_in(
    svc: &Services,
    job: &JobRecord,
    wait: std::time::Duration,
    attempts: i64,
) -> Result<(), StepError> {
    svc.store.schedule(&job.id, wait, attempts).await?;
    Ok(())
}

/// The job status shown while batches run: the least advanced of the running batches.
fn aggregate(batches: &[BatchRecord]) -> JobStatus {
    let running: Vec<BatchState> = batches
        .iter()
        .filter(|b| !b.is_terminal())
        .map(|b| b.status)
        .collect();
    let any = |s: BatchState| running.contains(&s);
    if any(BatchState::Validating) || any(BatchState::Preparing) {
        JobStatus::Validating
    } else if any(BatchState::InProgress) {
        JobStatus::InProgress
    } else if any(BatchState::Cancelling) {
        JobStatus::Cancelling
    } else {
        JobStatus::Finalizing
    }
}
