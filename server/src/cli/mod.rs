//! The `almanac` command line: `serve` runs the backend; `demo` runs Almanac's whole main job on
//! embedded defaults — a SQLite file, in-process stand-ins for OpenAI and Google (the emulator),
//! a sample sheet — through the real backend over HTTP, and prints the filled sheet. `run`,
//! `batch …` and `sheet …` are the seed workflow's scripts as subcommands, for files and
//! pipelines (`--json`, documented exit codes, see [`common`]).

pub mod batch;
pub mod common;
pub mod run;
pub mod sheet;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use almanac_emulator::{Emulator, EmulatorConfig};
use almanac_protocol::{
    CreateJobRequest, Estimate, EstimateRequest, EstimateRow, Job, JobEvent, Mode, ModelList,
    RowSpan, RowState,
};
use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use comfy_table::{ContentArrangement, Table};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use secrecy::SecretString;

use crate::app::{Application, install_crypto_provider};
use crate::auth::IdentitySettings;
use crate::config::{ApiSettings, AuthMode, Config, ServeArgs, WorkerSettings};
use crate::dev::{DevIdentity, DevSheet};

/// The sample sheet the demo uses when no `--sheet` is given: 16 Korean events (row `08-15`
/// already has a year and a simple description).
pub const SAMPLE_SHEET_CSV: &str = include_str!("../../fixtures/historical_events.ko.csv");

/// `almanac`: fill Google Sheets rows with AI-written content through the OpenAI Batch API.
#[derive(Debug, Parser)]
#[command(name = "almanac", version, about, after_help = common::EXIT_CODES_HELP)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the backend (HTTP API + batch worker), configured by flags, environment and `.env`.
    Serve(ServeArgs),
    /// Run a whole job on a sample sheet against local stand-ins for OpenAI and Google.
    Demo(DemoArgs),
    /// Fill a CSV or JSON events file in one go: build, submit, wait, merge (resumable).
    Run(run::RunArgs),
    /// The batch steps one at a time: build, submit, status, results analyze/merge.
    #[command(subcommand)]
    Batch(batch::BatchCommand),
    /// A sheet to and from a JSON or CSV file, with the service account.
    #[command(subcommand)]
    Sheet(sheet::SheetCommand),
}

/// Flags of `almanac demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// A CSV sheet to use instead of the embedded Korean sample (header row `id,title,year,…`).
    #[arg(long)]
    pub sheet: Option<PathBuf>,
    /// Rows to select, 1-based and inclusive, like `2:17` (default: every row below the header).
    #[arg(long)]
    pub rows: Option<String>,
    /// Model id (default: the catalogue's default).
    #[arg(long)]
    pub model: Option<String>,
    /// Replace cells in C–F that are already filled.
    #[arg(long)]
    pub overwrite: bool,
    /// The store (default: a new SQLite file in the system's temporary folder).
    #[arg(long)]
    pub database_url: Option<String>,
    /// Milliseconds per step of the emulated batch (slower shows the progress better).
    #[arg(long, default_value_t = 120)]
    pub step_ms: u64,
    /// Instead of running one job, keep the emulator and the backend running (with the sample
    /// sheet loaded) until Ctrl-C, and print a valid ID token and user token to call it with.
    #[arg(long)]
    pub serve: bool,
    /// With `--serve`: the backend's address.
    #[arg(long, default_value = "127.0.0.1:8080", requires = "serve")]
    pub bind: std::net::SocketAddr,
    /// With `--serve`: also write the tokens to this file as shell assignments
    /// (`ALMANAC_ID_TOKEN=…`, `ALMANAC_USER_TOKEN=…`, `ALMANAC_SPREADSHEET_ID=…`, `ALMANAC_URL=…`).
    #[arg(long, requires = "serve")]
    pub token_file: Option<PathBuf>,
    /// Jobs one user may create per minute (as `ALMANAC_JOBS_PER_MINUTE` for `serve`).
    #[arg(long, default_value_t = 10)]
    pub jobs_per_minute: u32,
    /// Folder of the built sidebar bundle, served at `/sidebar/` (and in `/dev/sheet` with
    /// `--serve`).
    #[arg(long, env = "ALMANAC_SIDEBAR_DIR", default_value = crate::config::DEFAULT_SIDEBAR_DIR)]
    pub sidebar_dir: PathBuf,
}

