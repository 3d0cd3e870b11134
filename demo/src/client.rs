//! An HTTP client that calls the backend as the sidebar does — `Authorization: Bearer <ID token>`
//! on every request and, once the caller proved they can edit the spreadsheet,
//! `X-Almanac-Access-Proof: <proof>` (both marked sensitive, so they are never printed in debug
//! output) — and the access proof itself, done as the add-on does it: ask the backend for a
//! challenge, write its nonce as developer metadata through (emulated) Apps Script, hand it back.

use almanac_emulator::Emulator;
use almanac_protocol::{
    ACCESS_PROOF_HEADER, AccessChallenge, AccessProof, AccessProofRequest, ErrorBody,
};
use anyhow::{Context, bail};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

/// A client that sends the ID token, and the access proof when given, on every request.
///
/// # Errors
/// When a token is not a valid header value.
pub fn authorized_client(
    id_token: &str,
    access_proof: Option<&str>,
) -> anyhow::Result<reqwest::Client> {
    let mut headers = HeaderMap::new();
    let mut bearer = HeaderValue::from_str(&format!("Bearer {id_token}"))?;
    bearer.set_sensitive(true);
    headers.insert(AUTHORIZATION, bearer);
    if let Some(proof) = access_proof {
        let mut value = HeaderValue::from_str(proof)?;
        value.set_sensitive(true);
        headers.insert(ACCESS_PROOF_HEADER, value);
    }
    Ok(reqwest::Client::builder()
        .default_headers(headers)
        .build()?)
}

/// Who proves access, where: the backend's `/api/v1`, the caller's ID token and email, the
/// spreadsheet, and the emulator standing in for Apps Script.
pub struct Prover<'a> {
    /// `http://127.0.0.1:PORT/api/v1`.
    pub api: &'a str,
    /// The caller's Google ID token.
    pub id_token: &'a str,
    /// The caller's email (Apps Script runs as them).
    pub email: &'a str,
    /// The spreadsheet.
    pub spreadsheet_id: &'a str,
    /// Runs `Spreadsheet.addDeveloperMetadata` for the caller.
    pub emulator: &'a Emulator,
}

impl Prover<'_> {
    /// The access proof, after the whole dance: `POST …/access/challenge`, the nonce written as
    /// developer metadata by Apps Script (as the caller), `POST …/access/proof`.
    ///
    /// # Errors
    /// When the backend refuses either call (the error carries its code and message) or Apps Script
    /// refuses the write (the caller is no editor).
    pub async fn prove(&self) -> anyhow::Result<AccessProof> {
        let http = authorized_client(self.id_token, None)?;
        let base = format!("{}/spreadsheets/{}/access", self.api, self.spreadsheet_id);
        let resp = http.post(format!("{base}/challenge")).send().await?;
        let challenge: AccessChallenge = answer(resp).await?;
        self.emulator
            .add_developer_metadata_as(
                self.email,
                self.spreadsheet_id,
                &challenge.metadata_key,
                &challenge.nonce,
            )
            .map_err(|e| anyhow::anyhow!("Apps Script refused to write the access check: {e}"))?;
        let resp = http
            .post(format!("{base}/proof"))
            .json(&AccessProofRequest {
                nonce: challenge.nonce,
            })
            .send()
            .await?;
        answer(resp).await
    }
}

/// The JSON of a 2xx answer, or an error with the backend's code and message.
async fn answer<T: serde::de::DeserializeOwned>(resp: reqwest::Response) -> anyhow::Result<T> {
    let status = resp.status();
    let text = resp.text().await?;
    if !status.is_success() {
        match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => bail!(
                "{} {}: {}",
                status.as_u16(),
                body.error.code,
                body.error.message
            ),
            Err(_) => bail!("HTTP {}: {text}", status.as_u16()),
        }
    }
    serde_json::from_str(&text).with_context(|| format!("unexpected answer: {text}"))
}
