//! The Responses API under `/v1/responses`
//! (<https://platform.openai.com/docs/api-reference/responses>), the successor of the Assistants
//! API's runs: `POST /v1/responses` checks the body ([`crate::openai::request`]), gathers the
//! context (the `conversation`'s items, or the `previous_response_id`'s context and output, then
//! the `input` items), lets the emulated model answer ([`crate::openai::model`]: a message, a
//! `function_call`, or a `code_interpreter_call` and a message with a chart) and reports `usage`
//! counted with tiktoken ([`crate::openai::tokens`]).
//!
//! Three ways to run, as the real service:
//! - **synchronous** (default): the answer is the finished `response` object;
//! - **`background: true`**: the answer has `status: "queued"`; the emulator's ticker (one tick
//!   per [`EmulatorConfig::step`](crate::config::EmulatorConfig::step)) moves it to
//!   `in_progress` after [`ResponsesConfig::queued_steps`] ticks and to its final status after
//!   [`ResponsesConfig::in_progress_steps`] more; `POST /v1/responses/{id}/cancel` makes a
//!   queued or in-progress background response `cancelled` (cancelling again returns it
//!   unchanged; other responses refuse with 400); [`crate::Emulator::hold_responses`] freezes it;
//! - **`stream: true`**: `text/event-stream` of the spec's `ResponseStreamEvent`s, in order, each
//!   with `sequence_number` from 0 ([`crate::openai::stream`]), paced by
//!   [`ResponsesConfig::event_delay`] and [`ResponsesConfig::first_token_delay`]. With
//!   `background: true` too, the events start with `response.queued` after `response.created`,
//!   and `GET /v1/responses/{id}?stream=true&starting_after=N` replays/follows them.
//!
//! A response with `conversation` appends its input items and then its output items to the
//! conversation when it ends `completed` or `incomplete` (not when `failed` or `cancelled`).
//! `store: false` responses cannot be retrieved, cancelled or used as `previous_response_id`.
//!
//! Other routes: `GET /v1/responses/{id}` (`include`, `stream`, `starting_after`),
//! `DELETE /v1/responses/{id}` (`{"id","object":"response","deleted":true}`),
//! `GET /v1/responses/{id}/input_items` (the response's own input items; `limit`, `order`,
//! `after`, `include`). Unknown ids: 404 `Response with id '…' not found.`; an unknown
//! `previous_response_id`: 400 `Previous response with id '…' not found.`
//! (`previous_response_not_found`); an unknown `conversation`: 404.
//!
//! Usage: `input_tokens` by [`crate::openai::tokens::response_input_tokens`] over the instructions,
//! the whole context and the tools; `cached_tokens` by [`crate::openai::tokens::cached_tokens`] of
//! the items taken from the conversation or previous response; `output_tokens` over the output
//! items' text (message text, function name and arguments, code); `reasoning_tokens` 0.
//!
//! The record of a response ([`StoredResponse`], [`ResponseStatus`]) lives in
//! [`crate::openai::response`], its timing and counters in [`crate::config`] and [`crate::counts`]
//! (all re-exported here), and how a response ends — shared with [`crate::openai::stream`] and the
//! ticker — in [`crate::openai::lifecycle`].

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::{Value, json};

pub use crate::config::ResponsesConfig;
pub use crate::counts::ResponseStats;
use crate::faults::ResponseFaultKind;
use crate::openai::lifecycle::{End, forget_unstored, no_such_response, settle, stored};
use crate::openai::model::{self, Decision};
use crate::openai::request::{self, CreateRequest};
use crate::openai::response::Outcome;
pub use crate::openai::response::{ResponseStatus, StoredResponse};
use crate::openai::tools::ContainerSpec;
use crate::openai::wire::{self, Refusal, bad_request, not_found};
use crate::openai::{conversations, items, tokens};
use crate::state::{Shared, State as World};
use crate::util::{form_get, now_unix, parse_form};

/// The routes of this module (state supplied by [`crate::openai::routes::router`]).
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/responses", post(create))
        .route("/v1/responses/{id}", get(retrieve).delete(remove))
        .route("/v1/responses/{id}/cancel", post(cancel))
        .route("/v1/responses/{id}/input_items", get(input_items))
}

/// The items before the input: the conversation's, or the previous response's context and output.
fn prior_items(state: &World, req: &CreateRequest) -> Result<Vec<Value>, Refusal> {
    if let Some(id) = &req.conversation {
        return match state.conversations.get(id) {
            Some(c) => Ok(c.items.clone()),
            None => Err(conversations::no_such_conversation(id)),
        };
    }
    let Some(id) = &req.previous_response_id else {
        return Ok(Vec::new());
    };
    match stored(state, id) {
        Some(prev) => {
            let mut items = prev.context.clone();
            if matches!(
                prev.status,
                ResponseStatus::Completed | ResponseStatus::Incomplete
            ) {
                items.extend(prev.outcome.output.iter().cloned());
            }
            Ok(items)
        }
        None => Err(bad_request(
            &format!("Previous response with id '{id}' not found."),
            Some("previous_response_id"),
            Some("previous_response_not_found"),
        )),
    }
}