/// The demo's user: the emulator signs ID tokens for it and shares the demo spreadsheet with it.
pub const DEMO_USER_SUB: &str = "100000000000000000001";
/// The demo user's email.
pub const DEMO_USER_EMAIL: &str = "demo@example.com";
/// The demo spreadsheet's id.
pub const DEMO_SPREADSHEET_ID: &str = "demo-spreadsheet";

/// Parses arguments and runs the chosen command.
///
/// # Errors
/// Whatever the command reports.
pub async fn main() -> anyhow::Result<()> {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Demo(args) => demo(args).await,
        Command::Run(args) => {
            let output = args.output_args.clone();
            exit_with(&output, tool(run::run(args)).await)
        }
        Command::Batch(cmd) => {
            let output = cmd.output_args().clone();
            exit_with(&output, tool(cmd.run()).await)
        }
        Command::Sheet(cmd) => {
            let output = cmd.output_args().clone();
            exit_with(&output, tool(cmd.run()).await)
        }
    }
}

/// Runs a file/automation subcommand with its logging and crypto set up.
async fn tool(
    f: impl std::future::Future<Output = Result<common::Report, common::CliError>>,
) -> Result<common::Report, common::CliError> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    install_crypto_provider();
    f.await
}

/// Prints the outcome and ends the process with its documented exit code.
fn exit_with(output: &common::OutputArgs, outcome: Result<common::Report, common::CliError>) -> ! {
    use std::io::Write as _;
    let code = common::finish(output, outcome);
    let _ = std::io::stdout().flush();
    std::process::exit(i32::from(code))
}

fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_tracing("info,almanac=info");
    let config = args.into_config()?;
    if config.auth == AuthMode::InsecureNoAuth {
        let banner = "INSECURE: --insecure-dev-no-auth is set. Callers are NOT authenticated: anyone who reaches this port acts as the user `local` and spends the OpenAI key and the service account's access. Never run this way outside your own machine.";
        eprintln!("\n{}\n{banner}\n{}\n", "!".repeat(100), "!".repeat(100));
        tracing::warn!("{banner}");
    }
    let app = Application::build(config).await?;
    tracing::info!(address = %app.local_addr(), "almanac listening");
    app.run_until_stopped().await?;
    Ok(())
}

