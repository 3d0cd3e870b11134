//! `almanac sheet pull` / `almanac sheet push`: a sheet to and from an events file, with the service
//! account (`GOOGLE_APPLICATION_CREDENTIALS`) — the seed's "export the sheet to
//! historical_events.json" step and its `sheets_updater.py`. Pushing writes only year,
//! content_simple, content_detailed and related_movies (C–F), located by id, never over a filled
//! cell unless `--overwrite`, with `valueInputOption=RAW`, in one `values.batchUpdate` — the same
//! plan as the backend's write step.

use std::path::PathBuf;

use almanac_protocol::RowSpan;
use serde_json::json;

use super::common::{CliError, CsvArgs, EXIT_FAILURES, EXIT_OK, EndpointArgs, OutputArgs, Report};
use almanac_core::domain::{Generated, RowId, SpreadsheetId};
use almanac_files::{EventsFile, Format};
use almanac_sheets::plan::plan_writes;

/// `almanac sheet …`.
#[derive(Debug, clap::Subcommand)]
pub enum SheetCommand {
    /// Save a sheet (header row + rows, columns A–H) as a `.json` (seed shape) or `.csv` file.
    #[command(after_help = PULL_EXAMPLES)]
    Pull(PullArgs),
    /// Write year, content_simple, content_detailed and related_movies from a file into the sheet
    /// (by id; filled cells are kept unless `--overwrite`).
    #[command(after_help = PUSH_EXAMPLES)]
    Push(PushArgs),
}

const PULL_EXAMPLES: &str = "\
Examples:
  almanac sheet pull 1AbC…xyz -o historical_events.json
  almanac sheet pull 1AbC…xyz --sheet-id 123456 --rows 2:101 -o events.csv
Share the spreadsheet with the service account's email first.";
const PUSH_EXAMPLES: &str = "\
Examples:
  almanac sheet push 1AbC…xyz historical_events.json
  almanac sheet push 1AbC…xyz final.csv --sheet-id 123456 --overwrite --json";

/// Which sheet.
#[derive(Clone, Debug, clap::Args)]
pub struct SheetRef {
    /// The `spreadsheetId` (from the sheet's URL: `/spreadsheets/d/<spreadsheetId>/edit`).
    pub spreadsheet_id: String,
    /// The sheet's `sheetId` (the `gid=` of its URL; 0 is the first sheet).
    #[arg(long, default_value_t = 0)]
    pub sheet_id: i32,
}

/// Flags of `sheet pull`.
#[derive(Debug, clap::Args)]
pub struct PullArgs {
    #[command(flatten)]
    /// The spreadsheet and sheet.
    pub sheet: SheetRef,
    /// The file to write (`.json` or `.csv`).
    #[arg(long, short = 'o', default_value = "historical_events.json")]
    pub output: PathBuf,
    /// Rows to save, 1-based and inclusive like `2:17` (the header row 1 is always read).
    #[arg(long)]
    pub rows: Option<String>,
    #[command(flatten)]
    /// `--raw-csv`.
    pub csv: CsvArgs,
    #[command(flatten)]
    /// Endpoints, keys and the job store (the same settings as `almanac serve`).
    pub endpoints: EndpointArgs,
    #[command(flatten)]
    /// `--json` and the progress bar.
    pub output_args: OutputArgs,
}

/// Flags of `sheet push`.
#[derive(Debug, clap::Args)]
pub struct PushArgs {
    #[command(flatten)]
    /// The spreadsheet and sheet.
    pub sheet: SheetRef,
    /// The file to read (`.json` or `.csv`).
    pub file: PathBuf,
    /// Replace cells that are already filled.
    #[arg(long)]
    pub overwrite: bool,
    #[command(flatten)]
    /// Endpoints, keys and the job store (the same settings as `almanac serve`).
    pub endpoints: EndpointArgs,
    #[command(flatten)]
    /// `--json` and the progress bar.
    pub output_args: OutputArgs,
}

impl SheetCommand {
    /// The `--json` flag of the chosen subcommand.
    pub fn output_args(&self) -> &OutputArgs {
        match self {
            SheetCommand::Pull(a) => &a.output_args,
            SheetCommand::Push(a) => &a.output_args,
        }
    }

    /// Runs the subcommand.
    ///
    /// # Errors
    /// See the exit codes.
    pub async fn run(self) -> Result<Report, CliError> {
        match self {
            SheetCommand::Pull(a) => pull(a).await,
            SheetCommand::Push(a) => push(a).await,
        }
    }
}

