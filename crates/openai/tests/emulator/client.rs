//! Black-box tests of `almanac_openai` against the OpenAI emulator (`almanac_emulator`): the real
//! async-openai code paths upload a JSONL file, create, list, poll and cancel batches, download the
//! output and error files and parse them — the same wire contracts as
//! <https://platform.openai.com/docs/api-reference/batch> and `.../files`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use almanac_core::catalog::Catalog;
use almanac_core::domain::{RowId, RowInput};
use almanac_emulator::{Emulator, EmulatorConfig, Faults, RowFault, SAMPLE_KO_CSV};
use almanac_openai::jsonl::{request_body, write_jsonl};
use almanac_openai::output::collect_results;
use almanac_openai::{BatchClient, BatchInfo, BatchState as BatchStatus};
use secrecy::SecretString;

async fn start() -> (Emulator, BatchClient) {
    crate::install_crypto_provider();
    let emulator = Emulator::start(EmulatorConfig {
        step: Duration::from_millis(5),
        rows_per_step: 64,
    })
    .await
    .expect("the emulator starts");
    let client = BatchClient::new(
        &SecretString::from("sk-test-emulator-key"),
        &emulator.openai_base_url(),
    );
    (emulator, client)
}

/// The first `n` rows of the Korean sample sheet (id, title).
fn sample_rows(n: usize) -> Vec<RowInput> {
    SAMPLE_KO_CSV
        .lines()
        .skip(1)
        .take(n)
        .map(|line| {
            let mut cols = line.split(',');
            RowInput {
                id: RowId::parse(cols.next().unwrap()).unwrap(),
                title: cols.next().unwrap().to_owned(),
            }
        })
        .collect()
}

async fn upload(client: &BatchClient, model: &str, rows: &[RowInput]) -> String {
    let spec = Catalog::builtin().resolve(model).unwrap();
    let mut jsonl = Vec::new();
    write_jsonl(spec, rows, &mut jsonl).unwrap();
    client.upload_jsonl("rows.jsonl", jsonl).await.unwrap()
}

