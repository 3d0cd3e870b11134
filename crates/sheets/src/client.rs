//! [`SheetsClient`]: the backend's only connection to Google Sheets — google-sheets4 over hyper,
//! authorised by a yup-oauth2 service account with the `https://www.googleapis.com/auth/spreadsheets`
//! scope. It makes few, large calls: one `spreadsheets.get` to find a sheet's title from its
//! `sheetId`, one `values.batchGet` to read rows, one `values.batchUpdate` (`valueInputOption=RAW`)
//! to write a job's results. Failures become a [`SheetsError`] that says whether retrying may help
//! and, when the sheet cannot be seen, with whom to share it.
//!
//! Calls are not retried here; the job worker retries [`SheetsError::is_transient`] errors with
//! backoff. Neither the private key nor access tokens are ever logged or put into an error.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use almanac_protocol::RowSpan;
use google_sheets4::Sheets;
use google_sheets4::api::{BatchUpdateValuesRequest, Scope, ValueRange};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::a1;
use crate::layout::{ID_COL, LAST_OUTPUT_COL, LAST_READ_COL};
use crate::plan::CellBlock;
use almanac_core::calls::{ExternalCall, Observer};
use almanac_core::domain::SheetRow;
use almanac_core::domain::SpreadsheetId;

type Connector = HttpsConnector<HttpConnector>;

/// Longest wait for one Sheets call (including getting a token); past it the call is
/// [`SheetsError::Transient`].
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Upper bound, in bytes of JSON, of one `values.batchUpdate` request body. Google recommends a
/// maximum payload of 2 MB (<https://developers.google.com/workspace/sheets/api/limits>); a write
/// larger than this is split into several calls, each under the bound (a single block larger than
/// the bound — impossible with ≤ 50,000 characters per cell — goes alone).
pub const WRITE_REQUEST_MAX_BYTES: usize = 2_000_000;

/// Upper bound, in bytes, of the encoded `ranges=` parameters of one `values.batchGet` URL. Only a
/// selection of hundreds of separate spans exceeds it and is read in several calls.
pub const READ_QUERY_MAX_BYTES: usize = 8_000;

/// Rows above this cannot exist: a spreadsheet holds at most 10 million cells.
const MAX_ROW: u32 = 10_000_000;

/// How much of Google's own error message is kept in ours.
const MAX_GOOGLE_MESSAGE_CHARS: usize = 300;

/// What a [`SheetsClient::write_blocks`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// `values.batchUpdate` calls made (0 when there was nothing to write).
    pub calls: usize,
    /// Cells the API reports as updated (`totalUpdatedCells`, summed over calls).
    pub updated_cells: u64,
    /// The `updatedRange` of every block, in the order of the blocks.
    pub updated_ranges: Vec<String>,
}

/// Why a Sheets call failed. Messages are for people and never contain keys or tokens.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SheetsError {
    /// The spreadsheet or sheet does not exist, or the service account cannot see it; the message
    /// says to share the sheet with the service account's email.
    #[error("{0}")]
    NotFound(String),
    /// The service account can see the spreadsheet but may not do this (e.g. it is a Viewer), or
    /// the Sheets API is not enabled for its project.
    #[error("{0}")]
    PermissionDenied(String),
    /// HTTP 429, 5xx, a timeout or a network failure: retry later.
    #[error("{0}")]
    Transient(String),
    /// The service-account key is unusable, or the token endpoint refused it.
    #[error("{0}")]
    Auth(String),
    /// Anything else (a malformed request, an unexpected answer).
    #[error("{0}")]
    Other(String),
}

impl SheetsError {
    /// True when the same call may succeed later (rate limit, server error, network).
    pub fn is_transient(&self) -> bool {
        matches!(self, SheetsError::Transient(_))
    }
}

/// What a call was about, to make error messages precise.
struct Context<'a> {
    spreadsheet_id: &'a SpreadsheetId,
    title: Option<&'a str>,
    email: &'a str,
    /// Told about every call (the server's metrics).
    calls: &'a Observer,
}

/// A Google Sheets client authorised as one service account. Cheap to share behind an `Arc`;
/// tokens are cached in memory and refreshed by yup-oauth2.
pub struct SheetsClient {
    hub: Sheets<Connector>,
    email: String,
    /// `https://sheets.googleapis.com/` or a stand-in's URL, with a trailing slash.
    api_root: String,
    /// For calls made with a user's own token ([`SheetsClient::check_user_access`]).
    user_http: reqwest::Client,
    /// Told about every Sheets call (the server's metrics); none by default.
    calls: Observer,
}

