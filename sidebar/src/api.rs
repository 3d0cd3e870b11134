//! The backend's `/api/v1`, as the sidebar calls it: every request carries
//! `Authorization: Bearer <identity token>`, and — once [`Api::prove_access`] has proved that the
//! person can edit the spreadsheet — `X-Almanac-Access-Proof: <proof>`; the event stream, which an
//! `EventSource` cannot give headers, carries the identity token as `?access_token=`. Creating a
//! job waits out one `503` (its `Retry-After`, at most 30 s) and re-proves access once after
//! `access_not_proven`, instead of showing an error.

use std::sync::{Arc, Mutex};

use almanac_protocol::{
    AccessChallenge, AccessProof, AccessProofRequest, CreateJobRequest, ErrorBody, Estimate,
    EstimateRequest, Job, JobList, ModelList, SelectionContext,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::js;

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
    /// `error.code`, e.g. `service_account_no_access` (empty when the body had none).
    pub code: String,
    /// `error.message`, for people.
    pub message: String,
    /// `Retry-After` in seconds.
    pub retry_after: Option<u32>,
}

/// Where the access proof stands, as the sidebar shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// Proven: Generate may start jobs.
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
    /// A client for the backend and tokens named by the selection context.
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

    async fn call_raw<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<T, Refusal> {
        let bearer = format!("Bearer {}", self.identity_token);
        let proof = self.proof().unwrap_or_default();
        let mut headers = vec![("Authorization", bearer.as_str())];
        if !proof.is_empty() {
            headers.push(("X-Almanac-Access-Proof", proof.as_str()));
        }
        let url = format!("{}{path}", self.base);
        let refusal = |status, code: &str, message: String, retry_after| Refusal {
            status,
            code: code.to_owned(),
            message,
            retry_after,
        };
        let resp = js::fetch(method, &url, &headers, body.as_deref())
            .await
            .map_err(|e| refusal(0, "", e, None))?;
        if (200..300).contains(&resp.status) {
            return serde_json::from_str(&resp.body).map_err(|e| {
                let message = format!("The backend sent an unexpected answer: {e}");
                refusal(resp.status, "", message, None)
            });
        }
        Err(match serde_json::from_str::<ErrorBody>(&resp.body) {
            Ok(body) => refusal(
                resp.status,
                &body.error.code,
                body.error.message,
                resp.retry_after,
            ),
            Err(_) => {
                let message = format!("The backend answered HTTP {}", resp.status);
                refusal(resp.status, "", message, resp.retry_after)
            }
        })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<T, ApiError> {
        self.call_raw(method, path, body)
            .await
            .map_err(|r| ApiError(r.message))
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
            Err(r) if r.code == "service_account_no_access" => Access::NotShared {
                can_share: !self.configured_service_account.is_empty()
                    && self
                        .configured_service_account
                        .eq_ignore_ascii_case(&challenge.service_account_email),
                email: challenge.service_account_email,
            },
            Err(r) if r.code == "proof_not_found" => Access::CannotEdit(r.message),
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

    /// `POST /jobs`; after a 503 it waits `Retry-After` (at most 30 s) and tries once more, and
    /// after `access_not_proven` (a proof expired, or another backend instance) it proves access
    /// again and tries once more.
    pub async fn create_job(&self, req: &CreateJobRequest) -> Result<Job, ApiError> {
        let first = self.call_raw("POST", "/jobs", Self::json(req)).await;
        let again = match &first {
            Err(r) if r.status == 503 => {
                let wait = r.retry_after.unwrap_or(5).clamp(1, 30);
                js::sleep(i32::try_from(wait * 1000).unwrap_or(30_000)).await;
                true
            }
            Err(r) if r.code == "access_not_proven" => self.prove_access().await == Access::Proven,
            _ => false,
        };
        if !again {
            return first.map_err(|r| ApiError(r.message));
        }
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
