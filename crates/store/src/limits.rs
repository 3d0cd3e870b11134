//! Limits that hold across replicas (PostgreSQL), each one statement the database serialises:
//!
//! - [`Store::take_rate_slot`]: a GCRA limiter by key (the per-user job creation rate, `N` per
//!   minute with a burst of `N`, the same rule as governor's keyed limiter in one process);
//! - [`Store::reserve_pace`] / [`Store::pause_pace`]: the realtime pacer's two token buckets
//!   (requests and tokens per minute) as one row per account: each call reserves its share in
//!   one `UPDATE` and learns how long to wait, so N replicas together stay under the provider's
//!   limits; a 429's `retry-after` pauses every replica;
//! - [`Store::admit`]: new jobs of one spreadsheet (and of one user, or of all, under the
//!   operator's caps) admitted one at a time (a transaction-scoped
//!   advisory lock on a small pool of its own, so a wait can never starve the main pool), so two
//!   replicas cannot each pass a budget check that together they would fail.
//!
//! Times of the limiters are the database's clock (`clock_timestamp()`, Unix milliseconds), the
//! same for every replica. On SQLite the first two are not offered (`None`): one process paces and
//! limits in memory; admission is a process-wide lock.

use std::time::Duration;

pub use crate::admission::Admission;
use crate::pool::Pool;
use crate::{Store, StoreResult};

/// The database's clock in Unix milliseconds, as SQL.
const NOW_MS: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::float8";

/// One bucket of the realtime pacer: `rate` tokens per millisecond, holding at most `capacity`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    /// Refill per millisecond.
    pub rate_per_ms: f64,
    /// Most tokens held (the burst).
    pub capacity: f64,
}

impl Bucket {
    /// `($start_offset, $cost_ms)` of a reservation of `n`: the bucket allows it once
    /// `tat - (capacity - n) / rate` is reached, and pushes `tat` by `n / rate`.
    fn terms(self, n: f64) -> (f64, f64) {
        let rate = self.rate_per_ms.max(1e-12);
        ((self.capacity - n) / rate, n / rate)
    }
}

impl Store {
    /// Waits until no other admission holding one of `keys` (a spreadsheet id, `user:<sub>`,
    /// `operator`, …) is under way, on any replica; hold the returned value while the job is
    /// checked and stored. Give the widest scope first, always in the same order.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] when the database cannot be reached.
    pub async fn admit(&self, keys: &[String]) -> StoreResult<Admission> {
        self.admission.lock(keys).await
    }

    /// Takes one slot of the limiter `key` (`burst` slots, one more every `period`): `Ok(None)`
    /// when taken, `Ok(Some(wait))` when refused, with how long until one is free. `Err` on
    /// SQLite is never returned: it answers `Ok(None)` — use an in-process limiter there (see
    /// [`Store::is_shared`]).
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn take_rate_slot(
        &self,
        key: &str,
        period: Duration,
        burst: u32,
    ) -> StoreResult<Option<Duration>> {
        let Pool::Postgres(pool) = self.pool() else {
            return Ok(None);
        };
        let t = period.as_secs_f64() * 1000.0;
        let tau = t * f64::from(burst.max(1));
        let sql = format!(
            "INSERT INTO rate_limits (key, tat_ms) SELECT $1, {NOW_MS} + $2
             ON CONFLICT (key) DO UPDATE SET tat_ms = GREATEST(rate_limits.tat_ms, EXCLUDED.tat_ms - $2) + $2
               WHERE GREATEST(rate_limits.tat_ms, EXCLUDED.tat_ms - $2) + $2 - (EXCLUDED.tat_ms - $2) <= $3
             RETURNING tat_ms"
        );
        let taken: Option<f64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(key)
            .bind(t)
            .bind(tau)
            .fetch_optional(pool)
            .await?;
        if taken.is_some() {
            return Ok(None);
        }
        let wait: f64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT tat_ms - {NOW_MS} FROM rate_limits WHERE key = $1"
        )))
        .bind(key)
        .fetch_one(pool)
        .await?;
        Ok(Some(Duration::from_secs_f64(
            ((wait + t - tau) / 1000.0).max(0.001),
        )))
    }

    /// Reserves one call weighing `tokens` in the account bucket `name` (requests and tokens
    /// buckets, each only when its limit is known) and returns how long to wait before making
    /// it; `None` on SQLite (pace in memory).
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn reserve_pace(
        &self,
        name: &str,
        requests: Option<Bucket>,
        tokens: Option<(Bucket, f64)>,
    ) -> StoreResult<Option<Duration>> {
        let Pool::Postgres(pool) = self.pool() else {
            return Ok(None);
        };
        // An unknown limit neither delays nor is pushed.
        let (rq_offset, rq_cost) = requests.map_or((1e18, 0.0), |b| b.terms(1.0));
        let (tk_offset, tk_cost) = tokens.map_or((1e18, 0.0), |(b, n)| b.terms(n));
        sqlx::query("INSERT INTO pacer_buckets (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .execute(pool)
            .await?;
        let sql = format!(
            "WITH cur AS (SELECT name, requests_tat_ms AS rq, tokens_tat_ms AS tk, pause_until_ms AS pz, {NOW_MS} AS now
                          FROM pacer_buckets WHERE name = $1 FOR UPDATE),
                  s AS (SELECT name, rq, tk, now, GREATEST(now, pz, rq - $2, tk - $3) AS start FROM cur)
             UPDATE pacer_buckets p SET requests_tat_ms = GREATEST(s.rq, s.start) + $4,
                                        tokens_tat_ms = GREATEST(s.tk, s.start) + $5
             FROM s WHERE p.name = s.name
             RETURNING s.start - s.now"
        );
        let wait: f64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .bind(rq_offset)
            .bind(tk_offset)
            .bind(rq_cost)
            .bind(tk_cost)
            .fetch_one(pool)
            .await?;
        Ok(Some(Duration::from_secs_f64((wait / 1000.0).max(0.0))))
    }

    /// No call of the account bucket `name` starts within `wait` from now, on any replica (a 429's
    /// `retry-after`). Nothing on SQLite.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn pause_pace(&self, name: &str, wait: Duration) -> StoreResult<()> {
        let Pool::Postgres(pool) = self.pool() else {
            return Ok(());
        };
        let sql = format!(
            "INSERT INTO pacer_buckets (name, pause_until_ms) VALUES ($1, {NOW_MS} + $2)
             ON CONFLICT (name) DO UPDATE SET pause_until_ms = GREATEST(pacer_buckets.pause_until_ms, EXCLUDED.pause_until_ms)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .bind(wait.as_secs_f64() * 1000.0)
            .execute(pool)
            .await?;
        Ok(())
    }
}
