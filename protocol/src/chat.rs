//! Wire types of "Ask about the sheet" (`/api/v1/chat`, `/api/v1/threads/…`): the API of the seed
//! backend guide (`assistants-api-backend-guide.ko.md`), unchanged in shape so that its documented
//! clients work as written, on top of OpenAI's Conversations and Responses APIs.
//!
//! The names follow the Assistants API those clients were written for
//! (<https://platform.openai.com/docs/api-reference/threads>, shut down on 2026-08-26): a
//! **thread** (`thread_…`, Almanac's own id; an OpenAI `conv_…` conversation stays behind it), its
//! **messages** (`msg_…`, `object: "thread.message"`, `content: [{type: "text", text: {value}}]`)
//! and **runs** (`run_…`, `object: "thread.run"`, one answer, behind which stand one or more
//! OpenAI `resp_…` responses). As in the Assistants API, times here are **Unix seconds**
//! (`created_at: 1754481000`), not RFC 3339 text like the rest of `/api/v1`.

use serde::{Deserialize, Serialize};

use crate::{ErrorDetail, MarkdownNode, RowSpan, TokenUsage};

/// Where a run is, as the seed's polling loop reads it (`queued`, `in_progress`, then one of the
/// four final statuses). The Assistants API's run statuses
/// (<https://platform.openai.com/docs/api-reference/runs/object>) without `requires_action`
/// (Almanac answers the sheet's function calls itself) and `incomplete` (an answer cut at the
/// output cap ends `completed` with `incomplete_details`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[cfg_attr(feature = "sqlx", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Accepted; the first response is not running yet.
    Queued,
    /// OpenAI is answering (or Almanac is answering the model's function calls).
    InProgress,
    /// The answer is stored with the thread's messages.
    Completed,
    /// OpenAI failed or refused; nothing of the turn was stored but its `usage` (`last_error`
    /// says why).
    Failed,
    /// Cancelled on request (`POST …/runs/{run_id}/cancel`).
    Cancelled,
    /// Not finished within the server's run timeout; cancelled at OpenAI.
    Expired,
}

impl RunStatus {
    /// Every status, in declaration order.
    pub const ALL: [RunStatus; 6] = [
        RunStatus::Queued,
        RunStatus::InProgress,
        RunStatus::Completed,
        RunStatus::Failed,
        RunStatus::Cancelled,
        RunStatus::Expired,
    ];

    /// True when the run will not change any more.
    pub fn is_terminal(self) -> bool {
        !matches!(self, RunStatus::Queued | RunStatus::InProgress)
    }

    /// The snake_case name used on the wire and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::InProgress => "in_progress",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Expired => "expired",
        }
    }
}

/// Who wrote a message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[cfg_attr(feature = "sqlx", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The person.
    #[default]
    User,
    /// The model.
    Assistant,
}

/// `POST /api/v1/chat`: one question, answered in one call (the seed guide's "simple chat").
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatRequest {
    /// The question (at most the server's `ALMANAC_CHAT_MAX_MESSAGE_CHARS` characters).
    pub message: String,
    /// The thread to continue; without it a new thread is started on `spreadsheet_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    /// `true` answers as Server-Sent Events (as does `Accept: text/event-stream`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
    /// The spreadsheet a new thread is about; default: the server's `ALMANAC_CHAT_SPREADSHEET_ID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spreadsheet_id: Option<String>,
    /// The sheet (`sheetId`, the `gid` of its URL) a new thread is about; default: the server's
    /// `ALMANAC_CHAT_SHEET_ID` (0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet_id: Option<i32>,
    /// Rows (1-based, inclusive) the code interpreter gets as CSV this turn; empty: the whole sheet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<RowSpan>,
}

/// A file the code interpreter made (a chart is a PNG), kept by Almanac; its bytes are at
/// `GET /api/v1/threads/{thread_id}/files/{file_id}/content`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatFile {
    /// `file_…` (Almanac's id; the container's `cfile_…` stays behind it).
    pub file_id: String,
    /// The name the code interpreter gave it (`events_per_decade.png`).
    pub filename: String,
    /// `image/png`, `text/csv`, … (from the name).
    pub mime_type: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// The answer of `POST /api/v1/chat` (and the data of its stream's `done` event): the seed's
/// `{message, thread_id, role, created_at}` and what the turn cost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatResponse {
    /// The answer's text.
    pub message: String,
    /// The thread (new or continued).
    pub thread_id: String,
    /// Always `assistant`.
    pub role: Role,
    /// When the answer was stored, Unix seconds.
    pub created_at: u64,
    /// The answer's message id.
    pub message_id: String,
    /// The run that answered.
    pub run_id: String,
    /// Tokens of every response of the turn (`usage` of the Responses API, summed).
    pub usage: TokenUsage,
    /// What the turn cost, USD: the tokens at the model's prices plus the code interpreter's
    /// containers.
    pub cost_usd: f64,
    /// Files the code interpreter made (charts).
    pub files: Vec<ChatFile>,
    /// `message` parsed as Markdown by the backend (raw HTML as text, links classified), for a
    /// client to display without parsing it again.
    #[serde(default)]
    pub markdown: Vec<MarkdownNode>,
}

