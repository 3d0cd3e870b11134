//! The Google Sheets API v4 side, under `/v4/spreadsheets/` (google-sheets4 is pointed at
//! `http://127.0.0.1:PORT/` and appends `v4/spreadsheets/...`): the router, the routes, and the
//! checks every call goes through before its effect (token, scopes, sharing). The methods:
//!
//! - `GET {id}` — [spreadsheets.get](https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets/get)
//!   (sheet properties only; `fields`, `ranges` and `includeGridData` are accepted and ignored);
//! - `POST {id}:getByDataFilter`, `POST {id}:batchUpdate` (developer-metadata requests),
//!   `GET {id}/developerMetadata/{metadataId}`, `POST {id}/developerMetadata:search` — in
//!   [`crate::google::spreadsheet_ops`];
//! - `GET {id}/values/{range}`, `GET {id}/values:batchGet?ranges=…`, `POST {id}/values:batchUpdate`,
//!   `PUT {id}/values/{range}?valueInputOption=…` — A1-addressed values, in
//!   [`crate::google::values`];
//! - `POST {id}/values:batchGetByDataFilter`, `POST {id}/values:batchUpdateByDataFilter` — values
//!   addressed by `GridRange` (`sheetId` and indexes), in [`crate::google::datafilter`].
//!
//! The path is read raw and percent-decoded here (a sheet title may hold `/`, `:` or emoji), and
//! ranges are parsed by [`crate::google::a1`]. Behaviour copied from recorded traffic: returned
//! ranges quote titles when needed, open ranges (`A:A`, `A2:H`, a bare sheet name) come back
//! bounded to the grid, values are trimmed (trailing blank cells per row, trailing empty rows; no
//! `values` key when nothing is left), `majorDimension` is `ROWS` unless `COLUMNS` is asked.
//!
//! Every call is checked as Google checks it, in this order, with Google's error bodies
//! ([`crate::google::error`]): 401 `UNAUTHENTICATED` without a token this emulator issued
//! (`/token`, the metadata server, or [`Emulator::user_token`](crate::Emulator::user_token)); 403
//! `PERMISSION_DENIED` with the reason `ACCESS_TOKEN_SCOPE_INSUFFICIENT` when the token carries none
//! of the scopes the method's reference page lists ([`crate::google::scopes`];
//! `spreadsheets.currentonly` is never one); 404 `Requested entity was not found.` for an unknown
//! spreadsheet; 403 `PERMISSION_DENIED` `The caller does not have permission` when the spreadsheet
//! is not shared with the token's account (users and service accounts alike), or when a reader
//! writes; then the method's own 400 `INVALID_ARGUMENT`s (`Unable to parse range: …`, a missing
//! `valueInputOption`, writes beyond the grid or the given range, a cell over 50,000 characters,
//! `No grid with id`).

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use bytes::Bytes;
use serde_json::Value;

use crate::counts::CallCounts;
use crate::faults::HoldPoint;
use crate::google::access::{IssuedToken, Role};
pub use crate::google::error::{GoogleError, google_error};
use crate::google::error::{
    bad_request, not_found, permission_denied, scope_insufficient, unauthenticated,
};
use crate::google::scopes::SheetsMethod;
use crate::google::spreadsheet::Spreadsheet;
pub use crate::google::values::{MAX_CELL_CHARS, spreadsheet_json};
use crate::google::{datafilter, spreadsheet_ops, values};
use crate::holds::pause;
use crate::state::{Shared, State as World};
use crate::util::{parse_form, percent_decode};

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

/// A routed call: the method, and the range or id its path names.
enum Op {
    Get,
    GetByDataFilter,
    BatchUpdate,
    MetadataGet(String),
    MetadataSearch,
    ValuesGet(String),
    ValuesUpdate(String),
    ValuesBatchGet,
    ValuesBatchUpdate,
    ValuesBatchGetByDataFilter,
    ValuesBatchUpdateByDataFilter,
}

