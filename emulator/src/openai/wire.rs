//! Pieces of OpenAI's wire format shared by the Conversations, Responses and Containers stand-ins
//! ([`crate::openai::conversations`], [`crate::openai::responses`], [`crate::openai::containers`]):
//! error responses in OpenAI's shape `{"error":{"message","type","param","code"}}`, the validation
//! messages OpenAI writes for wrong types and out-of-range values, `metadata` checks, identifiers
//! and cursor pagination of lists (`limit`, `order`, `after`; `first_id`, `last_id`, `has_more`).
//!
//! Reference: <https://platform.openai.com/docs/api-reference/responses> and
//! `fixtures/reference/openai-responses/` (`Error`, `Metadata`, `ConversationItemList`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::util::{parse_form, random_hex};

/// OpenAI's error body: `{"error":{"message","type","param","code"}}`.
pub fn error_body(message: &str, kind: &str, param: Option<&str>, code: Option<&str>) -> Value {
    json!({"error": {"message": message, "type": kind, "param": param, "code": code}})
}

/// The body OpenAI answers for JSON it cannot parse.
const UNPARSEABLE: &str = "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)";

/// An OpenAI error answer, boxed because it is the `Err` of most checks (a `Response` is large).
#[derive(Debug)]
pub(crate) struct Refusal(Box<Response>);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        *self.0
    }
}

impl From<Response> for Refusal {
    fn from(response: Response) -> Refusal {
        Refusal(Box::new(response))
    }
}

/// An error response with `type: "invalid_request_error"`.
pub(crate) fn invalid(
    status: StatusCode,
    message: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Refusal {
    let body = Json(error_body(message, "invalid_request_error", param, code));
    Refusal(Box::new((status, body).into_response()))
}

/// A 400 `invalid_request_error`.
pub(crate) fn bad_request(message: &str, param: Option<&str>, code: Option<&str>) -> Refusal {
    invalid(StatusCode::BAD_REQUEST, message, param, code)
}

/// A 404 `invalid_request_error` with `code: null`.
pub(crate) fn not_found(message: &str, param: Option<&str>) -> Refusal {
    invalid(StatusCode::NOT_FOUND, message, param, None)
}

/// `Missing required parameter: 'x'.` (400, `missing_required_parameter`).
pub(crate) fn missing(param: &str) -> Refusal {
    bad_request(
        &format!("Missing required parameter: '{param}'."),
        Some(param),
        Some("missing_required_parameter"),
    )
}

/// `Invalid type for 'x': expected <what>, but got <kind> instead.` (400, `invalid_type`).
pub(crate) fn wrong_type(param: &str, expected: &str, got: &Value) -> Refusal {
    bad_request(
        &format!(
            "Invalid type for '{param}': expected {expected}, but got {} instead.",
            json_kind(got)
        ),
        Some(param),
        Some("invalid_type"),
    )
}

/// `Invalid value: 'v'. Supported values are: 'a', 'b', and 'c'.` (400, `invalid_value`).
pub(crate) fn unsupported_value(param: &str, value: &str, supported: &[&str]) -> Refusal {
    bad_request(
        &format!(
            "Invalid value: '{value}'. Supported values are: {}.",
            quoted_list(supported)
        ),
        Some(param),
        Some("invalid_value"),
    )
}

/// `'a'`, `'a' and 'b'`, `'a', 'b', and 'c'` — OpenAI's spelling of a list of allowed values.
pub(crate) fn quoted_list(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        2 => format!("{} and {}", quoted[0], quoted[1]),
        n => format!("{}, and {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

/// "a string", "an object", … as OpenAI's type errors name JSON kinds.
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses a request body that must be a JSON object (an empty body counts as `{}`).
pub(crate) fn parse_object(body: &Bytes) -> Result<Map<String, Value>, Refusal> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(bad_request(UNPARSEABLE, None, None)),
    }
}

/// Refuses parameters outside `known` with OpenAI's `Unknown parameter: 'x'.`
/// (400, `unknown_parameter`).
pub(crate) fn reject_unknown(body: &Map<String, Value>, known: &[&str]) -> Result<(), Refusal> {
    match body.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(key) => Err(bad_request(
            &format!("Unknown parameter: '{key}'."),
            Some(key),
            Some("unknown_parameter"),
        )),
    }
}

/// A `Metadata` value (at most 16 string values, keys ≤ 64 and values ≤ 512 characters), as an
/// object; `null` or absent gives `{}`.
///
/// # Errors
/// OpenAI's 400 for the first rule broken, with `param` naming the field.
pub(crate) fn metadata(value: Option<&Value>, param: &str) -> Result<Value, Refusal> {
    let map = match value {
        None | Some(Value::Null) => return Ok(json!({})),
        Some(Value::Object(map)) => map,
        Some(other) => return Err(wrong_type(param, "an object", other)),
    };
    if map.len() > 16 {
        return Err(bad_request(
            &format!(
                "Invalid '{param}': too many properties. Expected an object with at most 16 properties, but got an object with {} properties instead.",
                map.len()
            ),
            Some(param),
            Some("object_above_max_properties"),
        ));
    }
    for (key, value) in map {
        let field = format!("{param}.{key}");
        let Some(text) = value.as_str() else {
            return Err(wrong_type(&field, "a string", value));
        };
        for (what, len, max) in [
            ("key", key.chars().count(), 64),
            ("value", text.chars().count(), 512),
        ] {
            if len > max {
                return Err(bad_request(
                    &format!(
                        "Invalid '{field}': string too long. Expected a {what} with maximum length {max}, but got a string with length {len} instead."
                    ),
                    Some(&field),
                    Some("string_above_max_length"),
                ));
            }
        }
    }
    Ok(Value::Object(map.clone()))
}

