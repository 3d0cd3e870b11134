//! The store (crate `almanac-store`, depending only on `almanac-core`): jobs, their rows and their
//! batches in SQL — an embedded SQLite file by default, or a PostgreSQL server shared by several
//! replicas (`postgres://…`) — with migrations from `crates/store/migrations/{sqlite,postgres}/`.
//!
//! - [`records`]: the rows as typed Rust values (states are enums stored as their snake_case text).
//! - [`jobs`]: a job's life — insert, read, schedule, status, cancel, reopen.
//! - [`rows`]: a job's rows — read, count, settle after a write.
//! - [`batches`]: a job's batches — create, the external ids, progress, results.
//! - [`outcome`]: a row's answer or failure, the one statement for the batch and realtime paths.
//! - [`cost`]: estimates, caps, `usage`, realtime calls and spreadsheet budgets.
//! - [`file_target`]: where a command-line job reads and writes its file.
//! - [`lease`]: claiming a job's next step under a lease, heartbeats, release; [`fence`]: the
//!   lease in scope that fences every write of a step.
//! - [`notify`]: job ids announced to every replica (PostgreSQL `LISTEN`/`NOTIFY`).
//! - [`limits`]: limits shared by every replica (per-user job rate, the realtime pacer's buckets,
//!   admission of a new job one at a time per spreadsheet).
//! - [`admission`]: the lock behind `Store::admit`.
//! - [`schema`]: whether a database is migrated to this binary's latest migration, read without
//!   changing it (set-up checks).
//! - [`idempotency`]: `Idempotency-Key`s and the first answer to each, shared by every replica.
//! - [`scratch`]: fresh PostgreSQL databases for tests and benchmarks.
//! - [`chat`]: "Ask about the sheet" — threads, messages, runs and their `usage`, files made by
//!   the code interpreter, containers charged.
//!
//! # Two backends, one set of queries
//!
//! [`Store`] holds a `pool::Pool`, either SQLite or PostgreSQL, chosen by the URL at
//! [`Store::connect`]. Each query is written once, in SQL both accept (`$1` placeholders,
//! `TRUE`/`FALSE`, casts around sums), inside `on_pool!(self.pool(), p => …)` (a read) or
//! `in_tx!(self.pool(), tx => …)` (a write: one transaction, fenced by the lease in scope); the
//! macro expands the same Rust once per driver, so each is type-checked and runs natively. The two
//! migration folders are kept in step: a test fails when one has a migration the other lacks.
//!
//! **Porting a query module** written for SQLite alone (e.g. a new `chat.rs`): write `$1, $2, …`
//! instead of `?`; wrap each `….fetch_*(self.pool())` in `on_pool!(self.pool(), p => ….fetch_*(p).await?)`
//! and each write (or group of writes) in `in_tx!(self.pool(), tx => { ….execute(&mut *tx).await?; … })`;
//! bind `i64` (not `u32`) and `bool`; use `TRUE`/`FALSE` literals, `CAST(SUM(…) AS BIGINT)`, and
//! `CASE WHEN … THEN 1 ELSE 0 END` for a count of a condition; add the migration to both
//! `migrations/sqlite/` and `migrations/postgres/` with the same number (BIGINT, BOOLEAN, DOUBLE
//! PRECISION, JSONB on PostgreSQL; times as `TEXT COLLATE "C"`). The store tests run on both
//! databases when `ALMANAC_TEST_POSTGRES_URL` is set.
//!
//! Invariants kept here:
//! - every external id (OpenAI `input_file_id`, `batch_id`) is written in its own statement right
//!   after the call that produced it, before anything depends on it, so a restart at any moment
//!   resumes a job without a second batch;
//! - a model's answer is stored on its row (state `generated`) before the sheet is written, so a
//!   failed write is retried, never dropped;
//! - a job and its rows are inserted in one transaction; a batch's answers and their `usage` too;
//! - a failed row carries a [`FailureCode`](almanac_core::state::FailureCode) beside its reason,
//!   and every query that decides (which rows a retry reopens) reads the code, never the text;
//! - a write made under a lease ([`fence::fenced`]) commits only while that lease is held.
//!
//! Times are RFC 3339 UTC strings with milliseconds and a `Z` suffix, so they sort as text.

