//! Demo-only routes, mounted by `almanac demo --serve` and never by `almanac serve`: the page
//! `/dev/sheet` shows the emulated spreadsheet as a grid beside the real sidebar (the bundle from
//! `/sidebar/`, in a 300 px frame), with a `google.script.run` stand-in (`/dev/gas-shim.js`) whose
//! `getSelectionContext()` answers from the rows selected in the grid and whose
//! `writeAccessProof(key, nonce)` and `shareWithServiceAccount()` run as Apps Script would
//! (`/dev/api/script/…`). `/dev/api/…` also reads the emulator's sheet and sets its faults, holds,
//! whether the sheet is shared with the service account and the speed of streamed chat answers,
//! for people trying failures and for the browser test.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use almanac_emulator::{Emulator, Faults, ResponsesConfig, RowFault};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

/// The emulated sheet the dev page shows, and who the pretend user is.
#[derive(Clone, Debug)]
pub struct DevSheet {
    /// The emulator holding the spreadsheet.
    pub emulator: Emulator,
    /// The spreadsheet's id in the emulator.
    pub spreadsheet_id: String,
    /// The sheet's `sheetId`.
    pub sheet_id: i32,
    /// The sheet's title.
    pub sheet_title: String,
    /// Who the stand-in of `getSelectionContext()` says the user is.
    pub identity: DevIdentity,
}

/// The pretend user of the dev page.
#[derive(Clone, Debug)]
pub enum DevIdentity {
    /// A user of the emulator's Google: ID tokens from its signer (as `ScriptApp.getIdentityToken()`)
    /// and user access tokens (as `ScriptApp.getOAuthToken()`), minted afresh every half hour.
    Emulated {
        /// The OIDC subject.
        sub: String,
        /// The user's email (the spreadsheet must be shared with it).
        email: String,
        /// The OAuth client id the ID token is addressed to (`aud`).
        client_id: String,
    },
    /// Fixed placeholder tokens, for a backend that does not check them.
    Placeholder,
}

/// The tokens and email that `getSelectionContext()` hands the sidebar.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DevTokens {
    /// Stands for `ScriptApp.getIdentityToken()`.
    pub identity_token: String,
    /// The user's email.
    pub user_email: String,
    /// Stands for the Script Property `ALMANAC_SERVICE_ACCOUNT_EMAIL`: the emulator's service
    /// account, so that the sidebar offers to share the sheet with it.
    pub service_account_email: String,
}

/// How long minted tokens are handed out (they are valid for an hour).
const TOKEN_REUSE: Duration = Duration::from_secs(30 * 60);

#[derive(Clone)]
struct DevState {
    sheet: DevSheet,
    tokens: Arc<Mutex<Option<(Instant, DevTokens)>>>,
}

impl DevState {
    fn tokens(&self) -> DevTokens {
        let (sub, email, client_id) = match &self.sheet.identity {
            DevIdentity::Placeholder => {
                return DevTokens {
                    identity_token: "dev-identity-token".into(),
                    user_email: "demo@example.com".into(),
                    service_account_email: self.sheet.emulator.service_account_email(),
                };
            }
            DevIdentity::Emulated {
                sub,
                email,
                client_id,
            } => (sub, email, client_id),
        };
        let mut cached = self
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match cached.as_ref() {
            Some((at, tokens)) if at.elapsed() < TOKEN_REUSE => tokens.clone(),
            _ => {
                let tokens = DevTokens {
                    identity_token: self.sheet.emulator.id_token(sub, email, client_id),
                    user_email: email.clone(),
                    service_account_email: self.sheet.emulator.service_account_email(),
                };
                *cached = Some((Instant::now(), tokens.clone()));
                tokens
            }
        }
    }
}

/// `GET /dev/api/sheet`: the sheet as the grid shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SheetSnapshot {
    /// The spreadsheet's id.
    pub spreadsheet_id: String,
    /// The sheet's `sheetId`.
    pub sheet_id: i32,
    /// The sheet's title.
    pub sheet_title: String,
    /// The pretend user and tokens.
    #[serde(flatten)]
    pub tokens: DevTokens,
    /// Every row, header first, without trailing blank cells.
    pub rows: Vec<Vec<String>>,
}

/// `POST /dev/api/faults`: what goes wrong with the rows of later batches, by row id. An empty
/// map clears every fault.
#[derive(Debug, Default, Deserialize)]
pub struct FaultsRequest {
    /// Row id → `http_error`, `invalid_json` or `missing_field`.
    #[serde(default)]
    pub rows: HashMap<String, String>,
}

