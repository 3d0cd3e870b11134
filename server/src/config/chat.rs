//! The chat's settings (`ALMANAC_CHAT_*`): the assistant's model and instructions — what the seed
//! tutorial configured on its Assistant, here server settings — the spreadsheet of clients that
//! name none, and the limits of threads, messages, turns and runs.

use std::time::Duration;

use clap::Args;

use super::parse;

/// Flags and environment variables of "Ask about the sheet".
#[derive(Clone, Debug, Args)]
pub struct ChatArgs {
    /// The chat's model (a catalogue id: its prices cost the turns); default: the catalogue's
    /// default model.
    #[arg(
        long = "chat-model",
        env = "ALMANAC_CHAT_MODEL",
        value_parser = parse::catalogue_model()
    )]
    chat_model: Option<String>,
    /// The chat's instructions (the seed's Assistant instructions); default: built in.
    #[arg(long = "chat-instructions", env = "ALMANAC_CHAT_INSTRUCTIONS")]
    chat_instructions: Option<String>,
    /// The spreadsheet of chat clients that name none (such as the seed guide's clients).
    #[arg(long = "chat-spreadsheet-id", env = "ALMANAC_CHAT_SPREADSHEET_ID")]
    chat_spreadsheet_id: Option<String>,
    /// The sheet (`sheetId`) of that spreadsheet.
    #[arg(
        long = "chat-sheet-id",
        env = "ALMANAC_CHAT_SHEET_ID",
        default_value_t = 0
    )]
    chat_sheet_id: i32,
    /// Chat turns one user may start per minute (a burst of as many).
    #[arg(
        long = "chat-turns-per-minute",
        env = "ALMANAC_CHAT_TURNS_PER_MINUTE",
        default_value = "20",
        value_parser = parse::at_least(1_u32)
    )]
    chat_turns_per_minute: u32,
    /// Longest chat message, in characters.
    #[arg(
        long = "chat-max-message-chars",
        env = "ALMANAC_CHAT_MAX_MESSAGE_CHARS",
        default_value = "4000",
        value_parser = parse::at_least(1_usize)
    )]
    chat_max_message_chars: usize,
    /// Conversations one user may keep per spreadsheet.
    #[arg(
        long = "chat-max-threads",
        env = "ALMANAC_CHAT_MAX_THREADS",
        default_value = "50",
        value_parser = parse::at_least(1_u64)
    )]
    chat_max_threads: u64,
    /// Messages one conversation may hold (at least 2: a question and its answer).
    #[arg(
        long = "chat-max-messages",
        env = "ALMANAC_CHAT_MAX_MESSAGES",
        default_value = "200",
        value_parser = parse::at_least(2_u64)
    )]
    chat_max_messages: u64,
    /// Time between two polls of a background response: seconds, or a duration such as `500ms`.
    #[arg(
        long = "chat-poll-interval",
        env = "ALMANAC_CHAT_POLL_INTERVAL_SECS",
        default_value = "1",
        value_parser = parse::duration(Duration::from_nanos(1), "more than zero")
    )]
    chat_poll_interval: Duration,
    /// Time after which an unfinished chat run is cancelled and ends `expired`: seconds, or a
    /// duration such as `10m`.
    #[arg(
        long = "chat-run-timeout",
        env = "ALMANAC_CHAT_RUN_TIMEOUT_SECS",
        default_value = "600",
        value_parser = parse::duration(Duration::from_nanos(1), "more than zero")
    )]
    chat_run_timeout: Duration,
    /// Most files (charts) kept from one answer's code interpreter container; further citations
    /// are left out.
    #[arg(
        long = "chat-max-files",
        env = "ALMANAC_CHAT_MAX_FILES",
        default_value = "10",
        value_parser = parse::at_least(0_usize)
    )]
    chat_max_files: usize,
    /// Largest file kept from a code interpreter container, bytes; a larger one is not
    /// downloaded further once it passes this.
    #[arg(
        long = "chat-max-file-bytes",
        env = "ALMANAC_CHAT_MAX_FILE_BYTES",
        default_value = "10485760",
        value_parser = parse::at_least(1_u64)
    )]
    chat_max_file_bytes: u64,
}

