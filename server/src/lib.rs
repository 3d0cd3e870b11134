//! Almanac's backend (crate `almanac-server`, library `almanac`): it reads the selected rows of a
//! Google Sheet, sends them to the OpenAI Batch API (or as realtime calls), and writes the model's
//! answers into columns C–F. This is the only crate that knows all the others; below it, each
//! outside party has its own crate, and they all depend only on `almanac-core`:
//!
//! ```text
//! api ──▶ chat ──┐
//! api, cli ──▶ jobs ──┴─▶ spreadsheet (access proof, budget, admission, sheet reads)
//! all of them ──▶ almanac-openai, almanac-sheets, almanac-store, almanac-files ──▶ almanac-core
//! ```
//!
//! - [`jobs`]: a job's life — `JobService` (create, read, cancel, retry), the queue that steps
//!   every unfinished job, the batch steps, realtime runs and their pacer, and where a job's
//!   answers go (a sheet or a file).
//! - [`chat`]: "Ask about the sheet" — threads, messages and runs over the sheet's data on the
//!   Conversations and Responses APIs (code interpreter and function tools), in the same
//!   spreadsheet budget as jobs.
//! - [`spreadsheet`]: what jobs and chat share of a spreadsheet — the access proof, the monthly
//!   budget and admission, the service account's reads a person waits for; neither of them
//!   imports the other.
//! - [`auth`]: who is calling — Google ID tokens verified against Google's published keys.
//! - [`api`]: the HTTP surface (`/api/v1`), the only module that speaks HTTP to the sidebar.
//! - [`web`]: the sidebar's bundle at `/sidebar/`.
//! - [`headers`]: security headers on every response (CSP, `nosniff`, `no-referrer`, `no-store`).
//! - [`config`]: settings from flags, the environment and `.env`.
//! - [`doctor`]: set-up checks of a deployment, for `almanac doctor` and
//!   `GET /api/v1/health?deep=true`.
//! - [`metrics`]: Prometheus metrics at `/metrics`, on an address of their own (jobs by state, rows,
//!   outside calls).
//! - [`listen`]: the HTTP server loop: connection cap, header-read and idle timeouts.
//! - [`logs`]: the one tracing subscriber, which drops what the OAuth, HTTP and TLS crates log
//!   with credentials whatever `RUST_LOG` says.
//! - [`app`]: wiring: builds the store, clients, worker and router into a running server.
//! - [`cli`]: the `almanac` command line (`serve`, `run`, `batch …`, `sheet …`, and `demo` when
//!   built with the default `demo` feature).

#![warn(missing_docs)]

pub mod api;
pub mod app;
pub mod auth;
pub mod chat;
pub mod cli;
pub mod config;
pub mod doctor;
pub(crate) mod headers;
pub mod jobs;
pub(crate) mod listen;
pub mod logs;
pub(crate) mod metrics;
pub(crate) mod spreadsheet;
pub(crate) mod web;
