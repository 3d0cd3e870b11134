//! Wiring: [`Application::build`] turns a [`Config`] into a bound listener, a router and a worker,
//! and reports the port it got (so tests and the demo can bind port 0). `main`, the demo and the
//! tests all start the backend this way.
//!
//! Shutdown ([`Application::run_until_stopped`]): on SIGTERM or Ctrl-C the listener stops
//! accepting, the worker finishes the step it is in and takes no new one, and both get
//! `WorkerSettings::shutdown_grace` to end; whatever is still running then is abandoned, which is
//! safe because every step can be repeated after a restart. Then the replica gives back every
//! lease it still holds (a realtime run's) and wakes the other replicas, which take those jobs
//! over at once instead of waiting for the leases to expire.
//!
//! On a shared store (PostgreSQL) the backend also follows the other replicas' announcements
//! (`jobs::queue::events::follow`: their jobs' progress for this replica's event streams, wake-ups for
//! its worker).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use metrics_exporter_prometheus::PrometheusHandle;

use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{self, AppState, Authenticator};
use crate::auth::IdTokenVerifier;
use crate::auth::access::AccessKeys;
use crate::chat::ChatService;
use crate::config::{AuthMode, Config, GoogleCredentials, LimitSettings, MetricsBind};
use crate::doctor::{Deployment, HealthCache};
use crate::jobs::Worker;
use crate::jobs::services::ServiceParts;
use crate::jobs::{JobService, Services};
use crate::web;
use almanac_openai::{BatchClient, ResponsesClient, RetryPolicy};
use almanac_sheets::SheetsClient;
use almanac_store::Store;

/// Installs ring as the process-wide rustls crypto provider. google-sheets4 and async-openai pull
/// different providers; with none chosen the first HTTPS client panics. Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A backend ready to run: listener bound, store migrated, clients built.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    worker: Worker,
    local_addr: SocketAddr,
    services: Arc<Services>,
    chat: ChatService,
    limits: LimitSettings,
    metrics: Option<TcpListener>,
}

