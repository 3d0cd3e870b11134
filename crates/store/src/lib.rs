//! The store (crate `almanac-store`, depending only on `almanac-core`): jobs, their rows and their
//! batches in SQL (a SQLite file by default), with migrations from `crates/store/migrations/`.
//!
//! - [`records`]: the rows as typed Rust values (states are enums stored as their snake_case text).
//! - [`jobs`]: a job's life — insert, read, schedule, status, cancel, reopen.
//! - [`rows`]: a job's rows — read, count, settle after a write.
//! - [`batches`]: a job's batches — create, the external ids, progress, results.
//! - [`cost`]: estimates, caps, `usage`, realtime calls and spreadsheet budgets.
//! - [`file_target`]: where a command-line job reads and writes its file.
//! - [`chat`]: "Ask about the sheet" — threads, messages, runs and their `usage`, files made by
//!   the code interpreter, containers charged.
//!
//! Invariants kept here:
//! - every external id (OpenAI `input_file_id`, `batch_id`) is written in its own statement right
//!   after the call that produced it, before anything depends on it, so a restart at any moment
//!   resumes a job without a second batch;
//! - a model's answer is stored on its row (state `generated`) before the sheet is written, so a
//!   failed write is retried, never dropped;
//! - a job and its rows are inserted in one transaction; a batch's answers and their `usage` too;
//! - a failed row carries a [`FailureCode`](almanac_core::state::FailureCode) beside its reason,
//!   and every query that decides (which rows a retry reopens) reads the code, never the text.
//!
//! Times are RFC 3339 UTC strings with milliseconds and a `Z` suffix, so they sort as text.

#![warn(missing_docs)]

use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub mod batches;
pub mod chat;
pub mod cost;
pub mod file_target;
pub mod jobs;
pub mod records;
pub mod rows;

pub use chat::{
    Answer, FileRecord, MessageRecord, MonthChatRun, NewFile, NewRun, NewThread, RunEnd, RunRecord,
    ThreadRecord,
};
pub use file_target::FileTarget;
pub use records::{
    BatchProgress, BatchRecord, JobRecord, NewJob, NewRow, RowRecord, RowResult, RowUpdate,
};

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

/// The database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
}

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

    /// The connection pool, for the query modules of this crate.
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use almanac_core::domain::Generated;
    use almanac_core::state::{FailureCode, JobStatus, Mode, RowFailure, RowState};
    use almanac_protocol::{RowSpan, TokenUsage};

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
            failure_code: None,
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
        assert_eq!(rec.status, JobStatus::Created);
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
                        outcome: Err(RowFailure::new(FailureCode::InvalidJson, "bad json")),
                    },
                ],
                &RowFailure::new(FailureCode::NoResponse, "no result"),
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
        assert_eq!(rows[0].state, RowState::Failed);
        assert_eq!(rows[0].reason.as_deref(), Some("bad json"));
        assert_eq!(rows[1].reason.as_deref(), Some("no result"));
        assert_eq!(rows[0].failure_code, Some(FailureCode::InvalidJson));
        assert_eq!(rows[1].failure_code, Some(FailureCode::NoResponse));
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

    #[tokio::test]
    async fn rows_failed_before_failure_codes_get_their_code_from_the_old_reason_once() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        let all = sqlx::migrate!("./migrations");
        let mut before = sqlx::migrate::Migrator::DEFAULT;
        before.migrations = all
            .migrations
            .iter()
            .filter(|m| m.version < 5)
            .cloned()
            .collect::<Vec<_>>()
            .into();
        before.run(&pool).await.unwrap();
        sqlx::query("INSERT INTO jobs (id, owner, spreadsheet_id, sheet_id, sheet_title, spans, model, mode, overwrite, status, not_before, created_at, updated_at) VALUES ('j', 'o', 's', 0, 't', '[]', 'm', 'batch', 0, 'completed', '', '', '')")
            .execute(&pool).await.unwrap();
        let legacy = [
            "the batch expired before this row was processed (batch_expired): retry the row",
            "not sent: the job's max_cost_usd of $0.0100 would be passed: …",
            "the id in column A is empty: put a unique id in column A",
            "id 04-01 appears on rows 2, 3 of the selection: make the ids in column A unique",
            "something an old version wrote",
        ];
        for (seq, reason) in legacy.iter().enumerate() {
            sqlx::query("INSERT INTO job_rows (job_id, seq, row_id, title, row_number, state, reason, requests) VALUES ('j', ?, 'r', 't', 2, 'failed', ?, ?)")
                .bind(seq as i64)
                .bind(reason)
                .bind(i64::from(seq == 4))
                .execute(&pool).await.unwrap();
        }
        all.run(&pool).await.unwrap();
        let codes: Vec<Option<FailureCode>> =
            sqlx::query_scalar("SELECT failure_code FROM job_rows ORDER BY seq")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(
            codes,
            [
                Some(FailureCode::BatchExpired),
                Some(FailureCode::NotSentOverCap),
                Some(FailureCode::IdMissing),
                Some(FailureCode::IdDuplicated),
                Some(FailureCode::RequestError),
            ]
        );
    }

    #[tokio::test]
    async fn a_realtime_retry_reopens_every_retryable_failure_and_no_selection_failure() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store
            .insert_job(
                &job("j1"),
                &[
                    row("a", RowState::Pending),
                    row("b", RowState::Pending),
                    NewRow {
                        failure_code: Some(FailureCode::TitleMissing),
                        reason: Some("no title".into()),
                        ..row("c", RowState::Failed)
                    },
                ],
            )
            .await
            .unwrap();
        store
            .record_realtime_result(
                "j1",
                0,
                &Err(RowFailure::new(FailureCode::Http(500), "5xx")),
            )
            .await
            .unwrap();
        store
            .fail_pending("j1", &RowFailure::new(FailureCode::NotSentOverCap, "cap"))
            .await
            .unwrap();
        assert_eq!(store.reset_failed_realtime_rows("j1").await.unwrap(), 2);
        let rows = store.rows("j1").await.unwrap();
        assert_eq!(
            rows.iter().map(|r| r.state).collect::<Vec<_>>(),
            [RowState::Pending, RowState::Pending, RowState::Failed]
        );
        assert_eq!(rows[2].failure_code, Some(FailureCode::TitleMissing));
    }
}
