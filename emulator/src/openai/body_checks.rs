//! What the stand-in checks in a request body before it acts, in OpenAI's words: a
//! `POST /v1/batches` body's parameters and its `metadata` (at most 16 pairs, keys of at most 64
//! characters, string values of at most 512), and the error answers every route gives
//! (`{"error": {"message", "type", "param", "code"}}`, see `fixtures/reference/`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::openai::batch::ENDPOINTS;
use crate::openai::wire::{Refusal, error_body};

/// Longest `metadata` key, in characters (the `Metadata` schema: 64).
const METADATA_KEY_CHARS: usize = 64;

/// Longest `metadata` value, in characters (the `Metadata` schema: 512).
const METADATA_VALUE_CHARS: usize = 512;

/// An error answer of `status` with OpenAI's error body.
pub(crate) fn error(
    status: StatusCode,
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Response {
    (status, Json(error_body(message, kind, param, code))).into_response()
}

pub(crate) fn invalid_request(message: &str, param: Option<&str>, code: Option<&str>) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        message,
        "invalid_request_error",
        param,
        code,
    )
}

/// A 400 `invalid_request_error`.
/// `[input_file_id, endpoint, completion_window]` of a `POST /v1/batches` body: each required
/// (a string), the endpoint one of [`ENDPOINTS`], the window `24h`; else the 400.
pub(crate) fn batch_parameters(req: &Map<String, Value>) -> Result<[String; 3], Refusal> {
    let text = |name: &str| match req.get(name) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let mut fields = Vec::with_capacity(3);
    for name in ["input_file_id", "endpoint", "completion_window"] {
        let Some(value) = text(name) else {
            return Err(invalid_request(
                &format!("Missing required parameter: '{name}'."),
                Some(name),
                Some("missing_required_parameter"),
            )
            .into());
        };
        fields.push(value);
    }
    let fields: [String; 3] = match fields.try_into() {
        Ok(fields) => fields,
        Err(_) => return Err(invalid_request("Invalid request.", None, None).into()),
    };
    let [_, endpoint, window] = &fields;
    if !ENDPOINTS.contains(&endpoint.as_str()) {
        return Err(invalid_request(
            &format!(
                "Invalid value: '{endpoint}'. Supported values are: '/v1/chat/completions', '/v1/completions', '/v1/embeddings', and '/v1/responses'."
            ),
            Some("endpoint"),
            Some("invalid_value"),
        ).into());
    }
    if window != "24h" {
        return Err(invalid_request(
            &format!("Invalid value: '{window}'. Supported values are: '24h'."),
            Some("completion_window"),
            Some("invalid_value"),
        )
        .into());
    }
    Ok(fields)
}

/// A batch's `metadata`: null, or an object of at most 16 pairs, keys of at most
/// [`METADATA_KEY_CHARS`] characters and string values of at most [`METADATA_VALUE_CHARS`]
/// (the `Metadata` schema of the API reference); else the 400.
pub(crate) fn check_batch_metadata(metadata: &Value) -> Result<(), Refusal> {
    match metadata {
        Value::Null => Ok(()),
        Value::Object(map) => {
            if map.len() > 16 {
                return Err(invalid_request(
                    "Invalid 'metadata': too many properties. Expected an object with at most 16 properties, but got an object with more instead.",
                    Some("metadata"),
                    Some("object_above_max_properties"),
                ).into());
            }
            for (key, value) in map {
                let key_chars = key.chars().count();
                if key_chars > METADATA_KEY_CHARS {
                    return Err(invalid_request(
                        &format!(
                            "Invalid 'metadata': string too long. Expected a key with maximum length {METADATA_KEY_CHARS}, but got a key with length {key_chars} instead."
                        ),
                        Some("metadata"),
                        Some("string_above_max_length"),
                    ).into());
                }
                if let Value::String(text) = value
                    && text.chars().count() > METADATA_VALUE_CHARS
                {
                    return Err(invalid_request(
                        &format!(
                            "Invalid 'metadata.{key}': string too long. Expected a string with maximum length {METADATA_VALUE_CHARS}, but got a string with length {} instead.",
                            text.chars().count()
                        ),
                        Some(&format!("metadata.{key}")),
                        Some("string_above_max_length"),
                    ).into());
                }
                if !value.is_string() {
                    return Err(invalid_request(
                        &format!(
                            "Invalid type for 'metadata.{key}': expected a string, but got {} instead.",
                            json_kind(value)
                        ),
                        Some(&format!("metadata.{key}")),
                        Some("invalid_type"),
                    ).into());
                }
            }
            Ok(())
        }
        other => Err(invalid_request(
            &format!(
                "Invalid type for 'metadata': expected an object, but got {} instead.",
                json_kind(other)
            ),
            Some("metadata"),
            Some("invalid_type"),
        )
        .into()),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
