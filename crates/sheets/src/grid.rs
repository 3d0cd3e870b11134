//! `GridRange`: cells addressed by the sheet's `sheetId` and 0-based, half-open row and column
//! indexes, as the Sheets API's `DataFilter`s take them
//! (<https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets/other#GridRange>).
//! A sheet's id survives a rename where its title does not, so every read and write of a job
//! addresses its sheet this way; the title is only learnt from the answer's `range` (A1).
//!
//! Rows are 1-based in the rest of the backend (as people number them); the conversion to Google's
//! 0-based indexes happens here only.

use crate::a1;

/// A rectangle of one sheet. `None` ends are unbounded (the sheet's first or last row/column), as
/// in Google's `GridRange`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GridRange {
    /// The sheet's `sheetId` (the `gid` in its URL).
    pub sheet_id: i32,
    /// First row, 0-based, inclusive (`startRowIndex`).
    pub start_row_index: Option<u32>,
    /// Last row, 0-based, exclusive (`endRowIndex`).
    pub end_row_index: Option<u32>,
    /// First column, 0-based, inclusive (`startColumnIndex`; `0` = `A`).
    pub start_column_index: Option<u32>,
    /// Last column, 0-based, exclusive (`endColumnIndex`).
    pub end_column_index: Option<u32>,
}

impl GridRange {
    /// Rows `first_row..=last_row` (1-based, inclusive) of columns `first_col..=last_col` (0-based,
    /// inclusive): `rows(7, 2, 17, 0, 7)` is `A2:H17` of sheet 7.
    pub fn rows(
        sheet_id: i32,
        first_row: u32,
        last_row: u32,
        first_col: u32,
        last_col: u32,
    ) -> Self {
        GridRange {
            sheet_id,
            start_row_index: Some(first_row.saturating_sub(1)),
            end_row_index: Some(last_row),
            start_column_index: Some(first_col),
            end_column_index: Some(last_col + 1),
        }
    }

    /// Whole columns `first_col..=last_col` (0-based, inclusive), every row: `A:F`.
    pub fn columns(sheet_id: i32, first_col: u32, last_col: u32) -> Self {
        GridRange {
            sheet_id,
            start_row_index: None,
            end_row_index: None,
            start_column_index: Some(first_col),
            end_column_index: Some(last_col + 1),
        }
    }

    /// The 1-based number of the first row, when bounded.
    pub fn first_row(&self) -> Option<u32> {
        self.start_row_index.map(|i| i + 1)
    }

    /// The range in A1 notation on the sheet titled `title`, for messages and logs: `'My sheet'!C5:F5`
    /// (a single cell as `'My sheet'!F5`, whole columns as `T!A:F`).
    pub fn a1(&self, title: &str) -> String {
        let first_col = self.start_column_index.unwrap_or(0);
        let last_col = self
            .end_column_index
            .map_or(first_col, |e| e.saturating_sub(1));
        match (self.start_row_index, self.end_row_index) {
            (Some(start), Some(end)) => {
                a1::rows_range(title, first_col, last_col, start + 1, end.max(start + 1))
            }
            _ => a1::columns_range(title, first_col, last_col),
        }
    }

    /// The API's `GridRange`.
    pub fn to_api(&self) -> google_sheets4::api::GridRange {
        let index = |i: Option<u32>| i.and_then(|i| i32::try_from(i).ok());
        google_sheets4::api::GridRange {
            sheet_id: Some(self.sheet_id),
            start_row_index: index(self.start_row_index),
            end_row_index: index(self.end_row_index),
            start_column_index: index(self.start_column_index),
            end_column_index: index(self.end_column_index),
        }
    }

    /// A `DataFilter` selecting this range.
    pub fn to_filter(&self) -> google_sheets4::api::DataFilter {
        google_sheets4::api::DataFilter {
            grid_range: Some(self.to_api()),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_columns_become_googles_zero_based_half_open_indexes() {
        let r = GridRange::rows(7, 2, 17, 0, 7);
        assert_eq!(
            (
                r.start_row_index,
                r.end_row_index,
                r.start_column_index,
                r.end_column_index
            ),
            (Some(1), Some(17), Some(0), Some(8))
        );
        assert_eq!(r.a1("Events"), "Events!A2:H17");
        assert_eq!(r.first_row(), Some(2));
        assert_eq!(
            GridRange::rows(0, 5, 5, 5, 5).a1("My sheet"),
            "'My sheet'!F5"
        );
        let c = GridRange::columns(0, 0, 5);
        assert_eq!(c.a1("T"), "T!A:F");
        let api = serde_json::to_value(c.to_api()).unwrap();
        assert_eq!(api["endColumnIndex"], 6);
        assert_eq!(api["startColumnIndex"], 0);
    }
}
