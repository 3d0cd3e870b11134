//! End-to-end tests of the real backend over HTTP against the emulator, one test binary (the
//! tests that install a process-wide log subscriber, `logs` and `secrets`, are binaries of their
//! own):
//!
//! - `flow`: the main job; `recovery`: a crash between batch create and save;
//! - `faults`: every batch outcome, per-line failure, limit and transient fault, each naming its
//!   end state; `churn`: the sheet edited while a job runs, every cell checked;
//! - `estimate`: estimated input tokens = emulator `prompt_tokens`, actual usage and history;
//!   `budget`: refusals and the running cap; `cost_table`: README's cost table;
//! - `realtime`: rate limits, grouped writes, restart, retry, `auto`;
//! - `security`: tokens, ownership, access, limits, CORS;
//! - `replicas`: several backends on one PostgreSQL (shared rate limits, progress from any
//!   replica, leases given back at shutdown);
//! - `chat`: "Ask about the sheet" — function calls, the code interpreter's chart, streaming,
//!   polled runs, ownership, the budget, OpenAI failing mid-stream, limits; `seed_clients`: the
//!   seed backend guide's Python client and cURL examples, unmodified but for the base URL.

// A test is a scenario that reads best whole: the 80-line rule is for non-test code.
#![allow(clippy::too_many_lines)]

mod budget;
mod chat;
mod churn;
mod cost_table;
mod estimate;
mod faults;
mod flow;
mod realtime;
mod recovery;
mod replicas;
mod security;
mod seed_clients;
