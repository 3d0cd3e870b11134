//! Input tokens of request bodies, counted as OpenAI bills them, and the estimate of a job built
//! on those counts.
//!
//! The count runs over the exact bodies [`crate::jsonl::request_body`] builds, with the model's
//! tiktoken encoding (`o200k_base` or `cl100k_base`, as implemented by GitHub's `bpe-openai`, whose
//! prebuilt tables load in a fraction of tiktoken-rs's time and count faster; the tests hold its
//! counts equal to tiktoken-rs's) and the chat framing of OpenAI's cookbook ("How to count tokens with
//! tiktoken"); the emulator counts `usage.prompt_tokens` by the same published rules in its own
//! code, so a test can hold them equal. Pricing the counts is [`almanac_core::cost`]'s job:
//! [`estimate_with`] counts and hands over.
//!
//! Every body of one model differs from the others only by its user message, so an
//! [`InputCounter`] counts the rest (system prompt, schema, roles and framing) once per model and
//! prompt template, from one exact body, and then only each row's user message: counting 50,000
//! rows encodes 50,000 short strings, not 50,000 bodies. The tokenizer itself is built on first
//! use, once per process, so a command that counts nothing never loads it.

use std::sync::OnceLock;

use almanac_core::catalog::{ModelSpec, Tokenizer};
use almanac_core::cost::{self, CountedRequest, OutputPrediction, predict_output};
use almanac_core::domain::{RowId, RowInput};
use almanac_protocol::Estimate;

/// Framing tokens per chat message (`<|start|>{role}<|message|>…<|end|>` minus the role itself),
/// as in OpenAI's cookbook "How to count tokens with tiktoken".
const TOKENS_PER_MESSAGE: u64 = 3;

/// Tokens that prime the assistant's reply, once per request (same source).
const REPLY_PRIMING_TOKENS: u64 = 3;

/// The encoder of `tokenizer`, loaded on first use and shared by the process (`bpe-openai` keeps
/// it in a static; loading deserialises prebuilt tables, about 50 ms).
fn bpe(tokenizer: Tokenizer) -> &'static bpe_openai::Tokenizer {
    match tokenizer {
        Tokenizer::O200kBase => bpe_openai::o200k_base(),
        Tokenizer::Cl100kBase => bpe_openai::cl100k_base(),
    }
}

/// Longest piece remembered, in bytes (longer ones are rare: runs of digits, spaces, symbols).
const PIECE_MAX_BYTES: usize = 48;
/// Pieces remembered per thread and encoding before the memory is cleared.
const PIECES_REMEMBERED: usize = 100_000;

thread_local! {
    /// Tokens of each piece seen, per encoding: titles of one language repeat their words.
    static PIECES: std::cell::RefCell<[std::collections::HashMap<Box<str>, u32>; 2]> =
        Default::default();
}

/// Tokens in `text` (no special tokens): the sum over the pieces of the encoding's
/// pre-tokenization (as `bpe_openai::Tokenizer::count` does), each piece's count remembered by
/// the thread.
fn count(tokenizer: Tokenizer, text: &str) -> u64 {
    let bpe = bpe(tokenizer);
    let text = bpe.normalize(text);
    let slot = match tokenizer {
        Tokenizer::O200kBase => 0,
        Tokenizer::Cl100kBase => 1,
    };
    PIECES.with_borrow_mut(|memo| {
        let memo = &mut memo[slot];
        bpe.split(text.as_str())
            .map(|piece| {
                if piece.len() > PIECE_MAX_BYTES {
                    return bpe.bpe.count(piece.as_bytes()) as u64;
                }
                if let Some(&n) = memo.get(piece) {
                    return u64::from(n);
                }
                let n = bpe.bpe.count(piece.as_bytes());
                if memo.len() >= PIECES_REMEMBERED {
                    memo.clear();
                }
                memo.insert(piece.into(), u32::try_from(n).unwrap_or(u32::MAX));
                n as u64
            })
            .sum()
    })
}

