//! Realtime mode: the same request bodies as a batch (`almanac_openai::jsonl::request_body`),
//! sent as concurrent Chat Completions calls at the highest rate the account allows, with the
//! answers written to the sheet in groups as they arrive.
//!
//! The worker hands a realtime job to [`step`], which starts one run task per job in this process
//! (and does nothing while it runs). The run ([`run::run`]):
//!
//! 1. queues every `pending` row with its predicted cost and weight (from the one estimate,
//!    `jobs::creation::estimate`); a dispatcher ([`dispatch`]) sends them through one `ChatClient` whose
//!    answers' rate-limit headers feed the process's pacer (RPM and TPM, `retry-after`, AIMD
//!    concurrency), shared by all runs since the account's limits are; the calls are tasks of one
//!    `JoinSet`, never more than the pacer's window and a semaphore of `max_concurrency` allow;
//! 2. stores each answer on its row (`generated`, with its `usage`) or its failure (`failed` with
//!    the same codes as a batch output line) **before** anything is written; a transient failure
//!    (429, 5xx, timeout) sends the row again after a backoff, up to `max_attempts` calls;
//! 3. every `flush_rows` answers or `flush_interval`, writes the answered rows through the job's
//!    target (a sheet's group write; a file is written once at the end), so progress shows;
//! 4. stops sending when the job's `max_cost_usd` would be passed (spent + in flight + next call)
//!    or when the job is cancelled, fails the rows left with the reason, and hands the job back to
//!    the worker in `writing`, whose last write ends it.
//!
//! A run holds its job's lease (inherited from the worker's step, with a heartbeat of its own,
//! `jobs::queue::lease`) until it has handed the job back: no other replica starts a second run meanwhile,
//! and a run whose lease was taken stops at once, its writes refused.
//!
//! The pacer ([`pacer`]) mirrors the provider's RPM/TPM buckets from the answers' headers; with
//! replicas each call is also reserved in the account's buckets in the database ([`shared_pace`]).
//! The runs alive in this process are [`runs`].
//!
//! The run's state is one value under one lock ([`state::Shared`]). A crash loses nothing:
//! answers are in the store before they are written, and after a restart only rows still
//! `pending` are sent again (a call in flight at the crash may thus be billed twice).

pub(crate) mod dispatch;
pub(crate) mod pacer;
pub(crate) mod run;
pub(crate) mod runs;
pub(crate) mod shared_pace;
pub(crate) mod state;

use almanac_core::ids::JobId;
use std::sync::Arc;

use almanac_core::state::JobStatus;
use almanac_store::{JobRecord, Lease};
use std::time::Duration;

use crate::jobs::queue::lease;
use crate::jobs::queue::step::StepError;
use crate::jobs::services::Services;

/// The worker's step for a realtime job that is not writing or finished: starts its run task
/// unless one is alive, and asks to be woken again in a while (the task wakes the worker itself
/// when it ends).
///
/// # Errors
/// [`StepError::Store`] when the job cannot be rescheduled.
pub async fn step(svc: &Arc<Services>, job: &JobRecord) -> Result<(), StepError> {
    let store = &svc.store;
    let alive = svc.realtime_runs.alive(&job.id);
    if !alive && svc.realtime_runs.count() >= svc.cost.max_runs.max(1) {
        // This replica runs its share already: leave the job to another one.
        store
            .schedule(&job.id, Duration::from_millis(500), 0)
            .await?;
        return Ok(());
    }
    if !alive {
        if job.status != JobStatus::InProgress {
            store
                .set_status(&job.id, JobStatus::InProgress, None)
                .await?;
        }
        let (task_svc, id) = (svc.clone(), job.id.clone());
        // The run keeps the step's lease (if the worker claimed one) until it hands the job back.
        let held = almanac_store::fence::current();
        let task = tokio::spawn(async move {
            match held {
                Some(held) => run_under_lease(task_svc, id, held).await,
                None => run_and_hand_back(task_svc, id).await,
            }
        });
        svc.realtime_runs.insert(&job.id, task.abort_handle());
    }
    // Look again in a while (a run that died is started again); the run normally ends first
    // and wakes the worker.
    store.schedule(&job.id, Duration::from_secs(5), 0).await?;
    Ok(())
}

/// [`run_and_hand_back`] under the lease `held` (heartbeat, fenced writes), then gives the lease
/// back and wakes every replica; a run whose lease was lost just stops.
async fn run_under_lease(svc: Arc<Services>, id: JobId, held: Lease) {
    let ran = lease::hold(&svc, &held, run_and_hand_back(svc.clone(), id.clone())).await;
    svc.realtime_runs.remove(&id);
    if ran.is_none() {
        tracing::warn!(job_id = %id, "realtime run stopped: its lease was lost");
        return;
    }
    lease::release(&svc, &held).await;
    svc.wake_for(&id).await;
}

/// Runs the job, then hands it back to the worker: `writing` when the run ended, `failed` for a
/// permanent error, due again in 2 s after a passing one (the answers stored so far are kept).
async fn run_and_hand_back(svc: Arc<Services>, id: JobId) {
    let outcome = run::run(&svc, &id).await;
    svc.realtime_runs.remove(&id);
    let store = &svc.store;
    let saved = match outcome {
        Ok(()) => store.set_status(&id, JobStatus::Writing, None).await,
        Err(StepError::Permanent { code, message }) => {
            tracing::warn!(job_id = %id, %code, %message, "realtime job failed");
            store
                .set_status(&id, JobStatus::Failed, Some((&code, &message)))
                .await
        }
        Err(e) => {
            tracing::warn!(job_id = %id, error = %e, "realtime run stopped; will resume");
            store.schedule(&id, Duration::from_secs(2), 0).await
        }
    };
    if let Err(e) = saved {
        tracing::error!(job_id = %id, error = %e, "cannot hand the realtime job back to the worker");
    }
    svc.publish(&id).await;
    svc.wake_for(&id).await;
}
