//! The size limits of request bodies (axum's `DefaultBodyLimit` per route; a larger body is
//! refused with 413 and a message naming the limit).

/// Largest `POST /estimate` body, in bytes (an estimate of 50,000 rows fits).
pub const MAX_ESTIMATE_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Largest body of every other route, in bytes (a job names row spans, not rows).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
