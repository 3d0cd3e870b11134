//! Spending caps: a job's `max_cost_usd`, a spreadsheet's monthly budget and the operator's caps
//! (per user, overall) refuse jobs with the figures, a spreadsheet budget above the operator's
//! default needs the operator's leave, a running realtime job stops sending once its cap would be
//! passed, and a running batch job submits no further batch that would pass it.

use std::collections::HashMap;

use almanac_emulator::EmulatorConfig;
use almanac_emulator::{Faults, RowFault};
use almanac_protocol::{Budget, JobOptions, JobStatus, Mode, RowState, SetBudgetRequest};
use almanac_tests::{ENGLISH_CSV, SPREADSHEET, TestApp, USER_B, fast, spawn_app};
use serde_json::Value;

const MODEL: &str = "gpt-4.1-2025-04-14";

async fn error_of(resp: reqwest::Response) -> (u16, String, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_owned(),
        body["error"]["message"].as_str().unwrap_or("").to_owned(),
    )
}

async fn put_budget(app: &TestApp, monthly_usd: Option<f64>) -> reqwest::Response {
    app.http
        .put(format!("{}/spreadsheets/{SPREADSHEET}/budget", app.api))
        .json(&SetBudgetRequest { monthly_usd })
        .send()
        .await
        .unwrap()
}

