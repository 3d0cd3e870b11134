//! The `created`/`submitting` step of a batch job: make the attempt's parts (the first time),
//! then for every part still `preparing` upload its input file (unless its id is saved already)
//! and create its batch (unless one created before a crash is found and adopted). A part whose
//! batch would take the job past its `max_cost_usd`, or of a job cancelled meanwhile, is never
//! sent: its rows fail `not_sent_over_cap` / `not_sent_cancelled` and a retry may send them.

use almanac_core::catalog::ModelSpec;
use almanac_core::cost::{check_cap, pro_rata};
use almanac_core::domain::RowInput;
use almanac_core::state::{BatchState, FailureCode, JobStatus, RowFailure, RowState};
use almanac_openai::jsonl;
use almanac_protocol::RequestCounts;
use almanac_store::{BatchProgress, BatchRecord, JobRecord, RowRecord};
use tracing::Instrument;

use crate::jobs::batch::parts::batch_parts;
use crate::jobs::services::Services;
use crate::jobs::step::StepError;
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
        let pending: Vec<(i64, RowInput)> = store
            .rows_in(&job.id, RowState::Pending)
            .await?
            .into_iter()
            .filter_map(|r| Some((r.seq, r.input()?)))
            .collect();
        store
            .create_batches(&job.id, 0, &batch_parts(spec, &pending))
            .await?;
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
            let rows: Vec<RowInput> = svc
                .store
                .batch_rows(batch.id)
                .await?
                .iter()
                .filter_map(RowRecord::input)
                .collect();
            if let Some(why) = over_cap(svc, job, rows.len()).await? {
                tracing::warn!(job_id = %job.id, rows = rows.len(), reason = %why.reason, "batch not submitted: the job's cap would be passed");
                return leave_unsent(svc, batch, &why).await;
            }
            upload(svc, job, spec, batch, rows).await?
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
        .set_batch_id(batch.id, &info.id, info.status)
        .await?;
    tracing::info!(job_id = %job.id, batch_id = %info.id, "batch created");
    Ok(())
}

/// Builds the input file of `rows` on disk, uploads it streamed from there, and saves its id at
/// once.
async fn upload(
    svc: &Services,
    job: &JobRecord,
    spec: &'static ModelSpec,
    batch: &BatchRecord,
    rows: Vec<RowInput>,
) -> Result<String, StepError> {
    let count = rows.len();
    let name = format!("almanac-{}-{}-{}.jsonl", job.id, batch.attempt, batch.part);
    let file = tokio::task::spawn_blocking(move || write_input(spec, &rows, &name))
        .await
        .map_err(|e| StepError::Permanent {
            code: "invalid_input",
            message: format!("cannot build the batch input file: {e}"),
        })??;
    let file_id = svc.openai.upload_jsonl_file(&file.path).await?;
    svc.store.set_input_file(batch.id, &file_id).await?;
    tracing::info!(job_id = %job.id, file_id = %file_id, rows = count, "input file uploaded");
    Ok(file_id)
}

/// A batch input file in a temporary folder (removed with it).
struct InputFile {
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// Writes the input file of `rows` as `name` in a new temporary folder, one line at a time.
fn write_input(spec: &ModelSpec, rows: &[RowInput], name: &str) -> Result<InputFile, StepError> {
    let io =
        |e: std::io::Error| StepError::Transient(format!("cannot write the batch input file: {e}"));
    let dir = tempfile::Builder::new()
        .prefix("almanac-upload-")
        .tempdir()
        .map_err(io)?;
    let path = dir.path().join(name);
    let out =
        std::io::BufWriter::with_capacity(64 * 1024, std::fs::File::create(&path).map_err(io)?);
    jsonl::write_jsonl(spec, rows, out).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidInput => StepError::Permanent {
            code: "invalid_input",
            message: format!("cannot build the batch input file: {e}"),
        },
        _ => io(e),
    })?;
    Ok(InputFile { path, _dir: dir })
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
