//! The store (crate `almanac-store`, depending only on `almanac-core`): jobs, their rows and their
//! batches in SQL (a SQLite file by default), with migrations from `crates/store/migrations/`.
//!
//! Invariants kept here:
//! - every external id (OpenAI `input_file_id`, `batch_id`) is written in its own statement right
//!   after the call that produced it, before anything depends on it, so a restart at any moment
//!   resumes a job without a second batch;
//! - a model's answer is stored on its row (state `generated`) before the sheet is written, so a
//!   failed write is retried, never dropped;
//! - a job and its rows are inserted in one transaction.
//!
//! Times are RFC 3339 UTC strings with milliseconds and a `Z` suffix, so they sort as text.

#![warn(missing_docs)]

use std::str::FromStr;

use almanac_protocol::{JobStatus, Mode, RequestCounts, RowCounts, RowSpan, RowState, TokenUsage};
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, FromRow, SqlitePool};

use almanac_core::domain::{Generated, RowId, RowInput};

pub mod cost;
mod file_target;
pub use file_target::FileTarget;

/// A store failure: the database could not be opened, migrated, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A query failed.
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read back (a corrupt or foreign database).
    #[error("unexpected value in the database: {0}")]
    Corrupt(String),
}

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Formats a time the way the store keeps it (`2026-11-21T21:09:02.123Z`).
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The current time as stored.
pub fn now() -> String {
    timestamp(Utc::now())
}

/// A job as stored (see `migrations/0001_init.sql` for the meaning of each column).
#[derive(Clone, Debug, FromRow)]
pub struct JobRecord {
    /// UUID v7.
    pub id: String,
    /// The caller's `sub`.
    pub owner: String,
    /// Sheets `spreadsheetId`.
    pub spreadsheet_id: String,
    /// Sheets `sheetId`.
    pub sheet_id: i64,
    /// The sheet's title as last seen.
    pub sheet_title: String,
    /// JSON of the selected `RowSpan`s.
    pub spans: String,
    /// Model id.
    pub model: String,
    /// `batch` or `realtime`.
    pub mode: String,
    /// Replace filled cells.
    pub overwrite: bool,
    /// A `JobStatus` name.
    pub status: String,
    /// The caller asked to cancel.
    pub cancel_requested: bool,
    /// Error code when failed.
    pub error_code: Option<String>,
    /// Error message when failed.
    pub error_message: Option<String>,
    /// Consecutive transient failures of the current step.
    pub attempts: i64,
    /// The worker leaves the job alone until then (RFC 3339).
    pub not_before: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

impl JobRecord {
    /// The status as a typed value.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for an unknown name.
    pub fn status(&self) -> StoreResult<JobStatus> {
        JobStatus::parse(&self.status)
            .ok_or_else(|| StoreError::Corrupt(format!("job status {:?}", self.status)))
    }

    /// The mode as a typed value (unknown names read as batch).
    pub fn mode(&self) -> Mode {
        if self.mode == Mode::Realtime.as_str() {
            Mode::Realtime
        } else {
            Mode::Batch
        }
    }

    /// The selected spans.
    pub fn spans(&self) -> Vec<RowSpan> {
        serde_json::from_str(&self.spans).unwrap_or_default()
    }
}

/// A row of a job as stored.
#[derive(Clone, Debug, FromRow)]
pub struct RowRecord {
    /// The job.
    pub job_id: String,
    /// Position in the selection (0-based).
    pub seq: i64,
    /// Column A; `''` when the cell was empty.
    pub row_id: String,
    /// Column B.
    pub title: String,
    /// 1-based row number at submission.
    pub row_number: i64,
    /// A `RowState` name.
    pub state: String,
    /// Why failed or skipped.
    pub reason: Option<String>,
    /// The local id of the batch the row was last sent in.
    pub batch: Option<i64>,
    /// Column C answer.
    pub year: Option<String>,
    /// Column D answer.
    pub simple: Option<String>,
    /// Column E answer.
    pub detail: Option<String>,
    /// Column F answer.
    pub related_movies: Option<String>,
}

impl RowRecord {
    /// The state as a typed value.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for an unknown name.
    pub fn state(&self) -> StoreResult<RowState> {
        RowState::parse(&self.state)
            .ok_or_else(|| StoreError::Corrupt(format!("row state {:?}", self.state)))
    }

