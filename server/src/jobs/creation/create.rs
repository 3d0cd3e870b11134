//! Creating a job: a sheet job from a Generate click ([`create`]) or a file job from `almanac run`
//! ([`create_file_job`]). Both check what they are given, classify the rows (`jobs::creation::selection`),
//! estimate the rows to send with the one estimate (`jobs::creation::estimate`), and store the job, its rows
//! and its estimate; a sheet job also proves that the caller can open the spreadsheet, settles
//! `mode: auto` (`jobs::creation::strategy`) and is refused when its estimate passes its cap or the
//! spreadsheet's monthly budget (`spreadsheet::budget`). A sheet job checks the caller's access proof
//! (`spreadsheet::access`) and reads its rows in one `values.batchGetByDataFilter` by `sheetId`, tried
//! again briefly after a 429 or 5xx (`spreadsheet::transient`).

use almanac_core::catalog::ModelSpec;
use almanac_core::cost::{check_cap, estimate_total};
use almanac_core::domain::{RowInput, SpreadsheetId};
use almanac_core::ids::JobId;
use almanac_core::state::{JobStatus, Mode, RowState};
use almanac_protocol::{CreateJobRequest, Estimate, JobOptions};
use almanac_store::cost::JobEstimateRecord;
use almanac_store::{Destination, FileTarget, NewJob, NewRow, StoreError};
use secrecy::SecretString;

use crate::jobs::creation::estimate::estimate;
use crate::jobs::creation::{selection, strategy};
use crate::jobs::errors::{BudgetError, CreateJobError, InvalidRequest};
use crate::jobs::services::Services;
use crate::spreadsheet::read::{MAX_ROW_NUMBER, MAX_ROWS_PER_JOB, MAX_SPANS_PER_JOB};
use crate::spreadsheet::{Spreadsheets, access, budget, read};

/// Creates a sheet job and returns its id: checks the request and the caller's access proof
/// (`access_proof`, from `POST /spreadsheets/{id}/access/proof` — `None` only in insecure local
/// development), reads the selected rows in one `values.batchGetByDataFilter` (which also names
/// the sheet's current title), sets aside rows that are filled or invalid, estimates the rest,
/// settles the mode, checks the caps, and stores the job with its rows and estimate.
///
/// # Errors
/// See [`CreateJobError`]; [`CreateJobError::OverBudget`] carries the figures.
pub async fn create(
    svc: &Services,
    owner: &str,
    access_proof: Option<&SecretString>,
    req: CreateJobRequest,
    options: JobOptions,
) -> Result<JobId, CreateJobError> {
    check_cap_option(options.max_cost_usd)?;
    let spreadsheet_id = check_request(&req)?;
    let model = svc.catalog.resolve_current(&req.model)?;
    check_mode_allowed(svc, req.mode, model)?;
    let spreadsheets = svc.spreadsheets();
    access::check(&spreadsheets, owner, &spreadsheet_id, access_proof)?;
    let read = read::rows(
        &spreadsheets,
        "job creation",
        &spreadsheet_id,
        req.sheet_id,
        &req.rows,
    )
    .await?;
    let title = read.title;
    let rows = selection::classify(&read.rows, req.overwrite);
    let estimate = estimate(&svc.store, model, pending_inputs(&rows)).await?;
    let max_wait = options.max_wait_seconds.map(std::time::Duration::from_secs);
    let choice = strategy::choose(&svc.cost, req.mode, &estimate, max_wait)
        .map_err(CreateJobError::ModeNotAllowed)?;
    let estimate_usd = estimate_total(&estimate, choice.mode);
    // One admission at a time per spreadsheet, on every replica: the budget check and the
    // insert below are one step for the next job's check.
    let admission = budget::admit(&spreadsheets, owner, spreadsheet_id.as_str()).await?;
    if estimate.rows > 0 {
        let checked = check_caps(
            &spreadsheets,
            (owner, spreadsheet_id.as_str()),
            choice.mode,
            estimate_usd,
            options.max_cost_usd,
        );
        checked.await??;
    }
    let job = new_job(
        owner,
        &req,
        spreadsheet_id,
        title,
        model,
        choice.mode,
        &rows,
    );
    let id = job.id.clone();
    store_job(svc, &job, &rows, &estimate, options.max_cost_usd, None).await?;
    drop(admission);
    tracing::info!(job_id = %id, rows = rows.len(), pending = estimate.rows, model = %model.id, mode = choice.mode.as_str(), why = %choice.reason, estimate_usd, "job created");
    svc.wake_for(&id).await;
    Ok(id)
}

