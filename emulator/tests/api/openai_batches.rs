//! The OpenAI side over HTTP: Files, the batch lifecycle, validation failures, expiry, cancel,
//! listing, auth and error shapes, and synchronous chat completions.

use std::collections::{HashMap, HashSet};

use crate::common::*;
use almanac_emulator::{Faults, RowFault};
use serde_json::{Value, json};

#[tokio::test]
async fn batch_runs_to_completion_with_out_of_order_output() {
    let emu = start().await;
    let client = http();
    let rows = sample_rows();
    assert_eq!(rows.len(), 16);
    let lines: Vec<String> = rows
        .iter()
        .map(|(id, title)| input_line(id, title, "gpt-4o-mini"))
        .collect();
    let file = upload(&client, &emu, jsonl(&lines)).await;
    assert_eq!(file["object"], "file");
    assert_eq!(file["purpose"], "batch");
    assert_eq!(file["filename"], "input.jsonl");
    assert!(file["id"].as_str().unwrap().starts_with("file-"));

    let created = create_batch(&client, &emu, file["id"].as_str().unwrap(), "job-1").await;
    assert_eq!(created["object"], "batch");
    assert_eq!(created["status"], "validating");
    assert_eq!(created["completion_window"], "24h");
    assert_eq!(created["metadata"]["job_id"], "job-1");
    assert_eq!(
        created["request_counts"],
        json!({"total": 0, "completed": 0, "failed": 0})
    );
    assert!(created["output_file_id"].is_null());
    let batch_id = created["id"].as_str().unwrap().to_string();
    assert!(batch_id.starts_with("batch_"));

    let (seen, done) = poll_until(&client, &emu, &batch_id, is_terminal).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(seen.contains(&"in_progress".to_string()), "{seen:?}");
    assert_eq!(
        done["request_counts"],
        json!({"total": 16, "completed": 16, "failed": 0})
    );
    for field in ["in_progress_at", "finalizing_at", "completed_at"] {
        assert!(done[field].as_u64().is_some(), "{field} missing: {done}");
    }
    assert!(done["error_file_id"].is_null());
    assert_eq!(done["model"], "gpt-4o-mini");

    let output_id = done["output_file_id"].as_str().unwrap();
    let (status, meta) = get_json(
        &client,
        &format!("{}/files/{output_id}", emu.openai_base_url()),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(meta["purpose"], "batch_output");
    let output = parse_jsonl(
        &get_text(
            &client,
            &format!("{}/files/{output_id}/content", emu.openai_base_url()),
        )
        .await,
    );
    assert_eq!(output.len(), 16);
    let order: Vec<&str> = output
        .iter()
        .map(|l| l["custom_id"].as_str().unwrap())
        .collect();
    let input_order: Vec<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
    assert_ne!(order, input_order, "output must not be in input order");
    let titles: HashMap<&str, &str> = rows.iter().map(|(i, t)| (i.as_str(), t.as_str())).collect();
    let mut ids = HashSet::new();
    for line in &output {
        assert!(line["id"].as_str().unwrap().starts_with("batch_req_"));
        assert!(line["error"].is_null());
        assert_eq!(line["response"]["status_code"], 200);
        let body = &line["response"]["body"];
        assert_eq!(body["object"], "chat.completion");
        assert_eq!(body["model"], "gpt-4o-mini");
        assert_eq!(body["choices"][0]["finish_reason"], "stop");
        let content: Value =
            serde_json::from_str(body["choices"][0]["message"]["content"].as_str().unwrap())
                .unwrap();
        let custom_id = line["custom_id"].as_str().unwrap();
        let title = titles[custom_id];
        assert_eq!(
            content["content_simple"],
            format!("[emulated] simple: {title}")
        );
        assert!(
            content["content_detailed"]
                .as_str()
                .unwrap()
                .contains(title)
        );
        let year: u32 = content["year"].as_str().unwrap().parse().unwrap();
        assert!((1800..=2020).contains(&year));
        ids.insert(custom_id.to_string());
    }
    assert_eq!(ids.len(), 16);
    let calls = emu.calls();
    assert_eq!(calls.files_create, 1);
    assert_eq!(calls.batches_create, 1);
    assert!(calls.batches_retrieve >= 3);
    emu.shutdown().await;
}

#[tokio::test]
async fn request_failures_go_to_the_error_file_and_all_failed_means_no_output_file() {
    let emu = start().await;
    let client = http();
    let mut faults = Faults::default();
    faults
        .rows
        .insert("bad-status".into(), RowFault::HttpError(500));
    faults.rows.insert("not-json".into(), RowFault::InvalidJson);
    faults.rows.insert(
        "no-simple".into(),
        RowFault::MissingField("content_simple".into()),
    );
    faults
        .rows
        .insert("formula".into(), RowFault::Text("=SUM(A1:A2)".into()));
    emu.set_faults(faults);
    let lines = vec![
        input_line("ok", "Moon landing", "gpt-4o-mini"),
        input_line("bad-status", "Fall of Rome", "gpt-4o-mini"),
        input_line("not-json", "Magna Carta", "gpt-4o-mini"),
        input_line("no-simple", "Printing press", "gpt-4o-mini"),
        input_line("formula", "Treaty of Paris", "gpt-4o-mini"),
        // A reasoning model refuses temperature: a per-request 400.
        {
            let mut v: Value =
                serde_json::from_str(&input_line("reasoning", "x", "o3-mini")).unwrap();
            v["body"]["temperature"] = json!(0.2);
            v.to_string()
        },
    ];
    let file = upload(&client, &emu, jsonl(&lines)).await;
    let batch = create_batch(&client, &emu, file["id"].as_str().unwrap(), "job-faults").await;
    let (_, done) = poll_until(&client, &emu, batch["id"].as_str().unwrap(), is_terminal).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(
        done["request_counts"],
        json!({"total": 6, "completed": 4, "failed": 2})
    );

    let base = emu.openai_base_url();
    let errors = parse_jsonl(
        &get_text(
            &client,
            &format!(
                "{base}/files/{}/content",
                done["error_file_id"].as_str().unwrap()
            ),
        )
        .await,
    );
    let by_id: HashMap<&str, &Value> = errors
        .iter()
        .map(|l| (l["custom_id"].as_str().unwrap(), l))
        .collect();
    assert_eq!(by_id.len(), 2);
    assert_eq!(by_id["bad-status"]["response"]["status_code"], 500);
    assert_eq!(
        by_id["bad-status"]["response"]["body"]["error"]["type"],
        "server_error"
    );
    assert_eq!(by_id["reasoning"]["response"]["status_code"], 400);
    assert_eq!(
        by_id["reasoning"]["response"]["body"]["error"]["message"],
        "Unsupported parameter: 'temperature' is not supported with this model."
    );

    let output = parse_jsonl(
        &get_text(
            &client,
            &format!(
                "{base}/files/{}/content",
                done["output_file_id"].as_str().unwrap()
            ),
        )
        .await,
    );
    let content = |id: &str| -> String {
        output
            .iter()
            .find(|l| l["custom_id"] == id)
            .map(|l| {
                l["response"]["body"]["choices"][0]["message"]["content"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .unwrap()
    };
    assert!(serde_json::from_str::<Value>(&content("not-json")).is_err());
    let missing: Value = serde_json::from_str(&content("no-simple")).unwrap();
    assert!(missing.get("content_simple").is_none());
    let formula: Value = serde_json::from_str(&content("formula")).unwrap();
    assert_eq!(formula["content_detailed"], "=SUM(A1:A2)");

    // Every request failing: completed, no output file, only an error file.
    let mut faults = Faults::default();
    faults.rows.insert("a".into(), RowFault::HttpError(429));
    faults.rows.insert("b".into(), RowFault::HttpError(400));
    emu.set_faults(faults);
    let file = upload(
        &client,
        &emu,
        jsonl(&[
            input_line("a", "A", "gpt-4o-mini"),
            input_line("b", "B", "gpt-4o-mini"),
        ]),
    )
    .await;
    let batch = create_batch(
        &client,
        &emu,
        file["id"].as_str().unwrap(),
        "job-all-failed",
    )
    .await;
    let (_, done) = poll_until(&client, &emu, batch["id"].as_str().unwrap(), is_terminal).await;
    assert_eq!(done["status"], "completed");
    assert!(done["output_file_id"].is_null(), "{done}");
    assert!(done["error_file_id"].is_string());
    assert_eq!(
        done["request_counts"],
        json!({"total": 2, "completed": 0, "failed": 2})
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn invalid_input_file_fails_validation_with_line_errors() {
    let emu = start().await;
    let client = http();
    let lines = vec![
        input_line("r1", "A", "gpt-4o-mini"),
        "this is not json".to_string(),
        json!({"method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-4o-mini", "messages": []}}).to_string(),
        json!({"custom_id": "r4", "method": "POST", "url": "/v1/embeddings", "body": {"model": "gpt-4o-mini", "messages": []}}).to_string(),
        input_line("r1", "dup", "gpt-4o-mini"),
    ];
    let file = upload(&client, &emu, jsonl(&lines)).await;
    let batch = create_batch(&client, &emu, file["id"].as_str().unwrap(), "job-invalid").await;
    let (_, done) = poll_until(&client, &emu, batch["id"].as_str().unwrap(), is_terminal).await;
    assert_eq!(done["status"], "failed");
    assert!(done["failed_at"].as_u64().is_some());
    assert!(done["output_file_id"].is_null());
    assert_eq!(done["errors"]["object"], "list");
    let errors = done["errors"]["data"].as_array().unwrap();
    let got: Vec<(&str, u64)> = errors
        .iter()
        .map(|e| (e["code"].as_str().unwrap(), e["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("invalid_json_line", 2),
            ("missing_required_parameter", 3),
            ("invalid_url", 4),
            ("duplicate_custom_id", 5)
        ]
    );
    assert_eq!(
        errors[0]["message"],
        "This line is not parseable as valid JSON."
    );
    assert_eq!(
        errors[1]["message"],
        "Missing required parameter: 'custom_id'."
    );
    assert_eq!(errors[1]["param"], "custom_id");
    assert_eq!(
        errors[2]["message"],
        "The URL provided for this request does not match the batch endpoint."
    );

    // Unknown input file: the batch is created, then fails like the recorded one.
    let batch = create_batch(&client, &emu, "file-doesnotexist", "job-nofile").await;
    let (_, done) = poll_until(&client, &emu, batch["id"].as_str().unwrap(), is_terminal).await;
    assert_eq!(done["status"], "failed");
    assert_eq!(done["errors"]["data"][0]["code"], "invalid_request");
    assert_eq!(done["errors"]["data"][0]["param"], "file_id");
    emu.shutdown().await;
}

#[tokio::test]
async fn create_refuses_bad_window_endpoint_and_metadata() {
    let emu = start().await;
    let client = http();
    let file = upload(&client, &emu, jsonl(&[input_line("a", "A", "gpt-4o-mini")])).await;
    let url = format!("{}/batches", emu.openai_base_url());
    for (body, param) in [
        (
            json!({"input_file_id": file["id"], "endpoint": "/v1/chat/completions", "completion_window": "1h"}),
            "completion_window",
        ),
        (
            json!({"input_file_id": file["id"], "endpoint": "/v1/invalid/endpoint", "completion_window": "24h"}),
            "endpoint",
        ),
        (
            json!({"input_file_id": file["id"], "endpoint": "/v1/chat/completions", "completion_window": "24h", "metadata": {"tags": ["a"]}}),
            "metadata.tags",
        ),
        (
            json!({"endpoint": "/v1/chat/completions", "completion_window": "24h"}),
            "input_file_id",
        ),
    ] {
        let resp = client
            .post(&url)
            .bearer_auth("sk-test")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400);
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["error"]["type"], "invalid_request_error");
        assert_eq!(err["error"]["param"], param, "{err}");
    }
    let resp = client
        .post(&url)
        .bearer_auth("sk-test")
        .json(&json!({"input_file_id": file["id"], "endpoint": "/v1/invalid/endpoint", "completion_window": "24h"}))
        .send()
        .await
        .unwrap();
    let err: Value = resp.json().await.unwrap();
    assert_eq!(
        err["error"]["message"],
        "Invalid value: '/v1/invalid/endpoint'. Supported values are: '/v1/chat/completions', '/v1/completions', '/v1/embeddings', and '/v1/responses'."
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn expiry_delivers_finished_rows_and_marks_the_rest_batch_expired() {
    let emu = start().await;
    let client = http();
    emu.set_faults(Faults {
        expire_after: Some(5),
        ..Faults::default()
    });
    let rows = sample_rows();
    let lines: Vec<String> = rows
        .iter()
        .map(|(id, t)| input_line(id, t, "gpt-4o-mini"))
        .collect();
    let file = upload(&client, &emu, jsonl(&lines)).await;
    let batch = create_batch(&client, &emu, file["id"].as_str().unwrap(), "job-expire").await;
    let (_, done) = poll_until(&client, &emu, batch["id"].as_str().unwrap(), is_terminal).await;
    assert_eq!(done["status"], "expired", "{done}");
    assert!(done["expired_at"].as_u64().is_some());
    assert_eq!(
        done["request_counts"],
        json!({"total": 16, "completed": 5, "failed": 0})
    );
    let base = emu.openai_base_url();
    let output = parse_jsonl(
        &get_text(
            &client,
            &format!(
                "{base}/files/{}/content",
                done["output_file_id"].as_str().unwrap()
            ),
        )
        .await,
    );
    let errors = parse_jsonl(
        &get_text(
            &client,
            &format!(
                "{base}/files/{}/content",
                done["error_file_id"].as_str().unwrap()
            ),
        )
        .await,
    );
    assert_eq!(output.len(), 5);
    assert_eq!(errors.len(), 11);
    for line in &errors {
        assert!(line["response"].is_null());
        assert_eq!(line["error"]["code"], "batch_expired");
        assert_eq!(
            line["error"]["message"],
            "This request could not be executed before the completion window expired."
        );
    }
    let all: HashSet<&str> = output
        .iter()
        .chain(errors.iter())
        .map(|l| l["custom_id"].as_str().unwrap())
        .collect();
    assert_eq!(all.len(), 16, "every row is either delivered or expired");
    emu.shutdown().await;
}

#[tokio::test]
async fn cancel_gives_partial_results_and_completed_batches_refuse_with_409() {
    let emu = start().await;
    let client = http();
    emu.hold_batches(true);
    let rows = sample_rows();
    let lines: Vec<String> = rows
        .iter()
        .map(|(id, t)| input_line(id, t, "gpt-4o-mini"))
        .collect();
    let file = upload(&client, &emu, jsonl(&lines)).await;
    let batch = create_batch(&client, &emu, file["id"].as_str().unwrap(), "job-cancel").await;
    let id = batch["id"].as_str().unwrap().to_string();
    let (_, held) = poll_until(&client, &emu, &id, |b| b["status"] == "in_progress").await;
    assert_eq!(held["request_counts"]["completed"], 0);
    tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    let (_, still) = get_json(&client, &format!("{}/batches/{id}", emu.openai_base_url())).await;
    assert_eq!(still["status"], "in_progress", "held batches do not finish");
    assert_eq!(
        still["request_counts"]["completed"], 0,
        "held rows do not advance"
    );

    let url = format!("{}/batches/{id}/cancel", emu.openai_base_url());
    let resp = client
        .post(&url)
        .bearer_auth("sk-test")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let cancelling: Value = resp.json().await.unwrap();
    assert_eq!(cancelling["status"], "cancelling");
    assert!(cancelling["cancelling_at"].as_u64().is_some());
    let (_, done) = poll_until(&client, &emu, &id, is_terminal).await;
    assert_eq!(done["status"], "cancelled");
    assert!(done["cancelled_at"].as_u64().is_some());
    assert!(
        done["output_file_id"].is_null(),
        "nothing ran, nothing delivered"
    );
    // Cancelling a cancelled batch is allowed.
    let resp = client
        .post(&url)
        .bearer_auth("sk-test")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    // Partial results: let some rows run, then cancel (a slower emulator leaves time to cancel).
    emu.hold_batches(false);
    let slow = almanac_emulator::Emulator::start(almanac_emulator::EmulatorConfig {
        step: std::time::Duration::from_millis(150),
        rows_per_step: 4,
    })
    .await
    .unwrap();
    let file = upload(&client, &slow, jsonl(&lines)).await;
    let batch = create_batch(&client, &slow, file["id"].as_str().unwrap(), "job-cancel-2").await;
    let id2 = batch["id"].as_str().unwrap().to_string();
    poll_until(&client, &slow, &id2, |b| {
        b["request_counts"]["completed"].as_u64().unwrap_or(0) >= 4
    })
    .await;
    let resp = client
        .post(format!("{}/batches/{id2}/cancel", slow.openai_base_url()))
        .bearer_auth("sk-test")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let (_, done) = poll_until(&client, &slow, &id2, is_terminal).await;
    assert_eq!(done["status"], "cancelled");
    let ran = done["request_counts"]["completed"].as_u64().unwrap();
    assert!((4..16).contains(&ran), "{done}");
    let output = parse_jsonl(
        &get_text(
            &client,
            &format!(
                "{}/files/{}/content",
                slow.openai_base_url(),
                done["output_file_id"].as_str().unwrap()
            ),
        )
        .await,
    );
    assert_eq!(output.len() as u64, ran);
    slow.shutdown().await;

    // A completed batch cannot be cancelled.
    let file = upload(&client, &emu, jsonl(&[input_line("x", "X", "gpt-4o-mini")])).await;
    let batch = create_batch(&client, &emu, file["id"].as_str().unwrap(), "job-done").await;
    let id3 = batch["id"].as_str().unwrap().to_string();
    let (_, done) = poll_until(&client, &emu, &id3, is_terminal).await;
    assert_eq!(done["status"], "completed");
    let resp = client
        .post(format!("{}/batches/{id3}/cancel", emu.openai_base_url()))
        .bearer_auth("sk-test")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 409);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(
        err,
        json!({"error": {"message": "Cannot cancel a batch with status 'completed'.", "type": "invalid_request_error", "param": null, "code": null}})
    );
    assert_eq!(emu.calls().batches_cancel, 3);
    emu.shutdown().await;
}

#[tokio::test]
async fn listing_is_newest_first_with_cursor_pagination() {
    let emu = start().await;
    let client = http();
    emu.hold_batches(true);
    let file = upload(&client, &emu, jsonl(&[input_line("a", "A", "gpt-4o-mini")])).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let b = create_batch(
            &client,
            &emu,
            file["id"].as_str().unwrap(),
            &format!("job-{i}"),
        )
        .await;
        ids.push(b["id"].as_str().unwrap().to_string());
    }
    let base = emu.openai_base_url();
    let (status, page) = get_json(&client, &format!("{base}/batches?limit=2")).await;
    assert_eq!(status, 200);
    assert_eq!(page["object"], "list");
    assert_eq!(page["has_more"], true);
    let got: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, vec![ids[4].as_str(), ids[3].as_str()]);
    assert_eq!(page["first_id"], ids[4]);
    assert_eq!(page["last_id"], ids[3]);
    let (_, rest) = get_json(
        &client,
        &format!("{base}/batches?limit=10&after={}", ids[3]),
    )
    .await;
    let got: Vec<&str> = rest["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, vec![ids[2].as_str(), ids[1].as_str(), ids[0].as_str()]);
    assert_eq!(rest["has_more"], false);
    assert_eq!(rest["data"][2]["metadata"]["job_id"], "job-0");
    assert_eq!(emu.batches().len(), 5);
    assert_eq!(emu.calls().batches_list, 2);
    emu.shutdown().await;
}

#[tokio::test]
async fn auth_and_unknown_ids_use_openai_error_shapes() {
    let emu = start().await;
    let client = http();
    let base = emu.openai_base_url();
    let resp = client.get(format!("{base}/batches")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["type"], "invalid_request_error");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("API key")
    );
    assert!(err["error"].as_object().unwrap().contains_key("code"));
    let resp = client
        .get(format!("{base}/batches"))
        .bearer_auth("")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);

    let (status, err) = get_json(&client, &format!("{base}/batches/batch_nope")).await;
    assert_eq!(status, 404);
    assert_eq!(
        err["error"]["message"],
        "No batch found with id 'batch_nope'."
    );
    let (status, err) = get_json(&client, &format!("{base}/files/file-nope")).await;
    assert_eq!(status, 404);
    assert_eq!(err["error"]["type"], "invalid_request_error");
    let (status, _) = get_json(&client, &format!("{base}/files/file-nope/content")).await;
    assert_eq!(status, 404);
    let resp = client
        .post(format!("{base}/batches/batch_nope/cancel"))
        .bearer_auth("sk-test")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let (status, err) = get_json(&client, &format!("{base}/nothing/here")).await;
    assert_eq!(status, 404);
    assert_eq!(
        err["error"]["message"],
        "Invalid URL (GET /v1/nothing/here)"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn the_model_list_answers_any_key_until_told_which_exist_then_refuses_others_everywhere() {
    let emu = start().await;
    let client = http();
    let base = emu.openai_base_url();
    let (status, list) = get_json(&client, &format!("{base}/models")).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["object"], "list");
    assert!(
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "gpt-4o-mini" && m["object"] == "model")
    );

    emu.set_openai_api_keys(Some(&["sk-the-real-key-0001"]));
    for path in ["models", "batches"] {
        let resp = client
            .get(format!("{base}/{path}"))
            .bearer_auth("sk-wrong-key-1234")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{path}");
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["error"]["code"], "invalid_api_key");
        assert_eq!(err["error"]["type"], "invalid_request_error");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("Incorrect API key provided: sk-**********1234."),
            "{message}"
        );
    }
    let resp = client
        .get(format!("{base}/models"))
        .bearer_auth("sk-the-real-key-0001")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    emu.shutdown().await;
}

