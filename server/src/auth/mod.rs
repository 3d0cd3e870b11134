//! Who is calling: verification of the Google ID token every `/api/v1` call (but `health`) carries
//! as `Authorization: Bearer …`. This module and the [`Caller`](crate::api::Caller) extractor are
//! the only places that know about authentication; handlers and [`JobService`](crate::jobs::JobService)
//! receive an already-verified owner.
//!
//! - [`jwks`]: Google's signing keys (a JWKS, RFC 7517), cached by `kid`, refreshed at most once a
//!   minute.
//! - [`verify`]: the checks of
//!   <https://developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken>
//!   with jsonwebtoken (RS256 only, issuer, audience, times with ≤ 60 s leeway, verified email,
//!   optional email-domain allow-list), each refusal with a reason code.
//!
//! - [`log_throttle`]: at most one `wrong_audience` warning a minute, with the count left out.
//! - [`access`]: the signed, expiring nonce and proof of the access proof (see `spreadsheet::access`).
//!
//! Access to a spreadsheet is a separate proof because an ID token says who someone is, not what
//! they may open: the add-on writes a nonce as developer metadata, which only an editor can, and
//! the service account takes it back (`spreadsheet::access`).

pub mod access;
pub(crate) mod jwks;
pub(crate) mod log_throttle;
pub mod verify;

pub use verify::{AuthError, IdTokenVerifier, Identity, IdentitySettings};
