//! The OpenAI side, under `/v1`: Files (<https://platform.openai.com/docs/api-reference/files>),
//! Batches (<https://platform.openai.com/docs/api-reference/batch>) and non-streaming Chat
//! Completions (<https://platform.openai.com/docs/api-reference/chat/create>), plus the routes of
//! [`crate::openai::conversations`], [`crate::openai::responses`], [`crate::openai::containers`]
//! and [`crate::openai::model_list`] (`GET /v1/models`).
//!
//! Every route needs `Authorization: Bearer <anything non-empty>`; otherwise 401 (and a key the
//! emulator was told does not exist: 401 `invalid_api_key`, see [`crate::openai::model_list`]). Errors use
//! OpenAI's shape `{"error":{"message","type","param","code"}}`; unknown ids answer 404, unknown
//! routes 404 `Invalid URL (METHOD /path)`.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::faults::HoldPoint;
use crate::holds::pause;
use crate::openai::batch::BatchJob;
use crate::openai::body_checks::{batch_parameters, check_batch_metadata, error, invalid_request};
use crate::openai::files::StoredFile;
use crate::openai::generate::chat_completion;
use crate::state::Shared;
use crate::util::{now_unix, random_alnum, random_hex};

/// Largest upload accepted (the Files API limit is 512 MB; batch input files are at most 200 MB).
const MAX_UPLOAD_BYTES: usize = 512 * 1024 * 1024;

/// Purposes `POST /v1/files` accepts.
const PURPOSES: [&str; 6] = [
    "assistants",
    "batch",
    "fine-tune",
    "vision",
    "user_data",
    "evals",
];

/// The `/v1` router.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/files", post(create_file).get(list_files))
        .route("/v1/files/{id}", get(retrieve_file).delete(delete_file))
        .route("/v1/files/{id}/content", get(file_content))
        .route("/v1/batches", post(create_batch).get(list_batches))
        .route("/v1/batches/{id}", get(retrieve_batch))
        .route("/v1/batches/{id}/cancel", post(cancel_batch))
        .route("/v1/chat/completions", post(chat))
        .merge(crate::openai::conversations::routes())
        .merge(crate::openai::responses::routes())
        .merge(crate::openai::containers::routes())
        .merge(crate::openai::model_list::routes())
        .route("/v1/{*rest}", axum::routing::any(invalid_url))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
        .layer(middleware::from_fn(require_api_key))
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            crate::openai::model_list::reject_unknown_key,
        ))
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            crate::inject::inject,
        ))
        .with_state(shared)
}

/// An OpenAI error response.
async fn require_api_key(request: Request, next: Next) -> Response {
    let key = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    if key.is_empty() {
        return error(
            StatusCode::UNAUTHORIZED,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            None,
            None,
        );
    }
    next.run(request).await
}

async fn invalid_url(request: Request) -> Response {
    error(
        StatusCode::NOT_FOUND,
        &format!(
            "Invalid URL ({} {})",
            request.method(),
            request.uri().path()
        ),
        "invalid_request_error",
        None,
        None,
    )
}

fn no_such_file(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        &format!("No such File object: {id}"),
        "invalid_request_error",
        Some("id"),
        None,
    )
}

fn no_such_batch(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        &format!("No batch found with id '{id}'."),
        "invalid_request_error",
        None,
        None,
    )
}

async fn create_file(State(shared): State<Arc<Shared>>, mut form: Multipart) -> Response {
    shared.lock().calls.files_create += 1;
    let mut purpose: Option<String> = None;
    let mut file: Option<(String, Bytes)> = None;
    let mut expires_seconds: Option<u64> = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_string();
                let filename = field.file_name().map(str::to_string);
                let Ok(data) = field.bytes().await else {
                    return invalid_request("Could not read the multipart body.", None, None);
                };
                match name.as_str() {
                    "purpose" => purpose = Some(String::from_utf8_lossy(&data).trim().to_string()),
                    "file" => file = Some((filename.unwrap_or_else(|| "upload".into()), data)),
                    "expires_after[seconds]" => {
                        expires_seconds = String::from_utf8_lossy(&data).trim().parse().ok();
                    }
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(e) => return invalid_request(&format!("Invalid multipart body: {e}"), None, None),
        }
    }
    let Some(purpose) = purpose else {
        return invalid_request(
            "Missing required parameter: 'purpose'.",
            Some("purpose"),
            Some("missing_required_parameter"),
        );
    };
    if !PURPOSES.contains(&purpose.as_str()) {
        return invalid_request(
            &format!(
                "Invalid value for 'purpose': '{purpose}'. Supported values are: 'assistants', 'batch', 'fine-tune', 'vision', 'user_data', and 'evals'."
            ),
            Some("purpose"),
            Some("invalid_value"),
        );
    }
    let Some((filename, content)) = file else {
        return invalid_request(
            "Missing required parameter: 'file'.",
            Some("file"),
            Some("missing_required_parameter"),
        );
    };
    if purpose == "batch" && !filename.ends_with(".jsonl") {
        return invalid_request(
            "Invalid file format for Batch API. Must be .jsonl",
            None,
            None,
        );
    }
    let now = now_unix();
    let expires_at = match (expires_seconds, purpose.as_str()) {
        (Some(s), _) => Some(now + s),
        (None, "batch") => Some(now + 30 * 24 * 3600),
        _ => None,
    };
    let stored = StoredFile {
        id: format!("file-{}", random_alnum(22)),
        filename,
        purpose,
        created_at: now,
        seq: crate::openai::files::next_seq(),
        expires_at,
        content,
    };
    let body = stored.to_json();
    shared.lock().files.insert(stored.id.clone(), stored);
    pause(&shared, HoldPoint::FileUploaded).await;
    Json(body).into_response()
}

