//! Helpers shared by the emulator's integration tests: an HTTP client, signed assertions and
//! access tokens, batch input lines, and polling.

#![allow(dead_code)]

use std::time::Duration;

use almanac_emulator::oauth::{PRIVATE_KEY_PEM, SERVICE_ACCOUNT_EMAIL};
use almanac_emulator::{Emulator, EmulatorConfig};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

pub const SPREADSHEETS_SCOPE: &str = "https://www.googleapis.com/auth/spreadsheets";

/// reqwest is built with `rustls-no-provider`: install ring once per process.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub fn http() -> reqwest::Client {
    install_crypto();
    reqwest::Client::new()
}

pub async fn start() -> Emulator {
    Emulator::start(EmulatorConfig {
        step: Duration::from_millis(10),
        rows_per_step: 4,
    })
    .await
    .expect("emulator starts")
}

/// A JWT-bearer assertion signed with the fixture key.
pub fn assertion(aud: &str, scope: &str, iss: &str) -> String {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({"iss": iss, "aud": aud, "scope": scope, "iat": now, "exp": now + 3000});
    let key = EncodingKey::from_rsa_pem(PRIVATE_KEY_PEM.as_bytes()).expect("fixture key parses");
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).expect("signs")
}

/// Form-encodes pairs (values here contain only URL-safe characters).
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace(':', "%3A")))
        .collect::<Vec<_>>()
        .join("&")
}

/// Posts to /token and returns (status, body).
pub async fn request_token(
    client: &reqwest::Client,
    emu: &Emulator,
    assertion: &str,
) -> (u16, Value) {
    let resp = client
        .post(emu.token_uri())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion),
        ]))
        .send()
        .await
        .expect("token request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("token body is JSON"))
}

/// An access token for the Sheets routes.
pub async fn sheets_token(client: &reqwest::Client, emu: &Emulator) -> String {
    let (status, body) = request_token(
        client,
        emu,
        &assertion(&emu.token_uri(), SPREADSHEETS_SCOPE, SERVICE_ACCOUNT_EMAIL),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// The response_format the server sends.
pub fn response_format() -> Value {
    json!({"type": "json_schema", "json_schema": {"name": "almanac_entry", "strict": true, "schema": {
        "type": "object",
        "properties": {
            "year": {"type": "string"},
            "content_simple": {"type": "string"},
            "content_detailed": {"type": "string"},
            "related_movies": {"type": "string"}
        },
        "required": ["year", "content_simple", "content_detailed", "related_movies"],
        "additionalProperties": false
    }}})
}

/// One batch input line for a row.
pub fn input_line(custom_id: &str, title: &str, model: &str) -> String {
    json!({
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": model,
            "messages": [
                {"role": "system", "content": "You write short almanac entries."},
                {"role": "user", "content": format!("Title: {title}")}
            ],
            "response_format": response_format()
        }
    })
    .to_string()
}

/// Rows of the Korean sample as (id, title), header skipped.
pub fn sample_rows() -> Vec<(String, String)> {
    almanac_emulator::SAMPLE_KO_CSV
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.split(',');
            (
                parts.next().unwrap().to_string(),
                parts.next().unwrap().to_string(),
            )
        })
        .collect()
}

pub fn jsonl(lines: &[String]) -> String {
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Uploads a JSONL file with purpose `batch`; returns the File object.
pub async fn upload(client: &reqwest::Client, emu: &Emulator, content: String) -> Value {
    let boundary = "emulatorboundary7MA4YWxkTrZu0gW";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"input.jsonl\"\r\nContent-Type: application/jsonl\r\n\r\n{content}\r\n--{boundary}--\r\n"
    );
    let resp = client
        .post(format!("{}/files", emu.openai_base_url()))
        .bearer_auth("sk-test")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("upload");
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.expect("file object")
}

pub async fn create_batch(
    client: &reqwest::Client,
    emu: &Emulator,
    file_id: &str,
    job: &str,
) -> Value {
    let resp = client
        .post(format!("{}/batches", emu.openai_base_url()))
        .bearer_auth("sk-test")
        .json(&json!({
            "input_file_id": file_id,
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
            "metadata": {"job_id": job}
        }))
        .send()
        .await
        .expect("create batch");
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.expect("batch object")
}

pub async fn get_json(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let resp = client
        .get(url)
        .bearer_auth("sk-test")
        .send()
        .await
        .expect("GET");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("JSON body"))
}

pub async fn get_text(client: &reqwest::Client, url: &str) -> String {
    let resp = client
        .get(url)
        .bearer_auth("sk-test")
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status().as_u16(), 200);
    resp.text().await.expect("text body")
}

/// Polls a batch until `done(batch)` or 10 s pass; returns every status seen and the last object.
pub async fn poll_until(
    client: &reqwest::Client,
    emu: &Emulator,
    batch_id: &str,
    done: impl Fn(&Value) -> bool,
) -> (Vec<String>, Value) {
    let url = format!("{}/batches/{batch_id}", emu.openai_base_url());
    let mut seen: Vec<String> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, batch) = get_json(client, &url).await;
        assert_eq!(status, 200, "{batch}");
        let s = batch["status"].as_str().unwrap().to_string();
        if seen.last() != Some(&s) {
            seen.push(s);
        }
        if done(&batch) {
            return (seen, batch);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "batch stuck: {batch}"
        );
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
}

pub fn is_terminal(batch: &Value) -> bool {
    matches!(
        batch["status"].as_str(),
        Some("completed" | "failed" | "expired" | "cancelled")
    )
}

/// Parses JSONL text into values.
pub fn parse_jsonl(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect()
}
