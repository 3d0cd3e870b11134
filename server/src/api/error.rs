//! The one place where failures become HTTP responses: every error is
//! `{"error":{"code","message"}}` with the right status. Client errors say what was wrong and what
//! to do; server errors say nothing internal (the details go to the log). Every 401 also carries a
//! `WWW-Authenticate: Bearer …` challenge (RFC 6750 §3, <https://www.rfc-editor.org/rfc/rfc6750#section-3>):
//! with `error="invalid_token"` when a token was sent and refused, without an error code when none
//! was sent.

use almanac_protocol::{ErrorBody, ErrorCode, ErrorDetail};
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::AuthError;
use crate::jobs::{CreateJobError, JobError};
use crate::spreadsheet::SpreadsheetError;
use almanac_core::catalog::UnknownModel;

/// An error answered by the API.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable snake_case code.
    pub code: ErrorCode,
    /// For people.
    pub message: String,
}

impl ApiError {
    /// 400 `invalid_request` with a message saying what to change.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: ErrorCode::InvalidRequest,
            message: message.into(),
        }
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: ErrorCode::NotFound,
            message: message.into(),
        }
    }

    /// 500 `internal`; the cause is logged, not shown.
    pub fn internal(cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "internal error");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: ErrorCode::Internal,
            message: "something went wrong on our side; try again, and report it if it persists"
                .into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let challenge = match (self.status, &self.code) {
            (StatusCode::UNAUTHORIZED, ErrorCode::MissingToken) => {
                Some(r#"Bearer realm="almanac""#)
            }
            (StatusCode::UNAUTHORIZED, _) => {
                Some(r#"Bearer realm="almanac", error="invalid_token""#)
            }
            _ => None,
        };
        let body = ErrorBody {
            error: ErrorDetail::new(self.code, self.message),
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(challenge) = challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

impl From<UnknownModel> for ApiError {
    fn from(e: UnknownModel) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: ErrorCode::UnknownModel,
            message: e.to_string(),
        }
    }
}

impl From<SpreadsheetError> for ApiError {
    fn from(e: SpreadsheetError) -> Self {
        let (status, code) = match &e {
            SpreadsheetError::SpreadsheetId(_) | SpreadsheetError::AccessCheckRefused(_) => {
                return ApiError::invalid(e.to_string());
            }
            SpreadsheetError::SheetNotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::SheetNotFound),
            SpreadsheetError::AccessNotProven(_) => {
                (StatusCode::FORBIDDEN, ErrorCode::AccessNotProven)
            }
            SpreadsheetError::ProofNotFound(_) => (StatusCode::FORBIDDEN, ErrorCode::ProofNotFound),
            SpreadsheetError::ServiceAccountNoAccess { .. } => {
                (StatusCode::FORBIDDEN, ErrorCode::ServiceAccountNoAccess)
            }
            SpreadsheetError::Unavailable { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::SheetsUnavailable,
            ),
        };
        ApiError {
            status,
            code,
            message: e.to_string(),
        }
    }
}

impl From<CreateJobError> for ApiError {
    fn from(e: CreateJobError) -> Self {
        match e {
            CreateJobError::Invalid(_) | CreateJobError::NotReadBack(_) => {
                ApiError::invalid(e.to_string())
            }
            CreateJobError::UnknownModel(u) => u.into(),
            CreateJobError::DeprecatedModel(d) => ApiError {
                status: StatusCode::BAD_REQUEST,
                code: ErrorCode::DeprecatedModel,
                message: d.to_string(),
            },
            CreateJobError::Spreadsheet(s) => s.into(),
            CreateJobError::ModeNotAllowed(m) => ApiError {
                status: StatusCode::BAD_REQUEST,
                code: ErrorCode::ModeNotAllowed,
                message: m,
            },
            CreateJobError::OverBudget(b) => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: b.code(),
                message: b.to_string(),
            },
            CreateJobError::BudgetAboveDefault(b) => ApiError {
                status: StatusCode::FORBIDDEN,
                code: ErrorCode::BudgetAboveDefault,
                message: b.to_string(),
            },
            CreateJobError::Store(s) => ApiError::internal(&s),
        }
    }
}

/// A refused creation (of a job or an access proof) as an answer: the [`ApiError`] of the
/// [`CreateJobError`], plus `Retry-After` (whole seconds) when Google is unavailable for now; or
/// a malformed request.
#[derive(Debug)]
pub enum CreateRefusal {
    /// The jobs layer refused.
    Refused(CreateJobError),
    /// The request itself is wrong (body, path).
    Request(ApiError),
}

impl From<CreateJobError> for CreateRefusal {
    fn from(e: CreateJobError) -> Self {
        CreateRefusal::Refused(e)
    }
}

