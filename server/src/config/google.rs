//! How the backend reaches Google Sheets as its service account: a key file
//! (`GOOGLE_APPLICATION_CREDENTIALS`) or the metadata server (`GCE_METADATA_HOST`), and where the
//! Sheets API is (`SHEETS_BASE_URL`).

use std::path::PathBuf;

use clap::Args;
use secrecy::SecretString;

use super::error::ConfigError;

/// Flags and environment variables of Google.
#[derive(Clone, Debug, Args)]
pub struct GoogleArgs {
    /// Path of the Google service-account key JSON used to read and write sheets. Unset: act as
    /// the runtime service account through the metadata server (Cloud Run, GCE), no key file.
    #[arg(long = "google-credentials", env = "GOOGLE_APPLICATION_CREDENTIALS")]
    pub(super) google_credentials: Option<PathBuf>,
    /// `host:port` of the metadata server (default `metadata.google.internal`), for tests.
    #[arg(long = "metadata-host", env = "GCE_METADATA_HOST")]
    pub(super) metadata_host: Option<String>,
    /// Sheets API base URL (with a trailing slash); unset means Google's.
    #[arg(long = "sheets-base-url", env = "SHEETS_BASE_URL")]
    pub sheets_base_url: Option<String>,
}

/// How the backend authenticates to Google as its service account.
#[derive(Clone, Debug)]
pub enum GoogleCredentials {
    /// A service-account key file's JSON (`GOOGLE_APPLICATION_CREDENTIALS`).
    Key(SecretString),
    /// The runtime service account, through the metadata server (Application Default
    /// Credentials on Cloud Run, GCE, GKE); `host` overrides `metadata.google.internal`.
    MetadataServer {
        /// `host:port` (`GCE_METADATA_HOST`), or `None` for Google's.
        host: Option<String>,
    },
}

impl GoogleArgs {
    /// The service account: the key file's content, or the metadata server.
    ///
    /// # Errors
    /// [`ConfigError::Read`] when the key file cannot be read.
    pub fn credentials(&self) -> Result<GoogleCredentials, ConfigError> {
        Ok(match &self.google_credentials {
            Some(path) => GoogleCredentials::Key(SecretString::from(
                std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?,
            )),
            None => GoogleCredentials::MetadataServer {
                host: self.metadata_host.clone().filter(|h| !h.trim().is_empty()),
            },
        })
    }
}
