//! What Apps Script's `SpreadsheetApp` does on behalf of the person using a sidebar, for the
//! emulated spreadsheets: `Spreadsheet.addDeveloperMetadata(key, value, DOCUMENT)` and
//! `Spreadsheet.addEditor(email)`
//! (<https://developers.google.com/apps-script/reference/spreadsheet/spreadsheet>). Both change the
//! spreadsheet, so both need the person to be an editor of it, as in Sheets; the error is the
//! exception text Apps Script would throw. (Apps Script authorizes these with
//! `spreadsheets.currentonly`; no REST call, and so no scope check, is involved.)

use crate::google::access::Role;
use crate::google::devmeta::{DeveloperMetadata, Location, Visibility};
use crate::google::spreadsheet_ops::next_id;
use crate::state::State;

/// Why an Apps Script call failed: the exception's message.
pub type ScriptError = String;

fn check_editor(state: &State, user: &str, spreadsheet_id: &str) -> Result<(), ScriptError> {
    if !state.spreadsheets.contains_key(spreadsheet_id) {
        return Err(format!(
            "Exception: Unexpected error while getting the method or property openById on object SpreadsheetApp ({spreadsheet_id})."
        ));
    }
    let role = state
        .shares
        .get(spreadsheet_id)
        .and_then(|accounts| accounts.get(user));
    match role {
        Some(Role::Writer) => Ok(()),
        Some(Role::Reader) => Err(
            "Exception: You do not have permission to edit this spreadsheet. Ask its owner for edit access."
                .to_string(),
        ),
        None => Err("Exception: You do not have access to this spreadsheet.".to_string()),
    }
}

/// `Spreadsheet.addDeveloperMetadata(key, value, DeveloperMetadataVisibility.DOCUMENT)` run by
/// `user`: the new entry's `metadataId`.
///
/// # Errors
/// When `user` is not an editor of the spreadsheet (or it does not exist).
pub fn add_developer_metadata(
    state: &mut State,
    user: &str,
    spreadsheet_id: &str,
    key: &str,
    value: &str,
) -> Result<i32, ScriptError> {
    check_editor(state, user, spreadsheet_id)?;
    let spreadsheet = state
        .spreadsheets
        .get_mut(spreadsheet_id)
        .ok_or_else(|| "Exception: the spreadsheet vanished".to_string())?;
    let id = next_id(&spreadsheet.developer_metadata);
    spreadsheet.developer_metadata.push(DeveloperMetadata {
        id,
        key: key.to_string(),
        value: Some(value.to_string()),
        visibility: Visibility::Document,
        location: Location::Spreadsheet,
    });
    Ok(id)
}

/// `Spreadsheet.addEditor(email)` run by `user`: shares the spreadsheet with `email` as editor.
///
/// # Errors
/// When `user` is not an editor of the spreadsheet (or it does not exist).
pub fn add_editor(
    state: &mut State,
    user: &str,
    spreadsheet_id: &str,
    email: &str,
) -> Result<(), ScriptError> {
    check_editor(state, user, spreadsheet_id)?;
    state
        .shares
        .entry(spreadsheet_id.to_string())
        .or_default()
        .insert(email.to_string(), Role::Writer);
    Ok(())
}