/// `prefix` followed by 48 random hex digits, the length of OpenAI's `resp_…`/`conv_…`/`msg_…` ids.
pub(crate) fn new_id(prefix: &str) -> String {
    let mut hex = random_hex();
    hex.push_str(&random_hex()[..16]);
    format!("{prefix}{hex}")
}

/// A list request: `limit` (1–100, default 20), `order` (`asc`/`desc`, default `desc`), `after`
/// (an id) and `include` (values of the spec's `IncludeEnum`).
#[derive(Clone, Debug)]
pub(crate) struct Page {
    pub limit: usize,
    pub descending: bool,
    pub after: Option<String>,
    pub include: Vec<String>,
}

/// Values of the spec's `IncludeEnum`.
pub(crate) const INCLUDE_VALUES: [&str; 8] = [
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "message.input_image.image_url",
    "computer_call_output.output.image_url",
    "code_interpreter_call.outputs",
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
];

/// Parses a raw query string into a [`Page`].
///
/// # Errors
/// 400 for a `limit` outside 1–100, an unknown `order` or `include` value.
pub(crate) fn page(raw_query: Option<&str>) -> Result<Page, Refusal> {
    let pairs = parse_form(raw_query.unwrap_or(""));
    let mut page = Page {
        limit: 20,
        descending: true,
        after: None,
        include: Vec::new(),
    };
    for (key, value) in &pairs {
        match key.as_str() {
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=100).contains(&n) => page.limit = n,
                _ => {
                    return Err(bad_request(
                        "Invalid 'limit': integer must be between 1 and 100.",
                        Some("limit"),
                        Some("invalid_value"),
                    ));
                }
            },
            "order" => match value.as_str() {
                "asc" => page.descending = false,
                "desc" => page.descending = true,
                other => return Err(unsupported_value("order", other, &["asc", "desc"])),
            },
            "after" => page.after = Some(value.clone()),
            "include" | "include[]" => {
                if !INCLUDE_VALUES.contains(&value.as_str()) {
                    return Err(unsupported_value("include", value, &INCLUDE_VALUES));
                }
                page.include.push(value.clone());
            }
            _ => {}
        }
    }
    Ok(page)
}

/// One page of `items` (oldest first, each with an `id`) as `{"object":"list","data",
/// "first_id","last_id","has_more"}`; `None` when `page.after` names no item.
pub(crate) fn list(
    items: &[Value],
    page: &Page,
    render: impl Fn(&Value) -> Value,
) -> Option<Value> {
    let ordered: Vec<&Value> = if page.descending {
        items.iter().rev().collect()
    } else {
        items.iter().collect()
    };
    let start = match &page.after {
        None => 0,
        Some(after) => ordered.iter().position(|i| i["id"] == after.as_str())? + 1,
    };
    let data: Vec<Value> = ordered
        .iter()
        .skip(start)
        .take(page.limit)
        .map(|i| render(i))
        .collect();
    let has_more = start + data.len() < ordered.len();
    Some(json!({
        "object": "list",
        "first_id": data.first().map(|i| i["id"].clone()),
        "last_id": data.last().map(|i| i["id"].clone()),
        "data": data,
        "has_more": has_more,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_spelled_like_openai() {
        assert_eq!(quoted_list(&["asc", "desc"]), "'asc' and 'desc'");
        assert_eq!(quoted_list(&["a", "b", "c"]), "'a', 'b', and 'c'");
    }

    #[test]
    fn metadata_limits() {
        assert_eq!(metadata(None, "metadata").unwrap(), json!({}));
        assert!(metadata(Some(&json!({"a": 1})), "metadata").is_err());
        let many: Map<String, Value> = (0..17).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert!(metadata(Some(&Value::Object(many)), "metadata").is_err());
        assert!(metadata(Some(&json!({"k": "x".repeat(513)})), "metadata").is_err());
        assert!(metadata(Some(&json!({"k": "x".repeat(512)})), "metadata").is_ok());
    }

    #[test]
    fn pages_follow_the_cursor() {
        let items: Vec<Value> = (0..5).map(|i| json!({"id": format!("i{i}")})).collect();
        let p = page(Some("limit=2&order=asc&after=i1")).unwrap();
        let out = list(&items, &p, Value::clone).unwrap();
        assert_eq!(out["first_id"], "i2");
        assert_eq!(out["last_id"], "i3");
        assert_eq!(out["has_more"], true);
        let desc = list(&items, &page(None).unwrap(), Value::clone).unwrap();
        assert_eq!(desc["first_id"], "i4");
        assert_eq!(desc["has_more"], false);
        assert!(list(&items, &page(Some("after=nope")).unwrap(), Value::clone).is_none());
        assert!(page(Some("limit=0")).is_err());
        assert!(page(Some("order=up")).is_err());
    }
}
