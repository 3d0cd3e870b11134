//! The emulator over HTTP, one test binary: its OpenAI side (`openai_batches`), its Sheets side and
//! token endpoint (`sheets_api`), its Google identity side (`identity`), scopes, sharing, data filters, developer metadata and the metadata server (`google_access`), and the real client crates
//! against it (`real_clients`: async-openai, yup-oauth2, google-sheets4, and the Responses API).

// A test is a scenario that reads best whole: the 80-line rule is for non-test code.
#![allow(clippy::too_many_lines)]

mod common;
mod google_access;
mod identity;
mod openai_batches;
mod real_clients;
mod sheets_api;
