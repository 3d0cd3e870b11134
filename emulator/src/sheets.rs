//! The Google Sheets API v4 side, under `/v4/spreadsheets/` (google-sheets4 is pointed at
//! `http://127.0.0.1:PORT/` and appends `v4/spreadsheets/...`):
//!
//! - `GET {id}` — [spreadsheets.get](https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets/get)
//!   (sheet properties only; `fields`, `ranges` and `includeGridData` are accepted and ignored);
//! - `GET {id}/values/{range}` — [values.get](https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets.values/get);
//! - `GET {id}/values:batchGet?ranges=…&ranges=…` — [values.batchGet](https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets.values/batchGet);
//! - `POST {id}/values:batchUpdate` — [values.batchUpdate](https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets.values/batchUpdate);
//! - `PUT {id}/values/{range}?valueInputOption=…` — [values.update](https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets.values/update)
//!   (not counted in [`CallCounts`](crate::CallCounts), which has no field for it).
//!
//! The path is read raw and percent-decoded here (a sheet title may hold `/`, `:` or emoji), and
//! ranges are parsed by [`crate::a1`]. Behaviour copied from recorded traffic: returned ranges quote
//! titles when needed, open ranges (`A:A`, `A2:H`, a bare sheet name) come back bounded to the grid,
//! values are trimmed (trailing blank cells per row, trailing empty rows; no `values` key when
//! nothing is left), `majorDimension` is `ROWS` unless `COLUMNS` is asked.
//!
//! Errors use Google's shape `{"error":{"code","message","status"}}`: 401 `UNAUTHENTICATED` without
//! a token issued by this emulator (`/token` or [`Emulator::user_token`](crate::Emulator::user_token)),
//! 403 `PERMISSION_DENIED` when the token's scopes do not allow the call or a user token's user has
//! no share of the spreadsheet, 404 `Requested entity was not found.` for an unknown spreadsheet, 400
//! `INVALID_ARGUMENT` for `Unable to parse range: …` (also for an unknown sheet title), a missing
//! `valueInputOption`, writes beyond the grid or beyond the given range, a cell over 50,000
//! characters.
//!
//! Values are stored as text. With `USER_ENTERED`, a string starting with `=` (or `+`, `-`, `@`
//! followed by something other than a number) is stored as a formula
//! (and read back as its text, uncomputed, whatever `valueRenderOption` says) and a leading `'` is
//! dropped; with `RAW` every string is literal. Numbers are stored as their JSON text, booleans as
//! `TRUE`/`FALSE`, `null` leaves the cell unchanged, `""` clears it.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::a1::{self, Rect};
use crate::faults::HoldPoint;
use crate::holds::pause;
use crate::state::{Shared, Sheet, Spreadsheet};
use crate::util::{form_get, parse_form, percent_decode};

/// Scopes that allow reading values.
const READ_SCOPES: [&str; 6] = [
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/spreadsheets.readonly",
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.readonly",
    "https://www.googleapis.com/auth/drive.file",
    "https://www.googleapis.com/auth/cloud-platform",
];
/// Scopes that allow writing values.
const WRITE_SCOPES: [&str; 4] = [
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.file",
    "https://www.googleapis.com/auth/cloud-platform",
];

/// The `/v4/spreadsheets/…` router.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v4/spreadsheets/{*rest}", any(dispatch))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            crate::inject::inject,
        ))
        .with_state(shared)
}

/// A Google API error: `{"error":{"code","message","status"}}` with `code` as the HTTP status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoogleError {
    /// HTTP status (also the body's `code`).
    pub code: StatusCode,
    /// Canonical status name, e.g. `INVALID_ARGUMENT`.
    pub status: &'static str,
    /// Human-readable message.
    pub message: String,
}

impl IntoResponse for GoogleError {
    fn into_response(self) -> Response {
        (
            self.code,
            axum::Json(json!({"error": {
                "code": self.code.as_u16(),
                "message": self.message,
                "status": self.status,
            }})),
        )
            .into_response()
    }
}

/// Builds a [`GoogleError`].
pub fn google_error(code: StatusCode, status: &'static str, message: &str) -> GoogleError {
    GoogleError {
        code,
        status,
        message: message.to_string(),
    }
}

fn bad_request(message: &str) -> GoogleError {
    google_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
}

fn not_found() -> GoogleError {
    google_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Requested entity was not found.",
    )
}

enum Op {
    Get,
    ValuesGet(String),
    ValuesUpdate(String),
    BatchGet,
    BatchUpdate,
}

