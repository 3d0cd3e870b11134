//! Validation of `POST /v1/responses` bodies (the spec's `CreateResponse`,
//! <https://platform.openai.com/docs/api-reference/responses/create>) into a `CreateRequest`,
//! as strictly as the real service:
//!
//! - unknown top-level parameters → 400 `unknown_parameter`; wrong JSON types → 400 `invalid_type`;
//! - `model` is required and must be one of the spec's model ids (`ModelIdsShared` and
//!   `ModelIdsResponses`), else 400 `The requested model '…' does not exist.` (`model_not_found`);
//! - `conversation` (an id starting `conv_`, or `{"id"}`) together with `previous_response_id` →
//!   400 `mutually_exclusive_parameters`;
//! - `background: true` with `store: false` → 400 (`param: "store"`);
//! - `max_output_tokens` ≥ 16, `temperature` 0–2, `top_p` 0–1, `top_logprobs` 0–20;
//!   `temperature`/`top_p` on reasoning models (o-series, `gpt-5`, `gpt-5-mini`, `gpt-5-nano`
//!   and their snapshots) → 400 `unsupported_parameter`; `reasoning.effort` on other models → 400;
//! - `metadata`: at most 16 string values (keys ≤ 64, values ≤ 512 characters);
//! - `include` values from `IncludeEnum`;
//! - `tools` and `tool_choice` as [`crate::openai::tools`] checks them;
//! - `text.format` must be `text` (the emulator does not produce structured outputs).

use serde_json::{Map, Value, json};

use crate::openai::tools::{Choice, ContainerSpec, FunctionDef, tool_choice, tools};
use crate::openai::wire::{Refusal, bad_request, missing, unsupported_value, wrong_type};

/// The parameters of the spec's `CreateResponse`.
const KNOWN: [&str; 31] = [
    "background",
    "context_management",
    "conversation",
    "include",
    "input",
    "instructions",
    "max_output_tokens",
    "max_tool_calls",
    "metadata",
    "model",
    "moderation",
    "parallel_tool_calls",
    "previous_response_id",
    "prompt",
    "prompt_cache_key",
    "prompt_cache_options",
    "prompt_cache_retention",
    "reasoning",
    "safety_identifier",
    "service_tier",
    "store",
    "stream",
    "stream_options",
    "temperature",
    "text",
    "tool_choice",
    "tools",
    "top_logprobs",
    "top_p",
    "truncation",
    "user",
];

