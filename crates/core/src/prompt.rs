//! The words sent to the model: one system prompt shared by every request, the user message that
//! carries a row's title, and the strict JSON schema the answer must follow.
//!
//! Every request of every batch starts with the same system message, byte for byte, so the provider
//! can reuse its cached prefix (<https://platform.openai.com/docs/guides/prompt-caching>); only the
//! user message changes from row to row. The answer is forced into the shape of
//! [`crate::domain::Generated`] by structured outputs
//! (<https://platform.openai.com/docs/guides/structured-outputs>): `response_format` of type
//! `json_schema` with `strict: true`, every property required and `additionalProperties: false`.
//!
//! Nothing here knows how a request line is framed; that is `almanac_openai::jsonl`.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::output::{ANSWER_FIELDS, OutputField};

/// The system message of every request.
///
/// It asks for four fields (`year`, `simple`, `detail`, `related_movies`), in the language of the
/// title (a Korean title gets Korean content), facts only, plain text without Markdown. It must not
/// contain anything row-specific: keeping it identical across requests is what makes it cacheable.
pub const SYSTEM_PROMPT: &str = "\
You write short reference entries about historical events for a spreadsheet.

You are given the title of one historical event. Answer with a JSON object with exactly these fields:
- \"year\": the year the event happened, digits only (for example \"1945\"). Use a minus sign for years before the common era (for example \"-44\"). If the event spans several years, give the year it began.
- \"simple\": one or two plain sentences that tell a general reader what happened.
- \"detail\": one paragraph of about four to eight sentences: the background, what happened, and why it matters.
- \"related_movies\": titles of feature films or documentaries about this event, separated by \", \". Name a film only if you are sure it exists and is about this event; if there is none, use an empty string.

Rules:
- Write \"simple\", \"detail\" and \"related_movies\" in the language of the title: a Korean title gets Korean text, an English title gets English text. Give film titles as they are known in that language.
- State facts only. Do not invent dates, numbers, names or films; leave out any detail you are not sure of.
- Plain text only: no Markdown, no bullet points, no line breaks inside a field.
- If the title is ambiguous, write about the best-known event with that title.
- If you do not recognise the event, do not guess: set \"year\", \"detail\" and \"related_movies\" to empty strings and say in \"simple\", in one sentence, that the event could not be identified.";

/// The user message for one row: the row's title (column B), trimmed, after a fixed label.
///
/// Example: `user_message("오키나와 전투 개시")` is `"Historical event: 오키나와 전투 개시"`.
pub fn user_message(title: &str) -> String {
    format!("Historical event: {}", title.trim())
}

/// A short id of the prompt template (system prompt + answer schema): 16 hex digits of the
/// FNV-1a hash of both texts. Stored with each job so that output-token averages are taken only
/// over jobs that used the same words (see [`crate::cost::predict_output`]).
pub fn template_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let schema = serde_json::to_string(response_format_typed()).expect("the schema serializes");
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in SYSTEM_PROMPT.bytes().chain([0]).chain(schema.bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{hash:016x}")
    })
}

/// The `json_schema.name` of the answer schema (letters, digits, `_` and `-`, at most 64).
pub const SCHEMA_NAME: &str = "historical_event";

/// The four answer fields, in the order the model should write them (and the sheet shows them):
/// [`OutputField::answer_field`] of each output column.
pub const FIELDS: [&str; 4] = ANSWER_FIELDS;

/// The `response_format` of every request, as JSON:
///
/// ```json
/// {"type": "json_schema",
///  "json_schema": {"name": "historical_event", "strict": true,
///                  "schema": {"type": "object",
///                             "properties": {"year": {"type": "string", "description": "…"},
///                                            "simple": {…}, "detail": {…}, "related_movies": {…}},
///                             "required": ["year", "simple", "detail", "related_movies"],
///                             "additionalProperties": false}}}
/// ```
///
/// Strict mode (<https://platform.openai.com/docs/guides/structured-outputs#supported-schemas>)
/// requires every property to be listed in `required` and `additionalProperties: false`; an empty
/// string stands for "none" (there are no optional fields).
pub fn response_format() -> serde_json::Value {
    serde_json::to_value(response_format_typed()).expect("the response format serializes")
}

