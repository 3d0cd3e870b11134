//! The tag that ties an uploaded input file and a batch to one part of one attempt of a job, so
//! that a batch or a file made by a replica that stalled, crashed or lost its answer is found and
//! adopted instead of paid for twice.
//!
//! A [`PartTag`] is written twice: into the input file's `filename`
//! (`almanac-{job}-{attempt}-{part}.jsonl`, <https://platform.openai.com/docs/api-reference/files/create>)
//! and into the batch's `metadata` (`job_id`, `attempt`, `part`: 3 of the 16 pairs the `Metadata`
//! schema allows, <https://platform.openai.com/docs/api-reference/batch/create>). Neither list
//! endpoint filters by them: [`BatchClient::tagged_batches`] pages `GET /v1/batches` newest first
//! and [`BatchClient::tagged_file`] pages `GET /v1/files?purpose=batch` newest first, both
//! stopping at the first object created before a given time (the attempt's start, less
//! [`CLOCK_SLACK_SECS`] for the difference between OpenAI's clock and ours).

use serde_json::{Value, json};

use crate::batch::{BatchClient, BatchInfo, Listing};
use crate::error::OpenAiError;

/// Seconds subtracted from the attempt's start before comparing it with OpenAI's `created_at`
/// (unix seconds of OpenAI's clock).
pub const CLOCK_SLACK_SECS: u64 = 300;

/// Pages read at most (100 batches each for `GET /v1/batches`, 1,000 files for
/// `GET /v1/files`) before the scan gives up short of the attempt's start.
const MAX_PAGES: usize = 100;

/// Files per page of `GET /v1/files` (the endpoint allows 1 to 10,000).
const FILES_PAGE: &str = "1000";

/// One part of one attempt of a job: what its input file and its batch carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartTag {
    /// The Almanac job's id (`metadata.job_id`).
    pub job_id: String,
    /// 0 for the first submission, 1.. for retries (`metadata.attempt`).
    pub attempt: i64,
    /// Index of the part within the attempt (`metadata.part`).
    pub part: i64,
}

impl PartTag {
    /// The input file's name: `almanac-{job_id}-{attempt}-{part}.jsonl`.
    pub fn filename(&self) -> String {
        format!(
            "almanac-{}-{}-{}.jsonl",
            self.job_id, self.attempt, self.part
        )
    }

    /// The batch's `metadata`: `{"job_id", "attempt", "part"}`, all strings (the schema's values
    /// are strings of at most 512 characters).
    pub fn metadata(&self) -> Value {
        json!({
            "job_id": self.job_id,
            "attempt": self.attempt.to_string(),
            "part": self.part.to_string(),
        })
    }

    /// Whether a Batch object carries this tag.
    fn marks(&self, batch: &Value) -> bool {
        let field = |k: &str| {
            batch
                .pointer(&format!("/metadata/{k}"))
                .and_then(Value::as_str)
        };
        field("job_id") == Some(self.job_id.as_str())
            && field("attempt") == Some(self.attempt.to_string().as_str())
            && field("part") == Some(self.part.to_string().as_str())
    }
}