/// Why a user's own token does not prove access to a spreadsheet.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UserAccessError {
    /// Google answered 404: no such spreadsheet.
    #[error("spreadsheet {0} does not exist")]
    NotFound(String),
    /// Google answered 403: the user may not open it (or the token lacks a Sheets scope).
    #[error("your Google account cannot open spreadsheet {0}")]
    Forbidden(String),
    /// Google answered 401: the token is invalid or expired.
    #[error(
        "Google refused the user token (expired or not an OAuth access token): send a fresh ScriptApp.getOAuthToken()"
    )]
    TokenRejected,
    /// 429, 5xx, a timeout or a network failure: retry later.
    #[error("Google Sheets is not answering right now ({0}); try again in a minute")]
    Unavailable(String),
}

impl std::fmt::Debug for SheetsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SheetsClient")
            .field("service_account_email", &self.email)
            .finish_non_exhaustive()
    }
}

impl SheetsClient {
    /// Builds a client from a service-account key.
    ///
    /// - `key_json`: the key file's JSON as Google issues it (`type`, `client_email`,
    ///   `private_key`, `token_uri`, …). Tokens are requested from its `token_uri`, so a test key
    ///   can point at a stand-in.
    /// - `base_url`: `None` for `https://sheets.googleapis.com/`; `Some("http://127.0.0.1:PORT/")`
    ///   for a stand-in (a missing trailing `/` is added). With a stand-in, plain `http` is allowed
    ///   for both the API and the token endpoint; against Google only `https` is.
    ///
    /// No request is made here; the first token is fetched by the first call.
    ///
    /// # Errors
    /// [`SheetsError::Auth`] when the JSON is not a service-account key or its private key is not
    /// an RSA PEM key; [`SheetsError::Other`] when no TLS root certificates can be loaded for Google.
    pub async fn new(key_json: &str, base_url: Option<&str>) -> Result<SheetsClient, SheetsError> {
        let key = yup_oauth2::parse_service_account_key(key_json).map_err(|e| {
            SheetsError::Auth(format!(
                "the service-account key is unusable: {e} (expected the JSON key file Google issues for a service account)"
            ))
        })?;
        let email = key.client_email.clone();
        let connector = connector(base_url.is_some())?;

        let auth_http = Client::builder(TokioExecutor::new()).build::<_, String>(connector.clone());
        let auth = yup_oauth2::ServiceAccountAuthenticator::with_client(
            key,
            yup_oauth2::client::CustomHyperClientBuilder::from(auth_http),
        )
        .build()
        .await
        .map_err(|e| {
            SheetsError::Auth(format!(
                "the service-account key of {email} is unusable: {e}"
            ))
        })?;

        let http = Client::builder(TokioExecutor::new()).build(connector);
        SheetsClient::assemble(Sheets::new(http, auth), email, base_url)
    }

    /// A client without a service account, for command-line work that may never touch a sheet
    /// (`almanac run` on a file): every call fails with [`SheetsError::Auth`] saying to set
    /// `GOOGLE_APPLICATION_CREDENTIALS`. No request is made here.
    ///
    /// # Errors
    /// [`SheetsError::Other`] when no TLS root certificates can be loaded for Google.
    pub fn without_credentials(base_url: Option<&str>) -> Result<SheetsClient, SheetsError> {
        let connector = connector(base_url.is_some())?;
        let http = Client::builder(TokioExecutor::new()).build(connector);
        SheetsClient::assemble(Sheets::new(http, NoServiceAccount), String::new(), base_url)
    }

