//! The HTTP surface under `/api/v1`, the only module that speaks HTTP to the sidebar and the CLI.
//! [`router`] builds it for `main` and tests alike. Handlers take a [`Caller`] (who is asking) and
//! delegate to [`crate::jobs::JobService`]; how a caller is authenticated lives in [`Caller`]'s
//! extractor (and [`crate::auth`]) only, so handlers do not change when authentication does.
//!
//! Around the handlers: CORS ([`cors`]), per-route body limits, per-user rate limits on job
//! creation ([`extract::limit_job_creation`]) and chat turns ([`extract::limit_chat_turns`], with
//! governor), per-user and per-spreadsheet limits on access checks
//! ([`extract::limit_access_proofs`]), and the OpenAPI document ([`openapi`]) at `/api/v1/openapi.json` with human docs at
//! `/docs`. Job creation, retry and cancel and the chat's turns and messages take an
//! `Idempotency-Key` ([`idempotency`]). The chat's handlers ([`chat`]) delegate to [`crate::chat::ChatService`]; `GET /`
//! names the API.

pub(crate) mod chat;
pub(crate) mod cors;
pub(crate) mod error;
pub(crate) mod extract;
pub(crate) mod handlers;
pub(crate) mod idempotency;
pub(crate) mod job_body;
pub(crate) mod limits;
pub(crate) mod openapi;
pub(crate) mod responses;
pub(crate) mod state;
pub(crate) mod streams;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::MethodRouter;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

pub use almanac_protocol::ACCESS_PROOF_HEADER;
pub use error::ApiError;
pub use extract::{AccessProofHeader, Caller};
pub use limits::{MAX_BODY_BYTES, MAX_ESTIMATE_BODY_BYTES};
pub use state::{AppState, Authenticator, PerCallerRateLimiter};

/// `route` answered at most once per `Idempotency-Key` of its caller ([`idempotency`]): the
/// outermost layer, so that a replay costs no rate-limit slot.
fn idempotent(state: &AppState, route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.route_layer(middleware::from_fn_with_state(
        state.clone(),
        idempotency::idempotent,
    ))
}

/// The chat's routes under `/api/v1` (turns limited per user; turns and messages idempotent).
fn chat_routes(state: &AppState) -> Router<AppState> {
    let limited = |route: MethodRouter<AppState>| {
        idempotent(
            state,
            route.route_layer(middleware::from_fn_with_state(
                state.clone(),
                extract::limit_chat_turns,
            )),
        )
    };
    Router::new()
        .route("/chat", limited(post(chat::chat)))
        .route(
            "/threads",
            post(chat::create_thread).get(chat::list_threads),
        )
        .route(
            "/threads/{thread_id}",
            get(chat::get_thread).delete(chat::delete_thread),
        )
        .route(
            "/threads/{thread_id}/messages",
            idempotent(state, post(chat::create_message)).get(chat::list_messages),
        )
        .route("/threads/{thread_id}/runs", limited(post(chat::create_run)))
        .route("/threads/{thread_id}/runs/{run_id}", get(chat::get_run))
        .route(
            "/threads/{thread_id}/runs/{run_id}/cancel",
            post(chat::cancel_run),
        )
        .route(
            "/threads/{thread_id}/files/{file_id}/content",
            get(chat::file_content),
        )
}

/// The API router: every route under `/api/v1`, the OpenAPI document and `/docs`.
pub fn router(state: AppState) -> Router {
    let create = idempotent(
        &state,
        post(handlers::create_job).route_layer(middleware::from_fn_with_state(
            state.clone(),
            extract::limit_job_creation,
        )),
    )
    .get(handlers::list_jobs);
    let api = Router::new()
        .route("/health", get(handlers::health))
        .route("/openapi.json", get(openapi::document))
        .route("/models", get(handlers::models))
        .route(
            "/estimate",
            post(handlers::estimate).layer(DefaultBodyLimit::max(MAX_ESTIMATE_BODY_BYTES)),
        )
        .route("/jobs", create)
        .route("/jobs/{id}", get(handlers::get_job))
        .route("/jobs/{id}/status", get(handlers::job_status))
        .route("/jobs/{id}/events", get(handlers::job_events))
        .route(
            "/jobs/{id}/cancel",
            idempotent(&state, post(handlers::cancel_job)),
        )
        .route(
            "/jobs/{id}/retry",
            idempotent(&state, post(handlers::retry_job)),
        )
        .route(
            "/spreadsheets/{spreadsheet_id}/access/challenge",
            post(handlers::access_challenge).route_layer(middleware::from_fn_with_state(
                state.clone(),
                extract::limit_access_challenges,
            )),
        )
        .route(
            "/spreadsheets/{spreadsheet_id}/access/proof",
            post(handlers::prove_access).route_layer(middleware::from_fn_with_state(
                state.clone(),
                extract::limit_access_proofs,
            )),
        )
        .route(
            "/spreadsheets/{spreadsheet_id}/budget",
            get(handlers::get_budget).put(handlers::put_budget),
        )
        .merge(chat_routes(&state))
        .fallback(handlers::not_found);
    let cors = cors::layer(&state.settings.cors_origins);
    Router::new()
        .route("/", get(handlers::root))
        .nest("/api/v1", api)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
        .merge(openapi::docs())
        .layer(cors)
        .layer(
            // The path only: a query is the caller's business.
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
            }),
        )
}
