//! The HTTP transport of every `async-openai` client of this crate: sends each request with
//! `reqwest`, retries as a [`RetryPolicy`] says (with `backon`), reports every attempt to the
//! client's [`CallObserver`](almanac_core::calls::CallObserver) (the server's metrics) and, when it
//! has one, every answer's rate-limit headers to a [`RateLimitObserver`].
//!
//! `async-openai` 0.43's default client retries 429 (except `insufficient_quota`), 5xx and
//! connection errors up to 3 times with exponential backoff from 100 ms (capped at 8 s) — but
//! sleeps for whatever `Retry-After` says, without a cap, and retries `POST /v1/batches` on 5xx,
//! which can create a second batch if the first attempt did reach the service. This transport
//! replaces that layer (through the `middleware` feature):
//!
//! - retried: 429 other than `insufficient_quota`, 5xx, timeouts and connection failures;
//! - at most `max_retries` retries, waiting `Retry-After`/`retry-after-ms` if given, else
//!   `initial_backoff × 2^n`, always capped at `max_backoff`;
//! - every attempt has a timeout (`request_timeout`, or `transfer_timeout` for uploads and
//!   downloads);
//! - `POST /v1/batches` and `POST /v1/responses` (creates) are retried only when the connection
//!   failed before the request was sent (or after a 429); after any other failure the caller
//!   should look for what it created before creating it again.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use almanac_core::calls::{ExternalCall, Observer};
use async_openai::error::{ApiError, ApiErrorResponse, OpenAIError, WrappedError};
use async_openai::middleware::HttpRequestFactory;

use crate::ratelimit::{RateLimitHeaders, RateLimitObserver, retry_after};

/// How the client retries and times out HTTP calls. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = no retries). Default 3.
    pub max_retries: u32,
    /// Wait before the first retry when the service gives no `Retry-After`; doubles each retry.
    /// Default 500 ms.
    pub initial_backoff: Duration,
    /// Longest wait between attempts, `Retry-After` included. Default 30 s.
    pub max_backoff: Duration,
    /// Time to establish a connection. Default 10 s.
    pub connect_timeout: Duration,
    /// Time for one attempt of a small JSON call (create, retrieve, list, cancel, chat). Default 120 s.
    pub request_timeout: Duration,
    /// Time for one attempt of an upload or download (up to 200 MB). Default 15 min.
    pub transfer_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            transfer_timeout: Duration::from_secs(15 * 60),
        }
    }
}

impl RetryPolicy {
    /// The exponential backoff (with `backon`): `initial_backoff × 2^n`, capped at `max_backoff`,
    /// at most `max_retries` retries.
    pub(crate) fn backoff(&self) -> backon::ExponentialBuilder {
        backon::ExponentialBuilder::default()
            .with_min_delay(self.initial_backoff)
            .with_max_delay(self.max_backoff)
            .with_max_times(self.max_retries as usize)
    }

    /// The wait before a retry: the service's `Retry-After` hint if it gave one, else the
    /// backoff's; always capped at `max_backoff`.
    pub(crate) fn delay(&self, backoff: Duration, hint: Option<Duration>) -> Duration {
        hint.unwrap_or(backoff).min(self.max_backoff)
    }
}

/// The transport of the crate's `async-openai` clients (see the module documentation). Cheap to
/// clone: clones share the HTTP connection pool and the observers.
#[derive(Clone)]
pub(crate) struct Transport {
    http: reqwest::Client,
    policy: RetryPolicy,
    /// Told about every answer's rate-limit headers (the realtime client's pacer).
    rate_limits: Option<Arc<dyn RateLimitObserver>>,
    /// Told about every attempt (the server's metrics).
    calls: Observer,
}

type TransportFuture = Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send>>;

impl tower::Service<HttpRequestFactory> for Transport {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = TransportFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { this.send(factory).await })
    }
}

