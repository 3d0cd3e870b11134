//! Jobs: one Generate click. This module owns the job's life — creating it from a selection,
//! showing it, cancelling it — and the [`worker::Worker`] that drives it through
//! `created → submitting → validating → in_progress → finalizing → writing → completed`.
//!
//! Handlers in `api` call [`JobService`] with an already-authenticated owner, so authentication can
//! change without touching this module.

pub mod budget;
pub mod file_target;
pub mod pacer;
pub mod realtime;
pub mod selection;
pub mod settings;
pub mod strategy;
pub mod worker;

pub use settings::{BatchStrategy, CostSettings, WorkerSettings};

use std::sync::Arc;

use almanac_protocol::{
    CreateJobRequest, ErrorDetail, Job, JobCost, JobEvent, JobOptions, JobRow, JobStatus, Mode,
    RequestCounts, RowState, TokenUsage,
};
use secrecy::SecretString;
use tokio::sync::{Notify, broadcast};

use almanac_core::catalog::{Catalog, ModelSpec, UnknownModel};
use almanac_core::domain::{RowInput, SpreadsheetId};
use almanac_openai::batch::BatchClient;
use almanac_sheets::SheetsError;
use almanac_sheets::client::SheetsClient;
use almanac_store::{JobRecord, NewJob, RowRecord, Store, StoreError};

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
    pub settings: settings::WorkerSettings,
    /// Mode strategy, realtime endpoint and pacing.
    pub cost: settings::CostSettings,
    /// The OpenAI key, for realtime calls when no other realtime key is set.
    pub openai_key: SecretString,
    /// The OpenAI base URL, for realtime calls when no other realtime base URL is set.
    pub openai_base_url: String,
    /// Realtime runs alive in this process.
    pub realtime_runs: realtime::Runs,
    /// The pacer of the realtime endpoint, shared by every run of this process: the account's
    /// limits are shared by all its jobs.
    pub realtime_pacer: std::sync::OnceLock<Arc<pacer::Pacer>>,
    /// Told about every outside HTTP call (the server's metrics), handed to the clients made
    /// later (realtime).
    pub calls: almanac_core::calls::Observer,
}

impl Services {
    /// The services over these clients, with the built-in catalogue, a fresh event channel (1,024
    /// events buffered per subscriber) and no realtime run yet. The one constructor, for the server
    /// and the command line alike.
    #[allow(clippy::too_many_arguments)] // each is one outside party's handle or one setting
    pub fn new(
        store: Store,
        openai: BatchClient,
        sheets: SheetsClient,
        settings: settings::WorkerSettings,
        cost: settings::CostSettings,
        openai_key: SecretString,
        openai_base_url: String,
        calls: almanac_core::calls::Observer,
    ) -> Services {
        Services {
            store,
            openai,
            sheets,
            catalog: Catalog::builtin(),
            events: broadcast::channel(1024).0,
            wake: Notify::new(),
            settings,
            cost,
            openai_key,
            openai_base_url,
            realtime_runs: Default::default(),
            realtime_pacer: Default::default(),
            calls,
        }
    }

