//! `almanac batch build`: the JSONL input of a batch (`batch_file_generator.py` /
//! `create_batch_input.py` of the seeds), written as the events file is read.
//!
//! The file is read one row at a time (`almanac_files::read_rows`, every check of the whole-file
//! reader), each selected row is classified by the sheet flow's rules (`jobs::creation::selection`), and
//! each row that needs a request becomes one line written by the model's
//! [`LineTemplate`](almanac_openai::jsonl::LineTemplate) straight into the output — cut into parts
//! within the Batch API's limits (50,000 requests, 200 MB) as it goes. Memory holds one row, one
//! line and the writers' buffers, whatever the file's size. Outputs are temporary files until the
//! whole input has been read and checked; then they are flushed to disk and renamed into place
//! (one part: the `--output` path itself; several: `NAME.part-1.jsonl`, `NAME.part-2.jsonl`, …).
//!
//! Nothing is counted unless `--estimate` asks for it, so a plain build never loads a tokenizer.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use almanac_core::catalog::{Catalog, ModelSpec};
use almanac_core::cost::{EstimateTally, predict_output};
use almanac_core::state::RowState;
use almanac_files::{AtomicFile, FileError, FileRow, read_rows};
use almanac_openai::jsonl::{self, LineTemplate, PartSplitter};
use almanac_openai::tokens::InputCounter;
use almanac_protocol::Estimate;
use serde_json::{Value, json};

use super::common::{CliError, EXIT_OK, OutputArgs, Report, estimate_json, estimate_text};
use crate::jobs::creation::selection::{Place, classify_row};

/// Flags of `batch build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The rows: a `.csv` or seed `.json` events file.
    pub input: PathBuf,
    /// Where to write the JSONL; more requests than one batch takes are written as
    /// `NAME.part-1.jsonl`, `NAME.part-2.jsonl`, … beside it.
    #[arg(long, short = 'o', default_value = "batchinput.jsonl")]
    pub output: PathBuf,
    /// Model id (default: the catalogue's default).
    #[arg(long)]
    pub model: Option<String>,
    /// First data row, 0-based.
    #[arg(long, default_value_t = 0)]
    pub start_row: usize,
    /// Data row to stop before, 0-based (default: to the end).
    #[arg(long)]
    pub end_row: Option<usize>,
    /// Include rows whose outputs are already filled.
    #[arg(long)]
    pub overwrite: bool,
    /// Also count the requests' input tokens and print what they would cost (the catalogue's
    /// output figure; `almanac run … --estimate-cost` also uses the store's history).
    #[arg(long)]
    pub estimate: bool,
    #[command(flatten)]
    /// `--json` and the progress bar.
    pub output_args: OutputArgs,
}

/// One part being written.
struct Part {
    file: AtomicFile,
    requests: usize,
    bytes: usize,
}

/// The parts of the output, written as lines come (see the module documentation).
struct Parts {
    base: PathBuf,
    template: LineTemplate,
    splitter: PartSplitter,
    line: Vec<u8>,
    parts: Vec<Part>,
}

/// A part as written: where, how many requests, how many bytes.
struct Written {
    path: PathBuf,
    requests: usize,
    bytes: usize,
}

/// `dir/name.jsonl` → `dir/name.part-{n}.jsonl`.
fn part_path(base: &Path, n: usize) -> PathBuf {
    let stem = base
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match base.extension() {
        Some(ext) => format!("{stem}.part-{n}.{}", ext.to_string_lossy()),
        None => format!("{stem}.part-{n}"),
    };
    base.with_file_name(name)
}

impl Parts {
    fn new(base: &Path, spec: &ModelSpec) -> Parts {
        Parts {
            base: base.to_owned(),
            template: LineTemplate::new(spec),
            splitter: PartSplitter::default(),
            line: Vec::with_capacity(8 * 1024),
            parts: Vec::new(),
        }
    }

    /// Writes one request line, opening the next part when this one is full.
    fn push(&mut self, id: &str, title: &str) -> Result<(), FileError> {
        self.line.clear();
        let len = self.template.write_line(&mut self.line, id, title);
        if self.splitter.push(len) {
            let path = part_path(&self.base, self.parts.len() + 1);
            self.parts.push(Part {
                file: AtomicFile::create(&path)?,
                requests: 0,
                bytes: 0,
            });
        }
        let part = self.parts.last_mut().expect("a part was opened");
        part.file
            .write_all(&self.line)
            .map_err(|e| part.file.error(&e))?;
        part.requests += 1;
        part.bytes += len;
        Ok(())
    }

    fn requests(&self) -> usize {
        self.parts.iter().map(|p| p.requests).sum()
    }

    /// Flushes every part to disk and renames it into place.
    fn commit(self) -> Result<Vec<Written>, FileError> {
        let single = self.parts.len() == 1;
        let mut written = Vec::new();
        for part in self.parts {
            let path = if single {
                self.base.clone()
            } else {
                part.file.path().to_owned()
            };
            part.file.commit_as(&path)?;
            written.push(Written {
                path,
                requests: part.requests,
                bytes: part.bytes,
            });
        }
        Ok(written)
    }
}

