//! What the chat derives from its settings (`ALMANAC_CHAT_*`, read by the server's `config`): the
//! instant before which an unfinished run cannot be alive any more.

pub use crate::config::{ChatSettings, DefaultSheet};

impl ChatSettings {
    /// The instant before which an unfinished run cannot be alive any more: now − the run
    /// timeout (after which its driver cancels it) − a minute for the driver to store its end.
    pub fn stale_before(&self) -> chrono::DateTime<chrono::Utc> {
        let grace = self.run_timeout + std::time::Duration::from_secs(60);
        chrono::Utc::now()
            - chrono::TimeDelta::from_std(grace).unwrap_or(chrono::TimeDelta::days(1))
    }
}
