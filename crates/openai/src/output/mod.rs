//! The batch output and error files: one JSON line per request, turned into a row's outcome.
//!
//! A line is `{"id", "custom_id", "response": {"status_code", "request_id", "body"} | null,
//! "error": {"code", "message"} | null}` (<https://platform.openai.com/docs/api-reference/batch/request-output>,
//! <https://platform.openai.com/docs/guides/batch>). Lines come in any order: match them by
//! `custom_id`, never by position. A line reports exactly one of:
//!
//! - a Chat Completions answer (`status_code` 200): `choices[0].message.content` must be the JSON
//!   object of [`almanac_core::prompt::response_format`] → [`Generated`](almanac_core::domain::Generated);
//! - an HTTP-level failure of that one request (`status_code` ≠ 200, `body.error`);
//! - a request that never ran (`error`, e.g. `batch_expired`, `batch_cancelled`), from the error file.
//!
//! Everything wrong with one row lands in that row's [`ParsedLine::outcome`]; a [`LineError`] is only
//! for a line that does not even say which row it is about.
//!
//! - `row`: what a line says of its row ([`ParsedLine`], [`RowError`], [`Usage`]) or [`LineError`];
//! - `line`: the one model of a line, read the fast way or as a `Value`, and its row's outcome
//!   ([`parse_line_and_model`], [`parse_completion`] for a realtime answer);
//! - `content`: the model's answer into the four columns ([`parse_content`]);
//! - `file`: whole files and files in chunks ([`parse_file`], [`LineSplitter`],
//!   [`collect_results`]);
//! - `json`: the `serde` helpers of the fast readings.

mod content;
mod file;
mod json;
mod line;
mod row;

pub use content::parse_content;
pub use file::{BatchResults, LineSplitter, collect_results, parse_file, parse_numbered};
pub use line::{parse_completion, parse_line_and_model};
pub use row::{LineError, ParsedLine, RowError, Usage};

#[cfg(test)]
mod tests;
