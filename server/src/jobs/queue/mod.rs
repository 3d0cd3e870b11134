//! The queue and its steps: the [`Worker`](worker::Worker) that steps every unfinished job one
//! step at a time, why a step did not finish, and what replicas need to share the queue.
//!
//! - [`worker`]: the [`Worker`](worker::Worker) — due jobs, one step each, backoff after a
//!   transient failure, the job failed after a permanent one;
//! - [`step`]: [`StepError`](step::StepError), why a step did not finish (retry or fail);
//! - [`lease`]: a step or a realtime run held under a lease, with its heartbeat;
//! - [`events`]: progress and wake-ups from other replicas (`LISTEN`);
//! - [`followed`]: the jobs whose event streams are open on this replica.

pub mod events;
pub(crate) mod followed;
pub(crate) mod lease;
pub(crate) mod step;
pub(crate) mod worker;
