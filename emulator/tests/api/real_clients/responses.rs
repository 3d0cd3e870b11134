//! async-openai's Conversations, Responses and Containers clients (feature `responses`,
//! `container`) against the emulator: conversations and their items, background responses polled
//! to completion, streams whose deltas make the final text, a function-call round trip, a code
//! interpreter run over an uploaded CSV that returns a PNG, cancel, strict refusals, faults.

use std::time::Duration;

use almanac_emulator::{
    CallFault, CallFaultKind, Emulator, FaultTarget, Faults, ResponseFault, ResponseFaultKind,
    ResponsesConfig,
};
use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::traits::RequestOptionsBuilder;
use async_openai::types::InputSource;
use async_openai::types::files::{CreateFileRequest, FileInput, FilePurpose};
use async_openai::types::responses::{
    CreateConversationItemsRequest, CreateConversationRequest, CreateResponse, ResponseStream,
    Status, UpdateConversationRequest,
};
use futures::StreamExt;
use serde::Serialize;
use serde_json::{Value, json};

use crate::common::{http, install_crypto, start};

const MODEL: &str = "gpt-4.1-mini";

fn client(emu: &Emulator) -> Client<OpenAIConfig> {
    install_crypto();
    Client::with_config(
        OpenAIConfig::new()
            .with_api_base(emu.openai_base_url())
            .with_api_key("sk-emulated"),
    )
}

/// A typed request from JSON (the client serializes it again).
fn request(body: Value) -> CreateResponse {
    serde_json::from_value(body).expect("a CreateResponse")
}

fn as_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("serializes")
}

/// `(status, error.message, error.code, error.param)` of an API error.
fn api_error(err: OpenAIError) -> (u16, String, Option<String>, Option<String>) {
    match err {
        OpenAIError::ApiError(e) => (
            e.status_code.as_u16(),
            e.api_error.message,
            e.api_error.code,
            e.api_error.param,
        ),
        other => panic!("expected an API error, got {other}"),
    }
}

/// The text of every `output_text` part of a response object.
fn output_text(response: &Value) -> String {
    response["output"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|item| item["content"].as_array().cloned().unwrap_or_default())
        .filter_map(|part| part["text"].as_str().map(str::to_string))
        .collect()
}

/// Polls until the response leaves queued/in_progress; returns the statuses seen and the last
/// object.
async fn poll(client: &Client<OpenAIConfig>, id: &str) -> (Vec<Status>, Value) {
    let mut seen: Vec<Status> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let response = client.responses().retrieve(id).await.expect("retrieve");
        if seen.last() != Some(&response.status) {
            seen.push(response.status.clone());
        }
        if !matches!(response.status, Status::Queued | Status::InProgress) {
            return (seen, as_json(&response));
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "stuck: {response:?}"
        );
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
}