impl Op {
    fn writes(&self) -> bool {
        matches!(self, Op::ValuesUpdate(_) | Op::BatchUpdate)
    }
}

fn route(method: &Method, rest: &str) -> Option<(String, Op)> {
    let pos = rest.find(['/', ':']).unwrap_or(rest.len());
    let id = percent_decode(&rest[..pos], false);
    let tail = &rest[pos..];
    let op = match (method, tail) {
        (&Method::GET, "") => Op::Get,
        (&Method::GET, "/values:batchGet") => Op::BatchGet,
        (&Method::POST, "/values:batchUpdate") => Op::BatchUpdate,
        (m, t) => {
            let range = t.strip_prefix("/values/")?;
            if range.ends_with(":append") || range.ends_with(":clear") {
                return None;
            }
            let range = percent_decode(range, false);
            match *m {
                Method::GET => Op::ValuesGet(range),
                Method::PUT => Op::ValuesUpdate(range),
                _ => return None,
            }
        }
    };
    (!id.is_empty()).then_some((id, op))
}

async fn dispatch(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&shared, &method, &uri, &headers, &body) {
        Ok((value, hold_point)) => {
            if let Some(point) = hold_point {
                pause(&shared, point).await;
            }
            axum::Json(value).into_response()
        }
        Err(error) => error.into_response(),
    }
}

/// The call's effect, under the lock; `Ok` carries the answer and where it may be held.
fn handle(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Value, Option<HoldPoint>), GoogleError> {
    let rest = uri
        .path()
        .strip_prefix("/v4/spreadsheets/")
        .unwrap_or_default()
        .to_string();
    let Some((spreadsheet_id, op)) = route(method, &rest) else {
        return Err(google_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            &format!(
                "[emulated] {method} {} is not implemented by the emulator.",
                uri.path()
            ),
        ));
    };
    let query = parse_form(uri.query().unwrap_or(""));
    let mut state = shared.lock();
    let user = check_token(&state.tokens, headers, op.writes())?;
    match &op {
        Op::Get => state.calls.spreadsheets_get += 1,
        Op::ValuesGet(_) => state.calls.values_get += 1,
        Op::BatchGet => state.calls.values_batch_get += 1,
        Op::BatchUpdate => state.calls.values_batch_update += 1,
        Op::ValuesUpdate(_) => {}
    }
    let hold_point = match &op {
        Op::Get => Some(HoldPoint::SpreadsheetGet),
        Op::BatchGet => Some(HoldPoint::ValuesBatchGet),
        Op::BatchUpdate => Some(HoldPoint::ValuesBatchUpdated),
        Op::ValuesGet(_) | Op::ValuesUpdate(_) => None,
    };
    let crate::state::State {
        spreadsheets,
        shares,
        cell_writes,
        ..
    } = &mut *state;
    let Some(spreadsheet) = spreadsheets.get_mut(&spreadsheet_id) else {
        return Err(not_found());
    };
    if let Some(user) = user {
        let shared_with_user = shares
            .get(&spreadsheet_id)
            .is_some_and(|users| users.contains(&user));
        if !shared_with_user {
            return Err(google_error(
                StatusCode::FORBIDDEN,
                "PERMISSION_DENIED",
                "The caller does not have permission",
            ));
        }
    }
    let result = match op {
        Op::Get => Ok(spreadsheet_json(spreadsheet)),
        Op::ValuesGet(range) => values_get(spreadsheet, &range, &query),
        Op::BatchGet => batch_get(spreadsheet, &query),
        Op::BatchUpdate => match serde_json::from_slice::<Value>(body) {
            Ok(request) => batch_update(spreadsheet, &request, cell_writes),
            Err(e) => Err(bad_request(&format!("Invalid JSON payload received. {e}"))),
        },
        Op::ValuesUpdate(range) => match serde_json::from_slice::<Value>(body) {
            Ok(request) => values_update(spreadsheet, &range, &query, &request, cell_writes),
            Err(e) => Err(bad_request(&format!("Invalid JSON payload received. {e}"))),
        },
    };
    match result {
        Ok(value) => Ok((value, hold_point)),
        Err(error) => Err(error),
    }
}

/// Checks the bearer token and its scopes; returns the user of a user token (`None` for the
/// service account).
fn check_token(
    tokens: &std::collections::HashMap<String, crate::state::IssuedToken>,
    headers: &HeaderMap,
    write: bool,
) -> Result<Option<String>, GoogleError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let issued = token
        .and_then(|t| tokens.get(t))
        .filter(|t| t.expires > Instant::now());
    let Some(issued) = issued else {
        return Err(google_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        ));
    };
    let allowed: &[&str] = if write { &WRITE_SCOPES } else { &READ_SCOPES };
    if !issued.scopes.iter().any(|s| allowed.contains(&s.as_str())) {
        return Err(google_error(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "Request had insufficient authentication scopes.",
        ));
    }
    Ok(issued.user.clone())
}

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