/// The code interpreter's files and container must exist.
fn check_container(state: &World, req: &CreateRequest) -> Result<(), Refusal> {
    match &req.code_interpreter {
        Some(ContainerSpec::Id(id)) if !state.containers.contains_key(id) => Err(not_found(
            &format!("Container with id '{id}' not found."),
            Some("tools"),
        )),
        Some(ContainerSpec::Auto { file_ids, .. }) => {
            match file_ids.iter().find(|f| !state.files.contains_key(*f)) {
                Some(missing) => Err(bad_request(
                    &format!("No such File object: {missing}"),
                    Some("tools"),
                    Some("invalid_value"),
                )),
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// Uses up the first [`crate::faults::ResponseFault`] that applies.
fn take_fault(state: &mut World, req: &CreateRequest, question: &str) -> Option<ResponseFaultKind> {
    let fault = state.faults.responses.iter_mut().find(|f| {
        f.times > 0
            && (req.stream || !f.kind.streams_only())
            && f.matching.as_deref().is_none_or(|m| question.contains(m))
    })?;
    fault.times -= 1;
    Some(fault.kind)
}

/// Applies the rate limiter, if set: `Err` is the 429.
fn rate_limit(
    state: &mut World,
    req: &CreateRequest,
    input_tokens: u64,
) -> Result<Vec<(&'static str, String)>, Refusal> {
    let Some(limiter) = state.responses_limiter.as_mut() else {
        return Ok(Vec::new());
    };
    let verdict = limiter.admit(
        &req.model,
        input_tokens + req.max_output_tokens.unwrap_or(0),
    );
    match verdict.refusal {
        None => Ok(verdict.headers),
        Some(message) => {
            state.response_stats.throttled += 1;
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(wire::error_body(
                    &message,
                    if message.contains("(RPM)") {
                        "requests"
                    } else {
                        "tokens"
                    },
                    None,
                    Some("rate_limit_exceeded"),
                )),
            )
                .into_response();
            add_headers(&mut response, &verdict.headers);
            Err(response.into())
        }
    }
}

/// Adds `x-ratelimit-*` / `retry-after` headers.
fn add_headers(response: &mut Response, headers: &[(&'static str, String)]) {
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, value);
        }
    }
}

/// The output items for a decision.
fn output_for(state: &mut World, req: &CreateRequest, context: &[Value]) -> Vec<Value> {
    match model::decide(req, context) {
        Decision::Text(text) => vec![model::message_item(&text, Vec::new())],
        Decision::Call { name, arguments } => {
            state.response_stats.function_calls += 1;
            vec![model::function_call_item(&name, &arguments)]
        }
        Decision::Analyze => match &req.code_interpreter {
            Some(spec) => {
                state.response_stats.code_interpreter_runs += 1;
                crate::openai::interpreter::run(state, spec, context)
            }
            None => vec![model::message_item(
                "[emulated] The code interpreter is not available.",
                Vec::new(),
            )],
        },
    }
}

/// Makes the last message of `output` say `text`, its file citations moved to the Markdown link
/// of `text` to the same file (dropped when there is none).
fn replace_text(output: &mut [Value], text: &str) {
    let Some(message) = output.iter_mut().rev().find(|i| i["type"] == "message") else {
        return;
    };
    let content = &mut message["content"][0];
    content["text"] = json!(text);
    if let Some(annotations) = content["annotations"].as_array_mut() {
        annotations.retain_mut(|a| {
            let filename = a["filename"].as_str().unwrap_or_default();
            let Some((start, end)) = markdown_link(text, &format!("sandbox:/mnt/data/{filename}"))
            else {
                return false;
            };
            a["start_index"] = json!(start);
            a["end_index"] = json!(end);
            true
        });
    }
}

/// The span, in characters, of the Markdown link `[…](target)` of `text`.
fn markdown_link(text: &str, target: &str) -> Option<(usize, usize)> {
    let at = text.find(&format!("]({target})"))?;
    let open = text[..at].rfind('[')?;
    let close = at + target.len() + 3;
    Some((text[..open].chars().count(), text[..close].chars().count()))
}

/// Cuts the answer to fit `max_output_tokens` (or to half, for the `Incomplete` fault); returns
/// whether it was cut.
fn limit_output(output: &mut [Value], req: &CreateRequest, halve: bool) -> bool {
    let count = |items: &[Value]| -> u64 {
        items
            .iter()
            .map(|i| tokens::completion_tokens(&req.model, &items::text(i)))
            .sum()
    };
    let over = req.max_output_tokens.is_some_and(|max| count(output) > max);
    if !over && !halve {
        return false;
    }
    let Some(message) = output.iter_mut().rev().find(|i| i["type"] == "message") else {
        if let Some(last) = output.last_mut() {
            last["status"] = json!("incomplete");
        }
        return true;
    };
    let text = message["content"][0]["text"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let mut keep: String = text.chars().take(text.chars().count() / 2).collect();
    if let (false, Some(max)) = (halve, req.max_output_tokens) {
        let words: Vec<&str> = text.split_inclusive(' ').collect();
        keep.clear();
        for word in words {
            if tokens::completion_tokens(&req.model, &format!("{keep}{word}")) > max {
                break;
            }
            keep.push_str(word);
        }
    }
    let len = keep.chars().count() as u64;
    message["content"][0]["text"] = json!(keep);
    if let Some(annotations) = message["content"][0]["annotations"].as_array_mut() {
        annotations.retain(|a| a["end_index"].as_u64().is_none_or(|end| end <= len));
    }
    message["status"] = json!("incomplete");
    true
}

/// Plans the whole outcome of a response.
fn plan(
    state: &mut World,
    req: &CreateRequest,
    context: &[Value],
    prior: usize,
    fault: Option<ResponseFaultKind>,
) -> Outcome {
    if fault == Some(ResponseFaultKind::Failed) {
        return Outcome {
            output: Vec::new(),
            status: ResponseStatus::Failed,
            error: json!({"code": "server_error", "message": "[emulated] The model failed to generate a response (injected fault)."}),
            incomplete_details: Value::Null,
            usage: Value::Null,
        };
    }
    let mut output = output_for(state, req, context);
    if fault == Some(ResponseFaultKind::ForeignCitation) {
        crate::openai::interpreter::cite_elsewhere(state, &mut output);
    }
    if output.iter().any(|i| i["type"] == "message")
        && let Some(text) = state.next_answer_text.take()
    {
        replace_text(&mut output, &text);
    }
    let cut = limit_output(
        &mut output,
        req,
        fault == Some(ResponseFaultKind::Incomplete),
    );
    let input =
        tokens::response_input_tokens(&req.model, req.instructions.as_deref(), context, &req.tools);
    let cached =
        tokens::cached_tokens(tokens::items_tokens(&req.model, &context[..prior])).min(input);
    let out: u64 = output
        .iter()
        .map(|i| tokens::completion_tokens(&req.model, &items::text(i)))
        .sum();
    Outcome {
        output,
        status: if cut {
            ResponseStatus::Incomplete
        } else {
            ResponseStatus::Completed
        },
        error: Value::Null,
        incomplete_details: if cut {
            json!({"reason": "max_output_tokens"})
        } else {
            Value::Null
        },
        usage: json!({
            "input_tokens": input,
            "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
            "output_tokens": out,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input + out,
        }),
    }
}

/// A created response, ready to be answered.
struct Created {
    id: String,
    headers: Vec<(&'static str, String)>,
    fault: Option<ResponseFaultKind>,
}

/// Checks the request against the world and creates the response (all under one lock).
fn prepare(state: &mut World, req: CreateRequest) -> Result<Created, Refusal> {
    let prior = prior_items(state, &req)?;
    let input_items = {
        let lookup = |id: &str| conversations::find_item(state, id);
        items::normalize_list(&req.input, "input", &lookup)?
    };
    let mut context = prior.clone();
    context.extend(input_items.iter().cloned());
    if context.is_empty() {
        return Err(wire::missing("input"));
    }
    items::check_tool_pairs(&context)?;
    check_container(state, &req)?;
    let input_tokens = tokens::response_input_tokens(
        &req.model,
        req.instructions.as_deref(),
        &context,
        &req.tools,
    );
    let headers = rate_limit(state, &req, input_tokens)?;
    let (_, question) = model::question(&context);
    let fault = take_fault(state, &req, &question);
    let outcome = plan(state, &req, &context, prior.len(), fault);
    let stats = &mut state.response_stats;
    stats.created += 1;
    stats.background += usize::from(req.background);
    stats.streamed += usize::from(req.stream);
    if let Some(conversation) = &req.conversation {
        *stats
            .per_conversation
            .entry(conversation.clone())
            .or_default() += 1;
    }
    let response = StoredResponse {
        id: wire::new_id("resp_"),
        created_at: now_unix(),
        status: if req.background {
            ResponseStatus::Queued
        } else {
            ResponseStatus::InProgress
        },
        request: req,
        input_items,
        context,
        outcome,
        completed_at: None,
        ticks: 0,
        events: Vec::new(),
        emitted: 0,
    };
    let id = response.id.clone();
    state.responses.insert(id.clone(), response);
    Ok(Created { id, headers, fault })
}

async fn create(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let body = match wire::parse_object(&body) {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    let req = match request::parse(&body) {
        Ok(req) => req,
        Err(e) => return e.into_response(),
    };
    let (stream, background) = (req.stream, req.background);
    let created = {
        let mut state = shared.lock();
        match prepare(&mut state, req) {
            Ok(created) => created,
            Err(e) => return e.into_response(),
        }
    };
    let mut response = if stream {
        crate::openai::stream::start(shared.clone(), &created.id, created.fault)
    } else {
        let mut state = shared.lock();
        if !background {
            settle(&mut state, &created.id, End::Planned);
        }
        let body = state.responses.get(&created.id).map(|r| r.to_json(&[]));
        forget_unstored(&mut state, &created.id);
        match body {
            Some(body) => Json(body).into_response(),
            None => no_such_response(&created.id).into_response(),
        }
    };
    add_headers(&mut response, &created.headers);
    response
}

async fn retrieve(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = parse_form(query.as_deref().unwrap_or(""));
    let include: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "include" || k == "include[]")
        .map(|(_, v)| v.clone())
        .collect();
    if form_get(&pairs, "stream") == Some("true") {
        let after = form_get(&pairs, "starting_after").and_then(|v| v.parse::<i64>().ok());
        return crate::openai::stream::follow(shared.clone(), &id, after.unwrap_or(-1));
    }
    let mut state = shared.lock();
    state.response_stats.retrieved += 1;
    match stored(&state, &id) {
        Some(resp) => Json(resp.to_json(&include)).into_response(),
        None => no_such_response(&id).into_response(),
    }
}

async fn remove(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let mut state = shared.lock();
    if stored(&state, &id).is_none() {
        return no_such_response(&id).into_response();
    }
    state.responses.remove(&id);
    Json(json!({"id": id, "object": "response", "deleted": true})).into_response()
}

async fn cancel(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let mut state = shared.lock();
    let World {
        responses,
        response_stats,
        ..
    } = &mut *state;
    let Some(resp) = responses.get_mut(&id).filter(|r| r.request.store) else {
        return no_such_response(&id).into_response();
    };
    if !resp.request.background {
        return bad_request(
            "Only responses created with background=true can be cancelled.",
            None,
            None,
        )
        .into_response();
    }
    match resp.status {
        ResponseStatus::Queued | ResponseStatus::InProgress => {
            resp.status = ResponseStatus::Cancelled;
            response_stats.cancelled += 1;
            Json(resp.to_json(&[])).into_response()
        }
        ResponseStatus::Cancelled => Json(resp.to_json(&[])).into_response(),
        other => bad_request(
            &format!("Cannot cancel a response with status '{}'.", other.as_str()),
            None,
            None,
        )
        .into_response(),
    }
}

async fn input_items(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let page = match wire::page(query.as_deref()) {
        Ok(page) => page,
        Err(e) => return e.into_response(),
    };
    let state = shared.lock();
    let Some(resp) = stored(&state, &id) else {
        return no_such_response(&id).into_response();
    };
    match wire::list(&resp.input_items, &page, |i| {
        items::render(i, &page.include)
    }) {
        Some(list) => Json(list).into_response(),
        None => not_found(
            &format!(
                "Item with id '{}' not found.",
                page.after.unwrap_or_default()
            ),
            None,
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_answer_moves_its_file_citation_to_its_link_to_the_file_or_drops_it() {
        let citation = |file: &str| json!({"type": "container_file_citation", "filename": file, "start_index": 0, "end_index": 5});
        let mut output = vec![model::message_item(
            "old",
            vec![citation("events_per_decade.png"), citation("gone.csv")],
        )];
        let text =
            "## Chart\n\n광복 [Download the chart](sandbox:/mnt/data/events_per_decade.png).";
        replace_text(&mut output, text);
        let content = &output[0]["content"][0];
        assert_eq!(content["text"], text);
        let annotations = content["annotations"].as_array().expect("annotations");
        assert_eq!(annotations.len(), 1);
        let (start, end) = (
            annotations[0]["start_index"].as_u64().expect("start") as usize,
            annotations[0]["end_index"].as_u64().expect("end") as usize,
        );
        let cited: String = text.chars().skip(start).take(end - start).collect();
        assert_eq!(
            cited,
            "[Download the chart](sandbox:/mnt/data/events_per_decade.png)"
        );
    }
}
