//! Leases: how replicas share the work. A job's next step is taken by one replica at a time:
//! [`Store::claim_next`] picks a due job no one holds (PostgreSQL: `SELECT … FOR UPDATE SKIP
//! LOCKED`, so concurrent claimers never wait on each other nor take the same job) and gives the
//! claimant a [`Lease`] until `lease_expires_at`, bumping `lease_version`, the fencing token. The
//! holder renews it while the step runs ([`Store::renew_lease`], a heartbeat) and releases it when
//! the step ends ([`Store::release_lease`]); a replica that dies stops renewing, its lease runs
//! out and another replica claims the job. Writes made under a lease are fenced by its version
//! ([`crate::fence`]), so a replica that lost its lease cannot commit a step's result.
//!
//! Lease times are the database's clock, read inside each statement (`now()` on PostgreSQL,
//! `'now'` on SQLite; RFC 3339 text like every time of the store): no replica binds its own
//! time into a lease, so a replica whose clock is off can neither take a live lease nor keep
//! one past its end.

use almanac_core::ids::JobId;
use std::time::Duration;

use sqlx::{AssertSqlSafe, Row};

use crate::fence::Lease;
use crate::jobs::terminal_list;
use crate::pool::{millis, on_pool};
use crate::{Store, StoreResult};

impl Store {
    /// Claims the due job that has waited longest and that no live lease holds, for `owner`,
    /// until `duration` from now; `None` when there is none.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn claim_next(&self, owner: &str, duration: Duration) -> StoreResult<Option<Lease>> {
        let terminal = terminal_list();
        // SQLite runs the statement alone (one writer at a time); PostgreSQL skips rows other
        // claimers have locked rather than waiting for them.
        let lock = if self.pool().is_postgres() {
            "FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let (now, until) = (self.pool().now_sql(), self.pool().later_sql(2));
        let sql = format!(
            "UPDATE jobs SET lease_owner = $1, lease_expires_at = {until}, lease_version = lease_version + 1
             WHERE id = (SELECT id FROM jobs
                         WHERE status NOT IN ({terminal}) AND not_before <= {now}
                           AND (lease_owner IS NULL OR lease_expires_at <= {now})
                         ORDER BY not_before, created_at LIMIT 1 {lock})
             RETURNING id, lease_version"
        );
        let row = on_pool!(self.pool(), p => sqlx::query(AssertSqlSafe(sql))
            .bind(owner)
            .bind(millis(duration))
            .fetch_optional(p)
            .await?
            .map(|row| (row.get::<String, _>(0), row.get::<i64, _>(1))));
        Ok(row.map(|(job_id, version)| Lease {
            job_id: job_id.into(),
            owner: owner.to_owned(),
            version,
        }))
    }

    /// Extends a lease to `duration` from now (the database's clock), if it is still held; false
    /// when it was lost (the holder must stop the step).
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn renew_lease(&self, lease: &Lease, duration: Duration) -> StoreResult<bool> {
        let sql = format!(
            "UPDATE jobs SET lease_expires_at = {} WHERE id = $2 AND lease_owner = $3 AND lease_version = $4",
            self.pool().later_sql(1)
        );
        let done = on_pool!(self.pool(), p => sqlx::query(AssertSqlSafe(sql))
        .bind(millis(duration))
        .bind(&lease.job_id)
        .bind(&lease.owner)
        .bind(lease.version)
        .execute(p)
        .await?
        .rows_affected());
        Ok(done == 1)
    }

    /// Gives a lease back (the step ended): the job may be claimed at once by anyone. Does nothing
    /// when the lease was lost meanwhile.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn release_lease(&self, lease: &Lease) -> StoreResult<()> {
        on_pool!(self.pool(), p => sqlx::query(
            "UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL WHERE id = $1 AND lease_owner = $2 AND lease_version = $3",
        )
        .bind(&lease.job_id)
        .bind(&lease.owner)
        .bind(lease.version)
        .execute(p)
        .await?.rows_affected());
        Ok(())
    }

    /// Gives back every lease `owner` holds (a replica shutting down); returns their job ids.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn release_leases(&self, owner: &str) -> StoreResult<Vec<JobId>> {
        Ok(on_pool!(self.pool(), p => sqlx::query_scalar(
            "UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = $1 RETURNING id",
        )
        .bind(owner)
        .fetch_all(p)
        .await?))
    }

    /// Who holds a live lease on a job now (by the database's clock), if anyone, with the
    /// lease's version (for tests and diagnostics).
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn lease_holder(&self, job_id: &JobId) -> StoreResult<Option<(String, i64)>> {
        let sql = format!(
            "SELECT CASE WHEN lease_expires_at > {} THEN lease_owner END, lease_version FROM jobs WHERE id = $1",
            self.pool().now_sql()
        );
        let row: Option<(Option<String>, i64)> = on_pool!(self.pool(), p => sqlx::query_as(AssertSqlSafe(sql))
        .bind(job_id)
        .fetch_optional(p)
        .await?);
        Ok(row.and_then(|(owner, version)| Some((owner?, version))))
    }
}
