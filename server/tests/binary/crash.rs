//! Crash safety and graceful shutdown of the real `almanac serve` process.
//!
//! The server runs as a child process (the `almanac` binary Cargo built for this test) against an
//! emulator that lives in this test process, so the emulator's state — files, batches, the sheet,
//! per-cell write counts — survives every kill. Precise kill points come from the emulator side:
//! [`Emulator::hold_next`] holds one response *after* its effect (the batch exists, the cells are
//! written) until the test has killed the server with SIGKILL.

use std::collections::{BTreeMap, HashMap};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use almanac_emulator::generate::year_for;
use almanac_emulator::{Emulator, EmulatorConfig, HoldPoint};
use almanac_protocol::{CreateJobRequest, Job, JobStatus, Mode, RowSpan};
use serde_json::Value;

const SPREADSHEET: &str = "crash-spreadsheet";
const ENGLISH_CSV: &str = almanac_emulator::SAMPLE_EN_CSV;
const MODEL: &str = "gpt-4.1-nano-2025-04-14";

/// One `almanac serve` child process and what it needs to be started again.
struct Server {
    child: Option<Child>,
    api: String,
    port: u16,
    dir: PathBuf,
    emulator: Emulator,
    http: reqwest::Client,
    starts: usize,
    grace_secs: f64,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    fn new(emulator: &Emulator, dir: &Path, grace_secs: f64) -> Server {
        std::fs::write(
            dir.join("service-account.json"),
            emulator.service_account_key_json(),
        )
        .unwrap();
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        Server {
            child: None,
            api: String::new(),
            port: 0,
            dir: dir.to_owned(),
            emulator: emulator.clone(),
            http: reqwest::Client::new(),
            starts: 0,
            grace_secs,
        }
    }

