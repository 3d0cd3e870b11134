//! The crate's vocabulary: [`FileError`] (a problem at `path:line`), the [`Format`] of an events
//! file and one [`FileRow`] of it. The output columns' headers are `almanac_core::output`'s.

use std::path::{Path, PathBuf};

use almanac_core::domain::SheetRow;

/// Why a file cannot be used. Displays as `path:line: problem` (or `path: problem` when the problem
/// is not on one line), the way compilers report errors.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line the problem is on, when there is one.
    pub line: Option<u64>,
    /// What is wrong and what to do.
    pub message: String,
}

pub(crate) fn err(path: &Path, line: Option<u64>, message: impl Into<String>) -> FileError {
    FileError {
        path: path.to_owned(),
        line,
        message: message.into(),
    }
}

/// The format of an events file, chosen by its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `.csv`: RFC 4180, a header row first.
    Csv,
    /// `.json`: the seed workflow's shape.
    Json,
}

impl Format {
    /// The format named by the path's extension (`.csv` or `.json`, any case).
    ///
    /// # Errors
    /// [`FileError`] for another extension.
    pub fn from_path(path: &Path) -> Result<Format, FileError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Ok(Format::Csv),
            Some("json") => Ok(Format::Json),
            _ => Err(err(
                path,
                None,
                "cannot tell the file's format from its name: use a .csv or .json file",
            )),
        }
    }

    /// `csv` or `json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }
}

/// One row (CSV record or JSON entry) of an events file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRow {
    /// 0-based position among the data rows (the header is not counted).
    pub index: usize,
    /// 1-based line the row starts on.
    pub line: u64,
    /// The `id` value, trimmed.
    pub id: String,
    /// The `title` value, trimmed.
    pub title: String,
    /// Current `year`, `content_simple`, `content_detailed`, `related_movies` (`""` when absent),
    /// in `almanac_core::output::OutputField::ALL`'s order.
    pub outputs: [String; 4],
}

impl FileRow {
    /// The row as a sheet row (A id, B title, C–F outputs), numbered by its line, for the same
    /// selection rules as the sheet flow.
    pub fn as_sheet_row(&self) -> SheetRow {
        let mut cells = vec![self.id.clone(), self.title.clone()];
        cells.extend(self.outputs.iter().cloned());
        SheetRow {
            row_number: u32::try_from(self.line).unwrap_or(u32::MAX),
            cells,
        }
    }
}

/// An ordered JSON object: fields in file order.
pub(crate) type Fields = Vec<(String, serde_json::Value)>;
