//! Streamed responses: the server-sent events of `POST /v1/responses` with `stream: true`
//! (<https://platform.openai.com/docs/api-reference/responses-streaming>), in the spec's
//! `ResponseStreamEvent` shapes, each as `event: <type>` + `data: <json>` with `sequence_number`
//! counting from 0. No `[DONE]` line: the stream ends after its terminal event.
//!
//! Order: `response.created` (status `queued` for background, else `in_progress`),
//! `response.queued` (background only), `response.in_progress`, then per output item:
//!
//! - message: `response.output_item.added`, `response.content_part.added`, one
//!   `response.output_text.delta` per word (with its trailing space; the deltas concatenate to the
//!   text), `response.output_text.annotation.added` per annotation, `response.output_text.done`,
//!   `response.content_part.done`, `response.output_item.done`;
//! - function call: `response.output_item.added` (empty `arguments`),
//!   `response.function_call_arguments.delta` per 12 characters, `….done` (with `name`),
//!   `response.output_item.done`;
//! - code interpreter call: `response.output_item.added`, `response.code_interpreter_call.in_progress`,
//!   `response.code_interpreter_call_code.delta` per line, `….code.done`,
//!   `response.code_interpreter_call.interpreting`, `response.code_interpreter_call.completed`,
//!   `response.output_item.done`;
//!
//! and last `response.completed` / `response.incomplete` / `response.failed` with the whole
//! response (`usage` included). Delta events carry `logprobs: []` (text) and an `obfuscation`
//! padding unless `stream_options.include_obfuscation` is false. [`ResponseFaultKind`] faults
//! replace the tail of the stream with an `error` event or `response.failed`, or cut the
//! connection.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::Stream;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use serde_json::{Value, json};

use crate::faults::ResponseFaultKind;
use crate::openai::items;
use crate::openai::lifecycle::{End, forget_unstored, no_such_response, settle, stored};
use crate::openai::response::{ResponseStatus, StoredResponse};
use crate::state::Shared;
use crate::util::fnv1a;

type Chunk = Result<Bytes, std::io::Error>;

