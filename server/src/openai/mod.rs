//! Everything that knows OpenAI's wire formats, and nothing else does.
//!
//! - [`jsonl`]: the batch input file — one `/v1/chat/completions` request line per row, `custom_id`
//!   = the row's id (<https://platform.openai.com/docs/api-reference/batch/request-input>), and the
//!   Batch API's size limits.
//! - [`output`]: the batch output and error files — one line per request, matched to rows by
//!   `custom_id`, never by order
//!   (<https://platform.openai.com/docs/api-reference/batch/request-output>).
//! - [`client`]: the Files and Batches endpoints (upload, create, retrieve, list, cancel, download)
//!   and a plain Chat Completions call, through `async-openai`, with bounded retries and errors
//!   sorted into "retry later" and "will not succeed"
//!   (<https://platform.openai.com/docs/api-reference/batch>,
//!   <https://platform.openai.com/docs/api-reference/files>).
//!
//! The prompt and schema come from [`crate::prompt`]; the per-model request shape (reasoning or
//! not, output cap, temperature) from [`crate::pricing::ModelSpec`].

pub mod chat;
pub mod client;
pub mod jsonl;
pub mod output;

pub use client::{BatchClient, BatchInfo, BatchStatus, OpenAiError, RetryPolicy};
pub use output::{BatchResults, LineError, ParsedLine, RowError, Usage};
