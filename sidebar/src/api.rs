//! The backend's `/api/v1`, as the sidebar calls it: every request carries
//! `Authorization: Bearer <identity token>` and `X-Goog-User-Token: <OAuth token>`; the event stream,
//! which an `EventSource` cannot give headers, carries the identity token as `?access_token=`.

use almanac_protocol::{
    CreateJobRequest, ErrorBody, Estimate, EstimateRequest, Job, JobList, ModelList,
    SelectionContext,
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

    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<T, ApiError> {
        let bearer = format!("Bearer {}", self.identity_token);
        let headers = [
            ("Authorization", bearer.as_str()),
            ("X-Goog-User-Token", self.oauth_token.as_str()),
        ];
        let url = format!("{}{path}", self.base);
        let resp = js::fetch(method, &url, &headers, body.as_deref())
            .await
            .map_err(ApiError)?;
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
