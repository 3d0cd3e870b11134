//! The handlers of "Ask about the sheet" — the seed backend guide's API, unchanged in shape:
//! `POST /chat` (one question; JSON, or Server-Sent Events with `Accept: text/event-stream` or
//! `"stream": true`), threads (`POST /threads`, `GET /threads`, `GET|DELETE /threads/{id}`),
//! their messages and runs, and the files the code interpreter made. Each takes a [`Caller`] and
//! delegates to [`ChatService`](crate::chat::ChatService); their `#[utoipa::path]` annotations
//! are the OpenAPI document's operations.

use std::convert::Infallible;

use almanac_core::ids::{RunId, ThreadId};
use almanac_protocol::ErrorBody;
use almanac_protocol::chat::{
    ChatRequest, ChatResponse, CreateMessageRequest, CreateRunRequest, CreateThreadRequest,
    DeletedThread, ListOrder, MessageList, Run, RunStarted, TextDelta, Thread, ThreadList,
    ThreadMessage, ToolUse,
};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{StreamExt, stream};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio_stream::wrappers::UnboundedReceiverStream;

use crate::api::error::ApiError;
use crate::api::extract::{AccessProofHeader, Caller};
use crate::api::responses::AuthResponses;
use crate::api::state::AppState;
use crate::api::streams::StreamSlot;
use crate::chat::ChatError;
use crate::chat::drive::TurnEvent;
use crate::chat::runner::Started;

/// One Server-Sent Event of a streamed chat turn, as a client's SSE parser sees it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Only its schema is used.
pub struct ChatStreamEvent {
    /// `run` (data: `RunStarted`), `tool` (`ToolUse`), `delta` (`TextDelta`), `done`
    /// (`ChatResponse`: the whole message and its usage) or `error` (`ErrorDetail`: the turn
    /// ended and nothing of it was stored).
    #[schema(pattern = "^(run|tool|delta|done|error)$")]
    event: String,
    /// The event's data as JSON text.
    data: String,
}

/// A JSON body that may be empty (`POST /threads` and `POST /threads/{id}/runs`, which the seed's
/// clients send without one); any `Content-Type`.
fn optional_json<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::invalid(format!(
            "the request body is not what this endpoint takes: {e}"
        ))
    })
}

/// Whether the client asked for Server-Sent Events (`Accept: text/event-stream`).
fn accepts_events(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.contains("text/event-stream")))
}

/// `POST /api/v1/chat`: one question answered; a new thread when `thread_id` is absent.
#[utoipa::path(post, path = "/api/v1/chat", tag = "chat", request_body = ChatRequest,
    security(("google_id_token" = [], "access_proof" = [])),
    responses(
        (status = 200, description = "The answer (JSON), or with `Accept: text/event-stream` / `\"stream\": true` Server-Sent Events: `run`, then `tool` and `delta` as it is written, then `done` (the whole message and its usage) or `error`",
            content((ChatResponse = "application/json"), (ChatStreamEvent = "text/event-stream"))),
        (status = 400, description = "`invalid_request`, `message_too_long` or `spreadsheet_required`", body = ErrorBody),
        (status = 401, description = "No valid Google ID token", body = ErrorBody),
        (status = 403, description = "`access_not_proven`: no valid `X-Almanac-Access-Proof` for this caller and the thread's spreadsheet (prove access again)", body = ErrorBody),
        (status = 404, description = "`thread_not_found` (another user's thread too), `spreadsheet_not_found` or `sheet_not_found`", body = ErrorBody),
        (status = 409, description = "`run_active`, `thread_full`, `too_many_threads`, or `run_cancelled`", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The body is JSON of the wrong shape; or `over_monthly_budget`, `over_user_monthly_cap` or `over_operator_monthly_cap`: the spreadsheet's budget or one of the operator's caps (the message has the figures)", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many questions from this user, see `Retry-After`; `too_many_streams`: a streamed turn while the user already holds as many open streams as one user may (`ALMANAC_STREAMS_PER_USER`)", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait (with `rate_limited`)"))),
        (status = 502, description = "`openai_failed` / `openai_refused`: OpenAI did not answer; nothing of the turn was stored", body = ErrorBody),
        (status = 503, description = "`openai_unavailable`, `sheets_unavailable`, or Google's signing keys cannot be fetched", body = ErrorBody),
        (status = 504, description = "`run_expired`: the answer took longer than the run timeout", body = ErrorBody),
    ))]