/// Model ids of the spec (`ModelIdsShared` enum + `ModelIdsResponses` enum).
pub const MODELS: [&str; 102] = [
    "gpt-5.6-sol",
    "gpt-5.6-terra",
    "gpt-5.6-luna",
    "gpt-5.5",
    "gpt-5.5-2026-04-23",
    "gpt-5.4",
    "gpt-5.4-mini",
    "gpt-5.4-nano",
    "gpt-5.4-mini-2026-03-17",
    "gpt-5.4-nano-2026-03-17",
    "gpt-5.3-chat-latest",
    "gpt-5.2",
    "gpt-5.2-2025-12-11",
    "gpt-5.2-chat-latest",
    "gpt-5.2-pro",
    "gpt-5.2-pro-2025-12-11",
    "gpt-5.1",
    "gpt-5.1-2025-11-13",
    "gpt-5.1-codex",
    "gpt-5.1-mini",
    "gpt-5.1-chat-latest",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "gpt-5-2025-08-07",
    "gpt-5-mini-2025-08-07",
    "gpt-5-nano-2025-08-07",
    "gpt-5-chat-latest",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "gpt-4.1-2025-04-14",
    "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano-2025-04-14",
    "o4-mini",
    "o4-mini-2025-04-16",
    "o3",
    "o3-2025-04-16",
    "o3-mini",
    "o3-mini-2025-01-31",
    "o1",
    "o1-2024-12-17",
    "o1-preview",
    "o1-preview-2024-09-12",
    "o1-mini",
    "o1-mini-2024-09-12",
    "gpt-4o",
    "gpt-4o-2024-11-20",
    "gpt-4o-2024-08-06",
    "gpt-4o-2024-05-13",
    "gpt-4o-audio-preview",
    "gpt-4o-audio-preview-2024-10-01",
    "gpt-4o-audio-preview-2024-12-17",
    "gpt-4o-audio-preview-2025-06-03",
    "gpt-4o-mini-audio-preview",
    "gpt-4o-mini-audio-preview-2024-12-17",
    "gpt-4o-search-preview",
    "gpt-4o-mini-search-preview",
    "gpt-4o-search-preview-2025-03-11",
    "gpt-4o-mini-search-preview-2025-03-11",
    "chatgpt-4o-latest",
    "codex-mini-latest",
    "gpt-4o-mini",
    "gpt-4o-mini-2024-07-18",
    "gpt-4-turbo",
    "gpt-4-turbo-2024-04-09",
    "gpt-4-0125-preview",
    "gpt-4-turbo-preview",
    "gpt-4-1106-preview",
    "gpt-4-vision-preview",
    "gpt-4",
    "gpt-4-0314",
    "gpt-4-0613",
    "gpt-4-32k",
    "gpt-4-32k-0314",
    "gpt-4-32k-0613",
    "gpt-3.5-turbo",
    "gpt-3.5-turbo-16k",
    "gpt-3.5-turbo-0301",
    "gpt-3.5-turbo-0613",
    "gpt-3.5-turbo-1106",
    "gpt-3.5-turbo-0125",
    "gpt-3.5-turbo-16k-0613",
    "o1-pro",
    "o1-pro-2025-03-19",
    "o3-pro",
    "o3-pro-2025-06-10",
    "o3-deep-research",
    "o3-deep-research-2025-06-26",
    "o4-mini-deep-research",
    "o4-mini-deep-research-2025-06-26",
    "computer-use-preview",
    "computer-use-preview-2025-03-11",
    "gpt-5.5-pro",
    "gpt-5.5-pro-2026-04-23",
    "gpt-5-codex",
    "gpt-5-pro",
    "gpt-5-pro-2025-10-06",
    "gpt-5.1-codex-max",
    "gpt-daybreak-blue-latest",
    "gpt-daybreak-red-latest",
    "gpt-5.6-cyber",
];

/// A checked `POST /v1/responses` body.
#[derive(Clone, Debug)]
pub(crate) struct CreateRequest {
    pub model: String,
    /// Input items as sent (a string input becomes one `user` message).
    pub input: Vec<Value>,
    pub instructions: Option<String>,
    pub conversation: Option<String>,
    pub previous_response_id: Option<String>,
    /// `tools` as the response object echoes them.
    pub tools: Vec<Value>,
    /// Functions the model may call (after `allowed_tools`).
    pub functions: Vec<FunctionDef>,
    /// The `code_interpreter` container, when the model may use it.
    pub code_interpreter: Option<ContainerSpec>,
    pub choice: Choice,
    /// `tool_choice` as echoed.
    pub tool_choice: Value,
    pub background: bool,
    pub stream: bool,
    pub store: bool,
    pub metadata: Value,
    pub max_output_tokens: Option<u64>,
    pub include: Vec<String>,
    pub temperature: Value,
    pub top_p: Value,
    pub parallel_tool_calls: bool,
    pub reasoning: Value,
    pub truncation: String,
    pub service_tier: String,
    /// `stream_options.include_obfuscation` (default true).
    pub obfuscation: bool,
    /// `user`, `safety_identifier`, `prompt_cache_key`, `max_tool_calls`, `top_logprobs` as echoed.
    pub echo: Map<String, Value>,
}

/// Whether the model is a reasoning model (no `temperature`/`top_p`, has `reasoning.effort`).
pub(crate) fn is_reasoning_model(model: &str) -> bool {
    let o_series = ["o1", "o3", "o4"].iter().any(|p| model.starts_with(p));
    let gpt5 =
        model.starts_with("gpt-5") && !model.starts_with("gpt-5.") && !model.contains("chat");
    o_series || gpt5
}