    /// Points `hub` at `base_url` (a stand-in; `None` = Google) and adds the client that checks
    /// callers' own tokens.
    fn assemble(
        mut hub: Sheets<Connector>,
        email: String,
        base_url: Option<&str>,
    ) -> Result<SheetsClient, SheetsError> {
        let mut api_root = "https://sheets.googleapis.com/".to_owned();
        if let Some(url) = base_url {
            let url = if url.ends_with('/') {
                url.to_owned()
            } else {
                format!("{url}/")
            };
            hub.base_url(url.clone());
            hub.root_url(url.clone());
            api_root = url;
        }
        let user_http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| SheetsError::Other(format!("cannot build an HTTP client: {e}")))?;
        Ok(SheetsClient {
            hub,
            email,
            api_root,
            user_http,
            calls: None,
        })
    }

    /// The same client, reporting every Sheets call (attempt, status, latency) to `calls`.
    pub fn with_call_observer(mut self, calls: Observer) -> SheetsClient {
        self.calls = calls;
        self
    }

    /// Checks that the owner of `user_token` (a Google OAuth access token of the caller, from
    /// `ScriptApp.getOAuthToken()`) can open the spreadsheet: one
    /// [`spreadsheets.get`](https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets/get)
    /// with `fields=spreadsheetId`, authorised by that token and not by the service account. The
    /// token is sent to Google only and never logged.
    ///
    /// # Errors
    /// See [`UserAccessError`].
    pub async fn check_user_access(
        &self,
        spreadsheet_id: &SpreadsheetId,
        user_token: &secrecy::SecretString,
    ) -> Result<(), UserAccessError> {
        use secrecy::ExposeSecret as _;
        let id = spreadsheet_id.as_str();
        let url = format!("{}v4/spreadsheets/{id}", self.api_root);
        tracing::debug!(%spreadsheet_id, "sheets: spreadsheets.get with the user's token");
        let resp = self
            .user_http
            .get(url)
            .query(&[("fields", "spreadsheetId")])
            .bearer_auth(user_token.expose_secret())
            .send()
            .await
            .map_err(|e| UserAccessError::Unavailable(e.without_url().to_string()))?;
        match resp.status().as_u16() {
            200..=299 => Ok(()),
            401 => Err(UserAccessError::TokenRejected),
            403 => Err(UserAccessError::Forbidden(id.to_owned())),
            404 => Err(UserAccessError::NotFound(id.to_owned())),
            status => Err(UserAccessError::Unavailable(format!("HTTP {status}"))),
        }
    }

    /// The service account's email (`client_email` of the key): the address people share their
    /// sheet with.
    pub fn service_account_email(&self) -> &str {
        &self.email
    }

    /// The current title of the sheet whose `sheetId` (the `gid` in its URL) is `sheet_id`.
    ///
    /// One `spreadsheets.get` with `fields=sheets.properties`
    /// (<https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets/get>).
    /// Titles change; ids do not, so a job stores the id and asks for the title before each read
    /// and write.
    ///
    /// # Errors
    /// [`SheetsError::NotFound`] when the spreadsheet cannot be seen (the message says to share it
    /// with [`service_account_email`](Self::service_account_email)) or has no sheet with this id (the
    /// message names the id); others as mapped from the API's answer.
    pub async fn sheet_title(
        &self,
        spreadsheet_id: &SpreadsheetId,
        sheet_id: i32,
    ) -> Result<String, SheetsError> {
        let ctx = self.context(spreadsheet_id, None);
        tracing::debug!(%spreadsheet_id, sheet_id, "sheets: spreadsheets.get");
        let call = self
            .hub
            .spreadsheets()
            .get(spreadsheet_id.as_str())
            .param("fields", "sheets.properties")
            .add_scope(Scope::Spreadsheet)
            .doit();
        let (_, spreadsheet) = run("spreadsheets.get", call, &ctx).await?;
        spreadsheet
            .sheets
            .unwrap_or_default()
            .into_iter()
            .filter_map(|s| s.properties)
            // Protobuf JSON may leave out a sheetId of 0 (the first sheet's usual id).
            .find(|p| p.sheet_id.unwrap_or(0) == sheet_id)
            .and_then(|p| p.title)
            .ok_or_else(|| {
                SheetsError::NotFound(format!(
                    "spreadsheet {spreadsheet_id} has no sheet with id {sheet_id} (the gid in its URL); it may have been deleted"
                ))
            })
    }

    /// Reads columns A–H of the given rows: one `values.batchGet` with one range
    /// `'Title'!A{start}:H{end}` per span
    /// (<https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets.values/batchGet>).
    ///
    /// Spans are 1-based and inclusive; overlapping or adjacent spans are merged first. The API
    /// trims trailing blank cells and rows; the answer is normalised to one [`SheetRow`] per
    /// requested row number, ascending, each with exactly 8 cells. Only when the encoded ranges
    /// would exceed [`READ_QUERY_MAX_BYTES`] (hundreds of separate spans) is the read split into
    /// several calls; no spans, no call.
    ///
    /// # Errors
    /// [`SheetsError::Other`] for a span with `start_row` 0, `end_row < start_row` or rows beyond
    /// 10,000,000; [`SheetsError::NotFound`] when the spreadsheet or the sheet titled `title`
    /// cannot be found; others as mapped from the API's answer.
    pub async fn read_rows(
        &self,
        spreadsheet_id: &SpreadsheetId,
        title: &str,
        spans: &[RowSpan],
    ) -> Result<Vec<SheetRow>, SheetsError> {
        let spans = merge_spans(spans)?;
        let width = LAST_READ_COL as usize + 1;
        let ranges: Vec<String> = spans
            .iter()
            .map(|&(start, end)| a1::rows_range(title, ID_COL, LAST_READ_COL, start, end))
            .collect();
        let value_ranges = self.batch_get(spreadsheet_id, title, &ranges).await?;

        let mut rows = Vec::new();
        for (&(start, end), vr) in spans.iter().zip(value_ranges) {
            let first = returned_first_row(&vr).unwrap_or(start);
            let mut block: Vec<SheetRow> = (start..=end)
                .map(|row_number| SheetRow {
                    row_number,
                    cells: vec![String::new(); width],
                })
                .collect();
            for (i, values) in vr.values.unwrap_or_default().into_iter().enumerate() {
                let Some(row_number) = first.checked_add(i as u32) else {
                    break;
                };
                if (start..=end).contains(&row_number) {
                    block[(row_number - start) as usize].cells = to_cells(values, width);
                }
            }
            rows.extend(block);
        }
        Ok(rows)
    }

    /// Reads columns A–F of the whole sheet — every id and the current C–F — to locate rows by id
    /// at write time: one `values.batchGet` of `'Title'!A:F`
    /// (<https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets.values/batchGet>).
    ///
    /// Returns the rows the API returns (it trims trailing blank rows), ascending from row 1, each
    /// padded to 6 cells. Values are the displayed text (`FORMATTED_VALUE`), as a person sees the
    /// ids; a cell whose formula displays nothing therefore reads as empty.
    ///
    /// # Errors
    /// [`SheetsError::NotFound`] when the spreadsheet or the sheet titled `title` cannot be found;
    /// others as mapped from the API's answer.
    pub async fn read_ids_and_outputs(
        &self,
        spreadsheet_id: &SpreadsheetId,
        title: &str,
    ) -> Result<Vec<SheetRow>, SheetsError> {
        let width = LAST_OUTPUT_COL as usize + 1;
        let range = a1::columns_range(title, ID_COL, LAST_OUTPUT_COL);
        let vr = self
            .batch_get(spreadsheet_id, title, &[range])
            .await?
            .pop()
            .unwrap_or_default();
        let first = returned_first_row(&vr).unwrap_or(1);
        Ok(vr
            .values
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map_while(|(i, values)| {
                Some(SheetRow {
                    row_number: first.checked_add(u32::try_from(i).ok()?)?,
                    cells: to_cells(values, width),
                })
            })
            .collect())
    }

    /// Writes every block with `valueInputOption=RAW` (text is stored as typed: `=SUM(1,2)` stays
    /// text, not a formula) in one `values.batchUpdate`
    /// (<https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets.values/batchUpdate>).
    ///
    /// A write whose JSON body would exceed [`WRITE_REQUEST_MAX_BYTES`] (about 2 MB, Google's
    /// recommended maximum payload) is split into several calls, in block order. No blocks, no call.
    ///
    /// # Errors
    /// As mapped from the API's answer. When a split write fails part-way, the earlier calls have
    /// been applied; planning again from a fresh read is safe (filled cells are then skipped, or
    /// rewritten with the same text when overwriting).
    pub async fn write_blocks(
        &self,
        spreadsheet_id: &SpreadsheetId,
        blocks: &[CellBlock],
    ) -> Result<WriteReport, SheetsError> {
        let ctx = self.context(spreadsheet_id, None);
        let mut report = WriteReport::default();
        for chunk in split_for_requests(blocks, WRITE_REQUEST_MAX_BYTES) {
            let request = BatchUpdateValuesRequest {
                value_input_option: Some("RAW".to_owned()),
                include_values_in_response: Some(false),
                data: Some(
                    chunk
                        .iter()
                        .map(|b| ValueRange {
                            range: Some(b.range.clone()),
                            major_dimension: Some("ROWS".to_owned()),
                            values: Some(vec![
                                b.values
                                    .iter()
                                    .map(|v| serde_json::Value::String(v.clone()))
                                    .collect(),
                            ]),
                        })
                        .collect(),
                ),
                ..Default::default()
            };
            tracing::debug!(%spreadsheet_id, blocks = chunk.len(), "sheets: values.batchUpdate");
            let call = self
                .hub
                .spreadsheets()
                .values_batch_update(request, spreadsheet_id.as_str())
                .add_scope(Scope::Spreadsheet)
                .doit();
            let (_, answer) = run("values.batchUpdate", call, &ctx).await?;
            report.calls += 1;
            report.updated_cells += answer
                .total_updated_cells
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0);
            report.updated_ranges.extend(
                answer
                    .responses
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|r| r.updated_range),
            );
        }
        Ok(report)
    }

    fn context<'a>(
        &'a self,
        spreadsheet_id: &'a SpreadsheetId,
        title: Option<&'a str>,
    ) -> Context<'a> {
        Context {
            spreadsheet_id,
            title,
            email: &self.email,
            calls: &self.calls,
        }
    }

    /// `values.batchGet` of `ranges` (as few calls as [`READ_QUERY_MAX_BYTES`] allows), rows major,
    /// formatted values; one `ValueRange` per range, in order.
    async fn batch_get(
        &self,
        spreadsheet_id: &SpreadsheetId,
        title: &str,
        ranges: &[String],
    ) -> Result<Vec<ValueRange>, SheetsError> {
        let ctx = self.context(spreadsheet_id, Some(title));
        let mut out = Vec::with_capacity(ranges.len());
        for chunk in split_ranges_for_query(ranges, READ_QUERY_MAX_BYTES) {
            tracing::debug!(%spreadsheet_id, ranges = chunk.len(), "sheets: values.batchGet");
            let mut call = self
                .hub
                .spreadsheets()
                .values_batch_get(spreadsheet_id.as_str())
                .major_dimension("ROWS")
                .value_render_option("FORMATTED_VALUE")
                .add_scope(Scope::Spreadsheet);
            for range in chunk {
                call = call.add_ranges(range);
            }
            let (_, answer) = run("values.batchGet", call.doit(), &ctx).await?;
            let got = answer.value_ranges.unwrap_or_default();
            if got.len() != chunk.len() {
                return Err(SheetsError::Other(format!(
                    "the Sheets API answered {} ranges for {} requested",
                    got.len(),
                    chunk.len()
                )));
            }
            out.extend(got);
        }
        Ok(out)
    }
}

