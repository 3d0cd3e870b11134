//! The `created`/`submitting` step of a batch job: make the attempt's parts (the first time),
//! then for every part still `preparing` adopt the batch tagged with the job, attempt and part if
//! one exists at OpenAI (made before a crash, or by a replica that stalled past its lease; a second
//! one is cancelled), else upload its input file (unless its id is saved already, or a file with
//! the part's name was uploaded since the attempt began) and create its batch, tagged. A part whose
//! batch would take the job past its `max_cost_usd`, or of a job cancelled meanwhile, is never
//! sent: its rows fail `not_sent_over_cap` / `not_sent_cancelled` and a retry may send them.

use almanac_core::catalog::ModelSpec;
use almanac_core::cost::{check_cap, pro_rata};
use almanac_core::domain::RowInput;
use almanac_core::ids::BatchId;
use almanac_core::state::{BatchState, FailureCode, JobStatus, RowFailure};
use almanac_openai::jsonl::JsonlWriter;
use almanac_openai::{BatchInfo, PartTag};
use almanac_protocol::RequestCounts;
use almanac_store::rows::InputRows;
use almanac_store::{BatchProgress, BatchRecord, JobRecord};
use tracing::Instrument;

use crate::jobs::batch::parts::{PAGE_ROWS, pending_parts};
use crate::jobs::queue::step::StepError;
use crate::jobs::services::Services;
use crate::jobs::view::job_cost;

/// Uploads the input file and creates the batch of every part that has none yet, then moves the
/// job to `validating`.
///
/// # Errors
/// [`StepError`] from OpenAI or the store; every saved id stays saved, so the step resumes.
pub async fn submit(svc: &Services, job: &JobRecord) -> Result<(), StepError> {
    let store = &svc.store;
    let spec = svc.model_spec(job)?;
    let mut batches = store.batches(&job.id).await?;
    if batches.is_empty() {
        let parts = pending_parts(store, spec, &job.id).await?;
        store.create_batches(&job.id, 0, &parts).await?;
        batches = store.batches(&job.id).await?;
    }
    if job.status == JobStatus::Created {
        store
            .set_status(&job.id, JobStatus::Submitting, None)
            .await?;
        svc.publish(&job.id).await;
    }
    for batch in batches.iter().filter(|b| b.status == BatchState::Preparing) {
        let span = tracing::info_span!("batch", attempt = batch.attempt, part = batch.part);
        submit_one(svc, job, spec, batch).instrument(span).await?;
    }
    store
        .set_status(&job.id, JobStatus::Validating, None)
        .await?;
    Ok(())
}

/// Adopts the part's batch when one tagged with it exists at OpenAI already (made by a replica
/// that crashed, stalled past its lease or lost the answer before saving its id); otherwise
/// uploads its input file (or adopts one uploaded with the part's name) and creates its batch.
async fn submit_one(
    svc: &Services,
    job: &JobRecord,
    spec: &'static ModelSpec,
    batch: &BatchRecord,
) -> Result<(), StepError> {
    let tag = PartTag {
        job_id: job.id.to_string(),
        attempt: batch.attempt,
        part: batch.part,
    };
    let since = u64::try_from(svc.store.batch_created_at(batch.id).await?.timestamp()).unwrap_or(0);
    let found = svc
        .openai
        .tagged_batches(&tag, since, batch.input_file_id.as_deref())
        .await?;
    if let Some(kept) = keep_one(svc, job, found).await {
        tracing::info!(job_id = %job.id, batch_id = %kept.id, "adopting a batch created before a restart or by a stalled replica");
        if batch.input_file_id.is_none() && !kept.input_file_id.is_empty() {
            svc.store
                .set_input_file(batch.id, &kept.input_file_id)
                .await?;
        }
        return save_batch(svc, batch, &kept, false).await;
    }
    if job.cancel_requested {
        let why = RowFailure::new(
            FailureCode::NotSentCancelled,
            "cancelled before it was sent to OpenAI",
        );
        return leave_unsent(svc, batch, &why).await;
    }
    let input_file_id = match &batch.input_file_id {
        Some(id) => id.clone(),
        None => {
            let rows = usize::try_from(batch.total).unwrap_or(0);
            if let Some(why) = over_cap(svc, job, rows).await? {
                tracing::warn!(job_id = %job.id, rows, reason = %why.reason, "batch not submitted: the job's cap would be passed");
                return leave_unsent(svc, batch, &why).await;
            }
            match svc.openai.tagged_file(&tag, since).await? {
                Some(file_id) => {
                    svc.store.set_input_file(batch.id, &file_id).await?;
                    tracing::info!(job_id = %job.id, file_id = %file_id, "adopting an input file uploaded before a restart or by a stalled replica");
                    file_id
                }
                None => upload(svc, job, spec, batch, &tag).await?,
            }
        }
    };
    let info = svc.openai.create_tagged_batch(&input_file_id, &tag).await?;
    tracing::info!(job_id = %job.id, batch_id = %info.id, "batch created");
    save_batch(svc, batch, &info, true).await?;
    sweep_after_create(svc, job, &tag, since, &info.id).await;
    Ok(())
}

