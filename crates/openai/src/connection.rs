//! One connection to an OpenAI-compatible service, shared by every client of this crate
//! ([`BatchClient`](crate::batch::BatchClient), [`ChatClient`](crate::chat::ChatClient),
//! [`ResponsesClient`](crate::responses::client::ResponsesClient)): the API key (a
//! [`SecretString`], never shown by `Debug`), the base URL, the `async-openai` clients over the
//! crate's [`Transport`], and the sorting of errors into transient or permanent with the key
//! scrubbed out.
//!
//! A key that cannot be used — empty, or holding spaces or characters an HTTP header cannot carry
//! (async-openai would panic on it) — is refused the same way by every client: each call fails
//! with [`OpenAiError::Permanent`] before anything is sent.

use std::fmt;
use std::sync::Arc;

use almanac_core::calls::Observer;
use async_openai::Client;
use async_openai::config::{Config, OpenAIConfig};
use secrecy::{ExposeSecret, SecretString};

use crate::error::{OpenAiError, classify};
use crate::ratelimit::RateLimitObserver;
use crate::transport::{RetryPolicy, Transport};

/// Why a key cannot be used: `None` for a usable one (after trimming). The one rule for every
/// call that sends the key (the clients, and `models::list_models`).
pub(crate) fn key_problem(key: &str) -> Option<&'static str> {
    if key.is_empty() {
        Some("the OpenAI API key is empty; set OPENAI_API_KEY")
    } else if !key.bytes().all(|b| b.is_ascii_graphic()) {
        Some(
            "the OpenAI API key contains spaces or characters that cannot be sent in an HTTP header; check OPENAI_API_KEY",
        )
    } else {
        None
    }
}

