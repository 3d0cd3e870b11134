//! One line of an output or error file, and the outcome of its row.
//!
//! [`OutputLine`] is the one model of a line: the fields a row's outcome depends on. It has two
//! readings and one set of rules. The fast reading deserializes the line straight into it —
//! strings borrow from the line unless they hold escapes, no tree of values is built; a line of a
//! shape it does not take (a field of an unexpected type, a key given twice) is read again as a
//! `serde_json::Value` and turned into the same model ([`OutputLine::from_value`]), so the outcome
//! never depends on how the line was read.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use almanac_core::domain::Generated;
use almanac_core::state::FailureCode;

use crate::output::content::parse_content;
use crate::output::json::{Obj, object, object_or_default};
use crate::output::row::{LineError, ParsedLine, RowError, Usage};

/// What an output line says: `{"id", "custom_id", "response": {"status_code", "body"} | null,
/// "error": {"code", "message"} | null}`, only the fields a row's outcome depends on.
#[derive(Debug, Default, Deserialize)]
pub(super) struct OutputLine<'a> {
    /// The row's id, when a string.
    #[serde(borrow, default)]
    custom_id: Option<Cow<'a, str>>,
    /// `response`, when present and not null.
    #[serde(borrow, default, deserialize_with = "object")]
    response: Option<Response<'a>>,
    /// `error`, when present and not null: the request never ran.
    #[serde(borrow, default, deserialize_with = "object")]
    error: Option<ErrorObject<'a>>,
}

/// A line's `response`: `status_code` and `body`.
#[derive(Debug, Default, Deserialize)]
struct Response<'a> {
    #[serde(default)]
    status_code: Option<u64>,
    /// Empty when absent or not an object.
    #[serde(borrow, default, deserialize_with = "object_or_default")]
    body: Body<'a>,
}

/// A Chat Completions response body (or an error body).
#[derive(Debug, Default, Deserialize)]
pub(super) struct Body<'a> {
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    /// `choices[0]`.
    #[serde(borrow, default, rename = "choices", deserialize_with = "first_choice")]
    choice: Option<Choice<'a>>,
    #[serde(default, deserialize_with = "usage")]
    usage: Option<Usage>,
    /// `error` (all `None` when absent).
    #[serde(borrow, default, deserialize_with = "object_or_default")]
    error: ErrorObject<'a>,
}

/// `choices[0]`: its `finish_reason` and its message.
#[derive(Debug, Default, Deserialize)]
struct Choice<'a> {
    #[serde(borrow, default)]
    finish_reason: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "object_or_default")]
    message: Message<'a>,
}

/// `choices[0].message`: the answer's `content` or the model's `refusal`.
#[derive(Debug, Default, Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    content: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    refusal: Option<Cow<'a, str>>,
}

/// An error object: `code`, `type`, `message`.
#[derive(Debug, Default, Deserialize)]
struct ErrorObject<'a> {
    #[serde(borrow, default)]
    code: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
}

/// `choices` of the fast reading: a list of objects, of which the first counts.
fn first_choice<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Choice<'de>>, D::Error> {
    let choices = Option::<Vec<Obj<Choice<'de>>>>::deserialize(d)?;
    Ok(choices.and_then(|c| c.into_iter().next()).map(|Obj(c)| c))
}

/// `usage` of the fast reading: whole-number counts, absent ones 0.
fn usage<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Usage>, D::Error> {
    #[derive(Deserialize)]
    struct Counts {
        #[serde(default)]
        prompt_tokens: Option<u64>,
        #[serde(default)]
        completion_tokens: Option<u64>,
        #[serde(default, deserialize_with = "object")]
        prompt_tokens_details: Option<Details>,
        #[serde(default, deserialize_with = "object")]
        completion_tokens_details: Option<Details>,
    }
    #[derive(Deserialize)]
    struct Details {
        #[serde(default)]
        cached_tokens: Option<u64>,
        #[serde(default)]
        reasoning_tokens: Option<u64>,
    }
    Ok(object::<D, Counts>(d)?.map(|u| Usage {
        prompt_tokens: u.prompt_tokens.unwrap_or(0),
        completion_tokens: u.completion_tokens.unwrap_or(0),
        cached_tokens: u
            .prompt_tokens_details
            .and_then(|d| d.cached_tokens)
            .unwrap_or(0),
        reasoning_tokens: u
            .completion_tokens_details
            .and_then(|d| d.reasoning_tokens)
            .unwrap_or(0),
    }))
}