async fn wait_until_terminal(client: &BatchClient, batch_id: &str) -> BatchInfo {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info = client.retrieve_batch(batch_id).await.unwrap();
        if info.status.is_terminal() {
            return info;
        }
        assert!(Instant::now() < deadline, "batch stuck in {}", info.status);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_batch_runs_from_upload_to_parsed_results_matched_by_row_id() {
    let (emulator, client) = start().await;
    let rows = sample_rows(5);
    let file_id = upload(&client, "gpt-4.1-mini-2025-04-14", &rows).await;
    assert!(file_id.starts_with("file-"), "{file_id}");

    let created = client.create_batch(&file_id, "job-1").await.unwrap();
    assert_eq!(created.input_file_id, file_id);
    assert_eq!(created.metadata_job_id.as_deref(), Some("job-1"));
    assert!(!created.status.is_terminal());

    let done = wait_until_terminal(&client, &created.id).await;
    assert_eq!(done.status, BatchStatus::Completed, "{:?}", done.errors);
    assert_eq!(done.request_counts.total, 5);
    assert_eq!(done.request_counts.completed, 5);
    assert_eq!(done.request_counts.failed, 0);

    let output = client
        .file_content(done.output_file_id.as_deref().unwrap())
        .await
        .unwrap();
    let results = collect_results(Some(&output), None);
    assert!(results.bad_lines.is_empty(), "{:?}", results.bad_lines);
    assert_eq!(results.by_custom_id.len(), rows.len());
    for row in &rows {
        let parsed = &results.by_custom_id[row.id.as_str()];
        let generated = parsed.outcome.as_ref().unwrap();
        assert!(
            generated
                .year
                .chars()
                .all(|c| c.is_ascii_digit() || c == '-'),
            "{generated:?}"
        );
        assert!(!generated.simple.is_empty() && !generated.detail.is_empty());
        assert!(parsed.usage.is_some_and(|u| u.prompt_tokens > 0));
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_file_streamed_up_from_disk_and_down_in_chunks_is_the_same_batch() {
    let (emulator, client) = start().await;
    let rows = sample_rows(12);
    let spec = Catalog::builtin()
        .resolve("gpt-4.1-mini-2025-04-14")
        .unwrap();
    let dir = std::env::temp_dir().join(format!("almanac-stream-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("almanac-job-1-0.jsonl");
    let mut jsonl = Vec::new();
    write_jsonl(spec, &rows, &mut jsonl).unwrap();
    std::fs::write(&path, &jsonl).unwrap();
    let file_id = client.upload_jsonl_file(&path).await.unwrap();
    assert_eq!(emulator.calls().files_create, 1);
    let created = client.create_batch(&file_id, "job-1").await.unwrap();
    let done = wait_until_terminal(&client, &created.id).await;
    assert_eq!(done.status, BatchStatus::Completed, "{:?}", done.errors);
    assert_eq!(
        done.request_counts.completed, 12,
        "every streamed line was read"
    );

    let output_id = done.output_file_id.as_deref().unwrap();
    let whole = client.file_content(output_id).await.unwrap();
    let mut download = client.download(output_id).await.unwrap();
    let (mut streamed, mut chunks) = (Vec::new(), 0);
    while let Some(chunk) = download.chunk().await.unwrap() {
        streamed.extend_from_slice(&chunk);
        chunks += 1;
    }
    assert!(chunks >= 1);
    assert_eq!(streamed, whole.to_vec());
    let missing = client.download("file-nope").await.err().unwrap();
    assert_eq!(missing.status(), Some(404), "{missing}");
    std::fs::write(&path, b"").unwrap();
    assert!(
        !client
            .upload_jsonl_file(&path)
            .await
            .unwrap_err()
            .is_transient()
    );
    assert_eq!(
        emulator.calls().files_create,
        1,
        "an empty file is refused before any call"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_created_batch_is_found_again_by_job_id_and_input_file_across_pages() {
    let (emulator, client) = start().await;
    emulator.hold_batches(true);
    let file_id = upload(&client, "gpt-4.1-nano-2025-04-14", &sample_rows(2)).await;
    let first = client.create_batch(&file_id, "job-old").await.unwrap();
    // Push the first batch onto the second page of `GET /v1/batches?limit=100`.
    for i in 0..105 {
        client
            .create_batch(&file_id, &format!("job-{i}"))
            .await
            .unwrap();
    }
    let found = client
        .find_batch_for_job("job-old", &file_id)
        .await
        .unwrap()
        .expect("the batch is found");
    assert_eq!(found.id, first.id);
    assert!(emulator.calls().batches_list >= 2, "it paginated");
    assert_eq!(
        client
            .find_batch_for_job("job-old", "file-other")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        client
            .find_batch_for_job("job-never", &file_id)
            .await
            .unwrap(),
        None
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn row_failures_arrive_in_the_error_file_with_reasons_for_people() {
    let (emulator, client) = start().await;
    let rows = sample_rows(4);
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    emulator.set_faults(Faults {
        rows: HashMap::from([
            (ids[0].to_owned(), RowFault::InvalidJson),
            (ids[1].to_owned(), RowFault::MissingField("detail".into())),
            (ids[2].to_owned(), RowFault::HttpError(400)),
        ]),
        expire_after: None,
        ..Faults::default()
    });
    let file_id = upload(&client, "o4-mini-2025-04-16", &rows).await;
    let batch = client.create_batch(&file_id, "job-faults").await.unwrap();
    let done = wait_until_terminal(&client, &batch.id).await;
    assert_eq!(done.status, BatchStatus::Completed);

    let output = match &done.output_file_id {
        Some(id) => Some(client.file_content(id).await.unwrap()),
        None => None,
    };
    let errors = match &done.error_file_id {
        Some(id) => Some(client.file_content(id).await.unwrap()),
        None => None,
    };
    let results = collect_results(output.as_deref(), errors.as_deref());
    assert_eq!(results.by_custom_id.len(), 4);
    let code = |id: &str| {
        results.by_custom_id[id]
            .outcome
            .as_ref()
            .err()
            .map(|e| e.code.to_string())
    };
    assert_eq!(code(ids[0]).as_deref(), Some("invalid_json"));
    assert_eq!(code(ids[1]).as_deref(), Some("missing_field"));
    assert_eq!(code(ids[2]).as_deref(), Some("http_400"));
    assert_eq!(
        code(ids[3]),
        None,
        "the reasoning-model request shape was accepted"
    );
    let missing = results.by_custom_id[ids[1]].outcome.as_ref().unwrap_err();
    assert_eq!(missing.message, "the model's answer has no `detail` field");
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_expired_batch_delivers_finished_rows_and_marks_the_rest_batch_expired() {
    let (emulator, client) = start().await;
    emulator.set_faults(Faults {
        rows: HashMap::new(),
        expire_after: Some(2),
        ..Faults::default()
    });
    let rows = sample_rows(6);
    let file_id = upload(&client, "gpt-4.1-mini-2025-04-14", &rows).await;
    let batch = client.create_batch(&file_id, "job-expire").await.unwrap();
    let done = wait_until_terminal(&client, &batch.id).await;
    assert_eq!(done.status, BatchStatus::Expired);
    let output = match &done.output_file_id {
        Some(id) => Some(client.file_content(id).await.unwrap()),
        None => None,
    };
    let errors = client
        .file_content(done.error_file_id.as_deref().expect("an error file"))
        .await
        .unwrap();
    let results = collect_results(output.as_deref(), Some(&errors));
    let expired = results
        .by_custom_id
        .values()
        .filter(|p| p.outcome.as_ref().is_err_and(|e| e.code == "batch_expired"))
        .count();
    let ok = results
        .by_custom_id
        .values()
        .filter(|p| p.outcome.is_ok())
        .count();
    assert_eq!(ok + expired, rows.len());
    assert!(expired > 0 && ok > 0, "ok {ok}, expired {expired}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn cancelling_works_once_and_a_finished_batch_refuses_with_409() {
    let (emulator, client) = start().await;
    emulator.hold_batches(true);
    let file_id = upload(&client, "gpt-4.1-mini-2025-04-14", &sample_rows(3)).await;
    let batch = client.create_batch(&file_id, "job-cancel").await.unwrap();
    let cancelling = client.cancel_batch(&batch.id).await.unwrap();
    assert!(
        matches!(
            cancelling.status,
            BatchStatus::Cancelling | BatchStatus::Cancelled
        ),
        "{}",
        cancelling.status
    );
    let done = wait_until_terminal(&client, &batch.id).await;
    assert_eq!(done.status, BatchStatus::Cancelled);

    emulator.hold_batches(false);
    let other = client.create_batch(&file_id, "job-finished").await.unwrap();
    let finished = wait_until_terminal(&client, &other.id).await;
    assert_eq!(finished.status, BatchStatus::Completed);
    let err = client.cancel_batch(&other.id).await.unwrap_err();
    assert!(!err.is_transient());
    assert_eq!(err.status(), Some(409));
    emulator.shutdown().await;
}

#[tokio::test]
async fn unknown_ids_are_permanent_404s_and_never_echo_the_key() {
    let (emulator, client) = start().await;
    let err = client.retrieve_batch("batch_nope").await.unwrap_err();
    assert!(!err.is_transient());
    assert_eq!(err.status(), Some(404));
    let err = client.file_content("file-nope").await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert!(!err.to_string().contains("sk-test-emulator-key"));
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_realtime_chat_call_with_our_request_body_is_accepted_for_both_model_kinds() {
    let (emulator, client) = start().await;
    for model in ["gpt-4.1-mini-2025-04-14", "o3-2025-04-16"] {
        let spec = Catalog::builtin().resolve(model).unwrap();
        let response = client
            .chat_completion(request_body(spec, "3·1 운동"))
            .await
            .unwrap();
        let content = response["choices"][0]["message"]["content"]
            .as_str()
            .unwrap();
        let generated = almanac_openai::output::parse_content(content).unwrap();
        assert!(!generated.simple.is_empty(), "{model}");
    }
    // The emulator, like OpenAI, refuses temperature for a reasoning model.
    let mut body = request_body(Catalog::builtin().resolve("o3").unwrap(), "3·1 운동");
    body["temperature"] = serde_json::json!(0.7);
    let err = client.chat_completion(body).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    emulator.shutdown().await;
}
