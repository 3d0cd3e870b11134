//! Writing a sheet job's answers: the answered (`generated`) rows go out in
//! `values.batchUpdateByDataFilter` calls of up to about 2 MB each (as few calls as one write of
//! everything would make), located by id in the sheet as it is now (one
//! `values.batchGetByDataFilter` of A–F per write), never over a cell a person filled unless the
//! job asked to overwrite. The answers are read from the store a page at a time and each call's
//! rows are settled as soon as it succeeds, so a write holds one request's worth of answers
//! whatever the job's size, and a failure part-way loses none of the calls already made. Both calls
//! address the sheet by `sheetId`: a sheet renamed between the read and the write is still written,
//! and no `spreadsheets.get` is needed.

use std::collections::HashMap;

use almanac_core::domain::{Generated, RowId, SheetRow, SpreadsheetId};
use almanac_core::state::{RowFailure, RowState};
use almanac_sheets::{
    SheetIndex, WriteGroup, WritePlan, answer_write_bytes, keep_write_columns, plan_with_index,
};
use almanac_store::{Destination, JobRecord, RowUpdate};

use crate::jobs::queue::step::StepError;
use crate::jobs::services::Services;

/// Answered rows read from the store at a time (a fraction of one write call's worth).
const PAGE_ROWS: u32 = 500;

/// An answered row as stored: `(seq, id, answer)`.
type Answered = (i64, RowId, Generated);

/// Writes every answered (`generated`) row of a sheet job, locating rows by id in the sheet as it
/// is now, a `values.batchUpdateByDataFilter` call at a time (each up to about 2 MB), and settles
/// each call's rows when it succeeds: `done` when written (or when its cells already hold this
/// answer — a write applied before a crash), `skipped` when a person filled the cells, `failed`
/// with the reason and its code when its id is gone or duplicated. Used by the batch path's
/// `writing` step and by realtime runs' grouped writes. Returns the rows settled (0, with no
/// Sheets call, when nothing was answered).
///
/// # Errors
/// [`StepError`] from Sheets or the store. The rows of the calls made before the failure are
/// settled; the others' answers stay stored, so a retry writes them.
pub async fn write(svc: &Services, job: &JobRecord) -> Result<usize, StepError> {
    let store = &svc.store;
    let (mut page, mut next) = store.generated_page(&job.id, None, PAGE_ROWS).await?;
    if page.is_empty() && next.is_none() {
        return Ok(0);
    }
    let Destination::Sheet {
        spreadsheet_id: spreadsheet,
        sheet_id,
    } = &job.destination
    else {
        return Err(StepError::Permanent {
            code: almanac_protocol::ErrorCode::InvalidSpreadsheet,
            message: format!("job {} writes a file, not a sheet", job.id),
        });
    };
    let sheet_id = *sheet_id;
    let mut read = svc
        .sheets
        .read_ids_and_outputs(spreadsheet, sheet_id)
        .await?;
    keep_write_columns(&mut read.rows);
    if !read.title.is_empty() && read.title != job.sheet_title {
        store.set_sheet_title(&job.id, &read.title).await?;
    }
    let writer = Writer {
        svc,
        job,
        spreadsheet,
        sheet_id,
        index: SheetIndex::new(&read.rows),
    };
    let (mut group, mut tally) = (WriteGroup::default(), Tally::default());
    loop {
        for row in page {
            let bytes = answer_write_bytes(&row.2);
            if let Some(full) = group.push(row, bytes) {
                writer.write(full, &mut tally).await?;
            }
        }
        let Some(after) = next else { break };
        (page, next) = store
            .generated_page(&job.id, Some(after), PAGE_ROWS)
            .await?;
    }
    writer.write(group.take(), &mut tally).await?;
    tracing::info!(job_id = %job.id, rows = tally.rows, cells = tally.cells, calls = tally.calls, "sheet written");
    Ok(tally.rows)
}

/// What a write did so far, over its calls.
#[derive(Default)]
struct Tally {
    /// Rows settled.
    rows: usize,
    /// Cells the API reported as updated.
    cells: u64,
    /// `values.batchUpdateByDataFilter` calls made.
    calls: usize,
}

