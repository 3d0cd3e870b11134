//! The `tools` and `tool_choice` of a `POST /v1/responses` body (the spec's `Tool` and
//! `ToolChoiceOptions`/`ToolChoiceTypes`/`ToolChoiceFunction`/`ToolChoiceAllowed`,
//! <https://platform.openai.com/docs/api-reference/responses/create>), checked as strictly as the
//! real service, and what they leave the emulated model: the functions it may call
//! ([`FunctionDef`]), the code interpreter's container ([`ContainerSpec`]) and how it must choose
//! ([`Choice`]).
//!
//! - tools: `function` (name `^[a-zA-Z0-9_-]{1,64}$`; `parameters` a JSON schema of
//!   `type: "object"`; with `strict: true` every object schema needs
//!   `additionalProperties: false` and every property in `required`, as structured outputs demand)
//!   and `code_interpreter` (`container`: a `cntr_…` id or `{"type":"auto","file_ids"≤50,
//!   "memory_limit"}`). Other tool types are refused with a 400 saying the emulator does not model
//!   them;
//! - `tool_choice`: `none`/`auto`/`required` (`required` needs tools), `{"type":"function","name"}`
//!   naming a declared function, `{"type":"code_interpreter"}` with that tool declared, or
//!   `{"type":"allowed_tools","mode","tools"}`.

use serde_json::{Map, Value, json};

use crate::openai::wire::{Refusal, bad_request, missing, unsupported_value, wrong_type};

/// A function the model may call.
#[derive(Clone, Debug)]
pub(crate) struct FunctionDef {
    pub name: String,
    /// The `parameters` schema (`{}` when `null`).
    pub parameters: Value,
}

/// The container of the `code_interpreter` tool.
#[derive(Clone, Debug)]
pub(crate) enum ContainerSpec {
    /// An existing container (`cntr_…`).
    Id(String),
    /// A new container with copies of these uploaded files.
    Auto {
        file_ids: Vec<String>,
        memory_limit: String,
    },
}

/// How the model may use its tools (`tool_choice`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Choice {
    None,
    Auto,
    Required,
    Function(String),
    CodeInterpreter,
}

/// Tool types of the spec's `Tool` that the emulator does not model.
const OTHER_TOOLS: [&str; 15] = [
    "file_search",
    "computer",
    "computer_use_preview",
    "computer_use",
    "web_search",
    "web_search_2025_08_26",
    "web_search_preview",
    "web_search_preview_2025_03_11",
    "mcp",
    "image_generation",
    "local_shell",
    "shell",
    "custom",
    "namespace",
    "apply_patch",
];

/// What `tools` declares: the tools as echoed, the functions, the code interpreter's container.
pub(crate) type Tools = (Vec<Value>, Vec<FunctionDef>, Option<ContainerSpec>);

/// Checks `tools`.
///
/// # Errors
/// OpenAI's 400 for the first tool that breaks a rule.
pub(crate) fn tools(value: Option<&Value>) -> Result<Tools, Refusal> {
    let list = match value {
        None | Some(Value::Null) => return Ok((Vec::new(), Vec::new(), None)),
        Some(Value::Array(list)) => list,
        Some(other) => return Err(wrong_type("tools", "an array", other)),
    };
    let (mut echo, mut functions, mut container) = (Vec::new(), Vec::new(), None);
    for (i, tool) in list.iter().enumerate() {
        let path = format!("tools[{i}]");
        let Some(obj) = tool.as_object() else {
            return Err(wrong_type(&path, "an object", tool));
        };
        match obj.get("type").and_then(Value::as_str) {
            Some("function") => {
                let (shown, def) = function_tool(obj, &path)?;
                echo.push(shown);
                functions.push(def);
            }
            Some("code_interpreter") => {
                let (shown, spec) = code_interpreter_tool(obj, &path)?;
                echo.push(shown);
                container = Some(spec);
            }
            Some(other) if OTHER_TOOLS.contains(&other) || other.starts_with("web_search") => {
                return Err(bad_request(
                    &format!(
                        "[emulated] Tools of type '{other}' are not supported by the emulator; it models 'function' and 'code_interpreter'."
                    ),
                    Some(&format!("{path}.type")),
                    Some("invalid_value"),
                ));
            }
            Some(other) => {
                let mut all = vec!["function", "code_interpreter"];
                all.extend(OTHER_TOOLS);
                return Err(unsupported_value(&format!("{path}.type"), other, &all));
            }
            None => return Err(missing(&format!("{path}.type"))),
        }
    }
    Ok((echo, functions, container))
}