pub async fn chat(
    State(state): State<AppState>,
    caller: Caller,
    AccessProofHeader(proof): AccessProofHeader,
    headers: HeaderMap,
    body: Result<Json<ChatRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body?;
    let streamed = req.stream || accepts_events(&headers);
    // Taken before the turn starts: a refused stream costs nothing.
    let slot = match streamed {
        true => Some(state.streams.take(&caller.sub).await?),
        false => None,
    };
    let started = state
        .chat
        .chat(&caller.sub, proof.as_ref(), req, streamed)
        .await?;
    if let Some(slot) = slot {
        return Ok(events(started, slot));
    }
    match started.done.await {
        Ok(Ok(answer)) => Ok(Json(answer).into_response()),
        Ok(Err(failure)) => Err(ChatError::TurnFailed(failure).into()),
        Err(_) => Err(ApiError::internal(
            &"the chat run's task ended without a result",
        )),
    }
}

/// The SSE answer of a streamed turn: `run` first, then the turn's events until it ends; `slot`
/// is held as long as the stream is open.
fn events(started: Started, slot: StreamSlot) -> Response {
    let first = Event::default().event("run").json_data(RunStarted {
        thread_id: started.thread_id.to_string(),
        run_id: started.run_id.to_string(),
    });
    let rest = UnboundedReceiverStream::new(started.events).map(|event| match event {
        TurnEvent::Delta(text) => Event::default()
            .event("delta")
            .json_data(TextDelta { text }),
        TurnEvent::Tool(tool) => Event::default().event("tool").json_data(ToolUse { tool }),
        TurnEvent::Done(answer) => Event::default().event("done").json_data(answer),
        TurnEvent::Failed(failure) => Event::default().event("error").json_data(failure.error),
    });
    let events = stream::once(futures::future::ready(first))
        .chain(rest)
        .map(move |e| {
            let _ = &slot;
            Ok::<_, Infallible>(
                e.unwrap_or_else(|_| Event::default().comment("unserializable event")),
            )
        });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
        .into_response()
}

/// `POST /api/v1/threads`: a new (empty) thread on a spreadsheet.
#[utoipa::path(post, path = "/api/v1/threads", tag = "chat", request_body(content = CreateThreadRequest, description = "May be empty or `{}` (the server's default spreadsheet)"),
    security(("google_id_token" = [], "access_proof" = [])),
    responses(
        (status = 200, description = "The thread", body = Thread),
        (status = 400, description = "`invalid_request` or `spreadsheet_required`", body = ErrorBody),
        (status = 403, description = "`access_not_proven`: no valid `X-Almanac-Access-Proof` for this caller and spreadsheet", body = ErrorBody),
        (status = 404, description = "`spreadsheet_not_found`", body = ErrorBody),
        (status = 409, description = "`too_many_threads`", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB", body = ErrorBody),
        AuthResponses,
    ))]
pub async fn create_thread(
    State(state): State<AppState>,
    caller: Caller,
    AccessProofHeader(proof): AccessProofHeader,
    body: Bytes,
) -> Result<Json<Thread>, ApiError> {
    let req: CreateThreadRequest = optional_json(&body)?;
    let thread = state
        .chat
        .create_thread(&caller.sub, proof.as_ref(), req)
        .await?;
    Ok(Json(thread))
}

/// The query of `GET /api/v1/threads`.
#[derive(Debug, Deserialize)]
pub struct ThreadsQuery {
    /// The spreadsheet whose threads to list.
    pub spreadsheet_id: String,
}