#![warn(missing_docs)]

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub mod admission;
pub mod batches;
pub mod chat;
pub mod cost;
pub mod error;
pub mod fence;
pub mod file_target;
pub mod idempotency;
pub mod jobs;
pub mod lease;
pub mod limits;
pub mod notify;
pub mod outcome;
pub mod pool;
pub mod records;
pub mod rows;
pub mod schema;
pub mod scratch;
pub mod streams;

pub use chat::{
    Answer, FileRecord, MessageRecord, MonthChatRun, NewFile, NewRun, NewThread, RunEnd, RunRecord,
    ThreadRecord,
};
pub use error::{StoreError, StoreResult};
pub use fence::Lease;
pub use file_target::FileTarget;
pub use records::{
    BatchProgress, BatchRecord, Destination, JobRecord, NewJob, NewRow, RowRecord, RowResult,
    RowUpdate,
};
pub use schema::{MigrationStatus, migration_status};

/// Formats a time the way the store keeps it (`2026-11-21T21:09:02.123Z`).
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The current time as stored.
pub fn now() -> String {
    timestamp(Utc::now())
}

/// Connections a PostgreSQL store opens at most (each replica), unless the URL's
/// `max_connections` parameter says otherwise.
pub const DEFAULT_PG_MAX_CONNECTIONS: u32 = 10;

/// The database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: pool::Pool,
    /// Admission of new jobs one at a time per spreadsheet (see [`limits`]): a few connections of
    /// their own on PostgreSQL, a process-wide lock on SQLite.
    admission: Arc<admission::AdmissionLocks>,
}

impl Store {
    /// Opens the database at `url` and applies its migrations: `sqlite://almanac.db` (created if
    /// missing), `sqlite::memory:`, or `postgres://user:pass@host/db` (optionally
    /// `?max_connections=N`, default [`DEFAULT_PG_MAX_CONNECTIONS`]; TLS with `sslmode=require`).
    ///
    /// A SQLite file belongs to one process: leases left in it by a process that died are
    /// released here. On PostgreSQL leases are left to expire (another replica may hold them).
    ///
    /// # Errors
    /// [`StoreError`] when the database cannot be opened or a migration fails.
    pub async fn connect(url: &str) -> StoreResult<Store> {
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            return Self::connect_postgres(url).await;
        }
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
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        sqlx::query("UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner IS NOT NULL")
            .execute(&pool)
            .await?;
        Ok(Store {
            pool: pool::Pool::Sqlite(pool),
            admission: Arc::new(admission::AdmissionLocks::Local(Arc::default())),
        })
    }

    async fn connect_postgres(url: &str) -> StoreResult<Store> {
        let (url, max) = split_max_connections(url);
        let options = PgConnectOptions::from_str(&url)?;
        let pool = PgPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(std::time::Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        // Concurrent replicas may start at once: sqlx holds an advisory lock while migrating.
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let locks = PgPoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .acquire_timeout(std::time::Duration::from_secs(30))
            .connect_lazy_with(options);
        Ok(Store {
            pool: pool::Pool::Postgres(pool),
            admission: Arc::new(admission::AdmissionLocks::Postgres(locks)),
        })
    }

    /// The connection pool, for the query modules of this crate.
    pub(crate) fn pool(&self) -> &pool::Pool {
        &self.pool
    }

    /// True when several processes may share this store (PostgreSQL): limits and events must then
    /// go through the database ([`limits`], [`notify`]).
    pub fn is_shared(&self) -> bool {
        self.pool.is_postgres()
    }

    /// Closes every connection (waits for those in use to be returned).
    pub async fn close(&self) {
        pool::on_pool!(&self.pool, p => p.close().await);
        if let admission::AdmissionLocks::Postgres(locks) = &*self.admission {
            locks.close().await;
        }
    }
}

