//! Typed domain values shared by every crate: a [`RowId`] or a [`SpreadsheetId`] cannot hold an
//! invalid value ("parse, don't validate"), a [`SheetRow`] is one row of a grid as read (a sheet's
//! or a file's), and [`Generated`] is the content the model writes for one row. Nothing here knows
//! a wire format.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::output::OutputField;

/// Why a value could not become a domain value. The message says what was wrong and what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

/// The id of a row (column A), used as the batch line's `custom_id`.
///
/// Trimmed, 1–64 characters, no control characters. Ids are compared exactly (case-sensitive).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RowId(String);

impl RowId {
    /// Longest id accepted, in characters.
    pub const MAX_CHARS: usize = 64;

    /// Parses a cell value into an id.
    ///
    /// # Errors
    /// [`InvalidValue`] when the trimmed value is empty, longer than [`RowId::MAX_CHARS`]
    /// characters, or contains a control character.
    pub fn parse(raw: &str) -> Result<RowId, InvalidValue> {
        match RowId::problem(raw) {
            Some(problem) => Err(InvalidValue(format!("the id in column A {problem}"))),
            None => Ok(RowId(raw.trim().to_owned())),
        }
    }

    /// What keeps `raw` from being an id, if anything (the rules of [`RowId::parse`]).
    pub fn problem(raw: &str) -> Option<RowIdProblem> {
        let id = raw.trim();
        if id.is_empty() {
            Some(RowIdProblem::Empty)
        } else if id.chars().count() > Self::MAX_CHARS {
            Some(RowIdProblem::TooLong)
        } else if id.chars().any(char::is_control) {
            Some(RowIdProblem::ControlCharacter)
        } else {
            None
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a cell cannot be a [`RowId`]. Displays as the end of a sentence whose subject names the
/// place (`the id in column A` + `is empty`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowIdProblem {
    /// Nothing but spaces.
    Empty,
    /// More than [`RowId::MAX_CHARS`] characters.
    TooLong,
    /// A tab, newline or other control character.
    ControlCharacter,
}

impl fmt::Display for RowIdProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowIdProblem::Empty => f.write_str("is empty"),
            RowIdProblem::TooLong => {
                write!(f, "is longer than {} characters", RowId::MAX_CHARS)
            }
            RowIdProblem::ControlCharacter => {
                f.write_str("contains a control character (tab, newline…)")
            }
        }
    }
}

impl TryFrom<String> for RowId {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        RowId::parse(&value)
    }
}

impl From<RowId> for String {
    fn from(value: RowId) -> Self {
        value.0
    }
}

impl fmt::Display for RowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A spreadsheet's `spreadsheetId`: 1–128 characters of `A–Z a–z 0–9 - _`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SpreadsheetId(String);

impl SpreadsheetId {
    /// Parses a `spreadsheetId`.
    ///
    /// # Errors
    /// [`InvalidValue`] when empty, too long or containing other characters.
    pub fn parse(raw: &str) -> Result<SpreadsheetId, InvalidValue> {
        let ok = !raw.is_empty()
            && raw.len() <= 128
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if ok {
            Ok(SpreadsheetId(raw.to_owned()))
        } else {
            Err(InvalidValue(format!(
                "spreadsheet_id {raw:?} is not a spreadsheet id: use the id between /d/ and /edit in the sheet's URL"
            )))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SpreadsheetId {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        SpreadsheetId::parse(&value)
    }
}

impl From<SpreadsheetId> for String {
    fn from(value: SpreadsheetId) -> Self {
        value.0
    }
}

impl fmt::Display for SpreadsheetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One row to send to the model: its id (the batch line's `custom_id`) and its title.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowInput {
    /// Column A.
    pub id: RowId,
    /// Column B, trimmed, non-empty.
    pub title: String,
}

/// What the model writes for one row: the four columns C–F ([`OutputField`]), in sheet order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generated {
    /// Column C `year`: the year the event happened, e.g. `1945` (negative for BCE).
    pub year: String,
    /// Column D `content_simple`: one or two plain sentences.
    pub simple: String,
    /// Column E `content_detailed`: a detailed paragraph.
    pub detail: String,
    /// Column F `related_movies`: films about the event, comma-separated, or empty.
    pub related_movies: String,
}

impl Generated {
    /// The value of one output column.
    pub fn get(&self, field: OutputField) -> &str {
        match field {
            OutputField::Year => &self.year,
            OutputField::Simple => &self.simple,
            OutputField::Detail => &self.detail,
            OutputField::RelatedMovies => &self.related_movies,
        }
    }

    /// The values in column order C, D, E, F ([`OutputField::ALL`]).
    pub fn columns(&self) -> [&str; 4] {
        OutputField::ALL.map(|field| self.get(field))
    }
}

/// One error of a batch's validation (`errors.data[]` of the Batch object,
/// <https://platform.openai.com/docs/api-reference/batch/object>): which input line (1-based, when
/// it is about one line), OpenAI's code (e.g. `invalid_json_line`, `token_limit_exceeded`), its
/// message and the parameter concerned. Stored with the batch as it came, so decisions read the
/// `code` and the `line`, never the text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchError {
    /// The input file's line (1-based) the error is about, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// OpenAI's error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// OpenAI's message, for people.
    pub message: String,
    /// The request parameter concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
}

impl BatchError {
    /// True for the organization's enqueued-token limit (`token_limit_exceeded`): nothing ran and
    /// the same batch may be created again once the queue has drained.
    pub fn is_token_limit(&self) -> bool {
        self.code.as_deref() == Some("token_limit_exceeded")
    }
}

impl fmt::Display for BatchError {
    /// `line 3: invalid_json_line: … (param: custom_id)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        write!(
            f,
            "{}: {}",
            self.code.as_deref().unwrap_or("error"),
            self.message
        )?;
        if let Some(param) = &self.param {
            write!(f, " (param: {param})")?;
        }
        Ok(())
    }
}

/// One row of a grid as read: a sheet's (through the Sheets API) or an events file's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SheetRow {
    /// The row number in the grid, 1-based (in a file, the header is row 1).
    pub row_number: u32,
    /// The cells from column A, as displayed (`FORMATTED_VALUE`), padded with `""` to the number
    /// of columns read (8 for A–H at creation, 6 for A–F at write time).
    pub cells: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_ids_are_trimmed_and_refuse_empty_or_control_characters() {
        assert_eq!(RowId::parse(" 04-01 ").unwrap().as_str(), "04-01");
        assert!(RowId::parse("   ").is_err());
        assert!(RowId::parse("a\tb").is_err());
        assert!(RowId::parse(&"x".repeat(65)).is_err());
        assert!(RowId::parse(&"가".repeat(64)).is_ok());
    }

    #[test]
    fn spreadsheet_ids_accept_url_ids_only() {
        assert!(SpreadsheetId::parse("1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms").is_ok());
        assert!(SpreadsheetId::parse("../etc").is_err());
        assert!(SpreadsheetId::parse("").is_err());
    }
}
