//! The whole main job, end to end: the real backend over HTTP, the real client crates, and the
//! emulator standing in for OpenAI and Google.

use std::collections::HashMap;

use almanac_core::catalog::Catalog;
use almanac_emulator::{Faults, RowFault};
use almanac_protocol::{JobStatus, RowState};
use almanac_tests::{ENGLISH_CSV, KOREAN_CSV, SPREADSHEET, TestApp, fast, spawn_app};

const MODEL: &str = "gpt-4.1-mini-2025-04-14";

/// Columns C–F of sheet row `row` (0-based).
fn outputs(app: &TestApp, sheet: i32, row: usize) -> [String; 4] {
    std::array::from_fn(|i| app.cell(sheet, row, 2 + i))
}

/// Checks that the row holds emulated content generated for its own title.
fn assert_own_content(app: &TestApp, sheet: i32, row: usize) {
    let title = app.cell(sheet, row, 1);
    let [year, simple, detail, movies] = outputs(app, sheet, row);
    assert!(
        year.len() == 4 && year.chars().all(|c| c.is_ascii_digit()),
        "row {row}: year {year:?}"
    );
    for text in [&simple, &detail, &movies] {
        assert!(
            text.contains("[emulated]") && text.contains(&title),
            "row {row} ({title}) holds content of another row: {text:?}"
        );
    }
}

#[tokio::test]
async fn the_korean_sample_is_filled_except_the_cells_already_written_in_08_15() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    let job = app.create_job(&app.request(0, 2, 17, MODEL)).await;
    assert_eq!(job.row_counts.total, 16);
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    assert_eq!(job.row_counts.done, 16);
    // The light status read agrees with the full job, without the rows.
    let status: serde_json::Value = app
        .http
        .get(format!("{}/jobs/{}/status", app.api, job.id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "completed", "{status}");
    assert_eq!(status["row_counts"]["done"], 16, "{status}");
    assert_eq!(
        status["request_counts"]["completed"],
        job.request_counts.completed
    );
    assert!(status.get("rows").is_none(), "{status}");
    for row in 1..=16 {
        let id = app.cell(0, row, 0);
        if id == "08-15" {
            assert_eq!(app.cell(0, row, 2), "1945");
            assert_eq!(
                app.cell(0, row, 3),
                "일본의 항복으로 한국이 35년간의 식민 지배에서 벗어난 날."
            );
            assert!(app.cell(0, row, 4).contains("광복절"));
            assert!(app.cell(0, row, 5).contains("광복절"));
        } else {
            assert_own_content(&app, 0, row);
        }
        // G and H are left alone.
        assert!(app.cell(0, row, 6).starts_with("ComfyUI_"));
        assert!(app.cell(0, row, 7).starts_with("movie_"));
    }
}

#[tokio::test]
async fn a_348_row_job_fills_every_row_with_its_own_content_in_three_sheets_calls() {
    let app = spawn_app(fast()).await;
    app.add_sheet(7, "History EN", ENGLISH_CSV);
    let before = app.emulator.calls();
    let job = app.create_job(&app.request(7, 2, 349, MODEL)).await;
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    assert_eq!(job.row_counts.done, 348);
    assert_eq!(job.request_counts.total, 348);
    assert_eq!(job.request_counts.completed, 348);
    for row in 1..=348 {
        assert_own_content(&app, 7, row);
    }
    let calls = app.emulator.calls();
    // One read at creation, one read and one write at write time, all by sheetId: no
    // spreadsheets.get for the title, no A1 call (the access proof was taken once, before).
    assert_eq!(calls.sheets() - before.sheets(), 3, "{calls:?}");
    assert_eq!(calls.values_batch_get_by_data_filter, 2, "{calls:?}");
    assert_eq!(calls.values_batch_update_by_data_filter, 1, "{calls:?}");
    assert_eq!(
        calls.spreadsheets_batch_update, 1,
        "the one access proof: {calls:?}"
    );
    assert_eq!(calls.batches_create, 1, "{calls:?}");
}

