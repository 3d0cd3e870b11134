//! Load benchmark (not a test): 200 jobs of 1,000 rows each run at once against the emulator,
//! while a small load client reads job status (`GET /api/v1/jobs/{id}/status`, or the whole job
//! with its rows, `GET /api/v1/jobs/{id}`, when `ALMANAC_LOAD_READ=job`) from many connections as
//! fast as the machine allows. Prints status latency p50/p99, status throughput, the time until
//! every job completed, the server's peak memory (VmHWM of the `almanac serve` child process), and
//! the Sheets calls per job.
//!
//! ```text
//! cargo bench -p almanac-server --bench load            # 200 jobs × 1,000 rows
//! ALMANAC_LOAD_JOBS=20 cargo bench -p almanac-server --bench load
//! # several replicas on one PostgreSQL (a fresh database on ALMANAC_TEST_POSTGRES_URL):
//! eval "$(bash scripts/postgres.sh)"
//! ALMANAC_LOAD_DATABASE=postgres ALMANAC_LOAD_REPLICAS=3 cargo bench -p almanac-server --bench load
//! ```
//!
//! With `ALMANAC_LOAD_REPLICAS=N` (PostgreSQL only) N servers share the database; jobs are
//! created and status read round-robin over them (as a load balancer would). It then also prints
//! the jobs finished per minute and the database connections in use (`pg_stat_activity` of the
//! database, sampled every half second: peak and mean).
//!
//! The server is the real binary (`almanac serve --insecure-dev-no-auth`) in its own process, so its
//! memory is measured alone; the emulator and the load client live in this process.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use almanac_emulator::{CallCounts, Emulator, EmulatorConfig};
use almanac_protocol::{CreateJobRequest, Job, JobEvent, JobStatus, Mode, RowSpan};

const MODEL: &str = "gpt-4.1-nano-2025-04-14";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident set size of a process in KiB (`VmHWM` in `/proc/PID/status`), Linux only.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

/// One `/proc/PID/status` figure in KiB (`VmHWM:`, `VmRSS:`), Linux only.
fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

/// What to run, from `ALMANAC_LOAD_*`.
struct Settings {
    /// Jobs created at once.
    jobs: usize,
    /// Rows of each job's sheet.
    rows: usize,
    /// Concurrent readers of job status.
    readers: usize,
    /// What a reader reads after `/jobs/{id}`: `/status` (the progress alone) or `` (the whole job).
    suffix: &'static str,
    /// Servers sharing the database.
    replicas: usize,
    /// The admin URL of the PostgreSQL server, when the servers run on PostgreSQL.
    postgres: Option<String>,
}

impl Settings {
    fn from_env() -> anyhow::Result<Settings> {
        // `status` (default): the progress alone; `job`: the whole job with its rows.
        let read = std::env::var("ALMANAC_LOAD_READ").unwrap_or_else(|_| "status".into());
        let suffix = match read.as_str() {
            "status" => "/status",
            "job" => "",
            other => anyhow::bail!("ALMANAC_LOAD_READ must be `status` or `job`, not {other}"),
        };
        let postgres = match std::env::var("ALMANAC_LOAD_DATABASE").as_deref() {
            Err(_) | Ok("sqlite") => None,
            Ok("postgres") => Some(std::env::var("ALMANAC_TEST_POSTGRES_URL").map_err(|_| {
                anyhow::anyhow!("ALMANAC_LOAD_DATABASE=postgres needs ALMANAC_TEST_POSTGRES_URL (scripts/postgres.sh)")
            })?),
            Ok(other) => anyhow::bail!("ALMANAC_LOAD_DATABASE must be sqlite or postgres, not {other}"),
        };
        let replicas = env_usize("ALMANAC_LOAD_REPLICAS", 1).max(1);
        anyhow::ensure!(
            replicas == 1 || postgres.is_some(),
            "several replicas need ALMANAC_LOAD_DATABASE=postgres"
        );
        Ok(Settings {
            jobs: env_usize("ALMANAC_LOAD_JOBS", 200),
            rows: env_usize("ALMANAC_LOAD_ROWS", 1_000),
            readers: env_usize("ALMANAC_LOAD_READERS", 32),
            suffix,
            replicas,
            postgres,
        })
    }
}

/// What the readers measured: every successful read's latency (sorted), the failed reads, and
/// the seconds they read for.
struct Reads {
    latencies: Vec<Duration>,
    errors: u64,
    secs: f64,
}

/// Everything the benchmark prints.
struct Figures {
    created_in: Duration,
    all_done_in: Duration,
    completed: usize,
    reads: Reads,
    peak_kib: Option<u64>,
    calls: CallCounts,
    /// Database connections in use: `(peak, mean)` (PostgreSQL only).
    connections: Option<(i64, f64)>,
    /// The first server's resident memory (KiB) once healthy, before any job.
    idle_kib: Option<u64>,
    /// The first server's highest resident memory (KiB) in each status of the first job.
    memory_by_status: Vec<(JobStatus, u64)>,
}

