//! Settings of the `almanac serve` backend, read from command-line flags, environment variables
//! and an optional `.env` file (flags win over the environment). Secrets are held in
//! [`secrecy::SecretString`] so that `Debug` output and logs never show them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use secrecy::SecretString;

use crate::auth::IdentitySettings;
use crate::auth::verify::{GOOGLE_JWKS_URL, JWKS_MIN_REFRESH};
pub use crate::chat::{ChatSettings, DefaultSheet};
pub use crate::jobs::settings::{BatchStrategy, CostSettings, WorkerSettings};

/// The default CORS allow-list: the origin Apps Script serves add-on sidebars from
/// (`https://n-…-script.googleusercontent.com`).
pub const DEFAULT_CORS_ORIGINS: &str = "https://*.googleusercontent.com";

/// Flags and environment variables of `almanac serve`.
#[derive(Clone, Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long = "bind", env = "ALMANAC_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// The store: `sqlite://almanac.db` (created if missing), `sqlite::memory:`, or
    /// `postgres://user:password@host/database` for several replicas sharing one PostgreSQL
    /// (`?max_connections=N` per replica, default 10).
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
    /// Path of the Google service-account key JSON used to read and write sheets. Unset: act as
    /// the runtime service account through the metadata server (Cloud Run, GCE), no key file.
    #[arg(long = "google-credentials", env = "GOOGLE_APPLICATION_CREDENTIALS")]
    pub google_credentials: Option<PathBuf>,
    /// `host:port` of the metadata server (default `metadata.google.internal`), for tests.
    #[arg(long = "metadata-host", env = "GCE_METADATA_HOST")]
    pub metadata_host: Option<String>,
    /// Secret of access challenges and proofs; the same on every instance behind one URL.
    /// Unset: random per process (a restart makes sidebars prove access again).
    #[arg(
        long = "access-proof-secret",
        env = "ALMANAC_ACCESS_PROOF_SECRET",
        hide_env_values = true
    )]
    pub access_proof_secret: Option<String>,
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
    /// Seconds that in-flight requests and the worker's current step get to finish after
    /// SIGTERM / Ctrl-C before they are abandoned (safe: every step can be repeated).
    #[arg(
        long = "shutdown-grace",
        env = "ALMANAC_SHUTDOWN_GRACE_SECS",
        default_value_t = 30.0
    )]
    pub shutdown_grace_secs: f64,
    /// Seconds a replica's claim on a job's step lasts without a heartbeat (renewed every third
    /// of it): after a crash, other replicas take the job over once it has run out.
    #[arg(long = "lease", env = "ALMANAC_LEASE_SECS", default_value_t = 30.0)]
    pub lease_secs: f64,
    /// Folder of the built sidebar bundle, served at `/sidebar/` (see `sidebar/build.sh`).
    #[arg(
        long = "sidebar-dir",
        env = "ALMANAC_SIDEBAR_DIR",
        default_value = DEFAULT_SIDEBAR_DIR
    )]
    pub sidebar_dir: PathBuf,
    /// OAuth client ids (comma-separated) that callers' Google ID tokens must be addressed to
    /// (`aud`): the Apps Script project's client id. Required unless `--insecure-dev-no-auth`.
    #[arg(
        long = "oauth-client-ids",
        env = "ALMANAC_OAUTH_CLIENT_IDS",
        value_delimiter = ','
    )]
    pub oauth_client_ids: Vec<String>,
    /// Where Google publishes its ID-token signing keys (a JWKS).
    #[arg(long = "jwks-url", env = "ALMANAC_JWKS_URL", default_value = GOOGLE_JWKS_URL)]
    pub jwks_url: String,
    /// Email domains (comma-separated) allowed to call; empty allows every verified Google account.
    #[arg(
        long = "allowed-email-domains",
        env = "ALMANAC_ALLOWED_EMAIL_DOMAINS",
        value_delimiter = ','
    )]
    pub allowed_email_domains: Vec<String>,
    /// Accept every caller as the single user `local`, without any token. Only for development
    /// on a trusted machine: anyone who reaches the port can then use the OpenAI key and the
    /// service account.
    #[arg(
        long = "insecure-dev-no-auth",
        env = "ALMANAC_INSECURE_DEV_NO_AUTH",
        value_parser = clap::builder::BoolishValueParser::new(),
        default_value_t = false,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub insecure_dev_no_auth: bool,
    /// Browser origins (comma-separated) allowed by CORS; `*.` matches any subdomain.
    #[arg(
        long = "cors-origins",
        env = "ALMANAC_CORS_ORIGINS",
        value_delimiter = ',',
        default_value = DEFAULT_CORS_ORIGINS
    )]
    pub cors_origins: Vec<String>,
    /// Jobs one user may create per minute (a burst of as many, then one every 60/N seconds).
    #[arg(
        long = "jobs-per-minute",
        env = "ALMANAC_JOBS_PER_MINUTE",
        default_value_t = 10
    )]
    pub jobs_per_minute: u32,
    /// Mode strategy and realtime endpoint (boxed: the flags are many, the enum of commands stays small).
    #[command(flatten)]
    pub cost: Box<CostArgs>,
    /// The chat's model, instructions and limits.
    #[command(flatten)]
    pub chat: Box<ChatArgs>,
}

