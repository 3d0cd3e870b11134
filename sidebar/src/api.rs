//! The backend's `/api/v1`, as the sidebar calls it: every request carries
//! `Authorization: Bearer <identity token>`, and — once [`Api::prove_access`] has proved that the
//! person can edit the spreadsheet — `X-Almanac-Access-Proof: <proof>`; no token ever goes in a
//! URL (proxies and request logs record URLs). Creating a job, retrying or cancelling one and a
//! chat turn are one user action each: each sends one `Idempotency-Key` (a fresh UUID per click)
//! and sends it again on its own retries — after a network error, a `503` (waiting its
//! `Retry-After`, at most 30 s), a `409 idempotency_key_in_flight`, or `access_not_proven` (once
//! access is proved again) — so a retry never creates, cancels or asks twice: the backend answers
//! it with the first answer ([`Api::action`]). The chat history (which the backend serves only
//! with a current proof) re-proves likewise. A chat answer and a job's event stream are read
//! with `fetch` (so the headers go with them, which an `EventSource` cannot send) and parsed by
//! [`crate::sse`]; a chart is fetched with the headers too and shown from an object URL.

use std::sync::{Arc, Mutex};

use almanac_protocol::chat::{ChatRequest, MessageList};
use almanac_protocol::{
    AccessChallenge, AccessProof, AccessProofRequest, CreateJobRequest, ErrorBody, ErrorCode,
    Estimate, EstimateRequest, IDEMPOTENCY_KEY_HEADER, Job, JobList, ModelList, SelectionContext,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::i18n::tf;
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

/// A refusal as the backend sent it: its code, message and `Retry-After`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status (0 when no answer came).
    pub status: u16,
    /// `error.code`, e.g. `service_account_no_access` (`None` when the body had none).
    pub code: Option<ErrorCode>,
    /// `error.message`, for people.
    pub message: String,
    /// `Retry-After` in seconds.
    pub retry_after: Option<u32>,
}

impl Refusal {
    /// No answer came (network, CORS): `message` says why.
    fn unanswered(message: String) -> Refusal {
        Refusal {
            status: 0,
            code: None,
            message,
            retry_after: None,
        }
    }

    /// A non-2xx answer: the code and message of its [`ErrorBody`], or its status in words.
    fn of(resp: &Fetched) -> Refusal {
        let (code, message) = match serde_json::from_str::<ErrorBody>(&resp.body) {
            Ok(body) => (Some(body.error.code), body.error.message),
            Err(_) => (None, tf("error-http", &[("status", resp.status.into())])),
        };
        Refusal {
            status: resp.status,
            code,
            message,
            retry_after: resp.retry_after,
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> ApiError {
        ApiError(r.message)
    }
}

/// Where the access proof stands, as the sidebar shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// Proven: Generate may start jobs and Chat may ask.
    Proven,
    /// The person cannot edit the spreadsheet (Apps Script refused to write the check).
    CannotEdit(String),
    /// The spreadsheet is not shared with the service account: a step, naming it; `can_share`
    /// when the script's owner configured that same address, so a button can share.
    NotShared {
        /// The service account's email.
        email: String,
        /// Whether `shareWithServiceAccount()` may be offered.
        can_share: bool,
    },
    /// Something else went wrong.
    Failed(String),
}

/// How many times one user action is sent at most (the first and its retries, all with one
/// `Idempotency-Key`).
const ACTION_ATTEMPTS: u32 = 3;

/// A client of one backend for one user.
#[derive(Clone, Debug)]
pub struct Api {
    base: String,
    identity_token: String,
    spreadsheet_id: String,
    configured_service_account: String,
    proof: Arc<Mutex<Option<String>>>,
}

/// Percent-encodes a query or path value (RFC 3986 unreserved characters stay).
pub fn encode(value: &str) -> String {
    String::from(js_sys::encode_uri_component(value))
}

impl Api {
    /// A client for the backend, identity token and spreadsheet named by the selection context.
    pub fn new(ctx: &SelectionContext) -> Api {
        Api {
            base: format!("{}/api/v1", ctx.backend_url.trim_end_matches('/')),
            identity_token: ctx.identity_token.clone(),
            spreadsheet_id: ctx.spreadsheet_id.clone(),
            configured_service_account: ctx.service_account_email.clone(),
            proof: Arc::new(Mutex::new(None)),
        }
    }

    fn proof(&self) -> Option<String> {
        self.proof.lock().ok().and_then(|p| p.clone())
    }

    /// `Authorization: Bearer …`, and `X-Almanac-Access-Proof: …` once a proof is held.
    fn auth_headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![("Authorization", format!("Bearer {}", self.identity_token))];
        if let Some(proof) = self.proof().filter(|p| !p.is_empty()) {
            headers.push(("X-Almanac-Access-Proof", proof));
        }
        headers
    }

    async fn fetch(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        key: Option<&str>,
    ) -> Result<Fetched, Refusal> {
        let mut auth = self.auth_headers();
        if let Some(key) = key {
            auth.push((IDEMPOTENCY_KEY_HEADER, format!("\"{key}\"")));
        }
        let headers: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let url = format!("{}{path}", self.base);
        js::fetch(method, &url, &headers, body)
            .await
            .map_err(Refusal::unanswered)
    }

