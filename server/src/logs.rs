//! The process's one tracing subscriber ([`install`]): the operator's filter (`RUST_LOG` or a
//! default) and, whatever that filter says, a second filter ([`credential_guard`]) that caps the
//! crates which log credentials at their verbose levels. yup-oauth2 logs the service account's
//! signed JWT assertion and the `ya29…` access token it gets back at DEBUG; the HTTP and TLS
//! crates (hyper, hyper-util, h2, reqwest, rustls, hyper-rustls) and the generated Google and
//! OpenAI clients log requests, connections and frames at DEBUG and TRACE. Those targets are
//! dropped below the level given in [`CREDENTIAL_TARGETS`]; Almanac's own targets never log a
//! secret (keys are `SecretString`s, tokens are never fields).
//!
//! A filter by target, rather than a writer that redacts what looks like a secret: a redactor has
//! to recognise every credential in free text (an assertion percent-encoded inside a form body, a
//! token inside a struct's `Debug`, a key split across fields) and misses the one it was not
//! taught, while a dropped target logs nothing at all, in any format. The guard is a layer of
//! its own beside the operator's filter, so `RUST_LOG=trace` cannot lift it.

use std::io::IsTerminal as _;

use tracing::Level;
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The targets that log credentials at their verbose levels, and the most verbose level each may
/// log at (a target covers its modules: `hyper` covers `hyper::proto::h1`).
///
/// - `yup_oauth2`: the service account's assertion and access tokens (`DEBUG`, every request);
/// - `hyper`, `hyper_util`, `h2`, `reqwest`: requests, pooled connections, HTTP/2 frames;
/// - `rustls`, `hyper_rustls`: TLS sessions (secrets with `SSLKEYLOGFILE`-style debugging);
/// - `google_sheets4`, `async_openai`: the generated clients' requests.
pub const CREDENTIAL_TARGETS: &[(&str, Level)] = &[
    ("yup_oauth2", Level::WARN),
    ("hyper", Level::INFO),
    ("hyper_util", Level::INFO),
    ("h2", Level::INFO),
    ("reqwest", Level::INFO),
    ("rustls", Level::INFO),
    ("hyper_rustls", Level::INFO),
    ("google_sheets4", Level::INFO),
    ("async_openai", Level::INFO),
];

/// The filter that caps [`CREDENTIAL_TARGETS`] and lets every other target through (the
/// operator's filter decides those).
pub fn credential_guard() -> Targets {
    Targets::new()
        .with_default(Level::TRACE)
        .with_targets(CREDENTIAL_TARGETS.iter().copied())
}

/// Installs the process's subscriber: lines formatted by `tracing_subscriber::fmt` into `writer`,
/// filtered by `filter` and always by [`credential_guard`]; `log` records (yup-oauth2 logs through
/// the `log` crate) are routed into it with their targets. Returns false, changing nothing, when
/// the process already has a subscriber.
pub fn install<W>(filter: EnvFilter, writer: W, ansi: bool) -> bool
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::registry()
        .with(credential_guard())
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(ansi),
        )
        .try_init()
        .is_ok()
}

/// [`install`] on stderr, with `RUST_LOG` if set and valid, else `default`, and colours only on a
/// terminal.
pub fn install_stderr(default: &str) -> bool {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    install(filter, std::io::stderr, std::io::stderr().is_terminal())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_targets_are_dropped_below_their_cap_and_other_targets_pass() {
        let guard = credential_guard();
        let enabled = |target: &str, level: Level| guard.would_enable(target, &level);
        assert!(!enabled("yup_oauth2::service_account", Level::DEBUG));
        assert!(!enabled("yup_oauth2::authenticator", Level::INFO));
        assert!(enabled("yup_oauth2::authenticator", Level::WARN));
        assert!(!enabled("hyper_util::client::legacy::pool", Level::TRACE));
        assert!(!enabled("h2::codec::framed_write", Level::DEBUG));
        assert!(!enabled("rustls::webpki::anchors", Level::DEBUG));
        assert!(enabled("reqwest::connect", Level::INFO));
        assert!(enabled("almanac::jobs::queue::worker", Level::TRACE));
        assert!(enabled("sqlx::query", Level::DEBUG));
    }
}
