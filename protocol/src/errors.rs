//! Why something failed, for programs and for people: [`ErrorCode`], the one vocabulary of error
//! codes (an answer of the API, a failed job's `error`, a chat run's `last_error`), and the body
//! that carries it, `{"error":{"code","message"}}` ([`ErrorBody`], [`ErrorDetail`]). Why one row
//! of a job failed is a [`crate::FailureCode`] instead.

use serde::{Deserialize, Serialize};

/// A stable snake_case error code (`unknown_model`, `not_found`, `invalid_request`, …): the code of
/// an error answer of `/api/v1` (with its HTTP status), of a failed job (`Job.error`) and of a chat
/// run's `last_error`. Written on the wire and in the store as its snake_case text; the message
/// beside it is for people.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // The request.
    /// 400: the request is malformed (body, query, path, a value out of range); the message says
    /// what to change.
    InvalidRequest,
    /// 413: the request body is over the endpoint's limit.
    BodyTooLarge,
    /// 404: no such resource for this caller, or no such endpoint.
    NotFound,
    /// 429: too many requests from this caller; `Retry-After` says when to try again.
    RateLimited,
    /// 429: the caller already holds as many open event and chat streams as one user may
    /// (`ALMANAC_STREAMS_PER_USER`); close one (another sidebar) first.
    TooManyStreams,
    /// 503: the server holds as many connections as it may (`ALMANAC_MAX_CONNECTIONS`); the
    /// connection is closed, `Retry-After` says when to try again.
    ServerBusy,
    /// 500: our side failed (details in the log, not in the message); also a chat run whose end
    /// could not be stored.
    Internal,
    /// 400: the model id is not in the catalogue; also a job whose model the catalogue no longer
    /// has.
    UnknownModel,
    /// 400: the model is deprecated: a new job cannot pick it; the message names the replacement.
    DeprecatedModel,

    // The caller's Google ID token (401 unless said otherwise).
    /// No `Authorization: Bearer` token was sent.
    MissingToken,
    /// The token is not a JWT.
    MalformedToken,
    /// The token's signature does not verify with Google's keys.
    BadSignature,
    /// The token is signed with an algorithm other than RS256.
    UnsupportedAlg,
    /// The token's `kid` is not one of Google's current keys.
    UnknownKid,
    /// The token has expired; also the `last_error` of a chat run stopped at the run timeout.
    Expired,
    /// The token is not valid yet (`nbf`/`iat` in the future).
    NotYetValid,
    /// The token was not issued by Google.
    WrongIssuer,
    /// The token is addressed to another OAuth client (`aud`).
    WrongAudience,
    /// The token carries no verified email.
    EmailUnverified,
    /// The email's domain may not use this backend.
    EmailDomainNotAllowed,
    /// 503: Google's signing keys cannot be fetched for now.
    IdentityUnavailable,

    // A spreadsheet, a new job, a spending check.
    /// 404: the spreadsheet or sheet cannot be found or read by the service account.
    SheetNotFound,
    /// 403: no access proof that holds for this caller and spreadsheet.
    AccessNotProven,
    /// 403: the access challenge's nonce is not in the spreadsheet (or not this caller's).
    ProofNotFound,
    /// 403: the spreadsheet is not shared with the service account as Editor.
    ServiceAccountNoAccess,
    /// 503: Google Sheets is unreachable or over quota for now; `Retry-After` says when to try
    /// again.
    SheetsUnavailable,
    /// 400: the server's batch strategy does not allow the mode asked for.
    ModeNotAllowed,
    /// 422: the estimate is above the job's `max_cost_usd`.
    OverJobBudget,
    /// 422: the estimate passes what is left of the spreadsheet's monthly budget.
    OverMonthlyBudget,
    /// 422: the estimate passes what is left of the caller's monthly cap, set by the operator.
    OverUserMonthlyCap,
    /// 422: the estimate passes what is left of the operator's monthly cap on all spending.
    OverOperatorMonthlyCap,
    /// 403: the spreadsheet budget asked for is above the operator's default budget (or removes
    /// it), which the operator does not allow.
    BudgetAboveDefault,

    // A job that exists.
    /// 409: the job is finished and cannot be cancelled.
    JobFinished,
    /// 409: the job is still running: wait for it to end (or cancel it) before retrying.
    JobRunning,
    /// 409: the job has no failed rows that a retry could fix.
    NothingToRetry,

    // `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header).
    /// 422: the `Idempotency-Key` was used by this caller for another request (another method,
    /// path or body) in the last 24 hours: send a new key for a new request.
    IdempotencyKeyReused,
    /// 409: a request with this `Idempotency-Key` is still being answered: try again shortly
    /// (`Retry-After`) to get its answer.
    IdempotencyKeyInFlight,

    // Why a job failed (`Job.error`).
    /// OpenAI refused a request of the job for good (bad key, no quota, a malformed file).
    #[serde(rename = "openai_error")]
    OpenAiError,
    /// Google Sheets refused a call of the job for good.
    SheetsError,
    /// OpenAI rejected the job's batch in validation without running it.
    BatchFailed,
    /// A file job's input file cannot be read.
    InputUnreadable,
    /// A file job's output file cannot be written.
    OutputUnwritable,
    /// The job's spreadsheet id is not a valid `spreadsheetId`.
    InvalidSpreadsheet,
    /// The job's requests cannot be written into an input file.
    InvalidInput,

    // Ask about the sheet.
    /// 400: the message is longer than the server takes.
    MessageTooLong,
    /// 400: a thread needs a spreadsheet to be about.
    SpreadsheetRequired,
    /// 400: the thread has no message waiting for an answer.
    NoPendingMessage,
    /// 404: no such thread for this caller.
    ThreadNotFound,
    /// 404: no such run in this thread.
    RunNotFound,
    /// 404: no such file of this thread.
    FileNotFound,
    /// 409: a run of the thread is still going.
    RunActive,
    /// 409: the run is finished and cannot be cancelled.
    RunFinished,
    /// 409: the caller has as many threads as the server allows.
    TooManyThreads,
    /// 409: the thread has as many messages as the server allows.
    ThreadFull,
    /// 503: OpenAI could not be reached, or is rate-limiting.
    #[serde(rename = "openai_unavailable")]
    OpenAiUnavailable,
    /// 502: OpenAI refused the turn's request.
    #[serde(rename = "openai_refused")]
    OpenAiRefused,
    /// 502: OpenAI failed the turn's response.
    #[serde(rename = "openai_failed")]
    OpenAiFailed,
    /// 409: the run was cancelled while the caller waited for it.
    RunCancelled,
    /// 504: the run was stopped at the server's run timeout while the caller waited for it.
    RunExpired,
    /// A run's replica stopped (or gave up on it) before it ended; the run was failed so that its
    /// thread can go on (a run's `last_error` only).
    Interrupted,
    /// The model kept calling the sheet's tools without answering.
    TooManyToolCalls,
    /// The `last_error` of a run cancelled on request.
    Cancelled,

    /// OpenAI's own `error.code` for a response that failed or a stream that broke off
    /// (`server_error`, `rate_limit_exceeded`, …), passed on as it came: a chat run's
    /// `last_error` and a streamed turn's `error` event. Any text that is none of the codes above
    /// reads as this.
    #[serde(untagged)]
    OpenAi(String),
}

