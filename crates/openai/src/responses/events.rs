//! One Server-Sent Event of a streamed response (the spec's `ResponseStreamEvent`,
//! <https://platform.openai.com/docs/api-reference/responses-streaming>), read into what a chat
//! turn needs: the response's id (`response.created`), text as it is written
//! (`response.output_text.delta`), a tool starting (`response.output_item.added` of a
//! `function_call` or `code_interpreter_call`), the end (`response.completed`,
//! `response.incomplete`, `response.failed`, with the whole `response`), or an `error` event.
//! Every other event type is skipped.

use serde_json::Value;

use crate::error::OpenAiError;
use crate::responses::outcome::{ResponseFailure, ResponseOutcome, failure};

/// A tool the model started using.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolStart {
    /// A `function_call` item.
    Function,
    /// A `code_interpreter_call` item.
    CodeInterpreter,
}

/// What a chat turn reads from one streamed event.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent {
    /// `response.created`: the response's id (`resp_…`).
    Created(String),
    /// `response.output_text.delta`: text to append.
    TextDelta(String),
    /// `response.output_item.added` of a tool call.
    ToolStarted(ToolStart),
    /// `response.completed`, `response.incomplete` or `response.failed`: the whole response.
    Ended(ResponseOutcome),
    /// `error`: the stream ends here and the response fails.
    Error(ResponseFailure),
}

/// Reads one event; `Ok(None)` for the event types a turn does not need.
///
/// # Errors
/// [`OpenAiError::Permanent`] when an ending event's `response` cannot be read.
pub(crate) fn parse(event: &Value) -> Result<Option<StreamEvent>, OpenAiError> {
    let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
    let read = |key: &str| event.get(key).and_then(Value::as_str).map(str::to_owned);
    Ok(match kind {
        "response.created" => event
            .pointer("/response/id")
            .and_then(Value::as_str)
            .map(|id| StreamEvent::Created(id.to_owned())),
        "response.output_text.delta" => read("delta").map(StreamEvent::TextDelta),
        "response.output_item.added" => match event.pointer("/item/type").and_then(Value::as_str) {
            Some("function_call") => Some(StreamEvent::ToolStarted(ToolStart::Function)),
            Some("code_interpreter_call") => {
                Some(StreamEvent::ToolStarted(ToolStart::CodeInterpreter))
            }
            _ => None,
        },
        "response.completed" | "response.incomplete" | "response.failed" => {
            let response = event.get("response").unwrap_or(&Value::Null);
            Some(StreamEvent::Ended(ResponseOutcome::from_json(response)?))
        }
        "error" => Some(StreamEvent::Error(failure(event))),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_events_a_turn_needs_are_read_and_the_rest_skipped() {
        let created = json!({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "status": "queued"}});
        assert_eq!(
            parse(&created).unwrap(),
            Some(StreamEvent::Created("resp_1".into()))
        );
        let delta = json!({"type": "response.output_text.delta", "delta": "Hel"});
        assert_eq!(
            parse(&delta).unwrap(),
            Some(StreamEvent::TextDelta("Hel".into()))
        );
        let tool = json!({"type": "response.output_item.added", "item": {"type": "code_interpreter_call"}});
        assert_eq!(
            parse(&tool).unwrap(),
            Some(StreamEvent::ToolStarted(ToolStart::CodeInterpreter))
        );
        let error =
            json!({"type": "error", "code": "server_error", "message": "boom", "param": null});
        assert!(
            matches!(parse(&error).unwrap(), Some(StreamEvent::Error(f)) if f.code == "server_error")
        );
        let done = json!({"type": "response.failed", "response": {"id": "resp_1", "status": "failed",
            "error": {"code": "server_error", "message": "x"}}});
        assert!(matches!(parse(&done).unwrap(), Some(StreamEvent::Ended(o)) if o.error.is_some()));
        assert_eq!(
            parse(&json!({"type": "response.content_part.added"})).unwrap(),
            None
        );
    }
}