/// A command-line job over an events file: its rows (already classified), where to read and write,
/// the model and mode.
#[derive(Clone, Debug)]
pub struct NewFileJob {
    /// The job's rows, classified in the file's words.
    pub rows: Vec<NewRow>,
    /// Where the job reads and writes (its `job_id` is set here).
    pub target: FileTarget,
    /// The rows selected, as 1-based data-row numbers (for the job's `spans`).
    pub span: almanac_protocol::RowSpan,
    /// The input file's name, shown as the job's sheet title.
    pub title: String,
    /// The model.
    pub model: &'static ModelSpec,
    /// Batch or realtime.
    pub mode: Mode,
    /// Replace filled values.
    pub overwrite: bool,
    /// Who runs it (the command line's owner).
    pub owner: String,
}

/// Stores a file job (`almanac run`) with its rows, target and estimate, and returns its id; a
/// job with nothing to send starts at `writing`.
///
/// # Errors
/// [`CreateJobError::Store`] on a database failure.
pub async fn create_file_job(svc: &Services, new: NewFileJob) -> Result<JobId, CreateJobError> {
    let estimate = estimate(&svc.store, new.model, pending_inputs(&new.rows)).await?;
    let id = JobId::from(uuid::Uuid::now_v7().to_string());
    let job = NewJob {
        id: id.clone(),
        owner: new.owner,
        destination: Destination::File {
            path: new.target.input_path.clone(),
        },
        sheet_title: new.title,
        spans: vec![new.span],
        model: new.model.id.clone(),
        mode: new.mode,
        overwrite: new.overwrite,
        status: if estimate.rows == 0 {
            JobStatus::Writing
        } else {
            JobStatus::Created
        },
    };
    let target = FileTarget {
        job_id: id.clone(),
        ..new.target
    };
    store_job(svc, &job, &new.rows, &estimate, None, Some(&target)).await?;
    Ok(id)
}

/// The inputs of the rows to send.
pub fn pending_inputs(rows: &[NewRow]) -> Vec<RowInput> {
    rows.iter()
        .filter(|r| r.state == RowState::Pending)
        .filter_map(NewRow::input)
        .collect()
}

/// Inserts the job, its rows (and file target) and its estimate.
async fn store_job(
    svc: &Services,
    job: &NewJob,
    rows: &[NewRow],
    estimate: &Estimate,
    max_cost_usd: Option<f64>,
    target: Option<&FileTarget>,
) -> Result<(), CreateJobError> {
    let store = &svc.store;
    match target {
        Some(target) => store.insert_file_job(job, rows, target).await?,
        None => store.insert_job(job, rows).await?,
    }
    let record = JobEstimateRecord {
        template: almanac_core::prompt::template_id().to_owned(),
        max_cost_usd,
        est_rows: estimate.rows as i64,
        est_input_tokens: estimate.input_tokens as i64,
        est_cached_tokens: estimate.cached_input_tokens as i64,
        est_output_tokens: estimate.output_tokens as i64,
        est_cost_usd: estimate_total(estimate, job.mode),
    };
    store.set_job_estimate(&job.id, &record).await?;
    Ok(())
}

