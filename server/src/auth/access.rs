//! Signed, expiring tokens of the access proof: a challenge's nonce and the proof handed back once
//! the nonce was found in the spreadsheet. Both are bound to the caller (`sub`) and the
//! `spreadsheetId` by an HMAC-SHA-256 (RFC 2104, HS256 of RFC 7518 §3.2) under one server secret, so
//! that any instance of the backend sharing the secret checks them without storing anything:
//!
//! - nonce: `ap1.<exp>.<random>.<mac>` over `challenge`, `sub`, `spreadsheetId`, `exp`, `random`,
//!   valid for [`CHALLENGE_TTL`]; written by Apps Script as developer metadata (visible to anyone
//!   who can open the spreadsheet, so it carries no `sub` in clear);
//! - proof: `pp1.<exp>.<mac>` over `proof`, `sub`, `spreadsheetId`, `exp`, valid for
//!   [`PROOF_TTL`]; sent by the sidebar as `X-Almanac-Access-Proof`.
//!
//! The secret is `ALMANAC_ACCESS_PROOF_SECRET` (the same on every instance), or random per process:
//! then a restart invalidates open challenges and proofs, and the sidebar simply proves again.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey};

/// How long a challenge's nonce is accepted.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(600);
/// How long an access proof is accepted: the caller's edit rights are not checked again within it.
pub const PROOF_TTL: Duration = Duration::from_secs(3600);
/// Most clock skew tolerated between instances, in seconds.
const SKEW_SECS: u64 = 60;

/// Why a nonce or a proof was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccessTokenError {
    /// Not a token of this kind.
    #[error("it is not one of this backend's {0}s")]
    Malformed(&'static str),
    /// Its time has passed.
    #[error("the {0} has expired")]
    Expired(&'static str),
    /// Signed for another caller, another spreadsheet, or by another backend (another secret).
    #[error("the {0} was issued for another user or spreadsheet, or by another backend")]
    Forged(&'static str),
}

/// The server secret and the operations on it. Cheap to clone.
#[derive(Clone)]
pub struct AccessKeys {
    key: EncodingKey,
}

impl std::fmt::Debug for AccessKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessKeys(..)")
    }
}

impl Default for AccessKeys {
    /// A random secret (two v4 UUIDs, 244 random bits), for one process.
    fn default() -> Self {
        let secret = format!("{}{}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        AccessKeys::new(secret.as_bytes())
    }
}

impl AccessKeys {
    /// Keys from a configured secret (the settings refuse one under 32 bytes).
    pub fn new(secret: &[u8]) -> AccessKeys {
        AccessKeys {
            key: EncodingKey::from_secret(secret),
        }
    }

    fn mac(&self, parts: &[&str]) -> String {
        jsonwebtoken::crypto::sign(parts.join("\n").as_bytes(), &self.key, Algorithm::HS256)
            .unwrap_or_default()
    }

    /// A fresh nonce for `sub` on `spreadsheet_id` at `now` (Unix seconds), and its expiry.
    pub fn challenge(&self, sub: &str, spreadsheet_id: &str, now: u64) -> (String, u64) {
        let exp = (now + CHALLENGE_TTL.as_secs()).to_string();
        let random = uuid::Uuid::new_v4().simple().to_string();
        let mac = self.mac(&["challenge", sub, spreadsheet_id, &exp, &random]);
        (
            format!("ap1.{exp}.{random}.{mac}"),
            now + CHALLENGE_TTL.as_secs(),
        )
    }

    /// Checks a nonce for `sub` on `spreadsheet_id` at `now`.
    ///
    /// # Errors
    /// [`AccessTokenError`] saying why it is refused.
    pub fn check_challenge(
        &self,
        nonce: &str,
        sub: &str,
        spreadsheet_id: &str,
        now: u64,
    ) -> Result<(), AccessTokenError> {
        const WHAT: &str = "access challenge";
        let parts: Vec<&str> = nonce.split('.').collect();
        let ["ap1", exp, random, mac] = parts[..] else {
            return Err(AccessTokenError::Malformed(WHAT));
        };
        check_time(exp, now, CHALLENGE_TTL, WHAT)?;
        let expected = self.mac(&["challenge", sub, spreadsheet_id, exp, random]);
        same(&expected, mac)
            .then_some(())
            .ok_or(AccessTokenError::Forged(WHAT))
    }

