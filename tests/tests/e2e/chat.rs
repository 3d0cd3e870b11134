//! "Ask about the sheet" end to end, the real backend over HTTP against the emulator's
//! Conversations and Responses: a question answered from the sheet's rows through a function call,
//! the sheet's CSV analysed by the code interpreter with its chart returned, streamed deltas in
//! order, a run polled to `completed`, ownership answered as 404, a turn refused by the monthly
//! budget, OpenAI failing mid-stream (nothing stored half-done), and the limits.

use std::time::Duration;

use almanac_emulator::{Faults, ResponseFault, ResponseFaultKind, ResponsesConfig};
use almanac_protocol::SetBudgetRequest;
use almanac_tests::{
    OPENAI_KEY, SPREADSHEET, TestApp, USER_A, USER_B, fast, spawn_app, spawn_app_with,
};
use futures::StreamExt;
use serde_json::{Value, json};

/// Six events with years: 1910s: 2, 1940s: 3, 1960s: 1.
pub const EVENTS: &str = "id,title,year,content_simple,content_detailed,related_movies
01-27,Auschwitz liberated,1945,,,
03-01,March 1st Movement,1919,,,
04-01,Battle of Okinawa,1945,,,
04-19,April Revolution,1960,,,
08-15,Liberation Day,1945,,,
11-11,Armistice Day,1918,,,
";

async fn app() -> TestApp {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", EVENTS);
    app
}

