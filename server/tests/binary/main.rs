//! The `almanac` binary as a user and a supervisor run it, one test binary: the command line's
//! file workflows (`cli_run`, `cli_batch`) and crashes, restarts and shutdowns of `almanac serve`
//! (`crash`), all against the in-process emulator.

mod cli_batch;
mod cli_run;
mod common;
mod crash;