    /// The row as a model input, when its id is valid (rows that failed the selection checks may
    /// have none).
    pub fn input(&self) -> Option<RowInput> {
        Some(RowInput {
            id: RowId::parse(&self.row_id).ok()?,
            title: self.title.clone(),
        })
    }

    /// The stored answer, when there is one.
    pub fn generated(&self) -> Option<Generated> {
        Some(Generated {
            year: self.year.clone()?,
            simple: self.simple.clone()?,
            detail: self.detail.clone()?,
            related_movies: self.related_movies.clone()?,
        })
    }
}

/// A batch (one OpenAI batch, or one about to be created) as stored.
#[derive(Clone, Debug, FromRow)]
pub struct BatchRecord {
    /// Local id.
    pub id: i64,
    /// The job.
    pub job_id: String,
    /// 0 = first submission, 1.. = retries.
    pub attempt: i64,
    /// Index within the attempt.
    pub part: i64,
    /// OpenAI input file id, once uploaded.
    pub input_file_id: Option<String>,
    /// OpenAI batch id, once created.
    pub batch_id: Option<String>,
    /// `preparing`, then the Batch object's status.
    pub status: String,
    /// OpenAI output file id.
    pub output_file_id: Option<String>,
    /// OpenAI error file id.
    pub error_file_id: Option<String>,
    /// `request_counts.total`.
    pub total: i64,
    /// `request_counts.completed`.
    pub completed: i64,
    /// `request_counts.failed`.
    pub failed: i64,
    /// Validation errors, one per line.
    pub errors: Option<String>,
    /// Output and error files have been parsed into rows.
    pub collected: bool,
}

impl BatchRecord {
    /// True once the batch will not change any more (or never reached OpenAI and never will).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self.status.as_str(),
            "completed" | "failed" | "expired" | "cancelled"
        )
    }
}

/// A job to insert.
#[derive(Clone, Debug)]
pub struct NewJob {
    /// UUID.
    pub id: String,
    /// The caller's `sub`.
    pub owner: String,
    /// Sheets `spreadsheetId`.
    pub spreadsheet_id: String,
    /// Sheets `sheetId`.
    pub sheet_id: i32,
    /// Current title.
    pub sheet_title: String,
    /// Selected spans.
    pub spans: Vec<RowSpan>,
    /// Model id (resolved).
    pub model: String,
    /// Batch or realtime.
    pub mode: Mode,
    /// Replace filled cells.
    pub overwrite: bool,
    /// Initial status.
    pub status: JobStatus,
}

/// A row to insert with its job.
#[derive(Clone, Debug)]
pub struct NewRow {
    /// Column A (`''` when empty).
    pub row_id: String,
    /// Column B.
    pub title: String,
    /// 1-based row number.
    pub row_number: u32,
    /// Initial state (`pending`, `skipped` or `failed`).
    pub state: RowState,
    /// Why skipped or failed.
    pub reason: Option<String>,
}

impl NewRow {
    /// The row as a model input, when its id is valid (rows that failed the selection checks may
    /// have none).
    pub fn input(&self) -> Option<RowInput> {
        Some(RowInput {
            id: RowId::parse(&self.row_id).ok()?,
            title: self.title.clone(),
        })
    }
}

/// What the model answered for one row of a batch, to record.
#[derive(Clone, Debug)]
pub struct RowResult {
    /// The row's `custom_id`.
    pub row_id: String,
    /// The answer, or why there is none.
    pub outcome: Result<Generated, String>,
}

/// The database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
}

const JOB_COLUMNS: &str = "id, owner, spreadsheet_id, sheet_id, sheet_title, spans, model, mode, overwrite, status, cancel_requested, error_code, error_message, attempts, not_before, created_at, updated_at";
const BATCH_COLUMNS: &str = "id, job_id, attempt, part, input_file_id, batch_id, status, output_file_id, error_file_id, total, completed, failed, errors, collected";