/// Input tokens of one Chat Completions request body, counted the way OpenAI's cookbook ("How to
/// count tokens with tiktoken") counts chat input, with the model's encoding:
///
/// - per message: 3 framing tokens + the role + the content (text parts of an array are counted
///   as text) + 1 and the name when a `name` is given;
/// - 3 tokens priming the reply;
/// - structured outputs: the compact JSON text of `response_format.json_schema`. How the service
///   renders the schema internally is not published; this is the approximation the emulator uses
///   too, so the estimate and the emulator's `usage.prompt_tokens` agree exactly.
///
/// `body` is the exact body sent ([`crate::jsonl::request_body`]). Long texts that repeat
/// in every body (the system prompt, the schema) are counted once per process and remembered.
pub(crate) fn request_input_tokens(tokenizer: Tokenizer, body: &serde_json::Value) -> u64 {
    let mut tokens = REPLY_PRIMING_TOKENS;
    for message in body
        .get("messages")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
    {
        tokens += TOKENS_PER_MESSAGE;
        if let Some(role) = message.get("role").and_then(serde_json::Value::as_str) {
            tokens += count_remembered(tokenizer, role);
        }
        match message.get("content") {
            Some(serde_json::Value::String(text)) => tokens += count_remembered(tokenizer, text),
            Some(serde_json::Value::Array(parts)) => {
                for part in parts {
                    if let Some(text) = part.get("text").and_then(serde_json::Value::as_str) {
                        tokens += count_remembered(tokenizer, text);
                    }
                }
            }
            _ => {}
        }
        if let Some(name) = message.get("name").and_then(serde_json::Value::as_str) {
            tokens += 1 + count(tokenizer, name);
        }
    }
    if let Some(schema) = body.pointer("/response_format/json_schema") {
        let text = serde_json::to_string(schema).expect("a JSON value serializes");
        tokens += count_remembered(tokenizer, &text);
    }
    tokens
}