/// `GET /api/v1/threads?spreadsheet_id=…`: the caller's threads on a spreadsheet, newest first.
#[utoipa::path(get, path = "/api/v1/threads", tag = "chat",
    params(("spreadsheet_id" = String, Query, description = "The spreadsheet's id")),
    security(("google_id_token" = [], "access_proof" = [])),
    responses(
        (status = 200, description = "The caller's threads there, newest first", body = ThreadList),
        (status = 400, description = "`spreadsheet_id` is missing or not a spreadsheet id", body = ErrorBody),
        (status = 403, description = "`access_not_proven`: no valid `X-Almanac-Access-Proof` for this caller and the thread's spreadsheet (its history is not served to someone who can no longer edit it)", body = ErrorBody),
        AuthResponses,
    ))]
pub async fn list_threads(
    State(state): State<AppState>,
    caller: Caller,
    AccessProofHeader(proof): AccessProofHeader,
    query: Result<Query<ThreadsQuery>, QueryRejection>,
) -> Result<Json<ThreadList>, ApiError> {
    let Query(q) = query?;
    let list = state
        .chat
        .threads(&caller.sub, &q.spreadsheet_id, proof.as_ref());
    Ok(Json(list.await?))
}

/// `GET /api/v1/threads/{thread_id}`.
#[utoipa::path(get, path = "/api/v1/threads/{thread_id}", tag = "chat",
    params(("thread_id" = String, Path, description = "The thread's id")),
    security(("google_id_token" = [], "access_proof" = [])),
    responses(
        (status = 200, description = "The thread", body = Thread),
        (status = 403, description = "`access_not_proven`: no valid `X-Almanac-Access-Proof` for this caller and the thread's spreadsheet (its history is not served to someone who can no longer edit it)", body = ErrorBody),
        (status = 404, description = "`thread_not_found` (another user's thread is reported the same way)", body = ErrorBody),
        AuthResponses,
    ))]
pub async fn get_thread(
    State(state): State<AppState>,
    caller: Caller,
    AccessProofHeader(proof): AccessProofHeader,
    Path(thread_id): Path<ThreadId>,
) -> Result<Json<Thread>, ApiError> {
    let thread = state.chat.thread(&caller.sub, &thread_id, proof.as_ref());
    Ok(Json(thread.await?))
}

/// `DELETE /api/v1/threads/{thread_id}`: its messages and files are deleted; what its runs cost
/// stays counted in the spreadsheet's month.
#[utoipa::path(delete, path = "/api/v1/threads/{thread_id}", tag = "chat",
    params(("thread_id" = String, Path, description = "The thread's id")),
    responses(
        (status = 200, description = "Deleted", body = DeletedThread),
        (status = 404, description = "`thread_not_found`", body = ErrorBody),
        (status = 409, description = "`run_active`: it is answering", body = ErrorBody),
        AuthResponses,
    ))]
pub async fn delete_thread(
    State(state): State<AppState>,
    caller: Caller,
    Path(thread_id): Path<ThreadId>,
) -> Result<Json<DeletedThread>, ApiError> {
    Ok(Json(
        state.chat.delete_thread(&caller.sub, &thread_id).await?,
    ))
}

/// The query of `GET /api/v1/threads/{thread_id}/messages`.
#[derive(Debug, Deserialize)]
pub struct MessagesQuery {
    /// `asc` or `desc` (default: newest first).
    #[serde(default)]
    pub order: ListOrder,
    /// 1–100 (default 20).
    pub limit: Option<i64>,
}

/// `GET /api/v1/threads/{thread_id}/messages`.
#[utoipa::path(get, path = "/api/v1/threads/{thread_id}/messages", tag = "chat",
    params(
        ("thread_id" = String, Path, description = "The thread's id"),
        ("order" = Option<ListOrder>, Query, description = "`asc` or `desc` (default, newest first)"),
        ("limit" = Option<i64>, Query, description = "1–100, default 20", minimum = 1, maximum = 100),
    ),
    security(("google_id_token" = [], "access_proof" = [])),
    responses(
        (status = 200, description = "The messages", body = MessageList),
        (status = 400, description = "A bad `order` or `limit`", body = ErrorBody),
        (status = 403, description = "`access_not_proven`: no valid `X-Almanac-Access-Proof` for this caller and the thread's spreadsheet (its history is not served to someone who can no longer edit it)", body = ErrorBody),
        (status = 404, description = "`thread_not_found` (another user's thread is reported the same way)", body = ErrorBody),
        AuthResponses,
    ))]
