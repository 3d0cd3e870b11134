//! The batch output and error files: one JSON line per request, turned into a row's outcome.
//!
//! A line is `{"id", "custom_id", "response": {"status_code", "request_id", "body"} | null,
//! "error": {"code", "message"} | null}` (<https://platform.openai.com/docs/api-reference/batch/request-output>,
//! <https://platform.openai.com/docs/guides/batch>). Lines come in any order: match them by
//! `custom_id`, never by position. A line reports exactly one of:
//!
//! - a Chat Completions answer (`status_code` 200): `choices[0].message.content` must be the JSON
//!   object of [`almanac_core::prompt::response_format`] → [`Generated`];
//! - an HTTP-level failure of that one request (`status_code` ≠ 200, `body.error`);
//! - a request that never ran (`error`, e.g. `batch_expired`, `batch_cancelled`), from the error file.
//!
//! Everything wrong with one row lands in that row's [`ParsedLine::outcome`]; a [`LineError`] is only
//! for a line that does not even say which row it is about.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};

use serde_json::Value;

use almanac_core::domain::Generated;
use almanac_core::prompt::FIELDS;
use almanac_core::state::{FailureCode, RowFailure};

/// One parsed line: which row, what came of it, and the tokens it used.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedLine {
    /// The request's `custom_id`, i.e. the row's id (column A).
    pub custom_id: String,
    /// The four generated columns, or why there are none.
    pub outcome: Result<Generated, RowError>,
    /// Token usage when the request ran (`response.body.usage`); `None` for requests that never ran.
    pub usage: Option<Usage>,
}

/// Why one row has no result. `code` is the typed [`FailureCode`] programs act on; `message` is a
/// sentence for people (it ends up in the sidebar next to the row).
///
/// Codes: `batch_expired`, `batch_cancelled`, `request_error` (any other code of the line's
/// `error` object), `http_<status>` for a request OpenAI refused, `refusal`, `truncated`,
/// `content_filter`, `empty_answer`, `invalid_json`, `missing_field`, `invalid_field`,
/// `no_response`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// Stable machine-readable code.
    pub code: FailureCode,
    /// What happened and what to do, for people.
    pub message: String,
}

impl RowError {
    fn new(code: FailureCode, message: impl Into<String>) -> RowError {
        RowError {
            code,
            message: message.into(),
        }
    }

    /// Whether sending the same row again may well succeed: the request did not run (expired,
    /// cancelled), hit a rate limit or a server error, or the model produced an unusable answer
    /// once. False for refusals, content filtering and requests OpenAI rejected as invalid.
    pub fn is_retryable(&self) -> bool {
        use FailureCode as C;
        match self.code {
            C::BatchExpired
            | C::BatchCancelled
            | C::Truncated
            | C::InvalidJson
            | C::MissingField
            | C::InvalidField
            | C::EmptyAnswer
            | C::NoResponse => true,
            C::Http(status) => matches!(status, 408 | 409 | 429 | 500..=599),
            _ => false,
        }
    }

    /// The row's failure as the store keeps it (code and sentence).
    pub fn failure(self) -> RowFailure {
        RowFailure::new(self.code, self.message)
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RowError {}

/// Token usage of one request (`response.body.usage`,
/// <https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage>).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Input tokens, cached ones included.
    pub prompt_tokens: u64,
    /// Output tokens, reasoning tokens included.
    pub completion_tokens: u64,
    /// Of `prompt_tokens`, those served from the prompt cache (`prompt_tokens_details.cached_tokens`).
    pub cached_tokens: u64,
    /// Of `completion_tokens`, hidden reasoning (`completion_tokens_details.reasoning_tokens`).
    pub reasoning_tokens: u64,
}

impl Usage {
    /// The same counts in the domain's terms (input / cached input / output / reasoning), as the
    /// store keeps them and the cost rules price them.
    pub fn tokens(&self) -> almanac_protocol::TokenUsage {
        almanac_protocol::TokenUsage {
            input_tokens: self.prompt_tokens,
            cached_input_tokens: self.cached_tokens,
            output_tokens: self.completion_tokens,
            reasoning_tokens: self.reasoning_tokens,
        }
    }
}

/// A line that cannot be attributed to any row: not JSON, not UTF-8, or without a string
/// `custom_id`. Displays as `line 3: …` when the line number is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number in the file, when parsed through [`parse_file`].
    pub line: Option<usize>,
    /// What is wrong with the line.
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(n) => write!(f, "line {n}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for LineError {}

/// Parses one line of an output or error file.
///
/// The line is read once, into borrowed typed structs (no tree of values); a line of a shape
/// those do not take (a field of an unexpected type, a key given twice) is read again as a
/// `serde_json::Value` and judged by the same rules, so the outcome never depends on how the line
/// was read.
///
/// # Errors
/// [`LineError`] only when the line is not a JSON object with a string `custom_id`; every problem
/// of the row itself (refused request, expired batch, unusable answer) is `Ok` with an `Err`
/// outcome.
pub fn parse_line(line: &str) -> Result<ParsedLine, LineError> {
    parse_line_and_model(line).map(|(parsed, _)| parsed)
}

/// [`parse_line`], and the model the answer names (`response.body.model`), if any.
///
/// # Errors
/// As [`parse_line`].
pub fn parse_line_and_model(line: &str) -> Result<(ParsedLine, Option<String>), LineError> {
    if let Some(wire) = read_wire(line) {
        let view = wire_view(&wire);
        let model = view.model().map(str::to_owned);
        return outcome(view).map(|parsed| (parsed, model));
    }
    read_as_value(line)
}

/// [`parse_line_and_model`] by way of a `serde_json::Value` (the slow way, for any shape).
fn read_as_value(line: &str) -> Result<(ParsedLine, Option<String>), LineError> {
    let v: Value = serde_json::from_str(line).map_err(|e| LineError {
        line: None,
        message: format!("not a JSON line: {e}"),
    })?;
    let view = line_view(&v);
    let model = view.model().map(str::to_owned);
    outcome(view).map(|parsed| (parsed, model))
}

/// What one output line says, however it was read: the fields its outcome depends on.
#[derive(Debug, Default)]
struct LineView<'a> {
    custom_id: Option<&'a str>,
    /// `error`, when present and not null.
    error: Option<ErrorView<'a>>,
    /// `response`, when present and not null.
    response: Option<ResponseView<'a>>,
}

impl LineView<'_> {
    fn model(&self) -> Option<&str> {
        self.response.as_ref().and_then(|r| r.body.model)
    }
}

