//! Who is asking, taken from the request: the [`Caller`] (a verified Google ID token, or the
//! local owner in insecure development), the caller's access proof ([`AccessProofHeader`]), and the
//! per-user limits on job creation ([`limit_job_creation`]) and chat turns ([`limit_chat_turns`]),
//! and the per-user and per-spreadsheet limits on access checks ([`limit_access_proofs`]).
//! The only place of the API that knows how callers are authenticated.

use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use secrecy::SecretString;

use crate::api::error::ApiError;
use crate::api::state::{AppState, Authenticator};
use crate::auth::AuthError;
use almanac_protocol::ACCESS_PROOF_HEADER;

/// Who is asking: the owner of the jobs the request may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The caller's stable subject id (OIDC `sub`).
    pub sub: String,
    /// The caller's verified email.
    pub email: String,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // A middleware may have authenticated this request already.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let caller = match state.auth.as_ref() {
            Authenticator::LocalDevelopment => Caller {
                sub: "local".into(),
                email: "local@localhost".into(),
            },
            Authenticator::GoogleIdToken(verifier) => {
                let token = bearer_token(parts)?;
                let identity = verifier.verify(&token).await?;
                Caller {
                    sub: identity.sub,
                    email: identity.email,
                }
            }
        };
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// The text after `Bearer ` in the `Authorization` header, the only place a token is taken from:
/// never from a URL (RFC 6750 §2.3's `access_token` query parameter), which proxies and request
/// logs record. (The sidebar reads event streams with `fetch`, which sends the header.)
fn bearer_token(parts: &Parts) -> Result<String, AuthError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Err(AuthError::MissingToken);
    };
    let value = value
        .to_str()
        .map_err(|_| AuthError::MalformedToken("the Authorization header is not ASCII".into()))?;
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::MalformedToken(
            "the Authorization header must read `Bearer <token>`".into(),
        ));
    }
    match token.trim() {
        "" => Err(AuthError::MissingToken),
        token => Ok(token.to_owned()),
    }
}

/// The access proof from the `X-Almanac-Access-Proof` header (see `spreadsheet::access`): required with
/// [`Authenticator::GoogleIdToken`] on the calls that act on a spreadsheet (403
/// `access_not_proven` without it); optional in local development (where the service account's
/// access is trusted). It is checked against the caller and the spreadsheet by the jobs layer.
#[derive(Clone, Debug)]
pub struct AccessProofHeader(pub Option<SecretString>);

impl FromRequestParts<AppState> for AccessProofHeader {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let proof = parts
            .headers
            .get(ACCESS_PROOF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| SecretString::from(t.to_owned()));
        match (state.auth.as_ref(), proof) {
            (Authenticator::GoogleIdToken(_), None) => Err(ApiError {
                status: StatusCode::FORBIDDEN,
                code: almanac_protocol::ErrorCode::AccessNotProven,
                message: "prove that you can edit this spreadsheet first: POST /api/v1/spreadsheets/{spreadsheet_id}/access/challenge, write its nonce as developer metadata of the spreadsheet (the add-on does), POST …/access/proof with it, and send the proof it returns as `X-Almanac-Access-Proof: <proof>`".into(),
            }),
            (_, proof) => Ok(AccessProofHeader(proof)),
        }
    }
}

/// How long the caller must wait before another call counted under `key` (`jobs:<sub>`,
/// `chat:<sub>`, `access-proof:sheet:<id>`, …), limited to `per_minute`, or `None` when they may
/// now (and the slot is taken). With a shared store (several replicas) the quota is counted in
/// the database, so that it holds across replicas (`Store::take_rate_slot`, the same GCRA rule as
/// governor's); else in this process's governor `limiter`. A database failure lets the call
/// through (the limit protects the service, it is no security boundary).
async fn refusal(
    state: &AppState,
    limiter: &crate::api::state::PerCallerRateLimiter,
    key: String,
    per_minute: u32,
) -> Option<std::time::Duration> {
    let store = &state.jobs.services().store;
    if !store.is_shared() {
        return limiter
            .check_key(&key)
            .err()
            .map(|not_until| not_until.wait_time_from(DefaultClock::default().now()));
    }
    let per_minute = per_minute.max(1);
    let period = std::time::Duration::from_secs(60) / per_minute;
    match store.take_rate_slot(&key, period, per_minute).await {
        Ok(wait) => wait,
        Err(e) => {
            tracing::error!(error = %e, "cannot count the rate in the database; letting the call through");
            None
        }
    }
}

