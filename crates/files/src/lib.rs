//! Event files on disk — the command line's stand-in for a sheet: a CSV file with a header row
//! (`id,title,year,content_simple,content_detailed,related_movies,…`) or the seed workflow's
//! `historical_events.json` (an object keyed by id, or an array of objects, each with `id` and
//! `title`). This crate (`almanac-files`, depending only on `almanac-core`) reads them with strict
//! checks (encoding, CSV shape, headers, unique ids), lists their rows, merges generated answers
//! into the four output columns while keeping every other column or field as it was, and writes
//! the result atomically (a temporary file in the same folder, then a rename), so a reader never
//! sees half a file.
//!
//! - [`read_rows`] (`scan`) reads a file as a stream, one row at a time, in constant memory,
//!   with every check of the whole-file reader (`ids` keeps unique ids in a fixed-size filter);
//! - [`EventsFile`] (`events`) holds a whole file for the merge and the rewrite, read by the
//!   same scanner;
//! - [`AtomicFile`] and [`write_atomic`] (`atomic`) write a file in place of another, streamed or
//!   at once;
//! - [`CsvCells`] (`formula`): cells a spreadsheet program would run as a formula (`=`, `+`,
//!   `-`, `@`, tab, carriage return) written with a leading `'` (OWASP's CSV-injection rule),
//!   unless raw cells are asked for;
//! - `types`: [`FileError`] (`path:line: problem`), [`Format`], [`FileRow`]; the output columns'
//!   headers are `almanac_core::output::HEADERS`.
//!
//! CSV is parsed and written with the `csv` crate (RFC 4180 quoting); JSON with `serde_json`,
//! keeping the order of entries and fields.

#![warn(missing_docs)]

mod atomic;
mod events;
mod formula;
mod ids;
mod json;
mod scan;
mod source;
mod types;

pub use atomic::{AtomicFile, write_atomic};
pub use events::{EventsFile, MergeReport};
pub use formula::{CsvCells, escape_formula};
pub use scan::{RowsRead, read_rows};
pub use types::{FileError, FileRow, Format};
