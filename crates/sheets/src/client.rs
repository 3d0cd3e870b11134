//! [`SheetsClient`]: the backend's only connection to Google Sheets — google-sheets4 over hyper,
//! authorised as one service account by yup-oauth2 with the `https://www.googleapis.com/auth/spreadsheets`
//! scope: from a key file, or — on Google Cloud, without any key — from the metadata server
//! (Application Default Credentials). Every call addresses the sheet by its `sheetId`
//! ([`GridRange`] in a `DataFilter`), never by its title, so a job makes three Sheets calls whatever
//! happens to the sheet's name: one `values.batchGetByDataFilter` to read the selected rows at
//! creation, one to read A–F at write time, one `values.batchUpdateByDataFilter`
//! (`valueInputOption=RAW`) to write; the title comes back in the answers' `range`. Proving a
//! caller's access ([`SheetsClient::take_access_proof`]) is one `spreadsheets.batchUpdate`.
//! Failures become a [`SheetsError`] that says whether retrying may help and, when the sheet
//! cannot be seen, with whom to share it.
//!
//! Set-up checks ([`SheetsClient::check_token`], [`SheetsClient::probe_api`]) get a token and ask the
//! API once, touching no sheet.
//!
//! Calls are not retried here; the callers retry [`SheetsError::is_transient`] errors with
//! backoff. Neither the private key nor access tokens are ever logged or put into an error.

use std::future::Future;
use std::time::Duration;

use almanac_protocol::RowSpan;
use google_sheets4::Sheets;
use google_sheets4::api::{
    BatchGetValuesByDataFilterRequest, BatchUpdateSpreadsheetRequest, DataFilter,
    DeleteDeveloperMetadataRequest, DeveloperMetadataLookup, Request, Scope, ValueRange,
};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::connect::{
    Connector, METADATA_TOKEN_URL, NoServiceAccount, connector, connector_for, metadata_email,
};
use crate::error::{Context, SheetsError, map_error};
use crate::grid::GridRange;
use crate::layout::{ID_COL, LAST_OUTPUT_COL, LAST_READ_COL};
use crate::plan::CellBlock;
use crate::values::{merge_spans, returned_first_row, returned_title, to_cells};
use crate::write_body::{WRITE_REQUEST_MAX_BYTES, split_for_requests, write_request};
use almanac_core::calls::{ExternalCall, Observer};
use almanac_core::domain::SheetRow;
use almanac_core::domain::SpreadsheetId;

/// Longest wait for one Sheets call (including getting a token); past it the call is
/// [`SheetsError::Transient`].
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// What a [`SheetsClient::write_blocks`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// `values.batchUpdateByDataFilter` calls made (0 when there was nothing to write).
    pub calls: usize,
    /// Cells the API reports as updated (`totalUpdatedCells`, summed over calls).
    pub updated_cells: u64,
    /// The `updatedRange` (A1, with the sheet's title at write time) of every block, in order.
    pub updated_ranges: Vec<String>,
}

/// Rows read from one sheet, and the sheet's title as the answer named it (the title at the time
/// of the read: a sheet may be renamed at any moment; its `sheetId` does not change).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SheetRead {
    /// The sheet's title, from the answer's `range`.
    pub title: String,
    /// The rows, ascending.
    pub rows: Vec<SheetRow>,
}

