//! The worker: drives every unfinished job one step at a time, like a database-backed job queue.
//!
//! A job is a row in the store; [`Worker::try_execute_step`] reads it, does the one thing its status
//! calls for (upload and create the batch, poll it, collect its results, write the sheet), saves
//! what it learnt, and returns. Because every external id is saved before anything depends on it,
//! the process may die between any two statements and the next step — in this process or after a
//! restart — picks up where it stopped without creating a second batch. Transient failures (network,
//! 429, 5xx) are retried with exponential backoff and jitter (the `backon` crate computes the
//! delays); permanent ones fail the job with a message that says what to do.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use almanac_protocol::{JobStatus, RequestCounts, RowState};
use backon::BackoffBuilder;
use chrono::Utc;

use super::{Services, job_event};
use crate::domain::{Generated, RowId, RowInput, SpreadsheetId};
use crate::openai::client::{BatchInfo, BatchStatus, OpenAiError};
use crate::openai::{jsonl, output};
use crate::sheets::SheetsError;
use crate::sheets::plan::{WriteProblem, plan_writes};
use crate::store::{BatchRecord, JobRecord, RowRecord, RowResult, StoreError, timestamp};

/// Why a step did not finish.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Worth retrying later (network, 429, 5xx).
    #[error("{0}")]
    Transient(String),
    /// Retrying will not help; the job fails with this code and message.
    #[error("{message}")]
    Permanent {
        /// A stable snake_case code.
        code: &'static str,
        /// What happened and what to do.
        message: String,
    },
    /// The database failed (retried like a transient failure).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<OpenAiError> for StepError {
    fn from(e: OpenAiError) -> Self {
        if e.is_transient() {
            StepError::Transient(format!("OpenAI: {e}"))
        } else {
            StepError::Permanent {
                code: "openai_error",
                message: format!("OpenAI refused the request: {e}"),
            }
        }
    }
}

impl From<SheetsError> for StepError {
    fn from(e: SheetsError) -> Self {
        if e.is_transient() {
            StepError::Transient(format!("Google Sheets: {e}"))
        } else {
            StepError::Permanent {
                code: "sheets_error",
                message: format!(
                    "Google Sheets refused the request: {e}. The generated content is kept; retry the job once the sheet is reachable"
                ),
            }
        }
    }
}

/// Drives jobs. Cheap to clone.
#[derive(Clone)]
pub struct Worker {
    svc: Arc<Services>,
}

impl Worker {
    /// A worker over the shared services.
    pub fn new(svc: Arc<Services>) -> Worker {
        Worker { svc }
    }

