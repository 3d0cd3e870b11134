//! `almanac doctor`: checks a deployment's settings one at a time — the very flags, environment
//! and `.env` of `almanac serve` — and prints ✓ or ✗ for each with what is wrong and what to do
//! (or, with `--json`, the same document `GET /api/v1/health?deep=true` answers). Exit 0 when
//! every check passed, 1 otherwise. The checks themselves are [`crate::doctor`]'s.

use almanac_protocol::{CheckName, CheckStatus, DeepHealth};
use serde_json::Value;

use crate::cli::common::{CliError, EXIT_ERROR, EXIT_OK, OutputArgs, Report};
use crate::config::ServeArgs;
use crate::doctor::{Database, Deployment, ServiceAccount};

/// Flags of `almanac doctor`: those of `almanac serve`, and `--json`.
#[derive(Clone, Debug, clap::Args)]
pub struct DoctorArgs {
    /// The settings to check (the same flags and environment variables as `almanac serve`).
    #[command(flatten)]
    pub serve: ServeArgs,
    /// `--json`.
    #[command(flatten)]
    pub output_args: OutputArgs,
}

/// Runs every check and reports them.
///
/// # Errors
/// None: every problem is a failed check in the report (exit 1).
pub async fn run(args: DoctorArgs) -> Result<Report, CliError> {
    let health = crate::doctor::run(&deployment(args.serve)).await;
    let exit = match health.status {
        CheckStatus::Failed => EXIT_ERROR,
        _ => EXIT_OK,
    };
    Ok(Report {
        exit,
        json: serde_json::to_value(&health).unwrap_or(Value::Null),
        text: text(&health),
    })
}

/// What `almanac serve` would be given, as the checks see it.
fn deployment(args: ServeArgs) -> Deployment {
    let args = args.given();
    let clean = |items: &[String]| -> Vec<String> {
        items
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let oauth_client_ids = clean(&args.oauth_client_ids);
    let no_auth = args.insecure_dev_no_auth && oauth_client_ids.is_empty();
    Deployment {
        openai_base_url: args.openai_base_url,
        openai_api_key: args.openai_api_key,
        service_account: match args.google_credentials {
            Some(path) => ServiceAccount::KeyFile(path),
            None => ServiceAccount::MetadataServer {
                host: args.metadata_host.filter(|h| !h.trim().is_empty()),
            },
        },
        sheets_base_url: args.sheets_base_url.filter(|u| !u.trim().is_empty()),
        oauth_client_ids,
        insecure_no_auth: args.insecure_dev_no_auth,
        jwks_url: (!no_auth).then_some(args.jwks_url),
        database: Database::Url(args.database_url),
        sidebar_dir: args.sidebar_dir,
        cors_origins: clean(&args.cors_origins),
    }
}

/// What a check is called on screen.
fn label(name: CheckName) -> &'static str {
    match name {
        CheckName::OpenaiKey => "OpenAI API key",
        CheckName::ServiceAccount => "Service account",
        CheckName::SheetsApi => "Sheets API",
        CheckName::OauthClientIds => "OAuth client ids",
        CheckName::Jwks => "Google's signing keys",
        CheckName::Database => "Database",
        CheckName::SidebarBundle => "Sidebar bundle",
        CheckName::Cors => "CORS",
    }
}

/// One line per check (✓, ✗ or –), a `→ what to do` line under each that did not pass, and a
/// summary.
fn text(health: &DeepHealth) -> String {
    let mut out = String::new();
    for check in &health.checks {
        let mark = match check.status {
            CheckStatus::Ok => "✓",
            CheckStatus::Failed => "✗",
            CheckStatus::Skipped => "–",
        };
        out.push_str(&format!(
            "{mark} {:<22} {}\n",
            label(check.name),
            check.detail
        ));
        if let Some(fix) = check
            .fix
            .as_deref()
            .filter(|_| check.status != CheckStatus::Ok)
        {
            out.push_str(&format!("  {:<22} → {fix}\n", ""));
        }
    }
    let count = |s: CheckStatus| health.checks.iter().filter(|c| c.status == s).count();
    let failed = count(CheckStatus::Failed);
    if failed == 0 {
        out.push_str(&format!(
            "\nAll {} checks passed: `almanac serve` has what it needs.\n",
            health.checks.len()
        ));
    } else {
        out.push_str(&format!(
            "\n{failed} of {} checks failed{}: fix them and run `almanac doctor` again.\n",
            health.checks.len(),
            match count(CheckStatus::Skipped) {
                0 => String::new(),
                n => format!(" ({n} skipped)"),
            }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use almanac_protocol::HealthCheck;

    #[test]
    fn a_failed_check_shows_what_to_do_and_the_summary_counts_it() {
        let check = |name, status, fix: Option<&str>| HealthCheck {
            name,
            status,
            detail: format!("{name:?}"),
            fix: fix.map(str::to_owned),
            took_ms: 1,
        };
        let health = DeepHealth {
            status: CheckStatus::Failed,
            version: "0".into(),
            checked_at: "2026-12-06T14:00:00Z".into(),
            checks: vec![
                check(CheckName::OpenaiKey, CheckStatus::Ok, None),
                check(
                    CheckName::ServiceAccount,
                    CheckStatus::Failed,
                    Some("get a key"),
                ),
                check(
                    CheckName::SheetsApi,
                    CheckStatus::Skipped,
                    Some("fix the account"),
                ),
            ],
        };
        let shown = text(&health);
        assert!(shown.contains("✓ OpenAI API key"), "{shown}");
        assert!(shown.contains("✗ Service account"), "{shown}");
        assert!(shown.contains("→ get a key"), "{shown}");
        assert!(shown.contains("– Sheets API"), "{shown}");
        assert!(
            shown.contains("1 of 3 checks failed (1 skipped)"),
            "{shown}"
        );
    }
}
