//! Who may call which Sheets method, as strictly as Google: a token needs one of the scopes the
//! method's reference lists (the add-on's `spreadsheets.currentonly` token is refused by every REST
//! method), the spreadsheet must be shared with the token's account (the service account too), a
//! reader may not write; and the methods the backend uses — `DataFilter` reads and writes by
//! `sheetId`, developer metadata written through Apps Script and deleted by the service account —
//! and the metadata server's token endpoint.

use crate::common::*;
use almanac_emulator::oauth::SERVICE_ACCOUNT_EMAIL;
use almanac_emulator::{Role, scopes};
use serde_json::{Value, json};

async fn call(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    token: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut req = client
        .request(method.parse().unwrap(), url)
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(body);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Every Sheets method the emulator serves, as (HTTP method, path after the spreadsheet id, body).
fn every_method() -> Vec<(&'static str, &'static str, Option<Value>)> {
    let grid = json!({"gridRange": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 1}});
    vec![
        ("GET", "", None),
        (
            "POST",
            ":getByDataFilter",
            Some(json!({"dataFilters": [grid]})),
        ),
        ("POST", ":batchUpdate", Some(json!({"requests": []}))),
        ("GET", "/developerMetadata/1", None),
        (
            "POST",
            "/developerMetadata:search",
            Some(json!({"dataFilters": []})),
        ),
        ("GET", "/values/A1", None),
        (
            "PUT",
            "/values/A1?valueInputOption=RAW",
            Some(json!({"values": [["x"]]})),
        ),
        ("GET", "/values:batchGet?ranges=A1", None),
        (
            "POST",
            "/values:batchUpdate",
            Some(json!({"valueInputOption": "RAW", "data": []})),
        ),
        (
            "POST",
            "/values:batchGetByDataFilter",
            Some(json!({"dataFilters": [grid]})),
        ),
        (
            "POST",
            "/values:batchUpdateByDataFilter",
            Some(json!({"valueInputOption": "RAW", "data": []})),
        ),
    ]
}

