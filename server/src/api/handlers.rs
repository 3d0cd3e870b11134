//! The handlers of `/api/v1`: each takes a [`Caller`] (who is asking) and delegates to
//! [`JobService`](crate::jobs::JobService); their `#[utoipa::path]` annotations are the OpenAPI
//! document's operations.

use std::convert::Infallible;

use almanac_core::ids::JobId;
use almanac_protocol::{
    AccessChallenge, AccessProof, AccessProofRequest, Budget, CheckStatus, DeepHealth, ErrorBody,
    Estimate, EstimateRequest, Health, Job, JobEvent, JobList, ModelList, NewJobRequest,
    SetBudgetRequest,
};
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse as _, Response};
use futures::{Stream, StreamExt, stream};
use serde::Deserialize;
use tokio_stream::wrappers::BroadcastStream;

use crate::api::error::{ApiError, CreateRefusal};
use crate::api::extract::{AccessProofHeader, Caller};
use crate::api::job_body::job_response;
use crate::api::responses::{AuthResponses, HealthAnswer, ProgressEvent};
use crate::api::state::AppState;

/// Any path under `/api/v1` that is no route.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint: see the API under /api/v1")
}

/// `GET /`: the API's name, version and where its docs are (the seed backend's root endpoint).
#[utoipa::path(get, path = "/", tag = "meta", security(()),
    responses((status = 200, description = "What this server is", body = almanac_protocol::chat::ApiInfo)))]
pub async fn root() -> Json<almanac_protocol::chat::ApiInfo> {
    Json(almanac_protocol::chat::ApiInfo {
        name: "Almanac API".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        docs: "/docs".into(),
        openapi: "/api/v1/openapi.json".into(),
    })
}

/// The query of `GET /api/v1/health`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HealthQuery {
    /// `true`: run the set-up checks of the deployment (OpenAI key, service account, Sheets API,
    /// OAuth client ids, Google's signing keys, database migrations, sidebar bundle, CORS); the
    /// result is kept for a minute.
    #[serde(default)]
    pub deep: bool,
}

/// `GET /api/v1/health`: the server is up; with `?deep=true`, the deployment's set-up checks.
///
/// The deep form needs no credentials, like the plain one (load balancers and uptime checks call
/// it), so it is bounded instead: its result is kept for a minute and computed by one request at a
/// time, so however often it is called the server makes at most one round of outside calls a
/// minute; and it never shows a secret (keys, tokens, a database password). Liveness probes should
/// use the plain form: the deep one answers 503 when OpenAI or Google cannot be reached.
#[utoipa::path(get, path = "/api/v1/health", tag = "meta", security(()),
    params(HealthQuery),
    responses(
        (status = 200, description = "The server is up (`Health`); with `deep=true`, every set-up check passed (`DeepHealth`)", body = HealthAnswer),
        (status = 400, description = "`deep` is not `true` or `false`", body = ErrorBody),
        (status = 503, description = "With `deep=true`: a set-up check failed; each check says what is wrong and what to do", body = DeepHealth),
    ))]
pub async fn health(
    State(state): State<AppState>,
    query: Result<Query<HealthQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query?;
    if !q.deep {
        return Ok(Json(Health {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        })
        .into_response());
    }
    let Some(cache) = &state.deep_health else {
        return Err(ApiError::not_found(
            "this server was built without the deep health check",
        ));
    };
    let health = cache.get().await;
    let status = match health.status {
        CheckStatus::Failed => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::OK,
    };
    Ok((status, Json(health)).into_response())
}

/// `GET /api/v1/models`: the catalogue with prices.
#[utoipa::path(get, path = "/api/v1/models", tag = "models",
    responses(
        (status = 200, description = "Known models with prices per 1M tokens", body = ModelList),
        AuthResponses,
    ))]
pub async fn models(State(state): State<AppState>, _caller: Caller) -> Json<ModelList> {
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
        AuthResponses,
    ))]