/// `POST /dev/api/answer-speed`: how fast the emulated model streams a chat answer.
#[derive(Debug, Deserialize)]
pub struct AnswerSpeedRequest {
    /// Milliseconds before every streamed event (0: as fast as possible).
    pub event_delay_ms: u64,
}

/// `POST /dev/api/answer-text`: what the emulated model's next chat answer says instead of its
/// own (a Markdown answer, say); its chart citation follows the answer's link to the chart.
#[derive(Debug, Deserialize)]
pub struct AnswerTextRequest {
    /// The answer's text.
    pub text: String,
}

/// `POST /dev/api/hold`: while `hold` is true, emulated batches do not advance.
#[derive(Debug, Deserialize)]
pub struct HoldRequest {
    /// Hold or release.
    pub hold: bool,
}

const SHEET_HTML: &str = include_str!("../assets/dev/sheet.html");
const SIDEBAR_HTML: &str = include_str!("../assets/dev/sidebar.html");
const GAS_SHIM_JS: &str = include_str!("../assets/dev/gas-shim.js");

/// The dev routes: `/dev/sheet`, `/dev/sidebar`, `/dev/gas-shim.js` and `/dev/api/…`.
pub fn router(sheet: DevSheet) -> Router {
    Router::new()
        .route("/dev", get(|| async { Redirect::temporary("/dev/sheet") }))
        .route("/dev/sheet", get(|| async { Html(SHEET_HTML) }))
        .route("/dev/sidebar", get(|| async { Html(SIDEBAR_HTML) }))
        .route("/dev/gas-shim.js", get(gas_shim))
        .route("/dev/api/sheet", get(snapshot))
        .route("/dev/api/faults", post(set_faults))
        .route("/dev/api/hold", post(set_hold))
        .route("/dev/api/script/writeAccessProof", post(write_access_proof))
        .route(
            "/dev/api/script/shareWithServiceAccount",
            post(share_with_service_account),
        )
        .route("/dev/api/service-account", post(set_service_account_share))
        .route("/dev/api/answer-speed", post(set_answer_speed))
        .route("/dev/api/answer-text", post(set_answer_text))
        .with_state(DevState {
            sheet,
            tokens: Arc::new(Mutex::new(None)),
        })
}

async fn gas_shim() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        GAS_SHIM_JS,
    )
        .into_response()
}

async fn snapshot(State(state): State<DevState>) -> Json<SheetSnapshot> {
    let tokens = state.tokens();
    let sheet = state.sheet;
    Json(SheetSnapshot {
        rows: sheet
            .emulator
            .sheet_rows(&sheet.spreadsheet_id, sheet.sheet_id),
        spreadsheet_id: sheet.spreadsheet_id,
        sheet_id: sheet.sheet_id,
        sheet_title: sheet.sheet_title,
        tokens,
    })
}

/// `POST /dev/api/script/writeAccessProof`: what `writeAccessProof(key, nonce)` of `Code.gs` does.
#[derive(Debug, Deserialize)]
pub struct AccessProofWrite {
    /// The developer-metadata key.
    pub key: String,
    /// The challenge's nonce.
    pub nonce: String,
}

/// `POST /dev/api/service-account`: share the sheet with the service account, or stop.
#[derive(Debug, Deserialize)]
pub struct ServiceAccountShare {
    /// Shared as editor, or not shared.
    pub shared: bool,
}

/// Runs `Code.gs`'s `writeAccessProof`: Apps Script adds the developer metadata as the pretend
/// user (refused with 403 and Apps Script's message when they are no editor).
async fn write_access_proof(
    State(state): State<DevState>,
    Json(req): Json<AccessProofWrite>,
) -> Result<StatusCode, (StatusCode, String)> {
    let email = state.tokens().user_email;
    let sheet = &state.sheet;
    sheet
        .emulator
        .add_developer_metadata_as(&email, &sheet.spreadsheet_id, &req.key, &req.nonce)
        .map(|_| StatusCode::NO_CONTENT)
        .map_err(|e| (StatusCode::FORBIDDEN, e))
}

/// Runs `Code.gs`'s `shareWithServiceAccount`: Apps Script's `Spreadsheet.addEditor`, as the
/// pretend user.
async fn share_with_service_account(
    State(state): State<DevState>,
) -> Result<StatusCode, (StatusCode, String)> {
    let email = state.tokens().user_email;
    let sheet = &state.sheet;
    let account = sheet.emulator.service_account_email();
    sheet
        .emulator
        .add_editor_as(&email, &sheet.spreadsheet_id, &account)
        .map(|_| StatusCode::NO_CONTENT)
        .map_err(|e| (StatusCode::FORBIDDEN, e))
}