impl Application {
    /// Opens the store (running migrations), builds the OpenAI and Sheets clients, binds the
    /// listener and builds the router.
    ///
    /// # Errors
    /// When the database cannot be opened, the service-account key is unusable, or the address
    /// cannot be bound.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        install_crypto_provider();
        let store = Store::connect(&config.database_url).await?;
        let calls = crate::metrics::call_observer();
        let openai = BatchClient::observed(
            &config.openai_api_key,
            &config.openai_base_url,
            RetryPolicy::default(),
            calls.clone(),
        );
        let sheets = sheets_client(&config)
            .await?
            .with_call_observer(calls.clone());
        let access = match &config.api.access_proof_secret {
            Some(secret) => AccessKeys::new(secret.expose_secret().as_bytes()),
            None => AccessKeys::default(),
        };
        let services = Arc::new(Services::new(ServiceParts {
            store,
            openai,
            sheets,
            settings: config.worker.clone(),
            cost: config.api.cost.clone(),
            openai_key: config.openai_api_key.clone(),
            openai_base_url: config.openai_base_url.clone(),
            calls,
            access,
        }));
        let auth = match &config.auth {
            AuthMode::GoogleIdToken(settings) => {
                Authenticator::GoogleIdToken(Arc::new(IdTokenVerifier::new(settings.clone())))
            }
            AuthMode::InsecureNoAuth => Authenticator::LocalDevelopment,
        };
        let chat = chat_service(&config, &services, services.calls.clone()).await?;
        let state = AppState::new(
            JobService::new(services.clone()),
            chat.clone(),
            auth,
            config.api.clone(),
        )
        .with_deep_health(HealthCache::new(Deployment::of_server(
            &config,
            services.store.clone(),
        )));
        let listener = TcpListener::bind(config.bind).await?;
        let local_addr = listener.local_addr()?;
        let metrics = match config.api.limits.metrics_bind {
            MetricsBind::Off => None,
            MetricsBind::At(addr) => Some(TcpListener::bind(addr).await.map_err(|e| {
                anyhow::anyhow!("cannot listen for /metrics on ALMANAC_METRICS_BIND={addr}: {e}")
            })?),
        };
        Ok(Application {
            listener,
            // The bundle is imported cross-origin by Apps Script's Sidebar.html (a module script
            // and a wasm fetch, both in CORS mode): it gets the API's CORS allow-list.
            // Security headers on every answer (the demo's `/dev` pages, added later, excepted).
            router: crate::headers::secure(api::router(state).merge(
                web::router(&config.sidebar_dir).layer(api::cors::layer(&config.api.cors_origins)),
            )),
            worker: Worker::new(services.clone()),
            local_addr,
            services,
            chat,
            limits: config.api.limits.clone(),
            metrics,
        })
    }

    /// Adds routes beside the API and the sidebar bundle (the demo's `/dev/…` pages).
    pub fn with_routes(mut self, routes: axum::Router) -> Application {
        self.router = self.router.merge(routes);
        self
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address `/metrics` is served on (`None` with `ALMANAC_METRICS_BIND=off`).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The shared services (store, clients), for tests that drive the worker directly.
    pub fn services(&self) -> &Arc<Services> {
        &self.services
    }

    /// The chat's service (for tests that serve the API themselves).
    pub fn chat(&self) -> &ChatService {
        &self.chat
    }

    /// Starts the worker, the HTTP server and the metrics server in background tasks.
    pub fn spawn(self) -> RunningApp {
        let (stop, stopped) = watch::channel(false);
        let metrics_url = self.metrics_addr().map(|a| format!("http://{a}"));
        let worker = tokio::spawn(self.worker.run_until(stopped.clone()));
        let listener = tokio::spawn(crate::jobs::queue::events::follow(self.services.clone()));
        let metrics = self.metrics.map(|l| {
            let jobs = JobService::new(self.services.clone());
            tokio::spawn(serve_metrics(l, jobs, stopped.clone()))
        });
        let limits = self.limits;
        let server = tokio::spawn(async move {
            crate::listen::serve(self.listener, self.router, &limits, wait_for_stop(stopped)).await;
        });
        RunningApp {
            base_url: format!("http://{}", self.local_addr),
            metrics_url,
            server,
            worker,
            listener,
            metrics,
            stop,
            grace: self.services.settings.shutdown_grace,
            services: self.services,
        }
    }

    /// Serves until Ctrl-C / SIGTERM, then shuts down within the grace period
    /// (`WorkerSettings::shutdown_grace`): see the module documentation.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let stop = shutdown_signal();
        let running = self.spawn();
        stop.await;
        running.shutdown().await;
        Ok(())
    }
}

/// The chat over the jobs layer's services, with its own Responses client (same key, base URL and
/// call observer); runs an earlier process left unfinished are failed first.
async fn chat_service(
    config: &Config,
    services: &Services,
    calls: almanac_core::calls::Observer,
) -> anyhow::Result<ChatService> {
    let openai = ResponsesClient::new(
        &config.openai_api_key,
        &config.openai_base_url,
        RetryPolicy::default(),
        calls,
    );
    let chat = ChatService::new(services.spreadsheets(), openai, config.api.chat.clone())?;
    let interrupted = chat.recover().await?;
    if interrupted > 0 {
        tracing::warn!(
            interrupted,
            "chat runs left unfinished by an earlier process were failed"
        );
    }
    Ok(chat)
}

/// Resolves once `stop` turns true (or its sender is gone).
/// The Sheets client of `config`'s service account: from its key, or the runtime service account
/// of the metadata server.
async fn sheets_client(config: &Config) -> anyhow::Result<SheetsClient> {
    let base = config.sheets_base_url.as_deref();
    Ok(match &config.google_credentials {
        GoogleCredentials::Key(key) => SheetsClient::new(key.expose_secret(), base).await?,
        GoogleCredentials::MetadataServer { host } => {
            let client = SheetsClient::from_metadata_server(host.as_deref(), base).await?;
            tracing::info!(
                service_account = client.service_account_email(),
                "no GOOGLE_APPLICATION_CREDENTIALS: acting as the runtime service account (metadata server)"
            );
            client
        }
    })
}

