//! The realtime runs alive in this process, by job id: the worker's realtime step starts a run
//! only when none is alive for the job, and stopping the worker (a shutdown, or a test playing a
//! crash) aborts every run, as a crash would — answers are stored as they arrive, so nothing is
//! lost.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::task::AbortHandle;

/// The run tasks alive in this process, by job id.
#[derive(Debug, Default)]
pub struct Runs(Mutex<HashMap<String, AbortHandle>>);

impl Runs {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, AbortHandle>> {
        self.0
            .lock()
            .expect("the runs map is never left half-changed")
    }

    /// True when a run of this job is alive.
    pub fn alive(&self, job_id: &str) -> bool {
        self.map().get(job_id).is_some_and(|run| !run.is_finished())
    }

    /// How many runs are alive.
    pub fn count(&self) -> usize {
        self.map().values().filter(|run| !run.is_finished()).count()
    }

    /// Records the run of a job.
    pub fn insert(&self, job_id: &str, run: AbortHandle) {
        self.map().insert(job_id.to_owned(), run);
    }

    /// Forgets the run of a job (it ended).
    pub fn remove(&self, job_id: &str) {
        self.map().remove(job_id);
    }

    /// Aborts every run.
    pub fn abort_all(&self) {
        for (_, run) in std::mem::take(&mut *self.map()) {
            run.abort();
        }
    }
}
