//! The Compute Engine / Cloud Run metadata server's token endpoint, for code that runs as the
//! runtime service account without a key file (Application Default Credentials):
//! `GET /computeMetadata/v1/instance/service-accounts/default/token[?scopes=a,b]` and
//! `GET /computeMetadata/v1/instance/service-accounts/default/email`
//! (<https://cloud.google.com/compute/docs/access/authenticate-workloads#applications>,
//! <https://cloud.google.com/run/docs/container-contract#metadata-server>).
//!
//! As on Google Cloud, a request without the header `Metadata-Flavor: Google` is refused with 403;
//! the token is `{"access_token","expires_in","token_type":"Bearer"}` and acts as
//! [`SERVICE_ACCOUNT_EMAIL`] with the scopes asked for — or, when none are asked, with
//! `cloud-platform` alone, which the Sheets API does not accept (so a client that forgets to ask
//! for a Sheets scope fails here as it would on Cloud Run). When the instance's access scopes are
//! set ([`crate::Emulator::set_metadata_access_scopes`]), tokens carry those whatever is asked, as
//! on a Compute Engine VM created with narrower access scopes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::google::access::IssuedToken;
use crate::google::oauth::{SERVICE_ACCOUNT_EMAIL, TOKEN_LIFETIME_SECS};
use crate::google::scopes::CLOUD_PLATFORM;
use crate::state::Shared;
use crate::util::{form_get, parse_form, random_hex};

/// The path of the token endpoint.
pub const TOKEN_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/token";
/// The path of the email endpoint.
pub const EMAIL_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/email";

fn flavored(headers: &HeaderMap) -> bool {
    headers
        .get("metadata-flavor")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "Google")
}

fn missing_flavor() -> Response {
    (
        StatusCode::FORBIDDEN,
        "Missing required header: Metadata-Flavor: Google\n",
    )
        .into_response()
}

/// `GET …/service-accounts/default/token`.
pub async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    shared.lock().calls.metadata_token += 1;
    if !flavored(&headers) {
        return missing_flavor();
    }
    let query = parse_form(query.as_deref().unwrap_or(""));
    let mut scopes: Vec<String> = form_get(&query, "scopes")
        .unwrap_or("")
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if scopes.is_empty() {
        scopes.push(CLOUD_PLATFORM.to_string());
    }
    if let Some(access) = shared.lock().metadata_access_scopes.clone() {
        scopes = access;
    }
    let access_token = format!("ya29.metadata-{}", random_hex());
    shared.lock().tokens.insert(
        access_token.clone(),
        IssuedToken {
            expires: Instant::now() + Duration::from_secs(TOKEN_LIFETIME_SECS),
            scopes,
            user: SERVICE_ACCOUNT_EMAIL.to_string(),
        },
    );
    Json(json!({
        "access_token": access_token,
        "expires_in": TOKEN_LIFETIME_SECS,
        "token_type": "Bearer",
    }))
    .into_response()
}

/// `GET …/service-accounts/default/email`: the runtime service account's email, as text.
pub async fn email(headers: HeaderMap) -> Response {
    if !flavored(&headers) {
        return missing_flavor();
    }
    SERVICE_ACCOUNT_EMAIL.into_response()
}
