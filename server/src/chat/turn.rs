//! Preparing one turn, before anything is sent to the model: the thread has room (no run
//! unfinished, fewer messages than the limit), the caller can open the spreadsheet (their own
//! token), the sheet is read with the service account, its CSV is uploaded when it changed, the
//! conversation exists, the first request is built, the turn's estimate fits the spreadsheet's
//! monthly budget, and the run is stored (`queued`) — refused if another run got there first.

use almanac_core::cost::chat_turn_cost;
use almanac_core::domain::SpreadsheetId;
use almanac_core::ids::{RunId, ThreadId};
use almanac_openai::responses::request::{InputItem, ResponseRequest};
use almanac_protocol::{RowSpan, TokenUsage};
use almanac_store::{NewRun, ThreadRecord};
use secrecy::SecretString;
use sha2::{Digest as _, Sha256};

use crate::chat::context::{ChatContext, new_id};
use crate::chat::errors::{ChatError, InvalidChatRequest};
use crate::chat::sheet::{self, SheetData};
use crate::chat::tools;
use crate::spreadsheet::{access, budget};

/// What the person asks in this turn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Question {
    /// `POST /chat`: a new message, stored only together with its answer.
    Direct {
        /// Its id (`msg_…`).
        message_id: String,
        /// Its text.
        text: String,
    },
    /// `POST /threads/{id}/runs`: the messages waiting in the thread, `(id, text)`, oldest first.
    Waiting(Vec<(String, String)>),
}

impl Question {
    /// How many messages it adds to the thread with its answer.
    fn new_messages(&self) -> u64 {
        match self {
            Question::Direct { .. } => 2,
            Question::Waiting(_) => 1,
        }
    }

    /// The input items of the turn's first response.
    fn input(&self) -> Vec<InputItem> {
        match self {
            Question::Direct { text, .. } => vec![InputItem::UserMessage(text.clone())],
            Question::Waiting(messages) => messages
                .iter()
                .map(|(_, text)| InputItem::UserMessage(text.clone()))
                .collect(),
        }
    }
}

/// What a turn is asked to do.
pub struct TurnSpec<'a> {
    /// The caller's access proof for the thread's spreadsheet (`X-Almanac-Access-Proof`, see
    /// `spreadsheet::access`; `None` only in insecure local development).
    pub access_proof: Option<&'a SecretString>,
    /// The caller's thread.
    pub thread: ThreadRecord,
    /// The question.
    pub question: Question,
    /// Added to the instructions for this turn.
    pub additional_instructions: Option<String>,
    /// Rows the code interpreter gets; empty: the whole sheet.
    pub spans: Vec<RowSpan>,
}

/// A turn ready to be driven: its run is stored (`queued`).
#[derive(Clone, Debug)]
pub struct Turn {
    /// `run_…`.
    pub run_id: RunId,
    /// `thread_…`.
    pub thread_id: ThreadId,
    /// The question.
    pub question: Question,
    /// The first response's request (the next ones answer function calls).
    pub request: ResponseRequest,
    /// The sheet as read for this turn (the function tools answer from it).
    pub sheet: SheetData,
}

/// Prepares a turn (see the module documentation).
///
/// # Errors
/// [`ChatError::RunActive`], [`ChatError::ThreadFull`], [`ChatError::Access`] (spreadsheet or
/// sheet unreachable), [`ChatError::OverBudget`], [`ChatError::OpenAi`] (the upload or the
/// conversation failed), [`ChatError::Store`].
pub async fn prepare(ctx: &ChatContext, spec: TurnSpec<'_>) -> Result<Turn, ChatError> {
    let thread = &spec.thread;
    check_room(ctx, thread, &spec.question).await?;
    let spreadsheet =
        SpreadsheetId::parse(&thread.spreadsheet_id).map_err(InvalidChatRequest::SpreadsheetId)?;
    access::check(
        &ctx.spreadsheets,
        &thread.owner,
        &spreadsheet,
        spec.access_proof,
    )?;
    let sheet_id = i32::try_from(thread.sheet_id).unwrap_or_default();
    let sheet = sheet::read(&ctx.spreadsheets, &spreadsheet, sheet_id, &spec.spans).await?;
    let conversation = ensure_conversation(ctx, thread).await?;
    let csv = ensure_csv(ctx, thread, &sheet).await?;
    let run_id = RunId::from(new_id("run"));
    let request = ResponseRequest {
        model: ctx.model.id.clone(),
        instructions: instructions(ctx, &sheet, spec.additional_instructions.as_deref()),
        conversation,
        input: spec.question.input(),
        functions: tools::definitions(),
        code_interpreter_files: csv.into_iter().collect(),
        max_output_tokens: Some(ctx.settings.max_output_tokens),
        metadata: vec![
            ("thread_id".into(), thread.id.to_string()),
            ("run_id".into(), run_id.to_string()),
        ],
    };
    // Held while the budget is checked and the run stored: no other job or turn of this
    // spreadsheet (or of this user, or any, under the operator's caps) is admitted meanwhile, on
    // any replica, so two cannot together pass a cap.
    let _admission =
        budget::admit(&ctx.spreadsheets, &thread.owner, &thread.spreadsheet_id).await?;
    let est_cost_usd = check_budget(ctx, thread, &request).await?;
    let run = NewRun {
        id: run_id.clone(),
        thread_id: thread.id.clone(),
        model: ctx.model.id.clone(),
        est_cost_usd,
        stale_before: ctx.settings.stale_before(),
    };
    if !ctx.store.insert_chat_run(&run).await? {
        return Err(run_active(ctx, thread).await);
    }
    Ok(Turn {
        run_id,
        thread_id: thread.id.clone(),
        question: spec.question,
        request,
        sheet,
    })
}