/// The instructions when `ALMANAC_CHAT_INSTRUCTIONS` is not set.
pub const DEFAULT_INSTRUCTIONS: &str = "You are Almanac's assistant for one sheet of a Google \
Sheets spreadsheet of historical events (columns: id, title, year, content_simple, \
content_detailed, related_movies). Answer questions about that sheet only. Its rows are in the \
CSV file given to the code interpreter: compute counts, statistics and charts with it rather than \
guessing, and save charts as PNG files. Use get_rows to read rows by their id (column A) and \
search_titles to find rows by their title. When the sheet does not hold the answer, say so.";

/// A spreadsheet for threads whose client names none (the seed guide's clients send no
/// spreadsheet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultSheet {
    /// The spreadsheet's id.
    pub spreadsheet_id: String,
    /// The sheet's `sheetId` (`0` for a spreadsheet's first sheet, usually).
    pub sheet_id: i32,
}

/// Settings of the chat.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatSettings {
    /// The model (`ALMANAC_CHAT_MODEL`); it must be in the catalogue, whose prices cost the turns.
    pub model: String,
    /// The instructions sent with every response (`ALMANAC_CHAT_INSTRUCTIONS`).
    pub instructions: String,
    /// The spreadsheet of clients that name none (`ALMANAC_CHAT_SPREADSHEET_ID`,
    /// `ALMANAC_CHAT_SHEET_ID`); `None`: such a request is refused with 400.
    pub default_sheet: Option<DefaultSheet>,
    /// Turns (`POST /chat`, `POST /threads/{id}/runs`) one user may start per minute, also the
    /// burst (`ALMANAC_CHAT_TURNS_PER_MINUTE`); at least 1.
    pub turns_per_minute: u32,
    /// Longest message, in characters (`ALMANAC_CHAT_MAX_MESSAGE_CHARS`).
    pub max_message_chars: usize,
    /// Threads one user may keep per spreadsheet (`ALMANAC_CHAT_MAX_THREADS`).
    pub max_threads: u64,
    /// Messages a thread may hold, both roles (`ALMANAC_CHAT_MAX_MESSAGES`).
    pub max_messages: u64,
    /// Output cap of one response, tokens (`max_output_tokens`).
    pub max_output_tokens: u32,
    /// Time between two polls of a background response (`ALMANAC_CHAT_POLL_INTERVAL_SECS`).
    pub poll_interval: Duration,
    /// A run not finished after this long is cancelled and ends `expired`
    /// (`ALMANAC_CHAT_RUN_TIMEOUT_SECS`).
    pub run_timeout: Duration,
    /// Most files kept from one answer (`ALMANAC_CHAT_MAX_FILES`).
    pub max_files: usize,
    /// Largest file kept, bytes (`ALMANAC_CHAT_MAX_FILE_BYTES`), checked as it downloads.
    pub max_file_bytes: u64,
}

impl Default for ChatSettings {
    fn default() -> Self {
        ChatSettings {
            model: almanac_core::catalog::Catalog::builtin()
                .default_spec()
                .id
                .clone(),
            instructions: DEFAULT_INSTRUCTIONS.to_owned(),
            default_sheet: None,
            turns_per_minute: 20,
            max_message_chars: 4_000,
            max_threads: 50,
            max_messages: 200,
            max_output_tokens: 2_048,
            poll_interval: Duration::from_secs(1),
            run_timeout: Duration::from_secs(600),
            max_files: 10,
            max_file_bytes: 10 * 1024 * 1024,
        }
    }
}

impl ChatArgs {
    /// The chat settings these flags ask for (blank instructions or spreadsheet are unset).
    pub fn settings(&self) -> ChatSettings {
        let defaults = ChatSettings::default();
        ChatSettings {
            model: self.chat_model.clone().unwrap_or(defaults.model),
            instructions: self
                .chat_instructions
                .clone()
                .filter(|i| !i.trim().is_empty())
                .unwrap_or(defaults.instructions),
            default_sheet: self
                .chat_spreadsheet_id
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|id| DefaultSheet {
                    spreadsheet_id: id.to_owned(),
                    sheet_id: self.chat_sheet_id,
                }),
            turns_per_minute: self.chat_turns_per_minute,
            max_message_chars: self.chat_max_message_chars,
            max_threads: self.chat_max_threads,
            max_messages: self.chat_max_messages,
            max_output_tokens: defaults.max_output_tokens,
            poll_interval: self.chat_poll_interval,
            run_timeout: self.chat_run_timeout,
            max_files: self.chat_max_files,
            max_file_bytes: self.chat_max_file_bytes,
        }
    }
}
