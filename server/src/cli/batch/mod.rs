//! `almanac batch …`: the seed's scripts one step at a time, for pipelines — `build` (JSONL for a
//! model, `batch_file_generator.py`/`create_batch_input.py`), `submit` (`batch_runner.py`/
//! `batch_processor.py`), `status` (`batch_status_checker.py`: waits with `--wait` and downloads the
//! result files), `results analyze` and `results merge` (`process_batch_results.py`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::build::{BuildArgs, build};
use super::common::{
    CliError, EXIT_FAILURES, EXIT_OK, EXIT_RUNNING, EndpointArgs, OutputArgs, Report,
    check_interval, completion_window, log_line, progress_bar,
};
use super::run::{drive, job_report};
use almanac_core::catalog::{Catalog, ModelSpec};
use almanac_core::domain::{Generated, RowId};
use almanac_files::{AtomicFile, EventsFile};
use almanac_openai::{BatchClient, BatchInfo, BatchState as BatchStatus};
use almanac_openai::{jsonl, output};

/// `almanac batch …`.
#[derive(Debug, clap::Subcommand)]
pub enum BatchCommand {
    /// Write the JSONL input of a batch (one request per row that needs one) for a model.
    #[command(after_help = BUILD_EXAMPLES)]
    Build(BuildArgs),
    /// Upload a JSONL file and create a batch; prints its batch id.
    #[command(after_help = SUBMIT_EXAMPLES)]
    Submit(SubmitArgs),
    /// Show a batch (by `batch_…` id) or a `run` job (by job id); `--wait` until it ends; download
    /// the result files of a finished batch.
    #[command(after_help = STATUS_EXAMPLES)]
    Status(StatusArgs),
    /// Work on downloaded result files.
    #[command(subcommand)]
    Results(ResultsCommand),
}

/// `almanac batch results …`.
#[derive(Debug, clap::Subcommand)]
pub enum ResultsCommand {
    /// Count a result file's lines: succeeded, failed by reason, token usage and cost.
    #[command(after_help = ANALYZE_EXAMPLES)]
    Analyze(AnalyzeArgs),
    /// Merge result files into an events file (CSV or JSON), like `run` does at the end.
    #[command(after_help = MERGE_EXAMPLES)]
    Merge(MergeArgs),
}

const BUILD_EXAMPLES: &str = "\
Examples:
  almanac batch build historical_events.json --model o4-mini-2025-04-16 -o batchinput.jsonl
  almanac batch build events.csv --end-row 10 --json";
const SUBMIT_EXAMPLES: &str = "\
Examples:
  almanac batch submit batchinput.jsonl
  BATCH=$(almanac batch submit batchinput.jsonl --json | jq -r .batch_id)";
const STATUS_EXAMPLES: &str = "\
Examples:
  almanac batch status batch_abc123                       # exit 3 while it runs
  almanac batch status batch_abc123 --wait --output-dir out
  almanac batch status 0193f1c2-…                         # a job of `almanac run`
