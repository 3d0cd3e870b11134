//! The function tools the assistant may call, answered by the backend from the sheet it read at
//! the start of the turn (never from another spreadsheet: the tools take no spreadsheet):
//!
//! - `get_rows {row_ids: [string]}`: the rows with these ids (column A);
//! - `search_titles {query: string}`: the rows whose title (column B) contains the text.
//!
//! Both schemas are strict (every property required, no other property), as OpenAI's strict
//! function calling demands (<https://platform.openai.com/docs/guides/function-calling>). A call
//! the backend cannot answer (unknown name, arguments that do not fit) is answered with
//! `{"error": "…"}`, so that the model can correct itself.

use almanac_openai::responses::outcome::FunctionCall;
use almanac_openai::responses::request::FunctionTool;
use serde::Deserialize;
use serde_json::json;

use crate::chat::sheet::{MAX_IDS, MAX_SEARCH_ROWS, SheetData};

/// The sheet's tools, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SheetTool {
    /// `get_rows`.
    GetRows,
    /// `search_titles`.
    SearchTitles,
}

impl SheetTool {
    /// Every tool.
    pub const ALL: [SheetTool; 2] = [SheetTool::GetRows, SheetTool::SearchTitles];

    /// The function's name.
    pub fn name(self) -> &'static str {
        match self {
            SheetTool::GetRows => "get_rows",
            SheetTool::SearchTitles => "search_titles",
        }
    }

    /// The tool a call names, if any.
    pub fn parse(name: &str) -> Option<SheetTool> {
        SheetTool::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Its definition for the model.
    pub fn definition(self) -> FunctionTool {
        let (description, property, schema) = match self {
            SheetTool::GetRows => (
                format!(
                    "Read rows of the sheet by their id (column A, e.g. 08-15): id, title, year, content_simple, content_detailed, related_movies and the row number. At most {MAX_IDS} ids."
                ),
                "row_ids",
                json!({"type": "array", "items": {"type": "string"}, "description": "Ids from column A"}),
            ),
            SheetTool::SearchTitles => (
                format!(
                    "Find rows of the sheet whose title (column B) contains a text, ignoring case; at most {MAX_SEARCH_ROWS} rows."
                ),
                "query",
                json!({"type": "string", "description": "Text to look for in the titles"}),
            ),
        };
        FunctionTool {
            name: self.name().to_owned(),
            description,
            parameters: json!({"type": "object", "properties": {property: schema},
                               "required": [property], "additionalProperties": false}),
        }
    }
}

/// The definitions of every tool.
pub fn definitions() -> Vec<FunctionTool> {
    SheetTool::ALL
        .into_iter()
        .map(SheetTool::definition)
        .collect()
}

#[derive(Deserialize)]
struct GetRows {
    row_ids: Vec<String>,
}

#[derive(Deserialize)]
struct SearchTitles {
    query: String,
}

/// Answers one function call from the sheet (JSON text for `function_call_output`).
pub fn answer(sheet: &SheetData, call: &FunctionCall) -> String {
    let refuse = |why: String| json!({ "error": why }).to_string();
    let bad_arguments = |e: serde_json::Error| {
        refuse(format!(
            "the arguments of {} do not fit its schema: {e}",
            call.name
        ))
    };
    match SheetTool::parse(&call.name) {
        Some(SheetTool::GetRows) => match serde_json::from_str::<GetRows>(&call.arguments) {
            Ok(args) => sheet.rows_by_id(&args.row_ids).to_string(),
            Err(e) => bad_arguments(e),
        },
        Some(SheetTool::SearchTitles) => {
            match serde_json::from_str::<SearchTitles>(&call.arguments) {
                Ok(args) => sheet.search(&args.query).to_string(),
                Err(e) => bad_arguments(e),
            }
        }
        None => refuse(format!(
            "there is no function {}: use get_rows or search_titles",
            call.name
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use almanac_core::domain::SheetRow;

    fn call(name: &str, arguments: &str) -> FunctionCall {
        FunctionCall {
            call_id: "call_1".into(),
            name: name.into(),
            arguments: arguments.into(),
        }
    }

    #[test]
    fn calls_are_answered_from_the_sheet_and_bad_ones_with_an_error_the_model_can_read() {
        let sheet = SheetData {
            title: "Events".into(),
            rows: vec![SheetRow {
                row_number: 2,
                cells: ["08-15", "Liberation Day", "1945", "", "", ""]
                    .map(String::from)
                    .to_vec(),
            }],
        };
        let rows: serde_json::Value = serde_json::from_str(&answer(
            &sheet,
            &call("get_rows", r#"{"row_ids":["08-15"]}"#),
        ))
        .unwrap();
        assert_eq!(rows["rows"][0]["year"], "1945");
        let hits: serde_json::Value = serde_json::from_str(&answer(
            &sheet,
            &call("search_titles", r#"{"query":"liberation"}"#),
        ))
        .unwrap();
        assert_eq!(hits["rows"][0]["id"], "08-15");
        assert!(answer(&sheet, &call("get_rows", "{}")).contains("do not fit"));
        assert!(answer(&sheet, &call("drop_table", "{}")).contains("no function drop_table"));
        for tool in definitions() {
            assert_eq!(
                tool.parameters["additionalProperties"], false,
                "strict: {}",
                tool.name
            );
        }
    }
}
