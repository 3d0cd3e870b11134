//! Wiring: [`Application::build`] turns a [`Config`] into a bound listener, a router and a worker,
//! and reports the port it got (so tests and the demo can bind port 0). `main`, the demo and the
//! tests all start the backend this way.

use std::net::SocketAddr;
use std::sync::Arc;

use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;

use crate::api::{self, AppState, Authenticator};
use crate::auth::IdTokenVerifier;
use crate::config::{AuthMode, Config};
use crate::jobs::worker::Worker;
use crate::jobs::{JobService, Services};
use crate::openai::client::BatchClient;
use crate::pricing::Catalog;
use crate::sheets::client::SheetsClient;
use crate::store::Store;
use crate::web;

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
        let openai = BatchClient::new(&config.openai_api_key, &config.openai_base_url);
        let sheets = SheetsClient::new(
            config.google_service_account_key.expose_secret(),
            config.sheets_base_url.as_deref(),
        )
        .await?;
        let (events, _) = broadcast::channel(1024);
        let services = Arc::new(Services {
            store,
            openai,
            sheets,
            catalog: Catalog::builtin(),
            events,
            wake: Notify::new(),
            settings: config.worker.clone(),
            cost: config.api.cost.clone(),
            openai_key: config.openai_api_key.clone(),
            openai_base_url: config.openai_base_url.clone(),
            realtime_runs: Default::default(),
            realtime_pacer: Default::default(),
        });
        let auth = match &config.auth {
            AuthMode::GoogleIdToken(settings) => {
                Authenticator::GoogleIdToken(Arc::new(IdTokenVerifier::new(settings.clone())))
            }
            AuthMode::InsecureNoAuth => Authenticator::LocalDevelopment,
        };
        let state = AppState::new(JobService::new(services.clone()), auth, config.api.clone());
        let listener = TcpListener::bind(config.bind).await?;
        let local_addr = listener.local_addr()?;
        Ok(Application {
            listener,
            // The bundle is imported cross-origin by Apps Script's Sidebar.html (a module script
            // and a wasm fetch, both in CORS mode): it gets the API's CORS allow-list.
            router: api::router(state).merge(
                web::router(&config.sidebar_dir).layer(api::cors::layer(&config.api.cors_origins)),
            ),
            worker: Worker::new(services.clone()),
            local_addr,
            services,
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

    /// The shared services (store, clients), for tests that drive the worker directly.
    pub fn services(&self) -> &Arc<Services> {
        &self.services
    }

    /// Starts the worker and the HTTP server in background tasks.
    pub fn spawn(self) -> RunningApp {
        let worker = tokio::spawn(self.worker.run());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(self.listener, self.router).await {
                tracing::error!(error = %e, "HTTP server stopped");
            }
        });
        RunningApp {
            base_url: format!("http://{}", self.local_addr),
            server,
            worker,
        }
    }

    /// Serves until Ctrl-C / SIGTERM, then stops accepting requests and lets in-flight ones end.
    /// The worker is stopped mid-step if need be: the store makes that safe.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let worker = tokio::spawn(self.worker.run());
        let result = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown_signal())
            .await;
        worker.abort();
        result
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

/// A backend running in background tasks (tests, the demo).
pub struct RunningApp {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    server: JoinHandle<()>,
    worker: JoinHandle<()>,
}

impl RunningApp {
    /// Stops the server and the worker at once, as a crash would (nothing is flushed on purpose).
    pub async fn kill(self) {
        self.server.abort();
        self.worker.abort();
        let _ = self.server.await;
        let _ = self.worker.await;
    }
}
