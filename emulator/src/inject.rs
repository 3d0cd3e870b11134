//! The axum middleware that applies the injected [`CallFault`](crate::faults::CallFault)s to live
//! calls, for the OpenAI and the Sheets routers: a 429 or 5xx in the service's own error shape
//! (OpenAI's `{"error":{"message","type","param","code"}}`, Google's
//! `{"error":{"code","message","status"}}`), a connection cut mid-response, or a late answer.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::faults::{CallFaultKind, FaultTarget};
use crate::state::Shared;

/// The axum middleware that applies [`Faults::calls`](crate::faults::Faults::calls).
pub(crate) async fn inject(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let kind = {
        let mut state = shared.lock();
        let method = request.method().clone();
        let path = request.uri().path().to_string();
        state
            .faults
            .calls
            .iter_mut()
            .find(|f| f.times > 0 && f.target.matches(&method, &path))
            .map(|f| {
                f.times = f.times.saturating_sub(1);
                (f.kind, f.target)
            })
    };
    match kind {
        None | Some((CallFaultKind::Pass, _)) => next.run(request).await,
        Some((CallFaultKind::Delay(delay), _)) => {
            let response = next.run(request).await;
            tokio::time::sleep(delay).await;
            response
        }
        Some((CallFaultKind::Reset, _)) => {
            let broken = futures_util_once_error();
            (StatusCode::OK, Body::from_stream(broken)).into_response()
        }
        Some((CallFaultKind::Status(code), target)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = match target {
                FaultTarget::Sheets | FaultTarget::SheetsWrite => json!({"error": {
                    "code": code,
                    "message": if code == 429 {
                        "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute per user' of service 'sheets.googleapis.com'."
                    } else {
                        "The service is currently unavailable."
                    },
                    "status": if code == 429 { "RESOURCE_EXHAUSTED" } else { "UNAVAILABLE" },
                }}),
                FaultTarget::OpenAi
                | FaultTarget::OpenAiBatchCreate
                | FaultTarget::OpenAiResponses => json!({"error": {
                    "message": if code == 429 {
                        "[emulated] Rate limit reached for requests. Please try again in 1s."
                    } else {
                        "[emulated] The server had an error while processing your request. Sorry about that!"
                    },
                    "type": if code == 429 { "requests" } else { "server_error" },
                    "param": null,
                    "code": if code == 429 { Some("rate_limit_exceeded") } else { None },
                }}),
            };
            let mut response = (status, axum::Json(body)).into_response();
            if code == 429 {
                response
                    .headers_mut()
                    .insert("retry-after", axum::http::HeaderValue::from_static("1"));
            }
            response
        }
    }
}

/// A body stream that yields a little data and then fails, which makes hyper abort the connection.
fn futures_util_once_error()
-> impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send {
    futures::stream::iter(vec![
        Ok(bytes::Bytes::from_static(b"{\"object\":")),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "[emulated] connection reset",
        )),
    ])
}
