//! Verification of a Google ID token (the `ScriptApp.getIdentityToken()` of the sidebar), as
//! Google specifies it in
//! <https://developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken>:
//!
//! 1. the token is a JWS (RFC 7515) signed with RS256 — no other algorithm, so neither `none` nor
//!    an HS256 token "signed" with the public key passes;
//! 2. its header's `kid` names a key of Google's JWKS ([`super::jwks`]) and the signature verifies
//!    with that key;
//! 3. `iss` is `https://accounts.google.com` or `accounts.google.com`;
//! 4. `aud` is one of the configured OAuth client ids;
//! 5. `exp` has not passed and `nbf` (when present) has, each with at most 60 s of clock skew;
//! 6. `email_verified` is true, and, when an allow-list of domains is configured, the token's `hd`
//!    claim (the Google Workspace domain of the account, absent for a consumer account; see
//!    <https://developers.google.com/identity/openid-connect/openid-connect#id_token-hd>) is one of
//!    them. The email's suffix is never trusted for this: a personal Google account may be
//!    registered with any company's address.
//!
//! Every refusal is an [`AuthError`] with a stable reason code.

use std::sync::Arc;

use almanac_protocol::ErrorCode;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use super::jwks::{JwksCache, KeyError};
use super::log_throttle::LogThrottle;

/// The issuers Google writes into its ID tokens.
pub const GOOGLE_ISSUERS: [&str; 2] = ["https://accounts.google.com", "accounts.google.com"];
/// Most clock skew tolerated on `exp` and `nbf`, in seconds.
pub const MAX_LEEWAY_SECS: u64 = 60;
/// How ID tokens are checked, and the shortest time between two JWKS fetches in production (the
/// server's `config` holds them).
pub use crate::config::{IdentitySettings, JWKS_MIN_REFRESH};

/// Who a verified token names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Google's stable account id (`sub`).
    pub sub: String,
    /// The verified email address.
    pub email: String,
}

/// Why a token was refused. [`AuthError::code`] is the reason code the API answers with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer …` header.
    #[error(
        "send the Google ID token from ScriptApp.getIdentityToken() as `Authorization: Bearer <token>`"
    )]
    MissingToken,
    /// Not a JWT, or claims of the wrong shape; the text says what is wrong.
    #[error("the bearer token is not a Google ID token: {0}")]
    MalformedToken(String),
    /// The signature does not verify with the key its `kid` names.
    #[error("the token's signature does not verify with Google's published key")]
    BadSignature,
    /// The header's `alg` is not RS256.
    #[error("the token is signed with {0}; only RS256 Google ID tokens are accepted")]
    UnsupportedAlg(String),
    /// No published key has the token's `kid` (or the header has none).
    #[error("the token names a signing key ({0}) that Google does not publish")]
    UnknownKid(String),
    /// `exp` has passed (beyond the leeway).
    #[error("the token has expired: get a fresh one from ScriptApp.getIdentityToken()")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the token is not valid yet (nbf is in the future): check the clock")]
    NotYetValid,
    /// `iss` is not Google.
    #[error("the token was not issued by Google (iss must be https://accounts.google.com)")]
    WrongIssuer,
    /// `aud` is not a configured client id.
    #[error(
        "the token is addressed to another OAuth client (aud); this backend accepts only its own client ids"
    )]
    WrongAudience,
    /// No email, or `email_verified` is not true.
    #[error(
        "the token carries no verified email: the add-on needs the `email` scope and a verified Google account"
    )]
    EmailUnverified,
    /// The account's Workspace domain (`hd`) is not in the allow-list, or it has none (a consumer
    /// Google account, whatever its email address).
    #[error("{0}")]
    EmailDomainNotAllowed(String),
    /// Google's keys cannot be fetched: the caller may retry later.
    #[error("{0}")]
    KeysUnavailable(String),
}

