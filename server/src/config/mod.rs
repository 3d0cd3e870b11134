//! Settings of the `almanac serve` backend, read from command-line flags, environment variables
//! and an optional `.env` file (flags win over the environment), grouped by concern: `server`
//! (address, sidebar bundle, CORS, jobs per minute), `database`, `openai`, `google`,
//! `auth`, `worker`, `cost` (modes and realtime calls) and `chat`. Each value is read and
//! checked once by clap's value parsers (`parse`: durations through humantime, floors of whole
//! numbers, the chat's model, secrets), and [`ServeArgs::into_config`] adds what needs several
//! settings or a file; the result is the typed [`Config`]. Secrets are held in
//! [`secrecy::SecretString`], in the flags too, so that `Debug` output and logs never show them.
//!
//! A leaf: this module imports no other module of the crate; the jobs layer, the chat, the crate's
//! `auth` and `app` take their settings from the types here.

mod auth;
mod chat;
mod cost;
mod database;
mod error;
mod google;
mod limits;
mod openai;
mod parse;
mod server;
mod worker;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use secrecy::SecretString;

pub use auth::{AuthMode, IdentitySettings, JWKS_MIN_REFRESH};
pub use chat::{ChatSettings, DEFAULT_INSTRUCTIONS, DefaultSheet};
pub use cost::{BatchStrategy, CostSettings, PacerSettings, SpendingSettings};
pub use error::ConfigError;
pub use google::GoogleCredentials;
pub use limits::{LimitSettings, MetricsBind};
pub use parse::{duration, secret};
pub use server::DEFAULT_CORS_ORIGINS;
pub use server::DEFAULT_SIDEBAR_DIR;
pub use worker::WorkerSettings;

/// Flags and environment variables of `almanac serve`.
#[derive(Clone, Debug, Args)]
pub struct ServeArgs {
    /// Address, sidebar bundle, CORS and the jobs one user may create.
    #[command(flatten)]
    server: server::ServerArgs,
    /// The store.
    #[command(flatten)]
    database: database::DatabaseArgs,
    /// OpenAI's key and base URL.
    #[command(flatten)]
    openai: openai::OpenAiArgs,
    /// The service account and the Sheets API.
    #[command(flatten)]
    google: google::GoogleArgs,
    /// Who may call, and the secret of access proofs.
    #[command(flatten)]
    auth: auth::AuthArgs,
    /// The worker's pacing.
    #[command(flatten)]
    worker: worker::WorkerArgs,
    /// Mode strategy and realtime endpoint (boxed: the flags are many, the enum of commands stays
    /// small).
    #[command(flatten)]
    cost: Box<cost::CostArgs>,
    /// The chat's model, instructions and limits.
    #[command(flatten)]
    chat: Box<chat::ChatArgs>,
    /// Limits on what every caller shares, and where `/metrics` is served.
    #[command(flatten)]
    limits: Box<limits::LimitArgs>,
}

/// Settings of the HTTP surface.
#[derive(Clone, Debug)]
pub struct ApiSettings {
    /// Origins allowed by CORS: exact (`https://example.com`), with a wildcard subdomain
    /// (`https://*.example.com`), a wildcard in the first label
    /// (`https://n-*-script.googleusercontent.com`, the default), or `*` for any.
    pub cors_origins: Vec<String>,
    /// Jobs one user may create per minute (also the burst size); at least 1.
    pub jobs_per_minute: u32,
    /// Mode strategy and realtime calls.
    pub cost: CostSettings,
    /// Secret of access challenges and proofs (`None`: random per process).
    pub access_proof_secret: Option<SecretString>,
    /// The chat's model, instructions and limits.
    pub chat: ChatSettings,
    /// Limits on what every caller shares (access checks, streams, connections, timeouts) and
    /// where `/metrics` is served.
    pub limits: LimitSettings,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            cors_origins: vec![DEFAULT_CORS_ORIGINS.to_owned()],
            jobs_per_minute: 10,
            cost: CostSettings::default(),
            access_proof_secret: None,
            chat: ChatSettings::default(),
            limits: LimitSettings::default(),
        }
    }
}

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

/// The settings `almanac doctor` checks, as given: not validated, so that the doctor can say
/// what is wrong with each instead of stopping at the first.
#[derive(Debug)]
pub struct GivenSettings {
    /// `OPENAI_BASE_URL`.
    pub openai_base_url: String,
    /// `OPENAI_API_KEY`.
    pub openai_api_key: Option<SecretString>,
    /// `GOOGLE_APPLICATION_CREDENTIALS`.
    pub google_credentials: Option<PathBuf>,
    /// `GCE_METADATA_HOST`.
    pub metadata_host: Option<String>,
    /// `SHEETS_BASE_URL`.
    pub sheets_base_url: Option<String>,
    /// `ALMANAC_OAUTH_CLIENT_IDS`.
    pub oauth_client_ids: Vec<String>,
    /// `ALMANAC_INSECURE_DEV_NO_AUTH`.
    pub insecure_dev_no_auth: bool,
    /// `ALMANAC_JWKS_URL`.
    pub jwks_url: String,
    /// `DATABASE_URL`.
    pub database_url: String,
    /// `ALMANAC_SIDEBAR_DIR`.
    pub sidebar_dir: PathBuf,
    /// `ALMANAC_CORS_ORIGINS`.
    pub cors_origins: Vec<String>,
}

