//! [`ChatService`]: every operation of the chat that the HTTP API offers, with an
//! already-authenticated owner (`sub`). Every thread query is scoped by owner: another owner's
//! thread, and its runs, messages and files, are answered exactly like missing ones.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use almanac_core::catalog::UnknownModel;
use almanac_core::domain::SpreadsheetId;
use almanac_core::ids::{RunId, ThreadId};
use almanac_openai::ResponsesClient;
use almanac_protocol::TokenUsage;
use almanac_protocol::chat::{
    ChatRequest, CreateMessageRequest, CreateRunRequest, CreateThreadRequest, DeletedThread,
    ListOrder, MessageList, Role, Run, RunStatus, Thread, ThreadList, ThreadMessage,
};
use almanac_store::{FileRecord, NewThread, RunEnd, ThreadRecord};
use secrecy::SecretString;

use crate::chat::context::{ChatContext, new_id};
use crate::chat::errors::{ChatError, InvalidChatRequest, check_spans};
use crate::chat::runner::{self, Started};
use crate::chat::settings::ChatSettings;
use crate::chat::turn::{self, Question, TurnSpec};
use crate::chat::view;
use crate::spreadsheet::{Spreadsheets, access};

/// Most messages one list returns.
pub const MAX_LIST: i64 = 100;

/// Chat operations for the HTTP API. Cheap to clone.
#[derive(Clone)]
pub struct ChatService {
    ctx: Arc<ChatContext>,
}

/// Where a new thread is asked for.
struct Place {
    spreadsheet_id: Option<String>,
    sheet_id: Option<i32>,
}

