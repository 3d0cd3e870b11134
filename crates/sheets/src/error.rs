//! Why a Sheets call failed, typed: Google's error body
//! (`{"error":{"code","message","status","details":[{"@type":"…ErrorInfo","reason"}]}}`,
//! <https://cloud.google.com/apis/design/errors>) parsed into a [`GoogleStatus`] and an
//! [`ErrorReason`], and mapped to a [`SheetsError`] by those enums alone — Google's message is kept
//! for people, never matched.

use std::time::Duration;

use almanac_core::domain::SpreadsheetId;

/// How much of Google's own error message is kept in ours.
const MAX_GOOGLE_MESSAGE_CHARS: usize = 300;

/// How long to wait before trying again after Google said it is over quota: Sheets' quotas are
/// per minute (<https://developers.google.com/workspace/sheets/api/limits>).
pub const RATE_LIMITED_RETRY_AFTER: Duration = Duration::from_secs(10);
/// How long to wait after a 5xx, a timeout or a cut connection.
pub const UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(3);

/// Why a Sheets call failed. Messages are for people and never contain keys or tokens.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SheetsError {
    /// The spreadsheet or sheet does not exist, or the service account cannot see it; the message
    /// says to share the sheet with the service account's email.
    #[error("{0}")]
    NotFound(String),
    /// The service account can see the spreadsheet but may not do this (e.g. it is a Viewer), or
    /// it is not shared with it at all.
    #[error("{0}")]
    PermissionDenied(String),
    /// HTTP 429 / `RESOURCE_EXHAUSTED`: over quota; retry after [`RATE_LIMITED_RETRY_AFTER`].
    #[error("{0}")]
    RateLimited(String),
    /// HTTP 5xx, a timeout or a network failure: retry after [`UNAVAILABLE_RETRY_AFTER`].
    #[error("{0}")]
    Transient(String),
    /// The service-account key or the runtime service account is unusable, the token endpoint
    /// refused it, or its token lacks a Sheets scope.
    #[error("{0}")]
    Auth(String),
    /// Anything else (a malformed request, a sheet id the spreadsheet does not have, an
    /// unexpected answer).
    #[error("{0}")]
    Other(String),
}

impl SheetsError {
    /// True when the same call may succeed later (rate limit, server error, network).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SheetsError::Transient(_) | SheetsError::RateLimited(_)
        )
    }

    /// How long to wait before trying again, for a transient error.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SheetsError::RateLimited(_) => Some(RATE_LIMITED_RETRY_AFTER),
            SheetsError::Transient(_) => Some(UNAVAILABLE_RETRY_AFTER),
            _ => None,
        }
    }
}

/// The canonical error codes Google writes as `error.status`
/// (<https://cloud.google.com/apis/design/errors#handling_errors>).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoogleStatus {
    /// `INVALID_ARGUMENT` (400).
    InvalidArgument,
    /// `UNAUTHENTICATED` (401).
    Unauthenticated,
    /// `PERMISSION_DENIED` (403).
    PermissionDenied,
    /// `NOT_FOUND` (404).
    NotFound,
    /// `RESOURCE_EXHAUSTED` (429, sometimes 403): a quota.
    ResourceExhausted,
    /// `UNAVAILABLE`, `INTERNAL`, `DEADLINE_EXCEEDED`, `ABORTED` (5xx, 409): try again.
    Unavailable,
    /// Any other status, or none.
    Other,
}

impl GoogleStatus {
    /// The status of `error.status`, or (when absent) of the HTTP code.
    pub fn parse(status: &str, code: Option<u16>) -> GoogleStatus {
        match (status, code) {
            ("INVALID_ARGUMENT", _) => GoogleStatus::InvalidArgument,
            ("UNAUTHENTICATED", _) => GoogleStatus::Unauthenticated,
            ("PERMISSION_DENIED", _) => GoogleStatus::PermissionDenied,
            ("NOT_FOUND", _) => GoogleStatus::NotFound,
            ("RESOURCE_EXHAUSTED", _) | (_, Some(429)) => GoogleStatus::ResourceExhausted,
            ("UNAVAILABLE" | "INTERNAL" | "DEADLINE_EXCEEDED" | "ABORTED", _)
            | (_, Some(408 | 500..=599)) => GoogleStatus::Unavailable,
            (_, Some(400)) => GoogleStatus::InvalidArgument,
            (_, Some(401)) => GoogleStatus::Unauthenticated,
            (_, Some(403)) => GoogleStatus::PermissionDenied,
            (_, Some(404)) => GoogleStatus::NotFound,
            _ => GoogleStatus::Other,
        }
    }
}

