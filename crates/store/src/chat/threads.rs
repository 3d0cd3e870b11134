//! A chat's threads in the store: create, read, list and count a person's threads on a
//! spreadsheet, delete one (its messages and files with it; its runs stay, they were billed), and
//! save its external ids (`conv_…`, the CSV's `file-…`) right after the call that made each.

use almanac_core::ids::ThreadId;
use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, FromRow};

use crate::pool::{in_tx, on_pool};
use crate::records::StoredTime;
use crate::{Store, StoreResult, now};

/// A new thread.
#[derive(Clone, Debug)]
pub struct NewThread {
    /// `thread_…`.
    pub id: ThreadId,
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
    pub id: ThreadId,
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
    /// When it was created.
    #[sqlx(try_from = "StoredTime")]
    pub created_at: DateTime<Utc>,
}

/// The columns of `chat_threads` that [`ThreadRecord`] reads.
const THREAD_COLUMNS: &str =
    "id, owner, spreadsheet_id, sheet_id, conversation_id, csv_file_id, csv_sha256, created_at";

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
    pub async fn chat_thread(&self, id: &ThreadId) -> StoreResult<Option<ThreadRecord>> {
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
    pub async fn delete_chat_thread(&self, id: &ThreadId) -> StoreResult<bool> {
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
        thread_id: &ThreadId,
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
        thread_id: &ThreadId,
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
}
