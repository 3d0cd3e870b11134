//! The body of `POST /v1/responses` (the spec's `CreateResponse`,
//! <https://platform.openai.com/docs/api-reference/responses/create>) for one chat turn: the
//! `conversation` it continues, the `input` items of this turn (the person's messages, or the
//! outputs of the function calls the model asked for), the `instructions`, the function tools
//! (`strict` JSON schemas) and the `code_interpreter` tool with an `auto` container holding the
//! sheet's CSV.

use almanac_core::catalog::Tokenizer;
use serde_json::{Value, json};

/// A function the model may call (`{"type": "function", "name", "description", "parameters",
/// "strict": true}`, <https://platform.openai.com/docs/guides/function-calling>). `parameters`
/// is a JSON Schema of `type: "object"` whose every property is `required` and that has
/// `additionalProperties: false`, as strict mode demands.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionTool {
    /// `^[a-zA-Z0-9_-]{1,64}$`.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// The JSON Schema of its arguments.
    pub parameters: Value,
}

/// One input item of a turn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputItem {
    /// `{"type": "message", "role": "user", "content": text}`.
    UserMessage(String),
    /// `{"type": "function_call_output", "call_id", "output"}`: the answer to a function call of
    /// the previous response of the turn.
    FunctionOutput {
        /// The call's `call_id` (`call_…`).
        call_id: String,
        /// What the function returned (JSON text).
        output: String,
    },
}

/// How the response is delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// `background: true`: the answer is polled with `GET /v1/responses/{id}`.
    Background,
    /// `background: true, stream: true`: Server-Sent Events as it is written; after a broken
    /// connection the response goes on and can still be polled.
    Streamed,
}

/// One response of a chat turn.
#[derive(Clone, Debug, PartialEq)]
pub struct ResponseRequest {
    /// A model id of the Responses API (`gpt-4.1-mini-2025-04-14`).
    pub model: String,
    /// The system instructions (not kept in the conversation: sent with every response).
    pub instructions: String,
    /// The conversation (`conv_…`) the input and output items are appended to.
    pub conversation: String,
    /// This response's input items.
    pub input: Vec<InputItem>,
    /// Function tools.
    pub functions: Vec<FunctionTool>,
    /// Files (`file-…`) given to the `code_interpreter` tool; empty: no code interpreter.
    pub code_interpreter_files: Vec<String>,
    /// `max_output_tokens` (at least 16).
    pub max_output_tokens: Option<u32>,
    /// `metadata` (at most 16 pairs; keys ≤ 64, values ≤ 512 characters).
    pub metadata: Vec<(String, String)>,
}

impl ResponseRequest {
    /// The JSON body. With async-openai's `byot` feature the body must say `"stream": true`
    /// itself for a stream.
    pub(crate) fn body(&self, delivery: Delivery) -> Value {
        let mut body = json!({
            "model": self.model,
            "conversation": self.conversation,
            "instructions": self.instructions,
            "input": self.input.iter().map(input_item).collect::<Vec<_>>(),
            "tools": self.tools(),
            "background": true,
            "store": true,
        });
        if delivery == Delivery::Streamed {
            body["stream"] = json!(true);
        }
        if let Some(max) = self.max_output_tokens {
            body["max_output_tokens"] = json!(max.max(16));
        }
        if !self.metadata.is_empty() {
            let pairs = self.metadata.iter().map(|(k, v)| (k.clone(), json!(v)));
            body["metadata"] = Value::Object(pairs.collect());
        }
        body
    }

    /// The `tools` array: the functions, then the code interpreter when it has files.
    fn tools(&self) -> Vec<Value> {
        let mut tools: Vec<Value> = self
            .functions
            .iter()
            .map(|f| {
                json!({"type": "function", "name": f.name, "description": f.description,
                       "parameters": f.parameters, "strict": true})
            })
            .collect();
        if !self.code_interpreter_files.is_empty() {
            tools.push(json!({"type": "code_interpreter",
                "container": {"type": "auto", "file_ids": self.code_interpreter_files}}));
        }
        tools
    }

    /// An estimate of the input tokens of this body beyond the conversation's earlier items: the
    /// instructions, the tool definitions (as their JSON text) and the input items' text, counted
    /// with the model's encoding and chat framing ([`crate::tokens::request_input_tokens`]).
    /// How the service renders tools is not published; this is an approximation for budgets.
    pub fn input_tokens(&self, tokenizer: Tokenizer) -> u64 {
        let tools = serde_json::to_string(&self.tools()).unwrap_or_default();
        let mut messages = vec![
            json!({"role": "system", "content": self.instructions}),
            json!({"role": "system", "content": tools}),
        ];
        messages.extend(self.input.iter().map(|item| match item {
            InputItem::UserMessage(text) => json!({"role": "user", "content": text}),
            InputItem::FunctionOutput { output, .. } => json!({"role": "tool", "content": output}),
        }));
        crate::tokens::request_input_tokens(tokenizer, &json!({ "messages": messages }))
    }
}

/// One input item as JSON.
fn input_item(item: &InputItem) -> Value {
    match item {
        InputItem::UserMessage(text) => json!({"type": "message", "role": "user", "content": text}),
        InputItem::FunctionOutput { call_id, output } => {
            json!({"type": "function_call_output", "call_id": call_id, "output": output})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ResponseRequest {
        ResponseRequest {
            model: "gpt-4.1-mini-2025-04-14".into(),
            instructions: "Answer about the sheet.".into(),
            conversation: "conv_1".into(),
            input: vec![InputItem::UserMessage("Which decade?".into())],
            functions: vec![FunctionTool {
                name: "get_rows".into(),
                description: "Rows by id.".into(),
                parameters: json!({"type": "object", "properties": {"row_ids": {"type": "array", "items": {"type": "string"}}},
                                   "required": ["row_ids"], "additionalProperties": false}),
            }],
            code_interpreter_files: vec!["file-1".into()],
            max_output_tokens: Some(8),
            metadata: vec![("thread_id".into(), "thread_1".into())],
        }
    }

    #[test]
    fn a_streamed_body_says_stream_and_carries_both_kinds_of_tools() {
        let body = request().body(Delivery::Streamed);
        assert_eq!(
            (body["stream"].clone(), body["background"].clone()),
            (json!(true), json!(true))
        );
        assert_eq!(body["conversation"], "conv_1");
        assert_eq!(
            body["input"][0],
            json!({"type": "message", "role": "user", "content": "Which decade?"})
        );
        assert_eq!(body["tools"][0]["strict"], true);
        assert_eq!(
            body["tools"][1]["container"],
            json!({"type": "auto", "file_ids": ["file-1"]})
        );
        assert_eq!(body["max_output_tokens"], 16, "the API's minimum");
        assert_eq!(body["metadata"], json!({"thread_id": "thread_1"}));
        let polled = request().body(Delivery::Background);
        assert!(polled.get("stream").is_none());
        let mut outputs = request();
        outputs.input = vec![InputItem::FunctionOutput {
            call_id: "call_1".into(),
            output: "[]".into(),
        }];
        assert_eq!(
            outputs.body(Delivery::Background)["input"][0]["type"],
            "function_call_output"
        );
        assert!(request().input_tokens(Tokenizer::O200kBase) > 20);
    }
}
