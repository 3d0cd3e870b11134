//! What the API and the command line show of a job, built from the store: the job without its
//! rows ([`job_view`]), its progress event ([`job_event`]) and its cost ([`job_cost`]).

use almanac_core::catalog::Catalog;
use almanac_core::cost::{pro_rata, usage_cost};
use almanac_core::ids::BatchId;
use almanac_core::state::Mode;
use almanac_protocol::{
    BatchSummary, ErrorDetail, Job, JobCost, JobEvent, JobRow, RequestCounts, TokenUsage,
};
use almanac_store::{Destination, JobRecord, RowRecord, Store, StoreError, timestamp};

/// Builds the API view of a job (without rows) from the store.
///
/// # Errors
/// [`StoreError`] on a database failure.
pub async fn job_view(store: &Store, record: &JobRecord) -> Result<Job, StoreError> {
    let status = record.status;
    let batches = store.batches(&record.id).await?;
    // A file job shows `file:<path>` where a sheet job shows its spreadsheet.
    let (spreadsheet_id, sheet_id) = match &record.destination {
        Destination::Sheet {
            spreadsheet_id,
            sheet_id,
        } => (spreadsheet_id.to_string(), *sheet_id),
        Destination::File { path } => (format!("file:{path}"), 0),
    };
    Ok(Job {
        id: record.id.to_string(),
        spreadsheet_id,
        sheet_id,
        sheet_title: record.sheet_title.clone(),
        model: record.model.clone(),
        mode: record.mode,
        overwrite: record.overwrite,
        status,
        status_text: status.describe().to_owned(),
        request_counts: request_counts(store, record).await?,
        row_counts: store.row_counts(&record.id).await?,
        batch_ids: batches
            .iter()
            .filter_map(|b| b.batch_id.as_ref().map(ToString::to_string))
            .collect(),
        batches: batches
            .into_iter()
            .map(|b| BatchSummary {
                request_counts: RequestCounts {
                    total: b.total as u64,
                    completed: b.completed as u64,
                    failed: b.failed as u64,
                },
                batch_id: b.batch_id.map(BatchId::into_string),
                attempt: b.attempt as u32,
                part: b.part as u32,
                status: b.status,
            })
            .collect(),
        error: match (&record.error_code, &record.error_message) {
            (Some(code), Some(message)) => Some(ErrorDetail {
                code: code.clone(),
                message: message.clone(),
            }),
            _ => None,
        },
        created_at: timestamp(record.created_at),
        updated_at: timestamp(record.updated_at),
        rows: Vec::new(),
        cost: job_cost(store, record).await?,
    })
}

/// One row as the API shows it.
pub fn job_row(r: RowRecord) -> JobRow {
    JobRow {
        state: r.state,
        id: r.row_id,
        title: r.title,
        row_number: r.row_number as u32,
        reason: r.reason,
        failure_code: r.failure_code,
    }
}

/// `request_counts` of a job: from its batches, or from its rows in realtime mode.
async fn request_counts(store: &Store, record: &JobRecord) -> Result<RequestCounts, StoreError> {
    if record.mode == Mode::Realtime {
        store.realtime_request_counts(&record.id).await
    } else {
        store.request_counts(&record.id).await
    }
}

/// The estimate a job was created with, the usage its responses reported, and what that cost.
///
/// # Errors
/// [`StoreError`] on a database failure.
pub async fn job_cost(store: &Store, record: &JobRecord) -> Result<JobCost, StoreError> {
    let est = store.job_estimate(&record.id).await?;
    let (actual_rows, actual) = store.job_usage(&record.id).await?;
    let actual_usd = Catalog::builtin()
        .resolve(&record.model)
        .map(|spec| usage_cost(spec, record.mode, &actual))
        .unwrap_or(0.0);
    let expected_for_actual = pro_rata(est.est_cost_usd, actual_rows, est.est_rows.max(0) as u64);
    Ok(JobCost {
        estimated_rows: est.est_rows.max(0) as u64,
        estimated: TokenUsage {
            input_tokens: est.est_input_tokens.max(0) as u64,
            cached_input_tokens: est.est_cached_tokens.max(0) as u64,
            output_tokens: est.est_output_tokens.max(0) as u64,
            reasoning_tokens: 0,
        },
        estimated_usd: est.est_cost_usd,
        actual_rows,
        actual,
        actual_usd,
        estimate_error: (actual_rows > 0 && expected_for_actual > 0.0)
            .then(|| (actual_usd - expected_for_actual) / expected_for_actual),
        max_cost_usd: est.max_cost_usd,
    })
}

/// Builds the progress event of a job from the store.
///
/// # Errors
/// [`StoreError`] on a database failure.
pub async fn job_event(store: &Store, record: &JobRecord) -> Result<JobEvent, StoreError> {
    let status = record.status;
    Ok(JobEvent {
        job_id: record.id.to_string(),
        status,
        status_text: status.describe().to_owned(),
        request_counts: request_counts(store, record).await?,
        row_counts: store.row_counts(&record.id).await?,
    })
}