/// The `almanac serve` child process and the folder holding its database, key and log.
struct Server {
    child: Child,
    /// `http://127.0.0.1:{port}/api/v1`.
    api: String,
    _dir: tempfile::TempDir,
}

/// Samples the connections to the database in use every half second until `done`.
fn sample_connections(
    url: Option<String>,
    done: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<i64>> {
    tokio::spawn(async move {
        let Some(url) = url else { return Vec::new() };
        let Ok(pool) = sqlx::PgPool::connect(&url).await else {
            return Vec::new();
        };
        let mut samples = Vec::new();
        while !done.load(Ordering::Relaxed) {
            let n: Result<i64, _> = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .fetch_one(&pool)
            .await;
            samples.extend(n.ok());
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        samples
    })
}

/// The first server's resident memory (`VmRSS`) sampled every 100 ms until `done`, beside the
/// status of the first job read at the same moment: the highest sample (KiB) seen in each status,
/// in the order the statuses came. Shows which step of the job path holds the memory.
fn sample_memory_by_status(
    http: &reqwest::Client,
    api: &str,
    job_id: &str,
    pid: u32,
    done: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<(JobStatus, u64)>> {
    let (http, url) = (http.clone(), format!("{api}/jobs/{job_id}/status"));
    tokio::spawn(async move {
        let mut peaks: Vec<(JobStatus, u64)> = Vec::new();
        while !done.load(Ordering::Relaxed) {
            let status = match http.get(&url).send().await {
                Ok(resp) => resp.json::<JobEvent>().await.ok().map(|e| e.status),
                Err(_) => None,
            };
            if let (Some(status), Some(kib)) = (status, status_kib(pid, "VmRSS:")) {
                match peaks.iter_mut().find(|(s, _)| *s == status) {
                    Some((_, peak)) => *peak = (*peak).max(kib),
                    None => peaks.push((status, kib)),
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        peaks
    })
}

async fn run() -> anyhow::Result<()> {
    almanac::app::install_crypto_provider();
    let settings = Settings::from_env()?;
    let emulator = Emulator::start(EmulatorConfig {
        step: Duration::from_millis(100),
        rows_per_step: 250,
    })
    .await?;
    add_sheets(&emulator, &settings);
    let database_url = match &settings.postgres {
        Some(admin) => Some(almanac_store::scratch::fresh_database(admin, "load").await?),
        None => None,
    };
    let mut servers = Vec::new();
    for _ in 0..settings.replicas {
        servers.push(start_server(&emulator, database_url.as_deref())?);
    }
    let http = reqwest::Client::new();
    for server in &servers {
        wait_until_healthy(&http, &server.api).await?;
    }
    let apis: Vec<String> = servers.iter().map(|s| s.api.clone()).collect();
    let idle_kib = status_kib(servers[0].child.id(), "VmRSS:");

    let started = Instant::now();
    let ids = Arc::new(create_jobs(&http, &apis, &settings).await?);
    let created_in = started.elapsed();
    let done = Arc::new(AtomicBool::new(false));
    let readers = spawn_readers(&http, &apis, &settings, &ids, &done);
    let sampler = sample_connections(database_url, done.clone());
    let memory = sample_memory_by_status(
        &http,
        &apis[0],
        &ids[0],
        servers[0].child.id(),
        done.clone(),
    );
    let read_start = Instant::now();
    let statuses = wait_until_finished(&http, &apis[0], &ids, started).await?;
    let all_done_in = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let reads = collect_reads(readers, read_start.elapsed().as_secs_f64()).await?;
    let samples = sampler.await?;
    let memory_by_status = memory.await?;
    let peak_kib = servers.iter().map(|s| peak_rss_kib(s.child.id())).sum();
    for server in &mut servers {
        let _ = server.child.kill();
        let _ = server.child.wait();
    }
    let completed = statuses
        .iter()
        .filter(|s| **s == JobStatus::Completed)
        .count();
    let connections = (!samples.is_empty()).then(|| {
        let peak = samples.iter().copied().max().unwrap_or(0);
        (
            peak,
            samples.iter().sum::<i64>() as f64 / samples.len() as f64,
        )
    });
    print_figures(
        &settings,
        &Figures {
            created_in,
            all_done_in,
            completed,
            reads,
            peak_kib,
            calls: emulator.calls(),
            connections,
            idle_kib,
            memory_by_status,
        },
    );
    anyhow::ensure!(completed == settings.jobs, "not every job completed");
    Ok(())
}

/// One sheet `load-{j}` (tab `Events`, sheet id 0) of `rows` titled rows for each job.
fn add_sheets(emulator: &Emulator, settings: &Settings) {
    for j in 0..settings.jobs {
        let mut sheet = vec![vec!["id".to_string(), "title".to_string()]];
        for r in 0..settings.rows {
            sheet.push(vec![
                format!("{j:03}-{r:04}"),
                format!("Event number {r} of spreadsheet {j}"),
            ]);
        }
        emulator.add_sheet(&format!("load-{j}"), 0, "Events", sheet);
    }
}

/// Starts `almanac serve --insecure-dev-no-auth` on a free port against the emulator, with its
/// key and log in a temporary folder, on `database_url` (else a SQLite file there).
fn start_server(emulator: &Emulator, database_url: Option<&str>) -> anyhow::Result<Server> {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("sa.json"),
        emulator.service_account_key_json(),
    )?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let log = std::fs::File::create(dir.path().join("server.log"))?;
    // `ALMANAC_LOAD_SERVER_WRAPPER="heaptrack -o /tmp/load"` runs the server under a profiler
    // (its memory figures are then the wrapper's).
    let wrapper = std::env::var("ALMANAC_LOAD_SERVER_WRAPPER").unwrap_or_default();
    let mut words = wrapper.split_whitespace();
    let mut command = match words.next() {
        Some(program) => {
            let mut c = Command::new(program);
            c.args(words).arg(env!("CARGO_BIN_EXE_almanac"));
            c
        }
        None => Command::new(env!("CARGO_BIN_EXE_almanac")),
    };
    let child = command
        .arg("serve")
        .arg("--insecure-dev-no-auth")
        .env_clear()
        // Several servers at once: /metrics on a free port each.
        .env("ALMANAC_METRICS_BIND", "127.0.0.1:0")
        .env("ALMANAC_BIND", format!("127.0.0.1:{port}"))
        .env(
            "DATABASE_URL",
            database_url.map_or_else(
                || format!("sqlite://{}", dir.path().join("load.db").display()),
                str::to_owned,
            ),
        )
        .env("ALMANAC_LEASE_SECS", "10")
        .env("OPENAI_API_KEY", "sk-load")
        .env("OPENAI_BASE_URL", emulator.openai_base_url())
        .env("GOOGLE_APPLICATION_CREDENTIALS", dir.path().join("sa.json"))
        .env("SHEETS_BASE_URL", emulator.sheets_base_url())
        .env("ALMANAC_POLL_INTERVAL_SECS", "0.5")
        .env("ALMANAC_JOBS_PER_MINUTE", "1000000")
        .env("RUST_LOG", "warn")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        // `MALLOC_ARENA_MAX=16 cargo bench …` compares glibc's own arena count with the binary's.
        .envs(std::env::vars().filter(|(k, _)| k.starts_with("MALLOC_")))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;
    Ok(Server {
        child,
        api: format!("http://127.0.0.1:{port}/api/v1"),
        _dir: dir,
    })
}

/// Waits (up to 30 s) until `GET {api}/health` succeeds.
async fn wait_until_healthy(http: &reqwest::Client, api: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http
        .get(format!("{api}/health"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        anyhow::ensure!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Creates every job at once (one batch job per sheet, all its rows); returns their ids in order.
async fn create_jobs(
    http: &reqwest::Client,
    apis: &[String],
    settings: &Settings,
) -> anyhow::Result<Vec<String>> {
    let rows = settings.rows;
    let mut creations = Vec::new();
    for j in 0..settings.jobs {
        let http = http.clone();
        let api = apis[j % apis.len()].clone();
        creations.push(tokio::spawn(async move {
            let resp = http
                .post(format!("{api}/jobs"))
                .json(&CreateJobRequest {
                    spreadsheet_id: format!("load-{j}"),
                    sheet_id: 0,
                    rows: vec![RowSpan {
                        start_row: 2,
                        end_row: rows as u32 + 1,
                    }],
                    model: MODEL.into(),
                    mode: Mode::Batch,
                    overwrite: false,
                })
                .send()
                .await?;
            anyhow::ensure!(resp.status() == 201, "create: {}", resp.status());
            Ok::<Job, anyhow::Error>(resp.json().await?)
        }));
    }
    let mut ids = Vec::new();
    for c in creations {
        ids.push(c.await??.id);
    }
    Ok(ids)
}

/// A reader's task: its latencies and its failed reads.
type Reader = tokio::task::JoinHandle<(Vec<Duration>, u64)>;

/// Readers: GET /jobs/{id}[/status] in a loop, round-robin over the jobs, until `done`.
fn spawn_readers(
    http: &reqwest::Client,
    apis: &[String],
    settings: &Settings,
    ids: &Arc<Vec<String>>,
    done: &Arc<AtomicBool>,
) -> Vec<Reader> {
    let (readers, suffix) = (settings.readers, settings.suffix);
    let mut tasks = Vec::new();
    for k in 0..readers {
        let api = apis[k % apis.len()].clone();
        let (http, ids, done) = (http.clone(), ids.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut i = k;
            while !done.load(Ordering::Relaxed) {
                let id = &ids[i % ids.len()];
                i += readers;
                let t = Instant::now();
                match http.get(format!("{api}/jobs/{id}{suffix}")).send().await {
                    Ok(resp) if resp.status().is_success() => {
                        let _ = resp.bytes().await;
                        latencies.push(t.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    tasks
}

/// Reads every job's status every 500 ms until none is running (at most 30 minutes after
/// `started`); returns the last statuses.
async fn wait_until_finished(
    http: &reqwest::Client,
    api: &str,
    ids: &[String],
    started: Instant,
) -> anyhow::Result<Vec<JobStatus>> {
    let mut unfinished = ids.len();
    let mut statuses = Vec::new();
    while unfinished > 0 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        statuses.clear();
        for id in ids {
            let job: JobEvent = http
                .get(format!("{api}/jobs/{id}/status"))
                .send()
                .await?
                .json()
                .await?;
            statuses.push(job.status);
        }
        unfinished = statuses.iter().filter(|s| !s.is_terminal()).count();
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(1800),
            "{unfinished} jobs still running after 30 minutes"
        );
    }
    Ok(statuses)
}

/// Joins the readers (stopped) and pools what they measured over `secs` seconds.
async fn collect_reads(readers: Vec<Reader>, secs: f64) -> anyhow::Result<Reads> {
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in readers {
        let (l, e) = t.await?;
        latencies.extend(l);
        errors += e;
    }
    latencies.sort();
    Ok(Reads {
        latencies,
        errors,
        secs,
    })
}

/// Prints the first server's memory when idle and in each status of the first job.
fn print_memory_by_status(idle_kib: Option<u64>, memory_by_status: &[(JobStatus, u64)]) {
    if memory_by_status.is_empty() {
        return;
    }
    let steps: Vec<String> = memory_by_status
        .iter()
        .map(|(status, kib)| format!("{status:?} {:.1}", *kib as f64 / 1024.0))
        .collect();
    println!(
        "first server's resident memory, idle {:.1} MiB, then by the first job's status (VmRSS sampled every 100 ms, MiB): {}",
        idle_kib.unwrap_or(0) as f64 / 1024.0,
        steps.join(", ")
    );
}

/// Prints the figures, one topic a line.
fn print_figures(settings: &Settings, figures: &Figures) {
    let Settings {
        jobs,
        rows,
        readers,
        suffix,
        replicas,
        postgres,
    } = settings;
    let Figures {
        created_in,
        all_done_in,
        completed,
        reads,
        peak_kib,
        calls,
        connections,
        idle_kib,
        memory_by_status,
    } = figures;
    let Reads {
        latencies,
        errors,
        secs: read_secs,
    } = reads;
    let sheets_calls = calls.sheets();
    let database = if postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!(
        "load: {jobs} jobs × {rows} rows, {readers} readers of GET /jobs/{{id}}{suffix}, {replicas} replica(s) on {database}"
    );
    println!(
        "jobs: {completed}/{jobs} completed; created in {:.2} s; all finished after {:.1} s",
        created_in.as_secs_f64(),
        all_done_in.as_secs_f64()
    );
    println!(
        "status reads: {} in {read_secs:.1} s = {:.0} req/s; errors {errors}; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        latencies.len() as f64 / read_secs,
        percentile(latencies, 0.50).as_secs_f64() * 1e3,
        percentile(latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    println!(
        "jobs finished per minute: {:.0}",
        *completed as f64 / (all_done_in.as_secs_f64() / 60.0)
    );
    if let Some((peak, mean)) = connections {
        println!("database connections in use: peak {peak}, mean {mean:.1}");
    }
    match peak_kib {
        Some(kib) => println!(
            "servers' peak memory (VmHWM, summed): {:.1} MiB",
            *kib as f64 / 1024.0
        ),
        None => println!("server peak memory: unavailable (no /proc)"),
    }
    print_memory_by_status(*idle_kib, memory_by_status);
    println!(
        "Sheets calls: {sheets_calls} = {:.2} per job (values.batchGetByDataFilter {}, values.batchUpdateByDataFilter {}, other {})",
        sheets_calls as f64 / *jobs as f64,
        calls.values_batch_get_by_data_filter,
        calls.values_batch_update_by_data_filter,
        sheets_calls
            - calls.values_batch_get_by_data_filter
            - calls.values_batch_update_by_data_filter
    );
    println!(
        "OpenAI calls: files {} batches.create {} batches.retrieve {} batches.list {}",
        calls.files_create, calls.batches_create, calls.batches_retrieve, calls.batches_list
    );
}
