//! The state every handler shares: the jobs layer, how callers are authenticated, the per-user
//! limiter of job creation, and the API's settings.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::auth::IdTokenVerifier;
use crate::config::ApiSettings;
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

/// Per-user limiter of job creation, keyed by the caller's `sub`.
pub type JobRateLimiter = DefaultKeyedRateLimiter<String>;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    /// Job operations.
    pub jobs: JobService,
    /// How callers are identified.
    pub auth: Arc<Authenticator>,
    /// Job creations per user.
    pub job_limiter: Arc<JobRateLimiter>,
    /// CORS and limits.
    pub settings: Arc<ApiSettings>,
}

impl AppState {
    /// State for `jobs`, authenticating with `auth`, limited by `settings`.
    pub fn new(jobs: JobService, auth: Authenticator, settings: ApiSettings) -> AppState {
        let per_minute = NonZeroU32::new(settings.jobs_per_minute).unwrap_or(NonZeroU32::MIN);
        AppState {
            jobs,
            auth: Arc::new(auth),
            job_limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
            settings: Arc::new(settings),
        }
    }
}
