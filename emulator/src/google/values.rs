//! The values of the Sheets API v4 as the emulator stores them: the Spreadsheet resource without
//! grid data, reads of a rectangle as a `ValueRange` (trimmed like Google's answers), and checked
//! writes with `valueInputOption` (`RAW` or `USER_ENTERED`). Used by the A1-addressed methods
//! (`values.get`, `values.batchGet`, `values.batchUpdate`, `values.update`) here and by the
//! `DataFilter` methods in [`crate::google::datafilter`].
//!
//! Values are stored as text. With `USER_ENTERED`, a string starting with `=` (or `+`, `-`, `@`
//! followed by something other than a number) is stored as a formula (and read back as its text,
//! uncomputed, whatever `valueRenderOption` says) and a leading `'` is dropped; with `RAW` every
//! string is literal. Numbers are stored as their JSON text, booleans as `TRUE`/`FALSE`, `null`
//! leaves the cell unchanged, `""` clears it.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::google::a1::{self, Rect};
use crate::google::error::{GoogleError, bad_request};
use crate::google::spreadsheet::{Sheet, Spreadsheet};
use crate::util::form_get;

/// The Spreadsheet resource without grid data.
pub fn spreadsheet_json(spreadsheet: &Spreadsheet) -> Value {
    let sheets: Vec<Value> = spreadsheet
        .sheets
        .iter()
        .enumerate()
        .map(|(index, s)| {
            json!({"properties": {
                "sheetId": s.sheet_id,
                "title": s.title,
                "index": index,
                "sheetType": "GRID",
                "gridProperties": {"rowCount": s.row_count, "columnCount": s.col_count},
            }})
        })
        .collect();
    json!({
        "spreadsheetId": spreadsheet.id,
        "properties": {
            "title": spreadsheet.title,
            "locale": "en_US",
            "autoRecalc": "ON_CHANGE",
            "timeZone": "Etc/GMT",
        },
        "sheets": sheets,
        "spreadsheetUrl": format!("https://docs.google.com/spreadsheets/d/{}/edit", spreadsheet.id),
    })
}

pub(crate) fn unable_to_parse(range: &str) -> GoogleError {
    bad_request(&format!("Unable to parse range: {range}"))
}

pub(crate) fn exceeds_grid(sheet: &Sheet, rect: Rect) -> GoogleError {
    let cells = a1::format_range("x", rect);
    let cells = cells.split_once('!').map(|(_, c)| c).unwrap_or_default();
    bad_request(&format!(
        "Range ('{}'!{cells}) exceeds grid limits. Max rows: {}, max columns: {}",
        sheet.title.replace('\'', "''"),
        sheet.row_count,
        sheet.col_count
    ))
}

/// Finds the sheet a range names (the first sheet when none) and the parsed area.
pub(crate) fn locate(
    spreadsheet: &Spreadsheet,
    range: &str,
) -> Result<(usize, Option<a1::Area>), GoogleError> {
    let parsed = a1::parse(range).map_err(|_| unable_to_parse(range))?;
    let index = match &parsed.sheet {
        None if spreadsheet.sheets.is_empty() => return Err(unable_to_parse(range)),
        None => 0,
        Some(title) => spreadsheet
            .sheet_index_by_title(title)
            .ok_or_else(|| unable_to_parse(range))?,
    };
    Ok((index, parsed.area))
}

/// The rectangle a read covers: open ends bounded by the grid, then clamped to it.
pub(crate) fn read_rect(sheet: &Sheet, area: Option<a1::Area>) -> Result<Rect, GoogleError> {
    let full = Rect {
        r1: 0,
        c1: 0,
        r2: sheet.row_count.saturating_sub(1),
        c2: sheet.col_count.saturating_sub(1),
    };
    let Some(area) = area else {
        return Ok(full);
    };
    let rect = area.resolve(sheet.row_count, sheet.col_count);
    if rect.r1 >= sheet.row_count || rect.c1 >= sheet.col_count {
        return Err(exceeds_grid(sheet, rect));
    }
    Ok(Rect {
        r2: rect.r2.min(full.r2),
        c2: rect.c2.min(full.c2),
        ..rect
    })
}

