//! The sidebar's view of the sheet when it opens: [`SelectionContext`] and its
//! [`SelectedRow`]s, as the Apps Script side's `getSelectionContext()` returns them (camelCase
//! JSON). Not part of `/api/v1`.

use serde::{Deserialize, Serialize};

/// One selected row, as the Apps Script side's `getSelectionContext()` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelectedRow {
    /// 1-based row number in the sheet.
    pub row_number: u32,
    /// Column A, as displayed (may be empty).
    pub id: String,
    /// Column B, as displayed (may be empty).
    pub title: String,
    /// Whether each of C `year`, D `content_simple`, E `content_detailed`, F `related_movies` holds
    /// something.
    pub filled: [bool; 4],
}

impl SelectedRow {
    /// True when every one of C–F is filled: without `overwrite` the row is skipped.
    pub fn is_filled(&self) -> bool {
        self.filled.iter().all(|f| *f)
    }
}

/// What the sidebar learns from the sheet when it opens: `google.script.run.getSelectionContext()`
/// returns this as JSON (camelCase, as Apps Script code writes it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelectionContext {
    /// The spreadsheet's `spreadsheetId`.
    pub spreadsheet_id: String,
    /// The active sheet's `sheetId`.
    pub sheet_id: i32,
    /// The active sheet's title.
    pub sheet_title: String,
    /// The backend's base URL (no trailing slash, without `/api/v1`), from Script Properties.
    pub backend_url: String,
    /// `ScriptApp.getIdentityToken()`: sent as `Authorization: Bearer …`.
    pub identity_token: String,
    /// The service account the script's owner set up (Script Property
    /// `ALMANAC_SERVICE_ACCOUNT_EMAIL`), `""` when none: the sidebar offers to share the
    /// spreadsheet with it only when it is the backend's own.
    #[serde(default)]
    pub service_account_email: String,
    /// The signed-in user's email, for display.
    pub user_email: String,
    /// The selected rows, top to bottom.
    pub rows: Vec<SelectedRow>,
    /// The Google account's language, `Session.getActiveUserLocale()` (`ko`, `en`, `pt_BR`…):
    /// the sidebar speaks Korean for `ko…`, English otherwise and when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_context_reads_the_camel_case_json_of_apps_script() {
        let ctx: SelectionContext = serde_json::from_str(
            r#"{"spreadsheetId":"s","sheetId":7,"sheetTitle":"Events","backendUrl":"https://b",
                "identityToken":"i","serviceAccountEmail":"sa@p.iam.gserviceaccount.com","userEmail":"a@b.c",
                "rows":[{"rowNumber":2,"id":"01-01","title":"New year","filled":[true,false,false,false]}]}"#,
        )
        .unwrap();
        assert_eq!(ctx.sheet_id, 7);
        assert_eq!(ctx.rows[0].row_number, 2);
        assert!(!ctx.rows[0].is_filled());
        let back = serde_json::to_value(&ctx).unwrap();
        assert_eq!(back["rows"][0]["rowNumber"], 2);
        assert_eq!(back["backendUrl"], "https://b");
    }
}
