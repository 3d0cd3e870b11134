//! An HTTP client that calls the backend as the sidebar does: `Authorization: Bearer <ID token>`
//! and `X-Goog-User-Token: <OAuth token>` on every request (both marked sensitive, so they are
//! never printed in debug output).

use almanac_protocol::USER_TOKEN_HEADER;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

/// A client that sends both tokens on every request.
///
/// # Errors
/// When a token is not a valid header value.
pub fn authorized_client(id_token: &str, user_token: &str) -> anyhow::Result<reqwest::Client> {
    let mut headers = HeaderMap::new();
    let mut bearer = HeaderValue::from_str(&format!("Bearer {id_token}"))?;
    bearer.set_sensitive(true);
    headers.insert(AUTHORIZATION, bearer);
    let mut user = HeaderValue::from_str(user_token)?;
    user.set_sensitive(true);
    headers.insert(USER_TOKEN_HEADER, user);
    Ok(reqwest::Client::builder()
        .default_headers(headers)
        .build()?)
}
