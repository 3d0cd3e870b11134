//! The records of a spreadsheet as the emulator stores it: a [`Spreadsheet`] (title, sheets in
//! tab order, developer metadata), each [`Sheet`] (`sheetId`, title, grid size) and its
//! [`Cell`]s (text, and whether it was entered as a formula), with the reads and writes of cells
//! that the Sheets routes and the [`Emulator`](crate::Emulator) build on.

use crate::google::a1::Rect;
use crate::google::devmeta::DeveloperMetadata;

/// Default grid of a new sheet in Google Sheets: 1000 rows × 26 columns (`A1:Z1000`).
pub const DEFAULT_ROWS: u32 = 1000;
/// See [`DEFAULT_ROWS`].
pub const DEFAULT_COLS: u32 = 26;

/// One spreadsheet: a title, its sheets in tab order and its developer metadata.
#[derive(Clone, Debug, Default)]
pub struct Spreadsheet {
    /// `spreadsheetId`.
    pub id: String,
    /// `properties.title`.
    pub title: String,
    /// Sheets (tabs) in `index` order.
    pub sheets: Vec<Sheet>,
    /// Developer metadata of the spreadsheet and its sheets, in creation order.
    pub developer_metadata: Vec<DeveloperMetadata>,
}

impl Spreadsheet {
    /// The sheet whose `sheetId` is `sheet_id`.
    pub fn sheet(&self, sheet_id: i32) -> Option<&Sheet> {
        self.sheets.iter().find(|s| s.sheet_id == sheet_id)
    }
    /// Mutable [`Spreadsheet::sheet`].
    pub fn sheet_mut(&mut self, sheet_id: i32) -> Option<&mut Sheet> {
        self.sheets.iter_mut().find(|s| s.sheet_id == sheet_id)
    }
    /// The index of the sheet whose `sheetId` is `sheet_id`.
    pub fn sheet_index(&self, sheet_id: i32) -> Option<usize> {
        self.sheets.iter().position(|s| s.sheet_id == sheet_id)
    }
    /// The sheet with this exact title (Sheets titles are matched exactly, case-sensitively here).
    pub fn sheet_index_by_title(&self, title: &str) -> Option<usize> {
        self.sheets.iter().position(|s| s.title == title)
    }
}

/// One cell: its text and whether it was entered as a formula.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    /// The text as stored (a formula keeps its leading `=`).
    pub value: String,
    /// True when written with `USER_ENTERED` (or typed) and starting with `=`.
    pub is_formula: bool,
}

/// One sheet (tab) with a grid size and sparse-ish cell storage.
#[derive(Clone, Debug)]
pub struct Sheet {
    /// `properties.sheetId`.
    pub sheet_id: i32,
    /// `properties.title`.
    pub title: String,
    /// `gridProperties.rowCount`.
    pub row_count: u32,
    /// `gridProperties.columnCount`.
    pub col_count: u32,
    /// Rows of cells; rows and cells beyond the vectors are empty.
    pub cells: Vec<Vec<Cell>>,
}

impl Sheet {
    /// A sheet holding `rows`, with a grid of at least 1000 × 26 (Google's default for a new sheet),
    /// grown to fit the data.
    pub fn new(sheet_id: i32, title: &str, rows: Vec<Vec<String>>) -> Sheet {
        let widest = rows.iter().map(Vec::len).max().unwrap_or(0) as u32;
        let cells = rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|value| Cell {
                        is_formula: value.starts_with('='),
                        value,
                    })
                    .collect()
            })
            .collect::<Vec<Vec<Cell>>>();
        Sheet {
            sheet_id,
            title: title.to_string(),
            row_count: DEFAULT_ROWS.max(cells.len() as u32),
            col_count: DEFAULT_COLS.max(widest),
            cells,
        }
    }

    /// The cell at 0-based `row`, `col` (empty when never written).
    pub fn cell(&self, row: usize, col: usize) -> Option<&Cell> {
        self.cells.get(row).and_then(|r| r.get(col))
    }

    /// Writes one cell; an empty value clears it. Storage grows as needed (the grid size is the
    /// caller's concern).
    pub fn set(&mut self, row: usize, col: usize, value: String, is_formula: bool) {
        if value.is_empty() {
            if let Some(cell) = self.cells.get_mut(row).and_then(|r| r.get_mut(col)) {
                *cell = Cell::default();
            }
            return;
        }
        if self.cells.len() <= row {
            self.cells.resize_with(row + 1, Vec::new);
        }
        let cells = &mut self.cells[row];
        if cells.len() <= col {
            cells.resize_with(col + 1, Cell::default);
        }
        cells[col] = Cell { value, is_formula };
    }

    /// The values of `rect` as the API returns them: each row with trailing empty cells removed,
    /// then trailing empty rows removed (inner empty rows stay as `[]`).
    pub fn read(&self, rect: Rect) -> Vec<Vec<String>> {
        let mut rows: Vec<Vec<String>> = (rect.r1..=rect.r2)
            .map(|r| {
                let mut row: Vec<String> = (rect.c1..=rect.c2)
                    .map(|c| {
                        self.cell(r as usize, c as usize)
                            .map(|cell| cell.value.clone())
                            .unwrap_or_default()
                    })
                    .collect();
                while row.last().is_some_and(String::is_empty) {
                    row.pop();
                }
                row
            })
            .collect();
        while rows.last().is_some_and(Vec::is_empty) {
            rows.pop();
        }
        rows
    }

    /// Every stored value, trimmed like [`Sheet::read`] over the whole grid.
    pub fn trimmed_rows(&self) -> Vec<Vec<String>> {
        let mut rows: Vec<Vec<String>> = self
            .cells
            .iter()
            .map(|row| {
                let mut values: Vec<String> = row.iter().map(|c| c.value.clone()).collect();
                while values.last().is_some_and(String::is_empty) {
                    values.pop();
                }
                values
            })
            .collect();
        while rows.last().is_some_and(Vec::is_empty) {
            rows.pop();
        }
        rows
    }
}
