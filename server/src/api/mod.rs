//! The HTTP surface under `/api/v1`, the only module that speaks HTTP to the sidebar and the CLI.
//! [`router`] builds it for `main` and tests alike. Handlers take a [`Caller`] (who is asking) and
//! delegate to [`crate::jobs::JobService`]; how a caller is authenticated lives in [`Caller`]'s
//! extractor (and [`crate::auth`]) only, so handlers do not change when authentication does.
//!
//! Around the handlers: CORS ([`cors`]), per-route body limits, a per-user rate limit on job
//! creation ([`limit_job_creation`], with governor), and the OpenAPI document ([`openapi`]) at
//! `/api/v1/openapi.json` with human docs at `/docs`.

pub mod cors;
pub mod error;
pub mod openapi;

use std::convert::Infallible;
use std::num::NonZeroU32;
use std::sync::Arc;

use almanac_protocol::{
    Budget, ErrorBody, Estimate, EstimateRequest, Health, Job, JobEvent, JobList, ModelList,
    NewJobRequest, SetBudgetRequest,
};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{Stream, StreamExt, stream};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use secrecy::SecretString;
use serde::Deserialize;
use tokio_stream::wrappers::BroadcastStream;
use tower_http::trace::TraceLayer;

pub use error::ApiError;

use crate::auth::{AuthError, IdTokenVerifier};
use crate::config::ApiSettings;
use crate::jobs::JobService;

/// Largest `POST /estimate` body, in bytes (an estimate of 50,000 rows fits).
pub const MAX_ESTIMATE_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Largest body of every other route, in bytes (a job names row spans, not rows).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The header that carries the caller's own Google OAuth access token
/// (`ScriptApp.getOAuthToken()`), proof of access to a spreadsheet when a job is created.
pub use almanac_protocol::USER_TOKEN_HEADER;

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

/// Who is asking: the owner of the jobs the request may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The caller's stable subject id (OIDC `sub`).
    pub sub: String,
    /// The caller's verified email.
    pub email: String,
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let status = match e {
            AuthError::KeysUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        };
        ApiError {
            status,
            code: e.code(),
            message: e.to_string(),
        }
    }
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
    match state.job_limiter.check_key(&caller.sub) {
        Ok(()) => next.run(request).await,
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let secs = secs.max(1);
            let mut response = ApiError {
                status: StatusCode::TOO_MANY_REQUESTS,
                code: "rate_limited",
                message: format!(
                    "you may create {} jobs per minute: try again in {secs} s",
                    state.settings.jobs_per_minute
                ),
            }
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            response
        }
    }
}

/// The API router: every route under `/api/v1`, the OpenAPI document and `/docs`.
pub fn router(state: AppState) -> Router {
    let create = post(create_job)
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            limit_job_creation,
        ))
        .get(list_jobs);
    let api = Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi::document))
        .route("/models", get(models))
        .route(
            "/estimate",
            post(estimate).layer(DefaultBodyLimit::max(MAX_ESTIMATE_BODY_BYTES)),
        )
        .route("/jobs", create)
        .route("/jobs/{id}", get(get_job))
        .route("/jobs/{id}/status", get(job_status))
        .route("/jobs/{id}/events", get(job_events))
        .route("/jobs/{id}/cancel", post(cancel_job))
        .route("/jobs/{id}/retry", post(retry_job))
        .route(
            "/spreadsheets/{spreadsheet_id}/budget",
            get(get_budget).put(put_budget),
        )
        .fallback(not_found);
    let cors = cors::layer(&state.settings.cors_origins);
    Router::new()
        .nest("/api/v1", api)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
        .merge(openapi::docs())
        .layer(cors)
        .layer(
            // The path only: a query may hold an `access_token` (see `bearer_token`).
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
            }),
        )
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint: see the API under /api/v1")
}

/// `GET /api/v1/health`.
#[utoipa::path(get, path = "/api/v1/health", tag = "meta", security(()),
    responses((status = 200, description = "The server is up", body = Health)))]
async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// `GET /api/v1/models`: the catalogue with prices.
#[utoipa::path(get, path = "/api/v1/models", tag = "models",
    responses(
        (status = 200, description = "Known models with prices per 1M tokens", body = ModelList),
        openapi::AuthResponses,
    ))]
async fn models(State(state): State<AppState>, _caller: Caller) -> Json<ModelList> {
    Json(state.jobs.models())
}

/// `POST /api/v1/estimate`: tokens and cost of generating these rows, in batch and realtime mode.
#[utoipa::path(post, path = "/api/v1/estimate", tag = "models", request_body = EstimateRequest,
    responses(
        (status = 200, description = "Tokens and cost in batch and realtime mode", body = Estimate),
        (status = 400, description = "The request is malformed, a row is invalid, or the model is unknown", body = ErrorBody),
        (status = 413, description = "The body is larger than 16 MiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The body is JSON of the wrong shape", body = ErrorBody),
        openapi::AuthResponses,
    ))]