/// The connector shared by the API client and the token client: TLS with the platform's roots and
/// the ring provider; plain `http` allowed only for a stand-in.
fn connector(stand_in: bool) -> Result<Connector, SheetsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder =
        match HttpsConnectorBuilder::new().with_provider_and_native_roots(provider.clone()) {
            Ok(builder) => builder,
            Err(e) if stand_in => {
                tracing::warn!("no TLS root certificates ({e}); only plain http will work");
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| SheetsError::Other(format!("TLS setup failed: {e}")))?
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth();
                HttpsConnectorBuilder::new().with_tls_config(config)
            }
            Err(e) => {
                return Err(SheetsError::Other(format!(
                    "cannot reach Google over TLS: no root certificates could be loaded ({e})"
                )));
            }
        };
    let builder = if stand_in {
        builder.https_or_http()
    } else {
        builder.https_only()
    };
    Ok(builder.enable_http1().enable_http2().build())
}

/// Runs one google-sheets4 call under [`REQUEST_TIMEOUT`] and maps its error.
/// `operation` names the call in metrics (`spreadsheets.get`, `values.batchGet`, …).
async fn run<T>(
    operation: &'static str,
    call: impl Future<Output = google_sheets4::Result<T>>,
    ctx: &Context<'_>,
) -> Result<T, SheetsError> {
    let started = std::time::Instant::now();
    let outcome = tokio::time::timeout(REQUEST_TIMEOUT, call).await;
    let status = match &outcome {
        Ok(Ok(_)) => "200".to_owned(),
        Ok(Err(google_sheets4::Error::BadRequest(body))) => body["error"]["code"]
            .as_u64()
            .map_or_else(|| "error".to_owned(), |c| c.to_string()),
        Ok(Err(google_sheets4::Error::Failure(response))) => response.status().as_u16().to_string(),
        Ok(Err(google_sheets4::Error::HttpError(_) | google_sheets4::Error::Io(_))) => {
            "connection".to_owned()
        }
        Ok(Err(_)) => "error".to_owned(),
        Err(_) => "timeout".to_owned(),
    };
    if let Some(calls) = ctx.calls {
        calls.observe(&ExternalCall {
            service: "sheets",
            operation: operation.to_owned(),
            status,
            took: started.elapsed(),
        });
    }
    match outcome {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(e)) => Err(map_error(e, ctx)),
        Err(_) => Err(SheetsError::Transient(format!(
            "the Sheets API did not answer within {} s; retry later",
            REQUEST_TIMEOUT.as_secs()
        ))),
    }
}