/// A metrics label for a call: `POST /v1/batches` → `batches.create`,
/// `GET /v1/batches/batch_1` → `batches.retrieve`, `GET /v1/files/file-1/content` →
/// `files.content`; ids never become labels.
fn operation_name(method: &reqwest::Method, path: &str) -> String {
    let parts: Vec<&str> = path
        .trim_start_matches('/')
        .split('/')
        .skip_while(|p| *p == "v1")
        .collect();
    let post = method == reqwest::Method::POST;
    match parts.as_slice() {
        ["batches"] if post => "batches.create".into(),
        ["batches"] => "batches.list".into(),
        ["batches", _] => "batches.retrieve".into(),
        ["batches", _, "cancel"] => "batches.cancel".into(),
        ["files"] if post => "files.create".into(),
        ["files", _, "content"] => "files.content".into(),
        ["files", ..] => "files.other".into(),
        ["chat", "completions"] => "chat.completions".into(),
        ["responses"] if post => "responses.create".into(),
        ["responses", _] => "responses.retrieve".into(),
        ["responses", _, "cancel"] => "responses.cancel".into(),
        ["conversations", ..] => "conversations".into(),
        ["containers", _, "files", _, "content"] => "containers.files.content".into(),
        _ => "other".into(),
    }
}

/// The end of one attempt that did not succeed: retry it (if retries are left), or give `outcome`
/// back to async-openai as it is.
enum Failure {
    /// Worth another attempt.
    Retry {
        /// Why, for the log.
        reason: String,
        /// The service's `Retry-After`, if any.
        hint: Option<Duration>,
        /// What to hand back if no retry is left.
        outcome: Result<reqwest::Response, OpenAIError>,
    },
    /// Final: hand `outcome` back.
    Stop(Result<reqwest::Response, OpenAIError>),
}

impl Transport {
    /// A transport sending with `http`, retrying as `policy` says, reporting rate-limit headers
    /// to `rate_limits` and every attempt to `calls`, if given.
    pub(crate) fn new(
        http: reqwest::Client,
        policy: RetryPolicy,
        rate_limits: Option<Arc<dyn RateLimitObserver>>,
        calls: Observer,
    ) -> Transport {
        Transport {
            http,
            policy,
            rate_limits,
            calls,
        }
    }

    /// The HTTP client the transport sends with (to build a request sent through
    /// [`Transport::send`]).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends a request, retrying with `backon` as [`RetryPolicy`] says; the answer's body is not
    /// read (the caller may stream it).
    pub(crate) async fn send(
        &self,
        factory: HttpRequestFactory,
    ) -> Result<reqwest::Response, OpenAIError> {
        use backon::Retryable;
        let policy = &self.policy;
        let result = (|| self.attempt(&factory))
            .retry(policy.backoff())
            .sleep(tokio::time::sleep)
            .when(|f| matches!(f, Failure::Retry { .. }))
            .adjust(|f, backoff| match (f, backoff) {
                (Failure::Retry { hint, .. }, Some(b)) => Some(policy.delay(b, *hint)),
                _ => backoff,
            })
            .notify(|f, delay| {
                if let Failure::Retry { reason, .. } = f {
                    tracing::warn!(%reason, delay_ms = delay.as_millis() as u64, "OpenAI call failed; retrying");
                }
            })
            .await;
        match result {
            Ok(response) => Ok(response),
            Err(Failure::Retry { outcome, .. } | Failure::Stop(outcome)) => outcome,
        }
    }

    /// One attempt: success, or a [`Failure`] saying whether another attempt may help.
    async fn attempt(&self, factory: &HttpRequestFactory) -> Result<reqwest::Response, Failure> {
        let request = factory.build().await.map_err(|e| Failure::Stop(Err(e)))?;
        let method = request.method().clone();
        let path = request.url().path().to_owned();
        // Creating a batch (or a response) twice would run and bill it twice.
        let creates = path.ends_with("/batches") || path.ends_with("/responses");
        let replay_safe = !(method == reqwest::Method::POST && creates);
        let started = std::time::Instant::now();
        let sent = self.http.execute(request).await;
        self.report(&method, &path, &sent, started.elapsed());
        let what = format!("{method} {path}");
        match sent {
            Ok(response) if response.status().is_success() => Ok(response),
            Ok(response) if response.status().as_u16() == 429 => {
                Err(rate_limited(response, &what).await)
            }
            Ok(response) if response.status().is_server_error() && replay_safe => {
                Err(Failure::Retry {
                    reason: format!("{what}: HTTP {}", response.status().as_u16()),
                    hint: retry_after(response.headers()),
                    outcome: Ok(response),
                })
            }
            Ok(response) => Ok(response),
            Err(e) => Err(unanswered(e, replay_safe, &what)),
        }
    }

