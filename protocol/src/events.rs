//! A job's progress as it streams (`GET /api/v1/jobs/{id}/events`, Server-Sent Events): one
//! [`JobEvent`] per change.

use serde::{Deserialize, Serialize};

use crate::{JobStatus, RequestCounts, RowCounts};

/// One event of `GET /api/v1/jobs/{id}/events` (SSE event name `progress`; data is this as JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobEvent {
    /// The job's id.
    pub job_id: String,
    /// Where the job is.
    pub status: JobStatus,
    /// `status` in words.
    pub status_text: String,
    /// Summed `request_counts` of the job's batches.
    pub request_counts: RequestCounts,
    /// Rows per state.
    pub row_counts: RowCounts,
}
