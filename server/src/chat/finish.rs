//! Storing how a turn ended, in one transaction ([`almanac_store::Store::end_chat_run`]): an
//! answered turn stores its question (or marks the waiting messages sent), the answer with its
//! file citations, the files (charts downloaded from the code interpreter's container), the
//! `usage` and the containers charged; a failed, cancelled or expired turn stores its `usage`
//! and why, and no message — nothing half-done. Files are kept only from the containers the run's
//! own code interpreter calls ran in, at most `ALMANAC_CHAT_MAX_FILES` of them, each at most
//! `ALMANAC_CHAT_MAX_FILE_BYTES` (checked as it downloads: a larger file is not read further).

use almanac_openai::responses::client::ContainerFile;
use almanac_openai::responses::outcome::{FileCitation, ResponseOutcome};
use almanac_protocol::chat::{ChatFile, ChatResponse, FileAnnotation, FileId, Role, RunStatus};
use almanac_protocol::{ErrorCode, ErrorDetail};
use almanac_store::{Answer, NewFile, RunEnd};

use crate::chat::context::{ChatContext, new_id};
use crate::chat::drive::{Driven, Ending};
use crate::chat::errors::{FailureKind, TurnFailure};
use crate::chat::markdown::{self, KeptFile};
use crate::chat::turn::{Question, Turn};
use crate::chat::view;

/// Stores the end of `turn`; the answer, or why there is none.
///
/// # Errors
/// Why the run did not complete (its `last_error`), or [`FailureKind::Internal`] when the store
/// failed.
pub async fn finish(
    ctx: &ChatContext,
    turn: &Turn,
    driven: Driven,
) -> Result<ChatResponse, TurnFailure> {
    let mut end = RunEnd {
        status: RunStatus::Completed,
        usage: driven.usage,
        error: None,
        incomplete_reason: None,
        containers: driven.containers,
    };
    let error = match driven.ending {
        Ending::Answered(outcome) => return answered(ctx, turn, &outcome, end).await,
        Ending::Failed(error) => {
            end.status = RunStatus::Failed;
            error
        }
        Ending::Stopped(status) => {
            end.status = status;
            stopped(ctx, status)
        }
    };
    end.error = Some((error.error.code.clone(), error.error.message.clone()));
    match ctx.store.end_chat_run(&turn.run_id, &end, None).await {
        Ok(_) => Err(error),
        Err(e) => Err(internal(&e)),
    }
}

/// Why a stopped run has no answer.
fn stopped(ctx: &ChatContext, status: RunStatus) -> TurnFailure {
    let (kind, code, message) = match status {
        RunStatus::Expired => (
            FailureKind::Expired,
            ErrorCode::Expired,
            format!(
                "the answer took longer than {} s and was stopped: ask again, perhaps a narrower question",
                ctx.settings.run_timeout.as_secs_f64()
            ),
        ),
        _ => (
            FailureKind::Cancelled,
            ErrorCode::Cancelled,
            "the run was cancelled; nothing of it was saved".to_owned(),
        ),
    };
    TurnFailure {
        kind,
        error: ErrorDetail { code, message },
    }
}

/// Stores an answered turn and returns the answer.
async fn answered(
    ctx: &ChatContext,
    turn: &Turn,
    outcome: &ResponseOutcome,
    mut end: RunEnd,
) -> Result<ChatResponse, TurnFailure> {
    end.incomplete_reason = outcome.incomplete_reason.clone();
    let (files, annotations) = fetch_files(ctx, outcome, &end.containers).await;
    let reply_id = new_id("msg");
    let annotations = serde_json::to_string(&annotations).unwrap_or_else(|_| "[]".into());
    let answer = Answer {
        question: match &turn.question {
            Question::Direct { message_id, text } => Some((message_id.clone(), text.clone())),
            Question::Waiting(_) => None,
        },
        sent: match &turn.question {
            Question::Waiting(messages) => messages.iter().map(|(id, _)| id.clone()).collect(),
            Question::Direct { .. } => Vec::new(),
        },
        reply: (reply_id.clone(), outcome.text.clone(), annotations),
        files: files.clone(),
    };
    let store = &ctx.store;
    match store.end_chat_run(&turn.run_id, &end, Some(&answer)).await {
        Ok(true) => {}
        Ok(false) => return Err(stopped(ctx, RunStatus::Cancelled)),
        Err(e) => return Err(internal(&e)),
    }
    let containers = store.chat_run_containers(&turn.run_id).await.unwrap_or(0);
    let kept: Vec<KeptFile<'_>> = files
        .iter()
        .map(|f| KeptFile {
            filename: &f.filename,
            file_id: &f.id,
        })
        .collect();
    Ok(ChatResponse {
        markdown: markdown::parse(&outcome.text, &kept),
        message: outcome.text.clone(),
        thread_id: turn.thread_id.to_string(),
        role: Role::Assistant,
        created_at: view::unix(chrono::Utc::now()),
        message_id: reply_id,
        run_id: turn.run_id.to_string(),
        usage: end.usage,
        cost_usd: almanac_core::cost::chat_turn_cost(ctx.model, &end.usage, containers),
        files: files
            .iter()
            .map(|f| ChatFile {
                file_id: f.id.clone(),
                filename: f.filename.clone(),
                mime_type: f.mime_type.clone(),
                bytes: f.content.len() as u64,
            })
            .collect(),
    })
}

