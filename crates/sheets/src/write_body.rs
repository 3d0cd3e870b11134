//! The size of a `values.batchUpdateByDataFilter` body, known before it is built: each value's
//! length as a JSON string and each block's fixed overhead, so a write is cut into calls under
//! Google's recommended 2 MB payload ([`WRITE_REQUEST_MAX_BYTES`]) without serialising it first —
//! for blocks already planned (`split_for_requests`), or for answers as they stream from the store
//! ([`WriteGroup`], [`answer_write_bytes`]).

use google_sheets4::api::{BatchUpdateValuesByDataFilterRequest, DataFilterValueRange};

use almanac_core::domain::Generated;

use crate::plan::CellBlock;

/// Upper bound, in bytes of JSON, of one `values.batchUpdateByDataFilter` request body. Google
/// recommends a maximum payload of 2 MB (<https://developers.google.com/workspace/sheets/api/limits>);
/// a write larger than this is split into several calls, each under the bound (a single block
/// larger than the bound — impossible with ≤ 50,000 characters per cell — goes alone).
pub const WRITE_REQUEST_MAX_BYTES: usize = 2_000_000;

/// The `values.batchUpdateByDataFilter` body writing `blocks` as `RAW`.
pub(crate) fn write_request(blocks: &[CellBlock]) -> BatchUpdateValuesByDataFilterRequest {
    BatchUpdateValuesByDataFilterRequest {
        value_input_option: Some("RAW".to_owned()),
        include_values_in_response: Some(false),
        data: Some(
            blocks
                .iter()
                .map(|b| DataFilterValueRange {
                    data_filter: Some(b.range.to_filter()),
                    major_dimension: Some("ROWS".to_owned()),
                    values: Some(vec![
                        b.values
                            .iter()
                            .map(|v| serde_json::Value::String(v.clone()))
                            .collect(),
                    ]),
                })
                .collect(),
        ),
        ..Default::default()
    }
}

/// Length of `s` once written as a JSON string (quotes included).
fn json_len(s: &str) -> usize {
    2 + s
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
}

/// JSON bytes of one block inside a `values.batchUpdateByDataFilter` body besides its values
/// (its grid range at most five 10-digit numbers).
const BLOCK_OVERHEAD: usize = r#"{"dataFilter":{"gridRange":{"sheetId":,"startRowIndex":,"endRowIndex":,"startColumnIndex":,"endColumnIndex":}},"majorDimension":"ROWS","values":[[]]},"#.len() + 5 * 11;

/// JSON bytes of a `values.batchUpdateByDataFilter` body besides its blocks.
const REQUEST_ENVELOPE: usize =
    r#"{"valueInputOption":"RAW","includeValuesInResponse":false,"data":[]}"#.len();

/// Estimated JSON size of one block inside a `values.batchUpdateByDataFilter` body.
fn block_json_len(block: &CellBlock) -> usize {
    BLOCK_OVERHEAD + block.values.iter().map(|v| json_len(v) + 1).sum::<usize>()
}

/// Consecutive slices of `blocks`, each under `max_bytes` of JSON (a single larger block alone).
pub(crate) fn split_for_requests(blocks: &[CellBlock], max_bytes: usize) -> Vec<&[CellBlock]> {
    split_by_size(blocks, max_bytes, REQUEST_ENVELOPE, block_json_len)
}

/// The bytes one answer adds to a `values.batchUpdateByDataFilter` body when written as one block
/// (C–F empty, or overwriting): its four values as JSON strings and the block's range. A kept
/// cell between two empty ones makes two blocks (one range more, about 200 bytes), which
/// [`SheetsClient::write_blocks`] absorbs by splitting a body that grows past the limit. The
/// measure [`WriteGroup`] adds up.
pub fn answer_write_bytes(generated: &Generated) -> usize {
    BLOCK_OVERHEAD
        + generated
            .columns()
            .iter()
            .map(|v| json_len(v) + 1)
            .sum::<usize>()
}

/// Answers gathered for one `values.batchUpdateByDataFilter` call: items (of any shape — the
/// caller's row with its answer) whose [`answer_write_bytes`] add up to at most
/// [`WRITE_REQUEST_MAX_BYTES`] of body (with the request's envelope). A job's answers pass through one group a call at a time,
/// so a write holds one request's worth of them, not the job's, and makes as few calls as one
/// write of everything would.
#[derive(Debug)]
pub struct WriteGroup<T> {
    items: Vec<T>,
    bytes: usize,
}

