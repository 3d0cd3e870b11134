//! The set-up checks, one function each, every one returning a [`HealthCheck`] that says what was
//! found and what to do: nothing here fails, and no outcome holds a secret.

use std::future::Future;
use std::time::Instant;

use almanac_openai::OpenAiError;
use almanac_protocol::{CheckName, CheckStatus, HealthCheck};
use almanac_sheets::{SheetsClient, SheetsError};
use almanac_store::MigrationStatus;
use secrecy::ExposeSecret as _;

use super::deployment::{CHECK_TIMEOUT, Database, Deployment, ServiceAccount};

/// An origin Apps Script serves add-on sidebars from (`https://n-<hash>-0lu-script.googleusercontent.com`),
/// which the CORS allow-list must match.
pub const SIDEBAR_ORIGIN_EXAMPLE: &str =
    "https://n-4tnwqdvlh2pb3zxxpqsdj6ifyubxbsb3umjvouq-0lu-script.googleusercontent.com";

/// What a check found, before it is timed.
struct Finding {
    status: CheckStatus,
    detail: String,
    fix: Option<String>,
}

fn ok(detail: impl Into<String>) -> Finding {
    Finding {
        status: CheckStatus::Ok,
        detail: detail.into(),
        fix: None,
    }
}

fn failed(detail: impl Into<String>, fix: impl Into<String>) -> Finding {
    Finding {
        status: CheckStatus::Failed,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

fn finish(name: CheckName, started: Instant, finding: Finding) -> HealthCheck {
    HealthCheck {
        name,
        status: finding.status,
        detail: finding.detail,
        fix: finding.fix,
        took_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

/// `f` within [`CHECK_TIMEOUT`]; past it, a failure saying what did not answer.
async fn within<T>(what: &str, f: impl Future<Output = T>) -> Result<T, Finding> {
    tokio::time::timeout(CHECK_TIMEOUT, f).await.map_err(|_| {
        failed(
            format!("{what} did not answer within {} s", CHECK_TIMEOUT.as_secs()),
            "check the address and that this machine can reach it (proxy, firewall, DNS)",
        )
    })
}

/// OpenAI accepts the key: `GET /v1/models`.
pub async fn openai_key(d: &Deployment) -> HealthCheck {
    let started = Instant::now();
    let base = d.openai_base_url.trim_end_matches('/');
    let Some(key) = d
        .openai_api_key
        .as_ref()
        .filter(|k| !k.expose_secret().trim().is_empty())
    else {
        return finish(
            CheckName::OpenaiKey,
            started,
            failed(
                "OPENAI_API_KEY is not set",
                "set OPENAI_API_KEY (or --openai-api-key) to an API key from https://platform.openai.com/api-keys",
            ),
        );
    };
    let listed = almanac_openai::models::list_models(base, key, CHECK_TIMEOUT).await;
    let finding = match listed {
        Ok(models) => ok(format!(
            "{base} accepts the key ({} models available)",
            models.len()
        )),
        Err(e) => openai_refusal(base, &e),
    };
    finish(CheckName::OpenaiKey, started, finding)
}

fn openai_refusal(base: &str, e: &OpenAiError) -> Finding {
    let detail = format!("GET {base}/models: {e}");
    let fix = match e.status() {
        Some(401) => {
            "OpenAI does not know this key (mistyped, revoked, or of another organisation): create one at https://platform.openai.com/api-keys and set OPENAI_API_KEY"
        }
        Some(403) => {
            "the key is known but may not do this: a restricted key needs at least the Models (read), Files, Batch and Responses permissions; or the project or region is not allowed"
        }
        Some(429) => {
            "the account has no credit left (insufficient_quota): add credit or raise the limit in https://platform.openai.com/settings/organization/billing"
        }
        Some(404) => {
            "OPENAI_BASE_URL does not point at an OpenAI API: it must end in /v1 (default https://api.openai.com/v1)"
        }
        _ if e.is_transient() => {
            "check OPENAI_BASE_URL (default https://api.openai.com/v1) and that this machine reaches it (proxy, firewall, DNS); if OpenAI is down, retry later"
        }
        _ => "check OPENAI_API_KEY and OPENAI_BASE_URL",
    };
    failed(detail, fix)
}

/// The service account gets a token for the `spreadsheets` scope, then the Sheets API accepts it
/// (skipped when there is no token).
pub async fn service_account_and_sheets(d: &Deployment) -> (HealthCheck, HealthCheck) {
    let started = Instant::now();
    let client = match within("Google's token endpoint", token(d)).await {
        Ok(Ok(client)) => client,
        Ok(Err(finding)) | Err(finding) => {
            let skipped = HealthCheck {
                name: CheckName::SheetsApi,
                status: CheckStatus::Skipped,
                detail: "not checked: the service account has no token".into(),
                fix: Some("fix the service account first".into()),
                took_ms: 0,
            };
            return (finish(CheckName::ServiceAccount, started, finding), skipped);
        }
    };
    let email = client.service_account_email().to_owned();
    let account = finish(
        CheckName::ServiceAccount,
        started,
        ok(format!(
            "{email} (share sheets with it as Editor): a token for the spreadsheets scope was issued"
        )),
    );
    let started = Instant::now();
    let api = d
        .sheets_base_url
        .clone()
        .unwrap_or_else(|| "https://sheets.googleapis.com/".into());
    let finding = match within("the Sheets API", client.probe_api()).await {
        Ok(Ok(())) => ok(format!("{api} accepts the token of {email}")),
        Ok(Err(e)) => sheets_refusal(&api, &e),
        Err(finding) => finding,
    };
    (account, finish(CheckName::SheetsApi, started, finding))
}

/// The service account's client with a token already issued, or why not.
async fn token(d: &Deployment) -> Result<SheetsClient, Finding> {
    let base = d.sheets_base_url.as_deref();
    let key_fix = "download a JSON key (Google Cloud console ▸ IAM & Admin ▸ Service accounts ▸ the account ▸ Keys ▸ Add key ▸ JSON) and set GOOGLE_APPLICATION_CREDENTIALS to its path";
    let built = match &d.service_account {
        ServiceAccount::KeyFile(path) => {
            let json = std::fs::read_to_string(path).map_err(|e| {
                failed(
                    format!(
                        "GOOGLE_APPLICATION_CREDENTIALS names {}, which cannot be read: {e}",
                        path.display()
                    ),
                    key_fix,
                )
            })?;
            SheetsClient::new(&json, base).await
        }
        ServiceAccount::Key(json) => SheetsClient::new(json.expose_secret(), base).await,
        ServiceAccount::MetadataServer { host } => {
            match SheetsClient::from_metadata_server(host.as_deref(), base).await {
                Ok(client) => Ok(client),
                Err(e) => {
                    return Err(failed(
                        format!(
                            "no GOOGLE_APPLICATION_CREDENTIALS, and the metadata server cannot be used: {e}"
                        ),
                        format!("outside Google Cloud, {key_fix}"),
                    ));
                }
            }
        }
    };
    let client = built.map_err(|e| failed(e.to_string(), key_fix))?;
    match client.check_token().await {
        Ok(()) => Ok(client),
        Err(e @ SheetsError::Transient(_)) => Err(failed(
            e.to_string(),
            "check that this machine reaches oauth2.googleapis.com (or the metadata server)",
        )),
        Err(e) => Err(failed(
            e.to_string(),
            format!("the key may be deleted or disabled, or belong to another account: {key_fix}"),
        )),
    }
}

fn sheets_refusal(api: &str, e: &SheetsError) -> Finding {
    let fix = match e {
        SheetsError::Auth(_) => {
            "give the service account's token the https://www.googleapis.com/auth/spreadsheets scope (on a Compute Engine VM: its access scopes must allow it, or use a key file) and enable the Google Sheets API in its Cloud project"
        }
        SheetsError::Transient(_) | SheetsError::RateLimited(_) => {
            "check SHEETS_BASE_URL (unset for Google's) and that this machine reaches it; retry in a minute"
        }
        _ => "check SHEETS_BASE_URL (unset for Google's)",
    };
    failed(format!("{api}: {e}"), fix)
}

/// `ALMANAC_OAUTH_CLIENT_IDS` is set (and not beside `--insecure-dev-no-auth`), each id shaped as
/// Google's OAuth client ids are: `<digits>-<letters and digits>.apps.googleusercontent.com`.
pub fn oauth_client_ids(d: &Deployment) -> HealthCheck {
    let started = Instant::now();
    let where_ = "the OAuth client id of the Apps Script project's Cloud project (Google Cloud console ▸ APIs & Services ▸ Credentials), e.g. 123456789012-abc123def456.apps.googleusercontent.com";
    let ids = &d.oauth_client_ids;
    let finding = match (ids.is_empty(), d.insecure_no_auth) {
        (true, true) => failed(
            "--insecure-dev-no-auth is set: callers are not authenticated, anyone who reaches the server spends the OpenAI key",
            format!(
                "drop --insecure-dev-no-auth (ALMANAC_INSECURE_DEV_NO_AUTH) and set ALMANAC_OAUTH_CLIENT_IDS to {where_}"
            ),
        ),
        (true, false) => failed(
            "ALMANAC_OAUTH_CLIENT_IDS is not set",
            format!("set it to {where_}"),
        ),
        (false, true) => failed(
            "ALMANAC_OAUTH_CLIENT_IDS and --insecure-dev-no-auth are both set",
            "drop --insecure-dev-no-auth (ALMANAC_INSECURE_DEV_NO_AUTH)",
        ),
        (false, false) => {
            let bad: Vec<&str> = ids
                .iter()
                .map(String::as_str)
                .filter(|id| !is_client_id(id))
                .collect();
            if bad.is_empty() {
                ok(format!("ID tokens must be addressed to {}", ids.join(", ")))
            } else {
                failed(
                    format!("not OAuth client ids: {}", bad.join(", ")),
                    format!(
                        "ALMANAC_OAUTH_CLIENT_IDS is a comma-separated list of client ids: use {where_}"
                    ),
                )
            }
        }
    };
    finish(CheckName::OauthClientIds, started, finding)
}

/// `<digits>-<ASCII letters and digits>.apps.googleusercontent.com`.
pub fn is_client_id(id: &str) -> bool {
    let Some(name) = id.strip_suffix(".apps.googleusercontent.com") else {
        return false;
    };
    let Some((number, hash)) = name.split_once('-') else {
        return false;
    };
    !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && !hash.is_empty()
        && hash.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Google's ID-token signing keys can be fetched and hold a usable key.
pub async fn jwks(d: &Deployment) -> HealthCheck {
    let started = Instant::now();
    let Some(url) = &d.jwks_url else {
        let skipped = Finding {
            status: CheckStatus::Skipped,
            detail: "no ID token is verified (--insecure-dev-no-auth)".into(),
            fix: Some("set ALMANAC_OAUTH_CLIENT_IDS and drop --insecure-dev-no-auth".into()),
        };
        return finish(CheckName::Jwks, started, skipped);
    };
    let fix = "check ALMANAC_JWKS_URL (default https://www.googleapis.com/oauth2/v3/certs) and that this machine reaches it over HTTPS";
    let counted = within(
        url,
        crate::auth::jwks::count_usable_keys(url, CHECK_TIMEOUT),
    )
    .await;
    let finding = match counted {
        Ok(Ok(0)) => failed(format!("{url} publishes no RS256 key"), fix),
        Ok(Ok(n)) => ok(format!("{url}: {n} signing keys")),
        Ok(Err(why)) => failed(why, fix),
        Err(finding) => finding,
    };
    finish(CheckName::Jwks, started, finding)
}

/// The database opens and is at this binary's latest migration.
pub async fn database(d: &Deployment) -> HealthCheck {
    let started = Instant::now();
    let (shown, status) = match &d.database {
        Database::Url(url) => (
            redact_url(url),
            within(
                "the database",
                almanac_store::migration_status(url, CHECK_TIMEOUT),
            )
            .await,
        ),
        Database::Open(store) => (
            "the server's store".to_owned(),
            within("the database", store.migration_status()).await,
        ),
    };
    let finding = match status {
        Ok(Ok(status)) => migrations(&shown, &status),
        Ok(Err(e)) => failed(
            format!("{shown} cannot be opened: {e}"),
            "check DATABASE_URL (user, password, host, database name) and that the server accepts connections from here; a SQLite file is created by `almanac serve` at its first start",
        ),
        Err(finding) => finding,
    };
    finish(CheckName::Database, started, finding)
}

fn migrations(shown: &str, status: &MigrationStatus) -> Finding {
    let latest = status.latest().unwrap_or(0);
    let list = |v: &[i64]| {
        v.iter()
            .map(|n| format!("{n:04}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let unknown = status.unknown();
    let pending = status.pending();
    if !unknown.is_empty() {
        return failed(
            format!(
                "{shown} ({}) has migrations this binary does not know: {}",
                status.backend,
                list(&unknown)
            ),
            "a newer almanac migrated this database: run that version (or newer)",
        );
    }
    if !pending.is_empty() {
        return failed(
            format!(
                "{shown} ({}) is not migrated: {} of {} migrations pending ({})",
                status.backend,
                pending.len(),
                status.known.len(),
                list(&pending)
            ),
            "start `almanac serve` once with this DATABASE_URL: it applies the migrations at start",
        );
    }
    ok(format!(
        "{shown} ({}) is migrated to {latest:04}, this binary's latest",
        status.backend
    ))
}

/// A database URL without its password.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    let user = credentials.split(':').next().unwrap_or("");
    format!("{scheme}://{user}:***@{host}")
}

/// The sidebar bundle is built in `ALMANAC_SIDEBAR_DIR`.
pub fn sidebar_bundle(d: &Deployment) -> HealthCheck {
    let started = Instant::now();
    let dir = d.sidebar_dir.display();
    let wasm = crate::web::BUNDLE_WASM;
    let finding = if d.sidebar_dir.join(wasm).is_file() {
        ok(format!("{dir} holds the built sidebar ({wasm})"))
    } else {
        failed(
            format!("no {wasm} in {dir}: the sidebar cannot load"),
            "build it (bash scripts/install-web-tools.sh && bash sidebar/build.sh) or set ALMANAC_SIDEBAR_DIR to a built bundle",
        )
    };
    finish(CheckName::SidebarBundle, started, finding)
}

/// `ALMANAC_CORS_ORIGINS` allows the origin Apps Script serves sidebars from.
pub fn cors(d: &Deployment) -> HealthCheck {
    let started = Instant::now();
    let patterns: Vec<String> = d
        .cors_origins
        .iter()
        .map(|p| p.trim().to_ascii_lowercase())
        .collect();
    let finding = if crate::api::cors::origin_allowed(&patterns, SIDEBAR_ORIGIN_EXAMPLE) {
        ok(format!(
            "{} allows Apps Script's sidebar origin (https://…-script.googleusercontent.com)",
            patterns.join(", ")
        ))
    } else {
        failed(
            format!(
                "ALMANAC_CORS_ORIGINS ({}) does not allow Apps Script's sidebar origin (https://…-script.googleusercontent.com): browsers will block the sidebar's calls",
                patterns.join(", ")
            ),
            "add https://n-*-script.googleusercontent.com to ALMANAC_CORS_ORIGINS (it is the default)",
        )
    };
    finish(CheckName::Cors, started, finding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_recognised_by_their_shape() {
        assert!(is_client_id(
            "123456789012-abc123def456ghi789.apps.googleusercontent.com"
        ));
        for bad in [
            "",
            "abc.apps.googleusercontent.com",
            "123-.apps.googleusercontent.com",
            "-abc.apps.googleusercontent.com",
            "12a-abc.apps.googleusercontent.com",
            "123-abc_def.apps.googleusercontent.com",
            "123-abc.googleusercontent.com",
            "123-abc",
        ] {
            assert!(!is_client_id(bad), "{bad}");
        }
    }

    #[test]
    fn a_database_url_loses_its_password() {
        assert_eq!(
            redact_url("postgres://almanac:s3cret@db:5432/almanac"),
            "postgres://almanac:***@db:5432/almanac"
        );
        assert_eq!(redact_url("sqlite://almanac.db"), "sqlite://almanac.db");
    }
}