    /// Starts the process and waits until `/api/v1/health` answers.
    async fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        self.port = free_port();
        self.starts += 1;
        let log =
            std::fs::File::create(self.dir.join(format!("server-{}.log", self.starts))).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_almanac"))
            .arg("serve")
            .arg("--insecure-dev-no-auth")
            .env_clear()
            // Several servers at once: /metrics on a free port each.
            .env("ALMANAC_METRICS_BIND", "127.0.0.1:0")
            .env("ALMANAC_BIND", format!("127.0.0.1:{}", self.port))
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", self.dir.join("almanac.db").display()),
            )
            .env("OPENAI_API_KEY", "sk-crash-test")
            .env("OPENAI_BASE_URL", self.emulator.openai_base_url())
            .env(
                "GOOGLE_APPLICATION_CREDENTIALS",
                self.dir.join("service-account.json"),
            )
            .env("SHEETS_BASE_URL", self.emulator.sheets_base_url())
            .env("ALMANAC_POLL_INTERVAL_SECS", "0.03")
            .env("ALMANAC_SHUTDOWN_GRACE_SECS", self.grace_secs.to_string())
            .env("ALMANAC_SIDEBAR_DIR", self.dir.join("no-sidebar"))
            .env("RUST_LOG", "info")
            // Its temporary files where the test sees them.
            .env("TMPDIR", self.dir.join("tmp"))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("the almanac binary starts");
        self.child = Some(child);
        self.api = format!("http://127.0.0.1:{}/api/v1", self.port);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(resp) = self.http.get(format!("{}/health", self.api)).send().await
                && resp.status().is_success()
            {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("the server exited at start with {status}: {}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "the server never answered /health"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL, and wait for the process to be gone.
    fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM; returns how long the process took to exit and its exit status.
    async fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let started = Instant::now();
        let ok = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM failed");
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the server ignored SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join(format!("server-{}.log", self.starts)))
            .unwrap_or_default()
    }

    async fn create_job(&self, start: u32, end: u32) -> Job {
        let resp = self
            .http
            .post(format!("{}/jobs", self.api))
            .json(&CreateJobRequest {
                spreadsheet_id: SPREADSHEET.into(),
                sheet_id: 0,
                rows: vec![RowSpan {
                    start_row: start,
                    end_row: end,
                }],
                model: MODEL.into(),
                mode: Mode::Batch,
                overwrite: false,
            })
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        resp.json().await.unwrap()
    }

    async fn job(&self, id: &str) -> Job {
        self.http
            .get(format!("{}/jobs/{id}", self.api))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn wait_finished(&self, id: &str) -> Job {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let job = self.job(id).await;
            if job.status.is_terminal() {
                return job;
            }
            assert!(Instant::now() < deadline, "job never finished: {job:#?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Arms a hold at `point`, (re)starts the server, waits until a call reaches the point, kills
    /// the server there, then lets the held response go (to a dead socket).
    async fn kill_at(&mut self, point: HoldPoint, kills: &mut Vec<String>) {
        let mut hold = self.emulator.hold_next(point);
        if self.child.is_none() {
            self.start().await;
        }
        let reached = tokio::time::timeout(Duration::from_secs(30), hold.reached()).await;
        assert!(
            matches!(reached, Ok(true)),
            "no call reached {point:?}: {}",
            self.log()
        );
        self.kill();
        hold.release();
        kills.push(format!("{point:?}"));
    }

    /// (Re)starts the server, lets the held batch run until it has at least `done` requests
    /// finished, holds it again and kills the server.
    async fn kill_when_progress(&mut self, job_id: &str, done: u64, kills: &mut Vec<String>) {
        if self.child.is_none() {
            self.start().await;
        }
        self.emulator.hold_batches(false);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let batch = batches_of(&self.emulator, job_id).into_iter().next();
            if let Some(b) = batch
                && (b["request_counts"]["completed"].as_u64().unwrap_or(0) >= done
                    || b["status"] != "in_progress" && b["status"] != "validating")
            {
                break;
            }
            assert!(Instant::now() < deadline, "the batch never progressed");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        self.emulator.hold_batches(true);
        self.kill();
        kills.push(format!("in_progress>={done}"));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The emulator's batches whose `metadata.job_id` is `job_id`.
/// The `.jsonl` files anywhere under `dir`.
fn jsonl_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(jsonl_files(&path));
        } else if path.extension().is_some_and(|e| e == "jsonl") {
            found.push(path);
        }
    }
    found
}

/// A server killed after writing a part's input file, while its upload is unanswered, leaves
/// the file behind; the next start removes it before it serves, and the job still completes.
#[tokio::test]
async fn an_input_file_left_by_a_killed_server_is_removed_at_the_next_start() {
    let emulator = emulator_with_sheet().await;
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    let mut server = Server::new(&emulator, dir.path(), 5.0);
    server.start().await;
    let mut hold = emulator.hold_next(HoldPoint::FileUploaded);
    let job = server.create_job(2, 25).await;
    let reached = tokio::time::timeout(Duration::from_secs(30), hold.reached()).await;
    assert!(matches!(reached, Ok(true)), "{}", server.log());
    server.kill();
    hold.release();
    let left = jsonl_files(&tmp);
    assert_eq!(left.len(), 1, "the killed server's input file: {left:?}");
    server.start().await;
    assert!(
        !left[0].exists(),
        "{} is still there after a restart",
        left[0].display()
    );
    let finished = server.wait_finished(&job.id).await;
    assert_eq!(finished.status, JobStatus::Completed, "{finished:#?}");
    assert_eq!(jsonl_files(&tmp), Vec::<PathBuf>::new());
}

fn batches_of(emulator: &Emulator, job_id: &str) -> Vec<Value> {
    emulator
        .batches()
        .into_iter()
        .filter(|b| b["metadata"]["job_id"] == job_id)
        .collect()
}

async fn emulator_with_sheet() -> Emulator {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let emulator = Emulator::start(EmulatorConfig {
        step: Duration::from_millis(25),
        rows_per_step: 3,
    })
    .await
    .unwrap();
    emulator
        .add_sheet_from_csv(SPREADSHEET, 0, "Events", ENGLISH_CSV)
        .unwrap();
    emulator
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_at_thirty_points_of_three_jobs_fills_every_row_exactly_once_with_one_batch_per_chunk()
 {
    let emulator = emulator_with_sheet().await;
    let before = emulator.sheet_rows(SPREADSHEET, 0);
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::new(&emulator, dir.path(), 5.0);
    let mut kills: Vec<String> = Vec::new();
    // Three jobs, one after the other (so that each hold catches the job it is meant for), on
    // disjoint rows: 2–25, 26–49, 50–73 (1-based, header in row 1).
    let spans = [(2u32, 25u32), (26, 49), (50, 73)];
    let mut job_ids = Vec::new();
    for (start, end) in spans {
        if server.child.is_none() {
            server.start().await;
        }
        // The batch advances only when the test lets it (see kill_when_progress), so that every
        // kill point below is reached in its turn.
        emulator.hold_batches(true);
        // The worker starts on a new job at once; a hold on its look for a file it uploaded before
        // (which comes before any upload) keeps it from uploading before the kill, whatever the
        // timing: a file uploaded then would be adopted, and kill 2 would find no upload to stop.
        let early = emulator.hold_next(HoldPoint::FilesListed);
        let job = server.create_job(start, end).await;
        // 1: right after the job is stored (the upload, if it started, is held unanswered).
        server.kill();
        drop(early);
        kills.push("created".into());
        // 2: the input file is uploaded but its id not saved.
        server.kill_at(HoldPoint::FileUploaded, &mut kills).await;
        // 3: the batch is created at OpenAI but its id not saved.
        server.kill_at(HoldPoint::BatchCreated, &mut kills).await;
        // 4: the batch id is saved; the first poll is in flight.
        server.kill_at(HoldPoint::BatchRetrieved, &mut kills).await;
        // 5–7: while the batch runs.
        for done in [6, 12, 18] {
            server.kill_when_progress(&job.id, done, &mut kills).await;
        }
        // 8: the output file is being downloaded; nothing recorded yet.
        emulator.hold_batches(false);
        server.kill_at(HoldPoint::FileContent, &mut kills).await;
        // 9: the write step reads the sheet's rows (by sheetId: no title lookup any more).
        server.kill_at(HoldPoint::ValuesBatchGet, &mut kills).await;
        // 10: in the middle of the sheet write: Google applied it, the server never heard back.
        server
            .kill_at(HoldPoint::ValuesBatchUpdated, &mut kills)
            .await;
        server.start().await;
        let finished = server.wait_finished(&job.id).await;
        assert_eq!(
            finished.status,
            JobStatus::Completed,
            "{finished:#?}\n{}",
            server.log()
        );
        assert_eq!(
            finished.row_counts.done as u32,
            end - start + 1,
            "{finished:#?}"
        );
        assert_eq!(finished.row_counts.failed, 0, "{finished:#?}");
        job_ids.push(job.id);
    }
    assert!(
        kills.len() >= 30,
        "only {} kill points: {kills:?}",
        kills.len()
    );
    assert_eq!(kills.len(), 30, "{kills:?}");

    // Every row filled exactly once with its own content; nothing else touched.
    let after = emulator.sheet_rows(SPREADSHEET, 0);
    let writes = emulator.cell_writes(SPREADSHEET, 0);
    let mut expected_writes = BTreeMap::new();
    for (start, end) in spans {
        for row in (start - 1)..end {
            let r = row as usize;
            let title = &after[r][1];
            assert_eq!(after[r][2], year_for(title).to_string(), "row {}", r + 1);
            for (col, value) in after[r].iter().enumerate().take(6).skip(3) {
                assert!(
                    value.contains(title.as_str()),
                    "row {} col {col} holds another row's content: {value:?}",
                    r + 1,
                );
            }
            assert!(after[r].len() >= 6, "row {} is missing cells", r + 1);
            for col in 2..6 {
                expected_writes.insert((r, col), 1u32);
            }
        }
    }
    assert_eq!(
        writes, expected_writes,
        "each cell of C–F written exactly once"
    );
    for (i, row) in before.iter().enumerate() {
        if !spans
            .iter()
            .any(|(s, e)| (*s as usize - 1..*e as usize).contains(&i))
        {
            assert_eq!(&after[i], row, "row {} changed", i + 1);
        }
    }

    // Exactly one batch per chunk (one chunk per job here), and no request billed twice.
    let mut billed: HashMap<String, usize> = HashMap::new();
    for (job_id, (start, end)) in job_ids.iter().zip(spans) {
        let batches = batches_of(&emulator, job_id);
        assert_eq!(batches.len(), 1, "job {job_id}: {batches:#?}");
        let batch = &batches[0];
        assert_eq!(batch["status"], "completed");
        assert_eq!(
            batch["request_counts"]["total"].as_u64(),
            Some((end - start + 1) as u64)
        );
        let input = emulator
            .file_content(batch["input_file_id"].as_str().unwrap())
            .unwrap();
        for line in input.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            *billed
                .entry(v["custom_id"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    assert_eq!(billed.len(), 72);
    assert!(billed.values().all(|n| *n == 1), "{billed:?}");
    assert_eq!(emulator.calls().batches_create, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_abandons_a_stuck_step_after_the_grace_period_and_the_job_resumes_after_a_restart()
{
    let emulator = emulator_with_sheet().await;
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::new(&emulator, dir.path(), 1.0);

    // An idle server stops at once.
    server.start().await;
    let status = server.terminate().await;
    assert!(status.success(), "exit status {status}");
    assert!(
        server.log().contains("shut down cleanly") && !server.log().contains("grace period over"),
        "an idle server drains within its grace period: {}",
        server.log()
    );

    // A step stuck on a write that never answers is abandoned once the 1 s grace is over.
    server.start().await;
    let job = server.create_job(2, 9).await;
    let mut hold = emulator.hold_next(HoldPoint::ValuesBatchUpdated);
    assert!(
        tokio::time::timeout(Duration::from_secs(30), hold.reached())
            .await
            .unwrap()
    );
    let status = server.terminate().await;
    hold.release();
    assert!(status.success(), "exit status {status}: {}", server.log());
    assert!(
        server.log().contains("grace period over"),
        "{}",
        server.log()
    );

    // After a restart the job ends completed and each cell was written once (the write applied
    // before the shutdown is recognised as ours, not repeated and not taken for a person's edit).
    server.start().await;
    let finished = server.wait_finished(&job.id).await;
    assert_eq!(finished.status, JobStatus::Completed, "{finished:#?}");
    assert_eq!(finished.row_counts.done, 8, "{finished:#?}");
    let writes = emulator.cell_writes(SPREADSHEET, 0);
    assert_eq!(writes.len(), 8 * 4);
    assert!(writes.values().all(|n| *n == 1), "{writes:?}");
    let status = server.terminate().await;
    assert!(status.success());
}
