//! Fault injection: every batch outcome, every per-line failure, limits and transient faults of
//! OpenAI and Google Sheets, each driven through the emulator against the real backend. Each test
//! names the documented end state it checks (ARCHITECTURE.md, "A job's life" and "Faults").

use std::collections::HashMap;
use std::time::Duration;

use almanac_emulator::{CallFault, CallFaultKind, EmulatorConfig, FaultTarget, Faults, RowFault};
use almanac_protocol::{Job, JobStatus, RowState};
use almanac_tests::{ENGLISH_CSV, SPREADSHEET, TestApp, fast, spawn_app};

const MODEL: &str = "gpt-4.1-nano-2025-04-14";

/// Rows 2..=13 of the English sample (ids 01-01 … 01-12).
async fn app_with_sheet(config: EmulatorConfig) -> TestApp {
    let app = spawn_app(config).await;
    app.add_sheet(0, "Events", ENGLISH_CSV);
    app
}

fn row<'a>(job: &'a Job, id: &str) -> &'a almanac_protocol::JobRow {
    job.rows
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no row {id} in {job:#?}"))
}

fn reason(job: &Job, id: &str) -> String {
    row(job, id).reason.clone().unwrap_or_default()
}

/// The emulator's batches of a job, oldest first.
fn batches_of(app: &TestApp, job_id: &str) -> Vec<serde_json::Value> {
    app.emulator
        .batches()
        .into_iter()
        .filter(|b| b["metadata"]["job_id"] == job_id)
        .collect()
}

#[tokio::test]
async fn end_state_failed_a_batch_rejected_in_validation_fails_the_job_with_each_lines_error_on_its_row()
 {
    let app = app_with_sheet(fast()).await;
    let mut invalid = HashMap::new();
    invalid.insert(
        "01-03".to_string(),
        (
            "model_not_found".to_string(),
            "The provided model 'x' is not supported by the Batch API.".to_string(),
        ),
    );
    app.emulator.set_faults(Faults {
        invalid_lines: invalid,
        ..Faults::default()
    });
    let job = app.create_job(&app.request(0, 2, 6, MODEL)).await;
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Failed, "{job:#?}");
    assert_eq!(job.error.as_ref().unwrap().code, "batch_failed");
    assert_eq!(job.row_counts.failed, 5);
    let bad = reason(&job, "01-03");
    assert!(
        bad.contains("line 3") && bad.contains("model_not_found"),
        "{bad}"
    );
    assert!(
        reason(&job, "01-01").contains("other rows"),
        "{}",
        reason(&job, "01-01")
    );

    // Retry once the cause is gone: only the failed rows (here all five) go again, and are filled.
    app.emulator.set_faults(Faults::default());
    assert_eq!(app.post_action(&job.id, "retry").await.status(), 202);
    let job = app
        .wait_until(&job.id, "completed after retry", |j| {
            j.status == JobStatus::Completed
        })
        .await;
    assert_eq!(job.row_counts.done, 5, "{job:#?}");
}

