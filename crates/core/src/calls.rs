//! Outside calls, as the clients of OpenAI and Google Sheets report them: every HTTP attempt
//! (retries included) with its service, operation, outcome and latency. The clients take an
//! optional [`CallObserver`]; the server installs one that records Prometheus metrics, so no
//! client knows about metrics and the server's metrics know about no client.

use std::sync::Arc;
use std::time::Duration;

/// One HTTP attempt to an outside service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalCall {
    /// `openai` or `sheets`.
    pub service: &'static str,
    /// A short name without ids, such as `batches.create` or `values.batchUpdate`.
    pub operation: String,
    /// The HTTP status (`"200"`, `"429"`…), or `timeout` / `connection` when no answer came.
    pub status: String,
    /// From sending the request to its answer's headers (or the failure).
    pub took: Duration,
}

/// Receives every [`ExternalCall`] of a client. Must be cheap: it runs on the request path.
pub trait CallObserver: Send + Sync {
    /// Called once per attempt, after it ended.
    fn observe(&self, call: &ExternalCall);
}

/// A client's observer, if any (shared by every clone of the client).
pub type Observer = Option<Arc<dyn CallObserver>>;