fn opt_bool(body: &Map<String, Value>, key: &str) -> Result<Option<bool>, Refusal> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(wrong_type(key, "a boolean", other)),
    }
}

fn opt_str(body: &Map<String, Value>, key: &str) -> Result<Option<String>, Refusal> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(wrong_type(key, "a string", other)),
    }
}

/// Checks a body (see the module docs).
///
/// # Errors
/// OpenAI's 400 for the first rule broken.
pub(crate) fn parse(body: &Map<String, Value>) -> Result<CreateRequest, Refusal> {
    crate::openai::wire::reject_unknown(body, &KNOWN)?;
    let model = model(body)?;
    let (conversation, previous_response_id) = thread(body)?;
    let background = opt_bool(body, "background")?.unwrap_or(false);
    let store = opt_bool(body, "store")?;
    if background && store == Some(false) {
        return Err(bad_request(
            "Background mode requires 'store' to be true: a background response must be stored to be polled.",
            Some("store"),
            Some("invalid_value"),
        ));
    }
    let (tools, functions, code_interpreter) = tools(body.get("tools"))?;
    let (choice, functions, code_interpreter) =
        tool_choice(body.get("tool_choice"), &tools, functions, code_interpreter)?;
    let mut request = CreateRequest {
        input: input(body.get("input"))?,
        instructions: opt_str(body, "instructions")?,
        conversation,
        previous_response_id,
        tool_choice: body
            .get("tool_choice")
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or_else(|| json!("auto")),
        tools,
        functions,
        code_interpreter,
        choice,
        background,
        stream: opt_bool(body, "stream")?.unwrap_or(false),
        store: store.unwrap_or(true),
        metadata: crate::openai::wire::metadata(body.get("metadata"), "metadata")?,
        max_output_tokens: None,
        include: include(body.get("include"))?,
        temperature: Value::Null,
        top_p: Value::Null,
        parallel_tool_calls: opt_bool(body, "parallel_tool_calls")?.unwrap_or(true),
        reasoning: reasoning(body.get("reasoning"), &model)?,
        truncation: opt_str(body, "truncation")?.unwrap_or_else(|| "disabled".into()),
        service_tier: service_tier(body)?,
        obfuscation: obfuscation(body.get("stream_options"))?,
        echo: Map::new(),
        model,
    };
    numbers(body, &mut request)?;
    text_format(body.get("text"))?;
    for key in [
        "user",
        "safety_identifier",
        "prompt_cache_key",
        "max_tool_calls",
        "top_logprobs",
    ] {
        request
            .echo
            .insert(key.into(), body.get(key).cloned().unwrap_or(Value::Null));
    }
    Ok(request)
}

fn model(body: &Map<String, Value>) -> Result<String, Refusal> {
    let model = match body.get("model") {
        None | Some(Value::Null) => return Err(missing("model")),
        Some(Value::String(m)) => m.clone(),
        Some(other) => return Err(wrong_type("model", "a string", other)),
    };
    if !MODELS.contains(&model.as_str()) {
        return Err(bad_request(
            &format!("The requested model '{model}' does not exist."),
            Some("model"),
            Some("model_not_found"),
        ));
    }
    Ok(model)
}

/// `(conversation, previous_response_id)`.
fn thread(body: &Map<String, Value>) -> Result<(Option<String>, Option<String>), Refusal> {
    let conversation = match body.get("conversation") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(Value::Object(obj)) => match obj.get("id") {
            Some(Value::String(id)) => Some(id.clone()),
            None | Some(Value::Null) => return Err(missing("conversation.id")),
            Some(other) => return Err(wrong_type("conversation.id", "a string", other)),
        },
        Some(other) => return Err(wrong_type("conversation", "a string or an object", other)),
    };
    let previous = opt_str(body, "previous_response_id")?;
    if conversation.is_some() && previous.is_some() {
        return Err(bad_request(
            "Mutually exclusive parameters. Ensure you are only providing one of: 'previous_response_id' or 'conversation'.",
            None,
            Some("mutually_exclusive_parameters"),
        ));
    }
    if let Some(id) = conversation
        .as_deref()
        .filter(|id| !id.starts_with("conv_"))
    {
        return Err(bad_request(
            &format!("Invalid 'conversation': '{id}'. Expected an ID that begins with 'conv_'."),
            Some("conversation"),
            Some("invalid_value"),
        ));
    }
    Ok((conversation, previous))
}