/// An error object: `code`, `type`, `message`.
#[derive(Debug, Default)]
struct ErrorView<'a> {
    code: Option<&'a str>,
    kind: Option<&'a str>,
    message: Option<&'a str>,
}

/// A line's `response`: `status_code` and `body`.
#[derive(Debug, Default)]
struct ResponseView<'a> {
    status: Option<u64>,
    body: BodyView<'a>,
}

/// A Chat Completions response body (or an error body).
#[derive(Debug, Default)]
struct BodyView<'a> {
    model: Option<&'a str>,
    usage: Option<Usage>,
    /// `choices[0]`.
    choice: Option<ChoiceView<'a>>,
    /// `error` (all `None` when absent).
    error: ErrorView<'a>,
}

/// `choices[0]`: its `finish_reason` and its message's `refusal` and `content`.
#[derive(Debug, Default)]
struct ChoiceView<'a> {
    refusal: Option<&'a str>,
    finish_reason: Option<&'a str>,
    content: Option<&'a str>,
}

/// The view of a line read as a `Value`.
fn line_view(v: &Value) -> LineView<'_> {
    LineView {
        custom_id: v.get("custom_id").and_then(Value::as_str),
        error: v.get("error").filter(|e| !e.is_null()).map(error_view),
        response: v
            .get("response")
            .filter(|r| !r.is_null())
            .map(|r| ResponseView {
                status: r.get("status_code").and_then(Value::as_u64),
                body: body_view(r.get("body").unwrap_or(&Value::Null)),
            }),
    }
}

fn error_view(e: &Value) -> ErrorView<'_> {
    let text = |key: &str| e.get(key).and_then(Value::as_str);
    ErrorView {
        code: text("code"),
        kind: text("type"),
        message: text("message"),
    }
}

fn body_view(body: &Value) -> BodyView<'_> {
    BodyView {
        model: body.get("model").and_then(Value::as_str),
        usage: body.get("usage").and_then(parse_usage),
        choice: body.pointer("/choices/0").map(|choice| {
            let message = choice.get("message").unwrap_or(&Value::Null);
            ChoiceView {
                refusal: message.get("refusal").and_then(Value::as_str),
                finish_reason: choice.get("finish_reason").and_then(Value::as_str),
                content: message.get("content").and_then(Value::as_str),
            }
        }),
        error: error_view(body.get("error").unwrap_or(&Value::Null)),
    }
}

