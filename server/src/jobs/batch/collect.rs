//! Collecting a finished batch: its output and error files are downloaded and parsed as they
//! arrive, each line matched to its row by `custom_id` (never by position) and stored with the
//! tokens its `usage` reported, [`RESULTS_PER_TRANSACTION`] rows a transaction, so memory holds a
//! download chunk and one group of answers whatever the batch's size; the last transaction
//! settles the rows with no line and marks the batch collected. Collecting again after a crash
//! stores nothing twice (only rows still `pending` change). A batch rejected in validation
//! gives each row the error of its own input line (line n is the batch's n-th row, the order the
//! file was built in); rows with no line at all fail with a reason that follows the batch's state.

use almanac_core::domain::BatchError;
use almanac_core::state::{BatchState, FailureCode, RowFailure};
use almanac_openai::output;
use almanac_protocol::TokenUsage;
use almanac_store::{BatchRecord, RowRecord, RowResult};

use crate::jobs::queue::step::StepError;
use crate::jobs::services::Services;

/// Answers stored per transaction while a batch's files stream in.
pub const RESULTS_PER_TRANSACTION: usize = 2_000;

/// Downloads and parses a finished batch's output and error files into its rows.
///
/// # Errors
/// [`StepError`] from OpenAI (a download) or the store.
pub async fn collect(svc: &Services, batch: &BatchRecord) -> Result<(), StepError> {
    let failed_before = svc.store.row_counts(&batch.job_id).await?.failed;
    let mut group = Group::default();
    for file_id in [&batch.output_file_id, &batch.error_file_id]
        .into_iter()
        .flatten()
    {
        read_file(svc, batch, file_id, &mut group).await?;
    }
    if batch.status == BatchState::Failed {
        let rows = svc.store.batch_rows(batch.id).await?;
        let rejected = rejected_lines(batch.errors(), &rows);
        group.seen += rejected.len();
        group.results.extend(rejected);
    }
    let missing = missing_failure(batch, group.seen > 0);
    svc.store
        .record_results(batch.id, &group.results, &missing, &group.usage)
        .await?;
    let failed_after = svc.store.row_counts(&batch.job_id).await?.failed;
    metrics::counter!(crate::metrics::ROWS_FAILED, "stage" => "openai")
        .increment(failed_after.saturating_sub(failed_before));
    tracing::info!(
        batch_id = batch.batch_id.as_deref().unwrap_or_default(),
        results = group.seen,
        "batch results collected"
    );
    Ok(())
}

/// The answers read and not yet stored, and how many lines were read in all.
#[derive(Default)]
struct Group {
    results: Vec<RowResult>,
    usage: Vec<(String, TokenUsage)>,
    seen: usize,
}

impl Group {
    fn add(&mut self, parsed: output::ParsedLine) {
        if let Some(u) = parsed.usage {
            self.usage.push((parsed.custom_id.clone(), u.tokens()));
        }
        self.results.push(RowResult {
            row_id: parsed.custom_id,
            outcome: parsed.outcome.map_err(output::RowError::failure),
        });
        self.seen += 1;
    }

    /// Stores the group when it is full.
    async fn store_if_full(
        &mut self,
        svc: &Services,
        batch: &BatchRecord,
    ) -> Result<(), StepError> {
        if self.results.len() >= RESULTS_PER_TRANSACTION {
            svc.store
                .record_some_results(batch.id, &self.results, &self.usage)
                .await?;
            self.results.clear();
            self.usage.clear();
        }
        Ok(())
    }
}

/// Downloads one result file and parses its lines as the chunks arrive, storing full groups.
async fn read_file(
    svc: &Services,
    batch: &BatchRecord,
    file_id: &str,
    group: &mut Group,
) -> Result<(), StepError> {
    let batch_id = batch.batch_id.as_deref().unwrap_or_default();
    let add = |group: &mut Group, line: Result<(usize, &str), output::LineError>| {
        match line.and_then(|(n, text)| output::parse_numbered(n, text)) {
            Ok(parsed) => group.add(parsed),
            Err(e) => {
                tracing::warn!(batch_id, error = %e, "unreadable line in a batch result file");
            }
        }
        Ok::<(), std::convert::Infallible>(())
    };
    let mut download = svc.openai.download(file_id).await?;
    let mut lines = output::LineSplitter::new();
    while let Some(chunk) = download.chunk().await? {
        let Ok(()) = lines.push(&chunk, &mut |line| add(group, line));
        group.store_if_full(svc, batch).await?;
    }
    let Ok(()) = lines.finish(&mut |line| add(group, line));
    Ok(())
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
