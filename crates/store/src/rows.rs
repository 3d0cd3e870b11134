//! A job's rows in the store: read them (all, the answered ones, a batch's), count them by state,
//! and settle them after a write.

use almanac_core::domain::{Generated, RowId, RowInput};
use almanac_core::ids::JobId;
use almanac_core::state::RowState;
use almanac_protocol::RowCounts;
use sqlx::AssertSqlSafe;

use crate::pool::{in_tx, on_pool};
use crate::records::{ROW_COLUMNS, RowRecord, RowUpdate};
use crate::{Store, StoreResult, now};

/// One page of rows read by `seq` and the cursor of the next: `Some(seq)` of the last row read
/// when the page was full (more rows may follow: pass it as the next `after_seq`), `None` when
/// the page was the last.
pub type Page<T> = (Vec<T>, Option<i64>);

/// The next page's cursor after reading `read` rows of at most `limit`, the last at `last_seq`.
fn next_after(read: usize, limit: u32, last_seq: Option<i64>) -> Option<i64> {
    last_seq.filter(|_| read >= limit as usize)
}

/// Which rows [`Store::inputs_page`] reads.
#[derive(Clone, Copy, Debug)]
pub enum InputRows<'a> {
    /// A job's rows still to send (`pending`), by job id.
    Pending(&'a str),
    /// The rows assigned to a batch, by its local id.
    Batch(i64),
}

impl Store {
    /// The rows of a job in selection order.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn rows(&self, job_id: &JobId) -> StoreResult<Vec<RowRecord>> {
        let sql = format!("SELECT {ROW_COLUMNS} FROM job_rows WHERE job_id = $1 ORDER BY seq");
        Ok(
            on_pool!(self.pool(), p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(job_id)
            .fetch_all(p)
            .await?),
        )
    }

    /// One page of a job's rows in selection order: at most `limit` rows whose `seq` is above
    /// `after_seq` (from the first row when `None`), and the cursor of the next page ([`Page`]).
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn rows_page(
        &self,
        job_id: &JobId,
        after_seq: Option<i64>,
        limit: u32,
    ) -> StoreResult<Page<RowRecord>> {
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM job_rows WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        );
        let rows: Vec<RowRecord> = on_pool!(self.pool(), p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(job_id)
            .bind(after_seq.unwrap_or(i64::MIN))
            .bind(i64::from(limit))
            .fetch_all(p)
            .await?);
        let next = next_after(rows.len(), limit, rows.last().map(|r| r.seq));
        Ok((rows, next))
    }

    /// The rows of a job in one state, in selection order.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn rows_in(&self, job_id: &JobId, state: RowState) -> StoreResult<Vec<RowRecord>> {
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
    pub async fn generated_rows(
        &self,
        job_id: &JobId,
    ) -> StoreResult<Vec<(i64, RowId, Generated)>> {
        Ok(self
            .rows_in(job_id, RowState::Generated)
            .await?
            .iter()
            .filter_map(|r| Some((r.seq, RowId::parse(&r.row_id).ok()?, r.generated()?)))
            .collect())
    }

    /// One page of a job's answered rows waiting to be written (`generated`): at most `limit`
    /// rows whose `seq` is above `after_seq` (from the first row when `None`), in selection order,
    /// as `(seq, id, answer)`, and the cursor of the next page ([`Page`]); rows whose stored id or
    /// answer cannot be read are left out (the page may then be shorter than the rows read). Reads
    /// only the columns the write needs, so a job's answers can be written a request at a time in
    /// bounded memory.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn generated_page(
        &self,
        job_id: &JobId,
        after_seq: Option<i64>,
        limit: u32,
    ) -> StoreResult<Page<(i64, RowId, Generated)>> {
        type Answer = (
            i64,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Answer> = on_pool!(self.pool(), p => sqlx::query_as(
            "SELECT seq, row_id, year, simple, detail, related_movies FROM job_rows \
             WHERE job_id = $1 AND state = $2 AND seq > $3 ORDER BY seq LIMIT $4",
        )
        .bind(job_id)
        .bind(RowState::Generated)
        .bind(after_seq.unwrap_or(i64::MIN))
        .bind(i64::from(limit))
        .fetch_all(p)
        .await?);
        let next = next_after(rows.len(), limit, rows.last().map(|r| r.0));
        let page = rows
            .into_iter()
            .filter_map(|(seq, id, year, simple, detail, related_movies)| {
                let generated = Generated {
                    year: year?,
                    simple: simple?,
                    detail: detail?,
                    related_movies: related_movies?,
                };
                Some((seq, RowId::parse(&id).ok()?, generated))
            })
            .collect();
        Ok((page, next))
    }

    /// One page of model inputs `(seq, id, title)`: at most `limit` rows of `rows` whose `seq` is
    /// above `after_seq` (from the first row when `None`), in selection order, and the cursor of
    /// the next page ([`Page`]); rows without a valid id are left out (the page may then be
    /// shorter than the rows read). What a batch's parts are cut from and its input file is
    /// written from, a page at a time.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn inputs_page(
        &self,
        rows: InputRows<'_>,
        after_seq: Option<i64>,
        limit: u32,
    ) -> StoreResult<Page<(i64, RowInput)>> {
        let (after, max) = (after_seq.unwrap_or(i64::MIN), i64::from(limit));
        let found: Vec<(i64, String, String)> = match rows {
            InputRows::Pending(job_id) => on_pool!(self.pool(), p => sqlx::query_as(
                "SELECT seq, row_id, title FROM job_rows \
                 WHERE job_id = $1 AND state = $2 AND seq > $3 ORDER BY seq LIMIT $4",
            )
            .bind(job_id)
            .bind(RowState::Pending)
            .bind(after)
            .bind(max)
            .fetch_all(p)
            .await?),
            InputRows::Batch(batch) => on_pool!(self.pool(), p => sqlx::query_as(
                "SELECT seq, row_id, title FROM job_rows \
                 WHERE batch = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            )
            .bind(batch)
            .bind(after)
            .bind(max)
            .fetch_all(p)
            .await?),
        };
        let next = next_after(found.len(), limit, found.last().map(|r| r.0));
        let page = found
            .into_iter()
            .filter_map(|(seq, id, title)| {
                Some((
                    seq,
                    RowInput {
                        id: RowId::parse(&id).ok()?,
                        title,
                    },
                ))
            })
            .collect();
        Ok((page, next))
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
    pub async fn row_counts(&self, job_id: &JobId) -> StoreResult<RowCounts> {
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
    pub async fn set_row_states(&self, job_id: &JobId, updates: &[RowUpdate]) -> StoreResult<()> {
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
