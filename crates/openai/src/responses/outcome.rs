//! A `response` object (<https://platform.openai.com/docs/api-reference/responses/object>) read
//! into typed values: its `status`, the text of its `message` items with their
//! `container_file_citation` annotations, its `function_call` items, the containers of its
//! `code_interpreter_call` items, its `usage`, `error` and `incomplete_details`. Read leniently:
//! only `id` and a known `status` are required, so a field added by the service breaks nothing.

use almanac_protocol::TokenUsage;
use serde_json::Value;

use crate::error::OpenAiError;

/// The spec's `Response.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseStatus {
    /// Waiting to start (background only).
    Queued,
    /// Being written.
    InProgress,
    /// Finished.
    Completed,
    /// Failed (`error` says why).
    Failed,
    /// Cut short (`incomplete_details.reason`).
    Incomplete,
    /// Cancelled (background only).
    Cancelled,
}

impl ResponseStatus {
    /// Reads the wire spelling; `None` for anything else.
    pub(crate) fn parse(s: &str) -> Option<ResponseStatus> {
        Some(match s {
            "queued" => ResponseStatus::Queued,
            "in_progress" => ResponseStatus::InProgress,
            "completed" => ResponseStatus::Completed,
            "failed" => ResponseStatus::Failed,
            "incomplete" => ResponseStatus::Incomplete,
            "cancelled" => ResponseStatus::Cancelled,
            _ => return None,
        })
    }

    /// True once the response will not change any more.
    pub fn is_terminal(self) -> bool {
        !matches!(self, ResponseStatus::Queued | ResponseStatus::InProgress)
    }
}

/// A `function_call` output item: the model asks Almanac to run a function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionCall {
    /// `call_…`, to answer with.
    pub call_id: String,
    /// The function's name.
    pub name: String,
    /// Its arguments, JSON text (valid against the function's schema under `strict`).
    pub arguments: String,
}

/// A `container_file_citation` annotation: a file the code interpreter wrote, cited in the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileCitation {
    /// `cntr_…`.
    pub container_id: String,
    /// `cfile_…`.
    pub file_id: String,
    /// `events_per_decade.png`.
    pub filename: String,
    /// Where the citation starts in [`ResponseOutcome::text`], in characters.
    pub start_index: u64,
    /// The character after it.
    pub end_index: u64,
}

/// Why a response failed (`error`), or an `error` event of a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseFailure {
    /// OpenAI's code (`server_error`, `rate_limit_exceeded`, …; `unknown` when none).
    pub code: String,
    /// OpenAI's message.
    pub message: String,
}

/// What Almanac reads of a `response` object.
#[derive(Clone, Debug, PartialEq)]
pub struct ResponseOutcome {
    /// `resp_…`.
    pub id: String,
    /// Where it is.
    pub status: ResponseStatus,
    /// The text of its `output_text` parts, messages joined by a blank line.
    pub text: String,
    /// The files cited in `text`.
    pub citations: Vec<FileCitation>,
    /// The function calls it asks for.
    pub function_calls: Vec<FunctionCall>,
    /// The containers its `code_interpreter_call` items ran in, in order, each once.
    pub containers: Vec<String>,
    /// `usage` (zero until it ended).
    pub usage: TokenUsage,
    /// `error`, when failed.
    pub error: Option<ResponseFailure>,
    /// `incomplete_details.reason`, when incomplete.
    pub incomplete_reason: Option<String>,
}