/// `POST /api/v1/threads`: the body may be `{}` (the seed's); the spreadsheet defaults as in
/// [`ChatRequest`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateThreadRequest {
    /// The spreadsheet the thread is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spreadsheet_id: Option<String>,
    /// The sheet (`sheetId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet_id: Option<i32>,
}

/// What a thread is about (`metadata` of [`Thread`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreadMetadata {
    /// The spreadsheet.
    pub spreadsheet_id: String,
    /// The sheet (`sheetId`).
    pub sheet_id: i32,
}

/// A conversation about one sheet of one spreadsheet, owned by one user (`object: "thread"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Thread {
    /// `thread_…`.
    pub id: String,
    /// Always `thread`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^thread$"))]
    pub object: String,
    /// Unix seconds.
    pub created_at: u64,
    /// The spreadsheet and sheet it is about.
    pub metadata: ThreadMetadata,
}

/// `GET /api/v1/threads?spreadsheet_id=`: the caller's threads on a spreadsheet, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreadList {
    /// Always `list`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^list$"))]
    pub object: String,
    /// The threads.
    pub data: Vec<Thread>,
}

/// `DELETE /api/v1/threads/{thread_id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeletedThread {
    /// The thread's id.
    pub id: String,
    /// Always `thread.deleted`.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^thread\.deleted$"))]
    pub object: String,
    /// Always true.
    pub deleted: bool,
}

/// Where a cited file sits in a message's text (the Assistants API's `file_path` annotation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileAnnotation {
    /// Always `file_path`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^file_path$"))]
    pub kind: String,
    /// The cited text (`[Download the chart](sandbox:/mnt/data/events_per_decade.png)`).
    pub text: String,
    /// First character of the citation in `value` (characters, not bytes).
    pub start_index: u64,
    /// The character after it.
    pub end_index: u64,
    /// The file.
    pub file_path: FileId,
}

/// A file reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileId {
    /// `file_…`.
    pub file_id: String,
}

/// The text of a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageText {
    /// The text.
    pub value: String,
    /// Files cited in it.
    #[serde(default)]
    pub annotations: Vec<FileAnnotation>,
}

/// One part of a message: its text, or an image the code interpreter made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MessageContent {
    /// `{"type": "text", "text": {"value", "annotations"}}`.
    Text {
        /// The text.
        text: MessageText,
    },
    /// `{"type": "image_file", "image_file": {"file_id"}}`: a chart.
    ImageFile {
        /// The image.
        image_file: FileId,
    },
}

/// A message of a thread (`object: "thread.message"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreadMessage {
    /// `msg_…`.
    pub id: String,
    /// Always `thread.message`.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^thread\.message$"))]
    pub object: String,
    /// Unix seconds.
    pub created_at: u64,
    /// The thread.
    pub thread_id: String,
    /// `user` or `assistant`.
    pub role: Role,
    /// Text, then the images it cites.
    pub content: Vec<MessageContent>,
    /// The run that sent (user) or wrote (assistant) it; `null` for a user message no run has
    /// taken yet.
    pub run_id: Option<String>,
    /// Of an assistant message: the run's tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<TokenUsage>,
    /// Of an assistant message: what the run cost, USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// Of an assistant message: its text parsed as Markdown by the backend (raw HTML as text,
    /// links classified, cited files resolved); absent for a user message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub markdown: Vec<MarkdownNode>,
}

/// `GET /api/v1/threads/{thread_id}/messages`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageList {
    /// Always `list`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^list$"))]
    pub object: String,
    /// The messages, in the order asked (`desc`, newest first, by default).
    pub data: Vec<ThreadMessage>,
    /// Id of the first message of `data`.
    pub first_id: Option<String>,
    /// Id of the last message of `data`.
    pub last_id: Option<String>,
    /// Whether more messages lie beyond `limit`.
    pub has_more: bool,
}

/// The order of a list (`order=asc|desc`), by creation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ListOrder {
    /// Oldest first.
    Asc,
    /// Newest first (the default, as in the Assistants API).
    #[default]
    Desc,
}

/// `POST /api/v1/threads/{thread_id}/messages`: a message the next run sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateMessageRequest {
    /// The text.
    pub content: String,
    /// Only `user` (the default).
    #[serde(default)]
    pub role: Role,
}

