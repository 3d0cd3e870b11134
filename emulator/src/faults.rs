//! Failures and pauses a test can inject into the emulator's HTTP surface:
//!
//! - [`CallFault`]s answer whole calls with a 429 or 5xx in the service's own error shape
//!   (OpenAI's `{"error":{"message","type","param","code"}}`, Google's
//!   `{"error":{"code","message","status"}}`), cut the connection mid-response, or answer late
//!   (after the effect), for a number of calls — the transient faults a client must wait out;
//! - [`Hold`]s stop one response at a [`HoldPoint`] *after* its effect is applied (the batch is
//!   created, the cells are written) and before it is sent, so that a test can kill the client
//!   exactly between "the remote side did it" and "the client learnt it".

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::{Notify, oneshot};

use crate::state::Shared;

/// Which calls a [`CallFault`] hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultTarget {
    /// Every OpenAI call under `/v1`.
    OpenAi,
    /// `POST /v1/batches` only (batch creation; a 429 here is the "batch creation rate limit").
    OpenAiBatchCreate,
    /// `POST /v1/responses` only (creating a model response; a 429 carries `retry-after: 1`).
    OpenAiResponses,
    /// Every Sheets call under `/v4/spreadsheets/`.
    Sheets,
    /// Sheets writes only (`values:batchUpdate`, `values.update`).
    SheetsWrite,
}

impl FaultTarget {
    fn matches(self, method: &Method, path: &str) -> bool {
        match self {
            FaultTarget::OpenAi => path.starts_with("/v1/"),
            FaultTarget::OpenAiBatchCreate => method == Method::POST && path == "/v1/batches",
            FaultTarget::OpenAiResponses => method == Method::POST && path == "/v1/responses",
            FaultTarget::Sheets => path.starts_with("/v4/spreadsheets/"),
            FaultTarget::SheetsWrite => {
                path.starts_with("/v4/spreadsheets/")
                    && (method == Method::PUT || path.ends_with(":batchUpdate"))
            }
        }
    }
}

/// How a faulted call goes wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallFaultKind {
    /// An error response with this HTTP status (429 carries `Retry-After: 1` for Sheets and
    /// OpenAI's `rate_limit_exceeded` code).
    Status(u16),
    /// A `200` whose body breaks off: the client sees the connection end mid-response.
    Reset,
    /// The call is carried out, then its answer waits this long — a client with a shorter timeout
    /// gives up although the effect (a created batch, written cells) happened.
    Delay(std::time::Duration),
}

/// A failure of the next `times` calls to `target`.
#[derive(Clone, Debug)]
pub struct CallFault {
    /// Which calls.
    pub target: FaultTarget,
    /// What happens to them.
    pub kind: CallFaultKind,
    /// How many calls fail; `usize::MAX` for "until the faults are replaced".
    pub times: usize,
}

/// What goes wrong with a model response (see [`ResponseFault`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseFaultKind {
    /// Streams only: after `after_events` events (clamped to before the terminal event) an
    /// `error` event (`code: "server_error"`) ends the stream; the response ends `failed`.
    ErrorEvent {
        /// Events sent before the error.
        after_events: usize,
    },
    /// Streams only: after `after_events` events a `response.failed` event (the response with
    /// `status: "failed"`, `error.code: "server_error"`) ends the stream.
    FailedEvent {
        /// Events sent before `response.failed`.
        after_events: usize,
    },
    /// Streams only: after `after_events` events the connection is cut (the body errors, hyper
    /// aborts it). The response itself goes on and ends as planned: `GET /v1/responses/{id}`
    /// shows it, and a background stream resumes with `GET …?stream=true&starting_after=N`.
    Cut {
        /// Events sent before the cut.
        after_events: usize,
    },
    /// Any mode: the response ends `failed` (`error: {"code": "server_error", …}`, no output); a
    /// stream sends `response.created`, `response.in_progress`, `response.failed`.
    Failed,
    /// Any mode: the response ends `incomplete` (`incomplete_details.reason:
    /// "max_output_tokens"`): the answer's text is cut to half its characters and its message
    /// has `status: "incomplete"`.
    Incomplete,
}