impl AuthError {
    /// The stable snake_case reason code.
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthError::MissingToken => ErrorCode::MissingToken,
            AuthError::MalformedToken(_) => ErrorCode::MalformedToken,
            AuthError::BadSignature => ErrorCode::BadSignature,
            AuthError::UnsupportedAlg(_) => ErrorCode::UnsupportedAlg,
            AuthError::UnknownKid(_) => ErrorCode::UnknownKid,
            AuthError::Expired => ErrorCode::Expired,
            AuthError::NotYetValid => ErrorCode::NotYetValid,
            AuthError::WrongIssuer => ErrorCode::WrongIssuer,
            AuthError::WrongAudience => ErrorCode::WrongAudience,
            AuthError::EmailUnverified => ErrorCode::EmailUnverified,
            AuthError::EmailDomainNotAllowed(_) => ErrorCode::EmailDomainNotAllowed,
            AuthError::KeysUnavailable(_) => ErrorCode::IdentityUnavailable,
        }
    }
}

/// The claims read from a Google ID token (the registered ones are checked by jsonwebtoken).
#[derive(Debug, Deserialize)]
struct GoogleClaims {
    sub: String,
    #[serde(default)]
    email: Option<String>,
    /// A boolean; very old tokens carried the string `"true"`.
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
    /// The Google Workspace domain of the account; absent for a consumer account.
    #[serde(default)]
    hd: Option<String>,
}

/// Verifies Google ID tokens against one configuration. Share it behind an `Arc`.
#[derive(Debug)]
pub struct IdTokenVerifier {
    settings: IdentitySettings,
    keys: Arc<JwksCache>,
    validation: Validation,
    /// One `wrong_audience` line per minute at most: any caller can send such tokens at will.
    wrong_audience_log: LogThrottle,
}

impl IdTokenVerifier {
    /// A verifier for `settings`; keys are fetched on first use.
    pub fn new(settings: IdentitySettings) -> IdTokenVerifier {
        let keys = Arc::new(JwksCache::new(
            settings.jwks_url.clone(),
            settings.jwks_min_refresh,
        ));
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&GOOGLE_ISSUERS);
        validation.set_audience(&settings.client_ids);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = MAX_LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        IdTokenVerifier {
            settings,
            keys,
            validation,
            wrong_audience_log: LogThrottle::new(),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &IdentitySettings {
        &self.settings
    }

    /// Checks `token` (the text after `Bearer `) and returns who it names.
    ///
    /// # Errors
    /// An [`AuthError`] for the first check that fails, in the order of the module's list.
    pub async fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(AuthError::MissingToken);
        }
        if token.split('.').count() != 3 {
            return Err(AuthError::MalformedToken(
                "a JWT has three dot-separated parts".into(),
            ));
        }
        let header = match jsonwebtoken::decode_header(token) {
            Ok(header) => header,
            // `none` and other names jsonwebtoken does not know fail to parse as a header.
            Err(e) => {
                return Err(match declared_alg(token) {
                    Some(alg) if alg != "RS256" => AuthError::UnsupportedAlg(alg),
                    _ => AuthError::MalformedToken(format!("bad header ({e})")),
                });
            }
        };
        if header.alg != Algorithm::RS256 {
            return Err(AuthError::UnsupportedAlg(format!("{:?}", header.alg)));
        }
        let kid = header
            .kid
            .ok_or_else(|| AuthError::UnknownKid("none: the header has no kid".into()))?;
        let key = self.keys.key(&kid).await.map_err(|e| match e {
            KeyError::UnknownKid(kid) => AuthError::UnknownKid(kid),
            KeyError::Unavailable(why) => AuthError::KeysUnavailable(format!(
                "cannot check the token now ({why}); try again in a minute"
            )),
        })?;
        let data =
            jsonwebtoken::decode::<GoogleClaims>(token, &key, &self.validation).map_err(|e| {
                let error = token_error(e.kind());
                if error == AuthError::WrongAudience {
                    self.log_wrong_audience(token);
                }
                error
            })?;
        let claims = data.claims;
        let verified = matches!(claims.email_verified, Some(serde_json::Value::Bool(true)))
            || matches!(&claims.email_verified, Some(serde_json::Value::String(s)) if s == "true");
        let email = claims
            .email
            .filter(|e| verified && e.contains('@'))
            .ok_or(AuthError::EmailUnverified)?;
        self.check_hosted_domain(claims.hd.as_deref())?;
        Ok(Identity {
            sub: claims.sub,
            email,
        })
    }
}

