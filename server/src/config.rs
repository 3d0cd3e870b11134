//! Settings of the `almanac serve` backend, read from command-line flags, environment variables
//! and an optional `.env` file (flags win over the environment). Secrets are held in
//! [`secrecy::SecretString`] so that `Debug` output and logs never show them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use secrecy::SecretString;

/// Flags and environment variables of `almanac serve`.
#[derive(Clone, Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long = "bind", env = "ALMANAC_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// The store: `sqlite://almanac.db` (created if missing) or `sqlite::memory:`.
    #[arg(
        long = "database-url",
        env = "DATABASE_URL",
        default_value = "sqlite://almanac.db"
    )]
    pub database_url: String,
    /// OpenAI API key (never printed).
    #[arg(
        long = "openai-api-key",
        env = "OPENAI_API_KEY",
        hide_env_values = true
    )]
    pub openai_api_key: Option<String>,
    /// OpenAI API base URL, with the `/v1` suffix.
    #[arg(
        long = "openai-base-url",
        env = "OPENAI_BASE_URL",
        default_value = "https://api.openai.com/v1"
    )]
    pub openai_base_url: String,
    /// Path of the Google service-account key JSON used to read and write sheets.
    #[arg(long = "google-credentials", env = "GOOGLE_APPLICATION_CREDENTIALS")]
    pub google_credentials: Option<PathBuf>,
    /// Sheets API base URL (with a trailing slash); unset means Google's.
    #[arg(long = "sheets-base-url", env = "SHEETS_BASE_URL")]
    pub sheets_base_url: Option<String>,
    /// Seconds between two polls of a running batch.
    #[arg(
        long = "poll-interval",
        env = "ALMANAC_POLL_INTERVAL_SECS",
        default_value_t = 30.0
    )]
    pub poll_interval_secs: f64,
    /// Folder of the built sidebar bundle, served at `/sidebar/` (see `sidebar/build.sh`).
    #[arg(
        long = "sidebar-dir",
        env = "ALMANAC_SIDEBAR_DIR",
        default_value = DEFAULT_SIDEBAR_DIR
    )]
    pub sidebar_dir: PathBuf,
}

/// Where `sidebar/build.sh` writes the bundle, relative to the working directory.
pub const DEFAULT_SIDEBAR_DIR: &str = "sidebar/dist";

/// Validated settings of a running backend.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port).
    pub bind: SocketAddr,
    /// sqlx database URL.
    pub database_url: String,
    /// OpenAI API key.
    pub openai_api_key: SecretString,
    /// OpenAI API base URL, ending in `/v1`.
    pub openai_base_url: String,
    /// The service-account key JSON (the file's content).
    pub google_service_account_key: SecretString,
    /// Sheets API base URL with a trailing slash; `None` means Google's.
    pub sheets_base_url: Option<String>,
    /// Worker settings.
    pub worker: WorkerSettings,
    /// Folder of the built sidebar bundle, served at `/sidebar/`.
    pub sidebar_dir: PathBuf,
}

/// How the worker paces itself.
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    /// Time between two polls of a running batch.
    pub poll_interval: Duration,
    /// First delay after a transient failure; doubles each time, with jitter.
    pub retry_min_delay: Duration,
    /// Longest delay between two tries after transient failures.
    pub retry_max_delay: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            poll_interval: Duration::from_secs(30),
            retry_min_delay: Duration::from_secs(2),
            retry_max_delay: Duration::from_secs(300),
        }
    }
}

/// Why the settings are unusable; the message says which variable to set.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required setting is missing.
    #[error("{0} is not set: {1}")]
    Missing(&'static str, &'static str),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A value is out of range.
    #[error("{0}")]
    Invalid(String),
}

impl ServeArgs {
    /// Checks the flags and reads the service-account key file.
    ///
    /// # Errors
    /// [`ConfigError`] naming the missing or bad setting.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let key =
            self.openai_api_key
                .filter(|k| !k.trim().is_empty())
                .ok_or(ConfigError::Missing(
                    "OPENAI_API_KEY",
                    "set it to your OpenAI API key (https://platform.openai.com/api-keys)",
                ))?;
        let path = self.google_credentials.ok_or(ConfigError::Missing(
            "GOOGLE_APPLICATION_CREDENTIALS",
            "set it to the path of a Google service-account key JSON file",
        ))?;
        let sa = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        if !(self.poll_interval_secs.is_finite() && self.poll_interval_secs > 0.0) {
            return Err(ConfigError::Invalid(format!(
                "ALMANAC_POLL_INTERVAL_SECS must be a positive number of seconds, not {}",
                self.poll_interval_secs
            )));
        }
        Ok(Config {
            bind: self.bind,
            database_url: self.database_url,
            openai_api_key: SecretString::from(key),
            openai_base_url: self.openai_base_url,
            google_service_account_key: SecretString::from(sa),
            sheets_base_url: self.sheets_base_url,
            worker: WorkerSettings {
                poll_interval: Duration::from_secs_f64(self.poll_interval_secs),
                ..WorkerSettings::default()
            },
            sidebar_dir: self.sidebar_dir,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_of_a_config_does_not_show_the_secrets() {
        let config = Config {
            bind: "127.0.0.1:0".parse().unwrap(),
            database_url: "sqlite::memory:".into(),
            openai_api_key: SecretString::from("sk-very-secret".to_string()),
            openai_base_url: "http://x/v1".into(),
            google_service_account_key: SecretString::from("-----BEGIN PRIVATE KEY".to_string()),
            sheets_base_url: None,
            worker: WorkerSettings::default(),
            sidebar_dir: DEFAULT_SIDEBAR_DIR.into(),
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("sk-very-secret"));
        assert!(!shown.contains("BEGIN PRIVATE KEY"));
    }
}
