//! The settings the set-up checks look at ([`Deployment`]): those of `almanac serve`, as
//! `almanac doctor` reads them (a key file's path, a database URL) or as the running server holds
//! them (the key's JSON, its open store).

use std::path::PathBuf;
use std::time::Duration;

use almanac_store::Store;
use secrecy::SecretString;

/// Longest wait for one check that calls out.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// How the deployment authenticates to Google as its service account.
#[derive(Clone, Debug)]
pub enum ServiceAccount {
    /// A key file to read (`GOOGLE_APPLICATION_CREDENTIALS`), as `almanac doctor` finds it.
    KeyFile(PathBuf),
    /// A key file's JSON, as the running server read it at start.
    Key(SecretString),
    /// The runtime service account of the metadata server; `host` overrides
    /// `metadata.google.internal` (`GCE_METADATA_HOST`).
    MetadataServer {
        /// `host:port`, or `None` for Google's.
        host: Option<String>,
    },
}

/// The database to check.
#[derive(Clone, Debug)]
pub enum Database {
    /// A store URL (`DATABASE_URL`), opened for the check without migrating or creating anything.
    Url(String),
    /// The running server's open store.
    Open(Store),
}

/// The settings the checks look at: those of `almanac serve`.
#[derive(Clone, Debug)]
pub struct Deployment {
    /// OpenAI's base URL, with `/v1`.
    pub openai_base_url: String,
    /// The OpenAI API key, if set.
    pub openai_api_key: Option<SecretString>,
    /// The service account.
    pub service_account: ServiceAccount,
    /// The Sheets API's base URL; `None` for Google's.
    pub sheets_base_url: Option<String>,
    /// `ALMANAC_OAUTH_CLIENT_IDS`, trimmed, empty ones dropped.
    pub oauth_client_ids: Vec<String>,
    /// `--insecure-dev-no-auth`.
    pub insecure_no_auth: bool,
    /// Where Google's ID-token signing keys are; `None` when no ID token is verified.
    pub jwks_url: Option<String>,
    /// The store.
    pub database: Database,
    /// `ALMANAC_SIDEBAR_DIR`.
    pub sidebar_dir: PathBuf,
    /// `ALMANAC_CORS_ORIGINS`.
    pub cors_origins: Vec<String>,
}

impl Deployment {
    /// The settings of a running server, `config`, with its open `store`.
    pub fn of_server(config: &crate::config::Config, store: Store) -> Deployment {
        use crate::config::{AuthMode, GoogleCredentials};
        let (oauth_client_ids, insecure_no_auth, jwks_url) = match &config.auth {
            AuthMode::GoogleIdToken(identity) => (
                identity.client_ids.clone(),
                false,
                Some(identity.jwks_url.clone()),
            ),
            AuthMode::InsecureNoAuth => (Vec::new(), true, None),
        };
        Deployment {
            openai_base_url: config.openai_base_url.clone(),
            openai_api_key: Some(config.openai_api_key.clone()),
            service_account: match &config.google_credentials {
                GoogleCredentials::Key(json) => ServiceAccount::Key(json.clone()),
                GoogleCredentials::MetadataServer { host } => {
                    ServiceAccount::MetadataServer { host: host.clone() }
                }
            },
            sheets_base_url: config.sheets_base_url.clone(),
            oauth_client_ids,
            insecure_no_auth,
            jwks_url,
            database: Database::Open(store),
            sidebar_dir: config.sidebar_dir.clone(),
            cors_origins: config.api.cors_origins.clone(),
        }
    }
}
