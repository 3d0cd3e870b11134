//! The two backends behind one [`Pool`], and the macros the query modules write their queries
//! with, once for both:
//!
//! - `on_pool!(pool, p => body)` expands `body` once per backend with `p` bound to that backend's
//!   pool (`&SqlitePool` or `&PgPool`), so the same Rust code is type-checked against each driver
//!   and runs natively on it (typed enums, booleans, JSON);
//! - `in_tx!(pool, tx => body)` is a write: it begins a transaction, runs the fence check of the
//!   lease in scope ([`crate::fence`]) as its first statement, runs `body` with `tx` (use
//!   `&mut *tx` as the executor) and commits.
//!
//! Query texts are written once in the SQL both databases accept: `$1, $2, …` placeholders
//! (sqlx-sqlite reads `$N` as the N-th argument), `TRUE`/`FALSE`, `CAST(… AS BIGINT)` around
//! sums (PostgreSQL's `SUM` of a BIGINT is a NUMERIC), `CASE WHEN … THEN 1 ELSE 0 END` instead of
//! summing booleans, `RETURNING`, `ON CONFLICT … DO UPDATE`. Where they differ (row locks), the
//! query module asks [`Pool::is_postgres`].
//!
//! Times that replicas compare with each other (leases, when a job is due) are read from the
//! database's clock inside the statement ([`Pool::now_sql`], [`Pool::later_sql`]), never bound
//! from a replica's clock, so replicas whose clocks disagree still agree on who holds a job.

use sqlx::{PgPool, SqlitePool};

/// The connection pool of one backend.
#[derive(Clone, Debug)]
pub enum Pool {
    /// An embedded SQLite file (the default): one process owns it.
    Sqlite(SqlitePool),
    /// A PostgreSQL server shared by any number of replicas.
    Postgres(PgPool),
}

impl Pool {
    /// True on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Pool::Postgres(_))
    }

    /// SQL for the database's current time as the store writes times ([`crate::timestamp`]:
    /// RFC 3339 UTC text with milliseconds, `2026-11-21T21:09:02.123Z`), so that it compares
    /// as text with the stored ones. PostgreSQL: `now()` (the transaction's start); SQLite:
    /// `'now'` (the same for the whole statement).
    pub(crate) fn now_sql(&self) -> &'static str {
        match self {
            Pool::Sqlite(_) => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            Pool::Postgres(_) => {
                "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
            }
        }
    }

    /// SQL for the database's time `$param` milliseconds (a BIGINT parameter, may be negative)
    /// after now, as [`Pool::now_sql`] writes it.
    pub(crate) fn later_sql(&self, param: u8) -> String {
        match self {
            Pool::Sqlite(_) => {
                format!("strftime('%Y-%m-%dT%H:%M:%fZ', 'now', (${param} / 1000.0) || ' seconds')")
            }
            Pool::Postgres(_) => format!(
                "to_char((now() + ${param}::float8 * interval '1 millisecond') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
            ),
        }
    }
}

/// A duration in whole milliseconds for [`Pool::later_sql`], at most ten years (so that the
/// time stays a four-digit year on both databases).
pub(crate) fn millis(d: std::time::Duration) -> i64 {
    const TEN_YEARS_MS: u128 = 10 * 366 * 24 * 3600 * 1000;
    i64::try_from(d.as_millis().min(TEN_YEARS_MS)).unwrap_or(i64::MAX)
}

/// `on_pool!(pool, p => body)`: `body` once per backend, `p` bound to its pool (see the module
/// documentation).
macro_rules! on_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            $crate::pool::Pool::Sqlite($p) => $body,
            $crate::pool::Pool::Postgres($p) => $body,
        }
    };
}

/// `in_tx!(pool, tx => body)`: a fenced write in one transaction (see the module documentation).
/// The enclosing function returns [`StoreError::LeaseLost`](crate::StoreError::LeaseLost) when
/// the lease in scope is no longer held, or any database error; the transaction is then rolled
/// back.
macro_rules! in_tx {
    ($pool:expr, $tx:ident => $body:expr) => {
        $crate::pool::on_pool!($pool, p => {
            let mut $tx = p.begin().await?;
            if let Some(lease) = $crate::fence::current() {
                let held = sqlx::query($crate::fence::CHECK_SQL)
                    .bind(&lease.job_id)
                    .bind(&lease.owner)
                    .bind(lease.version)
                    .execute(&mut *$tx)
                    .await?;
                if held.rows_affected() != 1 {
                    return Err($crate::error::StoreError::LeaseLost(lease.job_id));
                }
            }
            let out = $body;
            $tx.commit().await?;
            out
        })
    };
}

pub(crate) use {in_tx, on_pool};