pub async fn estimate(
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
    security(("google_id_token" = [], "access_proof" = [])),
    responses(
        (status = 200, description = "The budget (`monthly_usd` null when none) and what this month's jobs committed", body = Budget),
        (status = 400, description = "The spreadsheet id is not valid", body = ErrorBody),
        (status = 403, description = "`access_not_proven`: no valid `X-Almanac-Access-Proof` for this caller and spreadsheet", body = ErrorBody),
        AuthResponses,
    ))]
pub async fn get_budget(
    State(state): State<AppState>,
    caller: Caller,
    AccessProofHeader(proof): AccessProofHeader,
    Path(spreadsheet_id): Path<String>,
) -> Result<Json<Budget>, ApiError> {
    Ok(Json(
        state
            .jobs
            .budget(&caller.sub, &spreadsheet_id, proof.as_ref())
            .await?,
    ))
}

/// `PUT /api/v1/spreadsheets/{spreadsheet_id}/budget`: sets (or with `null` removes) the monthly
/// budget of a spreadsheet; anyone who can edit the spreadsheet may, up to the operator's default
/// budget unless the operator allows more.
#[utoipa::path(put, path = "/api/v1/spreadsheets/{spreadsheet_id}/budget", tag = "budget",
    params(("spreadsheet_id" = String, Path, description = "The spreadsheet's id")),
    request_body = SetBudgetRequest,
    security(("google_id_token" = [], "access_proof" = [])),
    responses(
        (status = 200, description = "The budget as now set", body = Budget),
        (status = 400, description = "`monthly_usd` is negative or not a number, or the spreadsheet id is not valid", body = ErrorBody),
        (status = 403, description = "`access_not_proven`: no valid `X-Almanac-Access-Proof` for this caller and spreadsheet; or `budget_above_default`: the operator set a default spreadsheet budget (`ALMANAC_SPREADSHEET_BUDGET_USD`) and this one is above it or removes it, which the operator does not allow", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The body is JSON of the wrong shape", body = ErrorBody),
        AuthResponses,
    ))]
pub async fn put_budget(
    State(state): State<AppState>,
    caller: Caller,
    AccessProofHeader(proof): AccessProofHeader,
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
        .set_budget(
            &caller.sub,
            &spreadsheet_id,
            proof.as_ref(),
            req.monthly_usd,
        )
        .await?;
    Ok(Json(budget))
}

