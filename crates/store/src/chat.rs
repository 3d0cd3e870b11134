//! The store's side of "Ask about the sheet" (`migrations/{sqlite,postgres}/0007_chat.sql`):
//! threads, their messages, runs with their `usage`, the files the code interpreter made and the
//! containers a thread was charged for. Each query is written once for both backends (`on_pool!`
//! for a read, `in_tx!` for a write; see the crate documentation).
//!
//! Invariants kept here:
//! - a run's end is one transaction: its status and `usage`, the containers it opened, and — only
//!   when it completed — the messages it sent and wrote and their files. A run that failed,
//!   expired or was cancelled leaves no message half-stored; its `usage` is kept (it was billed);
//! - a run ends once: [`Store::end_chat_run`] changes only a run still `queued`/`in_progress`;
//! - a thread has at most one unfinished run (a partial unique index refuses a second); a run
//!   older than the run timeout can no longer be driven (its replica died, or gave up on it), so
//!   it is failed with code [`STALE_RUN_CODE`] rather than left to block its thread: by
//!   [`Store::insert_chat_run`] for its thread, by [`Store::interrupt_chat_runs`] at start-up —
//!   never a run that another live replica may still be driving;
//! - a thread's messages are numbered `1, 2, …` with no gap; on PostgreSQL the writer of a
//!   message locks the thread's row first, so that two replicas never take the same number;
//! - every external id (`conv_…`, the CSV's `file-…`, the latest `resp_…`) is saved in its own
//!   statement right after the call that made it.

use almanac_protocol::TokenUsage;
use almanac_protocol::chat::{Role, RunStatus};
use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, FromRow};

use crate::pool::{in_tx, on_pool};
use crate::{Store, StoreResult, now, timestamp};

/// The error code of a run failed because nothing drives it any more ([`Store::insert_chat_run`]
/// over a stale run; the caller of [`Store::interrupt_chat_runs`] passes it too).
pub const STALE_RUN_CODE: &str = "interrupted";

/// The error message of a stale run failed by [`Store::insert_chat_run`].
pub const STALE_RUN_MESSAGE: &str =
    "the server answering this run stopped before it ended; nothing of it was saved: ask again";

/// A new thread.
#[derive(Clone, Debug)]
pub struct NewThread {
    /// `thread_…`.
    pub id: String,
    /// The caller's `sub`.
    pub owner: String,
    /// The spreadsheet it is about.
    pub spreadsheet_id: String,
    /// The sheet (`sheetId`).
    pub sheet_id: i32,
}

