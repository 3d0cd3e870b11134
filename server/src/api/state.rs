//! The state every handler shares: the jobs layer, the chat, how callers are authenticated, the
//! per-user limiters of job creation, chat turns and access checks, the open streams per user, and
//! the API's settings.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::api::streams::StreamSlots;
use crate::auth::IdTokenVerifier;
use crate::chat::ChatService;
use crate::config::ApiSettings;
use crate::doctor::HealthCache;
use crate::jobs::JobService;

/// How callers are identified.
#[derive(Clone, Debug)]
pub enum Authenticator {
    /// Local development: every caller is the single owner `local`. Only for
    /// `--insecure-dev-no-auth`.
    LocalDevelopment,
    /// `Authorization: Bearer <Google ID token>`, verified by [`IdTokenVerifier`].
    GoogleIdToken(Arc<IdTokenVerifier>),
}

/// A per-caller rate limiter (in one process), keyed by what it counts (`jobs:<sub>`,
/// `access-proof:sheet:<id>`, …): one per quota.
pub type PerCallerRateLimiter = DefaultKeyedRateLimiter<String>;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    /// Job operations.
    pub jobs: JobService,
    /// Chat operations.
    pub chat: ChatService,
    /// How callers are identified.
    pub auth: Arc<Authenticator>,
    /// Job creations per user.
    pub job_limiter: Arc<PerCallerRateLimiter>,
    /// Chat turns per user (same keyed limiter type, its own quota).
    pub chat_limiter: Arc<PerCallerRateLimiter>,
    /// Access checks per user (keyed `<kind>:user:<sub>`).
    pub access_user_limiter: Arc<PerCallerRateLimiter>,
    /// Access checks per spreadsheet (keyed `<kind>:sheet:<id>`).
    pub access_sheet_limiter: Arc<PerCallerRateLimiter>,
    /// Open event and chat streams per user.
    pub streams: StreamSlots,
    /// CORS and limits.
    pub settings: Arc<ApiSettings>,
    /// The deep health check (`GET /api/v1/health?deep=true`), when the server was given one.
    pub deep_health: Option<Arc<HealthCache>>,
}

impl AppState {
    /// State for `jobs` and `chat`, authenticating with `auth`, limited by `settings`.
    pub fn new(
        jobs: JobService,
        chat: ChatService,
        auth: Authenticator,
        settings: ApiSettings,
    ) -> AppState {
        let store = jobs.services().store.clone();
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        AppState {
            jobs,
            chat,
            auth: Arc::new(auth),
            job_limiter: Arc::new(RateLimiter::keyed(quota(settings.jobs_per_minute))),
            chat_limiter: Arc::new(RateLimiter::keyed(quota(settings.chat.turns_per_minute))),
            access_user_limiter: Arc::new(RateLimiter::keyed(quota(
                settings.limits.access_checks_per_user,
            ))),
            access_sheet_limiter: Arc::new(RateLimiter::keyed(quota(
                settings.limits.access_checks_per_spreadsheet,
            ))),
            streams: StreamSlots::new(settings.limits.streams_per_user, Some(store)),
            settings: Arc::new(settings),
            deep_health: None,
        }
    }

    /// The same state, answering `GET /api/v1/health?deep=true` with `health`'s checks.
    pub fn with_deep_health(mut self, health: Arc<HealthCache>) -> AppState {
        self.deep_health = Some(health);
        self
    }
}