#[tokio::test]
async fn output_lines_out_of_order_land_on_the_rows_they_belong_to() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", ENGLISH_CSV);
    let job = app.create_job(&app.request(0, 2, 41, MODEL)).await;
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed);
    // The emulator returns output lines in another order than the input (as OpenAI may).
    let batch = &app.emulator.batches()[0];
    let output_id = batch["output_file_id"].as_str().unwrap().to_owned();
    let out = app
        .http
        .get(format!(
            "{}/v1/files/{output_id}/content",
            app.emulator.base_url()
        ))
        .bearer_auth("sk-test")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let order: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["custom_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let input: Vec<String> = (1..=40).map(|r| app.cell(0, r, 0)).collect();
    assert_ne!(order, input, "the emulator should shuffle output lines");
    for row in 1..=40 {
        assert_own_content(&app, 0, row);
    }
}

#[tokio::test]
async fn a_row_inserted_above_the_selection_while_the_batch_runs_shifts_no_value() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    app.emulator.hold_batches(true);
    let job = app.create_job(&app.request(0, 2, 17, MODEL)).await;
    app.wait_in_progress(&job.id).await;
    app.emulator.insert_rows(
        SPREADSHEET,
        0,
        1,
        vec![vec!["00-00".into(), "A row a person inserted".into()]],
    );
    app.emulator.hold_batches(false);
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    assert_eq!(app.cell(0, 1, 0), "00-00");
    assert_eq!(app.cell(0, 1, 2), "", "the inserted row must stay empty");
    for row in 2..=17 {
        if app.cell(0, row, 0) != "08-15" {
            assert_own_content(&app, 0, row);
        }
    }
}

#[tokio::test]
async fn a_cell_typed_by_a_person_during_the_job_is_not_overwritten() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    app.emulator.hold_batches(true);
    let job = app.create_job(&app.request(0, 2, 17, MODEL)).await;
    app.wait_in_progress(&job.id).await;
    app.emulator
        .set_cell(SPREADSHEET, 0, 3, 3, "typed by a person");
    app.emulator.hold_batches(false);
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(app.cell(0, 3, 3), "typed by a person");
    let title = app.cell(0, 3, 1);
    assert!(app.cell(0, 3, 2).len() == 4);
    assert!(app.cell(0, 3, 4).contains(&title));
}

#[tokio::test]
async fn a_model_answer_that_is_not_json_or_misses_a_field_fails_only_its_row() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    let mut rows = HashMap::new();
    rows.insert("03-01".to_string(), RowFault::InvalidJson);
    rows.insert("04-19".to_string(), RowFault::MissingField("detail".into()));
    rows.insert("06-06".to_string(), RowFault::HttpError(500));
    app.emulator.set_faults(Faults {
        rows,
        expire_after: None,
        ..Faults::default()
    });
    let job = app.create_job(&app.request(0, 2, 17, MODEL)).await;
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(
        (job.row_counts.done, job.row_counts.failed),
        (13, 3),
        "{job:#?}"
    );
    let reason = |id: &str| {
        let row = job.rows.iter().find(|r| r.id == id).unwrap();
        assert_eq!(row.state, RowState::Failed);
        row.reason.clone().unwrap()
    };
    assert!(reason("03-01").contains("JSON"), "{}", reason("03-01"));
    assert!(reason("04-19").contains("detail"), "{}", reason("04-19"));
    assert!(reason("06-06").contains("500"), "{}", reason("06-06"));
    // Failed rows are left empty; their neighbours are filled.
    assert_eq!(app.cell(0, 2, 2), "");
    assert_own_content(&app, 0, 1);
    assert_own_content(&app, 0, 3);
}

#[tokio::test]
async fn generated_text_starting_with_equals_is_stored_as_text_not_a_formula() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    let mut rows = HashMap::new();
    rows.insert(
        "01-27".to_string(),
        RowFault::Text("=IMPORTXML(\"http://x\")".into()),
    );
    app.emulator.set_faults(Faults {
        rows,
        expire_after: None,
        ..Faults::default()
    });
    let job = app.create_job(&app.request(0, 2, 2, MODEL)).await;
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    assert_eq!(app.cell(0, 1, 3), "=IMPORTXML(\"http://x\")");
    assert!(!app.emulator.cell_is_formula(SPREADSHEET, 0, 1, 3));
}

