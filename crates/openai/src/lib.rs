//! Everything that knows OpenAI's wire formats, and nothing else does (crate `almanac-openai`,
//! depending only on `almanac-core`).
//!
//! - [`jsonl`]: the batch input file — one `/v1/chat/completions` request line per row, `custom_id`
//!   = the row's id (<https://platform.openai.com/docs/api-reference/batch/request-input>), and the
//!   Batch API's size limits.
//! - [`output`]: the batch output and error files — one line per request, matched to rows by
//!   `custom_id`, never by order
//!   (<https://platform.openai.com/docs/api-reference/batch/request-output>) — and realtime
//!   answers.
//! - [`tokens`]: input tokens of the exact request bodies (tiktoken, chat framing), and the
//!   estimate of a job built on them.
//! - `batch`: [`BatchClient`], the Files and Batches endpoints (upload, create, find, retrieve,
//!   cancel, download) through `async-openai`
//!   (<https://platform.openai.com/docs/api-reference/batch>,
//!   <https://platform.openai.com/docs/api-reference/files>).
//! - `chat`: [`ChatClient`], one realtime Chat Completions call per row against any
//!   OpenAI-compatible base URL, one attempt per call (the caller paces and retries).
//! - [`responses`]: [`ResponsesClient`], the Conversations, Responses, Files (`user_data`) and
//!   Containers endpoints of a chat turn — request bodies with function tools and the code
//!   interpreter, `response` objects and streamed events read into typed values.
//! - `connection`: the one connection under every client — key (never shown), base URL,
//!   `async-openai` clients over the transport, a refused key, errors sorted and scrubbed.
//! - `transport`: the HTTP layer under every client (bounded retries with `backon`, no replayed
//!   batch create, per-attempt timeouts, call and rate-limit observers).
//! - [`models`]: `GET /v1/models` once, the free call that tells whether a key is accepted (set-up
//!   checks).
//! - [`ratelimit`]: the `x-ratelimit-*` / `retry-after` headers of an answer.
//! - `error`: [`OpenAiError`], transient or permanent, scrubbed of keys.
//! - `tag`: [`PartTag`], the job, attempt and part written into an input file's name and a
//!   batch's `metadata`, and the scans that find them again (adoption instead of a second batch).
//!
//! The modules in backticks are private: their callers use what the crate root re-exports
//! ([`BatchClient`], [`BatchInfo`], [`FileDownload`], [`ChatClient`], [`OpenAiError`],
//! [`RetryPolicy`], [`PartTag`]).
//!
//! The prompt and schema come from `almanac_core::prompt`; the per-model request shape (reasoning
//! or not, output cap, temperature) from `almanac_core::catalog::ModelSpec`. Clients build their
//! HTTP clients with rustls and no crypto provider of their own: the process installs one at
//! start-up.

#![warn(missing_docs)]

mod batch;
mod chat;
mod connection;
mod error;
pub mod jsonl;
pub mod models;
pub mod output;
pub mod ratelimit;
pub mod responses;
mod tag;
pub mod tokens;
mod transport;

pub use almanac_core::state::BatchState;
pub use batch::{BatchClient, BatchInfo, FileDownload};
pub use chat::ChatClient;
pub use error::OpenAiError;
pub use output::{BatchResults, LineError, ParsedLine, RowError, Usage};
pub use ratelimit::{RateLimitHeaders, RateLimitObserver};
pub use responses::client::ResponsesClient;
pub use tag::{CLOCK_SLACK_SECS, PartTag};
pub use transport::RetryPolicy;