async fn get_budget(app: &TestApp) -> Budget {
    let resp = app
        .http
        .get(format!("{}/spreadsheets/{SPREADSHEET}/budget", app.api))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn list_len(app: &TestApp) -> usize {
    let list: Value = app
        .http
        .get(format!("{}/jobs?spreadsheet_id={SPREADSHEET}", app.api))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["jobs"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_job_whose_estimate_is_above_its_cap_is_refused_with_the_figures() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", ENGLISH_CSV);
    let req = app.request_in(0, 2, 101, MODEL, Mode::Batch);
    let resp = app
        .post_job_with(
            &req,
            JobOptions {
                max_cost_usd: Some(0.0001),
                ..JobOptions::default()
            },
        )
        .await;
    let (status, code, message) = error_of(resp).await;
    assert_eq!(
        (status, code.as_str()),
        (422, "over_job_budget"),
        "{message}"
    );
    assert!(message.contains("$0.0001"), "{message}");
    assert!(message.contains("batch mode"), "{message}");
    assert_eq!(list_len(&app).await, 0, "nothing was created");

    // A cap above the estimate is accepted and shown on the job.
    let resp = app
        .post_job_with(
            &req,
            JobOptions {
                max_cost_usd: Some(5.0),
                ..JobOptions::default()
            },
        )
        .await;
    assert_eq!(resp.status(), 201);
    let job: almanac_protocol::Job = resp.json().await.unwrap();
    assert_eq!(job.cost.max_cost_usd, Some(5.0));
    assert!(job.cost.estimated_usd > 0.0001 && job.cost.estimated_usd < 5.0);

    let resp = app
        .post_job_with(
            &req,
            JobOptions {
                max_cost_usd: Some(-1.0),
                ..JobOptions::default()
            },
        )
        .await;
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn the_monthly_budget_refuses_a_job_that_would_pass_it_and_counts_what_jobs_committed() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", ENGLISH_CSV);
    let none = get_budget(&app).await;
    assert_eq!(none.monthly_usd, None);
    assert_eq!(none.committed_usd, 0.0);

    let resp = put_budget(&app, Some(0.05)).await;
    assert_eq!(resp.status(), 200);
    let set: Budget = resp.json().await.unwrap();
    assert_eq!(set.monthly_usd, Some(0.05));
    assert_eq!(set.remaining_usd, Some(0.05));

    // 300 rows of gpt-4.1 in realtime cost well above $0.05.
    let big = app.request_in(0, 2, 301, MODEL, Mode::Realtime);
    let (status, code, message) = error_of(app.post_job(&big).await).await;
    assert_eq!(
        (status, code.as_str()),
        (422, "over_monthly_budget"),
        "{message}"
    );
    assert!(message.contains("$0.0500 budget"), "{message}");
    assert!(message.contains(&set.month), "{message}");

    // A small batch job fits; once it ran, its actual cost is committed.
    let job = app
        .create_job(&app.request_in(0, 2, 6, MODEL, Mode::Batch))
        .await;
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed);
    let after = get_budget(&app).await;
    assert!(
        (after.committed_usd - job.cost.actual_usd).abs() < 1e-12,
        "{after:?}"
    );
    assert!(after.committed_usd > 0.0);
    assert_eq!(after.remaining_usd, Some(0.05 - after.committed_usd));

    // Removing the budget lets the big job through.
    assert_eq!(put_budget(&app, None).await.status(), 200);
    assert_eq!(app.post_job(&big).await.status(), 201);
}

#[tokio::test]
async fn a_budget_needs_a_valid_amount_and_access_to_the_spreadsheet() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", ENGLISH_CSV);
    let (status, code, _) = error_of(put_budget(&app, Some(-3.0)).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_request"));
    let stranger = app.client_as(USER_B).await;
    let resp = stranger
        .put(format!("{}/spreadsheets/{SPREADSHEET}/budget", app.api))
        .json(&SetBudgetRequest {
            monthly_usd: Some(100.0),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403, "no access proof: access_not_proven");
    assert_eq!(get_budget(&app).await.monthly_usd, None);
}

#[tokio::test]
async fn a_running_realtime_job_stops_sending_when_its_cap_would_be_passed() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", ENGLISH_CSV);
    // Every answer is far longer than predicted, so the bill outruns the estimate.
    let long = "x".repeat(6_000);
    let rows: HashMap<String, RowFault> = (1..=40)
        .map(|row| (app.cell(0, row, 1), RowFault::Text(long.clone())))
        .collect();
    app.emulator.set_faults(Faults {
        rows,
        ..Faults::default()
    });
    let req = app.request_in(0, 2, 41, MODEL, Mode::Realtime);
    let probe = app
        .post_job_with(
            &req,
            JobOptions {
                max_cost_usd: Some(0.0),
                ..JobOptions::default()
            },
        )
        .await;
    let (_, _, message) = error_of(probe).await;
    let estimate: f64 = message
        .split('$')
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .expect("the refusal names the estimate");
    let cap = estimate * 1.05;
    let resp = app
        .post_job_with(
            &req,
            JobOptions {
                max_cost_usd: Some(cap),
                ..JobOptions::default()
            },
        )
        .await;
    assert_eq!(resp.status(), 201);
    let job: almanac_protocol::Job = resp.json().await.unwrap();
    let job = app.wait_finished(&job.id).await;
    let unsent: Vec<_> = job
        .rows
        .iter()
        .filter(|r| r.state == RowState::Failed)
        .collect();
    assert!(!unsent.is_empty(), "{:?}", job.row_counts);
    assert!(job.row_counts.done > 0, "{:?}", job.row_counts);
    for row in &unsent {
        let reason = row.reason.as_deref().unwrap();
        assert!(reason.contains("max_cost_usd"), "{reason}");
    }
    assert!(
        app.emulator.calls().chat_completions < 40,
        "rows past the cap were not sent"
    );
    assert!(job.cost.actual_usd > job.cost.estimated_usd);

    // Retrying would spend more than the cap allows: refused with the figures.
    let (status, code, message) = error_of(app.post_action(&job.id, "retry").await).await;
    assert_eq!(
        (status, code.as_str()),
        (422, "over_job_budget"),
        "{message}"
    );
}

#[tokio::test]
async fn a_batch_retry_that_would_pass_the_cap_is_refused() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", ENGLISH_CSV);
    let long = "y".repeat(6_000);
    let mut rows: HashMap<String, RowFault> = (1..=9)
        .map(|row| (app.cell(0, row, 0), RowFault::Text(long.clone())))
        .collect();
    rows.insert(app.cell(0, 10, 0), RowFault::HttpError(500));
    app.emulator.set_faults(Faults {
        rows,
        ..Faults::default()
    });
    let req = app.request_in(0, 2, 11, MODEL, Mode::Batch);
    let (_, _, message) = error_of(
        app.post_job_with(
            &req,
            JobOptions {
                max_cost_usd: Some(0.0),
                ..JobOptions::default()
            },
        )
        .await,
    )
    .await;
    let estimate: f64 = message
        .split('$')
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .expect("the refusal names the estimate");
    let resp = app
        .post_job_with(
            &req,
            JobOptions {
                max_cost_usd: Some(estimate * 1.05),
                ..JobOptions::default()
            },
        )
        .await;
    assert_eq!(resp.status(), 201);
    let job: almanac_protocol::Job = resp.json().await.unwrap();
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.row_counts.failed, 1, "{:?}", job.row_counts);
    assert!(
        job.cost.actual_usd > job.cost.estimated_usd,
        "{:?}",
        job.cost
    );
    let batches_before = app.emulator.calls().batches_create;
    let (status, code, message) = error_of(app.post_action(&job.id, "retry").await).await;
    assert_eq!(
        (status, code.as_str()),
        (422, "over_job_budget"),
        "{message}"
    );
    assert_eq!(
        app.emulator.calls().batches_create,
        batches_before,
        "no new batch"
    );
}

