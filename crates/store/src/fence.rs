//! Fencing: the lease a step runs under, carried by the task that runs it.
//!
//! [`fenced`] runs a future with a [`Lease`] in scope (a tokio task-local); every write the store
//! makes while it is in scope checks, in the same transaction as the write, that the job's
//! `lease_owner` and `lease_version` are still the lease's. A replica whose lease expired and was
//! claimed by another (the version was bumped) thus cannot commit anything more for that job:
//! the write fails with [`StoreError::LeaseLost`](crate::StoreError::LeaseLost) and changes
//! nothing. Outside a scope (the command line, tests driving steps by hand, the API) writes are
//! not fenced.
//!
//! The scope is a task-local so that no write can forget it: the step functions call the store as
//! before, and only the worker (which claims) and a realtime run (which inherits its lease) enter
//! a scope. A task spawned inside a scope is outside it (tokio task-locals do not propagate).

use almanac_core::ids::JobId;
use std::future::Future;

/// A claim on one job's next step, held by one replica until it expires or is released.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The job.
    pub job_id: JobId,
    /// The replica holding it (`Store::claim_next`'s `owner`).
    pub owner: String,
    /// The fencing token: the job's `lease_version` right after this claim.
    pub version: i64,
}

tokio::task_local! {
    static LEASE: Lease;
}

/// Runs `f` with `lease` in scope: every store write inside is fenced by it.
pub async fn fenced<F: Future>(lease: Lease, f: F) -> F::Output {
    LEASE.scope(lease, f).await
}

/// The lease in scope, if any.
pub fn current() -> Option<Lease> {
    LEASE.try_with(Clone::clone).ok()
}

/// The fence check, first statement of every fenced write's transaction: touches the job's row
/// (so that PostgreSQL locks it until the commit and SQLite takes its write lock) only while the
/// lease is still held; `rows_affected() == 1` means it is.
pub(crate) const CHECK_SQL: &str = "UPDATE jobs SET lease_version = lease_version WHERE id = $1 AND lease_owner = $2 AND lease_version = $3";