/// `POST /api/v1/jobs`: 201 with the new job and its rows.
#[utoipa::path(post, path = "/api/v1/jobs", tag = "jobs", request_body = NewJobRequest,
    security(("google_id_token" = [], "access_proof" = [])),
    responses(
        (status = 201, description = "The job, with its rows", body = Job),
        (status = 400, description = "The request is malformed (the message says what to change) or the model is unknown", body = ErrorBody),
        (status = 401, description = "No valid Google ID token", body = ErrorBody),
        (status = 403, description = "`access_not_proven`: no valid `X-Almanac-Access-Proof` for this caller and spreadsheet (prove access again); `service_account_no_access`: the service account can no longer see the spreadsheet (unshared or deleted): share it with the service account (named in the message) as Editor", body = ErrorBody),
        (status = 404, description = "`sheet_not_found`: the spreadsheet has no sheet of that `sheet_id`", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The body is JSON of the wrong shape; or `over_job_budget` / `over_monthly_budget` / `over_user_monthly_cap` / `over_operator_monthly_cap`: the estimate passes `max_cost_usd`, the spreadsheet's monthly budget, or the operator's monthly cap per user or on all spending (the message has the figures)", body = ErrorBody),
        (status = 429, description = "Too many jobs created by this user; see `Retry-After`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "`sheets_unavailable`: Google Sheets kept failing (429/5xx) for a few seconds, or Google's signing keys cannot be reached; see `Retry-After`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub async fn create_job(
    State(state): State<AppState>,
    caller: Caller,
    AccessProofHeader(proof): AccessProofHeader,
    body: Result<Json<NewJobRequest>, JsonRejection>,
) -> Result<Response, CreateRefusal> {
    let Json(req) = body?;
    let job = state
        .jobs
        .create_with(&caller.sub, proof.as_ref(), req.job, req.options)
        .await?;
    Ok(job_response(StatusCode::CREATED, state.jobs.clone(), job))
}

/// `POST /api/v1/spreadsheets/{spreadsheet_id}/access/challenge`: a nonce for the add-on to write
/// into the spreadsheet as developer metadata (see `spreadsheet::access`).
#[utoipa::path(post, path = "/api/v1/spreadsheets/{spreadsheet_id}/access/challenge", tag = "access",
    params(("spreadsheet_id" = String, Path, description = "The spreadsheet's id")),
    responses(
        (status = 200, description = "The developer-metadata key and nonce to write, valid ten minutes, and the service account's email", body = AccessChallenge),
        (status = 400, description = "The spreadsheet id is not valid", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many access checks by this user or on this spreadsheet; see `Retry-After`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        AuthResponses,
    ))]
pub async fn access_challenge(
    State(state): State<AppState>,
    caller: Caller,
    Path(spreadsheet_id): Path<String>,
) -> Result<Json<AccessChallenge>, ApiError> {
    Ok(Json(
        state.jobs.access_challenge(&caller.sub, &spreadsheet_id)?,
    ))
}

/// `POST /api/v1/spreadsheets/{spreadsheet_id}/access/proof`: the service account takes the
/// written nonce back (and deletes it); the answer is the proof for `X-Almanac-Access-Proof`.
#[utoipa::path(post, path = "/api/v1/spreadsheets/{spreadsheet_id}/access/proof", tag = "access",
    params(("spreadsheet_id" = String, Path, description = "The spreadsheet's id")),
    request_body = AccessProofRequest,
    responses(
        (status = 200, description = "The access proof, valid one hour", body = AccessProof),
        (status = 400, description = "The spreadsheet id is not valid", body = ErrorBody),
        (status = 403, description = "`proof_not_found`: the nonce is not the caller's or has expired; `service_account_no_access`: the service account found no such nonce in the spreadsheet — the spreadsheet does not exist, is not shared with the service account (named in the message) as Editor, or no editor wrote the nonce (one answer for all three, so that it tells no caller which spreadsheets are shared with the service account)", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The body is JSON of the wrong shape", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many access checks by this user or on this spreadsheet; see `Retry-After`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "`sheets_unavailable`: Google Sheets kept failing; see `Retry-After`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        AuthResponses,
    ))]
pub async fn prove_access(
    State(state): State<AppState>,
    caller: Caller,
    Path(spreadsheet_id): Path<String>,
    body: Result<Json<AccessProofRequest>, JsonRejection>,
) -> Result<Json<AccessProof>, CreateRefusal> {
    let Json(req) = body?;
    let proof = state
        .jobs
        .prove_access(&caller.sub, &spreadsheet_id, &req.nonce)
        .await?;
    Ok(Json(proof))
}

/// The query of `GET /api/v1/jobs`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// The spreadsheet whose jobs to list.
    pub spreadsheet_id: String,
}

/// `GET /api/v1/jobs?spreadsheet_id=…`: the caller's jobs on a spreadsheet, newest first.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs",
    params(("spreadsheet_id" = String, Query, description = "The spreadsheet's id")),
    responses(
        (status = 200, description = "The caller's jobs on the spreadsheet, newest first, without rows", body = JobList),
        (status = 400, description = "`spreadsheet_id` is missing", body = ErrorBody),
        AuthResponses,
    ))]
pub async fn list_jobs(
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
        AuthResponses,
    ))]
pub async fn get_job(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<JobId>,
) -> Result<Response, ApiError> {
    let job = state.jobs.head(&caller.sub, &id).await?;
    Ok(job_response(StatusCode::OK, state.jobs.clone(), job))
}

/// `GET /api/v1/jobs/{id}/status`: the job's progress alone — status, `request_counts` and row
/// counts, the same `JobEvent` its event stream sends — without its rows. For pollers: a few
/// hundred bytes and three indexed queries, however large the job.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/status", tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The job's progress (no rows)", body = JobEvent),
        (status = 404, description = "No such job for this caller (another user's job is reported the same way)", body = ErrorBody),
        AuthResponses,
    ))]