#[tokio::test]
async fn end_state_expired_finished_rows_are_written_and_the_rest_sent_again_once_and_filled() {
    let app = app_with_sheet(EmulatorConfig {
        step: Duration::from_millis(20),
        rows_per_step: 2,
    })
    .await;
    app.emulator.set_faults(Faults {
        expire_after: Some(4),
        ..Faults::default()
    });
    let job = app.create_job(&app.request(0, 2, 13, MODEL)).await;
    // Once the first batch has expired, the resubmission runs without the fault.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !batches_of(&app, &job.id)
        .iter()
        .any(|b| b["status"] == "expired")
    {
        assert!(tokio::time::Instant::now() < deadline, "never expired");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    app.emulator.set_faults(Faults::default());
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    assert_eq!(job.row_counts.done, 12);
    let batches = batches_of(&app, &job.id);
    assert_eq!(batches.len(), 2, "{batches:#?}");
    assert_eq!(batches[0]["status"], "expired");
    assert_eq!(batches[0]["request_counts"]["completed"], 4);
    // Only the 8 rows that never ran were sent again.
    assert_eq!(batches[1]["request_counts"]["total"], 8);
    // The job shows both batches together, each with its own status and counts.
    let shown: Vec<(u32, &str, u64, u64)> = job
        .batches
        .iter()
        .map(|b| {
            (
                b.attempt,
                b.status.as_str(),
                b.request_counts.total,
                b.request_counts.completed,
            )
        })
        .collect();
    assert_eq!(shown, [(0, "expired", 12, 4), (1, "completed", 8, 8)]);
    assert_eq!(job.request_counts.completed, 12);
    for r in 1..=12 {
        assert!(!app.cell(0, r, 3).is_empty(), "row {} empty", r + 1);
    }
}

#[tokio::test]
async fn end_state_cancelled_rows_finished_before_the_cancel_are_written_and_the_rest_say_cancelled()
 {
    let app = app_with_sheet(EmulatorConfig {
        step: Duration::from_millis(40),
        rows_per_step: 2,
    })
    .await;
    let job = app.create_job(&app.request(0, 2, 21, MODEL)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let b = batches_of(&app, &job.id);
        if b.first()
            .is_some_and(|b| b["request_counts"]["completed"].as_u64() >= Some(4))
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never progressed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(app.post_action(&job.id, "cancel").await.status(), 202);
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Cancelled, "{job:#?}");
    let done = job.row_counts.done;
    assert!(
        (4..20).contains(&done),
        "done {done} of 20: {:#?}",
        job.row_counts
    );
    assert_eq!(done + job.row_counts.failed, 20);
    let cancelled = job
        .rows
        .iter()
        .find(|r| r.state == RowState::Failed)
        .unwrap();
    assert!(
        cancelled.reason.as_deref().unwrap().contains("cancelled"),
        "{cancelled:?}"
    );
    let written = (1..=20).filter(|r| !app.cell(0, *r, 3).is_empty()).count() as u64;
    assert_eq!(written, done);
}

#[tokio::test]
async fn end_state_completed_with_only_an_error_file_every_row_fails_with_openais_reason() {
    let app = app_with_sheet(fast()).await;
    let rows: HashMap<String, RowFault> = (1..=4)
        .map(|d| (format!("01-0{d}"), RowFault::HttpError(400)))
        .collect();
    app.emulator.set_faults(Faults {
        rows,
        ..Faults::default()
    });
    let job = app.create_job(&app.request(0, 2, 5, MODEL)).await;
    let job = app.wait_finished(&job.id).await;
    let batch = &batches_of(&app, &job.id)[0];
    assert!(batch["output_file_id"].is_null() && batch["error_file_id"].is_string());
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    assert_eq!(job.row_counts.failed, 4);
    assert!(
        reason(&job, "01-02").contains("400"),
        "{}",
        reason(&job, "01-02")
    );
    assert_eq!(app.emulator.calls().values_batch_update_by_data_filter, 0);
}

#[tokio::test]
async fn end_state_completed_per_line_failures_each_carry_their_reason_and_retry_resends_only_them()
{
    let app = app_with_sheet(fast()).await;
    let mut rows = HashMap::new();
    rows.insert("01-02".to_string(), RowFault::HttpError(429));
    rows.insert(
        "01-04".to_string(),
        RowFault::Refusal("I can't help with that.".into()),
    );
    rows.insert("01-06".to_string(), RowFault::Truncated);
    rows.insert(
        "01-08".to_string(),
        RowFault::MissingField("related_movies".into()),
    );
    app.emulator.set_faults(Faults {
        rows,
        ..Faults::default()
    });
    let job = app.create_job(&app.request(0, 2, 11, MODEL)).await;
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    assert_eq!(job.row_counts.done, 6);
    assert_eq!(job.row_counts.failed, 4);
    for (id, expected) in [
        ("01-02", "429"),
        ("01-04", "refused"),
        ("01-06", "finish_reason: length"),
        ("01-08", "related_movies"),
    ] {
        let why = reason(&job, id);
        assert!(why.contains(expected), "{id}: {why}");
        assert_eq!(row(&job, id).state, RowState::Failed);
        let r = id[3..].parse::<usize>().unwrap();
        assert_eq!(app.cell(0, r, 3), "", "failed row {id} must stay empty");
    }

    app.emulator.set_faults(Faults::default());
    assert_eq!(app.post_action(&job.id, "retry").await.status(), 202);
    let job = app
        .wait_until(&job.id, "completed after retry", |j| {
            j.status == JobStatus::Completed && j.row_counts.failed == 0
        })
        .await;
    assert_eq!(job.row_counts.done, 10);
    let batches = batches_of(&app, &job.id);
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[1]["request_counts"]["total"], 4);
}

