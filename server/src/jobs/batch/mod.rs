//! The batch path of a job, one step per function, each safe to repeat after a crash at any
//! point (every external id is saved before anything depends on it):
//!
//! - [`parts`]: which rows go in which batch of an attempt (the Batch API's limits);
//! - [`submit`]: upload each part's input file and create its batch, adopting one created
//!   before a crash, unless the job's cap would be passed;
//! - [`poll`]: read each running batch, cancel it if asked, wait out the enqueued-token limit,
//!   and hand the finished ones to [`collect`];
//! - [`collect`]: download and parse a finished batch's output and error files onto its rows;
//! - [`finish`]: after the answers are written, send the rows of an expired batch once more, or
//!   settle the job's end state.

pub(crate) mod collect;
pub(crate) mod finish;
pub(crate) mod parts;
pub(crate) mod poll;
pub(crate) mod spool;
pub(crate) mod submit;
