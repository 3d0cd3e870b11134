//! Set-up checks of a real deployment, one setting at a time: the OpenAI key, the service account
//! and the Sheets API, the OAuth client ids, Google's signing keys, the database's migrations, the
//! sidebar bundle and CORS. `almanac doctor` (`cli::doctor`) runs them on the settings of
//! `almanac serve` (same flags, environment and `.env`) and `GET /api/v1/health?deep=true`
//! (`api::handlers::health`) on the running server's, through [`HealthCache`].
//!
//! Checks that call out (OpenAI, Google's token endpoint and Sheets API, the JWKS, the database)
//! run concurrently, each within [`CHECK_TIMEOUT`]. Each outcome says what was found and, when it
//! failed, what to do ([`almanac_protocol::HealthCheck`]); no outcome holds a secret (keys,
//! tokens, a database URL's password).
//!
//! - [`deployment`]: the settings the checks look at ([`Deployment`]).
//! - [`checks`]: the checks themselves.

pub mod checks;
pub mod deployment;

use std::sync::Arc;
use std::time::{Duration, Instant};

use almanac_protocol::{CheckStatus, DeepHealth};
use tokio::sync::Mutex;

pub use deployment::{CHECK_TIMEOUT, Database, Deployment, ServiceAccount};

/// How long [`HealthCache`] answers with the same result.
pub const CACHE_FOR: Duration = Duration::from_secs(60);

/// Runs every check (those that call out concurrently) and gathers them, in a fixed order.
pub async fn run(deployment: &Deployment) -> DeepHealth {
    let (openai, (service_account, sheets), jwks, database) = tokio::join!(
        checks::openai_key(deployment),
        checks::service_account_and_sheets(deployment),
        checks::jwks(deployment),
        checks::database(deployment),
    );
    let checks = vec![
        openai,
        service_account,
        sheets,
        checks::oauth_client_ids(deployment),
        jwks,
        database,
        checks::sidebar_bundle(deployment),
        checks::cors(deployment),
    ];
    let failed = checks.iter().any(|c| c.status == CheckStatus::Failed);
    DeepHealth {
        status: if failed {
            CheckStatus::Failed
        } else {
            CheckStatus::Ok
        },
        version: env!("CARGO_PKG_VERSION").to_owned(),
        checked_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        checks,
    }
}

/// The deep health check of a running server: the result of [`run`] kept for [`CACHE_FOR`], and
/// computed by one caller at a time (others wait for it), so however often it is asked, the
/// server makes at most one round of outside calls a minute.
#[derive(Debug)]
pub struct HealthCache {
    deployment: Deployment,
    last: Mutex<Option<(Instant, DeepHealth)>>,
}

impl HealthCache {
    /// A cache of `deployment`'s checks; nothing runs before the first [`HealthCache::get`].
    pub fn new(deployment: Deployment) -> Arc<HealthCache> {
        Arc::new(HealthCache {
            deployment,
            last: Mutex::new(None),
        })
    }

    /// The last result if younger than [`CACHE_FOR`], else a new one.
    pub async fn get(&self) -> DeepHealth {
        let mut last = self.last.lock().await;
        if let Some((at, health)) = last.as_ref()
            && at.elapsed() < CACHE_FOR
        {
            return health.clone();
        }
        let health = run(&self.deployment).await;
        *last = Some((Instant::now(), health.clone()));
        health
    }
}
