//! Overlapping calls for one job from two clients: a test running several replicas of a backend
//! (each with its own API key) checks with it that no step of one job ever ran on two replicas at
//! once. Every OpenAI Files/Batches call that names a job — an upload whose file name holds the
//! job id (`almanac-<job>-…`), a batch create (`metadata.job_id`), a batch retrieve or cancel, a
//! file download of a job's batch — is in flight from its start until its answer is sent (or the
//! client goes away); a call for a job while another key has a call for the same job in flight is
//! an [`Overlap`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::Shared;

/// Two clients (API keys) with calls in flight for one job at the same moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overlap {
    /// The job (`metadata.job_id`).
    pub job_id: String,
    /// The key whose call started while the other's was in flight.
    pub key: String,
    /// The key with a call in flight.
    pub other_key: String,
    /// The call that started (`METHOD path`).
    pub call: String,
}

/// Calls in flight per job and key, and the overlaps seen.
#[derive(Debug, Default)]
pub struct Tracker {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    in_flight: HashMap<String, HashMap<String, usize>>,
    overlaps: Vec<Overlap>,
    calls: usize,
}

impl Tracker {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The overlaps seen so far.
    pub fn overlaps(&self) -> Vec<Overlap> {
        self.lock().overlaps.clone()
    }

    /// Calls attributed to a job so far.
    pub fn calls(&self) -> usize {
        self.lock().calls
    }

    fn enter(self: &Arc<Self>, job_id: String, key: String, call: String) -> InFlight {
        let mut inner = self.lock();
        inner.calls += 1;
        let others: Vec<String> = inner
            .in_flight
            .get(&job_id)
            .map(|keys| {
                keys.iter()
                    .filter(|(k, n)| **k != key && **n > 0)
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default();
        for other_key in others {
            inner.overlaps.push(Overlap {
                job_id: job_id.clone(),
                key: key.clone(),
                other_key,
                call: call.clone(),
            });
        }
        *inner
            .in_flight
            .entry(job_id.clone())
            .or_default()
            .entry(key.clone())
            .or_default() += 1;
        InFlight {
            tracker: self.clone(),
            job_id,
            key,
        }
    }
}

/// One call in flight; dropping it ends the call.
struct InFlight {
    tracker: Arc<Tracker>,
    job_id: String,
    key: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut inner = self.tracker.lock();
        if let Some(n) = inner
            .in_flight
            .get_mut(&self.job_id)
            .and_then(|keys| keys.get_mut(&self.key))
        {
            *n = n.saturating_sub(1);
        }
    }
}

/// The middleware: attributes each call to its job, if it names one, and tracks it.
pub async fn track(
    State((shared, tracker)): State<(Arc<Shared>, Arc<Tracker>)>,
    request: Request,
    next: Next,
) -> Response {
    let key = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let call = format!("{} {}", request.method(), request.uri().path());
    let (request, job) = job_of(&shared, request).await;
    let _in_flight = job.map(|job| tracker.enter(job, key, call));
    next.run(request).await
}

/// The job a call is for, reading (and restoring) the body of uploads and batch creations.
async fn job_of(shared: &Shared, request: Request) -> (Request, Option<String>) {
    let path = request.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = request.method().clone();
    match (method, segments.as_slice()) {
        (Method::POST, ["v1", "files"]) | (Method::POST, ["v1", "batches"]) => {
            let (parts, body) = request.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let job = job_in_body(&bytes);
            (Request::from_parts(parts, Body::from(bytes)), job)
        }
        (_, ["v1", "batches", id, ..]) => {
            let job = batch_job(shared, |b| b["id"] == *id);
            (request, job)
        }
        (Method::GET, ["v1", "files", id, "content"]) => {
            let job = batch_job(shared, |b| {
                b["input_file_id"] == *id || b["output_file_id"] == *id || b["error_file_id"] == *id
            });
            (request, job)
        }
        _ => (request, None),
    }
}

/// `metadata.job_id` of the first batch that `matches`.
fn batch_job(shared: &Shared, matches: impl Fn(&serde_json::Value) -> bool) -> Option<String> {
    let state = shared.lock();
    state
        .batches
        .iter()
        .map(crate::openai::batch::BatchJob::to_json)
        .find(|b| matches(b))
        .and_then(|b| b["metadata"]["job_id"].as_str().map(str::to_owned))
}

/// The job id in an upload's file name (`almanac-<uuid>-…`) or a batch creation's
/// `"job_id":"<uuid>"`.
fn job_in_body(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    for marker in ["filename=\"almanac-", "\"job_id\":\""] {
        if let Some(at) = text.find(marker) {
            let id: String = text[at + marker.len()..].chars().take(36).collect();
            if id.len() == 36 {
                return Some(id);
            }
        }
    }
    None
}
