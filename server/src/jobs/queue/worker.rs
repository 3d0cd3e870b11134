//! The worker: the queue of unfinished jobs, stepped one step at a time, like a database-backed
//! job queue (jobs are rows in the store).
//!
//! [`Worker::try_execute_step`] reads a job, does the one thing its status calls for (submit,
//! poll, write — or hand a realtime job to its run), saves what it learnt, and returns. Because
//! every external id is saved before anything depends on it, the process may die between any two
//! statements and the next step — in this process or after a restart — picks up where it stopped
//! without creating a second batch. [`Worker::run_step`] handles the outcome: a transient failure
//! (network, 429, 5xx, database) reschedules the step with exponential backoff and jitter
//! ([`WorkerSettings::retry_delay`](crate::jobs::settings::WorkerSettings::retry_delay)), a
//! permanent one fails the job with a message that says what to do. Every log line of a step
//! carries the job id (the step's span) and, where a batch is concerned, the batch id.
//!
//! Replicas share the queue through leases: [`Worker::run_until`] claims one due job at a time
//! (`Store::claim_next`, `FOR UPDATE SKIP LOCKED` on PostgreSQL), runs its step under the lease
//! with a heartbeat (`jobs::queue::lease`), and releases it — unless the step handed the job to a
//! realtime run, which then holds the lease until it ends. Every store write of the step is
//! fenced by the lease's version, so a replica whose lease was taken cannot commit a result.
//! Between claims the worker sleeps until the next job is due, or until it is woken (a job created
//! or cancelled, a lease given back — on any replica, through `LISTEN`/`NOTIFY`).

use almanac_core::ids::JobId;
use std::sync::Arc;
use std::time::Duration;

use almanac_core::state::{JobStatus, Mode};
use tokio::sync::watch;
use tracing::Instrument;

use crate::jobs::batch::{finish, poll, submit};
use crate::jobs::destination::Target;
use crate::jobs::queue::lease;
use crate::jobs::queue::step::StepError;
use crate::jobs::realtime;
use crate::jobs::services::Services;

/// Aborts every realtime run of these services when dropped: the worker holds one, so
/// stopping the worker (a shutdown, or a test playing a crash) stops the runs too, as a crash
/// would.
pub struct AbortRunsOnDrop(pub Arc<Services>);

impl Drop for AbortRunsOnDrop {
    fn drop(&mut self) {
        self.0.realtime_runs.abort_all();
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
        let _runs = AbortRunsOnDrop(self.svc.clone());
        match self.svc.store.due_jobs().await {
            Ok(ids) if !ids.is_empty() => {
                tracing::info!(jobs = ids.len(), "worker started; resuming unfinished jobs")
            }
            _ => tracing::info!("worker started"),
        }
        while !*stop.borrow() {
            while !*stop.borrow() {
                match self
                    .svc
                    .store
                    .claim_next(&self.svc.replica, self.svc.settings.lease)
                    .await
                {
                    Ok(Some(lease)) => self.run_claimed(lease).await,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot claim a due job");
                        break;
                    }
                }
            }
            let sleep = self.until_next_due().await;
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = self.svc.wake.notified() => {}
                _ = stop.changed() => {}
            }
        }
        tracing::info!("worker stopped");
    }

    /// How long until the next unfinished job is due: at most a minute (5 s when the store cannot
    /// say).
    async fn until_next_due(&self) -> Duration {
        let wait = match self.svc.store.next_due().await {
            Ok(Some(wait)) => wait,
            Ok(None) => Duration::from_secs(60),
            Err(_) => Duration::from_secs(5),
        };
        wait.min(Duration::from_secs(60))
    }

    /// Runs the step of a claimed job under its lease (heartbeat, fenced writes), then gives the
    /// lease back — unless a realtime run of the job now holds it.
    async fn run_claimed(&self, claimed: almanac_store::Lease) {
        let id = claimed.job_id.clone();
        if lease::hold(&self.svc, &claimed, self.run_step(&id))
            .await
            .is_none()
        {
            tracing::warn!(job_id = %id, "step abandoned: its lease was lost");
            return;
        }
        if !self.svc.realtime_runs.alive(&id) {
            lease::release(&self.svc, &claimed).await;
        }
    }

    /// Runs one step of a job and handles its outcome: reschedules with backoff after a transient
    /// failure, fails the job after a permanent one, and publishes the job's progress.
    pub async fn run_step(&self, id: &JobId) {
        let span = tracing::info_span!("job", job_id = %id);
        async {
            if let Err(err) = self.try_execute_step(id).await {
                self.handle_failure(id, err).await;
            }
            self.svc.publish(id).await;
        }
        .instrument(span)
        .await
    }

    /// After a failed step: fail the job (permanent) or try again after a backoff (transient).
    async fn handle_failure(&self, id: &JobId, err: StepError) {
        let store = &self.svc.store;
        if let StepError::Store(almanac_store::StoreError::LeaseLost(_)) = &err {
            // Another replica has the job now: nothing of this step may be saved.
            tracing::warn!(job_id = %id, "step stopped: another replica took the job over");
            return;
        }
        if let StepError::Permanent { code, message } = &err {
            tracing::warn!(job_id = %id, %code, %message, "job failed");
            let failed = store
                .set_status(id, JobStatus::Failed, Some((code, message)))
                .await;
            if let Err(e) = failed {
                tracing::error!(job_id = %id, error = %e, "cannot save the job's failure");
            }
            return;
        }
        let attempts = match store.job(id).await {
            Ok(Some(job)) => job.attempts,
            _ => 0,
        };
        let delay = self.svc.settings.retry_delay(attempts);
        metrics::counter!(crate::metrics::STEP_RETRIES, "reason" => "transient").increment(1);
        tracing::warn!(job_id = %id, attempt = attempts + 1, delay_ms = delay.as_millis() as u64, error = %err, "step failed; will retry");
        if let Err(e) = store.schedule(id, delay, attempts + 1).await {
            tracing::error!(job_id = %id, error = %e, "cannot reschedule the job");
        }
    }

    /// Does the one thing the job's status calls for and saves the result.
    ///
    /// # Errors
    /// [`StepError`]: transient ones are retried by [`Worker::run_step`], permanent ones fail the
    /// job.
    pub async fn try_execute_step(&self, id: &JobId) -> Result<(), StepError> {
        let Some(job) = self.svc.store.job(id).await? else {
            return Ok(());
        };
        let svc = &self.svc;
        match job.status {
            status if status.is_terminal() => Ok(()),
            JobStatus::Writing => {
                Target::of(svc, &job).await?.write(svc, &job).await?;
                finish::finish(svc, &job).await
            }
            _ if job.mode == Mode::Realtime => realtime::step(svc, &job).await,
            JobStatus::Created | JobStatus::Submitting => submit::submit(svc, &job).await,
            _ => poll::poll(svc, &job).await,
        }
    }
}
