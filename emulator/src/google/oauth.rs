//! Google's OAuth 2.0 token endpoint for service accounts, `POST /token`
//! (<https://developers.google.com/identity/protocols/oauth2/service-account#httprest>), and the
//! service-account key that goes with it.
//!
//! The request is a form `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>`.
//! The JWT must be RS256-signed by the fixture key
//! (`emulator/fixtures/service-account-test-key.pem`), with `iss` = [`SERVICE_ACCOUNT_EMAIL`],
//! `aud` = this endpoint's URL, `exp` in the future and at most an hour after `iat`, and a
//! non-empty `scope`. Success answers
//! `{"access_token":"ya29.…","expires_in":3599,"token_type":"Bearer"}`; the token then acts as the
//! service account for 3599 s, with the assertion's scopes, on the spreadsheets shared with
//! [`SERVICE_ACCOUNT_EMAIL`]. Failures answer 400 like Google: `invalid_grant` (signature, issuer,
//! audience, times), `invalid_scope` (no scope), `unsupported_grant_type`, `invalid_request`.
//!
//! yup-oauth2 encodes the JWT parts in base64url *with* padding; the signature is therefore checked
//! over the text exactly as sent, and padding is accepted on decode.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Value, json};

use crate::google::access::IssuedToken;
use crate::state::Shared;
use crate::util::{form_get, now_unix, parse_form, random_hex};

/// The service account the fixture key belongs to.
pub const SERVICE_ACCOUNT_EMAIL: &str = "almanac-emulator@almanac-demo.iam.gserviceaccount.com";
/// `private_key_id` of the fixture key.
pub const PRIVATE_KEY_ID: &str = "0123456789abcdef0123456789abcdef01234567";
/// The fixture RSA private key (PKCS#8 PEM).
pub const PRIVATE_KEY_PEM: &str = include_str!("../../fixtures/service-account-test-key.pem");
/// Its public key (SPKI PEM), used to verify assertions.
pub const PUBLIC_KEY_PEM: &str = include_str!("../../fixtures/service-account-test-key.pub.pem");
/// Lifetime of an issued access token, in seconds.
pub const TOKEN_LIFETIME_SECS: u64 = 3599;

const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// A service-account key JSON in Google's format whose `token_uri` is `token_uri`.
pub fn service_account_key_json(token_uri: &str) -> String {
    let key = json!({
        "type": "service_account",
        "project_id": "almanac-demo",
        "private_key_id": PRIVATE_KEY_ID,
        "private_key": PRIVATE_KEY_PEM,
        "client_email": SERVICE_ACCOUNT_EMAIL,
        "client_id": "100000000000000000042",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/almanac-emulator%40almanac-demo.iam.gserviceaccount.com",
        "universe_domain": "googleapis.com",
    });
    serde_json::to_string_pretty(&key).unwrap_or_default()
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// `POST /token`.
pub async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: bytes::Bytes,
) -> Response {
    shared.lock().calls.token += 1;
    let form = parse_form(&String::from_utf8_lossy(&body));
    let grant_type = form_get(&form, "grant_type").unwrap_or("");
    if grant_type.is_empty() {
        return oauth_error("invalid_request", "Missing required parameter: grant_type");
    }
    if grant_type != GRANT_TYPE {
        return oauth_error(
            "unsupported_grant_type",
            &format!("Invalid grant_type: {grant_type}"),
        );
    }
    let Some(assertion) = form_get(&form, "assertion").filter(|a| !a.is_empty()) else {
        return oauth_error("invalid_request", "Missing required parameter: assertion");
    };
    let mut audiences = vec![shared.token_uri()];
    if let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        audiences.push(format!("http://{host}/token"));
    }
    let scopes = match verify_assertion(assertion, &audiences, now_unix()) {
        Ok(scopes) => scopes,
        Err((error, description)) => return oauth_error(error, &description),
    };
    let access_token = format!("ya29.emulated-{}", random_hex());
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