async fn estimate(
    State(state): State<AppState>,
    _caller: Caller,
    body: Result<Json<EstimateRequest>, JsonRejection>,
) -> Result<Json<Estimate>, ApiError> {
    let Json(req) = body?;
    Ok(Json(state.jobs.estimate(req).await?))
}

/// `GET /api/v1/spreadsheets/{spreadsheet_id}/budget`: the monthly budget and this month's
/// commitments.
#[utoipa::path(get, path = "/api/v1/spreadsheets/{spreadsheet_id}/budget", tag = "budget",
    params(("spreadsheet_id" = String, Path, description = "The spreadsheet's id")),
    security(("google_id_token" = [], "google_user_token" = [])),
    responses(
        (status = 200, description = "The budget (`monthly_usd` null when none) and what this month's jobs committed", body = Budget),
        (status = 400, description = "The spreadsheet id is not valid", body = ErrorBody),
        (status = 403, description = "`no_access_to_spreadsheet`", body = ErrorBody),
        (status = 404, description = "`spreadsheet_not_found`", body = ErrorBody),
        openapi::AuthResponses,
    ))]
async fn get_budget(
    State(state): State<AppState>,
    _caller: Caller,
    UserToken(user_token): UserToken,
    Path(spreadsheet_id): Path<String>,
) -> Result<Json<Budget>, ApiError> {
    Ok(Json(
        state
            .jobs
            .budget(&spreadsheet_id, user_token.as_ref())
            .await?,
    ))
}

/// `PUT /api/v1/spreadsheets/{spreadsheet_id}/budget`: sets (or with `null` removes) the monthly
/// budget of a spreadsheet; anyone who can open the spreadsheet may.
#[utoipa::path(put, path = "/api/v1/spreadsheets/{spreadsheet_id}/budget", tag = "budget",
    params(("spreadsheet_id" = String, Path, description = "The spreadsheet's id")),
    request_body = SetBudgetRequest,
    security(("google_id_token" = [], "google_user_token" = [])),
    responses(
        (status = 200, description = "The budget as now set", body = Budget),
        (status = 400, description = "`monthly_usd` is negative or not a number, or the spreadsheet id is not valid", body = ErrorBody),
        (status = 403, description = "`no_access_to_spreadsheet`", body = ErrorBody),
        (status = 404, description = "`spreadsheet_not_found`", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The body is JSON of the wrong shape", body = ErrorBody),
        openapi::AuthResponses,
    ))]
async fn put_budget(
    State(state): State<AppState>,
    _caller: Caller,
    UserToken(user_token): UserToken,
    Path(spreadsheet_id): Path<String>,
    body: Result<Json<SetBudgetRequest>, JsonRejection>,
) -> Result<Json<Budget>, ApiError> {
    let Json(req) = body?;
    if let Some(usd) = req.monthly_usd
        && !(usd.is_finite() && usd >= 0.0)
    {
        return Err(ApiError::invalid(format!(
            "monthly_usd must be a number of US dollars >= 0 (or null to remove the budget), not {usd}"
        )));
    }
    let budget = state
        .jobs
        .set_budget(&spreadsheet_id, user_token.as_ref(), req.monthly_usd)
        .await?;
    Ok(Json(budget))
}

/// `POST /api/v1/jobs`: 201 with the new job and its rows.
#[utoipa::path(post, path = "/api/v1/jobs", tag = "jobs", request_body = NewJobRequest,
    security(("google_id_token" = [], "google_user_token" = [])),
    responses(
        (status = 201, description = "The job, with its rows", body = Job),
        (status = 400, description = "The request is malformed (the message says what to change) or the model is unknown", body = ErrorBody),
        (status = 401, description = "No valid Google ID token, or no `X-Goog-User-Token`, or Google refused it", body = ErrorBody),
        (status = 403, description = "`no_access_to_spreadsheet`: the caller's Google account cannot open the spreadsheet", body = ErrorBody),
        (status = 404, description = "`spreadsheet_not_found` or `sheet_not_found`", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The body is JSON of the wrong shape; or `over_job_budget` / `over_monthly_budget`: the estimate passes `max_cost_usd` or the spreadsheet's monthly budget (the message has the figures)", body = ErrorBody),
        (status = 429, description = "Too many jobs created by this user; see `Retry-After`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Google Sheets or Google's signing keys cannot be reached right now", body = ErrorBody),
    ))]