/// Tokens of the part of [`request_input_tokens`] that every request of a job shares (system
/// messages and the schema): the prefix a provider may serve from its prompt cache.
pub(crate) fn shared_prefix_tokens(tokenizer: Tokenizer, body: &serde_json::Value) -> u64 {
    let system_only = serde_json::json!({
        "messages": body
            .get("messages")
            .and_then(serde_json::Value::as_array)
            .map(|m| {
                m.iter()
                    .filter(|m| m.get("role").and_then(serde_json::Value::as_str) == Some("system"))
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
        "response_format": body.get("response_format").cloned().unwrap_or_default(),
    });
    request_input_tokens(tokenizer, &system_only) - REPLY_PRIMING_TOKENS
}

/// Counts `text`; texts of 256 bytes or more (the system prompt, the schema) are remembered, so
/// counting 50,000 bodies encodes them once.
fn count_remembered(tokenizer: Tokenizer, text: &str) -> u64 {
    use std::collections::HashMap;
    use std::sync::Mutex;
    const REMEMBER_FROM_BYTES: usize = 256;
    const MAX_REMEMBERED: usize = 64;
    if text.len() < REMEMBER_FROM_BYTES {
        return count(tokenizer, text);
    }
    static MEMO: OnceLock<Mutex<HashMap<(Tokenizer, String), u64>>> = OnceLock::new();
    let memo = MEMO.get_or_init(Default::default);
    let key = (tokenizer, text.to_owned());
    if let Some(n) = memo.lock().expect("not poisoned").get(&key) {
        return *n;
    }
    let n = count(tokenizer, text);
    let mut memo = memo.lock().expect("not poisoned");
    if memo.len() >= MAX_REMEMBERED {
        memo.clear();
    }
    memo.insert(key, n);
    n
}

/// Counts the input tokens of a model's request bodies (see the module documentation): the part
/// every body shares is counted once per (model, prompt template) and process, each row's user
/// message per row. `count(title)` equals [`request_input_tokens`] of
/// [`crate::jsonl::request_body`]`(spec, title)` (a test holds them equal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputCounter {
    tokenizer: Tokenizer,
    /// Tokens of a body without its user message's text.
    fixed: u64,
    /// [`shared_prefix_tokens`] of the bodies.
    prefix: u64,
}

impl InputCounter {
    /// The counter of `spec`'s bodies; the first one of a model in a process loads the tokenizer
    /// and counts the shared part, later ones reuse that count.
    pub fn new(spec: &ModelSpec) -> InputCounter {
        use std::collections::HashMap;
        use std::sync::Mutex;
        type Shared = (u64, u64);
        static SHARED: OnceLock<Mutex<HashMap<(String, &'static str), Shared>>> = OnceLock::new();
        let key = (spec.id.clone(), almanac_core::prompt::template_id());
        let memo = SHARED.get_or_init(Default::default);
        if let Some(&(fixed, prefix)) = memo.lock().expect("not poisoned").get(&key) {
            return InputCounter {
                tokenizer: spec.tokenizer,
                fixed,
                prefix,
            };
        }
        let body = crate::jsonl::request_body(spec, "");
        let user = almanac_core::prompt::user_message("");
        let fixed = request_input_tokens(spec.tokenizer, &body) - count(spec.tokenizer, &user);
        let prefix = shared_prefix_tokens(spec.tokenizer, &body);
        memo.lock()
            .expect("not poisoned")
            .insert(key, (fixed, prefix));
        InputCounter {
            tokenizer: spec.tokenizer,
            fixed,
            prefix,
        }
    }

    /// Input tokens of the body of `title`.
    pub fn count(&self, title: &str) -> u64 {
        self.fixed + count(self.tokenizer, &almanac_core::prompt::user_message(title))
    }

    /// Tokens every body shares ([`shared_prefix_tokens`]).
    pub fn shared_prefix(&self) -> u64 {
        self.prefix
    }
}

/// What generating these rows would cost and how long it would take, with the catalogue's output
/// figure. Same as [`estimate_with`] with [`predict_output`]`(spec, None)`.
pub fn estimate(spec: &ModelSpec, rows: &[RowInput]) -> Estimate {
    estimate_with(spec, rows, predict_output(spec, None))
}

/// Same as [`estimate`] over bare titles (row ids `1`, `2`, … in the per-row figures).
pub fn estimate_titles<'a>(
    spec: &ModelSpec,
    titles: impl IntoIterator<Item = &'a str>,
) -> Estimate {
    let rows: Vec<RowInput> = titles
        .into_iter()
        .enumerate()
        .map(|(i, title)| RowInput {
            id: RowId::parse(&(i + 1).to_string()).expect("a number is a row id"),
            title: title.to_owned(),
        })
        .collect();
    estimate(spec, &rows)
}

/// Counts each row's exact request body (with an [`InputCounter`], the same figure as
/// [`request_input_tokens`]) and the part every body shares ([`shared_prefix_tokens`]), then prices
/// them with [`almanac_core::cost::estimate`] (see there
/// for caching, output and waits).
pub fn estimate_with(
    spec: &ModelSpec,
    rows: &[RowInput],
    prediction: OutputPrediction,
) -> Estimate {
    if rows.is_empty() {
        return cost::estimate(spec, &[], 0, prediction);
    }
    let counter = InputCounter::new(spec);
    let tokens = count_rows(&counter, rows);
    let requests: Vec<CountedRequest<'_>> = rows
        .iter()
        .zip(tokens)
        .map(|(row, input_tokens)| CountedRequest {
            id: row.id.as_str(),
            input_tokens,
        })
        .collect();
    cost::estimate(spec, &requests, counter.shared_prefix(), prediction)
}

/// Rows from which counting is split over the machine's cores.
const PARALLEL_FROM_ROWS: usize = 8_192;

/// Each row's input tokens, in order; large sets are counted on every core (scoped threads, each
/// a consecutive slice).
fn count_rows(counter: &InputCounter, rows: &[RowInput]) -> Vec<u64> {
    let count = |slice: &[RowInput]| -> Vec<u64> {
        slice.iter().map(|row| counter.count(&row.title)).collect()
    };
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if rows.len() < PARALLEL_FROM_ROWS || cores < 2 {
        return count(rows);
    }
    let chunk = rows.len().div_ceil(cores.min(8));
    std::thread::scope(|scope| {
        let handles: Vec<_> = rows
            .chunks(chunk)
            .map(|slice| scope.spawn(move || count(slice)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("counting does not panic"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use almanac_core::catalog::Catalog;
    use almanac_core::prompt;

    fn row(id: &str, title: &str) -> RowInput {
        RowInput {
            id: RowId::parse(id).unwrap(),
            title: title.into(),
        }
    }

    #[test]
    fn input_tokens_match_a_hand_count_of_the_messages() {
        let spec = Catalog::builtin()
            .resolve("gpt-4.1-mini-2025-04-14")
            .unwrap();
        let bpe = tiktoken_rs::o200k_base_singleton();
        let n = |s: &str| bpe.encode_ordinary(s).len() as u64;
        let schema = serde_json::to_string(&prompt::response_format()["json_schema"]).unwrap();
        let title = "오키나와 전투 개시";
        let expected = 3
            + n("system")
            + n(prompt::SYSTEM_PROMPT)
            + n(&schema)
            + 3
            + n("user")
            + n(&prompt::user_message(title))
            + 3;
        let e = estimate(spec, &[row("04-01", title)]);
        assert_eq!(e.rows, 1);
        assert_eq!(e.input_tokens, expected);
        assert_eq!(e.output_tokens, u64::from(spec.typical_output_tokens));
    }

    #[test]
    fn costs_follow_the_prices_and_batch_is_half_of_realtime() {
        let spec = Catalog::builtin().resolve("gpt-4.1-2025-04-14").unwrap();
        let rows: Vec<RowInput> = (0..10).map(|i| row(&format!("r{i}"), "3·1 운동")).collect();
        let e = estimate(spec, &rows);
        assert_eq!(
            e.cached_input_tokens, 0,
            "today's prompt is shorter than 1024 tokens"
        );
        let input = e.input_tokens as f64 * 2.00 / 1e6;
        let output = e.output_tokens as f64 * 8.00 / 1e6;
        assert!((e.realtime.input_usd - input).abs() < 1e-12);
        assert!((e.realtime.output_usd - output).abs() < 1e-12);
        assert!((e.realtime.total_usd - (input + output)).abs() < 1e-12);
        assert!((e.batch.total_usd - e.realtime.total_usd / 2.0).abs() < 1e-12);
        assert_eq!(e.model, "gpt-4.1-2025-04-14");
    }

    #[test]
    fn reasoning_models_count_reasoning_tokens_as_output() {
        let spec = Catalog::builtin().resolve("o3-2025-04-16").unwrap();
        let e = estimate(
            spec,
            &[row("a", "Battle of Hastings"), row("b", "Moon landing")],
        );
        assert_eq!(
            e.output_tokens,
            2 * u64::from(spec.typical_output_tokens + spec.typical_reasoning_tokens)
        );
        assert!(spec.typical_reasoning_tokens > 0);
    }

    #[test]
    fn no_rows_cost_nothing_and_take_no_time() {
        let spec = Catalog::builtin().default_spec();
        let e = estimate(spec, &[]);
        assert_eq!(
            (
                e.rows,
                e.input_tokens,
                e.output_tokens,
                e.batch_wait_seconds,
                e.realtime_wait_seconds
            ),
            (0, 0, 0, 0, 0)
        );
        assert_eq!(e.batch.total_usd, 0.0);
    }

    #[test]
    fn waits_grow_with_rows_and_batch_waits_stay_within_24_hours() {
        let spec = Catalog::builtin().resolve("gpt-4.1-2025-04-14").unwrap();
        let few = estimate_titles(spec, ["a"; 80]);
        assert_eq!(
            few.batch_wait_seconds,
            ((spec.typical_batch_minutes + spec.batch_minutes_per_1000_rows * 0.08) * 60.0).round()
                as u64
        );
        assert_eq!(
            few.realtime_wait_seconds,
            (10.0 * spec.typical_request_seconds).round() as u64
        );
        let many = estimate_titles(spec, std::iter::repeat_n("a", 1_000_000));
        assert!(many.batch_wait_seconds > few.batch_wait_seconds);
        assert!(many.batch_wait_seconds <= 24 * 3600);
    }

    #[test]
    fn the_counter_gives_the_count_of_the_exact_body_for_every_title_and_model() {
        for id in [
            "gpt-4.1-mini-2025-04-14",
            "o4-mini-2025-04-16",
            "gpt-4.1-2025-04-14",
        ] {
            let spec = Catalog::builtin().resolve(id).unwrap();
            let counter = InputCounter::new(spec);
            for title in [
                "오키나와 전투 개시",
                "  Moon landing ",
                "",
                "1945 — \"end\"\n of war",
            ] {
                let body = crate::jsonl::request_body(spec, title);
                assert_eq!(
                    counter.count(title),
                    request_input_tokens(spec.tokenizer, &body),
                    "{id}: {title:?}"
                );
                assert_eq!(
                    counter.shared_prefix(),
                    shared_prefix_tokens(spec.tokenizer, &body)
                );
            }
            assert_eq!(InputCounter::new(spec), counter, "counted once, remembered");
        }
        // Counted on several threads, in order.
        let spec = Catalog::builtin().default_spec();
        let rows: Vec<RowInput> = (0..10_000)
            .map(|i| row(&format!("r{i}"), &"word ".repeat(i % 7)))
            .collect();
        let e = estimate(spec, &rows);
        let counter = InputCounter::new(spec);
        for (r, per_row) in rows.iter().zip(&e.per_row) {
            assert_eq!(per_row.input_tokens, counter.count(&r.title));
        }
    }

    #[test]
    fn bpe_openai_counts_every_sample_text_as_tiktoken_rs_does() {
        // The emulator's sample sheets, through the dev-dependency (not a path Cargo cannot see).
        let samples = [
            almanac_emulator::SAMPLE_EN_CSV,
            almanac_emulator::SAMPLE_KO_CSV,
        ];
        let schema = serde_json::to_string(&prompt::response_format()["json_schema"]).unwrap();
        let o200k = tiktoken_rs::o200k_base_singleton();
        let cl100k = tiktoken_rs::cl100k_base_singleton();
        let texts = samples
            .iter()
            .flat_map(|s| s.lines())
            .map(prompt::user_message)
            .chain([
                prompt::SYSTEM_PROMPT.to_owned(),
                schema,
                " \n\t  x  \n\n".into(),
            ]);
        for text in texts {
            assert_eq!(
                count(Tokenizer::O200kBase, &text),
                o200k.encode_ordinary(&text).len() as u64,
                "{text:?}"
            );
            assert_eq!(
                count(Tokenizer::Cl100kBase, &text),
                cl100k.encode_ordinary(&text).len() as u64,
                "{text:?}"
            );
        }
    }
}
