//! The handles every part of the jobs layer shares: the store, the OpenAI and Sheets clients, the
//! catalogue, the settings, the progress channel, the worker's wake-up, the realtime runs of
//! this process, the pacer of realtime calls, the replica's name (the owner of its leases), the
//! jobs followed here, the access keys and the spool of batch input files. Built complete once per process ([`Services::new`]
//! from [`ServiceParts`]), by the server and the command line, and never changed after.
//!
//! With a shared store (PostgreSQL, several replicas), progress and wake-ups are announced through
//! the database ([`Services::publish`], [`Services::wake_for`]) and reach every replica's event
//! streams and worker (`jobs::queue::events`); with SQLite they stay in the process.

use almanac_core::ids::JobId;
use std::sync::Arc;

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
use crate::jobs::batch::spool::Spool;
use crate::jobs::queue::followed::FollowedJobs;
use crate::jobs::queue::step::StepError;
use crate::jobs::realtime::pacer::Pacer;
use crate::jobs::realtime::runs::Runs;
use crate::jobs::realtime::shared_pace::StoreBudget;
use crate::jobs::settings::{CostSettings, WorkerSettings};
use crate::spreadsheet::Spreadsheets;

/// Everything a job needs from the outside world, shared by the API handlers and the worker.
/// Built complete by [`Services::new`]; nothing in it is replaced afterwards.
pub struct Services {
    /// The database.
    pub store: Store,
    /// OpenAI Files + Batches.
    pub openai: BatchClient,
    /// Google Sheets, as the service account (shared with the spreadsheet layer).
    pub(crate) sheets: Arc<SheetsClient>,
    /// Known models and prices.
    pub catalog: &'static Catalog,
    /// Progress events of every job (the SSE endpoint filters by job id).
    pub(crate) events: broadcast::Sender<JobEvent>,
    /// Wakes the worker when a job is created or cancelled.
    pub(crate) wake: Notify,
    /// Worker pacing.
    pub(crate) settings: WorkerSettings,
    /// Mode strategy, realtime endpoint and pacing.
    pub(crate) cost: CostSettings,
    /// The OpenAI key, for realtime calls when no other realtime key is set.
    pub(crate) openai_key: SecretString,
    /// The OpenAI base URL, for realtime calls when no other realtime base URL is set.
    pub(crate) openai_base_url: String,
    /// Realtime runs alive in this process.
    pub(crate) realtime_runs: Runs,
    /// The pacer of the realtime endpoint, shared by every run of this process: the account's
    /// limits are shared by all its jobs. With a shared store its RPM/TPM buckets are the
    /// account's, kept in the database for every replica (`jobs::realtime::shared_pace`).
    pub(crate) pacer: Arc<Pacer>,
    /// Told about every outside HTTP call (the server's metrics), handed to the clients made
    /// later (realtime).
    pub(crate) calls: Observer,
    /// This replica's name: the owner of the leases it takes (`<host>-<pid>-<random>`, new at
    /// every start, so a restarted replica never mistakes a dead one's leases for its own).
    pub replica: String,
    /// The jobs whose event streams are open on this replica.
    pub(crate) followed: FollowedJobs,
    /// The secret of access challenges and proofs (`spreadsheet::access`).
    pub access: AccessKeys,
    /// Where batch input files wait for their upload (`<temp dir>/almanac-uploads`; what a
    /// killed process left there is removed at start).
    pub(crate) spool: Spool,
}

/// What [`Services::new`] is built from: each outside party's handle and each setting.
pub struct ServiceParts {
    /// The database.
    pub store: Store,
    /// OpenAI Files + Batches.
    pub openai: BatchClient,
    /// Google Sheets, as the service account.
    pub sheets: SheetsClient,
    /// Worker pacing.
    pub settings: WorkerSettings,
    /// Mode strategy, realtime endpoint and pacing.
    pub cost: CostSettings,
    /// The OpenAI key, for realtime calls when no other realtime key is set.
    pub openai_key: SecretString,
    /// The OpenAI base URL, for realtime calls when no other realtime base URL is set.
    pub openai_base_url: String,
    /// Told about every outside HTTP call.
    pub calls: Observer,
    /// The secret of access challenges and proofs: the configured one, or a random one for this
    /// process ([`AccessKeys::default`]).
    pub access: AccessKeys,
}

impl Services {
    /// The services over these parts, with the built-in catalogue, a fresh event channel (1,024
    /// events buffered per subscriber), no realtime run yet and the realtime endpoint's pacer. The
    /// one constructor, for the server and the command line alike.
    pub fn new(parts: ServiceParts) -> Services {
        let pacer = realtime_pacer(&parts);
        Services {
            store: parts.store,
            openai: parts.openai,
            sheets: Arc::new(parts.sheets),
            catalog: Catalog::builtin(),
            events: broadcast::channel(1024).0,
            wake: Notify::new(),
            settings: parts.settings,
            cost: parts.cost,
            openai_key: parts.openai_key,
            openai_base_url: parts.openai_base_url,
            realtime_runs: Runs::default(),
            pacer,
            calls: parts.calls,
            replica: replica_name(),
            followed: FollowedJobs::default(),
            access: parts.access,
            spool: Spool::start(std::env::temp_dir().join("almanac-uploads")),
        }
    }

    /// The spreadsheet layer's handles over these services (clones of the store, the Sheets
    /// client and the access keys): the access proof, the budget, the sheet's reads.
    pub(crate) fn spreadsheets(&self) -> Spreadsheets {
        Spreadsheets {
            store: self.store.clone(),
            sheets: self.sheets.clone(),
            catalog: self.catalog,
            access: self.access.clone(),
            spending: self.cost.spending.clone(),
        }
    }

    /// Tells every event stream of the job, on every replica, that its progress changed: through
    /// the database on a shared store, else straight to this process's streams
    /// ([`Services::publish_local`]).
    pub async fn publish(&self, id: &JobId) {
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
    pub async fn wake_for(&self, id: &JobId) {
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
    pub async fn publish_local(&self, id: &JobId) {
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
}

/// The pacer of the realtime endpoint. With a shared store its RPM/TPM buckets are the account's,
/// kept in the database for every replica (`jobs::realtime::shared_pace`).
fn realtime_pacer(parts: &ServiceParts) -> Arc<Pacer> {
    let settings = parts.cost.pacer.clone();
    if !parts.store.is_shared() {
        return Pacer::new(settings);
    }
    let base = parts
        .cost
        .realtime_base_url
        .as_deref()
        .unwrap_or(&parts.openai_base_url);
    let budget = StoreBudget::new(parts.store.clone(), format!("realtime:{base}"));
    Pacer::shared(settings, Arc::new(budget))
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