/// Flags and environment variables of `almanac serve` for "Ask about the sheet".
#[derive(Clone, Debug, clap::Args)]
pub struct ChatArgs {
    /// The chat's model (a catalogue id: its prices cost the turns); default: the catalogue's
    /// default model.
    #[arg(long = "chat-model", env = "ALMANAC_CHAT_MODEL")]
    pub chat_model: Option<String>,
    /// The chat's instructions (the seed's Assistant instructions); default: built in.
    #[arg(long = "chat-instructions", env = "ALMANAC_CHAT_INSTRUCTIONS")]
    pub chat_instructions: Option<String>,
    /// The spreadsheet of chat clients that name none (such as the seed guide's clients).
    #[arg(long = "chat-spreadsheet-id", env = "ALMANAC_CHAT_SPREADSHEET_ID")]
    pub chat_spreadsheet_id: Option<String>,
    /// The sheet (`sheetId`) of that spreadsheet.
    #[arg(
        long = "chat-sheet-id",
        env = "ALMANAC_CHAT_SHEET_ID",
        default_value_t = 0
    )]
    pub chat_sheet_id: i32,
    /// Chat turns one user may start per minute (a burst of as many).
    #[arg(
        long = "chat-turns-per-minute",
        env = "ALMANAC_CHAT_TURNS_PER_MINUTE",
        default_value_t = 20
    )]
    pub chat_turns_per_minute: u32,
    /// Longest chat message, in characters.
    #[arg(
        long = "chat-max-message-chars",
        env = "ALMANAC_CHAT_MAX_MESSAGE_CHARS",
        default_value_t = 4_000
    )]
    pub chat_max_message_chars: usize,
    /// Conversations one user may keep per spreadsheet.
    #[arg(
        long = "chat-max-threads",
        env = "ALMANAC_CHAT_MAX_THREADS",
        default_value_t = 50
    )]
    pub chat_max_threads: u64,
    /// Messages one conversation may hold.
    #[arg(
        long = "chat-max-messages",
        env = "ALMANAC_CHAT_MAX_MESSAGES",
        default_value_t = 200
    )]
    pub chat_max_messages: u64,
    /// Seconds between two polls of a background response.
    #[arg(
        long = "chat-poll-interval",
        env = "ALMANAC_CHAT_POLL_INTERVAL_SECS",
        default_value_t = 1.0
    )]
    pub chat_poll_interval_secs: f64,
    /// Seconds after which an unfinished chat run is cancelled and ends `expired`.
    #[arg(
        long = "chat-run-timeout",
        env = "ALMANAC_CHAT_RUN_TIMEOUT_SECS",
        default_value_t = 600.0
    )]
    pub chat_run_timeout_secs: f64,
}

