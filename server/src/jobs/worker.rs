//! The worker: drives every unfinished job one step at a time, like a database-backed job queue.
//!
//! A job is a row in the store; [`Worker::try_execute_step`] reads it, does the one thing its status
//! calls for (upload and create the batch, poll it, collect its results, write the sheet), saves
//! what it learnt, and returns. Because every external id is saved before anything depends on it,
//! the process may die between any two statements and the next step — in this process or after a
//! restart — picks up where it stopped without creating a second batch. Transient failures (network,
//! 429, 5xx) are retried with exponential backoff and jitter (the `backon` crate computes the
//! delays); permanent ones fail the job with a message that says what to do.
//!
//! Limits are waited out, not reported: a batch that OpenAI fails with `token_limit_exceeded`
//! (the organization's enqueued-token limit) is forgotten and created again after a backoff, and a
//! 429 on batch creation is a transient failure like any other. An `expired` batch has its finished
//! lines written and its unfinished rows resubmitted automatically once; a second expiry is
//! reported on the rows. Every log line of a step carries the job id (the step's span) and, where a
//! batch is concerned, the batch id (a nested span).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use almanac_protocol::{JobStatus, RequestCounts, RowState};
use backon::BackoffBuilder;
use chrono::Utc;
use tokio::sync::watch;
use tracing::Instrument;