#[tokio::test]
async fn generated_text_starting_with_plus_minus_or_at_stays_literal_text() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    let texts = [
        ("01-27", "+SUM(G2:G9)"),
        ("03-01", "-A1+HYPERLINK(\"http://x\")"),
        ("04-01", "@IMPORTRANGE(\"x\",\"A1\")"),
    ];
    let rows = texts
        .iter()
        .map(|(id, text)| (id.to_string(), RowFault::Text(text.to_string())))
        .collect();
    app.emulator.set_faults(Faults {
        rows,
        expire_after: None,
        ..Faults::default()
    });
    let job = app.create_job(&app.request(0, 2, 4, MODEL)).await;
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    for (row, (id, text)) in (1..=3).zip(texts) {
        assert_eq!(app.cell(0, row, 0), id);
        for col in 3..=5 {
            assert_eq!(app.cell(0, row, col), text);
            assert!(
                !app.emulator.cell_is_formula(SPREADSHEET, 0, row, col),
                "{text} became a formula"
            );
        }
    }
}

#[tokio::test]
async fn a_generated_value_longer_than_a_cell_holds_fails_its_row_and_the_rest_is_written() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    let mut rows = HashMap::new();
    rows.insert("03-01".to_string(), RowFault::Text("가".repeat(50_001)));
    app.emulator.set_faults(Faults {
        rows,
        expire_after: None,
        ..Faults::default()
    });
    let job = app.create_job(&app.request(0, 2, 4, MODEL)).await;
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    assert_eq!(
        (job.row_counts.done, job.row_counts.failed),
        (2, 1),
        "{job:#?}"
    );
    let failed = job.rows.iter().find(|r| r.id == "03-01").unwrap();
    assert_eq!(failed.state, RowState::Failed);
    let reason = failed.reason.as_deref().unwrap();
    assert!(reason.contains("50000"), "{reason}");
    assert_eq!(app.cell(0, 2, 3), "", "nothing is written for the row");
    assert_own_content(&app, 0, 1);
    assert_own_content(&app, 0, 3);
}

#[tokio::test]
async fn a_server_restarted_while_the_batch_runs_finishes_the_job_without_a_second_batch() {
    let mut app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    app.emulator.hold_batches(true);
    let job = app.create_job(&app.request(0, 2, 17, MODEL)).await;
    app.wait_in_progress(&job.id).await;
    app.restart().await;
    app.emulator.hold_batches(false);
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    assert_eq!(job.row_counts.done, 16);
    assert_eq!(app.emulator.calls().batches_create, 1);
    assert_eq!(app.emulator.calls().files_create, 1);
}

#[tokio::test]
async fn an_unknown_model_is_refused_with_the_nearest_known_model() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    let resp = app.post_job(&app.request(0, 2, 17, "o3-2025-04-26")).await;
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unknown_model");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("o3-2025-04-16"), "{message}");
    assert_eq!(app.emulator.calls().batches_create, 0);
}

