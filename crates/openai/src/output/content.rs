//! A model's answer (`choices[0].message.content`) read into the four generated columns: the
//! JSON object of [`almanac_core::prompt::response_format`], read once into borrowed typed fields
//! (the fast way), and again as a `serde_json::Value` only when it is not that object, to say what
//! is wrong with it.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::Visitor;
use serde_json::Value;

use almanac_core::domain::Generated;
use almanac_core::prompt::FIELDS;
use almanac_core::state::FailureCode;

use crate::output::json::Obj;
use crate::output::row::RowError;

/// A model's answer read into typed fields (the fast way; see [`parse_content`]).
#[derive(Deserialize)]
struct AnswerFields<'a> {
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
    let Obj(c) = serde_json::from_str::<Obj<AnswerFields<'_>>>(text).ok()?;
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
pub(super) fn content_as_value(text: &str) -> Result<Generated, RowError> {
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
