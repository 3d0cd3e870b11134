//! The emulated model: turns one Chat Completions request body into a `chat.completion` object
//! (<https://platform.openai.com/docs/api-reference/chat/object>), deterministically.
//!
//! The answer follows the request's `response_format` JSON schema: one value per property, where a
//! property named `year` gets a year between 1800 and 2020 taken from a hash of the title (a string
//! or a number, as the schema's type says) and every other string property gets a text that says it
//! is emulated and contains the title, e.g. `[emulated] simple: 3·1 운동`. The same request always
//! yields the same content; only ids and timestamps differ.
//!
//! The title is read from the last user message: the `title` of a JSON object, else a line such as
//! `Title: …`, else the message itself (first line, at most 200 characters).
//!
//! Reasoning models (`o1*`, `o3*`, `o4*`, `gpt-5*`) refuse `temperature` and `max_tokens` with the
//! real 400 messages. [`RowFault`] lets a test make one request misbehave.

use serde_json::{Map, Value, json};

use crate::faults::RowFault;
use crate::openai::tokens;
pub use crate::openai::wire::error_body;
use crate::util::{fnv1a, now_unix, random_alnum};

/// An HTTP status and a JSON body, as the endpoint (or a batch output line's `response`) carries them.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// 200 on success.
    pub status: u16,
    /// A `chat.completion` object, or `{"error": {...}}` in OpenAI's error shape.
    pub body: Value,
}

impl Outcome {
    /// True for a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `(prompt_tokens, completion_tokens)` of a successful completion, zeros otherwise.
    pub fn usage(&self) -> (u64, u64) {
        let usage = &self.body["usage"];
        (
            usage["prompt_tokens"].as_u64().unwrap_or(0),
            usage["completion_tokens"].as_u64().unwrap_or(0),
        )
    }
}

/// The title a request is about (read from its last user message, as the answer is).
pub fn request_title(body: &Value) -> String {
    let user_text = body
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|m| {
            m.iter()
                .rev()
                .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        })
        .map(|m| message_text(&m["content"]))
        .unwrap_or_default();
    extract_title(&user_text)
}

/// Answers one Chat Completions request body, applying `fault` if given.
pub fn chat_completion(body: &Value, fault: Option<&RowFault>) -> Outcome {
    if let Some(RowFault::HttpError(status)) = fault {
        return http_fault(*status, body);
    }
    let model = match required_parameters(body) {
        Ok(model) => model,
        Err(refused) => return refused,
    };
    if let Some(refusal) = reasoning_model_refusal(model, body) {
        return refusal;
    }
    let answer = answer(body, &request_title(body), fault);
    Outcome {
        status: 200,
        body: completion_object(body, model, &answer),
    }
}

/// The request's `model`, or the 400 for a missing `model` or `messages`.
fn required_parameters(body: &Value) -> Result<&str, Outcome> {
    let Some(model) = body.get("model").and_then(Value::as_str) else {
        return Err(Outcome {
            status: 400,
            body: error_body(
                "you must provide a model parameter",
                "invalid_request_error",
                None,
                None,
            ),
        });
    };
    if body.get("messages").and_then(Value::as_array).is_none() {
        return Err(Outcome {
            status: 400,
            body: error_body(
                "Missing required parameter: 'messages'.",
                "invalid_request_error",
                Some("messages"),
                Some("missing_required_parameter"),
            ),
        });
    }
    Ok(model)
}

/// What the assistant message says.
struct Answer {
    /// The text (empty for a refusal).
    content: String,
    /// `message.refusal`: the reason, or null.
    refusal: Value,
    /// `stop`, or `length` for an answer cut at the token limit.
    finish_reason: &'static str,
}

/// The answer about `title`, with `fault` applied: a refusal has `content: null` and the reason in
/// `message.refusal`; an answer cut off at the token limit has `finish_reason: "length"` and a
/// truncated (unparseable) content.
fn answer(body: &Value, title: &str, fault: Option<&RowFault>) -> Answer {
    let mut content = match fault {
        Some(RowFault::InvalidJson) => {
            format!("[emulated] I am sorry, but I cannot answer in JSON about {title} right now.")
        }
        _ => answer_content(body.get("response_format"), title, fault),
    };
    let mut refusal = Value::Null;
    let mut finish_reason = "stop";
    match fault {
        Some(RowFault::Refusal(reason)) => {
            refusal = Value::String(reason.clone());
            content.clear();
        }
        Some(RowFault::Truncated) => {
            let keep = content.chars().count() / 2;
            content = content.chars().take(keep).collect();
            finish_reason = "length";
        }
        _ => {}
    }
    Answer {
        content,
        refusal,
        finish_reason,
    }
}

