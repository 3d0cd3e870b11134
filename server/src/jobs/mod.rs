//! Jobs: one Generate click. This module owns the job's life — creating it from a selection,
//! showing it, cancelling it — and the [`worker::Worker`] that drives it through
//! `created → submitting → validating → in_progress → finalizing → writing → completed`.
//!
//! Handlers in `api` call [`JobService`] with an already-authenticated owner, so authentication can
//! change without touching this module.

pub mod file_target;
pub mod selection;
pub mod worker;

use std::sync::Arc;

use almanac_protocol::{
    CreateJobRequest, ErrorDetail, Job, JobEvent, JobRow, JobStatus, Mode, RequestCounts, RowState,
};
use secrecy::SecretString;
use tokio::sync::{Notify, broadcast};

use crate::domain::{RowInput, SpreadsheetId};
use crate::openai::client::BatchClient;
use crate::pricing::{Catalog, ModelSpec, UnknownModel};
use crate::sheets::client::SheetsClient;
use crate::sheets::{SheetsError, UserAccessError};
use crate::store::{JobRecord, NewJob, Store, StoreError};

/// Most rows one job may hold (a Generate click; larger selections are split by the person).
pub const MAX_ROWS_PER_JOB: u64 = 50_000;

/// Highest row number a sheet can have (a spreadsheet holds at most 10 million cells).
pub const MAX_ROW_NUMBER: u32 = 10_000_000;

/// Most row spans (separate selected ranges) one job may name.
pub const MAX_SPANS_PER_JOB: usize = 1_000;

/// Everything a job needs from the outside world, shared by the API handlers and the worker.
pub struct Services {
    /// The database.
    pub store: Store,
    /// OpenAI Files + Batches.
    pub openai: BatchClient,
    /// Google Sheets.
    pub sheets: SheetsClient,
    /// Known models and prices.
    pub catalog: &'static Catalog,
    /// Progress events of every job (the SSE endpoint filters by job id).
    pub events: broadcast::Sender<JobEvent>,
    /// Wakes the worker when a job is created or cancelled.
    pub wake: Notify,
    /// Worker pacing.
    pub settings: crate::config::WorkerSettings,
}

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
    /// The caller's own token shows no spreadsheet with this id.
    #[error("{0}")]
    SpreadsheetNotFound(String),
    /// The caller's own token may not open the spreadsheet.
    #[error("{0}")]
    NoAccess(String),
    /// Google refused the caller's own token.
    #[error("{0}")]
    UserTokenRejected(String),
    /// Google Sheets is unreachable or refused for now; try again later.
    #[error("{0}")]
    Unavailable(String),
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
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Operations on jobs, for the HTTP API and the command line.
#[derive(Clone)]
pub struct JobService {
    svc: Arc<Services>,
}

impl JobService {
    /// Wraps the shared services.
    pub fn new(svc: Arc<Services>) -> JobService {
        JobService { svc }
    }

    /// The shared services.
    pub fn services(&self) -> &Arc<Services> {
        &self.svc
    }

