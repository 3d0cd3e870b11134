//! Almanac's backend: it reads the selected rows of a Google Sheet, sends them to the OpenAI Batch
//! API, and writes the model's answers into columns C–F when the batch completes.
//!
//! One module per outside party or concern, so that a reader knows where a line belongs:
//!
//! - [`domain`]: typed values (`RowId`, `SpreadsheetId`, `Generated`) used everywhere.
//! - [`prompt`]: the shared system prompt and the strict JSON schema of an answer.
//! - [`pricing`]: the model catalogue (a data file shipped with the server) and cost estimates.
//! - [`openai`]: the only module that knows the OpenAI wire formats (JSONL lines, Files, Batches).
//! - [`sheets`]: the only module that knows the Sheets wire format (A1 ranges, `ValueRange`s).
//! - [`files`]: CSV and seed-JSON event files for the command line (strict reading, atomic writing).
//! - [`store`]: jobs, rows and batches in SQL (SQLite by default) with migrations.
//! - [`jobs`]: the job state machine and the worker that drives it.
//! - [`auth`]: who is calling — Google ID tokens verified against Google's published keys.
//! - [`api`]: the HTTP surface (`/api/v1`), the only module that speaks HTTP to the sidebar.
//! - [`web`]: the sidebar's bundle at `/sidebar/`.
//! - [`dev`]: the demo's `/dev/sheet` page (an emulated sheet beside the real sidebar).
//! - [`config`]: settings from the environment and `.env`.
//! - [`metrics`]: Prometheus metrics at `/metrics` (jobs by state, rows, outside calls).
//! - [`app`]: wiring: builds the store, clients, worker and router into a running server.
//! - [`cli`]: the `almanac` command line (`serve`, `demo`, `run`, `batch …`, `sheet …`).

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod dev;
pub mod domain;
pub mod files;
pub mod jobs;
pub mod metrics;
pub mod openai;
pub mod pricing;
pub mod prompt;
pub mod sheets;
pub mod store;
pub mod web;