#[tokio::test]
async fn chat_completions_answer_synchronously() {
    let emu = start().await;
    let client = http();
    let url = format!("{}/chat/completions", emu.openai_base_url());
    let body = json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Title: Berlin Wall falls"}],
        "response_format": response_format()
    });
    let resp = client
        .post(&url)
        .bearer_auth("sk-test")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let out: Value = resp.json().await.unwrap();
    assert_eq!(out["object"], "chat.completion");
    let content: Value =
        serde_json::from_str(out["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(
        content["content_simple"],
        "[emulated] simple: Berlin Wall falls"
    );
    assert!(out["usage"]["total_tokens"].as_u64().unwrap() > 0);

    let mut reasoning = body.clone();
    reasoning["model"] = json!("gpt-5-mini");
    reasoning["max_tokens"] = json!(50);
    let resp = client
        .post(&url)
        .bearer_auth("sk-test")
        .json(&reasoning)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(
        err["error"]["message"],
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."
    );
    assert_eq!(emu.calls().chat_completions, 2);
    emu.shutdown().await;
}

/// `POST /v1/batches` over `file_id` with `metadata`; the status and the body.
async fn create_with_metadata(
    client: &reqwest::Client,
    emu: &almanac_emulator::Emulator,
    file_id: &Value,
    metadata: Value,
) -> (u16, Value) {
    let resp = client
        .post(format!("{}/batches", emu.openai_base_url()))
        .bearer_auth("sk-test")
        .json(&json!({"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h", "metadata": metadata}))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn metadata_holds_16_pairs_of_64_character_keys_and_512_character_values() {
    let emu = start().await;
    let client = http();
    emu.hold_batches(true);
    let file = upload(&client, &emu, jsonl(&[input_line("a", "A", "gpt-4o-mini")])).await;
    let mut full = serde_json::Map::new();
    for i in 0..15 {
        full.insert(format!("k{i:02}"), json!("v"));
    }
    full.insert("k".repeat(64), json!("é".repeat(512)));
    let (status, batch) = create_with_metadata(&client, &emu, &file["id"], json!(full)).await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!(batch["metadata"], json!(full));
    let (_, read) = get_json(
        &client,
        &format!(
            "{}/batches/{}",
            emu.openai_base_url(),
            batch["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(read["metadata"], json!(full));

    let mut seventeen = full.clone();
    seventeen.insert("k16".into(), json!("v"));
    let long_key = json!({"k".repeat(65): "v"});
    let long_value = json!({"job_id": "x".repeat(513)});
    for (metadata, param, code) in [
        (json!(seventeen), "metadata", "object_above_max_properties"),
        (long_key, "metadata", "string_above_max_length"),
        (long_value, "metadata.job_id", "string_above_max_length"),
    ] {
        let (status, err) = create_with_metadata(&client, &emu, &file["id"], metadata).await;
        assert_eq!(status, 400, "{err}");
        assert_eq!(err["error"]["type"], "invalid_request_error");
        assert_eq!(err["error"]["param"], param, "{err}");
        assert_eq!(err["error"]["code"], code, "{err}");
    }
    assert_eq!(emu.batches().len(), 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn files_are_listed_newest_first_by_purpose_with_cursor_pagination() {
    let emu = start().await;
    let client = http();
    let mut ids = Vec::new();
    for i in 0..3 {
        let title = format!("T{i}");
        let file = upload(
            &client,
            &emu,
            jsonl(&[input_line("a", &title, "gpt-4o-mini")]),
        )
        .await;
        ids.push(file["id"].as_str().unwrap().to_owned());
    }
    let base = emu.openai_base_url();
    let (status, page) = get_json(&client, &format!("{base}/files?purpose=batch&limit=2")).await;
    assert_eq!(status, 200);
    let got: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[2].as_str(), ids[1].as_str()]);
    assert_eq!(page["has_more"], true);
    assert_eq!(page["last_id"], ids[1]);
    let (_, rest) = get_json(
        &client,
        &format!("{base}/files?purpose=batch&limit=2&after={}", ids[1]),
    )
    .await;
    assert_eq!(rest["data"][0]["id"], ids[0]);
    assert_eq!(rest["data"][0]["filename"], "input.jsonl");
    assert_eq!(rest["has_more"], false);
    let (_, none) = get_json(&client, &format!("{base}/files?purpose=fine-tune")).await;
    assert_eq!(none["data"], json!([]));
    let (status, _) = get_json(&client, &format!("{base}/files?limit=0")).await;
    assert_eq!(status, 400);
    emu.shutdown().await;
}