#[tokio::test]
async fn a_token_with_only_the_add_on_scopes_is_refused_by_every_sheets_rest_method() {
    let emu = start().await;
    let client = http();
    emu.add_sheet("book", 0, "S", vec![vec!["id".into()]]);
    emu.share("book", "ada@example.com");
    // What ScriptApp.getOAuthToken() carries under appsscript.json: spreadsheets.currentonly & co.
    let add_on = emu.user_token("ada@example.com");
    for (method, tail, body) in every_method() {
        let url = format!("{}v4/spreadsheets/book{tail}", emu.sheets_base_url());
        let (status, answer) = call(&client, method, &url, &add_on, body.as_ref()).await;
        assert_eq!(status, 403, "{method} {tail}: {answer}");
        let error = &answer["error"];
        assert_eq!(error["status"], "PERMISSION_DENIED", "{answer}");
        assert_eq!(
            error["message"],
            "Request had insufficient authentication scopes."
        );
        assert_eq!(
            error["details"][0]["reason"],
            "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
        );
        assert_eq!(
            error["details"][0]["@type"],
            "type.googleapis.com/google.rpc.ErrorInfo"
        );
        assert_eq!(error["errors"][0]["reason"], "insufficientPermissions");
    }
    assert_eq!(
        emu.calls().sheets(),
        0,
        "nothing refused was counted as a call"
    );
    // The same user with a REST scope gets through, per the method's own list: readonly reads
    // values by A1 but may not take a DataFilter.
    let readonly = emu.user_token_with_scopes("ada@example.com", &[scopes::SPREADSHEETS_READONLY]);
    let url = format!("{}v4/spreadsheets/book/values/A1", emu.sheets_base_url());
    assert_eq!(call(&client, "GET", &url, &readonly, None).await.0, 200);
    let url = format!(
        "{}v4/spreadsheets/book/values:batchGetByDataFilter",
        emu.sheets_base_url()
    );
    let body = json!({"dataFilters": [{"gridRange": {"sheetId": 0}}]});
    let (status, answer) = call(&client, "POST", &url, &readonly, Some(&body)).await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(
        answer["error"]["details"][0]["reason"],
        "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    );
    let full = emu.user_token_with_scopes("ada@example.com", &[scopes::SPREADSHEETS]);
    assert_eq!(call(&client, "POST", &url, &full, Some(&body)).await.0, 200);
}

#[tokio::test]
async fn the_service_account_reaches_only_what_is_shared_with_it_and_a_reader_cannot_write() {
    let emu = start().await;
    let client = http();
    let token = sheets_token(&client, &emu).await;
    emu.add_sheet("book", 0, "S", vec![vec!["id".into()]]);
    let url = format!("{}v4/spreadsheets/book", emu.sheets_base_url());
    assert_eq!(
        call(&client, "GET", &url, &token, None).await.0,
        200,
        "shared by add_sheet"
    );
    emu.unshare("book", SERVICE_ACCOUNT_EMAIL);
    let (status, answer) = call(&client, "GET", &url, &token, None).await;
    assert_eq!(
        (status, answer["error"]["status"].as_str()),
        (403, Some("PERMISSION_DENIED"))
    );
    emu.share_as("book", SERVICE_ACCOUNT_EMAIL, Role::Reader);
    assert_eq!(call(&client, "GET", &url, &token, None).await.0, 200);
    let write = format!("{url}/values:batchUpdate");
    let body = json!({"valueInputOption": "RAW", "data": [{"range": "S!B1", "values": [["x"]]}]});
    assert_eq!(
        call(&client, "POST", &write, &token, Some(&body)).await.0,
        403
    );
    assert_eq!(emu.cell("book", 0, 0, 1), "");
}

#[tokio::test]
async fn an_editor_writes_a_proof_through_apps_script_that_the_service_account_deletes_once() {
    let emu = start().await;
    let client = http();
    let token = sheets_token(&client, &emu).await;
    emu.add_sheet("book", 0, "S", vec![vec!["id".into()]]);
    emu.share("book", "ada@example.com");
    emu.share_as("book", "bob@example.org", Role::Reader);
    let refused = emu.add_developer_metadata_as("bob@example.org", "book", "proof", "nonce-b");
    assert!(
        refused.unwrap_err().contains("edit"),
        "a viewer cannot add metadata"
    );
    emu.add_developer_metadata_as("ada@example.com", "book", "proof", "nonce-a")
        .unwrap();
    let url = format!("{}v4/spreadsheets/book:batchUpdate", emu.sheets_base_url());
    let delete = |value: &str| {
        json!({"requests": [{"deleteDeveloperMetadata": {"dataFilter": {"developerMetadataLookup": {
            "metadataKey": "proof", "metadataValue": value,
            "locationType": "SPREADSHEET", "visibility": "DOCUMENT"}}}}]})
    };
    let (status, answer) = call(&client, "POST", &url, &token, Some(&delete("nonce-a"))).await;
    assert_eq!(status, 200, "{answer}");
    let deleted = &answer["replies"][0]["deleteDeveloperMetadata"]["deletedDeveloperMetadata"];
    assert_eq!(deleted[0]["metadataValue"], "nonce-a", "{answer}");
    assert!(emu.developer_metadata("book").is_empty());
    let (_, again) = call(&client, "POST", &url, &token, Some(&delete("nonce-a"))).await;
    assert_eq!(again["replies"][0], json!({"deleteDeveloperMetadata": {}}));
    assert_eq!(emu.calls().spreadsheets_batch_update, 2);
    // Apps Script's addEditor, run by an editor, shares with the service account.
    emu.unshare("book", SERVICE_ACCOUNT_EMAIL);
    assert!(
        emu.add_editor_as("bob@example.org", "book", SERVICE_ACCOUNT_EMAIL)
            .is_err()
    );
    emu.add_editor_as("ada@example.com", "book", SERVICE_ACCOUNT_EMAIL)
        .unwrap();
    assert_eq!(
        call(&client, "POST", &url, &token, Some(&delete("x")))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn the_metadata_server_issues_tokens_with_the_scopes_asked_for_and_wants_its_header() {
    let emu = start().await;
    let client = http();
    emu.add_sheet("book", 0, "S", vec![vec!["id".into()]]);
    let url = emu.metadata_token_url();
    let plain = client.get(&url).send().await.unwrap();
    assert_eq!(plain.status(), 403, "no Metadata-Flavor header");
    let fetch = |query: &'static str| {
        client
            .get(format!("{url}{query}"))
            .header("Metadata-Flavor", "Google")
            .send()
    };
    let default: Value = fetch("").await.unwrap().json().await.unwrap();
    let sheets = format!("{}v4/spreadsheets/book", emu.sheets_base_url());
    let cloud = default["access_token"].as_str().unwrap();
    let (status, answer) = call(&client, "GET", &sheets, cloud, None).await;
    assert_eq!(
        status, 403,
        "cloud-platform alone is no Sheets scope: {answer}"
    );
    let scoped: Value = fetch("?scopes=https://www.googleapis.com/auth/spreadsheets")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(scoped["token_type"], "Bearer");
    let token = scoped["access_token"].as_str().unwrap();
    assert_eq!(call(&client, "GET", &sheets, token, None).await.0, 200);
    let email = client
        .get(url.replace("/token", "/email"))
        .header("Metadata-Flavor", "Google")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(email, SERVICE_ACCOUNT_EMAIL);
    assert_eq!(emu.calls().metadata_token, 3);
}

/// The Sheets API v4 discovery document (revision 20261019), as Google publishes it.
const DISCOVERY: &str =
    include_str!("../../../fixtures/reference/google-sheets/sheets-v4-discovery-20261019.json");

/// Every method of the discovery document: (id, HTTP method, path, scopes), found by walking its
/// `resources` (`spreadsheets`, `spreadsheets.values`, …).
fn discovery_methods() -> Vec<(String, String, String, Vec<String>)> {
    fn walk(resources: &Value, out: &mut Vec<(String, String, String, Vec<String>)>) {
        for resource in resources.as_object().into_iter().flat_map(|r| r.values()) {
            for method in resource["methods"]
                .as_object()
                .into_iter()
                .flat_map(|m| m.values())
            {
                let text = |key: &str| method[key].as_str().unwrap().to_owned();
                let scopes = method["scopes"].as_array().unwrap();
                let scopes = scopes.iter().map(|s| s.as_str().unwrap().to_owned());
                out.push((
                    text("id"),
                    text("httpMethod"),
                    text("path"),
                    scopes.collect(),
                ));
            }
            walk(&resource["resources"], out);
        }
    }
    let doc: Value = serde_json::from_str(DISCOVERY).unwrap();
    let mut out = Vec::new();
    walk(&doc["resources"], &mut out);
    out
}

/// A body that the method would take, for the methods that have one.
fn body_for(id: &str) -> Option<Value> {
    let grid = json!({"gridRange": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 1}});
    match id.rsplit('.').next().unwrap() {
        "getByDataFilter" | "batchGetByDataFilter" => Some(json!({"dataFilters": [grid]})),
        "batchUpdate" if id == "sheets.spreadsheets.batchUpdate" => Some(json!({"requests": []})),
        "batchUpdate" | "batchUpdateByDataFilter" => {
            Some(json!({"valueInputOption": "RAW", "data": []}))
        }
        "search" => Some(json!({"dataFilters": []})),
        "update" | "append" => Some(json!({"values": [["x"]]})),
        "get" | "batchGet" => None,
        _ => Some(json!({})),
    }
}

#[tokio::test]
async fn every_sheets_method_the_emulator_serves_takes_exactly_the_discovery_documents_scopes() {
    let emu = start().await;
    let client = http();
    emu.add_sheet("book", 0, "S", vec![vec!["id".into()]]);
    emu.share("book", "ada@example.com");
    let metadata_id = emu
        .add_developer_metadata_as("ada@example.com", "book", "k", "v")
        .unwrap();
    let doc: Value = serde_json::from_str(DISCOVERY).unwrap();
    let mut candidates: Vec<String> = doc["auth"]["oauth2"]["scopes"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(candidates.len(), 5, "the document's scopes");
    // And scopes the add-on or Cloud Run hold, which no Sheets method lists.
    for other in [
        scopes::SPREADSHEETS_CURRENTONLY,
        scopes::CLOUD_PLATFORM,
        scopes::SCRIPT_CONTAINER_UI,
        scopes::USERINFO_EMAIL,
    ] {
        candidates.push(other.to_owned());
    }
    let url = |path: &str, id: &str| {
        let path = path
            .replace("{spreadsheetId}", "book")
            .replace("{range}", "S!A1")
            .replace("{metadataId}", &metadata_id.to_string())
            .replace("{sheetId}", "0");
        let query = match id {
            "sheets.spreadsheets.values.update" | "sheets.spreadsheets.values.append" => {
                "?valueInputOption=RAW"
            }
            "sheets.spreadsheets.values.batchGet" => "?ranges=S!A1",
            _ => "",
        };
        format!("{}{path}{query}", emu.sheets_base_url())
    };
    let full = emu.user_token_with_scopes("ada@example.com", &[scopes::SPREADSHEETS]);
    let mut served = Vec::new();
    for (id, verb, path, listed) in discovery_methods() {
        let body = body_for(&id);
        let (status, answer) = call(&client, &verb, &url(&path, &id), &full, body.as_ref()).await;
        if status == 404 {
            continue; // not served by the emulator (create, copyTo, append, clear, …)
        }
        served.push(id.clone());
        assert!(
            !listed.iter().any(|s| s == scopes::SPREADSHEETS_CURRENTONLY),
            "{id}: the document itself never lists currentonly"
        );
        for scope in &candidates {
            let token = emu.user_token_with_scopes("ada@example.com", &[scope.as_str()]);
            let (status, answer2) =
                call(&client, &verb, &url(&path, &id), &token, body.as_ref()).await;
            let refused = status == 403
                && answer2["error"]["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT";
            assert_eq!(
                !refused,
                listed.contains(scope),
                "{id} with only {scope}: {status} {answer2}"
            );
        }
        assert_ne!(status, 403, "{id} with the spreadsheets scope: {answer}");
    }
    served.sort();
    let mut expected: Vec<String> = [
        "get",
        "getByDataFilter",
        "batchUpdate",
        "developerMetadata.get",
        "developerMetadata.search",
        "values.get",
        "values.update",
        "values.batchGet",
        "values.batchUpdate",
        "values.batchGetByDataFilter",
        "values.batchUpdateByDataFilter",
    ]
    .iter()
    .map(|m| format!("sheets.spreadsheets.{m}"))
    .collect();
    expected.sort();
    assert_eq!(served, expected, "the methods the emulator serves");
    assert_eq!(
        served.len(),
        every_method().len(),
        "the list the currentonly test walks"
    );
}
