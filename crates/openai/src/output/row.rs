//! What an output line says about its row — [`ParsedLine`]: the row's answer or the
//! [`RowError`] why there is none, and its token [`Usage`] — or, for a line that names no row,
//! the [`LineError`].

use std::fmt;

use almanac_core::domain::Generated;
use almanac_core::state::{FailureCode, RowFailure};

/// One parsed line: which row, what came of it, and the tokens it used.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedLine {
    /// The request's `custom_id`, i.e. the row's id (column A).
    pub custom_id: String,
    /// The four generated columns, or why there are none.
    pub outcome: Result<Generated, RowError>,
    /// Token usage when the request ran (`response.body.usage`); `None` for requests that never ran.
    pub usage: Option<Usage>,
}

/// Why one row has no result. `code` is the typed [`FailureCode`] programs act on; `message` is a
/// sentence for people (it ends up in the sidebar next to the row).
///
/// Codes: `batch_expired`, `batch_cancelled`, `request_error` (any other code of the line's
/// `error` object), `http_<status>` for a request OpenAI refused, `refusal`, `truncated`,
/// `content_filter`, `empty_answer`, `invalid_json`, `missing_field`, `invalid_field`,
/// `no_response`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// Stable machine-readable code.
    pub code: FailureCode,
    /// What happened and what to do, for people.
    pub message: String,
}

impl RowError {
    /// A row error with `code` and the sentence `message`.
    pub(super) fn new(code: FailureCode, message: impl Into<String>) -> RowError {
        RowError {
            code,
            message: message.into(),
        }
    }

    /// Whether sending the same row again may well succeed: the request did not run (expired,
    /// cancelled), hit a rate limit or a server error, or the model produced an unusable answer
    /// once. False for refusals, content filtering and requests OpenAI rejected as invalid.
    pub fn is_retryable(&self) -> bool {
        use FailureCode as C;
        match self.code {
            C::BatchExpired
            | C::BatchCancelled
            | C::Truncated
            | C::InvalidJson
            | C::MissingField
            | C::InvalidField
            | C::EmptyAnswer
            | C::NoResponse => true,
            C::Http(status) => matches!(status, 408 | 409 | 429 | 500..=599),
            _ => false,
        }
    }

    /// The row's failure as the store keeps it (code and sentence).
    pub fn failure(self) -> RowFailure {
        RowFailure::new(self.code, self.message)
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RowError {}

/// Token usage of one request (`response.body.usage`,
/// <https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage>).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Input tokens, cached ones included.
    pub prompt_tokens: u64,
    /// Output tokens, reasoning tokens included.
    pub completion_tokens: u64,
    /// Of `prompt_tokens`, those served from the prompt cache (`prompt_tokens_details.cached_tokens`).
    pub cached_tokens: u64,
    /// Of `completion_tokens`, hidden reasoning (`completion_tokens_details.reasoning_tokens`).
    pub reasoning_tokens: u64,
}

impl Usage {
    /// The same counts in the domain's terms (input / cached input / output / reasoning), as the
    /// store keeps them and the cost rules price them.
    pub fn tokens(&self) -> almanac_protocol::TokenUsage {
        almanac_protocol::TokenUsage {
            input_tokens: self.prompt_tokens,
            cached_input_tokens: self.cached_tokens,
            output_tokens: self.completion_tokens,
            reasoning_tokens: self.reasoning_tokens,
        }
    }
}

/// A line that cannot be attributed to any row: not JSON, not UTF-8, or without a string
/// `custom_id`. Displays as `line 3: …` when the line number is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number in the file, when parsed through [`parse_file`](super::parse_file).
    pub line: Option<usize>,
    /// What is wrong with the line.
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(n) => write!(f, "line {n}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for LineError {}