impl ResponseFaultKind {
    /// Whether this kind applies only to `stream: true` requests.
    pub fn streams_only(self) -> bool {
        matches!(
            self,
            ResponseFaultKind::ErrorEvent { .. }
                | ResponseFaultKind::FailedEvent { .. }
                | ResponseFaultKind::Cut { .. }
        )
    }
}

/// A fault for the next `times` `POST /v1/responses` it applies to, in the order of
/// [`Faults::responses`](crate::Faults::responses): the first fault with calls left, whose
/// `matching` text (if any) is in the latest user message and whose kind fits the request
/// (stream-only kinds skip non-streaming requests), is used and counted.
#[derive(Clone, Debug)]
pub struct ResponseFault {
    /// What goes wrong.
    pub kind: ResponseFaultKind,
    /// Only requests whose latest user message contains this text; `None` = any request.
    pub matching: Option<String>,
    /// How many requests it hits; `usize::MAX` for "until the faults are replaced".
    pub times: usize,
}

/// The axum middleware that applies [`Faults::calls`](crate::Faults::calls).
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
        None => next.run(request).await,
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

/// Points where [`Emulator::hold_next`](crate::Emulator::hold_next) can stop a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldPoint {
    /// `POST /v1/files`: the file is stored.
    FileUploaded,
    /// `POST /v1/batches`: the batch exists.
    BatchCreated,
    /// `GET /v1/batches/{id}`.
    BatchRetrieved,
    /// `GET /v1/files/{id}/content`.
    FileContent,
    /// `GET /v4/spreadsheets/{id}` (spreadsheets.get).
    SpreadsheetGet,
    /// `values:batchGet`.
    ValuesBatchGet,
    /// `values:batchUpdate`: the cells are written.
    ValuesBatchUpdated,
}

/// An armed hold, kept in the state until a call reaches its point.
pub struct Armed {
    point: HoldPoint,
    reached: Option<oneshot::Sender<()>>,
    release: Arc<Notify>,
}

/// A response held at a [`HoldPoint`]. Dropping it releases the response, or disarms the hold if
/// no call has reached it yet.
pub struct Hold {
    reached: Option<oneshot::Receiver<()>>,
    release: Arc<Notify>,
    shared: Arc<Shared>,
}

impl Hold {
    /// Resolves once a call has reached the point (its effect applied, its response waiting).
    /// Returns `false` if the emulator stopped first.
    pub async fn reached(&mut self) -> bool {
        match self.reached.take() {
            Some(rx) => rx.await.is_ok(),
            None => true,
        }
    }

    /// Lets the held response go.
    pub fn release(&self) {
        self.release.notify_one();
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.shared
            .lock()
            .holds
            .retain(|armed| !Arc::ptr_eq(&armed.release, &self.release));
        self.release.notify_one();
    }
}

pub(crate) fn arm(shared: &Arc<Shared>, point: HoldPoint) -> Hold {
    let (tx, rx) = oneshot::channel();
    let release = Arc::new(Notify::new());
    shared.lock().holds.push(Armed {
        point,
        reached: Some(tx),
        release: release.clone(),
    });
    Hold {
        reached: Some(rx),
        release,
        shared: shared.clone(),
    }
}

/// Called by a handler at `point` with no lock held: waits if a hold is armed there.
pub(crate) async fn pause(shared: &Shared, point: HoldPoint) {
    let armed = {
        let mut state = shared.lock();
        state
            .holds
            .iter()
            .position(|h| h.point == point)
            .map(|i| state.holds.remove(i))
    };
    if let Some(mut armed) = armed {
        if let Some(tx) = armed.reached.take() {
            let _ = tx.send(());
        }
        armed.release.notified().await;
    }
}