/// The sheet job to insert: `completed` at once when no row is pending.
fn new_job(
    owner: &str,
    req: &CreateJobRequest,
    spreadsheet_id: SpreadsheetId,
    title: String,
    model: &ModelSpec,
    mode: Mode,
    rows: &[NewRow],
) -> NewJob {
    let pending = rows.iter().any(|r| r.state == RowState::Pending);
    NewJob {
        id: JobId::from(uuid::Uuid::now_v7().to_string()),
        owner: owner.to_owned(),
        destination: Destination::Sheet {
            spreadsheet_id,
            sheet_id: req.sheet_id,
        },
        sheet_title: title,
        spans: req.rows.clone(),
        model: model.id.clone(),
        mode,
        overwrite: req.overwrite,
        status: if pending {
            JobStatus::Created
        } else {
            JobStatus::Completed
        },
    }
}

fn check_cap_option(max_cost_usd: Option<f64>) -> Result<(), CreateJobError> {
    match max_cost_usd {
        Some(max) if !(max.is_finite() && max >= 0.0) => {
            Err(InvalidRequest::MaxCost { max_cost_usd: max }.into())
        }
        _ => Ok(()),
    }
}

/// The request's spreadsheet id, once its spans are checked (1-based, in order, within a sheet's
/// size, at most [`MAX_SPANS_PER_JOB`] of them and [`MAX_ROWS_PER_JOB`] rows in all).
fn check_request(req: &CreateJobRequest) -> Result<SpreadsheetId, CreateJobError> {
    let spreadsheet_id =
        SpreadsheetId::parse(&req.spreadsheet_id).map_err(InvalidRequest::SpreadsheetId)?;
    let invalid = |problem: InvalidRequest| Err(CreateJobError::Invalid(problem));
    if req.rows.is_empty() {
        return invalid(InvalidRequest::NoRows);
    }
    if req.rows.len() > MAX_SPANS_PER_JOB {
        return invalid(InvalidRequest::TooManySpans {
            spans: req.rows.len(),
            max: MAX_SPANS_PER_JOB,
        });
    }
    let mut count: u64 = 0;
    for span in &req.rows {
        if span.end_row > MAX_ROW_NUMBER {
            return invalid(InvalidRequest::RowPastEnd {
                row: span.end_row,
                max: MAX_ROW_NUMBER,
            });
        }
        if span.start_row == 0 || span.end_row < span.start_row {
            return invalid(InvalidRequest::BadSpan {
                start_row: span.start_row,
                end_row: span.end_row,
            });
        }
        count += u64::from(span.end_row - span.start_row) + 1;
    }
    if count > MAX_ROWS_PER_JOB {
        return invalid(InvalidRequest::TooManyRows {
            rows: count,
            max: MAX_ROWS_PER_JOB,
        });
    }
    Ok(spreadsheet_id)
}

/// Refuses a mode the server's strategy forbids, before the sheet is touched.
fn check_mode_allowed(svc: &Services, mode: Mode, model: &ModelSpec) -> Result<(), CreateJobError> {
    if svc.cost.strategy == crate::jobs::settings::BatchStrategy::UserChoice && mode == Mode::Auto {
        return Ok(());
    }
    let empty = almanac_openai::tokens::estimate(model, &[]);
    strategy::choose(&svc.cost, mode, &empty, None)
        .map(|_| ())
        .map_err(CreateJobError::ModeNotAllowed)
}

/// Checks a new job's estimate against its own cap, then against the spreadsheet's monthly
/// budget and the operator's caps (`owner`'s and everyone's).
///
/// # Errors
/// `Ok(Err(BudgetError))` when the job would pass one; `Err(StoreError)` on a database failure.
async fn check_caps(
    spreadsheets: &Spreadsheets,
    (owner, spreadsheet_id): (&str, &str),
    mode: Mode,
    estimate_usd: f64,
    max_cost_usd: Option<f64>,
) -> Result<Result<(), BudgetError>, StoreError> {
    if let Err(over) = check_cap(max_cost_usd, 0.0, estimate_usd) {
        return Ok(Err(BudgetError::over_job_cap(over, mode)));
    }
    let monthly = budget::check_monthly(spreadsheets, owner, spreadsheet_id, estimate_usd).await?;
    Ok(monthly.map_err(BudgetError::from))
}
