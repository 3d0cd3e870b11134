//! One demo's world: its flags ([`DemoArgs`]), the emulator with the sheet loaded and shared with
//! the demo user, the rows to generate and the user's tokens ([`Demo`]), and what the backend needs
//! to run against it ([`Backend`]).

use std::path::PathBuf;
use std::time::Duration;

use almanac_emulator::{Emulator, EmulatorConfig};
use almanac_protocol::RowSpan;
use anyhow::{Context, bail};
use secrecy::SecretString;

use crate::dev;

/// The demo's user: the emulator signs ID tokens for it and shares the demo spreadsheet with it.
pub const DEMO_USER_SUB: &str = "100000000000000000001";
/// The demo user's email.
pub const DEMO_USER_EMAIL: &str = "demo@example.com";
/// The demo spreadsheet's id.
pub const DEMO_SPREADSHEET_ID: &str = "demo-spreadsheet";
/// The demo sheet's `sheetId`.
pub const DEMO_SHEET_ID: i32 = 0;
/// The demo sheet's title.
pub const DEMO_SHEET_TITLE: &str = "Events";
/// The OpenAI key the demo's emulator accepts (worthless anywhere else; tests grep logs for it).
pub const DEMO_OPENAI_KEY: &str = "sk-emulated-demo-key";

/// Flags of `almanac demo` that belong to the demo (the backend's own settings, such as the
/// sidebar folder, are the server's).
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
    /// (`ALMANAC_ID_TOKEN=…`, `ALMANAC_ACCESS_PROOF=…`, `ALMANAC_SPREADSHEET_ID=…`, `ALMANAC_URL=…`).
    #[arg(long, requires = "serve")]
    pub token_file: Option<PathBuf>,
    /// Jobs one user may create per minute (as `ALMANAC_JOBS_PER_MINUTE` for `serve`).
    #[arg(long, default_value_t = 10)]
    pub jobs_per_minute: u32,
}

/// What the backend needs to run against the demo's stand-ins: where they are and the keys they
/// accept. All of it is emulated and worthless anywhere else.
#[derive(Clone, Debug)]
pub struct Backend {
    /// The store's URL (a fresh SQLite file unless `--database-url`).
    pub database_url: String,
    /// An OpenAI key the emulator accepts ([`DEMO_OPENAI_KEY`]).
    pub openai_api_key: SecretString,
    /// The emulator's OpenAI base URL (`http://127.0.0.1:PORT/v1`).
    pub openai_base_url: String,
    /// A service-account key file (JSON) whose `token_uri` is the emulator's.
    pub service_account_key_json: SecretString,
    /// The emulator's Sheets root URL.
    pub sheets_base_url: String,
    /// The emulator's ID-token keys (JWKS).
    pub jwks_url: String,
    /// The OAuth client id the demo user's ID tokens are addressed to (`aud`).
    pub client_id: String,
}

/// A running demo: the emulator with the sheet loaded and shared with the demo user, the span to
/// generate, and the user's tokens (as `ScriptApp.getIdentityToken()` / `getOAuthToken()` give
/// them to the sidebar).
pub struct Demo {
    /// The stand-ins.
    pub emulator: Emulator,
    /// The rows to generate.
    pub span: RowSpan,
    /// The demo user's ID token.
    pub id_token: String,
    args: DemoArgs,
    database_url: String,
}

impl Demo {
    /// Starts the emulator, loads the sheet (`--sheet` or the Korean sample) and shares it with
    /// the demo user, and picks the rows (`--rows` or every row below the header).
    ///
    /// # Errors
    /// When the sheet cannot be read or has no rows, `--rows` is malformed, or the emulator
    /// cannot start.
    pub async fn start(args: &DemoArgs) -> anyhow::Result<Demo> {
        let csv_text = match &args.sheet {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the sheet {}", path.display()))?,
            None => almanac_emulator::SAMPLE_KO_CSV.to_owned(),
        };
        let emulator = Emulator::start(EmulatorConfig {
            step: Duration::from_millis(args.step_ms),
            rows_per_step: 2,
        })
        .await?;
        emulator.share(DEMO_SPREADSHEET_ID, DEMO_USER_EMAIL);
        emulator
            .add_sheet_from_csv(
                DEMO_SPREADSHEET_ID,
                DEMO_SHEET_ID,
                DEMO_SHEET_TITLE,
                &csv_text,
            )
            .context("the sheet is not valid CSV")?;
        let rows = emulator
            .sheet_rows(DEMO_SPREADSHEET_ID, DEMO_SHEET_ID)
            .len();
        if rows < 2 {
            bail!("the sheet has no rows below its header");
        }
        let span = match &args.rows {
            Some(spec) => RowSpan::parse(spec).map_err(|e| anyhow::anyhow!("--rows {e}"))?,
            None => RowSpan {
                start_row: 2,
                end_row: rows as u32,
            },
        };
        let client_id = almanac_emulator::identity::CLIENT_ID;
        let id_token = emulator.id_token(DEMO_USER_SUB, DEMO_USER_EMAIL, client_id);
        let database_url = args.database_url.clone().unwrap_or_else(|| {
            let name = format!("almanac-demo-{}.db", uuid::Uuid::new_v4());
            format!("sqlite://{}", std::env::temp_dir().join(name).display())
        });
        Ok(Demo {
            emulator,
            span,
            id_token,
            args: args.clone(),
            database_url,
        })
    }

