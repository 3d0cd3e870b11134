//! Benchmark (not a test): Almanac's command line beside plain-Python peers written the way the
//! seeds' scripts do the same work (`scripts/bench/peers/*.py`: the csv module and one
//! `json.dumps` per line for `build`, tiktoken for `estimate`, a `json.loads` line loop for
//! `analyze`), on the same generated files, at 5,000, 50,000 and 200,000 rows. Prints, for each,
//! wall time, CPU time (user + system) and peak RSS of both, and Almanac ÷ Python.
//!
//! ```text
//! cargo bench -p almanac-server --bench peers
//! ALMANAC_PEERS_SIZES=5000,50000 ALMANAC_PEERS_RUNS=5 cargo bench -p almanac-server --bench peers
//! ```
//!
//! Needs `python3` with `tiktoken` (`pip install tiktoken`) and `/usr/bin/time` (Debian's `time`
//! package). tiktoken downloads its BPE file on first use, which an offline machine cannot: the
//! benchmark copies tiktoken-rs's copy of `o200k_base.tiktoken` (found with `cargo metadata`)
//! into a cache folder under tiktoken's cache name (`tiktoken_cache.py`) and points
//! `TIKTOKEN_CACHE_DIR` at it.
//!
//! The files: `rows{n}.csv` holds the English sample's titles (numbered from their second round
//! on) with fresh ids; the results to analyze are the emulator's answers to the batches Almanac
//! built from it (one output file per part). Each command runs once to warm the page cache, then
//! `ALMANAC_PEERS_RUNS` times (default 3); the run with the median wall time is reported.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use almanac_core::catalog::Catalog;
use almanac_core::prompt;
use almanac_emulator::{Emulator, EmulatorConfig, SAMPLE_EN_CSV};
use almanac_openai::BatchClient;
use anyhow::{Context as _, bail, ensure};
use secrecy::SecretString;

const ALMANAC: &str = env!("CARGO_BIN_EXE_almanac");
const PEERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/bench/peers");

/// One measured run: seconds of wall and CPU time, peak RSS in KiB.
#[derive(Clone, Copy, Debug, Default)]
struct Run {
    wall: f64,
    cpu: f64,
    rss_kib: u64,
}

/// What the benchmark runs.
struct Settings {
    sizes: Vec<usize>,
    runs: usize,
}