/// Runs the demo; see [`Command::Demo`].
///
/// # Errors
/// When the sheet cannot be read, the backend cannot start, or the job does not complete.
pub async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    init_tracing("warn");
    install_crypto_provider();
    let csv_text = match &args.sheet {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the sheet {}", path.display()))?,
        None => SAMPLE_SHEET_CSV.to_owned(),
    };
    let emulator = Emulator::start(EmulatorConfig {
        step: Duration::from_millis(args.step_ms),
        rows_per_step: 2,
    })
    .await?;
    let (spreadsheet_id, sheet_id, title) = (DEMO_SPREADSHEET_ID, 0, "Events");
    emulator.share(spreadsheet_id, DEMO_USER_EMAIL);
    emulator
        .add_sheet_from_csv(spreadsheet_id, sheet_id, title, &csv_text)
        .context("the sheet is not valid CSV")?;
    let grid = emulator.sheet_rows(spreadsheet_id, sheet_id);
    if grid.len() < 2 {
        bail!("the sheet has no rows below its header");
    }
    let span = match &args.rows {
        Some(spec) => parse_row_span(spec)?,
        None => RowSpan {
            start_row: 2,
            end_row: grid.len() as u32,
        },
    };

    let database_url = args.database_url.clone().unwrap_or_else(|| {
        let path = std::env::temp_dir().join(format!("almanac-demo-{}.db", uuid::Uuid::new_v4()));
        format!("sqlite://{}", path.display())
    });
    let config = Config {
        bind: if args.serve {
            args.bind
        } else {
            "127.0.0.1:0".parse()?
        },
        database_url: database_url.clone(),
        openai_api_key: SecretString::from("sk-emulated-demo-key".to_string()),
        openai_base_url: emulator.openai_base_url(),
        google_service_account_key: SecretString::from(emulator.service_account_key_json()),
        sheets_base_url: Some(emulator.sheets_base_url()),
        worker: WorkerSettings {
            poll_interval: Duration::from_millis(200),
            retry_min_delay: Duration::from_millis(200),
            retry_max_delay: Duration::from_secs(5),
            ..WorkerSettings::default()
        },
        auth: AuthMode::GoogleIdToken(emulated_identity(&emulator)),
        api: ApiSettings {
            jobs_per_minute: args.jobs_per_minute.max(1),
            ..ApiSettings::default()
        },
        sidebar_dir: args.sidebar_dir.clone(),
    };
    let mut app = Application::build(config).await?;
    if args.serve {
        // The page /dev/sheet: the emulated sheet beside the real sidebar, signed in as the demo user.
        app = app.with_routes(crate::dev::router(DevSheet {
            emulator: emulator.clone(),
            spreadsheet_id: spreadsheet_id.into(),
            sheet_id,
            sheet_title: title.into(),
            identity: DevIdentity::Emulated {
                sub: DEMO_USER_SUB.into(),
                email: DEMO_USER_EMAIL.into(),
                client_id: almanac_emulator::identity::CLIENT_ID.into(),
            },
        }));
    }
    let app = app.spawn();
    let base = format!("{}/api/v1", app.base_url);
    // What the sidebar sends: its user's Google ID token and OAuth token, both from the emulator.
    let id_token = emulator.id_token(
        DEMO_USER_SUB,
        DEMO_USER_EMAIL,
        almanac_emulator::identity::CLIENT_ID,
    );
    let user_token = emulator.user_token(DEMO_USER_EMAIL);
    let http = authorized_client(&id_token, &user_token)?;
    if args.serve {
        return serve_demo(&args, app, emulator, &database_url, &id_token, &user_token).await;
    }
    println!(
        "Almanac demo — backend at {} (store: {database_url})",
        app.base_url
    );
    println!("OpenAI and Google are emulated locally: generated text is marked [emulated].\n");
    let models: ModelList = http
        .get(format!("{base}/models"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let model = args.model.clone().unwrap_or(models.default_model.clone());

    let selected: Vec<&Vec<String>> = grid
        .iter()
        .enumerate()
        .filter(|(i, _)| (span.start_row..=span.end_row).contains(&(*i as u32 + 1)))
        .map(|(_, r)| r)
        .collect();
    let cell = |r: &Vec<String>, i: usize| r.get(i).cloned().unwrap_or_default();
    let estimate_rows: Vec<EstimateRow> = selected
        .iter()
        .filter(|r| args.overwrite || (2..6).any(|c| cell(r, c).trim().is_empty()))
        .filter(|r| !cell(r, 0).trim().is_empty())
        .map(|r| EstimateRow {
            id: cell(r, 0),
            title: cell(r, 1),
        })
        .collect();
    let estimate = http
        .post(format!("{base}/estimate"))
        .json(&EstimateRequest {
            model: model.clone(),
            rows: estimate_rows,
        })
        .send()
        .await?;
    let estimate: Estimate = ok_json(estimate).await?;
    println!(
        "Estimate for {} rows with {}: {} input + ~{} output tokens — batch ${:.4} vs realtime ${:.4}",
        estimate.rows,
        estimate.model,
        estimate.input_tokens,
        estimate.output_tokens,
        estimate.batch.total_usd,
        estimate.realtime.total_usd
    );

    let created = http
        .post(format!("{base}/jobs"))
        .json(&CreateJobRequest {
            spreadsheet_id: spreadsheet_id.into(),
            sheet_id,
            rows: vec![span],
            model,
            mode: Mode::Batch,
            overwrite: args.overwrite,
        })
        .send()
        .await?;
    let job: Job = ok_json(created).await?;
    println!(
        "Job {} created: {} rows selected, {} to generate, {} skipped, {} failed at once\n",
        job.id,
        job.row_counts.total,
        job.row_counts.pending,
        job.row_counts.skipped,
        job.row_counts.failed
    );

    follow_progress(&http, &base, &job).await?;

    let job: Job = ok_json(http.get(format!("{base}/jobs/{}", job.id)).send().await?).await?;
    println!(
        "\nJob {}: {} — {} rows written, {} skipped, {} failed (batches: {})",
        job.id,
        job.status_text,
        job.row_counts.done,
        job.row_counts.skipped,
        job.row_counts.failed,
        job.batch_ids.join(", ")
    );
    for row in job
        .rows
        .iter()
        .filter(|r| r.state == RowState::Failed || r.state == RowState::Skipped)
    {
        println!(
            "  row {} ({}): {} — {}",
            row.row_number,
            row.id,
            row.state.as_str(),
            row.reason.as_deref().unwrap_or("")
        );
    }
    println!("\nThe sheet now:");
    println!(
        "{}",
        sheet_table(&emulator.sheet_rows(spreadsheet_id, sheet_id))
    );
    app.kill().await;
    emulator.shutdown().await;
    if !job.status.is_terminal() || job.status == almanac_protocol::JobStatus::Failed {
        bail!(
            "the job did not complete: {}",
            job.error.map(|e| e.message).unwrap_or(job.status_text)
        );
    }
    Ok(())
}

/// Identity settings that trust the emulator's ID-token signer (its JWKS) for its client id.
pub fn emulated_identity(emulator: &Emulator) -> IdentitySettings {
    IdentitySettings {
        client_ids: vec![almanac_emulator::identity::CLIENT_ID.to_owned()],
        jwks_url: emulator.jwks_url(),
        allowed_email_domains: Vec::new(),
        jwks_min_refresh: crate::auth::verify::JWKS_MIN_REFRESH,
    }
}

/// An HTTP client that sends `Authorization: Bearer <id_token>` and `X-Goog-User-Token` on every
/// request, as the sidebar does. Both headers are marked sensitive.
///
/// # Errors
/// When a token is not a valid header value.
pub fn authorized_client(id_token: &str, user_token: &str) -> anyhow::Result<reqwest::Client> {
    use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
    let mut headers = HeaderMap::new();
    let mut bearer = HeaderValue::from_str(&format!("Bearer {id_token}"))?;
    bearer.set_sensitive(true);
    headers.insert(AUTHORIZATION, bearer);
    let mut user = HeaderValue::from_str(user_token)?;
    user.set_sensitive(true);
    headers.insert(crate::api::USER_TOKEN_HEADER, user);
    Ok(reqwest::Client::builder()
        .default_headers(headers)
        .build()?)
}

/// `almanac demo --serve`: prints how to call the running backend, then serves until Ctrl-C.
async fn serve_demo(
    args: &DemoArgs,
    app: crate::app::RunningApp,
    emulator: Emulator,
    database_url: &str,
    id_token: &str,
    user_token: &str,
) -> anyhow::Result<()> {
    println!("Almanac demo server — backend at {}", app.base_url);
    println!("  store: {database_url}");
    println!("  emulator (OpenAI + Google): {}", emulator.base_url());
    println!(
        "  spreadsheet: {DEMO_SPREADSHEET_ID} (sheet 0 \"Events\"), shared with {DEMO_USER_EMAIL}"
    );
    println!("  API docs: {}/docs", app.base_url);
    println!(
        "  the emulated sheet beside the sidebar: {}/dev/sheet",
        app.base_url
    );
    if !args.sidebar_dir.join(crate::web::BUNDLE_WASM).is_file() {
        println!(
            "  (the sidebar bundle is not built in {}: run `bash sidebar/build.sh` first)",
            args.sidebar_dir.display()
        );
    }
    println!("\nTokens of {DEMO_USER_EMAIL} (valid for one hour; emulated, worthless elsewhere):");
    println!("ALMANAC_ID_TOKEN={id_token}");
    println!("ALMANAC_USER_TOKEN={user_token}");
    if let Some(path) = &args.token_file {
        let text = format!(
            "ALMANAC_URL={}\nALMANAC_SPREADSHEET_ID={DEMO_SPREADSHEET_ID}\nALMANAC_ID_TOKEN={id_token}\nALMANAC_USER_TOKEN={user_token}\n",
            app.base_url
        );
        std::fs::write(path, text)
            .with_context(|| format!("cannot write the token file {}", path.display()))?;
        println!("(also written to {})", path.display());
    }
    println!("\nServing until Ctrl-C.");
    crate::app::shutdown_signal().await;
    app.kill().await;
    emulator.shutdown().await;
    Ok(())
}

async fn ok_json<T: serde::de::DeserializeOwned>(resp: reqwest::Response) -> anyhow::Result<T> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp.json().await?);
    }
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    bail!(
        "the backend answered {status}: {}",
        body["error"]["message"].as_str().unwrap_or("no message")
    )
}

