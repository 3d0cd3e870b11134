//! The emulator's in-memory world, shared by the HTTP handlers, the batch ticker and the
//! [`Emulator`](crate::Emulator) control methods: spreadsheets and their cells, uploaded and
//! generated files, batches, conversations, responses and code interpreter containers, issued
//! OAuth tokens, injected faults and call counters.
//!
//! The records it holds are defined in the modules below it ([`crate::openai::files`],
//! [`crate::openai::batch`], [`crate::openai::conversation`], [`crate::openai::response`],
//! [`crate::openai::container`], [`crate::google::spreadsheet`], [`crate::google::access`],
//! [`crate::google::keys`], [`crate::faults`], [`crate::counts`], [`crate::config`]), which never
//! use this module; the handlers and the [`Emulator`](crate::Emulator) use it.
//!
//! Everything sits behind one `std::sync::Mutex`; no lock is held across an `.await`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use crate::config::{EmulatorConfig, ResponsesConfig};
use crate::counts::{CallCounts, ResponseStats};
use crate::faults::{Armed, Faults};
use crate::google::access::{IssuedToken, Role};
use crate::google::keys::KeyRing;
use crate::google::spreadsheet::Spreadsheet;
use crate::openai::batch::BatchJob;
use crate::openai::container::Container;
use crate::openai::conversation::Conversation;
pub use crate::openai::files::StoredFile;
use crate::openai::ratelimit::Limiter;
use crate::openai::response::StoredResponse;

/// State reachable from every handler.
pub struct Shared {
    /// Timing of the batch ticker.
    pub config: EmulatorConfig,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base_url: String,
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new(config: EmulatorConfig, base_url: String) -> Shared {
        Shared {
            config,
            base_url,
            state: Mutex::new(State::default()),
        }
    }

    /// Locks the world. A panic in another holder does not poison it for the rest of a test run.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `base_url + "/token"`.
    pub fn token_uri(&self) -> String {
        format!("{}/token", self.base_url)
    }
}

/// Everything the emulator knows.
#[derive(Default)]
pub struct State {
    /// Spreadsheets by `spreadsheetId`.
    pub spreadsheets: BTreeMap<String, Spreadsheet>,
    /// Files by id (`file-…`).
    pub files: HashMap<String, StoredFile>,
    /// Batches in creation order (listing shows them newest first).
    pub batches: Vec<BatchJob>,
    /// Access tokens issued by `POST /token` (service account) and to users.
    pub tokens: HashMap<String, IssuedToken>,
    /// Spreadsheet id → email of each account it is shared with (users and service accounts) →
    /// its role.
    pub shares: HashMap<String, BTreeMap<String, Role>>,
    /// The ID-token signing keys in use.
    pub keys: KeyRing,
    /// Google Workspace domains (lowercase): an account whose email is in one of them gets `hd`
    /// in its ID tokens; every other account is a consumer account (no `hd`).
    pub workspace_domains: std::collections::BTreeSet<String>,
    /// Injected failures.
    pub faults: Faults,
    /// While true, `in_progress` batches do not advance.
    pub hold: bool,
    /// Requests received per endpoint.
    pub calls: CallCounts,
    /// `(spreadsheetId, sheetId, row, col)` (0-based, at write time) → times written.
    pub cell_writes: HashMap<(String, i32, usize, usize), u32>,
    /// Responses to hold, armed by [`Emulator::hold_next`](crate::Emulator::hold_next).
    pub holds: Vec<Armed>,
    /// RPM/TPM limits of the chat endpoint, when set.
    pub chat_limiter: Option<Limiter>,
    /// Conversations by id (`conv_…`).
    pub conversations: HashMap<String, Conversation>,
    /// Responses by id (`resp_…`), including unstored ones while they run.
    pub responses: HashMap<String, StoredResponse>,
    /// Code interpreter containers by id (`cntr_…`).
    pub containers: HashMap<String, Container>,
    /// Counters of the Conversations and Responses routes.
    pub response_stats: ResponseStats,
    /// Timing of background and streamed responses.
    pub responses_config: ResponsesConfig,
    /// While true, background responses do not advance.
    pub responses_hold: bool,
    /// The text of the model's next message, instead of its own (once; set by a test).
    pub next_answer_text: Option<String>,
    /// RPM/TPM limits of `POST /v1/responses`, when set.
    pub responses_limiter: Option<Limiter>,
    /// The OpenAI API keys that exist, when set: any other is refused (401 `invalid_api_key`).
    pub openai_api_keys: Option<Vec<String>>,
    /// The access scopes of the emulated instance, when set: the metadata server's tokens carry
    /// these whatever scopes are asked for (a VM created with narrower access scopes).
    pub metadata_access_scopes: Option<Vec<String>>,
}
