//! Who is asking, taken from the request: the [`Caller`] (a verified Google ID token, or the
//! local owner in insecure development), the caller's access proof ([`AccessProofHeader`]), and the
//! per-user limits on job creation ([`limit_job_creation`]) and chat turns ([`limit_chat_turns`]).
//! The only place of the API that knows how callers are authenticated.

use axum::extract::{FromRequestParts, Query, Request, State};
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

/// The text after `Bearer ` in the `Authorization` header — or, for the event stream only, the
/// `access_token` query parameter (RFC 6750 §2.3), because a browser's `EventSource` cannot send
/// headers. Request logs record the path without the query, so such a token is not logged.
fn bearer_token(parts: &Parts) -> Result<String, AuthError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return query_token(parts).ok_or(AuthError::MissingToken);
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

/// `access_token` from the query of `GET …/jobs/{id}/events`; `None` on any other route.
fn query_token(parts: &Parts) -> Option<String> {
    if parts.method != axum::http::Method::GET || !parts.uri.path().ends_with("/events") {
        return None;
    }
    let Query(query) =
        Query::<std::collections::HashMap<String, String>>::try_from_uri(&parts.uri).ok()?;
    query
        .get("access_token")
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
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

/// How long the caller must wait before another call of the kind `kind` (`jobs`, `chat`), limited
/// to `per_minute`, or `None` when they may now (and the slot is taken). With a shared store
/// (several replicas) the quota is counted in the database, so that it holds across replicas
/// (`Store::take_rate_slot`, the same GCRA rule as governor's); else in this process's governor
/// `limiter`. A database failure lets the call through (the limit protects the service, it is
/// no security boundary).
async fn refusal(
    state: &AppState,
    limiter: &crate::api::state::PerCallerRateLimiter,
    kind: &str,
    caller: &Caller,
    per_minute: u32,
) -> Option<std::time::Duration> {
    let store = &state.jobs.services().store;
    if !store.is_shared() {
        return limiter
            .check_key(&caller.sub)
            .err()
            .map(|not_until| not_until.wait_time_from(DefaultClock::default().now()));
    }
    let per_minute = per_minute.max(1);
    let period = std::time::Duration::from_secs(60) / per_minute;
    let key = format!("{kind}:{}", caller.sub);
    match store.take_rate_slot(&key, period, per_minute).await {
        Ok(wait) => wait,
        Err(e) => {
            tracing::error!(error = %e, kind, "cannot count the rate in the database; letting the call through");
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
    let wait = refusal(&state, &state.job_limiter, "jobs", &caller, per_minute).await;
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
    let wait = refusal(&state, &state.chat_limiter, "chat", &caller, per_minute).await;
    match wait {
        Some(wait) => too_many(wait, |secs| {
            format!("you may ask {per_minute} questions per minute: try again in {secs} s")
        }),
        None => next.run(request).await,
    }
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
