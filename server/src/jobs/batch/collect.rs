//! Collecting a finished batch: its output and error files are downloaded and parsed, each line
//! matched to its row by `custom_id` (never by position), and every row of the batch settled in
//! one transaction with the tokens its line's `usage` reported. A batch rejected in validation
//! gives each row the error of its own input line (line n is the batch's n-th row, the order the
//! file was built in); rows with no line at all fail with a reason that follows the batch's state.

use almanac_core::domain::BatchError;
use almanac_core::state::{BatchState, FailureCode, RowFailure};
use almanac_openai::output;
use almanac_protocol::TokenUsage;
use almanac_store::{BatchRecord, RowRecord, RowResult};

use crate::jobs::services::Services;
use crate::jobs::step::StepError;

/// Downloads and parses a finished batch's output and error files into its rows.
///
/// # Errors
/// [`StepError`] from OpenAI (a download) or the store.
pub async fn collect(svc: &Services, batch: &BatchRecord) -> Result<(), StepError> {
    let (mut results, usage) = read_files(svc, batch).await?;
    let rows = svc.store.batch_rows(batch.id).await?;
    if batch.status == BatchState::Failed {
        results.extend(rejected_lines(batch.errors(), &rows));
    }
    let missing = missing_failure(batch, !results.is_empty());
    svc.store
        .record_results(batch.id, &results, &missing, &usage)
        .await?;
    let answered = results.iter().filter(|r| r.outcome.is_ok()).count();
    metrics::counter!(crate::metrics::ROWS_FAILED, "stage" => "openai")
        .increment(rows.len().saturating_sub(answered) as u64);
    tracing::info!(
        batch_id = batch.batch_id.as_deref().unwrap_or_default(),
        results = results.len(),
        "batch results collected"
    );
    Ok(())
}

/// The rows' outcomes and usage from the batch's output and error files.
async fn read_files(
    svc: &Services,
    batch: &BatchRecord,
) -> Result<(Vec<RowResult>, Vec<(String, TokenUsage)>), StepError> {
    let mut results = Vec::new();
    let mut usage = Vec::new();
    for file_id in [&batch.output_file_id, &batch.error_file_id]
        .into_iter()
        .flatten()
    {
        let bytes = svc.openai.file_content(file_id).await?;
        for line in output::parse_file(&bytes) {
            match line {
                Ok(parsed) => {
                    if let Some(u) = parsed.usage {
                        usage.push((parsed.custom_id.clone(), u.tokens()));
                    }
                    results.push(RowResult {
                        row_id: parsed.custom_id,
                        outcome: parsed.outcome.map_err(output::RowError::failure),
                    });
                }
                Err(e) => {
                    tracing::warn!(batch_id = batch.batch_id.as_deref().unwrap_or_default(), error = %e, "unreadable line in a batch result file")
                }
            }
        }
    }
    Ok((results, usage))
}

/// The failures of the rows whose input lines a validation error names (`line_invalid`).
fn rejected_lines(errors: &[BatchError], rows: &[RowRecord]) -> Vec<RowResult> {
    errors
        .iter()
        .filter_map(|error| {
            let row = rows.get(usize::try_from(error.line?.checked_sub(1)?).ok()?)?;
            Some(RowResult {
                row_id: row.row_id.clone(),
                outcome: Err(RowFailure::new(
                    FailureCode::LineInvalid,
                    format!("OpenAI rejected this row's request ({error}); the batch did not run"),
                )),
            })
        })
        .collect()
}

/// The failure of a row of `batch` that no line of its files mentions, by the batch's state;
/// `others_rejected` when some rows of a failed batch had their own errors.
fn missing_failure(batch: &BatchRecord, others_rejected: bool) -> RowFailure {
    match batch.status {
        BatchState::Failed if others_rejected => RowFailure::new(
            FailureCode::BatchRejected,
            "OpenAI rejected the batch because of other rows' requests (see them); this row was not run: retry it",
        ),
        BatchState::Failed => {
            let errors: Vec<String> = batch.errors().iter().map(ToString::to_string).collect();
            let errors = if errors.is_empty() {
                "no reason given".to_owned()
            } else {
                errors.join("; ")
            };
            RowFailure::new(
                FailureCode::BatchRejected,
                format!("OpenAI rejected the batch: {errors}"),
            )
        }
        BatchState::Expired => RowFailure::new(
            FailureCode::BatchExpired,
            "the batch expired before this row was processed (batch_expired): retry the row",
        ),
        BatchState::Cancelled => RowFailure::new(
            FailureCode::BatchCancelled,
            "cancelled before this row was processed",
        ),
        _ => RowFailure::new(
            FailureCode::NoResponse,
            "OpenAI returned no result for this row: retry the row",
        ),
    }
}
