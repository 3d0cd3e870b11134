//! Benchmark (not a test): what Almanac's chat adds over the model's own latency. The same 50
//! streamed turns of one conversation run twice against the emulator (set to a fixed time to
//! first token and a pause between events): once straight at its Responses API with the
//! backend's own client (`almanac_openai::ResponsesClient`, background + stream, as the backend
//! sends them), once through the real backend's `POST /api/v1/chat` with `Accept:
//! text/event-stream` (a verified ID token, the caller's access check, the sheet read, the turn
//! estimated against the budget, stored at the end). Prints the medians of the time to the first
//! text delta and of the whole turn, and their differences: Almanac's overhead. Then the same
//! through the polled path (`POST /chat` as JSON: a background response polled every 10 ms).
//!
//! Run: `cargo bench -p almanac-tests --bench chat` (release profile); `-- <turns>` changes 50.

use std::time::{Duration, Instant};

use almanac_emulator::{Emulator, ResponsesConfig};
use almanac_openai::responses::events::StreamEvent;
use almanac_openai::responses::request::{InputItem, ResponseRequest};
use almanac_openai::{ResponsesClient, RetryPolicy};
use almanac_tests::{SPREADSHEET, TestApp, fast, spawn_app};
use futures::StreamExt;
use secrecy::SecretString;
use serde_json::{Value, json};

/// The emulated model: 25 ms to the first token, 1 ms between events.
fn model_speed() -> ResponsesConfig {
    ResponsesConfig {
        event_delay: Duration::from_millis(1),
        first_token_delay: Duration::from_millis(25),
        ..ResponsesConfig::default()
    }
}

/// `(time to the first text delta, whole turn)` of one turn.
type Timing = (Duration, Duration);

/// A question of turn `i` (a plain answer: no tool runs).
fn question(i: usize) -> String {
    format!("Tell me something about the sheet, please (question {i}).")
}

/// The backend's Responses client, straight at the emulator, and a conversation of its own.
async fn direct_client(emulator: &Emulator) -> (ResponsesClient, String) {
    let client = ResponsesClient::new(
        &SecretString::from("sk-bench".to_owned()),
        &emulator.openai_base_url(),
        RetryPolicy::default(),
        None,
    );
    let conversation = client.create_conversation(&[]).await.expect("conversation");
    (client, conversation)
}

/// Turn `i` straight at the emulator: the request the backend would send (instructions, tools).
async fn direct_turn(client: &ResponsesClient, conversation: &str, i: usize) -> Timing {
    let request = ResponseRequest {
        model: "gpt-4.1-mini-2025-04-14".into(),
        instructions: almanac::config::DEFAULT_INSTRUCTIONS.into(),
        conversation: conversation.to_owned(),
        input: vec![InputItem::UserMessage(question(i))],
        functions: almanac::chat::tools::definitions(),
        code_interpreter_files: Vec::new(),
        max_output_tokens: Some(2048),
        metadata: Vec::new(),
    };
    let started = Instant::now();
    let mut stream = client.stream(&request).await.expect("stream");
    let mut first = None;
    while let Some(event) = stream.next().await {
        match event.expect("no broken stream") {
            StreamEvent::TextDelta(_) if first.is_none() => first = Some(started.elapsed()),
            StreamEvent::Ended(_) => break,
            _ => {}
        }
    }
    (first.expect("a delta"), started.elapsed())
}

/// The body of `POST /chat` for turn `i`, on `thread` once there is one.
fn chat_body(i: usize, thread: &Option<String>) -> Value {
    let mut body = json!({"message": question(i), "spreadsheet_id": SPREADSHEET, "sheet_id": 0});
    if let Some(id) = thread {
        body["thread_id"] = json!(id);
    }
    body
}