impl ServeArgs {
    /// The settings as given, for `almanac doctor`.
    pub fn given(self) -> GivenSettings {
        GivenSettings {
            openai_base_url: self.openai.openai_base_url,
            openai_api_key: self.openai.openai_api_key,
            google_credentials: self.google.google_credentials,
            metadata_host: self.google.metadata_host,
            sheets_base_url: self.google.sheets_base_url,
            oauth_client_ids: self.auth.oauth_client_ids,
            insecure_dev_no_auth: self.auth.insecure_dev_no_auth,
            jwks_url: self.auth.jwks_url,
            database_url: self.database.database_url,
            sidebar_dir: self.server.sidebar_dir,
            cors_origins: self.server.cors_origins,
        }
    }

    /// The settings these flags ask for, with the service-account key file read. (Every single
    /// value was checked when clap read it.)
    ///
    /// # Errors
    /// [`ConfigError`] naming the missing or bad setting: no OpenAI key, an unreadable key file,
    /// neither or both of `ALMANAC_OAUTH_CLIENT_IDS` and `--insecure-dev-no-auth`, or
    /// `--insecure-dev-no-auth` with a bind address other than a loopback one.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let openai_api_key = self.openai.key()?;
        let google_credentials = self.google.credentials()?;
        let auth = self.auth.mode()?;
        if auth == AuthMode::InsecureNoAuth && !self.server.bind.ip().is_loopback() {
            return Err(ConfigError::Invalid(format!(
                "--insecure-dev-no-auth accepts every caller without a token, so it listens only on a loopback address (127.0.0.1 or ::1), not ALMANAC_BIND={}: bind 127.0.0.1, or set ALMANAC_OAUTH_CLIENT_IDS instead",
                self.server.bind
            )));
        }
        Ok(Config {
            bind: self.server.bind,
            database_url: self.database.database_url,
            openai_api_key,
            openai_base_url: self.openai.openai_base_url,
            google_credentials,
            sheets_base_url: self.google.sheets_base_url,
            worker: self.worker.settings(),
            sidebar_dir: self.server.sidebar_dir.clone(),
            auth,
            api: ApiSettings {
                cors_origins: self.server.cors_origins(),
                jobs_per_minute: self.server.jobs_per_minute,
                cost: self.cost.settings(),
                access_proof_secret: self.auth.access_proof_secret(),
                chat: self.chat.settings(),
                limits: self.limits.settings(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::auth::GOOGLE_JWKS_URL;
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

    fn try_serve_args(extra: &[&str]) -> Result<ServeArgs, clap::Error> {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: ServeArgs,
        }
        let argv = ["almanac", "--openai-api-key=sk-x", "--insecure-dev-no-auth"];
        <Cli as clap::Parser>::try_parse_from(argv.iter().chain(extra)).map(|cli| cli.args)
    }

    #[test]
    fn insecure_mode_refuses_any_bind_address_but_a_loopback_one() {
        for bind in ["0.0.0.0:8080", "[::]:8080", "192.168.1.20:8080"] {
            let err = try_serve_args(&[&format!("--bind={bind}")])
                .unwrap()
                .into_config()
                .unwrap_err()
                .to_string();
            assert!(err.contains("--insecure-dev-no-auth"), "{bind}: {err}");
            assert!(err.contains("loopback"), "{bind}: {err}");
        }
        for bind in ["127.0.0.1:0", "[::1]:8080"] {
            let config = try_serve_args(&[&format!("--bind={bind}")])
                .unwrap()
                .into_config();
            assert!(config.is_ok(), "{bind}");
        }
    }

    #[test]
    fn debug_output_of_the_flags_does_not_show_the_secrets() {
        let args = try_serve_args(&[
            "--access-proof-secret=proof-very-secret-0123456789abcdef",
            "--realtime-api-key=sk-realtime-secret",
        ])
        .unwrap();
        let shown = format!("{args:?}");
        for secret in ["sk-x", "proof-very-secret", "sk-realtime-secret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn an_access_proof_secret_under_32_bytes_is_refused_saying_how_to_make_one() {
        let err = try_serve_args(&["--access-proof-secret=0123456789abcdef0123456789abcde"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("ALMANAC_ACCESS_PROOF_SECRET"), "{err}");
        assert!(err.contains("at least 32 bytes"), "{err}");
        assert!(err.contains("openssl rand -base64 48"), "{err}");
        assert!(
            !err.contains("0123456789abcdef"),
            "the value is not shown: {err}"
        );
        let config = try_serve_args(&["--access-proof-secret=0123456789abcdef0123456789abcdef"])
            .unwrap()
            .into_config()
            .unwrap();
        assert!(config.api.access_proof_secret.is_some());
        let config = try_serve_args(&["--access-proof-secret="])
            .unwrap()
            .into_config()
            .unwrap();
        assert!(config.api.access_proof_secret.is_none(), "blank is unset");
    }

    #[test]
    fn durations_take_plain_seconds_or_units_and_the_strategy_is_an_enum() {
        use std::time::Duration;
        let config = try_serve_args(&[
            "--poll-interval=0.5",
            "--shutdown-grace=0",
            "--lease=1.5",
            "--max-wait-time=6_hours",
            "--chat-run-timeout=10m",
            "--batch-strategy= never_batch",
        ])
        .unwrap()
        .into_config()
        .unwrap();
        assert_eq!(config.worker.poll_interval, Duration::from_millis(500));
        assert_eq!(config.worker.shutdown_grace, Duration::ZERO);
        assert_eq!(config.worker.lease, Duration::from_millis(1500));
        assert_eq!(config.api.cost.max_wait, Duration::from_secs(6 * 3600));
        assert_eq!(config.api.chat.run_timeout, Duration::from_secs(600));
        assert_eq!(config.api.cost.strategy, BatchStrategy::NeverBatch);
        let defaults = try_serve_args(&[]).unwrap().into_config().unwrap();
        assert_eq!(defaults.worker.poll_interval, Duration::from_secs(30));
        assert_eq!(defaults.api.cost, CostSettings::default());
        assert_eq!(defaults.api.chat, ChatSettings::default());
        assert_eq!(defaults.api.limits, LimitSettings::default());
        let off = try_serve_args(&["--metrics-bind=off", "--idle-timeout=90s"])
            .unwrap()
            .into_config()
            .unwrap();
        assert_eq!(off.api.limits.metrics_bind, MetricsBind::Off);
        assert_eq!(off.api.limits.idle_timeout, Duration::from_secs(90));
    }

    #[test]
    fn the_operators_spending_caps_are_read_in_usd_and_unset_by_default() {
        let config = try_serve_args(&[
            "--monthly-cap-usd=500",
            "--user-monthly-cap-usd=20.5",
            "--spreadsheet-budget-usd=0",
            "--allow-spreadsheet-budget-above-default",
        ])
        .unwrap()
        .into_config()
        .unwrap();
        assert_eq!(
            config.api.cost.spending,
            SpendingSettings {
                operator_monthly_usd: Some(500.0),
                user_monthly_usd: Some(20.5),
                spreadsheet_monthly_usd: Some(0.0),
                allow_budget_above_default: true,
            }
        );
        let defaults = try_serve_args(&[]).unwrap().into_config().unwrap();
        assert_eq!(defaults.api.cost.spending, SpendingSettings::default());
        assert_eq!(defaults.api.chat.max_files, 10);
    }

    #[test]
    fn a_bad_value_is_refused_naming_its_variable() {
        let cases = [
            ("--poll-interval=0", "ALMANAC_POLL_INTERVAL_SECS"),
            ("--lease=0.01", "ALMANAC_LEASE_SECS"),
            ("--shutdown-grace=-1", "ALMANAC_SHUTDOWN_GRACE_SECS"),
            ("--max-wait-time=soon", "ALMANAC_MAX_WAIT_TIME"),
            ("--jobs-per-minute=0", "ALMANAC_JOBS_PER_MINUTE"),
            ("--chat-max-messages=1", "ALMANAC_CHAT_MAX_MESSAGES"),
            ("--chat-model=gpt-nonexistent", "ALMANAC_CHAT_MODEL"),
            ("--batch-strategy=sometimes", "ALMANAC_BATCH_STRATEGY"),
            ("--monthly-cap-usd=-1", "ALMANAC_MONTHLY_CAP_USD"),
            ("--user-monthly-cap-usd=NaN", "ALMANAC_USER_MONTHLY_CAP_USD"),
            (
                "--spreadsheet-budget-usd=lots",
                "ALMANAC_SPREADSHEET_BUDGET_USD",
            ),
            ("--chat-max-file-bytes=0", "ALMANAC_CHAT_MAX_FILE_BYTES"),
            ("--streams-per-user=0", "ALMANAC_STREAMS_PER_USER"),
            ("--idle-timeout=5", "ALMANAC_IDLE_TIMEOUT"),
            ("--metrics-bind=public", "ALMANAC_METRICS_BIND"),
            (
                "--access-proof-secret=short-secret",
                "ALMANAC_ACCESS_PROOF_SECRET",
            ),
        ];
        for (flag, named) in cases {
            let err = try_serve_args(&[flag]).unwrap_err().to_string();
            assert!(err.contains(named), "{flag}: {err}");
        }
    }
}
