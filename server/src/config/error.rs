//! Why the settings are unusable: what clap's value parsers cannot see alone (a missing key, an
//! unreadable key file, flags that contradict each other). Each message names the setting.

use std::path::PathBuf;

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
    /// Settings that cannot hold together.
    #[error("{0}")]
    Invalid(String),
}
