//! The store's side of "Ask about the sheet" (`migrations/{sqlite,postgres}/0007_chat.sql`):
//! threads, their messages, runs with their `usage`, the files the code interpreter made and the
//! containers a thread was charged for. Each query is written once for both backends (`on_pool!`
//! for a read, `in_tx!` for a write; see the crate documentation).
//!
//! Invariants kept here:
//! - a run's end is one transaction: its status and `usage`, the containers it opened, and — only
//!   when it completed — the messages it sent and wrote and their files. A run that failed,
//!   expired or was cancelled leaves no message half-stored; its `usage` is kept (it was billed);
//! - a run ends once: [`Store::end_chat_run`] changes only a run still `queued`/`in_progress`;
//! - a thread has at most one unfinished run (a partial unique index refuses a second); a run
//!   older than the run timeout can no longer be driven (its replica died, or gave up on it), so
//!   it is failed with code [`STALE_RUN_CODE`] rather than left to block its thread: by
//!   [`Store::insert_chat_run`] for its thread, by [`Store::interrupt_chat_runs`] at start-up —
//!   never a run that another live replica may still be driving;
//! - a thread's messages are numbered `1, 2, …` with no gap; on PostgreSQL the writer of a
//!   message locks the thread's row first, so that two replicas never take the same number;
//! - every external id (`conv_…`, the CSV's `file-…`, the latest `resp_…`) is saved in its own
//!   statement right after the call that made it.
//!
//! - [`threads`]: threads and their external ids; [`messages`]: a thread's numbered messages;
//!   [`runs`]: runs, their end, the month's runs and the stale ones; [`files`]: the code
//!   interpreter's files and the containers charged.

pub mod files;
pub mod messages;
pub mod runs;
pub mod threads;

pub use files::{FileRecord, NewFile};
pub use messages::MessageRecord;
pub use runs::{
    Answer, MonthChatRun, NewRun, RunEnd, RunRecord, STALE_RUN_CODE, STALE_RUN_MESSAGE,
};
pub use threads::{NewThread, ThreadRecord};

#[cfg(test)]
mod tests;
