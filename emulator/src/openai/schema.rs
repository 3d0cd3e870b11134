//! JSON schemas of function tools: the checks the real service makes on `parameters`
//! (<https://platform.openai.com/docs/guides/function-calling#strict-mode>), and the arguments
//! the emulated model writes for a call (`arguments`), which always validate against the schema.
//!
//! Arguments: the properties in `required` are filled (plus the id or query property, see
//! `Fill`); a `const` or an `enum`'s first value is used as is, then the ids or the query, then a
//! `default`; otherwise by
//! type: `string` → `""`, `integer`/`number` → 10 for names like `limit`/`max`/`count`/`top`/`k`/`n`
//! and 1 otherwise (clamped to `minimum`/`maximum`), `boolean` → `false`, `array` → `[]` (one
//! element when `minItems` > 0), `object` → filled the same way, `null` → `null`.

use serde_json::{Map, Value, json};

use crate::openai::wire::{Refusal, bad_request};

/// What the model puts into the id and query properties of a call.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fill {
    /// Row ids found in the message (for [`id_property`]).
    pub ids: Vec<String>,
    /// The text to search for (for [`query_property`]).
    pub query: String,
}

/// The Python repr of a context path: `()`, `('items',)`, `('properties', 'x')`.
fn context(path: &[String]) -> String {
    match path {
        [] => "()".into(),
        [one] => format!("('{one}',)"),
        many => format!(
            "({})",
            many.iter()
                .map(|p| format!("'{p}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn first_type(schema: &Value) -> &str {
    match &schema["type"] {
        Value::String(t) => t,
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "",
    }
}

/// The strict-mode rules, on `schema` and everything under it.
fn strict_rules(schema: &Value, path: &mut Vec<String>) -> Result<(), String> {
    if first_type(schema) == "object" {
        if schema.get("additionalProperties") != Some(&json!(false)) {
            return Err(format!(
                "In context={}, 'additionalProperties' is required to be supplied and to be false.",
                context(path)
            ));
        }
        let props = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(key) = props.keys().find(|k| !required.contains(&k.as_str())) {
            return Err(format!(
                "In context={}, 'required' is required to be supplied and to be an array including every key in properties. Missing '{key}'.",
                context(path)
            ));
        }
        for (key, sub) in &props {
            path.extend(["properties".to_string(), key.clone()]);
            strict_rules(sub, path)?;
            path.truncate(path.len() - 2);
        }
    }
    if let Some(items) = schema.get("items") {
        path.push("items".into());
        strict_rules(items, path)?;
        path.pop();
    }
    for (i, sub) in schema["anyOf"].as_array().into_iter().flatten().enumerate() {
        path.extend(["anyOf".to_string(), i.to_string()]);
        strict_rules(sub, path)?;
        path.truncate(path.len() - 2);
    }
    Ok(())
}

/// Checks a function's `parameters`: a JSON schema with `type: "object"`, and the strict-mode
/// rules when `strict` is true.
///
/// # Errors
/// 400 `invalid_function_parameters` with `param` `<path>.parameters` and the real wording
/// (`Invalid schema for function 'f': In context=(), 'additionalProperties' is required …`).
pub(crate) fn check_function_schema(
    name: &str,
    parameters: &Value,
    strict: bool,
    path: &str,
) -> Result<(), Refusal> {
    if parameters.is_null() {
        return Ok(());
    }
    let problem = match parameters.get("type") {
        Some(Value::String(t)) if t == "object" => None,
        other => Some(format!(
            "schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{}\"'.",
            other.and_then(Value::as_str).unwrap_or("None")
        )),
    };
    let problem = problem.or_else(|| {
        strict
            .then(|| strict_rules(parameters, &mut Vec::new()).err())
            .flatten()
    });
    match problem {
        None => Ok(()),
        Some(problem) => Err(bad_request(
            &format!("Invalid schema for function '{name}': {problem}"),
            Some(&format!("{path}.parameters")),
            Some("invalid_function_parameters"),
        )),
    }
}

fn is_id_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    ["id", "ids"].contains(&lower.as_str())
        || lower.ends_with("_id")
        || lower.ends_with("_ids")
        || name.ends_with("Id")
        || name.ends_with("Ids")
}

fn is_query_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    let names = [
        "query", "q", "search", "text", "keyword", "keywords", "title", "term", "terms",
    ];
    names.contains(&lower.as_str()) || lower.ends_with("_query")
}

/// The top-level property of `parameters` that takes row ids: named `id`, `ids`, `…_id`, `…_ids`
/// (or `…Id`, `…Ids`), of type string or array.
pub(crate) fn id_property(parameters: &Value) -> Option<String> {
    parameters["properties"]
        .as_object()?
        .iter()
        .find_map(|(k, v)| {
            (is_id_name(k) && ["string", "array"].contains(&first_type(v))).then(|| k.clone())
        })
}

/// The top-level property of `parameters` that takes a search text: named `query`, `q`,
/// `search`, `text`, `keyword(s)`, `title`, `term(s)` or `…_query`, of type string.
pub(crate) fn query_property(parameters: &Value) -> Option<String> {
    parameters["properties"]
        .as_object()?
        .iter()
        .find_map(|(k, v)| (is_query_name(k) && first_type(v) == "string").then(|| k.clone()))
}

/// Arguments for a function with these `parameters` (see the module docs).
pub(crate) fn arguments(parameters: &Value, fill: &Fill) -> Value {
    let mut wanted: Vec<String> = parameters["required"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for special in [id_property(parameters), query_property(parameters)]
        .into_iter()
        .flatten()
    {
        if !wanted.contains(&special) {
            wanted.push(special);
        }
    }
    object_value(parameters, &wanted, fill)
}

fn object_value(schema: &Value, wanted: &[String], fill: &Fill) -> Value {
    let mut out = Map::new();
    let props = schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for key in wanted {
        let sub = props.get(key).cloned().unwrap_or(Value::Null);
        out.insert(key.clone(), value_for(key, &sub, fill));
    }
    Value::Object(out)
}

fn value_for(name: &str, schema: &Value, fill: &Fill) -> Value {
    if let Some(v) = schema.get("const") {
        return v.clone();
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    let kind = first_type(schema);
    match kind {
        "array" if is_id_name(name) && !fill.ids.is_empty() => return json!(fill.ids),
        "string" if is_id_name(name) && !fill.ids.is_empty() => return json!(fill.ids[0]),
        "string" if is_query_name(name) && !fill.query.is_empty() => return json!(fill.query),
        _ => {}
    }
    if let Some(v) = schema.get("default") {
        return v.clone();
    }
    match kind {
        "string" => json!(""),
        "integer" | "number" => number_for(name, schema),
        "boolean" => json!(false),
        "array" => {
            let n = schema["minItems"].as_u64().unwrap_or(0);
            json!(
                (0..n.min(1))
                    .map(|_| value_for(name, &schema["items"], fill))
                    .collect::<Vec<_>>()
            )
        }
        "object" => {
            let required: Vec<String> = schema["required"]
                .as_array()
                .map(|r| {
                    r.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            object_value(schema, &required, fill)
        }
        _ => Value::Null,
    }
}

fn number_for(name: &str, schema: &Value) -> Value {
    let lower = name.to_lowercase();
    let limit_like = ["limit", "max", "count", "top", "k", "n"].iter().any(|w| {
        lower == *w || lower.starts_with(&format!("{w}_")) || lower.ends_with(&format!("_{w}"))
    });
    let mut n: f64 = if limit_like { 10.0 } else { 1.0 };
    if let Some(max) = schema["maximum"].as_f64() {
        n = n.min(max);
    }
    if let Some(min) = schema["minimum"].as_f64() {
        n = n.max(min);
    }
    json!(n as i64)
}

/// Whether `value` validates against `schema` (the subset of JSON Schema the emulator fills:
/// type, required, additionalProperties false, enum, items, minItems, minimum, maximum).
#[cfg(test)]
pub(crate) fn validates(value: &Value, schema: &Value) -> bool {
    if let Some(options) = schema["enum"].as_array() {
        return options.contains(value);
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return true,
    };
    let type_ok = types.iter().any(|t| match *t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => true,
    });
    if !type_ok {
        return false;
    }
    let in_range = value.as_f64().is_none_or(|n| {
        schema["minimum"].as_f64().is_none_or(|m| n >= m)
            && schema["maximum"].as_f64().is_none_or(|m| n <= m)
    });
    let props = schema["properties"].as_object();
    let object_ok = value.as_object().is_none_or(|obj| {
        let required = schema["required"].as_array().into_iter().flatten();
        required
            .filter_map(Value::as_str)
            .all(|k| obj.contains_key(k))
            && obj.iter().all(|(k, v)| match props.and_then(|p| p.get(k)) {
                Some(sub) => validates(v, sub),
                None => schema["additionalProperties"] != json!(false),
            })
    });
    let array_ok = value.as_array().is_none_or(|items| {
        items.len() as u64 >= schema["minItems"].as_u64().unwrap_or(0)
            && items.iter().all(|i| validates(i, &schema["items"]))
    });
    in_range && object_ok && array_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_schema() -> Value {
        json!({"type": "object", "properties": {
            "row_ids": {"type": "array", "items": {"type": "string"}},
            "include_details": {"type": "boolean"},
            "limit": {"type": "integer", "minimum": 1, "maximum": 5},
            "sheet": {"type": "string", "enum": ["Events", "Notes"]}
        }, "required": ["row_ids", "include_details", "limit", "sheet"], "additionalProperties": false})
    }

    #[test]
    fn arguments_validate_against_the_schema() {
        let fill = Fill {
            ids: vec!["08-15".into(), "03-01".into()],
            query: "moon".into(),
        };
        let args = arguments(&rows_schema(), &fill);
        assert_eq!(
            args,
            json!({"row_ids": ["08-15", "03-01"], "include_details": false, "limit": 5, "sheet": "Events"})
        );
        assert!(validates(&args, &rows_schema()));
        let search = json!({"type": "object", "properties": {"query": {"type": "string"},
            "filters": {"type": "object", "properties": {"year": {"type": ["integer", "null"]}}, "required": ["year"], "additionalProperties": false}},
            "required": ["query", "filters"], "additionalProperties": false});
        let args = arguments(&search, &fill);
        assert_eq!(args["query"], "moon");
        assert!(validates(&args, &search), "{args}");
        assert_eq!(id_property(&rows_schema()).as_deref(), Some("row_ids"));
        assert_eq!(query_property(&search).as_deref(), Some("query"));
    }

    #[test]
    fn strict_schemas_need_closed_objects_with_every_key_required() {
        let open =
            json!({"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]});
        assert!(check_function_schema("f", &open, false, "tools[0]").is_ok());
        assert!(check_function_schema("f", &open, true, "tools[0]").is_err());
        let mut nested = rows_schema();
        nested["properties"]["opts"] = json!({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": false});
        nested["required"]
            .as_array_mut()
            .unwrap()
            .push(json!("opts"));
        let mut path = Vec::new();
        let err = strict_rules(&nested, &mut path).unwrap_err();
        assert!(
            err.starts_with("In context=('properties', 'opts'), 'required'"),
            "{err}"
        );
        assert!(check_function_schema("f", &json!({"type": "string"}), false, "tools[0]").is_err());
    }
}