/// Query of `GET /v1/files` (<https://platform.openai.com/docs/api-reference/files/list>).
#[derive(Deserialize)]
struct FilesQuery {
    purpose: Option<String>,
    limit: Option<String>,
    order: Option<String>,
    after: Option<String>,
}

/// `GET /v1/files`: newest first (or `order=asc`), only `purpose` when given, `limit` 1 to
/// 10,000 (default 10,000) after the `after` cursor, with `has_more`, `first_id` and `last_id`.
async fn list_files(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<FilesQuery>,
) -> Response {
    let limit = match query.limit.as_deref().map(str::parse::<usize>) {
        None => 10_000,
        Some(Ok(n)) if (1..=10_000).contains(&n) => n,
        Some(_) => {
            return invalid_request(
                "Invalid 'limit': integer must be between 1 and 10000.",
                Some("limit"),
                Some("invalid_value"),
            );
        }
    };
    let ascending = match query.order.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(other) => {
            return invalid_request(
                &format!("Invalid value: '{other}'. Supported values are: 'asc' and 'desc'."),
                Some("order"),
                Some("invalid_value"),
            );
        }
    };
    let listed = (|| {
        let state = shared.lock();
        let mut files: Vec<&StoredFile> = state
            .files
            .values()
            .filter(|f| query.purpose.as_deref().is_none_or(|p| f.purpose == p))
            .collect();
        files.sort_by_key(|f| (f.created_at, f.seq));
        if !ascending {
            files.reverse();
        }
        let start = match query.after.as_deref() {
            None => 0,
            Some(after) => match files.iter().position(|f| f.id == after) {
                Some(i) => i + 1,
                None => return Err(after.to_owned()),
            },
        };
        let page: Vec<&StoredFile> = files.iter().skip(start).take(limit).copied().collect();
        let body = json!({
            "object": "list",
            "data": page.iter().map(|f| f.to_json()).collect::<Vec<_>>(),
            "first_id": page.first().map(|f| f.id.clone()),
            "last_id": page.last().map(|f| f.id.clone()),
            "has_more": start + page.len() < files.len(),
        });
        Ok(body)
    })();
    let body = match listed {
        Ok(body) => body,
        Err(after) => return no_such_file(&after),
    };
    pause(&shared, HoldPoint::FilesListed).await;
    Json(body).into_response()
}

async fn retrieve_file(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match shared.lock().files.get(&id) {
        Some(file) => Json(file.to_json()).into_response(),
        None => no_such_file(&id),
    }
}

async fn delete_file(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match shared.lock().files.remove(&id) {
        Some(_) => Json(json!({"id": id, "object": "file", "deleted": true})).into_response(),
        None => no_such_file(&id),
    }
}

async fn file_content(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let content = shared.lock().files.get(&id).map(|f| f.content.clone());
    match content {
        Some(content) => {
            pause(&shared, HoldPoint::FileContent).await;
            (
                [(header::CONTENT_TYPE, "application/octet-stream")],
                content,
            )
                .into_response()
        }
        None => no_such_file(&id),
    }
}

async fn create_batch(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    shared.lock().calls.batches_create += 1;
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&body) else {
        return invalid_request(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
            None,
            None,
        );
    };
    let [input_file_id, endpoint, _window] = match batch_parameters(&req) {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let metadata = req.get("metadata").cloned().unwrap_or(Value::Null);
    if let Err(refused) = check_batch_metadata(&metadata) {
        return refused.into_response();
    }
    let body = {
        let mut state = shared.lock();
        if let Some(file) = state.files.get(&input_file_id)
            && file.purpose != "batch"
        {
            return invalid_request(
                &format!(
                    "The input file {input_file_id} has purpose '{}'; a batch needs a file uploaded with purpose 'batch'.",
                    file.purpose
                ),
                Some("input_file_id"),
                Some("invalid_value"),
            );
        }
        let job = BatchJob::new(&endpoint, &input_file_id, metadata);
        let body = job.to_json();
        state.batches.push(job);
        body
    };
    pause(&shared, HoldPoint::BatchCreated).await;
    Json(body).into_response()
}

