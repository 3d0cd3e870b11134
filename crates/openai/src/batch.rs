//! The OpenAI Files and Batches endpoints (and one Chat Completions call), through `async-openai`.
//!
//! [`BatchClient`] uploads an input file (`POST /v1/files`, purpose `batch`), creates a batch
//! (`POST /v1/batches`), finds, retrieves and cancels batches, and downloads output and error files
//! (`GET /v1/files/{id}/content`)
//! (<https://platform.openai.com/docs/api-reference/batch>,
//! <https://platform.openai.com/docs/api-reference/files>). Batch objects are read leniently into
//! [`BatchInfo`] (only `id` and a known `status` are required), so a field added or dropped by the
//! service does not break polling.
//!
//!
//! Calls go through the crate's [`Transport`](crate::transport) (bounded retries, no replayed
//! create); errors are [`OpenAiError`]s whose messages never hold the API key.
//!
//! Files of any size pass through in constant memory: an input file is uploaded from disk as a
//! multipart stream (async-openai's `InputSource::Path` reads the file in chunks, again for each
//! attempt), and an output file is downloaded as a stream of chunks ([`FileDownload`]) for the
//! caller to parse or save as they arrive. async-openai's `files().content()` returns the whole
//! file as one `Bytes`, so the streaming download is sent by the crate's own transport — the same
//! retries, timeouts and call observer, only the body is left unread.

use std::fmt;
use std::time::Duration;

use almanac_core::calls::Observer;
use almanac_core::domain::BatchError;
use almanac_core::state::BatchState;
use almanac_protocol::RequestCounts;
use async_openai::Client;
use async_openai::config::{Config, OpenAIConfig};
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use async_openai::traits::RequestOptionsBuilder;
use async_openai::types::InputSource;
use async_openai::types::files::{CreateFileRequest, FileInput, FilePurpose};
use bytes::Bytes;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::connection::{Connection, api_error};
use crate::error::OpenAiError;
use crate::jsonl::{ENDPOINT, MAX_FILE_BYTES};
use crate::transport::{RetryPolicy, Transport};

/// Pages of `GET /v1/batches` (100 batches each) that [`BatchClient::find_batch_for_job`] reads
/// before giving up: the 1,000 most recent batches of the organization.
const FIND_MAX_PAGES: usize = 10;

/// Which list [`BatchClient::list_page`] reads.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Listing {
    /// `GET /v1/batches`.
    Batches,
    /// `GET /v1/files?purpose=batch`.
    BatchFiles,
}

/// What Almanac needs of a Batch object (<https://platform.openai.com/docs/api-reference/batch/object>).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchInfo {
    /// `batch_…`.
    pub id: String,
    /// Where the batch is (never `preparing`: that is Almanac's own state before a batch exists).
    pub status: BatchState,
    /// The uploaded input file (`file-…`).
    pub input_file_id: String,
    /// Results of successful requests; `None` until completed, and also when every request failed.
    pub output_file_id: Option<String>,
    /// Lines of failed or unrun requests; `None` when there are none.
    pub error_file_id: Option<String>,
    /// `request_counts` (all 0 while validating).
    pub request_counts: RequestCounts,
    /// Batch-level errors (`errors.data[]`) as they came (line, code, message, param); empty
    /// unless validation failed.
    pub errors: Vec<BatchError>,
    /// `metadata.job_id`: the Almanac job that created the batch.
    pub metadata_job_id: Option<String>,
}