pub async fn list_messages(
    State(state): State<AppState>,
    caller: Caller,
    AccessProofHeader(proof): AccessProofHeader,
    Path(thread_id): Path<ThreadId>,
    query: Result<Query<MessagesQuery>, QueryRejection>,
) -> Result<Json<MessageList>, ApiError> {
    let Query(q) = query?;
    let page = (q.order, q.limit.unwrap_or(20));
    let list = state
        .chat
        .messages(&caller.sub, &thread_id, proof.as_ref(), page)
        .await?;
    Ok(Json(list))
}

/// `POST /api/v1/threads/{thread_id}/messages`: a user message the next run answers.
#[utoipa::path(post, path = "/api/v1/threads/{thread_id}/messages", tag = "chat",
    params(("thread_id" = String, Path, description = "The thread's id")),
    request_body = CreateMessageRequest,
    responses(
        (status = 200, description = "The message (`run_id` null until a run takes it)", body = ThreadMessage),
        (status = 400, description = "`invalid_request` (empty, or a role other than `user`) or `message_too_long`", body = ErrorBody),
        (status = 404, description = "`thread_not_found`", body = ErrorBody),
        (status = 409, description = "`run_active` or `thread_full`", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The body is JSON of the wrong shape", body = ErrorBody),
        AuthResponses,
    ))]
pub async fn create_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(thread_id): Path<ThreadId>,
    body: Result<Json<CreateMessageRequest>, JsonRejection>,
) -> Result<Json<ThreadMessage>, ApiError> {
    let Json(req) = body?;
    Ok(Json(
        state.chat.add_message(&caller.sub, &thread_id, req).await?,
    ))
}

/// `POST /api/v1/threads/{thread_id}/runs`: answers the waiting messages in the background;
/// poll `GET …/runs/{run_id}` until it ends.
#[utoipa::path(post, path = "/api/v1/threads/{thread_id}/runs", tag = "chat",
    params(("thread_id" = String, Path, description = "The thread's id")),
    request_body(content = CreateRunRequest, description = "May be empty"),
    security(("google_id_token" = [], "access_proof" = [])),
    responses(
        (status = 200, description = "The run, `queued` (or already further)", body = Run),
        (status = 400, description = "`invalid_request` or `no_pending_message`", body = ErrorBody),
        (status = 401, description = "No valid Google ID token", body = ErrorBody),
        (status = 403, description = "`access_not_proven`: no valid `X-Almanac-Access-Proof` for this caller and the thread's spreadsheet (prove access again)", body = ErrorBody),
        (status = 404, description = "`thread_not_found`, `spreadsheet_not_found` or `sheet_not_found`", body = ErrorBody),
        (status = 409, description = "`run_active` or `thread_full`", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB", body = ErrorBody),
        (status = 422, description = "`over_monthly_budget`, `over_user_monthly_cap` or `over_operator_monthly_cap`: the spreadsheet's budget or one of the operator's caps (the message has the figures)", body = ErrorBody),
        (status = 429, description = "Too many questions from this user; see `Retry-After`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 502, description = "`openai_refused`: OpenAI refused to start", body = ErrorBody),
        (status = 503, description = "`openai_unavailable` or `sheets_unavailable`", body = ErrorBody),
    ))]
pub async fn create_run(
    State(state): State<AppState>,
    caller: Caller,
    AccessProofHeader(proof): AccessProofHeader,
    Path(thread_id): Path<ThreadId>,
    body: Bytes,
) -> Result<Json<Run>, ApiError> {
    let req: CreateRunRequest = optional_json(&body)?;
    let run = state
        .chat
        .create_run(&caller.sub, proof.as_ref(), &thread_id, req)
        .await?;
    Ok(Json(run))
}

