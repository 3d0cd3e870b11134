//! The [`Emulator`] methods for the OpenAI side: the batches and files a test inspects and
//! holds, the RPM/TPM limits of Chat Completions and Responses, the timing and holds of
//! background and streamed responses, the stored conversations, responses and container files,
//! the calls for one job that overlapped, and the API keys that exist.

use crate::config::ResponsesConfig;
use crate::counts::ResponseStats;
use crate::openai::{batch, lifecycle, overlap, ratelimit};
use crate::server::Emulator;

impl Emulator {
    /// Calls for one job made by two clients (API keys) at the same moment, so far (see
    /// [`overlap`]), and how many calls were attributed to a job.
    pub fn job_call_overlaps(&self) -> (Vec<overlap::Overlap>, usize) {
        (self.overlaps.overlaps(), self.overlaps.calls())
    }

    /// Names the OpenAI API keys that exist (`None`: any non-empty key is accepted, the default);
    /// any other key is then refused on every `/v1` route with 401 `invalid_api_key` (see
    /// [`crate::openai::model_list`]).
    pub fn set_openai_api_keys(&self, keys: Option<&[&str]>) {
        self.shared.lock().openai_api_keys =
            keys.map(|keys| keys.iter().map(|k| (*k).to_owned()).collect());
    }

    // --- batch control ---

    /// Applies RPM/TPM limits (and a latency) to `POST /v1/chat/completions`, with full buckets;
    /// `None` removes them. See [`ratelimit`].
    pub fn set_chat_limits(&self, limits: Option<ratelimit::ChatLimits>) {
        self.shared.lock().chat_limiter = limits.map(ratelimit::Limiter::new);
    }

    /// Whether answers of the chat rate limiter carry `x-ratelimit-*` headers (they do unless
    /// this says otherwise; a 429 always carries `retry-after`): `false` stands for an
    /// OpenAI-compatible server that enforces limits without saying what they are. Applies to the
    /// limits set last by [`Emulator::set_chat_limits`].
    pub fn set_chat_limit_headers(&self, headers: bool) {
        if let Some(limiter) = self.shared.lock().chat_limiter.as_mut() {
            limiter.headers = headers;
        }
    }

    /// What the chat rate limiter saw since [`Emulator::set_chat_limits`] (zeros without limits).
    pub fn chat_limit_stats(&self) -> ratelimit::ChatLimitStats {
        self.shared
            .lock()
            .chat_limiter
            .as_ref()
            .map(ratelimit::Limiter::stats)
            .unwrap_or_default()
    }

    // --- conversations and responses ---

    /// Sets the timing of background and streamed responses (applies to responses that have not
    /// ended; a running stream keeps the delays it started with).
    pub fn set_responses_config(&self, config: ResponsesConfig) {
        self.shared.lock().responses_config = config;
    }

    /// While true, background responses stay at their status (`queued` or `in_progress`), e.g.
    /// to cancel one at a known moment. Streams are not held.
    pub fn hold_responses(&self, hold: bool) {
        self.shared.lock().responses_hold = hold;
    }

    /// Makes the model's next message say `text` instead of what it would write (once), e.g. an
    /// answer in Markdown; the message's file citations then point at the Markdown link to the
    /// same file in `text` (`[…](sandbox:/mnt/data/<filename>)`), or are dropped when it has none.
    /// `None` cancels it.
    pub fn set_next_answer_text(&self, text: Option<String>) {
        self.shared.lock().next_answer_text = text;
    }

    /// Applies RPM/TPM limits (and no latency) to `POST /v1/responses`, with full buckets; a
    /// request weighs its input tokens plus `max_output_tokens`. `None` removes them. Refusals
    /// are 429 `rate_limit_exceeded` with `retry-after`/`retry-after-ms`. See [`ratelimit`].
    pub fn set_responses_limits(&self, limits: Option<ratelimit::ChatLimits>) {
        self.shared.lock().responses_limiter = limits.map(ratelimit::Limiter::new);
    }

    /// What the responses rate limiter saw since [`Emulator::set_responses_limits`].
    pub fn responses_limit_stats(&self) -> ratelimit::ChatLimitStats {
        self.shared
            .lock()
            .responses_limiter
            .as_ref()
            .map(ratelimit::Limiter::stats)
            .unwrap_or_default()
    }

    /// A snapshot of the Conversations/Responses counters (responses created, per conversation,
    /// polls, cancels, function calls, code interpreter runs, …).
    pub fn response_stats(&self) -> ResponseStats {
        self.shared.lock().response_stats.clone()
    }

    /// The items of a conversation, oldest first (as stored: code interpreter calls keep their
    /// `outputs`); `None` when it does not exist.
    pub fn conversation_items(&self, conversation_id: &str) -> Option<Vec<serde_json::Value>> {
        self.shared
            .lock()
            .conversations
            .get(conversation_id)
            .map(|c| c.items.clone())
    }

    /// A stored response object as `GET /v1/responses/{id}` shows it (with
    /// `code_interpreter_call.outputs`), if it exists.
    pub fn response(&self, response_id: &str) -> Option<serde_json::Value> {
        let include = ["code_interpreter_call.outputs".to_string()];
        lifecycle::stored(&self.shared.lock(), response_id).map(|r| r.to_json(&include))
    }

    /// The content of a file in a code interpreter container, if it exists.
    pub fn container_file(&self, container_id: &str, file_id: &str) -> Option<Vec<u8>> {
        let state = self.shared.lock();
        let container = state.containers.get(container_id)?;
        container
            .files
            .iter()
            .find(|f| f.id == file_id)
            .map(|f| f.content.to_vec())
    }

    /// While true, batches stay in_progress without finishing (rows do not advance). Validation,
    /// finalizing and cancelling still proceed.
    pub fn hold_batches(&self, hold: bool) {
        self.shared.lock().hold = hold;
    }

    /// All Batch objects, oldest first.
    pub fn batches(&self) -> Vec<serde_json::Value> {
        self.shared
            .lock()
            .batches
            .iter()
            .map(batch::BatchJob::to_json)
            .collect()
    }

    /// The content of a stored file (input, output or error file), if it exists.
    pub fn file_content(&self, file_id: &str) -> Option<String> {
        self.shared
            .lock()
            .files
            .get(file_id)
            .map(|f| String::from_utf8_lossy(&f.content).into_owned())
    }
}
