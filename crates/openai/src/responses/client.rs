//! [`ResponsesClient`]: the calls of a chat turn through `async-openai` (features `responses`,
//! `container`, `file`) and the crate's [`Transport`](crate::transport) — bounded retries
//! (`POST /v1/responses` is never replayed after it may have reached the service), per-attempt
//! timeouts, every attempt reported to the call observer, errors scrubbed of the key.
//!
//! - `POST /v1/conversations` (<https://platform.openai.com/docs/api-reference/conversations/create>);
//! - `POST /v1/files`, purpose `user_data` (<https://platform.openai.com/docs/api-reference/files/create>);
//! - `POST /v1/responses` with `background: true`, then `GET /v1/responses/{id}` and
//!   `POST /v1/responses/{id}/cancel` (<https://platform.openai.com/docs/guides/background>);
//! - the same with `stream: true`, read as [`StreamEvent`]s;
//! - `GET /v1/containers/{id}/files/{file_id}/content`
//!   (<https://platform.openai.com/docs/api-reference/container-files>).

use std::fmt;
use std::pin::Pin;

use almanac_core::calls::Observer;
use async_openai::Client;
use async_openai::config::{Config as _, OpenAIConfig};
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use async_openai::types::InputSource;
use async_openai::types::files::{CreateFileRequest, FileInput, FilePurpose};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::connection::Connection;
use crate::error::OpenAiError;
use crate::responses::events::{self, StreamEvent};
use crate::responses::outcome::ResponseOutcome;
use crate::responses::request::{Delivery, ResponseRequest};
use crate::transport::RetryPolicy;
use crate::transport::Transport;

/// The events of one streamed response, in order; an `Err` ends it (the connection broke or an
/// event could not be read: the background response goes on and can still be retrieved).
pub type EventStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, OpenAiError>> + Send>>;

/// A client of the Conversations, Responses, Files and Containers endpoints. Cheap to clone.
#[derive(Clone)]
pub struct ResponsesClient {
    /// The key, base URL and error sorting shared with the crate's other clients.
    connection: Connection,
    /// For JSON calls (per-attempt `request_timeout`).
    api: Client<OpenAIConfig>,
    /// For streams: no bound on the whole answer, `request_timeout` between two reads.
    stream: Client<OpenAIConfig>,
    /// For downloads read as they arrive (container files): `request_timeout` between two
    /// reads.
    raw: Transport,
}

/// A container file as far as it was read ([`ResponsesClient::container_file`]).
#[derive(Clone, Debug, PartialEq)]
pub enum ContainerFile {
    /// The whole file, within the limit.
    Read(Bytes),
    /// The file is larger than the limit: its `Content-Length`, or what had been read when the
    /// limit was passed (the rest was not downloaded).
    TooLarge {
        /// Bytes known to be in the file (at least), more than the limit.
        at_least: u64,
    },
}

impl fmt::Debug for ResponsesClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponsesClient")
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

impl ResponsesClient {
    /// A client for `api_base` (`https://api.openai.com/v1`, or the emulator's) with `api_key`,
    /// retrying as `policy` says and reporting every attempt to `calls`. A key that is empty or
    /// cannot be sent in an HTTP header fails every call (see [`crate::connection`]).
    ///
    /// # Panics
    /// When no rustls crypto provider is installed for the process.
    pub fn new(
        api_key: &SecretString,
        api_base: &str,
        policy: RetryPolicy,
        calls: Observer,
    ) -> ResponsesClient {
        let connection = Connection::new(api_key, api_base, calls);
        let client = |builder: reqwest::ClientBuilder| {
            connection.client(&connection.transport(builder, &policy, None))
        };
        let streaming = || reqwest::Client::builder().read_timeout(policy.request_timeout);
        ResponsesClient {
            api: client(reqwest::Client::builder().timeout(policy.request_timeout)),
            stream: client(streaming()),
            raw: connection.transport(streaming(), &policy, None),
            connection,
        }
    }

    fn check_key(&self) -> Result<(), OpenAiError> {
        self.connection.check_key()
    }

    fn classify(&self, e: async_openai::error::OpenAIError) -> OpenAiError {
        self.connection.classify(e)
    }

    /// Creates an empty conversation with `metadata` and returns its id (`conv_…`).
    ///
    /// # Errors
    /// As the service answers.
    pub async fn create_conversation(
        &self,
        metadata: &[(&str, &str)],
    ) -> Result<String, OpenAiError> {
        self.check_key()?;
        let metadata: serde_json::Map<String, Value> = metadata
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        let conversation: Value = self
            .api
            .conversations()
            .create_byot(json!({ "metadata": metadata }))
            .await
            .map_err(|e| self.classify(e))?;
        id_of(&conversation, "conversation")
    }

    /// Uploads a file for the model's tools (purpose `user_data`) and returns its id (`file-…`).
    ///
    /// # Errors
    /// As the service answers.
    pub async fn upload_user_file(
        &self,
        filename: &str,
        content: Vec<u8>,
    ) -> Result<String, OpenAiError> {
        self.check_key()?;
        let request = CreateFileRequest {
            file: FileInput {
                source: InputSource::Bytes {
                    filename: filename.to_owned(),
                    bytes: Bytes::from(content),
                },
            },
            purpose: FilePurpose::UserData,
            expires_after: None,
        };
        let file: Value = self
            .api
            .files()
            .create_byot(request)
            .await
            .map_err(|e| self.classify(e))?;
        id_of(&file, "file")
    }

