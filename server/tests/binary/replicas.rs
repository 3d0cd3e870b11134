//! Several replicas of the real `almanac serve` on one PostgreSQL, killed at random moments.
//!
//! Three replicas (child processes of the `almanac` binary) share a fresh database on the test
//! PostgreSQL server (`ALMANAC_TEST_POSTGRES_URL`, see `scripts/postgres.sh`; without it the test
//! says so and passes, except under CI where it fails). Thirty batch jobs are created through
//! all three — ten at first, then one after each kill, so that work is always running; meanwhile
//! a replica picked at random is SIGKILLed at a random moment and started again, 24 times. Each incarnation of a replica calls the emulator with an
//! API key of its own, so the emulator can tell whether two replicas ever had calls for one job
//! in flight at once (`Emulator::job_call_overlaps`). At the end: every job completed, every cell
//! of C–F of every selected row written exactly once, exactly one batch per job (one part each),
//! every `custom_id` in exactly one batch's input file, and no overlapping calls for any job.

use std::collections::{BTreeMap, HashMap};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use almanac_emulator::{Emulator, EmulatorConfig};
use almanac_protocol::{CreateJobRequest, Job, JobEvent, JobStatus, Mode, RowSpan};
use serde_json::Value;

const SPREADSHEET: &str = "replicas-spreadsheet";
const MODEL: &str = "gpt-4.1-nano-2025-04-14";
const REPLICAS: usize = 3;
const JOBS: u32 = 30;
const ROWS_PER_JOB: u32 = 8;
const KILLS: usize = 24;

/// One replica: its process (when running) and what it needs to start again.
struct Replica {
    index: usize,
    child: Option<Child>,
    api: String,
    dir: PathBuf,
    database_url: String,
    emulator: Emulator,
    starts: usize,
}

