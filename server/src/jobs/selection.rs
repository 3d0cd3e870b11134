//! Turning the rows a person selected into the rows of a job: which are sent to the model, which
//! are skipped (a header row, C–F already filled) and which fail at once (no id, no title, an id
//! used twice in the selection). Pure functions, no I/O.

use std::collections::HashMap;

use almanac_protocol::RowState;

use almanac_core::domain::RowId;
use almanac_sheets::{SheetRow, plan::filled_columns};
use almanac_store::NewRow;

/// Longest title accepted, in characters (a title is one event's name, not an essay).
pub const MAX_TITLE_CHARS: usize = 500;

/// Classifies the selected rows (as read from the sheet, A–H) into the rows of a new job.
///
/// Rules, in order: a row whose A and B read `id` and `title` is the header row and is skipped;
/// a row with an invalid id or an empty title fails with a reason; a row whose C–F are all filled
/// is skipped unless `overwrite`; an id that appears on several selected rows fails on each of
/// them (results are matched by id, so they could not be told apart). Everything else is
/// `pending`. The output has one entry per input row, in the same order.
pub fn classify(rows: &[SheetRow], overwrite: bool) -> Vec<NewRow> {
    let mut out: Vec<NewRow> = rows
        .iter()
        .map(|row| {
            let cell = |i: usize| row.cells.get(i).map(String::as_str).unwrap_or("");
            let (raw_id, raw_title) = (cell(0), cell(1));
            let title = raw_title.trim().to_owned();
            let mut new = NewRow {
                row_id: raw_id.trim().to_owned(),
                title: title.clone(),
                row_number: row.row_number,
                state: RowState::Pending,
                reason: None,
            };
            let mut set = |state, reason: String| {
                new.state = state;
                new.reason = Some(reason);
            };
            if raw_id.trim().eq_ignore_ascii_case("id") && title.eq_ignore_ascii_case("title") {
                set(RowState::Skipped, "header row".into());
            } else if raw_id.trim().is_empty() && title.is_empty() {
                set(RowState::Skipped, "empty row".into());
            } else if let Err(e) = RowId::parse(raw_id) {
                set(RowState::Failed, format!("{e}: put a unique id in column A"));
            } else if title.is_empty() {
                set(
                    RowState::Failed,
                    "the title in column B is empty: write the event's name there".into(),
                );
            } else if title.chars().count() > MAX_TITLE_CHARS {
                set(
                    RowState::Failed,
                    format!(
                        "the title in column B is longer than {MAX_TITLE_CHARS} characters: shorten it"
                    ),
                );
            } else if !overwrite && filled_columns(row).iter().all(|f| *f) {
                set(
                    RowState::Skipped,
                    "C–F are already filled (choose overwrite to replace them)".into(),
                );
            }
            new
        })
        .collect();

    let mut by_id: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, row) in out.iter().enumerate() {
        if row.state == RowState::Pending {
            by_id.entry(row.row_id.as_str()).or_default().push(i);
        }
    }
    let duplicated: Vec<(Vec<usize>, String)> = by_id
        .into_iter()
        .filter(|(_, idx)| idx.len() > 1)
        .map(|(id, idx)| {
            let numbers: Vec<String> = idx.iter().map(|&i| out[i].row_number.to_string()).collect();
            let reason = format!(
                "id {id} appears on rows {} of the selection: make the ids in column A unique",
                numbers.join(", ")
            );
            (idx, reason)
        })
        .collect();
    for (idx, reason) in duplicated {
        for i in idx {
            out[i].state = RowState::Failed;
            out[i].reason = Some(reason.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: u32, cells: &[&str]) -> SheetRow {
        let mut cells: Vec<String> = cells.iter().map(|s| s.to_string()).collect();
        cells.resize(8, String::new());
        SheetRow {
            row_number: n,
            cells,
        }
    }

    #[test]
    fn header_filled_and_invalid_rows_are_set_aside_with_reasons() {
        let rows = [
            row(1, &["id", "title", "year"]),
            row(2, &["01-27", "Liberation", "", "", "", ""]),
            row(3, &["08-15", "광복절", "1945", "simple", "", ""]),
            row(4, &["09-01", "War", "1939", "s", "d", "m"]),
            row(5, &["", "No id"]),
            row(6, &["10-09", "  "]),
            row(7, &[]),
        ];
        let out = classify(&rows, false);
        let states: Vec<RowState> = out.iter().map(|r| r.state).collect();
        assert_eq!(
            states,
            [
                RowState::Skipped,
                RowState::Pending,
                RowState::Pending,
                RowState::Skipped,
                RowState::Failed,
                RowState::Failed,
                RowState::Skipped,
            ]
        );
        assert!(out[4].reason.as_deref().unwrap().contains("column A"));
        assert!(out[5].reason.as_deref().unwrap().contains("column B"));
    }

    #[test]
    fn overwrite_sends_filled_rows_again() {
        let rows = [row(4, &["09-01", "War", "1939", "s", "d", "m"])];
        assert_eq!(classify(&rows, true)[0].state, RowState::Pending);
    }

    #[test]
    fn an_id_used_twice_in_the_selection_fails_both_rows() {
        let rows = [
            row(2, &["a", "one"]),
            row(3, &["b", "two"]),
            row(4, &["a", "three"]),
        ];
        let out = classify(&rows, false);
        assert_eq!(out[0].state, RowState::Failed);
        assert_eq!(out[1].state, RowState::Pending);
        assert_eq!(out[2].state, RowState::Failed);
        assert!(out[2].reason.as_deref().unwrap().contains("rows 2, 4"));
    }
}
