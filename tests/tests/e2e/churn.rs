//! A changing sheet: people edit the sheet while the job's batch runs. Every cell is checked
//! afterwards: values only on the row whose id matches, human edits kept, problem rows reported.

use std::collections::HashMap;

use almanac_emulator::HoldPoint;
use almanac_emulator::generate::year_for;
use almanac_protocol::{JobStatus, RowState};
use almanac_tests::{ENGLISH_CSV, SPREADSHEET, fast, spawn_app};

const MODEL: &str = "gpt-4.1-nano-2025-04-14";

#[tokio::test]
async fn inserts_deletes_a_sort_a_rename_a_duplicated_and_a_removed_id_and_typed_cells_during_the_job_put_every_value_on_its_own_row()
 {
    let app = spawn_app(fast()).await;
    app.add_sheet(7, "Events", ENGLISH_CSV);
    let before = app.emulator.sheet_rows(SPREADSHEET, 7);
    // Rows 2..=41: ids 01-01 … (40 rows).
    let selected: Vec<(String, String)> = before[1..41]
        .iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    app.emulator.hold_batches(true);
    let job = app.create_job(&app.request(7, 2, 41, MODEL)).await;
    app.wait_in_progress(&job.id).await;

    let id_at = |i: usize| selected[i].0.clone();
    let (deleted, duplicated, removed, partly_typed, fully_typed) =
        (id_at(4), id_at(9), id_at(11), id_at(14), id_at(15));
    let find = |id: &str| -> usize {
        app.emulator
            .sheet_rows(SPREADSHEET, 7)
            .iter()
            .position(|r| r.first().map(String::as_str) == Some(id))
            .unwrap()
    };
    // Two rows inserted above the selection (new ids, no content).
    app.emulator.insert_rows(
        SPREADSHEET,
        7,
        1,
        vec![
            vec!["new-1".into(), "Inserted during the job".into()],
            vec!["new-2".into(), "Also inserted".into()],
        ],
    );
    // One selected row deleted.
    app.emulator.delete_rows(SPREADSHEET, 7, find(&deleted), 1);
    // The whole table sorted by title, descending (rows move far from where they were).
    app.emulator.sort_rows(SPREADSHEET, 7, 1, 1, true);
    // The sheet renamed.
    app.emulator
        .rename_sheet(SPREADSHEET, 7, "Events (renamed)");
    // An id duplicated into a row far below, and another id erased.
    app.emulator
        .set_cell(SPREADSHEET, 7, 400, 0, duplicated.as_str());
    app.emulator
        .set_cell(SPREADSHEET, 7, 400, 1, "A copy with the same id");
    app.emulator.set_cell(SPREADSHEET, 7, find(&removed), 0, "");
    // A person types into D of one row, and into all of C–F of another.
    app.emulator
        .set_cell(SPREADSHEET, 7, find(&partly_typed), 3, "typed by a person");
    let full = find(&fully_typed);
    for col in 2..6 {
        app.emulator
            .set_cell(SPREADSHEET, 7, full, col, &format!("person {col}"));
    }
    let typed_snapshot = app.emulator.sheet_rows(SPREADSHEET, 7);

    app.emulator.hold_batches(false);
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    assert_eq!(job.sheet_title, "Events (renamed)");

    // The rows' states and reasons.
    let rows: HashMap<&str, &almanac_protocol::JobRow> =
        job.rows.iter().map(|r| (r.id.as_str(), r)).collect();
    let reason = |id: &str| rows[id].reason.clone().unwrap_or_default();
    assert_eq!(rows[deleted.as_str()].state, RowState::Failed);
    assert!(
        reason(&deleted).contains("no longer in column A"),
        "{}",
        reason(&deleted)
    );
    assert_eq!(rows[duplicated.as_str()].state, RowState::Failed);
    assert!(
        reason(&duplicated).contains("appears in rows"),
        "{}",
        reason(&duplicated)
    );
    assert_eq!(rows[removed.as_str()].state, RowState::Failed);
    assert!(reason(&removed).contains("no longer in column A"));
    assert_eq!(rows[fully_typed.as_str()].state, RowState::Skipped);
    assert!(reason(&fully_typed).contains("already has C–F filled"));
    assert_eq!(rows[partly_typed.as_str()].state, RowState::Done);
    assert_eq!(job.row_counts.done, 40 - 4, "{:#?}", job.row_counts);

    // Every cell of the sheet.
    let after = app.emulator.sheet_rows(SPREADSHEET, 7);
    let titles: HashMap<&str, &str> = selected
        .iter()
        .map(|(id, title)| (id.as_str(), title.as_str()))
        .collect();
    let problem = [deleted.as_str(), duplicated.as_str(), removed.as_str()];
    for (i, row) in after.iter().enumerate() {
        let cell = |c: usize| row.get(c).map(String::as_str).unwrap_or("");
        let id = cell(0);
        let typed = &typed_snapshot[i];
        let snapshot = |c: usize| typed.get(c).map(String::as_str).unwrap_or("");
        // What a person typed is never overwritten.
        for c in 2..6 {
            if !snapshot(c).is_empty() {
                assert_eq!(cell(c), snapshot(c), "row {} col {c} overwritten", i + 1);
            }
        }
        match titles.get(id) {
            Some(title) if !problem.contains(&id) && id != fully_typed => {
                assert_eq!(cell(1), *title, "row {} moved without its title", i + 1);
                if snapshot(2).is_empty() {
                    assert_eq!(cell(2), year_for(title).to_string(), "row {}", i + 1);
                }
                for c in 3..6 {
                    if snapshot(c).is_empty() {
                        assert!(
                            cell(c).contains(title),
                            "row {} col {c} holds {:?}, not content about {title:?}",
                            i + 1,
                            cell(c)
                        );
                    }
                }
            }
            _ => {
                // Any other row — the inserted ones, the problem rows, rows never selected —
                // holds exactly what it held before the write.
                assert_eq!(row, &typed_snapshot[i], "row {} changed", i + 1);
            }
        }
    }
    let writes = app.emulator.cell_writes(SPREADSHEET, 7);
    assert!(writes.values().all(|n| *n == 1), "{writes:?}");
    assert_eq!(
        writes.len(),
        35 * 4 + 3,
        "35 whole rows and the three free cells of one"
    );
}

