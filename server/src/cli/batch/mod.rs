//! `almanac batch …`: the seed's scripts one step at a time, for pipelines — `build` (JSONL for a
//! model, `batch_file_generator.py`/`create_batch_input.py`), `submit` (`batch_runner.py`/
//! `batch_processor.py`), `status` (`batch_status_checker.py`: waits with `--wait` and downloads the
//! result files), `results analyze` and `results merge` (`process_batch_results.py`).
//!
//! - [`submit`]: `batch submit` — the JSONL checked and hashed, a batch of the same bytes found
//!   instead of paying twice, else uploaded and created;
//! - [`status`]: `batch status` — a batch (waited for, its result files saved as they download)
//!   or a `run` job (driven to its end with `--wait`);
//! - [`results`]: `batch results analyze` (counts, failures by code, tokens and their cost) and
//!   `batch results merge` (answers merged into an events file);
//! - [`lines`]: JSONL files read in blocks, one line held at a time.
//!
//! `batch build` is `cli::build`.

mod lines;
pub(crate) mod results;
pub(crate) mod status;
pub(crate) mod submit;

use crate::cli::build::{BuildArgs, build};
use crate::cli::common::{CliError, OutputArgs, Report};
use results::{AnalyzeArgs, MergeArgs};
use status::StatusArgs;
use submit::SubmitArgs;

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
            BatchCommand::Submit(a) => submit::submit(a).await,
            BatchCommand::Status(a) => status::status(a).await,
            BatchCommand::Results(ResultsCommand::Analyze(a)) => results::analyze(a),
            BatchCommand::Results(ResultsCommand::Merge(a)) => results::merge(a),
        }
    }
}