/// `POST /chat` (JSON), returning `(status, body)`.
async fn chat(app: &TestApp, client: &reqwest::Client, body: Value) -> (u16, Value) {
    let resp = client
        .post(format!("{}/chat", app.api))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert!(!text.contains(OPENAI_KEY), "the OpenAI key leaked: {text}");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `POST /chat` with `Accept: text/event-stream`: the `(event, data)` pairs in order.
async fn chat_stream(app: &TestApp, body: Value) -> Vec<(String, Value)> {
    let resp = app
        .http
        .post(format!("{}/chat", app.api))
        .header("Accept", "text/event-stream")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut events = eventsource_stream::EventStream::new(resp.bytes_stream());
    let mut out = Vec::new();
    while let Some(event) = events.next().await {
        let event = event.expect("a well-formed event");
        out.push((event.event, serde_json::from_str(&event.data).unwrap()));
    }
    out
}

async fn get(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, Value) {
    let resp = client
        .get(format!("{}{path}", app.api))
        .send()
        .await
        .unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

fn text_of(message: &Value) -> &str {
    message["content"][0]["text"]["value"]
        .as_str()
        .unwrap_or("")
}

fn ask(message: &str) -> Value {
    json!({"message": message, "spreadsheet_id": SPREADSHEET, "sheet_id": 0})
}

#[tokio::test]
async fn a_question_is_answered_from_the_sheets_rows_through_a_function_call() {
    let app = app().await;
    let (status, answer) = chat(&app, &app.http, ask("What happened on 08-15?")).await;
    assert_eq!(status, 200, "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.starts_with("[emulated] get_rows returned: "),
        "{message}"
    );
    assert!(
        message.contains("Liberation Day") && message.contains("1945"),
        "{message}"
    );
    assert_eq!(answer["role"], "assistant");
    assert!(answer["thread_id"].as_str().unwrap().starts_with("thread_"));
    assert!(answer["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert!(answer["cost_usd"].as_f64().unwrap() > 0.0);
    assert_eq!(app.emulator.response_stats().function_calls, 1);

    let thread = answer["thread_id"].as_str().unwrap();
    let (_, list) = get(
        &app,
        &app.http,
        &format!("/threads/{thread}/messages?order=asc"),
    )
    .await;
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(
        (&data[0]["role"], text_of(&data[0])),
        (&json!("user"), "What happened on 08-15?")
    );
    assert_eq!(text_of(&data[1]), message);
    assert_eq!(data[1]["run_id"], answer["run_id"]);

    // The conversation keeps its context: the next turn sees one earlier question.
    let (_, next) = chat(
        &app,
        &app.http,
        json!({"message": "And before that?", "thread_id": thread}),
    )
    .await;
    let next = next["message"].as_str().unwrap();
    assert!(
        next.ends_with("Earlier user turns in this conversation: 1."),
        "{next}"
    );
}

#[tokio::test]
async fn the_code_interpreter_analyses_the_sheet_as_csv_and_its_chart_comes_back() {
    let app = app().await;
    let question = ask("Which decades have the most events? Draw a chart.");
    let (status, answer) = chat(&app, &app.http, question).await;
    assert_eq!(status, 200, "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("1910s: 2, 1940s: 3, 1960s: 1"),
        "computed, not guessed: {message}"
    );
    let file = &answer["files"][0];
    assert_eq!(
        (&file["filename"], &file["mime_type"]),
        (&json!("events_per_decade.png"), &json!("image/png"))
    );
    // A container is charged once, on top of the tokens.
    assert!(answer["cost_usd"].as_f64().unwrap() >= 0.03, "{answer}");

    let thread = answer["thread_id"].as_str().unwrap();
    let file_id = file["file_id"].as_str().unwrap();
    let png = app
        .http
        .get(format!(
            "{}/threads/{thread}/files/{file_id}/content",
            app.api
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    let bytes = png.bytes().await.unwrap();
    assert_eq!(&bytes[..4], b"\x89PNG");
    assert_eq!(bytes.len() as u64, file["bytes"].as_u64().unwrap());

    let (_, list) = get(&app, &app.http, &format!("/threads/{thread}/messages")).await;
    let reply = &list["data"][0];
    assert_eq!(
        reply["content"][1],
        json!({"type": "image_file", "image_file": {"file_id": file_id}})
    );
    let cited = &reply["content"][0]["text"]["annotations"][0];
    assert_eq!(cited["file_path"]["file_id"], file_id);
    assert!(
        cited["text"]
            .as_str()
            .unwrap()
            .contains("events_per_decade.png")
    );

    // The same sheet is not uploaded again for the next question.
    let (_, _) = chat(
        &app,
        &app.http,
        json!({"message": "Thanks!", "thread_id": thread}),
    )
    .await;
    let uploads = app.emulator.calls().files_create;
    assert_eq!(
        uploads, 1,
        "one CSV upload for two turns on an unchanged sheet"
    );
}

#[tokio::test]
async fn a_markdown_answer_comes_with_its_tree_its_chart_link_resolved_and_its_script_as_text() {
    let app = app().await;
    let markdown = "## Events per decade\n\n| decade | events |\n|---|---|\n| 1940s | 3 |\n\n\
[Download the chart](sandbox:/mnt/data/events_per_decade.png) or [run](javascript:alert(1))\n\n\
<script>alert(1)</script>\n";
    app.emulator.set_next_answer_text(Some(markdown.to_owned()));
    let (status, answer) = chat(&app, &app.http, ask("Draw a chart of events per decade.")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["message"], markdown);
    let file_id = answer["files"][0]["file_id"].as_str().unwrap();
    let tree = json!([
        {"heading": {"level": 2, "children": [{"text": "Events per decade"}]}},
        {"table": {"head": [[{"text": "decade"}], [{"text": "events"}]],
                   "rows": [[[{"text": "1940s"}], [{"text": "3"}]]]}},
        {"paragraph": [
            {"file_link": {"file_id": file_id, "filename": "events_per_decade.png",
                           "children": [{"text": "Download the chart"}]}},
            {"text": " or run"}
        ]},
        {"paragraph": [{"text": "<script>alert(1)</script>\n"}]}
    ]);
    assert_eq!(answer["markdown"], tree);

    // The stored answer carries the same tree; the question, plain text, none.
    let thread = answer["thread_id"].as_str().unwrap();
    let (_, list) = get(&app, &app.http, &format!("/threads/{thread}/messages")).await;
    assert_eq!(list["data"][0]["markdown"], tree);
    assert_eq!(list["data"][1]["role"], "user");
    assert!(list["data"][1].get("markdown").is_none(), "{list}");
}

#[tokio::test]
async fn streaming_delivers_deltas_in_order_then_the_whole_message_with_usage() {
    let app = app().await;
    app.emulator.set_responses_config(ResponsesConfig {
        event_delay: Duration::from_millis(1),
        ..ResponsesConfig::default()
    });
    let events = chat_stream(
        &app,
        ask("What happened on 08-15? Tell me the whole story."),
    )
    .await;
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(names[0], "run", "{names:?}");
    assert_eq!(
        names.iter().filter(|n| **n == "tool").count(),
        1,
        "{names:?}"
    );
    assert_eq!(*names.last().unwrap(), "done", "{names:?}");
    let deltas = names.iter().filter(|n| **n == "delta").count();
    assert!(deltas >= 5, "{names:?}");
    let joined: String = events
        .iter()
        .filter(|(e, _)| e == "delta")
        .map(|(_, d)| d["text"].as_str().unwrap())
        .collect();
    let done = &events.last().unwrap().1;
    assert_eq!(joined, done["message"].as_str().unwrap());
    assert!(done["usage"]["output_tokens"].as_u64().unwrap() > 0);
    assert_eq!(done["thread_id"], events[0].1["thread_id"]);
    assert_eq!(done["run_id"], events[0].1["run_id"]);
    assert_eq!(
        app.emulator.response_stats().streamed,
        2,
        "the call and the answer"
    );
}

#[tokio::test]
async fn a_run_is_polled_to_completed_as_the_seeds_loop_does() {
    let app = app().await;
    let resp = app
        .http
        .post(format!("{}/threads", app.api))
        .json(&json!({"spreadsheet_id": SPREADSHEET}))
        .send()
        .await
        .unwrap();
    let thread: Value = resp.json().await.unwrap();
    assert_eq!(thread["object"], "thread");
    assert_eq!(
        thread["metadata"],
        json!({"spreadsheet_id": SPREADSHEET, "sheet_id": 0})
    );
    let id = thread["id"].as_str().unwrap();
    let url = format!("{}/threads/{id}", app.api);
    let added: Value = app
        .http
        .post(format!("{url}/messages"))
        .json(&json!({"content": "How many events are in the sheet?", "role": "user"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&added["object"], &added["run_id"]),
        (&json!("thread.message"), &Value::Null)
    );
    let run: Value = app
        .http
        .post(format!("{url}/runs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&run["object"], &run["assistant_id"]),
        (&json!("thread.run"), &json!("asst_almanac"))
    );
    let run_id = run["id"].as_str().unwrap();
    let mut seen = vec![run["status"].as_str().unwrap().to_owned()];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !["completed", "failed", "expired", "cancelled"].contains(&seen.last().unwrap().as_str())
    {
        assert!(tokio::time::Instant::now() < deadline, "stuck: {seen:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
        let (_, now) = get(&app, &app.http, &format!("/threads/{id}/runs/{run_id}")).await;
        let status = now["status"].as_str().unwrap().to_owned();
        if seen.last() != Some(&status) {
            seen.push(status);
        }
    }
    let order = ["queued", "in_progress", "completed"];
    let at: Vec<usize> = seen
        .iter()
        .map(|s| order.iter().position(|o| o == s).unwrap())
        .collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]) && *at.last().unwrap() == 2,
        "{seen:?}"
    );
    let (_, done) = get(&app, &app.http, &format!("/threads/{id}/runs/{run_id}")).await;
    assert!(
        done["usage"]["input_tokens"].as_u64().unwrap() > 0,
        "{done}"
    );
    assert!(done["completed_at"].as_u64().is_some());
    let (_, list) = get(&app, &app.http, &format!("/threads/{id}/messages")).await;
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert!(
        text_of(&data[0]).contains("Events per decade"),
        "{}",
        data[0]
    );
    assert_eq!(
        data[1]["run_id"], run_id,
        "the waiting message was sent by the run"
    );

    // A run without a new message is refused with what to do.
    let again = app.http.post(format!("{url}/runs")).send().await.unwrap();
    assert_eq!(again.status(), 400);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"]["code"], "no_pending_message");
}

#[tokio::test]
async fn another_users_thread_is_answered_like_a_missing_one() {
    let app = app().await;
    let (_, answer) = chat(&app, &app.http, ask("Hello!")).await;
    let thread = answer["thread_id"].as_str().unwrap();
    let run = answer["run_id"].as_str().unwrap();
    // Bob cannot edit the spreadsheet: without an access proof he can start nothing on it.
    let outsider = app.client_as(USER_B).await;
    let (status, body) = chat(&app, &outsider, ask("hi")).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (403, &json!("access_not_proven")),
        "{body}"
    );
    // Shared with him as editor, Bob has a proof, and Ada's thread is still only hers.
    app.emulator.share(SPREADSHEET, USER_B.email);
    let bob = app.client_as(USER_B).await;
    let missing = "thread_00000000000000000000000000000000";
    for (path, missing_path) in [
        (format!("/threads/{thread}"), format!("/threads/{missing}")),
        (
            format!("/threads/{thread}/messages"),
            format!("/threads/{missing}/messages"),
        ),
        (
            format!("/threads/{thread}/runs/{run}"),
            format!("/threads/{missing}/runs/{run}"),
        ),
    ] {
        let (status, body) = get(&app, &bob, &path).await;
        let (missing_status, missing_body) = get(&app, &bob, &missing_path).await;
        assert_eq!((status, missing_status), (404, 404), "{path}");
        assert_eq!(body["error"]["code"], missing_body["error"]["code"]);
        let message = body["error"]["message"].as_str().unwrap();
        assert_eq!(
            message.replace(thread, missing),
            missing_body["error"]["message"].as_str().unwrap()
        );
    }
    let (status, body) = chat(&app, &bob, json!({"message": "hi", "thread_id": thread})).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (404, &json!("thread_not_found"))
    );
    let (status, list) = get(
        &app,
        &bob,
        &format!("/threads?spreadsheet_id={SPREADSHEET}"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        list["data"],
        json!([]),
        "Ada's thread is not listed for Bob"
    );
}

#[tokio::test]
async fn the_history_of_a_spreadsheet_the_user_can_no_longer_edit_is_not_served() {
    let app = app().await;
    let (status, answer) = chat(&app, &app.http, ask("What happened on 08-15?")).await;
    assert_eq!(status, 200, "{answer}");
    let thread = answer["thread_id"].as_str().unwrap();
    let run = answer["run_id"].as_str().unwrap();
    let paths = [
        format!("/threads?spreadsheet_id={SPREADSHEET}"),
        format!("/threads/{thread}"),
        format!("/threads/{thread}/messages"),
        format!("/threads/{thread}/runs/{run}"),
    ];
    for path in &paths {
        assert_eq!(get(&app, &app.http, path).await.0, 200, "{path}");
    }
    // Ada loses edit access: she cannot prove it again, and without a proof nothing of the
    // thread is served.
    app.emulator.unshare(SPREADSHEET, USER_A.email);
    let no_proof = almanac_demo::authorized_client(&app.id_token, None).unwrap();
    for path in &paths {
        let (status, body) = get(&app, &no_proof, path).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert_eq!(body["error"]["code"], "access_not_proven", "{path}");
    }
    let lost = app.client_as(USER_A).await;
    let (status, _) = get(&app, &lost, &format!("/threads/{thread}/messages")).await;
    assert_eq!(status, 403, "no new proof without edit access");
}

#[tokio::test]
async fn a_turn_that_would_pass_the_monthly_budget_is_refused_with_the_figures_and_turns_count() {
    let app = app().await;
    let set = |usd: f64| {
        app.http
            .put(format!("{}/spreadsheets/{SPREADSHEET}/budget", app.api))
            .json(&SetBudgetRequest {
                monthly_usd: Some(usd),
            })
            .send()
    };
    assert_eq!(set(0.00001).await.unwrap().status(), 200);
    let (status, body) = chat(&app, &app.http, ask("Which decades have the most events?")).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (422, &json!("over_monthly_budget")),
        "{body}"
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("$0.0000 of its $0.0000 budget") && message.contains("estimated at $0.03"),
        "{message}"
    );
    let (_, threads) = get(
        &app,
        &app.http,
        &format!("/threads?spreadsheet_id={SPREADSHEET}"),
    )
    .await;
    assert_eq!(threads["data"], json!([]), "nothing was stored");
    assert_eq!(app.emulator.response_stats().created, 0, "nothing was sent");

    assert_eq!(set(5.0).await.unwrap().status(), 200);
    let (status, answer) = chat(&app, &app.http, ask("Which decades have the most events?")).await;
    assert_eq!(status, 200, "{answer}");
    let (_, budget) = get(
        &app,
        &app.http,
        &format!("/spreadsheets/{SPREADSHEET}/budget"),
    )
    .await;
    let committed = budget["committed_usd"].as_f64().unwrap();
    let cost = answer["cost_usd"].as_f64().unwrap();
    assert!(
        (committed - cost).abs() < 1e-9,
        "the turn counts in the month: {committed} vs {cost}"
    );
}

fn fault(kind: ResponseFaultKind, matching: &str) -> ResponseFault {
    ResponseFault {
        kind,
        matching: Some(matching.into()),
        times: 1,
    }
}

/// The answer to a chart question on a fresh backend changed by `customize`, with `faults`.
async fn chart_answer(
    customize: impl Fn(&mut almanac::config::Config) + Send + Sync + 'static,
    faults: Vec<ResponseFault>,
) -> Value {
    let app = spawn_app_with(fast(), customize).await;
    app.add_sheet(0, "Events", EVENTS);
    app.emulator.set_faults(Faults {
        responses: faults,
        ..Faults::default()
    });
    let question = ask("Which decades have the most events? Draw a chart.");
    let (status, answer) = chat(&app, &app.http, question).await;
    assert_eq!(status, 200, "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains("1940s: 3"), "still answered: {message}");
    answer
}

fn files_of(answer: &Value) -> usize {
    answer["files"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn chat_files_are_kept_only_from_the_runs_own_container_and_within_the_limits() {
    assert_eq!(files_of(&chart_answer(|_| {}, Vec::new()).await), 1);
    // A file cited from a container the run's code interpreter did not run in is not fetched.
    let foreign = ResponseFault {
        kind: ResponseFaultKind::ForeignCitation,
        matching: None,
        times: usize::MAX,
    };
    assert_eq!(files_of(&chart_answer(|_| {}, vec![foreign]).await), 0);
    // At most ALMANAC_CHAT_MAX_FILES per answer, each at most ALMANAC_CHAT_MAX_FILE_BYTES.
    let none = chart_answer(|c| c.api.chat.max_files = 0, Vec::new()).await;
    assert_eq!(files_of(&none), 0);
    let tiny = chart_answer(|c| c.api.chat.max_file_bytes = 64, Vec::new()).await;
    assert_eq!(files_of(&tiny), 0);
}

#[tokio::test]
async fn openai_failing_mid_stream_ends_the_turn_with_a_clear_message_and_stores_nothing() {
    let app = app().await;
    app.emulator.set_faults(Faults {
        responses: vec![
            fault(ResponseFaultKind::ErrorEvent { after_events: 6 }, "story"),
            fault(ResponseFaultKind::FailedEvent { after_events: 5 }, "midway"),
            fault(ResponseFaultKind::Failed, "at once"),
        ],
        ..Faults::default()
    });
    let events = chat_stream(&app, ask("Tell me a long story about the sheet")).await;
    let (last, error) = events.last().unwrap();
    assert_eq!(last, "error", "{events:?}");
    assert_eq!(error["code"], "server_error");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with("OpenAI stopped answering (server_error")
            && message.contains("Nothing of this turn was saved"),
        "{message}"
    );
    let thread = events[0].1["thread_id"].as_str().unwrap().to_owned();
    let run = events[0].1["run_id"].as_str().unwrap();
    let (_, failed) = get(&app, &app.http, &format!("/threads/{thread}/runs/{run}")).await;
    assert_eq!(
        (&failed["status"], &failed["last_error"]["code"]),
        (&json!("failed"), &json!("server_error"))
    );

    let events = chat_stream(
        &app,
        json!({"message": "Fail midway through this answer", "thread_id": thread}),
    )
    .await;
    assert_eq!(events.last().unwrap().0, "error", "{events:?}");
    let (status, body) = chat(
        &app,
        &app.http,
        json!({"message": "Fail at once", "thread_id": thread}),
    )
    .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (502, &json!("openai_failed")),
        "{body}"
    );

    let (_, list) = get(&app, &app.http, &format!("/threads/{thread}/messages")).await;
    assert_eq!(
        list["data"],
        json!([]),
        "no message of a failed turn is stored"
    );
    let (_, answer) = chat(
        &app,
        &app.http,
        json!({"message": "Hello again", "thread_id": thread}),
    )
    .await;
    let text = answer["message"].as_str().unwrap();
    assert!(
        text.ends_with("Earlier user turns in this conversation: 0."),
        "the conversation holds nothing half-done: {text}"
    );
}

#[tokio::test]
async fn limits_are_clear_4xx_errors() {
    let app = spawn_app_with(fast(), |config| {
        config.api.chat.max_message_chars = 40;
        config.api.chat.max_threads = 1;
        config.api.chat.turns_per_minute = 4;
    })
    .await;
    app.add_sheet(0, "Events", EVENTS);
    let (status, body) = chat(&app, &app.http, ask(&"x".repeat(41))).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("message_too_long"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 40")
    );
    let (status, body) = chat(&app, &app.http, json!({"message": "hi"})).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("spreadsheet_required")),
        "{body}"
    );
    let (status, _) = chat(&app, &app.http, ask("hi")).await;
    assert_eq!(status, 200);
    let (status, body) = chat(&app, &app.http, ask("a second conversation")).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (409, &json!("too_many_threads")),
        "{body}"
    );
    let resp = app
        .http
        .post(format!("{}/chat", app.api))
        .json(&ask("hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("4 questions per minute")
    );
}

/// `POST /threads` + a waiting message + `POST …/runs`: the run's id and the thread's URL.
async fn start_run(app: &TestApp, question: &str) -> (String, String) {
    let thread: Value = app
        .http
        .post(format!("{}/threads", app.api))
        .json(&json!({"spreadsheet_id": SPREADSHEET}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = format!("{}/threads/{}", app.api, thread["id"].as_str().unwrap());
    let message = json!({"content": question, "role": "user"});
    let added = app
        .http
        .post(format!("{url}/messages"))
        .json(&message)
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 200);
    let run: Value = app
        .http
        .post(format!("{url}/runs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (run["id"].as_str().unwrap().to_owned(), url)
}

#[tokio::test]
async fn a_run_can_be_cancelled_and_one_past_the_timeout_expires_with_nothing_stored() {
    let app = app().await;
    app.emulator.hold_responses(true);
    let (run, url) = start_run(&app, "Write a long essay about the sheet.").await;
    let busy = app
        .http
        .post(format!("{url}/messages"))
        .json(&json!({"content": "and?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        busy.status(),
        409,
        "no new message while the thread answers"
    );
    let cancelled: Value = app
        .http
        .post(format!("{url}/runs/{run}/cancel"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&cancelled["status"], &cancelled["last_error"]["code"]),
        (&json!("cancelled"), &json!("cancelled")),
        "{cancelled}"
    );
    assert_eq!(
        app.emulator.response_stats().cancelled,
        1,
        "cancelled at OpenAI too"
    );
    let again = app
        .http
        .post(format!("{url}/runs/{run}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    let list: Value = app
        .http
        .get(format!("{url}/messages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        1,
        "only the waiting question"
    );
    assert_eq!(
        list["data"][0]["run_id"],
        Value::Null,
        "still waiting for a run"
    );

    let slow = spawn_app_with(fast(), |config| {
        config.api.chat.run_timeout = Duration::from_millis(200)
    })
    .await;
    slow.add_sheet(0, "Events", EVENTS);
    slow.emulator.hold_responses(true);
    let (status, body) = chat(
        &slow,
        &slow.http,
        ask("Write a long essay about the sheet."),
    )
    .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (504, &json!("run_expired")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("took longer than")
    );
}

/// `POST /chat` streamed with `Idempotency-Key: key`, sent again while the first is in flight
/// (409): status, whether replayed, the whole body.
async fn chat_stream_keyed(app: &TestApp, key: &str, body: &Value) -> (u16, bool, String) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let resp = app
            .http
            .post(format!("{}/chat", app.api))
            .header("Accept", "text/event-stream")
            .header(almanac_protocol::IDEMPOTENCY_KEY_HEADER, key)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let replayed = resp.headers().get("idempotent-replayed").is_some();
        let text = resp.text().await.unwrap();
        if status != 409 {
            return (status, replayed, text);
        }
        assert!(tokio::time::Instant::now() < deadline, "{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_chat_turn_sent_again_with_its_idempotency_key_is_asked_once() {
    let app = app().await;
    let question = ask("What happened on 08-15?");
    let (status, replayed, first) = chat_stream_keyed(&app, "turn-1", &question).await;
    assert_eq!((status, replayed), (200, false), "{first}");
    assert!(first.contains("event: done"), "{first}");
    let asked = app.emulator.response_stats().streamed;
    // The sidebar's retry after a lost answer: the same stream again, and OpenAI not asked again.
    let (status, replayed, again) = chat_stream_keyed(&app, "turn-1", &question).await;
    assert_eq!((status, replayed), (200, true), "{again}");
    assert_eq!(again, first);
    assert_eq!(app.emulator.response_stats().streamed, asked);
    let run = first
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .unwrap();
    let thread = run["thread_id"].as_str().unwrap();
    let (_, list) = get(&app, &app.http, &format!("/threads/{thread}/messages")).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2, "{list}");
    // Another question with the same key is refused.
    let other = ask("And on 04-19?");
    let (status, _, body) = chat_stream_keyed(&app, "turn-1", &other).await;
    assert_eq!(status, 422, "{body}");
}
