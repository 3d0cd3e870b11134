//! The one estimate of Almanac: what sending these rows to this model would cost and how long it
//! would take. Input tokens are counted on the exact request bodies (`almanac_openai::tokens`),
//! output tokens are predicted from the history of finished jobs with the same model and prompt
//! template when the store has some (else the catalogue's figure), and the counts are priced by
//! `almanac_core::cost`. The API's `POST /estimate`, job creation (sheet and file), the command
//! line and realtime runs (each call's predicted cost and weight) all come here.

use almanac_core::catalog::ModelSpec;
use almanac_core::cost::{OutputPrediction, predict_output};
use almanac_core::domain::RowInput;
use almanac_protocol::Estimate;
use almanac_store::{Store, StoreError};

/// Estimates `rows` with `spec`: the history of `store` for the output prediction, the token
/// count on a blocking thread (50,000 rows take a noticeable fraction of a second).
///
/// # Errors
/// [`StoreError`] when the history cannot be read (or the counting thread dies).
pub async fn estimate(
    store: &Store,
    spec: &'static ModelSpec,
    rows: Vec<RowInput>,
) -> Result<Estimate, StoreError> {
    let prediction = prediction(store, spec).await?;
    tokio::task::spawn_blocking(move || {
        almanac_openai::tokens::estimate_with(spec, &rows, prediction)
    })
    .await
    .map_err(|e| StoreError::Corrupt(format!("the estimate could not be computed: {e}")))
}

/// The output prediction for `spec`: the average of finished jobs with the same model and prompt
/// template in `store` when it has some, else the catalogue's figure — what [`estimate`] uses, for
/// a caller that counts rows itself as they stream by.
///
/// # Errors
/// [`StoreError`] when the history cannot be read.
pub async fn prediction(
    store: &Store,
    spec: &'static ModelSpec,
) -> Result<OutputPrediction, StoreError> {
    let history = store
        .average_output_tokens(&spec.id, almanac_core::prompt::template_id())
        .await?;
    Ok(predict_output(spec, history))
}