/// A ValueRange for `rect` of `sheet`, trimmed, in `ROWS` or `COLUMNS` order.
pub(crate) fn value_range(sheet: &Sheet, rect: Rect, columns: bool) -> Value {
    let values = if columns {
        let mut cols: Vec<Vec<String>> = (rect.c1..=rect.c2)
            .map(|c| {
                let mut col: Vec<String> = sheet
                    .read(Rect {
                        c1: c,
                        c2: c,
                        ..rect
                    })
                    .into_iter()
                    .map(|mut row| row.pop().unwrap_or_default())
                    .collect();
                while col.last().is_some_and(String::is_empty) {
                    col.pop();
                }
                col
            })
            .collect();
        while cols.last().is_some_and(Vec::is_empty) {
            cols.pop();
        }
        cols
    } else {
        sheet.read(rect)
    };
    let mut out = json!({
        "range": a1::format_range(&sheet.title, rect),
        "majorDimension": if columns { "COLUMNS" } else { "ROWS" },
    });
    if !values.is_empty() {
        out["values"] = json!(values);
    }
    out
}

fn wants_columns(query: &[(String, String)]) -> bool {
    form_get(query, "majorDimension") == Some("COLUMNS")
}

pub(crate) fn values_get(
    spreadsheet: &Spreadsheet,
    range: &str,
    query: &[(String, String)],
) -> Result<Value, GoogleError> {
    let (index, area) = locate(spreadsheet, range)?;
    let sheet = &spreadsheet.sheets[index];
    let rect = read_rect(sheet, area)?;
    Ok(value_range(sheet, rect, wants_columns(query)))
}

pub(crate) fn batch_get(
    spreadsheet: &Spreadsheet,
    query: &[(String, String)],
) -> Result<Value, GoogleError> {
    let columns = wants_columns(query);
    let mut ranges = Vec::new();
    for (key, range) in query {
        if key == "ranges" {
            let (index, area) = locate(spreadsheet, range)?;
            let sheet = &spreadsheet.sheets[index];
            let rect = read_rect(sheet, area)?;
            ranges.push(value_range(sheet, rect, columns));
        }
    }
    let mut out = json!({"spreadsheetId": spreadsheet.id});
    if !ranges.is_empty() {
        out["valueRanges"] = json!(ranges);
    }
    Ok(out)
}

/// How strings are interpreted on write.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum InputOption {
    Raw,
    UserEntered,
}

pub(crate) fn input_option(value: Option<&str>) -> Result<InputOption, GoogleError> {
    match value {
        Some("RAW") => Ok(InputOption::Raw),
        Some("USER_ENTERED") => Ok(InputOption::UserEntered),
        None | Some("") | Some("INPUT_VALUE_OPTION_UNSPECIFIED") => Err(bad_request(
            "'valueInputOption' is required but not specified",
        )),
        Some(other) => Err(bad_request(&format!(
            "Invalid value at 'value_input_option' (type.googleapis.com/google.apps.sheets.v4.ValueInputOption), \"{other}\""
        ))),
    }
}

/// Most characters one cell holds; a longer string fails the whole write.
pub const MAX_CELL_CHARS: usize = 50_000;

/// Whether `USER_ENTERED` turns this text into a formula: `=…`, and `+…`, `-…` or `@…` that is not
/// a plain number (Sheets parses `+A1`, `-A1+2` as formulas; `@` starts a function reference).
fn parses_as_formula(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some('=') => s.len() > 1,
        Some('+' | '-' | '@') => {
            let rest = chars.as_str().trim();
            !rest.is_empty() && rest.parse::<f64>().is_err()
        }
        _ => false,
    }
}

/// One checked write: where it goes and what each cell becomes (`None` = leave unchanged).
pub(crate) struct PlannedWrite {
    sheet_index: usize,
    rect: Rect,
    cells: Vec<Vec<Option<(String, bool)>>>,
    count: usize,
}

fn to_cell(
    value: &Value,
    option: InputOption,
    i: usize,
    j: usize,
) -> Result<Option<(String, bool)>, GoogleError> {
    Ok(match value {
        Value::Null => None,
        Value::Bool(b) => Some((if *b { "TRUE" } else { "FALSE" }.to_string(), false)),
        Value::Number(n) => Some((n.to_string(), false)),
        Value::String(s) if s.chars().count() > MAX_CELL_CHARS => {
            return Err(bad_request(&format!(
                "Your input contains more than the maximum of {MAX_CELL_CHARS} characters in a single cell."
            )));
        }
        Value::String(s) => Some(match option {
            InputOption::Raw => (s.clone(), false),
            InputOption::UserEntered if parses_as_formula(s) => (s.clone(), true),
            InputOption::UserEntered => (s.strip_prefix('\'').unwrap_or(s).to_string(), false),
        }),
        other => {
            return Err(bad_request(&format!("Invalid values[{i}][{j}]: {other}")));
        }
    })
}