/// `POST /api/v1/threads/{thread_id}/runs`: the body may be empty (the seed's). The Assistants
/// API's other fields (`tool_choice`, …) are accepted and ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateRunRequest {
    /// Accepted for the seed's clients; the server has one assistant (`asst_almanac`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assistant_id: Option<String>,
    /// Added to the server's instructions for this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_instructions: Option<String>,
    /// Rows (1-based, inclusive) the code interpreter gets as CSV; empty: the whole sheet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<RowSpan>,
}

/// Why a run failed (`last_error`).
pub type RunError = ErrorDetail;

/// Why an answer was cut short (`incomplete_details`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncompleteDetails {
    /// OpenAI's reason, e.g. `max_output_tokens`.
    pub reason: String,
}

/// One answer of the assistant (`object: "thread.run"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Run {
    /// `run_…`.
    pub id: String,
    /// Always `thread.run`.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^thread\.run$"))]
    pub object: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Always `asst_almanac`: the server's model and instructions (`ALMANAC_CHAT_MODEL`,
    /// `ALMANAC_CHAT_INSTRUCTIONS`).
    pub assistant_id: String,
    /// The thread.
    pub thread_id: String,
    /// Where the run is.
    pub status: RunStatus,
    /// The model.
    pub model: String,
    /// When it ended, Unix seconds.
    pub completed_at: Option<u64>,
    /// Tokens so far (`null` before the first response ends).
    pub usage: Option<TokenUsage>,
    /// What it cost so far, USD.
    pub cost_usd: f64,
    /// Why it failed, expired or was cancelled.
    pub last_error: Option<RunError>,
    /// Set when the answer was cut short (it is stored as written).
    pub incomplete_details: Option<IncompleteDetails>,
}

/// `GET /`: what this server is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiInfo {
    /// `Almanac API`.
    pub name: String,
    /// The server's version.
    pub version: String,
    /// Human API docs (`/docs`).
    pub docs: String,
    /// The OpenAPI document (`/api/v1/openapi.json`).
    pub openapi: String,
}

/// Data of the `run` event, the first of a streamed chat turn: which thread and run answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunStarted {
    /// The thread (new or continued).
    pub thread_id: String,
    /// The run.
    pub run_id: String,
}

/// Data of a `delta` event: the next piece of the answer's text, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TextDelta {
    /// Text to append.
    pub text: String,
}

/// A tool the model is using.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ToolKind {
    /// Reading rows of the sheet (`get_rows`, `search_titles`).
    SheetLookup,
    /// Running Python over the sheet's CSV.
    CodeInterpreter,
}

/// Data of a `tool` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ToolUse {
    /// Which tool.
    pub tool: ToolKind,
}

/// The names of the Server-Sent Events of a streamed chat turn, in the order they come: `run`
/// ([`RunStarted`]) once, `tool` ([`ToolUse`]) and `delta` ([`TextDelta`]) as the answer is
/// written, then either `done` ([`ChatResponse`], the whole message and its usage) or `error`
/// ([`ErrorDetail`]: the turn ended and nothing of it was stored).
pub const CHAT_EVENTS: [&str; 5] = ["run", "tool", "delta", "done", "error"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_fields_keep_their_names_on_the_wire() {
        let message = ThreadMessage {
            id: "msg_1".into(),
            object: "thread.message".into(),
            created_at: 1_754_481_000,
            thread_id: "thread_1".into(),
            role: Role::User,
            content: vec![
                MessageContent::Text {
                    text: MessageText {
                        value: "hi".into(),
                        annotations: Vec::new(),
                    },
                },
                MessageContent::ImageFile {
                    image_file: FileId {
                        file_id: "file_1".into(),
                    },
                },
            ],
            run_id: None,
            usage: None,
            cost_usd: None,
            markdown: Vec::new(),
        };
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!(json["content"][0]["type"], "text");
        assert_eq!(json["content"][0]["text"]["value"], "hi");
        assert_eq!(json["content"][1]["image_file"]["file_id"], "file_1");
        assert!(json.get("usage").is_none() && json.get("markdown").is_none());
        let chat: ChatRequest = serde_json::from_str(r#"{"message":"안녕하세요!"}"#).unwrap();
        assert_eq!((chat.thread_id, chat.stream), (None, false));
        let run: CreateRunRequest = serde_json::from_str(
            r#"{"assistant_id":"asst_1","tool_choice":{"type":"code_interpreter"}}"#,
        )
        .unwrap();
        assert_eq!(run.assistant_id.as_deref(), Some("asst_1"));
        assert_eq!(
            serde_json::to_value(RunStatus::InProgress).unwrap(),
            "in_progress"
        );
        assert!(RunStatus::ALL.iter().filter(|s| !s.is_terminal()).count() == 2);
    }
}
