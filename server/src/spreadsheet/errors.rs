//! Why a spreadsheet could not be used ([`SpreadsheetError`]): the caller has not proven access,
//! the service account cannot reach it, or Google Sheets is not answering. `jobs` maps it into
//! `CreateJobError` and `chat` into `ChatError`, each with the same HTTP status in `api`.

use std::time::Duration;

use almanac_core::domain::InvalidValue;
use almanac_sheets::SheetsError;

/// Why a spreadsheet could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpreadsheetError {
    /// The `spreadsheet_id` is not a `spreadsheetId`; the message says what is wrong.
    #[error("{0}")]
    SpreadsheetId(InvalidValue),
    /// Google Sheets refused the access check for a reason other than sharing or a passing
    /// failure.
    #[error("Google Sheets refused the access check: {0}")]
    AccessCheckRefused(SheetsError),
    /// The spreadsheet or sheet cannot be found or read by the service account.
    #[error("{0}")]
    SheetNotFound(String),
    /// The call needs an access proof for this caller and spreadsheet, and has none that holds
    /// (missing, expired, for another spreadsheet or user); the message says how to get one.
    #[error("{0}")]
    AccessNotProven(String),
    /// An access challenge's nonce was not found in the spreadsheet (never written — only an
    /// editor can — or already used), or is not one this backend issued for the caller.
    #[error("{0}")]
    ProofNotFound(String),
    /// The spreadsheet is not shared with the service account (as Editor): a step for the
    /// person, naming the email to share with.
    #[error("{message}")]
    ServiceAccountNoAccess {
        /// The service account's email.
        email: String,
        /// What to do.
        message: String,
    },
    /// Google Sheets is unreachable or over quota for now, after a few quick tries.
    #[error("{message}")]
    Unavailable {
        /// What happened.
        message: String,
        /// How long to wait before trying again.
        retry_after: Duration,
    },
}

impl SpreadsheetError {
    /// [`SpreadsheetError::ServiceAccountNoAccess`] for the service account `email`: the one
    /// answer when the service account cannot take an access check back from a spreadsheet or read
    /// it, whether the spreadsheet does not exist, is not shared with it, or holds no check written
    /// by an editor — telling these apart would tell any caller which spreadsheet ids are shared
    /// with the service account.
    pub fn no_access(email: &str) -> SpreadsheetError {
        SpreadsheetError::ServiceAccountNoAccess {
            message: format!(
                "Almanac's service account cannot use this spreadsheet: share it with {email} as Editor (Share ▸ add {email} ▸ Editor); you need edit access yourself too (ask the owner). Then reload the sidebar"
            ),
            email: email.to_owned(),
        }
    }
}