async fn retrieve_batch(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let found = {
        let mut state = shared.lock();
        state.calls.batches_retrieve += 1;
        state
            .batches
            .iter()
            .find(|b| b.id == id)
            .map(BatchJob::to_json)
    };
    match found {
        Some(body) => {
            pause(&shared, HoldPoint::BatchRetrieved).await;
            Json(body).into_response()
        }
        None => no_such_batch(&id),
    }
}

/// Query of `GET /v1/batches`.
#[derive(Deserialize)]
struct ListQuery {
    limit: Option<String>,
    after: Option<String>,
}

async fn list_batches(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<ListQuery>,
) -> Response {
    let mut state = shared.lock();
    state.calls.batches_list += 1;
    let limit = match query.limit.as_deref().map(str::parse::<usize>) {
        None => 20,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => {
            return invalid_request(
                "Invalid 'limit': integer must be between 1 and 100.",
                Some("limit"),
                Some("invalid_value"),
            );
        }
    };
    let newest_first: Vec<&BatchJob> = state.batches.iter().rev().collect();
    let start = match query.after.as_deref() {
        None => 0,
        Some(after) => match newest_first.iter().position(|b| b.id == after) {
            Some(i) => i + 1,
            None => return no_such_batch(after),
        },
    };
    let page: Vec<&&BatchJob> = newest_first.iter().skip(start).take(limit).collect();
    let has_more = start + page.len() < newest_first.len();
    Json(json!({
        "object": "list",
        "data": page.iter().map(|b| b.to_json()).collect::<Vec<_>>(),
        "first_id": page.first().map(|b| b.id.clone()),
        "last_id": page.last().map(|b| b.id.clone()),
        "has_more": has_more,
    }))
    .into_response()
}

async fn cancel_batch(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let mut state = shared.lock();
    state.calls.batches_cancel += 1;
    let Some(job) = state.batches.iter_mut().find(|b| b.id == id) else {
        return no_such_batch(&id);
    };
    match job.cancel() {
        Ok(()) => Json(job.to_json()).into_response(),
        Err(status) => error(
            StatusCode::CONFLICT,
            &format!("Cannot cancel a batch with status '{}'.", status.as_str()),
            "invalid_request_error",
            None,
            None,
        ),
    }
}

async fn chat(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    shared.lock().calls.chat_completions += 1;
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return invalid_request(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
            None,
            None,
        );
    };
    if request.get("stream").and_then(Value::as_bool) == Some(true) {
        return invalid_request(
            "[emulated] Streaming is not implemented by the emulator; send stream: false.",
            Some("stream"),
            None,
        );
    }
    let verdict = {
        let mut state = shared.lock();
        state.chat_limiter.as_mut().map(|limiter| {
            let model = request.get("model").and_then(Value::as_str).unwrap_or("");
            let weight = crate::openai::tokens::prompt_tokens(&request)
                + crate::openai::tokens::output_cap(&request);
            (limiter.admit(model, weight), limiter.limits.latency)
        })
    };
    let (headers, latency) = match verdict {
        Some((verdict, latency)) => {
            if let Some(message) = verdict.refusal {
                let mut response = error(
                    StatusCode::TOO_MANY_REQUESTS,
                    &message,
                    "requests",
                    None,
                    Some("rate_limit_exceeded"),
                );
                add_headers(&mut response, &verdict.headers);
                return response;
            }
            (verdict.headers, latency)
        }
        None => (Vec::new(), std::time::Duration::ZERO),
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    // Faults apply to chat calls by the title the request is about (there is no custom_id).
    let fault = {
        let state = shared.lock();
        if state.faults.rows.is_empty() {
            None
        } else {
            let title = crate::openai::generate::request_title(&request);
            state.faults.rows.get(&title).cloned()
        }
    };
    let outcome = chat_completion(&request, fault.as_ref());
    let status = StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response =
        (status, [("x-request-id", random_hex())], Json(outcome.body)).into_response();
    add_headers(&mut response, &headers);
    response
}

/// Adds `x-ratelimit-*` / `retry-after` headers to a response.
fn add_headers(response: &mut Response, headers: &[(&'static str, String)]) {
    for (name, value) in headers {
        if let Ok(value) = axum::http::HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, value);
        }
    }
}