    /// Hands one attempt to the observers: the call (always) and the answer's rate-limit headers
    /// (when there was an answer).
    fn report(
        &self,
        method: &reqwest::Method,
        path: &str,
        sent: &Result<reqwest::Response, reqwest::Error>,
        took: Duration,
    ) {
        if let Some(calls) = &self.calls {
            calls.observe(&ExternalCall {
                service: "openai",
                operation: operation_name(method, path),
                status: match sent {
                    Ok(response) => response.status().as_u16().to_string(),
                    Err(e) if e.is_timeout() => "timeout".to_owned(),
                    Err(_) => "connection".to_owned(),
                },
                took,
            });
        }
        if let (Some(observer), Ok(response)) = (&self.rate_limits, sent) {
            observer.observe(&RateLimitHeaders::from_headers(
                response.status().as_u16(),
                response.headers(),
            ));
        }
    }
}

/// A 429: retried unless the quota is exhausted (`insufficient_quota`). A 429 means the request
/// was not processed, so even a create may be replayed.
async fn rate_limited(response: reqwest::Response, what: &str) -> Failure {
    let status_code = response.status();
    let hint = retry_after(response.headers());
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(e) => return Failure::Stop(Err(OpenAIError::Reqwest(e))),
    };
    let api_error = serde_json::from_slice::<WrappedError>(&body)
        .map(|w| w.error)
        .unwrap_or_else(|_| ApiError {
            message: String::from_utf8_lossy(&body).into_owned(),
            ..ApiError::default()
        });
    let quota = api_error.r#type.as_deref() == Some("insufficient_quota")
        || api_error.code.as_deref() == Some("insufficient_quota");
    let outcome = Err(OpenAIError::ApiError(ApiErrorResponse {
        status_code,
        api_error,
    }));
    if quota {
        Failure::Stop(outcome)
    } else {
        Failure::Retry {
            reason: format!("{what}: HTTP 429"),
            hint,
            outcome,
        }
    }
}

/// No answer came: a connection failure is retried; a timeout or a request error only when the
/// call may be replayed (not a batch create, which may have reached the service).
fn unanswered(e: reqwest::Error, replay_safe: bool, what: &str) -> Failure {
    let retryable = e.is_connect() || (replay_safe && (e.is_timeout() || e.is_request()));
    let reason = format!(
        "{what}: {}",
        if e.is_timeout() {
            "timeout"
        } else {
            "connection failed"
        }
    );
    let outcome = Err(OpenAIError::Reqwest(e));
    if retryable {
        Failure::Retry {
            reason,
            hint: None,
            outcome,
        }
    } else {
        Failure::Stop(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_honours_retry_after_and_is_capped() {
        use backon::BackoffBuilder;
        let p = RetryPolicy::default();
        let delays: Vec<Duration> = p.backoff().build().collect();
        assert_eq!(
            delays,
            [500, 1000, 2000].map(Duration::from_millis).to_vec(),
            "three retries, doubling from 500 ms"
        );
        let capped = RetryPolicy {
            max_retries: 20,
            ..RetryPolicy::default()
        };
        assert_eq!(
            capped.backoff().build().last(),
            Some(Duration::from_secs(30))
        );
        let b = Duration::from_millis(500);
        assert_eq!(p.delay(b, None), b);
        assert_eq!(
            p.delay(b, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            p.delay(b, Some(Duration::from_secs(3600))),
            Duration::from_secs(30)
        );
    }
}