impl Replica {
    /// Starts the process and waits until `/api/v1/health` answers.
    async fn start(&mut self, http: &reqwest::Client) {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        self.starts += 1;
        let log = std::fs::File::create(self.log_path()).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_almanac"))
            .arg("serve")
            .arg("--insecure-dev-no-auth")
            .env_clear()
            // Several servers at once: /metrics on a free port each.
            .env("ALMANAC_METRICS_BIND", "127.0.0.1:0")
            .env("ALMANAC_BIND", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", &self.database_url)
            // A key per incarnation: the emulator tells replicas apart by it.
            .env(
                "OPENAI_API_KEY",
                format!("sk-replica-{}-{}", self.index, self.starts),
            )
            .env("OPENAI_BASE_URL", self.emulator.openai_base_url())
            .env(
                "GOOGLE_APPLICATION_CREDENTIALS",
                self.dir.join("service-account.json"),
            )
            .env("SHEETS_BASE_URL", self.emulator.sheets_base_url())
            .env("ALMANAC_POLL_INTERVAL_SECS", "0.1")
            .env("ALMANAC_LEASE_SECS", "1.5")
            .env("ALMANAC_JOBS_PER_MINUTE", "100000")
            .env("ALMANAC_SIDEBAR_DIR", self.dir.join("no-sidebar"))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("the almanac binary starts");
        self.child = Some(child);
        self.api = format!("http://127.0.0.1:{port}/api/v1");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(resp) = http.get(format!("{}/health", self.api)).send().await
                && resp.status().is_success()
            {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "replica {} exited at start with {status}: {}",
                    self.index,
                    std::fs::read_to_string(self.log_path()).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "replica {} never answered",
                self.index
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir
            .join(format!("replica-{}-{}.log", self.index, self.starts))
    }

    /// SIGKILL, and wait for the process to be gone.
    fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A small xorshift generator (the moments and victims of the kills), seeded from the clock and
/// printed so that a failing run can be told apart.
struct Random(u64);

impl Random {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below.max(1)
    }
}

async fn create_job(http: &reqwest::Client, api: &str, start: u32, end: u32) -> Job {
    let resp = http
        .post(format!("{api}/jobs"))
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
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    resp.json().await.unwrap()
}

/// The statuses of the jobs, read through any replica that answers.
async fn statuses(http: &reqwest::Client, replicas: &[Replica], ids: &[String]) -> Vec<JobStatus> {
    let mut out = Vec::new();
    for id in ids {
        for r in replicas.iter().filter(|r| r.child.is_some()) {
            let Ok(resp) = http.get(format!("{}/jobs/{id}/status", r.api)).send().await else {
                continue;
            };
            if let Ok(event) = resp.json::<JobEvent>().await {
                out.push(event.status);
                break;
            }
        }
    }
    out
}

fn spans() -> Vec<(u32, u32)> {
    (0..JOBS)
        .map(|j| (2 + j * ROWS_PER_JOB, 1 + (j + 1) * ROWS_PER_JOB))
        .collect()
}

async fn world(dir: &Path, database_url: &str) -> (Emulator, Vec<Replica>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let emulator = Emulator::start(EmulatorConfig {
        step: Duration::from_millis(150),
        rows_per_step: 1,
    })
    .await
    .unwrap();
    emulator
        .add_sheet_from_csv(SPREADSHEET, 0, "Events", almanac_emulator::SAMPLE_EN_CSV)
        .unwrap();
    std::fs::write(
        dir.join("service-account.json"),
        emulator.service_account_key_json(),
    )
    .unwrap();
    let replicas = (0..REPLICAS)
        .map(|index| Replica {
            index,
            child: None,
            api: String::new(),
            dir: dir.to_owned(),
            database_url: database_url.to_owned(),
            emulator: emulator.clone(),
            starts: 0,
        })
        .collect();
    (emulator, replicas)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_killed_at_random_lose_nothing_and_do_nothing_twice() {
    let test = "three_replicas_killed_at_random_lose_nothing_and_do_nothing_twice";
    let Some(admin) = almanac_store::scratch::test_server(test) else {
        return;
    };
    let database_url = almanac_store::scratch::fresh_database(&admin, "replicas")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (emulator, mut replicas) = world(dir.path(), &database_url).await;
    let before = emulator.sheet_rows(SPREADSHEET, 0);
    let http = reqwest::Client::new();
    for r in &mut replicas {
        r.start(&http).await;
    }
    let mut ids = Vec::new();
    let mut to_create = spans().into_iter().enumerate();
    for (j, (start, end)) in to_create.by_ref().take(10) {
        let api = replicas[j % REPLICAS].api.clone();
        ids.push(create_job(&http, &api, start, end).await.id);
    }

    // Kill a random replica at a random moment, start it again, at least KILLS times.
    let seed = Instant::now().elapsed().as_nanos() as u64
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
        | 1;
    println!("kill schedule seed {seed}");
    let mut random = Random(seed);
    let mut kills = Vec::new();
    while kills.len() < KILLS {
        tokio::time::sleep(Duration::from_millis(100 + random.next(300))).await;
        let victim = random.next(REPLICAS as u64) as usize;
        replicas[victim].kill();
        let running = statuses(&http, &replicas, &ids)
            .await
            .iter()
            .filter(|s| !s.is_terminal())
            .count();
        kills.push((victim, running));
        replicas[victim].start(&http).await;
        if let Some((j, (start, end))) = to_create.next() {
            let api = replicas[j % REPLICAS].api.clone();
            ids.push(create_job(&http, &api, start, end).await.id);
        }
    }
    assert_eq!(ids.len(), JOBS as usize);
    println!("kills (replica, jobs unfinished at the kill): {kills:?}");

    let deadline = Instant::now() + Duration::from_secs(180);
    let finished = loop {
        let s = statuses(&http, &replicas, &ids).await;
        if s.len() == ids.len() && s.iter().all(|s| s.is_terminal()) {
            break s;
        }
        assert!(Instant::now() < deadline, "jobs still running: {s:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        finished.iter().all(|s| *s == JobStatus::Completed),
        "{finished:?}"
    );
    assert!(kills.len() >= 20, "{kills:?}");
    assert!(
        kills.iter().filter(|(_, running)| *running > 0).count() >= 20,
        "at least 20 kills must hit running jobs: {kills:?}"
    );
    check_sheet(&emulator, &before);
    check_batches(&emulator, &ids);
    let (overlaps, calls) = emulator.job_call_overlaps();
    println!(
        "{} kills, {} jobs, {calls} OpenAI calls attributed to jobs, {} overlapping",
        kills.len(),
        ids.len(),
        overlaps.len()
    );
    assert!(calls >= ids.len() * 3, "{calls} calls attributed to jobs");
    assert!(
        overlaps.is_empty(),
        "steps of one job ran on two replicas at once: {overlaps:#?}"
    );
}

/// Every C–F cell of every selected row written exactly once, with its own row's content; the
/// other rows untouched.
fn check_sheet(emulator: &Emulator, before: &[Vec<String>]) {
    let after = emulator.sheet_rows(SPREADSHEET, 0);
    let writes = emulator.cell_writes(SPREADSHEET, 0);
    let mut expected = BTreeMap::new();
    for (start, end) in spans() {
        for row in (start - 1)..end {
            let r = row as usize;
            let title = &after[r][1];
            assert!(after[r].len() >= 6, "row {} is missing cells", r + 1);
            assert!(after[r][3].contains(title.as_str()), "row {}", r + 1);
            for col in 2..6 {
                expected.insert((r, col), 1u32);
            }
        }
    }
    assert_eq!(writes, expected, "each cell of C–F written exactly once");
    let last = (JOBS * ROWS_PER_JOB + 1) as usize;
    for (i, row) in before.iter().enumerate() {
        if i == 0 || i >= last {
            assert_eq!(&after[i], row, "row {} changed", i + 1);
        }
    }
}

/// Exactly one batch per job (one part each), completed, and every `custom_id` in exactly one
/// batch input file.
fn check_batches(emulator: &Emulator, ids: &[String]) {
    let mut billed: HashMap<String, usize> = HashMap::new();
    for id in ids {
        let batches: Vec<Value> = emulator
            .batches()
            .into_iter()
            .filter(|b| b["metadata"]["job_id"] == id.as_str())
            .collect();
        assert_eq!(batches.len(), 1, "job {id}: {batches:#?}");
        assert_eq!(batches[0]["status"], "completed");
        let input = emulator
            .file_content(batches[0]["input_file_id"].as_str().unwrap())
            .unwrap();
        for line in input.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            *billed
                .entry(v["custom_id"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    assert_eq!(billed.len(), (JOBS * ROWS_PER_JOB) as usize);
    assert!(billed.values().all(|n| *n == 1), "{billed:?}");
    assert_eq!(emulator.calls().batches_create, ids.len());
}