fn function_tool(obj: &Map<String, Value>, path: &str) -> Result<(Value, FunctionDef), Refusal> {
    let name = match obj.get("name") {
        Some(Value::String(name)) => name.clone(),
        None | Some(Value::Null) => return Err(missing(&format!("{path}.name"))),
        Some(other) => return Err(wrong_type(&format!("{path}.name"), "a string", other)),
    };
    let param = format!("{path}.name");
    if name.chars().count() > 64 {
        return Err(bad_request(
            &format!(
                "Invalid '{param}': string too long. Expected a string with maximum length 64, but got a string with length {} instead.",
                name.chars().count()
            ),
            Some(&param),
            Some("string_above_max_length"),
        ));
    }
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(bad_request(
            &format!(
                "Invalid '{param}': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'."
            ),
            Some(&param),
            Some("invalid_value"),
        ));
    }
    let parameters = match obj.get("parameters") {
        None | Some(Value::Null) => Value::Null,
        Some(v @ Value::Object(_)) => v.clone(),
        Some(other) => {
            return Err(wrong_type(
                &format!("{path}.parameters"),
                "an object",
                other,
            ));
        }
    };
    let strict = match obj.get("strict") {
        None | Some(Value::Null) => Value::Null,
        Some(v @ Value::Bool(_)) => v.clone(),
        Some(other) => return Err(wrong_type(&format!("{path}.strict"), "a boolean", other)),
    };
    crate::openai::schema::check_function_schema(&name, &parameters, strict == json!(true), path)?;
    let shown = json!({
        "type": "function",
        "name": name,
        "description": obj.get("description").cloned().unwrap_or(Value::Null),
        "parameters": parameters,
        "strict": strict,
    });
    let parameters = if parameters.is_null() {
        json!({})
    } else {
        parameters
    };
    Ok((shown, FunctionDef { name, parameters }))
}

fn code_interpreter_tool(
    obj: &Map<String, Value>,
    path: &str,
) -> Result<(Value, ContainerSpec), Refusal> {
    let param = format!("{path}.container");
    let container = match obj.get("container") {
        None | Some(Value::Null) => return Err(missing(&param)),
        Some(Value::String(id)) => {
            return Ok((
                json!({"type": "code_interpreter", "container": id}),
                ContainerSpec::Id(id.clone()),
            ));
        }
        Some(Value::Object(c)) => c,
        Some(other) => return Err(wrong_type(&param, "a string or an object", other)),
    };
    match container.get("type").and_then(Value::as_str) {
        Some("auto") => {}
        Some(other) => {
            return Err(unsupported_value(
                &format!("{param}.type"),
                other,
                &["auto"],
            ));
        }
        None => return Err(missing(&format!("{param}.type"))),
    }
    let ids_param = format!("{param}.file_ids");
    let file_ids = crate::openai::container::file_ids(container.get("file_ids"), &ids_param)?;
    if file_ids.len() > 50 {
        return Err(bad_request(
            &format!(
                "Invalid '{ids_param}': array too long. Expected an array with maximum length 50, but got an array with length {} instead.",
                file_ids.len()
            ),
            Some(&ids_param),
            Some("array_above_max_length"),
        ));
    }
    let memory_limit = crate::openai::container::memory_limit(
        container.get("memory_limit"),
        &format!("{param}.memory_limit"),
    )?;
    let mut shown = json!({"type": "auto", "file_ids": file_ids});
    if container.get("memory_limit").is_some_and(|m| !m.is_null()) {
        shown["memory_limit"] = json!(memory_limit);
    }
    Ok((
        json!({"type": "code_interpreter", "container": shown}),
        ContainerSpec::Auto {
            file_ids,
            memory_limit,
        },
    ))
}