use super::Services;
use almanac_core::domain::{Generated, RowId, RowInput, SpreadsheetId};
use almanac_openai::{BatchInfo, BatchStatus, OpenAiError};
use almanac_openai::{jsonl, output};
use almanac_sheets::SheetsError;
use almanac_sheets::plan::{WriteProblem, plan_writes};
use almanac_store::cost::UNSENT_PREFIX;
use almanac_store::{BatchRecord, JobRecord, RowRecord, RowResult, StoreError, timestamp};

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
        let (_keep, never) = watch::channel(false);
        self.run_until(never).await;
    }

    /// [`Worker::run`] until `stop` turns true: the step in progress is finished, no new one is
    /// started, and the function returns. Realtime runs (their own tasks) are aborted when it
    /// returns; their answers are stored as they arrive, so nothing is lost.
    pub async fn run_until(self, mut stop: watch::Receiver<bool>) {
        let _runs = super::realtime::AbortRunsOnDrop(self.svc.clone());
        match self.svc.store.due_jobs(&almanac_store::now()).await {
            Ok(ids) if !ids.is_empty() => {
                tracing::info!(jobs = ids.len(), "worker started; resuming unfinished jobs")
            }
            _ => tracing::info!("worker started"),
        }
        loop {
            if *stop.borrow() {
                tracing::info!("worker stopped");
                return;
            }
            match self.svc.store.due_jobs(&almanac_store::now()).await {
                Ok(ids) => {
                    for id in ids {
                        if *stop.borrow() {
                            break;
                        }
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
                _ = stop.changed() => {}
            }
        }
    }

    /// Runs one step of a job and handles its outcome: reschedules with backoff after a transient
    /// failure, fails the job after a permanent one, and publishes the job's progress.
    pub async fn run_step(&self, id: &str) {
        self.run_step_inner(id)
            .instrument(tracing::info_span!("job", job_id = %id))
            .await
    }

    async fn run_step_inner(&self, id: &str) {
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
                    metrics::counter!(crate::metrics::STEP_RETRIES, "reason" => "transient")
                        .increment(1);
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
        self.svc.publish(id).await;
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
            let parts = super::batch_parts(model_spec(&self.svc, job)?, &pending);
            store.create_batches(&job.id, 0, &parts).await?;
            batches = store.batches(&job.id).await?;
        }
        if job.status()? == JobStatus::Created {
            store
                .set_status(&job.id, JobStatus::Submitting, None)
                .await?;
            self.publish(&job.id).await;
        }
        let spec = model_spec(&self.svc, job)?;
        for batch in batches.iter().filter(|b| b.status == "preparing") {
            self.submit_one(job, spec, batch)
                .instrument(tracing::info_span!(
                    "batch",
                    attempt = batch.attempt,
                    part = batch.part
                ))
                .await?;
        }
        store
            .set_status(&job.id, JobStatus::Validating, None)
            .await?;
        Ok(())
    }

    /// Uploads one part's input file (unless saved already) and creates its batch (unless one was
    /// created before a restart, which is adopted).
    async fn submit_one(
        &self,
        job: &JobRecord,
        spec: &'static almanac_core::catalog::ModelSpec,
        batch: &BatchRecord,
    ) -> Result<(), StepError> {
        let store = &self.svc.store;
        {
            if job.cancel_requested {
                return self
                    .leave_unsent(batch, "cancelled before it was sent to OpenAI")
                    .await;
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
                    if let Some(reason) = self.over_cap(job, rows.len()).await? {
                        tracing::warn!(job_id = %job.id, rows = rows.len(), %reason, "batch not submitted: the job's cap would be passed");
                        return self.leave_unsent(batch, &reason).await;
                    }
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
        Ok(())
    }

    /// Settles a batch that was never sent: `cancelled`, and its rows failed with `reason`
    /// (a retry may send them).
    async fn leave_unsent(&self, batch: &BatchRecord, reason: &str) -> Result<(), StepError> {
        let store = &self.svc.store;
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
        store.record_results(batch.id, &[], reason, &[]).await?;
        Ok(())
    }

    /// Whether sending `rows` more requests could pass the job's `max_cost_usd`: what its
    /// responses have cost so far plus this batch's share of the estimate (pro rata by rows). The
    /// first batch never trips it (its estimate passed the cap check at creation); a later part,
    /// an automatic resubmission or a retry of a job whose answers ran longer than predicted can.
    /// Returns the reason to give the rows left unsent, `None` when the batch may go.
    async fn over_cap(&self, job: &JobRecord, rows: usize) -> Result<Option<String>, StepError> {
        let estimate = self.svc.store.job_estimate(&job.id).await?;
        let Some(cap) = estimate.max_cost_usd else {
            return Ok(None);
        };
        let spent = super::job_cost(&self.svc.store, job).await?.actual_usd;
        let share = if estimate.est_rows > 0 {
            estimate.est_cost_usd * rows as f64 / estimate.est_rows as f64
        } else {
            0.0
        };
        Ok((spent + share > cap).then(|| {
            format!(
                "{UNSENT_PREFIX}the job's max_cost_usd of ${cap:.4} would be passed: ${spent:.4} spent so far and about ${share:.4} for this batch's {rows} rows; raise max_cost_usd and retry the job"
            )
        }))
    }

    /// Polls the job's running batches, cancels them if asked, collects the finished ones, and
    /// moves the job to `writing` when all are collected.
    async fn poll(&self, job: &JobRecord) -> Result<(), StepError> {
        let store = &self.svc.store;
        let openai = &self.svc.openai;
        let mut limited = false;
        for batch in store.batches(&job.id).await? {
            let Some(batch_id) = batch.batch_id.clone() else {
                continue;
            };
            if batch.is_terminal() {
                continue;
            }
            let span = tracing::info_span!("batch", batch_id = %batch_id);
            async {
                let mut info = openai.retrieve_batch(&batch_id).await?;
                if job.cancel_requested
                    && !info.status.is_terminal()
                    && info.status != BatchStatus::Cancelling
                {
                    info = openai.cancel_batch(&batch_id).await?;
                }
                if info.status == BatchStatus::Failed
                    && !job.cancel_requested
                    && info
                        .errors
                        .iter()
                        .any(|e| e.contains("token_limit_exceeded"))
                {
                    // The organization's enqueued-token limit: nothing ran and nothing was billed.
                    // Forget this batch and create it again once the queue has drained.
                    tracing::warn!(errors = %info.errors.join("; "), "enqueued-token limit reached; the batch will be created again");
                    store.reset_batch(batch.id).await?;
                    limited = true;
                    return Ok::<(), StepError>(());
                }
                save_batch(store, batch.id, &info).await?;
                Ok(())
            }
            .instrument(span)
            .await?;
        }
        if limited {
            store
                .set_status(&job.id, JobStatus::Submitting, None)
                .await?;
            let wait = self.svc.settings.poll_interval.max(self.retry_delay(0));
            metrics::counter!(crate::metrics::STEP_RETRIES, "reason" => "token_limit").increment(1);
            let at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
            store.schedule(&job.id, &timestamp(at), 0).await?;
            return Ok(());
        }
        let batches = store.batches(&job.id).await?;
        for batch in batches.iter().filter(|b| b.is_terminal() && !b.collected) {
            let span = tracing::info_span!(
                "batch",
                batch_id = %batch.batch_id.as_deref().unwrap_or_default()
            );
            self.collect(batch).instrument(span).await?;
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
                            usage.push((parsed.custom_id.clone(), u.tokens()));
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
        let rows = self.svc.store.batch_rows(batch.id).await?;
        if batch.status == "failed" {
            // Validation errors name input lines (1-based); line n is the batch's n-th row, the
            // order the input file was built in.
            for error in batch.errors.as_deref().unwrap_or("").lines() {
                let line = error
                    .strip_prefix("line ")
                    .and_then(|rest| rest.split(':').next())
                    .and_then(|n| n.trim().parse::<usize>().ok());
                if let Some(row) = line
                    .and_then(|n| n.checked_sub(1))
                    .and_then(|i| rows.get(i))
                {
                    results.push(RowResult {
                        row_id: row.row_id.clone(),
                        outcome: Err(format!(
                            "OpenAI rejected this row's request ({error}); the batch did not run"
                        )),
                    });
                }
            }
        }
        let missing = match batch.status.as_str() {
            "failed" if !results.is_empty() => {
                "OpenAI rejected the batch because of other rows' requests (see them); this row was not run: retry it".into()
            }
            "failed" => format!(
                "OpenAI rejected the batch: {}",
                batch
                    .errors
                    .as_deref()
                    .unwrap_or("no reason given")
                    .replace('\n', "; ")
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
            .record_results(batch.id, &results, &missing, &usage)
            .await?;
        let answered = results.iter().filter(|r| r.outcome.is_ok()).count();
        metrics::counter!(crate::metrics::ROWS_FAILED, "stage" => "openai")
            .increment(rows.len().saturating_sub(answered) as u64);
        tracing::info!(
            batch_id = batch.batch_id.as_deref().unwrap_or_default(),
            results = results.len(),
            "batch results collected"
        );
        Ok(())
    }

    /// Writes every generated row into the sheet in one `values.batchUpdate`, locating rows by id.
    async fn write(&self, job: &JobRecord) -> Result<(), StepError> {
        // A job started by `almanac run` writes its file instead of a sheet; the rest is shared.
        if let Some(target) = self.svc.store.file_target(&job.id).await? {
            super::file_target::write(&self.svc, job, &target).await?;
        } else {
            write_sheet(&self.svc, job).await?;
        }
        let store = &self.svc.store;
        if !job.cancel_requested && self.resubmit_expired(job).await? {
            return Ok(());
        }
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
            (
                "batch_failed",
                format!(
                    "OpenAI rejected the batch without running it: {errors}. Each row says which request line was wrong; fix those rows and retry"
                ),
            )
        });
        store
            .set_status(
                &job.id,
                status,
                error.as_ref().map(|(c, m)| (*c, m.as_str())),
            )
            .await?;
        tracing::info!(job_id = %job.id, status = status.as_str(), "job finished");
        Ok(())
    }
}

impl Worker {
    /// After the finished rows are written: if the latest attempt expired and no attempt expired
    /// before, sends the rows that never ran again as a new attempt (once per job) and reopens the
    /// job. Returns `true` when the job was reopened. Safe to repeat: a new attempt already created
    /// (a crash before the reopen) is only reopened.
    async fn resubmit_expired(&self, job: &JobRecord) -> Result<bool, StepError> {
        let store = &self.svc.store;
        let batches = store.batches(&job.id).await?;
        let Some(latest) = batches.iter().map(|b| b.attempt).max() else {
            return Ok(false);
        };
        if batches
            .iter()
            .any(|b| b.attempt == latest && b.status == "preparing")
        {
            store.reopen(&job.id, JobStatus::Created).await?;
            return Ok(true);
        }
        let mut expired_attempts: Vec<i64> = batches
            .iter()
            .filter(|b| b.status == "expired")
            .map(|b| b.attempt)
            .collect();
        expired_attempts.dedup();
        if !latest_attempt_expired(&batches) || expired_attempts.len() != 1 {
            return Ok(false);
        }
        let expired: Vec<i64> = batches
            .iter()
            .filter(|b| b.attempt == latest && b.status == "expired")
            .map(|b| b.id)
            .collect();
        let resend: Vec<(i64, RowInput)> = store
            .rows(&job.id)
            .await?
            .into_iter()
            .filter(|r| r.state == RowState::Failed.as_str())
            .filter(|r| r.batch.is_some_and(|b| expired.contains(&b)))
            .filter(|r| {
                r.reason
                    .as_deref()
                    .is_some_and(|why| why.contains("batch_expired"))
            })
            .filter_map(|r| Some((r.seq, r.input()?)))
            .collect();
        if resend.is_empty() {
            return Ok(false);
        }
        store
            .create_batches(
                &job.id,
                latest + 1,
                &super::batch_parts(model_spec(&self.svc, job)?, &resend),
            )
            .await?;
        store.reopen(&job.id, JobStatus::Created).await?;
        tracing::info!(
            rows = resend.len(),
            attempt = latest + 1,
            "the batch expired: its unfinished rows are sent again (once)"
        );
        Ok(true)
    }
}

/// The job's model, from the catalogue.
///
/// # Errors
/// [`StepError::Permanent`] (`unknown_model`) when the catalogue no longer has it.
pub(super) fn model_spec(
    svc: &Services,
    job: &JobRecord,
) -> Result<&'static almanac_core::catalog::ModelSpec, StepError> {
    svc.catalog
        .resolve(&job.model)
        .map_err(|e| StepError::Permanent {
            code: "unknown_model",
            message: e.to_string(),
        })
}

/// Writes every answered (`generated`) row of a sheet job in one `values.batchUpdate` (split only
/// above the request size limit), locating rows by id in the sheet as it is now, and settles each
/// row: `done` when written (or when its cells already hold this answer — a write applied before a
/// crash), `skipped` when a person filled the cells, `failed` with the reason when its id is gone
/// or duplicated. Used by the batch worker's `writing` step and by realtime runs' grouped writes.
/// Returns the rows settled (0 when nothing was answered).
///
/// # Errors
/// [`StepError`] from Sheets or the store; the answers stay stored, so a retry writes them.
pub(super) async fn write_sheet(svc: &Services, job: &JobRecord) -> Result<usize, StepError> {
    let store = &svc.store;
    let generated = store.generated_rows(&job.id).await?;
    if generated.is_empty() {
        return Ok(0);
    }
    let spreadsheet =
        SpreadsheetId::parse(&job.spreadsheet_id).map_err(|e| StepError::Permanent {
            code: "invalid_spreadsheet",
            message: e.to_string(),
        })?;
    let sheets = &svc.sheets;
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
    let written = updates
        .iter()
        .filter(|(_, state, _)| *state == RowState::Done)
        .count();
    let failed = updates
        .iter()
        .filter(|(_, state, _)| *state == RowState::Failed)
        .count();
    metrics::counter!(crate::metrics::ROWS_WRITTEN).increment(written as u64);
    metrics::counter!(crate::metrics::ROWS_FAILED, "stage" => "sheet").increment(failed as u64);
    Ok(updates.len())
}

/// True when the sheet row with this id already holds our answer `g`: every filled cell of C–F
/// was filled, and at least one of the text columns D–F holds exactly our text (a person does not
/// type the model's paragraph word for word). Covers a write that Google applied but the server
/// never heard back about — including one that filled only the cells a person had left empty.
fn row_holds(current: &[almanac_sheets::SheetRow], id: &RowId, g: &Generated) -> bool {
    current.iter().any(|row| {
        let cell = |i: usize| row.cells.get(2 + i).map(String::as_str).unwrap_or("");
        let columns = g.columns();
        row.cells.first().map(|c| c.trim()) == Some(id.as_str())
            && (0..columns.len()).all(|i| !cell(i).trim().is_empty())
            && (1..columns.len()).any(|i| !columns[i].is_empty() && cell(i) == columns[i])
    })
}

async fn save_batch(
    store: &almanac_store::Store,
    local: i64,
    info: &BatchInfo,
) -> Result<(), StoreError> {
    // One error per line, so that `collect` can give each row the error of its input line.
    let errors = (!info.errors.is_empty()).then(|| info.errors.join("\n"));
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

/// When every batch of the job's latest attempt was rejected in validation (`failed`): their
/// errors, joined for people.
fn latest_attempt_rejected(batches: &[BatchRecord]) -> Option<String> {
    let latest = batches.iter().map(|b| b.attempt).max()?;
    let last: Vec<&BatchRecord> = batches.iter().filter(|b| b.attempt == latest).collect();
    last.iter().all(|b| b.status == "failed").then(|| {
        last.iter()
            .filter_map(|b| b.errors.as_deref())
            .flat_map(str::lines)
            .collect::<Vec<_>>()
            .join("; ")
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use almanac_sheets::SheetRow;

    fn generated() -> Generated {
        Generated {
            year: "1969".into(),
            simple: "A person walked on the Moon.".into(),
            detail: "Apollo 11 landed on the Moon in July 1969.".into(),
            related_movies: "First Man".into(),
        }
    }

    fn row(cells: &[&str]) -> Vec<SheetRow> {
        vec![SheetRow {
            row_number: 5,
            cells: cells.iter().map(|c| c.to_string()).collect(),
        }]
    }

    #[test]
    fn our_own_write_is_recognised_even_around_a_persons_cell_but_a_persons_row_is_not() {
        let id = RowId::parse("07-20").unwrap();
        let g = generated();
        let ours = row(&[
            "07-20",
            "Moon",
            "1969",
            &g.simple,
            &g.detail,
            &g.related_movies,
        ]);
        assert!(row_holds(&ours, &id, &g));
        let around_person = row(&[
            "07-20",
            "Moon",
            "1969",
            "typed",
            &g.detail,
            &g.related_movies,
        ]);
        assert!(row_holds(&around_person, &id, &g));
        let person = row(&["07-20", "Moon", "1969", "a", "b", "c"]);
        assert!(!row_holds(&person, &id, &g));
        let partial = row(&["07-20", "Moon", "", &g.simple, &g.detail, &g.related_movies]);
        assert!(
            !row_holds(&partial, &id, &g),
            "an empty cell means not written"
        );
        let other_id = row(&[
            "07-21",
            "Moon",
            "1969",
            &g.simple,
            &g.detail,
            &g.related_movies,
        ]);
        assert!(!row_holds(&other_id, &id, &g));
    }
}