#[tokio::test]
async fn a_deprecated_model_is_refused_for_new_jobs_naming_its_replacement_and_listed_as_such() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    let resp = app.post_job(&app.request(0, 2, 17, "gpt-5-nano")).await;
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "deprecated_model");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("gpt-5.4-nano-2026-03-17"), "{message}");
    let estimate = app
        .http
        .post(format!("{}/estimate", app.api))
        .json(&serde_json::json!({"model": "gpt-5-nano-2025-08-07",
                                  "rows": [{"id": "1", "title": "Moon landing"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(estimate.status(), 400);
    let models: almanac_protocol::ModelList = app
        .http
        .get(format!("{}/models", app.api))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models.prices_as_of, Catalog::builtin().prices_as_of);
    let nano = models
        .models
        .iter()
        .find(|m| m.id == "gpt-5-nano-2025-08-07")
        .unwrap();
    assert!(nano.deprecated);
    assert_eq!(nano.replacement.as_deref(), Some("gpt-5.4-nano-2026-03-17"));
    let current = app.create_job(&app.request(0, 2, 3, "gpt-5.4-nano")).await;
    let current = app.wait_finished(&current.id).await;
    assert_eq!(current.status, JobStatus::Completed, "{current:#?}");
    assert_eq!(current.model, "gpt-5.4-nano-2026-03-17");
}

#[tokio::test]
async fn a_cancelled_job_stops_its_batch_and_ends_cancelled() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    app.emulator.hold_batches(true);
    let job = app.create_job(&app.request(0, 2, 17, MODEL)).await;
    app.wait_in_progress(&job.id).await;
    let resp = app.post_action(&job.id, "cancel").await;
    assert_eq!(resp.status(), 202);
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Cancelled, "{job:#?}");
    assert_eq!(app.emulator.calls().batches_cancel, 1);
    let again = app.post_action(&job.id, "cancel").await;
    assert_eq!(again.status(), 409);
}

#[tokio::test]
async fn an_expired_batch_writes_the_finished_rows_resends_the_rest_once_then_fails_them_with_a_reason()
 {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    app.emulator.set_faults(Faults {
        rows: HashMap::new(),
        expire_after: Some(5),
        ..Faults::default()
    });
    let job = app.create_job(&app.request(0, 2, 17, MODEL)).await;
    let job = app.wait_finished(&job.id).await;
    // Documented end state `expired`: 5 rows done in the first batch, the 11 unfinished ones sent
    // again once (5 more done), the last 6 reported.
    assert_eq!(job.status, JobStatus::Expired, "{job:#?}");
    assert_eq!(job.batch_ids.len(), 2, "{job:#?}");
    assert_eq!(job.row_counts.done, 10);
    assert_eq!(job.row_counts.failed, 6);
    let failed = job
        .rows
        .iter()
        .find(|r| r.state == RowState::Failed)
        .unwrap();
    assert!(failed.reason.as_deref().unwrap().contains("expired"));
}

#[tokio::test]
async fn the_event_stream_reports_progress_until_the_job_completes() {
    use eventsource_stream::Eventsource;
    use futures::StreamExt;
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    let job = app.create_job(&app.request(0, 2, 17, MODEL)).await;
    let resp = app
        .http
        .get(format!("{}/jobs/{}/events", app.api, job.id))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut stream = resp.bytes_stream().eventsource();
    let mut statuses = Vec::new();
    while let Some(event) = stream.next().await {
        let event = event.unwrap();
        let progress: almanac_protocol::JobEvent = serde_json::from_str(&event.data).unwrap();
        assert_eq!(progress.job_id, job.id);
        statuses.push(progress.status);
    }
    assert_eq!(statuses.last(), Some(&JobStatus::Completed), "{statuses:?}");
    assert!(statuses.len() >= 2, "{statuses:?}");
}

#[tokio::test]
async fn jobs_are_listed_per_spreadsheet_and_unknown_ones_are_404() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    let job = app.create_job(&app.request(0, 2, 3, MODEL)).await;
    let list: serde_json::Value = app
        .http
        .get(format!("{}/jobs?spreadsheet_id={SPREADSHEET}", app.api))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["jobs"][0]["id"], job.id.as_str());
    let other: serde_json::Value = app
        .http
        .get(format!("{}/jobs?spreadsheet_id=another", app.api))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(other["jobs"].as_array().unwrap().len(), 0);
    let missing = app
        .http
        .get(format!(
            "{}/jobs/00000000-0000-0000-0000-000000000000",
            app.api
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn a_sheet_renamed_during_the_job_is_still_written_by_its_sheet_id() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Other", "id,title\nx,y\n");
    app.add_sheet(5, "It's 🌵 D3", KOREAN_CSV);
    app.emulator.hold_batches(true);
    let job = app.create_job(&app.request(5, 2, 4, MODEL)).await;
    app.wait_in_progress(&job.id).await;
    app.emulator.rename_sheet(SPREADSHEET, 5, "Renamed 'sheet'");
    app.emulator.hold_batches(false);
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    assert_eq!(job.sheet_title, "Renamed 'sheet'");
    for row in 1..=3 {
        assert_own_content(&app, 5, row);
    }
}

#[tokio::test]
async fn the_estimate_gives_tokens_and_a_batch_price_half_the_realtime_price() {
    let app = spawn_app(fast()).await;
    let resp = app
        .http
        .post(format!("{}/estimate", app.api))
        .json(&serde_json::json!({"model": MODEL, "rows": [
            {"id": "01-27", "title": "아우슈비츠 강제 수용소 해방"},
            {"id": "03-01", "title": "3·1 운동"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let est: almanac_protocol::Estimate = resp.json().await.unwrap();
    assert_eq!(est.rows, 2);
    assert!(est.input_tokens > 100, "{est:?}");
    assert!(est.batch.total_usd > 0.0);
    assert!(
        (est.batch.total_usd * 2.0 - est.realtime.total_usd).abs() < 1e-9,
        "{est:?}"
    );
}

#[tokio::test]
async fn retrying_a_job_sends_only_its_failed_rows_again_and_fills_them() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    let mut rows = HashMap::new();
    rows.insert("03-01".to_string(), RowFault::InvalidJson);
    rows.insert("12-10".to_string(), RowFault::HttpError(500));
    app.emulator.set_faults(Faults {
        rows,
        expire_after: None,
        ..Faults::default()
    });
    let job = app.create_job(&app.request(0, 2, 17, MODEL)).await;
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.row_counts.failed, 2, "{job:#?}");

    app.emulator.set_faults(Faults::default());
    let resp = app.post_action(&job.id, "retry").await;
    assert_eq!(resp.status(), 202);
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    assert_eq!((job.row_counts.done, job.row_counts.failed), (16, 0));
    let batches = app.emulator.batches();
    assert_eq!(batches.len(), 2);
    assert_eq!(
        batches[1]["request_counts"]["total"], 2,
        "{:#?}",
        batches[1]
    );
    assert_own_content(&app, 0, 2);
    assert_own_content(&app, 0, 16);

    // Nothing left to retry.
    let again = app.post_action(&job.id, "retry").await;
    assert_eq!(again.status(), 409);
    let body: serde_json::Value = again.json().await.unwrap();
    assert_eq!(body["error"]["code"], "nothing_to_retry");
}

#[tokio::test]
async fn a_running_job_cannot_be_retried() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    app.emulator.hold_batches(true);
    let job = app.create_job(&app.request(0, 2, 5, MODEL)).await;
    app.wait_in_progress(&job.id).await;
    let resp = app.post_action(&job.id, "retry").await;
    assert_eq!(resp.status(), 409);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "job_running");
    app.emulator.hold_batches(false);
    app.wait_finished(&job.id).await;
}

/// A job's JSON is streamed a page of rows at a time (1,000 rows a chunk): a 2,500-row job comes
/// back whole, in selection order, from `POST /jobs` and `GET /jobs/{id}` alike, with the same
/// fields as before the rows.
#[tokio::test]
async fn a_large_jobs_rows_come_back_whole_and_in_order_across_pages() {
    let app = spawn_app(fast()).await;
    let mut csv = String::from("id,title\n");
    for i in 0..2_500 {
        csv.push_str(&format!("big-{i:04},Event number {i}\n"));
    }
    app.add_sheet(3, "Big", &csv);
    app.emulator.hold_batches(true);
    let created = app.create_job(&app.request(3, 2, 2_501, MODEL)).await;
    let read = app.job(&created.id).await;
    for job in [&created, &read] {
        assert_eq!(job.rows.len(), 2_500);
        assert_eq!(job.row_counts.total, 2_500);
        for (i, row) in job.rows.iter().enumerate() {
            assert_eq!(row.id, format!("big-{i:04}"));
            assert_eq!(row.row_number, i as u32 + 2);
            assert_eq!(row.title, format!("Event number {i}"));
        }
    }
    assert_eq!(read.id, created.id);
    assert_eq!(read.sheet_title, "Big");
    assert_eq!(read.model, created.model);
}
