//! Google's API error answers, as the Sheets API sends them
//! (<https://cloud.google.com/apis/design/errors>): `{"error":{"code","message","status"}}` with
//! `code` the HTTP status, and — for the refusals that carry one — `errors[]` (the legacy list) and
//! `details[]` with a `google.rpc.ErrorInfo` whose `reason` says why (e.g.
//! `ACCESS_TOKEN_SCOPE_INSUFFICIENT`). Plain data over axum: this module uses no other module of
//! the crate.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A Google API error: `{"error":{"code","message","status"}}` with `code` as the HTTP status,
/// plus `errors` and `details` when Google sends them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoogleError {
    /// HTTP status (also the body's `code`).
    pub code: StatusCode,
    /// Canonical status name, e.g. `INVALID_ARGUMENT`.
    pub status: &'static str,
    /// Human-readable message.
    pub message: String,
    /// `errors` and `details` of the body, when this error has them.
    pub extra: Option<Value>,
}

impl IntoResponse for GoogleError {
    fn into_response(self) -> Response {
        let mut error = json!({
            "code": self.code.as_u16(),
            "message": self.message,
            "status": self.status,
        });
        if let Some(Value::Object(extra)) = self.extra {
            for (key, value) in extra {
                error[key] = value;
            }
        }
        (self.code, axum::Json(json!({ "error": error }))).into_response()
    }
}

/// Builds a [`GoogleError`] without `errors`/`details`.
pub fn google_error(code: StatusCode, status: &'static str, message: &str) -> GoogleError {
    GoogleError {
        code,
        status,
        message: message.to_string(),
        extra: None,
    }
}

/// 400 `INVALID_ARGUMENT`.
pub fn bad_request(message: &str) -> GoogleError {
    google_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
}

/// 404 `NOT_FOUND`, `Requested entity was not found.`
pub fn not_found() -> GoogleError {
    google_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Requested entity was not found.",
    )
}

/// 403 `PERMISSION_DENIED`, `The caller does not have permission`: the caller's account may not
/// open the spreadsheet (not shared), or may not change it (a reader writing).
pub fn permission_denied() -> GoogleError {
    google_error(
        StatusCode::FORBIDDEN,
        "PERMISSION_DENIED",
        "The caller does not have permission",
    )
}

/// 401 `UNAUTHENTICATED`: no access token, or one the emulator never issued or that expired.
pub fn unauthenticated() -> GoogleError {
    google_error(
        StatusCode::UNAUTHORIZED,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
    )
}

/// 403 `PERMISSION_DENIED` with the `ErrorInfo` reason `ACCESS_TOKEN_SCOPE_INSUFFICIENT`: the token
/// carries none of the scopes the method's reference lists. `method` is the RPC name Google puts in
/// the metadata (`google.apps.sheets.v4.SpreadsheetsService.GetSpreadsheet`).
pub fn scope_insufficient(method: &str) -> GoogleError {
    GoogleError {
        extra: Some(json!({
            "errors": [{
                "message": "Insufficient Permission",
                "domain": "global",
                "reason": "insufficientPermissions",
            }],
            "details": [{
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                "domain": "googleapis.com",
                "metadata": {"service": "sheets.googleapis.com", "method": method},
            }],
        })),
        ..google_error(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "Request had insufficient authentication scopes.",
        )
    }
}
