//! The backend's `/api/v1`, as the sidebar calls it: every request carries
//! `Authorization: Bearer <identity token>` and `X-Goog-User-Token: <OAuth token>`; a job's event
//! stream, which an `EventSource` cannot give headers, carries the identity token as
//! `?access_token=`. A chat answer is streamed with `fetch` (so both headers go with it) and parsed
//! by [`crate::sse`]; a chart is fetched with the headers too and shown from an object URL.

use almanac_protocol::chat::{ChatRequest, MessageList};
use almanac_protocol::{
    CreateJobRequest, ErrorBody, Estimate, EstimateRequest, Job, JobList, ModelList,
    SelectionContext,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::js::{self, Fetched, Streamed};
use crate::sse::{SseEvent, SseParser};

/// A failed call, in words for people. `Clone + Send + Sync` so that resources can hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError(pub String);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ApiError {}

/// A client of one backend for one user.
#[derive(Clone, Debug)]
pub struct Api {
    base: String,
    identity_token: String,
    oauth_token: String,
}

/// Percent-encodes a query or path value (RFC 3986 unreserved characters stay).
pub fn encode(value: &str) -> String {
    String::from(js_sys::encode_uri_component(value))
}

impl Api {
    /// A client for the backend and tokens named by the selection context.
    pub fn new(ctx: &SelectionContext) -> Api {
        Api {
            base: format!("{}/api/v1", ctx.backend_url.trim_end_matches('/')),
            identity_token: ctx.identity_token.clone(),
            oauth_token: ctx.oauth_token.clone(),
        }
    }

    /// `Authorization: Bearer …` and `X-Goog-User-Token: …`.
    fn auth_headers(&self) -> [(&'static str, String); 2] {
        [
            ("Authorization", format!("Bearer {}", self.identity_token)),
            ("X-Goog-User-Token", self.oauth_token.clone()),
        ]
    }

    async fn fetch(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<Fetched, ApiError> {
        let auth = self.auth_headers();
        let headers: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let url = format!("{}{path}", self.base);
        js::fetch(method, &url, &headers, body)
            .await
            .map_err(ApiError)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<T, ApiError> {
        read(self.fetch(method, path, body.as_deref()).await?)
    }

    fn json<B: Serialize>(body: &B) -> Option<String> {
        serde_json::to_string(body).ok()
    }

    /// `GET /models`.
    pub async fn models(&self) -> Result<ModelList, ApiError> {
        self.call("GET", "/models", None).await
    }

    /// `POST /estimate`.
    pub async fn estimate(&self, req: &EstimateRequest) -> Result<Estimate, ApiError> {
        self.call("POST", "/estimate", Self::json(req)).await
    }

    /// `POST /jobs`.
    pub async fn create_job(&self, req: &CreateJobRequest) -> Result<Job, ApiError> {
        self.call("POST", "/jobs", Self::json(req)).await
    }

    /// `GET /jobs?spreadsheet_id=`.
    pub async fn list_jobs(&self, spreadsheet_id: &str) -> Result<JobList, ApiError> {
        let path = format!("/jobs?spreadsheet_id={}", encode(spreadsheet_id));
        self.call("GET", &path, None).await
    }

    /// `GET /jobs/{id}`, with its rows.
    pub async fn job(&self, id: &str) -> Result<Job, ApiError> {
        self.call("GET", &format!("/jobs/{}", encode(id)), None)
            .await
    }

    /// `POST /jobs/{id}/cancel`.
    pub async fn cancel(&self, id: &str) -> Result<Job, ApiError> {
        self.call("POST", &format!("/jobs/{}/cancel", encode(id)), None)
            .await
    }

    /// `POST /jobs/{id}/retry`: sends the failed rows again.
    pub async fn retry(&self, id: &str) -> Result<Job, ApiError> {
        self.call("POST", &format!("/jobs/{}/retry", encode(id)), None)
            .await
    }

    /// `GET /threads/{id}/messages?order=asc&limit=100`: the conversation so far; `None` when the
    /// thread is gone (404).
    pub async fn chat_messages(&self, thread_id: &str) -> Result<Option<MessageList>, ApiError> {
        let path = format!(
            "/threads/{}/messages?order=asc&limit=100",
            encode(thread_id)
        );
        let resp = self.fetch("GET", &path, None).await?;
        match resp.status {
            404 => Ok(None),
            _ => read(resp).map(Some),
        }
    }

    /// `POST /chat` as Server-Sent Events (`Accept: text/event-stream`): each event goes to
    /// `on_event` as it arrives.
    pub async fn chat(
        &self,
        req: &ChatRequest,
        mut on_event: impl FnMut(SseEvent),
    ) -> Result<(), ApiError> {
        let auth = self.auth_headers();
        let mut headers: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (*k, v.as_str())).collect();
        headers.push(("Accept", "text/event-stream"));
        let body = Self::json(req);
        let url = format!("{}/chat", self.base);
        let mut parser = SseParser::default();
        let read_chunk = |chunk: &[u8]| parser.push(chunk).into_iter().for_each(&mut on_event);
        match js::fetch_stream("POST", &url, &headers, body.as_deref(), read_chunk).await {
            Ok(Streamed::Read) => Ok(()),
            Ok(Streamed::Refused(resp)) => read::<serde_json::Value>(resp).map(|_| ()),
            Err(e) => Err(ApiError(e)),
        }
    }

    /// An object URL of a file the code interpreter made (`GET
    /// /threads/{id}/files/{file_id}/content`, fetched with the tokens).
    pub async fn file_url(&self, thread_id: &str, file_id: &str) -> Result<String, ApiError> {
        let auth = self.auth_headers();
        let headers: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let url = format!(
            "{}/threads/{}/files/{}/content",
            self.base,
            encode(thread_id),
            encode(file_id)
        );
        js::fetch_object_url(&url, &headers).await.map_err(ApiError)
    }

    /// The URL of `GET /jobs/{id}/events`, with the identity token as `access_token`.
    pub fn events_url(&self, id: &str) -> String {
        format!(
            "{}/jobs/{}/events?access_token={}",
            self.base,
            encode(id),
            encode(&self.identity_token)
        )
    }
}

/// A 2xx answer's JSON, or the error it carries in words.
fn read<T: DeserializeOwned>(resp: Fetched) -> Result<T, ApiError> {
    if (200..300).contains(&resp.status) {
        return serde_json::from_str(&resp.body)
            .map_err(|e| ApiError(format!("The backend sent an unexpected answer: {e}")));
    }
    Err(ApiError(
        match serde_json::from_str::<ErrorBody>(&resp.body) {
            Ok(body) => body.error.message,
            Err(_) => format!("The backend answered HTTP {}", resp.status),
        },
    ))
}
