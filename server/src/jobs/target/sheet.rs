//! Writing a sheet job's answers: every answered (`generated`) row in one
//! `values.batchUpdateByDataFilter` (split only above the request size limit), located by id in
//! the sheet as it is now (one `values.batchGetByDataFilter` of A–F), never over a cell a person
//! filled unless the job asked to overwrite. Both calls address the sheet by `sheetId`: a sheet
//! renamed between the read and the write is still written, and no `spreadsheets.get` is needed.

use std::collections::HashMap;

use almanac_core::domain::{Generated, RowId, SheetRow, SpreadsheetId};
use almanac_core::state::{RowFailure, RowState};
use almanac_sheets::{WritePlan, plan_writes};
use almanac_store::{JobRecord, RowUpdate};

use crate::jobs::services::Services;
use crate::jobs::step::StepError;

/// Writes every answered (`generated`) row of a sheet job in one `values.batchUpdateByDataFilter`
/// (split only above the request size limit), locating rows by id in the sheet as it is now, and settles each
/// row: `done` when written (or when its cells already hold this answer — a write applied before a
/// crash), `skipped` when a person filled the cells, `failed` with the reason and its code when its
/// id is gone or duplicated. Used by the batch path's `writing` step and by realtime runs' grouped
/// writes. Returns the rows settled (0 when nothing was answered).
///
/// # Errors
/// [`StepError`] from Sheets or the store; the answers stay stored, so a retry writes them.
pub async fn write(svc: &Services, job: &JobRecord) -> Result<usize, StepError> {
    let store = &svc.store;
    let generated = store.generated_rows(&job.id).await?;
    if generated.is_empty() {
        return Ok(0);
    }
    let spreadsheet =
        SpreadsheetId::parse(&job.spreadsheet_id).map_err(|e| StepError::Permanent {
            code: "invalid_spreadsheet",
            message: e.to_string(),
        })?;
    let sheets = &svc.sheets;
    let sheet_id = job.sheet_id as i32;
    let read = sheets.read_ids_and_outputs(&spreadsheet, sheet_id).await?;
    if !read.title.is_empty() && read.title != job.sheet_title {
        store.set_sheet_title(&job.id, &read.title).await?;
    }
    let current = read.rows;
    // The answers are moved, not copied: a job's answers are its largest data.
    let (seqs, results): (Vec<i64>, Vec<(RowId, Generated)>) = generated
        .into_iter()
        .map(|(seq, id, g)| (seq, (id, g)))
        .unzip();
    let plan = plan_writes(sheet_id, &current, &results, job.overwrite);
    if !plan.blocks.is_empty() {
        let report = sheets.write_blocks(&spreadsheet, &plan.blocks).await?;
        tracing::info!(job_id = %job.id, cells = report.updated_cells, calls = report.calls, "sheet written");
    }
    let updates = settle(&seqs, &results, &plan, &current);
    store.set_row_states(&job.id, &updates).await?;
    let count = |state: RowState| updates.iter().filter(|u| u.state == state).count() as u64;
    metrics::counter!(crate::metrics::ROWS_WRITTEN).increment(count(RowState::Done));
    metrics::counter!(crate::metrics::ROWS_FAILED, "stage" => "sheet")
        .increment(count(RowState::Failed));
    Ok(updates.len())
}

/// The new state of each answered row (`seqs[i]` is the row of `results[i]`) after the write
/// `plan` over the sheet as it was read (`current`).
fn settle(
    seqs: &[i64],
    results: &[(RowId, Generated)],
    plan: &WritePlan,
    current: &[SheetRow],
) -> Vec<RowUpdate> {
    let by_id: HashMap<&str, (i64, &Generated)> = seqs
        .iter()
        .zip(results)
        .map(|(seq, (id, g))| (id.as_str(), (*seq, g)))
        .collect();
    let mut updates: Vec<RowUpdate> = plan
        .rows
        .iter()
        .filter_map(|planned| by_id.get(planned.id.as_str()))
        .map(|(seq, _)| RowUpdate::done(*seq))
        .collect();
    for (id, problem) in &plan.problems {
        let Some((seq, ours)) = by_id.get(id.as_str()) else {
            continue;
        };
        updates.push(match problem.failure_code() {
            Some(code) => RowUpdate::failed(*seq, RowFailure::new(code, problem.to_string())),
            // Written before a restart (the cells hold our answer), or a person filled them.
            None if row_holds(current, id, ours) => RowUpdate::done(*seq),
            None => RowUpdate::skipped(*seq, problem.to_string()),
        });
    }
    updates
}

/// True when the sheet row with this id already holds our answer `g`: every filled cell of C–F
/// was filled, and at least one of the text columns D–F holds exactly our text (a person does not
/// type the model's paragraph word for word). Covers a write that Google applied but the server
/// never heard back about — including one that filled only the cells a person had left empty.
fn row_holds(current: &[SheetRow], id: &RowId, g: &Generated) -> bool {
    current.iter().any(|row| {
        let cell = |i: usize| row.cells.get(2 + i).map(String::as_str).unwrap_or("");
        let columns = g.columns();
        row.cells.first().map(|c| c.trim()) == Some(id.as_str())
            && (0..columns.len()).all(|i| !cell(i).trim().is_empty())
            && (1..columns.len()).any(|i| !columns[i].is_empty() && cell(i) == columns[i])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generated() -> Generated {
        Generated {
            year: "1969".into(),
            simple: "A person walked on the Moon.".into(),
            detail: "Apollo 11 landed on the Moon in July 1969.".into(),
            related_movies: "First Man".into(),
        }
    }

    fn row(cells: &[&str]) -> Vec<SheetRow> {
        vec![SheetRow {
            row_number: 5,
            cells: cells.iter().map(|c| c.to_string()).collect(),
        }]
    }

    #[test]
    fn our_own_write_is_recognised_even_around_a_persons_cell_but_a_persons_row_is_not() {
        let id = RowId::parse("07-20").unwrap();
        let g = generated();
        let ours = row(&[
            "07-20",
            "Moon",
            "1969",
            &g.simple,
            &g.detail,
            &g.related_movies,
        ]);
        assert!(row_holds(&ours, &id, &g));
        let around_person = row(&[
            "07-20",
            "Moon",
            "1969",
            "typed",
            &g.detail,
            &g.related_movies,
        ]);
        assert!(row_holds(&around_person, &id, &g));
        let person = row(&["07-20", "Moon", "1969", "a", "b", "c"]);
        assert!(!row_holds(&person, &id, &g));
        let partial = row(&["07-20", "Moon", "", &g.simple, &g.detail, &g.related_movies]);
        assert!(
            !row_holds(&partial, &id, &g),
            "an empty cell means not written"
        );
        let other_id = row(&[
            "07-21",
            "Moon",
            "1969",
            &g.simple,
            &g.detail,
            &g.related_movies,
        ]);
        assert!(!row_holds(&other_id, &id, &g));
    }
}
