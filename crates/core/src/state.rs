//! Typed states: where a job, a batch and a row stand, and why a row failed. Decisions are taken on
//! these values, never on the text of a message; the reason texts beside them are for people. The
//! legal moves of a job between statuses are [`Transition`]s.
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

/// The two ways a job's status changes, each with its legal moves (the lifecycle of `DESIGN.md`):
///
/// ```text
/// created → submitting → validating → in_progress → finalizing → writing → completed
///    ↘ in_progress (realtime)    (batches running: ⇄ cancelling)    ↘ cancelled | expired
/// any unfinished status → failed;  finished (or writing) → created | writing by a retry
/// ```
///
/// The store refuses any other move (`Store::set_status`, `Store::reopen`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// A step of the worker moves an unfinished job on: `created` to `submitting` (batch) or
    /// `in_progress` (realtime); `submitting` to `validating`; while batches run, between
    /// `validating`, `in_progress`, `finalizing` and `cancelling` as the batches' states say (back
    /// to `submitting` when OpenAI refused a batch for its enqueued-token limit) and on to
    /// `writing`; `writing` to `completed`, `cancelled`, `expired` or `failed`; any unfinished
    /// status to `failed`. A status may be set again while unfinished (a step repeated after a
    /// crash); a finished job never moves by a step.
    Step,
    /// A retry reopens a job at `created` (rows to send again) or `writing` (answers to write): a
    /// finished job, or one at `writing` whose expired batch is sent again.
    Reopen,
}

impl Transition {
    /// True when this kind of change may move a job from `from` to `to`.
    pub fn allows(self, from: JobStatus, to: JobStatus) -> bool {
        use JobStatus as S;
        let running = |s: JobStatus| {
            matches!(
                s,
                S::Validating | S::InProgress | S::Finalizing | S::Cancelling
            )
        };
        match self {
            Transition::Step => match (from, to) {
                (from, _) if from.is_terminal() => false,
                (_, S::Failed) => true,
                (from, to) if from == to => true,
                (S::Created, S::Submitting | S::InProgress) => true,
                (S::Submitting, S::Validating) => true,
                (from, to) if running(from) => {
                    running(to) || matches!(to, S::Submitting | S::Writing)
                }
                (S::Writing, to) => matches!(to, S::Completed | S::Cancelled | S::Expired),
                _ => false,
            },
            Transition::Reopen => {
                matches!(to, S::Created | S::Writing) && (from.is_terminal() || from == S::Writing)
            }
        }
    }

    /// Every status this kind of change may move a job to `to` from, in [`JobStatus::ALL`]'s
    /// order (empty when none may).
    pub fn sources(self, to: JobStatus) -> Vec<JobStatus> {
        JobStatus::ALL
            .into_iter()
            .filter(|&from| self.allows(from, to))
            .collect()
    }
}
