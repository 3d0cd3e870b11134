//! The ID-token signing keys: the fixture key pairs in rotation order ([`SIGNING_KEYS`], test keys
//! shipped in `emulator/fixtures/`, never anything real) and the [`KeyRing`] saying which are in
//! use and publishing them as a JWKS (RFC 7517, <https://www.rfc-editor.org/rfc/rfc7517>) — the
//! current key and, after a rotation, the previous one, as Google publishes two keys while it
//! rotates. This module uses no other module of the crate (signing and the routes are in
//! [`crate::google::identity`]).

use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey};

/// The signing keys, in rotation order: `(kid, private key PKCS#8 PEM, public key SPKI PEM)`.
pub const SIGNING_KEYS: [(&str, &str, &str); 2] = [
    (
        "emulated-id-token-key-1",
        include_str!("../../fixtures/id-token-key-1.pem"),
        include_str!("../../fixtures/id-token-key-1.pub.pem"),
    ),
    (
        "emulated-id-token-key-2",
        include_str!("../../fixtures/id-token-key-2.pem"),
        include_str!("../../fixtures/id-token-key-2.pub.pem"),
    ),
];

/// Which signing keys are in use: indexes into [`SIGNING_KEYS`].
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyRing {
    /// The key new tokens are signed with.
    pub current: usize,
    /// The key used before the last rotation, still published.
    pub previous: Option<usize>,
}

impl KeyRing {
    /// The `kid` new tokens carry.
    pub fn current_kid(&self) -> &'static str {
        SIGNING_KEYS[self.current].0
    }

    /// Moves to the next key; the current one stays published as the previous one.
    pub fn rotate(&mut self) {
        self.previous = Some(self.current);
        self.current = (self.current + 1) % SIGNING_KEYS.len();
    }

    /// The JWKS: the current key first, then the previous one.
    pub fn jwks(&self) -> JwkSet {
        let keys = std::iter::once(self.current)
            .chain(self.previous)
            .filter_map(|i| {
                let (kid, pem, _) = SIGNING_KEYS[i];
                let key = EncodingKey::from_rsa_pem(pem.as_bytes()).ok()?;
                let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).ok()?;
                jwk.common.key_id = Some(kid.to_string());
                jwk.common.public_key_use = Some(PublicKeyUse::Signature);
                jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
                Some(jwk)
            })
            .collect();
        JwkSet { keys }
    }
}