impl ErrorCode {
    /// Every code of Almanac's own, in declaration order (all but [`ErrorCode::OpenAi`]).
    pub const ALL: [ErrorCode; 62] = [
        ErrorCode::InvalidRequest,
        ErrorCode::BodyTooLarge,
        ErrorCode::NotFound,
        ErrorCode::RateLimited,
        ErrorCode::TooManyStreams,
        ErrorCode::ServerBusy,
        ErrorCode::Internal,
        ErrorCode::UnknownModel,
        ErrorCode::DeprecatedModel,
        ErrorCode::MissingToken,
        ErrorCode::MalformedToken,
        ErrorCode::BadSignature,
        ErrorCode::UnsupportedAlg,
        ErrorCode::UnknownKid,
        ErrorCode::Expired,
        ErrorCode::NotYetValid,
        ErrorCode::WrongIssuer,
        ErrorCode::WrongAudience,
        ErrorCode::EmailUnverified,
        ErrorCode::EmailDomainNotAllowed,
        ErrorCode::IdentityUnavailable,
        ErrorCode::SheetNotFound,
        ErrorCode::AccessNotProven,
        ErrorCode::ProofNotFound,
        ErrorCode::ServiceAccountNoAccess,
        ErrorCode::SheetsUnavailable,
        ErrorCode::ModeNotAllowed,
        ErrorCode::OverJobBudget,
        ErrorCode::OverMonthlyBudget,
        ErrorCode::OverUserMonthlyCap,
        ErrorCode::OverOperatorMonthlyCap,
        ErrorCode::BudgetAboveDefault,
        ErrorCode::JobFinished,
        ErrorCode::JobRunning,
        ErrorCode::NothingToRetry,
        ErrorCode::IdempotencyKeyReused,
        ErrorCode::IdempotencyKeyInFlight,
        ErrorCode::OpenAiError,
        ErrorCode::SheetsError,
        ErrorCode::BatchFailed,
        ErrorCode::InputUnreadable,
        ErrorCode::OutputUnwritable,
        ErrorCode::InvalidSpreadsheet,
        ErrorCode::InvalidInput,
        ErrorCode::MessageTooLong,
        ErrorCode::SpreadsheetRequired,
        ErrorCode::NoPendingMessage,
        ErrorCode::ThreadNotFound,
        ErrorCode::RunNotFound,
        ErrorCode::FileNotFound,
        ErrorCode::RunActive,
        ErrorCode::RunFinished,
        ErrorCode::TooManyThreads,
        ErrorCode::ThreadFull,
        ErrorCode::OpenAiUnavailable,
        ErrorCode::OpenAiRefused,
        ErrorCode::OpenAiFailed,
        ErrorCode::RunCancelled,
        ErrorCode::RunExpired,
        ErrorCode::Interrupted,
        ErrorCode::TooManyToolCalls,
        ErrorCode::Cancelled,
    ];

