//! The input file of a batch, checked as the Batch API checks it while the batch is `validating`
//! (<https://platform.openai.com/docs/api-reference/batch>, the recorded errors in
//! `fixtures/reference/openai-batch/recorded-validation-errors.md`): every line's JSON,
//! `custom_id` (unique), `method`, `url` (the batch's endpoint) and `body`, each bad line reported
//! as a `BatchError` (`{code, message, param, line}`); the injected invalid lines and the
//! enqueued-token limit as the same errors. Plain data: this module uses no other module of the
//! crate.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

/// One request line of the input file, after validation.
#[derive(Clone, Debug)]
pub struct Request {
    /// `custom_id`.
    pub custom_id: String,
    /// `body`.
    pub body: Value,
}

/// Turns requests named in [`Faults::invalid_lines`](crate::faults::Faults::invalid_lines) into validation errors of their lines.
pub(crate) fn injected_line_errors(
    requests: Vec<Request>,
    invalid: &HashMap<String, (String, String)>,
) -> Result<Vec<Request>, Vec<Value>> {
    let errors: Vec<Value> = requests
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            invalid
                .get(&r.custom_id)
                .map(|(code, message)| batch_error(code, message, Some("body.model"), Some(i + 1)))
        })
        .collect();
    if errors.is_empty() {
        Ok(requests)
    } else {
        Err(errors)
    }
}

/// A `BatchError` (`{code, message, param, line}`).
pub(crate) fn batch_error(
    code: &str,
    message: &str,
    param: Option<&str>,
    line: Option<usize>,
) -> Value {
    json!({"code": code, "message": message, "param": param, "line": line})
}

/// The validation error of a batch refused by the enqueued token limit of the organization.
pub(crate) fn token_limit_error(model: &str) -> Value {
    batch_error(
        "token_limit_exceeded",
        &format!(
            "Enqueued token limit reached for {model} in organization org-emulator. Limit: 90,000 enqueued tokens. Please try submitting an equivalent batch job once the number of enqueued tokens has decreased."
        ),
        None,
        None,
    )
}

/// Checks every line of an input file against the batch `endpoint`; returns the requests or one
/// error per bad line (codes and messages as recorded from the real service: `invalid_json_line`,
/// `missing_required_parameter`, `invalid_url`, `streaming_unsupported`, `invalid_request`, plus
/// `duplicate_custom_id` and `empty_file`).
pub fn validate(content: &[u8], endpoint: &str) -> Result<Vec<Request>, Vec<Value>> {
    let text = String::from_utf8_lossy(content);
    let mut lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    if lines.is_empty() {
        return Err(vec![batch_error(
            "empty_file",
            "The batch input file is empty.",
            None,
            None,
        )]);
    }
    let mut errors = Vec::new();
    let mut requests = Vec::new();
    let mut seen = HashSet::new();
    for (i, raw) in lines.iter().enumerate() {
        let n = i + 1;
        match check_line(raw, endpoint, &mut seen) {
            Ok(request) => requests.push(request),
            Err((code, message, param)) => errors.push(batch_error(code, &message, param, Some(n))),
        }
    }
    if errors.is_empty() {
        Ok(requests)
    } else {
        Err(errors)
    }
}

/// What is wrong with one input line: `(code, message, param)`.
type LineError = (&'static str, String, Option<&'static str>);

/// Checks one input line (in the order the real service reports its errors) and, when it is
/// valid, notes its `custom_id` in `seen`.
fn check_line(raw: &str, endpoint: &str, seen: &mut HashSet<String>) -> Result<Request, LineError> {
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(raw) else {
        return Err((
            "invalid_json_line",
            "This line is not parseable as valid JSON.".into(),
            None,
        ));
    };
    let custom_id = line_custom_id(&obj)?;
    check_method(&obj)?;
    check_url(&obj, endpoint)?;
    let body = line_body(&obj, endpoint)?;
    if !seen.insert(custom_id.clone()) {
        return Err((
            "duplicate_custom_id",
            format!(
                "The custom_id '{custom_id}' is a duplicate of another request. The custom_id parameter must be unique for each request in a batch."
            ),
            Some("custom_id"),
        ));
    }
    Ok(Request {
        custom_id,
        body: body.clone(),
    })
}

