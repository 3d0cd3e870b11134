//! The body of `GET /api/v1/jobs/{id}`, `POST /api/v1/jobs` and a job's `cancel` and `retry`: a
//! [`Job`] as JSON whose rows are read from the store and serialised a page at a time while the
//! body is sent. A 50,000-row job's JSON is about 8 MB, and building it whole held its row records, its rows and the text at once
//! (about 25 MiB per request, for every concurrent reader); streamed, a request holds one page.
//!
//! The JSON is the same document `serde_json` would make of the whole `Job` (same fields, same
//! values), with `rows` last. A database failure after the first bytes were sent cannot become an
//! error status any more: the body is then cut short (the client sees a broken chunked body, never
//! a shorter valid document) and the failure is logged.

use almanac_core::ids::JobId;
use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, Stream};

use almanac_protocol::Job;

use crate::jobs::JobService;

/// Rows serialised per chunk of the body (about 170 KB of JSON).
const PAGE_ROWS: u32 = 1_000;

/// The response: `status`, `Content-Type: application/json`, and `job` (read without its rows by
/// [`JobService::head`]) followed by its rows, streamed from `jobs` a page at a time.
pub fn job_response(status: StatusCode, jobs: JobService, job: Job) -> Response {
    let head = head_bytes(&job);
    let body = Body::from_stream(row_chunks(jobs, JobId::from(job.id), head));
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The job's JSON up to its rows: `{"id":…,…,"rows":[` (a job's `rows` are empty here, so
/// serde leaves the field out and the object ends with its last field).
fn head_bytes(job: &Job) -> Vec<u8> {
    let mut head = serde_json::to_vec(job).expect("a job serializes");
    debug_assert_eq!(head.last(), Some(&b'}'));
    head.pop();
    head.extend_from_slice(b",\"rows\":[");
    head
}

/// Where the body is: the head not yet sent, then the page after a `seq` (`None`: the first),
/// then the end.
enum Next {
    Head(Vec<u8>),
    Rows(Option<i64>),
    Done,
}

/// The chunks of the body: the head, one chunk per page of rows, and the closing `]}`.
fn row_chunks(
    jobs: JobService,
    id: JobId,
    head: Vec<u8>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    stream::unfold(Next::Head(head), move |next| {
        let (jobs, id) = (jobs.clone(), id.clone());
        async move {
            match next {
                Next::Head(head) => Some((Ok(Bytes::from(head)), Next::Rows(None))),
                Next::Rows(after) => Some(page(&jobs, &id, after).await),
                Next::Done => None,
            }
        }
    })
}

/// One page of rows as JSON (each after a `,` but the job's first, on the first page), and what
/// follows it; the closing `]}` with the last page.
async fn page(
    jobs: &JobService,
    id: &JobId,
    after: Option<i64>,
) -> (Result<Bytes, std::io::Error>, Next) {
    let (rows, next) = match jobs.row_page(id, after, PAGE_ROWS).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(job_id = %id, error = %e, "job body cut short: its rows cannot be read");
            return (Err(std::io::Error::other(e.to_string())), Next::Done);
        }
    };
    let mut out = Vec::with_capacity(rows.len() * 180 + 2);
    for (i, row) in rows.iter().enumerate() {
        if i > 0 || after.is_some() {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, row).expect("a row serializes");
    }
    match next {
        Some(after) => (Ok(Bytes::from(out)), Next::Rows(Some(after))),
        None => {
            out.extend_from_slice(b"]}");
            (Ok(Bytes::from(out)), Next::Done)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_is_the_whole_job_without_its_closing_brace_then_the_rows_array() {
        let job: Job = serde_json::from_value(serde_json::json!({
            "id": "j1", "spreadsheet_id": "s", "sheet_id": 0, "sheet_title": "Events",
            "model": "m", "mode": "batch", "overwrite": false, "status": "created",
            "status_text": "", "request_counts": almanac_protocol::RequestCounts::default(),
            "row_counts": almanac_protocol::RowCounts::default(), "batch_ids": ["b1"],
            "error": {"code": "c", "message": "a \"rows\":[] inside a string"},
            "created_at": "t", "updated_at": "t"
        }))
        .unwrap();
        let mut text = head_bytes(&job);
        text.extend_from_slice(b"]}");
        let back: serde_json::Value = serde_json::from_slice(&text).unwrap();
        let whole = serde_json::to_value(&job).unwrap();
        let mut expected = whole.as_object().unwrap().clone();
        expected.insert("rows".into(), serde_json::json!([]));
        assert_eq!(back, serde_json::Value::Object(expected));
    }
}
