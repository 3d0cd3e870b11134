//! Proving that the caller can edit a spreadsheet: the challenge the add-on writes into it as
//! developer metadata (`POST /api/v1/spreadsheets/{spreadsheet_id}/access/challenge`), the proof
//! handed out once the backend found it there (`…/access/proof`), and the header and metadata key
//! both sides use.

use serde::{Deserialize, Serialize};

/// The header that carries an access proof (from `POST /spreadsheets/{id}/access/proof`) beside
/// `Authorization: Bearer <ID token>` on the calls that act on a spreadsheet; lower case, as HTTP/2
/// sends header names.
pub const ACCESS_PROOF_HEADER: &str = "x-almanac-access-proof";

/// The developer-metadata key under which the add-on writes an access challenge's nonce
/// (`Spreadsheet.addDeveloperMetadata(key, nonce, DOCUMENT)` in Apps Script).
pub const ACCESS_PROOF_METADATA_KEY: &str = "almanac-access-proof";

/// `POST /api/v1/spreadsheets/{spreadsheet_id}/access/challenge`: what the add-on must write into
/// the spreadsheet — developer metadata `metadata_key` = `nonce`, visibility `DOCUMENT`, on the
/// spreadsheet — to prove that the caller can edit it. Only an editor can add developer metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessChallenge {
    /// The spreadsheet.
    pub spreadsheet_id: String,
    /// The developer-metadata key to write ([`ACCESS_PROOF_METADATA_KEY`]).
    pub metadata_key: String,
    /// The value to write: single use, bound to the caller and the spreadsheet, valid until
    /// `expires_at` (it starts with `ap1.<expiry as Unix seconds>.`).
    pub nonce: String,
    /// When the nonce stops being accepted (RFC 3339, UTC); ten minutes after it was issued.
    pub expires_at: String,
    /// The backend's service account: the spreadsheet must be shared with it as Editor.
    pub service_account_email: String,
}

/// The body of `POST /api/v1/spreadsheets/{spreadsheet_id}/access/proof`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessProofRequest {
    /// The nonce of the challenge, once written into the spreadsheet.
    pub nonce: String,
}

/// An access proof: the caller can edit the spreadsheet and the service account can too. Sent as
/// [`ACCESS_PROOF_HEADER`] on `POST /jobs` and the budget calls for this spreadsheet, until
/// `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessProof {
    /// The spreadsheet.
    pub spreadsheet_id: String,
    /// The proof, for [`ACCESS_PROOF_HEADER`]; bound to the caller and the spreadsheet.
    pub proof: String,
    /// When it stops being accepted (RFC 3339, UTC); one hour after it was issued.
    pub expires_at: String,
    /// The backend's service account.
    pub service_account_email: String,
}