/// `Missing required parameter: 'name'.`
fn missing_parameter(name: &'static str) -> LineError {
    (
        "missing_required_parameter",
        format!("Missing required parameter: '{name}'."),
        Some(name),
    )
}

/// The line's `custom_id`, a string.
fn line_custom_id(obj: &Map<String, Value>) -> Result<String, LineError> {
    match obj.get("custom_id") {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Null) | None => Err(missing_parameter("custom_id")),
        Some(_) => Err((
            "invalid_request",
            "Invalid type for 'custom_id': expected a string.".into(),
            Some("custom_id"),
        )),
    }
}

/// The line's `method` must be `POST`.
fn check_method(obj: &Map<String, Value>) -> Result<(), LineError> {
    match obj.get("method").and_then(Value::as_str) {
        None => Err(missing_parameter("method")),
        Some("POST") => Ok(()),
        Some(other) => Err((
            "invalid_request",
            format!("Invalid value: '{other}'. Supported values are: 'POST'."),
            Some("method"),
        )),
    }
}

/// The line's `url` must be the batch's endpoint.
fn check_url(obj: &Map<String, Value>, endpoint: &str) -> Result<(), LineError> {
    match obj.get("url").and_then(Value::as_str) {
        None => Err(missing_parameter("url")),
        Some(url) if url != endpoint => Err((
            "invalid_url",
            "The URL provided for this request does not match the batch endpoint.".into(),
            Some("url"),
        )),
        Some(_) => Ok(()),
    }
}

/// The line's `body`: an object, not streaming, with a `model` (and `messages` for Chat
/// Completions).
fn line_body<'a>(obj: &'a Map<String, Value>, endpoint: &str) -> Result<&'a Value, LineError> {
    let Some(body) = obj.get("body").filter(|b| b.is_object()) else {
        return Err(missing_parameter("body"));
    };
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        return Err((
            "streaming_unsupported",
            "Chat Completions: Streaming is not supported in the Batch API.".into(),
            Some("body.stream"),
        ));
    }
    if body.get("model").and_then(Value::as_str).is_none() {
        return Err((
            "invalid_request",
            "Model parameter is required.".into(),
            Some("body.model"),
        ));
    }
    if endpoint == "/v1/chat/completions"
        && body.get("messages").and_then(Value::as_array).is_none()
    {
        return Err((
            "invalid_request",
            "Messages parameter is required.".into(),
            Some("body.messages"),
        ));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str) -> String {
        json!({"custom_id": id, "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": format!("Title: {id}")}]}})
        .to_string()
    }

    #[test]
    fn validation_reports_each_bad_line() {
        let file = [
            line("a"),
            "{not json".to_string(),
            json!({"method": "POST", "url": "/v1/chat/completions", "body": {"model": "m", "messages": []}}).to_string(),
            json!({"custom_id": "b", "method": "POST", "url": "/v1/embeddings", "body": {"model": "m"}}).to_string(),
            line("a"),
            json!({"custom_id": "c", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": []}}).to_string(),
        ]
        .join("\n");
        let errors = validate(file.as_bytes(), "/v1/chat/completions").unwrap_err();
        let codes: Vec<(&str, u64)> = errors
            .iter()
            .map(|e| (e["code"].as_str().unwrap(), e["line"].as_u64().unwrap()))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("invalid_json_line", 2),
                ("missing_required_parameter", 3),
                ("invalid_url", 4),
                ("duplicate_custom_id", 5),
                ("invalid_request", 6),
            ]
        );
        assert_eq!(errors[1]["param"], "custom_id");
        assert!(validate(b"\n", "/v1/chat/completions").is_err());
        let ok = validate(
            format!("{}\r\n{}\n\n", line("x"), line("y")).as_bytes(),
            "/v1/chat/completions",
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
    }
}