/// The row's outcome from what its line says.
fn outcome(view: LineView<'_>) -> Result<ParsedLine, LineError> {
    let custom_id = view
        .custom_id
        .ok_or_else(|| LineError {
            line: None,
            message: "the line has no string `custom_id`, so it cannot be matched to a row".into(),
        })?
        .to_owned();
    if let Some(error) = view.error {
        return Ok(ParsedLine {
            custom_id,
            outcome: Err(request_error(&error)),
            usage: None,
        });
    }
    let Some(response) = view.response else {
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
    let outcome = if response.status == Some(200) {
        answer(response.body.choice.as_ref(), usage)
    } else {
        Err(http_error(response.status, &response.body.error))
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
    let body = body_view(body);
    (answer(body.choice.as_ref(), body.usage), body.usage)
}

/// A line's `error` object: the request never ran.
fn request_error(error: &ErrorView<'_>) -> RowError {
    let code = error.code.unwrap_or("unknown_error");
    let detail = error.message.unwrap_or("");
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
fn http_error(status: Option<u64>, error: &ErrorView<'_>) -> RowError {
    let detail = error.message.unwrap_or("no error message");
    let kind = error.code.or(error.kind);
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

fn parse_usage(usage: &Value) -> Option<Usage> {
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

/// A 200 Chat Completions body: its first choice.
fn answer(choice: Option<&ChoiceView<'_>>, usage: Option<Usage>) -> Result<Generated, RowError> {
    let Some(choice) = choice else {
        return Err(RowError::new(
            FailureCode::EmptyAnswer,
            "OpenAI's response has no answer (no choices); retry the row",
        ));
    };
    if let Some(refusal) = choice.refusal {
        return Err(RowError::new(
            FailureCode::Refusal,
            format!("the model refused to answer: {refusal}"),
        ));
    }
    match choice.finish_reason {
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
    match choice.content {
        Some(content) => parse_content(content),
        None => Err(RowError::new(
            FailureCode::EmptyAnswer,
            "the model's answer is empty (no message content); retry the row",
        )),
    }
}

/// A struct `T` read only from a JSON object, never from an array: `serde`'s derived structs would
/// also take an array, which the `Value` reading treats differently.
///
/// The `Wire*` structs below are an output line read into borrowed typed structs, the fast way of
/// [`parse_line`]: strings borrow from the line unless they hold escapes.
struct Obj<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Only<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Only<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Obj)
            }
        }
        d.deserialize_map(Only(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct WireLine<'a> {
    #[serde(borrow, default)]
    custom_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    response: Option<Obj<WireResponse<'a>>>,
    #[serde(borrow, default)]
    error: Option<Obj<WireError<'a>>>,
}

#[derive(Deserialize)]
struct WireResponse<'a> {
    #[serde(default)]
    status_code: Option<u64>,
    #[serde(borrow, default)]
    body: Option<Obj<WireBody<'a>>>,
}

#[derive(Deserialize)]
struct WireBody<'a> {
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    choices: Option<Vec<Obj<WireChoice<'a>>>>,
    #[serde(default)]
    usage: Option<Obj<WireUsage>>,
    #[serde(borrow, default)]
    error: Option<Obj<WireError<'a>>>,
}

#[derive(Deserialize)]
struct WireChoice<'a> {
    #[serde(borrow, default)]
    message: Option<Obj<WireMessage<'a>>>,
    #[serde(borrow, default)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct WireMessage<'a> {
    #[serde(borrow, default)]
    content: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    refusal: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct WireError<'a> {
    #[serde(borrow, default)]
    code: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<Obj<WireDetails>>,
    #[serde(default)]
    completion_tokens_details: Option<Obj<WireDetails>>,
}

#[derive(Deserialize)]
struct WireDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

/// The line as typed structs, or `None` when it does not fit them (then it is read as a `Value`).
fn read_wire(line: &str) -> Option<WireLine<'_>> {
    serde_json::from_str::<Obj<WireLine<'_>>>(line)
        .ok()
        .map(|Obj(wire)| wire)
}

fn wire_error<'a>(e: &'a WireError<'_>) -> ErrorView<'a> {
    ErrorView {
        code: e.code.as_deref(),
        kind: e.kind.as_deref(),
        message: e.message.as_deref(),
    }
}

/// The view of a line read as typed structs: the same fields the `Value` reading takes.
fn wire_view<'a>(w: &'a WireLine<'_>) -> LineView<'a> {
    let body = |b: &'a WireBody<'_>| BodyView {
        model: b.model.as_deref(),
        usage: b.usage.as_ref().map(|Obj(u)| {
            let detail = |d: &Option<Obj<WireDetails>>, pick: fn(&WireDetails) -> Option<u64>| {
                d.as_ref().and_then(|Obj(d)| pick(d)).unwrap_or(0)
            };
            Usage {
                prompt_tokens: u.prompt_tokens.unwrap_or(0),
                completion_tokens: u.completion_tokens.unwrap_or(0),
                cached_tokens: detail(&u.prompt_tokens_details, |d| d.cached_tokens),
                reasoning_tokens: detail(&u.completion_tokens_details, |d| d.reasoning_tokens),
            }
        }),
        choice: b.choices.as_ref().and_then(|c| c.first()).map(|Obj(c)| {
            let message = c.message.as_ref().map(|Obj(m)| m);
            ChoiceView {
                refusal: message.and_then(|m| m.refusal.as_deref()),
                finish_reason: c.finish_reason.as_deref(),
                content: message.and_then(|m| m.content.as_deref()),
            }
        }),
        error: b
            .error
            .as_ref()
            .map(|Obj(e)| wire_error(e))
            .unwrap_or_default(),
    };
    LineView {
        custom_id: w.custom_id.as_deref(),
        error: w.error.as_ref().map(|Obj(e)| wire_error(e)),
        response: w.response.as_ref().map(|Obj(r)| ResponseView {
            status: r.status_code,
            body: r.body.as_ref().map(|Obj(b)| body(b)).unwrap_or_default(),
        }),
    }
}

