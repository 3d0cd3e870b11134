//! Short, bounded retries of the Google Sheets calls a person waits for (reading the selection
//! when a job is created, taking an access proof): a 429 or 5xx is tried again after 250 ms, 500 ms
//! and 1 s (about 2 s in all), and if it still fails the request fails with
//! [`SpreadsheetError::Unavailable`] carrying how long to wait (`Retry-After`). The worker's own
//! steps are not retried here: the queue reschedules them with its longer backoff.

use std::future::Future;
use std::time::Duration;

use almanac_sheets::SheetsError;
use backon::{ExponentialBuilder, Retryable};

use crate::spreadsheet::SpreadsheetError;

/// The retries: three, from 250 ms doubling to 1 s, no jitter (a person is waiting, not a fleet).
fn policy() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(1))
        .with_max_times(3)
}

/// Runs `call` until it succeeds, fails for good, or has failed transiently four times.
///
/// # Errors
/// The last [`SheetsError`].
pub async fn retry_sheets<T, F, Fut>(what: &'static str, call: F) -> Result<T, SheetsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SheetsError>>,
{
    call.retry(policy())
        .when(SheetsError::is_transient)
        .notify(|e, wait| {
            tracing::info!(error = %e, wait_ms = wait.as_millis() as u64, "{what}: Google Sheets failed transiently, trying again");
        })
        .await
}

/// A transient Sheets error that outlived the retries, as the refusal of the request:
/// [`SpreadsheetError::Unavailable`] with the error's own wait.
pub fn unavailable(e: &SheetsError) -> SpreadsheetError {
    SpreadsheetError::Unavailable {
        message: format!(
            "Google Sheets is not answering right now ({e}); Almanac tried again for a few seconds. Try again shortly"
        ),
        retry_after: e.retry_after().unwrap_or(Duration::from_secs(5)),
    }
}