/// Maps google-sheets4's error. The crate turns every non-2xx answer whose body is JSON into
/// `BadRequest(body)` (whatever the status), and one without a JSON body into `Failure(response)`.
fn map_error(err: google_sheets4::Error, ctx: &Context<'_>) -> SheetsError {
    use google_sheets4::Error as E;
    match err {
        E::BadRequest(body) => {
            let error = &body["error"];
            let code = error["code"].as_u64().and_then(|c| u16::try_from(c).ok());
            let status = error["status"].as_str().unwrap_or("");
            let message = error["message"].as_str().unwrap_or("");
            classify(code, status, message, ctx)
        }
        E::Failure(response) => classify(Some(response.status().as_u16()), "", "", ctx),
        E::HttpError(e) => {
            SheetsError::Transient(format!("could not reach the Sheets API: {e}; retry later"))
        }
        E::Io(e) => SheetsError::Transient(format!(
            "the Sheets API's answer was cut off: {e}; retry later"
        )),
        E::MissingToken(e) => token_error(e.as_ref(), ctx),
        E::JsonDecodeError(body, e) => SheetsError::Other(format!(
            "the Sheets API gave an answer this client cannot read ({e}): {}",
            shorten(&body)
        )),
        other => SheetsError::Other(format!("Sheets call failed: {}", other.to_string().trim())),
    }
}

