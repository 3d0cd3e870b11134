//! Turning the rows a person selected into the rows of a job: which are sent to the model, which
//! are skipped (a header row, C–F already filled) and which fail at once (no id, no title, an id
//! used twice in the selection), each failure with its [`FailureCode`] and a sentence in the words
//! of where the rows come from ([`Place`]: a sheet's columns or a file's fields). Pure functions,
//! no I/O.

use std::collections::HashMap;

use almanac_core::domain::{RowId, RowIdProblem, SheetRow};
use almanac_core::state::{FailureCode, RowState};
use almanac_sheets::filled_columns;
use almanac_store::NewRow;

/// Longest title accepted, in characters (a title is one event's name, not an essay).
pub const MAX_TITLE_CHARS: usize = 500;

/// Where the rows come from, for the sentences people read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// A Google Sheet: columns A–F, the sidebar's overwrite choice.
    Sheet,
    /// An events file of the command line: fields, `--overwrite`.
    File,
}

impl Place {
    fn id(self) -> &'static str {
        match self {
            Place::Sheet => "the id in column A",
            Place::File => "the id field",
        }
    }

    fn ids(self) -> &'static str {
        match self {
            Place::Sheet => "the ids in column A",
            Place::File => "the ids in the id field",
        }
    }

    fn id_place(self) -> &'static str {
        match self {
            Place::Sheet => "column A",
            Place::File => "the id field",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Place::Sheet => "the title in column B",
            Place::File => "the title field",
        }
    }

    fn filled(self) -> &'static str {
        match self {
            Place::Sheet => "C–F are already filled (choose overwrite to replace them)",
            Place::File => {
                "year, content_simple, content_detailed and related_movies are already filled (pass --overwrite to replace them)"
            }
        }
    }
}

/// [`classify_in`] for rows of a sheet.
pub fn classify(rows: &[SheetRow], overwrite: bool) -> Vec<NewRow> {
    classify_in(rows, overwrite, Place::Sheet)
}

/// Classifies the selected rows (as read, A–H) into the rows of a new job.
///
/// Rules, in order: a row whose A and B read `id` and `title` is the header row and is skipped;
/// a row with an invalid id or an empty title fails with a reason; a row whose C–F are all filled
/// is skipped unless `overwrite`; an id that appears on several selected rows fails on each of
/// them (results are matched by id, so they could not be told apart). Everything else is
/// `pending`. The output has one entry per input row, in the same order.
pub fn classify_in(rows: &[SheetRow], overwrite: bool, place: Place) -> Vec<NewRow> {
    let mut out: Vec<NewRow> = rows.iter().map(|r| one(r, overwrite, place)).collect();
    fail_duplicates(&mut out, place);
    out
}

/// Classifies one row by [`classify_in`]'s rules but the last (an id used on several rows is
/// found only over all of them): for rows read one at a time from a file whose ids are already
/// known to be unique.
pub fn classify_row(row: &SheetRow, overwrite: bool, place: Place) -> NewRow {
    one(row, overwrite, place)
}

/// One row on its own (duplicates are found afterwards).
fn one(row: &SheetRow, overwrite: bool, place: Place) -> NewRow {
    let cell = |i: usize| row.cells.get(i).map(String::as_str).unwrap_or("");
    let (raw_id, title) = (cell(0).trim(), cell(1).trim());
    let mut new = NewRow {
        row_id: raw_id.to_owned(),
        title: title.to_owned(),
        row_number: row.row_number,
        state: RowState::Pending,
        reason: None,
        failure_code: None,
    };
    let mut fail = |code, reason: String| {
        new.state = RowState::Failed;
        new.reason = Some(reason);
        new.failure_code = Some(code);
    };
    if raw_id.eq_ignore_ascii_case("id") && title.eq_ignore_ascii_case("title") {
        return skipped(new, "header row");
    } else if raw_id.is_empty() && title.is_empty() {
        return skipped(new, "empty row");
    } else if let Some(problem) = RowId::problem(raw_id) {
        let code = match problem {
            RowIdProblem::Empty => FailureCode::IdMissing,
            _ => FailureCode::IdInvalid,
        };
        let (id, at) = (place.id(), place.id_place());
        fail(code, format!("{id} {problem}: put a unique id in {at}"));
    } else if title.is_empty() {
        let title = place.title();
        fail(
            FailureCode::TitleMissing,
            format!("{title} is empty: write the event's name there"),
        );
    } else if title.chars().count() > MAX_TITLE_CHARS {
        let title = place.title();
        fail(
            FailureCode::TitleTooLong,
            format!("{title} is longer than {MAX_TITLE_CHARS} characters: shorten it"),
        );
    } else if !overwrite && filled_columns(row).iter().all(|f| *f) {
        return skipped(new, place.filled());
    }
    new
}

fn skipped(mut row: NewRow, reason: &str) -> NewRow {
    row.state = RowState::Skipped;
    row.reason = Some(reason.to_owned());
    row
}

/// Fails every pending row whose id is on several pending rows (`id_duplicated`).
fn fail_duplicates(out: &mut [NewRow], place: Place) {
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
                "id {id} appears on rows {} of the selection: make {} unique",
                numbers.join(", "),
                place.ids()
            );
            (idx, reason)
        })
        .collect();
    for (idx, reason) in duplicated {
        for i in idx {
            out[i].state = RowState::Failed;
            out[i].reason = Some(reason.clone());
            out[i].failure_code = Some(FailureCode::IdDuplicated);
        }
    }
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
        assert_eq!(out[4].failure_code, Some(FailureCode::IdMissing));
        assert_eq!(out[5].failure_code, Some(FailureCode::TitleMissing));
    }

    #[test]
    fn a_files_rows_are_told_in_the_files_words() {
        let rows = [
            row(2, &["", "No id"]),
            row(3, &["a", "x", "1", "s", "d", "m"]),
        ];
        let out = classify_in(&rows, false, Place::File);
        assert_eq!(
            out[0].reason.as_deref(),
            Some("the id field is empty: put a unique id in the id field")
        );
        assert!(
            out[1]
                .reason
                .as_deref()
                .unwrap()
                .contains("pass --overwrite")
        );
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
        assert_eq!(out[2].failure_code, Some(FailureCode::IdDuplicated));
    }
}
