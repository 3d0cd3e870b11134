//! Errors of OpenAI calls, sorted by what the caller should do: [`OpenAiError::Transient`] (retry
//! later) or [`OpenAiError::Permanent`] (will not succeed by retrying). Messages are scrubbed of the
//! API key and of anything shaped like an `sk-` key before they leave this crate.
//!
//! Status codes and error bodies: <https://platform.openai.com/docs/guides/error-codes>.

use async_openai::error::{ApiErrorResponse, OpenAIError};

/// A failed call to OpenAI, sorted by what the caller should do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpenAiError {
    /// Retry later: the network failed, the call timed out, OpenAI rate-limited (429) or failed
    /// (5xx), after this client's own bounded retries.
    #[error("OpenAI is unavailable for now (will retry): {0}")]
    Transient(String),
    /// Will not succeed by retrying: a 4xx other than 429 (bad request, bad or missing API key,
    /// unknown id, cancelling a finished batch), an exhausted quota, or an answer this client
    /// cannot read.
    #[error("{}", permanent_text(*.status, .message))]
    Permanent {
        /// The HTTP status, when there was a response.
        status: Option<u16>,
        /// OpenAI's message (scrubbed of keys) or what was wrong.
        message: String,
    },
}

fn permanent_text(status: Option<u16>, message: &str) -> String {
    match status {
        Some(s) => format!("OpenAI refused the request (HTTP {s}): {message}"),
        None => format!("OpenAI request failed: {message}"),
    }
}

impl OpenAiError {
    /// True for [`OpenAiError::Transient`].
    pub fn is_transient(&self) -> bool {
        matches!(self, OpenAiError::Transient(_))
    }

    /// The HTTP status of a permanent error, if there was a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            OpenAiError::Transient(_) => None,
            OpenAiError::Permanent { status, .. } => *status,
        }
    }
}

/// An HTTP refusal sorted by its status: 408, 5xx and a 429 that is not `insufficient_quota` are
/// transient (worth retrying later); every other status is permanent. `message` is already
/// scrubbed of the key.
pub(crate) fn from_status(status: u16, quota: bool, message: String) -> OpenAiError {
    if (status == 429 && !quota) || status == 408 || status >= 500 {
        OpenAiError::Transient(format!("HTTP {status}: {message}"))
    } else {
        OpenAiError::Permanent {
            status: Some(status),
            message,
        }
    }
}

/// Sorts an `async-openai` error into transient (429 but `insufficient_quota`, 408, 5xx, network,
/// unreadable answers) or permanent (every other status, a request that could not be built), with
/// `key` scrubbed from the message. Every client reaches it through its connection
/// (`crate::connection`).
pub(crate) fn classify(error: OpenAIError, key: &str) -> OpenAiError {
    let scrub = |text: String| redact(&text, key);
    match error {
        OpenAIError::ApiError(ApiErrorResponse {
            status_code,
            api_error,
        }) => {
            let status = status_code.as_u16();
            let message = scrub(short(api_error.to_string()));
            let quota = api_error.r#type.as_deref() == Some("insufficient_quota")
                || api_error.code.as_deref() == Some("insufficient_quota");
            from_status(status, quota, message)
        }
        OpenAIError::Reqwest(e) if e.is_builder() => OpenAiError::Permanent {
            status: None,
            message: scrub(e.to_string()),
        },
        OpenAIError::Reqwest(e) => OpenAiError::Transient(scrub(error_chain(&e))),
        OpenAIError::JSONDeserialize(e, content) => OpenAiError::Transient(scrub(format!(
            "OpenAI's answer could not be read ({e}): {}",
            short(content)
        ))),
        OpenAIError::Boxed(e) => OpenAiError::Transient(scrub(e.to_string())),
        other => OpenAiError::Permanent {
            status: None,
            message: scrub(other.to_string()),
        },
    }
}

/// An error and its sources, `: `-joined (reqwest hides the cause, e.g. "connection refused").
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// At most 500 characters.
pub(crate) fn short(text: String) -> String {
    const MAX: usize = 500;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// Removes the API key and anything shaped like an OpenAI key (`sk-…`, also masked ones such as
/// `sk-proj-****abcd` that OpenAI echoes in 401 messages) from `text`.
pub(crate) fn redact(text: &str, key: &str) -> String {
    let mut text = if key.len() >= 8 {
        text.replace(key, "[redacted]")
    } else {
        text.to_owned()
    };
    let mut from = 0;
    while let Some(pos) = text[from..].find("sk-") {
        let start = from + pos;
        let starts_word = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        let end = text[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*' | '.')))
            .map_or(text.len(), |n| start + n);
        if starts_word && end - start > 6 {
            text.replace_range(start..end, "sk-[redacted]");
            from = start + "sk-[redacted]".len();
        } else {
            from = start + 3;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_scrubbed_from_messages() {
        let key = "sk-proj-abcdefghijklmnop1234";
        let text = format!(
            "Incorrect API key provided: {key}. Also sk-proj-********************wxyz. ask-me stays, sk-1 too short"
        );
        let out = redact(&text, key);
        assert!(!out.contains("abcdefghijklmnop"), "{out}");
        assert!(!out.contains("wxyz"), "{out}");
        assert!(out.contains("ask-me stays"), "{out}");
        assert!(
            out.contains("Incorrect API key provided: [redacted]."),
            "{out}"
        );
    }
}