fn spreadsheet(id: &str) -> Result<SpreadsheetId, CliError> {
    SpreadsheetId::parse(id).map_err(|e| CliError::bad_input(e.to_string()))
}

async fn pull(args: PullArgs) -> Result<Report, CliError> {
    let format = Format::from_path(&args.output)?;
    let span = args
        .rows
        .as_deref()
        .map(RowSpan::parse)
        .transpose()
        .map_err(|e| CliError::bad_input(format!("--rows {e}")))?;
    let id = spreadsheet(&args.sheet.spreadsheet_id)?;
    let sheets = args.endpoints.sheets().await?;
    let sheet_id = args.sheet.sheet_id;
    // One read of A–F to learn how many rows there are, then A–H of the rows wanted.
    let last = sheets
        .read_ids_and_outputs(&id, sheet_id)
        .await?
        .rows
        .last()
        .map_or(1, |r| r.row_number);
    let mut spans = vec![RowSpan {
        start_row: 1,
        end_row: 1,
    }];
    match span {
        Some(s) if s.start_row <= 1 => spans[0].end_row = s.end_row.min(last).max(1),
        Some(s) => spans.push(RowSpan {
            start_row: s.start_row,
            end_row: s.end_row.min(last).max(s.start_row),
        }),
        None => spans[0].end_row = last,
    }
    let read = sheets.read_rows(&id, sheet_id, &spans).await?;
    let title = read.title;
    let grid: Vec<Vec<String>> = read.rows.into_iter().map(|r| r.cells).collect();
    let file =
        EventsFile::from_grid(&args.output, format, &grid, args.csv.cells()).map_err(|mut e| {
            e.message = format!("sheet `{title}`: {}", e.message);
            CliError::bad_input(e.to_string())
        })?;
    file.write_atomic(&args.output)?;
    Ok(Report {
        exit: EXIT_OK,
        json: json!({
            "spreadsheet_id": id.as_str(),
            "sheet_id": args.sheet.sheet_id,
            "sheet_title": title,
            "rows": file.rows().len(),
            "file": args.output,
            "format": file.format.as_str(),
        }),
        text: format!(
            "Saved {} rows of `{title}` to {}",
            file.rows().len(),
            args.output.display()
        ),
    })
}

async fn push(args: PushArgs) -> Result<Report, CliError> {
    let file = EventsFile::read(&args.file)?;
    let id = spreadsheet(&args.sheet.spreadsheet_id)?;
    let results: Vec<(RowId, Generated)> = file
        .rows()
        .iter()
        .filter(|r| r.outputs.iter().any(|o| !o.trim().is_empty()))
        .filter_map(|r| {
            let [year, simple, detail, related_movies] = r.outputs.clone();
            Some((
                RowId::parse(&r.id).ok()?,
                Generated {
                    year,
                    simple,
                    detail,
                    related_movies,
                },
            ))
        })
        .collect();
    let sheets = args.endpoints.sheets().await?;
    let read = sheets
        .read_ids_and_outputs(&id, args.sheet.sheet_id)
        .await?;
    let (title, current) = (read.title, read.rows);
    let plan = plan_writes(args.sheet.sheet_id, &current, &results, args.overwrite);
    let report = if plan.blocks.is_empty() {
        almanac_sheets::client::WriteReport::default()
    } else {
        sheets.write_blocks(&id, &plan.blocks).await?
    };
    let problems: Vec<_> = plan
        .problems
        .iter()
        .map(|(row, p)| json!({"id": row.as_str(), "problem": p.message(row)}))
        .collect();
    let skipped = plan
        .problems
        .iter()
        .filter(|(_, p)| matches!(p, almanac_sheets::plan::WriteProblem::NothingToWrite))
        .count();
    let failed = plan.problems.len() - skipped;
    let mut text = format!(
        "`{title}`: {} rows written ({} cells), {skipped} already filled, {failed} not written",
        plan.rows.len(),
        report.updated_cells
    );
    for (row, p) in &plan.problems {
        if !matches!(p, almanac_sheets::plan::WriteProblem::NothingToWrite) {
            text.push_str(&format!("\n  {}", p.message(row)));
        }
    }
    Ok(Report {
        exit: if failed > 0 { EXIT_FAILURES } else { EXIT_OK },
        json: json!({
            "spreadsheet_id": id.as_str(),
            "sheet_title": title,
            "rows_written": plan.rows.len(),
            "cells_updated": report.updated_cells,
            "already_filled": skipped,
            "not_written": failed,
            "problems": problems,
        }),
        text,
    })
}
