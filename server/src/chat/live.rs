//! The runs this process is driving, each with a stop signal: `POST …/runs/{run_id}/cancel`
//! reaches the task that drives the run through it. A run that is not here and not finished was
//! left by an earlier process (see `ChatService::recover`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

/// The live runs of this process. Cheap to clone (clones share the map).
#[derive(Clone, Debug, Default)]
pub struct Live {
    runs: Arc<Mutex<HashMap<String, watch::Sender<bool>>>>,
}

/// A registered run: its stop signal (true once cancelled), unregistered when dropped.
#[derive(Debug)]
pub struct LiveRun {
    /// Turns true when the run is asked to stop.
    pub stop: watch::Receiver<bool>,
    run_id: String,
    live: Live,
}

impl Drop for LiveRun {
    fn drop(&mut self) {
        self.live.lock().remove(&self.run_id);
    }
}

impl Live {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, watch::Sender<bool>>> {
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a run being driven by this process.
    pub fn register(&self, run_id: &str) -> LiveRun {
        let (tx, stop) = watch::channel(false);
        self.lock().insert(run_id.to_owned(), tx);
        LiveRun {
            stop,
            run_id: run_id.to_owned(),
            live: self.clone(),
        }
    }

    /// Asks a live run to stop; false when this process does not drive it.
    pub fn cancel(&self, run_id: &str) -> bool {
        match self.lock().get(run_id) {
            Some(tx) => tx.send(true).is_ok(),
            None => false,
        }
    }
}