#[tokio::test]
async fn a_running_batch_job_submits_no_further_batch_that_would_pass_its_cap() {
    // Two rows a step, so the first batch expires with 4 of its 12 rows done; its automatic
    // resubmission is the further batch the cap must stop.
    let app = spawn_app(EmulatorConfig {
        step: std::time::Duration::from_millis(20),
        rows_per_step: 2,
    })
    .await;
    app.add_sheet(0, "Events", ENGLISH_CSV);
    // Every answer is far longer than predicted (about 3,000 tokens of distinct words), so the 4
    // rows that ran cost more than the estimate allowed them.
    let long: String = (0..1_500).map(|i| format!("word{i} ")).collect();
    // Batch faults are keyed by custom_id (column A).
    let rows: HashMap<String, RowFault> = (1..=12)
        .map(|row| (app.cell(0, row, 0), RowFault::Text(long.clone())))
        .collect();
    app.emulator.set_faults(Faults {
        rows,
        expire_after: Some(4),
        ..Faults::default()
    });
    let req = app.request_in(0, 2, 13, MODEL, Mode::Batch);
    let probe = app
        .post_job_with(
            &req,
            JobOptions {
                max_cost_usd: Some(0.0),
                ..JobOptions::default()
            },
        )
        .await;
    let (_, _, message) = error_of(probe).await;
    let estimate: f64 = message
        .split('$')
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .expect("the refusal names the estimate");
    let resp = app
        .post_job_with(
            &req,
            JobOptions {
                max_cost_usd: Some(estimate * 1.05),
                ..JobOptions::default()
            },
        )
        .await;
    assert_eq!(resp.status(), 201);
    let job: almanac_protocol::Job = resp.json().await.unwrap();
    let job = app.wait_finished(&job.id).await;
    assert_eq!(
        job.row_counts.done, 4,
        "{:?} {:?}",
        job.row_counts, job.cost
    );
    assert_eq!(job.row_counts.failed, 8, "{:?}", job.row_counts);
    for row in job.rows.iter().filter(|r| r.state == RowState::Failed) {
        let reason = row.reason.as_deref().unwrap();
        assert!(
            reason.starts_with("not sent: ") && reason.contains("max_cost_usd"),
            "{reason}"
        );
    }
    // The resubmission was never sent: one batch at OpenAI, and nothing billed past the 4 rows.
    assert_eq!(app.emulator.calls().batches_create, 1);
    assert_eq!(app.emulator.calls().files_create, 1);
    assert_eq!(job.cost.actual_rows, 4, "{:?}", job.cost);
    assert!(
        job.cost.estimate_error.unwrap() > 0.05,
        "the answers outran the estimate: {:?}",
        job.cost
    );
}

/// The operator's caps, changed between restarts of the backend (`spending` is read at start).
type Caps = std::sync::Arc<std::sync::Mutex<almanac::config::SpendingSettings>>;

/// A backend whose spending settings are `caps` at each (re)start.
async fn app_with_caps(caps: &Caps) -> TestApp {
    let caps = caps.clone();
    let app = almanac_tests::spawn_app_with(fast(), move |config| {
        config.api.cost.spending = caps.lock().unwrap().clone();
    })
    .await;
    app.add_sheet(0, "Events", ENGLISH_CSV);
    app
}

