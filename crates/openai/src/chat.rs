//! Realtime Chat Completions calls (`POST {base}/chat/completions`,
//! <https://platform.openai.com/docs/api-reference/chat/create>) through `async-openai`, with the
//! rate-limit headers of every answer captured.
//!
//! Any OpenAI-compatible endpoint works: [`ChatClient::new`] takes a base URL and a key (OpenAI's
//! `https://api.openai.com/v1`, the emulator, or a self-hosted server such as vLLM or llama.cpp's
//! server). The client makes **one attempt per call**: retrying a 429 is the caller's job, because
//! the caller paces every call of a job together (the server's `jobs::realtime::pacer`); each
//! answer's `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` and `retry-after(-ms)` headers
//! (<https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers>) are handed to a
//! [`RateLimitObserver`] before the answer is read.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use almanac_core::calls::Observer;
use async_openai::Client;
use async_openai::config::{Config, OpenAIConfig};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::error::{OpenAiError, classify};
use crate::ratelimit::RateLimitObserver;
use crate::transport::{RetryPolicy, Transport};

/// A client of one OpenAI-compatible Chat Completions endpoint. Cheap to clone.
#[derive(Clone)]
pub struct ChatClient {
    api: Client<OpenAIConfig>,
    key: SecretString,
}

impl fmt::Debug for ChatClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatClient")
            .field("api_base", &self.api.config().api_base())
            .field("key", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl ChatClient {
    /// A client for `api_base` (ending in `/v1` for OpenAI) with `api_key`, a per-call `timeout`,
    /// reporting every answer's headers to `observer` and every attempt to `calls`.
    ///
    /// # Panics
    /// When no rustls crypto provider is installed for the process (the server installs ring's at
    /// start-up).
    pub fn new(
        api_key: &SecretString,
        api_base: &str,
        timeout: Duration,
        observer: Arc<dyn RateLimitObserver>,
        calls: Observer,
    ) -> ChatClient {
        let key = api_key.expose_secret().trim();
        let config = OpenAIConfig::new()
            .with_api_key(if key.bytes().all(|b| b.is_ascii_graphic()) {
                key
            } else {
                ""
            })
            .with_api_base(api_base.trim_end_matches('/'));
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(timeout)
            .pool_max_idle_per_host(256)
            .build()
            .expect("an HTTP client builds once a rustls crypto provider is installed");
        // One attempt per call: the pacer decides when a row is sent again.
        let once = RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        };
        let api = Client::build(http.clone(), config).with_http_service(Transport::new(
            http,
            once,
            Some(observer),
            calls,
        ));
        ChatClient {
            api,
            key: SecretString::from(key.to_owned()),
        }
    }

    /// One call with a request body such as [`crate::jsonl::request_body`]; the answer's body
    /// (a `chat.completion` object). Not retried.
    ///
    /// # Errors
    /// [`OpenAiError::Transient`] for 429 (except `insufficient_quota`), 408, 5xx, timeouts and
    /// connection failures; [`OpenAiError::Permanent`] otherwise.
    pub async fn create(&self, body: Value) -> Result<Value, OpenAiError> {
        self.api
            .chat()
            .create_byot(body)
            .await
            .map_err(|e| classify(e, self.key.expose_secret()))
    }
}
