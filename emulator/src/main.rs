//! `almanac-emulator`: runs the OpenAI + Google Sheets + OAuth emulator on one port until Ctrl-C.
//!
//! ```text
//! almanac-emulator --bind 127.0.0.1:8090 --sheet events.csv --step-ms 500
//! ```
//!
//! Loads the CSV (default: the bundled Korean sample) as spreadsheet `demo-spreadsheet`, sheet id 0,
//! title `Events`, writes the service-account key JSON to a temporary file and prints the URLs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use almanac_emulator::{Emulator, EmulatorConfig, SAMPLE_KO_CSV};
use clap::Parser;

/// Command-line arguments.
#[derive(Parser, Debug)]
#[command(
    name = "almanac-emulator",
    version,
    about = "Local stand-in for the OpenAI Batch API and Google Sheets v4 (with OAuth)."
)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090", env = "ALMANAC_EMULATOR_BIND")]
    bind: SocketAddr,
    /// CSV file (header row first) loaded as `demo-spreadsheet`, sheet 0, `Events`.
    /// Default: the bundled 16-row Korean sample.
    #[arg(long)]
    sheet: Option<PathBuf>,
    /// Duration of one batch step, in milliseconds.
    #[arg(long, default_value_t = 50)]
    step_ms: u64,
    /// Requests completed per step.
    #[arg(long, default_value_t = 64)]
    rows_per_step: usize,
}

/// Spreadsheet id of the demo sheet.
const DEMO_SPREADSHEET: &str = "demo-spreadsheet";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let csv_text = match &args.sheet {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read --sheet {}: {e}", path.display()))?,
        None => SAMPLE_KO_CSV.to_string(),
    };
    let config = EmulatorConfig {
        step: Duration::from_millis(args.step_ms),
        rows_per_step: args.rows_per_step,
    };
    let emulator = Emulator::start_on(args.bind, config).await?;
    emulator.add_sheet_from_csv(DEMO_SPREADSHEET, 0, "Events", &csv_text)?;
    let key_path = std::env::temp_dir().join(format!(
        "almanac-emulator-service-account-{}.json",
        emulator.addr().port()
    ));
    std::fs::write(&key_path, emulator.service_account_key_json())
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", key_path.display()))?;
    let rows = emulator.sheet_rows(DEMO_SPREADSHEET, 0).len();

    println!("almanac-emulator listening on {}", emulator.base_url());
    println!("  OpenAI base URL      {}", emulator.openai_base_url());
    println!("  Sheets base URL      {}", emulator.sheets_base_url());
    println!("  OAuth token URI      {}", emulator.token_uri());
    println!(
        "  service account      {}",
        emulator.service_account_email()
    );
    println!("  service account key  {}", key_path.display());
    println!(
        "  spreadsheet          {DEMO_SPREADSHEET} (sheet 0 'Events', {rows} rows incl. header)"
    );
    println!("  any non-empty OpenAI API key is accepted; press Ctrl-C to stop");

    tokio::signal::ctrl_c().await?;
    println!("stopping");
    emulator.shutdown().await;
    let _ = std::fs::remove_file(&key_path);
    Ok(())
}
