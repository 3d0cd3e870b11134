//! `GET /api/v1/health`: [`Health`], the server's status and version; and with `?deep=true` (and
//! `almanac doctor --json`) [`DeepHealth`]: each set-up check of a deployment — the OpenAI key, the
//! service account, the Sheets API, the OAuth client ids, Google's signing keys, the database, the
//! sidebar bundle, CORS — with what was found and what to do.

use serde::{Deserialize, Serialize};

/// `GET /api/v1/health`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// The server's version.
    pub version: String,
}

/// One set-up check, by what it checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    /// OpenAI accepts the API key (`GET /v1/models`).
    OpenaiKey,
    /// Google's token endpoint (or the metadata server) issues the service account a token for
    /// the `spreadsheets` scope.
    ServiceAccount,
    /// The Sheets API accepts that token.
    SheetsApi,
    /// `ALMANAC_OAUTH_CLIENT_IDS` is set and each id is an OAuth client id.
    OauthClientIds,
    /// Google's ID-token signing keys (a JWKS) can be fetched and hold an RS256 key.
    Jwks,
    /// The database can be opened and is migrated to the binary's latest migration.
    Database,
    /// The sidebar bundle is in `ALMANAC_SIDEBAR_DIR`.
    SidebarBundle,
    /// `ALMANAC_CORS_ORIGINS` allows the origin Apps Script serves sidebars from.
    Cors,
}

/// How a check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// The setting works.
    Ok,
    /// The setting is wrong or what it names cannot be reached; `fix` says what to do.
    Failed,
    /// Not run, because a check it needs failed (the Sheets API without a service account).
    Skipped,
}

/// One check's outcome. Never holds a secret (keys, tokens, passwords in URLs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthCheck {
    /// What was checked.
    pub name: CheckName,
    /// How it ended.
    pub status: CheckStatus,
    /// What was found, for people (e.g. the service account's email, the migration version).
    pub detail: String,
    /// What to do, when the check failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// How long the check took, in milliseconds.
    pub took_ms: u64,
}

/// `GET /api/v1/health?deep=true`: every check of the deployment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeepHealth {
    /// `ok` when every check passed, else `failed`.
    pub status: CheckStatus,
    /// The server's version.
    pub version: String,
    /// When the checks ran (RFC 3339, UTC); an answer may be up to a minute old.
    pub checked_at: String,
    /// The checks, in a fixed order.
    pub checks: Vec<HealthCheck>,
}