/// Follows the job's SSE stream with a progress bar until the job ends.
async fn follow_progress(http: &reqwest::Client, base: &str, job: &Job) -> anyhow::Result<()> {
    let bar = ProgressBar::new(job.row_counts.pending);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} rows  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let started = Instant::now();
    let mut last_status = None;
    let resp = http
        .get(format!("{base}/jobs/{}/events", job.id))
        .send()
        .await?
        .error_for_status()?;
    let mut events = resp.bytes_stream().eventsource();
    while let Some(event) = events.next().await {
        let event = event.context("the progress stream broke")?;
        if event.event != "progress" {
            continue;
        }
        let progress: JobEvent = serde_json::from_str(&event.data)?;
        let counts = progress.request_counts;
        bar.set_length(counts.total.max(job.row_counts.pending));
        bar.set_position(counts.completed + counts.failed);
        bar.set_message(progress.status_text.clone());
        if last_status != Some(progress.status) {
            let line = format!(
                "[{:>5.1}s] {} ({} of {} requests done, {} failed)",
                started.elapsed().as_secs_f64(),
                progress.status_text,
                counts.completed,
                counts.total,
                counts.failed
            );
            // A hidden bar (output is not a terminal) prints nothing, so print plainly then.
            if bar.is_hidden() {
                println!("{line}");
            } else {
                bar.println(line);
            }
            last_status = Some(progress.status);
        }
        if progress.status.is_terminal() {
            break;
        }
    }
    bar.finish_and_clear();
    Ok(())
}