    /// Where the stand-ins are and the keys they accept, for the backend's configuration.
    pub fn backend(&self) -> Backend {
        Backend {
            database_url: self.database_url.clone(),
            openai_api_key: SecretString::from(DEMO_OPENAI_KEY),
            openai_base_url: self.emulator.openai_base_url(),
            service_account_key_json: SecretString::from(self.emulator.service_account_key_json()),
            sheets_base_url: self.emulator.sheets_base_url(),
            jwks_url: self.emulator.jwks_url(),
            client_id: almanac_emulator::identity::CLIENT_ID.into(),
        }
    }

    /// The `/dev/…` pages over this demo's sheet, signed in as the demo user (for `--serve`).
    pub fn dev_routes(&self) -> axum::Router {
        dev::router(dev::DevSheet {
            emulator: self.emulator.clone(),
            spreadsheet_id: DEMO_SPREADSHEET_ID.into(),
            sheet_id: DEMO_SHEET_ID,
            sheet_title: DEMO_SHEET_TITLE.into(),
            identity: dev::DevIdentity::Emulated {
                sub: DEMO_USER_SUB.into(),
                email: DEMO_USER_EMAIL.into(),
                client_id: almanac_emulator::identity::CLIENT_ID.into(),
            },
        })
    }

    /// The demo user's access proof for the demo spreadsheet from the backend at `base_url`, got
    /// as the add-on gets it (challenge, developer metadata written as the user, proof).
    ///
    /// # Errors
    /// When the backend refuses the challenge or the proof.
    pub async fn access_proof(&self, base_url: &str) -> anyhow::Result<String> {
        let api = format!("{base_url}/api/v1");
        let prover = crate::client::Prover {
            api: &api,
            id_token: &self.id_token,
            email: DEMO_USER_EMAIL,
            spreadsheet_id: DEMO_SPREADSHEET_ID,
            emulator: &self.emulator,
        };
        Ok(prover.prove().await?.proof)
    }

    /// The flags the demo was started with.
    pub fn args(&self) -> &DemoArgs {
        &self.args
    }

    /// The store's URL the backend should use.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// `--serve`: prints how to call the backend at `base_url` with the ID token and
    /// `access_proof` (and writes `--token-file`);
    /// the caller then serves until Ctrl-C. `bundle_built` says whether the sidebar bundle
    /// exists in `sidebar_dir`.
    ///
    /// # Errors
    /// When the token file cannot be written.
    pub fn print_serving(
        &self,
        base_url: &str,
        access_proof: &str,
        sidebar_dir: &std::path::Path,
        bundle_built: bool,
    ) -> anyhow::Result<()> {
        println!("Almanac demo server — backend at {base_url}");
        println!("  store: {}", self.database_url);
        println!("  emulator (OpenAI + Google): {}", self.emulator.base_url());
        println!(
            "  spreadsheet: {DEMO_SPREADSHEET_ID} (sheet {DEMO_SHEET_ID} \"{DEMO_SHEET_TITLE}\"), shared with {DEMO_USER_EMAIL}"
        );
        println!("  API docs: {base_url}/docs");
        println!("  the emulated sheet beside the sidebar: {base_url}/dev/sheet");
        if !bundle_built {
            println!(
                "  (the sidebar bundle is not built in {}: run `bash sidebar/build.sh` first)",
                sidebar_dir.display()
            );
        }
        let id_token = &self.id_token;
        println!(
            "\nTokens of {DEMO_USER_EMAIL} (valid for one hour; emulated, worthless elsewhere):"
        );
        println!("ALMANAC_ID_TOKEN={id_token}");
        println!("ALMANAC_ACCESS_PROOF={access_proof}");
        if let Some(path) = &self.args.token_file {
            let text = format!(
                "ALMANAC_URL={base_url}\nALMANAC_SPREADSHEET_ID={DEMO_SPREADSHEET_ID}\nALMANAC_ID_TOKEN={id_token}\nALMANAC_ACCESS_PROOF={access_proof}\n"
            );
            std::fs::write(path, text)
                .with_context(|| format!("cannot write the token file {}", path.display()))?;
            println!("(also written to {})", path.display());
        }
        println!("\nServing until Ctrl-C.");
        Ok(())
    }

    /// Stops the emulator.
    pub async fn shutdown(self) {
        self.emulator.shutdown().await;
    }
}
