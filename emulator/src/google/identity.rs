//! Google's identity side, for the backend's authentication: a signer of Google ID tokens, the
//! JWKS endpoint `GET /oauth2/v3/certs` that publishes its public keys, and per-user OAuth access
//! tokens with per-spreadsheet sharing.
//!
//! - ID tokens follow <https://developers.google.com/identity/openid-connect/openid-connect#an-id-tokens-payload>:
//!   RS256, a `kid` in the header, `iss` `https://accounts.google.com`, `aud` the OAuth client id,
//!   `sub`, `email`, `email_verified: true`, `iat` now and `exp` one hour later, and `hd` for an
//!   account of a Google Workspace domain (none for a consumer account). They are signed
//!   with test keys shipped in `emulator/fixtures/` (`id-token-key-1.pem`, `id-token-key-2.pem`),
//!   never with anything real.
//! - The JWKS (RFC 7517, <https://www.rfc-editor.org/rfc/rfc7517>) lists the current signing key
//!   and, after a rotation, the previous one — as Google publishes two keys while it rotates
//!   (the keys and their rotation are in [`crate::google::keys`], re-exported here).
//! - A user access token (`ya29.user-…`, like `ScriptApp.getOAuthToken()`) carries the scopes it
//!   was issued with — by default the add-on manifest's, which include no scope the Sheets REST API
//!   accepts (`spreadsheets.currentonly` is Apps Script's own) — and reaches only the spreadsheets
//!   shared with its user.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::google::access::IssuedToken;
pub use crate::google::keys::{KeyRing, SIGNING_KEYS};
use crate::state::Shared;
use crate::util::{now_unix, random_hex};

/// The issuer Google writes into its ID tokens.
pub const ISSUER: &str = "https://accounts.google.com";
/// The OAuth client id the demo and the tests configure as the backend's audience.
pub const CLIENT_ID: &str = "100000000001-almanacemulated.apps.googleusercontent.com";
/// Lifetime of a signed ID token and of a user access token, in seconds.
pub const ID_TOKEN_LIFETIME_SECS: u64 = 3600;

/// A key the JWKS never publishes (private PKCS#8 PEM), for tests of forged signatures.
pub const STRANGER_KEY_PEM: &str = include_str!("../../fixtures/id-token-stranger-key.pem");

/// The claims of a fresh, valid ID token for `sub`/`email` addressed to `aud`, of a consumer
/// account (no `hd`; add `"hd"` for a Google Workspace account).
pub fn claims(sub: &str, email: &str, aud: &str) -> Value {
    let now = now_unix();
    json!({
        "iss": ISSUER,
        "azp": aud,
        "aud": aud,
        "sub": sub,
        "email": email,
        "email_verified": true,
        "iat": now,
        "exp": now + ID_TOKEN_LIFETIME_SECS,
    })
}

/// Signs `claims` with RS256 and the private key `pem`, with `kid` in the header.
///
/// # Panics
/// When `pem` is not an RSA private key (the fixtures are).
pub fn sign(claims: &Value, kid: &str, pem: &str) -> String {
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("fixture RSA key");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, &key).expect("RS256 signing")
}

/// `GET /oauth2/v3/certs`: the JWKS.
pub async fn certs(State(shared): State<Arc<Shared>>) -> Json<JwkSet> {
    let mut state = shared.lock();
    state.calls.jwks += 1;
    Json(state.keys.jwks())
}

/// Issues a user access token for `email` with `scopes` (it reaches the spreadsheets shared with
/// `email`, for the methods one of its scopes allows).
pub fn issue_user_token(shared: &Shared, email: &str, scopes: &[&str]) -> String {
    let token = format!("ya29.user-{}", random_hex());
    shared.lock().tokens.insert(
        token.clone(),
        IssuedToken {
            expires: Instant::now() + Duration::from_secs(ID_TOKEN_LIFETIME_SECS),
            scopes: scopes.iter().map(|s| (*s).to_string()).collect(),
            user: email.to_string(),
        },
    );
    token
}
