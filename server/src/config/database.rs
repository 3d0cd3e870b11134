//! Where the store is (`DATABASE_URL`).

use clap::Args;

/// Flags and environment variables of the store.
#[derive(Clone, Debug, Args)]
pub struct DatabaseArgs {
    /// The store: `sqlite://almanac.db` (created if missing), `sqlite::memory:`, or
    /// `postgres://user:password@host/database` for several replicas sharing one PostgreSQL
    /// (`?max_connections=N` per replica, default 10).
    #[arg(
        long = "database-url",
        env = "DATABASE_URL",
        default_value = "sqlite://almanac.db"
    )]
    pub database_url: String,
}