async fn post_as(app: &TestApp, client: &reqwest::Client, rows: u32) -> reqwest::Response {
    client
        .post(format!("{}/jobs", app.api))
        .json(&app.request_in(0, 2, 1 + rows, MODEL, Mode::Batch))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_operators_per_user_and_overall_monthly_caps_refuse_jobs_and_no_request_lifts_them() {
    let caps = Caps::default();
    let mut app = app_with_caps(&caps).await;
    app.emulator.hold_batches(true);
    // A job running (its batch held): its estimate counts as committed until it is answered.
    let first = app
        .create_job(&app.request_in(0, 2, 41, MODEL, Mode::Batch))
        .await;
    let e = first.cost.estimated_usd;
    assert!(e > 0.0);

    // Ada may commit 1.5 jobs' worth a month: a second job is refused with the figures.
    caps.lock().unwrap().user_monthly_usd = Some(1.5 * e);
    app.restart().await;
    let (status, code, message) = error_of(post_as(&app, &app.http, 40).await).await;
    assert_eq!(
        (status, code.as_str()),
        (422, "over_user_monthly_cap"),
        "{message}"
    );
    assert!(message.contains(&format!("${:.4}", 1.5 * e)), "{message}");
    assert!(message.contains(&format!("${e:.4}")), "{message}");
    // No request lifts it: a spreadsheet budget far above, or none, changes nothing.
    assert_eq!(put_budget(&app, Some(1_000.0)).await.status(), 200);
    assert_eq!(post_as(&app, &app.http, 40).await.status(), 422);
    assert_eq!(put_budget(&app, None).await.status(), 200);
    assert_eq!(post_as(&app, &app.http, 40).await.status(), 422);
    // The cap is per user: Bob, an editor too, has his own.
    app.emulator.share(SPREADSHEET, USER_B.email);
    let bob = app.client_as(USER_B).await;
    assert_eq!(post_as(&app, &bob, 40).await.status(), 201);

    // Everyone together may commit 2.5 jobs' worth: two are running, a third is refused for Ada
    // and for Bob alike.
    *caps.lock().unwrap() = almanac::config::SpendingSettings {
        operator_monthly_usd: Some(2.5 * e),
        ..Default::default()
    };
    app.restart().await;
    let bob = app.client_as(USER_B).await;
    for client in [&app.http, &bob] {
        let (status, code, message) = error_of(post_as(&app, client, 40).await).await;
        assert_eq!(
            (status, code.as_str()),
            (422, "over_operator_monthly_cap"),
            "{message}"
        );
        assert!(message.contains(&format!("${:.4}", 2.5 * e)), "{message}");
    }
    // A smaller job still fits under what is left.
    assert_eq!(post_as(&app, &app.http, 5).await.status(), 201);
}

#[tokio::test]
async fn a_spreadsheet_budget_above_the_operators_default_or_none_needs_the_operators_leave() {
    let caps = Caps::new(std::sync::Mutex::new(almanac::config::SpendingSettings {
        spreadsheet_monthly_usd: Some(1.0),
        ..Default::default()
    }));
    let mut app = app_with_caps(&caps).await;
    // A spreadsheet without a budget of its own has the operator's default.
    assert_eq!(get_budget(&app).await.monthly_usd, Some(1.0));
    for asked in [Some(5.0), None] {
        let (status, code, message) = error_of(put_budget(&app, asked).await).await;
        assert_eq!(
            (status, code.as_str()),
            (403, "budget_above_default"),
            "{asked:?}: {message}"
        );
        assert!(message.contains("$1.0000"), "{message}");
    }
    assert_eq!(get_budget(&app).await.monthly_usd, Some(1.0));
    // Lowering it is anyone's right.
    assert_eq!(put_budget(&app, Some(0.5)).await.status(), 200);
    assert_eq!(get_budget(&app).await.monthly_usd, Some(0.5));
    // With the operator's leave, editors may raise it.
    caps.lock().unwrap().allow_budget_above_default = true;
    app.restart().await;
    assert_eq!(put_budget(&app, Some(5.0)).await.status(), 200);
    assert_eq!(get_budget(&app).await.monthly_usd, Some(5.0));
}

#[tokio::test]
async fn a_retry_and_a_chat_turn_are_held_to_the_operators_caps_too() {
    let caps = Caps::default();
    let mut app = app_with_caps(&caps).await;
    // One row fails with a 500: a retry would send it again.
    let rows: HashMap<String, RowFault> = [(app.cell(0, 3, 0), RowFault::HttpError(500))].into();
    app.emulator.set_faults(Faults {
        rows,
        ..Faults::default()
    });
    let job = app
        .create_job(&app.request_in(0, 2, 6, MODEL, Mode::Batch))
        .await;
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.row_counts.failed, 1, "{:?}", job.row_counts);
    app.emulator.set_faults(Faults::default());

    // The operator allows no more than what was spent: the retry and a question are refused.
    caps.lock().unwrap().operator_monthly_usd = Some(job.cost.actual_usd);
    app.restart().await;
    let batches_before = app.emulator.calls().batches_create;
    let (status, code, message) = error_of(app.post_action(&job.id, "retry").await).await;
    assert_eq!(
        (status, code.as_str()),
        (422, "over_operator_monthly_cap"),
        "{message}"
    );
    assert_eq!(app.emulator.calls().batches_create, batches_before);
    let resp = app
        .http
        .post(format!("{}/chat", app.api))
        .json(&serde_json::json!({
            "message": "What happened on 08-15?",
            "spreadsheet_id": SPREADSHEET,
            "sheet_id": 0,
        }))
        .send()
        .await
        .unwrap();
    let (status, code, message) = error_of(resp).await;
    assert_eq!(
        (status, code.as_str()),
        (422, "over_operator_monthly_cap"),
        "{message}"
    );
    assert!(
        message.starts_with("this question is estimated at"),
        "{message}"
    );
}
