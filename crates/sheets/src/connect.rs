//! How the Sheets client reaches Google: the HTTPS connector shared by the API client and the
//! token client (rustls with the ring provider and the platform's roots; plain `http` only for a
//! stand-in), the metadata server's token and email endpoints on Google Cloud (Application
//! Default Credentials), and the token source of a client without credentials.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::error::SheetsError;

/// The HTTPS (or, for a stand-in, HTTP) connector of every Sheets and token call.
pub(crate) type Connector = HttpsConnector<HttpConnector>;

/// The metadata server's token URL on Google Cloud (Cloud Run, GCE, GKE).
pub const METADATA_TOKEN_URL: &str =
    "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token";

/// The runtime service account's email from the metadata server (`Metadata-Flavor: Google`).
pub(crate) async fn metadata_email(url: &str) -> Result<String, SheetsError> {
    let unreachable = |why: String| {
        SheetsError::Auth(format!(
            "no service-account key is configured and the metadata server at {url} gave no service account ({why}): outside Google Cloud, set GOOGLE_APPLICATION_CREDENTIALS to a key file"
        ))
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| SheetsError::Other(format!("cannot build an HTTP client: {e}")))?;
    let resp = http
        .get(url)
        .header("Metadata-Flavor", "Google")
        .send()
        .await
        .map_err(|e| unreachable(e.without_url().to_string()))?;
    if !resp.status().is_success() {
        return Err(unreachable(format!("HTTP {}", resp.status().as_u16())));
    }
    let email = resp
        .text()
        .await
        .map_err(|e| unreachable(e.without_url().to_string()))?;
    let email = email.trim().to_owned();
    if email.contains('@') {
        Ok(email)
    } else {
        Err(unreachable("the answer is not an email".into()))
    }
}

/// The connector for the Sheets API at `base_url` (a stand-in allows plain `http`).
pub(crate) fn connector_for(base_url: Option<&str>) -> Result<Connector, SheetsError> {
    connector(base_url.is_some())
}

/// The connector shared by the API client and the token client: TLS with the platform's roots and
/// the ring provider; plain `http` allowed only for a stand-in (and the metadata server).
pub(crate) fn connector(stand_in: bool) -> Result<Connector, SheetsError> {
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

/// The token source of [`SheetsClient::without_credentials`]: refuses every call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NoServiceAccount;

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
