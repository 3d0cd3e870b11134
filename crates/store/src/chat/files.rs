//! The files of a thread in the store: those the code interpreter made (stored with the message
//! that cites them, by a run's end) and the containers each run was charged for.

use almanac_core::ids::{RunId, ThreadId};
use sqlx::FromRow;

use crate::pool::on_pool;
use crate::{Store, StoreResult};

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

impl Store {
    /// The files of a thread (without their bytes), oldest first.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn chat_files(&self, thread_id: &ThreadId) -> StoreResult<Vec<FileRecord>> {
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
        thread_id: &ThreadId,
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

    /// How many containers a run was charged for.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn chat_run_containers(&self, run_id: &RunId) -> StoreResult<u64> {
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
    pub async fn chat_thread_containers(
        &self,
        thread_id: &ThreadId,
    ) -> StoreResult<Vec<(RunId, i64)>> {
        Ok(on_pool!(self.pool(), p => sqlx::query_as(
            "SELECT run_id, COUNT(*) FROM chat_containers WHERE thread_id = $1 GROUP BY run_id",
        )
        .bind(thread_id)
        .fetch_all(p)
        .await?))
    }
}
