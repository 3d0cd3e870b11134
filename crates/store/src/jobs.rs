//! A job's life in the store: insert it with its rows, read it, find the due ones, schedule its
//! next step, move it along its lifecycle (only by the moves [`Transition`] allows), ask it to
//! cancel, reopen it for a retry.
//!
//! When a job is due (`not_before`) is written and compared on the database's clock, as leases
//! are ([`crate::lease`]): a replica never binds its own time there, so a replica whose clock
//! is ahead cannot leave a job waiting for the others, nor one whose clock is behind take it
//! early.

use almanac_core::ids::JobId;
use almanac_core::state::{JobStatus, Transition};
use almanac_protocol::ErrorCode;
use sqlx::AssertSqlSafe;
use std::time::Duration;

use crate::pool::{in_tx, millis, on_pool};
use crate::records::parse_time;
use crate::records::{JOB_COLUMNS, JobRecord, JobRow, NewJob, NewRow};
use crate::{Store, StoreError, StoreResult, now};

/// Inserts a job and its rows inside an open transaction `$tx` (see [`Store::insert_job`]), due
/// at once by the database's clock (`$pool`'s [`crate::pool::Pool::now_sql`]); evaluates to `()`
/// or returns the database error from the enclosing function.
macro_rules! insert_job_in {
    ($pool:expr, $tx:ident, $job:expr, $rows:expr) => {{
        let job: &$crate::records::NewJob = $job;
        let now = $crate::now();
        let (destination, spreadsheet_id, sheet_id, file_path) = job.destination.columns();
        let sql = format!(
            "INSERT INTO jobs (id, owner, destination, spreadsheet_id, sheet_id, file_path, sheet_title, spans, model, mode, overwrite, status, not_before, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, {}, $13, $14)",
            $pool.now_sql()
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&job.id)
        .bind(&job.owner)
        .bind(destination)
        .bind(spreadsheet_id)
        .bind(sheet_id)
        .bind(file_path)
        .bind(&job.sheet_title)
        .bind(serde_json::to_string(&job.spans).expect("spans serialize"))
        .bind(&job.model)
        .bind(job.mode)
        .bind(job.overwrite)
        .bind(job.status)
        .bind(&now)
        .bind(&now)
        .execute(&mut *$tx)
        .await?;
        for (seq, row) in $rows.iter().enumerate() {
            sqlx::query(
                "INSERT INTO job_rows (job_id, seq, row_id, title, row_number, state, reason, failure_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&job.id)
            .bind(seq as i64)
            .bind(&row.row_id)
            .bind(&row.title)
            .bind(i64::from(row.row_number))
            .bind(row.state)
            .bind(&row.reason)
            .bind(row.failure_code)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

pub(crate) use insert_job_in;

impl Store {
    /// Inserts a job and its rows in one transaction.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure (nothing is inserted then).
    pub async fn insert_job(&self, job: &NewJob, rows: &[NewRow]) -> StoreResult<()> {
        in_tx!(self.pool(), tx => insert_job_in!(self.pool(), tx, job, rows));
        Ok(())
    }

    /// One job by id.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn job(&self, id: &JobId) -> StoreResult<Option<JobRecord>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        let row: Option<JobRow> = on_pool!(self.pool(), p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(p)
            .await?);
        row.map(JobRecord::try_from).transpose()
    }

    /// The jobs of `owner` on one spreadsheet, newest first, at most `limit`.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn jobs_for_spreadsheet(
        &self,
        owner: &str,
        spreadsheet_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<JobRecord>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE owner = $1 AND spreadsheet_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3"
        );
        let rows: Vec<JobRow> = on_pool!(self.pool(), p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(owner)
            .bind(spreadsheet_id)
            .bind(i64::from(limit))
            .fetch_all(p)
            .await?);
        rows.into_iter().map(JobRecord::try_from).collect()
    }

    /// Ids of jobs that are not finished and whose `not_before` has passed by the database's
    /// clock, oldest first.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn due_jobs(&self) -> StoreResult<Vec<JobId>> {
        let terminal = terminal_list();
        let sql = format!(
            "SELECT id FROM jobs WHERE status NOT IN ({terminal}) AND not_before <= {} ORDER BY created_at",
            self.pool().now_sql()
        );
        Ok(
            on_pool!(self.pool(), p => sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_all(p)
            .await?),
        )
    }

    /// How long until an unfinished job may be stepped, by the database's clock, if there is
    /// one: until its `not_before`, or until a lease on it runs out if that is later; zero when
    /// one is due already.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure, [`StoreError::Corrupt`] for a time
    /// that is not RFC 3339.
    pub async fn next_due(&self) -> StoreResult<Option<Duration>> {
        let terminal = terminal_list();
        let sql = format!(
            "SELECT MIN(CASE WHEN lease_expires_at IS NOT NULL AND lease_expires_at > not_before THEN lease_expires_at ELSE not_before END), {}
             FROM jobs WHERE status NOT IN ({terminal})",
            self.pool().now_sql()
        );
        let (at, now): (Option<String>, String) = on_pool!(self.pool(), p => sqlx::query_as(AssertSqlSafe(sql))
            .fetch_one(p)
            .await?);
        let Some(at) = at else { return Ok(None) };
        Ok(Some(
            (parse_time(&at)? - parse_time(&now)?)
                .to_std()
                .unwrap_or_default(),
        ))
    }

    /// Moves a job to `status` by a step of its lifecycle ([`Transition::Step`]), with its error
    /// `(code, message)` for `failed`; resets its retry counter and makes it due now. The move is
    /// checked in the `UPDATE` itself (`WHERE status IN (…)`), so a replica that moved the job in
    /// the meantime cannot be overwritten. A job that does not exist is left alone.
    ///
    /// # Errors
    /// [`StoreError::IllegalMove`] when the job's status does not allow the move (nothing is
    /// written); [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn set_status(
        &self,
        id: &JobId,
        status: JobStatus,
        error: Option<(&ErrorCode, &str)>,
    ) -> StoreResult<()> {
        let now = now();
        let Some(sources) = status_list(Transition::Step, status) else {
            return self.refuse(id, status, Transition::Step).await;
        };
        let sql = format!(
            "UPDATE jobs SET status = $1, error_code = $2, error_message = $3, attempts = 0, not_before = {}, updated_at = $4 WHERE id = $5 AND status IN ({sources})",
            self.pool().now_sql()
        );
        let moved = in_tx!(self.pool(), tx => sqlx::query(AssertSqlSafe(sql))
        .bind(status)
        .bind(error.map(|e| e.0.as_str()))
        .bind(error.map(|e| e.1))
        .bind(&now)
        .bind(id)
        .execute(&mut *tx)
        .await?.rows_affected());
        if moved == 0 {
            return self.refuse(id, status, Transition::Step).await;
        }
        Ok(())
    }

    /// Leaves a job alone for `delay` (from now by the database's clock), recording `attempts`
    /// consecutive transient failures.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn schedule(&self, id: &JobId, delay: Duration, attempts: i64) -> StoreResult<()> {
        let sql = format!(
            "UPDATE jobs SET not_before = {}, attempts = $2 WHERE id = $3",
            self.pool().later_sql(1)
        );
        in_tx!(self.pool(), tx => sqlx::query(AssertSqlSafe(sql))
            .bind(millis(delay))
            .bind(attempts)
            .bind(id)
            .execute(&mut *tx)
            .await?.rows_affected());
        Ok(())
    }

    /// Marks a job as asked to cancel and makes it due now. Returns false when the job is finished.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn request_cancel(&self, id: &JobId) -> StoreResult<bool> {
        let now = now();
        let terminal = terminal_list();
        let sql = format!(
            "UPDATE jobs SET cancel_requested = TRUE, not_before = {}, updated_at = $1 WHERE id = $2 AND status NOT IN ({terminal})",
            self.pool().now_sql()
        );
        let done = in_tx!(self.pool(), tx => sqlx::query(AssertSqlSafe(sql))
            .bind(&now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected());
        Ok(done == 1)
    }

    /// Reopens a job for a retry ([`Transition::Reopen`]: a finished job, or one at `writing`, to
    /// `created` or `writing`): sets `status`, clears its error and cancel request, and makes it
    /// due now. The move is checked in the `UPDATE` itself, as [`Store::set_status`] does.
    ///
    /// # Errors
    /// [`StoreError::IllegalMove`] when the job's status does not allow the move (nothing is
    /// written); [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn reopen(&self, id: &JobId, status: JobStatus) -> StoreResult<()> {
        let now = now();
        let Some(sources) = status_list(Transition::Reopen, status) else {
            return self.refuse(id, status, Transition::Reopen).await;
        };
        let sql = format!(
            "UPDATE jobs SET status = $1, cancel_requested = FALSE, error_code = NULL, error_message = NULL, attempts = 0, not_before = {}, updated_at = $2 WHERE id = $3 AND status IN ({sources})",
            self.pool().now_sql()
        );
        let moved = in_tx!(self.pool(), tx => sqlx::query(AssertSqlSafe(sql))
        .bind(status)
        .bind(&now)
        .bind(id)
        .execute(&mut *tx)
        .await?.rows_affected());
        if moved == 0 {
            return self.refuse(id, status, Transition::Reopen).await;
        }
        Ok(())
    }

    /// After a move to `to` changed nothing: [`StoreError::IllegalMove`] from the job's status
    /// now, or `Ok` when there is no such job (a move of a missing job has always been a no-op).
    async fn refuse(&self, id: &JobId, to: JobStatus, transition: Transition) -> StoreResult<()> {
        let from: Option<JobStatus> = on_pool!(self.pool(), p => sqlx::query_scalar("SELECT status FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(p)
            .await?);
        match from {
            None => Ok(()),
            Some(from) => Err(StoreError::IllegalMove {
                job_id: id.clone(),
                from,
                to,
                transition,
            }),
        }
    }

    /// Updates the sheet title last seen for a job.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn set_sheet_title(&self, job_id: &JobId, title: &str) -> StoreResult<()> {
        in_tx!(self.pool(), tx => sqlx::query("UPDATE jobs SET sheet_title = $1 WHERE id = $2")
            .bind(title)
            .bind(job_id)
            .execute(&mut *tx)
            .await?.rows_affected());
        Ok(())
    }

    /// How many jobs are in each status.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn jobs_by_status(&self) -> StoreResult<Vec<(JobStatus, i64)>> {
        Ok(
            on_pool!(self.pool(), p => sqlx::query_as("SELECT status, COUNT(*) FROM jobs GROUP BY status")
            .fetch_all(p)
            .await?),
        )
    }
}

/// The statuses `transition` may move a job to `to` from, as an SQL list (`'created', …`);
/// `None` when there is none.
fn status_list(transition: Transition, to: JobStatus) -> Option<String> {
    let sources = transition.sources(to);
    (!sources.is_empty()).then(|| {
        sources
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// The finished statuses as an SQL list (`'completed', 'failed', …`), from [`JobStatus::ALL`].
pub(crate) fn terminal_list() -> String {
    JobStatus::ALL
        .iter()
        .filter(|s| s.is_terminal())
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}
