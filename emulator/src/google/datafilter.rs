//! The `DataFilter` methods of the Sheets API v4: `values.batchGetByDataFilter` and
//! `values.batchUpdateByDataFilter`
//! (<https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets.values/batchGetByDataFilter>,
//! <https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets.values/batchUpdateByDataFilter>),
//! and the `GridRange` they address cells with: a `sheetId` and 0-based, half-open row and column
//! indexes, any of them left out to mean "unbounded" — so that a client addresses a sheet by the id
//! that survives a rename, not by its title.
//!
//! Filters by `gridRange` and by `a1Range` are served; a `developerMetadataLookup` filter is refused
//! with 400 (not implemented). A `gridRange` naming a `sheetId` the spreadsheet does not have is
//! refused with 400 `INVALID_ARGUMENT` (`No grid with id: …`). Reads are bounded to the grid;
//! a write must fit in the range its filter matches.

use serde_json::{Value, json};

use crate::google::a1::Rect;
use crate::google::error::{GoogleError, bad_request};
use crate::google::spreadsheet::Spreadsheet;
use crate::google::values::{
    self, InputOption, PlannedWrite, WriteCounts, WriteTarget, input_option, value_range,
};

/// The sheet (index) and rectangle a `DataFilter` selects, not yet bounded by the grid.
fn filter_rect(
    spreadsheet: &Spreadsheet,
    filter: &Value,
    at: &str,
) -> Result<(usize, Rect, bool), GoogleError> {
    if let Some(range) = filter.get("a1Range").and_then(Value::as_str) {
        let (index, area) = values::locate(spreadsheet, range)?;
        let sheet = &spreadsheet.sheets[index];
        let rect = values::read_rect(sheet, area)?;
        return Ok((index, rect, area.is_some_and(|a| a.is_single_cell())));
    }
    let Some(grid) = filter.get("gridRange") else {
        return Err(bad_request(&format!(
            "[emulated] {at}: only gridRange and a1Range data filters are implemented"
        )));
    };
    let index_of = |name: &str| grid.get(name).and_then(Value::as_u64).map(|n| n as u32);
    let sheet_id = grid.get("sheetId").and_then(Value::as_i64).unwrap_or(0);
    let index = i32::try_from(sheet_id)
        .ok()
        .and_then(|id| spreadsheet.sheet_index(id))
        .ok_or_else(|| bad_request(&format!("Invalid {at}: No grid with id: {sheet_id}")))?;
    let sheet = &spreadsheet.sheets[index];
    let r1 = index_of("startRowIndex").unwrap_or(0);
    let c1 = index_of("startColumnIndex").unwrap_or(0);
    let r2 = index_of("endRowIndex").unwrap_or(sheet.row_count);
    let c2 = index_of("endColumnIndex").unwrap_or(sheet.col_count);
    if r2 <= r1 || c2 <= c1 {
        return Err(bad_request(&format!(
            "Invalid {at}: the range is empty (end index before or at the start index)"
        )));
    }
    let rect = Rect {
        r1,
        c1,
        r2: r2 - 1,
        c2: c2 - 1,
    };
    Ok((index, rect, false))
}