/// The string at `key` of `v`, borrowed.
fn text<'a>(v: &'a Value, key: &str) -> Option<Cow<'a, str>> {
    v.get(key).and_then(Value::as_str).map(Cow::Borrowed)
}

impl<'a> OutputLine<'a> {
    /// The fast reading: `None` when the line is not of the shape the model takes (then read it
    /// as a `Value`).
    fn read(line: &'a str) -> Option<OutputLine<'a>> {
        serde_json::from_str::<Obj<OutputLine<'a>>>(line)
            .ok()
            .map(|Obj(line)| line)
    }

    /// The model of a line read as a `Value` (any JSON at all).
    pub(super) fn from_value(v: &'a Value) -> OutputLine<'a> {
        OutputLine {
            custom_id: text(v, "custom_id"),
            error: v
                .get("error")
                .filter(|e| !e.is_null())
                .map(ErrorObject::from_value),
            response: v
                .get("response")
                .filter(|r| !r.is_null())
                .map(|r| Response {
                    status_code: r.get("status_code").and_then(Value::as_u64),
                    body: Body::from_value(r.get("body").unwrap_or(&Value::Null)),
                }),
        }
    }

    /// The model the answer names (`response.body.model`), if any.
    fn model(&self) -> Option<&str> {
        self.response.as_ref().and_then(|r| r.body.model.as_deref())
    }
}

impl<'a> Body<'a> {
    /// A body read as a `Value`; empty when it is not an object.
    pub(super) fn from_value(body: &'a Value) -> Body<'a> {
        Body {
            model: text(body, "model"),
            usage: body.get("usage").and_then(usage_from_value),
            choice: body.pointer("/choices/0").map(|choice| {
                let message = choice.get("message").unwrap_or(&Value::Null);
                Choice {
                    finish_reason: text(choice, "finish_reason"),
                    message: Message {
                        content: text(message, "content"),
                        refusal: text(message, "refusal"),
                    },
                }
            }),
            error: ErrorObject::from_value(body.get("error").unwrap_or(&Value::Null)),
        }
    }
}

impl<'a> ErrorObject<'a> {
    /// An error read as a `Value`; empty when it is not an object.
    fn from_value(e: &'a Value) -> ErrorObject<'a> {
        ErrorObject {
            code: text(e, "code"),
            kind: text(e, "type"),
            message: text(e, "message"),
        }
    }
}

/// `usage` read as a `Value`: `None` unless an object; counts that are not whole numbers are 0.
fn usage_from_value(usage: &Value) -> Option<Usage> {
    let n = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
    if !usage.is_object() {
        return None;
    }
    Some(Usage {
        prompt_tokens: n(usage.get("prompt_tokens")),
        completion_tokens: n(usage.get("completion_tokens")),
        cached_tokens: n(usage.pointer("/prompt_tokens_details/cached_tokens")),
        reasoning_tokens: n(usage.pointer("/completion_tokens_details/reasoning_tokens")),
    })
}

/// Parses one line of an output or error file.
///
/// The line is read once into its model the fast way; a line of a shape that reading does not
/// take is read again as a `serde_json::Value` and judged by the same rules (see the module
/// documentation).
///
/// # Errors
/// [`LineError`] only when the line is not a JSON object with a string `custom_id`; every problem
/// of the row itself (refused request, expired batch, unusable answer) is `Ok` with an `Err`
/// outcome.
pub(super) fn parse_line(line: &str) -> Result<ParsedLine, LineError> {
    parse_line_and_model(line).map(|(parsed, _)| parsed)
}

/// [`parse_line`], and the model the answer names (`response.body.model`), if any.
///
/// # Errors
/// As [`parse_line`].
pub fn parse_line_and_model(line: &str) -> Result<(ParsedLine, Option<String>), LineError> {
    match OutputLine::read(line) {
        Some(model) => judge(&model),
        None => read_as_value(line),
    }
}

/// [`parse_line_and_model`] by way of a `serde_json::Value` (the slow way, for any shape).
pub(super) fn read_as_value(line: &str) -> Result<(ParsedLine, Option<String>), LineError> {
    let v: Value = serde_json::from_str(line).map_err(|e| LineError {
        line: None,
        message: format!("not a JSON line: {e}"),
    })?;
    judge(&OutputLine::from_value(&v))
}

/// The row's outcome and the answer's model from what its line says.
fn judge(line: &OutputLine<'_>) -> Result<(ParsedLine, Option<String>), LineError> {
    let model = line.model().map(str::to_owned);
    outcome(line).map(|parsed| (parsed, model))
}

/// The row's outcome from what its line says.
fn outcome(line: &OutputLine<'_>) -> Result<ParsedLine, LineError> {
    let custom_id = line
        .custom_id
        .as_deref()
        .ok_or_else(|| LineError {
            line: None,
            message: "the line has no string `custom_id`, so it cannot be matched to a row".into(),
        })?
        .to_owned();
    if let Some(error) = &line.error {
        return Ok(ParsedLine {
            custom_id,
            outcome: Err(request_error(error)),
            usage: None,
        });
    }
    let Some(response) = &line.response else {
        return Ok(ParsedLine {
            custom_id,
            outcome: Err(RowError::new(
                FailureCode::NoResponse,
                "OpenAI returned neither an answer nor an error for this row; retry the row",
            )),
            usage: None,
        });
    };
    let usage = response.body.usage;
    let outcome = if response.status_code == Some(200) {
        answer(response.body.choice.as_ref(), usage)
    } else {
        Err(http_error(response.status_code, &response.body.error))
    };
    Ok(ParsedLine {
        custom_id,
        outcome,
        usage,
    })
}

/// Reads a realtime Chat Completions response (`chat.completion` object, status 200,
/// <https://platform.openai.com/docs/api-reference/chat/object>) the same way as a batch output
/// line's body: the row's answer or why there is none (same [`RowError`] codes), and its `usage`.
pub fn parse_completion(body: &Value) -> (Result<Generated, RowError>, Option<Usage>) {
    let body = Body::from_value(body);
    (answer(body.choice.as_ref(), body.usage), body.usage)
}

/// A line's `error` object: the request never ran.
fn request_error(error: &ErrorObject<'_>) -> RowError {
    let code = error.code.as_deref().unwrap_or("unknown_error");
    let detail = error.message.as_deref().unwrap_or("");
    match code {
        "batch_expired" => RowError::new(
            FailureCode::BatchExpired,
            "the batch expired before this row was processed (batch_expired); retry the row",
        ),
        "batch_cancelled" => RowError::new(
            FailureCode::BatchCancelled,
            "the batch was cancelled before this row was processed (batch_cancelled); retry the row",
        ),
        _ => RowError::new(
            FailureCode::RequestError,
            format!("OpenAI could not run this request ({code}): {detail}"),
        ),
    }
}

/// A non-200 `response`: OpenAI refused or failed this one request (`error` of its body).
fn http_error(status: Option<u64>, error: &ErrorObject<'_>) -> RowError {
    let detail = error.message.as_deref().unwrap_or("no error message");
    let kind = error.code.as_deref().or(error.kind.as_deref());
    let status_text = match (status, kind) {
        (Some(s), Some(k)) => format!("{s} {k}"),
        (Some(s), None) => s.to_string(),
        (None, Some(k)) => k.to_owned(),
        (None, None) => "no status".to_owned(),
    };
    let code = status
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (100..=599).contains(s))
        .map_or(FailureCode::RequestError, FailureCode::Http);
    let message = match status {
        Some(429) | Some(500..=599) => {
            format!("OpenAI could not process the request ({status_text}): {detail}; retry the row")
        }
        _ => format!("OpenAI refused the request ({status_text}): {detail}"),
    };
    RowError::new(code, message)
}

/// A 200 Chat Completions body: its first choice.
fn answer(choice: Option<&Choice<'_>>, usage: Option<Usage>) -> Result<Generated, RowError> {
    let Some(choice) = choice else {
        return Err(RowError::new(
            FailureCode::EmptyAnswer,
            "OpenAI's response has no answer (no choices); retry the row",
        ));
    };
    if let Some(refusal) = &choice.message.refusal {
        return Err(RowError::new(
            FailureCode::Refusal,
            format!("the model refused to answer: {refusal}"),
        ));
    }
    match choice.finish_reason.as_deref() {
        Some("length") => {
            let after = usage
                .map(|u| format!(" after {} tokens", u.completion_tokens))
                .unwrap_or_default();
            return Err(RowError::new(
                FailureCode::Truncated,
                format!(
                    "the answer was cut off (finish_reason: length){after}; retry the row or raise max_output_tokens for this model"
                ),
            ));
        }
        Some("content_filter") => {
            return Err(RowError::new(
                FailureCode::ContentFilter,
                "OpenAI's content filter withheld the answer (finish_reason: content_filter)",
            ));
        }
        _ => {}
    }
    match &choice.message.content {
        Some(content) => parse_content(content),
        None => Err(RowError::new(
            FailureCode::EmptyAnswer,
            "the model's answer is empty (no message content); retry the row",
        )),
    }
}
