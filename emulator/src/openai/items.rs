//! Items, the unit of context of the Conversations and Responses APIs
//! (<https://platform.openai.com/docs/api-reference/conversations/list-items-object>): input items
//! as a request spells them (the spec's `InputItem`: `EasyInputMessage`, `function_call`,
//! `function_call_output`, `code_interpreter_call`, `item_reference`) are checked and turned into
//! stored items (the spec's `ConversationItem`): every item gets an `id` (`msg_…`, `fc_…`,
//! `fco_…`) and `status: "completed"`, and a message's string `content` becomes one
//! `input_text` part (`output_text` for `assistant` messages).
//!
//! Validation follows the real service: a `user`/`system`/`developer` message takes only
//! `input_text`/`input_image`/`input_file` parts and an `assistant` message only
//! `output_text`/`refusal`; a `function_call_output` needs a `function_call` with its `call_id`
//! earlier in the context, and a `function_call` needs its output before the model runs again.
//! Item types the emulator does not model (reasoning, web search, MCP, …) are refused with a 400
//! saying so.

use serde_json::{Map, Value, json};

use crate::openai::wire::{Refusal, bad_request, missing, unsupported_value, wrong_type};

/// Finds a stored item by id (for `item_reference` inputs).
pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<Value>;

/// Checks and stores every item of `items`; `path` is the parameter name used in errors
/// (`input`, `items`).
///
/// # Errors
/// OpenAI's 400 naming the first bad field, e.g. `input[1].content[0]`.
pub(crate) fn normalize_list(
    items: &[Value],
    path: &str,
    lookup: Lookup<'_>,
) -> Result<Vec<Value>, Refusal> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| normalize(item, &format!("{path}[{i}]"), lookup))
        .collect()
}

/// Checks one input item and returns it as stored (with an `id` and a `status`).
///
/// # Errors
/// OpenAI's 400 naming the bad field under `path`.
pub(crate) fn normalize(item: &Value, path: &str, lookup: Lookup<'_>) -> Result<Value, Refusal> {
    let Some(obj) = item.as_object() else {
        return Err(wrong_type(path, "an object", item));
    };
    let kind = match obj.get("type") {
        None | Some(Value::Null) if obj.contains_key("role") => "message",
        None | Some(Value::Null) if obj.contains_key("id") => "item_reference",
        None | Some(Value::Null) => return Err(missing(&format!("{path}.type"))),
        Some(Value::String(kind)) => kind.as_str(),
        Some(other) => return Err(wrong_type(&format!("{path}.type"), "a string", other)),
    };
    match kind {
        "message" => message(obj, path),
        "function_call" => function_call(obj, path),
        "function_call_output" => function_call_output(obj, path),
        "code_interpreter_call" => code_interpreter_call(obj, path),
        "item_reference" => {
            let id = required_str(obj, "id", path)?;
            lookup(id).ok_or_else(|| {
                bad_request(
                    &format!("Item with id '{id}' not found."),
                    Some(&format!("{path}.id")),
                    None,
                )
            })
        }
        other => Err(bad_request(
            &format!(
                "[emulated] Input items of type '{other}' are not supported by the emulator (it models messages, function calls and their outputs, code interpreter calls and item references)."
            ),
            Some(&format!("{path}.type")),
            Some("invalid_value"),
        )),
    }
}

fn required_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a str, Refusal> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(missing(&format!("{path}.{key}"))),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(wrong_type(&format!("{path}.{key}"), "a string", other)),
    }
}