/// The key, base URL and call observer of one OpenAI-compatible service, and the clients built
/// on them. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Connection {
    /// `async-openai`'s configuration: the base URL and, for a usable key, the key.
    config: OpenAIConfig,
    /// The key as given (trimmed), kept to scrub it out of error messages.
    key: SecretString,
    /// Set when the key cannot be used; every call then fails with it.
    key_problem: Option<&'static str>,
    /// Told about every HTTP attempt (the server's metrics).
    calls: Observer,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("api_base", &self.config.api_base())
            .field("key", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A connection to `api_base` (`https://api.openai.com/v1`, the emulator's
    /// `http://127.0.0.1:PORT/v1`, any OpenAI-compatible server; a trailing `/` is dropped) with
    /// `api_key` (surrounding whitespace dropped), reporting every attempt to `calls`.
    pub(crate) fn new(api_key: &SecretString, api_base: &str, calls: Observer) -> Connection {
        let key = api_key.expose_secret().trim();
        let key_problem = key_problem(key);
        let config = OpenAIConfig::new()
            .with_api_key(if key_problem.is_some() { "" } else { key })
            .with_api_base(api_base.trim_end_matches('/'));
        Connection {
            config,
            key: SecretString::from(key.to_owned()),
            key_problem,
            calls,
        }
    }

    /// `async-openai`'s configuration (base URL, key header), for calls sent without it.
    pub(crate) fn config(&self) -> &OpenAIConfig {
        &self.config
    }

    /// A transport over an HTTP client from `builder` with `policy`'s connect timeout, retrying
    /// as `policy` says, reporting rate-limit headers to `rate_limits` when given and every
    /// attempt to the connection's call observer.
    ///
    /// # Panics
    /// When no rustls crypto provider is installed for the process (the server installs ring's at
    /// start-up).
    pub(crate) fn transport(
        &self,
        builder: reqwest::ClientBuilder,
        policy: &RetryPolicy,
        rate_limits: Option<Arc<dyn RateLimitObserver>>,
    ) -> Transport {
        let http = builder
            .connect_timeout(policy.connect_timeout)
            .build()
            .expect("an HTTP client builds once a rustls crypto provider is installed");
        Transport::new(http, policy.clone(), rate_limits, self.calls.clone())
    }

    /// An `async-openai` client of this service sending through `transport`.
    pub(crate) fn client(&self, transport: &Transport) -> Client<OpenAIConfig> {
        Client::build(transport.http().clone(), self.config.clone())
            .with_http_service(transport.clone())
    }

    /// `Ok` when the key can be sent.
    ///
    /// # Errors
    /// [`OpenAiError::Permanent`] (no status) saying what is wrong with the key.
    pub(crate) fn check_key(&self) -> Result<(), OpenAiError> {
        match self.key_problem {
            Some(problem) => Err(OpenAiError::Permanent {
                status: None,
                message: problem.into(),
            }),
            None => Ok(()),
        }
    }

    /// Sorts an `async-openai` error into transient or permanent, with the key scrubbed out.
    pub(crate) fn classify(&self, error: async_openai::error::OpenAIError) -> OpenAiError {
        classify(error, self.key.expose_secret())
    }
}

/// The error of an answer that is not a success, read as async-openai reads one.
pub(crate) async fn api_error(response: reqwest::Response) -> async_openai::error::OpenAIError {
    let status_code = response.status();
    match response.bytes().await {
        Ok(body) => {
            async_openai::error::OpenAIError::ApiError(async_openai::error::ApiErrorResponse {
                status_code,
                api_error: serde_json::from_slice::<async_openai::error::WrappedError>(&body)
                    .map(|w| w.error)
                    .unwrap_or_else(|_| async_openai::error::ApiError {
                        message: String::from_utf8_lossy(&body).into_owned(),
                        ..async_openai::error::ApiError::default()
                    }),
            })
        }
        Err(e) => async_openai::error::OpenAIError::Reqwest(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_header_breaking_keys_are_problems_and_a_plain_key_is_not() {
        assert!(key_problem("").is_some());
        assert!(key_problem("sk-bad key").is_some());
        assert!(key_problem("sk-bad\u{e9}").is_some());
        assert_eq!(key_problem("sk-proj-abc_123"), None);
    }

    /// Takes no notice of rate-limit headers.
    struct Deaf;

    impl RateLimitObserver for Deaf {
        fn observe(&self, _: &crate::ratelimit::RateLimitHeaders) {}
    }

    #[tokio::test]
    async fn every_client_refuses_a_bad_key_the_same_way_before_any_call() {
        use crate::batch::BatchClient;
        use crate::chat::ChatClient;
        use crate::responses::client::ResponsesClient;
        let _ = rustls::crypto::ring::default_provider().install_default();
        // Port 9 (discard): a call that went out would fail with a transient error instead.
        let base = "http://127.0.0.1:9/v1";
        for (key, problem) in [
            ("", "is empty"),
            ("   ", "is empty"),
            ("sk-bad key\n", "cannot be sent in an HTTP header"),
            ("sk-caf\u{e9}", "cannot be sent in an HTTP header"),
        ] {
            let secret = SecretString::from(key);
            let batch = BatchClient::new(&secret, base);
            let chat = ChatClient::new(
                &secret,
                base,
                std::time::Duration::from_secs(5),
                Arc::new(Deaf),
                None,
            );
            let responses = ResponsesClient::new(&secret, base, RetryPolicy::default(), None);
            let errors = [
                batch.retrieve_batch("batch_1").await.unwrap_err(),
                chat.create(serde_json::json!({"model": "m"}))
                    .await
                    .unwrap_err(),
                responses.retrieve("resp_1").await.unwrap_err(),
            ];
            for err in &errors {
                assert!(!err.is_transient(), "{key:?}: {err}");
                assert_eq!(err.status(), None, "{key:?}: {err}");
                assert!(err.to_string().contains(problem), "{key:?}: {err}");
                assert_eq!(err, &errors[0], "{key:?}: the same refusal");
            }
            for shown in [
                format!("{batch:?}"),
                format!("{chat:?}"),
                format!("{responses:?}"),
            ] {
                assert!(shown.contains("[redacted]"), "{shown}");
                assert!(
                    key.trim().is_empty() || !shown.contains(key.trim()),
                    "{shown}"
                );
            }
        }
    }
}