impl Store {
    /// Opens (creating if missing) the database at `url` (`sqlite://almanac.db`, `sqlite::memory:`)
    /// and applies the migrations.
    ///
    /// # Errors
    /// [`StoreError`] when the file cannot be opened or a migration fails.
    pub async fn connect(url: &str) -> StoreResult<Store> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(10));
        let in_memory = url.contains(":memory:");
        let pool = SqlitePoolOptions::new()
            // An in-memory database lives in one connection.
            .max_connections(if in_memory { 1 } else { 4 })
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store { pool })
    }

    /// Inserts a job and its rows in one transaction.
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure (nothing is inserted then).
    pub async fn insert_job(&self, job: &NewJob, rows: &[NewRow]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        insert_job_in(&mut tx, job, rows).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One job by id.
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure.
    pub async fn job(&self, id: &str) -> StoreResult<Option<JobRecord>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The jobs of `owner` on one spreadsheet, newest first, at most `limit`.
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure.
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
        .fetch_all(&self.pool)
        .await?)
    }

    /// Ids of jobs that are not finished and whose `not_before` has passed, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure.
    pub async fn due_jobs(&self, now: &str) -> StoreResult<Vec<String>> {
        let terminal = terminal_list();
        Ok(sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT id FROM jobs WHERE status NOT IN ({terminal}) AND not_before <= ? ORDER BY created_at"
        )))
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The earliest `not_before` of the unfinished jobs, if any.
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure.
    pub async fn next_due(&self) -> StoreResult<Option<String>> {
        let terminal = terminal_list();
        Ok(sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT MIN(not_before) FROM jobs WHERE status NOT IN ({terminal})"
        )))
        .fetch_one(&self.pool)
        .await?)
    }

    /// Sets a job's status (and error, for `failed`); resets its retry counter and makes it due now.
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure.
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
        .bind(status.as_str())
        .bind(error.map(|e| e.0))
        .bind(error.map(|e| e.1))
        .bind(&now)
        .bind(&now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Leaves a job alone until `not_before`, recording `attempts` consecutive transient failures.
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure.
    pub async fn schedule(&self, id: &str, not_before: &str, attempts: i64) -> StoreResult<()> {
        sqlx::query("UPDATE jobs SET not_before = ?, attempts = ? WHERE id = ?")
            .bind(not_before)
            .bind(attempts)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks a job as asked to cancel and makes it due now. Returns false when the job is finished.
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure.
    pub async fn request_cancel(&self, id: &str) -> StoreResult<bool> {
        let now = now();
        let terminal = terminal_list();
        let done = sqlx::query(AssertSqlSafe(format!(
            "UPDATE jobs SET cancel_requested = 1, not_before = ?, updated_at = ? WHERE id = ? AND status NOT IN ({terminal})"
        )))
        .bind(&now)
        .bind(&now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The rows of a job in selection order.
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure.
    pub async fn rows(&self, job_id: &str) -> StoreResult<Vec<RowRecord>> {
        Ok(sqlx::query_as(
            "SELECT job_id, seq, row_id, title, row_number, state, reason, batch, year, simple, detail, related_movies
             FROM job_rows WHERE job_id = ? ORDER BY seq",
        )
        .bind(job_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The answered rows of a job waiting to be written (`generated`), in selection order, as
    /// `(seq, id, answer)`; rows whose stored id or answer cannot be read are left out.
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure.
    pub async fn generated_rows(&self, job_id: &str) -> StoreResult<Vec<(i64, RowId, Generated)>> {
        let rows: Vec<RowRecord> = sqlx::query_as(
            "SELECT job_id, seq, row_id, title, row_number, state, reason, batch, year, simple, detail, related_movies
             FROM job_rows WHERE job_id = ? AND state = 'generated' ORDER BY seq",
        )
        .bind(job_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| Some((r.seq, RowId::parse(&r.row_id).ok()?, r.generated()?)))
            .collect())
    }

    /// Per-state row counts of a job.
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure.
    pub async fn row_counts(&self, job_id: &str) -> StoreResult<RowCounts> {
        let pairs: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM job_rows WHERE job_id = ? GROUP BY state")
                .bind(job_id)
                .fetch_all(&self.pool)
                .await?;
        let mut counts = RowCounts::default();
        for (state, n) in pairs {
            let n = n as u64;
            counts.total += n;
            match RowState::parse(&state) {
                Some(RowState::Pending) => counts.pending += n,
                Some(RowState::Generated) => counts.generated += n,
                Some(RowState::Done) => counts.done += n,
                Some(RowState::Skipped) => counts.skipped += n,
                Some(RowState::Failed) => counts.failed += n,
                None => return Err(StoreError::Corrupt(format!("row state {state:?}"))),
            }
        }
        Ok(counts)
    }

    /// The batches of a job, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure.
    pub async fn batches(&self, job_id: &str) -> StoreResult<Vec<BatchRecord>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {BATCH_COLUMNS} FROM batches WHERE job_id = ? ORDER BY attempt, part"
        )))
        .bind(job_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// `request_counts` summed over a job's batches.
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure.
    pub async fn request_counts(&self, job_id: &str) -> StoreResult<RequestCounts> {
        let (total, completed, failed): (i64, i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(total),0), COALESCE(SUM(completed),0), COALESCE(SUM(failed),0) FROM batches WHERE job_id = ?",
        )
        .bind(job_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(RequestCounts {
            total: total as u64,
            completed: completed as u64,
            failed: failed as u64,
        })
    }

    /// Creates the batches of one attempt and assigns rows to them, all in one transaction:
    /// `parts[i]` lists the `seq`s of the rows of part `i`; those rows become `pending`.
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure (nothing is changed then).
    pub async fn create_batches(
        &self,
        job_id: &str,
        attempt: i64,
        parts: &[Vec<i64>],
    ) -> StoreResult<()> {
        let now = now();
        let mut tx = self.pool.begin().await?;
        for (part, seqs) in parts.iter().enumerate() {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO batches (job_id, attempt, part, status, total, created_at, updated_at) VALUES (?, ?, ?, 'preparing', ?, ?, ?) RETURNING id",
            )
            .bind(job_id)
            .bind(attempt)
            .bind(part as i64)
            .bind(seqs.len() as i64)
            .bind(&now)
            .bind(&now)
            .fetch_one(&mut *tx)
            .await?;
            for seq in seqs {
                sqlx::query(
                    "UPDATE job_rows SET batch = ?, state = 'pending', reason = NULL WHERE job_id = ? AND seq = ?",
                )
                .bind(id)
                .bind(job_id)
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The rows assigned to a batch, in selection order.
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure.
    pub async fn batch_rows(&self, batch: i64) -> StoreResult<Vec<RowRecord>> {
        Ok(sqlx::query_as(
            "SELECT job_id, seq, row_id, title, row_number, state, reason, batch, year, simple, detail, related_movies
             FROM job_rows WHERE batch = ? ORDER BY seq",
        )
        .bind(batch)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Saves the OpenAI input file id of a batch (right after the upload).
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure.
    pub async fn set_input_file(&self, batch: i64, file_id: &str) -> StoreResult<()> {
        sqlx::query("UPDATE batches SET input_file_id = ?, updated_at = ? WHERE id = ?")
            .bind(file_id)
            .bind(now())
            .bind(batch)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Saves the OpenAI batch id and state of a batch (right after create, or after finding it).
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure.
    pub async fn set_batch_id(&self, batch: i64, batch_id: &str, status: &str) -> StoreResult<()> {
        sqlx::query("UPDATE batches SET batch_id = ?, status = ?, updated_at = ? WHERE id = ?")
            .bind(batch_id)
            .bind(status)
            .bind(now())
            .bind(batch)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets a batch that OpenAI refused for a reason that passes with time (the enqueued-token
    /// limit): back to `preparing` without file or batch id, so that the next submit step uploads
    /// a fresh input file and creates a new batch for the same rows. The refused batch stays at
    /// OpenAI as `failed` (it ran nothing and costs nothing) and is never adopted again, because
    /// adoption matches the input file id.
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure.
    pub async fn reset_batch(&self, batch: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE batches SET status = 'preparing', input_file_id = NULL, batch_id = NULL, output_file_id = NULL, error_file_id = NULL, errors = NULL, completed = 0, failed = 0, collected = 0, updated_at = ? WHERE id = ?",
        )
        .bind(now())
        .bind(batch)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How many jobs are in each status, as `(status, count)`.
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure.
    pub async fn jobs_by_status(&self) -> StoreResult<Vec<(String, i64)>> {
        Ok(
            sqlx::query_as("SELECT status, COUNT(*) FROM jobs GROUP BY status")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Saves what a Batch object says now.
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure.
    #[allow(clippy::too_many_arguments)]
    pub async fn update_batch(
        &self,
        batch: i64,
        status: &str,
        counts: RequestCounts,
        output_file_id: Option<&str>,
        error_file_id: Option<&str>,
        errors: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE batches SET status = ?, total = ?, completed = ?, failed = ?, output_file_id = ?, error_file_id = ?, errors = ?, updated_at = ? WHERE id = ?",
        )
        .bind(status)
        .bind(counts.total as i64)
        .bind(counts.completed as i64)
        .bind(counts.failed as i64)
        .bind(output_file_id)
        .bind(error_file_id)
        .bind(errors)
        .bind(now())
        .bind(batch)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records the answers of a finished batch on its rows, adds the tokens its output lines'
    /// `usage` reported (`(custom_id, usage)`) to those rows' spending, and marks the batch
    /// collected — in one transaction, so a crash can neither lose a batch's usage nor count it
    /// twice. Rows of the batch with no result at all fail with `missing_reason`. Only rows still
    /// `pending` in this batch change (a row matched twice keeps its first answer).
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure (nothing is changed then).
    pub async fn record_results(
        &self,
        batch: i64,
        results: &[RowResult],
        missing_reason: &str,
        usage: &[(String, TokenUsage)],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for (row_id, u) in usage {
            sqlx::query(
                "UPDATE job_rows SET spent_prompt_tokens = spent_prompt_tokens + ?, spent_cached_tokens = spent_cached_tokens + ?,
                 spent_completion_tokens = spent_completion_tokens + ?, spent_reasoning_tokens = spent_reasoning_tokens + ?, billed = billed + 1
                 WHERE batch = ? AND row_id = ? AND state = 'pending'",
            )
            .bind(u.input_tokens as i64)
            .bind(u.cached_input_tokens as i64)
            .bind(u.output_tokens as i64)
            .bind(u.reasoning_tokens as i64)
            .bind(batch)
            .bind(row_id)
            .execute(&mut *tx)
            .await?;
        }
        for result in results {
            match &result.outcome {
                Ok(g) => {
                    sqlx::query(
                        "UPDATE job_rows SET state = 'generated', reason = NULL, year = ?, simple = ?, detail = ?, related_movies = ?
                         WHERE batch = ? AND row_id = ? AND state = 'pending'",
                    )
                    .bind(&g.year)
                    .bind(&g.simple)
                    .bind(&g.detail)
                    .bind(&g.related_movies)
                    .bind(batch)
                    .bind(&result.row_id)
                    .execute(&mut *tx)
                    .await?;
                }
                Err(reason) => {
                    sqlx::query(
                        "UPDATE job_rows SET state = 'failed', reason = ? WHERE batch = ? AND row_id = ? AND state = 'pending'",
                    )
                    .bind(reason)
                    .bind(batch)
                    .bind(&result.row_id)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        sqlx::query(
            "UPDATE job_rows SET state = 'failed', reason = ? WHERE batch = ? AND state = 'pending'",
        )
        .bind(missing_reason)
        .bind(batch)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE batches SET collected = 1, updated_at = ? WHERE id = ?")
            .bind(now())
            .bind(batch)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets the state and reason of rows by `seq`, in one transaction.
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure (nothing is changed then).
    pub async fn set_row_states(
        &self,
        job_id: &str,
        updates: &[(i64, RowState, Option<String>)],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for (seq, state, reason) in updates {
            sqlx::query("UPDATE job_rows SET state = ?, reason = ? WHERE job_id = ? AND seq = ?")
                .bind(state.as_str())
                .bind(reason)
                .bind(job_id)
                .bind(seq)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE jobs SET updated_at = ? WHERE id = ?")
            .bind(now())
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reopens a finished job for a retry: sets `status`, clears its error and cancel request, and
    /// makes it due now.
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure.
    pub async fn reopen(&self, id: &str, status: JobStatus) -> StoreResult<()> {
        let now = now();
        sqlx::query(
            "UPDATE jobs SET status = ?, cancel_requested = 0, error_code = NULL, error_message = NULL, attempts = 0, not_before = ?, updated_at = ? WHERE id = ?",
        )
        .bind(status.as_str())
        .bind(&now)
        .bind(&now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Updates the sheet title last seen for a job.
    ///
    /// # Errors
    /// [`StoreError::Sqlx`] on a database failure.
    pub async fn set_sheet_title(&self, job_id: &str, title: &str) -> StoreResult<()> {
        sqlx::query("UPDATE jobs SET sheet_title = ? WHERE id = ?")
            .bind(title)
            .bind(job_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Inserts a job and its rows inside an open transaction (see [`Store::insert_job`]).
async fn insert_job_in(
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
        .bind(job.mode.as_str())
        .bind(job.overwrite)
        .bind(job.status.as_str())
        .bind(&now)
        .bind(&now)
        .bind(&now)
        .execute(&mut **tx)
        .await?;
    for (seq, row) in rows.iter().enumerate() {
        sqlx::query(
                "INSERT INTO job_rows (job_id, seq, row_id, title, row_number, state, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&job.id)
            .bind(seq as i64)
            .bind(&row.row_id)
            .bind(&row.title)
            .bind(row.row_number)
            .bind(row.state.as_str())
            .bind(&row.reason)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

fn terminal_list() -> String {
    JobStatus::ALL
        .iter()
        .filter(|s| s.is_terminal())
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str) -> NewJob {
        NewJob {
            id: id.into(),
            owner: "user-a".into(),
            spreadsheet_id: "sheet".into(),
            sheet_id: 0,
            sheet_title: "Events".into(),
            spans: vec![RowSpan {
                start_row: 2,
                end_row: 3,
            }],
            model: "gpt-4.1-mini-2025-04-14".into(),
            mode: Mode::Batch,
            overwrite: false,
            status: JobStatus::Created,
        }
    }

    fn row(id: &str, state: RowState) -> NewRow {
        NewRow {
            row_id: id.into(),
            title: format!("title {id}"),
            row_number: 2,
            state,
            reason: None,
        }
    }

    #[tokio::test]
    async fn a_job_with_rows_round_trips_and_counts_its_rows_by_state() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store
            .insert_job(
                &job("j1"),
                &[
                    row("a", RowState::Pending),
                    row("b", RowState::Skipped),
                    row("c", RowState::Pending),
                ],
            )
            .await
            .unwrap();
        let rec = store.job("j1").await.unwrap().unwrap();
        assert_eq!(rec.status().unwrap(), JobStatus::Created);
        assert_eq!(rec.spans()[0].end_row, 3);
        let counts = store.row_counts("j1").await.unwrap();
        assert_eq!((counts.total, counts.pending, counts.skipped), (3, 2, 1));
        assert_eq!(
            store.due_jobs(&now()).await.unwrap(),
            vec!["j1".to_string()]
        );
    }

    #[tokio::test]
    async fn results_are_matched_by_row_id_and_rows_without_a_result_fail() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store
            .insert_job(
                &job("j1"),
                &[
                    row("a", RowState::Pending),
                    row("b", RowState::Pending),
                    row("c", RowState::Pending),
                ],
            )
            .await
            .unwrap();
        store
            .create_batches("j1", 0, &[vec![0, 1, 2]])
            .await
            .unwrap();
        let batch = store.batches("j1").await.unwrap()[0].id;
        let answer = Generated {
            year: "1945".into(),
            simple: "s".into(),
            detail: "d".into(),
            related_movies: "m".into(),
        };
        store
            .record_results(
                batch,
                &[
                    RowResult {
                        row_id: "c".into(),
                        outcome: Ok(answer.clone()),
                    },
                    RowResult {
                        row_id: "a".into(),
                        outcome: Err("bad json".into()),
                    },
                ],
                "no result",
                &[(
                    "c".into(),
                    TokenUsage {
                        input_tokens: 120,
                        output_tokens: 30,
                        cached_input_tokens: 0,
                        reasoning_tokens: 0,
                    },
                )],
            )
            .await
            .unwrap();
        let (billed_rows, usage) = store.job_usage("j1").await.unwrap();
        assert_eq!(billed_rows, 1, "the usage is recorded with the answers");
        assert_eq!((usage.input_tokens, usage.output_tokens), (120, 30));
        let rows = store.rows("j1").await.unwrap();
        assert_eq!(rows[0].state().unwrap(), RowState::Failed);
        assert_eq!(rows[0].reason.as_deref(), Some("bad json"));
        assert_eq!(rows[1].reason.as_deref(), Some("no result"));
        assert_eq!(rows[2].generated(), Some(answer));
        assert!(store.batches("j1").await.unwrap()[0].collected);
    }

    #[tokio::test]
    async fn a_finished_job_cannot_be_cancelled_and_is_not_due() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.insert_job(&job("j1"), &[]).await.unwrap();
        store
            .set_status("j1", JobStatus::Completed, None)
            .await
            .unwrap();
        assert!(!store.request_cancel("j1").await.unwrap());
        assert!(store.due_jobs(&now()).await.unwrap().is_empty());
    }
}
