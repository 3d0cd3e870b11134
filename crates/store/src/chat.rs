//! The store's side of "Ask about the sheet" (`migrations/0006_chat.sql`): threads, their
//! messages, runs with their `usage`, the files the code interpreter made and the containers a
//! thread was charged for. Kept in one module so that another database can port these queries.
//!
//! Invariants kept here:
//! - a run's end is one transaction: its status and `usage`, the containers it opened, and — only
//!   when it completed — the messages it sent and wrote and their files. A run that failed,
//!   expired or was cancelled leaves no message half-stored; its `usage` is kept (it was billed);
//! - a run ends once: [`Store::end_chat_run`] changes only a run still `queued`/`in_progress`;
//! - a thread has at most one unfinished run (a partial unique index refuses a second);
//! - every external id (`conv_…`, the CSV's `file-…`, the latest `resp_…`) is saved in its own
//!   statement right after the call that made it.

use almanac_protocol::TokenUsage;
use almanac_protocol::chat::{Role, RunStatus};
use sqlx::FromRow;

use crate::{Store, StoreResult, now};

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

impl Store {
    /// Stores a new thread.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure (or a duplicate id).
    pub async fn insert_chat_thread(&self, t: &NewThread) -> StoreResult<()> {
        sqlx::query("INSERT INTO chat_threads (id, owner, spreadsheet_id, sheet_id, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(&t.id)
            .bind(&t.owner)
            .bind(&t.spreadsheet_id)
            .bind(t.sheet_id)
            .bind(now())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A thread that was not deleted, whoever owns it (callers compare the owner).
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn chat_thread(&self, id: &str) -> StoreResult<Option<ThreadRecord>> {
        let sql = format!(
            "SELECT {THREAD_COLUMNS} FROM chat_threads WHERE id = ? AND deleted_at IS NULL"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?)
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
            "SELECT {THREAD_COLUMNS} FROM chat_threads WHERE owner = ? AND spreadsheet_id = ? AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT ?"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(spreadsheet_id)
            .bind(limit)
            .fetch_all(self.pool())
            .await?)
    }

    /// How many threads `owner` has on a spreadsheet.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn count_chat_threads(&self, owner: &str, spreadsheet_id: &str) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM chat_threads WHERE owner = ? AND spreadsheet_id = ? AND deleted_at IS NULL",
        )
        .bind(owner)
        .bind(spreadsheet_id)
        .fetch_one(self.pool())
        .await?)
    }

    /// Deletes a thread's messages and files and hides the thread; its runs are kept, so that
    /// what they cost still counts in the spreadsheet's month. Returns false when there was no
    /// such (visible) thread.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure (nothing is changed then).
    pub async fn delete_chat_thread(&self, id: &str) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE chat_threads SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
        )
        .bind(now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        for table in ["chat_files", "chat_messages"] {
            let sql = format!("DELETE FROM {table} WHERE thread_id = ?");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
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
        sqlx::query("UPDATE chat_threads SET conversation_id = ? WHERE id = ?")
            .bind(conversation)
            .bind(thread_id)
            .execute(self.pool())
            .await?;
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
        sqlx::query("UPDATE chat_threads SET csv_file_id = ?, csv_sha256 = ? WHERE id = ?")
            .bind(file_id)
            .bind(sha256)
            .bind(thread_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Stores a user message no run has taken yet (`run_id` NULL) at the end of the thread.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn insert_chat_message(
        &self,
        thread_id: &str,
        id: &str,
        text: &str,
    ) -> StoreResult<MessageRecord> {
        let mut tx = self.pool().begin().await?;
        insert_message(&mut tx, thread_id, id, Role::User, text, "[]", None).await?;
        tx.commit().await?;
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE id = ?");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(self.pool())
            .await?)
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
            "SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE thread_id = ? ORDER BY seq {order} LIMIT ?"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(thread_id)
            .bind(limit)
            .fetch_all(self.pool())
            .await?)
    }

    /// The thread's user messages no run has taken yet, oldest first.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn pending_chat_messages(&self, thread_id: &str) -> StoreResult<Vec<MessageRecord>> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE thread_id = ? AND run_id IS NULL ORDER BY seq"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(thread_id)
            .fetch_all(self.pool())
            .await?)
    }

    /// How many messages the thread holds.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn count_chat_messages(&self, thread_id: &str) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM chat_messages WHERE thread_id = ?")
                .bind(thread_id)
                .fetch_one(self.pool())
                .await?,
        )
    }

    /// The files of a thread (without their bytes), oldest first.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn chat_files(&self, thread_id: &str) -> StoreResult<Vec<FileRecord>> {
        Ok(sqlx::query_as(
            "SELECT id, message_id, filename, mime_type, LENGTH(content) AS bytes FROM chat_files WHERE thread_id = ? ORDER BY created_at, id",
        )
        .bind(thread_id)
        .fetch_all(self.pool())
        .await?)
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
        let row: Option<(String, String, String, String, Vec<u8>)> = sqlx::query_as(
            "SELECT id, message_id, filename, mime_type, content FROM chat_files WHERE thread_id = ? AND id = ?",
        )
        .bind(thread_id)
        .bind(file_id)
        .fetch_optional(self.pool())
        .await?;
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

    /// Stores a new run (`queued`). Returns false, storing nothing, when the thread already has a
    /// run that has not ended.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn insert_chat_run(&self, run: &NewRun) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO chat_runs (id, thread_id, status, model, est_cost_usd, created_at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(&run.id)
        .bind(&run.thread_id)
        .bind(RunStatus::Queued)
        .bind(&run.model)
        .bind(run.est_cost_usd)
        .bind(now())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A run.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn chat_run(&self, id: &str) -> StoreResult<Option<RunRecord>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM chat_runs WHERE id = ?");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?)
    }

    /// The runs of a thread, oldest first.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn chat_runs(&self, thread_id: &str) -> StoreResult<Vec<RunRecord>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM chat_runs WHERE thread_id = ? ORDER BY created_at, id"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(thread_id)
            .fetch_all(self.pool())
            .await?)
    }

    /// The thread's run that has not ended, if any.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn active_chat_run(&self, thread_id: &str) -> StoreResult<Option<RunRecord>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM chat_runs WHERE thread_id = ? AND status IN ('queued', 'in_progress')"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(thread_id)
            .fetch_optional(self.pool())
            .await?)
    }

    /// Input plus output tokens of the thread's latest completed run: roughly what the
    /// conversation's context holds before the next turn (0 for a new thread).
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn chat_context_tokens(&self, thread_id: &str) -> StoreResult<u64> {
        let tokens: Option<i64> = sqlx::query_scalar(
            "SELECT input_tokens + output_tokens FROM chat_runs WHERE thread_id = ? AND status = 'completed' ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(thread_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(tokens.unwrap_or(0).max(0) as u64)
    }

    /// Moves a `queued` run to `in_progress`.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn start_chat_run(&self, id: &str) -> StoreResult<()> {
        sqlx::query("UPDATE chat_runs SET status = ? WHERE id = ? AND status = ?")
            .bind(RunStatus::InProgress)
            .bind(id)
            .bind(RunStatus::Queued)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Saves the run's latest OpenAI response id (right after it is created).
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn set_chat_response(&self, id: &str, response_id: &str) -> StoreResult<()> {
        sqlx::query("UPDATE chat_runs SET response_id = ? WHERE id = ?")
            .bind(response_id)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends a run still `queued` or `in_progress`, in one transaction: its status, `usage` and
    /// error, the containers it opened that the thread had not been charged for, and with
    /// `answer` (completed runs only) the messages and files. Returns false, changing nothing,
    /// when the run had already ended (it was cancelled meanwhile).
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure (nothing is changed then).
    pub async fn end_chat_run(
        &self,
        run_id: &str,
        end: &RunEnd,
        answer: Option<&Answer>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await?;
        let (code, message) = end.error.clone().unzip();
        let u = &end.usage;
        let done = sqlx::query(
            "UPDATE chat_runs SET status = ?, input_tokens = ?, cached_tokens = ?, output_tokens = ?, reasoning_tokens = ?,
             error_code = ?, error_message = ?, incomplete_reason = ?, completed_at = ?
             WHERE id = ? AND status IN ('queued', 'in_progress')",
        )
        .bind(end.status)
        .bind(u.input_tokens as i64)
        .bind(u.cached_input_tokens as i64)
        .bind(u.output_tokens as i64)
        .bind(u.reasoning_tokens as i64)
        .bind(code)
        .bind(message)
        .bind(&end.incomplete_reason)
        .bind(now())
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        let thread_id: String = sqlx::query_scalar("SELECT thread_id FROM chat_runs WHERE id = ?")
            .bind(run_id)
            .fetch_one(&mut *tx)
            .await?;
        for container in &end.containers {
            sqlx::query(
                "INSERT INTO chat_containers (thread_id, container_id, run_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(&thread_id)
            .bind(container)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(answer) = answer {
            store_answer(&mut tx, &thread_id, run_id, answer).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// How many containers a run was charged for.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn chat_run_containers(&self, run_id: &str) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM chat_containers WHERE run_id = ?")
            .bind(run_id)
            .fetch_one(self.pool())
            .await?;
        Ok(n.max(0) as u64)
    }

    /// How many containers each run of a thread was charged for, `(run_id, count)`.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn chat_thread_containers(&self, thread_id: &str) -> StoreResult<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT run_id, COUNT(*) FROM chat_containers WHERE thread_id = ? GROUP BY run_id",
        )
        .bind(thread_id)
        .fetch_all(self.pool())
        .await?)
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
        Ok(sqlx::query_as(
            "SELECT r.model, r.status, r.est_cost_usd, r.input_tokens, r.cached_tokens, r.output_tokens, r.reasoning_tokens,
                    (SELECT COUNT(*) FROM chat_containers c WHERE c.run_id = r.id) AS containers
             FROM chat_runs r JOIN chat_threads t ON t.id = r.thread_id
             WHERE t.spreadsheet_id = ? AND r.created_at >= ?",
        )
        .bind(spreadsheet_id)
        .bind(since)
        .fetch_all(self.pool())
        .await?)
    }

    /// Fails every run still `queued`/`in_progress` with `code` and `message` (at start-up: no
    /// process drives them any more). Returns how many.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn interrupt_chat_runs(&self, code: &str, message: &str) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE chat_runs SET status = 'failed', error_code = ?, error_message = ?, completed_at = ?
             WHERE status IN ('queued', 'in_progress')",
        )
        .bind(code)
        .bind(message)
        .bind(now())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }
}