async fn wait_for_stop(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// Serves `GET /metrics` (Prometheus text, rendered from memory) on `listener` until `stop`, and
/// meanwhile keeps `almanac_jobs` up to date: counted at start, after job events (at most once a
/// second) and every [`crate::metrics::JOB_COUNTS_EVERY`] — never per scrape.
async fn serve_metrics(listener: TcpListener, jobs: JobService, stop: watch::Receiver<bool>) {
    let handle = crate::metrics::install();
    let router = axum::Router::new()
        .route("/metrics", axum::routing::get(render_metrics))
        .with_state(handle);
    let serve = axum::serve(listener, router).with_graceful_shutdown(wait_for_stop(stop));
    tokio::select! {
        served = serve => if let Err(e) = served {
            tracing::error!(error = %e, "the metrics server stopped");
        },
        () = count_jobs(jobs) => {}
    }
}

/// Sets `almanac_jobs` now, then after job events and every
/// [`crate::metrics::JOB_COUNTS_EVERY`]; never returns.
async fn count_jobs(jobs: JobService) {
    let mut events = jobs.subscribe();
    loop {
        match jobs.counts_by_status().await {
            Ok(counts) => crate::metrics::set_job_counts(&counts),
            Err(e) => tracing::warn!(error = %e, "cannot count jobs for /metrics"),
        }
        let _ = tokio::time::timeout(crate::metrics::JOB_COUNTS_EVERY, events.recv()).await;
        // Events in a burst are counted once.
        tokio::time::sleep(Duration::from_secs(1)).await;
        while events.try_recv().is_ok() {}
    }
}

/// `GET /metrics`: Prometheus text format.
async fn render_metrics(State(handle): State<PrometheusHandle>) -> axum::response::Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// A future that resolves on Ctrl-C or SIGTERM. The handlers are installed when this function
/// is called, not when the future is first polled, so call it before the server announces itself
/// ready: a SIGTERM that comes right after start-up then shuts down gracefully instead of killing
/// the process (the signal's default action).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let (term, int) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! { _ = wait(term) => {}, _ = wait(int) => {} }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down");
    }
}

/// Gives back every lease this replica still holds (the worker has stopped and its realtime runs
/// are aborted) and wakes the other replicas for those jobs.
async fn release_leases(services: &Services) {
    match services.store.release_leases(&services.replica).await {
        Ok(ids) => {
            if !ids.is_empty() {
                tracing::info!(jobs = ids.len(), "leases given back for the other replicas");
            }
            for id in ids {
                services.wake_for(&id).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot give the leases back; they will expire"),
    }
}

/// A backend running in background tasks (tests, the demo).
pub struct RunningApp {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// `http://127.0.0.1:PORT` of `/metrics` (`None` when not served).
    pub metrics_url: Option<String>,
    server: JoinHandle<()>,
    worker: JoinHandle<()>,
    listener: JoinHandle<()>,
    metrics: Option<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    grace: Duration,
    services: Arc<Services>,
}

impl RunningApp {
    /// Graceful shutdown: stops accepting connections and taking new steps, waits up to the grace
    /// period for in-flight requests and the current step, then abandons what is left. Returns
    /// `true` when everything ended within the grace period.
    pub async fn shutdown(self) -> bool {
        let RunningApp {
            mut server,
            mut worker,
            listener,
            metrics,
            stop,
            grace,
            services,
            ..
        } = self;
        let _ = stop.send(true);
        let drained = tokio::time::timeout(grace, async {
            let _ = (&mut worker).await;
            let _ = (&mut server).await;
        })
        .await
        .is_ok();
        if drained {
            tracing::info!("shut down cleanly");
        } else {
            tracing::warn!(
                grace_ms = grace.as_millis() as u64,
                "grace period over: abandoning in-flight requests and steps (they resume after a restart)"
            );
            server.abort();
            worker.abort();
            let _ = server.await;
            let _ = worker.await;
        }
        listener.abort();
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        release_leases(&services).await;
        drained
    }

    /// Stops the server and the worker at once, as a crash would (nothing is flushed on purpose).
    pub async fn kill(self) {
        self.server.abort();
        self.worker.abort();
        self.listener.abort();
        if let Some(metrics) = &self.metrics {
            metrics.abort();
        }
        let _ = self.server.await;
        let _ = self.worker.await;
    }
}
