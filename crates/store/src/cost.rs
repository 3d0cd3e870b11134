//! The store's side of cost: the estimate a job was created with and its cap, the `usage` each
//! row's responses reported, realtime calls per row, and per-spreadsheet monthly
//! budgets (`migrations/0003_cost.sql`). Kept apart from the job/row/batch queries so the money
//! figures have one home.

use almanac_core::ids::JobId;
use almanac_core::state::{FailureCode, JobStatus, Mode};
use almanac_protocol::{RequestCounts, TokenUsage};
use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, FromRow};

use crate::pool::{in_tx, on_pool};
use crate::records::token_usage;
use crate::{Store, StoreResult, now, timestamp};

/// `UPDATE job_rows` adding one response's `usage` to a row's spending (and `billed + 1`): the four
/// token counts are `$1`–`$4` (bind them with `bind_usage!`), `filter` (the `WHERE` clause) numbers
/// its own parameters from `$5`.
pub(crate) fn add_row_usage_sql(filter: &str) -> String {
    format!(
        "UPDATE job_rows SET spent_prompt_tokens = spent_prompt_tokens + $1, spent_cached_tokens = spent_cached_tokens + $2,
         spent_completion_tokens = spent_completion_tokens + $3, spent_reasoning_tokens = spent_reasoning_tokens + $4, billed = billed + 1
         WHERE {filter}"
    )
}

/// Binds the four token counts of a `usage` as `$1`–`$4` of [`add_row_usage_sql`]'s query.
macro_rules! bind_usage {
    ($query:expr, $u:expr) => {{
        let u: &almanac_protocol::TokenUsage = $u;
        $query
            .bind(u.input_tokens as i64)
            .bind(u.cached_input_tokens as i64)
            .bind(u.output_tokens as i64)
            .bind(u.reasoning_tokens as i64)
    }};
}

pub(crate) use bind_usage;