    /// The snake_case text on the wire and in the store (OpenAI's own text for
    /// [`ErrorCode::OpenAi`]).
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::BodyTooLarge => "body_too_large",
            ErrorCode::NotFound => "not_found",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::TooManyStreams => "too_many_streams",
            ErrorCode::ServerBusy => "server_busy",
            ErrorCode::Internal => "internal",
            ErrorCode::UnknownModel => "unknown_model",
            ErrorCode::DeprecatedModel => "deprecated_model",
            ErrorCode::MissingToken => "missing_token",
            ErrorCode::MalformedToken => "malformed_token",
            ErrorCode::BadSignature => "bad_signature",
            ErrorCode::UnsupportedAlg => "unsupported_alg",
            ErrorCode::UnknownKid => "unknown_kid",
            ErrorCode::Expired => "expired",
            ErrorCode::NotYetValid => "not_yet_valid",
            ErrorCode::WrongIssuer => "wrong_issuer",
            ErrorCode::WrongAudience => "wrong_audience",
            ErrorCode::EmailUnverified => "email_unverified",
            ErrorCode::EmailDomainNotAllowed => "email_domain_not_allowed",
            ErrorCode::IdentityUnavailable => "identity_unavailable",
            ErrorCode::SheetNotFound => "sheet_not_found",
            ErrorCode::AccessNotProven => "access_not_proven",
            ErrorCode::ProofNotFound => "proof_not_found",
            ErrorCode::ServiceAccountNoAccess => "service_account_no_access",
            ErrorCode::SheetsUnavailable => "sheets_unavailable",
            ErrorCode::ModeNotAllowed => "mode_not_allowed",
            ErrorCode::OverJobBudget => "over_job_budget",
            ErrorCode::OverMonthlyBudget => "over_monthly_budget",
            ErrorCode::OverUserMonthlyCap => "over_user_monthly_cap",
            ErrorCode::OverOperatorMonthlyCap => "over_operator_monthly_cap",
            ErrorCode::BudgetAboveDefault => "budget_above_default",
            ErrorCode::JobFinished => "job_finished",
            ErrorCode::JobRunning => "job_running",
            ErrorCode::NothingToRetry => "nothing_to_retry",
            ErrorCode::IdempotencyKeyReused => "idempotency_key_reused",
            ErrorCode::IdempotencyKeyInFlight => "idempotency_key_in_flight",
            ErrorCode::OpenAiError => "openai_error",
            ErrorCode::SheetsError => "sheets_error",
            ErrorCode::BatchFailed => "batch_failed",
            ErrorCode::InputUnreadable => "input_unreadable",
            ErrorCode::OutputUnwritable => "output_unwritable",
            ErrorCode::InvalidSpreadsheet => "invalid_spreadsheet",
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::MessageTooLong => "message_too_long",
            ErrorCode::SpreadsheetRequired => "spreadsheet_required",
            ErrorCode::NoPendingMessage => "no_pending_message",
            ErrorCode::ThreadNotFound => "thread_not_found",
            ErrorCode::RunNotFound => "run_not_found",
            ErrorCode::FileNotFound => "file_not_found",
            ErrorCode::RunActive => "run_active",
            ErrorCode::RunFinished => "run_finished",
            ErrorCode::TooManyThreads => "too_many_threads",
            ErrorCode::ThreadFull => "thread_full",
            ErrorCode::OpenAiUnavailable => "openai_unavailable",
            ErrorCode::OpenAiRefused => "openai_refused",
            ErrorCode::OpenAiFailed => "openai_failed",
            ErrorCode::RunCancelled => "run_cancelled",
            ErrorCode::RunExpired => "run_expired",
            ErrorCode::Interrupted => "interrupted",
            ErrorCode::TooManyToolCalls => "too_many_tool_calls",
            ErrorCode::Cancelled => "cancelled",
            ErrorCode::OpenAi(code) => code,
        }
    }

    /// Reads the snake_case text: one of Almanac's codes, or else OpenAI's (as
    /// [`ErrorCode::OpenAi`]).
    pub fn parse(text: &str) -> ErrorCode {
        ErrorCode::ALL
            .into_iter()
            .find(|code| code.as_str() == text)
            .unwrap_or_else(|| ErrorCode::OpenAi(text.to_owned()))
    }
}

