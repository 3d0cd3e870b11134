//! Realtime mode end to end: concurrent Chat Completions calls paced by the provider's rate-limit
//! headers, answers written to the sheet in groups as they arrive, and the mode chosen by `auto`.

use std::time::Duration;

use almanac_emulator::ratelimit::ChatLimits;
use almanac_emulator::{Faults, RowFault};
use almanac_protocol::{JobOptions, JobStatus, Mode, RowState};
use almanac_tests::{
    ENGLISH_CSV, KOREAN_CSV, SPREADSHEET, TestApp, fast, spawn_app, spawn_app_with,
};

const MODEL: &str = "gpt-4.1-nano-2025-04-14";

/// Every C–F cell of the sheet was written at most once, and `rows` rows were written in all.
fn assert_each_cell_written_once(app: &TestApp, sheet: i32, rows: usize) {
    let writes = app.emulator.cell_writes(SPREADSHEET, sheet);
    let twice: Vec<_> = writes.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "cells written more than once: {twice:?}");
    assert_eq!(writes.len(), rows * 4, "C–F of every row once");
}

#[tokio::test]
async fn a_realtime_job_finishes_under_tight_rate_limits_with_every_429_retried_and_no_cell_written_twice()
 {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", ENGLISH_CSV);
    // 1,200 RPM but a bucket of a tenth of a second (2 requests), enforced by a server that does
    // not say what its limits are (no `x-ratelimit-*` headers, only `retry-after` on a 429): the
    // pacer can only probe with its AIMD concurrency, so 429s happen and must be retried. (With
    // the headers, the pacer follows what they say is left and meets no 429.)
    app.emulator.set_chat_limits(Some(ChatLimits {
        requests_per_minute: Some(1_200),
        tokens_per_minute: Some(5_000_000),
        burst_seconds: 0.1,
        latency: Duration::from_millis(5),
    }));
    app.emulator.set_chat_limit_headers(false);
    let job = app
        .create_job(&app.request_in(0, 2, 61, MODEL, Mode::Realtime))
        .await;
    assert_eq!(job.mode, Mode::Realtime);
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    assert_eq!(job.row_counts.done, 60, "{:?}", job.row_counts);
    let stats = app.emulator.chat_limit_stats();
    assert!(
        stats.throttled > 0,
        "the test should provoke 429s: {stats:?}"
    );
    // Every row was answered exactly once: a 429 consumes nothing and is sent again.
    assert_eq!(stats.accepted, 60, "{stats:?}");
    assert_eq!(
        app.emulator.calls().chat_completions as u64,
        stats.accepted + stats.throttled
    );
    assert_eq!(job.request_counts.total, 60);
    assert_eq!(job.request_counts.completed, 60);
    assert_each_cell_written_once(&app, 0, 60);
    for row in 1..=60 {
        assert!(app.cell(0, row, 3).contains(&app.cell(0, row, 1)));
    }
    // Written in groups, not once per row.
    let writes = app.emulator.calls().values_batch_update_by_data_filter;
    assert!(
        (1..=30).contains(&writes),
        "{writes} batchUpdate calls for 60 rows"
    );
    // Actual usage of the realtime calls is stored and priced at realtime rates.
    assert_eq!(job.cost.actual_rows, 60);
    assert_eq!(
        job.cost.actual.input_tokens,
        job.cost.estimated.input_tokens
    );
    assert!(job.cost.actual_usd > 0.0);
}

#[tokio::test]
async fn with_the_rate_limit_headers_a_realtime_job_meets_no_429_under_per_second_buckets() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", ENGLISH_CSV);
    // The same tight buckets, with OpenAI's headers: the pacer spends what the first answer says
    // is left, then follows the refill and what each answer says remains.
    app.emulator.set_chat_limits(Some(ChatLimits {
        requests_per_minute: Some(1_200),
        tokens_per_minute: Some(5_000_000),
        burst_seconds: 0.1,
        latency: Duration::from_millis(5),
    }));
    let job = app
        .create_job(&app.request_in(0, 2, 61, MODEL, Mode::Realtime))
        .await;
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    assert_eq!((job.row_counts.done, job.row_counts.failed), (60, 0));
    let stats = app.emulator.chat_limit_stats();
    assert_eq!((stats.accepted, stats.throttled), (60, 0), "{stats:?}");
    assert_each_cell_written_once(&app, 0, 60);
}

