//! `ResponsesClient` against the emulator's Conversations, Responses, Files and Containers: a
//! streamed function-call round trip in one conversation, a polled background response, and a
//! code interpreter run over an uploaded CSV whose chart is downloaded from its container.

use std::time::Duration;

use almanac_emulator::{Emulator, EmulatorConfig};
use almanac_openai::ResponsesClient;
use almanac_openai::RetryPolicy;
use almanac_openai::responses::client::ContainerFile;
use almanac_openai::responses::events::{StreamEvent, ToolStart};
use almanac_openai::responses::outcome::{ResponseOutcome, ResponseStatus};
use almanac_openai::responses::request::{FunctionTool, InputItem, ResponseRequest};
use futures::StreamExt;
use secrecy::SecretString;
use serde_json::json;

async fn start() -> (Emulator, ResponsesClient) {
    crate::install_crypto_provider();
    let emulator = Emulator::start(EmulatorConfig {
        step: Duration::from_millis(5),
        rows_per_step: 64,
    })
    .await
    .expect("the emulator starts");
    let client = ResponsesClient::new(
        &SecretString::from("sk-test-emulator-key"),
        &emulator.openai_base_url(),
        RetryPolicy::default(),
        None,
    );
    (emulator, client)
}

fn request(conversation: &str, input: Vec<InputItem>) -> ResponseRequest {
    ResponseRequest {
        model: "gpt-4.1-mini-2025-04-14".into(),
        instructions: "Answer about the sheet.".into(),
        conversation: conversation.into(),
        input,
        functions: vec![FunctionTool {
            name: "get_rows".into(),
            description: "Rows by id.".into(),
            parameters: json!({"type": "object", "properties": {"row_ids": {"type": "array", "items": {"type": "string"}}},
                               "required": ["row_ids"], "additionalProperties": false}),
        }],
        code_interpreter_files: Vec::new(),
        max_output_tokens: None,
        metadata: vec![("thread_id".into(), "thread_1".into())],
    }
}

/// Every event of a streamed response.
async fn stream_all(client: &ResponsesClient, req: &ResponseRequest) -> Vec<StreamEvent> {
    let mut stream = client.stream(req).await.expect("stream starts");
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event.expect("no broken stream"));
    }
    events
}

async fn poll(client: &ResponsesClient, id: &str) -> ResponseOutcome {
    for _ in 0..2000 {
        let outcome = client.retrieve(id).await.expect("retrieve");
        if outcome.status.is_terminal() {
            return outcome;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("response {id} never ended");
}

#[tokio::test]
async fn a_streamed_function_call_round_trip_then_a_polled_turn_in_one_conversation() {
    let (emulator, client) = start().await;
    let conversation = client
        .create_conversation(&[("thread_id", "thread_1")])
        .await
        .unwrap();
    let ask = InputItem::UserMessage("What happened on 08-15?".into());
    let events = stream_all(&client, &request(&conversation, vec![ask])).await;
    assert!(matches!(events[0], StreamEvent::Created(_)), "{events:?}");
    assert!(events.contains(&StreamEvent::ToolStarted(ToolStart::Function)));
    let Some(StreamEvent::Ended(first)) = events.last() else {
        panic!("no end: {events:?}");
    };
    let call = &first.function_calls[0];
    assert_eq!(
        (call.name.as_str(), call.arguments.as_str()),
        ("get_rows", r#"{"row_ids":["08-15"]}"#)
    );

    let output = InputItem::FunctionOutput {
        call_id: call.call_id.clone(),
        output: r#"[{"id":"08-15","title":"Liberation Day"}]"#.into(),
    };
    let events = stream_all(&client, &request(&conversation, vec![output])).await;
    let deltas: String = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::TextDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    let Some(StreamEvent::Ended(answer)) = events.last() else {
        panic!("no end: {events:?}");
    };
    assert_eq!(deltas, answer.text);
    assert!(answer.text.contains("get_rows returned") && answer.text.contains("Liberation Day"));
    assert!(answer.usage.input_tokens > 0 && answer.usage.output_tokens > 0);

    let next = request(
        &conversation,
        vec![InputItem::UserMessage("And then?".into())],
    );
    let created = client.create(&next).await.unwrap();
    assert_eq!(created.status, ResponseStatus::Queued);
    let done = poll(&client, &created.id).await;
    assert_eq!(done.status, ResponseStatus::Completed);
    assert!(
        done.text
            .ends_with("Earlier user turns in this conversation: 1."),
        "{}",
        done.text
    );
    let items = emulator.conversation_items(&conversation).unwrap();
    assert_eq!(
        items.len(),
        6,
        "two questions, a call, its output and two answers"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_code_interpreter_reads_an_uploaded_csv_and_its_chart_is_downloaded() {
    let (emulator, client) = start().await;
    let csv = "id,title,year\n01-27,Auschwitz liberated,1945\n03-01,March 1st Movement,1919\n08-15,Liberation Day,1945\n";
    let file = client
        .upload_user_file("Events.csv", csv.as_bytes().to_vec())
        .await
        .unwrap();
    let conversation = client.create_conversation(&[]).await.unwrap();
    let mut req = request(
        &conversation,
        vec![InputItem::UserMessage(
            "Which decades have the most events?".into(),
        )],
    );
    req.code_interpreter_files = vec![file];
    let created = client.create(&req).await.unwrap();
    let done = poll(&client, &created.id).await;
    assert!(done.text.contains("1940s: 2"), "{}", done.text);
    assert_eq!(done.containers.len(), 1);
    let citation = &done.citations[0];
    assert_eq!(citation.filename, "events_per_decade.png");
    let read = |max: u64| client.container_file(&citation.container_id, &citation.file_id, max);
    let ContainerFile::Read(png) = read(1 << 20).await.unwrap() else {
        panic!("a chart is far below 1 MiB");
    };
    assert_eq!(&png[..4], b"\x89PNG");
    // A file above the limit is refused without keeping it.
    let small = png.len() as u64 - 1;
    assert_eq!(
        read(small).await.unwrap(),
        ContainerFile::TooLarge {
            at_least: png.len() as u64
        }
    );
    let cancel = client.cancel(&done.id).await.unwrap_err();
    assert_eq!(
        cancel.status(),
        Some(400),
        "a finished response cannot be cancelled"
    );
    emulator.shutdown().await;
}