    /// A proof for `sub` on `spreadsheet_id` at `now`, and its expiry.
    pub fn proof(&self, sub: &str, spreadsheet_id: &str, now: u64) -> (String, u64) {
        let exp = (now + PROOF_TTL.as_secs()).to_string();
        let mac = self.mac(&["proof", sub, spreadsheet_id, &exp]);
        (format!("pp1.{exp}.{mac}"), now + PROOF_TTL.as_secs())
    }

    /// Checks a proof for `sub` on `spreadsheet_id` at `now`.
    ///
    /// # Errors
    /// [`AccessTokenError`] saying why it is refused.
    pub fn check_proof(
        &self,
        proof: &str,
        sub: &str,
        spreadsheet_id: &str,
        now: u64,
    ) -> Result<(), AccessTokenError> {
        const WHAT: &str = "access proof";
        let parts: Vec<&str> = proof.split('.').collect();
        let ["pp1", exp, mac] = parts[..] else {
            return Err(AccessTokenError::Malformed(WHAT));
        };
        check_time(exp, now, PROOF_TTL, WHAT)?;
        let expected = self.mac(&["proof", sub, spreadsheet_id, exp]);
        same(&expected, mac)
            .then_some(())
            .ok_or(AccessTokenError::Forged(WHAT))
    }
}

/// `exp` is a number, not passed, and not further ahead than `ttl` (plus skew).
fn check_time(
    exp: &str,
    now: u64,
    ttl: Duration,
    what: &'static str,
) -> Result<(), AccessTokenError> {
    let exp: u64 = exp.parse().map_err(|_| AccessTokenError::Malformed(what))?;
    if exp < now {
        return Err(AccessTokenError::Expired(what));
    }
    if exp > now + ttl.as_secs() + SKEW_SECS {
        return Err(AccessTokenError::Forged(what));
    }
    Ok(())
}

/// Constant-time comparison of two MACs.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Unix seconds now.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_and_proofs_hold_only_for_their_caller_spreadsheet_time_and_secret() {
        let keys = AccessKeys::new(b"secret");
        let (nonce, exp) = keys.challenge("sub-a", "sheet-1", 1_000);
        assert_eq!(exp, 1_600);
        assert!(nonce.starts_with("ap1.1600."));
        assert!(!nonce.contains("sub-a"));
        assert_eq!(
            keys.check_challenge(&nonce, "sub-a", "sheet-1", 1_100),
            Ok(())
        );
        let forged = Err(AccessTokenError::Forged("access challenge"));
        assert_eq!(
            keys.check_challenge(&nonce, "sub-b", "sheet-1", 1_100),
            forged
        );
        assert_eq!(
            keys.check_challenge(&nonce, "sub-a", "sheet-2", 1_100),
            forged
        );
        assert_eq!(
            AccessKeys::new(b"other").check_challenge(&nonce, "sub-a", "sheet-1", 1_100),
            forged
        );
        assert_eq!(
            keys.check_challenge(&nonce, "sub-a", "sheet-1", 1_601),
            Err(AccessTokenError::Expired("access challenge"))
        );
        assert!(
            keys.check_challenge("ap1.x", "sub-a", "sheet-1", 1_100)
                .is_err()
        );

        let (proof, exp) = keys.proof("sub-a", "sheet-1", 1_000);
        assert_eq!(exp, 4_600);
        assert_eq!(keys.check_proof(&proof, "sub-a", "sheet-1", 4_000), Ok(()));
        assert!(keys.check_proof(&proof, "sub-a", "sheet-2", 4_000).is_err());
        assert!(keys.check_proof(&proof, "sub-a", "sheet-1", 4_601).is_err());
        assert!(
            keys.check_proof(&nonce, "sub-a", "sheet-1", 1_100).is_err(),
            "a nonce is no proof"
        );
        // A far-future expiry cannot be made without the secret, and is refused anyway.
        let far = format!(
            "pp1.999999999.{}",
            keys.mac(&["proof", "sub-a", "sheet-1", "999999999"])
        );
        assert!(keys.check_proof(&far, "sub-a", "sheet-1", 1_000).is_err());
    }
}
