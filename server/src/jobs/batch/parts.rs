//! The parts of one submission: rows split into batches within the Batch API's limits (50,000
//! requests and 200 MB of input file per batch,
//! <https://platform.openai.com/docs/api-reference/batch/create>).

use almanac_core::catalog::ModelSpec;
use almanac_core::domain::RowInput;

/// Splits rows (with their `seq`) into the parts of one submission, each within the Batch API's
/// limits; returns the `seq`s of each part.
pub fn batch_parts(spec: &ModelSpec, rows: &[(i64, RowInput)]) -> Vec<Vec<i64>> {
    let inputs: Vec<RowInput> = rows.iter().map(|(_, row)| row.clone()).collect();
    let mut offset = 0;
    let mut parts = Vec::new();
    for chunk in almanac_openai::jsonl::split_into_batches(spec, &inputs) {
        parts.push(
            rows[offset..offset + chunk.len()]
                .iter()
                .map(|(seq, _)| *seq)
                .collect(),
        );
        offset += chunk.len();
    }
    parts
}