fn id_or_new(obj: &Map<String, Value>, prefix: &str, path: &str) -> Result<String, Refusal> {
    match obj.get("id") {
        None | Some(Value::Null) => Ok(crate::openai::wire::new_id(prefix)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(wrong_type(&format!("{path}.id"), "a string", other)),
    }
}

const ROLES: [&str; 4] = ["assistant", "system", "developer", "user"];

fn message(obj: &Map<String, Value>, path: &str) -> Result<Value, Refusal> {
    let role = required_str(obj, "role", path)?;
    if !ROLES.contains(&role) {
        return Err(unsupported_value(&format!("{path}.role"), role, &ROLES));
    }
    let content = match obj.get("content") {
        None | Some(Value::Null) => return Err(missing(&format!("{path}.content"))),
        Some(Value::String(text)) if role == "assistant" => {
            vec![json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})]
        }
        Some(Value::String(text)) => vec![json!({"type": "input_text", "text": text})],
        Some(Value::Array(parts)) => parts
            .iter()
            .enumerate()
            .map(|(j, p)| content_part(role, p, &format!("{path}.content[{j}]")))
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(wrong_type(
                &format!("{path}.content"),
                "a string or an array",
                other,
            ));
        }
    };
    let mut stored = json!({
        "type": "message",
        "id": id_or_new(obj, "msg_", path)?,
        "status": "completed",
        "role": role,
        "content": content,
    });
    if let Some(phase) = obj.get("phase").filter(|p| !p.is_null()) {
        stored["phase"] = phase.clone();
    }
    Ok(stored)
}

fn content_part(role: &str, part: &Value, path: &str) -> Result<Value, Refusal> {
    let Some(obj) = part.as_object() else {
        return Err(wrong_type(path, "an object", part));
    };
    let kind = required_str(obj, "type", path)?;
    let allowed: &[&str] = if role == "assistant" {
        &["output_text", "refusal"]
    } else {
        &["input_text", "input_image", "input_file"]
    };
    if !allowed.contains(&kind) {
        return Err(unsupported_value(path, kind, allowed));
    }
    match kind {
        "input_text" => Ok(json!({"type": kind, "text": required_str(obj, "text", path)?})),
        "output_text" => Ok(json!({
            "type": kind,
            "text": required_str(obj, "text", path)?,
            "annotations": obj.get("annotations").cloned().unwrap_or_else(|| json!([])),
            "logprobs": obj.get("logprobs").cloned().unwrap_or_else(|| json!([])),
        })),
        "refusal" => Ok(json!({"type": kind, "refusal": required_str(obj, "refusal", path)?})),
        "input_image" if !obj.contains_key("image_url") && !obj.contains_key("file_id") => {
            Err(missing(&format!("{path}.image_url")))
        }
        _ => Ok(part.clone()),
    }
}

fn function_call(obj: &Map<String, Value>, path: &str) -> Result<Value, Refusal> {
    Ok(json!({
        "type": "function_call",
        "id": id_or_new(obj, "fc_", path)?,
        "call_id": required_str(obj, "call_id", path)?,
        "name": required_str(obj, "name", path)?,
        "arguments": required_str(obj, "arguments", path)?,
        "status": "completed",
    }))
}

fn function_call_output(obj: &Map<String, Value>, path: &str) -> Result<Value, Refusal> {
    let call_id = required_str(obj, "call_id", path)?;
    if call_id.is_empty() || call_id.chars().count() > 64 {
        return Err(bad_request(
            &format!(
                "Invalid '{path}.call_id': string length must be between 1 and 64, but got {}.",
                call_id.chars().count()
            ),
            Some(&format!("{path}.call_id")),
            Some("invalid_value"),
        ));
    }
    let output = match obj.get("output") {
        None | Some(Value::Null) => return Err(missing(&format!("{path}.output"))),
        Some(v @ (Value::String(_) | Value::Array(_))) => v.clone(),
        Some(other) => {
            return Err(wrong_type(
                &format!("{path}.output"),
                "a string or an array",
                other,
            ));
        }
    };
    Ok(json!({
        "type": "function_call_output",
        "id": id_or_new(obj, "fco_", path)?,
        "call_id": call_id,
        "output": output,
        "status": "completed",
    }))
}

fn code_interpreter_call(obj: &Map<String, Value>, path: &str) -> Result<Value, Refusal> {
    required_str(obj, "id", path)?;
    required_str(obj, "container_id", path)?;
    let mut stored = Value::Object(obj.clone());
    if stored.get("status").is_none_or(Value::is_null) {
        stored["status"] = json!("completed");
    }
    Ok(stored)
}

