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
use async_openai::config::OpenAIConfig;
use secrecy::SecretString;
use serde_json::Value;

use crate::connection::Connection;
use crate::error::OpenAiError;
use crate::ratelimit::RateLimitObserver;
use crate::transport::RetryPolicy;

/// A client of one OpenAI-compatible Chat Completions endpoint. Cheap to clone.
#[derive(Clone)]
pub struct ChatClient {
    connection: Connection,
    api: Client<OpenAIConfig>,
}

impl fmt::Debug for ChatClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatClient")
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

impl ChatClient {
    /// A client for `api_base` (ending in `/v1` for OpenAI) with `api_key`, a per-call `timeout`,
    /// reporting every answer's headers to `observer` and every attempt to `calls`. A key that
    /// is empty or cannot be sent in an HTTP header fails every call (see
    /// [`crate::connection`]).
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
        let connection = Connection::new(api_key, api_base, calls);
        // One attempt per call: the pacer decides when a row is sent again.
        let once = RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        };
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .pool_max_idle_per_host(256);
        let api = connection.client(&connection.transport(http, &once, Some(observer)));
        ChatClient { connection, api }
    }

    /// One call with a request body such as [`crate::jsonl::request_body`]; the answer's body
    /// (a `chat.completion` object). Not retried.
    ///
    /// # Errors
    /// [`OpenAiError::Transient`] for 429 (except `insufficient_quota`), 408, 5xx, timeouts and
    /// connection failures; [`OpenAiError::Permanent`] otherwise, and without a call when the key
    /// cannot be used.
    pub async fn create(&self, body: Value) -> Result<Value, OpenAiError> {
        self.connection.check_key()?;
        self.api
            .chat()
            .create_byot(body)
            .await
            .map_err(|e| self.connection.classify(e))
    }
}
