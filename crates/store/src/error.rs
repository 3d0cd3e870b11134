//! Why a store operation failed ([`StoreError`]).

use almanac_core::ids::JobId;
use almanac_core::state::{JobStatus, Transition};

/// A store failure: the database could not be opened, migrated, read or written — or a write of a
/// step's result was refused because the step's lease was taken by another replica.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A query failed.
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read back (a corrupt or foreign database).
    #[error("unexpected value in the database: {0}")]
    Corrupt(String),
    /// The lease under which this write was made is no longer held (its fencing token changed:
    /// another replica claimed the job after the lease expired); nothing was written.
    #[error("the lease on job {0} was lost: another replica has taken the job over")]
    LeaseLost(JobId),
    /// A job was asked to move to a status its lifecycle does not allow from where it stands
    /// ([`Transition::allows`]); nothing was written.
    #[error("job {job_id} cannot move from {from} to {to} ({transition:?})")]
    IllegalMove {
        /// The job.
        job_id: JobId,
        /// Its status when the move was refused.
        from: JobStatus,
        /// The status asked for.
        to: JobStatus,
        /// A step or a reopen.
        transition: Transition,
    },
}

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;
