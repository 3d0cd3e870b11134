//! Typed states: where a job, a batch and a row stand, and why a row failed. Decisions are taken on
//! these values, never on the text of a message; the reason texts beside them are for people.
//!
//! The enums are wire types of `/api/v1` too, so they are defined in `almanac-protocol` (which
//! the sidebar shares) and re-exported here for the crates below the server.

pub use almanac_protocol::{JobStatus, Mode, RowState};