/// Looks once more for batches of the part after its new batch `kept` was saved, and cancels any
/// other that may still run: one created by a replica that stalled past its lease while this
/// step listed and created. Such a replica cancels its own batch when it finds another saved;
/// one that looked before the save is seen here, since it created its batch before looking. A
/// failed look is only logged (the batch is saved; the step must not run again).
async fn sweep_after_create(
    svc: &Services,
    job: &JobRecord,
    tag: &PartTag,
    since: u64,
    kept: &str,
) {
    match svc.openai.tagged_batches(tag, since, None).await {
        Ok(found) => {
            for other in found.iter().filter(|b| b.id != kept && may_run(b)) {
                cancel_duplicate(svc, job, kept, &other.id).await;
            }
        }
        Err(e) => {
            tracing::warn!(job_id = %job.id, batch_id = %kept, error = %e, "could not look for a second batch of this part");
        }
    }
}

/// Whether a batch may still run or has completed (neither failed nor cancelled).
fn may_run(batch: &BatchInfo) -> bool {
    !matches!(
        batch.status,
        BatchState::Failed | BatchState::Cancelling | BatchState::Cancelled
    )
}

/// Of the batches found with a part's tag (oldest first), keeps the oldest that may still run or
/// has completed, and cancels every other one that may still run, saying so in the job's log.
/// Batches that failed or were cancelled are left alone (a batch refused for the enqueued-token
/// limit is `failed`, and the part is sent again on purpose).
async fn keep_one(svc: &Services, job: &JobRecord, found: Vec<BatchInfo>) -> Option<BatchInfo> {
    let mut usable = found.into_iter().filter(may_run);
    let kept = usable.next()?;
    for extra in usable {
        cancel_duplicate(svc, job, &kept.id, &extra.id).await;
    }
    Some(kept)
}

/// Cancels `duplicate`, a second batch of the part whose kept batch is `kept`, and says so in the
/// job's log; a batch that finished before the cancel arrived (409) is logged as paid for.
async fn cancel_duplicate(svc: &Services, job: &JobRecord, kept: &str, duplicate: &str) {
    match svc.openai.cancel_batch(duplicate).await {
        Ok(_) => {
            tracing::warn!(job_id = %job.id, batch_id = %kept, duplicate = %duplicate, "a second batch of this part was found at OpenAI and cancelled");
        }
        Err(e) => {
            tracing::error!(job_id = %job.id, batch_id = %kept, duplicate = %duplicate, error = %e, "a second batch of this part was found at OpenAI and could not be cancelled");
        }
    }
}

/// Saves the part's batch id. When the step's lease was lost meanwhile and the part already holds
/// another batch (the new lease holder's), a batch this step `created` is a duplicate: it is
/// cancelled before the error is returned.
async fn save_batch(
    svc: &Services,
    batch: &BatchRecord,
    info: &BatchInfo,
    created: bool,
) -> Result<(), StepError> {
    let saved = svc
        .store
        .set_batch_id(batch.id, &BatchId::from(info.id.as_str()), info.status)
        .await;
    if let Err(almanac_store::StoreError::LeaseLost(job_id)) = &saved
        && created
    {
        let holder = svc
            .store
            .batches(job_id)
            .await?
            .into_iter()
            .find_map(|b| (b.id == batch.id).then_some(b.batch_id).flatten());
        if let Some(holder) = holder
            && holder.as_str() != info.id
        {
            match svc.openai.cancel_batch(&info.id).await {
                Ok(_) => {
                    tracing::warn!(job_id = %job_id, batch_id = %holder, duplicate = %info.id, "lease lost while creating a batch: the new holder's batch is kept, this one cancelled")
                }
                Err(e) => {
                    tracing::error!(job_id = %job_id, batch_id = %holder, duplicate = %info.id, error = %e, "lease lost while creating a batch: this duplicate could not be cancelled")
                }
            }
        }
    }
    Ok(saved?)
}

