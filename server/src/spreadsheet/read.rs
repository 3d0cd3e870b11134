//! The service account's reads of a sheet's rows a person waits for (a job being created, a chat
//! turn being prepared): one `values.batchGetByDataFilter` by `sheetId`, whose answer also names
//! the sheet's current title; a transient failure is tried again for a few seconds
//! ([`transient`](crate::spreadsheet::transient)), and what still fails is a [`SpreadsheetError`].
//! Also the limits of a selection, which jobs and chat turns check alike.

use almanac_core::domain::SpreadsheetId;
use almanac_protocol::RowSpan;
use almanac_sheets::{SheetRead, SheetsError};

use crate::spreadsheet::errors::SpreadsheetError;
use crate::spreadsheet::handles::Spreadsheets;
use crate::spreadsheet::transient::{retry_sheets, unavailable};

/// Most rows one job (or one chat turn's selection) may hold (a Generate click; larger selections
/// are split by the person).
pub const MAX_ROWS_PER_JOB: u64 = 50_000;

/// Highest row number a sheet can have (a spreadsheet holds at most 10 million cells).
pub const MAX_ROW_NUMBER: u32 = 10_000_000;

/// Most row spans (separate selected ranges) one job (or chat turn) may name.
pub const MAX_SPANS_PER_JOB: usize = 1_000;

/// Reads the spans' rows (columns A–F) of the sheet `sheet_id`; `what` names the read in the
/// retries' log lines.
///
/// # Errors
/// [`SpreadsheetError::ServiceAccountNoAccess`] when the service account cannot see the
/// spreadsheet, [`SpreadsheetError::SheetNotFound`] when it has no such sheet,
/// [`SpreadsheetError::Unavailable`] when Google Sheets keeps failing.
pub async fn rows(
    sp: &Spreadsheets,
    what: &'static str,
    spreadsheet: &SpreadsheetId,
    sheet_id: i32,
    spans: &[RowSpan],
) -> Result<SheetRead, SpreadsheetError> {
    retry_sheets(what, || sp.sheets.read_rows(spreadsheet, sheet_id, spans))
        .await
        .map_err(|e| read_error(sp, &e))
}

/// Reads the whole sheet's ids and outputs (columns A–F of every row); `what` as for [`rows`].
///
/// # Errors
/// As [`rows`].
pub async fn whole_sheet(
    sp: &Spreadsheets,
    what: &'static str,
    spreadsheet: &SpreadsheetId,
    sheet_id: i32,
) -> Result<SheetRead, SpreadsheetError> {
    retry_sheets(what, || {
        sp.sheets.read_ids_and_outputs(spreadsheet, sheet_id)
    })
    .await
    .map_err(|e| read_error(sp, &e))
}

/// A failed read: [`SpreadsheetError::Unavailable`] when transient;
/// [`SpreadsheetError::ServiceAccountNoAccess`] when the spreadsheet is gone or no longer shared
/// with the service account (access was proven before: the sidebar then shows its sharing step);
/// else [`SpreadsheetError::SheetNotFound`] (e.g. no sheet of that id).
fn read_error(sp: &Spreadsheets, e: &SheetsError) -> SpreadsheetError {
    match e {
        e if e.is_transient() => unavailable(e),
        SheetsError::NotFound(_) | SheetsError::PermissionDenied(_) => {
            SpreadsheetError::no_access(sp.sheets.service_account_email())
        }
        e => SpreadsheetError::SheetNotFound(e.to_string()),
    }
}