impl ChatArgs {
    /// The chat settings these flags ask for.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for a model the catalogue does not know, or a limit of 0.
    pub fn into_settings(self) -> Result<ChatSettings, ConfigError> {
        let defaults = ChatSettings::default();
        let model = match self.chat_model.filter(|m| !m.trim().is_empty()) {
            Some(m) => almanac_core::catalog::Catalog::builtin()
                .resolve(&m)
                .map_err(|e| ConfigError::Invalid(format!("ALMANAC_CHAT_MODEL: {e}")))?
                .id
                .clone(),
            None => defaults.model.clone(),
        };
        let positive = |name: &str, secs: f64| match secs.is_finite() && secs > 0.0 {
            true => Ok(Duration::from_secs_f64(secs)),
            false => Err(ConfigError::Invalid(format!(
                "{name} must be a positive number of seconds, not {secs}"
            ))),
        };
        if self.chat_turns_per_minute == 0
            || self.chat_max_message_chars == 0
            || self.chat_max_threads == 0
            || self.chat_max_messages < 2
        {
            return Err(ConfigError::Invalid("ALMANAC_CHAT_TURNS_PER_MINUTE, ALMANAC_CHAT_MAX_MESSAGE_CHARS and ALMANAC_CHAT_MAX_THREADS must be at least 1, ALMANAC_CHAT_MAX_MESSAGES at least 2".into()));
        }
        Ok(ChatSettings {
            model,
            instructions: self
                .chat_instructions
                .filter(|i| !i.trim().is_empty())
                .unwrap_or(defaults.instructions),
            default_sheet: self
                .chat_spreadsheet_id
                .filter(|s| !s.trim().is_empty())
                .map(|id| DefaultSheet {
                    spreadsheet_id: id.trim().to_owned(),
                    sheet_id: self.chat_sheet_id,
                }),
            turns_per_minute: self.chat_turns_per_minute,
            max_message_chars: self.chat_max_message_chars,
            max_threads: self.chat_max_threads,
            max_messages: self.chat_max_messages,
            max_output_tokens: defaults.max_output_tokens,
            poll_interval: positive(
                "ALMANAC_CHAT_POLL_INTERVAL_SECS",
                self.chat_poll_interval_secs,
            )?,
            run_timeout: positive("ALMANAC_CHAT_RUN_TIMEOUT_SECS", self.chat_run_timeout_secs)?,
        })
    }
}

/// Flags and environment variables of `almanac serve` for modes and realtime calls.
#[derive(Clone, Debug, clap::Args)]
pub struct CostArgs {
    /// How a job's mode is chosen: `user_choice` (the person picks batch, realtime or auto),
    /// `always_batch` or `never_batch`.
    #[arg(
        long = "batch-strategy",
        env = "ALMANAC_BATCH_STRATEGY",
        default_value = "user_choice"
    )]
    pub batch_strategy: String,
    /// `auto` picks realtime when the batch wait is expected to exceed this (`30m`, `6h`, or
    /// seconds), unless the request names its own `max_wait_seconds`.
    #[arg(
        long = "max-wait-time",
        env = "ALMANAC_MAX_WAIT_TIME",
        default_value = "6h"
    )]
    pub max_wait_time: String,
    /// `auto` picks realtime for jobs of at most this many rows.
    #[arg(
        long = "auto-realtime-max-rows",
        env = "ALMANAC_AUTO_REALTIME_MAX_ROWS",
        default_value_t = 100
    )]
    pub auto_realtime_max_rows: u64,
    /// Base URL of the OpenAI-compatible endpoint that serves realtime calls (e.g. a self-hosted
    /// vLLM at `http://gpu-box:8000/v1`); default: `OPENAI_BASE_URL`.
    #[arg(long = "realtime-base-url", env = "ALMANAC_REALTIME_BASE_URL")]
    pub realtime_base_url: Option<String>,
    /// API key for `ALMANAC_REALTIME_BASE_URL`; default: `OPENAI_API_KEY`.
    #[arg(
        long = "realtime-api-key",
        env = "ALMANAC_REALTIME_API_KEY",
        hide_env_values = true
    )]
    pub realtime_api_key: Option<String>,
    /// Most realtime calls in flight at once, per job.
    #[arg(
        long = "realtime-max-concurrency",
        env = "ALMANAC_REALTIME_MAX_CONCURRENCY",
        default_value_t = 64
    )]
    pub realtime_max_concurrency: usize,
    /// Most realtime jobs one replica runs at once; further ones are left to other replicas.
    #[arg(
        long = "realtime-max-runs",
        env = "ALMANAC_REALTIME_MAX_RUNS",
        default_value_t = 16
    )]
    pub realtime_max_runs: usize,
}