/// Inserts one message after the thread's last (`seq` = last + 1).
async fn insert_message(
    tx: &mut sqlx::SqliteConnection,
    thread_id: &str,
    id: &str,
    role: Role,
    text: &str,
    annotations: &str,
    run_id: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO chat_messages (id, thread_id, seq, role, text, annotations, run_id, created_at)
         VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM chat_messages WHERE thread_id = ?), ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(thread_id)
    .bind(thread_id)
    .bind(role)
    .bind(text)
    .bind(annotations)
    .bind(run_id)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The messages and files of a completed run (inside [`Store::end_chat_run`]'s transaction).
async fn store_answer(
    tx: &mut sqlx::SqliteConnection,
    thread_id: &str,
    run_id: &str,
    answer: &Answer,
) -> StoreResult<()> {
    for id in &answer.sent {
        sqlx::query(
            "UPDATE chat_messages SET run_id = ? WHERE id = ? AND thread_id = ? AND run_id IS NULL",
        )
        .bind(run_id)
        .bind(id)
        .bind(thread_id)
        .execute(&mut *tx)
        .await?;
    }
    if let Some((id, text)) = &answer.question {
        insert_message(tx, thread_id, id, Role::User, text, "[]", Some(run_id)).await?;
    }
    let (id, text, annotations) = &answer.reply;
    insert_message(
        tx,
        thread_id,
        id,
        Role::Assistant,
        text,
        annotations,
        Some(run_id),
    )
    .await?;
    for f in &answer.files {
        sqlx::query(
            "INSERT INTO chat_files (id, thread_id, message_id, filename, mime_type, content, container_id, source_id, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[tokio::test]
    async fn a_completed_run_stores_its_messages_and_files_at_once_and_ends_once() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.insert_chat_thread(&thread("t1")).await.unwrap();
        store
            .insert_chat_message("t1", "m1", "hello")
            .await
            .unwrap();
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
        assert_eq!(store.chat_context_tokens("t1").await.unwrap(), 120);
        assert_eq!(store.chat_run_containers("r1").await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_failed_run_keeps_its_usage_but_no_message_and_a_container_is_charged_once() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
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
        store.insert_chat_run(&run("r3", "t1")).await.unwrap();
        assert_eq!(
            store
                .interrupt_chat_runs("interrupted", "restart")
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store.chat_run("r3").await.unwrap().unwrap().status,
            RunStatus::Failed
        );
    }
}
