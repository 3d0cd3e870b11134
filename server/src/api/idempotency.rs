//! The `Idempotency-Key` header ([draft-ietf-httpapi-idempotency-key-header](https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/)),
//! one middleware ([`idempotent`]) on the calls that create or change something a person pays
//! for or waits on: job creation, retry and cancel, and the chat's turns. A repeat of a request
//! with the same key from the same caller (`sub`) within 24 hours gets the first answer again —
//! status, `Content-Type` and body, marked `Idempotent-Replayed: true` — and runs nothing, on
//! every replica (the keys are in the database: `almanac_store::idempotency`).
//!
//! The request's fingerprint is the SHA-256 of its method, path and query, `Accept` header (a
//! streamed chat turn is another answer than a JSON one) and body. The same key with another
//! fingerprint is 422 `idempotency_key_reused`; a repeat while the first is still being answered
//! is 409 `idempotency_key_in_flight` (with `Retry-After`). An answer that changed nothing and that
//! a retry may turn — a 5xx, a 401 or 403 (a new token or access proof), a 429 — is not kept: the
//! key is released so that a retry after it runs again. The handler
//! runs in a task of its own, so a client that disconnects does not cut a request short between
//! its effect and its answer being stored. A streamed answer (Server-Sent Events) is passed on as
//! it comes and kept whole when it ends (or as far as it went when the client left). Without the
//! header a request runs as before.

use almanac_protocol::{ErrorCode, IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER};
use almanac_store::Store;
use almanac_store::idempotency::{KeyClaim, StoredAnswer};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tracing::Instrument as _;

use crate::api::error::ApiError;
use crate::api::extract::Caller;
use crate::api::limits::MAX_BODY_BYTES;
use crate::api::state::AppState;

/// The operations that take the header (their OpenAPI paths, all `POST`), as `api::router` layers
/// them.
pub(crate) const OPERATIONS: [&str; 6] = [
    "/api/v1/jobs",
    "/api/v1/jobs/{id}/retry",
    "/api/v1/jobs/{id}/cancel",
    "/api/v1/chat",
    "/api/v1/threads/{thread_id}/messages",
    "/api/v1/threads/{thread_id}/runs",
];

/// Longest key taken, in characters (a UUID is 36).
const MAX_KEY_CHARS: usize = 255;

/// Runs the request at most once per `Idempotency-Key` of its caller (see the module
/// documentation); a request without the header runs as before. 400 `invalid_request` for a key
/// that is not a String of 1 to 255 printable ASCII characters (RFC 8941 §3.3.3; an unquoted
/// value is taken too).
pub async fn idempotent(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
    next: Next,
) -> Response {
    let Some(value) = request.headers().get(IDEMPOTENCY_KEY_HEADER) else {
        return next.run(request).await;
    };
    let key = match parse_key(value) {
        Ok(key) => key,
        Err(e) => return e.into_response(),
    };
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return too_large().into_response();
    };
    let fingerprint = fingerprint(&parts, &body);
    let store = state.jobs.services().store.clone();
    let claim = store
        .claim_idempotency_key(&caller.sub, &key, &fingerprint, chrono::Utc::now())
        .await;
    match claim {
        Err(e) => ApiError::internal(&e).into_response(),
        Ok(KeyClaim::Answered(answer)) => replay(answer),
        Ok(KeyClaim::InFlight) => in_flight(),
        Ok(KeyClaim::OtherRequest) => reused().into_response(),
        Ok(KeyClaim::Claimed) => {
            let request = Request::from_parts(parts, Body::from(body));
            let owner = caller.sub;
            // In the request's span, so that its log lines keep their context.
            let task = tokio::spawn(
                async move {
                    let response = next.run(request).await;
                    keep(store, owner, key, response).await
                }
                .instrument(tracing::Span::current()),
            );
            task.await
                .unwrap_or_else(|e| ApiError::internal(&e).into_response())
        }
    }
}

/// The key's text: an RFC 8941 String (`"…"`) or the bare characters.
fn parse_key(value: &HeaderValue) -> Result<String, ApiError> {
    let text = value.to_str().unwrap_or_default().trim();
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    let printable = |c: char| c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\';
    if inner.is_empty() || inner.len() > MAX_KEY_CHARS || !inner.chars().all(printable) {
        return Err(ApiError::invalid(format!(
            "`Idempotency-Key` must be a quoted string of 1 to {MAX_KEY_CHARS} printable ASCII characters, e.g. a UUID: Idempotency-Key: \"8e03978e-40d5-43e8-bc93-6894a57f9324\""
        )));
    }
    Ok(inner.to_owned())
}

