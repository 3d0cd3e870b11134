//! A row's outcome: the one `UPDATE` that stores what the model answered for a row still
//! `pending` — state `generated` with its four answer columns, or `failed` with its reason and
//! code — whichever path produced it: a batch's output and error files (by batch and
//! `custom_id`, [`crate::Store::record_results`]), a realtime call (by job and `seq`,
//! [`crate::Store::record_realtime_result`]) or rows left without an answer (a batch's missing
//! rows, a realtime job's unsent ones, [`crate::Store::fail_pending`]).

use almanac_core::domain::Generated;
use almanac_core::ids::JobId;
use almanac_core::state::RowFailure;
use sqlx::AssertSqlSafe;

use crate::pool::in_tx;
use crate::{Store, StoreResult};

/// The statement storing one outcome (bind it with [`bind_outcome!`]: `$1`–`$7`) on the rows
/// `filter` selects (its parameters numbered from `$8`) that are still `pending`. A failure keeps
/// the answer columns as they are.
pub(crate) fn outcome_sql(filter: &str) -> String {
    format!(
        "UPDATE job_rows SET state = $1, reason = $2, failure_code = $3, year = COALESCE($4, year), simple = COALESCE($5, simple),
         detail = COALESCE($6, detail), related_movies = COALESCE($7, related_movies)
         WHERE {filter} AND state = 'pending'"
    )
}

/// Binds an outcome (`&Result<Generated, RowFailure>`) as `$1`–`$7` of [`outcome_sql`]'s
/// statement.
macro_rules! bind_outcome {
    ($query:expr, $outcome:expr) => {{
        let outcome: &Result<almanac_core::domain::Generated, almanac_core::state::RowFailure> =
            $outcome;
        let (state, failure, answer) = match outcome {
            Ok(g) => (almanac_core::state::RowState::Generated, None, Some(g)),
            Err(f) => (almanac_core::state::RowState::Failed, Some(f), None),
        };
        $query
            .bind(state)
            .bind(failure.map(|f| f.reason.as_str()))
            .bind(failure.map(|f| f.code))
            .bind(answer.map(|g| g.year.as_str()))
            .bind(answer.map(|g| g.simple.as_str()))
            .bind(answer.map(|g| g.detail.as_str()))
            .bind(answer.map(|g| g.related_movies.as_str()))
    }};
}

pub(crate) use bind_outcome;

impl Store {
    /// Stores one realtime answer (or failure) on a row still `pending`: state `generated` with
    /// the four columns, or `failed` with the failure. Returns false if the row was not pending.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn record_realtime_result(
        &self,
        job_id: &JobId,
        seq: i64,
        outcome: &Result<Generated, RowFailure>,
    ) -> StoreResult<bool> {
        let sql = outcome_sql("job_id = $8 AND seq = $9");
        let done = in_tx!(self.pool(), tx => bind_outcome!(sqlx::query(AssertSqlSafe(sql)), outcome)
            .bind(job_id)
            .bind(seq)
            .execute(&mut *tx)
            .await?
            .rows_affected());
        Ok(done == 1)
    }

    /// Fails every row of a job still `pending` with `failure`; returns how many.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn fail_pending(&self, job_id: &JobId, failure: &RowFailure) -> StoreResult<u64> {
        let sql = outcome_sql("job_id = $8");
        let outcome = Err(failure.clone());
        Ok(
            in_tx!(self.pool(), tx => bind_outcome!(sqlx::query(AssertSqlSafe(sql)), &outcome)
            .bind(job_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()),
        )
    }
}
