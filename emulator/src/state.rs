//! The emulator's in-memory world, shared by the HTTP handlers, the batch ticker and the
//! [`Emulator`](crate::Emulator) control methods: spreadsheets and their cells, uploaded and
//! generated files, batches, conversations, responses and code interpreter containers, issued
//! OAuth tokens, injected faults and call counters.
//!
//! The records it holds are defined in the modules below it ([`crate::openai::files`],
//! [`crate::openai::batch`], [`crate::openai::conversation`], [`crate::openai::response`],
//! [`crate::openai::container`], [`crate::google::keys`], [`crate::faults`], [`crate::counts`],
//! [`crate::config`]), which never use this module; the handlers and the
//! [`Emulator`](crate::Emulator) use it.
//!
//! Everything sits behind one `std::sync::Mutex`; no lock is held across an `.await`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use crate::config::{EmulatorConfig, ResponsesConfig};
use crate::counts::{CallCounts, ResponseStats};
use crate::faults::{Armed, Faults};
use crate::google::a1::Rect;
use crate::google::devmeta::DeveloperMetadata;
use crate::google::keys::KeyRing;
use crate::openai::batch::BatchJob;
use crate::openai::container::Container;
use crate::openai::conversation::Conversation;
pub use crate::openai::files::StoredFile;
use crate::openai::ratelimit::Limiter;
use crate::openai::response::StoredResponse;

/// Default grid of a new sheet in Google Sheets: 1000 rows × 26 columns (`A1:Z1000`).
pub const DEFAULT_ROWS: u32 = 1000;
/// See [`DEFAULT_ROWS`].
pub const DEFAULT_COLS: u32 = 26;

/// State reachable from every handler.
pub struct Shared {
    /// Timing of the batch ticker.
    pub config: EmulatorConfig,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base_url: String,
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new(config: EmulatorConfig, base_url: String) -> Shared {
        Shared {
            config,
            base_url,
            state: Mutex::new(State::default()),
        }
    }

    /// Locks the world. A panic in another holder does not poison it for the rest of a test run.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `base_url + "/token"`.
    pub fn token_uri(&self) -> String {
        format!("{}/token", self.base_url)
    }
}

/// Everything the emulator knows.
#[derive(Default)]
pub struct State {
    /// Spreadsheets by `spreadsheetId`.
    pub spreadsheets: BTreeMap<String, Spreadsheet>,
    /// Files by id (`file-…`).
    pub files: HashMap<String, StoredFile>,
    /// Batches in creation order (listing shows them newest first).
    pub batches: Vec<BatchJob>,
    /// Access tokens issued by `POST /token` (service account) and to users.
    pub tokens: HashMap<String, IssuedToken>,
    /// Spreadsheet id → email of each account it is shared with (users and service accounts) →
    /// its role.
    pub shares: HashMap<String, BTreeMap<String, Role>>,
    /// The ID-token signing keys in use.
    pub keys: KeyRing,
    /// Injected failures.
    pub faults: Faults,
    /// While true, `in_progress` batches do not advance.
    pub hold: bool,
    /// Requests received per endpoint.
    pub calls: CallCounts,
    /// `(spreadsheetId, sheetId, row, col)` (0-based, at write time) → times written.
    pub cell_writes: HashMap<(String, i32, usize, usize), u32>,
    /// Responses to hold, armed by [`Emulator::hold_next`](crate::Emulator::hold_next).
    pub holds: Vec<Armed>,
    /// RPM/TPM limits of the chat endpoint, when set.
    pub chat_limiter: Option<Limiter>,
    /// Conversations by id (`conv_…`).
    pub conversations: HashMap<String, Conversation>,
    /// Responses by id (`resp_…`), including unstored ones while they run.
    pub responses: HashMap<String, StoredResponse>,
    /// Code interpreter containers by id (`cntr_…`).
    pub containers: HashMap<String, Container>,
    /// Counters of the Conversations and Responses routes.
    pub response_stats: ResponseStats,
    /// Timing of background and streamed responses.
    pub responses_config: ResponsesConfig,
    /// While true, background responses do not advance.
    pub responses_hold: bool,
    /// RPM/TPM limits of `POST /v1/responses`, when set.
    pub responses_limiter: Option<Limiter>,
}

/// What a person or service account may do with a spreadsheet shared with them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Viewer (or commenter): may read, not change.
    Reader,
    /// Editor: may read and change, and add developer metadata.
    Writer,
}

/// An access token handed out by the token endpoint.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    /// When it stops being accepted (3599 s after issue).
    pub expires: Instant,
    /// Space-separated scopes of the assertion, split.
    pub scopes: Vec<String>,
    /// The account the token acts as: a user's email, or the service account's
    /// (`client_email`); it reaches the spreadsheets shared with that account.
    pub user: String,
}

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