    /// Runs forever: steps every due job, then sleeps until the next one is due or a job is
    /// created or cancelled. Unfinished jobs found at start are resumed. Abort the task to stop it;
    /// that is safe at any point.
    pub async fn run(self) {
        // Realtime runs stop with the worker (issue 6).
        let _runs = super::realtime::AbortRunsOnDrop(self.svc.clone());
        match self.svc.store.due_jobs(&crate::store::now()).await {
            Ok(ids) if !ids.is_empty() => {
                tracing::info!(jobs = ids.len(), "worker started; resuming unfinished jobs")
            }
            _ => tracing::info!("worker started"),
        }
        loop {
            match self.svc.store.due_jobs(&crate::store::now()).await {
                Ok(ids) => {
                    for id in ids {
                        self.run_step(&id).await;
                    }
                }
                Err(e) => tracing::error!(error = %e, "cannot list due jobs"),
            }
            let sleep = match self.svc.store.next_due().await {
                Ok(Some(at)) => chrono::DateTime::parse_from_rfc3339(&at)
                    .map(|t| {
                        (t.with_timezone(&Utc) - Utc::now())
                            .to_std()
                            .unwrap_or_default()
                    })
                    .unwrap_or(Duration::from_secs(1)),
                Ok(None) => Duration::from_secs(60),
                Err(_) => Duration::from_secs(5),
            }
            .min(Duration::from_secs(60));
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = self.svc.wake.notified() => {}
            }
        }
    }

    /// Runs one step of a job and handles its outcome: reschedules with backoff after a transient
    /// failure, fails the job after a permanent one, and publishes the job's progress.
    pub async fn run_step(&self, id: &str) {
        let outcome = self.try_execute_step(id).await;
        if let Err(err) = outcome {
            let store = &self.svc.store;
            match err {
                StepError::Permanent { code, message } => {
                    tracing::warn!(job_id = %id, code, %message, "job failed");
                    if let Err(e) = store
                        .set_status(id, JobStatus::Failed, Some((code, &message)))
                        .await
                    {
                        tracing::error!(job_id = %id, error = %e, "cannot save the job's failure");
                    }
                }
                StepError::Transient(_) | StepError::Store(_) => {
                    let attempts = match store.job(id).await {
                        Ok(Some(job)) => job.attempts,
                        _ => 0,
                    };
                    let delay = self.retry_delay(attempts);
                    tracing::warn!(job_id = %id, attempt = attempts + 1, delay_ms = delay.as_millis() as u64, error = %err, "step failed; will retry");
                    let at = timestamp(
                        Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default(),
                    );
                    if let Err(e) = store.schedule(id, &at, attempts + 1).await {
                        tracing::error!(job_id = %id, error = %e, "cannot reschedule the job");
                    }
                }
            }
        }
        self.publish(id).await;
    }

    /// The delay before try number `attempts + 1`: exponential from `retry_min_delay`, capped at
    /// `retry_max_delay`, with jitter.
    fn retry_delay(&self, attempts: i64) -> Duration {
        let s = &self.svc.settings;
        backon::ExponentialBuilder::default()
            .with_min_delay(s.retry_min_delay)
            .with_max_delay(s.retry_max_delay)
            .with_jitter()
            .without_max_times()
            .build()
            .nth(attempts.clamp(0, 64) as usize)
            .unwrap_or(s.retry_max_delay)
    }

    async fn publish(&self, id: &str) {
        if let Ok(Some(record)) = self.svc.store.job(id).await
            && let Ok(event) = job_event(&self.svc.store, &record).await
        {
            // No subscriber is fine.
            let _ = self.svc.events.send(event);
        }
    }

    /// Does the one thing the job's status calls for and saves the result.
    ///
    /// # Errors
    /// [`StepError`]: transient ones are retried by [`Worker::run_step`], permanent ones fail the job.
    pub async fn try_execute_step(&self, id: &str) -> Result<(), StepError> {
        let Some(job) = self.svc.store.job(id).await? else {
            return Ok(());
        };
        if job.mode() == almanac_protocol::Mode::Realtime
            && !job.status()?.is_terminal()
            && job.status()? != JobStatus::Writing
        {
            return super::realtime::step(&self.svc, &job).await;
        }
        match job.status()? {
            JobStatus::Created | JobStatus::Submitting => self.submit(&job).await,
            JobStatus::Validating
            | JobStatus::InProgress
            | JobStatus::Finalizing
            | JobStatus::Cancelling => self.poll(&job).await,
            JobStatus::Writing => self.write(&job).await,
            JobStatus::Completed
            | JobStatus::Failed
            | JobStatus::Cancelled
            | JobStatus::Expired => Ok(()),
        }
    }

    /// The job's model, from the catalogue.
    fn spec(&self, job: &JobRecord) -> Result<&'static crate::pricing::ModelSpec, StepError> {
        self.svc
            .catalog
            .resolve(&job.model)
            .map_err(|e| StepError::Permanent {
                code: "unknown_model",
                message: e.to_string(),
            })
    }

    /// Uploads the input file and creates the batch of every part that has none yet.
    async fn submit(&self, job: &JobRecord) -> Result<(), StepError> {
        let store = &self.svc.store;
        let mut batches = store.batches(&job.id).await?;
        if batches.is_empty() {
            let pending: Vec<(i64, RowInput)> = store
                .rows(&job.id)
                .await?
                .into_iter()
                .filter(|r| r.state == RowState::Pending.as_str())
                .filter_map(|r| Some((r.seq, r.input()?)))
                .collect();
            let parts = super::batch_parts(self.spec(job)?, &pending);
            store.create_batches(&job.id, 0, &parts).await?;
            batches = store.batches(&job.id).await?;
        }
        if job.status()? == JobStatus::Created {
            store
                .set_status(&job.id, JobStatus::Submitting, None)
                .await?;
            self.publish(&job.id).await;
        }
        let spec = self
            .svc
            .catalog
            .resolve(&job.model)
            .map_err(|e| StepError::Permanent {
                code: "unknown_model",
                message: e.to_string(),
            })?;
        for batch in batches.iter().filter(|b| b.status == "preparing") {
            if job.cancel_requested {
                store
                    .update_batch(
                        batch.id,
                        "cancelled",
                        RequestCounts::default(),
                        None,
                        None,
                        None,
                    )
                    .await?;
                store
                    .record_results(batch.id, &[], "cancelled before it was sent to OpenAI")
                    .await?;
                continue;
            }
            let input_file_id = match &batch.input_file_id {
                Some(id) => id.clone(),
                None => {
                    let rows: Vec<RowInput> = store
                        .batch_rows(batch.id)
                        .await?
                        .iter()
                        .filter_map(RowRecord::input)
                        .collect();
                    let body =
                        jsonl::build_jsonl(spec, &rows).map_err(|e| StepError::Permanent {
                            code: "invalid_input",
                            message: format!("cannot build the batch input file: {e}"),
                        })?;
                    let name = format!("almanac-{}-{}-{}.jsonl", job.id, batch.attempt, batch.part);
                    let file_id = self.svc.openai.upload_jsonl(&name, body).await?;
                    store.set_input_file(batch.id, &file_id).await?;
                    tracing::info!(job_id = %job.id, file_id = %file_id, rows = rows.len(), "input file uploaded");
                    file_id
                }
            };
            // A crash between create and saving its id leaves a batch we must adopt, not duplicate.
            let info = match self
                .svc
                .openai
                .find_batch_for_job(&job.id, &input_file_id)
                .await?
            {
                Some(found) => {
                    tracing::info!(job_id = %job.id, batch_id = %found.id, "adopting a batch created before a restart");
                    found
                }
                None => {
                    self.svc
                        .openai
                        .create_batch(&input_file_id, &job.id)
                        .await?
                }
            };
            store
                .set_batch_id(batch.id, &info.id, info.status.as_str())
                .await?;
            tracing::info!(job_id = %job.id, batch_id = %info.id, "batch created");
        }
        store
            .set_status(&job.id, JobStatus::Validating, None)
            .await?;
        Ok(())
    }

    /// Polls the job's running batches, cancels them if asked, collects the finished ones, and
    /// moves the job to `writing` when all are collected.
    async fn poll(&self, job: &JobRecord) -> Result<(), StepError> {
        let store = &self.svc.store;
        let openai = &self.svc.openai;
        for batch in store.batches(&job.id).await? {
            let Some(batch_id) = batch.batch_id.clone() else {
                continue;
            };
            if batch.is_terminal() {
                continue;
            }
            let mut info = openai.retrieve_batch(&batch_id).await?;
            if job.cancel_requested
                && !info.status.is_terminal()
                && info.status != BatchStatus::Cancelling
            {
                info = openai.cancel_batch(&batch_id).await?;
            }
            save_batch(store, batch.id, &info).await?;
        }
        let batches = store.batches(&job.id).await?;
        for batch in batches.iter().filter(|b| b.is_terminal() && !b.collected) {
            self.collect(batch).await?;
        }
        let status = if batches.iter().all(BatchRecord::is_terminal) {
            JobStatus::Writing
        } else if job.cancel_requested {
            JobStatus::Cancelling
        } else {
            aggregate(&batches)
        };
        if status != job.status()? {
            store.set_status(&job.id, status, None).await?;
        }
        if status != JobStatus::Writing {
            let at = Utc::now()
                + chrono::Duration::from_std(self.svc.settings.poll_interval).unwrap_or_default();
            store.schedule(&job.id, &timestamp(at), 0).await?;
        }
        Ok(())
    }

    /// Downloads and parses a finished batch's output and error files into its rows.
    async fn collect(&self, batch: &BatchRecord) -> Result<(), StepError> {
        let mut results = Vec::new();
        let mut usage = Vec::new();
        for file_id in [&batch.output_file_id, &batch.error_file_id]
            .into_iter()
            .flatten()
        {
            let bytes = self.svc.openai.file_content(file_id).await?;
            for line in output::parse_file(&bytes) {
                match line {
                    Ok(parsed) => {
                        if let Some(u) = parsed.usage {
                            usage.push((parsed.custom_id.clone(), u));
                        }
                        results.push(RowResult {
                            row_id: parsed.custom_id,
                            outcome: parsed.outcome.map_err(|e| e.message),
                        })
                    }
                    Err(e) => {
                        tracing::warn!(batch_id = batch.batch_id.as_deref().unwrap_or_default(), error = %e, "unreadable line in a batch result file")
                    }
                }
            }
        }
        let missing = match batch.status.as_str() {
            "failed" => format!(
                "OpenAI rejected the batch: {}",
                batch.errors.as_deref().unwrap_or("no reason given")
            ),
            "expired" => {
                "the batch expired before this row was processed (batch_expired): retry the row"
                    .into()
            }
            "cancelled" => "cancelled before this row was processed".into(),
            _ => "OpenAI returned no result for this row: retry the row".into(),
        };
        self.svc
            .store
            .record_results(batch.id, &results, &missing)
            .await?;
        // Actual tokens billed, for the job's cost (issue 6).
        self.svc.store.add_usage(&batch.job_id, &usage).await?;
        tracing::info!(
            batch_id = batch.batch_id.as_deref().unwrap_or_default(),
            results = results.len(),
            "batch results collected"
        );
        Ok(())
    }

    /// Writes every generated row into the sheet in one `values.batchUpdate`, locating rows by id.
    async fn write(&self, job: &JobRecord) -> Result<(), StepError> {
        let store = &self.svc.store;
        let rows = store.rows(&job.id).await?;
        let generated: Vec<(i64, RowId, Generated)> = rows
            .iter()
            .filter(|r| r.state == RowState::Generated.as_str())
            .filter_map(|r| Some((r.seq, RowId::parse(&r.row_id).ok()?, r.generated()?)))
            .collect();
        if !generated.is_empty() {
            let spreadsheet =
                SpreadsheetId::parse(&job.spreadsheet_id).map_err(|e| StepError::Permanent {
                    code: "invalid_spreadsheet",
                    message: e.to_string(),
                })?;
            let sheets = &self.svc.sheets;
            let title = sheets
                .sheet_title(&spreadsheet, job.sheet_id as i32)
                .await?;
            if title != job.sheet_title {
                store.set_sheet_title(&job.id, &title).await?;
            }
            let current = sheets.read_ids_and_outputs(&spreadsheet, &title).await?;
            let results: Vec<(RowId, Generated)> = generated
                .iter()
                .map(|(_, id, g)| (id.clone(), g.clone()))
                .collect();
            let plan = plan_writes(&title, &current, &results, job.overwrite);
            if !plan.blocks.is_empty() {
                let report = sheets.write_blocks(&spreadsheet, &plan.blocks).await?;
                tracing::info!(job_id = %job.id, cells = report.updated_cells, calls = report.calls, "sheet written");
            }
            let seq_of: HashMap<&str, i64> = generated
                .iter()
                .map(|(seq, id, _)| (id.as_str(), *seq))
                .collect();
            let mut updates = Vec::new();
            for planned in &plan.rows {
                if let Some(seq) = seq_of.get(planned.id.as_str()) {
                    updates.push((*seq, RowState::Done, None));
                }
            }
            for (id, problem) in &plan.problems {
                let Some(seq) = seq_of.get(id.as_str()) else {
                    continue;
                };
                let update = match problem {
                    WriteProblem::NothingToWrite => {
                        // Written before a restart (the cells hold our answer), or a person filled them.
                        let ours = generated
                            .iter()
                            .find(|(s, _, _)| s == seq)
                            .map(|(_, _, g)| g);
                        if ours.is_some_and(|g| row_holds(&current, id, g)) {
                            (*seq, RowState::Done, None)
                        } else {
                            (*seq, RowState::Skipped, Some(problem.to_string()))
                        }
                    }
                    _ => (*seq, RowState::Failed, Some(problem.to_string())),
                };
                updates.push(update);
            }
            store.set_row_states(&job.id, &updates).await?;
        }
        let batches = store.batches(&job.id).await?;
        let status = if job.cancel_requested {
            JobStatus::Cancelled
        } else if latest_attempt_expired(&batches) {
            JobStatus::Expired
        } else {
            JobStatus::Completed
        };
        store.set_status(&job.id, status, None).await?;
        tracing::info!(job_id = %job.id, status = status.as_str(), "job finished");
        Ok(())
    }
}

