//! Creating a job and what decides it: the request checked, the selected rows classified, the
//! estimate, the mode, the caps — and reopening a finished job's failed rows.
//!
//! - [`create`]: checks a request, reads and classifies the rows, estimates, settles the mode,
//!   checks the caps, stores the job (a sheet's or a file's);
//! - [`retry`]: reopens a finished job's retryable rows within its cap;
//! - [`estimate`]: the one estimate (the store's history, tokens on exact bodies, the prices);
//! - [`selection`]: which selected rows are sent, skipped or failed (in a sheet's or a file's
//!   words);
//! - [`strategy`]: batch, realtime or auto.

pub(crate) mod create;
pub(crate) mod estimate;
pub(crate) mod retry;
pub(crate) mod selection;
pub(crate) mod strategy;
