//! The emulated Responses model: what it answers, decided by fixed rules so that a backend's tests
//! can steer it. The *question* is the text of the latest `user` message in the context
//! (conversation items or the previous response's context and output, then `input`); the items
//! after it are the current turn.
//!
//! 1. **Forced tools.** `tool_choice: {"type":"function","name"}` always calls that function;
//!    `{"type":"code_interpreter"}` always runs the analysis; `required` always calls a tool (as
//!    below, falling back to the first function, or the code interpreter when there are no
//!    functions) — even when the turn already holds function outputs, as a real model under
//!    `required` does. `tool_choice: "none"` never calls a tool.
//! 2. **Function outputs answer the question.** With `auto`, when the current turn holds
//!    `function_call_output` items, the model answers text quoting each output verbatim:
//!    `[emulated] <name> returned: <output>` (one line per output).
//! 3. **Code interpreter.** When `code_interpreter` is declared and the question contains one of
//!    [`ANALYSIS_WORDS`] (case-insensitive, English as whole words or plurals: chart, plot,
//!    graph, decade, histogram, how many, count, statistic…, analy…, visuali…, distribution,
//!    per year, by year; 차트, 그래프, 년대, 연대,
//!    몇 개, 몇개, 개수, 통계, 분석, 시각화, 분포), the model runs the canned analysis of
//!    [`crate::openai::analysis`] on the first `.csv` file of the container: a
//!    `code_interpreter_call` item, then a message `[emulated] Events per decade in <file> (column
//!    '<col>'): 1910s: 3, … The most events are in the 1940s (5 events). [Download the
//!    chart](sandbox:/mnt/data/events_per_decade.png)` whose `output_text` carries a
//!    `container_file_citation` (`container_id`, `file_id` of the PNG, `filename:
//!    "events_per_decade.png"`, `start_index`/`end_index` in characters around the markdown link).
//!    The PNG is downloadable at `GET /v1/containers/{container_id}/files/{file_id}/content`.
//! 4. **Function calls.** With function tools declared: a question holding row ids — `MM-DD`
//!    tokens such as `08-15`, or a double-quoted token with a digit and no space (`"movie_0001"`,
//!    also `“…”`, `「…」`, `『…』`, `‘…’`) — calls the first function with an id property
//!    (`schema::id_property`) with those ids; otherwise a quoted text, or the words after
//!    `search`/`find`/`look up`/`look for`/`titled` (the words before `검색`/`찾아` in Korean), calls
//!    the first function with a query property (`schema::query_property`) with that text.
//!    The call is one `function_call` item (`call_id` `call_…`, `arguments` built by
//!    `schema::arguments`, valid against the schema). No match with `auto` → rule 5.
//! 5. **Plain answer.** `[emulated] You asked: "<question>". Earlier user turns in this
//!    conversation: <n>.` where n counts the `user` messages before the question.

use serde_json::{Value, json};

use crate::openai::items;
use crate::openai::request::CreateRequest;
use crate::openai::schema::{self, Fill};
use crate::openai::tools::{Choice, FunctionDef};

/// Words that make the model run the code interpreter (see the module docs). English words match
/// at a word start and, unless they end with `*` (a stem), end at a word end or with a plural `s`;
/// Korean words match anywhere.
pub const ANALYSIS_WORDS: [&str; 24] = [
    "chart",
    "plot",
    "graph",
    "decade",
    "histogram",
    "how many",
    "count",
    "statistic*",
    "analy*",
    "visuali*",
    "distribution",
    "per year",
    "by year",
    "차트",
    "그래프",
    "년대",
    "연대",
    "몇 개",
    "몇개",
    "개수",
    "통계",
    "분석",
    "시각화",
    "분포",
];

/// What the model does this turn.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Decision {
    /// Answer this text.
    Text(String),
    /// Call a function with these arguments (a JSON string).
    Call { name: String, arguments: String },
    /// Run the canned analysis in the code interpreter.
    Analyze,
}

/// The question and the position of the latest `user` message.
pub(crate) fn question(context: &[Value]) -> (Option<usize>, String) {
    let at = context
        .iter()
        .rposition(|i| i["type"] == "message" && i["role"] == "user");
    let text = at.map(|i| items::text(&context[i])).unwrap_or_default();
    (at, text)
}