fn unable_to_parse(range: &str) -> GoogleError {
    bad_request(&format!("Unable to parse range: {range}"))
}

fn exceeds_grid(sheet: &Sheet, rect: Rect) -> GoogleError {
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
fn locate(
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
fn read_rect(sheet: &Sheet, area: Option<a1::Area>) -> Result<Rect, GoogleError> {
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
fn value_range(sheet: &Sheet, rect: Rect, columns: bool) -> Value {
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

fn values_get(
    spreadsheet: &Spreadsheet,
    range: &str,
    query: &[(String, String)],
) -> Result<Value, GoogleError> {
    let (index, area) = locate(spreadsheet, range)?;
    let sheet = &spreadsheet.sheets[index];
    let rect = read_rect(sheet, area)?;
    Ok(value_range(sheet, rect, wants_columns(query)))
}

fn batch_get(spreadsheet: &Spreadsheet, query: &[(String, String)]) -> Result<Value, GoogleError> {
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
enum InputOption {
    Raw,
    UserEntered,
}

fn input_option(value: Option<&str>) -> Result<InputOption, GoogleError> {
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
struct PlannedWrite {
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

/// Checks one ValueRange write without applying it.
fn plan_write(
    spreadsheet: &Spreadsheet,
    range: &str,
    value_range: &Value,
    option: InputOption,
) -> Result<PlannedWrite, GoogleError> {
    let (sheet_index, area) = locate(spreadsheet, range)?;
    let sheet = &spreadsheet.sheets[sheet_index];
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
    let rows = if value_range.get("majorDimension").and_then(Value::as_str) == Some("COLUMNS") {
        let height = rows.iter().map(Vec::len).max().unwrap_or(0);
        (0..height)
            .map(|r| {
                rows.iter()
                    .map(|col| col.get(r).cloned().unwrap_or(Value::Null))
                    .collect()
            })
            .collect()
    } else {
        rows
    };
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
    let (start_row, start_col, bounds) = match area {
        None => (0, 0, None),
        Some(area) => {
            let rect = area.resolve(sheet.row_count, sheet.col_count);
            (rect.r1, rect.c1, (!area.is_single_cell()).then_some(rect))
        }
    };
    if let Some(bounds) = bounds {
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
        sheet_index,
        rect,
        cells,
        count,
    })
}

/// Applies a checked write and returns its UpdateValuesResponse.
fn apply(
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
type WriteCounts = std::collections::HashMap<(String, i32, usize, usize), u32>;

fn batch_update(
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
    let mut rows = BTreeSet::new();
    let mut cols = BTreeSet::new();
    let mut sheets = BTreeSet::new();
    let mut cells = 0;
    let mut responses = Vec::with_capacity(plans.len());
    for plan in &plans {
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
    let mut out = json!({
        "spreadsheetId": spreadsheet.id,
        "totalUpdatedRows": rows.len(),
        "totalUpdatedColumns": cols.len(),
        "totalUpdatedCells": cells,
        "totalUpdatedSheets": sheets.len(),
    });
    if !responses.is_empty() {
        out["responses"] = json!(responses);
    }
    Ok(out)
}

fn values_update(
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

    #[test]
    fn routes_raw_paths() {
        let (id, op) = route(&Method::GET, "abc/values/%F0%9F%8C%B5%20a%21A1").unwrap();
        assert_eq!(id, "abc");
        assert!(matches!(op, Op::ValuesGet(r) if r == "🌵 a!A1"));
        assert!(matches!(route(&Method::GET, "abc").unwrap().1, Op::Get));
        assert!(matches!(
            route(&Method::GET, "abc/values:batchGet").unwrap().1,
            Op::BatchGet
        ));
        assert!(matches!(
            route(&Method::POST, "abc/values:batchUpdate").unwrap().1,
            Op::BatchUpdate
        ));
        assert!(
            matches!(route(&Method::PUT, "abc/values/A1:B2").unwrap().1, Op::ValuesUpdate(r) if r == "A1:B2")
        );
        assert!(route(&Method::POST, "abc/values/Sheet1:append").is_none());
        assert!(route(&Method::DELETE, "abc").is_none());
    }

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