    /// Creates a background response (`status` `queued` or `in_progress`); poll it with
    /// [`ResponsesClient::retrieve`].
    ///
    /// # Errors
    /// As the service answers; not replayed after a 5xx or a timeout (the response may exist).
    pub async fn create(&self, request: &ResponseRequest) -> Result<ResponseOutcome, OpenAiError> {
        self.check_key()?;
        let response: Value = self
            .api
            .responses()
            .create_byot(request.body(Delivery::Background))
            .await
            .map_err(|e| self.classify(e))?;
        ResponseOutcome::from_json(&response)
    }

    /// Creates a streamed background response and returns its events.
    ///
    /// # Errors
    /// As the service answers before the stream starts.
    pub async fn stream(&self, request: &ResponseRequest) -> Result<EventStream, OpenAiError> {
        self.check_key()?;
        let connection = self.connection.clone();
        let raw = self
            .stream
            .responses()
            .create_stream_byot::<Value, Value>(request.body(Delivery::Streamed))
            .await
            .map_err(|e| self.classify(e))?;
        let events = raw.filter_map(move |event| {
            let read = match event {
                Ok(value) => events::parse(&value).transpose(),
                Err(e) => Some(Err(match connection.classify(e) {
                    OpenAiError::Permanent { message, .. } => OpenAiError::Transient(message),
                    transient => transient,
                })),
            };
            futures::future::ready(read)
        });
        Ok(Box::pin(events))
    }

    /// The response as it is now.
    ///
    /// # Errors
    /// As the service answers (404 for an unknown id).
    pub async fn retrieve(&self, response_id: &str) -> Result<ResponseOutcome, OpenAiError> {
        self.check_key()?;
        let response: Value = self
            .api
            .responses()
            .retrieve_byot(response_id)
            .await
            .map_err(|e| self.classify(e))?;
        ResponseOutcome::from_json(&response)
    }

    /// Cancels a background response that is queued or in progress.
    ///
    /// # Errors
    /// As the service answers (400 when it has already ended).
    pub async fn cancel(&self, response_id: &str) -> Result<ResponseOutcome, OpenAiError> {
        self.check_key()?;
        let response: Value = self
            .api
            .responses()
            .cancel_byot(response_id)
            .await
            .map_err(|e| self.classify(e))?;
        ResponseOutcome::from_json(&response)
    }

    /// Deletes a conversation (its items stay at OpenAI, as the API documents).
    ///
    /// # Errors
    /// As the service answers.
    pub async fn delete_conversation(&self, conversation_id: &str) -> Result<(), OpenAiError> {
        self.check_key()?;
        let _: Value = self
            .api
            .conversations()
            .delete_byot(conversation_id)
            .await
            .map_err(|e| self.classify(e))?;
        Ok(())
    }

    /// The bytes of a file the code interpreter wrote in a container (`GET
    /// /v1/containers/{container_id}/files/{file_id}/content`,
    /// <https://platform.openai.com/docs/api-reference/container-files/retrieveContainerFileContent>),
    /// read as they arrive and at most `max_bytes` of them: a larger file is
    /// [`ContainerFile::TooLarge`], by its `Content-Length` before any byte is read, else as soon
    /// as what was read passes the limit (the rest is not downloaded).
    ///
    /// # Errors
    /// As the service answers (404 once the container expired); [`OpenAiError::Transient`] when
    /// the transfer breaks.
    pub async fn container_file(
        &self,
        container_id: &str,
        file_id: &str,
        max_bytes: u64,
    ) -> Result<ContainerFile, OpenAiError> {
        self.check_key()?;
        let config = self.connection.config();
        let url = config.url(&format!(
            "/containers/{container_id}/files/{file_id}/content"
        ));
        let (http, headers) = (self.raw.http().clone(), config.headers());
        let factory = HttpRequestFactory::new(move || {
            let request = http.get(&url).headers(headers.clone()).build();
            async move { request.map_err(OpenAIError::Reqwest) }
        });
        let mut response = self.raw.send(factory).await.map_err(|e| self.classify(e))?;
        if !response.status().is_success() {
            return Err(self.classify(crate::connection::api_error(response).await));
        }
        if let Some(length) = response.content_length().filter(|n| *n > max_bytes) {
            return Ok(ContainerFile::TooLarge { at_least: length });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.classify(OpenAIError::Reqwest(e)))?
        {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > max_bytes {
                return Ok(ContainerFile::TooLarge {
                    at_least: bytes.len() as u64,
                });
            }
        }
        Ok(ContainerFile::Read(Bytes::from(bytes)))
    }
}

/// The `id` of an object OpenAI answered with.
fn id_of(object: &Value, what: &str) -> Result<String, OpenAiError> {
    object
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| OpenAiError::Permanent {
            status: None,
            message: format!("OpenAI answered with a {what} object without an `id`"),
        })
}
