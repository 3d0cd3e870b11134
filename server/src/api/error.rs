//! The one place where failures become HTTP responses: every error is
//! `{"error":{"code","message"}}` with the right status. Client errors say what was wrong and what
//! to do; server errors say nothing internal (the details go to the log).

use almanac_protocol::{ErrorBody, ErrorDetail};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::jobs::{CreateJobError, JobError};
use crate::pricing::UnknownModel;

/// An error answered by the API.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable snake_case code.
    pub code: &'static str,
    /// For people.
    pub message: String,
}

impl ApiError {
    /// 400 `invalid_request` with a message saying what to change.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
            message: message.into(),
        }
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: message.into(),
        }
    }

    /// 500 `internal`; the cause is logged, not shown.
    pub fn internal(cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "internal error");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: "something went wrong on our side; try again, and report it if it persists"
                .into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<UnknownModel> for ApiError {
    fn from(e: UnknownModel) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "unknown_model",
            message: e.to_string(),
        }
    }
}

impl From<CreateJobError> for ApiError {
    fn from(e: CreateJobError) -> Self {
        match e {
            CreateJobError::Invalid(m) => ApiError::invalid(m),
            CreateJobError::UnknownModel(u) => u.into(),
            CreateJobError::SheetNotFound(m) => ApiError {
                status: StatusCode::NOT_FOUND,
                code: "sheet_not_found",
                message: m,
            },
            CreateJobError::Unavailable(m) => ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "sheets_unavailable",
                message: m,
            },
            CreateJobError::Store(s) => ApiError::internal(&s),
        }
    }
}

impl From<JobError> for ApiError {
    fn from(e: JobError) -> Self {
        match e {
            JobError::NotFound(_) => ApiError::not_found(e.to_string()),
            JobError::Finished(_) => ApiError {
                status: StatusCode::CONFLICT,
                code: "job_finished",
                message: e.to_string(),
            },
            JobError::Running(_) => ApiError {
                status: StatusCode::CONFLICT,
                code: "job_running",
                message: e.to_string(),
            },
            JobError::NothingToRetry(_) => ApiError {
                status: StatusCode::CONFLICT,
                code: "nothing_to_retry",
                message: e.to_string(),
            },
            JobError::Store(s) => ApiError::internal(&s),
        }
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        ApiError {
            status: e.status(),
            code: "invalid_request",
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