impl BatchInfo {
    /// Reads a Batch object leniently: `id` and a known `status` are required, everything else
    /// defaults (absent ids → `None`, absent counts → 0).
    ///
    /// # Errors
    /// [`OpenAiError::Permanent`] when `id` is missing or `status` is not one of the Batch
    /// object's eight statuses.
    pub(crate) fn from_json(v: &Value) -> Result<BatchInfo, OpenAiError> {
        let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
        let id = text("id").ok_or_else(|| OpenAiError::Permanent {
            status: None,
            message: "OpenAI answered with a batch object without an `id`".into(),
        })?;
        let status_text = text("status").unwrap_or_default();
        let status = BatchState::parse(&status_text)
            .filter(|s| *s != BatchState::Preparing)
            .ok_or_else(|| OpenAiError::Permanent {
                status: None,
                message: format!(
                    "OpenAI answered with an unknown batch status `{status_text}` for {id}"
                ),
            })?;
        let count = |key: &str| {
            v.get("request_counts")
                .and_then(|c| c.get(key))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        let errors = v
            .pointer("/errors/data")
            .and_then(Value::as_array)
            .map(|list| list.iter().map(batch_error).collect())
            .unwrap_or_default();
        Ok(BatchInfo {
            input_file_id: text("input_file_id").unwrap_or_default(),
            output_file_id: text("output_file_id"),
            error_file_id: text("error_file_id"),
            request_counts: RequestCounts {
                total: count("total"),
                completed: count("completed"),
                failed: count("failed"),
            },
            errors,
            metadata_job_id: v
                .pointer("/metadata/job_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            id,
            status,
        })
    }
}

/// One `errors.data[]` entry `{"code", "message", "param", "line"}`, fields absent or null when
/// not given.
fn batch_error(e: &Value) -> BatchError {
    let s = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_owned);
    BatchError {
        line: e.get("line").and_then(Value::as_u64),
        code: s("code"),
        message: s("message").unwrap_or_else(|| "(no message)".to_owned()),
        param: s("param"),
    }
}

/// A client of the OpenAI Files, Batches and Chat Completions endpoints.
///
/// Cheap to clone; share one per process.
#[derive(Clone)]
pub struct BatchClient {
    /// The key, base URL and error sorting shared with the crate's other clients.
    connection: Connection,
    /// For small JSON calls (per-attempt `request_timeout`).
    api: Client<OpenAIConfig>,
    /// For uploads and downloads (per-attempt `transfer_timeout`).
    transfer: Client<OpenAIConfig>,
    /// The same transfers' transport, for streamed downloads sent without async-openai.
    raw: Transport,
}

impl fmt::Debug for BatchClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchClient")
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

impl BatchClient {
    /// A client for `api_base` (`https://api.openai.com/v1`, or the emulator's
    /// `http://127.0.0.1:PORT/v1`) with the default [`RetryPolicy`] and no call observer. A key
    /// that is empty or cannot be sent in an HTTP header fails every call (see
    /// [`crate::connection`]).
    ///
    /// # Panics
    /// When no rustls crypto provider is installed for the process (the server installs ring's at
    /// start-up).
    pub fn new(api_key: &SecretString, api_base: &str) -> BatchClient {
        BatchClient::with_policy(api_key, api_base, RetryPolicy::default())
    }

    /// A client with an explicit retry and timeout policy (no call observer).
    ///
    /// # Panics
    /// As [`BatchClient::new`].
    pub fn with_policy(api_key: &SecretString, api_base: &str, policy: RetryPolicy) -> BatchClient {
        BatchClient::observed(api_key, api_base, policy, None)
    }

    /// A client whose every HTTP attempt is reported to `calls` (the server's metrics).
    ///
    /// # Panics
    /// As [`BatchClient::new`].
    pub fn observed(
        api_key: &SecretString,
        api_base: &str,
        policy: RetryPolicy,
        calls: Observer,
    ) -> BatchClient {
        let connection = Connection::new(api_key, api_base, calls);
        let transport = |timeout: Duration| {
            connection.transport(reqwest::Client::builder().timeout(timeout), &policy, None)
        };
        let raw = transport(policy.transfer_timeout);
        BatchClient {
            api: connection.client(&transport(policy.request_timeout)),
            transfer: connection.client(&raw),
            raw,
            connection,
        }
    }

    fn check_key(&self) -> Result<(), OpenAiError> {
        self.connection.check_key()
    }