impl ChatService {
    /// The chat over the spreadsheet layer's handles, OpenAI's Responses client and `settings`.
    ///
    /// # Errors
    /// [`UnknownModel`] when `ALMANAC_CHAT_MODEL` is not in the catalogue.
    pub(crate) fn new(
        spreadsheets: Spreadsheets,
        openai: ResponsesClient,
        settings: ChatSettings,
    ) -> Result<ChatService, UnknownModel> {
        Ok(ChatService {
            ctx: Arc::new(ChatContext::new(spreadsheets, openai, settings)?),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &ChatSettings {
        &self.ctx.settings
    }

    /// Fails the runs an earlier process left unfinished (no task drives them any more); called
    /// once at start-up. With one process on its own SQLite file that is every unfinished run;
    /// with replicas sharing a database only those older than the run timeout (a younger one may
    /// be answering on another replica; [`ChatSettings::stale_before`]). Returns how many.
    ///
    /// # Errors
    /// [`ChatError::Store`].
    pub async fn recover(&self) -> Result<u64, ChatError> {
        let message =
            "the server restarted while this run was answering; nothing of it was saved: ask again";
        let store = &self.ctx.store;
        let before = if store.is_shared() {
            self.ctx.settings.stale_before()
        } else {
            chrono::Utc::now()
        };
        Ok(store
            .interrupt_chat_runs(&almanac_store::chat::STALE_RUN_CODE, message, before)
            .await?)
    }

    /// `POST /threads`: a new thread on the named (or the default) spreadsheet.
    ///
    /// # Errors
    /// [`ChatError::NoSpreadsheet`], [`ChatError::Invalid`], [`ChatError::Access`],
    /// [`ChatError::TooManyThreads`], [`ChatError::Store`].
    pub async fn create_thread(
        &self,
        owner: &str,
        access_proof: Option<&SecretString>,
        req: CreateThreadRequest,
    ) -> Result<Thread, ChatError> {
        let place = Place {
            spreadsheet_id: req.spreadsheet_id,
            sheet_id: req.sheet_id,
        };
        Ok(view::thread(
            &self.new_thread(owner, access_proof, place).await?,
        ))
    }

    async fn new_thread(
        &self,
        owner: &str,
        access_proof: Option<&SecretString>,
        place: Place,
    ) -> Result<ThreadRecord, ChatError> {
        let default = self.ctx.settings.default_sheet.clone();
        let (spreadsheet_id, sheet_id) = match (place.spreadsheet_id, default) {
            (Some(id), d) => {
                let same = d
                    .as_ref()
                    .filter(|d| d.spreadsheet_id == id)
                    .map(|d| d.sheet_id);
                (id, place.sheet_id.or(same).unwrap_or(0))
            }
            (None, Some(d)) => (d.spreadsheet_id, place.sheet_id.unwrap_or(d.sheet_id)),
            (None, None) => return Err(ChatError::NoSpreadsheet),
        };
        let parsed =
            SpreadsheetId::parse(&spreadsheet_id).map_err(InvalidChatRequest::SpreadsheetId)?;
        access::check(&self.ctx.spreadsheets, owner, &parsed, access_proof)?;
        let store = &self.ctx.store;
        let max = self.ctx.settings.max_threads;
        if store
            .count_chat_threads(owner, &spreadsheet_id)
            .await?
            .max(0) as u64
            >= max
        {
            return Err(ChatError::TooManyThreads { max });
        }
        let id = new_id("thread");
        store
            .insert_chat_thread(&NewThread {
                id: id.clone().into(),
                owner: owner.to_owned(),
                spreadsheet_id,
                sheet_id,
            })
            .await?;
        store
            .chat_thread(&id.clone().into())
            .await?
            .ok_or(ChatError::ThreadNotFound(id.into()))
    }

    /// The caller's thread.
    async fn owned(&self, owner: &str, id: &ThreadId) -> Result<ThreadRecord, ChatError> {
        match self.ctx.store.chat_thread(id).await? {
            Some(t) if t.owner == owner => Ok(t),
            _ => Err(ChatError::ThreadNotFound(id.to_owned())),
        }
    }

    /// The caller's thread, for a caller who still proves they can edit its spreadsheet: a
    /// thread's history quotes the sheet, and is not served to someone who lost access to it.
    async fn owned_proven(
        &self,
        owner: &str,
        id: &ThreadId,
        access_proof: Option<&SecretString>,
    ) -> Result<ThreadRecord, ChatError> {
        let thread = self.owned(owner, id).await?;
        self.check_access(owner, &thread.spreadsheet_id, access_proof)?;
        Ok(thread)
    }

    /// Checks the caller's access proof for `spreadsheet_id`.
    fn check_access(
        &self,
        owner: &str,
        spreadsheet_id: &str,
        access_proof: Option<&SecretString>,
    ) -> Result<(), ChatError> {
        let parsed =
            SpreadsheetId::parse(spreadsheet_id).map_err(InvalidChatRequest::SpreadsheetId)?;
        Ok(access::check(
            &self.ctx.spreadsheets,
            owner,
            &parsed,
            access_proof,
        )?)
    }

    /// `GET /threads/{id}`, for a caller who proves they can edit its spreadsheet.
    ///
    /// # Errors
    /// [`ChatError::ThreadNotFound`], [`ChatError::Access`], [`ChatError::Store`].
    pub async fn thread(
        &self,
        owner: &str,
        id: &ThreadId,
        access_proof: Option<&SecretString>,
    ) -> Result<Thread, ChatError> {
        Ok(view::thread(
            &self.owned_proven(owner, id, access_proof).await?,
        ))
    }

    /// `GET /threads?spreadsheet_id=`: the caller's threads there, newest first, for a caller who
    /// proves they can edit the spreadsheet.
    ///
    /// # Errors
    /// [`ChatError::Invalid`], [`ChatError::Access`], [`ChatError::Store`].
    pub async fn threads(
        &self,
        owner: &str,
        spreadsheet_id: &str,
        access_proof: Option<&SecretString>,
    ) -> Result<ThreadList, ChatError> {
        self.check_access(owner, spreadsheet_id, access_proof)?;
        let limit = i64::try_from(self.ctx.settings.max_threads).unwrap_or(i64::MAX);
        let records = self
            .ctx
            .store
            .chat_threads(owner, spreadsheet_id, limit)
            .await?;
        Ok(ThreadList {
            object: "list".into(),
            data: records.iter().map(view::thread).collect(),
        })
    }

    /// `DELETE /threads/{id}`: its messages and files are deleted (its runs' spending stays
    /// counted); refused while it answers.
    ///
    /// # Errors
    /// [`ChatError::ThreadNotFound`], [`ChatError::RunActive`], [`ChatError::Store`].
    pub async fn delete_thread(
        &self,
        owner: &str,
        id: &ThreadId,
    ) -> Result<DeletedThread, ChatError> {
        let thread = self.owned(owner, id).await?;
        let store = &self.ctx.store;
        if let Some(run) = store.active_chat_run(id).await? {
            return Err(ChatError::RunActive {
                thread_id: id.to_owned(),
                run_id: run.id,
            });
        }
        store.delete_chat_thread(id).await?;
        if let Some(conversation) = thread.conversation_id
            && let Err(e) = self.ctx.openai.delete_conversation(&conversation).await
        {
            tracing::warn!(error = %e, "the conversation could not be deleted at OpenAI");
        }
        Ok(DeletedThread {
            id: id.to_string(),
            object: "thread.deleted".into(),
            deleted: true,
        })
    }

    /// `GET /threads/{id}/messages`: at most `limit` (1–100) messages in `order`, for a caller
    /// who proves they can edit the thread's spreadsheet.
    ///
    /// # Errors
    /// [`ChatError::ThreadNotFound`], [`ChatError::Invalid`] for a bad limit,
    /// [`ChatError::Access`], [`ChatError::Store`].
    pub async fn messages(
        &self,
        owner: &str,
        id: &ThreadId,
        access_proof: Option<&SecretString>,
        (order, limit): (ListOrder, i64),
    ) -> Result<MessageList, ChatError> {
        if !(1..=MAX_LIST).contains(&limit) {
            return Err(InvalidChatRequest::Limit {
                limit,
                max: MAX_LIST,
            }
            .into());
        }
        self.owned_proven(owner, id, access_proof).await?;
        let store = &self.ctx.store;
        let mut records = store
            .chat_messages(id, order == ListOrder::Desc, limit + 1)
            .await?;
        let has_more = records.len() as i64 > limit;
        records.truncate(limit as usize);
        let files = store.chat_files(id).await?;
        let data = view::messages(&records, &files, &self.run_costs(id).await?);
        Ok(MessageList {
            object: "list".into(),
            first_id: data.first().map(|m| m.id.clone()),
            last_id: data.last().map(|m| m.id.clone()),
            has_more,
            data,
        })
    }

    /// Each run of a thread: its usage and cost.
    async fn run_costs(
        &self,
        id: &ThreadId,
    ) -> Result<HashMap<RunId, (TokenUsage, f64)>, ChatError> {
        let store = &self.ctx.store;
        let containers: HashMap<RunId, i64> = store
            .chat_thread_containers(id)
            .await?
            .into_iter()
            .collect();
        let catalog = self.ctx.catalog;
        Ok(store
            .chat_runs(id)
            .await?
            .into_iter()
            .map(|r| {
                let n = containers.get(&r.id).copied().unwrap_or(0).max(0) as u64;
                let cost = view::run_cost(catalog, &r, n);
                (r.id.clone(), (r.usage(), cost))
            })
            .collect())
    }

    /// `POST /threads/{id}/messages`: a user message the next run sends.
    ///
    /// # Errors
    /// [`ChatError::ThreadNotFound`], [`ChatError::Invalid`] (empty text, a role other than
    /// `user`), [`ChatError::MessageTooLong`], [`ChatError::RunActive`],
    /// [`ChatError::ThreadFull`], [`ChatError::Store`].
    pub async fn add_message(
        &self,
        owner: &str,
        id: &ThreadId,
        req: CreateMessageRequest,
    ) -> Result<ThreadMessage, ChatError> {
        self.owned(owner, id).await?;
        if req.role != Role::User {
            return Err(InvalidChatRequest::NotUserRole.into());
        }
        self.check_text(&req.content)?;
        let store = &self.ctx.store;
        if let Some(run) = store.active_chat_run(id).await? {
            return Err(ChatError::RunActive {
                thread_id: id.to_owned(),
                run_id: run.id,
            });
        }
        let max = self.ctx.settings.max_messages;
        if store.count_chat_messages(id).await?.max(0) as u64 + 2 > max {
            return Err(ChatError::ThreadFull { max });
        }
        let record = store
            .insert_chat_message(id, &new_id("msg"), &req.content)
            .await?;
        let message = view::messages(&[record], &[], &HashMap::new()).pop();
        message.ok_or_else(|| ChatError::ThreadNotFound(id.to_owned()))
    }

    /// A message's text must be non-empty and within the length limit.
    fn check_text(&self, text: &str) -> Result<(), ChatError> {
        if text.trim().is_empty() {
            return Err(InvalidChatRequest::EmptyMessage.into());
        }
        let (chars, max) = (text.chars().count(), self.ctx.settings.max_message_chars);
        if chars > max {
            return Err(ChatError::MessageTooLong { chars, max });
        }
        Ok(())
    }

    /// `POST /threads/{id}/runs`: answers the waiting messages in the background (poll the run).
    ///
    /// # Errors
    /// [`ChatError::ThreadNotFound`], [`ChatError::NothingToRun`], and those of preparing a turn
    /// (see `chat::turn::prepare`).
    pub async fn create_run(
        &self,
        owner: &str,
        access_proof: Option<&SecretString>,
        id: &ThreadId,
        req: CreateRunRequest,
    ) -> Result<Run, ChatError> {
        let thread = self.owned(owner, id).await?;
        check_spans(&req.rows)?;
        let waiting = self.ctx.store.pending_chat_messages(id).await?;
        if waiting.is_empty() {
            return Err(ChatError::NothingToRun(id.to_owned()));
        }
        let spec = TurnSpec {
            access_proof,
            thread,
            question: Question::Waiting(waiting.into_iter().map(|m| (m.id, m.text)).collect()),
            additional_instructions: req.additional_instructions,
            spans: req.rows,
        };
        let turn = turn::prepare(&self.ctx, spec).await?;
        let run_id = turn.run_id.clone();
        runner::spawn(self.ctx.clone(), turn, false);
        self.run(owner, (id, &run_id), access_proof).await
    }

    /// `GET /threads/{id}/runs/{run_id}`, for a caller who proves they can edit the thread's
    /// spreadsheet.
    ///
    /// # Errors
    /// [`ChatError::ThreadNotFound`], [`ChatError::Access`], [`ChatError::RunNotFound`],
    /// [`ChatError::Store`].
    pub async fn run(
        &self,
        owner: &str,
        (id, run_id): (&ThreadId, &RunId),
        access_proof: Option<&SecretString>,
    ) -> Result<Run, ChatError> {
        self.owned_proven(owner, id, access_proof).await?;
        self.run_view(id, run_id).await
    }

    /// A run of the thread `id` (whose owner was checked).
    async fn run_view(&self, id: &ThreadId, run_id: &RunId) -> Result<Run, ChatError> {
        let store = &self.ctx.store;
        let record = match store.chat_run(run_id).await? {
            Some(r) if r.thread_id == *id => r,
            _ => return Err(ChatError::RunNotFound(run_id.clone())),
        };
        let containers = store.chat_run_containers(run_id).await?;
        Ok(view::run(
            &record,
            view::run_cost(self.ctx.catalog, &record, containers),
        ))
    }

    /// `POST /threads/{id}/runs/{run_id}/cancel`: stops the run (and its response at OpenAI) and
    /// answers it once it has ended `cancelled` (or however it ended first).
    ///
    /// # Errors
    /// [`ChatError::ThreadNotFound`], [`ChatError::RunNotFound`], [`ChatError::RunFinished`],
    /// [`ChatError::Store`].
    pub async fn cancel_run(
        &self,
        owner: &str,
        id: &ThreadId,
        run_id: &RunId,
    ) -> Result<Run, ChatError> {
        self.owned(owner, id).await?;
        let run = self.run_view(id, run_id).await?;
        if run.status.is_terminal() {
            return Err(ChatError::RunFinished(run_id.clone()));
        }
        if !self.ctx.live.cancel(run_id) {
            let end = RunEnd {
                status: RunStatus::Cancelled,
                usage: run.usage.unwrap_or_default(),
                error: Some((
                    almanac_protocol::ErrorCode::Cancelled,
                    "the run was cancelled".into(),
                )),
                incomplete_reason: None,
                containers: Vec::new(),
            };
            self.ctx.store.end_chat_run(run_id, &end, None).await?;
        }
        for _ in 0..500 {
            let now = self.run_view(id, run_id).await?;
            if now.status.is_terminal() {
                return Ok(now);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.run_view(id, run_id).await
    }

    /// `POST /chat`: starts one turn on the named thread, or on a new thread; the caller follows
    /// the returned events (streamed) or waits for `done`.
    ///
    /// # Errors
    /// [`ChatError::Invalid`], [`ChatError::MessageTooLong`], those of [`ChatService::create_thread`]
    /// (new thread) and of preparing a turn.
    pub async fn chat(
        &self,
        owner: &str,
        access_proof: Option<&SecretString>,
        req: ChatRequest,
        streamed: bool,
    ) -> Result<Started, ChatError> {
        self.check_text(&req.message)?;
        check_spans(&req.rows)?;
        let (thread, created) = match &req.thread_id {
            Some(id) => (
                self.continued(owner, &ThreadId::from(id.as_str()), &req)
                    .await?,
                false,
            ),
            None => {
                let place = Place {
                    spreadsheet_id: req.spreadsheet_id.clone(),
                    sheet_id: req.sheet_id,
                };
                (self.new_thread(owner, access_proof, place).await?, true)
            }
        };
        let thread_id = thread.id.clone();
        let spec = TurnSpec {
            access_proof,
            thread,
            question: Question::Direct {
                message_id: new_id("msg"),
                text: req.message,
            },
            additional_instructions: None,
            spans: req.rows,
        };
        match turn::prepare(&self.ctx, spec).await {
            Ok(turn) => Ok(runner::spawn(self.ctx.clone(), turn, streamed)),
            Err(e) => {
                if created {
                    let _ = self.ctx.store.delete_chat_thread(&thread_id).await;
                }
                Err(e)
            }
        }
    }

    /// The caller's thread to continue; a spreadsheet named beside it must be the thread's.
    async fn continued(
        &self,
        owner: &str,
        id: &ThreadId,
        req: &ChatRequest,
    ) -> Result<ThreadRecord, ChatError> {
        let thread = self.owned(owner, id).await?;
        let other_sheet = req
            .spreadsheet_id
            .as_ref()
            .is_some_and(|s| *s != thread.spreadsheet_id)
            || req
                .sheet_id
                .is_some_and(|s| i64::from(s) != thread.sheet_id);
        if other_sheet {
            return Err(InvalidChatRequest::OtherSheet {
                thread_id: id.clone(),
                spreadsheet_id: thread.spreadsheet_id.clone(),
                sheet_id: thread.sheet_id,
            }
            .into());
        }
        Ok(thread)
    }

    /// `GET /threads/{id}/files/{file_id}/content`: a file the code interpreter made, for a
    /// caller who proves they can edit the thread's spreadsheet.
    ///
    /// # Errors
    /// [`ChatError::ThreadNotFound`], [`ChatError::Access`], [`ChatError::FileNotFound`],
    /// [`ChatError::Store`].
    pub async fn file(
        &self,
        owner: &str,
        (id, file_id): (&ThreadId, &str),
        access_proof: Option<&SecretString>,
    ) -> Result<(FileRecord, Vec<u8>), ChatError> {
        self.owned_proven(owner, id, access_proof).await?;
        self.ctx
            .store
            .chat_file_content(id, file_id)
            .await?
            .ok_or_else(|| ChatError::FileNotFound(file_id.to_owned()))
    }
}