#[tokio::test]
async fn progress_reaches_the_sheet_while_a_realtime_job_runs() {
    let app = spawn_app_with(fast(), |config| {
        config.api.cost.flush_rows = 5;
    })
    .await;
    app.add_sheet(0, "Events", ENGLISH_CSV);
    app.emulator.set_chat_limits(Some(ChatLimits {
        requests_per_minute: Some(600),
        ..ChatLimits::default()
    }));
    let job = app
        .create_job(&app.request_in(0, 2, 41, MODEL, Mode::Realtime))
        .await;
    let seen = app
        .wait_until(&job.id, "some rows written while running", |j| {
            j.row_counts.done > 0 && !j.status.is_terminal()
        })
        .await;
    assert!(seen.row_counts.done < 40);
    let done = app.wait_finished(&job.id).await;
    assert_eq!(done.row_counts.done, 40);
    assert!(app.emulator.calls().values_batch_update_by_data_filter >= 2);
    assert_each_cell_written_once(&app, 0, 40);
}

#[tokio::test]
async fn a_restart_in_the_middle_resends_only_unanswered_rows() {
    let mut app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", ENGLISH_CSV);
    app.emulator.set_chat_limits(Some(ChatLimits {
        requests_per_minute: Some(600),
        latency: Duration::from_millis(20),
        ..ChatLimits::default()
    }));
    let job = app
        .create_job(&app.request_in(0, 2, 51, MODEL, Mode::Realtime))
        .await;
    app.wait_until(&job.id, "a few answers", |j| {
        j.request_counts.completed >= 10
    })
    .await;
    app.restart().await;
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    assert_eq!(job.row_counts.done, 50);
    let stats = app.emulator.chat_limit_stats();
    // At most the calls in flight at the crash are sent twice.
    assert!(
        stats.accepted >= 50 && stats.accepted <= 50 + 16,
        "{stats:?}"
    );
    assert_each_cell_written_once(&app, 0, 50);
}

#[tokio::test]
async fn a_bad_answer_fails_its_row_and_a_retry_sends_only_that_row() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    let bad_title = app.cell(0, 3, 1);
    let mut rows = std::collections::HashMap::new();
    rows.insert(bad_title.clone(), RowFault::InvalidJson);
    app.emulator.set_faults(Faults {
        rows,
        ..Faults::default()
    });
    let job = app
        .create_job(&app.request_in(0, 2, 17, MODEL, Mode::Realtime))
        .await;
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.row_counts.failed, 1, "{:?}", job.row_counts);
    let failed = job
        .rows
        .iter()
        .find(|r| r.state == RowState::Failed)
        .unwrap();
    assert_eq!(failed.title, bad_title);
    assert!(failed.reason.as_deref().unwrap().contains("not valid JSON"));
    app.emulator.set_faults(Faults::default());
    let calls_before = app.emulator.calls().chat_completions;
    let resp = app.post_action(&job.id, "retry").await;
    assert_eq!(resp.status(), 202, "{}", resp.text().await.unwrap());
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.row_counts.failed, 0, "{:?}", job.row_counts);
    assert_eq!(app.emulator.calls().chat_completions, calls_before + 1);
}