    /// Uploads a JSONL input file with purpose `batch` (`POST /v1/files`, multipart,
    /// <https://platform.openai.com/docs/api-reference/files/create>) and returns its id (`file-…`).
    ///
    /// # Errors
    /// [`OpenAiError::Permanent`] without a call when the file is empty or larger than
    /// [`MAX_FILE_BYTES`]; otherwise as the service answers.
    pub async fn upload_jsonl(
        &self,
        filename: &str,
        jsonl: Vec<u8>,
    ) -> Result<String, OpenAiError> {
        self.check_key()?;
        if jsonl.is_empty() || jsonl.len() > MAX_FILE_BYTES {
            return Err(OpenAiError::Permanent {
                status: None,
                message: format!(
                    "a batch input file must hold 1 byte to {MAX_FILE_BYTES} bytes, this one has {}",
                    jsonl.len()
                ),
            });
        }
        let request = CreateFileRequest {
            file: FileInput {
                source: InputSource::Bytes {
                    filename: filename.to_owned(),
                    bytes: Bytes::from(jsonl),
                },
            },
            purpose: FilePurpose::Batch,
            expires_after: None,
        };
        let file: Value = self
            .transfer
            .files()
            .create_byot(request)
            .await
            .map_err(|e| self.classify(e))?;
        string_field(&file, "id", "file")
    }

    /// Uploads the JSONL input file at `path` with purpose `batch`, streamed from disk (the file's
    /// name is the upload's filename); returns its id (`file-…`). Same call as
    /// [`BatchClient::upload_jsonl`], without holding the file in memory.
    ///
    /// # Errors
    /// [`OpenAiError::Permanent`] without a call when the file cannot be read, is empty or is
    /// larger than [`MAX_FILE_BYTES`]; otherwise as the service answers.
    pub async fn upload_jsonl_file(&self, path: &std::path::Path) -> Result<String, OpenAiError> {
        self.check_key()?;
        let len = std::fs::metadata(path)
            .map_err(|e| OpenAiError::Permanent {
                status: None,
                message: format!("cannot read the batch input file {}: {e}", path.display()),
            })?
            .len();
        if len == 0 || len > MAX_FILE_BYTES as u64 {
            return Err(OpenAiError::Permanent {
                status: None,
                message: format!(
                    "a batch input file must hold 1 byte to {MAX_FILE_BYTES} bytes, this one has {len}"
                ),
            });
        }
        let request = CreateFileRequest {
            file: FileInput {
                source: InputSource::Path {
                    path: path.to_owned(),
                },
            },
            purpose: FilePurpose::Batch,
            expires_after: None,
        };
        let file: Value = self
            .transfer
            .files()
            .create_byot(request)
            .await
            .map_err(|e| self.classify(e))?;
        string_field(&file, "id", "file")
    }

    /// Creates a batch over an uploaded input file (`POST /v1/batches`,
    /// <https://platform.openai.com/docs/api-reference/batch/create>): endpoint
    /// `/v1/chat/completions`, `completion_window` `24h`, `metadata` `{"job_id": job_id}`.
    ///
    /// Not retried after the request may have reached the service: on a [`OpenAiError::Transient`]
    /// error call [`BatchClient::find_batch_for_job`] before creating again.
    ///
    /// # Errors
    /// As the service answers (e.g. 400 for an unknown file id).
    pub async fn create_batch(
        &self,
        input_file_id: &str,
        job_id: &str,
    ) -> Result<BatchInfo, OpenAiError> {
        self.create_with_metadata(input_file_id, json!({"job_id": job_id}))
            .await
    }

    /// `POST /v1/batches` over `input_file_id` with `metadata` (an object of string values).
    pub(crate) async fn create_with_metadata(
        &self,
        input_file_id: &str,
        metadata: Value,
    ) -> Result<BatchInfo, OpenAiError> {
        self.check_key()?;
        let request = json!({
            "input_file_id": input_file_id,
            "endpoint": ENDPOINT,
            "completion_window": "24h",
            "metadata": metadata,
        });
        let batch: Value = self
            .api
            .batches()
            .create_byot(request)
            .await
            .map_err(|e| self.classify(e))?;
        BatchInfo::from_json(&batch)
    }

