//! Fresh PostgreSQL databases for tests and benchmarks: [`fresh_database`] creates one with a
//! unique name on the server an admin URL points at and returns its URL, so that each test gets
//! a database (and `LISTEN` channels, and advisory locks) of its own.

use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::StoreResult;

/// Creates an empty database named `almanac_<prefix>_<random>` on the server of `admin_url` (a
/// URL whose user may `CREATE DATABASE`) and returns the URL of the new database.
///
/// # Errors
/// [`crate::StoreError::Sqlx`] when the server cannot be reached or refuses.
pub async fn fresh_database(admin_url: &str, prefix: &str) -> StoreResult<String> {
    let clean: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(24)
        .collect();
    let name = format!("almanac_{clean}_{:016x}", rand_u64());
    let mut admin = PgConnection::connect(admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let server = match base.rfind('/') {
        Some(i) if base[..i].ends_with('/') => base, // `postgres://host` without a database
        Some(i) => &base[..i],
        None => base,
    };
    Ok(format!("{server}/{name}{query}"))
}

/// A random number from the standard library's hasher seed and the clock.
fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish()
}

/// The variable naming the PostgreSQL server tests use (an admin URL, e.g.
/// `postgres://almanac@127.0.0.1:55432/postgres`); `scripts/postgres.sh` prints it.
pub const TEST_SERVER_VAR: &str = "ALMANAC_TEST_POSTGRES_URL";

/// The test PostgreSQL server for the test `test`, from [`TEST_SERVER_VAR`]. When it is unset:
/// panics under CI (`CI` set — PostgreSQL tests must never be skipped there), otherwise says on
/// stderr that PostgreSQL is not available and returns `None`. When `ALMANAC_PG_TESTS_LOG` names
/// a file, appends `test` to it, so that CI can check that the PostgreSQL tests ran.
///
/// # Panics
/// Under CI without a server.
pub fn test_server(test: &str) -> Option<String> {
    let Ok(url) = std::env::var(TEST_SERVER_VAR) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{TEST_SERVER_VAR} is not set under CI: start PostgreSQL with `eval \"$(bash scripts/postgres.sh)\"` ({test})"
        );
        eprintln!(
            "PostgreSQL is not available ({TEST_SERVER_VAR} unset): {test} runs on SQLite only"
        );
        return None;
    };
    if let Ok(log) = std::env::var("ALMANAC_PG_TESTS_LOG") {
        use std::io::Write as _;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(f, "{test}");
        }
    }
    Some(url)
}
