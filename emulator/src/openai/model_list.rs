//! OpenAI's `GET /v1/models` (<https://platform.openai.com/docs/api-reference/models/list>) — the
//! free call that tells whether a key is accepted — and the check of the API key every `/v1` route
//! makes when the emulator is told which keys exist ([`reject_unknown_key`]).
//!
//! By default any non-empty key is accepted (the middleware of [`crate::openai::routes`] refuses an empty
//! one). Once [`crate::Emulator::set_openai_api_keys`] names the keys that exist, any other key is
//! refused on every `/v1` route as OpenAI refuses it: 401 with
//! `{"error":{"message":"Incorrect API key provided: sk-abc***wxyz. …","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`
//! (the key masked, as OpenAI echoes it).
//!
//! The list answers `{"object":"list","data":[{"id","object":"model","created","owned_by"}]}`,
//! the models the emulator serves.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::openai::wire::error_body;
use crate::state::Shared;

/// The models `GET /v1/models` lists, with their `created` (Unix seconds) and `owned_by`.
pub const LISTED_MODELS: [(&str, u64, &str); 6] = [
    ("gpt-4o-mini", 1_721_172_741, "system"),
    ("gpt-4o", 1_715_367_049, "system"),
    ("gpt-4.1-mini", 1_744_318_173, "system"),
    ("gpt-5-mini", 1_754_425_928, "system"),
    ("gpt-5", 1_754_425_777, "system"),
    ("o4-mini", 1_744_225_351, "system"),
];

/// The route `GET /v1/models` (to merge into the `/v1` router, behind its key checks).
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/v1/models", get(list))
}

/// `GET /v1/models`.
async fn list() -> Json<Value> {
    let data: Vec<Value> = LISTED_MODELS
        .iter()
        .map(|(id, created, owner)| {
            json!({"id": id, "object": "model", "created": created, "owned_by": owner})
        })
        .collect();
    Json(json!({"object": "list", "data": data}))
}

/// The axum middleware that refuses a key the emulator was not told about (when it was told any):
/// 401 `invalid_api_key`. An empty or missing key is left to the `/v1` router's own check.
pub(crate) async fn reject_unknown_key(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let key = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("")
        .to_owned();
    let refused = !key.is_empty()
        && shared
            .lock()
            .openai_api_keys
            .as_ref()
            .is_some_and(|keys| !keys.contains(&key));
    if refused {
        return incorrect_key(&key);
    }
    next.run(request).await
}

/// OpenAI's answer to a key it does not know.
fn incorrect_key(key: &str) -> Response {
    let message = format!(
        "Incorrect API key provided: {}. You can find your API key at https://platform.openai.com/account/api-keys.",
        mask(key)
    );
    (
        StatusCode::UNAUTHORIZED,
        Json(error_body(
            &message,
            "invalid_request_error",
            None,
            Some("invalid_api_key"),
        )),
    )
        .into_response()
}

/// A key as OpenAI echoes it: its first 3 and last 4 characters around asterisks (`sk-***…wxyz`),
/// or only asterisks when it is short.
fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_masked_as_openai_echoes_it() {
        assert_eq!(mask("sk-wrong-key-1234"), "sk-**********1234");
        assert_eq!(mask("short"), "*****");
    }
}
