//! A thread's messages in the store, numbered `1, 2, …` with no gap: on PostgreSQL the writer of
//! a message locks the thread's row first ([`lock_thread!`]), so two replicas never take the same
//! number; [`insert_message!`] is the one insert, also used when a run's answer is stored.

use almanac_core::ids::{RunId, ThreadId};
use almanac_protocol::chat::Role;
use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, FromRow};

use crate::pool::{in_tx, on_pool};
use crate::records::StoredTime;
use crate::{Store, StoreResult};

/// A message as stored.
#[derive(Clone, Debug, FromRow)]
pub struct MessageRecord {
    /// `msg_…`.
    pub id: String,
    /// The thread.
    pub thread_id: ThreadId,
    /// Order in the thread, from 1.
    pub seq: i64,
    /// Who wrote it.
    pub role: Role,
    /// Its text.
    pub text: String,
    /// JSON list of the files cited in `text` (the API's `file_path` annotations).
    pub annotations: String,
    /// The run that sent or wrote it; `None`: a user message waiting for a run.
    pub run_id: Option<RunId>,
    /// RFC 3339.
    #[sqlx(try_from = "StoredTime")]
    pub created_at: DateTime<Utc>,
}

/// The columns of `chat_messages` that [`MessageRecord`] reads.
const MESSAGE_COLUMNS: &str = "id, thread_id, seq, role, text, annotations, run_id, created_at";

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
        .bind($crate::now())
        .execute(&mut *$tx)
        .await?;
    };
}

pub(crate) use {insert_message, lock_thread};

impl Store {
    /// Stores a user message no run has taken yet (`run_id` NULL) at the end of the thread, and
    /// returns it as stored.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure (a duplicate id, a thread that does not
    /// exist).
    pub async fn insert_chat_message(
        &self,
        thread_id: &ThreadId,
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
        thread_id: &ThreadId,
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
    pub async fn pending_chat_messages(
        &self,
        thread_id: &ThreadId,
    ) -> StoreResult<Vec<MessageRecord>> {
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
    pub async fn count_chat_messages(&self, thread_id: &ThreadId) -> StoreResult<i64> {
        Ok(
            on_pool!(self.pool(), p => sqlx::query_scalar("SELECT COUNT(*) FROM chat_messages WHERE thread_id = $1")
            .bind(thread_id)
            .fetch_one(p)
            .await?),
        )
    }
}
