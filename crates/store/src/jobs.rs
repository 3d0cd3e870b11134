//! A job's life in the store: insert it with its rows, read it, find the due ones, schedule its
//! next step, change its status, ask it to cancel, reopen it for a retry.

use almanac_core::state::JobStatus;
use sqlx::AssertSqlSafe;

use crate::records::{JOB_COLUMNS, JobRecord, NewJob, NewRow};
use crate::{Store, StoreResult, now};

impl Store {
    /// Inserts a job and its rows in one transaction.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure (nothing is inserted then).
    pub async fn insert_job(&self, job: &NewJob, rows: &[NewRow]) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        insert_job_in(&mut tx, job, rows).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One job by id.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn job(&self, id: &str) -> StoreResult<Option<JobRecord>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?)
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
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE owner = ? AND spreadsheet_id = ? ORDER BY created_at DESC, id DESC LIMIT ?"
        )))
        .bind(owner)
        .bind(spreadsheet_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// Ids of jobs that are not finished and whose `not_before` has passed, oldest first.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn due_jobs(&self, now: &str) -> StoreResult<Vec<String>> {
        let terminal = terminal_list();
        Ok(sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT id FROM jobs WHERE status NOT IN ({terminal}) AND not_before <= ? ORDER BY created_at"
        )))
        .bind(now)
        .fetch_all(self.pool())
        .await?)
    }

    /// The earliest `not_before` of the unfinished jobs, if any.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn next_due(&self) -> StoreResult<Option<String>> {
        let terminal = terminal_list();
        Ok(sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT MIN(not_before) FROM jobs WHERE status NOT IN ({terminal})"
        )))
        .fetch_one(self.pool())
        .await?)
    }

    /// Sets a job's status (and error `(code, message)`, for `failed`); resets its retry counter
    /// and makes it due now.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn set_status(
        &self,
        id: &str,
        status: JobStatus,
        error: Option<(&str, &str)>,
    ) -> StoreResult<()> {
        let now = now();
        sqlx::query(
            "UPDATE jobs SET status = ?, error_code = ?, error_message = ?, attempts = 0, not_before = ?, updated_at = ? WHERE id = ?",
        )
        .bind(status)
        .bind(error.map(|e| e.0))
        .bind(error.map(|e| e.1))
        .bind(&now)
        .bind(&now)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Leaves a job alone until `not_before`, recording `attempts` consecutive transient failures.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn schedule(&self, id: &str, not_before: &str, attempts: i64) -> StoreResult<()> {
        sqlx::query("UPDATE jobs SET not_before = ?, attempts = ? WHERE id = ?")
            .bind(not_before)
            .bind(attempts)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Marks a job as asked to cancel and makes it due now. Returns false when the job is finished.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn request_cancel(&self, id: &str) -> StoreResult<bool> {
        let now = now();
        let terminal = terminal_list();
        let done = sqlx::query(AssertSqlSafe(format!(
            "UPDATE jobs SET cancel_requested = 1, not_before = ?, updated_at = ? WHERE id = ? AND status NOT IN ({terminal})"
        )))
        .bind(&now)
        .bind(&now)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Reopens a finished job for a retry: sets `status`, clears its error and cancel request, and
    /// makes it due now.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn reopen(&self, id: &str, status: JobStatus) -> StoreResult<()> {
        let now = now();
        sqlx::query(
            "UPDATE jobs SET status = ?, cancel_requested = 0, error_code = NULL, error_message = NULL, attempts = 0, not_before = ?, updated_at = ? WHERE id = ?",
        )
        .bind(status)
        .bind(&now)
        .bind(&now)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Updates the sheet title last seen for a job.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn set_sheet_title(&self, job_id: &str, title: &str) -> StoreResult<()> {
        sqlx::query("UPDATE jobs SET sheet_title = ? WHERE id = ?")
            .bind(title)
            .bind(job_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// How many jobs are in each status.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn jobs_by_status(&self) -> StoreResult<Vec<(JobStatus, i64)>> {
        Ok(
            sqlx::query_as("SELECT status, COUNT(*) FROM jobs GROUP BY status")
                .fetch_all(self.pool())
                .await?,
        )
    }
}

/// Inserts a job and its rows inside an open transaction (see [`Store::insert_job`]).
pub(crate) async fn insert_job_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    job: &NewJob,
    rows: &[NewRow],
) -> StoreResult<()> {
    let now = now();
    sqlx::query(
            "INSERT INTO jobs (id, owner, spreadsheet_id, sheet_id, sheet_title, spans, model, mode, overwrite, status, not_before, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&job.id)
        .bind(&job.owner)
        .bind(&job.spreadsheet_id)
        .bind(job.sheet_id)
        .bind(&job.sheet_title)
        .bind(serde_json::to_string(&job.spans).expect("spans serialize"))
        .bind(&job.model)
        .bind(job.mode)
        .bind(job.overwrite)
        .bind(job.status)
        .bind(&now)
        .bind(&now)
        .bind(&now)
        .execute(&mut **tx)
        .await?;
    for (seq, row) in rows.iter().enumerate() {
        sqlx::query(
                "INSERT INTO job_rows (job_id, seq, row_id, title, row_number, state, reason, failure_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&job.id)
            .bind(seq as i64)
            .bind(&row.row_id)
            .bind(&row.title)
            .bind(row.row_number)
            .bind(row.state)
            .bind(&row.reason)
            .bind(row.failure_code)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
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
