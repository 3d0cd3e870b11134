//! The Google side of the emulator: Sheets v4, Apps Script, OAuth and identity.
//!
//! | file | what it is |
//! |---|---|
//! | `sheets` | the Sheets v4 router under `/v4/spreadsheets/` and the checks every call goes through first (token, scopes, sharing) |
//! | `values` | cells as the Sheets API reads and writes them: the Spreadsheet resource, `ValueRange` reads, `valueInputOption` writes; the A1-addressed `values.*` methods |
//! | `datafilter` | `values.batchGetByDataFilter` and `values.batchUpdateByDataFilter`, cells addressed by `GridRange` (`sheetId`) |
//! | `spreadsheet` | the records of a spreadsheet: its sheets (grid size) and cells, read and written |
//! | `a1` | A1 notation, parsed and written as the API and its clients do |
//! | `spreadsheet_ops` | `spreadsheets.getByDataFilter`, `spreadsheets.batchUpdate` (developer-metadata requests), `developerMetadata.get` and `.search` |
//! | `devmeta` | developer metadata as the Sheets API keeps it, and its `DeveloperMetadataLookup` |
//! | `error` | Google's error answers `{"error":{"code","message","status"}}`, with `ErrorInfo` reasons |
//! | `access` | an access token handed out (account, scopes, expiry) and an account's role on a shared spreadsheet |
//! | `scopes` | OAuth scopes and which each Sheets method accepts |
//! | `apps_script` | what Apps Script's `SpreadsheetApp` does for a person (`addDeveloperMetadata`, `addEditor`) |
//! | `oauth` | the OAuth token endpoint `POST /token` for service accounts, and the service-account key |
//! | `metadata_server` | the metadata server's token and email endpoints (Application Default Credentials) |
//! | `identity`, `keys` | the ID-token signer, its JWKS `GET /oauth2/v3/certs` and user access tokens; the fixture signing keys in rotation |
//! | `control` | the [`Emulator`](crate::Emulator) methods a test uses on this side: credentials, sharing, spreadsheets set up and edited as a person would |

pub mod a1;
pub mod access;
pub mod apps_script;
pub mod control;
pub mod datafilter;
pub mod devmeta;
pub mod error;
pub mod identity;
pub mod keys;
pub mod metadata_server;
pub mod oauth;
pub mod scopes;
pub mod sheets;
pub mod spreadsheet;
pub mod spreadsheet_ops;
pub mod values;
