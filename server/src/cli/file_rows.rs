//! The rows of an events file that `almanac run` selects (`--start-row`, `--end-row`), read as a
//! stream and classified as the sheet flow classifies a sheet's rows ([`select`]), and the same
//! rows estimated without being held (`--estimate-cost`, [`scan_estimate`]).

use std::path::Path;

use almanac_core::catalog::ModelSpec;
use almanac_core::cost::{CountedRequest, EstimateTally, OutputPrediction};
use almanac_core::domain::{RowInput, SheetRow};
use almanac_core::state::RowState;
use almanac_files::{FileRow, Format, read_rows};
use almanac_openai::tokens::InputCounter;
use almanac_protocol::Estimate;
use almanac_protocol::RowEstimate;
use almanac_store::NewRow;
use serde_json::json;

use super::common::{CliError, EXIT_OK, Report, estimate_json, estimate_text};
use crate::jobs::creation::selection::{self, Place};

/// The selected rows of a file, checked and classified.
pub struct Selection {
    /// The file's format.
    pub format: Format,
    /// Data rows in the whole file.
    pub total: usize,
    /// The selected rows as job rows (pending, skipped or failed with a reason).
    pub rows: Vec<NewRow>,
    /// The inputs of the pending rows.
    pub pending: Vec<RowInput>,
}

impl Selection {
    /// How many selected rows are in `state`.
    pub fn count(&self, state: RowState) -> usize {
        self.rows.iter().filter(|r| r.state == state).count()
    }
}

/// Reads a file (as a stream: only the selected rows are kept) and classifies its rows
/// `start..end` like the sheet flow does, in the file's words.
///
/// # Errors
/// Bad input for an unreadable file or an empty range.
pub fn select(
    path: &Path,
    start: usize,
    end: Option<usize>,
    overwrite: bool,
) -> Result<Selection, CliError> {
    let range = start..end.unwrap_or(usize::MAX);
    let mut selected: Vec<SheetRow> = Vec::new();
    let read = read_rows(path, |row: FileRow| {
        if range.contains(&row.index) {
            selected.push(row.as_sheet_row());
        }
        Ok(())
    })?;
    let total = read.rows;
    check_range(path, start, end, total)?;
    let rows = selection::classify_in(&selected, overwrite, Place::File);
    let pending = crate::jobs::creation::create::pending_inputs(&rows);
    Ok(Selection {
        format: read.format,
        total,
        rows,
        pending,
    })
}

/// Bad input when `--start-row start [--end-row end]` selects none of the file's `total` data rows.
fn check_range(
    path: &Path,
    start: usize,
    end: Option<usize>,
    total: usize,
) -> Result<(), CliError> {
    if start < end.unwrap_or(total).min(total) {
        return Ok(());
    }
    Err(CliError::bad_input(format!(
        "{}: --start-row {start}{} selects no rows: the file has {total} data rows (numbered from 0)",
        path.display(),
        end.map(|e| format!(" --end-row {e}")).unwrap_or_default()
    )))
}

/// What `--estimate-cost` gathers while the file is read, a row at a time: the counts, the
/// invalid rows (line, id, reason), the sums of the estimate and — for `--json`, whose document
/// lists them — each pending row's figures. Nothing else of a row is kept, so memory does not
/// grow with the file (beyond the reader's set of ids, which finds an id used twice) unless
/// `--json` asks for every row's figures. A file's ids are unique (the reader refuses a file
/// where one repeats), so each row is classified on its own, as `batch build` does.
pub(crate) struct EstimateScan {
    counter: InputCounter,
    tally: EstimateTally,
    per_row: Option<Vec<RowEstimate>>,
    selected: usize,
    skipped: usize,
    invalid: Vec<serde_json::Value>,
}

/// Reads the selected rows of INPUT once and estimates them without holding them
/// ([`EstimateScan`]).
///
/// # Errors
/// Bad input for an unreadable file or an empty range.
pub(crate) fn scan_estimate(
    (input, start_row, end_row): (&Path, usize, Option<usize>),
    overwrite: bool,
    spec: &'static ModelSpec,
    (prediction, json): (OutputPrediction, bool),
) -> Result<EstimateScan, CliError> {
    let counter = InputCounter::new(spec);
    let mut scan = EstimateScan {
        tally: EstimateTally::new(counter.shared_prefix(), prediction),
        counter,
        per_row: json.then(Vec::new),
        selected: 0,
        skipped: 0,
        invalid: Vec::new(),
    };
    let range = start_row..end_row.unwrap_or(usize::MAX);
    let read = read_rows(input, |row: FileRow| {
        if range.contains(&row.index) {
            scan.add(spec, &row.as_sheet_row(), overwrite);
        }
        Ok(())
    })?;
    check_range(input, start_row, end_row, read.rows)?;
    Ok(scan)
}

impl EstimateScan {
    /// Classifies one selected row and counts it when it would be sent.
    fn add(&mut self, spec: &ModelSpec, row: &SheetRow, overwrite: bool) {
        self.selected += 1;
        let new = selection::classify_row(row, overwrite, Place::File);
        match new.state {
            RowState::Pending => {
                let input_tokens = self.counter.count(&new.title);
                let request = CountedRequest {
                    id: &new.row_id,
                    input_tokens,
                };
                match &mut self.per_row {
                    Some(per_row) => per_row.push(self.tally.add_row(spec, &request)),
                    None => {
                        self.tally.add(input_tokens);
                    }
                }
            }
            RowState::Skipped => self.skipped += 1,
            _ => self
                .invalid
                .push(json!({"line": new.row_number, "id": new.row_id, "reason": new.reason})),
        }
    }

    /// `--estimate-cost`'s answer: what the run would cost, and that nothing was sent.
    pub(crate) fn report(self, spec: &ModelSpec, json: bool) -> Report {
        let est = Estimate {
            per_row: self.per_row.unwrap_or_default(),
            ..self.tally.finish(spec)
        };
        let (to_send, invalid) = (est.rows, self.invalid.len());
        let json = if json {
            json!({
                "estimate": estimate_json(&est),
                "rows": {"selected": self.selected, "to_send": to_send,
                         "skipped": self.skipped, "failed": invalid},
                "invalid_rows": self.invalid,
                "sent": false,
            })
        } else {
            serde_json::Value::Null
        };
        Report {
            exit: EXIT_OK,
            json,
            text: format!(
                "{}\n{} rows selected: {to_send} to send, {} skipped (already filled), {invalid} invalid. Nothing was sent.",
                estimate_text(&est),
                self.selected,
                self.skipped,
            ),
        }
    }
}