impl Settings {
    fn from_env() -> Settings {
        let sizes = std::env::var("ALMANAC_PEERS_SIZES")
            .ok()
            .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
            .unwrap_or_else(|| vec![5_000, 50_000, 200_000]);
        let runs = std::env::var("ALMANAC_PEERS_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3usize)
            .max(1);
        Settings { sizes, runs }
    }
}

/// Runs `program args` under `/usr/bin/time` (output thrown away), `runs` times after a warm-up;
/// returns the run with the median wall time.
fn measure(
    program: &str,
    args: &[String],
    envs: &[(&str, &Path)],
    runs: usize,
) -> anyhow::Result<Run> {
    let mut all = Vec::new();
    for i in 0..=runs {
        let times = std::env::temp_dir().join(format!("almanac-peers-{}.time", std::process::id()));
        let status = Command::new("/usr/bin/time")
            .args(["-f", "%e %U %S %M", "-o"])
            .arg(&times)
            .arg(program)
            .args(args)
            .envs(envs.iter().map(|(k, v)| (*k, v.as_os_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .with_context(|| format!("running {program}"))?;
        ensure!(
            status.status.success(),
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        let text = std::fs::read_to_string(&times)?;
        let f: Vec<f64> = text
            .lines()
            .last()
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        ensure!(f.len() == 4, "unexpected /usr/bin/time output: {text}");
        if i > 0 {
            all.push(Run {
                wall: f[0],
                cpu: f[1] + f[2],
                rss_kib: f[3] as u64,
            });
        }
    }
    all.sort_by(|a, b| a.wall.total_cmp(&b.wall));
    Ok(all[all.len() / 2])
}

/// `rows{n}.csv`: the English sample's titles, numbered from their second round on, fresh ids.
fn write_rows(dir: &Path, n: usize) -> anyhow::Result<PathBuf> {
    let titles: Vec<&str> = SAMPLE_EN_CSV
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1))
        .map(|t| t.trim_matches('"'))
        .filter(|t| !t.is_empty())
        .collect();
    let mut csv = String::from("id,title,year,content_simple,content_detailed,related_movies\n");
    for i in 0..n {
        let (title, round) = (titles[i % titles.len()], i / titles.len());
        let title = if round == 0 {
            title.to_owned()
        } else {
            format!("{title} ({})", round + 1)
        };
        csv.push_str(&format!("e{i:07},\"{}\",,,,\n", title.replace('"', "\"\"")));
    }
    let path = dir.join(format!("rows{n}.csv"));
    std::fs::write(&path, csv)?;
    Ok(path)
}

/// `prompt.json`: what both programs put in a request (Almanac's own prompt, schema, model
/// settings and prices), so the peers send the same requests.
fn write_prompt(dir: &Path) -> anyhow::Result<PathBuf> {
    let spec = Catalog::builtin().default_spec();
    // The settings as Almanac writes them (a line read back: `0.7`, not the f32's widening).
    let mut line = Vec::new();
    almanac_openai::jsonl::LineTemplate::new(spec).write_line(&mut line, "x", "");
    let line: serde_json::Value = serde_json::from_slice(&line)?;
    let mut settings = line["body"].clone();
    if let Some(map) = settings.as_object_mut() {
        for key in ["model", "messages", "response_format"] {
            map.remove(key);
        }
    }
    let prices = serde_json::json!({
        "input_per_1m": spec.input_per_1m,
        "output_per_1m": spec.output_per_1m,
        "batch_price_factor": spec.batch_price_factor,
        "typical_output_tokens": spec.typical_output_tokens + spec.typical_reasoning_tokens,
    });
    // The response format in the order Almanac writes it (a `Value` would sort its keys).
    let text = format!(
        r#"{{"model":{},"system_prompt":{},"response_format":{},"settings":{settings},"prices":{prices}}}"#,
        serde_json::to_string(&spec.id)?,
        serde_json::to_string(prompt::SYSTEM_PROMPT)?,
        serde_json::to_string(prompt::response_format_typed())?,
    );
    let path = dir.join("prompt.json");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// A tiktoken cache folder holding `o200k_base` (see the module documentation).
fn tiktoken_cache(dir: &Path) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let metadata = Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::inherit())
        .output()?;
    let doc: serde_json::Value = serde_json::from_slice(&metadata.stdout)?;
    let manifest = doc["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "tiktoken-rs")
        .and_then(|p| p["manifest_path"].as_str())
        .context("tiktoken-rs is not in the dependency graph")?;
    let bpe = Path::new(manifest).with_file_name("assets/o200k_base.tiktoken");
    let cache = dir.join("tiktoken-cache");
    let out = Command::new("python3")
        .arg(format!("{PEERS}/tiktoken_cache.py"))
        .arg(&bpe)
        .arg(&cache)
        .output()?;
    if !out.status.success() {
        bail!(
            "python3 with tiktoken is needed (pip install tiktoken): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    print!("{}", String::from_utf8_lossy(&out.stdout));
    Ok(cache)
}

/// The emulator's answers to the batches Almanac builds from `rows`: one output file per part.
async fn results(dir: &Path, rows: &Path, n: usize) -> anyhow::Result<Vec<PathBuf>> {
    let input = dir.join(format!("input{n}.jsonl"));
    let out = Command::new(ALMANAC)
        .args(["batch", "build"])
        .arg(rows)
        .arg("-o")
        .arg(&input)
        .args(["--json"])
        .output()?;
    ensure!(
        out.status.success(),
        "build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let built: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let emulator = Emulator::start(EmulatorConfig {
        step: Duration::from_millis(1),
        rows_per_step: 50_000,
    })
    .await?;
    let client = BatchClient::new(
        &SecretString::from("sk-bench".to_owned()),
        &emulator.openai_base_url(),
    );
    let mut files = Vec::new();
    for (k, part) in built["parts"].as_array().into_iter().flatten().enumerate() {
        let path = PathBuf::from(part["file"].as_str().context("a part's file")?);
        let file_id = client.upload_jsonl_file(&path).await?;
        let batch = client.create_batch(&file_id, "bench").await?;
        let info = loop {
            let info = client.retrieve_batch(&batch.id).await?;
            if info.status.is_terminal() {
                break info;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let output = info
            .output_file_id
            .context("the batch has an output file")?;
        let mut download = client.download(&output).await?;
        let mut bytes = Vec::new();
        while let Some(chunk) = download.chunk().await? {
            bytes.extend_from_slice(&chunk);
        }
        let file = dir.join(format!("results{n}.part-{}.jsonl", k + 1));
        std::fs::write(&file, bytes)?;
        files.push(file);
    }
    emulator.shutdown().await;
    Ok(files)
}

/// Bytes of the files at `paths` (the parts a build wrote).
fn bytes_of(paths: impl IntoIterator<Item = PathBuf>) -> u64 {
    paths
        .into_iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// The parts a build to `base` wrote: `base` itself, or `base.part-*`.
fn parts_of(base: &Path) -> Vec<PathBuf> {
    if base.exists() {
        return vec![base.to_owned()];
    }
    let stem = base
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    (1..)
        .map(|k| base.with_file_name(format!("{stem}.part-{k}.jsonl")))
        .take_while(|p| p.exists())
        .collect()
}

/// One line of the table.
fn row(work: &str, n: usize, a: Run, p: Run, note: &str) {
    println!(
        "{work:<9} {n:>8} | {:>7.3} s {:>7.3} s {:>7.1} MiB | {:>7.3} s {:>7.3} s {:>7.1} MiB | {:>5.2} {:>5.2} {:>5.2} | {note}",
        a.wall,
        a.cpu,
        a.rss_kib as f64 / 1024.0,
        p.wall,
        p.cpu,
        p.rss_kib as f64 / 1024.0,
        a.wall / p.wall,
        a.cpu / p.cpu,
        a.rss_kib as f64 / p.rss_kib as f64,
    );
}

/// What every measurement at one size shares.
struct Ctx<'a> {
    dir: &'a Path,
    n: usize,
    runs: usize,
    prompt: &'a Path,
    cache: &'a Path,
    rows: PathBuf,
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn py(script: &str) -> String {
    format!("{PEERS}/{script}")
}

/// `batch build` beside `build.py`.
fn build(c: &Ctx<'_>) -> anyhow::Result<()> {
    let n = c.n;
    let (a_out, p_out) = (
        c.dir.join(format!("almanac{n}.jsonl")),
        c.dir.join(format!("python{n}.jsonl")),
    );
    let args = [
        "batch".into(),
        "build".into(),
        s(&c.rows),
        "-o".into(),
        s(&a_out),
    ];
    let a = measure(ALMANAC, &args, &[], c.runs)?;
    let args = [
        py("build.py"),
        s(&c.rows),
        s(&p_out),
        "--prompt".into(),
        s(c.prompt),
    ];
    let p = measure("python3", &args, &[], c.runs)?;
    let (ab, pb) = (bytes_of(parts_of(&a_out)), bytes_of(parts_of(&p_out)));
    let parts = parts_of(&a_out).len();
    row(
        "build",
        n,
        a,
        p,
        &format!(
            "{parts} parts, {:.1} MB; the same size as Python's: {}",
            ab as f64 / 1e6,
            ab == pb
        ),
    );
    for f in parts_of(&a_out).into_iter().chain(parts_of(&p_out)) {
        let _ = std::fs::remove_file(f);
    }
    Ok(())
}

/// `run --estimate-cost` beside `estimate.py`.
fn estimate(c: &Ctx<'_>) -> anyhow::Result<()> {
    let store = format!("sqlite://{}", c.dir.join("cli.db").display());
    let out = s(&c.dir.join("out.csv"));
    let args = [
        "run".into(),
        s(&c.rows),
        out,
        "--estimate-cost".into(),
        "--store".into(),
        store,
    ];
    let a = measure(ALMANAC, &args, &[], c.runs)?;
    let args = [
        py("estimate.py"),
        s(&c.rows),
        "--prompt".into(),
        s(c.prompt),
    ];
    let p = measure("python3", &args, &[("TIKTOKEN_CACHE_DIR", c.cache)], c.runs)?;
    row("estimate", c.n, a, p, "");
    Ok(())
}

/// `batch results analyze` beside `analyze.py`, on the emulator's answers.
async fn analyze(c: &Ctx<'_>) -> anyhow::Result<()> {
    let files = results(c.dir, &c.rows, c.n).await?;
    let mb = bytes_of(files.clone()) as f64 / 1e6;
    let mut args: Vec<String> = vec!["batch".into(), "results".into(), "analyze".into()];
    args.extend(files.iter().map(|f| s(f)));
    let a = measure(ALMANAC, &args, &[], c.runs)?;
    let mut args = vec![py("analyze.py")];
    args.extend(files.iter().map(|f| s(f)));
    let p = measure("python3", &args, &[], c.runs)?;
    row(
        "analyze",
        c.n,
        a,
        p,
        &format!("{mb:.1} MB of results in {} files", files.len()),
    );
    for f in files {
        let _ = std::fs::remove_file(f);
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    almanac::app::install_crypto_provider();
    let settings = Settings::from_env();
    ensure!(
        Path::new("/usr/bin/time").exists(),
        "/usr/bin/time is needed (apt-get install time)"
    );
    let dir = tempfile::Builder::new()
        .prefix("almanac-peers-")
        .tempdir_in(std::env::temp_dir())?;
    let cache = tiktoken_cache(dir.path())?;
    let prompt = write_prompt(dir.path())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!(
        "Almanac ({}) beside plain Python ({}); median of {} runs; ratio = Almanac ÷ Python",
        ALMANAC, PEERS, settings.runs
    );
    println!(
        "{:<9} {:>8} | {:>9} {:>9} {:>11} | {:>9} {:>9} {:>11} | {:>5} {:>5} {:>5} |",
        "work",
        "rows",
        "wall",
        "cpu",
        "peak RSS",
        "py wall",
        "py cpu",
        "py RSS",
        "wall",
        "cpu",
        "rss"
    );
    for &n in &settings.sizes {
        let c = Ctx {
            dir: dir.path(),
            n,
            runs: settings.runs,
            prompt: &prompt,
            cache: &cache,
            rows: write_rows(dir.path(), n)?,
        };
        build(&c)?;
        estimate(&c)?;
        runtime.block_on(analyze(&c))?;
    }
    Ok(())
}