/// Checks one ValueRange write (an A1 `range`) without applying it.
fn plan_write(
    spreadsheet: &Spreadsheet,
    range: &str,
    value_range: &Value,
    option: InputOption,
) -> Result<PlannedWrite, GoogleError> {
    let (sheet_index, area) = locate(spreadsheet, range)?;
    let sheet = &spreadsheet.sheets[sheet_index];
    let (start_row, start_col, bounds) = match area {
        None => (0, 0, None),
        Some(area) => {
            let rect = area.resolve(sheet.row_count, sheet.col_count);
            (rect.r1, rect.c1, (!area.is_single_cell()).then_some(rect))
        }
    };
    let target = WriteTarget {
        sheet_index,
        start_row,
        start_col,
        bounds,
        label: range,
    };
    plan_write_at(sheet, &target, value_range, option)
}

/// Where a write goes: the sheet, the top-left cell (0-based), and the rectangle it must stay in
/// (`None`: it may extend right and down from the cell); `label` names the range in messages.
pub(crate) struct WriteTarget<'a> {
    /// Index of the sheet in the spreadsheet.
    pub sheet_index: usize,
    /// First row, 0-based.
    pub start_row: u32,
    /// First column, 0-based.
    pub start_col: u32,
    /// The rectangle the values must fit in.
    pub bounds: Option<Rect>,
    /// The range as the request named it.
    pub label: &'a str,
}

/// The rows of a ValueRange's `values`, in row order (`majorDimension: COLUMNS` transposed).
fn value_rows(value_range: &Value) -> Result<Vec<Vec<Value>>, GoogleError> {
    let rows: Vec<Vec<Value>> = match value_range.get("values") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(rows)) => rows
            .iter()
            .map(|r| match r {
                Value::Array(cells) => Ok(cells.clone()),
                Value::Null => Ok(Vec::new()),
                other => Err(bad_request(&format!("Invalid values: {other}"))),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(bad_request(&format!("Invalid values: {other}"))),
    };
    if value_range.get("majorDimension").and_then(Value::as_str) != Some("COLUMNS") {
        return Ok(rows);
    }
    let height = rows.iter().map(Vec::len).max().unwrap_or(0);
    Ok((0..height)
        .map(|r| {
            rows.iter()
                .map(|col| col.get(r).cloned().unwrap_or(Value::Null))
                .collect()
        })
        .collect())
}

/// Checks one write at `target` of `sheet` without applying it.
pub(crate) fn plan_write_at(
    sheet: &Sheet,
    target: &WriteTarget<'_>,
    value_range: &Value,
    option: InputOption,
) -> Result<PlannedWrite, GoogleError> {
    let rows = value_rows(value_range)?;
    let mut cells = Vec::with_capacity(rows.len());
    let mut count = 0;
    for (i, row) in rows.iter().enumerate() {
        let mut out = Vec::with_capacity(row.len());
        for (j, value) in row.iter().enumerate() {
            let cell = to_cell(value, option, i, j)?;
            count += usize::from(cell.is_some());
            out.push(cell);
        }
        cells.push(out);
    }
    let height = cells.len() as u32;
    let width = cells.iter().map(Vec::len).max().unwrap_or(0) as u32;
    let (start_row, start_col, range) = (target.start_row, target.start_col, target.label);
    if let Some(bounds) = target.bounds {
        if height > bounds.rows() {
            return Err(bad_request(&format!(
                "Requested writing within range [{range}], but tried writing to row [{}]",
                start_row + height
            )));
        }
        if width > bounds.cols() {
            return Err(bad_request(&format!(
                "Requested writing within range [{range}], but tried writing to column [{}]",
                a1::column_letters(start_col + width - 1)
            )));
        }
    }
    let rect = Rect {
        r1: start_row,
        c1: start_col,
        r2: start_row + height.max(1) - 1,
        c2: start_col + width.max(1) - 1,
    };
    if rect.r2 >= sheet.row_count || rect.c2 >= sheet.col_count {
        return Err(exceeds_grid(sheet, rect));
    }
    Ok(PlannedWrite {
        sheet_index: target.sheet_index,
        rect,
        cells,
        count,
    })
}

