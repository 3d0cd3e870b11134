//! The HTTP surface: where it listens (`ALMANAC_BIND`), the sidebar bundle it serves
//! (`ALMANAC_SIDEBAR_DIR`), the browser origins it allows (`ALMANAC_CORS_ORIGINS`) and how many jobs
//! one user may create per minute (`ALMANAC_JOBS_PER_MINUTE`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use super::parse;

/// The default CORS allow-list: the origins of Apps Script's HTML service, where an add-on's
/// sidebar runs in a sandboxed iframe served from
/// `https://n-<hash>-<n>lu-script.googleusercontent.com` (e.g.
/// `https://n-aknwylqugtad7abe6fzh5c47svchxgv7l53qtjy-0lu-script.googleusercontent.com`; Google's
/// "HTML Service: Restrictions", <https://developers.google.com/apps-script/guides/html/restrictions>,
/// describes the sandbox, and the Picker's `setOrigin(google.script.host.origin)` exists because
/// that origin is Google's, not the script's). It leaves out every other host of
/// `googleusercontent.com`: Drive and Docs downloads, Sites, user images.
pub const DEFAULT_CORS_ORIGINS: &str = "https://n-*-script.googleusercontent.com";

/// Where `sidebar/build.sh` writes the bundle, relative to the working directory.
pub const DEFAULT_SIDEBAR_DIR: &str = "sidebar/dist";

/// Flags and environment variables of the HTTP surface.
#[derive(Clone, Debug, Args)]
pub struct ServerArgs {
    /// Address to listen on.
    #[arg(long = "bind", env = "ALMANAC_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Folder of the built sidebar bundle, served at `/sidebar/` (see `sidebar/build.sh`).
    #[arg(
        long = "sidebar-dir",
        env = "ALMANAC_SIDEBAR_DIR",
        default_value = DEFAULT_SIDEBAR_DIR
    )]
    pub sidebar_dir: PathBuf,
    /// Browser origins (comma-separated) allowed by CORS; `*.` matches any subdomain, a `*` inside
    /// the first label (`https://n-*-script.googleusercontent.com`) letters, digits and `-` there.
    #[arg(
        long = "cors-origins",
        env = "ALMANAC_CORS_ORIGINS",
        value_delimiter = ',',
        default_value = DEFAULT_CORS_ORIGINS
    )]
    pub(super) cors_origins: Vec<String>,
    /// Jobs one user may create per minute (a burst of as many, then one every 60/N seconds).
    #[arg(
        long = "jobs-per-minute",
        env = "ALMANAC_JOBS_PER_MINUTE",
        default_value = "10",
        value_parser = parse::at_least(1_u32)
    )]
    pub jobs_per_minute: u32,
}

impl ServerArgs {
    /// The allowed origins, trimmed, without empty entries.
    pub fn cors_origins(&self) -> Vec<String> {
        parse::entries(&self.cors_origins)
    }
}
