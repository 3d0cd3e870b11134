//! A local stand-in, on `127.0.0.1`, for the OpenAI and Google servers this machine cannot reach,
//! so that the real client crates (async-openai, google-sheets4, yup-oauth2) run their real code
//! paths against it in the demo and in tests. One axum server on one port serves:
//!
//! - OpenAI under `/v1`: Files, Batches and Chat Completions ([`openai`], [`batch`], [`generate`]);
//!   Conversations ([`conversations`], items in [`items`]), Responses ([`responses`]: validation in
//!   [`request`], the emulated model in [`model`], streaming in [`stream`]) and code interpreter
//!   containers ([`containers`], the canned CSV analysis in [`analysis`] and [`interpreter`], PNG
//!   charts in [`chart`]) — the successors of the Assistants API;
//! - Google Sheets v4 under `/v4/spreadsheets/` ([`sheets`]: routes and the checks of token,
//!   scopes ([`scopes`]) and sharing; values in [`values`] and [`datafilter`], A1 parsing in
//!   [`a1`], developer metadata in [`devmeta`] and [`spreadsheet_ops`], errors in
//!   [`google_error`]), and what Apps Script's `SpreadsheetApp` does for a person
//!   ([`apps_script`]);
//! - Google's OAuth token endpoint `POST /token` for service accounts ([`oauth`]), and the
//!   metadata server's token endpoint for Application Default Credentials ([`metadata_server`]);
//! - Google's ID-token keys `GET /oauth2/v3/certs` (a JWKS), a signer of ID tokens, and user
//!   access tokens that reach only the spreadsheets shared with their user ([`identity`]).
//!
//! Tests steer it: [`Faults`] (per-row answers, expiry, the enqueued-token limit, invalid lines,
//! and [`faults`]' call faults — 429 / 5xx / cut connections for OpenAI or Sheets — and response
//! faults: mid-stream errors, cut streams, failed or incomplete responses),
//! [`Emulator::hold_batches`], [`Emulator::hold_next`] (stop one response after its effect, to
//! kill a client at that moment), [`Emulator::cell_writes`] (how often each cell was written),
//! [`Emulator::set_responses_config`] (background timing, per-event stream delay and
//! time-to-first-token), [`Emulator::hold_responses`] and [`Emulator::response_stats`].
//!
//! Wire formats follow the published references kept in `fixtures/reference/` (OpenAPI
//! excerpts, the Batch guide's examples, recorded validation errors and recorded Sheets traffic)
//! and `fixtures/reference/openai-responses/` (the Conversations and Responses OpenAPI excerpt).
//! Generated content says plainly that it is emulated.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use almanac_emulator::{Emulator, EmulatorConfig};
//! let emulator = Emulator::start(EmulatorConfig::default()).await?;
//! emulator.add_sheet("demo-spreadsheet", 0, "Events", vec![vec!["id".into(), "title".into()]]);
//! println!("OpenAI base: {}", emulator.openai_base_url());
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod a1;
pub mod analysis;
pub mod apps_script;
pub mod batch;
pub mod chart;
pub mod config;
pub mod container;
pub mod containers;
pub mod conversation;
pub mod conversations;
pub mod counts;
pub mod datafilter;
pub mod devmeta;
pub mod faults;
pub mod files;
pub mod generate;
pub mod google_error;
pub mod holds;
pub mod identity;
pub mod inject;
pub mod interpreter;
pub mod items;
pub mod keys;
pub mod lifecycle;
pub mod metadata_server;
pub mod model;
pub mod oauth;
pub mod openai;
pub mod overlap;
pub mod ratelimit;
pub mod request;
pub mod response;
pub mod responses;
pub mod schema;
pub mod scopes;
pub mod sheets;
pub mod spreadsheet_ops;
pub mod state;
pub mod stream;
pub mod tokens;
pub mod util;
pub mod values;
pub mod wire;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::state::{Shared, Sheet, Spreadsheet};

pub use crate::config::{EmulatorConfig, ResponsesConfig};
pub use crate::counts::{CallCounts, ResponseStats};
pub use crate::devmeta::DeveloperMetadata;
pub use crate::faults::{
    CallFault, CallFaultKind, FaultTarget, Faults, HoldPoint, ResponseFault, ResponseFaultKind,
    RowFault,
};
pub use crate::holds::Hold;
pub use crate::response::ResponseStatus;
pub use crate::state::Role;