/// The `response_format` as a typed value that serializes its keys in a fixed order (`year` first),
/// which is the order the model writes the fields in. Used by `almanac_openai::jsonl` to build
/// request bodies (and so by the token estimate, which counts those bodies).
pub fn response_format_typed() -> &'static ResponseFormat {
    &RESPONSE_FORMAT
}

/// `response_format` of a Chat Completions request.
#[derive(Debug, Serialize)]
pub struct ResponseFormat {
    /// Always `json_schema`.
    #[serde(rename = "type")]
    kind: &'static str,
    /// The schema and its name.
    pub json_schema: JsonSchemaFormat,
}

/// `response_format.json_schema`.
#[derive(Debug, Serialize)]
pub struct JsonSchemaFormat {
    /// [`SCHEMA_NAME`].
    name: &'static str,
    /// Always true: the answer must match the schema.
    strict: bool,
    /// The JSON schema itself.
    schema: ObjectSchema,
}

/// The answer object.
#[derive(Debug, Serialize)]
struct ObjectSchema {
    /// Always `object`.
    #[serde(rename = "type")]
    kind: &'static str,
    /// The four string properties, in writing order.
    properties: Properties,
    /// All four property names ([`FIELDS`]).
    required: [&'static str; 4],
    /// Always false (strict mode).
    #[serde(rename = "additionalProperties")]
    additional_properties: bool,
}

/// The properties of the answer: one string property per output column, named by its answer
/// field and described by its description, in [`OutputField::ALL`]'s order (the order the
/// model writes them in).
#[derive(Debug)]
struct Properties;

impl Serialize for Properties {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(OutputField::ALL.len()))?;
        for field in OutputField::ALL {
            map.serialize_entry(field.answer_field(), &string_property(field.description()))?;
        }
        map.end()
    }
}

/// A string property with a description the model reads.
#[derive(Debug, Serialize)]
struct StringProperty {
    #[serde(rename = "type")]
    kind: &'static str,
    description: &'static str,
}

const fn string_property(description: &'static str) -> StringProperty {
    StringProperty {
        kind: "string",
        description,
    }
}

static RESPONSE_FORMAT: ResponseFormat = ResponseFormat {
    kind: "json_schema",
    json_schema: JsonSchemaFormat {
        name: SCHEMA_NAME,
        strict: true,
        schema: ObjectSchema {
            kind: "object",
            properties: Properties,
            required: FIELDS,
            additional_properties: false,
        },
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_is_strict_with_every_field_required_and_no_extra_properties() {
        let rf = response_format();
        assert_eq!(rf["type"], "json_schema");
        assert_eq!(rf["json_schema"]["name"], SCHEMA_NAME);
        assert_eq!(rf["json_schema"]["strict"], true);
        let schema = &rf["json_schema"]["schema"];
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["additionalProperties"], false);
        let props = schema["properties"].as_object().unwrap();
        assert_eq!(props.len(), FIELDS.len());
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(required, FIELDS);
        for field in FIELDS {
            assert_eq!(props[field]["type"], "string", "{field} must be a string");
            assert!(
                props[field]["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty())
            );
        }
    }

    #[test]
    fn the_serialized_schema_lists_year_first_so_the_model_writes_it_first() {
        let text = serde_json::to_string(response_format_typed()).unwrap();
        let pos = |k: &str| text.find(&format!("\"{k}\":{{")).unwrap();
        assert!(pos("year") < pos("simple"));
        assert!(pos("simple") < pos("detail"));
        assert!(pos("detail") < pos("related_movies"));
    }

    #[test]
    fn the_system_prompt_names_every_field_and_the_language_rule_and_nothing_row_specific() {
        for field in FIELDS {
            assert!(SYSTEM_PROMPT.contains(&format!("\"{field}\"")), "{field}");
        }
        assert!(SYSTEM_PROMPT.contains("Korean"));
        assert!(SYSTEM_PROMPT.contains("no Markdown"));
        assert!(!SYSTEM_PROMPT.contains('{'), "no template placeholders");
    }

    #[test]
    fn the_user_message_carries_the_trimmed_title() {
        assert_eq!(
            user_message("  오키나와 전투 개시 "),
            "Historical event: 오키나와 전투 개시"
        );
    }
}