/// A thread as stored.
#[derive(Clone, Debug, FromRow)]
pub struct ThreadRecord {
    /// `thread_…`.
    pub id: String,
    /// The caller's `sub`.
    pub owner: String,
    /// The spreadsheet.
    pub spreadsheet_id: String,
    /// The sheet (`sheetId`).
    pub sheet_id: i64,
    /// The OpenAI conversation (`conv_…`), once created.
    pub conversation_id: Option<String>,
    /// The sheet's rows as last uploaded (`file-…`).
    pub csv_file_id: Option<String>,
    /// SHA-256 (hex) of that CSV.
    pub csv_sha256: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

/// A message as stored.
#[derive(Clone, Debug, FromRow)]
pub struct MessageRecord {
    /// `msg_…`.
    pub id: String,
    /// The thread.
    pub thread_id: String,
    /// Order in the thread, from 1.
    pub seq: i64,
    /// Who wrote it.
    pub role: Role,
    /// Its text.
    pub text: String,
    /// JSON list of the files cited in `text` (the API's `file_path` annotations).
    pub annotations: String,
    /// The run that sent or wrote it; `None`: a user message waiting for a run.
    pub run_id: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

/// A new run.
#[derive(Clone, Debug)]
pub struct NewRun {
    /// `run_…`.
    pub id: String,
    /// The thread.
    pub thread_id: String,
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
    pub id: String,
    /// The thread.
    pub thread_id: String,
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
    pub error_code: Option<String>,
    /// … for people.
    pub error_message: Option<String>,
    /// Why the answer was cut short, when it was.
    pub incomplete_reason: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, once ended.
    pub completed_at: Option<String>,
}

impl RunRecord {
    /// The run's tokens.
    pub fn usage(&self) -> TokenUsage {
        TokenUsage {
            input_tokens: self.input_tokens.max(0) as u64,
            cached_input_tokens: self.cached_tokens.max(0) as u64,
            output_tokens: self.output_tokens.max(0) as u64,
            reasoning_tokens: self.reasoning_tokens.max(0) as u64,
        }
    }
}

/// A file as stored, without its bytes.
#[derive(Clone, Debug, FromRow)]
pub struct FileRecord {
    /// `file_…`.
    pub id: String,
    /// The message that cites it.
    pub message_id: String,
    /// Its name.
    pub filename: String,
    /// Its media type.
    pub mime_type: String,
    /// Its size in bytes.
    pub bytes: i64,
}

/// A file to store with an answer.
#[derive(Clone, Debug)]
pub struct NewFile {
    /// `file_…`.
    pub id: String,
    /// Its name.
    pub filename: String,
    /// Its media type.
    pub mime_type: String,
    /// Its bytes.
    pub content: Vec<u8>,
    /// The container it came from (`cntr_…`).
    pub container_id: String,
    /// Its id there (`cfile_…`).
    pub source_id: String,
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
    pub error: Option<(String, String)>,
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
        TokenUsage {
            input_tokens: self.input_tokens.max(0) as u64,
            cached_input_tokens: self.cached_tokens.max(0) as u64,
            output_tokens: self.output_tokens.max(0) as u64,
            reasoning_tokens: self.reasoning_tokens.max(0) as u64,
        }
    }
}

/// The columns of `chat_threads` that [`ThreadRecord`] reads.
const THREAD_COLUMNS: &str =
    "id, owner, spreadsheet_id, sheet_id, conversation_id, csv_file_id, csv_sha256, created_at";
/// The columns of `chat_messages` that [`MessageRecord`] reads.
const MESSAGE_COLUMNS: &str = "id, thread_id, seq, role, text, annotations, run_id, created_at";

/// Fails the unfinished runs created before a time (binds: `failed`, code, message, now, the
/// time); a caller may narrow it with more conditions from `$6`.
const FAIL_STALE_RUNS: &str =
    "UPDATE chat_runs SET status = $1, error_code = $2, error_message = $3, completed_at = $4
     WHERE status IN ('queued', 'in_progress') AND created_at < $5";

/// On PostgreSQL (`$postgres` true), locks the thread's row until the end of the open
/// transaction `$tx`, so that a thread's messages are numbered by one writer at a time (SQLite
/// has but one writer at a time). Returns the database error from the enclosing function.
macro_rules! lock_thread {
    ($tx:ident, $postgres:expr, $thread_id:expr) => {
        if $postgres {
            sqlx::query("SELECT id FROM chat_threads WHERE id = $1 FOR NO KEY UPDATE")
                .bind($thread_id)
                .execute(&mut *$tx)
                .await?;
        }
    };
}

/// Inserts one message after the thread's last (`seq` = last + 1) inside the open transaction
/// `$tx`, after [`lock_thread!`]. Returns the database error from the enclosing function.
macro_rules! insert_message {
    ($tx:ident, $thread_id:expr, $id:expr, $role:expr, $text:expr, $annotations:expr, $run_id:expr) => {
        sqlx::query(
            "INSERT INTO chat_messages (id, thread_id, seq, role, text, annotations, run_id, created_at)
             VALUES ($1, $2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM chat_messages WHERE thread_id = $2), $3, $4, $5, $6, $7)",
        )
        .bind($id)
        .bind($thread_id)
        .bind($role)
        .bind($text)
        .bind($annotations)
        .bind($run_id)
        .bind(now())
        .execute(&mut *$tx)
        .await?;
    };
}

