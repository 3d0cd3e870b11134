//! The estimate is close to the bill: input tokens counted on the exact request bodies agree with
//! what the (emulated) provider reports, and after a job its actual usage, cost and the estimate's
//! error are stored and shown.

use almanac_core::catalog::Catalog;
use almanac_openai::jsonl;
use almanac_protocol::{Estimate, EstimateRequest, EstimateRow, JobStatus, Mode};
use almanac_tests::{ENGLISH_CSV, KOREAN_CSV, OPENAI_KEY, TestApp, fast, spawn_app};
use serde_json::Value;

const SEED_MODELS: [&str; 6] = [
    "gpt-4.1-nano-2025-04-14",
    "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-2025-04-14",
    "o4-mini-2025-04-16",
    "o3-mini-2025-01-31",
    "o3-2025-04-16",
];

/// `(id, title)` of the first `n` data rows of a CSV fixture.
fn rows(csv: &str, n: usize) -> Vec<(String, String)> {
    csv.lines()
        .skip(1)
        .take(n)
        .map(|line| {
            let mut cells = line.splitn(3, ',');
            let id = cells.next().unwrap().trim_matches('"').to_owned();
            let title = cells.next().unwrap().trim_matches('"').to_owned();
            (id, title)
        })
        .collect()
}

async fn estimate(app: &TestApp, model: &str, rows: &[(String, String)]) -> Estimate {
    let resp = app
        .http
        .post(format!("{}/estimate", app.api))
        .json(&EstimateRequest {
            model: model.into(),
            rows: rows
                .iter()
                .map(|(id, title)| EstimateRow {
                    id: id.clone(),
                    title: title.clone(),
                })
                .collect(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn estimated_input_tokens_equal_the_emulators_prompt_tokens_for_the_same_bodies() {
    let app = spawn_app(fast()).await;
    let chat = reqwest::Client::new();
    let mut sample = rows(KOREAN_CSV, 16);
    sample.extend(rows(ENGLISH_CSV, 8));
    for model in SEED_MODELS {
        let spec = Catalog::builtin().resolve(model).unwrap();
        let e = estimate(&app, model, &sample).await;
        assert_eq!(e.per_row.len(), sample.len());
        let mut total = 0;
        for ((id, title), row) in sample.iter().zip(&e.per_row) {
            assert_eq!(&row.id, id);
            let body = jsonl::request_body(spec, title);
            let answer: Value = chat
                .post(format!(
                    "{}/chat/completions",
                    app.emulator.openai_base_url()
                ))
                .bearer_auth(OPENAI_KEY)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let reported = answer["usage"]["prompt_tokens"].as_u64().unwrap();
            assert_eq!(
                row.input_tokens, reported,
                "{model}, {title}: estimate {} vs emulator {reported}",
                row.input_tokens
            );
            total += reported;
        }
        assert_eq!(e.input_tokens, total, "{model}");
    }
}

#[tokio::test]
async fn after_a_batch_job_the_actual_usage_cost_and_estimate_error_are_shown_and_feed_the_next_estimate()
 {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    let model = "gpt-4.1-mini-2025-04-14";
    let spec = Catalog::builtin().resolve(model).unwrap();
    let job = app.create_job(&app.request(0, 2, 17, model)).await;
    assert_eq!(job.mode, Mode::Batch);
    let to_send = job.row_counts.pending;
    assert_eq!(job.cost.estimated_rows, to_send);
    assert!(job.cost.estimated_usd > 0.0);
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    let cost = job.cost;
    assert_eq!(cost.actual_rows, to_send);
    // Same bodies, same counting: the input side of the estimate is exact.
    assert_eq!(cost.actual.input_tokens, cost.estimated.input_tokens);
    let expected_usd = (cost.actual.input_tokens as f64 * spec.input_per_1m
        + cost.actual.output_tokens as f64 * spec.output_per_1m)
        / 1e6
        * spec.batch_price_factor;
    assert!((cost.actual_usd - expected_usd).abs() < 1e-12, "{cost:?}");
    let error = cost.estimate_error.expect("an error once usage is known");
    let expected_error = (cost.actual_usd - cost.estimated_usd) / cost.estimated_usd;
    assert!((error - expected_error).abs() < 1e-9);

    // The next estimate predicts output from this job's average.
    let sample = rows(KOREAN_CSV, 4);
    let next = estimate(&app, model, &sample).await;
    assert_eq!(next.output_tokens_source, "history");
    let average = cost.actual.output_tokens as f64 / cost.actual_rows as f64;
    assert_eq!(next.per_row[0].output_tokens, average.round() as u64);
    let other_model = estimate(&app, "gpt-4.1-nano-2025-04-14", &sample).await;
    assert_eq!(other_model.output_tokens_source, "catalogue");
}