#[tokio::test]
async fn limits_an_enqueued_token_limit_is_waited_out_and_the_batch_created_again_not_a_failure() {
    let app = app_with_sheet(fast()).await;
    app.emulator.set_faults(Faults {
        token_limit_batches: 2,
        ..Faults::default()
    });
    let job = app.create_job(&app.request(0, 2, 7, MODEL)).await;
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    assert_eq!(job.row_counts.done, 6);
    let batches = batches_of(&app, &job.id);
    let statuses: Vec<&str> = batches
        .iter()
        .map(|b| b["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["failed", "failed", "completed"]);
    assert!(
        batches[0]["errors"]["data"][0]["code"] == "token_limit_exceeded",
        "{:#?}",
        batches[0]
    );
    // The refused batches ran nothing: every request ran (and was billed) once.
    let ran: u64 = batches
        .iter()
        .map(|b| b["request_counts"]["completed"].as_u64().unwrap())
        .sum();
    assert_eq!(ran, 6);
}

#[tokio::test]
async fn limits_a_rate_limited_batch_creation_is_retried_and_creates_exactly_one_batch() {
    let app = app_with_sheet(fast()).await;
    app.emulator.set_faults(Faults {
        calls: vec![CallFault {
            target: FaultTarget::OpenAiBatchCreate,
            kind: CallFaultKind::Status(429),
            times: 2,
        }],
        ..Faults::default()
    });
    let job = app.create_job(&app.request(0, 2, 5, MODEL)).await;
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    assert_eq!(batches_of(&app, &job.id).len(), 1);
    assert_eq!(app.emulator.calls().batches_create, 1);
}

#[tokio::test]
async fn transient_openai_5xx_and_connection_resets_are_retried_without_a_second_batch() {
    let app = app_with_sheet(fast()).await;
    app.emulator.set_faults(Faults {
        calls: vec![
            CallFault {
                target: FaultTarget::OpenAiBatchCreate,
                kind: CallFaultKind::Status(503),
                times: 1,
            },
            CallFault {
                target: FaultTarget::OpenAi,
                kind: CallFaultKind::Status(500),
                times: 3,
            },
            CallFault {
                target: FaultTarget::OpenAi,
                kind: CallFaultKind::Reset,
                times: 2,
            },
        ],
        ..Faults::default()
    });
    let job = app.create_job(&app.request(0, 2, 5, MODEL)).await;
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    assert_eq!(job.row_counts.done, 4);
    assert_eq!(batches_of(&app, &job.id).len(), 1);
}

#[tokio::test]
async fn transient_sheets_429_5xx_and_resets_on_the_write_are_retried_and_each_cell_written_once() {
    let app = app_with_sheet(fast()).await;
    app.emulator.set_faults(Faults {
        calls: vec![
            CallFault {
                target: FaultTarget::SheetsWrite,
                kind: CallFaultKind::Status(429),
                times: 1,
            },
            CallFault {
                target: FaultTarget::SheetsWrite,
                kind: CallFaultKind::Status(503),
                times: 2,
            },
            CallFault {
                target: FaultTarget::SheetsWrite,
                kind: CallFaultKind::Reset,
                times: 1,
            },
        ],
        ..Faults::default()
    });
    let job = app.create_job(&app.request(0, 2, 5, MODEL)).await;
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    assert_eq!(job.row_counts.done, 4);
    let writes = app.emulator.cell_writes(SPREADSHEET, 0);
    assert_eq!(writes.len(), 16);
    // A reset after Google applied the write is recognised on the next try (the cells hold our
    // answers), so no cell is written twice.
    assert!(writes.values().all(|n| *n == 1), "{writes:?}");
}

#[tokio::test]
async fn transient_sheets_down_for_a_long_time_keeps_the_answers_and_writes_them_when_it_is_back() {
    let app = app_with_sheet(fast()).await;
    app.emulator.hold_batches(true);
    let job = app.create_job(&app.request(0, 2, 5, MODEL)).await;
    app.wait_in_progress(&job.id).await;
    // Sheets goes down (every call 503) before the batch finishes.
    app.emulator.set_faults(Faults {
        calls: vec![CallFault {
            target: FaultTarget::Sheets,
            kind: CallFaultKind::Status(503),
            times: usize::MAX,
        }],
        ..Faults::default()
    });
    app.emulator.hold_batches(false);
    let writing = app
        .wait_until(&job.id, "writing", |j| j.status == JobStatus::Writing)
        .await;
    assert_eq!(writing.row_counts.generated, 4, "answers kept in the store");
    // Down for a long while (compressed: 3 s of retries at up to 0.5 s apart).
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let j = app.job(&job.id).await;
        assert_eq!(j.status, JobStatus::Writing, "{j:#?}");
    }
    app.emulator.set_faults(Faults::default());
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    assert_eq!(job.row_counts.done, 4);
    assert!(!app.cell(0, 1, 3).is_empty());
}

/// A job whose answers take more than one `values.batchUpdateByDataFilter` (about 2 MB of body
/// each) is written a call at a time, and each call's rows are settled when it succeeds: when a
/// later call fails, the earlier rows are already `done` and the others keep their answers; once
/// Sheets is back the rest is written, every cell once, in as few calls as one write would make.
#[tokio::test]
async fn a_write_of_several_calls_settles_each_call_and_a_later_failure_keeps_the_earlier_rows() {
    let app = app_with_sheet(fast()).await;
    // 20 rows × three answers of 44,200 characters ≈ 2.7 MB of body: two calls.
    let long = vec!["A long answer."; 2_947].join(" ");
    let rows = ENGLISH_CSV
        .lines()
        .skip(1)
        .take(20)
        .filter_map(|line| line.split(',').next())
        .map(|id| (id.to_owned(), RowFault::Text(long.clone())))
        .collect();
    app.emulator.set_faults(Faults {
        rows,
        calls: vec![
            CallFault {
                target: FaultTarget::SheetsWrite,
                kind: CallFaultKind::Pass,
                times: 1,
            },
            CallFault {
                target: FaultTarget::SheetsWrite,
                kind: CallFaultKind::Status(503),
                times: usize::MAX,
            },
        ],
        ..Faults::default()
    });
    let job = app.create_job(&app.request(0, 2, 21, MODEL)).await;
    let part = app
        .wait_until(&job.id, "the first call's rows done", |j| {
            j.row_counts.done > 0
        })
        .await;
    let counts = &part.row_counts;
    assert!(counts.done < 20, "{counts:?}");
    assert_eq!(counts.done + counts.generated, 20, "{counts:?}");
    assert_eq!(app.emulator.calls().values_batch_update_by_data_filter, 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let still = app.job(&job.id).await;
    assert_eq!(still.status, JobStatus::Writing, "{still:#?}");
    assert_eq!(
        still.row_counts.done, counts.done,
        "nothing settled by a failed call"
    );

    app.emulator.set_faults(Faults::default());
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    assert_eq!(job.row_counts.done, 20, "{:#?}", job.rows);
    assert_eq!(app.emulator.calls().values_batch_update_by_data_filter, 2);
    let writes = app.emulator.cell_writes(SPREADSHEET, 0);
    assert_eq!(writes.len(), 80, "C–F of 20 rows");
    assert!(writes.values().all(|n| *n == 1), "{writes:?}");
    assert!(
        app.cell(0, 20, 4) == long,
        "row 21's content_detailed is its answer"
    );
}

/// One sample's value in Prometheus text (`name{labels} value`), summed over lines whose name and
/// labels contain every part of `matching`.
fn sample(text: &str, name: &str, matching: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split([' ', '{']).next() == Some(name))
        .filter(|l| matching.iter().all(|m| l.contains(m)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn metrics_show_jobs_rows_and_outside_calls_moving() {
    let app = app_with_sheet(fast()).await;
    let base = app.app.as_ref().unwrap().metrics_url.clone().unwrap();
    let scrape = || async {
        let resp = reqwest::get(format!("{base}/metrics")).await.unwrap();
        assert_eq!(resp.status(), 200);
        resp.text().await.unwrap()
    };
    let before = scrape().await;
    app.emulator.set_faults(Faults {
        calls: vec![CallFault {
            target: FaultTarget::SheetsWrite,
            kind: CallFaultKind::Status(503),
            times: 1,
        }],
        rows: [("01-03".to_string(), RowFault::InvalidJson)]
            .into_iter()
            .collect(),
        ..Faults::default()
    });
    let job = app.create_job(&app.request(0, 2, 6, MODEL)).await;
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.row_counts.done, 4);
    let after = scrape().await;
    let grew = |name: &str, labels: &[&str], by: f64| {
        let (b, a) = (sample(&before, name, labels), sample(&after, name, labels));
        assert!(a - b >= by, "{name}{labels:?}: {b} → {a}\n{after}");
    };
    grew("almanac_rows_written_total", &[], 4.0);
    grew("almanac_rows_failed_total", &["stage=\"openai\""], 1.0);
    grew(
        "almanac_external_requests_total",
        &[
            "service=\"openai\"",
            "operation=\"batches.create\"",
            "status=\"200\"",
        ],
        1.0,
    );
    grew(
        "almanac_external_requests_total",
        &[
            "service=\"sheets\"",
            "operation=\"values.batchUpdateByDataFilter\"",
            "status=\"503\"",
        ],
        1.0,
    );
    grew(
        "almanac_external_request_duration_seconds_count",
        &["service=\"sheets\""],
        3.0,
    );
    // The job counts are refreshed after job events (at most once a second), not per scrape.
    // (Every test backend of this process shares one registry: a slow loop outlasts their writes.)
    let mut after = after;
    for _ in 0..200 {
        if sample(&after, "almanac_jobs", &["status=\"completed\""]) >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = scrape().await;
    }
    assert!(
        sample(&after, "almanac_jobs", &["status=\"completed\""]) >= 1.0,
        "{after}"
    );
}

#[tokio::test]
async fn google_failing_for_a_moment_at_creation_is_tried_again_and_failing_longer_is_a_503_with_retry_after()
 {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", ENGLISH_CSV);
    let sheets_fault = |code: u16, times: usize| Faults {
        calls: vec![CallFault {
            target: FaultTarget::Sheets,
            kind: CallFaultKind::Status(code),
            times,
        }],
        ..Faults::default()
    };
    // A 429 and then a 503 on the read of the selection: the request waits them out.
    let before = app.emulator.calls().values_batch_get_by_data_filter;
    app.emulator.set_faults(Faults {
        calls: vec![
            sheets_fault(429, 1).calls.remove(0),
            sheets_fault(503, 1).calls.remove(0),
        ],
        ..Faults::default()
    });
    let job = app
        .create_job(&app.request(0, 2, 5, "gpt-4.1-mini-2025-04-14"))
        .await;
    assert_eq!(job.row_counts.total, 4);
    assert_eq!(
        app.emulator.calls().values_batch_get_by_data_filter,
        before + 1
    );

    // Google down for longer than the few quick tries: 503 with Retry-After, nothing stored.
    app.emulator.set_faults(sheets_fault(503, usize::MAX));
    let resp = app
        .post_job(&app.request(0, 6, 9, "gpt-4.1-mini-2025-04-14"))
        .await;
    assert_eq!(resp.status(), 503);
    let retry_after: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1, "{retry_after}");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "sheets_unavailable", "{body}");
    // Over quota: the wait is the quota's.
    app.emulator.set_faults(sheets_fault(429, usize::MAX));
    let resp = app
        .post_job(&app.request(0, 6, 9, "gpt-4.1-mini-2025-04-14"))
        .await;
    assert_eq!(resp.status(), 503);
    let quota_wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(quota_wait > retry_after, "{quota_wait} vs {retry_after}");
    app.emulator.set_faults(Faults::default());
    let list: serde_json::Value = app
        .http
        .get(format!("{}/jobs?spreadsheet_id={SPREADSHEET}", app.api))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["jobs"].as_array().unwrap().len(), 1, "{list}");
}