/// `url` without its `max_connections` query parameter, and that parameter (or the default).
pub(crate) fn split_max_connections(url: &str) -> (String, u32) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), DEFAULT_PG_MAX_CONNECTIONS);
    };
    let mut max = DEFAULT_PG_MAX_CONNECTIONS;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.strip_prefix("max_connections=") {
            Some(n) => {
                max = n.parse().unwrap_or(max);
                false
            }
            None => true,
        })
        .collect();
    if kept.is_empty() {
        (base.to_owned(), max)
    } else {
        (format!("{base}?{}", kept.join("&")), max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use almanac_core::domain::{Generated, SpreadsheetId};
    use almanac_core::ids::JobId;
    use almanac_core::state::{FailureCode, JobStatus, Mode, RowFailure, RowState};
    use almanac_protocol::{RowSpan, TokenUsage};

    /// A fresh store on each backend: SQLite in memory, and PostgreSQL when a test server is set.
    async fn backends(test: &str) -> Vec<Store> {
        let mut stores = vec![Store::connect("sqlite::memory:").await.unwrap()];
        if let Some(admin) = scratch::test_server(test) {
            let url = scratch::fresh_database(&admin, "store").await.unwrap();
            stores.push(Store::connect(&url).await.unwrap());
        }
        stores
    }

    fn job(id: &str) -> NewJob {
        NewJob {
            id: id.into(),
            owner: "user-a".into(),
            destination: Destination::Sheet {
                spreadsheet_id: SpreadsheetId::parse("sheet").unwrap(),
                sheet_id: 0,
            },
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
        for store in backends("a_job_with_rows_round_trips_and_counts_its_rows_by_state").await {
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
            let rec = store.job(&"j1".into()).await.unwrap().unwrap();
            assert_eq!(rec.status, JobStatus::Created);
            assert_eq!(rec.spans()[0].end_row, 3);
            let counts = store.row_counts(&"j1".into()).await.unwrap();
            assert_eq!((counts.total, counts.pending, counts.skipped), (3, 2, 1));
            assert_eq!(store.due_jobs().await.unwrap(), vec!["j1".to_string()]);
        }
    }

    #[tokio::test]
    async fn results_are_matched_by_row_id_and_rows_without_a_result_fail() {
        for store in backends("results_are_matched_by_row_id_and_rows_without_a_result_fail").await
        {
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
                .create_batches(&"j1".into(), 0, &[vec![0, 1, 2]])
                .await
                .unwrap();
            let batch = store.batches(&"j1".into()).await.unwrap()[0].id;
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
            let (billed_rows, usage) = store.job_usage(&"j1".into()).await.unwrap();
            assert_eq!(billed_rows, 1, "the usage is recorded with the answers");
            assert_eq!((usage.input_tokens, usage.output_tokens), (120, 30));
            // The month's spending, by scope, in one query.
            use crate::cost::SpendScope;
            let since = chrono::DateTime::UNIX_EPOCH;
            for scope in [
                SpendScope::Everyone,
                SpendScope::Owner("user-a"),
                SpendScope::Spreadsheet("sheet"),
            ] {
                let month = store.month_spend(scope, since).await.unwrap();
                assert_eq!(month.len(), 1, "{scope:?}");
                assert_eq!(month[0].billed_rows, 1);
                assert_eq!(month[0].usage(), usage);
            }
            for other in [
                SpendScope::Owner("user-b"),
                SpendScope::Spreadsheet("other"),
            ] {
                assert!(store.month_spend(other, since).await.unwrap().is_empty());
            }
            let rows = store.rows(&"j1".into()).await.unwrap();
            assert_eq!(rows[0].state, RowState::Failed);
            assert_eq!(rows[0].reason.as_deref(), Some("bad json"));
            assert_eq!(rows[1].reason.as_deref(), Some("no result"));
            assert_eq!(rows[0].failure_code, Some(FailureCode::InvalidJson));
            assert_eq!(rows[1].failure_code, Some(FailureCode::NoResponse));
            assert_eq!(rows[2].generated(), Some(answer));
            assert!(store.batches(&"j1".into()).await.unwrap()[0].collected);
        }
    }

    #[tokio::test]
    async fn a_finished_job_cannot_be_cancelled_and_is_not_due() {
        for store in backends("a_finished_job_cannot_be_cancelled_and_is_not_due").await {
            let writing = NewJob {
                status: JobStatus::Writing,
                ..job("j1")
            };
            store.insert_job(&writing, &[]).await.unwrap();
            store
                .set_status(&"j1".into(), JobStatus::Completed, None)
                .await
                .unwrap();
            assert!(!store.request_cancel(&"j1".into()).await.unwrap());
            assert!(store.due_jobs().await.unwrap().is_empty());
        }
    }

    #[tokio::test]
    async fn rows_failed_before_failure_codes_get_their_code_from_the_old_reason_once() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        let all = sqlx::migrate!("./migrations/sqlite");
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

    /// Migrations `0001`–`0009` on a fresh SQLite pool, as a store before typed destinations.
    async fn sqlite_before(version: i64) -> (sqlx::SqlitePool, sqlx::migrate::Migrator) {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        let all = sqlx::migrate!("./migrations/sqlite");
        let mut before = sqlx::migrate::Migrator::DEFAULT;
        before.migrations = all
            .migrations
            .iter()
            .filter(|m| m.version < version)
            .cloned()
            .collect::<Vec<_>>()
            .into();
        before.run(&pool).await.unwrap();
        (pool, all)
    }

    #[tokio::test]
    async fn a_file_job_stored_as_a_file_spreadsheet_id_is_read_as_a_file_job_and_completes() {
        let (pool, all) = sqlite_before(10).await;
        for (id, spreadsheet) in [("f", "file:/data/in.csv"), ("s", "abc_DEF-1")] {
            sqlx::query("INSERT INTO jobs (id, owner, spreadsheet_id, sheet_id, sheet_title, spans, model, mode, overwrite, status, not_before, created_at, updated_at) VALUES ($1, 'cli', $2, 7, 'in.csv', '[]', 'm', 'batch', 0, 'writing', '2026-11-21T21:09:02.123Z', '2026-11-21T21:09:02.123Z', '2026-11-21T21:09:02.123Z')")
                .bind(id)
                .bind(spreadsheet)
                .execute(&pool)
                .await
                .unwrap();
        }
        all.run(&pool).await.unwrap();
        let store = Store {
            pool: pool::Pool::Sqlite(pool),
            admission: Arc::new(admission::AdmissionLocks::Local(Arc::default())),
        };
        let file = store.job(&"f".into()).await.unwrap().unwrap();
        assert_eq!(
            file.destination,
            Destination::File {
                path: "/data/in.csv".into()
            }
        );
        let sheet = store.job(&"s".into()).await.unwrap().unwrap();
        assert_eq!(
            sheet.destination,
            Destination::Sheet {
                spreadsheet_id: SpreadsheetId::parse("abc_DEF-1").unwrap(),
                sheet_id: 7
            }
        );
        store
            .set_status(&"f".into(), JobStatus::Completed, None)
            .await
            .unwrap();
        assert_eq!(
            store.job(&"f".into()).await.unwrap().unwrap().status,
            JobStatus::Completed
        );
    }

    #[tokio::test]
    async fn a_job_is_stored_with_its_destination_on_both_databases() {
        for store in backends("a_job_is_stored_with_its_destination_on_both_databases").await {
            let file = NewJob {
                destination: Destination::File {
                    path: "/data/in.csv".into(),
                },
                ..job("f")
            };
            store.insert_job(&file, &[]).await.unwrap();
            store.insert_job(&job("s"), &[]).await.unwrap();
            for expected in [file, job("s")] {
                let got = store.job(&expected.id).await.unwrap().unwrap();
                assert_eq!(got.destination, expected.destination);
            }
        }
    }

    #[tokio::test]
    async fn a_job_with_corrupt_spans_is_an_error_not_an_empty_selection() {
        for store in backends("a_job_with_corrupt_spans_is_an_error_not_an_empty_selection").await {
            store.insert_job(&job("j1"), &[]).await.unwrap();
            pool::on_pool!(store.pool(), p => sqlx::query("UPDATE jobs SET spans = 'not json' WHERE id = 'j1'")
                .execute(p)
                .await
                .unwrap()
                .rows_affected());
            let read = store.job(&"j1".into()).await;
            assert!(matches!(read, Err(StoreError::Corrupt(_))), "{read:?}");
        }
    }

    #[tokio::test]
    async fn every_move_outside_the_lifecycle_is_refused_and_every_move_in_it_is_made() {
        use almanac_core::state::Transition;
        for store in
            backends("every_move_outside_the_lifecycle_is_refused_and_every_move_in_it_is_made")
                .await
        {
            let mut n = 0;
            for transition in [Transition::Step, Transition::Reopen] {
                for from in JobStatus::ALL {
                    for to in JobStatus::ALL {
                        n += 1;
                        let id = JobId::from(format!("j{n}"));
                        let new = NewJob {
                            status: from,
                            ..job(&id)
                        };
                        store.insert_job(&new, &[]).await.unwrap();
                        let moved = match transition {
                            Transition::Step => store.set_status(&id, to, None).await,
                            Transition::Reopen => store.reopen(&id, to).await,
                        };
                        let now = store.job(&id).await.unwrap().unwrap().status;
                        if transition.allows(from, to) {
                            assert!(moved.is_ok(), "{transition:?} {from} → {to}: {moved:?}");
                            assert_eq!(now, to, "{transition:?} {from} → {to}");
                        } else {
                            assert!(
                                matches!(moved, Err(StoreError::IllegalMove { from: f, to: t, .. }) if f == from && t == to),
                                "{transition:?} {from} → {to}: {moved:?}"
                            );
                            assert_eq!(now, from, "{transition:?} {from} → {to} wrote nothing");
                        }
                    }
                }
            }
            // A finished job never moves by a step; a missing job is left alone.
            assert!(!Transition::Step.allows(JobStatus::Completed, JobStatus::Failed));
            store
                .set_status(&"missing".into(), JobStatus::Failed, None)
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn a_realtime_retry_reopens_every_retryable_failure_and_no_selection_failure() {
        for store in
            backends("a_realtime_retry_reopens_every_retryable_failure_and_no_selection_failure")
                .await
        {
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
                    &"j1".into(),
                    0,
                    &Err(RowFailure::new(FailureCode::Http(500), "5xx")),
                )
                .await
                .unwrap();
            store
                .fail_pending(
                    &"j1".into(),
                    &RowFailure::new(FailureCode::NotSentOverCap, "cap"),
                )
                .await
                .unwrap();
            assert_eq!(
                store
                    .reset_failed_realtime_rows(&"j1".into())
                    .await
                    .unwrap(),
                2
            );
            let rows = store.rows(&"j1".into()).await.unwrap();
            assert_eq!(
                rows.iter().map(|r| r.state).collect::<Vec<_>>(),
                [RowState::Pending, RowState::Pending, RowState::Failed]
            );
            assert_eq!(rows[2].failure_code, Some(FailureCode::TitleMissing));
        }
    }

    #[test]
    fn both_databases_have_the_same_migrations() {
        let names = |m: sqlx::migrate::Migrator| {
            m.migrations
                .iter()
                .map(|m| (m.version, m.description.to_string()))
                .collect::<Vec<_>>()
        };
        let sqlite = names(sqlx::migrate!("./migrations/sqlite"));
        let postgres = names(sqlx::migrate!("./migrations/postgres"));
        assert_eq!(
            sqlite, postgres,
            "migrations/sqlite and migrations/postgres must hold the same migrations (number and name)"
        );
        assert!(sqlite.len() >= 5);
    }

    /// Stores whose database clock is `skew_secs` off the test process's clock: SQLite (an
    /// embedded database reads the process's clock: no skew), and, with a PostgreSQL test
    /// server, a fresh database whose `now()` is `skew_secs` ahead (a `public.now()` that the
    /// database's search path puts before `pg_catalog`'s) — a replica whose clock is off.
    async fn skewed_backends(test: &str, skew_secs: i64) -> Vec<Store> {
        use sqlx::Connection;
        let mut stores = vec![Store::connect("sqlite::memory:").await.unwrap()];
        if let Some(admin) = scratch::test_server(test) {
            let url = scratch::fresh_database(&admin, "skew").await.unwrap();
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            let shadow = format!(
                "CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE sql STABLE AS $$ SELECT pg_catalog.now() + interval '{skew_secs} seconds' $$"
            );
            sqlx::query(sqlx::AssertSqlSafe(shadow))
                .execute(&mut c)
                .await
                .unwrap();
            let db: String = sqlx::query_scalar("SELECT current_database()")
                .fetch_one(&mut c)
                .await
                .unwrap();
            let path = format!("ALTER DATABASE {db} SET search_path = public, pg_catalog");
            sqlx::query(sqlx::AssertSqlSafe(path))
                .execute(&mut c)
                .await
                .unwrap();
            c.close().await.unwrap();
            stores.push(Store::connect(&url).await.unwrap());
        }
        stores
    }

    /// Sets `job`'s lease to end at the database's `now()` moved by `offset` (`'-1 seconds'`),
    /// as a replica whose clock agrees with the database's would have written it.
    async fn lease_ends_at_db_now(store: &Store, job: &str, offset: &str) {
        let sql = match store.pool() {
            pool::Pool::Sqlite(_) => {
                "UPDATE jobs SET lease_expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', $1) WHERE id = $2"
            }
            pool::Pool::Postgres(_) => {
                "UPDATE jobs SET lease_expires_at = to_char((now() + CAST($1 AS interval)) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') WHERE id = $2"
            }
        };
        let done = pool::on_pool!(store.pool(), p => sqlx::query(sql)
            .bind(offset)
            .bind(job)
            .execute(p)
            .await
            .unwrap()
            .rows_affected());
        assert_eq!(done, 1);
    }

    #[tokio::test]
    async fn leases_and_due_times_follow_the_database_clock_not_the_claimants() {
        let test = "leases_and_due_times_follow_the_database_clock_not_the_claimants";
        for skew in [-3600, 3600] {
            for store in skewed_backends(test, skew).await {
                let minute = std::time::Duration::from_secs(60);
                store.insert_job(&job("j1"), &[]).await.unwrap();
                let a = store.claim_next("replica-a", minute).await.unwrap();
                assert!(a.is_some(), "a new job is due at once ({skew} s)");
                let wait = store.next_due().await.unwrap().unwrap();
                assert!(wait > minute / 2 && wait <= minute, "{wait:?} ({skew} s)");
                // A lease that ran out by the database's clock is claimable, whatever the
                // claimant's own clock says (the database is an hour ahead of it: +3600).
                lease_ends_at_db_now(&store, "j1", "-1 seconds").await;
                assert_eq!(store.lease_holder(&"j1".into()).await.unwrap(), None);
                let b = store.claim_next("replica-b", minute).await.unwrap();
                let b = b.unwrap_or_else(|| panic!("an expired lease is claimable ({skew} s)"));
                // A lease live by the database's clock is not, even to a claimant whose clock is
                // an hour ahead of the database's (-3600).
                lease_ends_at_db_now(&store, "j1", "+60 seconds").await;
                assert!(
                    store
                        .claim_next("replica-c", minute)
                        .await
                        .unwrap()
                        .is_none(),
                    "a live lease is not claimed ({skew} s)"
                );
                assert_eq!(
                    store.lease_holder(&"j1".into()).await.unwrap(),
                    Some(("replica-b".into(), b.version))
                );
                assert!(store.renew_lease(&b, minute).await.unwrap());
                assert!(
                    store
                        .claim_next("replica-c", minute)
                        .await
                        .unwrap()
                        .is_none()
                );
                // Scheduled "now" is due now by the database's clock.
                store.release_lease(&b).await.unwrap();
                store
                    .schedule(&"j1".into(), std::time::Duration::ZERO, 0)
                    .await
                    .unwrap();
                assert_eq!(store.due_jobs().await.unwrap(), vec!["j1".to_string()]);
                assert_eq!(
                    store.next_due().await.unwrap(),
                    Some(std::time::Duration::ZERO)
                );
                assert!(
                    store
                        .claim_next("replica-c", minute)
                        .await
                        .unwrap()
                        .is_some()
                );
            }
        }
    }

    #[tokio::test]
    async fn one_claimant_at_a_time_and_a_lost_lease_cannot_commit() {
        for store in backends("one_claimant_at_a_time_and_a_lost_lease_cannot_commit").await {
            store.insert_job(&job("j1"), &[]).await.unwrap();
            let long = std::time::Duration::from_secs(60);
            let a = store.claim_next("replica-a", long).await.unwrap().unwrap();
            assert_eq!(a.job_id, "j1");
            assert!(
                store.claim_next("replica-b", long).await.unwrap().is_none(),
                "a held lease is not claimed again"
            );
            // A's writes go through under its lease.
            fence::fenced(
                a.clone(),
                store.set_status(&"j1".into(), JobStatus::Submitting, None),
            )
            .await
            .unwrap();
            // A's lease runs out (it stopped renewing) and B claims: the version moves on.
            assert!(
                store
                    .renew_lease(&a, std::time::Duration::ZERO)
                    .await
                    .unwrap()
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            let b = store.claim_next("replica-b", long).await.unwrap().unwrap();
            assert_eq!(b.version, a.version + 1);
            let lost = fence::fenced(
                a.clone(),
                store.set_status(&"j1".into(), JobStatus::Failed, None),
            )
            .await;
            assert!(matches!(lost, Err(StoreError::LeaseLost(_))), "{lost:?}");
            assert_eq!(
                store.job(&"j1".into()).await.unwrap().unwrap().status,
                JobStatus::Submitting
            );
            assert!(
                !store.renew_lease(&a, long).await.unwrap(),
                "A learns it lost the lease"
            );
            store.release_lease(&a).await.unwrap();
            assert_eq!(
                store.lease_holder(&"j1".into()).await.unwrap(),
                Some(("replica-b".into(), b.version))
            );
            assert_eq!(
                store.release_leases("replica-b").await.unwrap(),
                vec!["j1".to_string()]
            );
            assert!(store.claim_next("replica-c", long).await.unwrap().is_some());
        }
    }

    #[tokio::test]
    async fn concurrent_claimants_never_get_the_same_job() {
        for store in backends("concurrent_claimants_never_get_the_same_job").await {
            for i in 0..20 {
                store
                    .insert_job(&job(&format!("j{i:02}")), &[])
                    .await
                    .unwrap();
            }
            let mut claims = Vec::new();
            for r in 0..4 {
                let store = store.clone();
                claims.push(tokio::spawn(async move {
                    let mut got = Vec::new();
                    let owner = format!("replica-{r}");
                    while let Some(l) = store
                        .claim_next(&owner, std::time::Duration::from_secs(60))
                        .await
                        .unwrap()
                    {
                        got.push(l.job_id);
                    }
                    got
                }));
            }
            let mut all = Vec::new();
            for c in claims {
                all.extend(c.await.unwrap());
            }
            all.sort();
            let before = all.len();
            all.dedup();
            assert_eq!(
                (before, all.len()),
                (20, 20),
                "each job claimed exactly once"
            );
        }
    }

    #[tokio::test]
    async fn shared_limits_hold_on_postgres() {
        let Some(admin) = scratch::test_server("shared_limits_hold_on_postgres") else {
            return;
        };
        let store = Store::connect(&scratch::fresh_database(&admin, "limits").await.unwrap())
            .await
            .unwrap();
        // 3 jobs a minute: a burst of 3, then refused with a wait of about 20 s.
        let period = std::time::Duration::from_secs(20);
        for _ in 0..3 {
            assert_eq!(
                store.take_rate_slot("jobs:u", period, 3).await.unwrap(),
                None
            );
        }
        let wait = store
            .take_rate_slot("jobs:u", period, 3)
            .await
            .unwrap()
            .unwrap();
        assert!(wait > std::time::Duration::from_secs(15), "{wait:?}");
        assert_eq!(
            store.take_rate_slot("jobs:v", period, 3).await.unwrap(),
            None,
            "per key"
        );
        // A bucket of 10 requests refilled at 10 per second: ten calls pass, the next ones queue
        // 100 ms apart.
        let bucket = limits::Bucket {
            rate_per_ms: 0.01,
            capacity: 10.0,
        };
        let mut waits = Vec::new();
        for _ in 0..13 {
            waits.push(
                store
                    .reserve_pace("realtime:x", Some(bucket), None)
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
        assert!(waits[..10].iter().all(|w| w.as_millis() < 50), "{waits:?}");
        assert!(waits[12].as_millis() >= 250, "{waits:?}");
        // SQLite offers none of them: one process limits itself in memory.
        let sqlite = Store::connect("sqlite::memory:").await.unwrap();
        assert_eq!(
            sqlite.take_rate_slot("jobs:u", period, 1).await.unwrap(),
            None
        );
        assert_eq!(
            sqlite
                .reserve_pace("realtime:x", Some(bucket), None)
                .await
                .unwrap(),
            None
        );
    }
}