/// Applies a checked write and returns its UpdateValuesResponse.
pub(crate) fn apply(
    spreadsheet: &mut Spreadsheet,
    plan: &PlannedWrite,
    include_values: bool,
    writes: &mut WriteCounts,
) -> Value {
    let spreadsheet_id = spreadsheet.id.clone();
    let sheet = &mut spreadsheet.sheets[plan.sheet_index];
    for (i, row) in plan.cells.iter().enumerate() {
        for (j, cell) in row.iter().enumerate() {
            if let Some((value, is_formula)) = cell {
                *writes
                    .entry((
                        spreadsheet_id.clone(),
                        sheet.sheet_id,
                        plan.rect.r1 as usize + i,
                        plan.rect.c1 as usize + j,
                    ))
                    .or_default() += 1;
                sheet.set(
                    plan.rect.r1 as usize + i,
                    plan.rect.c1 as usize + j,
                    value.clone(),
                    *is_formula,
                );
            }
        }
    }
    let height = plan.cells.len();
    let width = plan.cells.iter().map(Vec::len).max().unwrap_or(0);
    let mut out = json!({
        "spreadsheetId": spreadsheet_id,
        "updatedRange": a1::format_range(&sheet.title, plan.rect),
        "updatedRows": height,
        "updatedColumns": width,
        "updatedCells": plan.count,
    });
    if include_values {
        out["updatedData"] = value_range(sheet, plan.rect, false);
    }
    out
}

/// Per-cell write counters (see [`State::cell_writes`](crate::state::State::cell_writes)).
pub(crate) type WriteCounts = std::collections::HashMap<(String, i32, usize, usize), u32>;

pub(crate) fn batch_update(
    spreadsheet: &mut Spreadsheet,
    request: &Value,
    writes: &mut WriteCounts,
) -> Result<Value, GoogleError> {
    let option = input_option(request.get("valueInputOption").and_then(Value::as_str))?;
    let include_values = request
        .get("includeValuesInResponse")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let data = match request.get("data") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(data)) => data.clone(),
        Some(other) => return Err(bad_request(&format!("Invalid data: {other}"))),
    };
    let mut plans = Vec::with_capacity(data.len());
    for (i, value_range) in data.iter().enumerate() {
        let Some(range) = value_range.get("range").and_then(Value::as_str) else {
            return Err(bad_request(&format!("data[{i}].range is required")));
        };
        plans.push(plan_write(spreadsheet, range, value_range, option)?);
    }
    let (totals, responses) = apply_all(spreadsheet, &plans, include_values, writes);
    let mut out = totals;
    if !responses.is_empty() {
        out["responses"] = json!(responses);
    }
    Ok(out)
}

/// Applies checked writes in order: the totals of a batch answer (`spreadsheetId`,
/// `totalUpdatedRows`, `…Columns`, `…Cells`, `…Sheets`) and one UpdateValuesResponse per write.
pub(crate) fn apply_all(
    spreadsheet: &mut Spreadsheet,
    plans: &[PlannedWrite],
    include_values: bool,
    writes: &mut WriteCounts,
) -> (Value, Vec<Value>) {
    let mut rows = BTreeSet::new();
    let mut cols = BTreeSet::new();
    let mut sheets = BTreeSet::new();
    let mut cells = 0;
    let mut responses = Vec::with_capacity(plans.len());
    for plan in plans {
        if !plan.cells.is_empty() {
            sheets.insert(plan.sheet_index);
            for (i, row) in plan.cells.iter().enumerate() {
                rows.insert((plan.sheet_index, plan.rect.r1 as usize + i));
                for j in 0..row.len() {
                    cols.insert((plan.sheet_index, plan.rect.c1 as usize + j));
                }
            }
        }
        cells += plan.count;
        responses.push(apply(spreadsheet, plan, include_values, writes));
    }
    let totals = json!({
        "spreadsheetId": spreadsheet.id,
        "totalUpdatedRows": rows.len(),
        "totalUpdatedColumns": cols.len(),
        "totalUpdatedCells": cells,
        "totalUpdatedSheets": sheets.len(),
    });
    (totals, responses)
}