Result files are saved as <output-dir>/<batch_id>.output.jsonl and <batch_id>.errors.jsonl.";
const ANALYZE_EXAMPLES: &str = "\
Examples:
  almanac batch results analyze out/batch_abc123.output.jsonl
  almanac batch results analyze out/*.jsonl --model gpt-4.1-mini-2025-04-14 --json
Exit 0 when every request succeeded, 4 when some failed.";
const MERGE_EXAMPLES: &str = "\
Examples:
  almanac batch results merge out/batch_abc123.output.jsonl --into events.csv -o final.csv";

/// Flags of `batch submit`.
#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// The JSONL input (from `batch build`).
    pub file: PathBuf,
    /// Submit even if a batch of this very file (same bytes) was already submitted and has not
    /// failed, expired or been cancelled — that would run, and bill, every request again.
    #[arg(long)]
    pub force: bool,
    /// The batch's completion window (OpenAI accepts only `24h`).
    #[arg(long, default_value = "24h")]
    pub completion_window: String,
    #[command(flatten)]
    /// Endpoints, keys and the job store (the same settings as `almanac serve`).
    pub endpoints: EndpointArgs,
    #[command(flatten)]
    /// `--json` and the progress bar.
    pub output_args: OutputArgs,
}

/// Flags of `batch status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// A batch id (`batch_…`) or the job id printed by `almanac run`.
    pub id: String,
    /// Wait until it ends (a job is driven to its end: this resumes an interrupted `run`).
    #[arg(long)]
    pub wait: bool,
    /// Seconds between two checks with `--wait`.
    #[arg(long, default_value_t = 60.0)]
    pub check_interval: f64,
    /// With `--wait` on a job: stop (exit 1) after this many failed tries in a row of one step.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    pub give_up_after: u32,
    /// Where to save a finished batch's result files.
    #[arg(long, default_value = ".")]
    pub output_dir: PathBuf,
    #[command(flatten)]
    /// Endpoints, keys and the job store (the same settings as `almanac serve`).
    pub endpoints: EndpointArgs,
    #[command(flatten)]
    /// `--json` and the progress bar.
    pub output_args: OutputArgs,
}

/// Flags of `batch results analyze`.
#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Output and/or error files of batches (JSONL).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Price the tokens as this model (default: the model named in the results).
    #[arg(long)]
    pub model: Option<String>,
    #[command(flatten)]
    /// `--json` and the progress bar.
    pub output_args: OutputArgs,
}

/// Flags of `batch results merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Output files of batches (JSONL).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The events file the requests were built from (`.csv` or `.json`).
    #[arg(long)]
    pub into: PathBuf,
    /// Where to write the merged file (default: over `--into`).
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Replace values already filled.
    #[arg(long)]
    pub overwrite: bool,
    #[command(flatten)]
    /// `--json` and the progress bar.
    pub output_args: OutputArgs,
}

impl BatchCommand {
    /// The `--json` flag of the chosen subcommand.
    pub fn output_args(&self) -> &OutputArgs {
        match self {
            BatchCommand::Build(a) => &a.output_args,
            BatchCommand::Submit(a) => &a.output_args,
            BatchCommand::Status(a) => &a.output_args,
            BatchCommand::Results(ResultsCommand::Analyze(a)) => &a.output_args,
            BatchCommand::Results(ResultsCommand::Merge(a)) => &a.output_args,
        }
    }

    /// Runs the subcommand.
    ///
    /// # Errors
    /// See the exit codes.
    pub async fn run(self) -> Result<Report, CliError> {
        match self {
            BatchCommand::Build(a) => build(a),
            BatchCommand::Submit(a) => submit(a).await,
            BatchCommand::Status(a) => status(a).await,
            BatchCommand::Results(ResultsCommand::Analyze(a)) => analyze(a),
            BatchCommand::Results(ResultsCommand::Merge(a)) => merge(a),
        }
    }
}

/// Reads a JSONL input in blocks, checking that every line is a request object with a unique
/// `custom_id` (at most [`jsonl::MAX_REQUESTS_PER_BATCH`] of them, the ids of one batch held),
/// and hashing its bytes; returns the requests and the SHA-256 of the file.
fn check_jsonl(path: &Path) -> Result<(usize, String), CliError> {
    let mut hash = Sha256::new();
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut each = |line: Line<'_>| {
        let (n, text) = line.map_err(|e| {
            CliError::bad_input(format!(
                "{}:{}: {}",
                path.display(),
                e.line.unwrap_or(0),
                e.message
            ))
        })?;
        let bad = |m: String| CliError::bad_input(format!("{}:{n}: {m}", path.display()));
        let id = jsonl::check_line(text).map_err(bad)?;
        if let Some(first) = seen.get(id.as_ref()) {
            return Err(bad(format!(
                "custom_id `{id}` is used again (first on line {first})"
            )));
        }
        if seen.len() == jsonl::MAX_REQUESTS_PER_BATCH {
            return Err(bad(format!(
                "more than {} requests: one batch takes at most that many; build parts with `almanac batch build`",
                jsonl::MAX_REQUESTS_PER_BATCH
            )));
        }
        seen.insert(id.into_owned(), n);
        Ok(())
    };
    read_lines(path, &mut |block| hash.update(block), &mut each)?;
    if seen.is_empty() {
        return Err(CliError::bad_input(format!(
            "{}: no requests",
            path.display()
        )));
    }
    Ok((seen.len(), format!("{:x}", hash.finalize())))
}

async fn submit(args: SubmitArgs) -> Result<Report, CliError> {
    completion_window(&args.completion_window)?;
    let (requests, sha256) = check_jsonl(&args.file)?;
    let openai = args.endpoints.openai()?;
    // The batch is labelled with its input's hash (`metadata.job_id`), so submitting the same
    // file again — a pipeline re-run after a lost answer — finds the first batch instead of
    // paying twice.
    let label = format!("cli-sha256-{sha256}");
    if !args.force
        && let Some(info) = openai.find_batch_labelled(&label).await?
        && !matches!(
            info.status,
            BatchStatus::Failed | BatchStatus::Expired | BatchStatus::Cancelled
        )
    {
        return Ok(Report {
            exit: EXIT_OK,
            json: json!({
                "batch_id": info.id,
                "input_file_id": info.input_file_id,
                "status": info.status.as_str(),
                "requests": requests,
                "already_submitted": true,
            }),
            text: format!(
                "{} was already submitted as batch {} (status {}): not sent again (--force sends it again, billing every request twice).\nCheck it with: almanac batch status {} --wait",
                args.file.display(),
                info.id,
                info.status.as_str(),
                info.id
            ),
        });
    }
    let file_id = openai.upload_jsonl_file(&args.file).await?;
    let info = openai.create_batch(&file_id, &label).await?;
    Ok(Report {
        exit: EXIT_OK,
        json: json!({
            "batch_id": info.id,
            "input_file_id": file_id,
            "status": info.status.as_str(),
            "requests": requests,
            "already_submitted": false,
        }),
        text: format!(
            "Batch {} created from {} ({requests} requests, input_file_id {file_id}); status {}.\nCheck it with: almanac batch status {} --wait",
            info.id,
            args.file.display(),
            info.status.as_str(),
            info.id
        ),
    })
}

async fn status(args: StatusArgs) -> Result<Report, CliError> {
    let poll = check_interval(args.check_interval)?;
    if !args.id.starts_with("batch_") {
        return job_status(args, poll).await;
    }
    let openai = args.endpoints.openai()?;
    let mut info = openai.retrieve_batch(&args.id).await?;
    if args.wait && !info.status.is_terminal() {
        info = wait_for_batch(&openai, &args.id, info, &args.output_args, poll).await?;
    }
    let saved = if info.status.is_terminal() {
        save_result_files(&openai, &info, &args.output_dir).await?
    } else {
        Vec::new()
    };
    let exit = batch_exit(&info);
    Ok(Report {
        exit,
        text: batch_status_text(&info, &saved, exit),
        json: json!({
            "batch_id": info.id,
            "status": info.status.as_str(),
            "request_counts": info.request_counts,
            "input_file_id": info.input_file_id,
            "output_file_id": info.output_file_id,
            "error_file_id": info.error_file_id,
            "errors": info.errors,
            "saved_files": saved,
        }),
    })
}

/// Checks batch `id` every `poll` until it ends, showing its progress and logging each new status;
/// returns its last state.
async fn wait_for_batch(
    openai: &BatchClient,
    id: &str,
    mut info: BatchInfo,
    out: &OutputArgs,
    poll: Duration,
) -> Result<BatchInfo, CliError> {
    let bar = progress_bar(out, info.request_counts.total);
    let mut last = None;
    while !info.status.is_terminal() {
        if last != Some(info.status) {
            log_line(&bar, &format!("{}: {}", info.id, info.status.as_str()));
            last = Some(info.status);
        }
        bar.set_length(info.request_counts.total.max(1));
        bar.set_position(info.request_counts.completed + info.request_counts.failed);
        bar.set_message(info.status.as_str());
        tokio::time::sleep(poll).await;
        info = openai.retrieve_batch(id).await?;
    }
    bar.finish_and_clear();
    Ok(info)
}

/// Downloads an ended batch's output and error files into `dir` (created if needed) as
/// `<batch_id>.output.jsonl` and `<batch_id>.errors.jsonl`; returns the paths written.
async fn save_result_files(
    openai: &BatchClient,
    info: &BatchInfo,
    dir: &Path,
) -> Result<Vec<PathBuf>, CliError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::error("error", format!("cannot create {}: {e}", dir.display())))?;
    let mut saved = Vec::new();
    for (file_id, suffix) in [
        (&info.output_file_id, "output"),
        (&info.error_file_id, "errors"),
    ] {
        if let Some(file_id) = file_id {
            let path = dir.join(format!("{}.{suffix}.jsonl", info.id));
            save_download(openai, file_id, &path).await?;
            saved.push(path);
        }
    }
    Ok(saved)
}

/// Downloads a file into `path` as it arrives (atomically: the old file stays until the whole
/// download is on disk).
async fn save_download(openai: &BatchClient, file_id: &str, path: &Path) -> Result<(), CliError> {
    use std::io::Write as _;
    let mut download = openai.download(file_id).await?;
    let mut file = AtomicFile::create(path)?;
    while let Some(chunk) = download.chunk().await? {
        file.write_all(&chunk).map_err(|e| file.error(&e))?;
    }
    Ok(file.commit()?)
}

/// The text of `batch status` for a batch: its counts, errors, the files saved, and how to check
/// again while it runs.
fn batch_status_text(info: &BatchInfo, saved: &[PathBuf], exit: u8) -> String {
    let c = info.request_counts;
    let mut text = format!(
        "{}: {} — {}/{} requests completed, {} failed",
        info.id,
        info.status.as_str(),
        c.completed,
        c.total,
        c.failed
    );
    if !info.errors.is_empty() {
        let errors: Vec<String> = info.errors.iter().map(ToString::to_string).collect();
        text.push_str(&format!("\nErrors: {}", errors.join("; ")));
    }
    for p in saved {
        text.push_str(&format!("\nSaved {}", p.display()));
    }
    if exit == EXIT_RUNNING {
        text.push_str(&format!(
            "\nStill running: check again, or wait with `almanac batch status {} --wait`",
            info.id
        ));
    }
    text
}

fn batch_exit(info: &BatchInfo) -> u8 {
    match info.status {
        BatchStatus::Completed if info.request_counts.failed == 0 => EXIT_OK,
        s if s.is_terminal() => EXIT_FAILURES,
        _ => EXIT_RUNNING,
    }
}

async fn job_status(args: StatusArgs, poll: Duration) -> Result<Report, CliError> {
    let out = &args.output_args;
    if args.wait {
        let svc = args.endpoints.services(poll).await?;
        let Some(job) = svc.store.job(&args.id).await? else {
            return Err(not_found(&args.id));
        };
        let bar = progress_bar(out, 0);
        let job = if job.status.is_terminal() {
            job
        } else {
            drive(&svc, &job.id, &bar, args.give_up_after).await?
        };
        bar.finish_and_clear();
        return job_report(&svc, &job, true).await;
    }
    // Without --wait only the store is read: no credentials needed.
    let (store, _) = args.endpoints.open_store().await?;
    let Some(job) = store.job(&args.id).await? else {
        return Err(not_found(&args.id));
    };
    let view = crate::jobs::job_view(&store, &job).await?;
    let status = job.status;
    let exit = if !status.is_terminal() {
        EXIT_RUNNING
    } else if status == almanac_protocol::JobStatus::Completed && view.row_counts.failed == 0 {
        EXIT_OK
    } else {
        EXIT_FAILURES
    };
    let c = &view.row_counts;
    Ok(Report {
        exit,
        text: format!(
            "Job {}: {} — {} rows: {} written, {} pending, {} generated, {} skipped, {} failed (batch {}){}",
            job.id,
            status.describe(),
            c.total,
            c.done,
            c.pending,
            c.generated,
            c.skipped,
            c.failed,
            view.batch_ids.join(", "),
            if exit == EXIT_RUNNING {
                format!(
                    "\nStill running: `almanac batch status {} --wait` resumes and waits for it",
                    job.id
                )
            } else {
                String::new()
            }
        ),
        json: json!({"job": view}),
    })
}

fn not_found(id: &str) -> CliError {
    CliError::bad_input(format!(
        "no job `{id}` in the store, and it is not a batch id (`batch_…`): pass the job id printed by `almanac run`, with the same --store"
    ))
}

/// One line of a JSONL file as [`output::LineSplitter`] hands it over.
type Line<'a> = Result<(usize, &'a str), output::LineError>;

/// Reads a JSONL file in 1 MiB blocks (each block seen by `block`, e.g. to hash it) and hands
/// every non-blank line to `each`, holding one line at a time.
fn read_lines(
    path: &Path,
    block: &mut dyn FnMut(&[u8]),
    each: &mut dyn FnMut(Line<'_>) -> Result<(), CliError>,
) -> Result<(), CliError> {
    use std::io::Read as _;
    let unreadable =
        |e: std::io::Error| CliError::bad_input(format!("{}: cannot read: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let mut buffer = vec![0; 1 << 20];
    let mut lines = output::LineSplitter::new();
    let mut each = |line: Line<'_>| each(line);
    loop {
        let n = file.read(&mut buffer).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        block(&buffer[..n]);
        lines.push(&buffer[..n], &mut each)?;
    }
    lines.finish(&mut each)
}

/// Totals of a results file.
#[derive(Default)]
struct Tally {
    lines: u64,
    succeeded: u64,
    failed: u64,
    unreadable: Vec<String>,
    /// Per error code: how many, the first message, and up to five `custom_id`s.
    by_code: BTreeMap<String, (u64, String, Vec<String>)>,
    usage: output::Usage,
    models: BTreeMap<String, u64>,
}

/// What a batch's tokens cost at its model's batch prices: the model id, input and output USD.
type Cost = (String, f64, f64);

impl Tally {
    /// Counts every non-blank line of one result file, read in blocks (one line held at a time).
    fn add_file(&mut self, path: &Path) -> Result<(), CliError> {
        read_lines(path, &mut |_| {}, &mut |line| {
            self.add_line(path, line);
            Ok(())
        })
    }

    /// Counts one line of `path`: its model, its usage, and whether it succeeded.
    fn add_line(&mut self, path: &Path, line: Line<'_>) {
        self.lines += 1;
        let parsed = line.and_then(|(number, text)| {
            output::parse_line_and_model(text).map_err(|mut e| {
                e.line = Some(number);
                e
            })
        });
        match parsed {
            Err(e) => self.unreadable.push(format!(
                "{}:{}: {}",
                path.display(),
                e.line.unwrap_or_default(),
                e.message
            )),
            Ok((parsed, model)) => {
                if let Some(model) = model {
                    match self.models.get_mut(&model) {
                        Some(n) => *n += 1,
                        None => {
                            self.models.insert(model, 1);
                        }
                    }
                }
                if let Some(u) = parsed.usage {
                    self.usage.prompt_tokens += u.prompt_tokens;
                    self.usage.completion_tokens += u.completion_tokens;
                    self.usage.cached_tokens += u.cached_tokens;
                    self.usage.reasoning_tokens += u.reasoning_tokens;
                }
                match parsed.outcome {
                    Ok(_) => self.succeeded += 1,
                    Err(e) => self.add_failure(&e.code.to_string(), &e.message, parsed.custom_id),
                }
            }
        }
    }

    /// Counts a failed request under its error code, keeping the first message and five ids.
    fn add_failure(&mut self, code: &str, message: &str, custom_id: String) {
        self.failed += 1;
        let entry =
            self.by_code
                .entry(code.to_owned())
                .or_insert((0, message.to_owned(), Vec::new()));
        entry.0 += 1;
        if entry.2.len() < 5 {
            entry.2.push(custom_id);
        }
    }

    /// The model to price with: `--model`, else the one named by most lines.
    fn model_name(&self, chosen: Option<&String>) -> Option<String> {
        chosen.cloned().or_else(|| {
            self.models
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(m, _)| m.clone())
        })
    }

    /// The cost of the counted tokens at `spec`'s batch prices (cached input at its own price).
    fn cost(&self, spec: &ModelSpec) -> Cost {
        let per = |usd: f64| usd / 1_000_000.0 * spec.batch_price_factor;
        let uncached = self
            .usage
            .prompt_tokens
            .saturating_sub(self.usage.cached_tokens);
        let input = uncached as f64 * per(spec.input_per_1m)
            + self.usage.cached_tokens as f64 * per(spec.cached_input_per_1m);
        let output = self.usage.completion_tokens as f64 * per(spec.output_per_1m);
        (spec.id.clone(), input, output)
    }

    /// The text of `batch results analyze`.
    fn text(&self, cost: Option<&Cost>) -> String {
        let mut text = format!(
            "{} lines: {} succeeded, {} failed, {} unreadable",
            self.lines,
            self.succeeded,
            self.failed,
            self.unreadable.len()
        );
        for (code, (n, message, ids)) in &self.by_code {
            text.push_str(&format!(
                "\n  {code}: {n} — {message} (e.g. {})",
                ids.join(", ")
            ));
        }
        for u in self.unreadable.iter().take(5) {
            text.push_str(&format!("\n  unreadable {u}"));
        }
        text.push_str(&format!(
            "\nTokens: {} input ({} cached), {} output ({} reasoning)",
            self.usage.prompt_tokens,
            self.usage.cached_tokens,
            self.usage.completion_tokens,
            self.usage.reasoning_tokens
        ));
        match cost {
            Some((model, i, o)) => text.push_str(&format!(
                "\nCost at {model} batch prices: ${:.4} (input ${i:.4}, output ${o:.4})",
                i + o
            )),
            None => text.push_str("\nCost: unknown (no model in the results; pass --model)"),
        }
        text
    }

    /// The `--json` of `batch results analyze` for `files`.
    fn json(&self, files: &[PathBuf], cost: Option<&Cost>) -> Value {
        let failures: Vec<Value> = self
            .by_code
            .iter()
            .map(|(code, (n, message, ids))| json!({"code": code, "count": n, "message": message, "custom_ids": ids}))
            .collect();
        json!({
            "files": files,
            "lines": self.lines,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "unreadable": self.unreadable,
            "failures": failures,
            "usage": {
                "prompt_tokens": self.usage.prompt_tokens,
                "cached_tokens": self.usage.cached_tokens,
                "completion_tokens": self.usage.completion_tokens,
                "reasoning_tokens": self.usage.reasoning_tokens,
            },
            "cost": cost.map(|(model, i, o)| json!({
                "model": model, "pricing": "batch", "input_usd": i, "output_usd": o, "total_usd": i + o,
            })),
        })
    }
}

fn analyze(args: AnalyzeArgs) -> Result<Report, CliError> {
    let mut t = Tally::default();
    for path in &args.files {
        t.add_file(path)?;
    }
    let catalog = Catalog::builtin();
    let spec = match &t.model_name(args.model.as_ref()) {
        Some(m) => Some(catalog.resolve(m)?),
        None => None,
    };
    let cost = spec.map(|s| t.cost(s));
    let exit = if t.failed > 0 || !t.unreadable.is_empty() {
        EXIT_FAILURES
    } else {
        EXIT_OK
    };
    Ok(Report {
        exit,
        json: t.json(&args.files, cost.as_ref()),
        text: t.text(cost.as_ref()),
    })
}

/// Reads one result file in blocks: its answers (by row id), and how many lines failed or could
/// not be read.
fn read_answers(
    path: &Path,
    answers: &mut Vec<(RowId, Generated)>,
    failed: &mut usize,
) -> Result<(), CliError> {
    read_lines(path, &mut |_| {}, &mut |line| {
        let parsed = line.and_then(|(n, text)| output::parse_numbered(n, text));
        match parsed.map(|p| (p.outcome, RowId::parse(&p.custom_id))) {
            Ok((Ok(g), Ok(id))) => answers.push((id, g)),
            _ => *failed += 1,
        }
        Ok(())
    })
}

fn merge(args: MergeArgs) -> Result<Report, CliError> {
    let mut file = EventsFile::read(&args.into)?;
    let mut answers: Vec<(RowId, Generated)> = Vec::new();
    let mut failed = 0;
    for path in &args.files {
        read_answers(path, &mut answers, &mut failed)?;
    }
    let report = file.merge(&answers, args.overwrite);
    let target = args.output.clone().unwrap_or_else(|| args.into.clone());
    file.write_atomic(&target)?;
    Ok(Report {
        exit: if failed > 0 || report.unknown_ids > 0 {
            EXIT_FAILURES
        } else {
            EXIT_OK
        },
        json: json!({
            "output": target,
            "answers": answers.len(),
            "rows_written": report.rows_written,
            "cells_written": report.cells_written,
            "rows_already_filled": report.rows_already_filled,
            "unknown_ids": report.unknown_ids,
            "failed_lines": failed,
        }),
        text: format!(
            "Wrote {}: {} rows updated ({} cells), {} already filled, {} answers for ids not in the file, {} failed or unreadable lines",
            target.display(),
            report.rows_written,
            report.cells_written,
            report.rows_already_filled,
            report.unknown_ids,
            failed
        ),
    })
}