/// Refuses a context whose tool calls and outputs do not pair up, as the real service does:
/// every `function_call_output` needs an earlier `function_call` with its `call_id`, and every
/// `function_call` needs its output.
///
/// # Errors
/// 400 with `param: "input"` and the real messages (`No tool call found for function call
/// output with call_id …` / `No tool output found for function call …`).
pub(crate) fn check_tool_pairs(items: &[Value]) -> Result<(), Refusal> {
    for (i, item) in items.iter().enumerate() {
        let call_id = item["call_id"].as_str().unwrap_or("");
        let has = |kind: &str, range: &[Value]| {
            range
                .iter()
                .any(|other| other["type"] == kind && other["call_id"] == call_id)
        };
        match item["type"].as_str() {
            Some("function_call_output") if !has("function_call", &items[..i]) => {
                return Err(bad_request(
                    &format!("No tool call found for function call output with call_id {call_id}."),
                    Some("input"),
                    None,
                ));
            }
            Some("function_call") if !has("function_call_output", &items[i + 1..]) => {
                return Err(bad_request(
                    &format!("No tool output found for function call {call_id}."),
                    Some("input"),
                    None,
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The text an item carries (message parts, function name and arguments, a function output,
/// code), for the emulated model and for token counts.
pub(crate) fn text(item: &Value) -> String {
    match item["type"].as_str() {
        Some("message") => parts_text(&item["content"]),
        Some("function_call") => format!(
            "{} {}",
            item["name"].as_str().unwrap_or(""),
            item["arguments"].as_str().unwrap_or("")
        ),
        Some("function_call_output") => output_text(&item["output"]),
        Some("code_interpreter_call") => item["code"].as_str().unwrap_or("").to_string(),
        _ => String::new(),
    }
}

/// The text of a `function_call_output.output`: the string, or its `input_text` parts.
pub(crate) fn output_text(output: &Value) -> String {
    match output {
        Value::String(s) => s.clone(),
        other => parts_text(other),
    }
}

fn parts_text(parts: &Value) -> String {
    parts
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["text"].as_str().or_else(|| p["refusal"].as_str()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// An item as the API shows it: `code_interpreter_call.outputs` is `null` unless `include` has
/// `code_interpreter_call.outputs` (the spec's `IncludeEnum`).
pub(crate) fn render(item: &Value, include: &[String]) -> Value {
    let mut shown = item.clone();
    if item["type"] == "code_interpreter_call"
        && !include.iter().any(|i| i == "code_interpreter_call.outputs")
    {
        shown["outputs"] = Value::Null;
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<Value> {
        None
    }

    #[test]
    fn messages_get_ids_and_typed_parts() {
        let user = normalize(&json!({"role": "user", "content": "Hi"}), "input[0]", &none).unwrap();
        assert!(user["id"].as_str().unwrap().starts_with("msg_"));
        assert_eq!(
            user["content"][0],
            json!({"type": "input_text", "text": "Hi"})
        );
        let assistant = normalize(
            &json!({"role": "assistant", "content": "Yo"}),
            "input[1]",
            &none,
        )
        .unwrap();
        assert_eq!(assistant["content"][0]["type"], "output_text");
        assert_eq!(text(&assistant), "Yo");
    }

    #[test]
    fn wrong_parts_and_roles_are_refused() {
        let bad = json!({"role": "assistant", "content": [{"type": "input_text", "text": "x"}]});
        assert!(normalize(&bad, "input[0]", &none).is_err());
        assert!(normalize(&json!({"role": "bot", "content": "x"}), "input[0]", &none).is_err());
        assert!(
            normalize(
                &json!({"type": "reasoning", "id": "rs_1"}),
                "input[0]",
                &none
            )
            .is_err()
        );
        assert!(
            normalize(
                &json!({"type": "function_call_output", "output": "x"}),
                "i",
                &none
            )
            .is_err()
        );
    }

    #[test]
    fn tool_outputs_need_calls_and_calls_need_outputs() {
        let call =
            json!({"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"});
        let out = json!({"type": "function_call_output", "call_id": "c1", "output": "rows"});
        assert!(check_tool_pairs(&[call.clone(), out.clone()]).is_ok());
        assert!(check_tool_pairs(std::slice::from_ref(&out)).is_err());
        assert!(check_tool_pairs(&[call]).is_err());
    }
}