/// Refuses a job creation with 429 and `Retry-After` (whole seconds) when the caller has used up
/// their quota ([`ApiSettings::jobs_per_minute`]), on every replica together.
pub async fn limit_job_creation(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
    next: Next,
) -> Response {
    let per_minute = state.settings.jobs_per_minute;
    let key = format!("jobs:{}", caller.sub);
    let wait = refusal(&state, &state.job_limiter, key, per_minute).await;
    match wait {
        Some(wait) => too_many(wait, |secs| {
            format!("you may create {per_minute} jobs per minute: try again in {secs} s")
        }),
        None => next.run(request).await,
    }
}

/// Refuses a chat turn (`POST /chat`, `POST /threads/{id}/runs`) with 429 and `Retry-After` when
/// the caller has used up their quota (`ChatSettings::turns_per_minute`).
pub async fn limit_chat_turns(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
    next: Next,
) -> Response {
    let per_minute = state.settings.chat.turns_per_minute;
    let key = format!("chat:{}", caller.sub);
    let wait = refusal(&state, &state.chat_limiter, key, per_minute).await;
    match wait {
        Some(wait) => too_many(wait, |secs| {
            format!("you may ask {per_minute} questions per minute: try again in {secs} s")
        }),
        None => next.run(request).await,
    }
}

/// The two access-check calls, each counted alone.
#[derive(Clone, Copy, Debug)]
enum AccessCheck {
    /// `POST …/access/challenge`.
    Challenge,
    /// `POST …/access/proof` (a service-account Sheets write).
    Proof,
}

impl AccessCheck {
    fn key(self) -> &'static str {
        match self {
            AccessCheck::Challenge => "access-challenge",
            AccessCheck::Proof => "access-proof",
        }
    }
}

/// Refuses `POST …/access/challenge` with 429 and `Retry-After` past the caller's or the
/// spreadsheet's quota (`LimitSettings::access_checks_per_user`, `…_per_spreadsheet`).
pub async fn limit_access_challenges(
    state: State<AppState>,
    caller: Caller,
    spreadsheet_id: Path<String>,
    request: Request,
    next: Next,
) -> Response {
    limit_access_checks(
        AccessCheck::Challenge,
        state,
        caller,
        spreadsheet_id,
        request,
        next,
    )
    .await
}

/// Refuses `POST …/access/proof` with 429 and `Retry-After` past the caller's or the
/// spreadsheet's quota: each proof is a service-account Sheets write, and Sheets' write quota is
/// the project's, shared by every user.
pub async fn limit_access_proofs(
    state: State<AppState>,
    caller: Caller,
    spreadsheet_id: Path<String>,
    request: Request,
    next: Next,
) -> Response {
    limit_access_checks(
        AccessCheck::Proof,
        state,
        caller,
        spreadsheet_id,
        request,
        next,
    )
    .await
}

/// The per-user quota first (a refused user takes no slot of the spreadsheet's), then the
/// spreadsheet's, on every replica together.
async fn limit_access_checks(
    check: AccessCheck,
    State(state): State<AppState>,
    caller: Caller,
    Path(spreadsheet_id): Path<String>,
    request: Request,
    next: Next,
) -> Response {
    let limits = &state.settings.limits;
    let (per_user, per_sheet) = (
        limits.access_checks_per_user,
        limits.access_checks_per_spreadsheet,
    );
    let kind = check.key();
    let user_key = format!("{kind}:user:{}", caller.sub);
    if let Some(wait) = refusal(&state, &state.access_user_limiter, user_key, per_user).await {
        return too_many(wait, |secs| {
            format!("you may check your access {per_user} times per minute: try again in {secs} s")
        });
    }
    let sheet_key = format!("{kind}:sheet:{spreadsheet_id}");
    if let Some(wait) = refusal(&state, &state.access_sheet_limiter, sheet_key, per_sheet).await {
        return too_many(wait, |secs| {
            format!(
                "access to this spreadsheet may be checked {per_sheet} times per minute: try again in {secs} s"
            )
        });
    }
    next.run(request).await
}

/// The 429 (`rate_limited`, `Retry-After` in whole seconds, at least 1) for a caller who must
/// wait `wait`; `message` gets the seconds to wait.
fn too_many(wait: std::time::Duration, message: impl Fn(u64) -> String) -> Response {
    let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    let mut response = ApiError {
        status: StatusCode::TOO_MANY_REQUESTS,
        code: almanac_protocol::ErrorCode::RateLimited,
        message: message(secs),
    }
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}
