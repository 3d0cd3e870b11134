//! Google Sheets (crate `almanac-sheets`, depending only on `almanac-core`): the only crate that knows the Sheets wire format (A1 ranges, `ValueRange`s,
//! the API's error bodies). The rest of the backend speaks in [`SheetRow`]s, [`CellBlock`]s and
//! [`SheetsError`]s.
//!
//! - [`a1`]: A1 notation — quoting sheet titles as the API does, building and parsing ranges.
//! - [`plan`]: the pure rules of a write (find rows by id now, never overwrite a filled cell unless
//!   asked, report missing/duplicated ids) turning results into [`CellBlock`]s.
//! - [`layout`]: which column holds what.
//! - [`grid`]: [`GridRange`], cells by `sheetId` and 0-based indexes, as `DataFilter`s take them.
//! - [`client`]: [`SheetsClient`], google-sheets4 + a yup-oauth2 service account (key file or
//!   metadata server): `values.batchGetByDataFilter` to read, `values.batchUpdateByDataFilter`
//!   (`valueInputOption=RAW`) to write, both by `sheetId`; `spreadsheets.batchUpdate` to take an
//!   access proof written as developer metadata.
//! - [`error`]: [`SheetsError`], from Google's error body parsed into typed status and reason.
//!
//! The sheet's layout: A `id`, B `title` (filled by people); C `year`, D `content_simple`,
//! E `content_detailed`, F `related_movies` (filled by the model); G `imageUrl`, H `relatedMovieId`
//! (read, never written).

#![warn(missing_docs)]

pub mod a1;
pub mod client;
mod connect;
pub mod error;
pub mod grid;
pub mod layout;
pub mod plan;
mod values;
mod write_body;

pub use almanac_core::domain::SheetRow;
pub use client::{SheetRead, SheetsClient, WriteReport};
pub use connect::METADATA_TOKEN_URL;
pub use error::SheetsError;
pub use grid::GridRange;
pub use layout::{
    FIRST_OUTPUT_COL, ID_COL, LAST_OUTPUT_COL, LAST_READ_COL, OUTPUT_COLS, TITLE_COL,
};
pub use plan::{
    CellBlock, PlannedRow, SheetIndex, WritePlan, WriteProblem, filled_columns, keep_write_columns,
    plan_with_index, plan_writes,
};
pub use write_body::{WRITE_REQUEST_MAX_BYTES, WriteGroup, answer_write_bytes};