/// Refuses a turn on a thread that is answering, or that its answer would overfill.
async fn check_room(
    ctx: &ChatContext,
    thread: &ThreadRecord,
    question: &Question,
) -> Result<(), ChatError> {
    let store = &ctx.store;
    if store.active_chat_run(&thread.id).await?.is_some() {
        return Err(run_active(ctx, thread).await);
    }
    let held = store.count_chat_messages(&thread.id).await?.max(0) as u64;
    let max = ctx.settings.max_messages;
    if held + question.new_messages() > max {
        return Err(ChatError::ThreadFull { max });
    }
    Ok(())
}

/// [`ChatError::RunActive`] naming the thread's unfinished run.
async fn run_active(ctx: &ChatContext, thread: &ThreadRecord) -> ChatError {
    let active = ctx.store.active_chat_run(&thread.id).await;
    ChatError::RunActive {
        thread_id: thread.id.clone(),
        run_id: active
            .ok()
            .flatten()
            .map_or_else(|| RunId::from(""), |r| r.id),
    }
}

/// The thread's conversation, created (and saved at once) when it has none yet.
async fn ensure_conversation(
    ctx: &ChatContext,
    thread: &ThreadRecord,
) -> Result<String, ChatError> {
    if let Some(id) = &thread.conversation_id {
        return Ok(id.clone());
    }
    let id = ctx
        .openai
        .create_conversation(&[
            ("thread_id", thread.id.as_str()),
            ("spreadsheet_id", thread.spreadsheet_id.as_str()),
        ])
        .await?;
    ctx.store.set_chat_conversation(&thread.id, &id).await?;
    Ok(id)
}

/// The file holding the sheet's CSV: the thread's last upload when the CSV is the same, else a
/// new upload (saved at once); `None` when the sheet has no data row.
async fn ensure_csv(
    ctx: &ChatContext,
    thread: &ThreadRecord,
    sheet: &SheetData,
) -> Result<Option<String>, ChatError> {
    if sheet.rows.is_empty() {
        return Ok(None);
    }
    let csv = sheet.csv();
    let sha = format!("{:x}", Sha256::digest(&csv));
    if let (Some(file), Some(known)) = (&thread.csv_file_id, &thread.csv_sha256)
        && *known == sha
    {
        return Ok(Some(file.clone()));
    }
    let file = ctx.openai.upload_user_file(&sheet.csv_name(), csv).await?;
    ctx.store.set_chat_csv(&thread.id, &file, &sha).await?;
    Ok(Some(file))
}

/// The settings' instructions, what this turn's sheet is, and the run's own addition.
fn instructions(ctx: &ChatContext, sheet: &SheetData, additional: Option<&str>) -> String {
    let mut text = ctx.settings.instructions.clone();
    text.push_str(&format!(
        "\n\nThe sheet is titled \u{201c}{}\u{201d} and has {} data rows",
        sheet.title,
        sheet.rows.len()
    ));
    if !sheet.rows.is_empty() {
        text.push_str(&format!(
            "; the code interpreter's file {} holds them",
            sheet.csv_name()
        ));
    }
    text.push('.');
    if let Some(more) = additional.map(str::trim).filter(|m| !m.is_empty()) {
        text.push_str("\n\n");
        text.push_str(more);
    }
    text
}

/// The turn's estimate, USD, when it fits the spreadsheet's monthly budget and the operator's
/// caps: the request's input
/// plus what the conversation already holds, the model's typical output, and one container when
/// the code interpreter is offered. The spreadsheet's monthly check (`budget::check_monthly`, the
/// one cap check `almanac_core::cost::check_cap`) decides.
async fn check_budget(
    ctx: &ChatContext,
    thread: &ThreadRecord,
    request: &ResponseRequest,
) -> Result<f64, ChatError> {
    let context = ctx.store.chat_context_tokens(&thread.id).await?;
    let usage = TokenUsage {
        input_tokens: request.input_tokens(ctx.model.tokenizer) + context,
        cached_input_tokens: 0,
        output_tokens: u64::from(
            ctx.model
                .typical_output_tokens
                .min(ctx.settings.max_output_tokens),
        ),
        reasoning_tokens: u64::from(ctx.model.typical_reasoning_tokens),
    };
    let containers = u64::from(!request.code_interpreter_files.is_empty());
    let estimate = chat_turn_cost(ctx.model, &usage, containers);
    let (owner, spreadsheet_id) = (&thread.owner, &thread.spreadsheet_id);
    budget::check_monthly(&ctx.spreadsheets, owner, spreadsheet_id, estimate).await??;
    Ok(estimate)
}
