//! The spreadsheet: what belongs to a spreadsheet rather than to a job or a chat turn, and what
//! both of them use. `jobs` and `chat` sit beside each other above this layer; neither imports the
//! other.
//!
//! - [`access`]: the access proof (the caller can edit the spreadsheet, and so can the service
//!   account): challenge, proof, check;
//! - [`budget`]: the spreadsheet's monthly budget — what this month's jobs and chat runs have
//!   committed, the monthly cap check — and admission (one job or turn at a time is checked and
//!   stored per spreadsheet, on every replica);
//! - [`read`]: the service account's reads of a sheet's rows, with the short retries a person
//!   waits for ([`transient`]);
//! - [`errors`]: [`SpreadsheetError`], why the spreadsheet could not be used; `jobs` and `chat`
//!   each map it into their own error.
//!
//! Every operation takes the [`Spreadsheets`] handles ([`handles`]), which the app builds once
//! (clones of the store, the Sheets client, the catalogue and the access keys, all cheap).

pub(crate) mod access;
pub(crate) mod budget;
pub(crate) mod errors;
pub(crate) mod handles;
pub(crate) mod read;
mod transient;

pub use errors::SpreadsheetError;
pub use handles::Spreadsheets;