/// Reads a wait such as `6h`, `30m`, `90s`, `6_hours` (the seed's spelling) or plain seconds.
///
/// # Errors
/// [`ConfigError::Invalid`] for anything else.
pub fn parse_wait(s: &str) -> Result<Duration, ConfigError> {
    let t = s.trim().to_lowercase().replace('_', "");
    let bad = || {
        ConfigError::Invalid(format!(
            "ALMANAC_MAX_WAIT_TIME must look like 30m, 6h, 90s or a number of seconds, not {s:?}"
        ))
    };
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let value: f64 = t[..split].parse().map_err(|_| bad())?;
    let unit = match &t[split..] {
        "" | "s" | "sec" | "secs" | "seconds" | "second" => 1.0,
        "m" | "min" | "mins" | "minutes" | "minute" => 60.0,
        "h" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        _ => return Err(bad()),
    };
    let secs = value * unit;
    if !(secs.is_finite() && secs >= 0.0) {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// How callers are authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// Google ID tokens, checked against these settings.
    GoogleIdToken(IdentitySettings),
    /// No authentication: every caller is the user `local`. Only with `--insecure-dev-no-auth`.
    InsecureNoAuth,
}

/// Settings of the HTTP surface.
#[derive(Clone, Debug)]
pub struct ApiSettings {
    /// Origins allowed by CORS: exact (`https://example.com`), with a wildcard subdomain
    /// (`https://*.googleusercontent.com`), or `*` for any.
    pub cors_origins: Vec<String>,
    /// Jobs one user may create per minute (also the burst size); at least 1.
    pub jobs_per_minute: u32,
    /// Mode strategy and realtime calls.
    pub cost: CostSettings,
    /// Secret of access challenges and proofs (`None`: random per process).
    pub access_proof_secret: Option<SecretString>,
    /// The chat's model, instructions and limits.
    pub chat: ChatSettings,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            cors_origins: vec![DEFAULT_CORS_ORIGINS.to_owned()],
            jobs_per_minute: 10,
            cost: CostSettings::default(),
            access_proof_secret: None,
            chat: ChatSettings::default(),
        }
    }
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
    /// The service account: a key file's JSON, or the metadata server's.
    pub google_credentials: GoogleCredentials,
    /// Sheets API base URL with a trailing slash; `None` means Google's.
    pub sheets_base_url: Option<String>,
    /// Worker settings.
    pub worker: WorkerSettings,
    /// Folder of the built sidebar bundle, served at `/sidebar/`.
    pub sidebar_dir: PathBuf,
    /// How callers are authenticated.
    pub auth: AuthMode,
    /// CORS and rate limits.
    pub api: ApiSettings,
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
        let google_credentials = match self.google_credentials {
            Some(path) => {
                GoogleCredentials::Key(SecretString::from(read_service_account_key(path)?))
            }
            None => GoogleCredentials::MetadataServer {
                host: self.metadata_host.filter(|h| !h.trim().is_empty()),
            },
        };
        let auth = auth_mode(
            &self.oauth_client_ids,
            self.insecure_dev_no_auth,
            self.jwks_url,
            &self.allowed_email_domains,
        )?;
        check_limits(
            self.jobs_per_minute,
            self.shutdown_grace_secs,
            self.poll_interval_secs,
        )?;
        if !(self.lease_secs.is_finite() && self.lease_secs >= 0.05) {
            return Err(ConfigError::Invalid(format!(
                "ALMANAC_LEASE_SECS must be a number of seconds of at least 0.05, not {}",
                self.lease_secs
            )));
        }
        Ok(Config {
            bind: self.bind,
            database_url: self.database_url,
            openai_api_key: SecretString::from(key),
            openai_base_url: self.openai_base_url,
            google_credentials,
            sheets_base_url: self.sheets_base_url,
            worker: WorkerSettings {
                poll_interval: Duration::from_secs_f64(self.poll_interval_secs),
                shutdown_grace: Duration::from_secs_f64(self.shutdown_grace_secs),
                lease: Duration::from_secs_f64(self.lease_secs),
                ..WorkerSettings::default()
            },
            sidebar_dir: self.sidebar_dir,
            auth,
            api: ApiSettings {
                cors_origins: clean(&self.cors_origins),
                jobs_per_minute: self.jobs_per_minute,
                cost: self.cost.into_settings()?,
                access_proof_secret: self
                    .access_proof_secret
                    .filter(|s| !s.trim().is_empty())
                    .map(SecretString::from),
                chat: self.chat.into_settings()?,
            },
        })
    }
}

