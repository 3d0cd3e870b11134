//! OAuth scopes, and which the Sheets API v4 accepts for each of its methods — the
//! "Authorization scopes" of each method's reference page
//! (<https://developers.google.com/workspace/sheets/api/reference/rest>, the same lists as the
//! discovery document's `scopes`). No method accepts `spreadsheets.currentonly`: that scope is Apps
//! Script's, for its built-in `SpreadsheetApp`, and never authorizes a REST call. Plain data: this
//! module uses no other module of the crate.

/// `https://www.googleapis.com/auth/spreadsheets`: see, edit, create and delete all spreadsheets.
pub const SPREADSHEETS: &str = "https://www.googleapis.com/auth/spreadsheets";
/// `…/spreadsheets.readonly`: see all spreadsheets.
pub const SPREADSHEETS_READONLY: &str = "https://www.googleapis.com/auth/spreadsheets.readonly";
/// `…/spreadsheets.currentonly`: Apps Script only — the spreadsheet the script is bound to.
pub const SPREADSHEETS_CURRENTONLY: &str =
    "https://www.googleapis.com/auth/spreadsheets.currentonly";
/// `…/drive`: every Drive file.
pub const DRIVE: &str = "https://www.googleapis.com/auth/drive";
/// `…/drive.readonly`: see every Drive file.
pub const DRIVE_READONLY: &str = "https://www.googleapis.com/auth/drive.readonly";
/// `…/drive.file`: the files the app created or was given.
pub const DRIVE_FILE: &str = "https://www.googleapis.com/auth/drive.file";
/// `…/cloud-platform`: what a Cloud Run or GCE metadata server grants when no scope is asked for;
/// the Sheets API does not accept it.
pub const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";
/// `…/script.container.ui`: Apps Script's menus and sidebars.
pub const SCRIPT_CONTAINER_UI: &str = "https://www.googleapis.com/auth/script.container.ui";
/// `…/userinfo.email`: the user's email address.
pub const USERINFO_EMAIL: &str = "https://www.googleapis.com/auth/userinfo.email";

/// The scopes of `appsscript/appsscript.json`: what `ScriptApp.getOAuthToken()` carries.
pub const APPS_SCRIPT_MANIFEST: [&str; 4] = [
    SPREADSHEETS_CURRENTONLY,
    SCRIPT_CONTAINER_UI,
    "openid",
    USERINFO_EMAIL,
];

/// Scopes of the methods that read (spreadsheets.get, values.get, values.batchGet).
const READ: &[&str] = &[
    DRIVE,
    DRIVE_FILE,
    DRIVE_READONLY,
    SPREADSHEETS,
    SPREADSHEETS_READONLY,
];
/// Scopes of the methods that write, and of those that take a `DataFilter` even to read
/// (getByDataFilter, values.batchGetByDataFilter, developerMetadata.get and .search).
const WRITE_OR_FILTER: &[&str] = &[DRIVE, DRIVE_FILE, SPREADSHEETS];

/// A Sheets API method the emulator serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SheetsMethod {
    /// `spreadsheets.get`.
    Get,
    /// `spreadsheets.getByDataFilter`.
    GetByDataFilter,
    /// `spreadsheets.batchUpdate`.
    BatchUpdate,
    /// `spreadsheets.developerMetadata.get`.
    DeveloperMetadataGet,
    /// `spreadsheets.developerMetadata.search`.
    DeveloperMetadataSearch,
    /// `spreadsheets.values.get`.
    ValuesGet,
    /// `spreadsheets.values.update`.
    ValuesUpdate,
    /// `spreadsheets.values.batchGet`.
    ValuesBatchGet,
    /// `spreadsheets.values.batchUpdate`.
    ValuesBatchUpdate,
    /// `spreadsheets.values.batchGetByDataFilter`.
    ValuesBatchGetByDataFilter,
    /// `spreadsheets.values.batchUpdateByDataFilter`.
    ValuesBatchUpdateByDataFilter,
}

impl SheetsMethod {
    /// The scopes its reference page lists; a token needs one of them.
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            SheetsMethod::Get | SheetsMethod::ValuesGet | SheetsMethod::ValuesBatchGet => READ,
            _ => WRITE_OR_FILTER,
        }
    }

    /// Whether it changes the spreadsheet (needs edit rights).
    pub fn writes(self) -> bool {
        matches!(
            self,
            SheetsMethod::BatchUpdate
                | SheetsMethod::ValuesUpdate
                | SheetsMethod::ValuesBatchUpdate
                | SheetsMethod::ValuesBatchUpdateByDataFilter
        )
    }

    /// The RPC name Google reports in an `ErrorInfo`'s metadata.
    pub fn rpc(self) -> &'static str {
        match self {
            SheetsMethod::Get => "google.apps.sheets.v4.SpreadsheetsService.GetSpreadsheet",
            SheetsMethod::GetByDataFilter => {
                "google.apps.sheets.v4.SpreadsheetsService.GetSpreadsheetByDataFilter"
            }
            SheetsMethod::BatchUpdate => {
                "google.apps.sheets.v4.SpreadsheetsService.BatchUpdateSpreadsheet"
            }
            SheetsMethod::DeveloperMetadataGet => {
                "google.apps.sheets.v4.SpreadsheetsService.GetDeveloperMetadata"
            }
            SheetsMethod::DeveloperMetadataSearch => {
                "google.apps.sheets.v4.SpreadsheetsService.SearchDeveloperMetadata"
            }
            SheetsMethod::ValuesGet => "google.apps.sheets.v4.SpreadsheetsService.GetValues",
            SheetsMethod::ValuesUpdate => "google.apps.sheets.v4.SpreadsheetsService.UpdateValues",
            SheetsMethod::ValuesBatchGet => {
                "google.apps.sheets.v4.SpreadsheetsService.BatchGetValues"
            }
            SheetsMethod::ValuesBatchUpdate => {
                "google.apps.sheets.v4.SpreadsheetsService.BatchUpdateValues"
            }
            SheetsMethod::ValuesBatchGetByDataFilter => {
                "google.apps.sheets.v4.SpreadsheetsService.BatchGetValuesByDataFilter"
            }
            SheetsMethod::ValuesBatchUpdateByDataFilter => {
                "google.apps.sheets.v4.SpreadsheetsService.BatchUpdateValuesByDataFilter"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_method_accepts_currentonly_or_cloud_platform_and_filters_need_a_write_scope() {
        let all = [
            SheetsMethod::Get,
            SheetsMethod::GetByDataFilter,
            SheetsMethod::BatchUpdate,
            SheetsMethod::DeveloperMetadataGet,
            SheetsMethod::DeveloperMetadataSearch,
            SheetsMethod::ValuesGet,
            SheetsMethod::ValuesUpdate,
            SheetsMethod::ValuesBatchGet,
            SheetsMethod::ValuesBatchUpdate,
            SheetsMethod::ValuesBatchGetByDataFilter,
            SheetsMethod::ValuesBatchUpdateByDataFilter,
        ];
        for method in all {
            let scopes = method.scopes();
            assert!(!scopes.contains(&SPREADSHEETS_CURRENTONLY), "{method:?}");
            assert!(!scopes.contains(&CLOUD_PLATFORM), "{method:?}");
            assert!(scopes.contains(&SPREADSHEETS), "{method:?}");
        }
        assert!(
            !SheetsMethod::ValuesBatchGetByDataFilter
                .scopes()
                .contains(&SPREADSHEETS_READONLY)
        );
        assert!(
            SheetsMethod::ValuesBatchGet
                .scopes()
                .contains(&SPREADSHEETS_READONLY)
        );
    }
}