async fn create_job(
    State(state): State<AppState>,
    caller: Caller,
    UserToken(user_token): UserToken,
    body: Result<Json<NewJobRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let Json(req) = body?;
    let job = state
        .jobs
        .create_with(&caller.sub, user_token.as_ref(), req.job, req.options)
        .await?;
    Ok((StatusCode::CREATED, Json(job)))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    spreadsheet_id: String,
}

/// `GET /api/v1/jobs?spreadsheet_id=…`: the caller's jobs on a spreadsheet, newest first.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs",
    params(("spreadsheet_id" = String, Query, description = "The spreadsheet's id")),
    responses(
        (status = 200, description = "The caller's jobs on the spreadsheet, newest first, without rows", body = JobList),
        (status = 400, description = "`spreadsheet_id` is missing", body = ErrorBody),
        openapi::AuthResponses,
    ))]
async fn list_jobs(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<JobList>, ApiError> {
    let Query(q) = query?;
    let jobs = state.jobs.list(&caller.sub, &q.spreadsheet_id).await?;
    Ok(Json(JobList { jobs }))
}

/// `GET /api/v1/jobs/{id}`: status, `request_counts` and per-row states.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The job with its rows", body = Job),
        (status = 404, description = "No such job for this caller (another user's job is reported the same way)", body = ErrorBody),
        openapi::AuthResponses,
    ))]
async fn get_job(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    Ok(Json(state.jobs.get(&caller.sub, &id).await?))
}

/// `GET /api/v1/jobs/{id}/status`: the job's progress alone — status, `request_counts` and row
/// counts, the same `JobEvent` its event stream sends — without its rows. For pollers: a few
/// hundred bytes and three indexed queries, however large the job.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/status", tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The job's progress (no rows)", body = JobEvent),
        (status = 404, description = "No such job for this caller (another user's job is reported the same way)", body = ErrorBody),
        openapi::AuthResponses,
    ))]
async fn job_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobEvent>, ApiError> {
    Ok(Json(state.jobs.event(&caller.sub, &id).await?))
}

/// `POST /api/v1/jobs/{id}/cancel`: 202 with the job; 409 when it already ended.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/cancel", tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 202, description = "Cancelling: the batch is cancelled and finished rows are written", body = Job),
        (status = 404, description = "No such job for this caller", body = ErrorBody),
        (status = 409, description = "The job has already ended", body = ErrorBody),
        openapi::AuthResponses,
    ))]
async fn cancel_job(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(state.jobs.cancel(&caller.sub, &id).await?),
    ))
}

/// `POST /api/v1/jobs/{id}/retry`: 202 with the job; its failed rows are sent again. 409 while
/// the job runs or when nothing failed.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 202, description = "Retrying: the failed rows are sent again in a new batch", body = Job),
        (status = 404, description = "No such job for this caller", body = ErrorBody),
        (status = 409, description = "The job is still running (`job_running`) or has no failed rows (`nothing_to_retry`)", body = ErrorBody),
        openapi::AuthResponses,
    ))]
async fn retry_job(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(state.jobs.retry(&caller.sub, &id).await?),
    ))
}

/// `GET /api/v1/jobs/{id}/events`: Server-Sent Events named `progress`, whose data is a
/// `JobEvent` as JSON; the current state first, then every change, ending after the job ends.
/// A comment is sent every 15 s to keep proxies from closing the stream.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/events", tag = "jobs",
    params(
        ("id" = String, Path, description = "The job's id"),
        ("access_token" = Option<String>, Query, description = "The Google ID token, for clients that cannot send an Authorization header (a browser's EventSource); ignored when the header is present"),
    ),
    responses(
        (status = 200, description = "Server-Sent Events named `progress` whose data is a `JobEvent` as JSON, until the job ends", content_type = "text/event-stream", body = openapi::ProgressEvent),
        (status = 404, description = "No such job for this caller", body = ErrorBody),
        openapi::AuthResponses,
    ))]
async fn job_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Subscribe before reading the current state so that no change falls in between.
    let updates = BroadcastStream::new(state.jobs.subscribe());
    let first = state.jobs.event(&caller.sub, &id).await?;
    let job_id = id.clone();
    let changes = updates.filter_map(move |msg| {
        let keep = msg.ok().filter(|e| e.job_id == job_id);
        futures::future::ready(keep)
    });
    let source = Box::pin(stream::once(futures::future::ready(first)).chain(changes));
    // End right after the first final status, without waiting for another message.
    let events = stream::unfold((source, false), |(mut source, ended)| async move {
        if ended {
            return None;
        }
        let event = source.next().await?;
        let ended = event.status.is_terminal();
        Some((event, (source, ended)))
    })
    .map(|event| {
        Ok(Event::default()
            .event("progress")
            .json_data(&event)
            .unwrap_or_else(|_| Event::default().comment("unserializable event")))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15))))
}