#[tokio::test]
async fn a_sheet_renamed_between_the_write_steps_read_and_its_write_still_gets_every_cell_right() {
    let app = spawn_app(fast()).await;
    app.add_sheet(7, "Events", ENGLISH_CSV);
    let selected: Vec<(String, String)> = app.emulator.sheet_rows(SPREADSHEET, 7)[1..31]
        .iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    let job = app.create_job(&app.request(7, 2, 31, MODEL)).await;
    // The creation's read is done; the next read of values is the write step's.
    let mut hold = app.emulator.hold_next(HoldPoint::ValuesBatchGet);
    assert!(hold.reached().await, "the write step reads the sheet");
    let writes_before = app.emulator.calls().values_batch_update_by_data_filter;
    assert_eq!(writes_before, 0, "held between the read and the write");
    app.emulator
        .rename_sheet(SPREADSHEET, 7, "Renamed between read and write");
    hold.release();
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    assert_eq!(job.row_counts.done, 30, "{:#?}", job.row_counts);
    let after = app.emulator.sheet_rows(SPREADSHEET, 7);
    for (i, (id, title)) in selected.iter().enumerate() {
        let row = &after[i + 1];
        assert_eq!(&row[0], id);
        assert_eq!(row[2], year_for(title).to_string(), "row {}", i + 2);
        for (c, cell) in row.iter().enumerate().take(6).skip(3) {
            assert!(
                cell.contains("[emulated]") && cell.contains(title.as_str()),
                "row {} col {c}: {cell:?}",
                i + 2
            );
        }
    }
    // Rows outside the selection are untouched, and the write was one call by sheetId.
    assert!(
        after[32].get(2).is_none_or(String::is_empty),
        "{:?}",
        after[32]
    );
    assert_eq!(app.emulator.calls().values_batch_update_by_data_filter, 1);
}
