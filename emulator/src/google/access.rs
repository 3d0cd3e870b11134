//! Who may do what on the Google side: an access token the emulator handed out
//! ([`IssuedToken`]: its account, scopes and expiry; by `POST /token`, the metadata server or to a
//! user) and the [`Role`] an account has on a spreadsheet shared with it. Plain data: this module
//! uses no other module of the crate.

use std::time::Instant;

/// What a person or service account may do with a spreadsheet shared with them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Viewer (or commenter): may read, not change.
    Reader,
    /// Editor: may read and change, and add developer metadata.
    Writer,
}

/// An access token handed out by the token endpoint.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    /// When it stops being accepted (3599 s after issue).
    pub expires: Instant,
    /// Space-separated scopes of the assertion, split.
    pub scopes: Vec<String>,
    /// The account the token acts as: a user's email, or the service account's
    /// (`client_email`); it reaches the spreadsheets shared with that account.
    pub user: String,
}
