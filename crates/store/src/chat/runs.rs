//! A thread's runs in the store: insert one (failing a stale run of its thread first), read
//! them, start one, save its latest `resp_…`, end it once — its status, `usage`, containers and,
//! when it completed, its messages and files in one transaction — the month's runs of a
//! spreadsheet for its budget, and the runs no replica drives any more failed at start-up.

use almanac_core::ids::{RunId, ThreadId};
use almanac_protocol::chat::{Role, RunStatus};
use almanac_protocol::{ErrorCode, TokenUsage};
use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, FromRow};

use crate::chat::files::NewFile;
use crate::chat::messages::{insert_message, lock_thread};
use crate::cost::SpendScope;
use crate::pool::{in_tx, on_pool};
use crate::records::{MaybeStoredTime, StoredTime, token_usage};
use crate::{Store, StoreResult, now, timestamp};

/// The error code of a run failed because nothing drives it any more ([`Store::insert_chat_run`]
/// over a stale run; the caller of [`Store::interrupt_chat_runs`] passes it too).
pub const STALE_RUN_CODE: ErrorCode = ErrorCode::Interrupted;

/// The error message of a stale run failed by [`Store::insert_chat_run`].
pub const STALE_RUN_MESSAGE: &str =
    "the server answering this run stopped before it ended; nothing of it was saved: ask again";

/// A new run.
#[derive(Clone, Debug)]
pub struct NewRun {
    /// `run_…`.
    pub id: RunId,
    /// The thread.
    pub thread_id: ThreadId,
    /// The model.
    pub model: String,
    /// The estimate the budget was checked with, USD.
    pub est_cost_usd: f64,
    /// The thread's unfinished run, if created before this time, can no longer be alive (its
    /// driver gives up after the run timeout): it is failed ([`STALE_RUN_CODE`],
    /// [`STALE_RUN_MESSAGE`]) before this run is inserted. Pass now − the run timeout (plus a
    /// margin for the driver to store the run's end).
    pub stale_before: DateTime<Utc>,
}

/// The columns of `chat_runs` that [`RunRecord`] reads.
const RUN_COLUMNS: &str = "id, thread_id, status, model, response_id, est_cost_usd, input_tokens, cached_tokens, output_tokens, reasoning_tokens, error_code, error_message, incomplete_reason, created_at, completed_at";

/// A run as stored.
#[derive(Clone, Debug, FromRow)]
pub struct RunRecord {
    /// `run_…`.
    pub id: RunId,
    /// The thread.
    pub thread_id: ThreadId,
    /// Where it is.
    pub status: RunStatus,
    /// The model.
    pub model: String,
    /// The latest OpenAI response (`resp_…`).
    pub response_id: Option<String>,
    /// The estimate, USD.
    pub est_cost_usd: f64,
    /// `usage.input_tokens`, summed over the run's responses.
    pub input_tokens: i64,
    /// `usage.input_tokens_details.cached_tokens`, summed.
    pub cached_tokens: i64,
    /// `usage.output_tokens`, summed.
    pub output_tokens: i64,
    /// `usage.output_tokens_details.reasoning_tokens`, summed.
    pub reasoning_tokens: i64,
    /// Why it did not complete (a stable code).
    pub error_code: Option<ErrorCode>,
    /// … for people.
    pub error_message: Option<String>,
    /// Why the answer was cut short, when it was.
    pub incomplete_reason: Option<String>,
    /// When it was created.
    #[sqlx(try_from = "StoredTime")]
    pub created_at: DateTime<Utc>,
    /// When it ended, once it has.
    #[sqlx(try_from = "MaybeStoredTime")]
    pub completed_at: Option<DateTime<Utc>>,
}

impl RunRecord {
    /// The run's tokens.
    pub fn usage(&self) -> TokenUsage {
        token_usage(
            self.input_tokens,
            self.cached_tokens,
            self.output_tokens,
            self.reasoning_tokens,
        )
    }
}

/// The messages a completed run stores with its end.
#[derive(Clone, Debug)]
pub struct Answer {
    /// A user message that was never stored before (`POST /chat`): `(id, text)`.
    pub question: Option<(String, String)>,
    /// Waiting user messages the run sent (`POST /threads/{id}/runs`).
    pub sent: Vec<String>,
    /// The assistant's message: id, text and annotations (JSON).
    pub reply: (String, String, String),
    /// The files it cites.
    pub files: Vec<NewFile>,
}

/// How a run ended.
#[derive(Clone, Debug)]
pub struct RunEnd {
    /// Its final status.
    pub status: RunStatus,
    /// Tokens of every response it made.
    pub usage: TokenUsage,
    /// `(code, message)` unless completed.
    pub error: Option<(ErrorCode, String)>,
    /// Why the answer was cut short, when it was.
    pub incomplete_reason: Option<String>,
    /// Code interpreter containers its responses used.
    pub containers: Vec<String>,
}

