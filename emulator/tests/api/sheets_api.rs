//! The Sheets side and the token endpoint over HTTP, checked against the recorded traffic.

use crate::common::*;
use almanac_emulator::Emulator;
use almanac_emulator::oauth::SERVICE_ACCOUNT_EMAIL;
use serde_json::{Value, json};

/// Percent-encodes a path segment the way the url crate does for google-sheets4 (and more).
fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~!:$".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn get(client: &reqwest::Client, token: &str, url: &str) -> (u16, Value) {
    let resp = client.get(url).bearer_auth(token).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn post(client: &reqwest::Client, token: &str, url: &str, body: &Value) -> (u16, Value) {
    let resp = client
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

fn values_url(emu: &Emulator, spreadsheet: &str, range: &str) -> String {
    format!(
        "{}v4/spreadsheets/{spreadsheet}/values/{}",
        emu.sheets_base_url(),
        enc(range)
    )
}

fn strings(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect()
}

async fn setup() -> (Emulator, reqwest::Client, String) {
    let emu = start().await;
    let client = http();
    let token = sheets_token(&client, &emu).await;
    emu.add_sheet(
        "sheet-1",
        0,
        "Sheet1",
        strings(&[
            &["A1", "B1", "", "D1"],
            &["", "b2", "", ""],
            &["", "", "", ""],
            &["A4", "B4", "", "D4"],
        ]),
    );
    emu.add_sheet(
        "sheet-1",
        7,
        "🌵 test 1",
        strings(&[&["🍇", "🍉", "🍋"], &["🍐", "🍎", "🍓"]]),
    );
    emu.add_sheet("sheet-1", 8, "D3", strings(&[&["x"]]));
    emu.add_sheet("sheet-1", 9, "Bob's data", strings(&[&["y"]]));
    (emu, client, token)
}

#[tokio::test]
async fn values_get_trims_and_quotes_like_the_recorded_traffic() {
    let (emu, client, token) = setup().await;
    let (status, v) = get(
        &client,
        &token,
        &values_url(&emu, "sheet-1", "'Sheet1'!A1:D4"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        v,
        json!({"range": "Sheet1!A1:D4", "majorDimension": "ROWS",
            "values": [["A1", "B1", "", "D1"], ["", "b2"], [], ["A4", "B4", "", "D4"]]})
    );
    // Empty range: no `values` key at all.
    let (_, v) = get(
        &client,
        &token,
        &values_url(&emu, "sheet-1", "'Sheet1'!C2:E2"),
    )
    .await;
    assert_eq!(
        v,
        json!({"range": "Sheet1!C2:E2", "majorDimension": "ROWS"})
    );
    // A range without a sheet means the first sheet; a single cell stays a single cell.
    let (_, v) = get(&client, &token, &values_url(&emu, "sheet-1", "B2")).await;
    assert_eq!(
        v,
        json!({"range": "Sheet1!B2", "majorDimension": "ROWS", "values": [["b2"]]})
    );
    // Unbounded ranges come back bounded to the grid (1000 × 26 by default).
    let (_, v) = get(
        &client,
        &token,
        &values_url(&emu, "sheet-1", "🌵 test 1!A:A"),
    )
    .await;
    assert_eq!(v["range"], "'🌵 test 1'!A1:A1000");
    assert_eq!(v["values"], json!([["🍇"], ["🍐"]]));
    let (_, v) = get(
        &client,
        &token,
        &values_url(&emu, "sheet-1", "'Sheet1'!A1:1"),
    )
    .await;
    assert_eq!(v["range"], "Sheet1!A1:Z1");
    let (_, v) = get(&client, &token, &values_url(&emu, "sheet-1", "'D3'")).await;
    assert_eq!(v["range"], "'D3'!A1:Z1000");
    let (_, v) = get(&client, &token, &values_url(&emu, "sheet-1", "'D3'!A1")).await;
    assert_eq!(
        v,
        json!({"range": "'D3'!A1", "majorDimension": "ROWS", "values": [["x"]]})
    );
    let (_, v) = get(
        &client,
        &token,
        &values_url(&emu, "sheet-1", "'Bob''s data'!A1:B2"),
    )
    .await;
    assert_eq!(v["range"], "'Bob''s data'!A1:B2");
    assert_eq!(v["values"], json!([["y"]]));
    assert_eq!(emu.calls().values_get, 8);
    emu.shutdown().await;
}

#[tokio::test]
async fn batch_get_decodes_repeated_form_encoded_ranges() {
    let (emu, client, token) = setup().await;
    let url = format!(
        "{}v4/spreadsheets/sheet-1/values:batchGet?ranges=%F0%9F%8C%B5+test+1%21A%3AA&ranges=%F0%9F%8C%B5+test+1%21B%3AB&ranges=%27Sheet1%27%21B4%3AD4",
        emu.sheets_base_url()
    );
    let (status, v) = get(&client, &token, &url).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v,
        json!({"spreadsheetId": "sheet-1", "valueRanges": [
            {"range": "'🌵 test 1'!A1:A1000", "majorDimension": "ROWS", "values": [["🍇"], ["🍐"]]},
            {"range": "'🌵 test 1'!B1:B1000", "majorDimension": "ROWS", "values": [["🍉"], ["🍎"]]},
            {"range": "Sheet1!B4:D4", "majorDimension": "ROWS", "values": [["B4", "", "D4"]]}
        ]})
    );
    assert_eq!(emu.calls().values_batch_get, 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn batch_update_writes_and_reports_totals() {
    let (emu, client, token) = setup().await;
    let url = format!(
        "{}v4/spreadsheets/sheet-1/values:batchUpdate",
        emu.sheets_base_url()
    );
    let (status, v) = post(
        &client,
        &token,
        &url,
        &json!({"valueInputOption": "RAW", "data": [
            {"range": "'Sheet1'!A6:D6", "values": [["A6", "B6", "", "D6"]]},
            {"range": "'Sheet1'!A9:D9", "values": [["A9", "B9", "", "=1+1"]]}
        ]}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v,
        json!({"spreadsheetId": "sheet-1", "totalUpdatedRows": 2, "totalUpdatedColumns": 4,
            "totalUpdatedCells": 8, "totalUpdatedSheets": 1, "responses": [
            {"spreadsheetId": "sheet-1", "updatedRange": "Sheet1!A6:D6", "updatedRows": 1, "updatedColumns": 4, "updatedCells": 4},
            {"spreadsheetId": "sheet-1", "updatedRange": "Sheet1!A9:D9", "updatedRows": 1, "updatedColumns": 4, "updatedCells": 4}
        ]})
    );
    assert_eq!(emu.cell("sheet-1", 0, 5, 0), "A6");
    assert_eq!(emu.cell("sheet-1", 0, 8, 3), "=1+1");
    assert!(
        !emu.cell_is_formula("sheet-1", 0, 8, 3),
        "RAW keeps formulas as text"
    );

    // USER_ENTERED: `=` makes a formula; an anchor cell extends to fit the data.
    let (status, v) = post(
        &client,
        &token,
        &url,
        &json!({"valueInputOption": "USER_ENTERED", "data": [
            {"range": "🌵 test 1!D1", "values": [["=SUM(A1:A2)", "plain"], ["'=quoted", 42]]}
        ]}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["responses"][0]["updatedRange"], "'🌵 test 1'!D1:E2");
    assert!(emu.cell_is_formula("sheet-1", 7, 0, 3));
    assert!(!emu.cell_is_formula("sheet-1", 7, 0, 4));
    assert_eq!(emu.cell("sheet-1", 7, 1, 3), "=quoted");
    assert!(!emu.cell_is_formula("sheet-1", 7, 1, 3));
    assert_eq!(emu.cell("sheet-1", 7, 1, 4), "42");
    assert_eq!(emu.sheet_rows("sheet-1", 8), strings(&[&["x"]]));
    assert_eq!(emu.calls().values_batch_update, 2);
    emu.shutdown().await;
}

#[tokio::test]
async fn errors_match_google_shapes() {
    let (emu, client, token) = setup().await;
    // Unknown spreadsheet: the exact recorded body.
    let (status, v) = get(
        &client,
        &token,
        &format!(
            "{}v4/spreadsheets/test?includeGridData=false",
            emu.sheets_base_url()
        ),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::to_string(&v).unwrap(),
        r#"{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND"}}"#
    );
    let (status, _) = get(&client, &token, &values_url(&emu, "nope", "A1")).await;
    assert_eq!(status, 404);
    // Unknown sheet title.
    let (status, v) = get(&client, &token, &values_url(&emu, "sheet-1", "Nope!A1:B2")).await;
    assert_eq!(status, 400);
    assert_eq!(
        v,
        json!({"error": {"code": 400, "message": "Unable to parse range: Nope!A1:B2", "status": "INVALID_ARGUMENT"}})
    );
    // Missing valueInputOption.
    let url = format!(
        "{}v4/spreadsheets/sheet-1/values:batchUpdate",
        emu.sheets_base_url()
    );
    let (status, v) = post(
        &client,
        &token,
        &url,
        &json!({"data": [{"range": "A1", "values": [["x"]]}]}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(v["error"]["code"], 400);
    assert_eq!(emu.cell("sheet-1", 0, 0, 0), "A1", "nothing was written");
    // Writing more than the range holds, and past the grid.
    let (status, v) = post(&client, &token, &url, &json!({"valueInputOption": "RAW", "data": [{"range": "A1:B1", "values": [["1", "2", "3"]]}]})).await;
    assert_eq!(status, 400, "{v}");
    let (status, v) = post(
        &client,
        &token,
        &url,
        &json!({"valueInputOption": "RAW", "data": [{"range": "A1000", "values": [["1"], ["2"]]}]}),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("exceeds grid limits")
    );
    // No token, a made-up token, a token with a read-only scope writing.
    let resp = client
        .get(values_url(&emu, "sheet-1", "A1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["status"], "UNAUTHENTICATED");
    assert_eq!(v["error"]["code"], 401);
    let (status, _) = get(&client, "ya29.made-up", &values_url(&emu, "sheet-1", "A1")).await;
    assert_eq!(status, 401);
    let (_, body) = request_token(
        &client,
        &emu,
        &assertion(
            &emu.token_uri(),
            "https://www.googleapis.com/auth/spreadsheets.readonly",
            SERVICE_ACCOUNT_EMAIL,
        ),
    )
    .await;
    let readonly = body["access_token"].as_str().unwrap();
    let (status, _) = get(&client, readonly, &values_url(&emu, "sheet-1", "A1")).await;
    assert_eq!(status, 200);
    let (status, v) = post(
        &client,
        readonly,
        &url,
        &json!({"valueInputOption": "RAW", "data": []}),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(v["error"]["status"], "PERMISSION_DENIED");
    emu.shutdown().await;
}

#[tokio::test]
async fn spreadsheets_get_lists_sheets_and_follows_edits() {
    let (emu, client, token) = setup().await;
    emu.rename_sheet("sheet-1", 8, "Renamed");
    emu.insert_rows("sheet-1", 0, 1, strings(&[&["new", "row"]]));
    emu.set_cell("sheet-1", 0, 0, 5, "=NOW()");
    let url = format!(
        "{}v4/spreadsheets/sheet-1?fields=sheets.properties&includeGridData=false",
        emu.sheets_base_url()
    );
    let (status, v) = get(&client, &token, &url).await;
    assert_eq!(status, 200);
    assert_eq!(v["spreadsheetId"], "sheet-1");
    assert!(v["properties"]["title"].is_string());
    let sheets = v["sheets"].as_array().unwrap();
    assert_eq!(sheets.len(), 4);
    assert_eq!(
        sheets[0]["properties"],
        json!({"sheetId": 0, "title": "Sheet1", "index": 0, "sheetType": "GRID",
            "gridProperties": {"rowCount": 1001, "columnCount": 26}})
    );
    assert_eq!(sheets[2]["properties"]["title"], "Renamed");
    assert_eq!(sheets[2]["properties"]["sheetId"], 8);
    assert_eq!(
        emu.sheet_rows("sheet-1", 0),
        strings(&[
            &["A1", "B1", "", "D1", "", "=NOW()"],
            &["new", "row"],
            &["", "b2"],
            &[],
            &["A4", "B4", "", "D4"]
        ])
    );
    assert!(emu.cell_is_formula("sheet-1", 0, 0, 5));
    assert_eq!(emu.calls().spreadsheets_get, 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn token_endpoint_checks_the_assertion() {
    let emu = start().await;
    let client = http();
    let good = assertion(&emu.token_uri(), SPREADSHEETS_SCOPE, SERVICE_ACCOUNT_EMAIL);
    let (status, body) = request_token(&client, &emu, &good).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert!(!body["access_token"].as_str().unwrap().is_empty());

    // Tampered signature.
    let (head, sig) = good.rsplit_once('.').unwrap();
    let mut sig: Vec<char> = sig.chars().collect();
    sig[10] = if sig[10] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{head}.{}", sig.into_iter().collect::<String>());
    let (status, body) = request_token(&client, &emu, &tampered).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
    );
    // Wrong audience, wrong issuer.
    let (status, body) = request_token(
        &client,
        &emu,
        &assertion(
            "https://oauth2.googleapis.com/token",
            SPREADSHEETS_SCOPE,
            SERVICE_ACCOUNT_EMAIL,
        ),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    let (status, body) = request_token(
        &client,
        &emu,
        &assertion(
            &emu.token_uri(),
            SPREADSHEETS_SCOPE,
            "intruder@example.iam.gserviceaccount.com",
        ),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    // Wrong grant type.
    let resp = client
        .post(emu.token_uri())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=password&assertion=x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(emu.calls().token, 5);

    // The key JSON is Google's format and points here.
    let key: Value = serde_json::from_str(&emu.service_account_key_json()).unwrap();
    assert_eq!(key["type"], "service_account");
    assert_eq!(key["token_uri"], emu.token_uri());
    assert_eq!(key["client_email"], emu.service_account_email());
    assert!(
        key["private_key"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn csv_fixtures_load_with_header_rows() {
    let emu = start().await;
    emu.add_sheet_from_csv("en", 0, "Events", almanac_emulator::SAMPLE_EN_CSV)
        .unwrap();
    let rows = emu.sheet_rows("en", 0);
    assert_eq!(rows.len(), 349);
    assert_eq!(
        rows[0],
        strings(&[&[
            "id",
            "title",
            "year",
            "content_simple",
            "content_detailed",
            "related_movies",
            "imageUrl",
            "relatedMovieId"
        ]])[0]
    );
    assert_eq!(
        rows[1],
        vec![
            "01-01".to_string(),
            "Castro expels Cuban President Batista".to_string()
        ]
    );
    emu.add_sheet_from_csv("ko", 0, "Events", almanac_emulator::SAMPLE_KO_CSV)
        .unwrap();
    assert_eq!(emu.cell("ko", 0, 2, 1), "3·1 운동");
    assert_eq!(emu.cell("ko", 0, 2, 6), "ComfyUI_0040.png");
    assert_eq!(emu.cell("ko", 0, 2, 2), "");
    emu.shutdown().await;
}
