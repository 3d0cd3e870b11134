//! Jobs: one Generate click (or one `almanac run`). This layer owns a job's life — creating it,
//! showing it, cancelling and retrying it — and the worker that drives it through
//! `created → submitting → validating → in_progress → finalizing → writing → completed`.
//! It sits between `api`/`cli` above and the crates of the outside parties below
//! (`almanac-openai`, `almanac-sheets`, `almanac-store`, `almanac-files`, all over `almanac-core`).
//!
//! - [`service`]: [`JobService`], every operation the API and the command line offer;
//!   [`create`], [`retry`]: what its create and retry do; [`estimate`]: the one estimate;
//!   [`budget`]: a spreadsheet's monthly budget and the cap checks; [`strategy`]: batch,
//!   realtime or auto; [`selection`]: which selected rows are sent, skipped or failed;
//!   [`view`]: what is shown of a job; [`errors`]: why an operation was refused; [`access`]: the
//!   access proof (the caller can edit the spreadsheet, and so can the service account);
//!   [`transient`]: short retries of the Google calls a person waits for.
//! - [`queue`]: the [`Worker`](queue::Worker), which steps every unfinished job; [`step`]: why a
//!   step did not finish; [`batch`]: the batch path's steps (submit, poll, collect, finish);
//!   [`realtime`]: a realtime job's run; [`pacer`]: RPM/TPM pacing of realtime calls;
//!   [`target`]: where the answers go (a sheet or a file).
//! - [`lease`]: a step or a realtime run held under a lease, with its heartbeat; [`events`]:
//!   progress and wake-ups from other replicas (`LISTEN`); [`watch`]: the jobs followed here;
//!   [`shared_pace`]: the pacer's buckets shared by every replica.
//! - [`services`]: the handles all of these share; [`settings`]: the layer's settings.
//!
//! Modules import each other in one direction only (a check in `tests/tests/architecture.rs`
//! fails on any cycle); this file only declares and re-exports them.

pub mod access;
pub mod batch;
pub mod budget;
pub mod create;
pub mod errors;
pub mod estimate;
pub mod events;
pub mod lease;
pub mod pacer;
pub mod queue;
pub mod realtime;
pub mod retry;
pub mod selection;
pub mod service;
pub mod services;
pub mod settings;
pub mod shared_pace;
pub mod step;
pub mod strategy;
pub mod target;
pub mod transient;
pub mod view;
pub mod watch;

pub use create::{MAX_ROW_NUMBER, MAX_ROWS_PER_JOB, MAX_SPANS_PER_JOB, NewFileJob};
pub use errors::{BudgetError, CreateJobError, JobError};
pub use queue::Worker;
pub use service::JobService;
pub use services::Services;
pub use settings::{BatchStrategy, CostSettings, WorkerSettings};
pub use step::StepError;
pub use view::{job_cost, job_event, job_view};
