//! `almanac demo` (default `demo` feature): the glue between the `almanac-demo` crate, which owns
//! the stand-ins, the sample sheet and the job driven over HTTP, and this crate's backend. It
//! builds the backend's [`Config`] from where the demo's stand-ins are ([`almanac_demo::Backend`]),
//! starts it (with the `/dev` pages under `--serve`), and hands over its URL.

use std::path::PathBuf;
use std::time::Duration;

use almanac_demo::{Demo, DemoArgs};

use crate::app::{Application, shutdown_signal};
use crate::config::{
    ApiSettings, AuthMode, ChatSettings, Config, DEFAULT_SIDEBAR_DIR, DefaultSheet,
    GoogleCredentials, IdentitySettings, JWKS_MIN_REFRESH, LimitSettings, MetricsBind,
    WorkerSettings,
};

/// Flags of `almanac demo`: the demo's own and the backend's sidebar folder.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoCommand {
    /// The demo's flags.
    #[command(flatten)]
    pub demo: DemoArgs,
    /// Folder of the built sidebar bundle, served at `/sidebar/` (and in `/dev/sheet` with
    /// `--serve`).
    #[arg(long, env = "ALMANAC_SIDEBAR_DIR", default_value = DEFAULT_SIDEBAR_DIR)]
    pub sidebar_dir: PathBuf,
}

/// Runs the demo: one job and the filled sheet, or `--serve` until Ctrl-C.
///
/// # Errors
/// When the sheet cannot be read, the backend cannot start, or the job does not complete.
pub async fn run(cmd: DemoCommand) -> anyhow::Result<()> {
    super::common::init_tracing("warn");
    let args = &cmd.demo;
    let demo = Demo::start(args).await?;
    let mut app = Application::build(config(&cmd, &demo)?).await?;
    if args.serve {
        app = app.with_routes(demo.dev_routes());
    }
    // Installed before the server answers (see `shutdown_signal`), only when serving: a plain
    // demo keeps Ctrl-C's default action.
    let stop = args.serve.then(shutdown_signal);
    let app = app.spawn();
    let outcome = if args.serve {
        let built = cmd.sidebar_dir.join(crate::web::BUNDLE_WASM).is_file();
        let proof = demo.access_proof(&app.base_url).await?;
        demo.print_serving(&app.base_url, &proof, &cmd.sidebar_dir, built)?;
        if let Some(stop) = stop {
            stop.await;
        }
        Ok(())
    } else {
        almanac_demo::run_job(&demo, &app.base_url).await
    };
    app.kill().await;
    demo.shutdown().await;
    outcome
}

/// The backend's settings over the demo's stand-ins: quick polls and retries, ID tokens checked
/// against the emulator's JWKS for its client id, the per-user job rate of `--jobs-per-minute`,
/// and the demo spreadsheet as the chat's default (for clients that name none).
fn config(cmd: &DemoCommand, demo: &Demo) -> anyhow::Result<Config> {
    let args = &cmd.demo;
    let backend = demo.backend();
    Ok(Config {
        bind: if args.serve {
            args.bind
        } else {
            "127.0.0.1:0".parse()?
        },
        database_url: backend.database_url,
        openai_api_key: backend.openai_api_key,
        openai_base_url: backend.openai_base_url,
        google_credentials: GoogleCredentials::Key(backend.service_account_key_json),
        sheets_base_url: Some(backend.sheets_base_url),
        worker: WorkerSettings {
            poll_interval: Duration::from_millis(200),
            retry_min_delay: Duration::from_millis(200),
            retry_max_delay: Duration::from_secs(5),
            ..WorkerSettings::default()
        },
        auth: AuthMode::GoogleIdToken(IdentitySettings {
            client_ids: vec![backend.client_id],
            jwks_url: backend.jwks_url,
            allowed_email_domains: Vec::new(),
            jwks_min_refresh: JWKS_MIN_REFRESH,
        }),
        api: ApiSettings {
            jobs_per_minute: args.jobs_per_minute.max(1),
            chat: ChatSettings {
                default_sheet: Some(DefaultSheet {
                    spreadsheet_id: almanac_demo::DEMO_SPREADSHEET_ID.to_owned(),
                    sheet_id: almanac_demo::DEMO_SHEET_ID,
                }),
                turns_per_minute: args.jobs_per_minute.max(20),
                poll_interval: Duration::from_millis(100),
                ..ChatSettings::default()
            },
            limits: LimitSettings {
                // One pretend user opens the sidebar (an access check each time) dozens of times
                // a minute in the browser tests and the benchmark.
                access_checks_per_user: 1_000,
                access_checks_per_spreadsheet: 1_000,
                // A free loopback port: a demo runs beside a local server.
                metrics_bind: MetricsBind::At("127.0.0.1:0".parse()?),
                ..LimitSettings::default()
            },
            ..ApiSettings::default()
        },
        sidebar_dir: cmd.sidebar_dir.clone(),
    })
}
