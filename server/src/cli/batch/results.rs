//! `almanac batch results …` over downloaded result files: `analyze` counts the lines (succeeded,
//! failed by error code with a few `custom_id`s, unreadable), the token `usage` and its cost at
//! the model's batch prices; `merge` writes the answers into an events file by row id (CSV or
//! JSON), like `run` does at the end.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use almanac_core::catalog::{Catalog, ModelSpec};
use almanac_core::domain::{Generated, RowId};
use almanac_files::EventsFile;
use almanac_openai::output;
use serde_json::{Value, json};

use crate::cli::batch::lines::{Line, read_lines};
use crate::cli::common::{CliError, CsvArgs, EXIT_FAILURES, EXIT_OK, OutputArgs, Report};

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
    /// `--raw-csv`.
    pub csv: CsvArgs,
    #[command(flatten)]
    /// `--json` and the progress bar.
    pub output_args: OutputArgs,
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

/// Runs `batch results analyze`.
///
/// # Errors
/// An unreadable file, or an unknown `--model`.
pub(super) fn analyze(args: AnalyzeArgs) -> Result<Report, CliError> {
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

/// Runs `batch results merge`.
///
/// # Errors
/// An unreadable result or events file, or a failed write.
pub(super) fn merge(args: MergeArgs) -> Result<Report, CliError> {
    let mut file = EventsFile::read(&args.into)?;
    let mut answers: Vec<(RowId, Generated)> = Vec::new();
    let mut failed = 0;
    for path in &args.files {
        read_answers(path, &mut answers, &mut failed)?;
    }
    let report = file.merge(&answers, args.overwrite, args.csv.cells());
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

#[cfg(test)]
mod tests {
    use super::*;

    const EXPIRED: &str = r#"{"id":"b","custom_id":"04-01","response":null,"error":{"code":"batch_expired","message":"x"}}"#;

    #[test]
    fn failures_are_counted_by_code_with_five_ids_and_unreadable_lines_named() {
        let mut t = Tally::default();
        let path = Path::new("out.jsonl");
        for n in 1..=6 {
            t.add_line(path, Ok((n, EXPIRED)));
        }
        t.add_line(path, Ok((7, "not json")));
        assert_eq!((t.lines, t.succeeded, t.failed), (7, 0, 6));
        let (count, _, ids) = &t.by_code["batch_expired"];
        assert_eq!((*count, ids.len()), (6, 5));
        assert_eq!(t.unreadable.len(), 1);
        assert!(
            t.unreadable[0].starts_with("out.jsonl:7: "),
            "{:?}",
            t.unreadable
        );
        let text = t.text(None);
        assert!(
            text.starts_with("7 lines: 0 succeeded, 6 failed, 1 unreadable"),
            "{text}"
        );
        assert!(
            text.ends_with("Cost: unknown (no model in the results; pass --model)"),
            "{text}"
        );
    }

    #[test]
    fn the_model_is_the_chosen_one_else_the_most_named_and_is_priced_at_batch_prices() {
        let mut t = Tally::default();
        t.models.insert("gpt-4.1-nano-2025-04-14".into(), 1);
        t.models.insert("gpt-4.1-mini-2025-04-14".into(), 3);
        assert_eq!(
            t.model_name(None).as_deref(),
            Some("gpt-4.1-mini-2025-04-14")
        );
        let chosen = "o4-mini-2025-04-16".to_owned();
        assert_eq!(t.model_name(Some(&chosen)), Some(chosen.clone()));
        t.usage.prompt_tokens = 1_000_000;
        t.usage.cached_tokens = 400_000;
        t.usage.completion_tokens = 1_000_000;
        let spec = Catalog::builtin()
            .resolve("gpt-4.1-mini-2025-04-14")
            .unwrap();
        let (model, input, output) = t.cost(spec);
        let factor = spec.batch_price_factor;
        assert_eq!(model, spec.id);
        let expected_input = (0.6 * spec.input_per_1m + 0.4 * spec.cached_input_per_1m) * factor;
        assert!(
            (input - expected_input).abs() < 1e-9,
            "{input} vs {expected_input}"
        );
        assert!((output - spec.output_per_1m * factor).abs() < 1e-9);
        let json = t.json(&[PathBuf::from("a.jsonl")], Some(&(model, input, output)));
        assert_eq!(json["cost"]["pricing"], "batch");
        assert_eq!(json["usage"]["cached_tokens"], 400_000);
    }

    #[test]
    fn only_answers_with_a_valid_row_id_are_merged_and_the_rest_counted_failed() {
        let path =
            std::env::temp_dir().join(format!("almanac-results-{}.jsonl", uuid::Uuid::new_v4()));
        std::fs::write(&path, format!("{EXPIRED}\nnot json\n")).unwrap();
        let (mut answers, mut failed) = (Vec::new(), 0);
        let read = read_answers(&path, &mut answers, &mut failed);
        std::fs::remove_file(&path).unwrap();
        read.unwrap();
        assert!(answers.is_empty());
        assert_eq!(failed, 2);
    }
}