/// A Google Sheets client authorised as one service account. Cheap to share behind an `Arc`;
/// tokens are cached in memory and refreshed by yup-oauth2.
pub struct SheetsClient {
    hub: Sheets<Connector>,
    email: String,
    /// Told about every Sheets call (the server's metrics); none by default.
    calls: Observer,
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
        Ok(SheetsClient::assemble(
            Sheets::new(http, auth),
            email,
            base_url,
        ))
    }

    /// Builds a client that acts as the runtime service account of a Google Cloud service (Cloud
    /// Run, GCE, GKE), with no key file: Application Default Credentials through the metadata
    /// server (yup-oauth2's `ApplicationDefaultCredentialsAuthenticator`), which is asked for a
    /// token with the `spreadsheets` scope on each refresh.
    ///
    /// - `metadata_host`: `None` for `metadata.google.internal`; `Some("127.0.0.1:PORT")` for a
    ///   stand-in (as `GCE_METADATA_HOST` names it).
    /// - `base_url`: as for [`SheetsClient::new`].
    ///
    /// One request is made here: the service account's email, from
    /// `…/service-accounts/default/email`, so that a missing metadata server fails at start.
    ///
    /// # Errors
    /// [`SheetsError::Auth`] when the metadata server cannot be reached or answers no email (not on
    /// Google Cloud: set `GOOGLE_APPLICATION_CREDENTIALS`).
    pub async fn from_metadata_server(
        metadata_host: Option<&str>,
        base_url: Option<&str>,
    ) -> Result<SheetsClient, SheetsError> {
        let token_url = match metadata_host {
            Some(host) => {
                format!("http://{host}/computeMetadata/v1/instance/service-accounts/default/token")
            }
            None => METADATA_TOKEN_URL.to_owned(),
        };
        let email = metadata_email(&token_url.replace("/token", "/email")).await?;
        let connector = connector(true)?;
        let auth_http = Client::builder(TokioExecutor::new()).build::<_, String>(connector);
        let opts = yup_oauth2::ApplicationDefaultCredentialsFlowOpts {
            metadata_url: Some(token_url),
        };
        let client = yup_oauth2::client::CustomHyperClientBuilder::from(auth_http);
        let built =
            match yup_oauth2::ApplicationDefaultCredentialsAuthenticator::with_client(opts, client)
                .await
            {
                yup_oauth2::authenticator::ApplicationDefaultCredentialsTypes::InstanceMetadata(
                    b,
                ) => b.build().await,
                yup_oauth2::authenticator::ApplicationDefaultCredentialsTypes::ServiceAccount(
                    b,
                ) => b.build().await,
            };
        let auth = built.map_err(|e| {
            SheetsError::Auth(format!("cannot use the runtime service account: {e}"))
        })?;
        let http = Client::builder(TokioExecutor::new()).build(connector_for(base_url)?);
        Ok(SheetsClient::assemble(
            Sheets::new(http, auth),
            email,
            base_url,
        ))
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
        Ok(SheetsClient::assemble(
            Sheets::new(http, NoServiceAccount),
            String::new(),
            base_url,
        ))
    }

    /// Points `hub` at `base_url` (a stand-in; `None` = Google).
    fn assemble(mut hub: Sheets<Connector>, email: String, base_url: Option<&str>) -> SheetsClient {
        if let Some(url) = base_url {
            let url = if url.ends_with('/') {
                url.to_owned()
            } else {
                format!("{url}/")
            };
            hub.base_url(url.clone());
            hub.root_url(url);
        }
        SheetsClient {
            hub,
            email,
            calls: None,
        }
    }

    /// The same client, reporting every Sheets call (attempt, status, latency) to `calls`.
    pub fn with_call_observer(mut self, calls: Observer) -> SheetsClient {
        self.calls = calls;
        self
    }

    /// The service account's email (`client_email` of the key, or the runtime service account's):
    /// the address people share their sheet with.
    pub fn service_account_email(&self) -> &str {
        &self.email
    }

    /// Gets an access token for the `spreadsheets` scope now (from the key's `token_uri`, or from
    /// the metadata server), as the first Sheets call would: a set-up check that the service
    /// account's credentials are accepted.
    ///
    /// # Errors
    /// [`SheetsError::Auth`] when the token endpoint refuses the service account (a deleted or
    /// wrong key, an unknown account) or no service account is configured;
    /// [`SheetsError::Transient`] when the endpoint cannot be reached.
    pub async fn check_token(&self) -> Result<(), SheetsError> {
        let probe = probe_id();
        let ctx = self.context(&probe);
        let scope = [Scope::Spreadsheet.as_ref()];
        match self.hub.auth.get_token(&scope).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(SheetsError::Auth(
                "no access token was issued for the spreadsheets scope".into(),
            )),
            Err(e) => Err(map_error(google_sheets4::Error::MissingToken(e), &ctx)),
        }
    }

    /// Checks that the Sheets API accepts this client's token for the `spreadsheets` scope without
    /// touching any sheet: one `spreadsheets.get` of a spreadsheet id that does not exist. Google
    /// checks the token and its scopes before it looks the id up, so `NOT_FOUND` means the API is
    /// reachable and would serve this service account.
    ///
    /// # Errors
    /// [`SheetsError::Auth`] when the token lacks a Sheets scope (`ACCESS_TOKEN_SCOPE_INSUFFICIENT`),
    /// the Sheets API is not enabled in the project (`SERVICE_DISABLED`) or the token is refused;
    /// [`SheetsError::Transient`] / [`SheetsError::RateLimited`] when the API cannot answer now;
    /// others as mapped.
    pub async fn probe_api(&self) -> Result<(), SheetsError> {
        let probe = probe_id();
        let call = self
            .hub
            .spreadsheets()
            .get(probe.as_str())
            .add_scope(Scope::Spreadsheet)
            .doit();
        match run("spreadsheets.get", call, &self.context(&probe), &self.calls).await {
            Ok(_) | Err(SheetsError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn context<'a>(&'a self, spreadsheet_id: &'a SpreadsheetId) -> Context<'a> {
        Context {
            spreadsheet_id,
            email: &self.email,
        }
    }

    /// Proves that an editor of the spreadsheet wrote the developer metadata `key` = `value`
    /// (visibility `DOCUMENT`, on the spreadsheet) and deletes it, in one
    /// [`spreadsheets.batchUpdate`](https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets/batchUpdate)
    /// with a `deleteDeveloperMetadata` request whose `DataFilter` is a `DeveloperMetadataLookup`
    /// of exactly that entry. Because `batchUpdate` changes the spreadsheet, success also proves
    /// that the spreadsheet is shared with the service account as an editor.
    ///
    /// Returns whether such an entry existed (and is now deleted).
    ///
    /// # Errors
    /// [`SheetsError::NotFound`] / [`SheetsError::PermissionDenied`] when the service account cannot
    /// see or change the spreadsheet (the message says with whom to share it); others as mapped.
    pub async fn take_access_proof(
        &self,
        spreadsheet_id: &SpreadsheetId,
        key: &str,
        value: &str,
    ) -> Result<bool, SheetsError> {
        let lookup = DeveloperMetadataLookup {
            metadata_key: Some(key.to_owned()),
            metadata_value: Some(value.to_owned()),
            location_type: Some("SPREADSHEET".to_owned()),
            visibility: Some("DOCUMENT".to_owned()),
            ..Default::default()
        };
        let request = BatchUpdateSpreadsheetRequest {
            requests: Some(vec![Request {
                delete_developer_metadata: Some(DeleteDeveloperMetadataRequest {
                    data_filter: Some(DataFilter {
                        developer_metadata_lookup: Some(lookup),
                        ..Default::default()
                    }),
                }),
                ..Default::default()
            }]),
            ..Default::default()
        };
        tracing::debug!(%spreadsheet_id, "sheets: spreadsheets.batchUpdate (deleteDeveloperMetadata)");
        let call = self
            .hub
            .spreadsheets()
            .batch_update(request, spreadsheet_id.as_str())
            .add_scope(Scope::Spreadsheet)
            .doit();
        let ctx = self.context(spreadsheet_id);
        let (_, answer) = run("spreadsheets.batchUpdate", call, &ctx, &self.calls).await?;
        let found = answer
            .replies
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| r.delete_developer_metadata)
            .flat_map(|d| d.deleted_developer_metadata.unwrap_or_default())
            .any(|m| {
                m.metadata_key.as_deref() == Some(key) && m.metadata_value.as_deref() == Some(value)
            });
        Ok(found)
    }

    /// Reads columns A–H of the given rows of the sheet `sheet_id`: one
    /// [`values.batchGetByDataFilter`](https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets.values/batchGetByDataFilter)
    /// with one [`GridRange`] per span.
    ///
    /// Spans are 1-based and inclusive; overlapping or adjacent spans are merged first. The API
    /// trims trailing blank rows and cells; every requested row is returned anyway, padded to 8
    /// cells, in ascending order. Values are the displayed text (`FORMATTED_VALUE`).
    ///
    /// # Errors
    /// [`SheetsError::Other`] for a span that is not valid or a sheet id the spreadsheet does not
    /// have (Google answers 400); [`SheetsError::NotFound`] when the spreadsheet cannot be seen;
    /// others as mapped from the API's answer.
    pub async fn read_rows(
        &self,
        spreadsheet_id: &SpreadsheetId,
        sheet_id: i32,
        spans: &[RowSpan],
    ) -> Result<SheetRead, SheetsError> {
        let spans = merge_spans(spans)?;
        let width = LAST_READ_COL as usize + 1;
        let ranges: Vec<GridRange> = spans
            .iter()
            .map(|&(start, end)| GridRange::rows(sheet_id, start, end, ID_COL, LAST_READ_COL))
            .collect();
        let value_ranges = self.batch_get(spreadsheet_id, &ranges).await?;
        let title = value_ranges
            .first()
            .and_then(returned_title)
            .unwrap_or_default();
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
        Ok(SheetRead { title, rows })
    }

    /// Reads columns A–F of the whole sheet `sheet_id` — every id and the current C–F — to locate
    /// rows by id at write time: one `values.batchGetByDataFilter` of the columns `A:F`.
    ///
    /// Returns the rows the API returns (it trims trailing blank rows), ascending from row 1, each
    /// padded to 6 cells. Values are the displayed text (`FORMATTED_VALUE`), as a person sees the
    /// ids; a cell whose formula displays nothing therefore reads as empty.
    ///
    /// # Errors
    /// As [`SheetsClient::read_rows`].
    pub async fn read_ids_and_outputs(
        &self,
        spreadsheet_id: &SpreadsheetId,
        sheet_id: i32,
    ) -> Result<SheetRead, SheetsError> {
        let width = LAST_OUTPUT_COL as usize + 1;
        let range = GridRange::columns(sheet_id, ID_COL, LAST_OUTPUT_COL);
        let vr = self
            .batch_get(spreadsheet_id, &[range])
            .await?
            .pop()
            .unwrap_or_default();
        let title = returned_title(&vr).unwrap_or_default();
        let first = returned_first_row(&vr).unwrap_or(1);
        let rows = vr
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
            .collect();
        Ok(SheetRead { title, rows })
    }

    /// Writes every block with `valueInputOption=RAW` (text is stored as typed: `=SUM(1,2)` stays
    /// text, not a formula) in one
    /// [`values.batchUpdateByDataFilter`](https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets.values/batchUpdateByDataFilter),
    /// each block addressed by its [`GridRange`] (so a rename since the read changes nothing).
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
        let ctx = self.context(spreadsheet_id);
        let mut report = WriteReport::default();
        for chunk in split_for_requests(blocks, WRITE_REQUEST_MAX_BYTES) {
            tracing::debug!(%spreadsheet_id, blocks = chunk.len(), "sheets: values.batchUpdateByDataFilter");
            let call = self
                .hub
                .spreadsheets()
                .values_batch_update_by_data_filter(write_request(chunk), spreadsheet_id.as_str())
                .add_scope(Scope::Spreadsheet)
                .doit();
            let (_, answer) =
                run("values.batchUpdateByDataFilter", call, &ctx, &self.calls).await?;
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

    /// `values.batchGetByDataFilter` of `ranges` in one call, rows major, formatted values; one
    /// `ValueRange` per range, in order.
    async fn batch_get(
        &self,
        spreadsheet_id: &SpreadsheetId,
        ranges: &[GridRange],
    ) -> Result<Vec<ValueRange>, SheetsError> {
        let ctx = self.context(spreadsheet_id);
        let request = BatchGetValuesByDataFilterRequest {
            data_filters: Some(ranges.iter().map(GridRange::to_filter).collect()),
            major_dimension: Some("ROWS".to_owned()),
            value_render_option: Some("FORMATTED_VALUE".to_owned()),
            ..Default::default()
        };
        tracing::debug!(%spreadsheet_id, ranges = ranges.len(), "sheets: values.batchGetByDataFilter");
        let call = self
            .hub
            .spreadsheets()
            .values_batch_get_by_data_filter(request, spreadsheet_id.as_str())
            .add_scope(Scope::Spreadsheet)
            .doit();
        let (_, answer) = run("values.batchGetByDataFilter", call, &ctx, &self.calls).await?;
        let got: Vec<ValueRange> = answer
            .value_ranges
            .unwrap_or_default()
            .into_iter()
            .map(|m| m.value_range.unwrap_or_default())
            .collect();
        if got.len() != ranges.len() {
            return Err(SheetsError::Other(format!(
                "the Sheets API answered {} ranges for {} requested",
                got.len(),
                ranges.len()
            )));
        }
        Ok(got)
    }
}

/// Runs one google-sheets4 call under [`REQUEST_TIMEOUT`], tells `calls` about it and maps its
/// error. `operation` names the call in metrics (`values.batchGetByDataFilter`, …).
async fn run<T>(
    operation: &'static str,
    call: impl Future<Output = google_sheets4::Result<T>>,
    ctx: &Context<'_>,
    calls: &Observer,
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
    if let Some(calls) = calls {
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

/// The spreadsheet id of [`SheetsClient::probe_api`]: one no spreadsheet has.
fn probe_id() -> SpreadsheetId {
    SpreadsheetId::parse("almanac-set-up-check-no-such-spreadsheet")
        .expect("the probe id is a valid spreadsheet id")
}