    /// Creates a job: checks the request, proves that the caller can open the spreadsheet (with
    /// `user_token`, the caller's own Google OAuth token, when given — `None` only in insecure
    /// local development), reads the selected rows in one `values.batchGet`, sets aside rows that
    /// are filled or invalid, stores the job and its rows, and wakes the worker.
    ///
    /// # Errors
    /// See [`CreateJobError`].
    pub async fn create(
        &self,
        owner: &str,
        user_token: Option<&SecretString>,
        req: CreateJobRequest,
    ) -> Result<Job, CreateJobError> {
        let spreadsheet_id = SpreadsheetId::parse(&req.spreadsheet_id)
            .map_err(|e| CreateJobError::Invalid(e.to_string()))?;
        if req.rows.is_empty() {
            return Err(CreateJobError::Invalid(
                "rows is empty: select at least one row below the header".into(),
            ));
        }
        if req.rows.len() > MAX_SPANS_PER_JOB {
            return Err(CreateJobError::Invalid(format!(
                "{} separate row spans selected; one job takes at most {MAX_SPANS_PER_JOB}: merge the spans or split the job",
                req.rows.len()
            )));
        }
        let mut count: u64 = 0;
        for span in &req.rows {
            if span.end_row > MAX_ROW_NUMBER {
                return Err(CreateJobError::Invalid(format!(
                    "row {} does not exist: a spreadsheet has at most {MAX_ROW_NUMBER} rows",
                    span.end_row
                )));
            }
            if span.start_row == 0 || span.end_row < span.start_row {
                return Err(CreateJobError::Invalid(format!(
                    "row span {}:{} is not valid: rows are numbered from 1 and end_row must be >= start_row",
                    span.start_row, span.end_row
                )));
            }
            count += u64::from(span.end_row - span.start_row) + 1;
        }
        if count > MAX_ROWS_PER_JOB {
            return Err(CreateJobError::Invalid(format!(
                "{count} rows selected; one job takes at most {MAX_ROWS_PER_JOB}: select fewer rows"
            )));
        }
        let model = self.svc.catalog.resolve(&req.model)?;
        if req.mode == Mode::Realtime {
            return Err(CreateJobError::Invalid(
                "mode \"realtime\" is not available yet: use \"batch\"".into(),
            ));
        }

        if let Some(token) = user_token {
            self.svc
                .sheets
                .check_user_access(&spreadsheet_id, token)
                .await
                .map_err(|e| match e {
                    UserAccessError::NotFound(_) => CreateJobError::SpreadsheetNotFound(format!(
                        "{e}, or your Google account cannot see it: check the spreadsheet_id"
                    )),
                    UserAccessError::Forbidden(_) => {
                        CreateJobError::NoAccess(format!("{e}: ask its owner to share it with you"))
                    }
                    UserAccessError::TokenRejected => {
                        CreateJobError::UserTokenRejected(e.to_string())
                    }
                    UserAccessError::Unavailable(_) => CreateJobError::Unavailable(e.to_string()),
                })?;
        }
        let title = self
            .svc
            .sheets
            .sheet_title(&spreadsheet_id, req.sheet_id)
            .await
            .map_err(sheet_error)?;
        let sheet_rows = self
            .svc
            .sheets
            .read_rows(&spreadsheet_id, &title, &req.rows)
            .await
            .map_err(sheet_error)?;
        let rows = selection::classify(&sheet_rows, req.overwrite);
        let pending = rows.iter().filter(|r| r.state == RowState::Pending).count();
        let id = uuid::Uuid::now_v7().to_string();
        let job = NewJob {
            id: id.clone(),
            owner: owner.to_owned(),
            spreadsheet_id: spreadsheet_id.to_string(),
            sheet_id: req.sheet_id,
            sheet_title: title,
            spans: req.rows.clone(),
            model: model.id.clone(),
            mode: req.mode,
            overwrite: req.overwrite,
            status: if pending == 0 {
                JobStatus::Completed
            } else {
                JobStatus::Created
            },
        };
        self.svc.store.insert_job(&job, &rows).await?;
        tracing::info!(job_id = %id, rows = rows.len(), pending, model = %model.id, "job created");
        self.svc.wake.notify_one();
        let view = self.get(owner, &id).await.map_err(|e| match e {
            JobError::Store(s) => CreateJobError::Store(s),
            other => CreateJobError::Invalid(other.to_string()),
        })?;
        Ok(view)
    }

    /// One job with its rows, if `owner` owns it.
    ///
    /// # Errors
    /// [`JobError::NotFound`] when there is no such job or another owner has it.
    pub async fn get(&self, owner: &str, id: &str) -> Result<Job, JobError> {
        let record = self.owned(owner, id).await?;
        let mut job = job_view(&self.svc.store, &record).await?;
        job.rows = self
            .svc
            .store
            .rows(id)
            .await?
            .into_iter()
            .map(|r| JobRow {
                state: r.state().unwrap_or(RowState::Failed),
                id: r.row_id,
                title: r.title,
                row_number: r.row_number as u32,
                reason: r.reason,
            })
            .collect();
        Ok(job)
    }

    /// The current progress of a job, as sent on its event stream.
    ///
    /// # Errors
    /// [`JobError::NotFound`] when there is no such job or another owner has it.
    pub async fn event(&self, owner: &str, id: &str) -> Result<JobEvent, JobError> {
        let record = self.owned(owner, id).await?;
        Ok(job_event(&self.svc.store, &record).await?)
    }

    /// The jobs of `owner` on one spreadsheet, newest first (at most 50), without rows.
    ///
    /// # Errors
    /// [`JobError::Store`] on a database failure.
    pub async fn list(&self, owner: &str, spreadsheet_id: &str) -> Result<Vec<Job>, JobError> {
        let mut out = Vec::new();
        for record in self
            .svc
            .store
            .jobs_for_spreadsheet(owner, spreadsheet_id, 50)
            .await?
        {
            out.push(job_view(&self.svc.store, &record).await?);
        }
        Ok(out)
    }

    /// Asks a running job to stop: its batches are cancelled and what finished before is written.
    ///
    /// # Errors
    /// [`JobError::NotFound`], or [`JobError::Finished`] when the job has ended.
    pub async fn cancel(&self, owner: &str, id: &str) -> Result<Job, JobError> {
        self.owned(owner, id).await?;
        if !self.svc.store.request_cancel(id).await? {
            return Err(JobError::Finished(id.to_owned()));
        }
        tracing::info!(job_id = %id, "cancel requested");
        self.svc.wake.notify_one();
        self.get(owner, id).await
    }