/// Maps a failure to get an access token from the token endpoint.
fn token_error(
    e: &(dyn std::error::Error + Send + Sync + 'static),
    ctx: &Context<'_>,
) -> SheetsError {
    match e.downcast_ref::<yup_oauth2::Error>() {
        Some(yup_oauth2::Error::HttpError(_) | yup_oauth2::Error::HttpClientError(_)) => {
            SheetsError::Transient(format!(
                "could not reach Google's token endpoint for {}: {e}; retry later",
                ctx.email
            ))
        }
        _ => SheetsError::Auth(format!(
            "Google's token endpoint refused the service account {}: {e}. Check that the key is current and not deleted",
            ctx.email
        )),
    }
}

/// Maps an HTTP error answer (status code and/or the JSON error's `status` and `message`) to a
/// [`SheetsError`]. Bodies look like
/// `{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND"}}`.
fn classify(code: Option<u16>, status: &str, message: &str, ctx: &Context<'_>) -> SheetsError {
    let sid = ctx.spreadsheet_id;
    let email = ctx.email;
    let said = if message.is_empty() {
        String::new()
    } else {
        format!(" (Google said: {})", shorten(message))
    };
    let http = match (code, status) {
        (Some(c), "") => format!("HTTP {c}"),
        (Some(c), s) => format!("HTTP {c} {s}"),
        (None, s) => s.to_owned(),
    };
    let transient = matches!(
        status,
        "RESOURCE_EXHAUSTED" | "UNAVAILABLE" | "INTERNAL" | "DEADLINE_EXCEEDED" | "ABORTED"
    ) || matches!(code, Some(408 | 429 | 500..=599));
    if transient {
        return SheetsError::Transient(format!(
            "the Sheets API is busy or unavailable ({http}){said}; retry later"
        ));
    }
    if status == "NOT_FOUND" || code == Some(404) {
        return SheetsError::NotFound(format!(
            "spreadsheet {sid} was not found or the service account cannot see it: share the sheet with {email} (as Editor) and check the spreadsheet id{said}"
        ));
    }
    if status == "PERMISSION_DENIED" || code == Some(403) {
        return SheetsError::PermissionDenied(format!(
            "the service account {email} may not do this in spreadsheet {sid}: share the sheet with {email} as Editor{said}"
        ));
    }
    if status == "UNAUTHENTICATED" || code == Some(401) {
        return SheetsError::Auth(format!(
            "the Sheets API refused the service account's access token ({http}){said}"
        ));
    }
    if message.starts_with("Unable to parse range")
        && let Some(title) = ctx.title
    {
        return SheetsError::NotFound(format!(
            "spreadsheet {sid} has no sheet titled {title:?} any more; it may have been renamed or deleted{said}"
        ));
    }
    SheetsError::Other(format!("the Sheets API refused the request ({http}){said}"))
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(MAX_GOOGLE_MESSAGE_CHARS).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// Validates spans and merges overlapping or adjacent ones; ascending.
fn merge_spans(spans: &[RowSpan]) -> Result<Vec<(u32, u32)>, SheetsError> {
    let mut sorted = Vec::with_capacity(spans.len());
    for s in spans {
        if s.start_row == 0 || s.end_row < s.start_row || s.end_row > MAX_ROW {
            return Err(SheetsError::Other(format!(
                "rows {}–{} are not a valid span: rows start at 1, the end is not before the start and not beyond {MAX_ROW}",
                s.start_row, s.end_row
            )));
        }
        sorted.push((s.start_row, s.end_row));
    }
    sorted.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(sorted.len());
    for (start, end) in sorted {
        match merged.last_mut() {
            Some(last) if start <= last.1.saturating_add(1) => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    Ok(merged)
}

/// The first row of a returned `range` (`'T'!A5:H9` → 5), where `values[0]` belongs.
fn returned_first_row(vr: &ValueRange) -> Option<u32> {
    a1::parse_range(vr.range.as_deref()?).ok()?.first_row()
}

/// One row of values as strings, padded (or cut) to `width`.
fn to_cells(values: Vec<serde_json::Value>, width: usize) -> Vec<String> {
    let mut cells: Vec<String> = values
        .into_iter()
        .take(width)
        .map(|v| match v {
            serde_json::Value::String(s) => s,
            serde_json::Value::Null => String::new(),
            serde_json::Value::Bool(b) => if b { "TRUE" } else { "FALSE" }.to_owned(),
            other => other.to_string(),
        })
        .collect();
    cells.resize(width, String::new());
    cells
}

/// Length of `s` once written as a JSON string (quotes included).
fn json_len(s: &str) -> usize {
    2 + s
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
}

/// Estimated JSON size of one block inside a `values.batchUpdate` body.
fn block_json_len(block: &CellBlock) -> usize {
    const OVERHEAD: usize = r#"{"range":,"majorDimension":"ROWS","values":[[]]},"#.len();
    OVERHEAD + json_len(&block.range) + block.values.iter().map(|v| json_len(v) + 1).sum::<usize>()
}

/// Consecutive slices of `blocks`, each under `max_bytes` of JSON (a single larger block alone).
fn split_for_requests(blocks: &[CellBlock], max_bytes: usize) -> Vec<&[CellBlock]> {
    const ENVELOPE: usize =
        r#"{"valueInputOption":"RAW","includeValuesInResponse":false,"data":[]}"#.len();
    split_by_size(blocks, max_bytes, ENVELOPE, block_json_len)
}

/// Encoded length of `ranges=<range>&` in a query string (worst case for non-ASCII).
fn query_param_len(range: &str) -> usize {
    "ranges=&".len()
        + range
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b" -._*".contains(&b) {
                    1
                } else {
                    3
                }
            })
            .sum::<usize>()
}

/// Consecutive slices of `ranges` whose encoded query stays under `max_bytes`.
fn split_ranges_for_query(ranges: &[String], max_bytes: usize) -> Vec<&[String]> {
    split_by_size(ranges, max_bytes, 0, |r| query_param_len(r))
}

fn split_by_size<T>(items: &[T], max: usize, base: usize, size: impl Fn(&T) -> usize) -> Vec<&[T]> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut total = base;
    for (i, item) in items.iter().enumerate() {
        let n = size(item);
        if i > start && total + n > max {
            chunks.push(&items[start..i]);
            start = i;
            total = base;
        }
        total += n;
    }
    if start < items.len() {
        chunks.push(&items[start..]);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORDED: &str =
        include_str!("../../../fixtures/reference/google-sheets/recorded-values-traffic.json");

    fn sid() -> SpreadsheetId {
        SpreadsheetId::parse("1yXHRaUTFlGV-Axis4vLHtoPvGUj3C_-awA_5sLK8k6g").unwrap()
    }

    fn classify_body(body: &serde_json::Value, title: Option<&str>) -> SheetsError {
        let sid = sid();
        let ctx = Context {
            spreadsheet_id: &sid,
            title,
            email: "almanac@demo.iam.gserviceaccount.com",
            calls: &None,
        };
        map_error(google_sheets4::Error::BadRequest(body.clone()), &ctx)
    }

    #[test]
    fn the_recorded_404_body_becomes_not_found_telling_whom_to_share_with() {
        let calls: serde_json::Value = serde_json::from_str(RECORDED).unwrap();
        let not_found = calls
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["status"] == 404)
            .expect("the recording has a 404");
        let err = classify_body(&not_found["response_body"], None);
        let SheetsError::NotFound(msg) = &err else {
            panic!("{err:?}")
        };
        assert!(
            msg.contains("share the sheet with almanac@demo.iam.gserviceaccount.com"),
            "{msg}"
        );
        assert!(msg.contains(sid().as_str()), "{msg}");
        assert!(!err.is_transient());
    }

    #[test]
    fn error_bodies_map_by_status_and_code() {
        let body = |code: u16, status: &str, message: &str| serde_json::json!({"error": {"code": code, "status": status, "message": message}});
        let cases = [
            (
                body(429, "RESOURCE_EXHAUSTED", "Quota exceeded"),
                "Transient",
            ),
            (body(403, "RESOURCE_EXHAUSTED", "Rate limit"), "Transient"),
            (body(500, "INTERNAL", "boom"), "Transient"),
            (body(503, "UNAVAILABLE", "try later"), "Transient"),
            (
                body(
                    403,
                    "PERMISSION_DENIED",
                    "The caller does not have permission",
                ),
                "PermissionDenied",
            ),
            (
                body(
                    401,
                    "UNAUTHENTICATED",
                    "Request had invalid authentication credentials.",
                ),
                "Auth",
            ),
            (
                body(
                    400,
                    "INVALID_ARGUMENT",
                    "Unable to parse range: 'Old'!A1:H3",
                ),
                "NotFound",
            ),
            (
                body(400, "INVALID_ARGUMENT", "Invalid values[0][0]"),
                "Other",
            ),
        ];
        for (body, want) in cases {
            let got = classify_body(&body, Some("Old"));
            let kind = match &got {
                SheetsError::NotFound(_) => "NotFound",
                SheetsError::PermissionDenied(_) => "PermissionDenied",
                SheetsError::Transient(_) => "Transient",
                SheetsError::Auth(_) => "Auth",
                SheetsError::Other(_) => "Other",
            };
            assert_eq!(kind, want, "{body} → {got:?}");
            assert_eq!(got.is_transient(), want == "Transient");
        }
        let renamed = classify_body(
            &body(400, "INVALID_ARGUMENT", "Unable to parse range: x"),
            Some("Old"),
        );
        assert!(
            renamed.to_string().contains("no sheet titled \"Old\""),
            "{renamed}"
        );
    }

    #[test]
    fn spans_are_validated_sorted_and_merged_when_they_touch() {
        let span = |start_row, end_row| RowSpan { start_row, end_row };
        assert_eq!(
            merge_spans(&[
                span(10, 12),
                span(2, 4),
                span(5, 5),
                span(11, 20),
                span(30, 30)
            ])
            .unwrap(),
            vec![(2, 5), (10, 20), (30, 30)]
        );
        assert!(merge_spans(&[span(0, 3)]).is_err());
        assert!(merge_spans(&[span(5, 4)]).is_err());
        assert!(merge_spans(&[span(1, MAX_ROW + 1)]).is_err());
        assert_eq!(merge_spans(&[]).unwrap(), vec![]);
    }

    #[test]
    fn ragged_values_become_fixed_width_strings() {
        use serde_json::json;
        assert_eq!(
            to_cells(vec![json!("a"), json!(1945), json!(true)], 5),
            ["a", "1945", "TRUE", "", ""]
        );
        assert_eq!(to_cells(vec![], 2), ["", ""]);
        assert_eq!(
            to_cells(vec![json!("a"), json!("b"), json!("c")], 2),
            ["a", "b"]
        );
    }

    #[test]
    fn json_length_estimate_matches_serde_json() {
        for s in [
            "plain",
            "quote \" and \\ slash",
            "line\nbreak\ttab",
            "emoji 🌵 한글",
            "\u{1}ctl",
            "",
        ] {
            assert_eq!(
                json_len(s),
                serde_json::to_string(s).unwrap().len(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn a_large_write_is_split_into_consecutive_requests_under_the_bound() {
        let blocks: Vec<CellBlock> = (0..100)
            .map(|i| CellBlock {
                range: format!("T!C{0}:F{0}", i + 2),
                values: vec!["x".repeat(1000); 4],
            })
            .collect();
        let one = block_json_len(&blocks[0]);
        let chunks = split_for_requests(&blocks, 10 * one + 200);
        assert!(chunks.len() >= 10 && chunks.len() <= 11, "{}", chunks.len());
        let rejoined: Vec<&CellBlock> = chunks.iter().flat_map(|c| c.iter()).collect();
        assert_eq!(rejoined.len(), 100);
        assert!(rejoined.iter().zip(&blocks).all(|(a, b)| *a == b));
        // Everything fits: one request; nothing: none; one oversized block: alone.
        assert_eq!(
            split_for_requests(&blocks, WRITE_REQUEST_MAX_BYTES).len(),
            1
        );
        assert!(split_for_requests(&[], WRITE_REQUEST_MAX_BYTES).is_empty());
        assert_eq!(split_for_requests(&blocks[..3], 10).len(), 3);
    }

    #[test]
    fn the_serialised_request_is_no_larger_than_the_estimate() {
        let blocks = [
            CellBlock {
                range: "'It''s 🌵'!C2:F2".into(),
                values: vec![
                    "=SUM(1,2)".into(),
                    "a\"b".into(),
                    "🌵\n".into(),
                    String::new(),
                ],
            },
            CellBlock {
                range: "T!E3".into(),
                values: vec!["x".into()],
            },
        ];
        let request = BatchUpdateValuesRequest {
            value_input_option: Some("RAW".into()),
            include_values_in_response: Some(false),
            data: Some(
                blocks
                    .iter()
                    .map(|b| ValueRange {
                        range: Some(b.range.clone()),
                        major_dimension: Some("ROWS".into()),
                        values: Some(vec![
                            b.values.iter().map(|v| serde_json::json!(v)).collect(),
                        ]),
                    })
                    .collect(),
            ),
            ..Default::default()
        };
        // google-sheets4 removes `null`s before sending (google_apis_common::remove_json_null_values).
        let mut sent = serde_json::to_value(&request).unwrap();
        google_sheets4::common::remove_json_null_values(&mut sent);
        let actual = sent.to_string().len();
        let estimate = r#"{"valueInputOption":"RAW","includeValuesInResponse":false,"data":[]}"#
            .len()
            + blocks.iter().map(block_json_len).sum::<usize>();
        assert!(actual <= estimate, "{actual} > {estimate}");
    }

    #[test]
    fn many_spans_are_read_in_as_few_queries_as_the_url_bound_allows() {
        let ranges: Vec<String> = (0..1000)
            .map(|i| a1::rows_range("My sheet", 0, 7, i * 3 + 2, i * 3 + 2))
            .collect();
        let chunks = split_ranges_for_query(&ranges, READ_QUERY_MAX_BYTES);
        assert!(chunks.len() > 1);
        for c in &chunks {
            assert!(c.iter().map(|r| query_param_len(r)).sum::<usize>() <= READ_QUERY_MAX_BYTES);
        }
        assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), 1000);
        assert_eq!(
            split_ranges_for_query(&ranges[..5], READ_QUERY_MAX_BYTES).len(),
            1
        );
    }
}

/// The token source of [`SheetsClient::without_credentials`]: refuses every call.
#[derive(Clone, Copy, Debug)]
struct NoServiceAccount;

impl google_sheets4::common::GetToken for NoServiceAccount {
    fn get_token<'a>(
        &'a self,
        _scopes: &'a [&str],
    ) -> std::pin::Pin<
        Box<
            dyn Future<Output = Result<Option<String>, Box<dyn std::error::Error + Send + Sync>>>
                + Send
                + 'a,
        >,
    > {
        Box::pin(async {
            Err("no service-account key is configured: set GOOGLE_APPLICATION_CREDENTIALS (or --google-credentials) to the path of a Google service-account key JSON file".into())
        })
    }
}