fn input(value: Option<&Value>) -> Result<Vec<Value>, Refusal> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(vec![
            json!({"type": "message", "role": "user", "content": text}),
        ]),
        Some(Value::Array(items)) => Ok(items.clone()),
        Some(other) => Err(wrong_type("input", "a string or an array", other)),
    }
}

fn include(value: Option<&Value>) -> Result<Vec<String>, Refusal> {
    let list = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(other) => return Err(wrong_type("include", "an array", other)),
    };
    list.iter()
        .enumerate()
        .map(|(i, v)| match v.as_str() {
            Some(s) if crate::openai::wire::INCLUDE_VALUES.contains(&s) => Ok(s.to_string()),
            Some(s) => Err(unsupported_value(
                &format!("include[{i}]"),
                s,
                &crate::openai::wire::INCLUDE_VALUES,
            )),
            None => Err(wrong_type(&format!("include[{i}]"), "a string", v)),
        })
        .collect()
}

fn reasoning(value: Option<&Value>, model: &str) -> Result<Value, Refusal> {
    let reasoning_model = is_reasoning_model(model);
    let effort = match value {
        None | Some(Value::Null) => Value::Null,
        Some(Value::Object(obj)) => obj.get("effort").cloned().unwrap_or(Value::Null),
        Some(other) => return Err(wrong_type("reasoning", "an object", other)),
    };
    if !effort.is_null() && !reasoning_model {
        return Err(bad_request(
            "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
            Some("reasoning.effort"),
            Some("unsupported_parameter"),
        ));
    }
    let effort = match effort {
        Value::Null if reasoning_model => json!("medium"),
        other => other,
    };
    let summary = value
        .and_then(|v| v.get("summary"))
        .cloned()
        .unwrap_or(Value::Null);
    Ok(json!({"effort": effort, "summary": summary}))
}

fn service_tier(body: &Map<String, Value>) -> Result<String, Refusal> {
    match opt_str(body, "service_tier")?.as_deref() {
        None | Some("auto") => Ok("default".into()),
        Some(tier @ ("default" | "flex" | "priority" | "scale")) => Ok(tier.into()),
        Some(other) => Err(unsupported_value(
            "service_tier",
            other,
            &["auto", "default", "flex", "scale", "priority"],
        )),
    }
}

fn obfuscation(value: Option<&Value>) -> Result<bool, Refusal> {
    match value {
        None | Some(Value::Null) => Ok(true),
        Some(Value::Object(obj)) => match obj.get("include_obfuscation") {
            None | Some(Value::Null) => Ok(true),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(wrong_type(
                "stream_options.include_obfuscation",
                "a boolean",
                other,
            )),
        },
        Some(other) => Err(wrong_type("stream_options", "an object", other)),
    }
}

fn text_format(value: Option<&Value>) -> Result<(), Refusal> {
    let kind = value
        .and_then(|t| t.get("format"))
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("text");
    if kind == "text" {
        Ok(())
    } else {
        Err(bad_request(
            &format!(
                "[emulated] text.format type '{kind}' is not supported by the emulator; it answers plain text."
            ),
            Some("text.format.type"),
            Some("invalid_value"),
        ))
    }
}