/// True when the sheet row with this id holds exactly `g` in C–F.
fn row_holds(current: &[crate::sheets::SheetRow], id: &RowId, g: &Generated) -> bool {
    current.iter().any(|row| {
        row.cells.first().map(|c| c.trim()) == Some(id.as_str())
            && g.columns()
                .iter()
                .enumerate()
                .all(|(i, v)| row.cells.get(2 + i).map(String::as_str).unwrap_or("") == *v)
    })
}

async fn save_batch(
    store: &crate::store::Store,
    local: i64,
    info: &BatchInfo,
) -> Result<(), StoreError> {
    let errors = (!info.errors.is_empty()).then(|| info.errors.join("; "));
    store
        .update_batch(
            local,
            info.status.as_str(),
            info.request_counts,
            info.output_file_id.as_deref(),
            info.error_file_id.as_deref(),
            errors.as_deref(),
        )
        .await
}

/// True when a batch of the job's latest attempt expired (an earlier expiry that a retry made
/// good does not count).
fn latest_attempt_expired(batches: &[BatchRecord]) -> bool {
    let latest = batches.iter().map(|b| b.attempt).max();
    batches
        .iter()
        .any(|b| Some(b.attempt) == latest && b.status == "expired")
}

/// The job status shown while batches run: the least advanced of the running batches.
fn aggregate(batches: &[BatchRecord]) -> JobStatus {
    let running: Vec<&str> = batches
        .iter()
        .filter(|b| !b.is_terminal())
        .map(|b| b.status.as_str())
        .collect();
    if running
        .iter()
        .any(|s| *s == "validating" || *s == "preparing")
    {
        JobStatus::Validating
    } else if running.contains(&"in_progress") {
        JobStatus::InProgress
    } else if running.contains(&"cancelling") {
        JobStatus::Cancelling
    } else {
        JobStatus::Finalizing
    }
}
