//! Who may call: Google ID tokens addressed to the Apps Script project's OAuth client ids
//! (`ALMANAC_OAUTH_CLIENT_IDS`, `ALMANAC_JWKS_URL`, `ALMANAC_ALLOWED_EMAIL_DOMAINS`), or nobody
//! checked at all (`--insecure-dev-no-auth`, development only), and the secret of access proofs
//! (`ALMANAC_ACCESS_PROOF_SECRET`).

use std::time::Duration;

use clap::Args;
use secrecy::{ExposeSecret as _, SecretString};

use super::error::ConfigError;
use super::parse;

/// Google's JWKS (the default of `ALMANAC_JWKS_URL`).
pub const GOOGLE_JWKS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";
/// The shortest time between two JWKS fetches in production.
pub const JWKS_MIN_REFRESH: Duration = Duration::from_secs(60);

/// Flags and environment variables of authentication.
#[derive(Clone, Debug, Args)]
pub struct AuthArgs {
    /// OAuth client ids (comma-separated) that callers' Google ID tokens must be addressed to
    /// (`aud`): the Apps Script project's client id. Required unless `--insecure-dev-no-auth`.
    #[arg(
        long = "oauth-client-ids",
        env = "ALMANAC_OAUTH_CLIENT_IDS",
        value_delimiter = ','
    )]
    pub(super) oauth_client_ids: Vec<String>,
    /// Where Google publishes its ID-token signing keys (a JWKS).
    #[arg(long = "jwks-url", env = "ALMANAC_JWKS_URL", default_value = GOOGLE_JWKS_URL)]
    pub(super) jwks_url: String,
    /// Google Workspace domains (comma-separated) whose accounts may call, checked on the ID
    /// token's `hd` claim (not the email's suffix): a personal Google account is refused whatever
    /// its address. Empty allows every verified Google account.
    #[arg(
        long = "allowed-email-domains",
        env = "ALMANAC_ALLOWED_EMAIL_DOMAINS",
        value_delimiter = ','
    )]
    allowed_email_domains: Vec<String>,
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
    pub(super) insecure_dev_no_auth: bool,
    /// Secret of access challenges and proofs, at least 32 bytes (`openssl rand -base64 48`);
    /// the same on every instance behind one URL. Unset: random per process (a restart makes
    /// sidebars prove access again).
    #[arg(
        long = "access-proof-secret",
        env = "ALMANAC_ACCESS_PROOF_SECRET",
        hide_env_values = true,
        value_parser = parse::signing_secret()
    )]
    access_proof_secret: Option<SecretString>,
}

/// How ID tokens are checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentitySettings {
    /// The OAuth client ids tokens must be addressed to (`aud`); at least one.
    pub client_ids: Vec<String>,
    /// Where the signing keys are published (Google: [`GOOGLE_JWKS_URL`]).
    pub jwks_url: String,
    /// Google Workspace domains whose accounts may call (`example.com`), matched against the ID
    /// token's `hd` claim; empty allows every verified Google account.
    pub allowed_email_domains: Vec<String>,
    /// Shortest time between two JWKS fetches ([`JWKS_MIN_REFRESH`] in production).
    pub jwks_min_refresh: Duration,
}

/// How callers are authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// Google ID tokens, checked against these settings.
    GoogleIdToken(IdentitySettings),
    /// No authentication: every caller is the user `local`. Only with `--insecure-dev-no-auth`.
    InsecureNoAuth,
}

impl AuthArgs {
    /// Google ID tokens addressed to the client ids, or no authentication with
    /// `--insecure-dev-no-auth` — exactly one of the two.
    ///
    /// # Errors
    /// [`ConfigError`] when neither or both are set.
    pub fn mode(&self) -> Result<AuthMode, ConfigError> {
        let client_ids = parse::entries(&self.oauth_client_ids);
        match (client_ids.is_empty(), self.insecure_dev_no_auth) {
            (false, false) => Ok(AuthMode::GoogleIdToken(IdentitySettings {
                client_ids,
                jwks_url: self.jwks_url.clone(),
                allowed_email_domains: parse::entries(&self.allowed_email_domains),
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

    /// The secret of access proofs, when one is set (not blank).
    pub fn access_proof_secret(&self) -> Option<SecretString> {
        self.access_proof_secret
            .clone()
            .filter(|s| !s.expose_secret().trim().is_empty())
    }
}