/// Whether a question asks for an analysis.
pub(crate) fn wants_analysis(question: &str) -> bool {
    let lower = question.to_ascii_lowercase();
    ANALYSIS_WORDS.iter().any(|word| {
        let (word, stem) = match word.strip_suffix('*') {
            Some(w) => (w, true),
            None => (*word, false),
        };
        if !word.is_ascii() {
            return lower.contains(word);
        }
        lower.match_indices(word).any(|(at, _)| {
            let before = lower[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric());
            let rest = &lower[at + word.len()..];
            let rest = rest.strip_prefix('s').unwrap_or(rest);
            let after = rest.chars().next().is_none_or(|c| !c.is_alphanumeric());
            before && (stem || after)
        })
    })
}

/// Row ids and the quoted texts in a question (see the module docs).
pub(crate) fn ids_and_quotes(question: &str) -> (Vec<String>, Vec<String>) {
    let mut ids: Vec<String> = Vec::new();
    let chars: Vec<char> = question.chars().collect();
    for i in 0..chars.len().saturating_sub(4) {
        let w = &chars[i..i + 5];
        let shape = w[0].is_ascii_digit()
            && w[1].is_ascii_digit()
            && w[2] == '-'
            && w[3].is_ascii_digit()
            && w[4].is_ascii_digit();
        let before = i == 0 || !chars[i - 1].is_alphanumeric();
        let after = chars.get(i + 5).is_none_or(|c| !c.is_alphanumeric());
        if shape && before && after {
            ids.push(w.iter().collect());
        }
    }
    let mut quotes = Vec::new();
    for (open, close) in [
        ('"', '"'),
        ('“', '”'),
        ('「', '」'),
        ('『', '』'),
        ('‘', '’'),
    ] {
        let mut rest = question;
        while let Some(start) = rest.find(open) {
            let after = &rest[start + open.len_utf8()..];
            let Some(end) = after.find(close) else { break };
            let quoted = after[..end].trim().to_string();
            if !quoted.is_empty() {
                let id_like = !quoted.contains(char::is_whitespace)
                    && quoted.contains(|c: char| c.is_ascii_digit());
                if id_like {
                    ids.push(quoted)
                } else {
                    quotes.push(quoted)
                }
            }
            rest = &after[end + close.len_utf8()..];
        }
    }
    ids.dedup();
    (ids, quotes)
}

/// The search text of a question: the first quoted text, else the words after an English trigger
/// or before a Korean one; `None` without either.
pub(crate) fn search_text(question: &str, quotes: &[String]) -> Option<String> {
    if let Some(q) = quotes.first() {
        return Some(q.clone());
    }
    let lower = question.to_ascii_lowercase();
    let strip = |s: &str| {
        s.trim()
            .trim_matches(|c: char| "?.!,:;".contains(c))
            .trim()
            .to_string()
    };
    for trigger in [
        "search for",
        "search",
        "find",
        "look up",
        "look for",
        "lookup",
        "titled",
    ] {
        if let Some(at) = lower.find(trigger) {
            let rest = &question[at + trigger.len()..];
            let rest = rest
                .trim_start()
                .strip_prefix("for ")
                .unwrap_or(rest.trim_start());
            let text = strip(rest);
            return Some(if text.is_empty() {
                strip(question)
            } else {
                text
            });
        }
    }
    for trigger in ["검색", "찾아"] {
        if let Some(at) = question.find(trigger) {
            let text = strip(&question[..at]);
            return Some(if text.is_empty() {
                strip(question)
            } else {
                text
            });
        }
    }
    None
}

/// A function call that fits the question, if any (rule 4), or the forced/first function.
fn pick_function(
    functions: &[FunctionDef],
    question: &str,
    forced: Option<&str>,
) -> Option<Decision> {
    let (ids, quotes) = ids_and_quotes(question);
    let query = search_text(question, &quotes);
    let fill = Fill {
        ids: ids.clone(),
        query: query.clone().unwrap_or_else(|| question.trim().to_string()),
    };
    let call = |f: &FunctionDef| Decision::Call {
        name: f.name.clone(),
        arguments: schema::arguments(&f.parameters, &fill).to_string(),
    };
    if let Some(name) = forced {
        return functions.iter().find(|f| f.name == name).map(call);
    }
    let by_ids = functions
        .iter()
        .find(|f| !ids.is_empty() && schema::id_property(&f.parameters).is_some());
    let by_query = || {
        functions
            .iter()
            .find(|f| query.is_some() && schema::query_property(&f.parameters).is_some())
    };
    by_ids.or_else(by_query).map(call)
}

