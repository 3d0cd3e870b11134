//! The `created`/`submitting` step of a batch job: make the attempt's parts (the first time),
//! then for every part still `preparing` upload its input file (unless its id is saved already)
//! and create its batch (unless one created before a crash is found and adopted). A part whose
//! batch would take the job past its `max_cost_usd`, or of a job cancelled meanwhile, is never
//! sent: its rows fail `not_sent_over_cap` / `not_sent_cancelled` and a retry may send them.

use almanac_core::catalog::ModelSpec;
use almanac_core::cost::{check_cap, pro_rata};
use almanac_core::domain::RowInput;
use almanac_core::ids::BatchId;
use almanac_core::state::{BatchState, FailureCode, JobStatus, RowFailure};
use almanac_openai::jsonl::JsonlWriter;
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

/// Uploads one part's input file (unless saved already) and creates its batch (unless one was
/// created before a restart, which is adopted).
async fn submit_one(
    svc: &Services,
    job: &JobRecord,
    spec: &'static ModelSpec,
    batch: &BatchRecord,
) -> Result<(), StepError> {
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
            upload(svc, job, spec, batch).await?
        }
    };
    // A crash between create and saving its id leaves a batch we must adopt, not duplicate.
    let openai = &svc.openai;
    let info = match openai.find_batch_for_job(&job.id, &input_file_id).await? {
        Some(found) => {
            tracing::info!(job_id = %job.id, batch_id = %found.id, "adopting a batch created before a restart");
            found
        }
        None => openai.create_batch(&input_file_id, &job.id).await?,
    };
    svc.store
        .set_batch_id(batch.id, &BatchId::from(info.id.as_str()), info.status)
        .await?;
    tracing::info!(job_id = %job.id, batch_id = %info.id, "batch created");
    Ok(())
}

/// Builds the batch's input file on disk from its rows, read from the store a page at a time,
/// uploads it streamed from there, and saves its id at once.
async fn upload(
    svc: &Services,
    job: &JobRecord,
    spec: &'static ModelSpec,
    batch: &BatchRecord,
) -> Result<String, StepError> {
    let name = format!("almanac-{}-{}-{}.jsonl", job.id, batch.attempt, batch.part);
    let file = write_input(svc, spec, batch, &name).await?;
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