async fn set_service_account_share(
    State(DevState { sheet, .. }): State<DevState>,
    Json(req): Json<ServiceAccountShare>,
) -> StatusCode {
    let account = sheet.emulator.service_account_email();
    if req.shared {
        sheet.emulator.share(&sheet.spreadsheet_id, &account);
    } else {
        sheet.emulator.unshare(&sheet.spreadsheet_id, &account);
    }
    StatusCode::NO_CONTENT
}

/// Parses a fault name of [`FaultsRequest`].
pub fn parse_fault(name: &str) -> Option<RowFault> {
    match name {
        "http_error" => Some(RowFault::HttpError(500)),
        "invalid_json" => Some(RowFault::InvalidJson),
        "missing_field" => Some(RowFault::MissingField("content_simple".into())),
        _ => None,
    }
}

async fn set_faults(
    State(DevState { sheet, .. }): State<DevState>,
    Json(req): Json<FaultsRequest>,
) -> Result<StatusCode, (StatusCode, String)> {
    let mut rows = HashMap::new();
    for (id, name) in req.rows {
        let fault = parse_fault(&name).ok_or_else(|| {
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("unknown fault {name:?}: use http_error, invalid_json or missing_field"),
            )
        })?;
        rows.insert(id, fault);
    }
    sheet.emulator.set_faults(Faults {
        rows,
        ..Faults::default()
    });
    Ok(StatusCode::NO_CONTENT)
}

async fn set_hold(
    State(DevState { sheet, .. }): State<DevState>,
    Json(req): Json<HoldRequest>,
) -> StatusCode {
    sheet.emulator.hold_batches(req.hold);
    StatusCode::NO_CONTENT
}

async fn set_answer_speed(
    State(DevState { sheet, .. }): State<DevState>,
    Json(req): Json<AnswerSpeedRequest>,
) -> StatusCode {
    sheet.emulator.set_responses_config(ResponsesConfig {
        event_delay: Duration::from_millis(req.event_delay_ms.min(1_000)),
        ..ResponsesConfig::default()
    });
    StatusCode::NO_CONTENT
}

async fn set_answer_text(
    State(DevState { sheet, .. }): State<DevState>,
    Json(req): Json<AnswerTextRequest>,
) -> StatusCode {
    sheet.emulator.set_next_answer_text(Some(req.text));
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;
    use almanac_emulator::EmulatorConfig;
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use tower::ServiceExt;

    async fn dev_sheet() -> DevSheet {
        let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
        emulator
            .add_sheet_from_csv("s", 0, "Events", "id,title\n01-01,New year\n")
            .unwrap();
        DevSheet {
            emulator,
            spreadsheet_id: "s".into(),
            sheet_id: 0,
            sheet_title: "Events".into(),
            identity: DevIdentity::Emulated {
                sub: "1".into(),
                email: "a@example.com".into(),
                client_id: almanac_emulator::identity::CLIENT_ID.into(),
            },
        }
    }

    #[tokio::test]
    async fn the_sheet_snapshot_shows_the_emulated_rows_and_the_pretend_user() {
        let app = router(dev_sheet().await);
        let resp = app
            .oneshot(Request::get("/dev/api/sheet").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let body: serde_json::Value =
            serde_json::from_slice(&to_bytes(resp.into_body(), 1 << 16).await.unwrap()).unwrap();
        assert_eq!(body["rows"][1][0], "01-01");
        assert_eq!(body["sheetTitle"], "Events");
        assert_eq!(body["userEmail"], "a@example.com");
        let token = body["identityToken"].as_str().unwrap();
        assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    }

    #[tokio::test]
    async fn an_unknown_fault_name_is_refused_with_the_names_that_work() {
        let app = router(dev_sheet().await);
        let resp = app
            .oneshot(
                Request::post("/dev/api/faults")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(r#"{"rows":{"01-01":"explode"}}"#))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = to_bytes(resp.into_body(), 4096).await.unwrap();
        assert!(String::from_utf8_lossy(&body).contains("http_error"));
        assert!(parse_fault("invalid_json").is_some());
    }

    #[tokio::test]
    async fn the_dev_pages_load_the_shim_and_the_bundle() {
        assert!(SIDEBAR_HTML.contains("/dev/gas-shim.js"));
        assert!(SIDEBAR_HTML.contains("/sidebar/almanac_sidebar.js"));
        assert!(SHEET_HTML.contains("/dev/sidebar"));
        let app = router(dev_sheet().await);
        let resp = app
            .oneshot(
                Request::get("/dev/gas-shim.js")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert!(
            resp.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/javascript")
        );
    }
}
