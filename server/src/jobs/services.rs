//! The handles every part of the jobs layer shares: the store, the OpenAI and Sheets clients, the
//! catalogue, the settings, the progress channel, the worker's wake-up, the realtime runs of
//! this process, the replica's name (the owner of its leases) and the jobs followed here. Built
//! once per process ([`Services::new`]), by the server and the command line.
//!
//! With a shared store (PostgreSQL, several replicas), progress and wake-ups are announced through
//! the database ([`Services::publish`], [`Services::wake_for`]) and reach every replica's event
//! streams and worker (`jobs::events`); with SQLite they stay in the process.

use std::sync::{Arc, OnceLock};

use almanac_core::calls::Observer;
use almanac_core::catalog::{Catalog, ModelSpec};
use almanac_openai::BatchClient;
use almanac_protocol::JobEvent;
use almanac_sheets::SheetsClient;
use almanac_store::notify::Announcement;
use almanac_store::{JobRecord, Store};
use secrecy::SecretString;
use tokio::sync::{Notify, broadcast};

use crate::auth::access::AccessKeys;
use crate::jobs::pacer::Pacer;
use crate::jobs::realtime::runs::Runs;
use crate::jobs::settings::{CostSettings, WorkerSettings};
use crate::jobs::shared_pace::StoreBudget;
use crate::jobs::step::StepError;
use crate::jobs::watch::Watched;

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
    /// This replica's name: the owner of the leases it takes (`<host>-<pid>-<random>`, new at
    /// every start, so a restarted replica never mistakes a dead one's leases for its own).
    pub replica: String,
    /// The jobs whose event streams are open on this replica.
    pub watched: Watched,
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
            replica: replica_name(),
            watched: Watched::default(),
            access: AccessKeys::default(),
        }
    }

    /// Tells every event stream of the job, on every replica, that its progress changed: through
    /// the database on a shared store, else straight to this process's streams
    /// ([`Services::publish_local`]).
    pub async fn publish(&self, id: &str) {
        if !self.store.is_shared() {
            return self.publish_local(id).await;
        }
        if let Err(e) = self.store.announce(Announcement::Progress, id).await {
            tracing::warn!(job_id = %id, error = %e, "cannot announce progress; showing it here only");
            self.publish_local(id).await;
        }
    }

    /// Wakes the worker of every replica for this job (created, cancelled, retried, or its lease
    /// given back), and shows its progress.
    pub async fn wake_for(&self, id: &str) {
        self.wake.notify_one();
        if !self.store.is_shared() {
            return;
        }
        if let Err(e) = self.store.announce(Announcement::Wake, id).await {
            tracing::warn!(job_id = %id, error = %e, "cannot wake the other replicas; they will find the job when they next look");
        }
    }

    /// Sends the job's current progress to this process's event-stream subscribers (none is
    /// fine); a job that cannot be read is skipped.
    pub async fn publish_local(&self, id: &str) {
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
                code: almanac_protocol::ErrorCode::UnknownModel,
                message: e.to_string(),
            })
    }

    /// The pacer of the realtime endpoint (made on first use). With a shared store its RPM/TPM
    /// buckets are the account's, kept in the database for every replica (`jobs::shared_pace`).
    pub fn pacer(&self) -> Arc<Pacer> {
        self.realtime_pacer
            .get_or_init(|| {
                let settings = self.cost.pacer.clone();
                if !self.store.is_shared() {
                    return Pacer::new(settings);
                }
                let base = self
                    .cost
                    .realtime_base_url
                    .as_deref()
                    .unwrap_or(&self.openai_base_url);
                let budget = StoreBudget::new(self.store.clone(), format!("realtime:{base}"));
                Pacer::shared(settings, Arc::new(budget))
            })
            .clone()
    }
}

/// `<host>-<pid>-<random>`: a name no other process, past or present, has.
fn replica_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "almanac".to_owned());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &random[..8])
}