/// `GET /api/v1/threads/{thread_id}/runs/{run_id}`: the seed's polling loop reads `status`.
#[utoipa::path(get, path = "/api/v1/threads/{thread_id}/runs/{run_id}", tag = "chat",
    params(
        ("thread_id" = String, Path, description = "The thread's id"),
        ("run_id" = String, Path, description = "The run's id"),
    ),
    security(("google_id_token" = [], "access_proof" = [])),
    responses(
        (status = 200, description = "The run: `queued`, `in_progress`, `completed`, `failed`, `cancelled` or `expired`", body = Run),
        (status = 403, description = "`access_not_proven`: no valid `X-Almanac-Access-Proof` for this caller and the thread's spreadsheet (its history is not served to someone who can no longer edit it)", body = ErrorBody),
        (status = 404, description = "`thread_not_found` or `run_not_found`", body = ErrorBody),
        AuthResponses,
    ))]
pub async fn get_run(
    State(state): State<AppState>,
    caller: Caller,
    AccessProofHeader(proof): AccessProofHeader,
    Path((thread_id, run_id)): Path<(ThreadId, RunId)>,
) -> Result<Json<Run>, ApiError> {
    let ids = (&thread_id, &run_id);
    Ok(Json(
        state.chat.run(&caller.sub, ids, proof.as_ref()).await?,
    ))
}

/// `POST /api/v1/threads/{thread_id}/runs/{run_id}/cancel`.
#[utoipa::path(post, path = "/api/v1/threads/{thread_id}/runs/{run_id}/cancel", tag = "chat",
    params(
        ("thread_id" = String, Path, description = "The thread's id"),
        ("run_id" = String, Path, description = "The run's id"),
    ),
    responses(
        (status = 200, description = "The run once it has ended (`cancelled`, or however it ended first)", body = Run),
        (status = 404, description = "`thread_not_found` or `run_not_found`", body = ErrorBody),
        (status = 409, description = "`run_finished`", body = ErrorBody),
        AuthResponses,
    ))]
pub async fn cancel_run(
    State(state): State<AppState>,
    caller: Caller,
    Path((thread_id, run_id)): Path<(ThreadId, RunId)>,
) -> Result<Json<Run>, ApiError> {
    Ok(Json(
        state
            .chat
            .cancel_run(&caller.sub, &thread_id, &run_id)
            .await?,
    ))
}

/// `GET /api/v1/threads/{thread_id}/files/{file_id}/content`: a file the code interpreter made
/// (a chart: `image/png`), fetched with the caller's tokens; the OpenAI key stays here.
#[utoipa::path(get, path = "/api/v1/threads/{thread_id}/files/{file_id}/content", tag = "chat",
    params(
        ("thread_id" = String, Path, description = "The thread's id"),
        ("file_id" = String, Path, description = "The file's id (`file_…`)"),
    ),
    security(("google_id_token" = [], "access_proof" = [])),
    responses(
        (status = 200, description = "The file's bytes, with its media type", content_type = "image/png", body = Vec<u8>),
        (status = 403, description = "`access_not_proven`: no valid `X-Almanac-Access-Proof` for this caller and the thread's spreadsheet (its history is not served to someone who can no longer edit it)", body = ErrorBody),
        (status = 404, description = "`thread_not_found` or `file_not_found`", body = ErrorBody),
        AuthResponses,
    ))]
pub async fn file_content(
    State(state): State<AppState>,
    caller: Caller,
    AccessProofHeader(proof): AccessProofHeader,
    Path((thread_id, file_id)): Path<(ThreadId, String)>,
) -> Result<Response, ApiError> {
    let ids = (&thread_id, file_id.as_str());
    let (file, bytes) = state.chat.file(&caller.sub, ids, proof.as_ref()).await?;
    let name: String = file
        .filename
        .chars()
        .filter(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\\'))
        .collect();
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    let set = |value: String| HeaderValue::from_str(&value).ok();
    if let Some(v) = set(file.mime_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if let Some(v) = set(format!("inline; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    Ok(response)
}