/// The `chat.completion` object carrying `answer`, with `usage` counted by tiktoken.
fn completion_object(body: &Value, model: &str, answer: &Answer) -> Value {
    let content_json = if answer.refusal.is_null() {
        Value::String(answer.content.clone())
    } else {
        Value::Null
    };
    let prompt_tokens = tokens::prompt_tokens(body);
    let completion_tokens = tokens::completion_tokens(model, &answer.content);
    json!({
        "id": format!("chatcmpl-{}", random_alnum(29)),
        "object": "chat.completion",
        "created": now_unix(),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content_json, "refusal": answer.refusal, "annotations": []},
            "logprobs": null,
            "finish_reason": answer.finish_reason,
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "system_fingerprint": "fp_emulated",
    })
}

/// The 400 a reasoning model gives for `temperature` or `max_tokens`, if this request has one.
fn reasoning_model_refusal(model: &str, body: &Value) -> Option<Outcome> {
    let reasoning = ["o1", "o3", "o4", "gpt-5"]
        .iter()
        .any(|prefix| model.starts_with(prefix));
    if !reasoning {
        return None;
    }
    let (param, message) = if body.get("temperature").is_some_and(|v| !v.is_null()) {
        (
            "temperature",
            "Unsupported parameter: 'temperature' is not supported with this model.",
        )
    } else if body.get("max_tokens").is_some_and(|v| !v.is_null()) {
        (
            "max_tokens",
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
        )
    } else {
        return None;
    };
    Some(Outcome {
        status: 400,
        body: error_body(
            message,
            "invalid_request_error",
            Some(param),
            Some("unsupported_parameter"),
        ),
    })
}

fn http_fault(status: u16, body: &Value) -> Outcome {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("gpt-4o-mini");
    let body = match status {
        429 => error_body(
            &format!(
                "[emulated] Rate limit reached for {model} on tokens per min (TPM): Limit 200000, Used 200000, Requested 500. Please try again in 150ms."
            ),
            "tokens",
            None,
            Some("rate_limit_exceeded"),
        ),
        500..=599 => error_body(
            "[emulated] The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
            None,
        ),
        _ => error_body(
            &format!("[emulated] The request failed with status {status} (injected fault)."),
            "invalid_request_error",
            None,
            None,
        ),
    };
    Outcome { status, body }
}

/// The text of a message `content`: a string, or the `text` parts of an array of content parts.
fn message_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The event title inside a user message (see the module docs).
pub fn extract_title(text: &str) -> String {
    let trimmed = text.trim();
    if let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(trimmed)
        && let Some(title) = obj.get("title").and_then(Value::as_str)
    {
        return title.trim().to_string();
    }
    for line in trimmed.lines() {
        let line = line.trim().trim_start_matches(['-', '*', ' ']);
        if let Some((key, value)) = line.split_once([':', '：']) {
            let key = key.trim().to_lowercase();
            if ["title", "event", "historical event", "제목", "사건"].contains(&key.as_str())
                && !value.trim().is_empty()
            {
                return value.trim().to_string();
            }
        }
    }
    let first = trimmed.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    first.trim().chars().take(200).collect()
}

/// A year in 1800..=2020 derived from the title.
pub fn year_for(title: &str) -> u32 {
    1800 + (fnv1a(title.as_bytes()) % 221) as u32
}

/// The assistant message content for a `response_format` (or plain text without one).
fn answer_content(
    response_format: Option<&Value>,
    title: &str,
    fault: Option<&RowFault>,
) -> String {
    let kind = response_format
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("text");
    match kind {
        "json_schema" => {
            let schema = &response_format.unwrap_or(&Value::Null)["json_schema"]["schema"];
            let mut value = value_for_schema(schema, "answer", title, fault);
            if let (Some(RowFault::MissingField(field)), Value::Object(obj)) = (fault, &mut value) {
                obj.remove(field);
            }
            value.to_string()
        }
        "json_object" => json!({"answer": text_for("answer", title, fault)}).to_string(),
        _ => text_for("reply", title, fault),
    }
}

fn schema_type(schema: &Value) -> &str {
    match &schema["type"] {
        Value::String(s) => s.as_str(),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "string",
    }
}

fn value_for_schema(schema: &Value, name: &str, title: &str, fault: Option<&RowFault>) -> Value {
    if let Some(Value::Array(options)) = schema.get("enum") {
        let i = (fnv1a(title.as_bytes()) as usize) % options.len().max(1);
        return options.get(i).cloned().unwrap_or(Value::Null);
    }
    match schema_type(schema) {
        "object" => {
            let mut obj = Map::new();
            if let Some(Value::Object(props)) = schema.get("properties") {
                for (key, sub) in props {
                    obj.insert(key.clone(), value_for_schema(sub, key, title, fault));
                }
            }
            Value::Object(obj)
        }
        "array" => Value::Array(vec![value_for_schema(&schema["items"], name, title, fault)]),
        "integer" | "number" if name == "year" => json!(year_for(title)),
        "integer" | "number" => json!(fnv1a(title.as_bytes()) % 100),
        "boolean" => Value::Bool(false),
        "null" => Value::Null,
        _ if name == "year" => Value::String(year_for(title).to_string()),
        _ => Value::String(text_for(name, title, fault)),
    }
}

