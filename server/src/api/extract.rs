//! Who is asking, taken from the request: the [`Caller`] (a verified Google ID token, or the
//! local owner in insecure development), the caller's own OAuth token ([`UserToken`]), and the
//! per-user limits on job creation ([`limit_job_creation`]) and chat turns
//! ([`limit_chat_turns`]). The only place of the API that knows how callers are authenticated.

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
use almanac_protocol::USER_TOKEN_HEADER;

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

/// The caller's own Google OAuth access token from the `X-Goog-User-Token` header, which proves
/// access to a spreadsheet. Required with [`Authenticator::GoogleIdToken`]; optional in local
/// development (where the service account's access is trusted).
#[derive(Clone, Debug)]
pub struct UserToken(pub Option<SecretString>);

impl FromRequestParts<AppState> for UserToken {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(USER_TOKEN_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| SecretString::from(t.to_owned()));
        match (state.auth.as_ref(), token) {
            (Authenticator::GoogleIdToken(_), None) => Err(ApiError {
                status: StatusCode::UNAUTHORIZED,
                code: "missing_user_token",
                message: "send your Google OAuth token from ScriptApp.getOAuthToken() as `X-Goog-User-Token: <token>`: it proves you can open the spreadsheet".into(),
            }),
            (_, token) => Ok(UserToken(token)),
        }
    }
}

/// Refuses a job creation with 429 and `Retry-After` (whole seconds) when the caller has used up
/// their quota ([`ApiSettings::jobs_per_minute`]).
pub async fn limit_job_creation(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
    next: Next,
) -> Response {
    let per_minute = state.settings.jobs_per_minute;
    match over_quota(&state.job_limiter, &caller.sub, |secs| {
        format!("you may create {per_minute} jobs per minute: try again in {secs} s")
    }) {
        Some(refusal) => refusal,
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
    match over_quota(&state.chat_limiter, &caller.sub, |secs| {
        format!("you may ask {per_minute} questions per minute: try again in {secs} s")
    }) {
        Some(refusal) => refusal,
        None => next.run(request).await,
    }
}

/// The 429 (`rate_limited`, `Retry-After` in whole seconds, at least 1) when `sub` has no
/// quota left in `limiter`; `message` gets the seconds to wait.
fn over_quota(
    limiter: &crate::api::state::JobRateLimiter,
    sub: &str,
    message: impl Fn(u64) -> String,
) -> Option<Response> {
    let not_until = limiter.check_key(&sub.to_owned()).err()?;
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    let mut response = ApiError {
        status: StatusCode::TOO_MANY_REQUESTS,
        code: "rate_limited",
        message: message(secs),
    }
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    Some(response)
}
