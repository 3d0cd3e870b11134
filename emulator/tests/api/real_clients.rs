//! The real client crates against the emulator: async-openai (Files, Batches, Chat; and in
//! [`responses`] Conversations, Responses and Containers), yup-oauth2's service-account flow
//! (padded JWT, real form body) and google-sheets4 (percent-encoded ranges, batchGet, batchUpdate,
//! spreadsheets.get).

#[path = "real_clients/responses.rs"]
mod responses;

use std::time::Duration;

use crate::common::*;
use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::types::InputSource;
use async_openai::types::batches::{
    BatchCompletionWindow, BatchEndpoint, BatchRequest, BatchRequestOutput, BatchStatus,
};
use async_openai::types::files::{CreateFileRequest, FileInput, FilePurpose, OpenAIFilePurpose};
use google_sheets4::Sheets;
use google_sheets4::api::{BatchUpdateValuesRequest, ValueRange};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

#[tokio::test]
async fn async_openai_runs_a_batch_end_to_end() {
    install_crypto();
    let emu = start().await;
    let client = Client::with_config(
        OpenAIConfig::new()
            .with_api_base(emu.openai_base_url())
            .with_api_key("sk-emulated"),
    );
    let rows = sample_rows();
    let lines: Vec<String> = rows
        .iter()
        .map(|(id, t)| input_line(id, t, "gpt-4o-mini"))
        .collect();
    let file = client
        .files()
        .create(CreateFileRequest {
            file: FileInput {
                source: InputSource::VecU8 {
                    filename: "almanac-job.jsonl".into(),
                    vec: jsonl(&lines).into_bytes(),
                },
            },
            purpose: FilePurpose::Batch,
            expires_after: None,
        })
        .await
        .expect("file upload");
    assert_eq!(file.purpose, OpenAIFilePurpose::Batch);
    let metadata: std::collections::HashMap<String, Value> =
        [("job_id".to_string(), json!("job-42"))]
            .into_iter()
            .collect();
    let batch = client
        .batches()
        .create(BatchRequest {
            input_file_id: file.id.clone(),
            endpoint: BatchEndpoint::V1ChatCompletions,
            completion_window: BatchCompletionWindow::W24H,
            metadata: Some(metadata),
            output_expires_after: None,
        })
        .await
        .expect("batch create");
    assert_eq!(batch.status, BatchStatus::Validating);

    let listed = client.batches().list().await.expect("list");
    assert_eq!(listed.data[0].id, batch.id);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let done = loop {
        let b = client
            .batches()
            .retrieve(&batch.id)
            .await
            .expect("retrieve");
        if b.status == BatchStatus::Completed {
            break b;
        }
        assert!(tokio::time::Instant::now() < deadline, "stuck: {b:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let counts = done.request_counts.expect("request_counts");
    assert_eq!((counts.total, counts.completed, counts.failed), (16, 16, 0));
    let bytes = client
        .files()
        .content(done.output_file_id.as_deref().expect("output file"))
        .await
        .expect("content");
    let lines: Vec<BatchRequestOutput> = String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("BatchRequestOutput parses"))
        .collect();
    assert_eq!(lines.len(), 16);
    let first = lines[0].response.as_ref().expect("response");
    let completion: async_openai::types::chat::CreateChatCompletionResponse =
        serde_json::from_value(first.body.clone()).expect("chat.completion parses");
    assert!(
        completion.choices[0]
            .message
            .content
            .as_deref()
            .unwrap()
            .contains("[emulated]")
    );

    // Cancel of a completed batch: the typed client surfaces the 409.
    let err = client.batches().cancel(&batch.id).await.expect_err("409");
    assert!(
        err.to_string()
            .contains("Cannot cancel a batch with status 'completed'."),
        "{err}"
    );

    // Synchronous chat completion through the typed request/response.
    let request: async_openai::types::chat::CreateChatCompletionRequest =
        serde_json::from_value(json!({
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "Title: Berlin Wall falls"}],
            "response_format": response_format()
        }))
        .unwrap();
    let answer = client.chat().create(request).await.expect("chat");
    let content: Value =
        serde_json::from_str(answer.choices[0].message.content.as_deref().unwrap()).unwrap();
    assert_eq!(
        content["content_simple"],
        "[emulated] simple: Berlin Wall falls"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn yup_oauth2_and_google_sheets4_read_and_write() {
    let emu = start().await;
    emu.add_sheet_from_csv(
        "demo-spreadsheet",
        0,
        "Events",
        almanac_emulator::SAMPLE_KO_CSV,
    )
    .unwrap();
    emu.add_sheet(
        "demo-spreadsheet",
        5,
        "🌵 Notes & more",
        vec![vec!["memo".into()]],
    );

    let key =
        yup_oauth2::parse_service_account_key(emu.service_account_key_json()).expect("key JSON");
    let auth_client = HyperClient::builder(TokioExecutor::new()).build(HttpConnector::new());
    let auth = yup_oauth2::ServiceAccountAuthenticator::with_client(
        key,
        yup_oauth2::CustomHyperClientBuilder::from(auth_client),
    )
    .build()
    .await
    .expect("authenticator");
    let token = auth
        .token(&["https://www.googleapis.com/auth/spreadsheets"])
        .await
        .expect("yup-oauth2 gets a token from the emulator");
    assert!(token.token().unwrap().starts_with("ya29."));

    let sheets_client = HyperClient::builder(TokioExecutor::new()).build(HttpConnector::new());
    let mut hub = Sheets::new(sheets_client, auth);
    hub.base_url(emu.sheets_base_url());
    hub.root_url(emu.sheets_base_url());

    let (_, spreadsheet) = hub
        .spreadsheets()
        .get("demo-spreadsheet")
        .include_grid_data(false)
        .doit()
        .await
        .expect("spreadsheets.get");
    let sheets = spreadsheet.sheets.unwrap();
    let props = sheets[0].properties.as_ref().unwrap();
    assert_eq!(props.title.as_deref(), Some("Events"));
    assert_eq!(props.sheet_id, Some(0));

    let (_, header) = hub
        .spreadsheets()
        .values_get("demo-spreadsheet", "Events!A1:H1")
        .doit()
        .await
        .expect("values.get");
    assert_eq!(header.range.as_deref(), Some("Events!A1:H1"));
    assert_eq!(header.values.unwrap()[0][1], json!("title"));

    let (_, got) = hub
        .spreadsheets()
        .values_batch_get("demo-spreadsheet")
        .add_ranges("Events!A2:B")
        .add_ranges("'🌵 Notes & more'!A:A")
        .doit()
        .await
        .expect("values.batchGet");
    let ranges = got.value_ranges.unwrap();
    assert_eq!(ranges[0].range.as_deref(), Some("Events!A2:B1000"));
    assert_eq!(ranges[0].values.as_ref().unwrap().len(), 16);
    assert_eq!(
        ranges[0].values.as_ref().unwrap()[1],
        vec![json!("03-01"), json!("3·1 운동")]
    );
    assert_eq!(
        ranges[1].range.as_deref(),
        Some("'🌵 Notes & more'!A1:A1000")
    );

    let request = BatchUpdateValuesRequest {
        value_input_option: Some("USER_ENTERED".into()),
        data: Some(vec![ValueRange {
            range: Some("Events!C3:F3".into()),
            values: Some(vec![vec![
                json!("1919"),
                json!("=SUM(A1:A2)"),
                json!("detail"),
                json!(""),
            ]]),
            major_dimension: None,
        }]),
        ..Default::default()
    };
    let (_, updated) = hub
        .spreadsheets()
        .values_batch_update(request, "demo-spreadsheet")
        .doit()
        .await
        .expect("values.batchUpdate");
    assert_eq!(updated.total_updated_cells, Some(4));
    assert_eq!(
        updated.responses.unwrap()[0].updated_range.as_deref(),
        Some("Events!C3:F3")
    );
    assert_eq!(emu.cell("demo-spreadsheet", 0, 2, 2), "1919");
    assert!(emu.cell_is_formula("demo-spreadsheet", 0, 2, 3));

    // A 404 comes back as the typed BadRequest error with Google's body.
    let err = hub
        .spreadsheets()
        .values_get("missing-spreadsheet", "A1")
        .doit()
        .await
        .expect_err("404");
    assert!(
        err.to_string().contains("Requested entity was not found."),
        "{err}"
    );

    let calls = emu.calls();
    // One token per distinct scope set google-sheets4 asks for (drive.readonly for reads by
    // default, spreadsheets for writes), then cached: fewer token calls than Sheets calls.
    assert!((1..=3).contains(&calls.token), "{calls:?}");
    assert_eq!(calls.spreadsheets_get, 1);
    assert_eq!(calls.values_get, 2);
    assert_eq!(calls.values_batch_get, 1);
    assert_eq!(calls.values_batch_update, 1);
    emu.shutdown().await;
}
