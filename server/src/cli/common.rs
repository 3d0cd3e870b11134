//! What the file and automation subcommands (`run`, `batch …`, `sheet …`) share: endpoint and store
//! flags (the same environment variables as `almanac serve`), `--json` output, the documented exit
//! codes, progress display and the one prompt rule (never ask when stdin is not a terminal).

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use almanac_protocol::Estimate;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};

use crate::auth::access::AccessKeys;
use crate::config::{CostSettings, WorkerSettings, secret};
use crate::jobs::Services;
use crate::jobs::services::ServiceParts;
use almanac_core::catalog::UnknownModel;
use almanac_files::{CsvCells, FileError};
use almanac_openai::BatchClient;
use almanac_sheets::client::SheetsClient;
use almanac_store::Store;

/// Exit code: the command did what was asked (the job or batch completed, every row written).
pub const EXIT_OK: u8 = 0;
/// Exit code: an error stopped the command (network, credentials, database, an unexpected answer).
pub const EXIT_ERROR: u8 = 1;
/// Exit code: bad input or usage (a flag, a malformed file, an unknown model); nothing was sent
/// or written. (clap uses 2 for flag errors as well.)
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code: the job or batch is still running (`batch status` without `--wait`).
pub const EXIT_RUNNING: u8 = 3;
/// Exit code: finished, but not everything succeeded: rows or requests failed, or the job or
/// batch failed, expired or was cancelled.
pub const EXIT_FAILURES: u8 = 4;
/// Exit code: interrupted by Ctrl-C; the job is saved and the same command resumes it.
pub const EXIT_INTERRUPTED: u8 = 130;

/// The exit-code table, shown by `almanac --help` and in the README.
pub const EXIT_CODES_HELP: &str = "\
Exit codes of run, batch and sheet:
  0    done: the job or batch completed and every row was written
  1    error: network, credentials, database, or an unexpected answer
  2    bad input or usage: a flag, a malformed file, an unknown model (nothing sent or written)
  3    still running (batch status without --wait)
  4    finished with failures: rows or requests failed, or the job/batch failed, expired or was cancelled
  130  interrupted (Ctrl-C): run the same command again to resume without paying twice";

/// Why a subcommand stopped: an exit code, a stable snake_case kind for programs, and a message
/// for people.
#[derive(Debug)]
pub struct CliError {
    /// One of the `EXIT_*` codes.
    pub exit: u8,
    /// `bad_input`, `unknown_model`, `openai_error`, `sheets_error`, `store_error`, `error`.
    pub kind: &'static str,
    /// What went wrong and what to do.
    pub message: String,
}

impl CliError {
    /// A bad-input error (exit 2).
    pub fn bad_input(message: impl Into<String>) -> CliError {
        CliError {
            exit: EXIT_BAD_INPUT,
            kind: "bad_input",
            message: message.into(),
        }
    }

    /// A runtime error (exit 1).
    pub fn error(kind: &'static str, message: impl Into<String>) -> CliError {
        CliError {
            exit: EXIT_ERROR,
            kind,
            message: message.into(),
        }
    }
}

impl From<FileError> for CliError {
    fn from(e: FileError) -> Self {
        CliError::bad_input(e.to_string())
    }
}

impl From<UnknownModel> for CliError {
    fn from(e: UnknownModel) -> Self {
        CliError {
            exit: EXIT_BAD_INPUT,
            kind: "unknown_model",
            message: e.to_string(),
        }
    }
}

impl From<almanac_store::StoreError> for CliError {
    fn from(e: almanac_store::StoreError) -> Self {
        CliError::error("store_error", e.to_string())
    }
}

impl From<crate::jobs::CreateJobError> for CliError {
    fn from(e: crate::jobs::CreateJobError) -> Self {
        use crate::jobs::CreateJobError as E;
        use crate::spreadsheet::SpreadsheetError;
        match e {
            E::Store(e) => e.into(),
            E::UnknownModel(e) => e.into(),
            E::Invalid(_)
            | E::Spreadsheet(SpreadsheetError::AccessCheckRefused(_))
            | E::NotReadBack(_) => CliError::bad_input(e.to_string()),
            other => CliError::error("job_refused", other.to_string()),
        }
    }
}

impl From<almanac_openai::OpenAiError> for CliError {
    fn from(e: almanac_openai::OpenAiError) -> Self {
        CliError::error("openai_error", format!("OpenAI: {e}"))
    }
}

impl From<almanac_sheets::SheetsError> for CliError {
    fn from(e: almanac_sheets::SheetsError) -> Self {
        CliError::error("sheets_error", format!("Google Sheets: {e}"))
    }
}

/// What a subcommand reports: an exit code, a JSON document (`--json`) and text for people.
#[derive(Debug)]
pub struct Report {
    /// One of the `EXIT_*` codes.
    pub exit: u8,
    /// Printed on stdout with `--json`.
    pub json: Value,
    /// Printed on stdout otherwise.
    pub text: String,
}