impl<T> Default for WriteGroup<T> {
    fn default() -> Self {
        WriteGroup {
            items: Vec::new(),
            bytes: REQUEST_ENVELOPE,
        }
    }
}

impl<T> WriteGroup<T> {
    /// Adds `item`, whose answer takes `bytes` ([`answer_write_bytes`]). When it would take the
    /// body past [`WRITE_REQUEST_MAX_BYTES`], the items gathered so far come back (a full group,
    /// to write now) and `item` starts the next one; an answer larger than the limit is a group
    /// alone.
    pub fn push(&mut self, item: T, bytes: usize) -> Option<Vec<T>> {
        let full = (!self.items.is_empty() && self.bytes + bytes > WRITE_REQUEST_MAX_BYTES)
            .then(|| self.take());
        self.bytes += bytes;
        self.items.push(item);
        full
    }

    /// The items gathered so far (empty when none), leaving the group empty.
    pub fn take(&mut self) -> Vec<T> {
        self.bytes = REQUEST_ENVELOPE;
        std::mem::take(&mut self.items)
    }
}

fn split_by_size<T>(items: &[T], max: usize, base: usize, size: impl Fn(&T) -> usize) -> Vec<&[T]> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut total = base;
    for (i, item) in items.iter().enumerate() {
        let n = size(item);
        if i > start && total + n > max {
            chunks.push(&items[start..i]);
            start = i;
            total = base;
        }
        total += n;
    }
    if start < items.len() {
        chunks.push(&items[start..]);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::GridRange;

    #[test]
    fn json_length_estimate_matches_serde_json() {
        for s in [
            "plain",
            "quote \" and \\ slash",
            "line\nbreak\ttab",
            "emoji 🌵 한글",
            "\u{1}ctl",
            "",
        ] {
            assert_eq!(
                json_len(s),
                serde_json::to_string(s).unwrap().len(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn a_large_write_is_split_into_consecutive_requests_under_the_bound() {
        let blocks: Vec<CellBlock> = (0..100)
            .map(|i| CellBlock {
                range: GridRange::rows(0, i + 2, i + 2, 2, 5),
                values: vec!["x".repeat(1000); 4],
            })
            .collect();
        let one = block_json_len(&blocks[0]);
        let chunks = split_for_requests(&blocks, 10 * one + 200);
        assert!(chunks.len() >= 10 && chunks.len() <= 11, "{}", chunks.len());
        let rejoined: Vec<&CellBlock> = chunks.iter().flat_map(|c| c.iter()).collect();
        assert_eq!(rejoined.len(), 100);
        assert!(rejoined.iter().zip(&blocks).all(|(a, b)| *a == b));
        // Everything fits: one request; nothing: none; one oversized block: alone.
        assert_eq!(
            split_for_requests(&blocks, WRITE_REQUEST_MAX_BYTES).len(),
            1
        );
        assert!(split_for_requests(&[], WRITE_REQUEST_MAX_BYTES).is_empty());
        assert_eq!(split_for_requests(&blocks[..3], 10).len(), 3);
    }

    #[test]
    fn the_serialised_request_is_no_larger_than_the_estimate() {
        let blocks = [
            CellBlock {
                range: GridRange::rows(1_234_567_890, 2, 2, 2, 5),
                values: vec![
                    "=SUM(1,2)".into(),
                    "a\"b".into(),
                    "🌵\n".into(),
                    String::new(),
                ],
            },
            CellBlock {
                range: GridRange::rows(0, 3, 3, 4, 4),
                values: vec!["x".into()],
            },
        ];
        let request = write_request(&blocks);
        // google-sheets4 removes `null`s before sending (google_apis_common::remove_json_null_values).
        let mut sent = serde_json::to_value(&request).unwrap();
        google_sheets4::common::remove_json_null_values(&mut sent);
        let actual = sent.to_string().len();
        let estimate = r#"{"valueInputOption":"RAW","includeValuesInResponse":false,"data":[]}"#
            .len()
            + blocks.iter().map(block_json_len).sum::<usize>();
        assert!(actual <= estimate, "{actual} > {estimate}");
    }
}