/// A model's answer read into typed fields (the fast way; see [`parse_content`]).
#[derive(Deserialize)]
struct WireContent<'a> {
    #[serde(default)]
    year: Option<YearText>,
    #[serde(borrow, default)]
    simple: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    detail: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    related_movies: Option<Cow<'a, str>>,
}

/// `year` as text, or a whole number written as text.
struct YearText(String);

impl<'de> Deserialize<'de> for YearText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Year;
        impl Visitor<'_> for Year {
            type Value = YearText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("text or a whole number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<YearText, E> {
                Ok(YearText(v.trim().to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<YearText, E> {
                Ok(YearText(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<YearText, E> {
                Ok(YearText(v.to_string()))
            }
        }
        d.deserialize_any(Year)
    }
}

/// The answer when it is an object with the four fields as text (a whole-number year allowed);
/// `None` for anything else, which [`parse_content`] then reads as a `Value` to say what is wrong.
fn content_fast(text: &str) -> Option<Generated> {
    let Obj(c) = serde_json::from_str::<Obj<WireContent<'_>>>(text).ok()?;
    Some(Generated {
        year: c.year?.0,
        simple: c.simple?.trim().to_owned(),
        detail: c.detail?.trim().to_owned(),
        related_movies: c.related_movies?.trim().to_owned(),
    })
}

/// Parses the model's answer text into the four columns.
///
/// The text must be a JSON object with string fields `year`, `simple`, `detail`, `related_movies`
/// (the strict schema of [`almanac_core::prompt::response_format`]); values are trimmed, extra fields are
/// ignored, a whole-number `year` (`1945`) is accepted as text, and a Markdown code fence around
/// the JSON is tolerated.
///
/// # Errors
/// [`RowError`] `invalid_json` ("the model's answer is not valid JSON: …"), `missing_field` ("the
/// model's answer has no `detail` field"), or `invalid_field` (a field that is not text).
pub fn parse_content(content: &str) -> Result<Generated, RowError> {
    let text = strip_code_fence(content.trim());
    match content_fast(text) {
        Some(generated) => Ok(generated),
        None => content_as_value(text),
    }
}

/// [`parse_content`] of the fence-stripped `text` by way of a `serde_json::Value`, which names
/// what is wrong.
fn content_as_value(text: &str) -> Result<Generated, RowError> {
    let v: Value = serde_json::from_str(text).map_err(|e| {
        RowError::new(
            FailureCode::InvalidJson,
            format!(
                "the model's answer is not valid JSON: {e}; it begins: {:?}",
                snippet(text, 60)
            ),
        )
    })?;
    let Some(obj) = v.as_object() else {
        return Err(RowError::new(
            FailureCode::InvalidJson,
            format!(
                "the model's answer is JSON but not an object: {:?}",
                snippet(text, 60)
            ),
        ));
    };
    let missing: Vec<String> = FIELDS
        .iter()
        .filter(|f| !obj.contains_key(**f))
        .map(|f| format!("`{f}`"))
        .collect();
    match missing.len() {
        0 => {}
        1 => {
            return Err(RowError::new(
                FailureCode::MissingField,
                format!("the model's answer has no {} field", missing[0]),
            ));
        }
        _ => {
            return Err(RowError::new(
                FailureCode::MissingField,
                format!("the model's answer has no {} fields", missing.join(", ")),
            ));
        }
    }
    let field = |name: &str| -> Result<String, RowError> {
        match &obj[name] {
            Value::String(s) => Ok(s.trim().to_owned()),
            Value::Number(n) if name == "year" && (n.is_i64() || n.is_u64()) => Ok(n.to_string()),
            other => Err(RowError::new(
                FailureCode::InvalidField,
                format!(
                    "the model's answer has a `{name}` field that is not text ({})",
                    kind(other)
                ),
            )),
        }
    };
    Ok(Generated {
        year: field("year")?,
        simple: field("simple")?,
        detail: field("detail")?,
        related_movies: field("related_movies")?,
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// ```` ```json\n{…}\n``` ```` → `{…}`; anything else unchanged.
fn strip_code_fence(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    let Some(rest) = rest.strip_suffix("```") else {
        return text;
    };
    let rest = rest.strip_prefix("json").unwrap_or(rest);
    rest.trim()
}

/// At most `max` characters of `text`, with `…` when cut.
fn snippet(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Parses a whole output or error file, one item per non-blank line, in file order.
///
/// Lines are split on `\n` (a trailing `\r` is ignored). A [`LineError`] carries the 1-based line
/// number.
pub fn parse_file(bytes: &[u8]) -> impl Iterator<Item = Result<ParsedLine, LineError>> + '_ {
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, raw)| !raw.trim_ascii().is_empty())
        .map(|(i, raw)| {
            let number = i + 1;
            let text = std::str::from_utf8(raw.trim_ascii()).map_err(|e| LineError {
                line: Some(number),
                message: format!("not UTF-8 text: {e}"),
            })?;
            parse_line(text).map_err(|mut e| {
                e.line = Some(number);
                e
            })
        })
}

/// Cuts bytes that arrive in chunks (a download, a file read in blocks) into the lines of an
/// output or error file, by [`parse_file`]'s rules: split on `\n`, ASCII whitespace (a `\r`)
/// trimmed, blank lines skipped, lines numbered from 1. Holds only the line a chunk cut.
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
    /// Lines seen so far, blank ones included.
    lines: usize,
}

impl LineSplitter {
    /// A splitter at the start of a file.
    pub fn new() -> LineSplitter {
        LineSplitter::default()
    }

    /// Takes the next chunk; calls `each(number, line)` for every complete non-blank line in it
    /// (a line that is not UTF-8 comes as a [`LineError`]), stopping at the first error `each`
    /// returns.
    ///
    /// # Errors
    /// The first error of `each`.
    pub fn push<E>(
        &mut self,
        chunk: &[u8],
        each: &mut impl FnMut(Result<(usize, &str), LineError>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let (line, after) = rest.split_at(end);
            rest = &after[1..];
            if self.partial.is_empty() {
                self.emit(line, each)?;
            } else {
                let mut joined = std::mem::take(&mut self.partial);
                joined.extend_from_slice(line);
                self.emit(&joined, each)?;
            }
        }
        self.partial.extend_from_slice(rest);
        Ok(())
    }

    /// The end of the file: its last line, if it had no `\n`.
    ///
    /// # Errors
    /// The error of `each`.
    pub fn finish<E>(
        mut self,
        each: &mut impl FnMut(Result<(usize, &str), LineError>) -> Result<(), E>,
    ) -> Result<(), E> {
        let last = std::mem::take(&mut self.partial);
        if last.is_empty() {
            return Ok(());
        }
        self.emit(&last, each)
    }

    fn emit<E>(
        &mut self,
        raw: &[u8],
        each: &mut impl FnMut(Result<(usize, &str), LineError>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.lines += 1;
        let raw = raw.trim_ascii();
        if raw.is_empty() {
            return Ok(());
        }
        let number = self.lines;
        each(
            std::str::from_utf8(raw)
                .map(|text| (number, text))
                .map_err(|e| LineError {
                    line: Some(number),
                    message: format!("not UTF-8 text: {e}"),
                }),
        )
    }
}

/// [`parse_line`] of line `number`, the number set on its error.
///
/// # Errors
/// As [`parse_line`].
pub fn parse_numbered(number: usize, text: &str) -> Result<ParsedLine, LineError> {
    parse_line(text).map_err(|mut e| {
        e.line = Some(number);
        e
    })
}

/// The results of one batch, keyed by `custom_id`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchResults {
    /// One entry per `custom_id` seen in the output or error file.
    pub by_custom_id: HashMap<String, ParsedLine>,
    /// Lines that could not be attributed to a row.
    pub bad_lines: Vec<LineError>,
}

/// Parses a batch's output file and error file (either may be absent: a batch whose every request
/// failed has no output file) into results keyed by `custom_id`.
///
/// If a `custom_id` appears more than once (the service should never do this), a successful
/// outcome wins over a failed one, and otherwise the later line wins.
pub fn collect_results(output: Option<&[u8]>, errors: Option<&[u8]>) -> BatchResults {
    let mut results = BatchResults::default();
    let files = [output, errors];
    for item in files.into_iter().flatten().flat_map(parse_file) {
        match item {
            Ok(parsed) => {
                let keep_old = results
                    .by_custom_id
                    .get(&parsed.custom_id)
                    .is_some_and(|old| old.outcome.is_ok() && parsed.outcome.is_err());
                if !keep_old {
                    results
                        .by_custom_id
                        .insert(parsed.custom_id.clone(), parsed);
                }
            }
            Err(e) => results.bad_lines.push(e),
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE_OUTPUT: &str = include_str!(
        "../../../fixtures/reference/openai-batch/sample-output-chat-completions.jsonl"
    );
    const GUIDE: &str = include_str!("../../../fixtures/reference/openai-batch/guide-examples.md");

    /// The guide's lines under a `## …` heading.
    fn guide_lines(heading: &str) -> Vec<&'static str> {
        GUIDE
            .split("\n## ")
            .find(|s| s.starts_with(heading))
            .unwrap_or_else(|| panic!("no section {heading}"))
            .lines()
            .filter(|l| l.starts_with('{'))
            .collect()
    }

    /// A real recorded success line with its content replaced by `content`.
    fn recorded_line_with_content(content: &str) -> String {
        let mut v: Value = serde_json::from_str(SAMPLE_OUTPUT.lines().next().unwrap()).unwrap();
        v["response"]["body"]["choices"][0]["message"]["content"] = Value::String(content.into());
        v["custom_id"] = Value::String("04-01".into());
        v.to_string()
    }

    const GOOD: &str = r#"{"year":"1945","simple":"오키나와 전투가 시작되었다.","detail":"1945년 4월 1일 미군이 오키나와에 상륙했다.","related_movies":"핵소 고지"}"#;

    #[test]
    fn the_recorded_sample_output_lines_parse_with_their_custom_ids_and_usage() {
        let lines: Vec<ParsedLine> = parse_file(SAMPLE_OUTPUT.as_bytes())
            .map(Result::unwrap)
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].custom_id, "request-1");
        assert_eq!(
            lines[0].usage,
            Some(Usage {
                prompt_tokens: 20,
                completion_tokens: 10,
                cached_tokens: 0,
                reasoning_tokens: 0
            })
        );
        // request-1's content is prose, not our JSON object.
        let err = lines[0].outcome.as_ref().unwrap_err();
        assert_eq!(err.code, "invalid_json");
        assert!(
            err.message
                .starts_with("the model's answer is not valid JSON: "),
            "{}",
            err.message
        );
        assert!(err.message.contains("Hello! How can I assist you today?"));
        assert!(err.is_retryable());
        // request-2 stopped at max_tokens.
        assert_eq!(lines[1].custom_id, "request-2");
        let err = lines[1].outcome.as_ref().unwrap_err();
        assert_eq!(err.code, "truncated");
        assert!(
            err.message
                .contains("the answer was cut off (finish_reason: length) after 10 tokens"),
            "{}",
            err.message
        );
    }

    #[test]
    fn the_guides_out_of_order_output_is_matched_by_custom_id_not_position() {
        let lines = guide_lines("Output file");
        assert_eq!(lines.len(), 2);
        let joined = lines.join("\n");
        let results = collect_results(Some(joined.as_bytes()), None);
        assert!(results.bad_lines.is_empty());
        // request-2 comes first in the file; its own usage must stay with it.
        assert_eq!(
            results.by_custom_id["request-1"]
                .usage
                .unwrap()
                .prompt_tokens,
            20
        );
        assert_eq!(
            results.by_custom_id["request-2"]
                .usage
                .unwrap()
                .prompt_tokens,
            22
        );
        let first_in_file = parse_file(joined.as_bytes()).next().unwrap().unwrap();
        assert_eq!(first_in_file.custom_id, "request-2");
    }

    #[test]
    fn the_guides_expired_lines_become_retryable_row_errors() {
        let lines = guide_lines("Error file lines for an EXPIRED batch");
        assert_eq!(lines.len(), 2);
        for line in lines {
            let parsed = parse_line(line).unwrap();
            assert!(parsed.custom_id == "request-3" || parsed.custom_id == "request-7");
            assert_eq!(parsed.usage, None);
            let err = parsed.outcome.unwrap_err();
            assert_eq!(err.code, "batch_expired");
            assert_eq!(
                err.message,
                "the batch expired before this row was processed (batch_expired); retry the row"
            );
            assert!(err.is_retryable());
        }
    }

    #[test]
    fn a_valid_answer_becomes_the_four_columns() {
        let parsed = parse_line(&recorded_line_with_content(GOOD)).unwrap();
        assert_eq!(parsed.custom_id, "04-01");
        let g = parsed.outcome.unwrap();
        assert_eq!(g.year, "1945");
        assert_eq!(g.simple, "오키나와 전투가 시작되었다.");
        assert_eq!(g.related_movies, "핵소 고지");
        assert!(parsed.usage.is_some());
    }

    #[test]
    fn a_status_400_line_reports_openais_message() {
        let line = r#"{"id":"batch_req_1","custom_id":"r9","response":{"status_code":400,"request_id":"req_1","body":{"error":{"message":"Invalid value: 'gpt-9'.","type":"invalid_request_error","param":"model","code":"invalid_value"}}},"error":null}"#;
        let parsed = parse_line(line).unwrap();
        assert_eq!(parsed.custom_id, "r9");
        let err = parsed.outcome.unwrap_err();
        assert_eq!(err.code, "http_400");
        assert_eq!(
            err.message,
            "OpenAI refused the request (400 invalid_value): Invalid value: 'gpt-9'."
        );
        assert!(!err.is_retryable());
    }

    #[test]
    fn a_status_429_line_is_retryable() {
        let line = r#"{"id":"b","custom_id":"r1","response":{"status_code":429,"request_id":"x","body":{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}},"error":null}"#;
        let err = parse_line(line).unwrap().outcome.unwrap_err();
        assert_eq!(err.code, "http_429");
        assert!(err.is_retryable());
        assert!(err.message.ends_with("; retry the row"), "{}", err.message);
    }

    #[test]
    fn a_cancelled_line_says_so() {
        let line = r#"{"id":"b","custom_id":"r1","response":null,"error":{"code":"batch_cancelled","message":"This request was cancelled."}}"#;
        let err = parse_line(line).unwrap().outcome.unwrap_err();
        assert_eq!(err.code, "batch_cancelled");
        assert!(
            err.message
                .contains("cancelled before this row was processed")
        );
    }

    #[test]
    fn a_refusal_is_reported_as_such() {
        let mut v: Value = serde_json::from_str(&recorded_line_with_content(GOOD)).unwrap();
        v["response"]["body"]["choices"][0]["message"]["content"] = Value::Null;
        v["response"]["body"]["choices"][0]["message"]["refusal"] =
            Value::String("I can't help with that.".into());
        let err = parse_line(&v.to_string()).unwrap().outcome.unwrap_err();
        assert_eq!(err.code, "refusal");
        assert_eq!(
            err.message,
            "the model refused to answer: I can't help with that."
        );
        assert!(!err.is_retryable());
    }

    #[test]
    fn a_missing_field_is_named() {
        let err = parse_content(r#"{"year":"1945","simple":"s","related_movies":""}"#).unwrap_err();
        assert_eq!(err.code, "missing_field");
        assert_eq!(err.message, "the model's answer has no `detail` field");
        let err = parse_content(r#"{"year":"1945"}"#).unwrap_err();
        assert_eq!(
            err.message,
            "the model's answer has no `simple`, `detail`, `related_movies` fields"
        );
    }

    #[test]
    fn invalid_json_content_is_reported_with_its_beginning() {
        let err = parse_content(r#"{"year": "1945", "simple": "unterminated"#).unwrap_err();
        assert_eq!(err.code, "invalid_json");
        assert!(
            err.message
                .starts_with("the model's answer is not valid JSON: ")
        );
        assert!(err.message.contains("unterminated"));
        let err = parse_content("[1, 2]").unwrap_err();
        assert_eq!(err.code, "invalid_json");
        assert!(err.message.contains("not an object"));
    }

    #[test]
    fn a_numeric_year_is_accepted_as_text_but_other_non_text_fields_are_not() {
        let g = parse_content(r#"{"year":1945,"simple":" s ","detail":"d","related_movies":""}"#)
            .unwrap();
        assert_eq!(g.year, "1945");
        assert_eq!(g.simple, "s");
        let g =
            parse_content(r#"{"year":-44,"simple":"s","detail":"d","related_movies":""}"#).unwrap();
        assert_eq!(g.year, "-44");
        let err = parse_content(
            r#"{"year":"1945","simple":"s","detail":"d","related_movies":["a","b"]}"#,
        )
        .unwrap_err();
        assert_eq!(err.code, "invalid_field");
        assert_eq!(
            err.message,
            "the model's answer has a `related_movies` field that is not text (a list)"
        );
        let err = parse_content(r#"{"year":1945.5,"simple":"s","detail":"d","related_movies":""}"#)
            .unwrap_err();
        assert_eq!(err.code, "invalid_field");
    }

    #[test]
    fn a_code_fenced_answer_is_tolerated() {
        let fenced = format!("```json\n{GOOD}\n```");
        assert_eq!(
            parse_content(&fenced).unwrap(),
            parse_content(GOOD).unwrap()
        );
    }

    #[test]
    fn a_line_without_custom_id_or_not_json_is_a_line_error_with_its_number() {
        assert!(parse_line(r#"{"id":"x","response":null,"error":null}"#).is_err());
        let file = format!(
            "{}\n\n   \nnot json\n{{\"custom_id\":5}}\n",
            recorded_line_with_content(GOOD)
        );
        let items: Vec<_> = parse_file(file.as_bytes()).collect();
        assert_eq!(items.len(), 3, "blank lines are skipped");
        assert!(items[0].is_ok());
        let e = items[1].as_ref().unwrap_err();
        assert_eq!(e.line, Some(4));
        assert!(e.to_string().starts_with("line 4: not a JSON line"), "{e}");
        assert_eq!(items[2].as_ref().unwrap_err().line, Some(5));
    }

    #[test]
    fn lines_cut_anywhere_by_chunks_come_out_as_from_the_whole_file() {
        let file = format!(
            "{}\r\n\n  \nnot json\nBADbad\n{}",
            recorded_line_with_content(GOOD),
            guide_lines("Error file")[0]
        );
        let mut bytes = file.into_bytes();
        let bad = bytes.windows(3).position(|w| w == b"BAD").unwrap();
        bytes[bad] = 0xFF;
        let whole: Vec<_> = parse_file(&bytes).collect();
        for size in [1, 2, 7, 64, bytes.len()] {
            let mut splitter = LineSplitter::new();
            let mut got = Vec::new();
            let mut each = |line: Result<(usize, &str), LineError>| {
                got.push(line.and_then(|(n, text)| parse_numbered(n, text)));
                Ok::<(), ()>(())
            };
            for chunk in bytes.chunks(size) {
                splitter.push(chunk, &mut each).unwrap();
            }
            splitter.finish(&mut each).unwrap();
            assert_eq!(got, whole, "chunks of {size}");
        }
        assert_eq!(whole.len(), 4);
    }

    #[test]
    fn windows_line_endings_are_accepted() {
        let file = format!(
            "{}\r\n{}\r\n",
            recorded_line_with_content(GOOD),
            guide_lines("Error file")[0]
        );
        let items: Vec<_> = parse_file(file.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn output_and_error_files_merge_by_custom_id_and_a_success_wins() {
        let ok = recorded_line_with_content(GOOD);
        let expired = r#"{"id":"b","custom_id":"04-01","response":null,"error":{"code":"batch_expired","message":"x"}}"#;
        let other = r#"{"id":"b","custom_id":"01-27","response":null,"error":{"code":"batch_expired","message":"x"}}"#;
        let errors = format!("{expired}\n{other}\n");
        let results = collect_results(Some(ok.as_bytes()), Some(errors.as_bytes()));
        assert_eq!(results.by_custom_id.len(), 2);
        assert!(results.by_custom_id["04-01"].outcome.is_ok());
        assert_eq!(
            results.by_custom_id["01-27"]
                .outcome
                .as_ref()
                .unwrap_err()
                .code,
            "batch_expired"
        );
        // A batch whose every request failed has only an error file.
        let only_errors = collect_results(None, Some(errors.as_bytes()));
        assert_eq!(only_errors.by_custom_id.len(), 2);
        assert!(
            only_errors
                .by_custom_id
                .values()
                .all(|p| p.outcome.is_err())
        );
    }

    #[test]
    fn lines_read_as_typed_structs_come_out_as_lines_read_as_values() {
        let ok = recorded_line_with_content(GOOD);
        let weird = [
            ok.clone(),
            ok.replace("\"status_code\":200", "\"status_code\":200.0"),
            ok.replace("\"usage\":{", "\"usage\":{\"prompt_tokens\":\"9\",\"x\":{"),
            r#"{"custom_id":"a","response":[200,{"choices":[]}],"error":null}"#.into(),
            r#"{"custom_id":"a","response":{"status_code":200,"body":{"choices":[5]}}}"#.into(),
            r#"{"custom_id":"a","response":{"status_code":200,"body":{"choices":[{"message":{"content":["x"]}}]}}}"#.into(),
            r#"{"custom_id":"a","custom_id":"b","response":null,"error":{"code":"batch_expired"}}"#.into(),
            r#"{"custom_id":"a","error":"boom"}"#.into(),
            r#"{"custom_id":"a","response":{"status_code":503,"body":{"error":{"type":"server_error","message":"m"}}}}"#.into(),
            r#"{"custom_id":"a","response":{"status_code":200,"body":null}}"#.into(),
            r#"[{"custom_id":"a"}]"#.into(),
            r#"{"custom_id":null}"#.into(),
        ];
        for line in &weird {
            assert_eq!(parse_line_and_model(line), read_as_value(line), "{line}");
        }
        let contents = [
            GOOD,
            r#"["1945","s","d","m"]"#,
            r#"{"year":1945,"simple":" s ","detail":"d","related_movies":""}"#,
            r#"{"year":1945.5,"simple":"s","detail":"d","related_movies":""}"#,
            r#"{"year":"1","year":"2","simple":"s","detail":"d","related_movies":""}"#,
            r#"{"year":"1","simple":"s","detail":null,"related_movies":""}"#,
        ];
        for content in contents {
            let line = recorded_line_with_content(content);
            assert_eq!(
                parse_line_and_model(&line),
                read_as_value(&line),
                "{content}"
            );
            assert_eq!(
                parse_content(content),
                content_as_value(content),
                "{content}"
            );
        }
    }
}
