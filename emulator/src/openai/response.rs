//! The record of a response the emulator knows ([`StoredResponse`]): its request, context, planned
//! `Outcome`, current [`ResponseStatus`] and planned stream events, and the spec's `Response`
//! object it shows (<https://platform.openai.com/docs/api-reference/responses/object>). The
//! routes are in [`crate::openai::responses`], how a response ends in [`crate::openai::lifecycle`].

use serde_json::{Value, json};

use crate::openai::items;
use crate::openai::request::CreateRequest;
use crate::util::now_unix;

/// The status of a response (the spec's `Response.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseStatus {
    /// Waiting (background only).
    Queued,
    /// Being generated.
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
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseStatus::Queued => "queued",
            ResponseStatus::InProgress => "in_progress",
            ResponseStatus::Completed => "completed",
            ResponseStatus::Failed => "failed",
            ResponseStatus::Incomplete => "incomplete",
            ResponseStatus::Cancelled => "cancelled",
        }
    }

    /// Completed, failed, incomplete or cancelled.
    pub fn is_terminal(self) -> bool {
        !matches!(self, ResponseStatus::Queued | ResponseStatus::InProgress)
    }
}

/// What a response ends with, planned when it is created.
#[derive(Clone, Debug)]
pub(crate) struct Outcome {
    pub output: Vec<Value>,
    pub status: ResponseStatus,
    pub error: Value,
    pub incomplete_details: Value,
    pub usage: Value,
}

/// A response the emulator knows.
#[derive(Clone, Debug)]
pub struct StoredResponse {
    /// `resp_…`.
    pub id: String,
    /// Unix seconds.
    pub created_at: u64,
    pub(crate) request: CreateRequest,
    /// The request's input items as stored (with ids).
    pub input_items: Vec<Value>,
    /// Everything the model saw: earlier items, then the input items.
    pub context: Vec<Value>,
    pub(crate) outcome: Outcome,
    /// Current status.
    pub status: ResponseStatus,
    /// Unix seconds, once completed.
    pub completed_at: Option<u64>,
    /// Ticks spent in the current status (background responses).
    pub(crate) ticks: u32,
    /// The planned stream events (streamed responses), with `sequence_number`s.
    pub(crate) events: Vec<Value>,
    /// Events sent (or, after a cut, produced) so far.
    pub(crate) emitted: usize,
}

impl StoredResponse {
    /// The `response` object as it is now; `include` adds `code_interpreter_call.outputs`.
    pub fn to_json(&self, include: &[String]) -> Value {
        self.snapshot(self.status, include)
    }

    /// The `response` object as it looks in `status` (output and usage only once it ended).
    pub(crate) fn snapshot(&self, status: ResponseStatus, include: &[String]) -> Value {
        let req = &self.request;
        let mut include = include.to_vec();
        include.extend(req.include.iter().cloned());
        let ended = matches!(
            status,
            ResponseStatus::Completed | ResponseStatus::Incomplete
        );
        let output: Vec<Value> = if ended {
            self.outcome
                .output
                .iter()
                .map(|i| items::render(i, &include))
                .collect()
        } else {
            Vec::new()
        };
        let mut body = json!({
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status.as_str(),
            "background": req.background,
            "completed_at": if status == ResponseStatus::Completed { json!(self.completed_at.unwrap_or_else(now_unix)) } else { Value::Null },
            "conversation": req.conversation.as_ref().map(|id| json!({"id": id})),
            "error": if status == ResponseStatus::Failed { self.outcome.error.clone() } else { Value::Null },
            "incomplete_details": if status == ResponseStatus::Incomplete { self.outcome.incomplete_details.clone() } else { Value::Null },
            "instructions": req.instructions,
            "max_output_tokens": req.max_output_tokens,
            "model": req.model,
            "output": output,
            "parallel_tool_calls": req.parallel_tool_calls,
            "previous_response_id": req.previous_response_id,
            "reasoning": req.reasoning,
            "service_tier": req.service_tier,
            "store": req.store,
            "temperature": req.temperature,
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": req.tool_choice,
            "tools": req.tools,
            "top_p": req.top_p,
            "truncation": req.truncation,
            "usage": if ended { self.outcome.usage.clone() } else { Value::Null },
            "metadata": req.metadata,
        });
        for (key, value) in &req.echo {
            body[key] = value.clone();
        }
        if body["top_logprobs"].is_null() {
            body["top_logprobs"] = json!(0);
        }
        body
    }
}