impl CostArgs {
    /// The mode strategy and realtime settings these flags ask for.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for an unknown strategy or a bad wait.
    fn into_settings(self) -> Result<CostSettings, ConfigError> {
        Ok(CostSettings {
            strategy: BatchStrategy::parse(&self.batch_strategy).map_err(ConfigError::Invalid)?,
            max_wait: parse_wait(&self.max_wait_time)?,
            auto_realtime_max_rows: self.auto_realtime_max_rows,
            realtime_base_url: self.realtime_base_url.filter(|u| !u.trim().is_empty()),
            realtime_api_key: self
                .realtime_api_key
                .filter(|k| !k.trim().is_empty())
                .map(SecretString::from),
            pacer: crate::jobs::realtime::pacer::PacerSettings {
                max_concurrency: self.realtime_max_concurrency.max(1),
                ..Default::default()
            },
            max_runs: self.realtime_max_runs.max(1),
            ..CostSettings::default()
        })
    }
}

/// The content of the service-account key file named by `GOOGLE_APPLICATION_CREDENTIALS`.
fn read_service_account_key(path: PathBuf) -> Result<String, ConfigError> {
    std::fs::read_to_string(&path).map_err(|source| ConfigError::Read { path, source })
}

/// Google ID tokens addressed to `oauth_client_ids`, or no authentication with
/// `--insecure-dev-no-auth` — exactly one of the two.
fn auth_mode(
    oauth_client_ids: &[String],
    insecure_dev_no_auth: bool,
    jwks_url: String,
    allowed_email_domains: &[String],
) -> Result<AuthMode, ConfigError> {
    let client_ids = clean(oauth_client_ids);
    match (client_ids.is_empty(), insecure_dev_no_auth) {
        (false, false) => Ok(AuthMode::GoogleIdToken(IdentitySettings {
            client_ids,
            jwks_url,
            allowed_email_domains: clean(allowed_email_domains),
            jwks_min_refresh: JWKS_MIN_REFRESH,
        })),
        (true, false) => Err(ConfigError::Missing(
            "ALMANAC_OAUTH_CLIENT_IDS",
            "set it to the OAuth client id of the Apps Script project (callers' ID tokens must be addressed to it), or pass --insecure-dev-no-auth for local development only",
        )),
        (false, true) => Err(ConfigError::Invalid(
            "ALMANAC_OAUTH_CLIENT_IDS and --insecure-dev-no-auth contradict each other: drop one"
                .into(),
        )),
        (true, true) => Ok(AuthMode::InsecureNoAuth),
    }
}

