//! A job's batches in the store: create the batches of an attempt and assign their rows, save each
//! external id right after the call that made it, save what OpenAI says of a batch, forget a batch
//! refused for a passing reason, and record a finished batch's answers with their `usage`.

use almanac_core::ids::{BatchId, JobId};
use almanac_core::state::{BatchState, RowFailure, RowState};
use almanac_protocol::{RequestCounts, TokenUsage};
use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;

use crate::outcome::{bind_outcome, outcome_sql};
use crate::pool::{in_tx, on_pool};
use crate::records::{BATCH_COLUMNS, BatchProgress, BatchRecord, RowResult, parse_time};
use crate::{Store, StoreResult, now};

/// Adds the usage of still-`pending` rows of `batch`, then stores their outcomes (inside an
/// `in_tx!` body, for either driver): `$sql` are [`add_usage_sql`] and [`set_outcome_sql`].
macro_rules! record_some {
    ($tx:ident, $sql:expr, $batch:expr, $results:expr, $usage:expr) => {
        let (add_usage, set_outcome): &(String, String) = $sql;
        for (row_id, u) in $usage {
            crate::cost::bind_usage!(sqlx::query(AssertSqlSafe(add_usage.clone())), u)
                .bind($batch)
                .bind(row_id)
                .execute(&mut *$tx)
                .await?;
        }
        for result in $results {
            bind_outcome!(
                sqlx::query(AssertSqlSafe(set_outcome.clone())),
                &result.outcome
            )
            .bind($batch)
            .bind(&result.row_id)
            .execute(&mut *$tx)
            .await?;
        }
    };
}

