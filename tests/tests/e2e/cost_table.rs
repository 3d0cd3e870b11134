//! The README's table of what a 1,000-row job costs with each seed model in each mode, produced
//! from `POST /api/v1/estimate`. The test fails when the README's table is not what the endpoint
//! answers today, and prints the current table: paste it into README.md.
//!
//! `cargo test -p almanac-tests --test cost_table -- --nocapture` prints it.

use almanac_protocol::{Estimate, EstimateRequest, EstimateRow};
use almanac_tests::{ENGLISH_CSV, fast, spawn_app};

const SEED_MODELS: [&str; 6] = [
    "gpt-4.1-nano-2025-04-14",
    "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-2025-04-14",
    "o4-mini-2025-04-16",
    "o3-mini-2025-01-31",
    "o3-2025-04-16",
];

/// 1,000 rows: the English sample's titles, in order, again from the top when they run out.
fn thousand_rows() -> Vec<EstimateRow> {
    let titles: Vec<String> = ENGLISH_CSV
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1))
        .map(|t| t.trim_matches('"').to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    (0..1000)
        .map(|i| EstimateRow {
            id: format!("r{i:04}"),
            title: titles[i % titles.len()].clone(),
        })
        .collect()
}

fn usd(x: f64) -> String {
    format!("${x:.2}")
}

fn wait(seconds: u64) -> String {
    if seconds >= 3600 {
        format!("~{:.1} h", seconds as f64 / 3600.0)
    } else {
        format!("~{} min", seconds.div_ceil(60))
    }
}

#[tokio::test]
async fn the_readme_cost_table_is_what_the_estimate_endpoint_answers() {
    let app = spawn_app(fast()).await;
    let rows = thousand_rows();
    let mut table = String::from(
        "| model | batch | realtime | input tokens | output tokens (expected) | batch wait | realtime wait |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for model in SEED_MODELS {
        let resp = app
            .http
            .post(format!("{}/estimate", app.api))
            .json(&EstimateRequest {
                model: model.into(),
                rows: rows.clone(),
            })
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let e: Estimate = resp.json().await.unwrap();
        assert_eq!(e.rows, 1000);
        assert!(e.batch.total_usd < e.realtime.total_usd);
        table.push_str(&format!(
            "| `{model}` | {} | {} | {} | {} | {} | {} |\n",
            usd(e.batch.total_usd),
            usd(e.realtime.total_usd),
            e.input_tokens,
            e.output_tokens,
            wait(e.batch_wait_seconds),
            wait(e.realtime_wait_seconds),
        ));
    }
    println!("{table}");
    let readme = include_str!("../../../README.md");
    assert!(
        readme.contains(&table),
        "README.md's cost table is out of date; replace it with:\n\n{table}"
    );
}