/// The failure codes a retry leaves alone, as an SQL list (`'id_missing', …`), from
/// [`FailureCode::NOT_RETRYABLE`] — the one copy of the rule.
fn not_retryable_list() -> String {
    FailureCode::NOT_RETRYABLE
        .iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a job was estimated to cost when it was created (see `jobs` columns `est_*`).
#[derive(Clone, Debug, Default, PartialEq, FromRow)]
pub struct JobEstimateRecord {
    /// `prompt::template_id()` at creation.
    pub template: String,
    /// The job's cap in USD.
    pub max_cost_usd: Option<f64>,
    /// Rows the estimate covered.
    pub est_rows: i64,
    /// Input tokens of those rows.
    pub est_input_tokens: i64,
    /// Of which at the cached rate.
    pub est_cached_tokens: i64,
    /// Expected output tokens.
    pub est_output_tokens: i64,
    /// Expected cost in the job's mode, USD.
    pub est_cost_usd: f64,
}

/// One job of a spreadsheet's month, for its budget.
#[derive(Clone, Debug, FromRow)]
pub struct MonthJob {
    /// Job id.
    pub id: JobId,
    /// Model id.
    pub model: String,
    /// Batch or realtime.
    pub mode: Mode,
    /// Where the job is.
    pub status: JobStatus,
    /// Rows the estimate covered.
    pub est_rows: i64,
    /// Expected cost, USD.
    pub est_cost_usd: f64,
}

/// Whose spending a month's figures cover: a spreadsheet's (its budget), a user's (the operator's
/// per-user cap) or everyone's (the operator's cap).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpendScope<'a> {
    /// The jobs and chat runs of one spreadsheet (any owner).
    Spreadsheet(&'a str),
    /// The jobs and chat runs of one owner (the caller's `sub`), on every spreadsheet and file.
    Owner(&'a str),
    /// Every job and chat run.
    Everyone,
}

impl SpendScope<'_> {
    /// The SQL condition on `alias` (`jobs` or `chat_threads`) selecting the scope, with the
    /// scope's value bound as `$2` (always bound; unused by [`SpendScope::Everyone`]).
    pub(crate) fn condition(self, alias: &str) -> String {
        match self {
            SpendScope::Spreadsheet(_) => format!("{alias}.spreadsheet_id = $2"),
            SpendScope::Owner(_) => format!("{alias}.owner = $2"),
            SpendScope::Everyone => "$2 = $2".to_owned(),
        }
    }

    /// The value bound as `$2`.
    pub(crate) fn value(self) -> String {
        match self {
            SpendScope::Spreadsheet(v) | SpendScope::Owner(v) => v.to_owned(),
            SpendScope::Everyone => String::new(),
        }
    }
}

/// One job of a month, with what its rows have spent so far (one query for a whole scope).
#[derive(Clone, Debug, FromRow)]
pub struct MonthJobSpend {
    /// Model id.
    pub model: String,
    /// Batch or realtime.
    pub mode: Mode,
    /// Where the job is.
    pub status: JobStatus,
    /// Rows the estimate covered.
    pub est_rows: i64,
    /// Expected cost, USD.
    pub est_cost_usd: f64,
    /// Rows with at least one billed response.
    pub billed_rows: i64,
    /// Input tokens billed.
    pub input_tokens: i64,
    /// Of which cached.
    pub cached_tokens: i64,
    /// Output tokens billed.
    pub output_tokens: i64,
    /// Of which reasoning.
    pub reasoning_tokens: i64,
}

impl MonthJobSpend {
    /// The tokens the job's rows were billed for.
    pub fn usage(&self) -> TokenUsage {
        token_usage(
            self.input_tokens,
            self.cached_tokens,
            self.output_tokens,
            self.reasoning_tokens,
        )
    }
}

impl Store {
    /// Every job of `scope` created at or after `since`, each with its rows' spending summed
    /// (one query, whatever the number of jobs).
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn month_spend(
        &self,
        scope: SpendScope<'_>,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<MonthJobSpend>> {
        let sql = format!(
            "SELECT j.model, j.mode, j.status, j.est_rows, j.est_cost_usd,
                    CAST(COALESCE(SUM(CASE WHEN r.billed > 0 THEN 1 ELSE 0 END),0) AS BIGINT) AS billed_rows,
                    CAST(COALESCE(SUM(r.spent_prompt_tokens),0) AS BIGINT) AS input_tokens,
                    CAST(COALESCE(SUM(r.spent_cached_tokens),0) AS BIGINT) AS cached_tokens,
                    CAST(COALESCE(SUM(r.spent_completion_tokens),0) AS BIGINT) AS output_tokens,
                    CAST(COALESCE(SUM(r.spent_reasoning_tokens),0) AS BIGINT) AS reasoning_tokens
             FROM jobs j LEFT JOIN job_rows r ON r.job_id = j.id
             WHERE j.created_at >= $1 AND {}
             GROUP BY j.id, j.model, j.mode, j.status, j.est_rows, j.est_cost_usd",
            scope.condition("j")
        );
        Ok(
            on_pool!(self.pool(), p => sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(timestamp(since))
            .bind(scope.value())
            .fetch_all(p)
            .await?),
        )
    }

    /// Saves the estimate and cap of a job (right after [`Store::insert_job`]).
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn set_job_estimate(&self, job_id: &JobId, e: &JobEstimateRecord) -> StoreResult<()> {
        in_tx!(self.pool(), tx => sqlx::query(
            "UPDATE jobs SET template = $1, max_cost_usd = $2, est_rows = $3, est_input_tokens = $4, est_cached_tokens = $5, est_output_tokens = $6, est_cost_usd = $7 WHERE id = $8",
        )
        .bind(&e.template)
        .bind(e.max_cost_usd)
        .bind(e.est_rows)
        .bind(e.est_input_tokens)
        .bind(e.est_cached_tokens)
        .bind(e.est_output_tokens)
        .bind(e.est_cost_usd)
        .bind(job_id)
        .execute(&mut *tx)
        .await?.rows_affected());
        Ok(())
    }

    /// The estimate and cap of a job (all zero for a job created before migration 0003).
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn job_estimate(&self, job_id: &JobId) -> StoreResult<JobEstimateRecord> {
        let found: Option<JobEstimateRecord> = on_pool!(self.pool(), p => sqlx::query_as(
            "SELECT template, max_cost_usd, est_rows, est_input_tokens, est_cached_tokens, est_output_tokens, est_cost_usd FROM jobs WHERE id = $1",
        )
        .bind(job_id)
        .fetch_optional(p)
        .await?);
        Ok(found.unwrap_or_default())
    }

    /// Adds the `usage` of responses to their rows (by the row's id, `custom_id`), one
    /// transaction. A row answered twice (a retry) counts both: both were billed.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure (nothing is changed then).
    pub async fn add_usage(
        &self,
        job_id: &JobId,
        usage: &[(String, TokenUsage)],
    ) -> StoreResult<()> {
        if usage.is_empty() {
            return Ok(());
        }
        let sql = add_row_usage_sql("job_id = $5 AND row_id = $6");
        in_tx!(self.pool(), tx => {
            for (row_id, u) in usage {
                bind_usage!(sqlx::query(AssertSqlSafe(sql.clone())), u)
                    .bind(job_id)
                    .bind(row_id)
                    .execute(&mut *tx)
                    .await?;
            }
        });
        Ok(())
    }

    /// `(rows with usage, summed usage)` of a job.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn job_usage(&self, job_id: &JobId) -> StoreResult<(u64, TokenUsage)> {
        let (rows, input, cached, output, reasoning): (i64, i64, i64, i64, i64) = on_pool!(self.pool(), p => sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(CASE WHEN billed > 0 THEN 1 ELSE 0 END),0) AS BIGINT), CAST(COALESCE(SUM(spent_prompt_tokens),0) AS BIGINT),
                    CAST(COALESCE(SUM(spent_cached_tokens),0) AS BIGINT), CAST(COALESCE(SUM(spent_completion_tokens),0) AS BIGINT),
                    CAST(COALESCE(SUM(spent_reasoning_tokens),0) AS BIGINT)
             FROM job_rows WHERE job_id = $1",
        )
        .bind(job_id)
        .fetch_one(p)
        .await?);
        Ok((
            rows as u64,
            TokenUsage {
                input_tokens: input as u64,
                cached_input_tokens: cached as u64,
                output_tokens: output as u64,
                reasoning_tokens: reasoning as u64,
            },
        ))
    }

    /// The average output tokens per answered row of `completed` jobs with this model and prompt
    /// template (the 20 most recent such jobs), or `None` when there are none.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn average_output_tokens(
        &self,
        model: &str,
        template: &str,
    ) -> StoreResult<Option<f64>> {
        let avg: Option<f64> = on_pool!(self.pool(), p => sqlx::query_scalar(
            "SELECT AVG(CAST(r.spent_completion_tokens AS DOUBLE PRECISION) / r.billed) FROM job_rows r
             WHERE r.billed > 0 AND r.job_id IN (
                SELECT id FROM jobs WHERE model = $1 AND template = $2 AND status = 'completed'
                ORDER BY created_at DESC LIMIT 20)",
        )
        .bind(model)
        .bind(template)
        .fetch_one(p)
        .await?);
        Ok(avg)
    }

    /// Counts one more realtime call for each row (by `seq`), as its answer (or error) arrives.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn count_requests(&self, job_id: &JobId, seqs: &[i64]) -> StoreResult<()> {
        in_tx!(self.pool(), tx => {
            for seq in seqs {
                sqlx::query("UPDATE job_rows SET requests = requests + 1 WHERE job_id = $1 AND seq = $2")
                    .bind(job_id)
                    .bind(seq)
                    .execute(&mut *tx)
                    .await?;
            }
        });
        Ok(())
    }

    /// `request_counts` of a realtime job, from its rows: `total` rows sent at least once,
    /// `completed` of those answered (generated or written), `failed` of those failed.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn realtime_request_counts(&self, job_id: &JobId) -> StoreResult<RequestCounts> {
        let (total, completed, failed): (i64, i64, i64) = on_pool!(self.pool(), p => sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(CASE WHEN requests > 0 THEN 1 ELSE 0 END),0) AS BIGINT),
                    CAST(COALESCE(SUM(CASE WHEN requests > 0 AND state IN ('generated','done') THEN 1 ELSE 0 END),0) AS BIGINT),
                    CAST(COALESCE(SUM(CASE WHEN requests > 0 AND state = 'failed' THEN 1 ELSE 0 END),0) AS BIGINT)
             FROM job_rows WHERE job_id = $1",
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

    /// Puts the failed rows of a realtime job that a retry may fix back to `pending` (every
    /// failure code but [`FailureCode::NOT_RETRYABLE`]: rows that were sent, and rows left unsent
    /// by a cap, a cancel or a refusal); returns how many. Rows failed by the selection checks stay
    /// failed.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn reset_failed_realtime_rows(&self, job_id: &JobId) -> StoreResult<u64> {
        let keep = not_retryable_list();
        let sql = format!(
            "UPDATE job_rows SET state = 'pending', reason = NULL, failure_code = NULL
             WHERE job_id = $1 AND state = 'failed' AND failure_code IS NOT NULL AND failure_code NOT IN ({keep})"
        );
        Ok(in_tx!(self.pool(), tx => sqlx::query(AssertSqlSafe(sql))
            .bind(job_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()))
    }

    /// Sets (or with `None` removes) a spreadsheet's monthly budget.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn set_budget(
        &self,
        spreadsheet_id: &str,
        monthly_usd: Option<f64>,
    ) -> StoreResult<()> {
        in_tx!(self.pool(), tx => match monthly_usd {
            Some(usd) => {
                sqlx::query(
                    "INSERT INTO spreadsheet_budgets (spreadsheet_id, monthly_usd, updated_at) VALUES ($1, $2, $3)
                     ON CONFLICT (spreadsheet_id) DO UPDATE SET monthly_usd = excluded.monthly_usd, updated_at = excluded.updated_at",
                )
                .bind(spreadsheet_id)
                .bind(usd)
                .bind(now())
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM spreadsheet_budgets WHERE spreadsheet_id = $1")
                    .bind(spreadsheet_id)
                    .execute(&mut *tx)
                    .await?;
            }
        });
        Ok(())
    }

    /// A spreadsheet's monthly budget, USD, if it has one.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn budget(&self, spreadsheet_id: &str) -> StoreResult<Option<f64>> {
        Ok(on_pool!(self.pool(), p => sqlx::query_scalar(
            "SELECT monthly_usd FROM spreadsheet_budgets WHERE spreadsheet_id = $1",
        )
        .bind(spreadsheet_id)
        .fetch_optional(p)
        .await?))
    }

    /// Every job of a spreadsheet (any owner) created at or after `since`.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn jobs_since(
        &self,
        spreadsheet_id: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<MonthJob>> {
        Ok(on_pool!(self.pool(), p => sqlx::query_as(
            "SELECT id, model, mode, status, est_rows, est_cost_usd FROM jobs WHERE spreadsheet_id = $1 AND created_at >= $2",
        )
        .bind(spreadsheet_id)
        .bind(timestamp(since))
        .fetch_all(p)
        .await?))
    }
}