impl Store {
    /// The batches of a job, oldest first.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn batches(&self, job_id: &JobId) -> StoreResult<Vec<BatchRecord>> {
        let sql =
            format!("SELECT {BATCH_COLUMNS} FROM batches WHERE job_id = $1 ORDER BY attempt, part");
        Ok(
            on_pool!(self.pool(), p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(job_id)
            .fetch_all(p)
            .await?),
        )
    }

    /// When a batch's row was made: the start of its part's attempt (the row is kept when a
    /// refused batch is forgotten and sent again), before which no batch or file of that part
    /// can exist at OpenAI.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure or an unknown batch;
    /// [`crate::StoreError::Corrupt`] when the time does not parse.
    pub async fn batch_created_at(&self, batch: i64) -> StoreResult<DateTime<Utc>> {
        let text: String = on_pool!(self.pool(), p => sqlx::query_scalar("SELECT created_at FROM batches WHERE id = $1")
            .bind(batch)
            .fetch_one(p)
            .await?);
        parse_time(&text)
    }

    /// `request_counts` summed over a job's batches.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn request_counts(&self, job_id: &JobId) -> StoreResult<RequestCounts> {
        let (total, completed, failed): (i64, i64, i64) = on_pool!(self.pool(), p => sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(total),0) AS BIGINT), CAST(COALESCE(SUM(completed),0) AS BIGINT), CAST(COALESCE(SUM(failed),0) AS BIGINT) FROM batches WHERE job_id = $1",
        )
        .bind(job_id)
        .fetch_one(p)
        .await?);
        Ok(RequestCounts {
            total: total as u64,
            completed: completed as u64,
            failed: failed as u64,
        })
    }

    /// Creates the batches of one attempt and assigns rows to them, all in one transaction:
    /// `parts[i]` lists the `seq`s of the rows of part `i`; those rows become `pending` (their
    /// reason and failure code cleared).
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure (nothing is changed then).
    pub async fn create_batches(
        &self,
        job_id: &JobId,
        attempt: i64,
        parts: &[Vec<i64>],
    ) -> StoreResult<()> {
        let now = now();
        in_tx!(self.pool(), tx => {
            for (part, seqs) in parts.iter().enumerate() {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO batches (job_id, attempt, part, status, total, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(job_id)
                .bind(attempt)
                .bind(part as i64)
                .bind(BatchState::Preparing)
                .bind(seqs.len() as i64)
                .bind(&now)
                .bind(&now)
                .fetch_one(&mut *tx)
                .await?;
                for seq in seqs {
                    sqlx::query(
                        "UPDATE job_rows SET batch = $1, state = $2, reason = NULL, failure_code = NULL WHERE job_id = $3 AND seq = $4",
                    )
                    .bind(id)
                    .bind(RowState::Pending)
                    .bind(job_id)
                    .bind(seq)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        });
        Ok(())
    }

    /// Saves the OpenAI input file id of a batch (right after the upload).
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn set_input_file(&self, batch: i64, file_id: &str) -> StoreResult<()> {
        in_tx!(self.pool(), tx => sqlx::query("UPDATE batches SET input_file_id = $1, updated_at = $2 WHERE id = $3")
            .bind(file_id)
            .bind(now())
            .bind(batch)
            .execute(&mut *tx)
            .await?.rows_affected());
        Ok(())
    }

    /// Saves the OpenAI batch id and state of a batch (right after create, or after finding it).
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn set_batch_id(
        &self,
        batch: i64,
        batch_id: &BatchId,
        status: BatchState,
    ) -> StoreResult<()> {
        in_tx!(self.pool(), tx => sqlx::query("UPDATE batches SET batch_id = $1, status = $2, updated_at = $3 WHERE id = $4")
            .bind(batch_id)
            .bind(status)
            .bind(now())
            .bind(batch)
            .execute(&mut *tx)
            .await?.rows_affected());
        Ok(())
    }

    /// Forgets a batch that OpenAI refused for a reason that passes with time (the enqueued-token
    /// limit): back to `preparing` without file or batch id, so that the next submit step uploads
    /// a fresh input file and creates a new batch for the same rows. The refused batch stays at
    /// OpenAI as `failed` (it ran nothing and costs nothing) and is never adopted again, because
    /// adoption matches the input file id.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn reset_batch(&self, batch: i64) -> StoreResult<()> {
        in_tx!(self.pool(), tx => sqlx::query(
            "UPDATE batches SET status = $1, input_file_id = NULL, batch_id = NULL, output_file_id = NULL, error_file_id = NULL, errors = NULL, completed = 0, failed = 0, collected = FALSE, updated_at = $2 WHERE id = $3",
        )
        .bind(BatchState::Preparing)
        .bind(now())
        .bind(batch)
        .execute(&mut *tx)
        .await?.rows_affected());
        Ok(())
    }

    /// Saves what a Batch object says now.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn update_batch(&self, batch: i64, progress: &BatchProgress) -> StoreResult<()> {
        let counts = progress.request_counts;
        in_tx!(self.pool(), tx => sqlx::query(
            "UPDATE batches SET status = $1, total = $2, completed = $3, failed = $4, output_file_id = $5, error_file_id = $6, errors = $7, updated_at = $8 WHERE id = $9",
        )
        .bind(progress.status)
        .bind(counts.total as i64)
        .bind(counts.completed as i64)
        .bind(counts.failed as i64)
        .bind(&progress.output_file_id)
        .bind(&progress.error_file_id)
        .bind(sqlx::types::Json(&progress.errors))
        .bind(now())
        .bind(batch)
        .execute(&mut *tx)
        .await?.rows_affected());
        Ok(())
    }

    /// Records the answers of a finished batch on its rows, adds the tokens its output lines'
    /// `usage` reported (`(custom_id, usage)`) to those rows' spending, and marks the batch
    /// collected — in one transaction, so a crash can neither lose a batch's usage nor count it
    /// twice. Rows of the batch with no result at all fail with `missing`. Only rows still
    /// `pending` in this batch change (a row matched twice keeps its first answer).
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure (nothing is changed then).
    pub async fn record_results(
        &self,
        batch: i64,
        results: &[RowResult],
        missing: &RowFailure,
        usage: &[(String, TokenUsage)],
    ) -> StoreResult<()> {
        let sql = (add_usage_sql(), set_outcome_sql());
        let missing = Err(missing.clone());
        in_tx!(self.pool(), tx => {
            record_some!(tx, &sql, batch, results, usage);
            bind_outcome!(sqlx::query(AssertSqlSafe(outcome_sql("batch = $8"))), &missing)
                .bind(batch)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE batches SET collected = TRUE, updated_at = $1 WHERE id = $2")
                .bind(now())
                .bind(batch)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Records some of a finished batch's answers and their usage, as [`Store::record_results`]
    /// does, in one transaction, without settling the other rows or marking the batch collected:
    /// for a batch whose results are read a part at a time, ended by [`Store::record_results`]
    /// with the last part. Repeating a part after a crash changes nothing (its rows are no
    /// longer `pending`, so neither their answers nor their usage are recorded twice).
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure (nothing is changed then).
    pub async fn record_some_results(
        &self,
        batch: i64,
        results: &[RowResult],
        usage: &[(String, TokenUsage)],
    ) -> StoreResult<()> {
        let sql = (add_usage_sql(), set_outcome_sql());
        in_tx!(self.pool(), tx => {
            record_some!(tx, &sql, batch, results, usage);
        });
        Ok(())
    }
}

/// The statement adding one row's `usage` (binds: the usage, then `batch`, `row_id`), only while
/// the row is still `pending` in that batch.
fn add_usage_sql() -> String {
    crate::cost::add_row_usage_sql("batch = $5 AND row_id = $6 AND state = 'pending'")
}

/// The statement storing one row's outcome (binds: the outcome, then `batch`, `row_id`), only
/// while the row is still `pending` in that batch.
fn set_outcome_sql() -> String {
    outcome_sql("batch = $8 AND row_id = $9")
}