/// Every event of a stream as JSON, and the error that ended it, if any. (With async-openai's
/// `byot` feature on, as in this workspace, `create_stream` sends the request as given: the body
/// must say `"stream": true` itself.)
async fn events(mut stream: ResponseStream) -> (Vec<Value>, Option<OpenAIError>) {
    let mut out = Vec::new();
    while let Some(event) = stream.next().await {
        match event {
            Ok(event) => out.push(as_json(&event)),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("").to_string())
        .collect()
}

fn assert_numbered(events: &[Value]) {
    for (n, event) in events.iter().enumerate() {
        assert_eq!(event["sequence_number"], json!(n), "{event}");
    }
}

/// A conversation holding `items`.
async fn conversation(client: &Client<OpenAIConfig>, items: Value) -> String {
    client
        .conversations()
        .create(serde_json::from_value(json!({"items": items})).expect("request"))
        .await
        .expect("create conversation")
        .id
}

/// The texts of a conversation's messages, oldest first.
async fn texts(client: &Client<OpenAIConfig>, conversation: &str) -> Vec<String> {
    let listed = client
        .conversations()
        .items(conversation)
        .query(&[("order", "asc")])
        .unwrap()
        .list()
        .await
        .expect("list");
    as_json(&listed)["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["content"][0]["text"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn conversations_are_created_updated_and_deleted_like_openai() {
    let emu = start().await;
    let client = client(&emu);
    let created = client
        .conversations()
        .create(
            serde_json::from_value::<CreateConversationRequest>(json!({
                "metadata": {"topic": "demo"},
                "items": [{"type": "message", "role": "user", "content": "Hello!"}]
            }))
            .unwrap(),
        )
        .await
        .expect("create");
    assert!(created.id.starts_with("conv_"), "{}", created.id);
    assert_eq!(created.object, "conversation");
    assert_eq!(as_json(&created.metadata), json!({"topic": "demo"}));
    let update = json!({"metadata": {"topic": "x"}});
    let updated = client
        .conversations()
        .update(
            &created.id,
            serde_json::from_value::<UpdateConversationRequest>(update).unwrap(),
        )
        .await
        .expect("update");
    assert_eq!(as_json(&updated.metadata), json!({"topic": "x"}));
    let again = client.conversations().retrieve(&created.id).await.unwrap();
    assert_eq!(again.created_at, created.created_at);

    let deleted = client
        .conversations()
        .delete(&created.id)
        .await
        .expect("delete");
    assert_eq!(
        (deleted.object.as_str(), deleted.deleted),
        ("conversation.deleted", true)
    );
    let raw = http()
        .get(format!(
            "{}/conversations/{}",
            emu.openai_base_url(),
            created.id
        ))
        .bearer_auth("sk-emulated")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 404);
    let body: Value = raw.json().await.unwrap();
    let message = format!("Conversation with id '{}' not found.", created.id);
    assert_eq!(
        body,
        json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}})
    );
    assert_eq!(emu.response_stats().conversations_created, 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn conversation_items_are_added_paged_and_deleted() {
    let emu = start().await;
    let client = client(&emu);
    let id = conversation(&client, json!([{"role": "user", "content": "Hello!"}])).await;
    let conversations = client.conversations();
    let items = conversations.items(&id);
    let added = items
        .create(
            serde_json::from_value::<CreateConversationItemsRequest>(json!({"items": [
                {"type": "message", "role": "assistant", "content": "Hi, how can I help?"},
                {"role": "user", "content": [{"type": "input_text", "text": "Which events are in March?"}]}
            ]}))
            .unwrap(),
        )
        .await
        .expect("add items");
    let added = as_json(&added);
    assert_eq!(added["data"].as_array().unwrap().len(), 2);
    assert_eq!(added["data"][0]["content"][0]["type"], "output_text");
    assert!(added["first_id"].as_str().unwrap().starts_with("msg_"));

    let page = |query: Vec<(&'static str, String)>| {
        let client = client.clone();
        let id = id.clone();
        async move {
            let list = client
                .conversations()
                .items(&id)
                .query(&query)
                .unwrap()
                .list()
                .await;
            as_json(&list.expect("list"))
        }
    };
    let first = page(vec![("limit", "2".into()), ("order", "asc".into())]).await;
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    assert_eq!(first["has_more"], true);
    assert_eq!(first["data"][0]["content"][0]["text"], "Hello!");
    let after = first["last_id"].as_str().unwrap().to_string();
    let rest = page(vec![("order", "asc".into()), ("after", after)]).await;
    assert_eq!(
        (rest["data"].as_array().unwrap().len(), &rest["has_more"]),
        (1, &json!(false))
    );
    let newest_first = page(Vec::new()).await;
    assert_eq!(
        newest_first["first_id"], rest["last_id"],
        "the default order is desc"
    );

    let last_id = rest["last_id"].as_str().unwrap().to_string();
    assert_eq!(
        as_json(&items.retrieve(&last_id).await.expect("item"))["role"],
        "user"
    );
    assert_eq!(items.delete(&last_id).await.expect("delete item").id, id);
    assert_eq!(emu.conversation_items(&id).unwrap().len(), 2);
    let (status, message, _, _) = api_error(items.retrieve(&last_id).await.unwrap_err());
    assert_eq!(
        (status, message),
        (404, format!("Item with id '{last_id}' not found."))
    );

    let too_many: Vec<Value> = (0..21)
        .map(|i| json!({"role": "user", "content": format!("m{i}")}))
        .collect();
    let refused = items
        .create(serde_json::from_value(json!({"items": too_many})).unwrap())
        .await;
    let (status, _, code, param) = api_error(refused.unwrap_err());
    assert_eq!(
        (status, code.as_deref(), param.as_deref()),
        (400, Some("array_above_max_length"), Some("items"))
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn a_background_response_in_a_conversation_is_polled_to_completed() {
    let emu = start().await;
    let client = client(&emu);
    let earlier = json!([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "[emulated] Hello."}]);
    let conversation = conversation(&client, earlier).await;
    let created = client
        .responses()
        .create(request(json!({
            "model": MODEL,
            "conversation": conversation,
            "input": "Tell me about the sheet.",
            "instructions": "You answer questions about a spreadsheet of historical events.",
            "background": true,
            "metadata": {"job": "chat-1"}
        })))
        .await
        .expect("create");
    assert_eq!(
        (created.status.clone(), created.background),
        (Status::Queued, Some(true))
    );
    assert!(created.output.is_empty() && created.usage.is_none());

    let (seen, done) = poll(&client, &created.id).await;
    let order = [Status::Queued, Status::InProgress, Status::Completed];
    let positions: Vec<usize> = seen
        .iter()
        .map(|s| order.iter().position(|o| o == s).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    assert_eq!(seen.last(), Some(&Status::Completed), "{seen:?}");
    let text = output_text(&done);
    let expected = "[emulated] You asked: \"Tell me about the sheet.\". Earlier user turns in this conversation: 1.";
    assert_eq!(text, expected);
    assert_eq!(done["conversation"]["id"], json!(conversation));
    assert_eq!(done["metadata"], json!({"job": "chat-1"}));
    assert!(done["completed_at"].as_u64().is_some());
    let usage = &done["usage"];
    let (input, output) = (
        usage["input_tokens"].as_u64().unwrap(),
        usage["output_tokens"].as_u64().unwrap(),
    );
    assert!(input > 10 && output > 10, "{usage}");
    assert_eq!(usage["total_tokens"].as_u64().unwrap(), input + output);

    // The input and the answer were appended to the conversation, in order.
    let texts = texts(&client, &conversation).await;
    assert_eq!(texts[2..], ["Tell me about the sheet.".to_string(), text]);

    // A second turn sees two earlier user turns.
    let second = client
        .responses()
        .create(request(
            json!({"model": MODEL, "conversation": {"id": conversation}, "input": "And now?"}),
        ))
        .await
        .unwrap();
    assert_eq!(second.status, Status::Completed);
    assert!(
        output_text(&as_json(&second)).ends_with("Earlier user turns in this conversation: 2.")
    );
    let inputs = client
        .responses()
        .list_input_items(&second.id)
        .await
        .expect("input items");
    assert_eq!(inputs.data.len(), 1);
    let stats = emu.response_stats();
    assert_eq!(stats.per_conversation.get(&conversation), Some(&2));
    assert_eq!(
        (stats.created, stats.background, stats.completed),
        (2, 1, 2)
    );
    assert!(stats.retrieved >= 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn streamed_deltas_concatenate_to_the_final_text_in_order() {
    let emu = start().await;
    emu.set_responses_config(ResponsesConfig {
        event_delay: Duration::from_millis(1),
        first_token_delay: Duration::from_millis(5),
        ..ResponsesConfig::default()
    });
    let client = client(&emu);
    let stream = client
        .responses()
        .create_stream(request(json!({
            "model": MODEL, "stream": true,
            "input": "Which event came first in the sheet, and why does it matter?"
        })))
        .await
        .expect("stream");
    let (events, error) = events(stream).await;
    assert!(error.is_none(), "{error:?}");
    assert_numbered(&events);
    let kinds = kinds(&events);
    let deltas = kinds
        .iter()
        .filter(|k| *k == "response.output_text.delta")
        .count();
    assert!(deltas >= 5, "{kinds:?}");
    let mut expected = vec![
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ];
    expected.extend(std::iter::repeat_n("response.output_text.delta", deltas));
    expected.extend([
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]);
    assert_eq!(kinds, expected);
    let joined: String = events
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    let done = events
        .iter()
        .find(|e| e["type"] == "response.output_text.done")
        .unwrap();
    assert_eq!(joined, done["text"].as_str().unwrap());
    let completed = &events.last().unwrap()["response"];
    assert_eq!(output_text(completed), joined);
    assert!(joined.contains("[emulated]") && joined.contains("Which event came first"));
    assert!(completed["usage"]["output_tokens"].as_u64().unwrap() > 0);
    assert_eq!(events[0]["response"]["status"], "in_progress");
    let id = completed["id"].as_str().unwrap();
    assert_eq!(
        output_text(&as_json(&client.responses().retrieve(id).await.unwrap())),
        joined
    );
    assert_eq!(emu.response_stats().streamed, 1);
    emu.shutdown().await;
}

fn sheet_tools() -> Value {
    json!([
        {"type": "function", "name": "get_rows", "description": "Rows of the sheet by id.",
         "strict": true,
         "parameters": {"type": "object", "properties": {
             "row_ids": {"type": "array", "items": {"type": "string"}}},
             "required": ["row_ids"], "additionalProperties": false}},
        {"type": "function", "name": "search_titles", "description": "Rows whose title matches.",
         "parameters": {"type": "object", "properties": {
             "query": {"type": "string"}, "limit": {"type": "integer", "minimum": 1, "maximum": 50}},
             "required": ["query"]}}
    ])
}

#[tokio::test]
async fn a_function_call_round_trip_answers_from_the_rows() {
    let emu = start().await;
    let client = client(&emu);
    let conversation = conversation(&client, json!([])).await;
    let turn = |input: Value| {
        let client = client.clone();
        let body = json!({"model": MODEL, "conversation": conversation, "tools": sheet_tools(), "input": input});
        async move {
            as_json(
                &client
                    .responses()
                    .create(request(body))
                    .await
                    .expect("turn"),
            )
        }
    };
    let first = turn(json!("What happened on 08-15 and on \"03-01\"?")).await;
    let call = &first["output"][0];
    assert_eq!(
        (&call["type"], &call["name"]),
        (&json!("function_call"), &json!("get_rows")),
        "{first}"
    );
    let arguments: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments, json!({"row_ids": ["08-15", "03-01"]}));
    assert!(call["call_id"].as_str().unwrap().starts_with("call_"));

    let rows =
        r#"[{"id":"08-15","title":"광복절 (Liberation Day)"},{"id":"03-01","title":"3·1 운동"}]"#;
    let answer =
        turn(json!([{"type": "function_call_output", "call_id": call["call_id"], "output": rows}]))
            .await;
    assert_eq!(
        output_text(&answer),
        format!("[emulated] get_rows returned: {rows}")
    );
    let items = emu.conversation_items(&conversation).unwrap();
    let types: Vec<&str> = items.iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "message",
            "function_call",
            "function_call_output",
            "message"
        ]
    );
    assert_eq!(emu.response_stats().function_calls, 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_search_is_streamed_as_argument_deltas_and_its_pending_call_blocks_new_questions() {
    let emu = start().await;
    let client = client(&emu);
    let stream = client
        .responses()
        .create_stream(request(json!({
            "model": MODEL, "stream": true, "tools": sheet_tools(),
            "input": "Find events about the moon landing"
        })))
        .await
        .unwrap();
    let (events, error) = events(stream).await;
    assert!(error.is_none(), "{error:?}");
    assert_numbered(&events);
    let joined: String = events
        .iter()
        .filter(|e| e["type"] == "response.function_call_arguments.delta")
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    let done = events
        .iter()
        .find(|e| e["type"] == "response.function_call_arguments.done")
        .unwrap();
    assert_eq!(done["name"], "search_titles");
    assert_eq!(joined, done["arguments"].as_str().unwrap());
    let arguments: Value = serde_json::from_str(&joined).unwrap();
    assert_eq!(arguments, json!({"query": "events about the moon landing"}));

    // A new question while the call waits for its output is refused, as OpenAI does.
    let waiting = events.last().unwrap()["response"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"model": MODEL, "previous_response_id": waiting, "input": "hello?"});
    let (status, message, _, param) =
        api_error(client.responses().create(request(body)).await.unwrap_err());
    assert_eq!((status, param.as_deref()), (400, Some("input")));
    assert!(
        message.starts_with("No tool output found for function call call_"),
        "{message}"
    );
    emu.shutdown().await;
}

/// A CSV of events with years: 2 in the 1910s, 3 in the 1940s, 1 in the 1960s.
const EVENTS_CSV: &str = "id,title,year\n01-27,Auschwitz liberated,1945\n03-01,March 1st Movement,1919\n04-01,Battle of Okinawa,1945\n04-19,April Revolution,1960\n08-15,Liberation Day,1945\n11-11,Armistice Day,1918\n";

/// Uploads [`EVENTS_CSV`] (purpose `user_data`) and returns a `code_interpreter` tool holding it.
async fn csv_tool(client: &Client<OpenAIConfig>) -> Value {
    let file = client
        .files()
        .create(CreateFileRequest {
            file: FileInput {
                source: InputSource::VecU8 {
                    filename: "sheet.csv".into(),
                    vec: EVENTS_CSV.as_bytes().to_vec(),
                },
            },
            purpose: FilePurpose::UserData,
            expires_after: None,
        })
        .await
        .expect("upload");
    json!([{"type": "code_interpreter", "container": {"type": "auto", "file_ids": [file.id]}}])
}

#[tokio::test]
async fn the_code_interpreter_charts_an_uploaded_csv_as_a_png() {
    let emu = start().await;
    let client = client(&emu);
    let body = json!({
        "model": MODEL, "tools": csv_tool(&client).await, "include": ["code_interpreter_call.outputs"],
        "input": "Which decades have the most events? Draw a chart."
    });
    let response = as_json(
        &client
            .responses()
            .create(request(body))
            .await
            .expect("analysis"),
    );
    let call = &response["output"][0];
    assert_eq!(
        (&call["type"], &call["status"]),
        (&json!("code_interpreter_call"), &json!("completed")),
        "{response}"
    );
    assert!(call["code"].as_str().unwrap().contains("pd.read_csv"));
    let logs = call["outputs"][0]["logs"].as_str().unwrap();
    assert!(
        logs.contains("1910s   2") && logs.contains("1940s   3") && logs.contains("1960s   1"),
        "{logs}"
    );
    let container_id = call["container_id"].as_str().unwrap();
    assert!(container_id.starts_with("cntr_"));

    let text = output_text(&response);
    assert!(
        text.starts_with("[emulated] Events per decade in "),
        "{text}"
    );
    assert!(
        text.contains("1910s: 2, 1940s: 3, 1960s: 1") && text.contains("the 1940s (3 events)"),
        "{text}"
    );
    let annotation = &response["output"][1]["content"][0]["annotations"][0];
    assert_eq!(annotation["type"], "container_file_citation");
    assert_eq!(
        (&annotation["container_id"], &annotation["filename"]),
        (&json!(container_id), &json!("events_per_decade.png"))
    );
    let start = annotation["start_index"].as_u64().unwrap() as usize;
    let end = annotation["end_index"].as_u64().unwrap() as usize;
    let cited: String = text.chars().skip(start).take(end - start).collect();
    assert_eq!(
        cited,
        "[Download the chart](sandbox:/mnt/data/events_per_decade.png)"
    );

    let containers = client.containers();
    let files = containers.files(container_id);
    let file_id = annotation["file_id"].as_str().unwrap();
    let png = files.content(file_id).await.expect("download");
    assert_eq!(png[..8], [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]);
    assert_eq!(&png[12..16], b"IHDR");
    let meta = files.retrieve(file_id).await.expect("file metadata");
    assert_eq!(
        (meta.path.as_str(), meta.source.as_str()),
        ("/mnt/data/events_per_decade.png", "assistant")
    );
    assert_eq!(meta.bytes as usize, png.len());
    assert_eq!(
        files.list().await.expect("files").data.len(),
        2,
        "the CSV copy and the chart"
    );
    assert_eq!(
        emu.container_file(container_id, file_id).unwrap(),
        png.to_vec()
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn code_interpreter_outputs_need_include_and_stream_their_own_events() {
    let emu = start().await;
    let client = client(&emu);
    let tools = csv_tool(&client).await;
    let korean = "몇 개의 사건이 년대별로 있는지 차트로 보여줘";
    let body = json!({"model": MODEL, "tools": tools, "input": korean});
    let bare = as_json(&client.responses().create(request(body)).await.unwrap());
    assert_eq!(bare["output"][0]["type"], "code_interpreter_call");
    assert!(bare["output"][0]["outputs"].is_null(), "{bare}");
    assert!(output_text(&bare).contains("1940s: 3"));

    let body =
        json!({"model": MODEL, "stream": true, "tools": tools, "input": "Plot events per decade"});
    let stream = client
        .responses()
        .create_stream(request(body))
        .await
        .unwrap();
    let (events, error) = events(stream).await;
    assert!(error.is_none(), "{error:?}");
    assert_numbered(&events);
    let kinds = kinds(&events);
    let at = |k: &str| {
        kinds
            .iter()
            .position(|x| x == k)
            .unwrap_or_else(|| panic!("no {k} in {kinds:?}"))
    };
    assert!(
        at("response.code_interpreter_call.in_progress")
            < at("response.code_interpreter_call_code.delta")
    );
    assert!(
        at("response.code_interpreter_call_code.done")
            < at("response.code_interpreter_call.interpreting")
    );
    assert!(
        at("response.code_interpreter_call.interpreting")
            < at("response.code_interpreter_call.completed")
    );
    assert!(
        at("response.code_interpreter_call.completed")
            < at("response.output_text.annotation.added")
    );
    assert_eq!(emu.response_stats().code_interpreter_runs, 2);
    emu.shutdown().await;
}

#[tokio::test]
async fn only_queued_or_running_background_responses_can_be_cancelled() {
    let emu = start().await;
    let client = client(&emu);
    emu.hold_responses(true);
    let body = json!({"model": MODEL, "input": "Write a long essay.", "background": true});
    let created = client.responses().create(request(body)).await.unwrap();
    assert_eq!(created.status, Status::Queued);
    let cancelled = client
        .responses()
        .cancel(&created.id)
        .await
        .expect("cancel");
    assert_eq!(cancelled.status, Status::Cancelled);
    let again = client
        .responses()
        .cancel(&created.id)
        .await
        .expect("cancel is idempotent");
    assert_eq!(again.status, Status::Cancelled);
    emu.hold_responses(false);
    let later = client.responses().retrieve(&created.id).await.unwrap();
    assert_eq!(later.status, Status::Cancelled);
    assert!(later.output.is_empty());

    let sync = client
        .responses()
        .create(request(json!({"model": MODEL, "input": "Hi"})))
        .await
        .unwrap();
    let (status, message, _, _) = api_error(client.responses().cancel(&sync.id).await.unwrap_err());
    assert_eq!(
        (status, message.as_str()),
        (
            400,
            "Only responses created with background=true can be cancelled."
        )
    );
    let body = json!({"model": MODEL, "input": "Hi", "background": true});
    let finished = client.responses().create(request(body)).await.unwrap();
    poll(&client, &finished.id).await;
    let (status, message, _, _) =
        api_error(client.responses().cancel(&finished.id).await.unwrap_err());
    assert_eq!(
        (status, message.as_str()),
        (400, "Cannot cancel a response with status 'completed'.")
    );

    assert!(
        client
            .responses()
            .delete(&sync.id)
            .await
            .expect("delete")
            .deleted
    );
    let (status, message, _, _) =
        api_error(client.responses().retrieve(&sync.id).await.unwrap_err());
    assert_eq!(
        (status, message),
        (404, format!("Response with id '{}' not found.", sync.id))
    );
    assert_eq!(emu.response_stats().cancelled, 1);
    emu.shutdown().await;
}

/// `(status, message, code, param)` of the refusal of a create request.
async fn refusal(
    client: &Client<OpenAIConfig>,
    body: Value,
) -> (u16, String, Option<String>, Option<String>) {
    api_error(
        client
            .responses()
            .create(request(body))
            .await
            .expect_err("refused"),
    )
}

#[tokio::test]
async fn bad_parameters_are_refused_with_openais_errors() {
    let emu = start().await;
    let client = client(&emu);
    let (status, message, code, param) =
        refusal(&client, json!({"model": "gpt-9-turbo", "input": "hi"})).await;
    assert_eq!(
        (status, code.as_deref(), param.as_deref()),
        (400, Some("model_not_found"), Some("model"))
    );
    assert_eq!(message, "The requested model 'gpt-9-turbo' does not exist.");
    let both = json!({"model": MODEL, "input": "hi", "conversation": "conv_1", "previous_response_id": "resp_1"});
    let (status, message, code, _) = refusal(&client, both).await;
    assert_eq!(
        (status, code.as_deref()),
        (400, Some("mutually_exclusive_parameters"))
    );
    assert!(
        message.contains("'previous_response_id' or 'conversation'"),
        "{message}"
    );
    let body = json!({"model": MODEL, "input": "hi", "background": true, "store": false});
    let (status, _, _, param) = refusal(&client, body).await;
    assert_eq!((status, param.as_deref()), (400, Some("store")));
    let (status, message, code, _) = refusal(
        &client,
        json!({"model": MODEL, "input": "hi", "max_output_tokens": 8}),
    )
    .await;
    assert_eq!(
        (status, code.as_deref()),
        (400, Some("integer_below_min_value"))
    );
    assert_eq!(
        message,
        "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got 8 instead."
    );
    let loose = json!({"type": "function", "name": "f", "strict": true,
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}});
    let (status, message, code, _) = refusal(
        &client,
        json!({"model": MODEL, "input": "hi", "tools": [loose]}),
    )
    .await;
    assert_eq!(
        (status, code.as_deref()),
        (400, Some("invalid_function_parameters"))
    );
    assert!(
        message.contains("'additionalProperties' is required to be supplied and to be false"),
        "{message}"
    );

    // The raw body has OpenAI's four fields.
    let raw = http()
        .post(format!("{}/responses", emu.openai_base_url()))
        .bearer_auth("sk-emulated")
        .json(&json!({"model": MODEL, "input": "hi", "unknown_knob": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    let body: Value = raw.json().await.unwrap();
    let error = json!({"message": "Unknown parameter: 'unknown_knob'.", "type": "invalid_request_error",
        "param": "unknown_knob", "code": "unknown_parameter"});
    assert_eq!(body, json!({"error": error}));
    assert_eq!(emu.response_stats().created, 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_context_openai_would_refuse_is_refused() {
    let emu = start().await;
    let client = client(&emu);
    let (status, message, _, _) = refusal(
        &client,
        json!({"model": MODEL, "input": "hi", "conversation": "conv_nope"}),
    )
    .await;
    assert_eq!(
        (status, message.as_str()),
        (404, "Conversation with id 'conv_nope' not found.")
    );
    let body = json!({"model": MODEL, "input": "hi", "previous_response_id": "resp_nope"});
    let (status, message, code, param) = refusal(&client, body).await;
    assert_eq!(
        (status, code.as_deref(), param.as_deref()),
        (
            400,
            Some("previous_response_not_found"),
            Some("previous_response_id")
        )
    );
    assert_eq!(message, "Previous response with id 'resp_nope' not found.");
    let orphan = json!([{"type": "function_call_output", "call_id": "call_x", "output": "rows"}]);
    let (status, message, _, _) = refusal(&client, json!({"model": MODEL, "input": orphan})).await;
    assert_eq!(
        (status, message.as_str()),
        (
            400,
            "No tool call found for function call output with call_id call_x."
        )
    );
    let wrong_part =
        json!([{"role": "assistant", "content": [{"type": "input_text", "text": "x"}]}]);
    let (status, _, code, param) =
        refusal(&client, json!({"model": MODEL, "input": wrong_part})).await;
    assert_eq!(
        (status, code.as_deref(), param.as_deref()),
        (400, Some("invalid_value"), Some("input[0].content[0]"))
    );
    emu.shutdown().await;
}

fn fault(kind: ResponseFaultKind, matching: &str) -> ResponseFault {
    ResponseFault {
        kind,
        matching: Some(matching.to_string()),
        times: 1,
    }
}

/// The events of a streamed response to `input`.
async fn stream_of(
    client: &Client<OpenAIConfig>,
    input: &str,
    background: bool,
) -> (Vec<Value>, Option<OpenAIError>) {
    let body = json!({"model": MODEL, "input": input, "background": background, "stream": true});
    events(
        client
            .responses()
            .create_stream(request(body))
            .await
            .expect("stream"),
    )
    .await
}

#[tokio::test]
async fn a_stream_can_break_with_an_error_event_or_response_failed() {
    let emu = start().await;
    let client = client(&emu);
    emu.set_faults(Faults {
        responses: vec![
            fault(
                ResponseFaultKind::ErrorEvent { after_events: 5 },
                "error please",
            ),
            fault(
                ResponseFaultKind::FailedEvent { after_events: 4 },
                "fail midway",
            ),
        ],
        ..Faults::default()
    });
    let (got, error) = stream_of(
        &client,
        "error please: tell me a story about the sheet",
        false,
    )
    .await;
    assert!(error.is_none(), "{error:?}");
    assert_numbered(&got);
    assert_eq!(got.len(), 6);
    assert_eq!(
        (&got[5]["type"], &got[5]["code"]),
        (&json!("error"), &json!("server_error"))
    );
    let id = got[0]["response"]["id"].as_str().unwrap();
    let failed = as_json(&client.responses().retrieve(id).await.unwrap());
    assert_eq!(
        (&failed["status"], &failed["error"]["code"]),
        (&json!("failed"), &json!("server_error"))
    );

    let (got, _) = stream_of(&client, "fail midway through this answer please", false).await;
    assert_eq!(got.len(), 5);
    assert_eq!(
        kinds(&got).last().map(String::as_str),
        Some("response.failed")
    );
    assert_eq!(got[4]["response"]["status"], "failed");
    // Without a matching fault the same question streams to completion.
    let (got, _) = stream_of(&client, "fail midway through this answer please", false).await;
    assert_eq!(
        kinds(&got).last().map(String::as_str),
        Some("response.completed")
    );
    assert_eq!(emu.response_stats().failed, 2);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_cut_background_stream_resumes_after_its_last_sequence_number() {
    let emu = start().await;
    let client = client(&emu);
    emu.set_faults(Faults {
        responses: vec![fault(ResponseFaultKind::Cut { after_events: 6 }, "cut me")],
        ..Faults::default()
    });
    let (got, error) = stream_of(
        &client,
        "cut me off in the middle of this long answer",
        true,
    )
    .await;
    assert_eq!(got.len(), 6, "{:?}", kinds(&got));
    assert_eq!(
        kinds(&got)[..3],
        [
            "response.created",
            "response.queued",
            "response.in_progress"
        ]
    );
    assert!(
        matches!(
            error,
            Some(OpenAIError::StreamError(_) | OpenAIError::Reqwest(_))
        ),
        "{error:?}"
    );
    let id = got[0]["response"]["id"].as_str().unwrap().to_string();
    let (_, done) = poll(&client, &id).await;
    assert_eq!(done["status"], "completed");
    let resumed = client
        .responses()
        .query(&[("starting_after", "5")])
        .unwrap()
        .retrieve_stream(&id)
        .await
        .expect("resume");
    let (rest, error) = events(resumed).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(rest[0]["sequence_number"], 6);
    assert_eq!(
        kinds(&rest).last().map(String::as_str),
        Some("response.completed")
    );
    let whole: String = got
        .iter()
        .chain(rest.iter())
        .filter(|e| e["type"] == "response.output_text.delta")
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(whole, output_text(&done));
    emu.shutdown().await;
}

#[tokio::test]
async fn responses_can_end_failed_or_incomplete() {
    let emu = start().await;
    let client = client(&emu);
    emu.set_faults(Faults {
        responses: vec![
            fault(ResponseFaultKind::Failed, "fail now"),
            fault(ResponseFaultKind::Incomplete, "cut short"),
        ],
        ..Faults::default()
    });
    let create = |input: &str| {
        let client = client.clone();
        let body = json!({"model": MODEL, "input": input});
        async move {
            as_json(
                &client
                    .responses()
                    .create(request(body))
                    .await
                    .expect("create"),
            )
        }
    };
    let failed = create("fail now").await;
    assert_eq!(
        (&failed["status"], &failed["error"]["code"]),
        (&json!("failed"), &json!("server_error"))
    );
    assert_eq!(failed["output"], json!([]));
    let short = create("cut short this answer").await;
    assert_eq!(short["status"], "incomplete");
    assert_eq!(short["incomplete_details"]["reason"], "max_output_tokens");
    assert_eq!(short["output"][0]["status"], "incomplete");
    let whole = create("cut short this answer").await;
    assert_eq!(whole["status"], "completed");
    assert!(output_text(&whole).starts_with(&output_text(&short)));
    // max_output_tokens cuts the answer too.
    let body = json!({"model": MODEL, "input": "a question with a long answer, please", "max_output_tokens": 16});
    let capped = as_json(&client.responses().create(request(body)).await.unwrap());
    assert_eq!(capped["status"], "incomplete");
    assert!(capped["usage"]["output_tokens"].as_u64().unwrap() <= 16);
    let stats = emu.response_stats();
    assert_eq!((stats.failed, stats.incomplete), (1, 2));
    emu.shutdown().await;
}

#[tokio::test]
async fn responses_are_rate_limited_with_retry_after() {
    let emu = start().await;
    emu.set_responses_limits(Some(almanac_emulator::ratelimit::ChatLimits {
        requests_per_minute: Some(60),
        ..Default::default()
    }));
    let http = http();
    let post = || {
        http.post(format!("{}/responses", emu.openai_base_url()))
            .bearer_auth("sk-emulated")
            .json(&json!({"model": MODEL, "input": "hi"}))
            .send()
    };
    assert_eq!(post().await.unwrap().status().as_u16(), 200);
    let refused = post().await.unwrap();
    assert_eq!(refused.status().as_u16(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert!(refused.headers().contains_key("retry-after-ms"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    assert_eq!(emu.responses_limit_stats().throttled, 1);
    assert_eq!(emu.response_stats().throttled, 1);

    emu.set_responses_limits(None);
    let once = CallFault {
        target: FaultTarget::OpenAiResponses,
        kind: CallFaultKind::Status(429),
        times: 1,
    };
    emu.set_faults(Faults {
        calls: vec![once],
        ..Faults::default()
    });
    let refused = post().await.unwrap();
    assert_eq!(refused.status().as_u16(), 429);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(post().await.unwrap().status().as_u16(), 200);
    emu.shutdown().await;
}
