//! [`JobService`]: every operation on jobs that the HTTP API and the command line offer, with an
//! already-authenticated owner (so authentication can change without touching this layer). Every
//! job query is scoped by owner; another owner's job is answered exactly like a missing one.

use almanac_core::ids::JobId;
use std::sync::Arc;

use almanac_core::domain::{RowId, RowInput, SpreadsheetId};
use almanac_core::state::JobStatus;
use almanac_protocol::{
    AccessChallenge, AccessProof, Budget, CreateJobRequest, Estimate, EstimateRequest, Job,
    JobEvent, JobOptions, JobRow, ModelList,
};
use almanac_store::{Destination, JobRecord, StoreError};
use secrecy::SecretString;
use tokio::sync::broadcast;

use crate::jobs::creation::create::{self, NewFileJob};
use crate::jobs::creation::selection::MAX_TITLE_CHARS;
use crate::jobs::creation::{estimate, retry};
use crate::jobs::errors::{CreateJobError, InvalidRequest, JobError};
use crate::jobs::queue::followed::FollowGuard;
use crate::jobs::services::Services;
use crate::jobs::view::{job_event, job_row, job_view};
use crate::spreadsheet::read::MAX_ROWS_PER_JOB;
use crate::spreadsheet::{access, budget};

/// Operations on jobs, for the HTTP API and the command line. Cheap to clone.
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

    /// The catalogue with prices (`GET /models`).
    pub fn models(&self) -> ModelList {
        self.svc.catalog.model_list()
    }

    /// The progress events of every job (the event stream filters by job id).
    pub fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.svc.events.subscribe()
    }

    /// Follows a job's progress on this replica until the guard is dropped (an open event
    /// stream), so that other replicas' progress is read for it.
    pub(crate) fn follow(&self, id: &JobId) -> FollowGuard {
        self.svc.followed.follow(id)
    }

    /// What generating these rows would cost, in batch and realtime mode (`POST /estimate`).
    ///
    /// # Errors
    /// [`CreateJobError::Invalid`] for too many rows, an invalid id or a too-long title (naming
    /// the row), [`CreateJobError::UnknownModel`], [`CreateJobError::Store`].
    pub async fn estimate(&self, req: EstimateRequest) -> Result<Estimate, CreateJobError> {
        let spec = self.svc.catalog.resolve_current(&req.model)?;
        if req.rows.len() as u64 > MAX_ROWS_PER_JOB {
            return Err(InvalidRequest::TooManyEstimateRows {
                rows: req.rows.len(),
                max: MAX_ROWS_PER_JOB,
            }
            .into());
        }
        let mut rows = Vec::with_capacity(req.rows.len());
        for (i, row) in req.rows.into_iter().enumerate() {
            let id = RowId::parse(&row.id)
                .map_err(|error| InvalidRequest::EstimateRowId { index: i, error })?;
            if row.title.chars().count() > MAX_TITLE_CHARS {
                return Err(InvalidRequest::EstimateTitleTooLong {
                    index: i,
                    max: MAX_TITLE_CHARS,
                }
                .into());
            }
            rows.push(RowInput {
                id,
                title: row.title,
            });
        }
        Ok(estimate::estimate(&self.svc.store, spec, rows).await?)
    }

    /// Creates a sheet job (see `jobs::creation::create::create`) and returns it without its rows (read
    /// them with [`JobService::row_page`]).
    ///
    /// # Errors
    /// See [`CreateJobError`].
    pub async fn create(
        &self,
        owner: &str,
        access_proof: Option<&SecretString>,
        req: CreateJobRequest,
    ) -> Result<Job, CreateJobError> {
        self.create_with(owner, access_proof, req, JobOptions::default())
            .await
    }

    /// [`JobService::create`] with a spending cap and an accepted wait; the job comes back
    /// without its rows.
    ///
    /// # Errors
    /// See [`CreateJobError`]; [`CreateJobError::OverBudget`] carries the figures.
    pub async fn create_with(
        &self,
        owner: &str,
        access_proof: Option<&SecretString>,
        req: CreateJobRequest,
        options: JobOptions,
    ) -> Result<Job, CreateJobError> {
        let id = create::create(&self.svc, owner, access_proof, req, options).await?;
        self.head(owner, &id).await.map_err(|e| match e {
            JobError::Store(s) => CreateJobError::Store(s),
            other => CreateJobError::NotReadBack(other),
        })
    }

    /// Creates a file job for the command line and returns its record.
    ///
    /// # Errors
    /// [`CreateJobError::Store`] on a database failure.
    pub async fn create_file_job(&self, new: NewFileJob) -> Result<JobRecord, CreateJobError> {
        let id = create::create_file_job(&self.svc, new).await?;
        self.svc
            .store
            .job(&id)
            .await?
            .ok_or_else(|| CreateJobError::Store(StoreError::Corrupt(format!("job {id} vanished"))))
    }

    /// One job without its rows (`rows` empty), if `owner` owns it: what a caller sends before
    /// the rows, which it reads with [`JobService::row_page`] a page at a time.
    ///
    /// # Errors
    /// [`JobError::NotFound`] when there is no such job or another owner has it.
    pub async fn head(&self, owner: &str, id: &JobId) -> Result<Job, JobError> {
        let record = self.owned(owner, id).await?;
        Ok(job_view(&self.svc.store, &record).await?)
    }

    /// One page of a job's rows in selection order, with the cursor of the next page: at most
    /// `limit` rows after `after` (`None`: from the first), and `None` as the cursor once a page
    /// is the last (`almanac_store::rows::Page`). The caller has checked the job's owner ([`JobService::head`]).
    ///
    /// # Errors
    /// [`JobError::Store`] on a database failure.
    pub async fn row_page(
        &self,
        id: &JobId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<(Vec<JobRow>, Option<i64>), JobError> {
        let (records, next) = self.svc.store.rows_page(id, after, limit).await?;
        Ok((records.into_iter().map(job_row).collect(), next))
    }

    /// The current progress of a job, as sent on its event stream.
    ///
    /// # Errors
    /// [`JobError::NotFound`] when there is no such job or another owner has it.
    pub async fn event(&self, owner: &str, id: &JobId) -> Result<JobEvent, JobError> {
        let record = self.owned(owner, id).await?;
        Ok(job_event(&self.svc.store, &record).await?)
    }

    /// The jobs of `owner` on one spreadsheet, newest first (at most 50), without rows.
    ///
    /// # Errors
    /// [`JobError::Store`] on a database failure.
    pub async fn list(&self, owner: &str, spreadsheet_id: &str) -> Result<Vec<Job>, JobError> {
        let store = &self.svc.store;
        let mut out = Vec::new();
        for record in store
            .jobs_for_spreadsheet(owner, spreadsheet_id, 50)
            .await?
        {
            out.push(job_view(store, &record).await?);
        }
        Ok(out)
    }

    /// Asks a running job to stop: its batches are cancelled and what finished before is written.
    /// Returns the job without its rows ([`JobService::row_page`] reads them). A sheet job's
    /// caller must still prove they can edit its spreadsheet (`access_proof`, as for creation):
    /// the service account writes what finished.
    ///
    /// # Errors
    /// [`JobError::NotFound`], [`JobError::Spreadsheet`] when the proof does not hold, or
    /// [`JobError::Finished`] when the job has ended.
    pub async fn cancel(
        &self,
        owner: &str,
        id: &JobId,
        access_proof: Option<&SecretString>,
    ) -> Result<Job, JobError> {
        let record = self.owned(owner, id).await?;
        self.check_job_access(&record, access_proof)?;
        if !self.svc.store.request_cancel(id).await? {
            return Err(JobError::Finished(id.clone()));
        }
        tracing::info!(job_id = %id, "cancel requested");
        self.svc.wake_for(id).await;
        self.head(owner, id).await
    }

    /// Retries a finished job's failed rows (see `jobs::creation::retry`). Returns the job without its rows
    /// ([`JobService::row_page`] reads them). A sheet job's caller must still prove they can edit
    /// its spreadsheet (`access_proof`, as for creation).
    ///
    /// # Errors
    /// [`JobError::NotFound`], [`JobError::Spreadsheet`] when the proof does not hold,
    /// [`JobError::Running`] while the job runs, [`JobError::NothingToRetry`], or
    /// [`JobError::OverBudget`].
    pub async fn retry(
        &self,
        owner: &str,
        id: &JobId,
        access_proof: Option<&SecretString>,
    ) -> Result<Job, JobError> {
        let record = self.owned(owner, id).await?;
        self.check_job_access(&record, access_proof)?;
        retry::retry(&self.svc, &record).await?;
        self.head(owner, id).await
    }

    /// A fresh access challenge for `owner` on a spreadsheet (see `spreadsheet::access`).
    ///
    /// # Errors
    /// [`CreateJobError::Invalid`] for a malformed spreadsheet id.
    pub fn access_challenge(
        &self,
        owner: &str,
        spreadsheet_id: &str,
    ) -> Result<AccessChallenge, CreateJobError> {
        Ok(access::challenge(
            &self.svc.spreadsheets(),
            owner,
            spreadsheet_id,
        )?)
    }

    /// Takes a written challenge back and hands out an access proof (see `spreadsheet::access`).
    ///
    /// # Errors
    /// See [`access::prove`] (its [`SpreadsheetError`](crate::spreadsheet::SpreadsheetError) as a
    /// [`CreateJobError`]).
    pub async fn prove_access(
        &self,
        owner: &str,
        spreadsheet_id: &str,
        nonce: &str,
    ) -> Result<AccessProof, CreateJobError> {
        Ok(access::prove(&self.svc.spreadsheets(), owner, spreadsheet_id, nonce).await?)
    }

    /// Checks `owner`'s access proof for a spreadsheet (`None` only in insecure development).
    fn check_access(
        &self,
        owner: &str,
        spreadsheet_id: &str,
        access_proof: Option<&SecretString>,
    ) -> Result<(), CreateJobError> {
        let id = SpreadsheetId::parse(spreadsheet_id).map_err(InvalidRequest::SpreadsheetId)?;
        Ok(access::check(
            &self.svc.spreadsheets(),
            owner,
            &id,
            access_proof,
        )?)
    }

    /// A spreadsheet's monthly budget and this month's commitments, for a caller who proved they
    /// can edit it.
    ///
    /// # Errors
    /// [`CreateJobError::AccessNotProven`]; [`CreateJobError::Store`].
    pub async fn budget(
        &self,
        owner: &str,
        spreadsheet_id: &str,
        access_proof: Option<&SecretString>,
    ) -> Result<Budget, CreateJobError> {
        self.check_access(owner, spreadsheet_id, access_proof)?;
        Ok(budget::budget(&self.svc.spreadsheets(), spreadsheet_id).await?)
    }

    /// Sets (or with `None` removes) a spreadsheet's monthly budget, for a caller who proved they
    /// can edit it, within the operator's default budget unless the operator allows more
    /// (`spreadsheet::budget::check_new_budget`).
    ///
    /// # Errors
    /// As [`JobService::budget`]; [`CreateJobError::BudgetAboveDefault`].
    pub async fn set_budget(
        &self,
        owner: &str,
        spreadsheet_id: &str,
        access_proof: Option<&SecretString>,
        monthly_usd: Option<f64>,
    ) -> Result<Budget, CreateJobError> {
        self.check_access(owner, spreadsheet_id, access_proof)?;
        budget::check_new_budget(&self.svc.spreadsheets(), monthly_usd)?;
        self.svc
            .store
            .set_budget(spreadsheet_id, monthly_usd)
            .await?;
        Ok(budget::budget(&self.svc.spreadsheets(), spreadsheet_id).await?)
    }

    /// How many jobs are in each status (every job of every owner), for `/metrics`.
    ///
    /// # Errors
    /// [`StoreError`] on a database failure.
    pub async fn counts_by_status(&self) -> Result<Vec<(JobStatus, u64)>, StoreError> {
        let counts = self.svc.store.jobs_by_status().await?;
        Ok(counts
            .into_iter()
            .map(|(s, n)| (s, n.max(0) as u64))
            .collect())
    }

    /// Checks the caller's access proof for a sheet job's spreadsheet (a file job has none).
    fn check_job_access(
        &self,
        record: &JobRecord,
        access_proof: Option<&SecretString>,
    ) -> Result<(), JobError> {
        match &record.destination {
            Destination::Sheet { spreadsheet_id, .. } => Ok(access::check(
                &self.svc.spreadsheets(),
                &record.owner,
                spreadsheet_id,
                access_proof,
            )?),
            Destination::File { .. } => Ok(()),
        }
    }

    async fn owned(&self, owner: &str, id: &JobId) -> Result<JobRecord, JobError> {
        match self.svc.store.job(id).await? {
            Some(record) if record.owner == owner => Ok(record),
            _ => Err(JobError::NotFound(id.clone())),
        }
    }
}