impl Op {
    fn method(&self) -> SheetsMethod {
        match self {
            Op::Get => SheetsMethod::Get,
            Op::GetByDataFilter => SheetsMethod::GetByDataFilter,
            Op::BatchUpdate => SheetsMethod::BatchUpdate,
            Op::MetadataGet(_) => SheetsMethod::DeveloperMetadataGet,
            Op::MetadataSearch => SheetsMethod::DeveloperMetadataSearch,
            Op::ValuesGet(_) => SheetsMethod::ValuesGet,
            Op::ValuesUpdate(_) => SheetsMethod::ValuesUpdate,
            Op::ValuesBatchGet => SheetsMethod::ValuesBatchGet,
            Op::ValuesBatchUpdate => SheetsMethod::ValuesBatchUpdate,
            Op::ValuesBatchGetByDataFilter => SheetsMethod::ValuesBatchGetByDataFilter,
            Op::ValuesBatchUpdateByDataFilter => SheetsMethod::ValuesBatchUpdateByDataFilter,
        }
    }

    /// Counts the call.
    fn count(&self, calls: &mut CallCounts) {
        let counter = match self {
            Op::Get => &mut calls.spreadsheets_get,
            Op::GetByDataFilter => &mut calls.spreadsheets_get_by_data_filter,
            Op::BatchUpdate => &mut calls.spreadsheets_batch_update,
            Op::MetadataGet(_) => &mut calls.developer_metadata_get,
            Op::MetadataSearch => &mut calls.developer_metadata_search,
            Op::ValuesGet(_) => &mut calls.values_get,
            Op::ValuesUpdate(_) => &mut calls.values_update,
            Op::ValuesBatchGet => &mut calls.values_batch_get,
            Op::ValuesBatchUpdate => &mut calls.values_batch_update,
            Op::ValuesBatchGetByDataFilter => &mut calls.values_batch_get_by_data_filter,
            Op::ValuesBatchUpdateByDataFilter => &mut calls.values_batch_update_by_data_filter,
        };
        *counter += 1;
    }

    /// Where a test may hold the answer: reads of values at [`HoldPoint::ValuesBatchGet`], writes
    /// of values at [`HoldPoint::ValuesBatchUpdated`], whatever their addressing.
    fn hold_point(&self) -> Option<HoldPoint> {
        match self {
            Op::Get => Some(HoldPoint::SpreadsheetGet),
            Op::ValuesBatchGet | Op::ValuesBatchGetByDataFilter => Some(HoldPoint::ValuesBatchGet),
            Op::ValuesBatchUpdate | Op::ValuesBatchUpdateByDataFilter => {
                Some(HoldPoint::ValuesBatchUpdated)
            }
            _ => None,
        }
    }
}