/// Checks the rate limit (at least 1), the shutdown grace (zero or more seconds) and the poll
/// interval (more than zero seconds).
fn check_limits(
    jobs_per_minute: u32,
    shutdown_grace_secs: f64,
    poll_interval_secs: f64,
) -> Result<(), ConfigError> {
    if jobs_per_minute == 0 {
        return Err(ConfigError::Invalid(
            "ALMANAC_JOBS_PER_MINUTE must be at least 1".into(),
        ));
    }
    if !(shutdown_grace_secs.is_finite() && shutdown_grace_secs >= 0.0) {
        return Err(ConfigError::Invalid(format!(
            "ALMANAC_SHUTDOWN_GRACE_SECS must be zero or a positive number of seconds, not {shutdown_grace_secs}"
        )));
    }
    if !(poll_interval_secs.is_finite() && poll_interval_secs > 0.0) {
        return Err(ConfigError::Invalid(format!(
            "ALMANAC_POLL_INTERVAL_SECS must be a positive number of seconds, not {poll_interval_secs}"
        )));
    }
    Ok(())
}

/// Trimmed, non-empty entries.
fn clean(items: &[String]) -> Vec<String> {
    items
        .iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
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
            google_credentials: GoogleCredentials::Key(SecretString::from(
                "-----BEGIN PRIVATE KEY".to_string(),
            )),
            sheets_base_url: None,
            worker: WorkerSettings::default(),
            sidebar_dir: DEFAULT_SIDEBAR_DIR.into(),
            auth: AuthMode::InsecureNoAuth,
            api: ApiSettings::default(),
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("sk-very-secret"));
        assert!(!shown.contains("BEGIN PRIVATE KEY"));
    }

    fn serve_args(extra: &[&str]) -> ServeArgs {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: ServeArgs,
        }
        let dir = std::env::temp_dir().join(format!("almanac-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("sa.json");
        std::fs::write(&key, "{}").unwrap();
        let mut argv = vec![
            "almanac".to_owned(),
            "--openai-api-key=sk-x".to_owned(),
            format!("--google-credentials={}", key.display()),
        ];
        argv.extend(extra.iter().map(|s| s.to_string()));
        <Cli as clap::Parser>::parse_from(argv).args
    }

    #[test]
    fn a_server_without_client_ids_refuses_to_start_unless_insecure_mode_is_asked_for() {
        let err = serve_args(&[]).into_config().unwrap_err().to_string();
        assert!(err.contains("ALMANAC_OAUTH_CLIENT_IDS"), "{err}");
        assert!(err.contains("--insecure-dev-no-auth"), "{err}");
        let config = serve_args(&["--insecure-dev-no-auth"])
            .into_config()
            .unwrap();
        assert_eq!(config.auth, AuthMode::InsecureNoAuth);
        let config = serve_args(&["--oauth-client-ids=a.apps.googleusercontent.com, b"])
            .into_config()
            .unwrap();
        let AuthMode::GoogleIdToken(identity) = config.auth else {
            panic!("identity configured");
        };
        assert_eq!(identity.client_ids, ["a.apps.googleusercontent.com", "b"]);
        assert_eq!(identity.jwks_url, GOOGLE_JWKS_URL);
        assert_eq!(config.api.cors_origins, [DEFAULT_CORS_ORIGINS]);
        assert!(
            serve_args(&["--oauth-client-ids=a", "--insecure-dev-no-auth"])
                .into_config()
                .is_err()
        );
    }
}