/// Korean sample sheet (16 events, header `id,title,year,content_simple,content_detailed,
/// related_movies,imageUrl,relatedMovieId`), for demos and tests.
pub const SAMPLE_KO_CSV: &str = include_str!("../fixtures/historical_events.ko.csv");
/// English sample sheet (348 events, same header).
pub const SAMPLE_EN_CSV: &str = include_str!("../fixtures/history_en.csv");
/// The Korean sample as the seed workflow's `historical_events.json` (an object keyed by id).
pub const SAMPLE_KO_JSON: &str = include_str!("../fixtures/historical_events.ko.json");

struct Running {
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    ticker: Option<JoinHandle<()>>,
}

/// A running emulator. Cheap to clone (all clones control the same server); the server and the
/// batch ticker run as tokio tasks until [`Emulator::shutdown`] or the end of the runtime.
#[derive(Clone)]
pub struct Emulator {
    shared: Arc<Shared>,
    overlaps: Arc<overlap::Tracker>,
    addr: SocketAddr,
    running: Arc<Mutex<Running>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("base_url", &self.shared.base_url)
            .finish()
    }
}

impl Emulator {
    /// Starts on `127.0.0.1` with a free port.
    ///
    /// # Errors
    /// When the port cannot be bound.
    pub async fn start(config: EmulatorConfig) -> anyhow::Result<Emulator> {
        Self::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), config).await
    }

    /// Starts on `addr` (port 0 picks a free port). URLs use `127.0.0.1` when `addr` is unspecified
    /// (`0.0.0.0`).
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn start_on(addr: SocketAddr, config: EmulatorConfig) -> anyhow::Result<Emulator> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot bind the emulator to {addr}: {e}"))?;
        let mut local = listener.local_addr()?;
        if local.ip().is_unspecified() {
            local.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        let shared = Arc::new(Shared::new(config, format!("http://{local}")));
        let overlaps = Arc::new(overlap::Tracker::default());
        let app = router(shared.clone()).layer(axum::middleware::from_fn_with_state(
            (shared.clone(), overlaps.clone()),
            overlap::track,
        ));
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!("emulator server stopped: {e}");
            }
        });
        let ticker = tokio::spawn(tick_forever(shared.clone()));
        Ok(Emulator {
            shared,
            overlaps,
            addr: local,
            running: Arc::new(Mutex::new(Running {
                shutdown: Some(tx),
                server: Some(server),
                ticker: Some(ticker),
            })),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// `base_url() + "/v1"`, for async-openai's `OpenAIConfig::with_api_base`.
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.shared.base_url)
    }

    /// `base_url() + "/"` (trailing slash), for google-sheets4's `Sheets::base_url`/`root_url`.
    pub fn sheets_base_url(&self) -> String {
        format!("{}/", self.shared.base_url)
    }

    /// `base_url() + "/token"`: the OAuth token endpoint, also the JWT `aud` it expects.
    pub fn token_uri(&self) -> String {
        self.shared.token_uri()
    }

    /// The service account whose assertions `/token` accepts.
    pub fn service_account_email(&self) -> String {
        oauth::SERVICE_ACCOUNT_EMAIL.to_string()
    }

    /// A service-account key JSON (Google's format: `type`, `project_id`, `private_key_id`,
    /// `private_key`, `client_email`, `client_id`, `auth_uri`, `token_uri`, …) whose `token_uri` is
    /// this emulator. Feed it to `yup_oauth2::parse_service_account_key`.
    pub fn service_account_key_json(&self) -> String {
        oauth::service_account_key_json(&self.token_uri())
    }

    // --- identity ---

    /// `base_url() + "/oauth2/v3/certs"`: the JWKS of the ID-token signer.
    pub fn jwks_url(&self) -> String {
        format!("{}/oauth2/v3/certs", self.shared.base_url)
    }

    /// A Google ID token for `sub`/`email` addressed to `aud` (an OAuth client id): RS256 with the
    /// current key's `kid`, `iss` `https://accounts.google.com`, `email_verified` true, valid for
    /// one hour — what `ScriptApp.getIdentityToken()` gives the sidebar.
    pub fn id_token(&self, sub: &str, email: &str, aud: &str) -> String {
        self.sign_id_token(&identity::claims(sub, email, aud))
    }

    /// Signs any claims with the current key (and its `kid`), for tests of bad claims; start from
    /// [`identity::claims`].
    pub fn sign_id_token(&self, claims: &serde_json::Value) -> String {
        let current = self.shared.lock().keys.current;
        let (kid, pem, _) = identity::SIGNING_KEYS[current];
        identity::sign(claims, kid, pem)
    }

    /// The `kid` and public key (SPKI PEM) that new ID tokens are signed with.
    pub fn current_signing_key(&self) -> (String, String) {
        let current = self.shared.lock().keys.current;
        let (kid, _, public) = identity::SIGNING_KEYS[current];
        (kid.to_string(), public.to_string())
    }

    /// Starts signing with the next fixture key; the JWKS then lists the new key and the previous
    /// one.
    pub fn rotate_signing_key(&self) {
        self.shared.lock().keys.rotate();
    }

    /// A user access token for `email`, as `ScriptApp.getOAuthToken()` gives the add-on: it carries
    /// the scopes of `appsscript/appsscript.json` ([`scopes::APPS_SCRIPT_MANIFEST`]), none of which
    /// the Sheets REST API accepts, so every Sheets route refuses it (403
    /// `ACCESS_TOKEN_SCOPE_INSUFFICIENT`).
    pub fn user_token(&self, email: &str) -> String {
        identity::issue_user_token(&self.shared, email, &scopes::APPS_SCRIPT_MANIFEST)
    }

    /// A user access token for `email` with these scopes (e.g. [`scopes::SPREADSHEETS`]): the
    /// Sheets routes accept it, for the methods its scopes allow, on the spreadsheets
    /// [shared](Emulator::share) with `email`.
    pub fn user_token_with_scopes(&self, email: &str, scopes: &[&str]) -> String {
        identity::issue_user_token(&self.shared, email, scopes)
    }

    /// Shares a spreadsheet (existing or not yet added) with `email` (a person or a service
    /// account) as editor.
    pub fn share(&self, spreadsheet_id: &str, email: &str) {
        self.share_as(spreadsheet_id, email, Role::Writer);
    }

    /// Shares a spreadsheet with `email` in `role` (a viewer is [`Role::Reader`]).
    pub fn share_as(&self, spreadsheet_id: &str, email: &str, role: Role) {
        self.shared
            .lock()
            .shares
            .entry(spreadsheet_id.to_string())
            .or_default()
            .insert(email.to_string(), role);
    }

    /// Stops sharing a spreadsheet with `email` (the service account too: [`Emulator::add_sheet`]
    /// shares every new spreadsheet with it).
    pub fn unshare(&self, spreadsheet_id: &str, email: &str) {
        if let Some(accounts) = self.shared.lock().shares.get_mut(spreadsheet_id) {
            accounts.remove(email);
        }
    }

    /// Apps Script's `Spreadsheet.addDeveloperMetadata(key, value, DOCUMENT)` run by the person
    /// `user_email` in a sidebar: the new entry's `metadataId`.
    ///
    /// # Errors
    /// Apps Script's exception text when the person is not an editor of the spreadsheet.
    pub fn add_developer_metadata_as(
        &self,
        user_email: &str,
        spreadsheet_id: &str,
        key: &str,
        value: &str,
    ) -> Result<i32, String> {
        apps_script::add_developer_metadata(
            &mut self.shared.lock(),
            user_email,
            spreadsheet_id,
            key,
            value,
        )
    }

    /// Apps Script's `Spreadsheet.addEditor(email)` run by the person `user_email`.
    ///
    /// # Errors
    /// Apps Script's exception text when the person is not an editor of the spreadsheet.
    pub fn add_editor_as(
        &self,
        user_email: &str,
        spreadsheet_id: &str,
        editor_email: &str,
    ) -> Result<(), String> {
        apps_script::add_editor(
            &mut self.shared.lock(),
            user_email,
            spreadsheet_id,
            editor_email,
        )
    }

    /// The developer metadata of a spreadsheet, in creation order (empty when it does not exist).
    pub fn developer_metadata(&self, spreadsheet_id: &str) -> Vec<DeveloperMetadata> {
        self.shared
            .lock()
            .spreadsheets
            .get(spreadsheet_id)
            .map(|s| s.developer_metadata.clone())
            .unwrap_or_default()
    }

    /// `127.0.0.1:PORT`: the metadata server's host, as `GCE_METADATA_HOST` names it.
    pub fn metadata_host(&self) -> String {
        self.addr.to_string()
    }

    /// The metadata server's token URL (what yup-oauth2's `ApplicationDefaultCredentialsFlowOpts`
    /// takes as `metadata_url`).
    pub fn metadata_token_url(&self) -> String {
        format!("{}{}", self.shared.base_url, metadata_server::TOKEN_PATH)
    }

    /// Every access token handed out so far (service account and users), for tests that check
    /// that none leaks.
    pub fn issued_access_tokens(&self) -> Vec<String> {
        self.shared.lock().tokens.keys().cloned().collect()
    }

    // --- spreadsheets ---

    /// Adds (or replaces) sheet `sheet_id` titled `title` holding `rows` (header row included),
    /// creating the spreadsheet if needed — shared with the service account as editor, as the
    /// set-up asks (undo with [`Emulator::unshare`]). The grid is at least 1000 × 26, grown to fit.
    /// Values starting with `=` count as formulas, as if typed.
    pub fn add_sheet(
        &self,
        spreadsheet_id: &str,
        sheet_id: i32,
        title: &str,
        rows: Vec<Vec<String>>,
    ) {
        let sheet = Sheet::new(sheet_id, title, rows);
        let mut state = self.shared.lock();
        if !state.spreadsheets.contains_key(spreadsheet_id) {
            state
                .shares
                .entry(spreadsheet_id.to_string())
                .or_default()
                .insert(oauth::SERVICE_ACCOUNT_EMAIL.to_string(), Role::Writer);
        }
        let spreadsheet = state
            .spreadsheets
            .entry(spreadsheet_id.to_string())
            .or_insert_with(|| Spreadsheet {
                id: spreadsheet_id.to_string(),
                title: format!("Emulated spreadsheet {spreadsheet_id}"),
                ..Default::default()
            });
        match spreadsheet.sheet_mut(sheet_id) {
            Some(existing) => *existing = sheet,
            None => spreadsheet.sheets.push(sheet),
        }
    }

    /// Creates an empty spreadsheet (no sheet yet) shared with the service account as editor, as
    /// [`Emulator::add_sheet`] does; nothing happens when it exists.
    pub fn add_spreadsheet(&self, spreadsheet_id: &str) {
        let mut state = self.shared.lock();
        if state.spreadsheets.contains_key(spreadsheet_id) {
            return;
        }
        state
            .shares
            .entry(spreadsheet_id.to_string())
            .or_default()
            .insert(oauth::SERVICE_ACCOUNT_EMAIL.to_string(), Role::Writer);
        state.spreadsheets.insert(
            spreadsheet_id.to_string(),
            Spreadsheet {
                id: spreadsheet_id.to_string(),
                title: format!("Emulated spreadsheet {spreadsheet_id}"),
                ..Default::default()
            },
        );
    }

    /// [`Emulator::add_sheet`] from CSV text (first record = header row; ragged records allowed).
    ///
    /// # Errors
    /// When the CSV cannot be parsed.
    pub fn add_sheet_from_csv(
        &self,
        spreadsheet_id: &str,
        sheet_id: i32,
        title: &str,
        csv_text: &str,
    ) -> anyhow::Result<()> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(csv_text.as_bytes());
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record?;
            rows.push(record.iter().map(str::to_string).collect());
        }
        self.add_sheet(spreadsheet_id, sheet_id, title, rows);
        Ok(())
    }

    /// Sets the spreadsheet's `properties.title`.
    ///
    /// # Panics
    /// When the spreadsheet does not exist.
    pub fn set_spreadsheet_title(&self, spreadsheet_id: &str, title: &str) {
        let mut state = self.shared.lock();
        let spreadsheet = state
            .spreadsheets
            .get_mut(spreadsheet_id)
            .unwrap_or_else(|| panic!("no spreadsheet {spreadsheet_id:?} in the emulator"));
        spreadsheet.title = title.to_string();
    }

    fn with_sheet<T>(
        &self,
        spreadsheet_id: &str,
        sheet_id: i32,
        f: impl FnOnce(&mut Sheet) -> T,
    ) -> T {
        let mut state = self.shared.lock();
        let sheet = state
            .spreadsheets
            .get_mut(spreadsheet_id)
            .and_then(|s| s.sheet_mut(sheet_id))
            .unwrap_or_else(|| {
                panic!("no sheet {sheet_id} in spreadsheet {spreadsheet_id:?} in the emulator")
            });
        f(sheet)
    }

    /// The full grid as stored: each row without trailing blank cells, without trailing empty rows.
    ///
    /// # Panics
    /// When the spreadsheet or sheet does not exist.
    pub fn sheet_rows(&self, spreadsheet_id: &str, sheet_id: i32) -> Vec<Vec<String>> {
        self.with_sheet(spreadsheet_id, sheet_id, |s| s.trimmed_rows())
    }

    /// The text of one cell (0-based row and column; `""` when empty). Formulas are returned as
    /// written (`=…`).
    ///
    /// # Panics
    /// When the spreadsheet or sheet does not exist.
    pub fn cell(&self, spreadsheet_id: &str, sheet_id: i32, row: usize, col: usize) -> String {
        self.with_sheet(spreadsheet_id, sheet_id, |s| {
            s.cell(row, col)
                .map(|c| c.value.clone())
                .unwrap_or_default()
        })
    }

    /// Whether a cell holds a formula (written with `USER_ENTERED` or typed starting with `=`).
    ///
    /// # Panics
    /// When the spreadsheet or sheet does not exist.
    pub fn cell_is_formula(
        &self,
        spreadsheet_id: &str,
        sheet_id: i32,
        row: usize,
        col: usize,
    ) -> bool {
        self.with_sheet(spreadsheet_id, sheet_id, |s| {
            s.cell(row, col).is_some_and(|c| c.is_formula)
        })
    }

    /// A person typing into a cell (0-based): `=…` becomes a formula, `""` clears. The grid grows
    /// if needed.
    ///
    /// # Panics
    /// When the spreadsheet or sheet does not exist.
    pub fn set_cell(
        &self,
        spreadsheet_id: &str,
        sheet_id: i32,
        row: usize,
        col: usize,
        value: &str,
    ) {
        self.with_sheet(spreadsheet_id, sheet_id, |s| {
            s.set(
                row,
                col,
                value.to_string(),
                value.len() > 1 && value.starts_with('='),
            );
            s.row_count = s.row_count.max(row as u32 + 1);
            s.col_count = s.col_count.max(col as u32 + 1);
        });
    }

    /// Inserts `rows` before 0-based row `at_row` (past the end appends after blank rows), shifting
    /// the rows below down; the grid grows by as many rows.
    ///
    /// # Panics
    /// When the spreadsheet or sheet does not exist.
    pub fn insert_rows(
        &self,
        spreadsheet_id: &str,
        sheet_id: i32,
        at_row: usize,
        rows: Vec<Vec<String>>,
    ) {
        self.with_sheet(spreadsheet_id, sheet_id, |s| {
            if s.cells.len() < at_row {
                s.cells.resize_with(at_row, Vec::new);
            }
            let added = rows.len() as u32;
            let widest = rows.iter().map(Vec::len).max().unwrap_or(0) as u32;
            let new_rows: Vec<Vec<state::Cell>> = rows
                .into_iter()
                .map(|row| {
                    row.into_iter()
                        .map(|value| state::Cell {
                            is_formula: value.len() > 1 && value.starts_with('='),
                            value,
                        })
                        .collect()
                })
                .collect();
            s.cells.splice(at_row..at_row, new_rows);
            s.row_count += added;
            s.col_count = s.col_count.max(widest);
        });
    }

    /// Renames a sheet (its `sheetId` stays).
    ///
    /// # Panics
    /// When the spreadsheet or sheet does not exist.
    pub fn rename_sheet(&self, spreadsheet_id: &str, sheet_id: i32, new_title: &str) {
        self.with_sheet(spreadsheet_id, sheet_id, |s| {
            s.title = new_title.to_string()
        });
    }

    /// Calls for one job made by two clients (API keys) at the same moment, so far (see
    /// [`overlap`]), and how many calls were attributed to a job.
    pub fn job_call_overlaps(&self) -> (Vec<overlap::Overlap>, usize) {
        (self.overlaps.overlaps(), self.overlaps.calls())
    }

    /// A snapshot of the request counters.
    pub fn calls(&self) -> CallCounts {
        self.shared.lock().calls.clone()
    }

    /// How many times each cell of a sheet was written by `values.batchUpdate` / `values.update`,
    /// by 0-based `(row, col)` at the time of the write (cells never written are absent).
    pub fn cell_writes(
        &self,
        spreadsheet_id: &str,
        sheet_id: i32,
    ) -> std::collections::BTreeMap<(usize, usize), u32> {
        self.shared
            .lock()
            .cell_writes
            .iter()
            .filter(|((s, id, _, _), _)| s == spreadsheet_id && *id == sheet_id)
            .map(|((_, _, r, c), n)| ((*r, *c), *n))
            .collect()
    }

    /// Deletes `count` rows starting at 0-based `at_row`, shifting the rows below up (as a person
    /// deleting rows does); the grid shrinks by as many rows.
    ///
    /// # Panics
    /// When the spreadsheet or sheet does not exist.
    pub fn delete_rows(&self, spreadsheet_id: &str, sheet_id: i32, at_row: usize, count: usize) {
        self.with_sheet(spreadsheet_id, sheet_id, |s| {
            let end = (at_row + count).min(s.cells.len());
            if at_row < end {
                s.cells.drain(at_row..end);
            }
            s.row_count = s.row_count.saturating_sub(count as u32).max(1);
        });
    }

    /// Sorts rows `from_row..` (0-based, to the last stored row) by the text of column `col`,
    /// descending when `descending` — the rows move whole, as with Data ▸ Sort range.
    ///
    /// # Panics
    /// When the spreadsheet or sheet does not exist.
    pub fn sort_rows(
        &self,
        spreadsheet_id: &str,
        sheet_id: i32,
        from_row: usize,
        col: usize,
        descending: bool,
    ) {
        self.with_sheet(spreadsheet_id, sheet_id, |s| {
            if from_row >= s.cells.len() {
                return;
            }
            let key = |row: &Vec<state::Cell>| row.get(col).map(|c| c.value.clone());
            s.cells[from_row..].sort_by(|a, b| {
                let order = key(a).cmp(&key(b));
                if descending { order.reverse() } else { order }
            });
        });
    }

    /// Holds the next response at `point` (after its effect is applied, before it is sent) until
    /// [`Hold::release`] or the [`Hold`] is dropped. [`Hold::reached`] resolves when a call gets
    /// there: the moment for a test to kill the client.
    pub fn hold_next(&self, point: HoldPoint) -> Hold {
        holds::arm(&self.shared, point)
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

    /// Replaces the injected faults.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.lock().faults = faults;
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

    /// Stops the server (gracefully) and the batch ticker. Other clones stop working too.
    pub async fn shutdown(self) {
        let (tx, server, ticker) = {
            let mut running = self
                .running
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            (
                running.shutdown.take(),
                running.server.take(),
                running.ticker.take(),
            )
        };
        if let Some(ticker) = ticker {
            ticker.abort();
        }
        if let Some(tx) = tx {
            let _ = tx.send(());
        }
        if let Some(server) = server {
            // Graceful shutdown waits for open connections (clients keep them alive): bound it.
            let abort = server.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), server)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

/// The whole app: OpenAI, Sheets and the token endpoint.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/token", post(oauth::token))
        .route("/oauth2/v3/certs", get(identity::certs))
        .route(metadata_server::TOKEN_PATH, get(metadata_server::token))
        .route(metadata_server::EMAIL_PATH, get(metadata_server::email))
        .with_state(shared.clone())
        .merge(openai::router(shared.clone()))
        .merge(sheets::router(shared))
}

/// Advances every batch and background response one step per `config.step`.
async fn tick_forever(shared: Arc<Shared>) {
    let step = shared.config.step.max(Duration::from_millis(1));
    let mut interval = tokio::time::interval(step);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await;
    loop {
        interval.tick().await;
        tick(&shared);
    }
}

/// One step of every batch and background response.
pub(crate) fn tick(shared: &Shared) {
    let rows_per_step = shared.config.rows_per_step;
    let mut state = shared.lock();
    let state::State {
        batches,
        files,
        faults,
        hold,
        ..
    } = &mut *state;
    for job in batches.iter_mut() {
        job.advance(files, faults, *hold, rows_per_step);
    }
    lifecycle::advance(&mut state);
}
