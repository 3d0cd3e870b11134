//! What is shown of the chat: stored threads, messages and runs as the API's types (the seed's
//! shapes), Unix-second times, and what a run cost (its `usage` at today's catalogue prices plus
//! its containers, never a stored sum).

use almanac_core::ids::RunId;
use std::collections::HashMap;

use almanac_core::catalog::Catalog;
use almanac_core::cost::chat_turn_cost;
use almanac_protocol::chat::{
    FileAnnotation, FileId, IncompleteDetails, MessageContent, MessageText, Role, Run, RunStatus,
    Thread, ThreadMessage, ThreadMetadata,
};
use almanac_protocol::{ErrorDetail, MarkdownNode, TokenUsage};
use almanac_store::{FileRecord, MessageRecord, RunRecord, ThreadRecord};
use chrono::{DateTime, Utc};

use crate::chat::markdown::{self, KeptFile};

/// The one assistant of this server (`assistant_id` of every run).
pub const ASSISTANT_ID: &str = "asst_almanac";

/// Unix seconds of a time (0 before 1970).
pub fn unix(t: DateTime<Utc>) -> u64 {
    t.timestamp().max(0) as u64
}

/// A thread as the API shows it.
pub fn thread(t: &ThreadRecord) -> Thread {
    Thread {
        id: t.id.to_string(),
        object: "thread".into(),
        created_at: unix(t.created_at),
        metadata: ThreadMetadata {
            spreadsheet_id: t.spreadsheet_id.clone(),
            sheet_id: i32::try_from(t.sheet_id).unwrap_or_default(),
        },
    }
}

/// What a run cost, USD: its `usage` at its model's prices (0 for a model the catalogue no longer
/// knows) plus its containers.
pub fn run_cost(catalog: &Catalog, run: &RunRecord, containers: u64) -> f64 {
    catalog
        .resolve(&run.model)
        .map_or(0.0, |spec| chat_turn_cost(spec, &run.usage(), containers))
}

/// A run as the API shows it.
pub fn run(r: &RunRecord, cost_usd: f64) -> Run {
    let last_error = match (&r.error_code, &r.error_message) {
        (Some(code), message) => Some(ErrorDetail {
            code: code.clone(),
            message: message.clone().unwrap_or_default(),
        }),
        (None, _) => None,
    };
    let spent = r.usage() != TokenUsage::default();
    Run {
        id: r.id.to_string(),
        object: "thread.run".into(),
        created_at: unix(r.created_at),
        assistant_id: ASSISTANT_ID.into(),
        thread_id: r.thread_id.to_string(),
        status: r.status,
        model: r.model.clone(),
        completed_at: r.completed_at.map(unix),
        usage: (spent || r.status.is_terminal()).then(|| r.usage()),
        cost_usd,
        last_error: last_error.filter(|_| r.status != RunStatus::Completed),
        incomplete_details: r
            .incomplete_reason
            .clone()
            .map(|reason| IncompleteDetails { reason }),
    }
}

/// Messages as the API shows them: text with its annotations, then the images it cites; an
/// assistant message also carries its text's Markdown tree (its `sandbox:` links resolved to its
/// files) and its run's `usage` and cost (`costs` by run id).
pub fn messages(
    records: &[MessageRecord],
    files: &[FileRecord],
    runs: &HashMap<RunId, (TokenUsage, f64)>,
) -> Vec<ThreadMessage> {
    records
        .iter()
        .map(|m| {
            let annotations: Vec<FileAnnotation> =
                serde_json::from_str(&m.annotations).unwrap_or_default();
            let markdown = match m.role {
                Role::Assistant => answer_markdown(m, files),
                Role::User => Vec::new(),
            };
            let mut content = vec![MessageContent::Text {
                text: MessageText {
                    value: m.text.clone(),
                    annotations,
                },
            }];
            content.extend(
                files
                    .iter()
                    .filter(|f| f.message_id == m.id && f.mime_type.starts_with("image/"))
                    .map(|f| MessageContent::ImageFile {
                        image_file: FileId {
                            file_id: f.id.clone(),
                        },
                    }),
            );
            let spent = m
                .run_id
                .as_ref()
                .and_then(|r| runs.get(r))
                .filter(|_| m.role == Role::Assistant);
            ThreadMessage {
                id: m.id.clone(),
                object: "thread.message".into(),
                created_at: unix(m.created_at),
                thread_id: m.thread_id.to_string(),
                role: m.role,
                content,
                run_id: m.run_id.as_ref().map(ToString::to_string),
                usage: spent.map(|(u, _)| *u),
                cost_usd: spent.map(|(_, c)| *c),
                markdown,
            }
        })
        .collect()
}

/// An assistant message's text as a Markdown tree, its `sandbox:` links resolved to the files
/// it cites.
fn answer_markdown(m: &MessageRecord, files: &[FileRecord]) -> Vec<MarkdownNode> {
    let kept: Vec<KeptFile<'_>> = files
        .iter()
        .filter(|f| f.message_id == m.id)
        .map(|f| KeptFile {
            filename: &f.filename,
            file_id: &f.id,
        })
        .collect();
    markdown::parse(&m.text, &kept)
}

/// The media type of a file the code interpreter wrote, from its name.
pub fn mime_type(filename: &str) -> &'static str {
    let ext = filename
        .rsplit('.')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "csv" => "text/csv",
        "txt" => "text/plain",
        "json" => "application/json",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_unix_seconds_and_files_get_their_media_type() {
        let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
        assert_eq!(unix(at("2025-08-06T12:30:00.000Z")), 1_754_483_400);
        // A stored time that is not a time is refused by the store (`StoreError::Corrupt`);
        // one before 1970 is 0.
        assert_eq!(unix(at("1969-12-31T23:59:59Z")), 0);
        assert_eq!(mime_type("events_per_decade.PNG"), "image/png");
        assert_eq!(mime_type("data"), "application/octet-stream");
    }
}