/// Parses `START:END` (or a single row `N`) into a span of 1-based rows.
///
/// # Errors
/// When the text is not two positive row numbers in order.
pub fn parse_row_span(spec: &str) -> anyhow::Result<RowSpan> {
    let (a, b) = spec.split_once(':').unwrap_or((spec, spec));
    let parse = |s: &str| s.trim().parse::<u32>().ok().filter(|n| *n >= 1);
    match (parse(a), parse(b)) {
        (Some(start_row), Some(end_row)) if start_row <= end_row => {
            Ok(RowSpan { start_row, end_row })
        }
        _ => bail!("--rows {spec:?} is not a row span: write it like 2:17 (1-based, inclusive)"),
    }
}

/// Renders a sheet grid as a text table, shortening long cells.
pub fn sheet_table(grid: &[Vec<String>]) -> String {
    let mut table = Table::new();
    table.set_content_arrangement(ContentArrangement::Dynamic);
    table.set_width(180);
    let short = |s: &str, n: usize| -> String {
        if s.chars().count() > n {
            format!("{}…", s.chars().take(n).collect::<String>())
        } else {
            s.to_owned()
        }
    };
    let mut rows = grid.iter();
    if let Some(header) = rows.next() {
        table.set_header(header.iter().take(6).map(|h| short(h, 16)));
    }
    for row in rows {
        let widths = [6, 18, 6, 30, 30, 30];
        table.add_row(
            (0..6).map(|i| short(row.get(i).map(String::as_str).unwrap_or(""), widths[i])),
        );
    }
    table.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_spans_parse_ranges_and_single_rows_and_refuse_the_rest() {
        assert_eq!(
            parse_row_span("2:17").unwrap(),
            RowSpan {
                start_row: 2,
                end_row: 17
            }
        );
        assert_eq!(
            parse_row_span("5").unwrap(),
            RowSpan {
                start_row: 5,
                end_row: 5
            }
        );
        assert!(parse_row_span("0:3").is_err());
        assert!(parse_row_span("9:3").is_err());
        assert!(parse_row_span("A1:B2").is_err());
    }
}