/// The outputs of the current turn as `(function name, output text)`.
pub(crate) fn turn_outputs(context: &[Value], from: usize) -> Vec<(String, String)> {
    let turn = &context[from.min(context.len())..];
    turn.iter()
        .filter(|i| i["type"] == "function_call_output")
        .map(|out| {
            let name = context
                .iter()
                .find(|c| c["type"] == "function_call" && c["call_id"] == out["call_id"])
                .and_then(|c| c["name"].as_str())
                .unwrap_or("the function");
            (name.to_string(), items::output_text(&out["output"]))
        })
        .collect()
}

/// What the model does for `request` given the whole context (rules 1–5 of the module docs).
pub(crate) fn decide(request: &CreateRequest, context: &[Value]) -> Decision {
    let (at, q) = question(context);
    let earlier = context[..at.unwrap_or(0)]
        .iter()
        .filter(|i| i["type"] == "message" && i["role"] == "user")
        .count();
    let outputs = turn_outputs(context, at.map_or(0, |i| i + 1));
    let analysis = request.code_interpreter.is_some();
    let text = || {
        if outputs.is_empty() {
            Decision::Text(format!(
                "[emulated] You asked: \"{}\". Earlier user turns in this conversation: {earlier}.",
                q.trim()
            ))
        } else {
            Decision::Text(
                outputs
                    .iter()
                    .map(|(name, out)| format!("[emulated] {name} returned: {out}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        }
    };
    match &request.choice {
        Choice::None => text(),
        Choice::CodeInterpreter => Decision::Analyze,
        Choice::Function(name) => {
            pick_function(&request.functions, &q, Some(name)).unwrap_or_else(text)
        }
        Choice::Required if analysis && (wants_analysis(&q) || request.functions.is_empty()) => {
            Decision::Analyze
        }
        Choice::Required => pick_function(&request.functions, &q, None)
            .or_else(|| {
                pick_function(
                    &request.functions,
                    &q,
                    request.functions.first().map(|f| f.name.as_str()),
                )
            })
            .unwrap_or_else(text),
        Choice::Auto if !outputs.is_empty() => text(),
        Choice::Auto if analysis && wants_analysis(&q) => Decision::Analyze,
        Choice::Auto => pick_function(&request.functions, &q, None).unwrap_or_else(text),
    }
}

/// A `function_call` output item.
pub(crate) fn function_call_item(name: &str, arguments: &str) -> Value {
    json!({
        "type": "function_call",
        "id": crate::openai::wire::new_id("fc_"),
        "call_id": format!("call_{}", crate::util::random_alnum(24)),
        "name": name,
        "arguments": arguments,
        "status": "completed",
    })
}

/// An assistant `message` output item with one `output_text` part.
pub(crate) fn message_item(text: &str, annotations: Vec<Value>) -> Value {
    json!({
        "type": "message",
        "id": crate::openai::wire::new_id("msg_"),
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": annotations, "logprobs": []}],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_quotes_and_search_texts() {
        let (ids, quotes) =
            ids_and_quotes("Show rows 08-15 and \"movie_0001\", not 2008-15-1 or “Moon landing”");
        assert_eq!(ids, ["08-15", "movie_0001"]);
        assert_eq!(quotes, ["Moon landing"]);
        assert_eq!(
            search_text("Find events about the Berlin Wall?", &[]).as_deref(),
            Some("events about the Berlin Wall")
        );
        assert_eq!(
            search_text("Search for titles with moon", &[]).as_deref(),
            Some("titles with moon")
        );
        assert_eq!(
            search_text("3·1 운동 관련 사건 찾아줘", &[]).as_deref(),
            Some("3·1 운동 관련 사건")
        );
        assert_eq!(search_text("hello there", &[]), None);
        assert!(wants_analysis("Which decades have the most events?"));
        assert!(wants_analysis("년대별로 차트를 그려줘"));
        assert!(!wants_analysis("Tell me about 08-15"));
        assert!(!wants_analysis("Which country signed it?"));
        assert!(wants_analysis("Count the events, then analyse them"));
    }
}
