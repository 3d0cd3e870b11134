//! The running emulator: one axum server on one port (the whole [`router`]: OpenAI, Sheets and
//! Google's token, JWKS and metadata-server endpoints, with the job-overlap tracker around it) and
//! the ticker that moves batches and background responses, behind the [`Emulator`] handle. The
//! handle's start, addresses, shared steering (faults, holds, call counters) and shutdown are
//! here; what it does to each side is in [`crate::openai::control`] and
//! [`crate::google::control`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::EmulatorConfig;
use crate::counts::CallCounts;
use crate::faults::{Faults, HoldPoint};
use crate::google::{identity, metadata_server, oauth, sheets};
use crate::holds::{self, Hold};
use crate::openai::{lifecycle, overlap, routes};
use crate::state::{self, Shared};

struct Running {
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    ticker: Option<JoinHandle<()>>,
}

/// A running emulator. Cheap to clone (all clones control the same server); the server and the
/// batch ticker run as tokio tasks until [`Emulator::shutdown`] or the end of the runtime.
#[derive(Clone)]
pub struct Emulator {
    pub(crate) shared: Arc<Shared>,
    pub(crate) overlaps: Arc<overlap::Tracker>,
    pub(crate) addr: SocketAddr,
    running: Arc<Mutex<Running>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("base_url", &self.shared.base_url)
            .finish()
    }
}

impl Emulator {
    /// Starts on `127.0.0.1` with a free port.
    ///
    /// # Errors
    /// When the port cannot be bound.
    pub async fn start(config: EmulatorConfig) -> anyhow::Result<Emulator> {
        Self::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), config).await
    }

    /// Starts on `addr` (port 0 picks a free port). URLs use `127.0.0.1` when `addr` is unspecified
    /// (`0.0.0.0`).
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn start_on(addr: SocketAddr, config: EmulatorConfig) -> anyhow::Result<Emulator> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot bind the emulator to {addr}: {e}"))?;
        let mut local = listener.local_addr()?;
        if local.ip().is_unspecified() {
            local.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        let shared = Arc::new(Shared::new(config, format!("http://{local}")));
        let overlaps = Arc::new(overlap::Tracker::default());
        let app = router(shared.clone()).layer(axum::middleware::from_fn_with_state(
            (shared.clone(), overlaps.clone()),
            overlap::track,
        ));
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!("emulator server stopped: {e}");
            }
        });
        let ticker = tokio::spawn(tick_forever(shared.clone()));
        Ok(Emulator {
            shared,
            overlaps,
            addr: local,
            running: Arc::new(Mutex::new(Running {
                shutdown: Some(tx),
                server: Some(server),
                ticker: Some(ticker),
            })),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// `base_url() + "/v1"`, for async-openai's `OpenAIConfig::with_api_base`.
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.shared.base_url)
    }

    /// `base_url() + "/"` (trailing slash), for google-sheets4's `Sheets::base_url`/`root_url`.
    pub fn sheets_base_url(&self) -> String {
        format!("{}/", self.shared.base_url)
    }

    /// `base_url() + "/token"`: the OAuth token endpoint, also the JWT `aud` it expects.
    pub fn token_uri(&self) -> String {
        self.shared.token_uri()
    }

    /// A snapshot of the request counters.
    pub fn calls(&self) -> CallCounts {
        self.shared.lock().calls.clone()
    }

    /// Holds the next response at `point` (after its effect is applied, before it is sent) until
    /// [`Hold::release`] or the [`Hold`] is dropped. [`Hold::reached`] resolves when a call gets
    /// there: the moment for a test to kill the client.
    pub fn hold_next(&self, point: HoldPoint) -> Hold {
        holds::arm(&self.shared, point)
    }

    /// Replaces the injected faults.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.lock().faults = faults;
    }

    /// Stops the server (gracefully) and the batch ticker. Other clones stop working too.
    pub async fn shutdown(self) {
        let (tx, server, ticker) = {
            let mut running = self
                .running
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            (
                running.shutdown.take(),
                running.server.take(),
                running.ticker.take(),
            )
        };
        if let Some(ticker) = ticker {
            ticker.abort();
        }
        if let Some(tx) = tx {
            let _ = tx.send(());
        }
        if let Some(server) = server {
            // Graceful shutdown waits for open connections (clients keep them alive): bound it.
            let abort = server.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), server)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

/// The whole app: OpenAI, Sheets and the token endpoint.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/token", post(oauth::token))
        .route("/oauth2/v3/certs", get(identity::certs))
        .route(metadata_server::TOKEN_PATH, get(metadata_server::token))
        .route(metadata_server::EMAIL_PATH, get(metadata_server::email))
        .with_state(shared.clone())
        .merge(routes::router(shared.clone()))
        .merge(sheets::router(shared))
}

/// Advances every batch and background response one step per `config.step`.
async fn tick_forever(shared: Arc<Shared>) {
    let step = shared.config.step.max(Duration::from_millis(1));
    let mut interval = tokio::time::interval(step);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await;
    loop {
        interval.tick().await;
        tick(&shared);
    }
}

/// One step of every batch and background response.
pub(crate) fn tick(shared: &Shared) {
    let rows_per_step = shared.config.rows_per_step;
    let mut state = shared.lock();
    let state::State {
        batches,
        files,
        faults,
        hold,
        ..
    } = &mut *state;
    for job in batches.iter_mut() {
        job.advance(files, faults, *hold, rows_per_step);
    }
    lifecycle::advance(&mut state);
}
