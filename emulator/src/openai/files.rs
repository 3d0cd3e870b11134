//! Files of the OpenAI Files store (<https://platform.openai.com/docs/api-reference/files>):
//! uploaded batch inputs and the output and error files batches write. Plain data: this module
//! uses no other module of the crate.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

/// Files stored so far by the process, for [`StoredFile::seq`].
static STORED: AtomicU64 = AtomicU64::new(0);

/// The next [`StoredFile::seq`].
pub fn next_seq() -> u64 {
    STORED.fetch_add(1, Ordering::Relaxed)
}

/// A file in the OpenAI Files store.
#[derive(Clone, Debug)]
pub struct StoredFile {
    /// `file-…`.
    pub id: String,
    /// Name given at upload (or `batch_<id>_output.jsonl` for generated files).
    pub filename: String,
    /// `batch`, `batch_output`, `fine-tune`, …
    pub purpose: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Order of storage ([`next_seq`]): lists sort files of the same second by it.
    pub seq: u64,
    /// Unix seconds, if the file expires.
    pub expires_at: Option<u64>,
    /// Raw content.
    pub content: Bytes,
}

impl StoredFile {
    /// The File object (<https://platform.openai.com/docs/api-reference/files/object>).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "object": "file",
            "bytes": self.content.len(),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": null,
        })
    }
}
