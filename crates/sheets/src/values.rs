//! The values of a `ValueRange` as Almanac reads them: the selected spans validated and merged
//! before they become `DataFilter`s, the first row and sheet title of a returned A1 `range`, and
//! a row of cell values as fixed-width strings (see
//! <https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets.values#ValueRange>).

use almanac_protocol::RowSpan;
use google_sheets4::api::ValueRange;

use crate::a1;
use crate::error::SheetsError;

/// Rows above this cannot exist: a spreadsheet holds at most 10 million cells.
pub(crate) const MAX_ROW: u32 = 10_000_000;

/// Validates spans and merges overlapping or adjacent ones; ascending.
pub(crate) fn merge_spans(spans: &[RowSpan]) -> Result<Vec<(u32, u32)>, SheetsError> {
    let mut sorted = Vec::with_capacity(spans.len());
    for s in spans {
        if s.start_row == 0 || s.end_row < s.start_row || s.end_row > MAX_ROW {
            return Err(SheetsError::Other(format!(
                "rows {}–{} are not a valid span: rows start at 1, the end is not before the start and not beyond {MAX_ROW}",
                s.start_row, s.end_row
            )));
        }
        sorted.push((s.start_row, s.end_row));
    }
    sorted.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(sorted.len());
    for (start, end) in sorted {
        match merged.last_mut() {
            Some(last) if start <= last.1.saturating_add(1) => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    Ok(merged)
}

/// The first row of a returned `range` (`'T'!A5:H9` → 5), where `values[0]` belongs.
pub(crate) fn returned_first_row(vr: &ValueRange) -> Option<u32> {
    a1::parse_range(vr.range.as_deref()?).ok()?.first_row()
}

/// The sheet's title in a returned `range` (`'It''s'!A1:F9` → `It's`).
pub(crate) fn returned_title(vr: &ValueRange) -> Option<String> {
    a1::parse_range(vr.range.as_deref()?).ok()?.sheet_title
}

/// One row of values as strings, padded (or cut) to `width`.
pub(crate) fn to_cells(values: Vec<serde_json::Value>, width: usize) -> Vec<String> {
    let mut cells: Vec<String> = values
        .into_iter()
        .take(width)
        .map(|v| match v {
            serde_json::Value::String(s) => s,
            serde_json::Value::Null => String::new(),
            serde_json::Value::Bool(b) => if b { "TRUE" } else { "FALSE" }.to_owned(),
            other => other.to_string(),
        })
        .collect();
    cells.resize(width, String::new());
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_validated_sorted_and_merged_when_they_touch() {
        let span = |start_row, end_row| RowSpan { start_row, end_row };
        assert_eq!(
            merge_spans(&[
                span(10, 12),
                span(2, 4),
                span(5, 5),
                span(11, 20),
                span(30, 30)
            ])
            .unwrap(),
            vec![(2, 5), (10, 20), (30, 30)]
        );
        assert!(merge_spans(&[span(0, 3)]).is_err());
        assert!(merge_spans(&[span(5, 4)]).is_err());
        assert!(merge_spans(&[span(1, MAX_ROW + 1)]).is_err());
        assert_eq!(merge_spans(&[]).unwrap(), vec![]);
    }

    #[test]
    fn ragged_values_become_fixed_width_strings() {
        use serde_json::json;
        assert_eq!(
            to_cells(vec![json!("a"), json!(1945), json!(true)], 5),
            ["a", "1945", "TRUE", "", ""]
        );
        assert_eq!(to_cells(vec![], 2), ["", ""]);
        assert_eq!(
            to_cells(vec![json!("a"), json!("b"), json!("c")], 2),
            ["a", "b"]
        );
    }
}
