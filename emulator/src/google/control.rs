//! The [`Emulator`] methods for the Google side: the service account's key, ID tokens and their
//! signing keys, user access tokens and sharing, Apps Script's calls, the metadata server's
//! addresses and the instance's access scopes, and the spreadsheets a test sets up, edits as a person would, and inspects.

use std::collections::BTreeMap;

use crate::google::access::Role;
use crate::google::devmeta::DeveloperMetadata;
use crate::google::spreadsheet::{Cell, Sheet, Spreadsheet};
use crate::google::{apps_script, identity, metadata_server, oauth, scopes};
use crate::server::Emulator;

impl Emulator {
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
    /// one hour — what `ScriptApp.getIdentityToken()` gives the sidebar. As Google does, it carries
    /// `hd` (the hosted domain) when the email's domain is a [Workspace
    /// domain](Emulator::add_workspace_domain), and none for a consumer account.
    pub fn id_token(&self, sub: &str, email: &str, aud: &str) -> String {
        let mut claims = identity::claims(sub, email, aud);
        let domain = email.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
        if let Some(domain) = domain
            && self.shared.lock().workspace_domains.contains(&domain)
        {
            claims["hd"] = serde_json::Value::String(domain);
        }
        self.sign_id_token(&claims)
    }

    /// Makes `domain` a Google Workspace domain: ID tokens of its accounts carry `hd: domain`
    /// (<https://developers.google.com/identity/openid-connect/openid-connect#id_token-hd>).
    /// Accounts of other domains are consumer accounts, without `hd`, whatever their address.
    pub fn add_workspace_domain(&self, domain: &str) {
        self.shared
            .lock()
            .workspace_domains
            .insert(domain.to_ascii_lowercase());
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

    /// Sets the access scopes of the emulated instance (`None`: tokens carry the scopes asked
    /// for, the default): the metadata server's tokens then carry exactly these.
    pub fn set_metadata_access_scopes(&self, scopes: Option<&[&str]>) {
        self.shared.lock().metadata_access_scopes =
            scopes.map(|scopes| scopes.iter().map(|s| (*s).to_owned()).collect());
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
            let new_rows: Vec<Vec<Cell>> = rows
                .into_iter()
                .map(|row| {
                    row.into_iter()
                        .map(|value| Cell {
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

    /// How many times each cell of a sheet was written by `values.batchUpdate` / `values.update`,
    /// by 0-based `(row, col)` at the time of the write (cells never written are absent).
    pub fn cell_writes(
        &self,
        spreadsheet_id: &str,
        sheet_id: i32,
    ) -> BTreeMap<(usize, usize), u32> {
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
            let key = |row: &Vec<Cell>| row.get(col).map(|c| c.value.clone());
            s.cells[from_row..].sort_by(|a, b| {
                let order = key(a).cmp(&key(b));
                if descending { order.reverse() } else { order }
            });
        });
    }
}
