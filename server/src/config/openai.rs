//! Where OpenAI is and with which key (`OPENAI_API_KEY`, `OPENAI_BASE_URL`).

use clap::Args;
use secrecy::{ExposeSecret as _, SecretString};

use super::error::ConfigError;
use super::parse;

/// Flags and environment variables of OpenAI.
#[derive(Clone, Debug, Args)]
pub struct OpenAiArgs {
    /// OpenAI API key (never printed).
    #[arg(
        long = "openai-api-key",
        env = "OPENAI_API_KEY",
        hide_env_values = true,
        value_parser = parse::secret
    )]
    pub(super) openai_api_key: Option<SecretString>,
    /// OpenAI API base URL, with the `/v1` suffix.
    #[arg(
        long = "openai-base-url",
        env = "OPENAI_BASE_URL",
        default_value = "https://api.openai.com/v1"
    )]
    pub openai_base_url: String,
}

impl OpenAiArgs {
    /// The key, required.
    ///
    /// # Errors
    /// [`ConfigError::Missing`] when it is unset or blank.
    pub fn key(&self) -> Result<SecretString, ConfigError> {
        self.openai_api_key
            .clone()
            .filter(|k| !k.expose_secret().trim().is_empty())
            .ok_or(ConfigError::Missing(
                "OPENAI_API_KEY",
                "set it to your OpenAI API key (https://platform.openai.com/api-keys)",
            ))
    }
}
