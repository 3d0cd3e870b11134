//! Wire types of Almanac's HTTP API (`/api/v1`), shared by the axum backend (`server/`) and the
//! Leptos sidebar (`sidebar/`). This crate depends on serde only, so it compiles to `wasm32`.
//!
//! Field names follow the OpenAI Batch API where a value comes from it (`request_counts`,
//! `completion_window`) and the Sheets API where a value names a place in a sheet (`spreadsheet_id`
//! for `spreadsheetId`, `sheet_id` for `sheetId`). All timestamps are RFC 3339 strings in UTC; all
//! money amounts are US dollars as `f64`; token counts are `u64`.
//!
//! One module per resource, every type re-exported here (`almanac_protocol::Job`):
//! - `jobs`: a job asked for and shown (`CreateJobRequest`, `RowSpan`, `Job`, `JobRow`, costs);
//! - `events`: a job's progress events (`JobEvent`);
//! - `estimate`: `POST /estimate` (`EstimateRequest`, `Estimate`);
//! - `models`, `budget`, `access`, `health`: the catalogue, a spreadsheet's monthly budget, the
//!   access challenge and proof, the health check (`Health`, and the deep check's `DeepHealth`
//!   of `HealthCheck`s);
//! - `states`: the state enums (`JobStatus`, `RowState`, `BatchState`, `Mode`); `failure`: why a
//!   row failed (`FailureCode`); `errors`: the one vocabulary of error codes (`ErrorCode`) and
//!   the error body (`ErrorBody`, `ErrorDetail`);
//! - `selection`: what the sidebar learns from Apps Script (`SelectionContext`);
//! - `markdown`: an answer's Markdown as a typed tree (`MarkdownNode`), parsed by the backend.
//!
//! [`chat`] holds the types of "Ask about the sheet", in the seed backend's shapes (Unix-second
//! times, as the Assistants API had them).
//!
//! With the optional `openapi` feature every type also derives `utoipa::ToSchema`, for the server's
//! OpenAPI document; without it (the sidebar's wasm build) the crate stays serde-only.

pub mod chat;

mod access;
mod budget;
mod errors;
mod estimate;
mod events;
mod failure;
mod health;
mod jobs;
mod markdown;
mod models;
mod selection;
mod states;

pub use access::{
    ACCESS_PROOF_HEADER, ACCESS_PROOF_METADATA_KEY, AccessChallenge, AccessProof,
    AccessProofRequest,
};
pub use budget::{Budget, SetBudgetRequest};
pub use errors::{ErrorBody, ErrorCode, ErrorDetail};
pub use estimate::{Cost, Estimate, EstimateRequest, EstimateRow, RowEstimate};
pub use events::JobEvent;
pub use failure::FailureCode;
pub use health::{CheckName, CheckStatus, DeepHealth, Health, HealthCheck};
pub use jobs::{
    BatchSummary, CreateJobRequest, Job, JobCost, JobList, JobOptions, JobRow, NewJobRequest,
    RequestCounts, RowCounts, RowSpan, TokenUsage,
};
pub use markdown::MarkdownNode;
pub use models::{ModelInfo, ModelList};
pub use selection::{SelectedRow, SelectionContext};
pub use states::{BatchState, JobStatus, Mode, RowState};

/// The header that makes a `POST` safe to repeat (`POST /jobs`, `…/jobs/{id}/retry`,
/// `…/jobs/{id}/cancel`, `POST /chat`, `POST /threads/{id}/messages`, `POST /threads/{id}/runs`),
/// as in [draft-ietf-httpapi-idempotency-key-header](https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/):
/// a unique value per user action (a UUID), sent again on that action's retries. The backend
/// answers a repeat from the same user within 24 hours with the first answer and does nothing
/// again; lower case, as HTTP/2 sends header names.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// The header (`true`) of an answer sent again for a repeated [`IDEMPOTENCY_KEY_HEADER`]: the
/// first request's answer, nothing was done again.
pub const IDEMPOTENT_REPLAYED_HEADER: &str = "idempotent-replayed";
