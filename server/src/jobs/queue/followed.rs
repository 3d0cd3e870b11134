//! The jobs whose progress someone follows on this replica (an open event stream), so that
//! announcements from other replicas are read only for them, and so that after a lost `LISTEN`
//! connection their state is read again (notifications sent meanwhile are lost).

use almanac_core::ids::JobId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Job id → open event streams on this replica.
#[derive(Clone, Debug, Default)]
pub struct FollowedJobs(Arc<Mutex<HashMap<JobId, usize>>>);

/// One open event stream of a job; dropping it stops following the job.
#[derive(Debug)]
pub struct FollowGuard {
    followed: FollowedJobs,
    job_id: JobId,
}

impl FollowedJobs {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, usize>> {
        self.0
            .lock()
            .expect("the map of followed jobs is never left half-changed")
    }

    /// Starts following `job_id` until the guard is dropped.
    pub fn follow(&self, job_id: &JobId) -> FollowGuard {
        *self.map().entry(job_id.to_owned()).or_default() += 1;
        FollowGuard {
            followed: self.clone(),
            job_id: job_id.to_owned(),
        }
    }

    /// True when an event stream of `job_id` is open here.
    pub fn contains(&self, job_id: &JobId) -> bool {
        self.map().contains_key(job_id)
    }

    /// The jobs followed here.
    pub fn ids(&self) -> Vec<JobId> {
        self.map().keys().cloned().collect()
    }
}

impl Drop for FollowGuard {
    fn drop(&mut self) {
        let mut map = self.followed.map();
        if let Some(n) = map.get_mut(&self.job_id) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.job_id);
            }
        }
    }
}
