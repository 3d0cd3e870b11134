//! What the selection means before anything is sent: how many rows are selected, which are
//! skipped (already filled, or the header row), which cannot be generated (no id or title), which
//! will be generated, and the contiguous row spans to send in `POST /api/v1/jobs`. Pure logic,
//! tested on the host.

use almanac_protocol::{EstimateRow, RowSpan, SelectedRow};

/// The selection, classified the way the backend will classify it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SelectionSummary {
    /// Rows selected (header included).
    pub selected: usize,
    /// Whether the sheet's header row is in the selection (it is never sent).
    pub has_header: bool,
    /// Rows whose C–F are all filled: skipped.
    pub filled: usize,
    /// Row numbers without an id (A) or a title (B): they would fail.
    pub missing: Vec<u32>,
    /// Rows that will be sent to the model.
    pub to_generate: Vec<EstimateRow>,
    /// One span per contiguous block of selected rows, top to bottom.
    pub spans: Vec<RowSpan>,
}

impl SelectionSummary {
    /// Classifies `rows` (in any order; duplicates count once).
    pub fn of(rows: &[SelectedRow]) -> SelectionSummary {
        let mut rows: Vec<&SelectedRow> = rows.iter().collect();
        rows.sort_by_key(|r| r.row_number);
        rows.dedup_by_key(|r| r.row_number);
        let mut summary = SelectionSummary {
            selected: rows.len(),
            spans: spans(rows.iter().map(|r| r.row_number)),
            ..SelectionSummary::default()
        };
        for row in rows {
            if is_header(row) {
                summary.has_header = true;
            } else if row.id.trim().is_empty() || row.title.trim().is_empty() {
                summary.missing.push(row.row_number);
            } else if row.is_filled() {
                summary.filled += 1;
            } else {
                summary.to_generate.push(EstimateRow {
                    id: row.id.trim().to_owned(),
                    title: row.title.trim().to_owned(),
                });
            }
        }
        summary
    }

    /// True when nothing at all is selected.
    pub fn is_empty(&self) -> bool {
        self.selected == 0
    }

    /// True when the job would generate at least one row.
    pub fn can_generate(&self) -> bool {
        !self.to_generate.is_empty()
    }
}

/// Row 1, or a row that reads `id` / `title` like the sample sheet's header.
pub fn is_header(row: &SelectedRow) -> bool {
    row.row_number == 1
        || (row.id.trim().eq_ignore_ascii_case("id")
            && row.title.trim().eq_ignore_ascii_case("title"))
}

/// Contiguous spans of ascending, distinct row numbers.
pub fn spans(sorted_rows: impl IntoIterator<Item = u32>) -> Vec<RowSpan> {
    let mut out: Vec<RowSpan> = Vec::new();
    for n in sorted_rows {
        match out.last_mut() {
            Some(span) if span.end_row + 1 == n => span.end_row = n,
            Some(span) if span.end_row >= n => {}
            _ => out.push(RowSpan {
                start_row: n,
                end_row: n,
            }),
        }
    }
    out
}

/// Row numbers as people write them: `2–5, 8, 10–11`.
pub fn describe_rows(rows: &[u32]) -> String {
    spans(rows.iter().copied())
        .iter()
        .map(|s| {
            if s.start_row == s.end_row {
                s.start_row.to_string()
            } else {
                format!("{}–{}", s.start_row, s.end_row)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: u32, id: &str, title: &str, filled: [bool; 4]) -> SelectedRow {
        SelectedRow {
            row_number: n,
            id: id.into(),
            title: title.into(),
            filled,
        }
    }

    const EMPTY: [bool; 4] = [false; 4];
    const FULL: [bool; 4] = [true; 4];

    #[test]
    fn an_empty_selection_has_nothing_to_generate() {
        let s = SelectionSummary::of(&[]);
        assert!(s.is_empty());
        assert!(!s.can_generate());
        assert!(s.spans.is_empty());
    }

    #[test]
    fn header_filled_and_incomplete_rows_are_counted_apart_from_rows_to_generate() {
        let s = SelectionSummary::of(&[
            row(1, "id", "title", EMPTY),
            row(2, "01-01", "New year", EMPTY),
            row(3, "03-01", "Independence movement", FULL),
            row(4, "", "No id", EMPTY),
            row(5, "05-05", " ", EMPTY),
            row(6, "06-06", "Memorial day", [true, true, false, false]),
        ]);
        assert_eq!(s.selected, 6);
        assert!(s.has_header);
        assert_eq!(s.filled, 1);
        assert_eq!(s.missing, vec![4, 5]);
        let ids: Vec<&str> = s.to_generate.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, vec!["01-01", "06-06"]);
    }

    #[test]
    fn a_header_below_row_one_is_recognised_by_its_words() {
        assert!(is_header(&row(7, " ID ", "Title", EMPTY)));
        assert!(!is_header(&row(7, "id-7", "Title", EMPTY)));
    }

    #[test]
    fn spans_join_contiguous_rows_and_split_at_gaps_in_any_input_order() {
        let s = SelectionSummary::of(&[
            row(9, "a", "a", EMPTY),
            row(3, "b", "b", EMPTY),
            row(4, "c", "c", EMPTY),
            row(3, "b", "b", EMPTY),
            row(10, "d", "d", EMPTY),
        ]);
        let pairs: Vec<(u32, u32)> = s.spans.iter().map(|s| (s.start_row, s.end_row)).collect();
        assert_eq!(pairs, vec![(3, 4), (9, 10)]);
        assert_eq!(s.selected, 4);
    }

    #[test]
    fn row_lists_read_as_ranges() {
        assert_eq!(describe_rows(&[2, 3, 4, 8, 10, 11]), "2–4, 8, 10–11");
        assert_eq!(describe_rows(&[]), "");
    }
}