pub async fn job_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<JobId>,
) -> Result<Json<JobEvent>, ApiError> {
    Ok(Json(state.jobs.event(&caller.sub, &id).await?))
}

/// `POST /api/v1/jobs/{id}/cancel`: 202 with the job; 409 when it already ended.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/cancel", tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    security(("google_id_token" = [], "access_proof" = [])),
    responses(
        (status = 202, description = "Cancelling: the batch is cancelled and finished rows are written", body = Job),
        (status = 403, description = "`access_not_proven`: no valid `X-Almanac-Access-Proof` for this caller and the job's spreadsheet (the service account writes the finished rows, so the caller must still be able to edit it)", body = ErrorBody),
        (status = 404, description = "No such job for this caller", body = ErrorBody),
        (status = 409, description = "The job has already ended", body = ErrorBody),
        AuthResponses,
    ))]
pub async fn cancel_job(
    State(state): State<AppState>,
    caller: Caller,
    AccessProofHeader(proof): AccessProofHeader,
    Path(id): Path<JobId>,
) -> Result<Response, ApiError> {
    let job = state.jobs.cancel(&caller.sub, &id, proof.as_ref()).await?;
    Ok(job_response(StatusCode::ACCEPTED, state.jobs.clone(), job))
}

/// `POST /api/v1/jobs/{id}/retry`: 202 with the job; its failed rows are sent again. 409 while
/// the job runs or when nothing failed.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    security(("google_id_token" = [], "access_proof" = [])),
    responses(
        (status = 202, description = "Retrying: the failed rows are sent again in a new batch", body = Job),
        (status = 403, description = "`access_not_proven`: no valid `X-Almanac-Access-Proof` for this caller and the job's spreadsheet", body = ErrorBody),
        (status = 404, description = "No such job for this caller", body = ErrorBody),
        (status = 409, description = "The job is still running (`job_running`) or has no failed rows (`nothing_to_retry`)", body = ErrorBody),
        (status = 422, description = "`over_job_budget`, `over_monthly_budget`, `over_user_monthly_cap` or `over_operator_monthly_cap`: the retry's estimate passes the job's cap, the spreadsheet's budget or one of the operator's caps (the message has the figures)", body = ErrorBody),
        AuthResponses,
    ))]
pub async fn retry_job(
    State(state): State<AppState>,
    caller: Caller,
    AccessProofHeader(proof): AccessProofHeader,
    Path(id): Path<JobId>,
) -> Result<Response, ApiError> {
    let job = state.jobs.retry(&caller.sub, &id, proof.as_ref()).await?;
    Ok(job_response(StatusCode::ACCEPTED, state.jobs.clone(), job))
}

/// `GET /api/v1/jobs/{id}/events`: Server-Sent Events named `progress`, whose data is a
/// `JobEvent` as JSON; the current state first, then every change, ending after the job ends.
/// A comment is sent every 15 s to keep proxies from closing the stream.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/events", tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "Server-Sent Events named `progress` whose data is a `JobEvent` as JSON, until the job ends", content_type = "text/event-stream", body = ProgressEvent),
        (status = 404, description = "No such job for this caller", body = ErrorBody),
        (status = 429, description = "`too_many_streams`: the caller already holds as many open streams as one user may (`ALMANAC_STREAMS_PER_USER`)", body = ErrorBody),
        AuthResponses,
    ))]
pub async fn job_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<JobId>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Held while the stream is open: one user's streams are capped.
    let slot = state.streams.take(&caller.sub).await?;
    // Subscribe before reading the current state so that no change falls in between.
    let updates = BroadcastStream::new(state.jobs.subscribe());
    let first = state.jobs.event(&caller.sub, &id).await?;
    // Followed here while the stream is open: other replicas' progress reaches it (`jobs::queue::events`).
    let watching = state.jobs.follow(&id);
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
    .map(move |event| {
        let _ = (&watching, &slot);
        Ok(Event::default()
            .event("progress")
            .json_data(&event)
            .unwrap_or_else(|_| Event::default().comment("unserializable event")))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15))))
}