/// Downloads each cited file once (a file that cannot be read, is too large, or sits in a
/// container the run's code interpreter did not run in is left out, with a warning; so is every
/// file past the most kept) and the annotations that place them in the answer's text.
async fn fetch_files(
    ctx: &ChatContext,
    outcome: &ResponseOutcome,
    run_containers: &[String],
) -> (Vec<NewFile>, Vec<FileAnnotation>) {
    let mut files: Vec<NewFile> = Vec::new();
    let mut annotations = Vec::new();
    for c in &outcome.citations {
        let known = files
            .iter()
            .find(|f| f.source_id == c.file_id)
            .map(|f| f.id.clone());
        let id = match known {
            Some(id) => id,
            None => match fetch_file(ctx, c, run_containers, files.len()).await {
                Some(file) => {
                    let id = file.id.clone();
                    files.push(file);
                    id
                }
                None => continue,
            },
        };
        annotations.push(annotation(&outcome.text, c, id));
    }
    (files, annotations)
}

/// One cited file, downloaded when it may be kept (`kept` files are already).
async fn fetch_file(
    ctx: &ChatContext,
    c: &FileCitation,
    run_containers: &[String],
    kept: usize,
) -> Option<NewFile> {
    let settings = &ctx.settings;
    if !run_containers.contains(&c.container_id) {
        tracing::warn!(file = %c.filename, container = %c.container_id, "file cited from a container this run did not use: left out");
        return None;
    }
    if kept >= settings.max_files {
        tracing::warn!(file = %c.filename, max = settings.max_files, "more files than an answer keeps: left out");
        return None;
    }
    let read = ctx
        .openai
        .container_file(&c.container_id, &c.file_id, settings.max_file_bytes)
        .await;
    match read {
        Ok(ContainerFile::Read(bytes)) => Some(NewFile {
            id: new_id("file"),
            filename: c.filename.clone(),
            mime_type: view::mime_type(&c.filename).to_owned(),
            content: bytes.to_vec(),
            container_id: c.container_id.clone(),
            source_id: c.file_id.clone(),
        }),
        Ok(ContainerFile::TooLarge { at_least }) => {
            tracing::warn!(file = %c.filename, bytes = at_least, max = settings.max_file_bytes, "file too large to keep");
            None
        }
        Err(e) => {
            tracing::warn!(file = %c.filename, error = %e, "file could not be downloaded");
            None
        }
    }
}

/// The annotation placing file `id` in `text` where `c` cites it.
fn annotation(text: &str, c: &FileCitation, id: String) -> FileAnnotation {
    let cited: String = text
        .chars()
        .skip(c.start_index as usize)
        .take(c.end_index.saturating_sub(c.start_index) as usize)
        .collect();
    FileAnnotation {
        kind: "file_path".into(),
        text: cited,
        start_index: c.start_index,
        end_index: c.end_index,
        file_path: FileId { file_id: id },
    }
}

fn internal(e: &dyn std::fmt::Display) -> TurnFailure {
    tracing::error!(error = %e, "the end of a chat run could not be stored");
    TurnFailure {
        kind: FailureKind::Internal,
        error: ErrorDetail {
            code: ErrorCode::Internal,
            message:
                "the answer could not be saved on our side; ask again, and report it if it persists"
                    .into(),
        },
    }
}
