//! Typed states: where a job, a batch and a row stand, and why a row failed. Decisions are taken on
//! these values, never on the text of a message; the reason texts beside them are for people.
//!
//! The enums are wire types of `/api/v1` too, so they are defined in `almanac-protocol` (which
//! the sidebar shares) and re-exported here for the crates below the server.

pub use almanac_protocol::{BatchState, FailureCode, JobStatus, Mode, RowState};

/// Why a row failed: the code programs act on and the sentence people read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowFailure {
    /// For programs: every decision about the row reads this.
    pub code: FailureCode,
    /// For people: what happened and what to do (shown beside the row).
    pub reason: String,
}

impl RowFailure {
    /// A failure with this code and sentence.
    pub fn new(code: FailureCode, reason: impl Into<String>) -> RowFailure {
        RowFailure {
            code,
            reason: reason.into(),
        }
    }
}