#[tokio::test]
async fn auto_chooses_realtime_for_a_small_job_batch_for_a_large_one_and_realtime_when_the_wait_is_too_long()
 {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", ENGLISH_CSV);
    // 10 rows: small.
    let small = app
        .create_job(&app.request_in(0, 2, 11, MODEL, Mode::Auto))
        .await;
    assert_eq!(small.mode, Mode::Realtime);
    // 300 rows: the typical batch wait is well under the default 6 h, so batch.
    let large_req = app.request_in(0, 12, 311, MODEL, Mode::Auto);
    let resp = app.post_job_with(&large_req, JobOptions::default()).await;
    assert_eq!(resp.status(), 201);
    let large: almanac_protocol::Job = resp.json().await.unwrap();
    assert_eq!(large.mode, Mode::Batch);
    // The same size, but the person accepts only a minute's wait: realtime.
    let hurried_req = app.request_in(0, 312, 349, MODEL, Mode::Auto);
    let hurried_req = almanac_protocol::CreateJobRequest {
        rows: vec![almanac_protocol::RowSpan {
            start_row: 12,
            end_row: 349,
        }],
        overwrite: true,
        ..hurried_req
    };
    let resp = app
        .post_job_with(
            &hurried_req,
            JobOptions {
                max_wait_seconds: Some(60),
                ..JobOptions::default()
            },
        )
        .await;
    assert_eq!(resp.status(), 201);
    let hurried: almanac_protocol::Job = resp.json().await.unwrap();
    assert_eq!(hurried.mode, Mode::Realtime);
    for id in [&small.id, &large.id, &hurried.id] {
        app.wait_finished(id).await;
    }
}

#[tokio::test]
async fn a_server_set_to_always_batch_refuses_realtime_and_settles_auto_as_batch() {
    let app = spawn_app_with(fast(), |config| {
        config.api.cost.strategy = almanac::config::BatchStrategy::AlwaysBatch;
    })
    .await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    let resp = app
        .post_job(&app.request_in(0, 2, 5, MODEL, Mode::Realtime))
        .await;
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "mode_not_allowed");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("always_batch")
    );
    let job = app
        .create_job(&app.request_in(0, 2, 5, MODEL, Mode::Auto))
        .await;
    assert_eq!(job.mode, Mode::Batch);
    app.wait_finished(&job.id).await;
}

#[tokio::test]
async fn cancelling_a_realtime_job_stops_sending_and_keeps_what_was_answered() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", ENGLISH_CSV);
    app.emulator.set_chat_limits(Some(ChatLimits {
        requests_per_minute: Some(300),
        ..ChatLimits::default()
    }));
    let job = app
        .create_job(&app.request_in(0, 2, 101, MODEL, Mode::Realtime))
        .await;
    app.wait_until(&job.id, "a few answers", |j| {
        j.request_counts.completed >= 5
    })
    .await;
    let resp = app.post_action(&job.id, "cancel").await;
    assert_eq!(resp.status(), 202);
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Cancelled, "{job:#?}");
    let answered = job.row_counts.done;
    assert!((5..100).contains(&answered), "{:?}", job.row_counts);
    assert_eq!(answered + job.row_counts.failed, 100);
    let unsent = job
        .rows
        .iter()
        .find(|r| r.state == RowState::Failed)
        .unwrap();
    assert!(unsent.reason.as_deref().unwrap().contains("cancelled"));
    assert!((app.emulator.chat_limit_stats().accepted as u64) < 100);
    assert_each_cell_written_once(&app, 0, answered as usize);
}

#[tokio::test]
async fn a_refused_key_ends_the_run_instead_of_failing_every_row_one_call_at_a_time() {
    let app = spawn_app_with(fast(), |config| {
        // A base URL the emulator does not serve: every call answers 404 Invalid URL.
        config.api.cost.realtime_base_url = Some(format!("{}/nowhere/v1", config.openai_base_url));
    })
    .await;
    app.add_sheet(0, "Events", ENGLISH_CSV);
    let job = app
        .create_job(&app.request_in(0, 2, 41, MODEL, Mode::Realtime))
        .await;
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.row_counts.failed, 40, "{:?}", job.row_counts);
    assert!(
        app.emulator.calls().chat_completions == 0,
        "the calls went to the other endpoint"
    );
    let unsent = job
        .rows
        .iter()
        .filter(|r| {
            r.reason
                .as_deref()
                .is_some_and(|m| m.starts_with("not sent:"))
        })
        .count();
    assert!(
        unsent >= 30,
        "{unsent} of 40 rows left unsent after the refusals"
    );
}
