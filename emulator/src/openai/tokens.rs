//! Token counts of the emulated model, so that `usage` is consistent with what a real tokenizer
//! says: tiktoken-rs with the model's own encoding (`o200k_base` for GPT-4o/4.1/5 and the
//! o-series, `cl100k_base` for GPT-4/3.5, `o200k_base` for names it does not know).
//!
//! Input follows OpenAI's cookbook "How to count tokens with tiktoken" for chat: per message 3
//! framing tokens + the role + the content (+1 and the name when a `name` is given), then 3 tokens
//! priming the reply. Structured outputs add the compact JSON text of
//! `response_format.json_schema` (how OpenAI renders the schema is not published; this is the
//! emulator's stand-in). Written independently of the product's estimate, from the same rules.
//!
//! Responses (`POST /v1/responses`) are counted the same way over items instead of messages
//! ([`response_input_tokens`]), with prompt caching for the items sent before
//! ([`cached_tokens`]).

use serde_json::Value;
use tiktoken_rs::CoreBPE;
use tiktoken_rs::tokenizer::{Tokenizer, get_tokenizer};

/// The encoder for a model name.
fn bpe(model: &str) -> &'static CoreBPE {
    match get_tokenizer(model) {
        Some(Tokenizer::Cl100kBase) => tiktoken_rs::cl100k_base_singleton(),
        _ => tiktoken_rs::o200k_base_singleton(),
    }
}

fn count(bpe: &CoreBPE, text: &str) -> u64 {
    bpe.encode_ordinary(text).len() as u64
}

/// `usage.prompt_tokens` of a Chat Completions request body.
pub fn prompt_tokens(body: &Value) -> u64 {
    let model = body.get("model").and_then(Value::as_str).unwrap_or("");
    let bpe = bpe(model);
    let mut tokens = 3;
    for m in body
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        tokens += 3;
        tokens += count(bpe, m.get("role").and_then(Value::as_str).unwrap_or(""));
        match m.get("content") {
            Some(Value::String(s)) => tokens += count(bpe, s),
            Some(Value::Array(parts)) => {
                for p in parts {
                    if let Some(t) = p.get("text").and_then(Value::as_str) {
                        tokens += count(bpe, t);
                    }
                }
            }
            _ => {}
        }
        if let Some(name) = m.get("name").and_then(Value::as_str) {
            tokens += 1 + count(bpe, name);
        }
    }
    if let Some(schema) = body.pointer("/response_format/json_schema") {
        tokens += count(bpe, &schema.to_string());
    }
    tokens
}

/// `usage.completion_tokens` of an answer text.
pub fn completion_tokens(model: &str, content: &str) -> u64 {
    count(bpe(model), content)
}

/// The output cap of a request (`max_completion_tokens`, else `max_tokens`), 0 when absent.
pub fn output_cap(body: &Value) -> u64 {
    body.get("max_completion_tokens")
        .and_then(Value::as_u64)
        .or_else(|| body.get("max_tokens").and_then(Value::as_u64))
        .unwrap_or(0)
}

/// `usage.input_tokens` of a Responses request
/// (<https://platform.openai.com/docs/api-reference/responses/object#responses/object-usage>),
/// by the same rules as chat: `instructions` count as a `developer` message, then per item 3
/// framing tokens + its role (messages) + its text ([`crate::openai::items`]: message parts, a
/// function call's name and arguments, a function output, code), then the compact JSON of `tools`
/// (when not empty), then 3 tokens priming the reply.
pub fn response_input_tokens(
    model: &str,
    instructions: Option<&str>,
    items: &[Value],
    tools: &[Value],
) -> u64 {
    let bpe = bpe(model);
    let mut tokens = 3;
    if let Some(text) = instructions {
        tokens += 3 + count(bpe, "developer") + count(bpe, text);
    }
    tokens += items_tokens(model, items);
    if !tools.is_empty() {
        tokens += count(bpe, &Value::Array(tools.to_vec()).to_string());
    }
    tokens
}

/// The tokens `items` add to a Responses request (see [`response_input_tokens`]).
pub fn items_tokens(model: &str, items: &[Value]) -> u64 {
    let bpe = bpe(model);
    items
        .iter()
        .map(|item| {
            let role = item.get("role").and_then(Value::as_str).unwrap_or("");
            3 + count(bpe, role) + count(bpe, &crate::openai::items::text(item))
        })
        .sum()
}

/// `input_tokens_details.cached_tokens` for a request whose first `prefix` input tokens were sent
/// before (the items of its conversation or previous response): OpenAI caches prompts of at
/// least 1024 tokens, in steps of 128 (<https://platform.openai.com/docs/guides/prompt-caching>).
pub fn cached_tokens(prefix: u64) -> u64 {
    if prefix < 1024 {
        0
    } else {
        1024 + (prefix - 1024) / 128 * 128
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_two_message_request_counts_framing_roles_contents_and_priming() {
        let bpe = tiktoken_rs::o200k_base_singleton();
        let n = |s: &str| bpe.encode_ordinary(s).len() as u64;
        let body = json!({"model": "gpt-4.1-mini-2025-04-14", "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Historical event: 3·1 운동"}]});
        let expected =
            3 + n("system") + n("Be brief.") + 3 + n("user") + n("Historical event: 3·1 운동") + 3;
        assert_eq!(prompt_tokens(&body), expected);
    }

    #[test]
    fn responses_count_instructions_items_and_tools() {
        let bpe = tiktoken_rs::o200k_base_singleton();
        let n = |s: &str| bpe.encode_ordinary(s).len() as u64;
        let items = [json!({"type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "How many events?"}]})];
        let bare = response_input_tokens("gpt-4.1", None, &items, &[]);
        assert_eq!(bare, 3 + 3 + n("user") + n("How many events?"));
        let with = response_input_tokens(
            "gpt-4.1",
            Some("Be brief."),
            &items,
            &[json!({"type": "code_interpreter"})],
        );
        assert!(with > bare + n("Be brief."));
        assert_eq!(cached_tokens(1023), 0);
        assert_eq!(cached_tokens(1300), 1280);
    }

    #[test]
    fn the_schema_counts_and_the_cap_is_read_from_either_field() {
        let without = json!({"model": "o3", "messages": []});
        let with = json!({"model": "o3", "messages": [], "max_completion_tokens": 9,
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "strict": true}}});
        assert!(prompt_tokens(&with) > prompt_tokens(&without));
        assert_eq!(output_cap(&with), 9);
        assert_eq!(output_cap(&json!({"max_tokens": 7})), 7);
        assert_eq!(output_cap(&without), 0);
    }
}