/// One write of a job against one read of its sheet.
struct Writer<'a> {
    svc: &'a Services,
    job: &'a JobRecord,
    spreadsheet: &'a SpreadsheetId,
    /// The sheet's `sheetId`.
    sheet_id: i32,
    /// The sheet as read at the start of the write, indexed by id.
    index: SheetIndex<'a>,
}

impl Writer<'_> {
    /// Plans and writes one group of answered rows (one call, or none when every row is kept or
    /// failed) and settles them.
    async fn write(&self, rows: Vec<Answered>, tally: &mut Tally) -> Result<(), StepError> {
        if rows.is_empty() {
            return Ok(());
        }
        // The answers are moved, not copied: a job's answers are its largest data.
        let (seqs, results): (Vec<i64>, Vec<(RowId, Generated)>) =
            rows.into_iter().map(|(seq, id, g)| (seq, (id, g))).unzip();
        let (sheet_id, overwrite) = (self.sheet_id, self.job.overwrite);
        let plan = plan_with_index(sheet_id, &self.index, &results, overwrite);
        if !plan.blocks.is_empty() {
            let report = self
                .svc
                .sheets
                .write_blocks(self.spreadsheet, &plan.blocks)
                .await?;
            tally.cells += report.updated_cells;
            tally.calls += report.calls;
        }
        let updates = settle(&seqs, &results, &plan, &self.index);
        self.svc
            .store
            .set_row_states(&self.job.id, &updates)
            .await?;
        let count = |state: RowState| updates.iter().filter(|u| u.state == state).count() as u64;
        metrics::counter!(crate::metrics::ROWS_WRITTEN).increment(count(RowState::Done));
        metrics::counter!(crate::metrics::ROWS_FAILED, "stage" => "sheet")
            .increment(count(RowState::Failed));
        tally.rows += updates.len();
        Ok(())
    }
}

/// The new state of each answered row (`seqs[i]` is the row of `results[i]`) after the write
/// `plan` over the sheet as it was read (`index`).
fn settle(
    seqs: &[i64],
    results: &[(RowId, Generated)],
    plan: &WritePlan,
    index: &SheetIndex<'_>,
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
            None if index.find(id).is_ok_and(|row| row_holds(row, ours)) => RowUpdate::done(*seq),
            None => RowUpdate::skipped(*seq, problem.to_string()),
        });
    }
    updates
}

/// True when `row` (the one row holding the answer's id) already holds our answer `g`: every
/// filled cell of C–F was filled, and at least one of the text columns D–F holds exactly our text
/// (a person does not type the model's paragraph word for word). Covers a write that Google
/// applied but the server never heard back about — including one that filled only the cells a
/// person had left empty.
fn row_holds(row: &SheetRow, g: &Generated) -> bool {
    let cell = |i: usize| row.cells.get(2 + i).map(String::as_str).unwrap_or("");
    let columns = g.columns();
    (0..columns.len()).all(|i| !cell(i).trim().is_empty())
        && (1..columns.len()).any(|i| !columns[i].is_empty() && cell(i) == columns[i])
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

    /// What `settle` asks: does the one row holding `id` hold our answer?
    fn holds(rows: &[SheetRow], id: &RowId, g: &Generated) -> bool {
        SheetIndex::new(rows)
            .find(id)
            .is_ok_and(|row| row_holds(row, g))
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
        assert!(holds(&ours, &id, &g));
        let around_person = row(&[
            "07-20",
            "Moon",
            "1969",
            "typed",
            &g.detail,
            &g.related_movies,
        ]);
        assert!(holds(&around_person, &id, &g));
        let person = row(&["07-20", "Moon", "1969", "a", "b", "c"]);
        assert!(!holds(&person, &id, &g));
        let partial = row(&["07-20", "Moon", "", &g.simple, &g.detail, &g.related_movies]);
        assert!(!holds(&partial, &id, &g), "an empty cell means not written");
        let other_id = row(&[
            "07-21",
            "Moon",
            "1969",
            &g.simple,
            &g.detail,
            &g.related_movies,
        ]);
        assert!(!holds(&other_id, &id, &g));
    }
}
