//! A job's rows in the store: read them (all, the answered ones, a batch's), count them by state,
//! and settle them after a write.

use almanac_core::domain::{Generated, RowId};
use almanac_core::state::RowState;
use almanac_protocol::RowCounts;
use sqlx::AssertSqlSafe;

use crate::pool::{in_tx, on_pool};
use crate::records::{ROW_COLUMNS, RowRecord, RowUpdate};
use crate::{Store, StoreResult, now};

impl Store {
    /// The rows of a job in selection order.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn rows(&self, job_id: &str) -> StoreResult<Vec<RowRecord>> {
        let sql = format!("SELECT {ROW_COLUMNS} FROM job_rows WHERE job_id = $1 ORDER BY seq");
        Ok(
            on_pool!(self.pool(), p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(job_id)
            .fetch_all(p)
            .await?),
        )
    }

    /// The rows of a job in one state, in selection order.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn rows_in(&self, job_id: &str, state: RowState) -> StoreResult<Vec<RowRecord>> {
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM job_rows WHERE job_id = $1 AND state = $2 ORDER BY seq"
        );
        Ok(
            on_pool!(self.pool(), p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(job_id)
            .bind(state)
            .fetch_all(p)
            .await?),
        )
    }

    /// The answered rows of a job waiting to be written (`generated`), in selection order, as
    /// `(seq, id, answer)`; rows whose stored id or answer cannot be read are left out.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn generated_rows(&self, job_id: &str) -> StoreResult<Vec<(i64, RowId, Generated)>> {
        Ok(self
            .rows_in(job_id, RowState::Generated)
            .await?
            .iter()
            .filter_map(|r| Some((r.seq, RowId::parse(&r.row_id).ok()?, r.generated()?)))
            .collect())
    }

    /// The rows assigned to a batch, in selection order.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn batch_rows(&self, batch: i64) -> StoreResult<Vec<RowRecord>> {
        let sql = format!("SELECT {ROW_COLUMNS} FROM job_rows WHERE batch = $1 ORDER BY seq");
        Ok(
            on_pool!(self.pool(), p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(batch)
            .fetch_all(p)
            .await?),
        )
    }

    /// Per-state row counts of a job.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn row_counts(&self, job_id: &str) -> StoreResult<RowCounts> {
        let pairs: Vec<(RowState, i64)> = on_pool!(self.pool(), p => sqlx::query_as(
            "SELECT state, COUNT(*) FROM job_rows WHERE job_id = $1 GROUP BY state",
        )
        .bind(job_id)
        .fetch_all(p)
        .await?);
        let mut counts = RowCounts::default();
        for (state, n) in pairs {
            let n = n as u64;
            counts.total += n;
            match state {
                RowState::Pending => counts.pending += n,
                RowState::Generated => counts.generated += n,
                RowState::Done => counts.done += n,
                RowState::Skipped => counts.skipped += n,
                RowState::Failed => counts.failed += n,
            }
        }
        Ok(counts)
    }

    /// Sets the state, reason and failure code of rows by `seq`, in one transaction.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure (nothing is changed then).
    pub async fn set_row_states(&self, job_id: &str, updates: &[RowUpdate]) -> StoreResult<()> {
        in_tx!(self.pool(), tx => {
            for update in updates {
                sqlx::query(
                    "UPDATE job_rows SET state = $1, reason = $2, failure_code = $3 WHERE job_id = $4 AND seq = $5",
                )
                .bind(update.state)
                .bind(&update.reason)
                .bind(update.failure_code)
                .bind(job_id)
                .bind(update.seq)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("UPDATE jobs SET updated_at = $1 WHERE id = $2")
                .bind(now())
                .bind(job_id)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }
}
