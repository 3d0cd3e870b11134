//! Why a step of a job did not finish ([`StepError`]), sorted by what the worker does next: retry
//! later with backoff (a passing failure of OpenAI, Google or the database) or fail the job with a
//! message that says what to do. The sorting reads the typed errors of the clients, never a text.

use almanac_openai::OpenAiError;
use almanac_protocol::ErrorCode;
use almanac_sheets::SheetsError;
use almanac_store::StoreError;

/// Why a step did not finish.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Worth retrying later (network, 429, 5xx).
    #[error("{0}")]
    Transient(String),
    /// Retrying will not help; the job fails with this code and message.
    #[error("{message}")]
    Permanent {
        /// A stable snake_case code (the job's `error.code`).
        code: ErrorCode,
        /// What happened and what to do.
        message: String,
    },
    /// The database failed (retried like a transient failure).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<OpenAiError> for StepError {
    fn from(e: OpenAiError) -> Self {
        if e.is_transient() {
            StepError::Transient(format!("OpenAI: {e}"))
        } else {
            StepError::Permanent {
                code: ErrorCode::OpenAiError,
                message: format!("OpenAI refused the request: {e}"),
            }
        }
    }
}

impl From<SheetsError> for StepError {
    fn from(e: SheetsError) -> Self {
        if e.is_transient() {
            StepError::Transient(format!("Google Sheets: {e}"))
        } else {
            StepError::Permanent {
                code: ErrorCode::SheetsError,
                message: format!(
                    "Google Sheets refused the request: {e}. The generated content is kept; retry the job once the sheet is reachable"
                ),
            }
        }
    }
}
