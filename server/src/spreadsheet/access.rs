//! The access proof: before the service account works on a spreadsheet for a caller, the caller
//! proves that they can *edit* it, using only what the add-on's `spreadsheets.currentonly` scope
//! allows, and the proof shows at the same time that the service account can edit it too.
//!
//! 1. [`challenge`]: the backend hands out a nonce bound to the caller (`sub`) and the
//!    `spreadsheetId`, valid ten minutes (`auth::access`).
//! 2. Apps Script writes it as developer metadata on the spreadsheet
//!    (`Spreadsheet.addDeveloperMetadata(key, nonce, DOCUMENT)`), which only an editor can.
//! 3. [`prove`]: the service account deletes exactly that entry in one `spreadsheets.batchUpdate`
//!    (`deleteDeveloperMetadata` by lookup; `SheetsClient::take_access_proof`). Deleting is an edit,
//!    so success also proves the spreadsheet is shared with the service account as Editor; the
//!    nonce cannot be used twice. The caller gets a proof valid one hour.
//! 4. [`check`]: `POST /jobs` and the budget calls carry the proof; it must be for this caller and
//!    spreadsheet and unexpired.
//!
//! Nothing is stored: nonces and proofs are signed, so every instance sharing the secret checks
//! them.

use almanac_core::domain::SpreadsheetId;
use almanac_protocol::{ACCESS_PROOF_METADATA_KEY, AccessChallenge, AccessProof};
use almanac_sheets::SheetsError;
use chrono::{TimeZone, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::auth::access::now_secs;
use crate::spreadsheet::transient::{retry_sheets, unavailable};
use crate::spreadsheet::{SpreadsheetError, Spreadsheets};

fn rfc3339(unix: u64) -> String {
    Utc.timestamp_opt(i64::try_from(unix).unwrap_or(i64::MAX), 0)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn spreadsheet(spreadsheet_id: &str) -> Result<SpreadsheetId, SpreadsheetError> {
    SpreadsheetId::parse(spreadsheet_id).map_err(SpreadsheetError::SpreadsheetId)
}

/// A fresh challenge for `owner` on `spreadsheet_id`.
///
/// # Errors
/// [`SpreadsheetError::SpreadsheetId`] for a malformed spreadsheet id.
pub fn challenge(
    sp: &Spreadsheets,
    owner: &str,
    spreadsheet_id: &str,
) -> Result<AccessChallenge, SpreadsheetError> {
    let id = spreadsheet(spreadsheet_id)?;
    let (nonce, exp) = sp.access.challenge(owner, id.as_str(), now_secs());
    Ok(AccessChallenge {
        spreadsheet_id: id.to_string(),
        metadata_key: ACCESS_PROOF_METADATA_KEY.to_owned(),
        nonce,
        expires_at: rfc3339(exp),
        service_account_email: sp.sheets.service_account_email().to_owned(),
    })
}

/// Takes the challenge's nonce back from the spreadsheet with the service account and, when an
/// editor wrote it there, hands out a proof.
///
/// # Errors
/// [`SpreadsheetError::ProofNotFound`] when the nonce is not this caller's or has expired;
/// [`SpreadsheetError::ServiceAccountNoAccess`] when the service account cannot see or change the
/// spreadsheet or finds no such nonce in it (one answer: see [`SpreadsheetError::no_access`]); [`SpreadsheetError::Unavailable`] when Google keeps failing.
pub async fn prove(
    sp: &Spreadsheets,
    owner: &str,
    spreadsheet_id: &str,
    nonce: &str,
) -> Result<AccessProof, SpreadsheetError> {
    let id = spreadsheet(spreadsheet_id)?;
    sp.access
        .check_challenge(nonce, owner, id.as_str(), now_secs())
        .map_err(|e| {
            SpreadsheetError::ProofNotFound(format!(
                "the access check cannot be used: {e}. Reload the sidebar to start a new one"
            ))
        })?;
    let sheets = &sp.sheets;
    let taken = retry_sheets("access proof", || {
        sheets.take_access_proof(&id, ACCESS_PROOF_METADATA_KEY, nonce)
    })
    .await
    .map_err(|e| proof_error(sp, &e))?;
    if !taken {
        // Not told apart from a spreadsheet that is missing or not shared (see `no_access`).
        return Err(SpreadsheetError::no_access(sheets.service_account_email()));
    }
    let (proof, exp) = sp.access.proof(owner, id.as_str(), now_secs());
    tracing::info!(spreadsheet_id = %id, "access proven");
    Ok(AccessProof {
        spreadsheet_id: id.to_string(),
        proof,
        expires_at: rfc3339(exp),
        service_account_email: sheets.service_account_email().to_owned(),
    })
}

/// Why the service account could not take the proof, for the caller.
fn proof_error(sp: &Spreadsheets, e: &SheetsError) -> SpreadsheetError {
    match e {
        SheetsError::NotFound(_) | SheetsError::PermissionDenied(_) => {
            SpreadsheetError::no_access(sp.sheets.service_account_email())
        }
        e if e.is_transient() => unavailable(e),
        e => SpreadsheetError::AccessCheckRefused(e.clone()),
    }
}

/// Checks the access proof sent for `spreadsheet_id` by `owner`; `None` is accepted only in
/// insecure local development (the extractor refuses a missing proof otherwise).
///
/// # Errors
/// [`SpreadsheetError::AccessNotProven`] saying why the proof does not hold.
pub fn check(
    sp: &Spreadsheets,
    owner: &str,
    spreadsheet_id: &SpreadsheetId,
    proof: Option<&SecretString>,
) -> Result<(), SpreadsheetError> {
    let Some(proof) = proof else {
        return Ok(());
    };
    sp.access
        .check_proof(proof.expose_secret(), owner, spreadsheet_id.as_str(), now_secs())
        .map_err(|e| {
            SpreadsheetError::AccessNotProven(format!(
                "{e}: prove again that you can edit spreadsheet {spreadsheet_id} (reload the sidebar), then retry"
            ))
        })
}