/// The SHA-256 (hex) of what makes a request this request: method, path and query, `Accept`, body.
fn fingerprint(parts: &axum::http::request::Parts, body: &Bytes) -> String {
    let mut hash = Sha256::new();
    hash.update(parts.method.as_str());
    hash.update(b"\n");
    hash.update(parts.uri.path_and_query().map_or("", |p| p.as_str()));
    hash.update(b"\n");
    for accept in parts.headers.get_all(header::ACCEPT) {
        hash.update(accept.as_bytes());
        hash.update(b",");
    }
    hash.update(b"\n");
    hash.update(body);
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Stores `response` as the key's answer and passes it on; releases the key instead when the
/// answer changed nothing and a retry may fare better (5xx; 401 and 403, refused before anything
/// ran: a retry with a new token or proof; 429).
async fn keep(store: Store, owner: String, key: String, response: Response) -> Response {
    let status = response.status();
    let changed_nothing = status.is_server_error()
        || matches!(
            status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
        );
    if changed_nothing {
        if let Err(e) = store.release_idempotency_key(&owner, &key).await {
            tracing::error!(error = %e, "cannot release an idempotency key");
        }
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if content_type
        .as_deref()
        .is_some_and(|t| t.starts_with("text/event-stream"))
    {
        return recorded(store, owner, key, content_type, response);
    }
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(e) => {
            // Whatever the handler did is done: the key stays in flight until it is abandoned.
            return ApiError::internal(&e).into_response();
        }
    };
    let answer = StoredAnswer {
        status: status.as_u16(),
        content_type,
        body: body.to_vec(),
    };
    save(&store, &owner, &key, &answer).await;
    Response::from_parts(parts, Body::from(body))
}

/// Stores `answer` for the key; a failure is logged, the key then stays in flight (409) until
/// abandoned, rather than letting a retry run the request again.
async fn save(store: &Store, owner: &str, key: &str, answer: &StoredAnswer) {
    if let Err(e) = store.answer_idempotency_key(owner, key, answer).await {
        tracing::error!(error = %e, "cannot store the answer of an idempotency key");
    }
}

/// A streamed answer passed on as it comes, kept whole (as far as it went) when it ends.
fn recorded(
    store: Store,
    owner: String,
    key: String,
    content_type: Option<String>,
    response: Response,
) -> Response {
    let (parts, body) = response.into_parts();
    let mut recorder = Recorder {
        store,
        owner,
        key,
        answer: Some(StoredAnswer {
            status: parts.status.as_u16(),
            content_type,
            body: Vec::new(),
        }),
    };
    let stream = body.into_data_stream().map(move |chunk| {
        if let (Ok(bytes), Some(answer)) = (&chunk, recorder.answer.as_mut()) {
            answer.body.extend_from_slice(bytes);
        }
        chunk
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

/// Keeps a streamed answer's bytes and stores them when the stream is dropped (ended, or the
/// client left).
struct Recorder {
    store: Store,
    owner: String,
    key: String,
    answer: Option<StoredAnswer>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let (Some(answer), Ok(runtime)) =
            (self.answer.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let (store, owner, key) = (
            self.store.clone(),
            std::mem::take(&mut self.owner),
            std::mem::take(&mut self.key),
        );
        runtime.spawn(async move { save(&store, &owner, &key, &answer).await });
    }
}

/// The first answer again, marked `Idempotent-Replayed: true`.
fn replay(answer: StoredAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut headers = HeaderMap::new();
    if let Some(value) = answer
        .content_type
        .and_then(|t| HeaderValue::from_str(&t).ok())
    {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(
        HeaderName::from_static(IDEMPOTENT_REPLAYED_HEADER),
        HeaderValue::from_static("true"),
    );
    (status, headers, answer.body).into_response()
}

/// 409 `idempotency_key_in_flight`, with `Retry-After: 1`.
fn in_flight() -> Response {
    let mut response = ApiError {
        status: StatusCode::CONFLICT,
        code: ErrorCode::IdempotencyKeyInFlight,
        message: "a request with this Idempotency-Key is still being answered: try again in a moment to get its answer".into(),
    }
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(1));
    response
}

/// 422 `idempotency_key_reused`.
fn reused() -> ApiError {
    ApiError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: ErrorCode::IdempotencyKeyReused,
        message: "this Idempotency-Key was used for another request in the last 24 hours: send a new key for a new request".into(),
    }
}

/// 413 `body_too_large`.
fn too_large() -> ApiError {
    ApiError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: ErrorCode::BodyTooLarge,
        message: format!(
            "the request body is too large: this endpoint takes at most {} KiB",
            MAX_BODY_BYTES / 1024
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_rfc_8941_strings_or_bare_printable_text() {
        let key = |v: &'static str| parse_key(&HeaderValue::from_static(v)).map_err(|e| e.code);
        assert_eq!(key("\"abc-1\"").unwrap(), "abc-1");
        assert_eq!(key("abc-1").unwrap(), "abc-1");
        for bad in ["\"\"", "", "a\\b", "\"a\"b\""] {
            assert_eq!(key(bad), Err(ErrorCode::InvalidRequest), "{bad:?}");
        }
        let long = "k".repeat(MAX_KEY_CHARS + 1);
        let value = HeaderValue::from_str(&long).unwrap();
        assert!(parse_key(&value).is_err());
    }
}
