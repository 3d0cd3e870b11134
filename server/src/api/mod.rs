//! The HTTP surface under `/api/v1`, the only module that speaks HTTP to the sidebar and the CLI.
//! [`router`] builds it for `main` and tests alike. Handlers take a [`Caller`] (who is asking) and
//! delegate to [`crate::jobs::JobService`]; how a caller is authenticated lives in [`Caller`]'s
//! extractor only, so handlers do not change when authentication does.

pub mod error;

use std::convert::Infallible;
use std::sync::Arc;

use almanac_protocol::{
    CreateJobRequest, Estimate, EstimateRequest, Health, Job, JobList, ModelList,
};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{Stream, StreamExt, stream};
use serde::Deserialize;
use tokio_stream::wrappers::BroadcastStream;
use tower_http::trace::TraceLayer;

pub use error::ApiError;

use crate::domain::{RowId, RowInput};
use crate::jobs::JobService;

/// Largest request body accepted, in bytes (an estimate of 50,000 rows fits).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// How callers are identified.
#[derive(Clone, Debug)]
pub enum Authenticator {
    /// Local development: every caller is the single owner `local`. Only for the demo and tests.
    LocalDevelopment,
}

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    /// Job operations.
    pub jobs: JobService,
    /// How callers are identified.
    pub auth: Arc<Authenticator>,
}

/// Who is asking: the owner of the jobs the request may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The caller's stable subject id (OIDC `sub`).
    pub sub: String,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        _parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match state.auth.as_ref() {
            Authenticator::LocalDevelopment => Ok(Caller {
                sub: "local".into(),
            }),
        }
    }
}

/// The API router: every route under `/api/v1`.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/health", get(health))
        .route("/models", get(models))
        .route("/estimate", post(estimate))
        .route("/jobs", post(create_job).get(list_jobs))
        .route("/jobs/{id}", get(get_job))
        .route("/jobs/{id}/events", get(job_events))
        .route("/jobs/{id}/cancel", post(cancel_job))
        .route("/jobs/{id}/retry", post(retry_job))
        .fallback(not_found);
    Router::new()
        .nest("/api/v1", api)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint: see the API under /api/v1")
}

/// `GET /api/v1/health`.
async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// `GET /api/v1/models`: the catalogue with prices.
async fn models(State(state): State<AppState>, _caller: Caller) -> Json<ModelList> {
    Json(state.jobs.services().catalog.model_list())
}

/// `POST /api/v1/estimate`: tokens and cost of generating these rows, in batch and realtime mode.
async fn estimate(
    State(state): State<AppState>,
    _caller: Caller,
    body: Result<Json<EstimateRequest>, JsonRejection>,
) -> Result<Json<Estimate>, ApiError> {
    let Json(req) = body?;
    let spec = state.jobs.services().catalog.resolve(&req.model)?;
    let mut rows = Vec::with_capacity(req.rows.len());
    for (i, row) in req.rows.into_iter().enumerate() {
        let id = RowId::parse(&row.id).map_err(|e| ApiError::invalid(format!("rows[{i}]: {e}")))?;
        rows.push(RowInput {
            id,
            title: row.title,
        });
    }
    let spec = spec.clone();
    let estimate = tokio::task::spawn_blocking(move || crate::pricing::estimate(&spec, &rows))
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(estimate))
}

/// `POST /api/v1/jobs`: 201 with the new job and its rows.
async fn create_job(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<CreateJobRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let Json(req) = body?;
    let job = state.jobs.create(&caller.sub, req).await?;
    Ok((StatusCode::CREATED, Json(job)))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    spreadsheet_id: String,
}

/// `GET /api/v1/jobs?spreadsheet_id=…`: the caller's jobs on a spreadsheet, newest first.
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
async fn get_job(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    Ok(Json(state.jobs.get(&caller.sub, &id).await?))
}

/// `POST /api/v1/jobs/{id}/cancel`: 202 with the job; 409 when it already ended.
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
async fn job_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Subscribe before reading the current state so that no change falls in between.
    let updates = BroadcastStream::new(state.jobs.services().events.subscribe());
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
