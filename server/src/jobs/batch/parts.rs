//! The parts of one submission: rows split into batches within the Batch API's limits (50,000
//! requests and 200 MB of input file per batch,
//! <https://platform.openai.com/docs/api-reference/batch/create>), cut by [`RowParts`] as the rows
//! come — from a list, or from the store a page at a time.

use almanac_core::catalog::ModelSpec;
use almanac_core::domain::RowInput;
use almanac_openai::jsonl::RowParts;
use almanac_store::rows::InputRows;
use almanac_store::{Store, StoreResult};

/// Rows read from the store at a time while cutting parts or writing an input file.
pub const PAGE_ROWS: u32 = 1_000;

/// Splits rows (with their `seq`) into the parts of one submission, each within the Batch API's
/// limits; returns the `seq`s of each part.
pub fn batch_parts(spec: &ModelSpec, rows: &[(i64, RowInput)]) -> Vec<Vec<i64>> {
    let mut cutter = PartCutter::new(spec);
    for (seq, row) in rows {
        cutter.push(*seq, row);
    }
    cutter.parts
}

/// [`batch_parts`] of a job's `pending` rows, read from the store [`PAGE_ROWS`] at a time: the
/// parts of its first submission, in bounded memory (the `seq`s alone are kept).
///
/// # Errors
/// [`almanac_store::StoreError`] on a database failure.
pub async fn pending_parts(
    store: &Store,
    spec: &ModelSpec,
    job_id: &str,
) -> StoreResult<Vec<Vec<i64>>> {
    let rows = InputRows::Pending(job_id);
    let mut cutter = PartCutter::new(spec);
    let mut after = None;
    loop {
        let (page, next) = store.inputs_page(rows, after, PAGE_ROWS).await?;
        for (seq, row) in &page {
            cutter.push(*seq, row);
        }
        if next.is_none() {
            return Ok(cutter.parts);
        }
        after = next;
    }
}

/// The `seq`s of the parts being cut, a row at a time.
struct PartCutter {
    rows: RowParts,
    parts: Vec<Vec<i64>>,
}

impl PartCutter {
    fn new(spec: &ModelSpec) -> PartCutter {
        PartCutter {
            rows: RowParts::new(spec),
            parts: Vec::new(),
        }
    }

    /// Adds the row `seq`, opening a new part when its line does not fit the current one.
    fn push(&mut self, seq: i64, row: &RowInput) {
        if self.rows.push(row) {
            self.parts.push(Vec::new());
        }
        if let Some(part) = self.parts.last_mut() {
            part.push(seq);
        }
    }
}
