//! The sheet a thread is about, as the assistant sees it: read with the service account (columns
//! A–F: `id`, `title`, `year`, `content_simple`, `content_detailed`, `related_movies`), only ever
//! from the thread's own spreadsheet and sheet; written as a CSV for the code interpreter (the
//! seed tutorial's way: "upload a CSV and let the code interpreter compute"), and looked up by id
//! or by title for the function tools.

use almanac_core::domain::{SheetRow, SpreadsheetId};
use almanac_core::output::HEADERS;
use almanac_protocol::RowSpan;
use serde_json::{Value, json};

use crate::chat::errors::ChatError;
use crate::spreadsheet::handles::Spreadsheets;
use crate::spreadsheet::read;

/// The header of the CSV, the names of columns A–F: `id`, `title`, then the output columns'
/// headers.
pub const COLUMNS: [&str; 6] = [
    "id", "title", HEADERS[0], HEADERS[1], HEADERS[2], HEADERS[3],
];

/// Most rows one `search_titles` call returns.
pub const MAX_SEARCH_ROWS: usize = 20;
/// Most ids one `get_rows` call reads.
pub const MAX_IDS: usize = 50;

/// A sheet's rows A–F (the header row left out), as read at the start of a turn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SheetData {
    /// The sheet's title.
    pub title: String,
    /// Its data rows, each with 6 cells.
    pub rows: Vec<SheetRow>,
}

/// Reads the sheet by `sheetId` in one `values.batchGetByDataFilter` — of A–F when `spans` is
/// empty, of the spans' rows otherwise — whose answer also names the sheet's title; a transient
/// failure is tried again for a few seconds (a person is waiting: `spreadsheet::read`).
///
/// # Errors
/// [`ChatError::Access`] with [`SheetNotFound`](crate::spreadsheet::SpreadsheetError::SheetNotFound)
/// (the service account cannot see it) or
/// [`Unavailable`](crate::spreadsheet::SpreadsheetError::Unavailable) (Sheets is not answering).
pub async fn read(
    sp: &Spreadsheets,
    spreadsheet: &SpreadsheetId,
    sheet_id: i32,
    spans: &[RowSpan],
) -> Result<SheetData, ChatError> {
    const WHAT: &str = "reading the sheet for a chat turn";
    let read = if spans.is_empty() {
        read::whole_sheet(sp, WHAT, spreadsheet, sheet_id).await?
    } else {
        read::rows(sp, WHAT, spreadsheet, sheet_id, spans).await?
    };
    let rows = read
        .rows
        .into_iter()
        .filter(|row| !is_header(row) && row.cells.iter().any(|c| !c.trim().is_empty()))
        .map(|mut row| {
            row.cells.resize(COLUMNS.len(), String::new());
            row
        })
        .collect();
    let title = if read.title.is_empty() {
        format!("Sheet {sheet_id}")
    } else {
        read.title
    };
    Ok(SheetData { title, rows })
}

/// The header row: A and B read `id` and `title` (the rule of job selection).
fn is_header(row: &SheetRow) -> bool {
    let cell = |i: usize| row.cells.get(i).map(|c| c.trim().to_lowercase());
    cell(0).as_deref() == Some("id") && cell(1).as_deref() == Some("title")
}

impl SheetData {
    /// The rows as CSV (RFC 4180, UTF-8): the header [`COLUMNS`], then one record per row.
    pub fn csv(&self) -> Vec<u8> {
        let mut out = csv::Writer::from_writer(Vec::new());
        let _ = out.write_record(COLUMNS);
        for row in &self.rows {
            let _ = out.write_record(&row.cells);
        }
        out.into_inner().unwrap_or_default()
    }

    /// A file name for the CSV: the sheet's title with anything but letters, digits, `-` and `_`
    /// replaced by `_`, then `.csv`.
    pub fn csv_name(&self) -> String {
        let stem: String = self
            .title
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(60)
            .collect();
        format!("{}.csv", if stem.is_empty() { "sheet" } else { &stem })
    }

    /// `get_rows`: the rows whose id (column A) is one of `ids` (at most [`MAX_IDS`]), and the
    /// ids not found: `{"rows": [...], "not_found": [...]}`.
    pub fn rows_by_id(&self, ids: &[String]) -> Value {
        let ids: Vec<&str> = ids.iter().map(|i| i.trim()).take(MAX_IDS).collect();
        let rows: Vec<Value> = self
            .rows
            .iter()
            .filter(|r| ids.contains(&r.cells[0].trim()))
            .map(row_json)
            .collect();
        let not_found: Vec<&str> = ids
            .iter()
            .filter(|id| !self.rows.iter().any(|r| r.cells[0].trim() == **id))
            .copied()
            .collect();
        json!({"rows": rows, "not_found": not_found})
    }

    /// `search_titles`: rows whose title (column B) contains `query`, ignoring case, at most
    /// [`MAX_SEARCH_ROWS`]: `{"rows": [...], "more": bool}`.
    pub fn search(&self, query: &str) -> Value {
        let needle = query.trim().to_lowercase();
        let mut hits = self
            .rows
            .iter()
            .filter(|r| !needle.is_empty() && r.cells[1].to_lowercase().contains(&needle));
        let rows: Vec<Value> = hits.by_ref().take(MAX_SEARCH_ROWS).map(row_json).collect();
        json!({"rows": rows, "more": hits.next().is_some()})
    }
}

/// A row as the tools answer it: its row number and its six named cells.
fn row_json(row: &SheetRow) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("row".into(), json!(row.row_number));
    for (name, cell) in COLUMNS.iter().zip(&row.cells) {
        object.insert((*name).into(), json!(cell));
    }
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> SheetData {
        let row = |n: u32, cells: &[&str]| SheetRow {
            row_number: n,
            cells: cells.iter().map(|c| c.to_string()).collect(),
        };
        SheetData {
            title: "Events 1945/46".into(),
            rows: vec![
                row(2, &["08-15", "Liberation Day", "1945", "", "", ""]),
                row(
                    3,
                    &["03-01", "March 1st Movement, Seoul", "1919", "", "", ""],
                ),
            ],
        }
    }

    #[test]
    fn the_csv_has_the_named_columns_and_quotes_commas() {
        let csv = String::from_utf8(data().csv()).unwrap();
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("id,title,year,content_simple,content_detailed,related_movies")
        );
        assert_eq!(lines.next(), Some("08-15,Liberation Day,1945,,,"));
        assert_eq!(
            lines.next(),
            Some("03-01,\"March 1st Movement, Seoul\",1919,,,")
        );
        assert_eq!(data().csv_name(), "Events_1945_46.csv");
    }

    #[test]
    fn rows_are_found_by_id_and_by_title_and_missing_ids_are_named() {
        let found = data().rows_by_id(&["08-15".into(), "12-25".into()]);
        assert_eq!(found["rows"][0]["title"], "Liberation Day");
        assert_eq!(found["rows"][0]["row"], 2);
        assert_eq!(found["not_found"], json!(["12-25"]));
        let hits = data().search("seoul");
        assert_eq!(hits["rows"][0]["id"], "03-01");
        assert_eq!(hits["more"], false);
        assert_eq!(data().search("  ")["rows"], json!([]));
    }
}