/// `--json`: print one JSON document on stdout instead of text (progress and logs stay on stderr).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct OutputArgs {
    /// Print one JSON document on stdout (progress goes to stderr, never to stdout); errors are
    /// `{"error":{"kind","message"},"exit_code"}`.
    #[arg(long)]
    pub json: bool,
}

/// Prints a subcommand's outcome and returns its exit code.
pub fn finish(output: &OutputArgs, outcome: Result<Report, CliError>) -> u8 {
    match outcome {
        Ok(report) => {
            if output.json {
                let mut doc = report.json;
                if let Value::Object(map) = &mut doc {
                    map.insert("exit_code".into(), json!(report.exit));
                }
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            } else if !report.text.is_empty() {
                println!("{}", report.text.trim_end());
            }
            report.exit
        }
        Err(e) => {
            eprintln!("error: {}", e.message);
            if output.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "error": {"kind": e.kind, "message": e.message},
                        "exit_code": e.exit,
                    }))
                    .unwrap_or_default()
                );
            }
            e.exit
        }
    }
}

/// `--raw-csv`: how the cells of a CSV output are written.
#[derive(Clone, Copy, Debug, Default, clap::Args)]
pub struct CsvArgs {
    /// Write answers and pulled cells into CSV as they are. By default such a cell starting with
    /// `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so that a spreadsheet
    /// program opening the file shows it as text instead of running it as a formula (OWASP's
    /// CSV-injection rule); the file's own cells are kept as they were. JSON is never changed.
    #[arg(long)]
    pub raw_csv: bool,
}

impl CsvArgs {
    /// The rule these flags ask for.
    pub fn cells(self) -> CsvCells {
        if self.raw_csv {
            CsvCells::Raw
        } else {
            CsvCells::Escaped
        }
    }
}

/// Where the OpenAI and Google APIs are, with which credentials, and the store of command-line
/// jobs. Same environment variables as `almanac serve`, so one `.env` serves both.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct EndpointArgs {
    /// OpenAI API key (never printed).
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true, value_parser = secret)]
    pub openai_api_key: Option<SecretString>,
    /// OpenAI API base URL, with the `/v1` suffix.
    #[arg(
        long,
        env = "OPENAI_BASE_URL",
        default_value = "https://api.openai.com/v1"
    )]
    pub openai_base_url: String,
    /// Path of the Google service-account key JSON (for `sheet pull`/`sheet push`).
    #[arg(long, env = "GOOGLE_APPLICATION_CREDENTIALS")]
    pub google_credentials: Option<PathBuf>,
    /// Sheets API base URL; unset means Google's.
    #[arg(long, env = "SHEETS_BASE_URL")]
    pub sheets_base_url: Option<String>,
    /// The store of command-line jobs (lets an interrupted `run` resume): a path or a
    /// `sqlite://` URL. Default: `almanac/cli.db` in the platform's state folder
    /// (`$XDG_STATE_HOME`, `~/.local/state` on Linux).
    #[arg(long = "store", env = "ALMANAC_DATABASE_URL")]
    pub store: Option<String>,
    /// Any OpenAI-compatible Chat Completions endpoint for `--mode realtime` (with `/v1`);
    /// default: the OpenAI base URL.
    #[arg(long, env = "ALMANAC_REALTIME_BASE_URL")]
    pub realtime_base_url: Option<String>,
    /// Key for `--realtime-base-url` (never printed); default: the OpenAI key.
    #[arg(long, env = "ALMANAC_REALTIME_API_KEY", hide_env_values = true, value_parser = secret)]
    pub realtime_api_key: Option<SecretString>,
}

impl EndpointArgs {
    /// The OpenAI client.
    ///
    /// # Errors
    /// Bad input when no key is set.
    pub fn openai(&self) -> Result<BatchClient, CliError> {
        let key = self
            .openai_api_key
            .clone()
            .filter(|k| !k.expose_secret().trim().is_empty())
            .ok_or_else(|| {
                CliError::bad_input(
                    "OPENAI_API_KEY is not set: set it (or pass --openai-api-key) to your OpenAI API key (https://platform.openai.com/api-keys)",
                )
            })?;
        Ok(BatchClient::new(&key, &self.openai_base_url))
    }

    /// The Sheets client: with the service account when `GOOGLE_APPLICATION_CREDENTIALS` is set;
    /// otherwise one whose every call says to set it.
    ///
    /// # Errors
    /// Bad input when the key file cannot be read or is not a service-account key.
    pub async fn sheets(&self) -> Result<SheetsClient, CliError> {
        let base = self.sheets_base_url.as_deref();
        match &self.google_credentials {
            Some(path) => {
                let key = std::fs::read_to_string(path).map_err(|e| {
                    CliError::bad_input(format!(
                        "cannot read the service-account key {}: {e}",
                        path.display()
                    ))
                })?;
                SheetsClient::new(&key, base)
                    .await
                    .map_err(|e| CliError::bad_input(e.to_string()))
            }
            None => SheetsClient::without_credentials(base)
                .map_err(|e| CliError::error("sheets_error", e.to_string())),
        }
    }