/// The messages and files of a completed run, inside [`Store::end_chat_run`]'s open transaction
/// `$tx` (`$postgres`: the store is PostgreSQL). Returns the database error from the enclosing
/// function.
macro_rules! store_answer {
    ($tx:ident, $postgres:expr, $thread_id:expr, $run_id:expr, $answer:expr) => {{
        let (thread_id, run_id, answer): (&str, &str, &Answer) = ($thread_id, $run_id, $answer);
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
    /// Stores a new thread.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure (or a duplicate id).
    pub async fn insert_chat_thread(&self, t: &NewThread) -> StoreResult<()> {
        in_tx!(self.pool(), tx => sqlx::query(
            "INSERT INTO chat_threads (id, owner, spreadsheet_id, sheet_id, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&t.id)
        .bind(&t.owner)
        .bind(&t.spreadsheet_id)
        .bind(i64::from(t.sheet_id))
        .bind(now())
        .execute(&mut *tx)
        .await?
        .rows_affected());
        Ok(())
    }

    /// A thread that was not deleted, whoever owns it (callers compare the owner).
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn chat_thread(&self, id: &str) -> StoreResult<Option<ThreadRecord>> {
        let sql = format!(
            "SELECT {THREAD_COLUMNS} FROM chat_threads WHERE id = $1 AND deleted_at IS NULL"
        );
        Ok(
            on_pool!(self.pool(), p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(p)
            .await?),
        )
    }

    /// The threads of `owner` on a spreadsheet, newest first, at most `limit`.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn chat_threads(
        &self,
        owner: &str,
        spreadsheet_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<ThreadRecord>> {
        let sql = format!(
            "SELECT {THREAD_COLUMNS} FROM chat_threads WHERE owner = $1 AND spreadsheet_id = $2 AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT $3"
        );
        Ok(
            on_pool!(self.pool(), p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(owner)
            .bind(spreadsheet_id)
            .bind(limit)
            .fetch_all(p)
            .await?),
        )
    }

    /// How many threads `owner` has on a spreadsheet.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn count_chat_threads(&self, owner: &str, spreadsheet_id: &str) -> StoreResult<i64> {
        Ok(on_pool!(self.pool(), p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM chat_threads WHERE owner = $1 AND spreadsheet_id = $2 AND deleted_at IS NULL",
        )
        .bind(owner)
        .bind(spreadsheet_id)
        .fetch_one(p)
        .await?))
    }

    /// Deletes a thread's messages and files and hides the thread; its runs are kept, so that
    /// what they cost still counts in the spreadsheet's month. Returns false when there was no
    /// such (visible) thread.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure (nothing is changed then).
    pub async fn delete_chat_thread(&self, id: &str) -> StoreResult<bool> {
        Ok(in_tx!(self.pool(), tx => {
            let done = sqlx::query(
                "UPDATE chat_threads SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL",
            )
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(false);
            }
            for table in ["chat_files", "chat_messages"] {
                let sql = format!("DELETE FROM {table} WHERE thread_id = $1");
                sqlx::query(AssertSqlSafe(sql))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            true
        }))
    }

    /// Saves the thread's OpenAI conversation id (right after it is created).
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn set_chat_conversation(
        &self,
        thread_id: &str,
        conversation: &str,
    ) -> StoreResult<()> {
        in_tx!(self.pool(), tx => sqlx::query("UPDATE chat_threads SET conversation_id = $1 WHERE id = $2")
            .bind(conversation)
            .bind(thread_id)
            .execute(&mut *tx)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Saves the uploaded CSV of the thread's sheet and its SHA-256 (hex).
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn set_chat_csv(
        &self,
        thread_id: &str,
        file_id: &str,
        sha256: &str,
    ) -> StoreResult<()> {
        in_tx!(self.pool(), tx => sqlx::query("UPDATE chat_threads SET csv_file_id = $1, csv_sha256 = $2 WHERE id = $3")
            .bind(file_id)
            .bind(sha256)
            .bind(thread_id)
            .execute(&mut *tx)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Stores a user message no run has taken yet (`run_id` NULL) at the end of the thread, and
    /// returns it as stored.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure (a duplicate id, a thread that does not
    /// exist).
    pub async fn insert_chat_message(
        &self,
        thread_id: &str,
        id: &str,
        text: &str,
    ) -> StoreResult<MessageRecord> {
        let postgres = self.pool().is_postgres();
        in_tx!(self.pool(), tx => {
            lock_thread!(tx, postgres, thread_id);
            insert_message!(tx, thread_id, id, Role::User, text, "[]", None::<&str>);
        });
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE id = $1");
        Ok(
            on_pool!(self.pool(), p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(p)
            .await?),
        )
    }

    /// A thread's messages in `seq` order (newest first when `newest_first`), at most `limit`.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn chat_messages(
        &self,
        thread_id: &str,
        newest_first: bool,
        limit: i64,
    ) -> StoreResult<Vec<MessageRecord>> {
        let order = if newest_first { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE thread_id = $1 ORDER BY seq {order} LIMIT $2"
        );
        Ok(
            on_pool!(self.pool(), p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(thread_id)
            .bind(limit)
            .fetch_all(p)
            .await?),
        )
    }

    /// The thread's user messages no run has taken yet, oldest first.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn pending_chat_messages(&self, thread_id: &str) -> StoreResult<Vec<MessageRecord>> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE thread_id = $1 AND run_id IS NULL ORDER BY seq"
        );
        Ok(
            on_pool!(self.pool(), p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(thread_id)
            .fetch_all(p)
            .await?),
        )
    }

    /// How many messages the thread holds.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn count_chat_messages(&self, thread_id: &str) -> StoreResult<i64> {
        Ok(
            on_pool!(self.pool(), p => sqlx::query_scalar("SELECT COUNT(*) FROM chat_messages WHERE thread_id = $1")
            .bind(thread_id)
            .fetch_one(p)
            .await?),
        )
    }

    /// The files of a thread (without their bytes), oldest first.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn chat_files(&self, thread_id: &str) -> StoreResult<Vec<FileRecord>> {
        Ok(on_pool!(self.pool(), p => sqlx::query_as(
            "SELECT id, message_id, filename, mime_type, CAST(LENGTH(content) AS BIGINT) AS bytes FROM chat_files WHERE thread_id = $1 ORDER BY created_at, id",
        )
        .bind(thread_id)
        .fetch_all(p)
        .await?))
    }

    /// One file of a thread with its bytes.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn chat_file_content(
        &self,
        thread_id: &str,
        file_id: &str,
    ) -> StoreResult<Option<(FileRecord, Vec<u8>)>> {
        let row: Option<(String, String, String, String, Vec<u8>)> = on_pool!(self.pool(), p => sqlx::query_as(
            "SELECT id, message_id, filename, mime_type, content FROM chat_files WHERE thread_id = $1 AND id = $2",
        )
        .bind(thread_id)
        .bind(file_id)
        .fetch_optional(p)
        .await?);
        Ok(row.map(|(id, message_id, filename, mime_type, content)| {
            let record = FileRecord {
                id,
                message_id,
                filename,
                mime_type,
                bytes: content.len() as i64,
            };
            (record, content)
        }))
    }

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
                .bind(STALE_RUN_CODE)
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
    pub async fn chat_run(&self, id: &str) -> StoreResult<Option<RunRecord>> {
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
    pub async fn chat_runs(&self, thread_id: &str) -> StoreResult<Vec<RunRecord>> {
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
    pub async fn active_chat_run(&self, thread_id: &str) -> StoreResult<Option<RunRecord>> {
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
    pub async fn chat_context_tokens(&self, thread_id: &str) -> StoreResult<u64> {
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
    pub async fn start_chat_run(&self, id: &str) -> StoreResult<()> {
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
    pub async fn set_chat_response(&self, id: &str, response_id: &str) -> StoreResult<()> {
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
        run_id: &str,
        end: &RunEnd,
        answer: Option<&Answer>,
    ) -> StoreResult<bool> {
        let (code, message) = end.error.clone().unzip();
        let u = &end.usage;
        let postgres = self.pool().is_postgres();
        Ok(in_tx!(self.pool(), tx => {
            let thread_id: Option<String> = sqlx::query_scalar(
                "UPDATE chat_runs SET status = $1, input_tokens = $2, cached_tokens = $3, output_tokens = $4, reasoning_tokens = $5,
                 error_code = $6, error_message = $7, incomplete_reason = $8, completed_at = $9
                 WHERE id = $10 AND status IN ('queued', 'in_progress') RETURNING thread_id",
            )
            .bind(end.status)
            .bind(u.input_tokens as i64)
            .bind(u.cached_input_tokens as i64)
            .bind(u.output_tokens as i64)
            .bind(u.reasoning_tokens as i64)
            .bind(&code)
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

    /// How many containers a run was charged for.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn chat_run_containers(&self, run_id: &str) -> StoreResult<u64> {
        let n: i64 = on_pool!(self.pool(), p => sqlx::query_scalar("SELECT COUNT(*) FROM chat_containers WHERE run_id = $1")
            .bind(run_id)
            .fetch_one(p)
            .await?);
        Ok(n.max(0) as u64)
    }

    /// How many containers each run of a thread was charged for, `(run_id, count)`.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn chat_thread_containers(&self, thread_id: &str) -> StoreResult<Vec<(String, i64)>> {
        Ok(on_pool!(self.pool(), p => sqlx::query_as(
            "SELECT run_id, COUNT(*) FROM chat_containers WHERE thread_id = $1 GROUP BY run_id",
        )
        .bind(thread_id)
        .fetch_all(p)
        .await?))
    }

    /// Every chat run on a spreadsheet's threads (any owner) created at or after `since`
    /// (RFC 3339), with the containers each opened.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn chat_runs_since(
        &self,
        spreadsheet_id: &str,
        since: &str,
    ) -> StoreResult<Vec<MonthChatRun>> {
        Ok(on_pool!(self.pool(), p => sqlx::query_as(
            "SELECT r.model, r.status, r.est_cost_usd, r.input_tokens, r.cached_tokens, r.output_tokens, r.reasoning_tokens,
                    (SELECT COUNT(*) FROM chat_containers c WHERE c.run_id = r.id) AS containers
             FROM chat_runs r JOIN chat_threads t ON t.id = r.thread_id
             WHERE t.spreadsheet_id = $1 AND r.created_at >= $2",
        )
        .bind(spreadsheet_id)
        .bind(since)
        .fetch_all(p)
        .await?))
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
        code: &str,
        message: &str,
        stale_before: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let stale_before = timestamp(stale_before);
        Ok(in_tx!(self.pool(), tx => sqlx::query(FAIL_STALE_RUNS)
            .bind(RunStatus::Failed)
            .bind(code)
            .bind(message)
            .bind(now())
            .bind(&stale_before)
            .execute(&mut *tx)
            .await?
            .rows_affected()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch;

    /// A fresh store on each backend: SQLite in memory, and PostgreSQL when a test server is set.
    async fn backends(test: &str) -> Vec<Store> {
        let mut stores = vec![Store::connect("sqlite::memory:").await.unwrap()];
        if let Some(admin) = scratch::test_server(test) {
            let url = scratch::fresh_database(&admin, "chat").await.unwrap();
            stores.push(Store::connect(&url).await.unwrap());
        }
        stores
    }

    /// The cutoff a caller passes with a run timeout of ten minutes.
    fn ten_minutes_ago() -> DateTime<Utc> {
        Utc::now() - chrono::Duration::minutes(10)
    }

    fn thread(id: &str) -> NewThread {
        NewThread {
            id: id.into(),
            owner: "user-a".into(),
            spreadsheet_id: "sheet".into(),
            sheet_id: 0,
        }
    }

    fn run(id: &str, thread_id: &str) -> NewRun {
        NewRun {
            id: id.into(),
            thread_id: thread_id.into(),
            model: "gpt-4.1-mini-2025-04-14".into(),
            est_cost_usd: 0.01,
            stale_before: ten_minutes_ago(),
        }
    }

    fn end(status: RunStatus, containers: &[&str]) -> RunEnd {
        RunEnd {
            status,
            usage: TokenUsage {
                input_tokens: 100,
                cached_input_tokens: 0,
                output_tokens: 20,
                reasoning_tokens: 0,
            },
            error: (status != RunStatus::Completed).then(|| ("server_error".into(), "x".into())),
            incomplete_reason: None,
            containers: containers.iter().map(|c| c.to_string()).collect(),
        }
    }

    /// Makes a run look `minutes` old, as if its replica had died then.
    async fn backdate(store: &Store, run_id: &str, minutes: i64) {
        let created = timestamp(Utc::now() - chrono::Duration::minutes(minutes));
        on_pool!(store.pool(), p => sqlx::query("UPDATE chat_runs SET created_at = $1 WHERE id = $2")
            .bind(&created)
            .bind(run_id)
            .execute(p)
            .await
            .unwrap()
            .rows_affected());
    }

    #[tokio::test]
    async fn a_completed_run_stores_its_messages_and_files_at_once_and_ends_once() {
        for store in
            backends("a_completed_run_stores_its_messages_and_files_at_once_and_ends_once").await
        {
            store.insert_chat_thread(&thread("t1")).await.unwrap();
            let m1 = store
                .insert_chat_message("t1", "m1", "hello")
                .await
                .unwrap();
            assert_eq!((m1.seq, m1.role, m1.run_id), (1, Role::User, None));
            assert!(store.insert_chat_run(&run("r1", "t1")).await.unwrap());
            assert!(
                !store.insert_chat_run(&run("r2", "t1")).await.unwrap(),
                "one unfinished run per thread"
            );
            let answer = Answer {
                question: None,
                sent: vec!["m1".into()],
                reply: ("m2".into(), "hi".into(), "[]".into()),
                files: vec![NewFile {
                    id: "f1".into(),
                    filename: "chart.png".into(),
                    mime_type: "image/png".into(),
                    content: vec![1, 2, 3],
                    container_id: "cntr_1".into(),
                    source_id: "cfile_1".into(),
                }],
            };
            let done = end(RunStatus::Completed, &["cntr_1"]);
            assert!(
                store
                    .end_chat_run("r1", &done, Some(&answer))
                    .await
                    .unwrap()
            );
            assert!(
                !store
                    .end_chat_run("r1", &done, Some(&answer))
                    .await
                    .unwrap()
            );
            let messages = store.chat_messages("t1", false, 10).await.unwrap();
            assert_eq!(messages.len(), 2);
            assert_eq!(messages[0].run_id.as_deref(), Some("r1"));
            assert_eq!((messages[1].seq, messages[1].role), (2, Role::Assistant));
            assert!(store.pending_chat_messages("t1").await.unwrap().is_empty());
            let (file, bytes) = store.chat_file_content("t1", "f1").await.unwrap().unwrap();
            assert_eq!((file.message_id.as_str(), bytes), ("m2", vec![1, 2, 3]));
            assert_eq!(store.chat_files("t1").await.unwrap()[0].bytes, 3);
            assert_eq!(store.chat_context_tokens("t1").await.unwrap(), 120);
            assert_eq!(store.chat_run_containers("r1").await.unwrap(), 1);
            let r1 = store.chat_run("r1").await.unwrap().unwrap();
            assert_eq!(
                (r1.status, r1.usage().output_tokens),
                (RunStatus::Completed, 20)
            );
        }
    }

    #[tokio::test]
    async fn a_failed_run_keeps_its_usage_but_no_message_and_a_container_is_charged_once() {
        for store in
            backends("a_failed_run_keeps_its_usage_but_no_message_and_a_container_is_charged_once")
                .await
        {
            store.insert_chat_thread(&thread("t1")).await.unwrap();
            store.insert_chat_run(&run("r1", "t1")).await.unwrap();
            let failed = end(RunStatus::Failed, &["cntr_1"]);
            assert!(store.end_chat_run("r1", &failed, None).await.unwrap());
            assert_eq!(store.count_chat_messages("t1").await.unwrap(), 0);
            store.insert_chat_run(&run("r2", "t1")).await.unwrap();
            let again = end(RunStatus::Completed, &["cntr_1", "cntr_2"]);
            let answer = Answer {
                question: Some(("m1".into(), "q".into())),
                sent: Vec::new(),
                reply: ("m2".into(), "a".into(), "[]".into()),
                files: Vec::new(),
            };
            store
                .end_chat_run("r2", &again, Some(&answer))
                .await
                .unwrap();
            let month = store.chat_runs_since("sheet", "").await.unwrap();
            let containers: Vec<i64> = month.iter().map(|r| r.containers).collect();
            assert_eq!(containers.iter().sum::<i64>(), 2, "{containers:?}");
            assert_eq!(month[0].usage().input_tokens, 100);
            let mut per_run = store.chat_thread_containers("t1").await.unwrap();
            per_run.sort();
            assert_eq!(per_run, [("r1".to_string(), 1), ("r2".to_string(), 1)]);
            store.insert_chat_run(&run("r3", "t1")).await.unwrap();
            // At start-up everything created before now is stale (one process, or all of them,
            // restarted).
            assert_eq!(
                store
                    .interrupt_chat_runs(
                        STALE_RUN_CODE,
                        "restart",
                        Utc::now() + chrono::Duration::seconds(1)
                    )
                    .await
                    .unwrap(),
                1
            );
            let r3 = store.chat_run("r3").await.unwrap().unwrap();
            assert_eq!(
                (r3.status, r3.error_code.as_deref()),
                (RunStatus::Failed, Some(STALE_RUN_CODE))
            );
            assert!(store.active_chat_run("t1").await.unwrap().is_none());
        }
    }

    #[tokio::test]
    async fn only_stale_runs_are_interrupted_and_a_stale_run_does_not_block_its_thread() {
        for store in
            backends("only_stale_runs_are_interrupted_and_a_stale_run_does_not_block_its_thread")
                .await
        {
            for t in ["t1", "t2"] {
                store.insert_chat_thread(&thread(t)).await.unwrap();
            }
            assert!(store.insert_chat_run(&run("fresh", "t1")).await.unwrap());
            assert!(store.insert_chat_run(&run("old", "t2")).await.unwrap());
            store.start_chat_run("old").await.unwrap();
            backdate(&store, "old", 20).await;
            // Another replica starts: it fails the run whose replica died, not the live one.
            let failed = store
                .interrupt_chat_runs(STALE_RUN_CODE, "restart", ten_minutes_ago())
                .await
                .unwrap();
            assert_eq!(failed, 1);
            let (fresh, old) = (
                store.chat_run("fresh").await.unwrap().unwrap(),
                store.chat_run("old").await.unwrap().unwrap(),
            );
            assert_eq!(fresh.status, RunStatus::Queued);
            assert_eq!(
                (
                    old.status,
                    old.error_code.as_deref(),
                    old.error_message.as_deref()
                ),
                (RunStatus::Failed, Some(STALE_RUN_CODE), Some("restart"))
            );
            assert!(old.completed_at.is_some());
            // A live run still blocks its thread; a stale one is failed by the next run's insert.
            assert!(!store.insert_chat_run(&run("second", "t1")).await.unwrap());
            assert_eq!(
                store.chat_run("fresh").await.unwrap().unwrap().status,
                RunStatus::Queued
            );
            backdate(&store, "fresh", 11).await;
            assert!(store.insert_chat_run(&run("second", "t1")).await.unwrap());
            let fresh = store.chat_run("fresh").await.unwrap().unwrap();
            assert_eq!(
                (
                    fresh.status,
                    fresh.error_code.as_deref(),
                    fresh.error_message.as_deref()
                ),
                (
                    RunStatus::Failed,
                    Some(STALE_RUN_CODE),
                    Some(STALE_RUN_MESSAGE)
                )
            );
            let active = store.active_chat_run("t1").await.unwrap().unwrap();
            assert_eq!(active.id, "second");
            // The stale run's driver, if it wakes up, cannot end it any more.
            let late = end(RunStatus::Completed, &[]);
            assert!(!store.end_chat_run("fresh", &late, None).await.unwrap());
        }
    }

    #[tokio::test]
    async fn a_deleted_thread_loses_its_messages_and_files_but_keeps_its_runs() {
        for store in
            backends("a_deleted_thread_loses_its_messages_and_files_but_keeps_its_runs").await
        {
            store.insert_chat_thread(&thread("t1")).await.unwrap();
            store.set_chat_conversation("t1", "conv_1").await.unwrap();
            store.set_chat_csv("t1", "file-1", "abc").await.unwrap();
            let t1 = store.chat_thread("t1").await.unwrap().unwrap();
            assert_eq!(
                (
                    t1.conversation_id.as_deref(),
                    t1.csv_file_id.as_deref(),
                    t1.sheet_id
                ),
                (Some("conv_1"), Some("file-1"), 0)
            );
            assert_eq!(
                store.count_chat_threads("user-a", "sheet").await.unwrap(),
                1
            );
            assert_eq!(
                store
                    .chat_threads("user-a", "sheet", 10)
                    .await
                    .unwrap()
                    .len(),
                1
            );
            store.insert_chat_message("t1", "m1", "q").await.unwrap();
            store.insert_chat_run(&run("r1", "t1")).await.unwrap();
            store.set_chat_response("r1", "resp_1").await.unwrap();
            assert!(store.delete_chat_thread("t1").await.unwrap());
            assert!(!store.delete_chat_thread("t1").await.unwrap());
            assert!(store.chat_thread("t1").await.unwrap().is_none());
            assert_eq!(store.count_chat_messages("t1").await.unwrap(), 0);
            let runs = store.chat_runs("t1").await.unwrap();
            assert_eq!(runs[0].response_id.as_deref(), Some("resp_1"));
        }
    }

    #[tokio::test]
    async fn concurrent_messages_on_one_thread_are_numbered_without_a_clash() {
        for store in
            backends("concurrent_messages_on_one_thread_are_numbered_without_a_clash").await
        {
            store.insert_chat_thread(&thread("t1")).await.unwrap();
            let mut writers = Vec::new();
            for i in 0..8 {
                let store = store.clone();
                writers.push(tokio::spawn(async move {
                    store
                        .insert_chat_message("t1", &format!("m{i}"), "q")
                        .await
                        .unwrap()
                        .seq
                }));
            }
            let mut seqs = Vec::new();
            for w in writers {
                seqs.push(w.await.unwrap());
            }
            seqs.sort_unstable();
            assert_eq!(seqs, (1..=8).collect::<Vec<i64>>());
        }
    }
}