/// Builds the batch's input file on disk from its rows, read from the store a page at a time, as
/// the file named by the part's tag ([`PartTag::filename`]), uploads it streamed from there, and
/// saves its id at once.
async fn upload(
    svc: &Services,
    job: &JobRecord,
    spec: &'static ModelSpec,
    batch: &BatchRecord,
    tag: &PartTag,
) -> Result<String, StepError> {
    let file = write_input(svc, spec, batch, &tag.filename()).await?;
    let file_id = svc.openai.upload_jsonl_file(&file.path).await?;
    svc.store.set_input_file(batch.id, &file_id).await?;
    tracing::info!(job_id = %job.id, file_id = %file_id, rows = file.lines, "input file uploaded");
    Ok(file_id)
}

/// A batch input file in a temporary folder of the spool (removed with it, or at the next start
/// after a kill: [`crate::jobs::batch::spool`]).
struct InputFile {
    path: std::path::PathBuf,
    /// Request lines in the file.
    lines: usize,
    _dir: tempfile::TempDir,
}

/// Writes the input file of the batch's rows as `name` in a new folder of the spool: a page of rows
/// ([`PAGE_ROWS`]) read from the store, then written off the async threads, until none is left.
async fn write_input(
    svc: &Services,
    spec: &'static ModelSpec,
    batch: &BatchRecord,
    name: &str,
) -> Result<InputFile, StepError> {
    let io =
        |e: std::io::Error| StepError::Transient(format!("cannot write the batch input file: {e}"));
    let dir = svc.spool.folder().map_err(io)?;
    let path = dir.path().join(name);
    let out =
        std::io::BufWriter::with_capacity(64 * 1024, std::fs::File::create(&path).map_err(io)?);
    let mut writer = JsonlWriter::new(spec, out);
    let rows = InputRows::Batch(batch.id);
    let mut after = None;
    loop {
        let (page, next) = svc.store.inputs_page(rows, after, PAGE_ROWS).await?;
        let inputs: Vec<RowInput> = page.into_iter().map(|(_, row)| row).collect();
        writer = tokio::task::spawn_blocking(move || writer.write_rows(&inputs).map(|()| writer))
            .await
            .map_err(|e| StepError::Transient(format!("cannot write the batch input file: {e}")))?
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidInput => StepError::Permanent {
                    code: almanac_protocol::ErrorCode::InvalidInput,
                    message: format!("cannot build the batch input file: {e}"),
                },
                _ => io(e),
            })?;
        if next.is_none() {
            break;
        }
        after = next;
    }
    let (lines, _) = writer.finish().map_err(io)?;
    Ok(InputFile {
        path,
        lines,
        _dir: dir,
    })
}

/// Settles a batch that was never sent: `cancelled`, and its rows failed with `why` (a retry may
/// send them).
async fn leave_unsent(
    svc: &Services,
    batch: &BatchRecord,
    why: &RowFailure,
) -> Result<(), StepError> {
    let store = &svc.store;
    let progress = BatchProgress {
        status: BatchState::Cancelled,
        request_counts: RequestCounts::default(),
        output_file_id: None,
        error_file_id: None,
        errors: Vec::new(),
    };
    store.update_batch(batch.id, &progress).await?;
    store.record_results(batch.id, &[], why, &[]).await?;
    Ok(())
}

/// Whether sending `rows` more requests could pass the job's `max_cost_usd`: what its responses
/// have cost so far plus this batch's share of the estimate (pro rata by rows). The first batch
/// never trips it (its estimate passed the cap check at creation); a later part, an automatic
/// resubmission or a retry of a job whose answers ran longer than predicted can. Returns the
/// failure to give the rows left unsent, `None` when the batch may go.
async fn over_cap(
    svc: &Services,
    job: &JobRecord,
    rows: usize,
) -> Result<Option<RowFailure>, StepError> {
    let estimate = svc.store.job_estimate(&job.id).await?;
    if estimate.max_cost_usd.is_none() {
        return Ok(None);
    }
    let spent = job_cost(&svc.store, job).await?.actual_usd;
    let share = pro_rata(
        estimate.est_cost_usd,
        rows as u64,
        estimate.est_rows.max(0) as u64,
    );
    Ok(check_cap(estimate.max_cost_usd, spent, share).err().map(|over| {
        RowFailure::new(
            FailureCode::NotSentOverCap,
            format!(
                "not sent: the job's max_cost_usd of ${:.4} would be passed: ${spent:.4} spent so far and about ${share:.4} for this batch's {rows} rows; raise max_cost_usd and retry the job",
                over.cap_usd
            ),
        )
    }))
}