/// One chat run of a spreadsheet's month, for its budget.
#[derive(Clone, Debug, FromRow)]
pub struct MonthChatRun {
    /// The model.
    pub model: String,
    /// Where it is.
    pub status: RunStatus,
    /// The estimate, USD.
    pub est_cost_usd: f64,
    /// Tokens.
    pub input_tokens: i64,
    /// … cached.
    pub cached_tokens: i64,
    /// … output.
    pub output_tokens: i64,
    /// … reasoning.
    pub reasoning_tokens: i64,
    /// Containers the run opened (charged once per thread).
    pub containers: i64,
}

impl MonthChatRun {
    /// The run's tokens.
    pub fn usage(&self) -> TokenUsage {
        token_usage(
            self.input_tokens,
            self.cached_tokens,
            self.output_tokens,
            self.reasoning_tokens,
        )
    }
}

/// Fails the unfinished runs created before a time (binds: `failed`, code, message, now, the
/// time); a caller may narrow it with more conditions from `$6`.
const FAIL_STALE_RUNS: &str =
    "UPDATE chat_runs SET status = $1, error_code = $2, error_message = $3, completed_at = $4
     WHERE status IN ('queued', 'in_progress') AND created_at < $5";

/// The messages and files of a completed run, inside [`Store::end_chat_run`]'s open transaction
/// `$tx` (`$postgres`: the store is PostgreSQL). Returns the database error from the enclosing
/// function.
macro_rules! store_answer {
    ($tx:ident, $postgres:expr, $thread_id:expr, $run_id:expr, $answer:expr) => {{
        let (thread_id, run_id, answer): (&ThreadId, &RunId, &Answer) = ($thread_id, $run_id, $answer);
        for id in &answer.sent {
            sqlx::query(
                "UPDATE chat_messages SET run_id = $1 WHERE id = $2 AND thread_id = $3 AND run_id IS NULL",
            )
            .bind(run_id)
            .bind(id)
            .bind(thread_id)
            .execute(&mut *$tx)
            .await?;
        }
        lock_thread!($tx, $postgres, thread_id);
        if let Some((id, text)) = &answer.question {
            insert_message!($tx, thread_id, id, Role::User, text, "[]", Some(run_id));
        }
        let (id, text, annotations) = &answer.reply;
        insert_message!($tx, thread_id, id, Role::Assistant, text, annotations, Some(run_id));
        for f in &answer.files {
            sqlx::query(
                "INSERT INTO chat_files (id, thread_id, message_id, filename, mime_type, content, container_id, source_id, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&f.id)
            .bind(thread_id)
            .bind(id)
            .bind(&f.filename)
            .bind(&f.mime_type)
            .bind(&f.content)
            .bind(&f.container_id)
            .bind(&f.source_id)
            .bind(now())
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

impl Store {
    /// Stores a new run (`queued`), in one transaction: first fails the thread's unfinished run
    /// if it was created before `run.stale_before` (its driver is gone: code
    /// [`STALE_RUN_CODE`], message [`STALE_RUN_MESSAGE`]), then inserts the run. Returns false,
    /// storing no run, when the thread still has a run that has not ended (a younger one, which
    /// may still be answering), or when a run with this id exists.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure (nothing is changed then).
    pub async fn insert_chat_run(&self, run: &NewRun) -> StoreResult<bool> {
        let (now, stale_before) = (now(), timestamp(run.stale_before));
        let fail_stale = format!("{FAIL_STALE_RUNS} AND thread_id = $6");
        Ok(in_tx!(self.pool(), tx => {
            sqlx::query(AssertSqlSafe(fail_stale))
                .bind(RunStatus::Failed)
                .bind(STALE_RUN_CODE.as_str())
                .bind(STALE_RUN_MESSAGE)
                .bind(&now)
                .bind(&stale_before)
                .bind(&run.thread_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO chat_runs (id, thread_id, status, model, est_cost_usd, created_at) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT DO NOTHING",
            )
            .bind(&run.id)
            .bind(&run.thread_id)
            .bind(RunStatus::Queued)
            .bind(&run.model)
            .bind(run.est_cost_usd)
            .bind(&now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1
        }))
    }

    /// A run.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn chat_run(&self, id: &RunId) -> StoreResult<Option<RunRecord>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM chat_runs WHERE id = $1");
        Ok(
            on_pool!(self.pool(), p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(p)
            .await?),
        )
    }

    /// The runs of a thread, oldest first.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn chat_runs(&self, thread_id: &ThreadId) -> StoreResult<Vec<RunRecord>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM chat_runs WHERE thread_id = $1 ORDER BY created_at, id"
        );
        Ok(
            on_pool!(self.pool(), p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(thread_id)
            .fetch_all(p)
            .await?),
        )
    }

    /// The thread's run that has not ended, if any.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn active_chat_run(&self, thread_id: &ThreadId) -> StoreResult<Option<RunRecord>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM chat_runs WHERE thread_id = $1 AND status IN ('queued', 'in_progress')"
        );
        Ok(
            on_pool!(self.pool(), p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(thread_id)
            .fetch_optional(p)
            .await?),
        )
    }

    /// Input plus output tokens of the thread's latest completed run: roughly what the
    /// conversation's context holds before the next turn (0 for a new thread).
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn chat_context_tokens(&self, thread_id: &ThreadId) -> StoreResult<u64> {
        let tokens: Option<i64> = on_pool!(self.pool(), p => sqlx::query_scalar(
            "SELECT input_tokens + output_tokens FROM chat_runs WHERE thread_id = $1 AND status = 'completed' ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(thread_id)
        .fetch_optional(p)
        .await?);
        Ok(tokens.unwrap_or(0).max(0) as u64)
    }

    /// Moves a `queued` run to `in_progress`.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn start_chat_run(&self, id: &RunId) -> StoreResult<()> {
        in_tx!(self.pool(), tx => sqlx::query("UPDATE chat_runs SET status = $1 WHERE id = $2 AND status = $3")
            .bind(RunStatus::InProgress)
            .bind(id)
            .bind(RunStatus::Queued)
            .execute(&mut *tx)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Saves the run's latest OpenAI response id (right after it is created).
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn set_chat_response(&self, id: &RunId, response_id: &str) -> StoreResult<()> {
        in_tx!(self.pool(), tx => sqlx::query("UPDATE chat_runs SET response_id = $1 WHERE id = $2")
            .bind(response_id)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Ends a run still `queued` or `in_progress`, in one transaction: its status, `usage` and
    /// error, the containers it opened that the thread had not been charged for, and with
    /// `answer` (completed runs only) the messages and files. Returns false, changing nothing,
    /// when the run had already ended (it was cancelled, or failed as stale, meanwhile) or does
    /// not exist.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure (nothing is changed then).
    pub async fn end_chat_run(
        &self,
        run_id: &RunId,
        end: &RunEnd,
        answer: Option<&Answer>,
    ) -> StoreResult<bool> {
        let (code, message) = end.error.clone().unzip();
        let code = code.as_ref().map(ErrorCode::as_str);
        let u = &end.usage;
        let postgres = self.pool().is_postgres();
        Ok(in_tx!(self.pool(), tx => {
            let thread_id: Option<ThreadId> = sqlx::query_scalar(
                "UPDATE chat_runs SET status = $1, input_tokens = $2, cached_tokens = $3, output_tokens = $4, reasoning_tokens = $5,
                 error_code = $6, error_message = $7, incomplete_reason = $8, completed_at = $9
                 WHERE id = $10 AND status IN ('queued', 'in_progress') RETURNING thread_id",
            )
            .bind(end.status)
            .bind(u.input_tokens as i64)
            .bind(u.cached_input_tokens as i64)
            .bind(u.output_tokens as i64)
            .bind(u.reasoning_tokens as i64)
            .bind(code)
            .bind(&message)
            .bind(&end.incomplete_reason)
            .bind(now())
            .bind(run_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(thread_id) = thread_id else {
                return Ok(false);
            };
            for container in &end.containers {
                sqlx::query(
                    "INSERT INTO chat_containers (thread_id, container_id, run_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(&thread_id)
                .bind(container)
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
            }
            if let Some(answer) = answer {
                store_answer!(tx, postgres, &thread_id, run_id, answer);
            }
            true
        }))
    }

    /// Every chat run of `scope` (a spreadsheet's threads, an owner's, or all) created at or
    /// after `since`, with the containers each opened.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn chat_runs_since(
        &self,
        scope: SpendScope<'_>,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<MonthChatRun>> {
        let sql = format!(
            "SELECT r.model, r.status, r.est_cost_usd, r.input_tokens, r.cached_tokens, r.output_tokens, r.reasoning_tokens,
                    (SELECT COUNT(*) FROM chat_containers c WHERE c.run_id = r.id) AS containers
             FROM chat_runs r JOIN chat_threads t ON t.id = r.thread_id
             WHERE r.created_at >= $1 AND {}",
            scope.condition("t")
        );
        Ok(
            on_pool!(self.pool(), p => sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(timestamp(since))
            .bind(scope.value())
            .fetch_all(p)
            .await?),
        )
    }

    /// Fails, with `code` (usually [`STALE_RUN_CODE`]) and `message`, every run still
    /// `queued`/`in_progress` that was created before `stale_before`: at start-up, the runs an
    /// earlier process left unfinished. Pass now − the run timeout (plus a margin for a driver to
    /// store its run's end): a younger run may still be answering on another replica sharing the
    /// database, and is left alone. (A process that alone owns its SQLite file may pass now.)
    /// Returns how many runs were failed.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn interrupt_chat_runs(
        &self,
        code: &ErrorCode,
        message: &str,
        stale_before: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let stale_before = timestamp(stale_before);
        Ok(in_tx!(self.pool(), tx => sqlx::query(FAIL_STALE_RUNS)
            .bind(RunStatus::Failed)
            .bind(code.as_str())
            .bind(message)
            .bind(now())
            .bind(&stale_before)
            .execute(&mut *tx)
            .await?
            .rows_affected()))
    }
}