/// A deterministic padding for a delta (the real service pads deltas to hide their length).
fn obfuscation(delta: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut h = fnv1a(delta.as_bytes());
    let len = 2 + (h % 14) as usize;
    (0..len)
        .map(|_| {
            h = h.rotate_left(7).wrapping_mul(0x0100_0000_01b3);
            ALPHABET[(h % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

/// Adds a delta event (with obfuscation if wanted).
fn delta(events: &mut Vec<Value>, mut event: Value, obfuscate: bool) {
    if obfuscate {
        let text = event["delta"].as_str().unwrap_or("").to_string();
        event["obfuscation"] = json!(obfuscation(&text));
    }
    events.push(event);
}

/// `text` in pieces of at most `n` characters.
fn pieces(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(n).map(|c| c.iter().collect()).collect()
}

fn message_events(events: &mut Vec<Value>, index: usize, item: &Value, obfuscate: bool) {
    let id = &item["id"];
    let part = &item["content"][0];
    let text = part["text"].as_str().unwrap_or("");
    let at = |kind: &str| json!({"type": kind, "item_id": id, "output_index": index, "content_index": 0});
    events.push(json!({"type": "response.output_item.added", "output_index": index,
        "item": {"id": id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}}));
    let mut added = at("response.content_part.added");
    added["part"] = json!({"type": "output_text", "text": "", "annotations": [], "logprobs": []});
    events.push(added);
    for word in text.split_inclusive(' ') {
        let mut event = at("response.output_text.delta");
        event["delta"] = json!(word);
        event["logprobs"] = json!([]);
        delta(events, event, obfuscate);
    }
    for (k, annotation) in part["annotations"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let mut event = at("response.output_text.annotation.added");
        event["annotation_index"] = json!(k);
        event["annotation"] = annotation.clone();
        events.push(event);
    }
    let mut done = at("response.output_text.done");
    done["text"] = json!(text);
    done["logprobs"] = json!([]);
    events.push(done);
    let mut part_done = at("response.content_part.done");
    part_done["part"] = part.clone();
    events.push(part_done);
    events.push(json!({"type": "response.output_item.done", "output_index": index, "item": item}));
}

fn function_call_events(events: &mut Vec<Value>, index: usize, item: &Value, obfuscate: bool) {
    let id = &item["id"];
    let arguments = item["arguments"].as_str().unwrap_or("");
    let mut added = item.clone();
    added["arguments"] = json!("");
    added["status"] = json!("in_progress");
    events
        .push(json!({"type": "response.output_item.added", "output_index": index, "item": added}));
    for piece in pieces(arguments, 12) {
        let event = json!({"type": "response.function_call_arguments.delta", "item_id": id, "output_index": index, "delta": piece});
        delta(events, event, obfuscate);
    }
    events.push(
        json!({"type": "response.function_call_arguments.done", "item_id": id,
        "name": item["name"], "output_index": index, "arguments": arguments}),
    );
    events.push(json!({"type": "response.output_item.done", "output_index": index, "item": item}));
}

fn code_events(
    events: &mut Vec<Value>,
    index: usize,
    item: &Value,
    include: &[String],
    obfuscate: bool,
) {
    let id = &item["id"];
    let code = item["code"].as_str().unwrap_or("");
    let at = |kind: &str| json!({"type": kind, "output_index": index, "item_id": id});
    let mut added = item.clone();
    added["status"] = json!("in_progress");
    added["code"] = json!("");
    added["outputs"] = Value::Null;
    events
        .push(json!({"type": "response.output_item.added", "output_index": index, "item": added}));
    events.push(at("response.code_interpreter_call.in_progress"));
    for line in code.split_inclusive('\n') {
        let mut event = at("response.code_interpreter_call_code.delta");
        event["delta"] = json!(line);
        delta(events, event, obfuscate);
    }
    let mut done = at("response.code_interpreter_call_code.done");
    done["code"] = json!(code);
    events.push(done);
    events.push(at("response.code_interpreter_call.interpreting"));
    events.push(at("response.code_interpreter_call.completed"));
    events.push(json!({"type": "response.output_item.done", "output_index": index, "item": items::render(item, include)}));
}

/// The lifecycle and item events of a response, before faults.
fn planned(resp: &StoredResponse) -> Vec<Value> {
    let req = &resp.request;
    let snapshot = |status| resp.snapshot(status, &[]);
    let mut events = Vec::new();
    let first = if req.background {
        ResponseStatus::Queued
    } else {
        ResponseStatus::InProgress
    };
    events.push(json!({"type": "response.created", "response": snapshot(first)}));
    if req.background {
        events
            .push(json!({"type": "response.queued", "response": snapshot(ResponseStatus::Queued)}));
    }
    events.push(
        json!({"type": "response.in_progress", "response": snapshot(ResponseStatus::InProgress)}),
    );
    let status = resp.outcome.status;
    if status != ResponseStatus::Failed {
        for (i, item) in resp.outcome.output.iter().enumerate() {
            match item["type"].as_str() {
                Some("message") => message_events(&mut events, i, item, req.obfuscation),
                Some("function_call") => {
                    function_call_events(&mut events, i, item, req.obfuscation)
                }
                Some("code_interpreter_call") => {
                    code_events(&mut events, i, item, &req.include, req.obfuscation)
                }
                _ => {}
            }
        }
    }
    let terminal = match status {
        ResponseStatus::Incomplete => "response.incomplete",
        ResponseStatus::Failed => "response.failed",
        _ => "response.completed",
    };
    events.push(json!({"type": terminal, "response": snapshot(status)}));
    events
}

/// The events of a stream with `fault` applied, numbered; and where to cut the connection.
pub(crate) fn plan_events(
    resp: &StoredResponse,
    fault: Option<ResponseFaultKind>,
) -> (Vec<Value>, Option<usize>) {
    let mut events = planned(resp);
    let last = events.len() - 1;
    let mut cut = None;
    let error = json!({"code": "server_error", "message": "[emulated] The server had an error while processing your request. Sorry about that! (injected fault)"});
    match fault {
        Some(ResponseFaultKind::ErrorEvent { after_events }) => {
            events.truncate(after_events.min(last));
            events.push(json!({"type": "error", "code": error["code"], "message": error["message"], "param": null}));
        }
        Some(ResponseFaultKind::FailedEvent { after_events }) => {
            events.truncate(after_events.min(last));
            let mut failed = resp.clone();
            failed.outcome.status = ResponseStatus::Failed;
            failed.outcome.error = error;
            events.push(json!({"type": "response.failed", "response": failed.snapshot(ResponseStatus::Failed, &[])}));
        }
        Some(ResponseFaultKind::Cut { after_events }) => cut = Some(after_events.min(last)),
        _ => {}
    }
    for (n, event) in events.iter_mut().enumerate() {
        event["sequence_number"] = json!(n);
    }
    (events, cut)
}

fn sse(event: &Value) -> Bytes {
    let kind = event["type"].as_str().unwrap_or("message");
    Bytes::from(format!("event: {kind}\ndata: {event}\n\n"))
}

/// The body of a stream: the channel's chunks, counting how many hyper has taken and noting when it
/// found the channel empty after them (then it flushes what it has to the socket).
struct StreamBody {
    rx: UnboundedReceiver<Chunk>,
    taken: usize,
    /// `taken` at the last time the channel was found empty.
    idle_after: Arc<AtomicUsize>,
}

impl Stream for StreamBody {
    type Item = Chunk;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Chunk>> {
        let polled = Pin::new(&mut self.rx).poll_next(cx);
        match &polled {
            Poll::Ready(Some(_)) => self.taken += 1,
            Poll::Pending => self.idle_after.store(self.taken, Ordering::SeqCst),
            Poll::Ready(None) => {}
        }
        polled
    }
}

/// The SSE answer. With `length`, the body announces that many bytes (a stream that will be cut
/// announces its whole planned length, so that ending it early breaks the connection after the
/// bytes sent so far were delivered).
fn sse_response(rx: StreamBody, length: Option<usize>) -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/event-stream; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(rx),
    )
        .into_response();
    if let Some(length) = length {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, length.into());
    }
    response
}

/// Starts streaming a just-created response.
pub(crate) fn start(shared: Arc<Shared>, id: &str, fault: Option<ResponseFaultKind>) -> Response {
    let (events, cut) = {
        let mut state = shared.lock();
        let Some(resp) = state.responses.get_mut(id) else {
            return no_such_response(id).into_response();
        };
        let (events, cut) = plan_events(resp, fault);
        resp.events = events.clone();
        (events, cut)
    };
    let (tx, rx) = unbounded();
    let idle_after = Arc::new(AtomicUsize::new(usize::MAX));
    let body = StreamBody {
        rx,
        taken: 0,
        idle_after: idle_after.clone(),
    };
    let length = cut.map(|_| events.iter().map(|e| sse(e).len()).sum());
    tokio::spawn(run(shared, id.to_string(), events, cut, (tx, idle_after)));
    sse_response(body, length)
}

/// Waits (at most 2 s) until the body has handed the first `sent` chunks to hyper and found the
/// channel empty, so that they reach the socket before the connection is cut.
async fn drained(idle_after: &AtomicUsize, sent: usize) {
    for _ in 0..2000 {
        if idle_after.load(Ordering::SeqCst) == sent {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Records that event `index` goes out; `false` when the response was cancelled.
fn mark(shared: &Shared, id: &str, index: usize, event: &Value) -> bool {
    let mut state = shared.lock();
    let Some(resp) = state.responses.get_mut(id) else {
        return true;
    };
    if resp.status == ResponseStatus::Cancelled {
        return false;
    }
    resp.emitted = index + 1;
    if event["type"] == "response.in_progress" && !resp.status.is_terminal() {
        resp.status = ResponseStatus::InProgress;
    }
    true
}

/// Sends the events at the configured pace, then ends the response.
async fn run(
    shared: Arc<Shared>,
    id: String,
    events: Vec<Value>,
    cut: Option<usize>,
    (tx, idle_after): (UnboundedSender<Chunk>, Arc<AtomicUsize>),
) {
    let config = shared.lock().responses_config.clone();
    let mut first_delta = true;
    for (i, event) in events.iter().enumerate() {
        if cut == Some(i) {
            // The body ends short of its announced length: hyper closes the connection once
            // the events sent so far are on the socket.
            drained(&idle_after, i).await;
            break;
        }
        let mut wait = config.event_delay;
        let is_delta = event["type"]
            .as_str()
            .is_some_and(|t| t.ends_with(".delta"));
        if first_delta && is_delta {
            wait += config.first_token_delay;
            first_delta = false;
        }
        if !tx.is_closed() && !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        if !mark(&shared, &id, i, event) {
            break;
        }
        let _ = tx.unbounded_send(Ok(sse(event)));
    }
    drop(tx);
    finish(&shared, &id, &events);
}

/// Ends a streamed response by its last planned event.
fn finish(shared: &Shared, id: &str, events: &[Value]) {
    let mut state = shared.lock();
    if let Some(resp) = state.responses.get_mut(id) {
        if resp.status == ResponseStatus::Cancelled {
            return;
        }
        resp.emitted = events.len();
    }
    let last = events.last().cloned().unwrap_or(Value::Null);
    let end = match last["type"].as_str() {
        Some("error") => End::Failed(json!({"code": last["code"], "message": last["message"]})),
        Some("response.failed") => End::Failed(last["response"]["error"].clone()),
        _ => End::Planned,
    };
    settle(&mut state, id, end);
    forget_unstored(&mut state, id);
}

/// `GET /v1/responses/{id}?stream=true&starting_after=N`: the events of a background stream
/// after sequence number `after`, following it until it ends.
pub(crate) fn follow(shared: Arc<Shared>, id: &str, after: i64) -> Response {
    {
        let state = shared.lock();
        let Some(resp) = stored(&state, id) else {
            return no_such_response(id).into_response();
        };
        if !(resp.request.background && resp.request.stream) {
            return crate::openai::wire::bad_request(
                "This response cannot be streamed: only responses created with 'background' and 'stream' set to true can be.",
                Some("stream"),
                None,
            ).into_response();
        }
    }
    let (tx, rx) = unbounded();
    let body = StreamBody {
        rx,
        taken: 0,
        idle_after: Arc::new(AtomicUsize::new(0)),
    };
    let id = id.to_string();
    let start = usize::try_from(after + 1).unwrap_or(0);
    tokio::spawn(async move {
        let mut next = start;
        loop {
            let (batch, done) = {
                let state = shared.lock();
                let Some(resp) = state.responses.get(&id) else {
                    break;
                };
                let ended = resp.status.is_terminal() && resp.status != ResponseStatus::Cancelled;
                let limit = if ended {
                    resp.events.len()
                } else {
                    resp.emitted
                };
                let batch: Vec<Value> = resp
                    .events
                    .get(next..limit)
                    .map(<[Value]>::to_vec)
                    .unwrap_or_default();
                (batch, resp.status.is_terminal())
            };
            next += batch.len();
            for event in &batch {
                if tx.unbounded_send(Ok(sse(event))).is_err() {
                    return;
                }
            }
            if done && batch.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    sse_response(body, None)
}