    async fn call_raw<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<T, Refusal> {
        read(self.fetch(method, path, body.as_deref(), None).await?)
    }

    /// One user action (a click): `method path` with a fresh `Idempotency-Key`, sent again with
    /// the same key after a network error, a `503`, a `409 idempotency_key_in_flight` (each
    /// waiting `Retry-After`, at most 30 s) or `access_not_proven` (after proving access again),
    /// at most [`ACTION_ATTEMPTS`] times in all: the backend runs it at most once.
    async fn action<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<T, Refusal> {
        let key = js::random_uuid();
        let mut attempt = 1;
        loop {
            let answer = match self.fetch(method, path, body.as_deref(), Some(&key)).await {
                Ok(resp) => read(resp),
                Err(refusal) => Err(refusal),
            };
            let Err(refusal) = answer else {
                return answer;
            };
            if attempt >= ACTION_ATTEMPTS || !self.worth_again(&refusal).await {
                return Err(refusal);
            }
            attempt += 1;
        }
    }

    /// Whether an action refused with `refusal` may be sent again with its key (having waited
    /// or proved access as it asks).
    async fn worth_again(&self, refusal: &Refusal) -> bool {
        let in_flight = refusal.code == Some(ErrorCode::IdempotencyKeyInFlight);
        match refusal.status {
            0 | 503 => {}
            409 if in_flight => {}
            _ if refusal.code == Some(ErrorCode::AccessNotProven) => {
                return self.prove_access().await == Access::Proven;
            }
            _ => return false,
        }
        let wait = refusal.retry_after.unwrap_or(2).clamp(1, 30);
        js::sleep(i32::try_from(wait * 1000).unwrap_or(30_000)).await;
        true
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<T, ApiError> {
        Ok(self.call_raw(method, path, body).await?)
    }

    /// A call that needs the access proof (with the identity token, as every call): after
    /// `access_not_proven` (no proof held yet, an expired one, another backend instance) it
    /// proves access again and calls once more.
    async fn call_proven<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<T, Refusal> {
        let first = self.call_raw(method, path, body.clone()).await;
        let again = matches!(&first, Err(r) if r.code == Some(ErrorCode::AccessNotProven))
            && self.prove_access().await == Access::Proven;
        if !again {
            return first;
        }
        self.call_raw(method, path, body).await
    }

    /// Proves that the person can edit the spreadsheet: `POST …/access/challenge`, Apps Script's
    /// `writeAccessProof(key, nonce)`, `POST …/access/proof`; keeps the proof for later calls.
    pub async fn prove_access(&self) -> Access {
        let base = format!("/spreadsheets/{}/access", encode(&self.spreadsheet_id));
        let challenge: AccessChallenge = match self
            .call_raw("POST", &format!("{base}/challenge"), None)
            .await
        {
            Ok(c) => c,
            Err(r) => return Access::Failed(r.message),
        };
        if let Err(e) = js::write_access_proof(&challenge.metadata_key, &challenge.nonce).await {
            return Access::CannotEdit(e);
        }
        let req = AccessProofRequest {
            nonce: challenge.nonce,
        };
        let answer: Result<AccessProof, Refusal> = self
            .call_raw("POST", &format!("{base}/proof"), Self::json(&req))
            .await;
        match answer {
            Ok(proof) => {
                if let Ok(mut kept) = self.proof.lock() {
                    *kept = Some(proof.proof);
                }
                Access::Proven
            }
            Err(r) if r.code == Some(ErrorCode::ServiceAccountNoAccess) => Access::NotShared {
                can_share: !self.configured_service_account.is_empty()
                    && self
                        .configured_service_account
                        .eq_ignore_ascii_case(&challenge.service_account_email),
                email: challenge.service_account_email,
            },
            Err(r) if r.code == Some(ErrorCode::ProofNotFound) => Access::CannotEdit(r.message),
            Err(r) => Access::Failed(r.message),
        }
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

    /// `POST /jobs`, one click ([`Api::action`]): after a network error or a 503 it tries again
    /// with the same `Idempotency-Key`, and after `access_not_proven` (a proof expired, or another
    /// backend instance) it proves access again and tries once more — one job however often.
    pub async fn create_job(&self, req: &CreateJobRequest) -> Result<Job, ApiError> {
        Ok(self.action("POST", "/jobs", Self::json(req)).await?)
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

    /// `POST /jobs/{id}/cancel`, with the access proof (the service account writes what
    /// finished).
    pub async fn cancel(&self, id: &str) -> Result<Job, ApiError> {
        let path = format!("/jobs/{}/cancel", encode(id));
        Ok(self.action("POST", &path, None).await?)
    }

    /// `POST /jobs/{id}/retry`, with the access proof: sends the failed rows again.
    pub async fn retry(&self, id: &str) -> Result<Job, ApiError> {
        let path = format!("/jobs/{}/retry", encode(id));
        Ok(self.action("POST", &path, None).await?)
    }

    /// `GET /threads/{id}/messages?order=asc&limit=100`, with the access proof: the conversation
    /// so far; `None` when the thread is gone (404).
    pub async fn chat_messages(&self, thread_id: &str) -> Result<Option<MessageList>, ApiError> {
        let path = format!(
            "/threads/{}/messages?order=asc&limit=100",
            encode(thread_id)
        );
        match self.call_proven("GET", &path, None).await {
            Ok(list) => Ok(Some(list)),
            Err(r) if r.status == 404 => Ok(None),
            Err(r) => Err(r.into()),
        }
    }

    /// `POST /chat` as Server-Sent Events (`Accept: text/event-stream`), one question with one
    /// `Idempotency-Key`: each event goes to `on_event` as it arrives. Sent again with the same
    /// key, as [`Api::action`] does, after a refusal (503, in flight, `access_not_proven`) or a
    /// network error before any event came — never once events were shown, which a replay would
    /// show twice — so the question is asked once however often it is sent.
    pub async fn chat(
        &self,
        req: &ChatRequest,
        mut on_event: impl FnMut(SseEvent),
    ) -> Result<(), ApiError> {
        let key = js::random_uuid();
        let mut attempt = 1;
        loop {
            let mut heard = false;
            let answer = self
                .chat_once(req, &key, &mut |event| {
                    heard = true;
                    on_event(event);
                })
                .await;
            let Err(refusal) = answer else {
                return Ok(());
            };
            if heard || attempt >= ACTION_ATTEMPTS || !self.worth_again(&refusal).await {
                return Err(refusal.into());
            }
            attempt += 1;
        }
    }

    /// One `POST /chat` with `Idempotency-Key: key`, streamed: the events to `on_event`, or the
    /// refusal.
    async fn chat_once(
        &self,
        req: &ChatRequest,
        key: &str,
        on_event: &mut impl FnMut(SseEvent),
    ) -> Result<(), Refusal> {
        let auth = self.auth_headers();
        let quoted = format!("\"{key}\"");
        let mut headers: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (*k, v.as_str())).collect();
        headers.push(("Accept", "text/event-stream"));
        headers.push((IDEMPOTENCY_KEY_HEADER, &quoted));
        let body = Self::json(req);
        let url = format!("{}/chat", self.base);
        let mut parser = SseParser::default();
        let read_chunk = |chunk: &[u8]| {
            parser.push(chunk).into_iter().for_each(&mut *on_event);
            true
        };
        match js::fetch_stream("POST", &url, &headers, body.as_deref(), read_chunk).await {
            Ok(Streamed::Read) => Ok(()),
            Ok(Streamed::Refused(resp)) => Err(Refusal::of(&resp)),
            Err(e) => Err(Refusal::unanswered(e)),
        }
    }

    /// An object URL of a file the code interpreter made (`GET
    /// /threads/{id}/files/{file_id}/content`, fetched with the identity token and the proof).
    pub async fn file_url(&self, thread_id: &str, file_id: &str) -> Result<String, ApiError> {
        let auth = self.auth_headers();
        let headers: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let url = self.file_route(thread_id, file_id);
        js::fetch_object_url(&url, &headers).await.map_err(ApiError)
    }

    /// The backend's route of a file's bytes, `…/threads/{thread_id}/files/{file_id}/content`
    /// (it needs the API's headers: [`Api::file_url`] fetches it).
    pub fn file_route(&self, thread_id: &str, file_id: &str) -> String {
        format!(
            "{}/threads/{}/files/{}/content",
            self.base,
            encode(thread_id),
            encode(file_id)
        )
    }

    /// Reads `GET /jobs/{id}/events` with the API's headers, handing each event to `on_event`
    /// until the server ends the stream or `on_event` answers `false`.
    ///
    /// # Errors
    /// The refusal, or why the stream could not be read or broke off.
    pub async fn job_events(
        &self,
        id: &str,
        mut on_event: impl FnMut(SseEvent) -> bool,
    ) -> Result<(), ApiError> {
        let auth = self.auth_headers();
        let mut headers: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (*k, v.as_str())).collect();
        headers.push(("Accept", "text/event-stream"));
        let url = format!("{}/jobs/{}/events", self.base, encode(id));
        let mut parser = SseParser::default();
        let read_chunk = |chunk: &[u8]| parser.push(chunk).into_iter().all(&mut on_event);
        match js::fetch_stream("GET", &url, &headers, None, read_chunk).await {
            Ok(Streamed::Read) => Ok(()),
            Ok(Streamed::Refused(resp)) => Err(Refusal::of(&resp).into()),
            Err(e) => Err(Refusal::unanswered(e).into()),
        }
    }
}

/// A 2xx answer's JSON, or the refusal it carries.
fn read<T: DeserializeOwned>(resp: Fetched) -> Result<T, Refusal> {
    if (200..300).contains(&resp.status) {
        return serde_json::from_str(&resp.body).map_err(|e| Refusal {
            status: resp.status,
            code: None,
            message: tf(
                "error-unexpected-answer",
                &[("error", e.to_string().into())],
            ),
            retry_after: None,
        });
    }
    Err(Refusal::of(&resp))
}
