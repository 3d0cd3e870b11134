//! `GET /v1/models` (<https://platform.openai.com/docs/api-reference/models/list>): the free call
//! that tells whether OpenAI accepts an API key, for set-up checks (`almanac doctor`, the deep
//! health check). One attempt with the caller's timeout, no retries: the caller asks once and
//! reports what it got.

use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use crate::connection::key_problem;
use crate::error::{OpenAiError, error_chain, from_status, redact, short};

#[derive(Deserialize)]
struct ModelList {
    data: Vec<Model>,
}

#[derive(Deserialize)]
struct Model {
    id: String,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

/// The ids of the models `api_key` may use, from `GET {api_base}/models` (`api_base` ends in
/// `/v1`), within `timeout`.
///
/// # Errors
/// [`OpenAiError::Permanent`] with the HTTP status when OpenAI refuses the call (401
/// `invalid_api_key` for a key it does not know, 403 for a key without the permission or from an
/// unsupported region, 429 `insufficient_quota` for an account without credit), or without a
/// status for a key that cannot be sent in a header or an answer that is not a model list;
/// [`OpenAiError::Transient`] for the network, a timeout, 408, another 429 or a 5xx. Messages
/// never hold the key.
pub async fn list_models(
    api_base: &str,
    api_key: &SecretString,
    timeout: Duration,
) -> Result<Vec<String>, OpenAiError> {
    let key = api_key.expose_secret().trim();
    if let Some(problem) = key_problem(key) {
        return Err(OpenAiError::Permanent {
            status: None,
            message: problem.into(),
        });
    }
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| OpenAiError::Permanent {
            status: None,
            message: e.to_string(),
        })?;
    let url = format!("{}/models", api_base.trim_end_matches('/'));
    let answer = http
        .get(&url)
        .bearer_auth(key)
        .send()
        .await
        .map_err(|e| OpenAiError::Transient(redact(&error_chain(&e), key)))?;
    let status = answer.status().as_u16();
    let body = answer
        .bytes()
        .await
        .map_err(|e| OpenAiError::Transient(redact(&error_chain(&e), key)))?;
    if (200..300).contains(&status) {
        let list: ModelList =
            serde_json::from_slice(&body).map_err(|e| OpenAiError::Permanent {
                status: Some(status),
                message: format!("GET {url} answered something that is not a model list: {e}"),
            })?;
        return Ok(list.data.into_iter().map(|m| m.id).collect());
    }
    Err(refusal(status, &body, key))
}

/// OpenAI's error answer as an [`OpenAiError`], sorted as [`crate::error`] sorts the clients'.
fn refusal(status: u16, body: &[u8], key: &str) -> OpenAiError {
    let (message, quota) = match serde_json::from_slice::<ErrorAnswer>(body) {
        Ok(ErrorAnswer { error }) => {
            let quota = error.code.as_deref() == Some("insufficient_quota")
                || error.kind.as_deref() == Some("insufficient_quota");
            let message = match error.code {
                Some(code) => format!("{} ({code})", error.message),
                None => error.message,
            };
            (message, quota)
        }
        Err(_) => (String::from_utf8_lossy(body).into_owned(), false),
    };
    from_status(status, quota, redact(&short(message), key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_key_is_permanent_and_never_echoed() {
        let body = br#"{"error":{"message":"Incorrect API key provided: sk-abc***wxyz. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#;
        let err = refusal(401, body, "sk-abcdefghijklmnopwxyz");
        assert_eq!(err.status(), Some(401));
        let text = err.to_string();
        assert!(text.contains("invalid_api_key"), "{text}");
        assert!(!text.contains("sk-abc"), "{text}");
        let quota = br#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
        assert_eq!(refusal(429, quota, "k").status(), Some(429));
        assert!(refusal(429, b"{}", "k").is_transient());
        assert!(refusal(503, b"down", "k").is_transient());
    }
}