/// The `reason` of an error's `google.rpc.ErrorInfo` detail, for the reasons that change what to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorReason {
    /// `ACCESS_TOKEN_SCOPE_INSUFFICIENT`: the token has none of the method's scopes.
    AccessTokenScopeInsufficient,
    /// `SERVICE_DISABLED`: the Sheets API is not enabled in the caller's Cloud project.
    ServiceDisabled,
    /// Any other reason, or none.
    Other,
}

/// Google's error body, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoogleError {
    /// `error.code`, the HTTP status.
    pub code: Option<u16>,
    /// `error.status`.
    pub status: GoogleStatus,
    /// The first `ErrorInfo` detail's `reason`.
    pub reason: ErrorReason,
    /// `error.message`, shortened, for people.
    pub message: String,
}

impl GoogleError {
    /// Parses `{"error":{…}}`; `http` is the answer's status when the body has no `code`.
    pub fn parse(body: &serde_json::Value, http: Option<u16>) -> GoogleError {
        let error = &body["error"];
        let code = error["code"]
            .as_u64()
            .and_then(|c| u16::try_from(c).ok())
            .or(http);
        let status = GoogleStatus::parse(error["status"].as_str().unwrap_or(""), code);
        let reason = error["details"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo")
            .find_map(|d| d["reason"].as_str())
            .map_or(ErrorReason::Other, |r| match r {
                "ACCESS_TOKEN_SCOPE_INSUFFICIENT" => ErrorReason::AccessTokenScopeInsufficient,
                "SERVICE_DISABLED" => ErrorReason::ServiceDisabled,
                _ => ErrorReason::Other,
            });
        GoogleError {
            code,
            status,
            reason,
            message: shorten(error["message"].as_str().unwrap_or("")),
        }
    }
}

/// What a call was about, to make error messages precise.
pub(crate) struct Context<'a> {
    /// The spreadsheet.
    pub spreadsheet_id: &'a SpreadsheetId,
    /// The service account's email.
    pub email: &'a str,
}

/// Maps Google's error answer to a [`SheetsError`] by its status and reason.
pub(crate) fn classify(error: &GoogleError, ctx: &Context<'_>) -> SheetsError {
    let sid = ctx.spreadsheet_id;
    let email = ctx.email;
    let said = if error.message.is_empty() {
        String::new()
    } else {
        format!(" (Google said: {})", error.message)
    };
    let http = error.code.map_or_else(String::new, |c| format!("HTTP {c}"));
    match (error.status, error.reason) {
        (_, ErrorReason::AccessTokenScopeInsufficient) => SheetsError::Auth(format!(
            "the access token of {email} carries no scope the Sheets API accepts for this call ({http} ACCESS_TOKEN_SCOPE_INSUFFICIENT): the backend asks for https://www.googleapis.com/auth/spreadsheets; on Google Cloud the runtime service account must be allowed that scope{said}"
        )),
        (_, ErrorReason::ServiceDisabled) => SheetsError::Auth(format!(
            "the Google Sheets API is not enabled in the Cloud project of {email}: enable it (APIs & Services ▸ Library ▸ Google Sheets API) and retry in a few minutes{said}"
        )),
        (GoogleStatus::ResourceExhausted, _) => SheetsError::RateLimited(format!(
            "the Sheets API's per-minute quota is used up ({http} RESOURCE_EXHAUSTED){said}; retry in a minute"
        )),
        (GoogleStatus::Unavailable, _) => SheetsError::Transient(format!(
            "the Sheets API is busy or unavailable ({http}){said}; retry later"
        )),
        (GoogleStatus::NotFound, _) => SheetsError::NotFound(format!(
            "spreadsheet {sid} was not found or the service account cannot see it: share the sheet with {email} (as Editor) and check the spreadsheet id{said}"
        )),
        (GoogleStatus::PermissionDenied, _) => SheetsError::PermissionDenied(format!(
            "the service account {email} may not do this in spreadsheet {sid}: share the sheet with {email} as Editor{said}"
        )),
        (GoogleStatus::Unauthenticated, _) => SheetsError::Auth(format!(
            "the Sheets API refused the service account's access token ({http}){said}"
        )),
        (GoogleStatus::InvalidArgument | GoogleStatus::Other, _) => {
            SheetsError::Other(format!("the Sheets API refused the request ({http}){said}"))
        }
    }
}

