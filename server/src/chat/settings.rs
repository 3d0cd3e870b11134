//! The chat's settings (`ALMANAC_CHAT_*`): the assistant's model and instructions — what the seed
//! tutorial configured on its Assistant, here server settings — the spreadsheet of clients that
//! name none, and the limits of threads, messages, turns and runs.

use std::time::Duration;

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
}

impl ChatSettings {
    /// The instant before which an unfinished run cannot be alive any more: now − the run
    /// timeout (after which its driver cancels it) − a minute for the driver to store its end.
    pub fn stale_before(&self) -> chrono::DateTime<chrono::Utc> {
        let grace = self.run_timeout + std::time::Duration::from_secs(60);
        chrono::Utc::now()
            - chrono::TimeDelta::from_std(grace).unwrap_or(chrono::TimeDelta::days(1))
    }
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
        }
    }
}