/// A number in `min..=max` (`integer` when `whole`), else OpenAI's range/type error.
fn ranged(
    body: &Map<String, Value>,
    key: &str,
    min: f64,
    max: Option<f64>,
    whole: bool,
) -> Result<Value, Refusal> {
    let value = match body.get(key) {
        None | Some(Value::Null) => return Ok(Value::Null),
        Some(v @ Value::Number(_)) => v.clone(),
        Some(other) => {
            let kind = if whole { "an integer" } else { "a number" };
            return Err(wrong_type(key, kind, other));
        }
    };
    let n = value.as_f64().unwrap_or(0.0);
    let kind = if whole { "integer" } else { "decimal" };
    if whole && value.as_i64().is_none() {
        return Err(wrong_type(key, "an integer", &value));
    }
    let (which, op, bound, code) = if n < min {
        ("below minimum", ">=", min, "below_min")
    } else if let Some(max) = max.filter(|m| n > *m) {
        ("above maximum", "<=", max, "above_max")
    } else {
        return Ok(value);
    };
    Err(bad_request(
        &format!(
            "Invalid '{key}': {kind} {which} value. Expected a value {op} {bound}, but got {value} instead."
        ),
        Some(key),
        Some(&format!("{kind}_{code}_value")),
    ))
}

fn numbers(body: &Map<String, Value>, request: &mut CreateRequest) -> Result<(), Refusal> {
    request.max_output_tokens = ranged(body, "max_output_tokens", 16.0, None, true)?.as_u64();
    ranged(body, "top_logprobs", 0.0, Some(20.0), true)?;
    request.temperature = ranged(body, "temperature", 0.0, Some(2.0), false)?;
    request.top_p = ranged(body, "top_p", 0.0, Some(1.0), false)?;
    if is_reasoning_model(&request.model) {
        for key in ["temperature", "top_p"] {
            if body.get(key).is_some_and(|v| !v.is_null()) {
                return Err(bad_request(
                    &format!("Unsupported parameter: '{key}' is not supported with this model."),
                    Some(key),
                    Some("unsupported_parameter"),
                ));
            }
        }
    }
    for key in ["temperature", "top_p"] {
        let field = if key == "temperature" {
            &mut request.temperature
        } else {
            &mut request.top_p
        };
        if field.is_null() {
            *field = json!(1.0);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn message(refusal: Refusal) -> String {
        use axum::response::IntoResponse;
        format!("{}", refusal.into_response().status())
    }

    #[test]
    fn the_basic_refusals() {
        assert!(parse(&body(json!({"model": "gpt-4.1-mini", "input": "hi"}))).is_ok());
        for bad in [
            json!({"input": "hi"}),
            json!({"model": "gpt-9", "input": "hi"}),
            json!({"model": "gpt-4.1", "conversation": "conv_1", "previous_response_id": "resp_1"}),
            json!({"model": "gpt-4.1", "background": true, "store": false}),
            json!({"model": "gpt-4.1", "max_output_tokens": 5}),
            json!({"model": "gpt-4.1", "temperature": 3}),
            json!({"model": "o3", "temperature": 1}),
            json!({"model": "gpt-4.1", "frobnicate": 1}),
            json!({"model": "gpt-4.1", "conversation": "thread_1"}),
            json!({"model": "gpt-4.1", "tool_choice": "required"}),
            json!({"model": "gpt-4.1", "tools": [{"type": "web_search"}]}),
            json!({"model": "gpt-4.1", "tools": [{"type": "function", "name": "a b"}]}),
            json!({"model": "gpt-4.1", "tools": [{"type": "code_interpreter"}]}),
        ] {
            let err = parse(&body(bad.clone())).expect_err(&bad.to_string());
            assert_eq!(message(err), "400 Bad Request", "{bad}");
        }
    }

    #[test]
    fn tool_choice_narrows_the_tools() {
        let req = parse(&body(json!({"model": "gpt-4.1", "tools": [
            {"type": "function", "name": "get_rows", "parameters": {"type": "object", "properties": {}}},
            {"type": "function", "name": "search", "parameters": null},
            {"type": "code_interpreter", "container": {"type": "auto", "file_ids": ["file-1"]}}
        ], "tool_choice": {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "search"}]}})))
        .unwrap();
        assert_eq!(req.choice, Choice::Required);
        assert_eq!(req.functions.len(), 1);
        assert!(req.code_interpreter.is_none());
        assert_eq!(req.tools.len(), 3);
    }
}
