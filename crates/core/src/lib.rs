//! Almanac's core: the domain every other crate speaks, with no wire format, database or HTTP in
//! it. The crates above depend on this one and on nothing beside each other:
//! `almanac-openai`, `almanac-sheets`, `almanac-store`, `almanac-files` → `almanac-core`.
//!
//! - [`domain`]: typed values that cannot be invalid (`RowId`, `SpreadsheetId`), a row to send
//!   (`RowInput`), a row as read from a grid (`SheetRow`), and the model's answer (`Generated`).
//! - [`ids`]: the ids of jobs, chat threads and runs, and a provider's batch ids (`JobId`,
//!   `ThreadId`, `RunId`, `BatchId`), each its own type.
//! - [`state`]: the typed states of a job, a batch and a row, and why a row failed
//!   (`JobStatus`, `BatchState`, `RowState`, `FailureCode`).
//! - [`output`]: the four output columns C–F (`OutputField`), one table of their names: sheet
//!   column, header (`content_simple`), the answer's field (`simple`), the schema's description.
//! - [`prompt`]: the one system prompt shared by every request and the strict JSON schema of an
//!   answer.
//! - [`catalog`]: the model catalogue (a data file embedded in the binary) with nearest-model
//!   suggestions.
//! - [`cost`]: prices, the estimate of a job from its counted requests, and the one cap check.
//! - [`calls`]: how the clients of outside services report each HTTP attempt (for metrics),
//!   without knowing who listens.

pub mod calls;
pub mod catalog;
pub mod cost;
pub mod domain;
pub mod ids;
pub mod output;
#[cfg(test)]
mod prices;
pub mod prompt;
pub mod state;