    /// The sqlx URL of the store (its folder is created).
    ///
    /// # Errors
    /// When no state folder can be found or created.
    pub fn store_url(&self) -> Result<String, CliError> {
        if let Some(url) = &self.store {
            if url.starts_with("sqlite:") {
                return Ok(url.clone());
            }
            return sqlite_url(Path::new(url));
        }
        use etcetera::BaseStrategy as _;
        let base = etcetera::choose_base_strategy().map_err(|e| {
            CliError::error(
                "store_error",
                format!("cannot find a home folder for the job store ({e}): pass --store PATH"),
            )
        })?;
        let dir = base.state_dir().unwrap_or_else(|| base.data_dir());
        sqlite_url(&dir.join("almanac").join("cli.db"))
    }

    /// Opens (and migrates) the store.
    ///
    /// # Errors
    /// When the database cannot be opened.
    pub async fn open_store(&self) -> Result<(Store, String), CliError> {
        let url = self.store_url()?;
        let store = Store::connect(&url)
            .await
            .map_err(|e| CliError::error("store_error", format!("{e} (store: {url})")))?;
        Ok((store, url))
    }

    /// Everything the worker needs, polling every `poll_interval` and writing a file job's CSV
    /// cells by `csv_cells`.
    ///
    /// # Errors
    /// See [`EndpointArgs::openai`], [`EndpointArgs::sheets`], [`EndpointArgs::open_store`].
    pub async fn services(
        &self,
        poll_interval: Duration,
        csv_cells: CsvCells,
    ) -> Result<Arc<Services>, CliError> {
        let openai = self.openai()?;
        let sheets = self.sheets().await?;
        let (store, _) = self.open_store().await?;
        let cost = CostSettings {
            realtime_base_url: self.realtime_base_url.clone(),
            realtime_api_key: self
                .realtime_api_key
                .clone()
                .filter(|k| !k.expose_secret().trim().is_empty()),
            ..CostSettings::default()
        };
        Ok(Arc::new(Services::new(ServiceParts {
            store,
            openai,
            sheets,
            settings: WorkerSettings {
                poll_interval,
                retry_min_delay: Duration::from_millis(500).min(poll_interval),
                retry_max_delay: Duration::from_secs(60),
                csv_cells,
                ..WorkerSettings::default()
            },
            cost,
            openai_key: self.openai_api_key.clone().unwrap_or_default(),
            openai_base_url: self.openai_base_url.clone(),
            calls: None,
            access: AccessKeys::default(),
        })))
    }
}

fn sqlite_url(path: &Path) -> Result<String, CliError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            CliError::error(
                "store_error",
                format!("cannot create the store's folder {}: {e}", dir.display()),
            )
        })?;
    }
    Ok(format!("sqlite://{}", path.display()))
}

/// Checks `--completion-window`: the Batch API accepts only `24h`
/// (<https://platform.openai.com/docs/api-reference/batch/create>).
///
/// # Errors
/// Bad input for any other value.
pub fn completion_window(value: &str) -> Result<(), CliError> {
    if value.trim() == "24h" {
        Ok(())
    } else {
        Err(CliError::bad_input(format!(
            "--completion-window {value:?} is not accepted: OpenAI's Batch API supports only `24h`"
        )))
    }
}

/// The estimate as JSON.
pub fn estimate_json(e: &Estimate) -> Value {
    serde_json::to_value(e).unwrap_or(Value::Null)
}

/// One line for people.
pub fn estimate_text(e: &Estimate) -> String {
    format!(
        "Estimate for {} rows with {}: {} input + ~{} output tokens — batch ${:.4} (realtime would be ${:.4}; prices as of {}); typical wait {}",
        e.rows,
        e.model,
        e.input_tokens,
        e.output_tokens,
        e.batch.total_usd,
        e.realtime.total_usd,
        e.prices_as_of,
        human_duration(e.batch_wait_seconds)
    )
}

/// `1 h 05 min`, `12 min`, `40 s`.
pub fn human_duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        _ => format!("{} h {:02} min", secs / 3600, (secs % 3600) / 60),
    }
}

/// True when a person is at the keyboard: stdin and stderr are terminals.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks a yes/no question on stderr; only call when [`interactive`]. Anything but `y`/`yes` is no.
pub fn confirm(question: &str) -> bool {
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// A progress bar on stderr when it is a terminal and `--json` is off; hidden otherwise.
pub fn progress_bar(output: &OutputArgs, len: u64) -> indicatif::ProgressBar {
    if output.json || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} requests · {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Prints a status line on stderr (above the progress bar when one is drawn), never on stdout.
pub fn log_line(bar: &indicatif::ProgressBar, line: &str) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

/// The process's one tracing subscriber ([`crate::logs::install_stderr`]): `RUST_LOG` if set, else
/// `default`; on stderr, with colours only on a terminal; the crates that log credentials capped
/// whatever `RUST_LOG` says.
pub fn init_tracing(default: &str) {
    crate::logs::install_stderr(default);
}
