//! `almanac run` and `almanac sheet pull/push` as a user runs them: the real binary against an
//! in-process emulator — the seed JSON round trip, row ranges, `--estimate-cost` sending nothing,
//! an interrupted run resumed without a second batch, failed rows, bad input files, exit codes and
//! `--json` output.

use std::time::{Duration, Instant};

use crate::common::{EN_CSV, SEED_JSON, World, code, json, output, read_json, stderr};
use almanac_emulator::{CallCounts, Faults, RowFault};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_json_goes_from_sheet_to_file_to_sheet() {
    let w = World::start().await;
    let (spreadsheet, sheet) = ("seed-sheet", 0);
    w.emulator
        .add_sheet_from_csv(
            spreadsheet,
            sheet,
            "Events",
            almanac_emulator::SAMPLE_KO_CSV,
        )
        .unwrap();

    // 1. The sheet as historical_events.json (the seed's step 1).
    let mut pull = w.almanac();
    pull.args([
        "sheet",
        "pull",
        spreadsheet,
        "-o",
        "historical_events.json",
        "--json",
    ]);
    let out = output(pull).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["rows"], 16);
    let pulled = read_json(&w.path("historical_events.json"));
    let seed: serde_json::Value = serde_json::from_str(SEED_JSON).unwrap();
    for (id, entry) in seed.as_object().unwrap() {
        for (field, value) in entry.as_object().unwrap() {
            assert_eq!(&pulled[id][field], value, "{id}.{field}");
        }
    }

    // 2. The whole workflow on the file.
    let mut run = w.almanac();
    run.args([
        "run",
        "historical_events.json",
        "out.json",
        "--check-interval",
        "0.1",
        "--json",
    ]);
    let out = output(run).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["job"]["status"], "completed");
    assert_eq!(report["job"]["row_counts"]["done"], 16);
    assert_eq!(report["resumed"], false);
    let filled = read_json(&w.path("out.json"));
    let ids: Vec<&String> = filled.as_object().unwrap().keys().collect();
    let seed_ids: Vec<&String> = seed.as_object().unwrap().keys().collect();
    assert_eq!(ids, seed_ids, "entries keep their order");
    for (id, entry) in filled.as_object().unwrap() {
        for field in [
            "year",
            "content_simple",
            "content_detailed",
            "related_movies",
        ] {
            assert!(
                !entry[field].as_str().unwrap().is_empty(),
                "{id}.{field} filled"
            );
        }
        assert_eq!(entry["imageUrl"], seed[id]["imageUrl"], "other fields kept");
        assert_eq!(entry["relatedMovieId"], seed[id]["relatedMovieId"]);
    }
    // Row 08-15 had a year and a simple description: they are kept.
    assert_eq!(filled["08-15"]["year"], seed["08-15"]["year"]);
    assert_eq!(
        filled["08-15"]["content_simple"],
        seed["08-15"]["content_simple"]
    );

    // 3. Back into the sheet (the seed's sheets_updater.py).
    let mut push = w.almanac();
    push.args(["sheet", "push", spreadsheet, "out.json", "--json"]);
    let out = output(push).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["rows_written"], 16);
    let grid = w.emulator.sheet_rows(spreadsheet, sheet);
    for row in &grid[1..] {
        let id = &row[0];
        assert_eq!(row[2], filled[id]["year"].as_str().unwrap(), "{id} C");
        assert_eq!(
            row[4],
            filled[id]["content_detailed"].as_str().unwrap(),
            "{id} E"
        );
        assert_eq!(
            row[6],
            seed[id]["imageUrl"].as_str().unwrap(),
            "{id} G untouched"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_and_end_row_select_data_rows_and_the_rest_of_the_file_is_kept() {
    let w = World::start().await;
    w.write("en.csv", EN_CSV);
    let mut run = w.almanac();
    run.args([
        "run",
        "en.csv",
        "out.csv",
        "--start-row",
        "5",
        "--end-row",
        "8",
        "--check-interval",
        "0.1",
        "--json",
    ]);
    let out = output(run).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["job"]["row_counts"]["done"], 3);
    let batches = w.emulator.batches();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0]["request_counts"]["total"], 3);

    let mut reader = csv::Reader::from_path(w.path("out.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let year = headers.iter().position(|h| h == "year").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 348, "every row is kept");
    let filled: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| !r[year].is_empty())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(filled, [5, 6, 7]);
    let original: Vec<csv::StringRecord> = csv::Reader::from_reader(EN_CSV.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    for (i, (row, before)) in rows.iter().zip(&original).enumerate() {
        for (k, value) in before.iter().enumerate() {
            if !(year..year + 4).contains(&k) || ![5, 6, 7].contains(&i) {
                assert_eq!(&row[k], value, "row {i} column {k} kept");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn estimate_cost_prints_the_estimate_and_sends_nothing() {
    let w = World::start().await;
    w.write("events.json", SEED_JSON);
    let mut run = w.almanac();
    run.args([
        "run",
        "events.json",
        "out.json",
        "--estimate-cost",
        "--json",
    ]);
    let out = output(run).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["sent"], false);
    assert_eq!(report["estimate"]["rows"], 16);
    let as_of = &almanac_core::catalog::Catalog::builtin().prices_as_of;
    assert_eq!(report["estimate"]["prices_as_of"], as_of.as_str());
    assert!(report["estimate"]["batch"]["total_usd"].as_f64().unwrap() > 0.0);
    assert_eq!(w.emulator.calls(), CallCounts::default(), "no call at all");
    assert!(!w.path("out.json").exists());

    let mut text = w.almanac();
    text.args([
        "run",
        "events.json",
        "out.json",
        "--estimate-cost",
        "--end-row",
        "4",
    ]);
    let out = output(text).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Estimate for 4 rows"), "{stdout}");
    assert!(
        stdout.contains(&format!("prices as of {as_of}")),
        "{stdout}"
    );
    assert!(stdout.contains("Nothing was sent"), "{stdout}");
    assert_eq!(w.emulator.calls(), CallCounts::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_resumes_its_job_without_a_second_batch() {
    let w = World::start().await;
    w.write("en.csv", EN_CSV);
    w.emulator.hold_batches(true);
    let mut child = w
        .almanac_std()
        .args(["run", "en.csv", "out.csv", "--check-interval", "0.1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the batch exists and has been polled (its id is saved before the first poll).
    let deadline = Instant::now() + Duration::from_secs(60);
    while w.emulator.calls().batches_retrieve < 2 {
        assert!(Instant::now() < deadline, "the run never polled its batch");
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(w.emulator.calls().batches_create, 1);
    assert!(!w.path("out.csv").exists(), "nothing written mid-job");

    w.emulator.hold_batches(false);
    let mut again = w.almanac();
    again.args([
        "run",
        "en.csv",
        "out.csv",
        "--check-interval",
        "0.1",
        "--json",
    ]);
    let out = output(again).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["resumed"], true);
    assert_eq!(report["job"]["row_counts"]["done"], 348);
    let calls = w.emulator.calls();
    assert_eq!(calls.batches_create, 1, "no second batch");
    assert_eq!(calls.files_create, 1, "no second upload");
    let text = std::fs::read_to_string(w.path("out.csv")).unwrap();
    assert_eq!(text.lines().count(), 349);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_rows_exit_4_and_the_other_rows_are_written() {
    let w = World::start().await;
    w.write("events.json", SEED_JSON);
    w.emulator.set_faults(Faults {
        rows: [
            ("03-01".to_string(), RowFault::InvalidJson),
            ("04-19".to_string(), RowFault::HttpError(500)),
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
        "--check-interval",
        "0.1",
        "--json",
    ]);
    let out = output(run).await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["exit_code"], 4);
    let failed: Vec<&str> = report["failed_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["03-01", "04-19"]);
    let filled = read_json(&w.path("out.json"));
    assert_eq!(filled["03-01"]["year"], "");
    assert_ne!(filled["01-27"]["year"], "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_files_name_the_file_line_and_problem_and_nothing_is_written() {
    let w = World::start().await;
    let cases: [(&str, &[u8], &str, &str); 6] = [
        (
            "malformed.csv",
            b"id,title\n01-01,New Year\n01-02,Two,extra\n01-03,Three\n",
            ":3:",
            "fields but the header has 2",
        ),
        (
            "noheader.csv",
            b"01-01,New Year\n01-02,Other\n",
            ":1:",
            "no `id` or `title` column",
        ),
        (
            "dup.csv",
            b"id,title\n01-01,A\n01-02,B\n01-01,C\n",
            ":4:",
            "id `01-01` is used again (first on line 2)",
        ),
        (
            "cp949.csv",
            // "id,title\n01-01,가나\n" with the title in CP949.
            b"id,title\n01-01,\xB0\xA1\xB3\xAA\n",
            ":2:",
            "not valid UTF-8",
        ),
        (
            "utf16.csv",
            b"\xFF\xFEi\x00d\x00,\x00t\x00i\x00t\x00l\x00e\x00\n\x00",
            ":1:",
            "UTF-16",
        ),
        (
            "dup.json",
            b"[\n {\"id\": \"a\", \"title\": \"A\"},\n {\"id\": \"a\", \"title\": \"B\"}\n]",
            ":3:",
            "id `a` is used again",
        ),
    ];
    for (name, bytes, line, problem) in cases {
        w.write(name, bytes);
        let out_name = format!("out-{name}");
        let mut run = w.almanac();
        run.args(["run", name, &out_name, "--json"]);
        let out = output(run).await;
        assert_eq!(code(&out), 2, "{name}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("error: {name}{line} ")),
            "{name}: file and line in {err}"
        );
        assert!(err.contains(problem), "{name}: problem in {err}");
        let doc = json(&out);
        assert_eq!(doc["error"]["kind"], "bad_input");
        assert!(doc["error"]["message"].as_str().unwrap().contains(problem));
        assert!(!w.path(&out_name).exists(), "{name}: nothing written");
    }
    assert_eq!(w.emulator.calls(), CallCounts::default(), "nothing sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realtime_mode_fills_the_file_with_chat_completions_and_no_batch() {
    let w = World::start().await;
    w.write("events.json", SEED_JSON);
    let mut run = w.almanac();
    run.args([
        "run",
        "events.json",
        "out.json",
        "--mode",
        "realtime",
        "--check-interval",
        "0.1",
        "--json",
    ]);
    let out = output(run).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["job"]["status"], "completed");
    assert_eq!(report["job"]["row_counts"]["done"], 16, "{report}");
    let calls = w.emulator.calls();
    assert_eq!(calls.batches_create, 0, "realtime sends no batch");
    assert_eq!(calls.files_create, 0);
    assert_eq!(calls.chat_completions, 16, "one call per row to fill");
    let cost = &report["job"]["cost"];
    assert_eq!(cost["actual_rows"], 16, "{cost}");
    assert_eq!(
        cost["actual"]["input_tokens"], cost["estimated"]["input_tokens"],
        "the estimate counted the exact bodies the emulator billed: {cost}"
    );
    assert!(cost["actual_usd"].as_f64().unwrap() > 0.0, "{cost}");
    assert_eq!(
        calls.values_batch_update_by_data_filter, 0,
        "a file job's grouped writes never touch a sheet"
    );
    let filled = read_json(&w.path("out.json"));
    for (id, entry) in filled.as_object().unwrap() {
        assert!(
            !entry["content_simple"].as_str().unwrap().is_empty(),
            "{id} filled"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2_without_sending_anything() {
    let w = World::start().await;
    w.write("events.json", SEED_JSON);
    w.write("existing.json", "{}");
    let cases: [(&[&str], &str); 5] = [
        (&["--mode", "sometimes"], "invalid value 'sometimes'"),
        (&["--model", "gpt-4.1-mini-2025-04-15"], "did you mean"),
        (&["--completion-window", "1h"], "only `24h`"),
        (&["--start-row", "40"], "selects no rows"),
        (&["--check-interval", "0"], "--check-interval"),
    ];
    for (flags, needle) in cases {
        let mut run = w.almanac();
        run.args(["run", "events.json", "out.json"]).args(flags);
        let out = output(run).await;
        assert_eq!(code(&out), 2, "{flags:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{flags:?}: {}", stderr(&out));
    }
    // An existing OUTPUT is not replaced without --yes when nobody can be asked.
    let mut run = w.almanac();
    run.args(["run", "events.json", "existing.json"]);
    let out = output(run).await;
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(w.path("existing.json")).unwrap(),
        "{}"
    );
    assert_eq!(w.emulator.calls(), CallCounts::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_keeps_the_answers_and_the_next_run_writes_them_without_a_new_batch() {
    let w = World::start().await;
    w.write("events.json", SEED_JSON);
    let mut run = w.almanac();
    run.args([
        "run",
        "events.json",
        "later/out.json",
        "--check-interval",
        "0.1",
        "--json",
    ]);
    let out = output(run).await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["job"]["status"], "failed");
    assert_eq!(report["job"]["error"]["code"], "output_unwritable");
    assert_eq!(report["job"]["row_counts"]["generated"], 16);

    std::fs::create_dir(w.path("later")).unwrap();
    let mut again = w.almanac();
    again.args([
        "run",
        "events.json",
        "later/out.json",
        "--check-interval",
        "0.1",
        "--json",
    ]);
    let out = output(again).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["resumed"], true);
    assert_eq!(json(&out)["job"]["row_counts"]["done"], 16);
    assert_eq!(w.emulator.calls().batches_create, 1, "answers reused");
    assert_eq!(read_json(&w.path("later/out.json"))["01-27"]["id"], "01-27");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_openai_stops_the_run_with_exit_1_and_the_job_resumes_later() {
    let w = World::start().await;
    w.write("events.json", SEED_JSON);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/v1", closed.local_addr().unwrap());
    drop(closed);
    let mut run = w.almanac();
    run.env("OPENAI_BASE_URL", &dead_url).args([
        "run",
        "events.json",
        "out.json",
        "--give-up-after",
        "1",
        "--json",
    ]);
    let out = output(run).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["error"]["kind"], "unavailable");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("run the same command again")
    );
    assert!(!w.path("out.json").exists());

    let mut again = w.almanac();
    again.args([
        "run",
        "events.json",
        "out.json",
        "--check-interval",
        "0.1",
        "--json",
    ]);
    let out = output(again).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["resumed"], true);
    assert_eq!(w.emulator.calls().batches_create, 1);
}