fn route(method: &Method, rest: &str) -> Option<(String, Op)> {
    let pos = rest.find(['/', ':']).unwrap_or(rest.len());
    let id = percent_decode(&rest[..pos], false);
    let tail = &rest[pos..];
    let op = match (method, tail) {
        (&Method::GET, "") => Op::Get,
        (&Method::POST, ":getByDataFilter") => Op::GetByDataFilter,
        (&Method::POST, ":batchUpdate") => Op::BatchUpdate,
        (&Method::POST, "/developerMetadata:search") => Op::MetadataSearch,
        (&Method::GET, "/values:batchGet") => Op::ValuesBatchGet,
        (&Method::POST, "/values:batchUpdate") => Op::ValuesBatchUpdate,
        (&Method::POST, "/values:batchGetByDataFilter") => Op::ValuesBatchGetByDataFilter,
        (&Method::POST, "/values:batchUpdateByDataFilter") => Op::ValuesBatchUpdateByDataFilter,
        (&Method::GET, t) if t.starts_with("/developerMetadata/") => {
            Op::MetadataGet(t["/developerMetadata/".len()..].to_string())
        }
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
    let mut state = shared.lock();
    let account = check_token(&state.tokens, headers, op.method())?;
    op.count(&mut state.calls);
    let hold_point = op.hold_point();
    let World {
        spreadsheets,
        shares,
        cell_writes,
        ..
    } = &mut *state;
    let spreadsheet = spreadsheets
        .get_mut(&spreadsheet_id)
        .ok_or_else(not_found)?;
    let role = shares
        .get(&spreadsheet_id)
        .and_then(|accounts| accounts.get(&account))
        .copied();
    match role {
        None => return Err(permission_denied()),
        Some(Role::Reader) if op.method().writes() => return Err(permission_denied()),
        Some(_) => {}
    }
    let query = parse_form(uri.query().unwrap_or(""));
    let value = run(op, spreadsheet, &query, body, cell_writes)?;
    Ok((value, hold_point))
}

/// The method's own effect on the spreadsheet.
fn run(
    op: Op,
    spreadsheet: &mut Spreadsheet,
    query: &[(String, String)],
    body: &Bytes,
    cell_writes: &mut values::WriteCounts,
) -> Result<Value, GoogleError> {
    let json = || {
        serde_json::from_slice::<Value>(body)
            .map_err(|e| bad_request(&format!("Invalid JSON payload received. {e}")))
    };
    match op {
        Op::Get => Ok(spreadsheet_json(spreadsheet)),
        Op::GetByDataFilter => Ok(spreadsheet_ops::get_by_data_filter(spreadsheet, &json()?)),
        Op::BatchUpdate => spreadsheet_ops::batch_update(spreadsheet, &json()?),
        Op::MetadataGet(id) => spreadsheet_ops::get(spreadsheet, &id),
        Op::MetadataSearch => spreadsheet_ops::search(spreadsheet, &json()?),
        Op::ValuesGet(range) => values::values_get(spreadsheet, &range, query),
        Op::ValuesBatchGet => values::batch_get(spreadsheet, query),
        Op::ValuesBatchUpdate => values::batch_update(spreadsheet, &json()?, cell_writes),
        Op::ValuesUpdate(range) => {
            values::values_update(spreadsheet, &range, query, &json()?, cell_writes)
        }
        Op::ValuesBatchGetByDataFilter => datafilter::batch_get(spreadsheet, &json()?),
        Op::ValuesBatchUpdateByDataFilter => {
            datafilter::batch_update(spreadsheet, &json()?, cell_writes)
        }
    }
}

/// Checks the bearer token and that it carries one of `method`'s scopes; returns the account it
/// acts as (a user's or a service account's email).
fn check_token(
    tokens: &std::collections::HashMap<String, IssuedToken>,
    headers: &HeaderMap,
    method: SheetsMethod,
) -> Result<String, GoogleError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let issued = token
        .and_then(|t| tokens.get(t))
        .filter(|t| t.expires > Instant::now())
        .ok_or_else(unauthenticated)?;
    let allowed = method.scopes();
    if !issued.scopes.iter().any(|s| allowed.contains(&s.as_str())) {
        return Err(scope_insufficient(method.rpc()));
    }
    Ok(issued.user.clone())
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
            Op::ValuesBatchGet
        ));
        assert!(matches!(
            route(&Method::POST, "abc/values:batchUpdate").unwrap().1,
            Op::ValuesBatchUpdate
        ));
        assert!(matches!(
            route(&Method::POST, "abc:batchUpdate").unwrap().1,
            Op::BatchUpdate
        ));
        assert!(matches!(
            route(&Method::POST, "abc/values:batchUpdateByDataFilter")
                .unwrap()
                .1,
            Op::ValuesBatchUpdateByDataFilter
        ));
        assert!(matches!(
            route(&Method::GET, "abc/developerMetadata/12").unwrap().1,
            Op::MetadataGet(id) if id == "12"
        ));
        assert!(
            matches!(route(&Method::PUT, "abc/values/A1:B2").unwrap().1, Op::ValuesUpdate(r) if r == "A1:B2")
        );
        assert!(route(&Method::POST, "abc/values/Sheet1:append").is_none());
        assert!(route(&Method::DELETE, "abc").is_none());
    }
}
