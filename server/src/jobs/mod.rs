//! Jobs: one Generate click (or one `almanac run`). This layer owns a job's life — creating it,
//! showing it, cancelling and retrying it — and the worker that drives it through
//! `created → submitting → validating → in_progress → finalizing → writing → completed`.
//! It sits between `api`/`cli` above and the crates of the outside parties below
//! (`almanac-openai`, `almanac-sheets`, `almanac-store`, `almanac-files`, all over `almanac-core`).
//!
//! - [`operations`]: [`JobService`], every operation the API and the command line offer;
//!   [`view`]: what is shown of a job; [`errors`]: why an operation was refused.
//! - [`creation`]: what create and retry do — the request checked, the rows classified
//!   (`selection`), the one estimate, batch/realtime/auto (`strategy`), the caps.
//! - [`queue`]: the [`Worker`], which steps every unfinished job; why a step did not finish
//!   ([`StepError`]); leases, other replicas' announcements and the jobs followed here.
//! - [`batch`]: the batch path's steps (parts, submit, poll, collect, finish);
//!   [`realtime`]: a realtime job's run and its RPM/TPM pacer (shared by replicas through the
//!   database); [`destination`]: where the answers go (a sheet or a file).
//! - [`services`]: the handles all of these share; [`settings`]: the layer's settings.
//!
//! What belongs to the spreadsheet rather than to a job — the access proof, the monthly budget
//! and admission, the short retries of Google calls a person waits for — is `crate::spreadsheet`,
//! which jobs and chat share.
//!
//! Modules import each other in one direction only (a check in `tests/tests/architecture.rs`
//! fails on any cycle); this file only declares and re-exports them.

pub(crate) mod batch;
pub(crate) mod creation;
pub(crate) mod destination;
pub(crate) mod errors;
pub(crate) mod operations;
pub mod queue;
pub(crate) mod realtime;
pub(crate) mod services;
pub(crate) mod settings;
pub(crate) mod view;

pub use creation::create::NewFileJob;
pub use errors::{BudgetError, CreateJobError, JobError};
pub use operations::JobService;
pub use queue::step::StepError;
pub use queue::worker::Worker;
pub use realtime::pacer::PacerSettings;
pub use services::Services;
pub use settings::{BatchStrategy, CostSettings, WorkerSettings};
pub use view::{job_cost, job_event, job_view};