    /// Finds the batch a job created from this input file, if any: lists recent batches
    /// (`GET /v1/batches?limit=100&after=…`, newest first,
    /// <https://platform.openai.com/docs/api-reference/batch/list>) and returns the first whose
    /// `metadata.job_id` and `input_file_id` both match. Reads at most [`FIND_MAX_PAGES`] pages.
    ///
    /// Used after a crash or a lost answer between creating a batch and storing its id.
    ///
    /// # Errors
    /// As the service answers.
    pub async fn find_batch_for_job(
        &self,
        job_id: &str,
        input_file_id: &str,
    ) -> Result<Option<BatchInfo>, OpenAiError> {
        self.find_batch(job_id, Some(input_file_id)).await
    }

    /// Finds the newest batch whose `metadata.job_id` is `job_id`, whatever its input file (the
    /// command line's `batch submit` labels a batch with its input's hash, so a second submit of
    /// the same file finds the first batch). Reads at most [`FIND_MAX_PAGES`] pages.
    ///
    /// # Errors
    /// As the service answers.
    pub async fn find_batch_labelled(
        &self,
        job_id: &str,
    ) -> Result<Option<BatchInfo>, OpenAiError> {
        self.find_batch(job_id, None).await
    }

    async fn find_batch(
        &self,
        job_id: &str,
        input_file_id: Option<&str>,
    ) -> Result<Option<BatchInfo>, OpenAiError> {
        self.check_key()?;
        let mut after: Option<String> = None;
        for _ in 0..FIND_MAX_PAGES {
            let mut query = vec![("limit", "100".to_owned())];
            if let Some(after) = &after {
                query.push(("after", after.clone()));
            }
            let page: Value = self
                .api
                .batches()
                .query(&query)
                .map_err(|e| self.classify(e))?
                .list_byot()
                .await
                .map_err(|e| self.classify(e))?;
            let data = page.get("data").and_then(Value::as_array);
            for batch in data.into_iter().flatten() {
                let matches = batch.pointer("/metadata/job_id").and_then(Value::as_str)
                    == Some(job_id)
                    && input_file_id.is_none_or(|file| {
                        batch.get("input_file_id").and_then(Value::as_str) == Some(file)
                    });
                if matches {
                    return BatchInfo::from_json(batch).map(Some);
                }
            }
            let has_more = page
                .get("has_more")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let last = page
                .get("last_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| {
                    data.and_then(|d| d.last())
                        .and_then(|b| b.get("id"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                });
            match (has_more, last) {
                (true, Some(last)) if after.as_deref() != Some(&last) => after = Some(last),
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// One page of a list, newest first: `GET /v1/batches?limit=…&after=…` or
    /// `GET /v1/files?purpose=batch&limit=…&after=…`.
    pub(crate) async fn list_page(
        &self,
        listing: Listing,
        limit: &str,
        after: Option<&str>,
    ) -> Result<Value, OpenAiError> {
        self.check_key()?;
        let mut query = vec![("limit", limit.to_owned())];
        if let Some(after) = after {
            query.push(("after", after.to_owned()));
        }
        let page = match listing {
            Listing::Batches => {
                self.api
                    .batches()
                    .query(&query)
                    .map_err(|e| self.classify(e))?
                    .list_byot()
                    .await
            }
            Listing::BatchFiles => {
                query.push(("purpose", "batch".to_owned()));
                self.api
                    .files()
                    .query(&query)
                    .map_err(|e| self.classify(e))?
                    .list_byot()
                    .await
            }
        };
        page.map_err(|e| self.classify(e))
    }

    /// Reads a batch (`GET /v1/batches/{batch_id}`,
    /// <https://platform.openai.com/docs/api-reference/batch/retrieve>).
    ///
    /// # Errors
    /// [`OpenAiError::Permanent`] with status 404 for an unknown id; otherwise as the service answers.
    pub async fn retrieve_batch(&self, batch_id: &str) -> Result<BatchInfo, OpenAiError> {
        self.check_key()?;
        let batch: Value = self
            .api
            .batches()
            .retrieve_byot(batch_id)
            .await
            .map_err(|e| self.classify(e))?;
        BatchInfo::from_json(&batch)
    }

    /// Asks to cancel a batch (`POST /v1/batches/{batch_id}/cancel`,
    /// <https://platform.openai.com/docs/api-reference/batch/cancel>); the answer is usually
    /// `cancelling`, and `cancelled` follows within about 10 minutes.
    ///
    /// # Errors
    /// [`OpenAiError::Permanent`] with status 409 when the batch already finished (completed or
    /// failed); otherwise as the service answers.
    pub async fn cancel_batch(&self, batch_id: &str) -> Result<BatchInfo, OpenAiError> {
        self.check_key()?;
        let batch: Value = self
            .api
            .batches()
            .cancel_byot(batch_id)
            .await
            .map_err(|e| self.classify(e))?;
        BatchInfo::from_json(&batch)
    }

    /// Downloads a file's bytes (`GET /v1/files/{file_id}/content`,
    /// <https://platform.openai.com/docs/api-reference/files/retrieve-contents>): an output or
    /// error file of a batch, parsed with [`crate::output::parse_file`].
    ///
    /// # Errors
    /// [`OpenAiError::Permanent`] with status 404 for an unknown or expired (30 days) file.
    pub async fn file_content(&self, file_id: &str) -> Result<Bytes, OpenAiError> {
        self.check_key()?;
        self.transfer
            .files()
            .content(file_id)
            .await
            .map_err(|e| self.classify(e))
    }

    /// Starts downloading a file (`GET /v1/files/{file_id}/content`,
    /// <https://platform.openai.com/docs/api-reference/files/retrieve-contents>) and hands its
    /// bytes over as they arrive ([`FileDownload::chunk`]); the call is retried like every call
    /// until an answer starts, a failure while the body streams is the caller's to retry.
    ///
    /// # Errors
    /// [`OpenAiError::Permanent`] with status 404 for an unknown or expired (30 days) file;
    /// otherwise as the service answers.
    pub async fn download(&self, file_id: &str) -> Result<FileDownload, OpenAiError> {
        self.check_key()?;
        let config = self.connection.config();
        let url = config.url(&format!("/files/{file_id}/content"));
        let query: Vec<(String, String)> = config
            .query()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let (http, headers) = (self.raw.http().clone(), config.headers());
        let factory = HttpRequestFactory::new(move || {
            let request = http
                .get(&url)
                .query(&query)
                .headers(headers.clone())
                .build();
            async move { request.map_err(OpenAIError::Reqwest) }
        });
        let response = self.raw.send(factory).await.map_err(|e| self.classify(e))?;
        if !response.status().is_success() {
            return Err(self.classify(api_error(response).await));
        }
        Ok(FileDownload {
            response,
            connection: self.connection.clone(),
        })
    }

    /// One Chat Completions call (`POST /v1/chat/completions`,
    /// <https://platform.openai.com/docs/api-reference/chat/create>) with a body such as
    /// [`crate::jsonl::request_body`]; returns the response body (a `chat.completion` object) as JSON.
    /// Retried like every call (429/5xx/timeouts), so a retried call may be billed twice.
    ///
    /// # Errors
    /// [`OpenAiError::Permanent`] without a call when the body asks to stream; otherwise as the
    /// service answers.
    pub async fn chat_completion(&self, request_body: Value) -> Result<Value, OpenAiError> {
        self.check_key()?;
        if request_body.get("stream").and_then(Value::as_bool) == Some(true) {
            return Err(OpenAiError::Permanent {
                status: None,
                message: "streaming chat completions are not supported here; drop `stream`".into(),
            });
        }
        self.api
            .chat()
            .create_byot(request_body)
            .await
            .map_err(|e| self.classify(e))
    }

    /// Sorts an `async-openai` error into transient or permanent, with a scrubbed message.
    fn classify(&self, error: async_openai::error::OpenAIError) -> OpenAiError {
        self.connection.classify(error)
    }
}

/// A file being downloaded ([`BatchClient::download`]).
pub struct FileDownload {
    response: reqwest::Response,
    /// Sorts a failure of the body's transfer, the key scrubbed out.
    connection: Connection,
}

impl FileDownload {
    /// The next bytes of the file, `None` at its end. Chunks end anywhere, even inside a line or
    /// a character.
    ///
    /// # Errors
    /// [`OpenAiError::Transient`] when the connection fails or the transfer times out.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, OpenAiError> {
        self.response
            .chunk()
            .await
            .map_err(|e| self.connection.classify(OpenAIError::Reqwest(e)))
    }
}

/// The id-like string field `key` of an object, or a permanent error naming `what`.
fn string_field(v: &Value, key: &str, what: &str) -> Result<String, OpenAiError> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| OpenAiError::Permanent {
            status: None,
            message: format!("OpenAI answered with a {what} object without `{key}`"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_openai::error::{ApiError, ApiErrorResponse, OpenAIError};

    /// The process's rustls crypto provider, as the server installs it at start-up.
    fn tls() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }

    #[test]
    fn batch_objects_from_the_guide_and_the_spec_are_read() {
        let created: Value = serde_json::from_str(r#"{"id": "batch_abc123", "object": "batch", "endpoint": "/v1/chat/completions", "errors": null, "input_file_id": "file-abc123", "completion_window": "24h", "status": "validating", "output_file_id": null, "error_file_id": null, "created_at": 1714508499, "in_progress_at": null, "expires_at": 1714536634, "completed_at": null, "failed_at": null, "expired_at": null, "request_counts": {"total": 0, "completed": 0, "failed": 0}, "metadata": null}"#).unwrap();
        let info = BatchInfo::from_json(&created).unwrap();
        assert_eq!(info.id, "batch_abc123");
        assert_eq!(info.status, BatchState::Validating);
        assert_eq!(info.input_file_id, "file-abc123");
        assert_eq!(info.output_file_id, None);
        assert_eq!(info.metadata_job_id, None);
        assert_eq!(info.request_counts, RequestCounts::default());
        assert!(info.errors.is_empty());
    }

    #[test]
    fn recorded_validation_errors_become_readable_lines() {
        let failed: Value = serde_json::from_str(r#"{"id":"batch_1","status": "failed", "input_file_id":"file-1", "errors": {"object": "list", "data": [{"code": "missing_required_parameter", "line": 1, "message": "Missing required parameter: 'custom_id'.", "param": "custom_id"}, {"code": "invalid_json_line", "line": 2, "message": "This line is not parseable as valid JSON.", "param": null}, {"code": "invalid_request", "line": null, "message": "Cannot find file ..., or organization ... does not have access to it.", "param": "file_id"}]}, "failed_at": 1754566945, "metadata": {"job_id": "job-7"}}"#).unwrap();
        let info = BatchInfo::from_json(&failed).unwrap();
        assert_eq!(info.status, BatchState::Failed);
        assert!(info.status.is_terminal());
        assert_eq!(info.metadata_job_id.as_deref(), Some("job-7"));
        assert_eq!(
            info.errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            [
                "line 1: missing_required_parameter: Missing required parameter: 'custom_id'. (param: custom_id)",
                "line 2: invalid_json_line: This line is not parseable as valid JSON.",
                "invalid_request: Cannot find file ..., or organization ... does not have access to it. (param: file_id)",
            ]
        );
    }

    #[test]
    fn an_unknown_status_or_missing_id_is_a_permanent_error() {
        let err = BatchInfo::from_json(&json!({"id": "b", "status": "paused"})).unwrap_err();
        assert!(!err.is_transient());
        assert!(
            err.to_string().contains("unknown batch status `paused`"),
            "{err}"
        );
        assert!(BatchInfo::from_json(&json!({"status": "completed"})).is_err());
    }

    #[test]
    fn every_status_name_round_trips_and_only_four_are_terminal() {
        for st in BatchState::ALL {
            assert_eq!(BatchState::parse(st.as_str()), Some(st));
        }
        let terminal: Vec<_> = BatchState::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(
            terminal,
            [
                BatchState::Failed,
                BatchState::Completed,
                BatchState::Expired,
                BatchState::Cancelled
            ]
        );
    }

    #[test]
    fn errors_are_sorted_into_transient_and_permanent() {
        tls();
        let client = BatchClient::new(
            &SecretString::from("sk-test-0123456789abcdef"),
            "http://127.0.0.1:9/v1",
        );
        let api = |status: u16, kind: Option<&str>| {
            client.classify(OpenAIError::ApiError(ApiErrorResponse {
                status_code: reqwest::StatusCode::from_u16(status).unwrap(),
                api_error: ApiError {
                    message: "Incorrect API key provided: sk-test-0123456789abcdef".into(),
                    r#type: kind.map(str::to_owned),
                    ..ApiError::default()
                },
            }))
        };
        assert!(api(429, Some("requests")).is_transient());
        assert!(api(500, None).is_transient());
        assert!(api(503, None).is_transient());
        let quota = api(429, Some("insufficient_quota"));
        assert_eq!(quota.status(), Some(429));
        assert!(!quota.is_transient());
        let bad_key = api(401, Some("invalid_request_error"));
        assert_eq!(bad_key.status(), Some(401));
        assert!(
            !bad_key.to_string().contains("0123456789abcdef"),
            "{bad_key}"
        );
        assert!(
            bad_key
                .to_string()
                .starts_with("OpenAI refused the request (HTTP 401)"),
            "{bad_key}"
        );
        assert!(!api(404, None).is_transient());
        assert!(!api(409, None).is_transient());
    }

    #[test]
    fn a_key_that_cannot_be_a_header_fails_every_call_without_panicking() {
        tls();
        let client = BatchClient::new(&SecretString::from("sk-bad key\n"), "http://127.0.0.1:9/v1");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = rt.block_on(client.retrieve_batch("batch_1")).unwrap_err();
        assert!(!err.is_transient());
        assert!(
            err.to_string().contains("cannot be sent in an HTTP header"),
            "{err}"
        );
        assert!(!format!("{client:?}").contains("bad key"));
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_transient_error_after_bounded_retries() {
        let policy = RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(10),
            ..RetryPolicy::default()
        };
        // Port 9 (discard) on localhost: nothing listens, the connection is refused.
        let client = BatchClient::with_policy(
            &SecretString::from("sk-test-key-123456"),
            "http://127.0.0.1:9/v1",
            policy,
        );
        let started = std::time::Instant::now();
        let err = client.retrieve_batch("batch_1").await.unwrap_err();
        assert!(err.is_transient(), "{err}");
        assert!(!err.to_string().contains("sk-test-key"), "{err}");
        // Not a speed bound: without a bound on retries the call would never end.
        assert!(started.elapsed() < Duration::from_secs(120));
    }

    /// A canned HTTP/1.1 server: answers each connection with the next `(status, extra headers,
    /// body)` (the last one repeats) and records `METHOD /path` of every request.
    async fn canned_server(
        answers: Vec<(u16, &'static str, &'static str)>,
    ) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/v1", listener.local_addr().unwrap());
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let read = sock.read(&mut chunk).await.unwrap();
                    if read == 0 {
                        break None;
                    }
                    buf.extend_from_slice(&chunk[..read]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break Some(i + 4);
                    }
                };
                let Some(head_end) = head_end else { continue };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    let read = sock.read(&mut chunk).await.unwrap();
                    if read == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..read]);
                }
                let request_line = head.lines().next().unwrap_or("");
                let mut parts = request_line.split(' ');
                log.lock().unwrap().push(format!(
                    "{} {}",
                    parts.next().unwrap_or(""),
                    parts.next().unwrap_or("")
                ));
                let (status, headers, body) = answers[n.min(answers.len() - 1)];
                n += 1;
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
                    body.len()
                );
                sock.write_all(response.as_bytes()).await.unwrap();
                let _ = sock.shutdown().await;
            }
        });
        (base, seen)
    }

    const BATCH: &str = r#"{"id":"batch_1","object":"batch","status":"in_progress","input_file_id":"file-1","request_counts":{"total":2,"completed":1,"failed":0},"metadata":{"job_id":"job-1"}}"#;
    const RATE_LIMITED: &str = r#"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
    const NO_QUOTA: &str = r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#;
    const SERVER_ERROR: &str = r#"{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}"#;

    fn fast_policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(50),
            ..RetryPolicy::default()
        }
    }

    fn client_for(base: &str, policy: RetryPolicy) -> BatchClient {
        tls();
        BatchClient::with_policy(&SecretString::from("sk-test-key-123456"), base, policy)
    }

    #[tokio::test]
    async fn rate_limits_and_server_errors_are_retried_until_an_answer_comes() {
        let (base, seen) = canned_server(vec![
            (429, "retry-after-ms: 10\r\n", RATE_LIMITED),
            (503, "", SERVER_ERROR),
            (200, "", BATCH),
        ])
        .await;
        let info = client_for(&base, fast_policy())
            .retrieve_batch("batch_1")
            .await
            .unwrap();
        assert_eq!(info.status, BatchState::InProgress);
        assert_eq!(info.request_counts.completed, 1);
        assert_eq!(
            seen.lock().unwrap().as_slice(),
            ["GET /v1/batches/batch_1"; 3]
        );
    }

    #[tokio::test]
    async fn a_huge_retry_after_is_capped_by_max_backoff() {
        let (base, _) = canned_server(vec![
            (429, "retry-after: 3600\r\n", RATE_LIMITED),
            (200, "", BATCH),
        ])
        .await;
        let started = std::time::Instant::now();
        client_for(&base, fast_policy())
            .retrieve_batch("batch_1")
            .await
            .unwrap();
        // Not a speed bound: uncapped, the retry would wait the hour it was told to.
        assert!(started.elapsed() < Duration::from_secs(600));
    }

    #[tokio::test]
    async fn retries_stop_after_max_retries_with_a_transient_error() {
        let (base, seen) = canned_server(vec![(500, "", SERVER_ERROR)]).await;
        let policy = RetryPolicy {
            max_retries: 1,
            ..fast_policy()
        };
        let err = client_for(&base, policy)
            .retrieve_batch("batch_1")
            .await
            .unwrap_err();
        assert!(err.is_transient(), "{err}");
        assert!(err.to_string().contains("HTTP 500"), "{err}");
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn an_exhausted_quota_is_permanent_and_not_retried() {
        let (base, seen) = canned_server(vec![(429, "", NO_QUOTA), (200, "", BATCH)]).await;
        let err = client_for(&base, fast_policy())
            .retrieve_batch("batch_1")
            .await
            .unwrap_err();
        assert!(!err.is_transient());
        assert_eq!(err.status(), Some(429));
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn creating_a_batch_is_not_replayed_after_a_server_error_but_is_after_a_rate_limit() {
        let (base, seen) = canned_server(vec![(500, "", SERVER_ERROR), (200, "", BATCH)]).await;
        let err = client_for(&base, fast_policy())
            .create_batch("file-1", "job-1")
            .await
            .unwrap_err();
        assert!(err.is_transient(), "{err}");
        assert_eq!(seen.lock().unwrap().as_slice(), ["POST /v1/batches"]);

        let (base, seen) = canned_server(vec![(429, "", RATE_LIMITED), (200, "", BATCH)]).await;
        let info = client_for(&base, fast_policy())
            .create_batch("file-1", "job-1")
            .await
            .unwrap();
        assert_eq!(info.metadata_job_id.as_deref(), Some("job-1"));
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn an_oversized_or_empty_upload_is_refused_before_any_call() {
        let client = BatchClient::new(
            &SecretString::from("sk-test-key-123456"),
            "http://127.0.0.1:9/v1",
        );
        let err = client
            .upload_jsonl("empty.jsonl", Vec::new())
            .await
            .unwrap_err();
        assert!(!err.is_transient());
        let err = client
            .upload_jsonl("big.jsonl", vec![b'x'; MAX_FILE_BYTES + 1])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("209715200"), "{err}");
    }
}