    /// Sends the job's current progress to its event-stream subscribers (none is fine); a job
    /// that cannot be read is skipped.
    pub async fn publish(&self, id: &str) {
        if let Ok(Some(record)) = self.store.job(id).await
            && let Ok(event) = job_event(&self.store, &record).await
        {
            let _ = self.events.send(event);
        }
    }
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
    /// The server's batch strategy does not allow the mode asked for.
    #[error("{0}")]
    ModeNotAllowed(String),
    /// The estimate passes the job's cap or the spreadsheet's monthly budget.
    #[error(transparent)]
    OverBudget(#[from] budget::BudgetError),
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
    /// Retrying would pass the job's cap or the spreadsheet's monthly budget.
    #[error(transparent)]
    OverBudget(#[from] budget::BudgetError),
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
        self.create_with(owner, user_token, req, JobOptions::default())
            .await
    }

    /// [`JobService::create`] with a spending cap and an accepted wait: the rows to send are
    /// estimated on their exact request bodies, `mode: auto` is settled ([`strategy::choose`]),
    /// and the job is refused when its estimate passes `max_cost_usd` or the spreadsheet's
    /// monthly budget ([`budget::check`]). The estimate is stored with the job.
    ///
    /// # Errors
    /// See [`CreateJobError`]; [`CreateJobError::OverBudget`] carries the figures.
    pub async fn create_with(
        &self,
        owner: &str,
        user_token: Option<&SecretString>,
        req: CreateJobRequest,
        options: JobOptions,
    ) -> Result<Job, CreateJobError> {
        if let Some(max) = options.max_cost_usd
            && !(max.is_finite() && max >= 0.0)
        {
            return Err(CreateJobError::Invalid(format!(
                "max_cost_usd must be a number of US dollars >= 0, not {max}"
            )));
        }
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
        if self.svc.cost.strategy != settings::BatchStrategy::UserChoice || req.mode != Mode::Auto {
            // Refuse a forbidden mode before touching the sheet.
            let empty = almanac_openai::tokens::estimate(model, &[]);
            strategy::choose(&self.svc.cost, req.mode, &empty, None)
                .map_err(CreateJobError::ModeNotAllowed)?;
        }

        budget::check_access(&self.svc, spreadsheet_id.as_str(), user_token).await?;
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
        let inputs: Vec<RowInput> = rows
            .iter()
            .filter(|r| r.state == RowState::Pending)
            .filter_map(almanac_store::NewRow::input)
            .collect();
        let history = self
            .svc
            .store
            .average_output_tokens(&model.id, almanac_core::prompt::template_id())
            .await?;
        let prediction = almanac_core::cost::predict_output(model, history);
        let spec = model.clone();
        let estimate = tokio::task::spawn_blocking(move || {
            almanac_openai::tokens::estimate_with(&spec, &inputs, prediction)
        })
        .await
        .map_err(|e| CreateJobError::Store(StoreError::Corrupt(e.to_string())))?;
        let choice = strategy::choose(
            &self.svc.cost,
            req.mode,
            &estimate,
            options.max_wait_seconds.map(std::time::Duration::from_secs),
        )
        .map_err(CreateJobError::ModeNotAllowed)?;
        let estimate_usd = almanac_core::cost::estimate_total(&estimate, choice.mode);
        if pending > 0 {
            budget::check(
                &self.svc,
                spreadsheet_id.as_str(),
                choice.mode,
                estimate_usd,
                options.max_cost_usd,
            )
            .await??;
        }
        let id = uuid::Uuid::now_v7().to_string();
        let job = NewJob {
            id: id.clone(),
            owner: owner.to_owned(),
            spreadsheet_id: spreadsheet_id.to_string(),
            sheet_id: req.sheet_id,
            sheet_title: title,
            spans: req.rows.clone(),
            model: model.id.clone(),
            mode: choice.mode,
            overwrite: req.overwrite,
            status: if pending == 0 {
                JobStatus::Completed
            } else {
                JobStatus::Created
            },
        };
        self.svc.store.insert_job(&job, &rows).await?;
        self.svc
            .store
            .set_job_estimate(
                &id,
                &almanac_store::cost::JobEstimateRecord {
                    template: almanac_core::prompt::template_id().to_owned(),
                    max_cost_usd: options.max_cost_usd,
                    est_rows: estimate.rows as i64,
                    est_input_tokens: estimate.input_tokens as i64,
                    est_cached_tokens: estimate.cached_input_tokens as i64,
                    est_output_tokens: estimate.output_tokens as i64,
                    est_cost_usd: estimate_usd,
                },
            )
            .await?;
        tracing::info!(job_id = %id, rows = rows.len(), pending, model = %model.id, mode = choice.mode.as_str(), why = %choice.reason, estimate_usd, "job created");
        self.svc.wake.notify_one();
        let view = self.get(owner, &id).await.map_err(|e| match e {
            JobError::Store(s) => CreateJobError::Store(s),
            other => CreateJobError::Invalid(other.to_string()),
        })?;
        Ok(view)
    }

    /// How many jobs are in each status (every job of every owner), for `/metrics`.
    ///
    /// # Errors
    /// [`StoreError`] on a database failure.
    pub async fn counts_by_status(&self) -> Result<Vec<(JobStatus, u64)>, StoreError> {
        let counts = self.svc.store.jobs_by_status().await?;
        Ok(counts
            .into_iter()
            .filter_map(|(s, n)| Some((JobStatus::parse(&s)?, n.max(0) as u64)))
            .collect())
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
        if record.mode() == Mode::Realtime {
            return self.retry_realtime(owner, &record).await;
        }
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
            // A new batch may not take the job past its cap (issue 6).
            if let Some(max) = store.job_estimate(id).await?.max_cost_usd {
                let (_, used) = store.job_usage(id).await?;
                let spent = almanac_core::cost::usage_cost(spec, Mode::Batch, &used);
                let inputs: Vec<RowInput> = resend.iter().map(|(_, r)| r.clone()).collect();
                let more = almanac_openai::tokens::estimate(spec, &inputs)
                    .batch
                    .total_usd;
                if spent + more > max {
                    return Err(JobError::OverBudget(budget::BudgetError::OverJobCap {
                        estimate_usd: spent + more,
                        max_cost_usd: max,
                        mode: "batch",
                    }));
                }
            }
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

    /// Retry of a realtime job: failed rows that were sent go back to `pending` (if the job's
    /// cap allows their estimate) and unwritten answers are written again.
    async fn retry_realtime(&self, owner: &str, record: &JobRecord) -> Result<Job, JobError> {
        let store = &self.svc.store;
        let id = record.id.as_str();
        let rows = store.rows(id).await?;
        let requests: std::collections::HashMap<i64, i64> =
            store.failed_requests(id).await?.into_iter().collect();
        let resend: Vec<RowInput> = rows
            .iter()
            .filter(|r| r.state == RowState::Failed.as_str())
            .filter(|r| {
                almanac_store::cost::realtime_retryable(
                    requests.get(&r.seq).copied().unwrap_or(0),
                    r.reason.as_deref(),
                )
            })
            .filter_map(RowRecord::input)
            .collect();
        let unwritten = rows.iter().any(|r| r.state == RowState::Generated.as_str());
        if resend.is_empty() && !unwritten {
            return Err(JobError::NothingToRetry(id.to_owned()));
        }
        let estimate = store.job_estimate(id).await?;
        if let (Some(max), Ok(spec)) = (
            estimate.max_cost_usd,
            self.svc.catalog.resolve(&record.model),
        ) {
            let (_, used) = store.job_usage(id).await?;
            let spent = almanac_core::cost::usage_cost(spec, Mode::Realtime, &used);
            let more = almanac_openai::tokens::estimate(spec, &resend)
                .realtime
                .total_usd;
            if spent + more > max {
                return Err(JobError::OverBudget(budget::BudgetError::OverJobCap {
                    estimate_usd: spent + more,
                    max_cost_usd: max,
                    mode: "realtime",
                }));
            }
        }
        let reopened = store.reset_failed_realtime_rows(id).await?;
        let status = if reopened == 0 {
            JobStatus::Writing
        } else {
            JobStatus::Created
        };
        store.reopen(id, status).await?;
        tracing::info!(job_id = %id, rows = reopened, "realtime retry requested");
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
    for chunk in almanac_openai::jsonl::split_into_batches(spec, &inputs) {
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
        request_counts: request_counts(store, record).await?,
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
        cost: job_cost(store, record).await?,
    })
}

/// `request_counts` of a job: from its batches, or from its rows in realtime mode.
async fn request_counts(
    store: &Store,
    record: &JobRecord,
) -> Result<almanac_protocol::RequestCounts, StoreError> {
    if record.mode() == Mode::Realtime {
        store.realtime_request_counts(&record.id).await
    } else {
        store.request_counts(&record.id).await
    }
}

/// The estimate a job was created with, the usage its responses reported, and what that cost.
///
/// # Errors
/// [`StoreError`] on a database failure.
pub async fn job_cost(store: &Store, record: &JobRecord) -> Result<JobCost, StoreError> {
    let est = store.job_estimate(&record.id).await?;
    let (actual_rows, actual) = store.job_usage(&record.id).await?;
    let mode = record.mode();
    let actual_usd = Catalog::builtin()
        .resolve(&record.model)
        .map(|spec| almanac_core::cost::usage_cost(spec, mode, &actual))
        .unwrap_or(0.0);
    let expected_for_actual = if est.est_rows > 0 {
        est.est_cost_usd * actual_rows as f64 / est.est_rows as f64
    } else {
        0.0
    };
    Ok(JobCost {
        estimated_rows: est.est_rows.max(0) as u64,
        estimated: TokenUsage {
            input_tokens: est.est_input_tokens.max(0) as u64,
            cached_input_tokens: est.est_cached_tokens.max(0) as u64,
            output_tokens: est.est_output_tokens.max(0) as u64,
            reasoning_tokens: 0,
        },
        estimated_usd: est.est_cost_usd,
        actual_rows,
        actual,
        actual_usd,
        estimate_error: (actual_rows > 0 && expected_for_actual > 0.0)
            .then(|| (actual_usd - expected_for_actual) / expected_for_actual),
        max_cost_usd: est.max_cost_usd,
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
        request_counts: request_counts(store, record).await?,
        row_counts: store.row_counts(&record.id).await?,
    })
}