impl ResponseOutcome {
    /// Reads a `response` object.
    ///
    /// # Errors
    /// [`OpenAiError::Permanent`] when `id` is missing or `status` is unknown.
    pub(crate) fn from_json(v: &Value) -> Result<ResponseOutcome, OpenAiError> {
        let unreadable = |what: String| OpenAiError::Permanent {
            status: None,
            message: format!("OpenAI answered with a response object {what}"),
        };
        let id = text(v, "/id").ok_or_else(|| unreadable("without an `id`".into()))?;
        let status_text = text(v, "/status").unwrap_or_default();
        let status = ResponseStatus::parse(&status_text)
            .ok_or_else(|| unreadable(format!("with an unknown status `{status_text}`")))?;
        let mut outcome = ResponseOutcome {
            id,
            status,
            text: String::new(),
            citations: Vec::new(),
            function_calls: Vec::new(),
            containers: Vec::new(),
            usage: usage(v.get("usage").unwrap_or(&Value::Null)),
            error: v.get("error").filter(|e| !e.is_null()).map(failure),
            incomplete_reason: text(v, "/incomplete_details/reason"),
        };
        for item in v
            .get("output")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            outcome.read_item(item);
        }
        Ok(outcome)
    }

    /// Adds one output item.
    fn read_item(&mut self, item: &Value) {
        match item.get("type").and_then(Value::as_str) {
            Some("message") => {
                for part in item
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    self.read_text(part);
                }
            }
            Some("function_call") => self.function_calls.push(FunctionCall {
                call_id: text(item, "/call_id").unwrap_or_default(),
                name: text(item, "/name").unwrap_or_default(),
                arguments: text(item, "/arguments").unwrap_or_else(|| "{}".into()),
            }),
            Some("code_interpreter_call") => {
                if let Some(id) = text(item, "/container_id")
                    && !self.containers.contains(&id)
                {
                    self.containers.push(id);
                }
            }
            _ => {}
        }
    }

    /// Adds one `output_text` part and its file citations (indexes moved by what came before).
    fn read_text(&mut self, part: &Value) {
        let Some(value) = part.get("text").and_then(Value::as_str) else {
            return;
        };
        if !self.text.is_empty() {
            self.text.push_str("\n\n");
        }
        let offset = self.text.chars().count() as u64;
        self.text.push_str(value);
        let annotations = part.get("annotations").and_then(Value::as_array);
        for a in annotations.into_iter().flatten() {
            if a.get("type").and_then(Value::as_str) != Some("container_file_citation") {
                continue;
            }
            let index = |key: &str| a.get(key).and_then(Value::as_u64).unwrap_or(0) + offset;
            self.citations.push(FileCitation {
                container_id: text(a, "/container_id").unwrap_or_default(),
                file_id: text(a, "/file_id").unwrap_or_default(),
                filename: text(a, "/filename").unwrap_or_default(),
                start_index: index("start_index"),
                end_index: index("end_index"),
            });
        }
    }
}

/// A string at `pointer`.
fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// `usage` of the Responses API: `input_tokens` (with `input_tokens_details.cached_tokens`) and
/// `output_tokens` (with `output_tokens_details.reasoning_tokens`); absent fields are 0.
pub(crate) fn usage(u: &Value) -> TokenUsage {
    let n = |pointer: &str| u.pointer(pointer).and_then(Value::as_u64).unwrap_or(0);
    TokenUsage {
        input_tokens: n("/input_tokens"),
        cached_input_tokens: n("/input_tokens_details/cached_tokens"),
        output_tokens: n("/output_tokens"),
        reasoning_tokens: n("/output_tokens_details/reasoning_tokens"),
    }
}

/// An `error` object (`{"code", "message"}`) of a response or of an `error` event.
pub(crate) fn failure(e: &Value) -> ResponseFailure {
    ResponseFailure {
        code: text(e, "/code").unwrap_or_else(|| "unknown".into()),
        message: text(e, "/message").unwrap_or_else(|| "(no message)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_code_interpreter_answer_gives_its_text_citation_container_and_usage() {
        let response = json!({
            "id": "resp_1", "object": "response", "status": "completed",
            "output": [
                {"type": "code_interpreter_call", "id": "ci_1", "container_id": "cntr_1", "code": "…", "outputs": null},
                {"type": "message", "role": "assistant", "content": [
                    {"type": "output_text", "text": "1940s: 3. [chart](sandbox:/mnt/data/a.png)", "annotations": [
                        {"type": "container_file_citation", "container_id": "cntr_1", "file_id": "cfile_1",
                         "filename": "a.png", "start_index": 10, "end_index": 42}]}]}
            ],
            "usage": {"input_tokens": 120, "input_tokens_details": {"cached_tokens": 64},
                      "output_tokens": 30, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 150}
        });
        let outcome = ResponseOutcome::from_json(&response).unwrap();
        assert_eq!(outcome.status, ResponseStatus::Completed);
        assert_eq!(outcome.containers, ["cntr_1"]);
        assert_eq!(outcome.citations[0].file_id, "cfile_1");
        let cited: String = outcome.text.chars().skip(10).take(32).collect();
        assert_eq!(cited, "[chart](sandbox:/mnt/data/a.png)");
        assert_eq!(
            (
                outcome.usage.input_tokens,
                outcome.usage.cached_input_tokens
            ),
            (120, 64)
        );
    }

    #[test]
    fn a_function_call_a_failure_and_an_unknown_status_are_read_as_such() {
        let call = json!({"id": "resp_2", "status": "completed", "output": [
            {"type": "function_call", "call_id": "call_1", "name": "get_rows", "arguments": "{\"row_ids\":[\"08-15\"]}"}]});
        let outcome = ResponseOutcome::from_json(&call).unwrap();
        assert_eq!(outcome.function_calls[0].name, "get_rows");
        assert!(outcome.text.is_empty());
        let failed = json!({"id": "resp_3", "status": "failed", "error": {"code": "server_error", "message": "boom"}});
        let outcome = ResponseOutcome::from_json(&failed).unwrap();
        assert_eq!(outcome.error.unwrap().code, "server_error");
        assert!(ResponseOutcome::from_json(&json!({"id": "r", "status": "thinking"})).is_err());
        assert!(ResponseOutcome::from_json(&json!({"status": "completed"})).is_err());
    }
}