impl From<axum::extract::rejection::JsonRejection> for CreateRefusal {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        CreateRefusal::Request(e.into())
    }
}

impl IntoResponse for CreateRefusal {
    fn into_response(self) -> Response {
        let error = match self {
            CreateRefusal::Request(e) => return e.into_response(),
            CreateRefusal::Refused(e) => e,
        };
        let retry_after = match &error {
            CreateJobError::Spreadsheet(SpreadsheetError::Unavailable { retry_after, .. }) => {
                Some(retry_after.as_secs().max(1))
            }
            _ => None,
        };
        let mut response = ApiError::from(error).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<JobError> for ApiError {
    fn from(e: JobError) -> Self {
        match e {
            JobError::NotFound(_) => ApiError::not_found(e.to_string()),
            JobError::Finished(_) => ApiError {
                status: StatusCode::CONFLICT,
                code: ErrorCode::JobFinished,
                message: e.to_string(),
            },
            JobError::Running(_) => ApiError {
                status: StatusCode::CONFLICT,
                code: ErrorCode::JobRunning,
                message: e.to_string(),
            },
            JobError::NothingToRetry(_) => ApiError {
                status: StatusCode::CONFLICT,
                code: ErrorCode::NothingToRetry,
                message: e.to_string(),
            },
            JobError::OverBudget(b) => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: b.code(),
                message: b.to_string(),
            },
            JobError::Spreadsheet(s) => s.into(),
            JobError::Store(s) => ApiError::internal(&s),
        }
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: ErrorCode::BodyTooLarge,
                message: format!(
                    "the request body is too large: POST /estimate takes at most {} MiB, other endpoints {} KiB; send fewer rows",
                    crate::api::limits::MAX_ESTIMATE_BODY_BYTES / (1024 * 1024),
                    crate::api::limits::MAX_BODY_BYTES / 1024
                ),
            };
        }
        ApiError {
            status: e.status(),
            code: ErrorCode::InvalidRequest,
            message: format!(
                "the request body is not what this endpoint takes: {}",
                e.body_text()
            ),
        }
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(e: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::invalid(format!("bad query string: {}", e.body_text()))
    }
}
impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let status = match e {
            AuthError::KeysUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        };
        ApiError {
            status,
            code: e.code(),
            message: e.to_string(),
        }
    }
}

impl From<crate::chat::ChatError> for ApiError {
    fn from(e: crate::chat::ChatError) -> Self {
        use crate::chat::ChatError as E;
        use crate::chat::errors::FailureKind;
        let message = e.to_string();
        let (status, code) = match e {
            E::Invalid(_) => (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest),
            E::MessageTooLong { .. } => (StatusCode::BAD_REQUEST, ErrorCode::MessageTooLong),
            E::NoSpreadsheet => (StatusCode::BAD_REQUEST, ErrorCode::SpreadsheetRequired),
            E::NothingToRun(_) => (StatusCode::BAD_REQUEST, ErrorCode::NoPendingMessage),
            E::ThreadNotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::ThreadNotFound),
            E::RunNotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::RunNotFound),
            E::FileNotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::FileNotFound),
            E::RunActive { .. } => (StatusCode::CONFLICT, ErrorCode::RunActive),
            E::RunFinished(_) => (StatusCode::CONFLICT, ErrorCode::RunFinished),
            E::TooManyThreads { .. } => (StatusCode::CONFLICT, ErrorCode::TooManyThreads),
            E::ThreadFull { .. } => (StatusCode::CONFLICT, ErrorCode::ThreadFull),
            E::OverBudget { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::OverMonthlyBudget,
            ),
            E::OverOperatorCap(over) => (StatusCode::UNPROCESSABLE_ENTITY, over.code()),
            E::Access(access) => return access.into(),
            E::OpenAi(o) if o.is_transient() => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::OpenAiUnavailable,
            ),
            E::OpenAi(_) => (StatusCode::BAD_GATEWAY, ErrorCode::OpenAiRefused),
            E::TurnFailed(f) => match f.kind {
                FailureKind::OpenAi => (StatusCode::BAD_GATEWAY, ErrorCode::OpenAiFailed),
                FailureKind::Unavailable => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::OpenAiUnavailable,
                ),
                FailureKind::Cancelled => (StatusCode::CONFLICT, ErrorCode::RunCancelled),
                FailureKind::Expired => (StatusCode::GATEWAY_TIMEOUT, ErrorCode::RunExpired),
                FailureKind::Internal => return ApiError::internal(&f.error.message),
            },
            E::Store(s) => return ApiError::internal(&s),
        };
        ApiError {
            status,
            code,
            message,
        }
    }
}
