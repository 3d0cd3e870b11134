//! The handles every part of the jobs layer shares: the store, the OpenAI and Sheets clients, the
//! catalogue, the settings, the progress channel, the worker's wake-up and the realtime runs of
//! this process. Built once per process ([`Services::new`]), by the server and the command line.

use std::sync::{Arc, OnceLock};

use almanac_core::calls::Observer;
use almanac_core::catalog::{Catalog, ModelSpec};
use almanac_openai::BatchClient;
use almanac_protocol::JobEvent;
use almanac_sheets::SheetsClient;
use almanac_store::{JobRecord, Store};
use secrecy::SecretString;
use tokio::sync::{Notify, broadcast};

use crate::auth::access::AccessKeys;
use crate::jobs::pacer::Pacer;
use crate::jobs::realtime::runs::Runs;
use crate::jobs::settings::{CostSettings, WorkerSettings};
use crate::jobs::step::StepError;

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
    pub settings: WorkerSettings,
    /// Mode strategy, realtime endpoint and pacing.
    pub cost: CostSettings,
    /// The OpenAI key, for realtime calls when no other realtime key is set.
    pub openai_key: SecretString,
    /// The OpenAI base URL, for realtime calls when no other realtime base URL is set.
    pub openai_base_url: String,
    /// Realtime runs alive in this process.
    pub realtime_runs: Runs,
    /// The pacer of the realtime endpoint, shared by every run of this process: the account's
    /// limits are shared by all its jobs.
    pub realtime_pacer: OnceLock<Arc<Pacer>>,
    /// Told about every outside HTTP call (the server's metrics), handed to the clients made
    /// later (realtime).
    pub calls: Observer,
    /// The secret of access challenges and proofs (`jobs::access`); random per process unless the
    /// server sets the configured one.
    pub access: AccessKeys,
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
        settings: WorkerSettings,
        cost: CostSettings,
        openai_key: SecretString,
        openai_base_url: String,
        calls: Observer,
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
            realtime_runs: Runs::default(),
            realtime_pacer: OnceLock::new(),
            calls,
            access: AccessKeys::default(),
        }
    }

    /// Sends the job's current progress to its event-stream subscribers (none is fine); a job
    /// that cannot be read is skipped.
    pub async fn publish(&self, id: &str) {
        if let Ok(Some(record)) = self.store.job(id).await
            && let Ok(event) = crate::jobs::view::job_event(&self.store, &record).await
        {
            let _ = self.events.send(event);
        }
    }

    /// The job's model, from the catalogue.
    ///
    /// # Errors
    /// [`StepError::Permanent`] (`unknown_model`) when the catalogue no longer has it.
    pub fn model_spec(&self, job: &JobRecord) -> Result<&'static ModelSpec, StepError> {
        self.catalog
            .resolve(&job.model)
            .map_err(|e| StepError::Permanent {
                code: "unknown_model",
                message: e.to_string(),
            })
    }

    /// The pacer of the realtime endpoint (made on first use).
    pub fn pacer(&self) -> Arc<Pacer> {
        self.realtime_pacer
            .get_or_init(|| Pacer::new(self.cost.pacer.clone()))
            .clone()
    }
}