    /// Retries a finished job's failed rows: rows whose request failed (or that expired, were
    /// cancelled, or could not be written) are sent again in a new batch; answers that were
    /// generated but not written are written again. Rows that failed for a reason a retry cannot
    /// fix (no id, no title, an id used twice in the selection) are left as they are.
    ///
    /// # Errors
    /// [`JobError::NotFound`], [`JobError::Running`] while the job runs, or
    /// [`JobError::NothingToRetry`].
    pub async fn retry(&self, owner: &str, id: &str) -> Result<Job, JobError> {
        let record = self.owned(owner, id).await?;
        if !record.status()?.is_terminal() {
            return Err(JobError::Running(id.to_owned()));
        }
        let store = &self.svc.store;
        let rows = store.rows(id).await?;
        let resend: Vec<(i64, RowInput)> = rows
            .iter()
            .filter(|r| r.state == RowState::Failed.as_str() && r.batch.is_some())
            .filter_map(|r| Some((r.seq, r.input()?)))
            .collect();
        let unwritten = rows.iter().any(|r| r.state == RowState::Generated.as_str());
        if resend.is_empty() && !unwritten {
            return Err(JobError::NothingToRetry(id.to_owned()));
        }
        if !resend.is_empty() {
            let spec = self
                .svc
                .catalog
                .resolve(&record.model)
                .map_err(|e| JobError::Store(StoreError::Corrupt(e.to_string())))?;
            let attempt = store
                .batches(id)
                .await?
                .iter()
                .map(|b| b.attempt + 1)
                .max()
                .unwrap_or(0);
            store
                .create_batches(id, attempt, &batch_parts(spec, &resend))
                .await?;
        }
        let status = if resend.is_empty() {
            JobStatus::Writing
        } else {
            JobStatus::Created
        };
        store.reopen(id, status).await?;
        tracing::info!(job_id = %id, rows = resend.len(), "retry requested");
        self.svc.wake.notify_one();
        self.get(owner, id).await
    }

    async fn owned(&self, owner: &str, id: &str) -> Result<JobRecord, JobError> {
        match self.svc.store.job(id).await? {
            Some(record) if record.owner == owner => Ok(record),
            _ => Err(JobError::NotFound(id.to_owned())),
        }
    }
}

/// Splits rows (with their `seq`) into the parts of one submission, each within the Batch API's
/// limits (50,000 requests, 200 MB per input file); returns the `seq`s of each part.
pub fn batch_parts(spec: &ModelSpec, rows: &[(i64, RowInput)]) -> Vec<Vec<i64>> {
    let inputs: Vec<RowInput> = rows.iter().map(|(_, row)| row.clone()).collect();
    let mut offset = 0;
    let mut parts = Vec::new();
    for chunk in crate::openai::jsonl::split_into_batches(spec, &inputs) {
        parts.push(
            rows[offset..offset + chunk.len()]
                .iter()
                .map(|(seq, _)| *seq)
                .collect(),
        );
        offset += chunk.len();
    }
    parts
}

fn sheet_error(e: SheetsError) -> CreateJobError {
    if e.is_transient() {
        CreateJobError::Unavailable(format!(
            "Google Sheets is not answering right now ({e}); try again in a minute"
        ))
    } else {
        CreateJobError::SheetNotFound(e.to_string())
    }
}

/// Builds the API view of a job (without rows) from the store.
///
/// # Errors
/// [`StoreError`] on a database failure or a corrupt status.
pub async fn job_view(store: &Store, record: &JobRecord) -> Result<Job, StoreError> {
    let status = record.status()?;
    let batches = store.batches(&record.id).await?;
    Ok(Job {
        id: record.id.clone(),
        spreadsheet_id: record.spreadsheet_id.clone(),
        sheet_id: record.sheet_id as i32,
        sheet_title: record.sheet_title.clone(),
        model: record.model.clone(),
        mode: record.mode(),
        overwrite: record.overwrite,
        status,
        status_text: status.describe().to_owned(),
        request_counts: store.request_counts(&record.id).await?,
        row_counts: store.row_counts(&record.id).await?,
        batch_ids: batches.iter().filter_map(|b| b.batch_id.clone()).collect(),
        batches: batches
            .into_iter()
            .map(|b| almanac_protocol::BatchSummary {
                request_counts: RequestCounts {
                    total: b.total as u64,
                    completed: b.completed as u64,
                    failed: b.failed as u64,
                },
                batch_id: b.batch_id,
                attempt: b.attempt as u32,
                part: b.part as u32,
                status: b.status,
            })
            .collect(),
        error: match (&record.error_code, &record.error_message) {
            (Some(code), Some(message)) => Some(ErrorDetail {
                code: code.clone(),
                message: message.clone(),
            }),
            _ => None,
        },
        created_at: record.created_at.clone(),
        updated_at: record.updated_at.clone(),
        rows: Vec::new(),
    })
}

/// Builds the progress event of a job from the store.
///
/// # Errors
/// [`StoreError`] on a database failure or a corrupt status.
pub async fn job_event(store: &Store, record: &JobRecord) -> Result<JobEvent, StoreError> {
    let status = record.status()?;
    Ok(JobEvent {
        job_id: record.id.clone(),
        status,
        status_text: status.describe().to_owned(),
        request_counts: store.request_counts(&record.id).await?,
        row_counts: store.row_counts(&record.id).await?,
    })
}