/// Maps google-sheets4's error. The crate turns every non-2xx answer whose body is JSON into
/// `BadRequest(body)` (whatever the status), and one without a JSON body into `Failure(response)`.
pub(crate) fn map_error(err: google_sheets4::Error, ctx: &Context<'_>) -> SheetsError {
    use google_sheets4::Error as E;
    match err {
        E::BadRequest(body) => classify(&GoogleError::parse(&body, None), ctx),
        E::Failure(response) => {
            let status = response.status().as_u16();
            classify(
                &GoogleError::parse(&serde_json::Value::Null, Some(status)),
                ctx,
            )
        }
        E::HttpError(e) => {
            SheetsError::Transient(format!("could not reach the Sheets API: {e}; retry later"))
        }
        E::Io(e) => SheetsError::Transient(format!(
            "the Sheets API's answer was cut off: {e}; retry later"
        )),
        E::MissingToken(e) => token_error(e.as_ref(), ctx),
        E::JsonDecodeError(body, e) => SheetsError::Other(format!(
            "the Sheets API gave an answer this client cannot read ({e}): {}",
            shorten(&body)
        )),
        other => SheetsError::Other(format!("Sheets call failed: {}", other.to_string().trim())),
    }
}

/// Maps a failure to get an access token from the token endpoint or the metadata server.
fn token_error(
    e: &(dyn std::error::Error + Send + Sync + 'static),
    ctx: &Context<'_>,
) -> SheetsError {
    match e.downcast_ref::<yup_oauth2::Error>() {
        Some(yup_oauth2::Error::HttpError(_) | yup_oauth2::Error::HttpClientError(_)) => {
            SheetsError::Transient(format!(
                "could not reach Google's token endpoint for {}: {e}; retry later",
                ctx.email
            ))
        }
        _ => SheetsError::Auth(format!(
            "Google's token endpoint refused the service account {}: {e}. Check that the key is current and not deleted",
            ctx.email
        )),
    }
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(MAX_GOOGLE_MESSAGE_CHARS).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORDED: &str =
        include_str!("../../../fixtures/reference/google-sheets/recorded-values-traffic.json");

    fn sid() -> SpreadsheetId {
        SpreadsheetId::parse("1yXHRaUTFlGV-Axis4vLHtoPvGUj3C_-awA_5sLK8k6g").unwrap()
    }

    fn classify_body(body: &serde_json::Value) -> SheetsError {
        let sid = sid();
        let ctx = Context {
            spreadsheet_id: &sid,
            email: "almanac@demo.iam.gserviceaccount.com",
        };
        map_error(google_sheets4::Error::BadRequest(body.clone()), &ctx)
    }

    #[test]
    fn the_recorded_404_body_becomes_not_found_telling_whom_to_share_with() {
        let calls: serde_json::Value = serde_json::from_str(RECORDED).unwrap();
        let not_found = calls
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["status"] == 404)
            .expect("the recording has a 404");
        let err = classify_body(&not_found["response_body"]);
        let SheetsError::NotFound(msg) = &err else {
            panic!("{err:?}")
        };
        assert!(
            msg.contains("share the sheet with almanac@demo.iam.gserviceaccount.com"),
            "{msg}"
        );
        assert!(msg.contains(sid().as_str()), "{msg}");
        assert!(!err.is_transient());
    }

    #[test]
    fn error_bodies_map_by_status_and_reason_never_by_message() {
        let body = |code: u16, status: &str| serde_json::json!({"error": {"code": code, "status": status, "message": "Unable to parse range: whatever"}});
        let scope = serde_json::json!({"error": {"code": 403, "status": "PERMISSION_DENIED",
            "message": "Request had insufficient authentication scopes.",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}]}});
        let cases = [
            (body(429, "RESOURCE_EXHAUSTED"), "RateLimited"),
            (body(403, "RESOURCE_EXHAUSTED"), "RateLimited"),
            (body(500, "INTERNAL"), "Transient"),
            (body(503, "UNAVAILABLE"), "Transient"),
            (body(403, "PERMISSION_DENIED"), "PermissionDenied"),
            (body(401, "UNAUTHENTICATED"), "Auth"),
            (body(400, "INVALID_ARGUMENT"), "Other"),
            (body(404, ""), "NotFound"),
            (scope, "Auth"),
        ];
        for (body, want) in cases {
            let got = classify_body(&body);
            let kind = match &got {
                SheetsError::NotFound(_) => "NotFound",
                SheetsError::PermissionDenied(_) => "PermissionDenied",
                SheetsError::RateLimited(_) => "RateLimited",
                SheetsError::Transient(_) => "Transient",
                SheetsError::Auth(_) => "Auth",
                SheetsError::Other(_) => "Other",
            };
            assert_eq!(kind, want, "{body} → {got:?}");
            assert_eq!(
                got.is_transient(),
                matches!(want, "Transient" | "RateLimited")
            );
            assert_eq!(got.retry_after().is_some(), got.is_transient());
        }
    }
}