/// `POST {id}/values:batchGetByDataFilter`: one `MatchedValueRange` (`valueRange` and the
/// `dataFilters` that matched it) per filter, in order.
///
/// # Errors
/// 400 for a filter that names no sheet or lies beyond the grid.
pub fn batch_get(spreadsheet: &Spreadsheet, request: &Value) -> Result<Value, GoogleError> {
    let columns = request.get("majorDimension").and_then(Value::as_str) == Some("COLUMNS");
    let filters = request
        .get("dataFilters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut matched = Vec::with_capacity(filters.len());
    for (i, filter) in filters.iter().enumerate() {
        let (index, rect, _) = filter_rect(spreadsheet, filter, &format!("dataFilters[{i}]"))?;
        let sheet = &spreadsheet.sheets[index];
        if rect.r1 >= sheet.row_count || rect.c1 >= sheet.col_count {
            return Err(values::exceeds_grid(sheet, rect));
        }
        let bounded = Rect {
            r2: rect.r2.min(sheet.row_count - 1),
            c2: rect.c2.min(sheet.col_count - 1),
            ..rect
        };
        matched.push(json!({
            "valueRange": value_range(sheet, bounded, columns),
            "dataFilters": [filter],
        }));
    }
    let mut out = json!({"spreadsheetId": spreadsheet.id});
    if !matched.is_empty() {
        out["valueRanges"] = json!(matched);
    }
    Ok(out)
}

/// `POST {id}/values:batchUpdateByDataFilter`: checks every write (each must fit in the range its
/// filter matches), then applies them all; the answer has the totals and one
/// `UpdateValuesByDataFilterResponse` per write (with its `dataFilter`).
///
/// # Errors
/// 400 for a missing `valueInputOption`, a filter that names no sheet, values beyond the matched
/// range or the grid, a cell over 50,000 characters; nothing is written then.
pub fn batch_update(
    spreadsheet: &mut Spreadsheet,
    request: &Value,
    writes: &mut WriteCounts,
) -> Result<Value, GoogleError> {
    let option = input_option(request.get("valueInputOption").and_then(Value::as_str))?;
    let include_values = request
        .get("includeValuesInResponse")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let data = request
        .get("data")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let plans = data
        .iter()
        .enumerate()
        .map(|(i, item)| plan(spreadsheet, item, i, option))
        .collect::<Result<Vec<PlannedWrite>, GoogleError>>()?;
    let (mut out, responses) = values::apply_all(spreadsheet, &plans, include_values, writes);
    let responses: Vec<Value> = responses
        .into_iter()
        .zip(&data)
        .map(|(mut response, item)| {
            if let Some(fields) = response.as_object_mut() {
                fields.remove("spreadsheetId");
                fields.insert("dataFilter".into(), item["dataFilter"].clone());
            }
            response
        })
        .collect();
    if !responses.is_empty() {
        out["responses"] = json!(responses);
    }
    Ok(out)
}

/// Checks the `i`-th `DataFilterValueRange` of a write.
fn plan(
    spreadsheet: &Spreadsheet,
    item: &Value,
    i: usize,
    option: InputOption,
) -> Result<PlannedWrite, GoogleError> {
    let at = format!("data[{i}].dataFilter");
    let filter = item
        .get("dataFilter")
        .ok_or_else(|| bad_request(&format!("{at} is required")))?;
    let (sheet_index, rect, single_cell) = filter_rect(spreadsheet, filter, &at)?;
    let sheet = &spreadsheet.sheets[sheet_index];
    let label = crate::google::a1::format_range(&sheet.title, rect);
    let target = WriteTarget {
        sheet_index,
        start_row: rect.r1,
        start_col: rect.c1,
        bounds: (!single_cell).then_some(rect),
        label: &label,
    };
    values::plan_write_at(sheet, &target, item, option)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::spreadsheet::Sheet;

    fn spreadsheet() -> Spreadsheet {
        Spreadsheet {
            id: "s".into(),
            title: "t".into(),
            sheets: vec![Sheet::new(
                7,
                "It's",
                vec![vec!["a".into(), "b".into()], vec!["c".into()]],
            )],
            ..Default::default()
        }
    }

    #[test]
    fn grid_ranges_read_by_sheet_id_and_report_the_current_title() {
        let s = spreadsheet();
        let req = json!({"dataFilters": [
            {"gridRange": {"sheetId": 7, "startRowIndex": 0, "endRowIndex": 2, "startColumnIndex": 0, "endColumnIndex": 2}},
            {"gridRange": {"sheetId": 7, "startColumnIndex": 0, "endColumnIndex": 1}},
        ]});
        let out = batch_get(&s, &req).unwrap();
        let first = &out["valueRanges"][0];
        assert_eq!(first["valueRange"]["range"], "'It''s'!A1:B2");
        assert_eq!(first["valueRange"]["values"], json!([["a", "b"], ["c"]]));
        assert_eq!(first["dataFilters"][0]["gridRange"]["sheetId"], 7);
        assert_eq!(
            out["valueRanges"][1]["valueRange"]["range"],
            "'It''s'!A1:A1000"
        );
        let missing = json!({"dataFilters": [{"gridRange": {"sheetId": 8}}]});
        assert!(
            batch_get(&s, &missing)
                .unwrap_err()
                .message
                .contains("No grid with id: 8")
        );
    }

    #[test]
    fn a_write_must_fit_its_grid_range() {
        let mut s = spreadsheet();
        let filter = json!({"gridRange": {"sheetId": 7, "startRowIndex": 1, "endRowIndex": 2, "startColumnIndex": 2, "endColumnIndex": 4}});
        let req = json!({"valueInputOption": "RAW", "data": [{"dataFilter": filter, "values": [["=x", "y"]]}]});
        let out = batch_update(&mut s, &req, &mut Default::default()).unwrap();
        assert_eq!(out["totalUpdatedCells"], 2);
        assert_eq!(out["responses"][0]["updatedRange"], "'It''s'!C2:D2");
        assert_eq!(out["responses"][0]["dataFilter"], filter);
        assert!(!s.sheets[0].cell(1, 2).unwrap().is_formula);
        let too_wide = json!({"valueInputOption": "RAW", "data": [{"dataFilter": filter, "values": [["1", "2", "3"]]}]});
        assert!(batch_update(&mut s, &too_wide, &mut Default::default()).is_err());
        let no_option = json!({"data": [{"dataFilter": filter, "values": [["1"]]}]});
        assert!(batch_update(&mut s, &no_option, &mut Default::default()).is_err());
    }
}