/// What `tool_choice` leaves: the choice, the functions and container the model may use.
pub(crate) type Chosen = (Choice, Vec<FunctionDef>, Option<ContainerSpec>);

/// Checks `tool_choice` against the declared tools, narrowing them for `allowed_tools`.
///
/// # Errors
/// OpenAI's 400 when it names no declared tool or is malformed.
pub(crate) fn tool_choice(
    value: Option<&Value>,
    tools: &[Value],
    functions: Vec<FunctionDef>,
    container: Option<ContainerSpec>,
) -> Result<Chosen, Refusal> {
    let needs_tools = |choice: Choice| {
        if tools.is_empty() {
            Err(bad_request(
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
                Some("tool_choice"),
                Some("invalid_value"),
            ))
        } else {
            Ok(choice)
        }
    };
    let obj = match value {
        None | Some(Value::Null) => return Ok((Choice::Auto, functions, container)),
        Some(Value::String(mode)) => {
            let choice = match mode.as_str() {
                "none" => Choice::None,
                "auto" => Choice::Auto,
                "required" => needs_tools(Choice::Required)?,
                other => {
                    return Err(unsupported_value(
                        "tool_choice",
                        other,
                        &["none", "auto", "required"],
                    ));
                }
            };
            return Ok((choice, functions, container));
        }
        Some(Value::Object(obj)) => obj,
        Some(other) => return Err(wrong_type("tool_choice", "a string or an object", other)),
    };
    match obj.get("type").and_then(Value::as_str) {
        Some("function") => {
            let name = obj
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| missing("tool_choice.name"))?;
            if !functions.iter().any(|f| f.name == name) {
                return Err(bad_request(
                    &format!("Tool choice 'function' with name '{name}' is not in 'tools'."),
                    Some("tool_choice.name"),
                    Some("invalid_value"),
                ));
            }
            Ok((Choice::Function(name.to_string()), functions, container))
        }
        Some("code_interpreter") if container.is_some() => {
            Ok((Choice::CodeInterpreter, functions, container))
        }
        Some("code_interpreter") => Err(bad_request(
            "Tool choice 'code_interpreter' is not in 'tools'.",
            Some("tool_choice.type"),
            Some("invalid_value"),
        )),
        Some("allowed_tools") => allowed_tools(obj, functions, container),
        Some(other) => Err(bad_request(
            &format!("[emulated] tool_choice type '{other}' is not supported by the emulator."),
            Some("tool_choice.type"),
            Some("invalid_value"),
        )),
        None => Err(missing("tool_choice.type")),
    }
}

fn allowed_tools(
    obj: &Map<String, Value>,
    functions: Vec<FunctionDef>,
    container: Option<ContainerSpec>,
) -> Result<Chosen, Refusal> {
    let choice = match obj.get("mode").and_then(Value::as_str) {
        Some("auto") => Choice::Auto,
        Some("required") => Choice::Required,
        Some(other) => {
            return Err(unsupported_value(
                "tool_choice.mode",
                other,
                &["auto", "required"],
            ));
        }
        None => return Err(missing("tool_choice.mode")),
    };
    let Some(allowed) = obj.get("tools").and_then(Value::as_array) else {
        return Err(missing("tool_choice.tools"));
    };
    let allows = |kind: &str, name: Option<&str>| {
        allowed
            .iter()
            .any(|t| t["type"] == kind && (name.is_none() || t["name"].as_str() == name))
    };
    let functions = functions
        .into_iter()
        .filter(|f| allows("function", Some(&f.name)))
        .collect();
    let container = container.filter(|_| allows("code_interpreter", None));
    Ok((choice, functions, container))
}