/// `[emulated] <name>: <title>` (longer for `detailed` fields), or the fault's text.
fn text_for(name: &str, title: &str, fault: Option<&RowFault>) -> String {
    if let Some(RowFault::Text(text)) = fault {
        return text.clone();
    }
    let short = name.strip_prefix("content_").unwrap_or(name);
    if short.contains("detail") {
        format!(
            "[emulated] {short}: {title}. This paragraph was written by the local emulator, not by a model; it only shows where the detailed text goes."
        )
    } else {
        format!("[emulated] {short}: {title}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(title: &str) -> Value {
        json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "You write almanac entries."},
                {"role": "user", "content": format!("Title: {title}")}
            ],
            "response_format": {"type": "json_schema", "json_schema": {"name": "entry", "strict": true, "schema": {
                "type": "object",
                "properties": {
                    "year": {"type": "string"},
                    "content_simple": {"type": "string"},
                    "content_detailed": {"type": "string"},
                    "related_movies": {"type": "string"}
                },
                "required": ["year", "content_simple", "content_detailed", "related_movies"],
                "additionalProperties": false
            }}}
        })
    }

    fn content(outcome: &Outcome) -> Value {
        serde_json::from_str(
            outcome.body["choices"][0]["message"]["content"]
                .as_str()
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn answers_follow_the_schema_and_are_deterministic() {
        let a = chat_completion(&request("3·1 운동"), None);
        assert_eq!(a.status, 200);
        let c = content(&a);
        assert_eq!(c["content_simple"], "[emulated] simple: 3·1 운동");
        assert!(c["content_detailed"].as_str().unwrap().contains("3·1 운동"));
        let year: u32 = c["year"].as_str().unwrap().parse().unwrap();
        assert!((1800..=2020).contains(&year));
        assert_eq!(content(&chat_completion(&request("3·1 운동"), None)), c);
        assert_ne!(content(&chat_completion(&request("4·19 혁명"), None)), c);
        assert_eq!(a.body["model"], "gpt-4o-mini");
        assert_eq!(a.body["choices"][0]["finish_reason"], "stop");
        let usage = &a.body["usage"];
        assert_eq!(
            usage["total_tokens"].as_u64().unwrap(),
            usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
        );
    }

    #[test]
    fn integer_years_are_numbers() {
        let mut req = request("x");
        req["response_format"]["json_schema"]["schema"]["properties"]["year"] =
            json!({"type": "integer"});
        let c = content(&chat_completion(&req, None));
        assert!(c["year"].is_u64());
    }

    #[test]
    fn faults_change_the_answer() {
        let req = request("Moon landing");
        let text = chat_completion(&req, Some(&RowFault::InvalidJson));
        let raw = text.body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap();
        assert!(serde_json::from_str::<Value>(raw).is_err());
        let missing = content(&chat_completion(
            &req,
            Some(&RowFault::MissingField("content_simple".into())),
        ));
        assert!(missing.get("content_simple").is_none());
        assert!(missing.get("year").is_some());
        let injected = content(&chat_completion(
            &req,
            Some(&RowFault::Text("=SUM(A1:A2)".into())),
        ));
        assert_eq!(injected["content_simple"], "=SUM(A1:A2)");
        let failed = chat_completion(&req, Some(&RowFault::HttpError(500)));
        assert_eq!(failed.status, 500);
        assert_eq!(failed.body["error"]["type"], "server_error");
    }

    #[test]
    fn reasoning_models_refuse_temperature_and_max_tokens() {
        let mut req = request("x");
        req["model"] = json!("o3-mini");
        req["temperature"] = json!(0.2);
        let out = chat_completion(&req, None);
        assert_eq!(out.status, 400);
        assert_eq!(
            out.body["error"]["message"],
            "Unsupported parameter: 'temperature' is not supported with this model."
        );
        req.as_object_mut().unwrap().remove("temperature");
        req["model"] = json!("gpt-5-mini");
        req["max_tokens"] = json!(100);
        let out = chat_completion(&req, None);
        assert_eq!(out.status, 400);
        assert_eq!(out.body["error"]["param"], "max_tokens");
        req["model"] = json!("gpt-4o-mini");
        assert_eq!(chat_completion(&req, None).status, 200);
    }

    #[test]
    fn titles_come_from_json_labels_or_the_first_line() {
        assert_eq!(
            extract_title(r#"{"id":"01-27","title":"Liberation"}"#),
            "Liberation"
        );
        assert_eq!(
            extract_title("Write an entry.\nTitle: 3·1 운동\nLanguage: ko"),
            "3·1 운동"
        );
        assert_eq!(extract_title("  Moon landing \n more"), "Moon landing");
    }
}
