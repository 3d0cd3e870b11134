//! The `almanac` command line: `serve` runs the backend; `demo` (with the default `demo` feature)
//! runs Almanac's whole main job on embedded defaults — a SQLite file, in-process stand-ins for
//! OpenAI and Google, a sample sheet — through the real backend over HTTP, and prints the filled
//! sheet. `run`, `batch …` and `sheet …` are the seed workflow's scripts as subcommands, for files
//! and pipelines (`--json`, documented exit codes, see [`common`]); `doctor` checks the settings of
//! `serve` one at a time.

pub(crate) mod batch;
pub(crate) mod build;
pub(crate) mod common;
#[cfg(feature = "demo")]
pub mod demo;
pub(crate) mod doctor;
mod file_rows;
pub(crate) mod run;
pub(crate) mod sheet;

use clap::{Parser, Subcommand};

use crate::app::{Application, install_crypto_provider};
use crate::config::{AuthMode, ServeArgs};

/// `almanac`: fill Google Sheets rows with AI-written content through the OpenAI Batch API.
#[derive(Debug, Parser)]
#[command(name = "almanac", version, about, after_help = common::EXIT_CODES_HELP)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the backend (HTTP API + batch worker), configured by flags, environment and `.env`.
    Serve(ServeArgs),
    /// Run a whole job on a sample sheet against local stand-ins for OpenAI and Google.
    #[cfg(feature = "demo")]
    Demo(demo::DemoCommand),
    /// Fill a CSV or JSON events file in one go: build, submit, wait, merge (resumable).
    Run(run::RunArgs),
    /// The batch steps one at a time: build, submit, status, results analyze/merge.
    #[command(subcommand)]
    Batch(batch::BatchCommand),
    /// A sheet to and from a JSON or CSV file, with the service account.
    #[command(subcommand)]
    Sheet(sheet::SheetCommand),
    /// Check the settings `serve` would use, one at a time (exit 1 when one is wrong).
    Doctor(doctor::DoctorArgs),
}

/// Parses arguments and runs the chosen command.
///
/// # Errors
/// Whatever the command reports.
pub async fn main() -> anyhow::Result<()> {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    install_crypto_provider();
    match cli.command {
        Command::Serve(args) => serve(args).await,
        #[cfg(feature = "demo")]
        Command::Demo(cmd) => demo::run(cmd).await,
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
        Command::Doctor(args) => {
            let output = args.output_args.clone();
            exit_with(&output, tool(doctor::run(args)).await)
        }
    }
}

/// Runs a file/automation subcommand with its logging set up (warnings and errors on stderr).
async fn tool(
    f: impl std::future::Future<Output = Result<common::Report, common::CliError>>,
) -> Result<common::Report, common::CliError> {
    common::init_tracing("warn");
    f.await
}

/// Prints the outcome and ends the process with its documented exit code.
fn exit_with(output: &common::OutputArgs, outcome: Result<common::Report, common::CliError>) -> ! {
    use std::io::Write as _;
    let code = common::finish(output, outcome);
    let _ = std::io::stdout().flush();
    std::process::exit(i32::from(code))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    common::init_tracing("info,almanac=info");
    let config = args.into_config()?;
    if config.auth == AuthMode::InsecureNoAuth {
        let banner = "INSECURE: --insecure-dev-no-auth is set. Callers are NOT authenticated: anyone who reaches this port acts as the user `local` and spends the OpenAI key and the service account's access. Never run this way outside your own machine.";
        eprintln!("\n{}\n{banner}\n{}\n", "!".repeat(100), "!".repeat(100));
        tracing::warn!("{banner}");
    }
    let app = Application::build(config).await?;
    tracing::info!(address = %app.local_addr(), "almanac listening");
    if let Some(metrics) = app.metrics_addr() {
        tracing::info!(address = %metrics, "/metrics served (Prometheus)");
    }
    app.run_until_stopped().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_of_every_command_line_does_not_show_a_key() {
        let secrets = [
            "sk-cli-openai-secret",
            "sk-cli-realtime-secret",
            "cli-proof-secret-0123456789abcdef0123456789",
        ];
        let lines: [&[&str]; 3] = [
            &[
                "almanac",
                "serve",
                "--insecure-dev-no-auth",
                "--openai-api-key=sk-cli-openai-secret",
                "--realtime-api-key=sk-cli-realtime-secret",
                "--access-proof-secret=cli-proof-secret-0123456789abcdef0123456789",
            ],
            &[
                "almanac",
                "run",
                "in.csv",
                "out.csv",
                "--openai-api-key=sk-cli-openai-secret",
                "--realtime-api-key=sk-cli-realtime-secret",
            ],
            &["almanac", "doctor", "--openai-api-key=sk-cli-openai-secret"],
        ];
        for argv in lines {
            let cli = Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            let shown = format!("{cli:?}");
            for secret in secrets {
                assert!(!shown.contains(secret), "{argv:?} shows {secret}: {shown}");
            }
        }
    }
}