impl IdTokenVerifier {
    /// With an allow-list configured, refuses an account whose Workspace domain (`hd`) is not on
    /// it, and one without `hd` (a consumer account).
    fn check_hosted_domain(&self, hd: Option<&str>) -> Result<(), AuthError> {
        let allowed = &self.settings.allowed_email_domains;
        if allowed.is_empty() {
            return Ok(());
        }
        let Some(hd) = hd else {
            return Err(AuthError::EmailDomainNotAllowed(
                "only Google Workspace accounts of this backend's domains may use it; this is a personal Google account (its ID token has no `hd`)".into(),
            ));
        };
        if allowed
            .iter()
            .any(|d| d.trim_start_matches('@').eq_ignore_ascii_case(hd))
        {
            return Ok(());
        }
        Err(AuthError::EmailDomainNotAllowed(format!(
            "accounts of the Google Workspace domain {hd} may not use this backend"
        )))
    }

    /// Logs, at warn, the `aud` (and `azp`) of a token whose signature verified but whose audience
    /// is not configured — what the operator must add to `ALMANAC_OAUTH_CLIENT_IDS` when it is the
    /// Apps Script project's OAuth client id. The audience is no secret; the token is not logged.
    /// At most one line per [`LOG_INTERVAL`](super::log_throttle::LOG_INTERVAL), its `suppressed`
    /// field counting the refusals left unlogged since the previous line.
    fn log_wrong_audience(&self, token: &str) {
        let Some(suppressed) = self.wrong_audience_log.admit() else {
            return;
        };
        let claims = token
            .split('.')
            .nth(1)
            .and_then(|p| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(p.trim_end_matches('='))
                    .ok()
            })
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .unwrap_or_default();
        let aud = match &claims["aud"] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let azp = claims["azp"].as_str().unwrap_or("");
        tracing::warn!(
            aud = %aud,
            azp,
            accepted = ?self.settings.client_ids,
            suppressed,
            "an ID token was refused (wrong_audience): its aud is not in ALMANAC_OAUTH_CLIENT_IDS; if {aud} is the OAuth client id of your Apps Script project (Project Settings ▸ Google Cloud Platform project), add it to ALMANAC_OAUTH_CLIENT_IDS"
        );
    }
}

/// Maps a jsonwebtoken failure to a reason.
fn token_error(kind: &ErrorKind) -> AuthError {
    match kind {
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::UnsupportedAlgorithm => {
            AuthError::UnsupportedAlg("another algorithm".into())
        }
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => {
            AuthError::MalformedToken(format!("the `{claim}` claim is missing"))
        }
        ErrorKind::InvalidClaimFormat(claim) => {
            AuthError::MalformedToken(format!("the `{claim}` claim has the wrong type"))
        }
        ErrorKind::Json(_) => {
            AuthError::MalformedToken("the claims are not what Google sends".into())
        }
        ErrorKind::Base64(_) | ErrorKind::Utf8(_) | ErrorKind::InvalidToken => {
            AuthError::MalformedToken("not base64url JSON".into())
        }
        _ => AuthError::MalformedToken("the token cannot be checked".into()),
    }
}

/// The `alg` a header declares, read without jsonwebtoken (which refuses names it does not know,
/// such as `none`).
fn declared_alg(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("alg")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declared_alg_is_read_even_when_jsonwebtoken_does_not_know_it() {
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let token = format!(
            "{}.{}.",
            engine.encode(r#"{"alg":"none","typ":"JWT"}"#),
            engine.encode(r#"{"sub":"x"}"#)
        );
        assert_eq!(declared_alg(&token).as_deref(), Some("none"));
        assert_eq!(declared_alg("%%%.x.y"), None);
    }

    #[test]
    fn every_refusal_has_its_own_reason_code() {
        let all = [
            AuthError::MissingToken,
            AuthError::MalformedToken(String::new()),
            AuthError::BadSignature,
            AuthError::UnsupportedAlg(String::new()),
            AuthError::UnknownKid(String::new()),
            AuthError::Expired,
            AuthError::NotYetValid,
            AuthError::WrongIssuer,
            AuthError::WrongAudience,
            AuthError::EmailUnverified,
            AuthError::EmailDomainNotAllowed(String::new()),
            AuthError::KeysUnavailable(String::new()),
        ];
        let codes: std::collections::BTreeSet<ErrorCode> =
            all.iter().map(AuthError::code).collect();
        assert_eq!(codes.len(), all.len());
    }
}