/// Turn `i` through the backend's `POST /chat`, streamed (the thread is learnt from `run`).
async fn almanac_turn(app: &TestApp, thread: &mut Option<String>, i: usize) -> Timing {
    let started = Instant::now();
    let resp = app
        .http
        .post(format!("{}/chat", app.api))
        .header("Accept", "text/event-stream")
        .json(&chat_body(i, thread))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 200);
    let mut events = eventsource_stream::EventStream::new(resp.bytes_stream());
    let mut first = None;
    while let Some(event) = events.next().await {
        let event = event.expect("an event");
        match event.event.as_str() {
            "run" => {
                let run: Value = serde_json::from_str(&event.data).unwrap();
                *thread = run["thread_id"].as_str().map(str::to_owned);
            }
            "delta" if first.is_none() => first = Some(started.elapsed()),
            "done" => break,
            "error" => panic!("the turn failed: {}", event.data),
            _ => {}
        }
    }
    (first.expect("a delta"), started.elapsed())
}

/// The turns through `POST /chat` as JSON (a background response, polled).
async fn polled(app: &TestApp, turns: usize) -> Vec<Duration> {
    let mut thread: Option<String> = None;
    let mut took = Vec::with_capacity(turns);
    for i in 0..turns {
        let mut body =
            json!({"message": question(i), "spreadsheet_id": SPREADSHEET, "sheet_id": 0});
        if let Some(id) = &thread {
            body["thread_id"] = json!(id);
        }
        let started = Instant::now();
        let resp = app
            .http
            .post(format!("{}/chat", app.api))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let answer: Value = resp.json().await.unwrap();
        took.push(started.elapsed());
        thread = answer["thread_id"].as_str().map(str::to_owned);
    }
    took
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// `a − b` in milliseconds, signed.
fn diff(a: Duration, b: Duration) -> String {
    format!("{:+.1} ms", (a.as_secs_f64() - b.as_secs_f64()) * 1000.0)
}

/// Median of the first and of the second of each pair.
fn medians(pairs: &[Timing]) -> (Duration, Duration) {
    (
        median(pairs.iter().map(|t| t.0).collect()),
        median(pairs.iter().map(|t| t.1).collect()),
    )
}

/// Median of `a_i − b_i`, milliseconds.
fn paired(a: &[Duration], b: &[Duration]) -> String {
    let mut d: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(a, b)| (a.as_secs_f64() - b.as_secs_f64()) * 1000.0)
        .collect();
    d.sort_by(f64::total_cmp);
    format!("{:+.1} ms", d[d.len() / 2])
}

#[tokio::main]
async fn main() {
    let turns: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(50);
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", almanac_emulator::SAMPLE_KO_CSV);
    app.emulator.set_responses_config(model_speed());
    // Turn by turn, one straight at the emulator then one through Almanac, so that load and the
    // conversations' growth weigh on both alike.
    let (client, conversation) = direct_client(&app.emulator).await;
    let (mut direct, mut almanac, mut thread) = (Vec::new(), Vec::new(), None);
    for i in 0..turns {
        direct.push(direct_turn(&client, &conversation, i).await);
        almanac.push(almanac_turn(&app, &mut thread, i).await);
    }
    let polled = polled(&app, turns).await;
    let (d_first, d_all) = medians(&direct);
    let (a_first, a_all) = medians(&almanac);
    let firsts = |t: &[Timing]| t.iter().map(|t| t.0).collect::<Vec<_>>();
    let wholes = |t: &[Timing]| t.iter().map(|t| t.1).collect::<Vec<_>>();
    println!(
        "== chat: {turns} streamed turns, emulator at 25 ms to the first token and 1 ms between events"
    );
    println!(
        "time to first token: emulator direct {}, through Almanac {} (median of per-turn differences {})",
        ms(d_first),
        ms(a_first),
        paired(&firsts(&almanac), &firsts(&direct))
    );
    println!(
        "whole turn:          emulator direct {}, through Almanac {} (median of per-turn differences {})",
        ms(d_all),
        ms(a_all),
        paired(&wholes(&almanac), &wholes(&direct))
    );
    println!(
        "Almanac's overhead (difference of the medians): first token {}, whole turn {}",
        diff(a_first, d_first),
        diff(a_all, d_all)
    );
    println!(
        "polled turn (POST /chat as JSON, a background response polled every 10 ms, emulator tick 20 ms): median {}",
        ms(median(polled))
    );
    app.emulator.shutdown().await;
}