/// `created_at` of an object (unix seconds), 0 when absent.
fn created_at(object: &Value) -> u64 {
    object
        .get("created_at")
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// The `after` cursor of the next page of a list, `None` at its end.
fn next_cursor(page: &Value, after: Option<&str>) -> Option<String> {
    if page.get("has_more").and_then(Value::as_bool) != Some(true) {
        return None;
    }
    let last = page.get("last_id").and_then(Value::as_str).or_else(|| {
        page.get("data")
            .and_then(Value::as_array)
            .and_then(|d| d.last())
            .and_then(|o| o.get("id"))
            .and_then(Value::as_str)
    })?;
    (after != Some(last)).then(|| last.to_owned())
}

impl BatchClient {
    /// Creates a batch over an uploaded input file tagged with `tag` (`POST /v1/batches`,
    /// <https://platform.openai.com/docs/api-reference/batch/create>): endpoint
    /// `/v1/chat/completions`, `completion_window` `24h`, `metadata` [`PartTag::metadata`].
    ///
    /// Not retried after the request may have reached the service: call
    /// [`BatchClient::tagged_batches`] before creating again.
    ///
    /// # Errors
    /// As the service answers (e.g. 400 for an unknown file id).
    pub async fn create_tagged_batch(
        &self,
        input_file_id: &str,
        tag: &PartTag,
    ) -> Result<BatchInfo, OpenAiError> {
        self.create_with_metadata(input_file_id, tag.metadata())
            .await
    }

    /// Every batch tagged `tag` created at or after `since` (unix seconds; less
    /// [`CLOCK_SLACK_SECS`]), oldest first, whatever its status: pages
    /// `GET /v1/batches?limit=100&after=…` (newest first,
    /// <https://platform.openai.com/docs/api-reference/batch/list>) and stops at the first batch
    /// created before then. Also returns the batches of `legacy_file` (an input file id) whose
    /// `metadata.job_id` is the tag's job, as batches were tagged before parts were.
    ///
    /// # Errors
    /// As the service answers.
    pub async fn tagged_batches(
        &self,
        tag: &PartTag,
        since: u64,
        legacy_file: Option<&str>,
    ) -> Result<Vec<BatchInfo>, OpenAiError> {
        let stop = since.saturating_sub(CLOCK_SLACK_SECS);
        let mut found = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .list_page(Listing::Batches, "100", after.as_deref())
                .await?;
            let data = page.get("data").and_then(Value::as_array);
            for batch in data.into_iter().flatten() {
                if created_at(batch) < stop {
                    found.reverse();
                    return Ok(found);
                }
                let legacy = legacy_file.is_some_and(|file| {
                    batch.get("input_file_id").and_then(Value::as_str) == Some(file)
                        && batch.pointer("/metadata/job_id").and_then(Value::as_str)
                            == Some(tag.job_id.as_str())
                });
                if tag.marks(batch) || legacy {
                    found.push(BatchInfo::from_json(batch)?);
                }
            }
            match next_cursor(&page, after.as_deref()) {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        found.reverse();
        Ok(found)
    }

    /// The newest input file named [`PartTag::filename`] uploaded at or after `since` (unix
    /// seconds; less [`CLOCK_SLACK_SECS`]): pages `GET /v1/files?purpose=batch` newest first
    /// (<https://platform.openai.com/docs/api-reference/files/list>) and stops at the first file
    /// created before then. Returns its id (`file-…`).
    ///
    /// # Errors
    /// As the service answers.
    pub async fn tagged_file(
        &self,
        tag: &PartTag,
        since: u64,
    ) -> Result<Option<String>, OpenAiError> {
        let (stop, name) = (since.saturating_sub(CLOCK_SLACK_SECS), tag.filename());
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .list_page(Listing::BatchFiles, FILES_PAGE, after.as_deref())
                .await?;
            for file in page
                .get("data")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if created_at(file) < stop {
                    return Ok(None);
                }
                if file.get("filename").and_then(Value::as_str) == Some(name.as_str()) {
                    return Ok(file.get("id").and_then(Value::as_str).map(str::to_owned));
                }
            }
            match next_cursor(&page, after.as_deref()) {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_marks_only_its_own_part_and_fits_the_metadata_limits() {
        let tag = PartTag {
            job_id: "job-1".into(),
            attempt: 2,
            part: 3,
        };
        assert_eq!(tag.filename(), "almanac-job-1-2-3.jsonl");
        let own = json!({"id": "batch_1", "metadata": tag.metadata()});
        assert!(tag.marks(&own));
        let other_part = PartTag {
            part: 4,
            ..tag.clone()
        };
        assert!(!tag.marks(&json!({"metadata": other_part.metadata()})));
        assert!(!tag.marks(&json!({"metadata": {"job_id": "job-1"}})));
        assert!(!tag.marks(&json!({"metadata": null})));
        let metadata = tag.metadata();
        let pairs = metadata.as_object().unwrap();
        assert!(pairs.len() <= 16);
        assert!(
            pairs
                .iter()
                .all(|(k, v)| k.len() <= 64 && v.as_str().unwrap().len() <= 512)
        );
    }

    #[test]
    fn paging_follows_last_id_while_there_is_more_and_never_loops() {
        let page = json!({"data": [{"id": "b2"}, {"id": "b1"}], "has_more": true, "last_id": "b1"});
        assert_eq!(next_cursor(&page, None).as_deref(), Some("b1"));
        assert_eq!(next_cursor(&page, Some("b1")), None);
        let without_last = json!({"data": [{"id": "b9"}], "has_more": true});
        assert_eq!(next_cursor(&without_last, None).as_deref(), Some("b9"));
        assert_eq!(
            next_cursor(&json!({"data": [], "has_more": false}), None),
            None
        );
    }
}
