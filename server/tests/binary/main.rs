//! The `almanac` binary as a user and a supervisor run it, one test binary: the command line's
//! file workflows (`cli_run`, `cli_batch`) and crashes, restarts and shutdowns of `almanac serve`
//! (`crash`), several replicas on one PostgreSQL killed at random (`replicas`), and the set-up
//! checks of `almanac doctor` and `GET /api/v1/health?deep=true` (`doctor`), all against the
//! in-process emulator.

// A test is a scenario that reads best whole: the 80-line rule is for non-test code.
#![allow(clippy::too_many_lines)]

mod cli_batch;
mod cli_run;
mod common;
mod crash;
mod doctor;
mod replicas;