pub(crate) fn values_update(
    spreadsheet: &mut Spreadsheet,
    range: &str,
    query: &[(String, String)],
    request: &Value,
    writes: &mut WriteCounts,
) -> Result<Value, GoogleError> {
    let option = input_option(form_get(query, "valueInputOption"))?;
    let include_values = form_get(query, "includeValuesInResponse") == Some("true");
    let plan = plan_write(spreadsheet, range, request, option)?;
    Ok(apply(spreadsheet, &plan, include_values, writes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spreadsheet() -> Spreadsheet {
        Spreadsheet {
            id: "s".into(),
            title: "t".into(),
            sheets: vec![Sheet::new(
                0,
                "Sheet1",
                vec![
                    vec!["A1".into(), "B1".into(), "".into(), "D1".into()],
                    vec!["".into(), "b2".into()],
                    vec![],
                    vec!["A4".into(), "B4".into(), "".into(), "D4".into()],
                ],
            )],
            ..Default::default()
        }
    }

    #[test]
    fn reads_are_trimmed_and_bounded() {
        let s = spreadsheet();
        let v = values_get(&s, "'Sheet1'!A1:D4", &[]).unwrap();
        assert_eq!(v["range"], "Sheet1!A1:D4");
        assert_eq!(
            v["values"],
            json!([
                ["A1", "B1", "", "D1"],
                ["", "b2"],
                [],
                ["A4", "B4", "", "D4"]
            ])
        );
        let v = values_get(&s, "C2:C3", &[]).unwrap();
        assert!(v.get("values").is_none());
        let v = values_get(&s, "A:A", &[]).unwrap();
        assert_eq!(v["range"], "Sheet1!A1:A1000");
        let v = values_get(&s, "A1:B2", &[("majorDimension".into(), "COLUMNS".into())]).unwrap();
        assert_eq!(v["values"], json!([["A1"], ["B1", "b2"]]));
    }

    #[test]
    fn writes_check_fit_and_grid() {
        let mut s = spreadsheet();
        let req = json!({"valueInputOption": "USER_ENTERED", "data": [
            {"range": "Sheet1!F1", "values": [["=1+1", "'=text", 5, true, null]]}
        ]});
        let out = batch_update(&mut s, &req, &mut Default::default()).unwrap();
        assert_eq!(out["responses"][0]["updatedRange"], "Sheet1!F1:J1");
        assert_eq!(out["totalUpdatedCells"], 4);
        let sheet = &s.sheets[0];
        assert!(sheet.cell(0, 5).unwrap().is_formula);
        assert_eq!(sheet.cell(0, 6).unwrap().value, "=text");
        assert!(!sheet.cell(0, 6).unwrap().is_formula);
        assert_eq!(sheet.cell(0, 7).unwrap().value, "5");
        assert_eq!(sheet.cell(0, 8).unwrap().value, "TRUE");
        let too_wide = json!({"valueInputOption": "RAW", "data": [{"range": "A1:B1", "values": [["1", "2", "3"]]}]});
        assert!(batch_update(&mut s, &too_wide, &mut Default::default()).is_err());
        let beyond = json!({"valueInputOption": "RAW", "data": [{"range": "A1000", "values": [["x"], ["y"]]}]});
        assert!(batch_update(&mut s, &beyond, &mut Default::default()).is_err());
        let missing = json!({"data": [{"range": "A1", "values": [["x"]]}]});
        assert!(batch_update(&mut s, &missing, &mut Default::default()).is_err());
    }

    #[test]
    fn user_entered_text_starting_with_plus_minus_or_at_is_a_formula_but_raw_text_never_is() {
        for (text, formula) in [
            ("+A1", true),
            ("-A1+2", true),
            ("@SUM", true),
            ("-12", false),
            ("+3.5", false),
            ("plain", false),
        ] {
            let mut s = spreadsheet();
            let req = json!({"valueInputOption": "USER_ENTERED", "data": [
                {"range": "Sheet1!F1", "values": [[text]]}]});
            batch_update(&mut s, &req, &mut Default::default()).unwrap();
            assert_eq!(
                s.sheets[0].cell(0, 5).unwrap().is_formula,
                formula,
                "{text}"
            );
            let req = json!({"valueInputOption": "RAW", "data": [
                {"range": "Sheet1!F1", "values": [[text]]}]});
            batch_update(&mut s, &req, &mut Default::default()).unwrap();
            assert!(!s.sheets[0].cell(0, 5).unwrap().is_formula, "{text}");
        }
    }

    #[test]
    fn a_cell_over_fifty_thousand_characters_fails_the_whole_write() {
        let mut s = spreadsheet();
        let long = "x".repeat(MAX_CELL_CHARS + 1);
        let req = json!({"valueInputOption": "RAW", "data": [
            {"range": "Sheet1!F1", "values": [["fits"]]},
            {"range": "Sheet1!G1", "values": [[long]]}]});
        let err = batch_update(&mut s, &req, &mut Default::default()).unwrap_err();
        assert!(err.message.contains("50000"), "{}", err.message);
        assert!(s.sheets[0].cell(0, 5).is_none(), "nothing is written");
        let fits = json!({"valueInputOption": "RAW", "data": [
            {"range": "Sheet1!G1", "values": [["x".repeat(MAX_CELL_CHARS)]]}]});
        assert!(batch_update(&mut s, &fits, &mut Default::default()).is_ok());
    }
}