/// Stored as its text (`TEXT`), read back with [`ErrorCode::parse`] (a code Almanac does not know
/// is OpenAI's, kept as it came). Write it by binding [`ErrorCode::as_str`].
#[cfg(feature = "sqlx")]
impl<DB: sqlx::Database> sqlx::Type<DB> for ErrorCode
where
    String: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as sqlx::Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as sqlx::Type<DB>>::compatible(ty)
    }
}

#[cfg(feature = "sqlx")]
impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for ErrorCode
where
    String: sqlx::Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<ErrorCode, sqlx::error::BoxDynError> {
        Ok(ErrorCode::parse(&<String as sqlx::Decode<'r, DB>>::decode(
            value,
        )?))
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ErrorCode {
    /// Compares with the snake_case text (`ErrorCode::NotFound == "not_found"`).
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Machine-readable error: `{"error":{"code","message"}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// A stable snake_case code (`unknown_model`, `not_found`, `invalid_request`, …).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub code: ErrorCode,
    /// What was wrong and what to do, for people.
    pub message: String,
}

impl ErrorDetail {
    /// An error with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ErrorDetail {
        ErrorDetail {
            code,
            message: message.into(),
        }
    }
}

/// The body of every error response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_its_snake_case_text_on_the_wire_and_parses_back() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
            assert_eq!(ErrorCode::parse(code.as_str()), code);
        }
        let names: std::collections::BTreeSet<&str> =
            ErrorCode::ALL.iter().map(ErrorCode::as_str).collect();
        assert_eq!(
            names.len(),
            ErrorCode::ALL.len(),
            "no two codes share a text"
        );
    }

    #[test]
    fn openais_own_codes_pass_through_as_they_came() {
        let code: ErrorCode = serde_json::from_str("\"server_error\"").unwrap();
        assert_eq!(code, ErrorCode::OpenAi("server_error".into()));
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"server_error\"");
        assert_eq!(
            ErrorCode::parse("rate_limit_exceeded"),
            "rate_limit_exceeded"
        );
        assert_eq!(ErrorCode::OpenAiError, "openai_error");
        let body: ErrorBody =
            serde_json::from_str(r#"{"error":{"code":"sheets_unavailable","message":"m"}}"#)
                .unwrap();
        assert_eq!(body.error.code, ErrorCode::SheetsUnavailable);
    }
}
