//! Google Sheets: the only module that knows the Sheets wire format (A1 ranges, `ValueRange`s,
//! the API's error bodies). The rest of the backend speaks in [`SheetRow`]s, [`CellBlock`]s and
//! [`SheetsError`]s.
//!
//! - [`a1`]: A1 notation — quoting sheet titles as the API does, building and parsing ranges.
//! - [`plan`]: the pure rules of a write (find rows by id now, never overwrite a filled cell unless
//!   asked, report missing/duplicated ids) turning results into [`CellBlock`]s.
//! - [`client`]: [`SheetsClient`], google-sheets4 + a yup-oauth2 service account: one
//!   `spreadsheets.get` for the title, one `values.batchGet` to read, one `values.batchUpdate`
//!   (`valueInputOption=RAW`) to write.
//!
//! The sheet's layout: A `id`, B `title` (filled by people); C `year`, D `content_simple`,
//! E `content_detailed`, F `related_movies` (filled by the model); G `imageUrl`, H `relatedMovieId`
//! (read, never written).

pub mod a1;
pub mod client;
pub mod plan;

pub use client::{SheetRow, SheetsClient, SheetsError, UserAccessError, WriteReport};
pub use plan::{CellBlock, PlannedRow, WritePlan, WriteProblem, filled_columns, plan_writes};

/// Column A (0-based index): the row's id.
pub const ID_COL: u32 = 0;
/// Column B (0-based index): the event's title.
pub const TITLE_COL: u32 = 1;
/// Column C (0-based index): the first column the model fills (`year`).
pub const FIRST_OUTPUT_COL: u32 = 2;
/// Column F (0-based index): the last column the model fills (`related_movies`).
pub const LAST_OUTPUT_COL: u32 = 5;
/// How many columns the model fills: C, D, E, F.
pub const OUTPUT_COLS: usize = (LAST_OUTPUT_COL - FIRST_OUTPUT_COL + 1) as usize;
/// Column H (0-based index): the last column read at submission (G `imageUrl`, H `relatedMovieId`
/// are read so that callers can see them, and never written).
pub const LAST_READ_COL: u32 = 7;
