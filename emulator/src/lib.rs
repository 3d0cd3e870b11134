//! A local stand-in, on `127.0.0.1`, for the OpenAI and Google servers this machine cannot reach,
//! so that the real client crates (async-openai, google-sheets4, yup-oauth2) run their real code
//! paths against it in the demo and in tests. One axum server on one port ([`server`]) serves:
//!
//! - OpenAI under `/v1` ([`openai`]): Files, Batches and Chat Completions; Conversations,
//!   Responses (background and streamed, function tools) and code interpreter containers — the
//!   successors of the Assistants API; with RPM/TPM limits and token counts;
//! - Google ([`google`]): Sheets v4 under `/v4/spreadsheets/` (values by A1 and by DataFilter,
//!   spreadsheet methods, developer metadata; each method's scopes and the sharing of each
//!   spreadsheet enforced), what Apps Script's `SpreadsheetApp` does for a person, the OAuth token
//!   endpoint `POST /token` for service accounts, the metadata server's token endpoint for
//!   Application Default Credentials, and the ID-token keys `GET /oauth2/v3/certs` (a JWKS) with
//!   a signer of ID tokens and user access tokens that reach only the spreadsheets shared with
//!   their user.
//!
//! What both sides share sits at the top: the timing knobs ([`config`]), the in-memory world
//! ([`state`]), injected faults ([`faults`], applied to live calls by [`inject`]), holds
//! ([`holds`]), counters ([`counts`]), small helpers ([`util`]) and the running server with its
//! ticker ([`server`]).
//!
//! Tests steer it: [`Faults`] (per-row answers, expiry, the enqueued-token limit, invalid lines,
//! and [`faults`]' call faults — 429 / 5xx / cut connections for OpenAI or Sheets — and response
//! faults: mid-stream errors, cut streams, failed or incomplete responses),
//! [`Emulator::hold_batches`], [`Emulator::hold_next`] (stop one response after its effect, to
//! kill a client at that moment), [`Emulator::cell_writes`] (how often each cell was written),
//! [`Emulator::set_responses_config`] (background timing, per-event stream delay and
//! time-to-first-token), [`Emulator::hold_responses`] and [`Emulator::response_stats`].
//!
//! Wire formats follow the published references kept in `fixtures/reference/` (OpenAPI
//! excerpts, the Batch guide's examples, recorded validation errors and recorded Sheets traffic)
//! and `fixtures/reference/openai-responses/` (the Conversations and Responses OpenAPI excerpt).
//! Generated content says plainly that it is emulated.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use almanac_emulator::{Emulator, EmulatorConfig};
//! let emulator = Emulator::start(EmulatorConfig::default()).await?;
//! emulator.add_sheet("demo-spreadsheet", 0, "Events", vec![vec!["id".into(), "title".into()]]);
//! println!("OpenAI base: {}", emulator.openai_base_url());
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod config;
pub mod counts;
pub mod faults;
pub mod google;
pub mod holds;
pub mod inject;
pub mod openai;
pub mod server;
pub mod state;
pub mod util;

pub use crate::config::{EmulatorConfig, ResponsesConfig};
pub use crate::counts::{CallCounts, ResponseStats};
pub use crate::faults::{
    CallFault, CallFaultKind, FaultTarget, Faults, HoldPoint, ResponseFault, ResponseFaultKind,
    RowFault,
};
pub use crate::google::access::Role;
pub use crate::google::devmeta::DeveloperMetadata;
pub use crate::holds::Hold;
pub use crate::openai::response::ResponseStatus;
pub use crate::server::{Emulator, router};

// The modules callers name by their old, flat paths (`almanac_emulator::identity::CLIENT_ID`,
// `almanac_emulator::ratelimit::ChatLimits`, …).
pub use crate::google::{identity, oauth, scopes};
pub use crate::openai::{generate, ratelimit};

/// Korean sample sheet (16 events, header `id,title,year,content_simple,content_detailed,
/// related_movies,imageUrl,relatedMovieId`), for demos and tests: `fixtures/sheets/` at the
/// workspace's root.
pub const SAMPLE_KO_CSV: &str = include_str!("../../fixtures/sheets/historical_events.ko.csv");
/// English sample sheet (348 events, same header).
pub const SAMPLE_EN_CSV: &str = include_str!("../../fixtures/sheets/history_en.csv");
/// The Korean sample as the seed workflow's `historical_events.json` (an object keyed by id).
pub const SAMPLE_KO_JSON: &str = include_str!("../../fixtures/sheets/historical_events.ko.json");
