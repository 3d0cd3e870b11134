//! Whether a database is migrated to this binary's latest migration, read without changing
//! anything: the migrations sqlx recorded as applied (its `_sqlx_migrations` table) beside the
//! ones embedded from `migrations/{sqlite,postgres}/`. For set-up checks (`almanac doctor`, the
//! deep health check); [`Store::connect`](crate::Store::connect) itself migrates.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _};

use crate::error::StoreResult;
use crate::pool::on_pool;

/// A database's migrations beside this binary's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationStatus {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// The versions (`0001` is 1) the database records as applied successfully, ascending.
    pub applied: Vec<i64>,
    /// The versions this binary carries, ascending; the last is its latest.
    pub known: Vec<i64>,
}

impl MigrationStatus {
    /// This binary's latest migration.
    pub fn latest(&self) -> Option<i64> {
        self.known.last().copied()
    }

    /// Versions this binary carries that the database has not applied.
    pub fn pending(&self) -> Vec<i64> {
        self.known
            .iter()
            .filter(|v| !self.applied.contains(v))
            .copied()
            .collect()
    }

    /// Versions the database applied that this binary does not know (a newer binary migrated it).
    pub fn unknown(&self) -> Vec<i64> {
        self.applied
            .iter()
            .filter(|v| !self.known.contains(v))
            .copied()
            .collect()
    }

    /// True when the database is exactly at this binary's migrations.
    pub fn is_current(&self) -> bool {
        self.pending().is_empty() && self.unknown().is_empty()
    }
}

fn versions(migrator: &Migrator) -> Vec<i64> {
    let mut v: Vec<i64> = migrator.iter().map(|m| m.version).collect();
    v.sort_unstable();
    v
}

const APPLIED_SQL: &str =
    "SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version";

/// The migration status of the database at `url` (a store URL as [`Store::connect`] takes it),
/// read over one connection opened within `timeout`. Nothing is created or changed: a SQLite
/// file that does not exist is an error, and a database never migrated has no applied version.
///
/// # Errors
/// [`crate::StoreError`] when the database cannot be opened or read.
///
/// [`Store::connect`]: crate::Store::connect
pub async fn migration_status(url: &str, timeout: Duration) -> StoreResult<MigrationStatus> {
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let (url, _) = crate::split_max_connections(url);
        let options = PgConnectOptions::from_str(&url)?;
        let mut conn = tokio::time::timeout(timeout, options.connect())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)??;
        let table: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&mut conn)
            .await?;
        let applied = match table {
            true => sqlx::query_scalar(APPLIED_SQL).fetch_all(&mut conn).await?,
            false => Vec::new(),
        };
        conn.close().await?;
        return Ok(MigrationStatus {
            backend: "postgres",
            applied,
            known: versions(&sqlx::migrate!("./migrations/postgres")),
        });
    }
    let options = SqliteConnectOptions::from_str(url)?.create_if_missing(false);
    let mut conn = tokio::time::timeout(timeout, options.connect())
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)??;
    let table: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut conn)
    .await?;
    let applied = match table {
        0 => Vec::new(),
        _ => sqlx::query_scalar(APPLIED_SQL).fetch_all(&mut conn).await?,
    };
    conn.close().await?;
    Ok(MigrationStatus {
        backend: "sqlite",
        applied,
        known: versions(&sqlx::migrate!("./migrations/sqlite")),
    })
}

impl crate::Store {
    /// The migration status of this open store (see [`migration_status`]).
    ///
    /// # Errors
    /// [`crate::StoreError`] when the database cannot be read.
    pub async fn migration_status(&self) -> StoreResult<MigrationStatus> {
        let applied: Vec<i64> =
            on_pool!(self.pool(), p => sqlx::query_scalar(APPLIED_SQL).fetch_all(p).await?);
        let (backend, known) = match self.pool() {
            crate::pool::Pool::Sqlite(_) => {
                ("sqlite", versions(&sqlx::migrate!("./migrations/sqlite")))
            }
            crate::pool::Pool::Postgres(_) => (
                "postgres",
                versions(&sqlx::migrate!("./migrations/postgres")),
            ),
        };
        Ok(MigrationStatus {
            backend,
            applied,
            known,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_fresh_file_has_nothing_applied_and_a_connected_store_is_current() {
        let dir = std::env::temp_dir().join(format!(
            "almanac-schema-{}-{}",
            std::process::id(),
            crate::now().replace([':', '.'], "-")
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = format!("sqlite://{}", dir.join("missing.db").display());
        assert!(
            migration_status(&missing, Duration::from_secs(5))
                .await
                .is_err()
        );
        assert!(!dir.join("missing.db").exists(), "nothing is created");

        let empty = dir.join("empty.db");
        let url = format!("sqlite://{}", empty.display());
        {
            let options = SqliteConnectOptions::from_str(&url)
                .unwrap()
                .create_if_missing(true);
            let conn = options.connect().await.unwrap();
            conn.close().await.unwrap();
        }
        let status = migration_status(&url, Duration::from_secs(5))
            .await
            .unwrap();
        assert!(status.applied.is_empty());
        assert_eq!(status.pending(), status.known);
        assert!(!status.is_current());

        let store = crate::Store::connect(&url).await.unwrap();
        let open = store.migration_status().await.unwrap();
        assert!(open.is_current(), "{open:?}");
        assert_eq!(open.latest(), open.known.last().copied());
        store.close().await;
        let status = migration_status(&url, Duration::from_secs(5))
            .await
            .unwrap();
        assert!(status.is_current(), "{status:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