/// What the selected rows came to, besides the lines written.
#[derive(Default)]
struct Tally {
    skipped: usize,
    invalid: Vec<Value>,
    /// `--estimate`: the counter and the sums.
    estimate: Option<(InputCounter, EstimateTally)>,
}

/// Runs `batch build`.
///
/// # Errors
/// Bad input for an unknown model, a malformed file, an empty range or no row to send (nothing is
/// written then); an error when an output cannot be written.
pub fn build(args: BuildArgs) -> Result<Report, CliError> {
    let catalog = Catalog::builtin();
    let spec = match &args.model {
        Some(m) => catalog.resolve(m)?,
        None => catalog.default_spec(),
    };
    let mut parts = Parts::new(&args.output, spec);
    let mut tally = Tally::default();
    if args.estimate {
        let counter = InputCounter::new(spec);
        let sums = EstimateTally::new(counter.shared_prefix(), predict_output(spec, None));
        tally.estimate = Some((counter, sums));
    }
    let end = args.end_row.unwrap_or(usize::MAX);
    let read = read_rows(&args.input, |row| {
        if (args.start_row..end).contains(&row.index) {
            select_row(&args, &row, &mut parts, &mut tally)?;
        }
        Ok(())
    })?;
    let end_row = end.min(read.rows);
    if args.start_row >= end_row {
        return Err(CliError::bad_input(format!(
            "{}: --start-row {}{} selects no rows: the file has {} data rows (numbered from 0)",
            args.input.display(),
            args.start_row,
            args.end_row
                .map(|e| format!(" --end-row {e}"))
                .unwrap_or_default(),
            read.rows
        )));
    }
    if parts.requests() == 0 {
        return Err(CliError::bad_input(format!(
            "{}: no selected row needs a request (all filled or invalid): nothing to build",
            args.input.display()
        )));
    }
    let written = parts
        .commit()
        .map_err(|e| CliError::error("error", e.to_string()))?;
    let estimate = tally.estimate.as_ref().map(|(_, sums)| sums.finish(spec));
    Ok(report(&args, spec, &written, &tally, estimate.as_ref()))
}

/// Classifies one selected row and writes its request if it needs one.
fn select_row(
    args: &BuildArgs,
    row: &FileRow,
    parts: &mut Parts,
    tally: &mut Tally,
) -> Result<(), FileError> {
    let new = classify_row(&row.as_sheet_row(), args.overwrite, Place::File);
    match new.state {
        RowState::Pending => {
            parts.push(&new.row_id, &new.title)?;
            if let Some((counter, sums)) = &mut tally.estimate {
                sums.add(counter.count(&new.title));
            }
        }
        RowState::Skipped => tally.skipped += 1,
        _ => tally
            .invalid
            .push(json!({"line": new.row_number, "id": new.row_id, "reason": new.reason})),
    }
    Ok(())
}

/// The text and JSON of a build.
fn report(
    args: &BuildArgs,
    spec: &ModelSpec,
    written: &[Written],
    tally: &Tally,
    estimate: Option<&Estimate>,
) -> Report {
    let requests: usize = written.iter().map(|w| w.requests).sum();
    let bytes: usize = written.iter().map(|w| w.bytes).sum();
    let mut text = match written {
        [one] => format!(
            "Wrote {requests} requests for {} to {} ({bytes} bytes)",
            spec.id,
            one.path.display()
        ),
        _ => format!(
            "Wrote {requests} requests for {} in {} parts (a batch takes at most {} requests and {} MB); submit each: {}",
            spec.id,
            written.len(),
            jsonl::MAX_REQUESTS_PER_BATCH,
            jsonl::MAX_FILE_BYTES / 1024 / 1024,
            written
                .iter()
                .map(|w| format!(
                    "{} ({} requests, {} bytes)",
                    w.path.display(),
                    w.requests,
                    w.bytes
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    text.push_str(&format!(
        "; {} rows skipped (already filled), {} invalid.",
        tally.skipped,
        tally.invalid.len()
    ));
    if let Some(e) = estimate {
        text.push('\n');
        text.push_str(&estimate_text(e));
    }
    for r in &tally.invalid {
        text.push_str(&format!(
            "\n  line {} ({}): {}",
            r["line"],
            r["id"].as_str().unwrap_or(""),
            r["reason"].as_str().unwrap_or("")
        ));
    }
    let parts: Vec<Value> = written
        .iter()
        .map(|w| json!({"file": w.path, "requests": w.requests, "bytes": w.bytes}))
        .collect();
    Report {
        exit: EXIT_OK,
        json: json!({
            "file": (written.len() == 1).then(|| args.output.clone()),
            "parts": parts,
            "model": spec.id,
            "requests": requests,
            "bytes": bytes,
            "skipped": tally.skipped,
            "invalid_rows": tally.invalid,
            "estimate": estimate.map(estimate_json),
        }),
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_named_beside_the_output() {
        assert_eq!(
            part_path(Path::new("out/batchinput.jsonl"), 2),
            Path::new("out/batchinput.part-2.jsonl")
        );
        assert_eq!(part_path(Path::new("input"), 1), Path::new("input.part-1"));
    }
}