type GrantError = (&'static str, String);

fn invalid_grant(description: &str) -> GrantError {
    ("invalid_grant", description.to_string())
}

/// Checks a JWT-bearer assertion; returns its scopes.
///
/// # Errors
/// `(error, error_description)` as Google's token endpoint words them.
pub fn verify_assertion(
    assertion: &str,
    audiences: &[String],
    now: u64,
) -> Result<Vec<String>, GrantError> {
    let lenient = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let parts: Vec<&str> = assertion.trim().split('.').collect();
    let [header_b64, claims_b64, signature_b64] = parts[..] else {
        return Err(invalid_grant(
            "Invalid JWT: the assertion is not a JWT (header.claims.signature).",
        ));
    };
    let header: Value = lenient
        .decode(header_b64)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| invalid_grant("Invalid JWT: the header is not base64url JSON."))?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(invalid_grant("Invalid JWT Signature."));
    }
    let key = DecodingKey::from_rsa_pem(PUBLIC_KEY_PEM.as_bytes()).map_err(|e| {
        (
            "invalid_grant",
            format!("[emulated] bad fixture public key: {e}"),
        )
    })?;
    let message = format!("{header_b64}.{claims_b64}");
    let signature = signature_b64.trim_end_matches('=');
    let valid = jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key, Algorithm::RS256)
        .unwrap_or(false);
    if !valid {
        return Err(invalid_grant("Invalid JWT Signature."));
    }
    let claims: Value = lenient
        .decode(claims_b64)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| invalid_grant("Invalid JWT: the claim set is not base64url JSON."))?;
    if claims.get("iss").and_then(Value::as_str) != Some(SERVICE_ACCOUNT_EMAIL) {
        return Err(invalid_grant("Invalid grant: account not found"));
    }
    let aud = claims.get("aud").and_then(Value::as_str).unwrap_or("");
    if !audiences.iter().any(|a| a == aud) {
        return Err((
            "invalid_grant",
            format!(
                "Invalid JWT: Failed audience check. The right audience is {}",
                audiences.first().map(String::as_str).unwrap_or("")
            ),
        ));
    }
    let times = || {
        invalid_grant(
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
        )
    };
    let exp = claims
        .get("exp")
        .and_then(Value::as_u64)
        .ok_or_else(times)?;
    let iat = claims.get("iat").and_then(Value::as_u64).unwrap_or(now);
    if exp <= now || iat > now + 300 || exp.saturating_sub(iat) > 3600 {
        return Err(times());
    }
    let scopes: Vec<String> = claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if scopes.is_empty() {
        return Err((
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.".to_string(),
        ));
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};

    const AUD: &str = "http://127.0.0.1:1/token";

    fn sign(claims: &Value) -> String {
        let key = EncodingKey::from_rsa_pem(PRIVATE_KEY_PEM.as_bytes()).unwrap();
        encode(&Header::new(Algorithm::RS256), claims, &key).unwrap()
    }

    fn claims(now: u64) -> Value {
        json!({"iss": SERVICE_ACCOUNT_EMAIL, "aud": AUD, "iat": now, "exp": now + 3595,
            "scope": "https://www.googleapis.com/auth/spreadsheets", "sub": null})
    }

    #[test]
    fn accepts_a_signed_assertion_padded_or_not() {
        let now = now_unix();
        let jwt = sign(&claims(now));
        let scopes = verify_assertion(&jwt, &[AUD.to_string()], now).unwrap();
        assert_eq!(scopes, vec!["https://www.googleapis.com/auth/spreadsheets"]);
        // yup-oauth2 pads every part; the signature covers the padded text.
        let padded = |s: &str| {
            let mut s = s.to_string();
            while !s.len().is_multiple_of(4) {
                s.push('=');
            }
            s
        };
        let engine = base64::engine::general_purpose::URL_SAFE;
        let header = engine.encode(r#"{"alg":"RS256","typ":"JWT"}"#);
        let body = engine.encode(claims(now).to_string());
        let message = format!("{header}.{body}");
        let key = EncodingKey::from_rsa_pem(PRIVATE_KEY_PEM.as_bytes()).unwrap();
        let sig = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::RS256).unwrap();
        let jwt = format!("{message}.{}", padded(&sig));
        assert!(verify_assertion(&jwt, &[AUD.to_string()], now).is_ok());
    }

    #[test]
    fn refuses_bad_signature_issuer_audience_expiry_and_scope() {
        let now = now_unix();
        let aud = [AUD.to_string()];
        let jwt = sign(&claims(now));
        let (head, sig) = jwt.rsplit_once('.').unwrap();
        let mut sig = sig.to_string();
        let flipped = if sig.starts_with('A') { "B" } else { "A" };
        sig.replace_range(0..1, flipped);
        let tampered = format!("{head}.{sig}");
        assert_eq!(
            verify_assertion(&tampered, &aud, now).unwrap_err().1,
            "Invalid JWT Signature."
        );
        let mut c = claims(now);
        c["iss"] = json!("someone@else.iam.gserviceaccount.com");
        assert_eq!(
            verify_assertion(&sign(&c), &aud, now).unwrap_err().0,
            "invalid_grant"
        );
        let mut c = claims(now);
        c["aud"] = json!("https://oauth2.googleapis.com/token");
        assert!(
            verify_assertion(&sign(&c), &aud, now)
                .unwrap_err()
                .1
                .contains("audience")
        );
        let mut c = claims(now);
        c["exp"] = json!(now - 10);
        c["iat"] = json!(now - 100);
        assert!(verify_assertion(&sign(&c), &aud, now).is_err());
        let mut c = claims(now);
        c["scope"] = json!("");
        assert_eq!(
            verify_assertion(&sign(&c), &aud, now).unwrap_err().0,
            "invalid_scope"
        );
        assert!(verify_assertion("not-a-jwt", &aud, now).is_err());
    }
}
