//! Helpers for the tests that span crates: [`spawn_app`] starts the emulator (OpenAI + Google
//! stand-ins) and the real backend on port 0, and [`TestApp`] drives the backend over HTTP the way
//! the sidebar does — as user A, an editor of [`SPREADSHEET`], whose Google ID token (signed by the
//! emulator) and access proof (got as the add-on gets it: challenge, developer metadata written
//! through emulated Apps Script, proof) ride on every request of [`TestApp::http`].
//!
//! The backend's database is a temporary SQLite file, or — when `ALMANAC_TEST_DATABASE=postgres` —
//! a fresh database on the PostgreSQL server named by `ALMANAC_TEST_POSTGRES_URL`
//! ([`test_database_url`]); CI runs the end-to-end tests once with each.

use std::sync::Arc;
use std::time::Duration;

use almanac::app::{Application, RunningApp, install_crypto_provider};
use almanac::auth::IdentitySettings;
use almanac::config::{
    ApiSettings, AuthMode, ChatSettings, Config, GoogleCredentials, LimitSettings, MetricsBind,
    WorkerSettings,
};
use almanac_demo::{Prover, authorized_client};
use almanac_emulator::identity::CLIENT_ID;
use almanac_emulator::{Emulator, EmulatorConfig};
use almanac_protocol::{CreateJobRequest, Job, JobStatus, Mode, RowSpan};
use secrecy::SecretString;

/// The spreadsheet every test sheet lives in.
pub const SPREADSHEET: &str = "test-spreadsheet";
/// The sample sheets, as shipped with the emulator.
pub const KOREAN_CSV: &str = almanac_emulator::SAMPLE_KO_CSV;
/// 348 English events.
pub const ENGLISH_CSV: &str = almanac_emulator::SAMPLE_EN_CSV;
/// The OpenAI key the backend is configured with (to check that it never leaks).
pub const OPENAI_KEY: &str = "sk-test-key-3f9a1c7e5b";

/// A user of the tests: Google's `sub` and a verified email.
#[derive(Clone, Copy, Debug)]
pub struct User {
    /// The OIDC subject.
    pub sub: &'static str,
    /// The verified email.
    pub email: &'static str,
}

/// The user [`TestApp::http`] acts as; [`SPREADSHEET`] is shared with them as editor.
pub const USER_A: User = User {
    sub: "110000000000000000001",
    email: "ada@example.com",
};
/// The Google Workspace domain of [`USER_A`] (their ID tokens carry it as `hd`).
pub const WORKSPACE_DOMAIN: &str = "example.com";
/// Another user, with no share of [`SPREADSHEET`].
pub const USER_B: User = User {
    sub: "110000000000000000002",
    email: "bob@example.org",
};

/// Changes made to the backend's configuration before it starts (and at each restart).
pub type Customize = Arc<dyn Fn(&mut Config) + Send + Sync>;

/// A running emulator and backend.
pub struct TestApp {
    /// The stand-ins for OpenAI and Google.
    pub emulator: Emulator,
    /// The backend.
    pub app: Option<RunningApp>,
    /// `http://127.0.0.1:PORT/api/v1`.
    pub api: String,
    /// An HTTP client that sends user A's ID token and access proof on every request.
    pub http: reqwest::Client,
    /// User A's Google ID token (as sent by [`TestApp::http`]).
    pub id_token: String,
    /// User A's access proof for [`SPREADSHEET`] (as sent by [`TestApp::http`]).
    pub access_proof: String,
    /// The store's URL (a temporary SQLite file, or a PostgreSQL database), kept across restarts.
    pub database_url: String,
    customize: Customize,
    _db_dir: tempfile::TempDir,
}

/// Starts an emulator with `config` and a backend in front of it, with fast polling.
pub async fn spawn_app(config: EmulatorConfig) -> TestApp {
    spawn_app_with(config, |_| {}).await
}

/// [`spawn_app`] with changes to the backend's configuration (kept for [`TestApp::restart`]).
pub async fn spawn_app_with(
    config: EmulatorConfig,
    customize: impl Fn(&mut Config) + Send + Sync + 'static,
) -> TestApp {
    install_crypto_provider();
    let customize: Customize = Arc::new(customize);
    let emulator = Emulator::start(config).await.expect("emulator starts");
    emulator.add_spreadsheet(SPREADSHEET);
    emulator.share(SPREADSHEET, USER_A.email);
    // User A's company runs Google Workspace: their ID tokens carry `hd`.
    emulator.add_workspace_domain(WORKSPACE_DOMAIN);
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = test_database_url(dir.path()).await;
    let app = start_backend(&emulator, &database_url, &customize).await;
    let api = format!("{}/api/v1", app.base_url);
    let id_token = emulator.id_token(USER_A.sub, USER_A.email, CLIENT_ID);
    let access_proof = prove(&emulator, &api, USER_A, &id_token)
        .await
        .expect("user A, an editor, proves access");
    TestApp {
        http: authorized_client(&id_token, Some(&access_proof)).expect("valid header values"),
        api,
        app: Some(app),
        emulator,
        id_token,
        access_proof,
        database_url,
        customize,
        _db_dir: dir,
    }
}

/// The database the end-to-end tests run on: a SQLite file in `dir`, or with
/// `ALMANAC_TEST_DATABASE=postgres` a fresh PostgreSQL database on `ALMANAC_TEST_POSTGRES_URL`
/// (which must then be set).
///
/// # Panics
/// When `ALMANAC_TEST_DATABASE` names another database, or PostgreSQL is asked for and cannot be
/// had.
pub async fn test_database_url(dir: &std::path::Path) -> String {
    match std::env::var("ALMANAC_TEST_DATABASE").as_deref() {
        Err(_) | Ok("" | "sqlite") => format!("sqlite://{}", dir.join("almanac.db").display()),
        Ok("postgres") => {
            let admin = std::env::var(almanac_store::scratch::TEST_SERVER_VAR).unwrap_or_else(|_| {
                panic!("ALMANAC_TEST_DATABASE=postgres needs ALMANAC_TEST_POSTGRES_URL (eval \"$(bash scripts/postgres.sh)\")")
            });
            almanac_store::scratch::fresh_database(&admin, "e2e")
                .await
                .expect("a fresh PostgreSQL database")
        }
        Ok(other) => panic!("ALMANAC_TEST_DATABASE must be sqlite or postgres, not {other:?}"),
    }
}

/// A fresh PostgreSQL database for the test `test` (see `almanac_store::scratch::test_server`):
/// `None` outside CI when no server is set (the test then says so and passes); under CI a missing
/// server fails the test.
pub async fn postgres_database(test: &str) -> Option<String> {
    let admin = almanac_store::scratch::test_server(test)?;
    Some(
        almanac_store::scratch::fresh_database(&admin, test)
            .await
            .expect("a fresh PostgreSQL database"),
    )
}

/// `user`'s access proof for [`SPREADSHEET`] from the backend at `api`, got as the add-on gets it.
///
/// # Errors
/// When the backend or (emulated) Apps Script refuses: the message has the code and reason.
pub async fn prove(
    emulator: &Emulator,
    api: &str,
    user: User,
    id_token: &str,
) -> anyhow::Result<String> {
    let prover = Prover {
        api,
        id_token,
        email: user.email,
        spreadsheet_id: SPREADSHEET,
        emulator,
    };
    Ok(prover.prove().await?.proof)
}

/// The secret of access proofs in the tests' backends (kept across [`TestApp::restart`]).
pub const ACCESS_PROOF_SECRET: &str = "almanac-tests-access-proof-secret";

/// An emulator config with fast steps.
pub fn fast() -> EmulatorConfig {
    EmulatorConfig {
        step: Duration::from_millis(20),
        rows_per_step: 64,
    }
}

async fn start_backend(
    emulator: &Emulator,
    database_url: &str,
    customize: &Customize,
) -> RunningApp {
    let mut config = backend_config(emulator, database_url);
    customize(&mut config);
    Application::build(config)
        .await
        .expect("backend builds")
        .spawn()
}

/// Identity settings that trust the emulator's ID-token signer (its JWKS) for its client id.
pub fn emulated_identity(emulator: &Emulator) -> IdentitySettings {
    IdentitySettings {
        client_ids: vec![CLIENT_ID.to_owned()],
        jwks_url: emulator.jwks_url(),
        allowed_email_domains: Vec::new(),
        jwks_min_refresh: almanac::auth::verify::JWKS_MIN_REFRESH,
    }
}

/// The backend's settings for tests: the emulator for OpenAI and Google (identity tokens signed by
/// the emulator), fast polling and retries, generous job and chat rate limits.
pub fn backend_config(emulator: &Emulator, database_url: &str) -> Config {
    let mut identity = emulated_identity(emulator);
    // Tests rotate keys within a second; production waits a minute between two JWKS fetches.
    identity.jwks_min_refresh = Duration::ZERO;
    Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: database_url.to_owned(),
        openai_api_key: SecretString::from(OPENAI_KEY.to_string()),
        openai_base_url: emulator.openai_base_url(),
        google_credentials: GoogleCredentials::Key(SecretString::from(
            emulator.service_account_key_json(),
        )),
        sheets_base_url: Some(emulator.sheets_base_url()),
        worker: WorkerSettings {
            poll_interval: Duration::from_millis(25),
            retry_min_delay: Duration::from_millis(20),
            retry_max_delay: Duration::from_millis(500),
            shutdown_grace: Duration::from_secs(5),
            // Short, so that a restarted backend on PostgreSQL takes its jobs over quickly.
            lease: Duration::from_secs(1),
            ..WorkerSettings::default()
        },
        sidebar_dir: almanac::config::DEFAULT_SIDEBAR_DIR.into(),
        auth: AuthMode::GoogleIdToken(identity),
        api: ApiSettings {
            jobs_per_minute: 1_000,
            access_proof_secret: Some(SecretString::from(ACCESS_PROOF_SECRET.to_owned())),
            chat: ChatSettings {
                turns_per_minute: 1_000,
                poll_interval: Duration::from_millis(10),
                ..ChatSettings::default()
            },
            limits: LimitSettings {
                access_checks_per_user: 1_000,
                access_checks_per_spreadsheet: 1_000,
                // Many test backends run at once: each its own free port.
                metrics_bind: MetricsBind::At("127.0.0.1:0".parse().unwrap()),
                ..LimitSettings::default()
            },
            ..ApiSettings::default()
        },
    }
}

impl TestApp {
    /// Loads a CSV sheet as sheet `sheet_id` titled `title`.
    pub fn add_sheet(&self, sheet_id: i32, title: &str, csv: &str) {
        self.emulator
            .add_sheet_from_csv(SPREADSHEET, sheet_id, title, csv)
            .expect("valid CSV");
    }

    /// A client acting as `user`: a fresh ID token from the emulator's signer and, when they can
    /// edit [`SPREADSHEET`], their access proof for it (none otherwise).
    pub async fn client_as(&self, user: User) -> reqwest::Client {
        let id_token = self.emulator.id_token(user.sub, user.email, CLIENT_ID);
        let proof = prove(&self.emulator, &self.api, user, &id_token).await.ok();
        authorized_client(&id_token, proof.as_deref()).expect("valid header values")
    }

    /// A batch job request for rows `start..=end` of sheet `sheet_id`.
    pub fn request(&self, sheet_id: i32, start: u32, end: u32, model: &str) -> CreateJobRequest {
        CreateJobRequest {
            spreadsheet_id: SPREADSHEET.into(),
            sheet_id,
            rows: vec![RowSpan {
                start_row: start,
                end_row: end,
            }],
            model: model.into(),
            mode: Mode::Batch,
            overwrite: false,
        }
    }

    /// `POST /jobs`, returning the raw response.
    pub async fn post_job(&self, req: &CreateJobRequest) -> reqwest::Response {
        self.http
            .post(format!("{}/jobs", self.api))
            .json(req)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST /jobs` with [`JobOptions`] beside the request, returning the raw response.
    pub async fn post_job_with(
        &self,
        req: &CreateJobRequest,
        options: almanac_protocol::JobOptions,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}/jobs", self.api))
            .json(&almanac_protocol::NewJobRequest {
                job: req.clone(),
                options,
            })
            .send()
            .await
            .expect("request sent")
    }

    /// A request for rows `start..=end` of sheet `sheet_id` in `mode`.
    pub fn request_in(
        &self,
        sheet_id: i32,
        start: u32,
        end: u32,
        model: &str,
        mode: Mode,
    ) -> CreateJobRequest {
        CreateJobRequest {
            mode,
            ..self.request(sheet_id, start, end, model)
        }
    }

    /// `POST /jobs`, expecting 201.
    pub async fn create_job(&self, req: &CreateJobRequest) -> Job {
        let resp = self.post_job(req).await;
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert_eq!(status, 201, "create job answered {status}: {text}");
        serde_json::from_str(&text).expect("a job")
    }

    /// `POST /jobs/{id}/{action}` (`cancel`, `retry`), returning the raw response.
    pub async fn post_action(&self, id: &str, action: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/jobs/{id}/{action}", self.api))
            .send()
            .await
            .expect("request sent")
    }

    /// `GET /jobs/{id}`.
    pub async fn job(&self, id: &str) -> Job {
        let resp = self
            .http
            .get(format!("{}/jobs/{id}", self.api))
            .send()
            .await
            .expect("request sent");
        assert_eq!(resp.status(), 200);
        resp.json().await.expect("a job")
    }

    /// Polls the job until `pred` holds or 30 s pass (then panics with the last state).
    pub async fn wait_until(&self, id: &str, what: &str, pred: impl Fn(&Job) -> bool) -> Job {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let job = self.job(id).await;
            if pred(&job) {
                return job;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("job never reached {what}: {job:#?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the job has ended.
    pub async fn wait_finished(&self, id: &str) -> Job {
        self.wait_until(id, "a final status", |j| j.status.is_terminal())
            .await
    }

    /// Waits until the job has a batch running at OpenAI.
    pub async fn wait_in_progress(&self, id: &str) -> Job {
        self.wait_until(id, "in_progress", |j| j.status == JobStatus::InProgress)
            .await
    }

    /// Kills the backend as a crash would and starts a new one on the same store and emulator.
    pub async fn restart(&mut self) {
        if let Some(app) = self.app.take() {
            app.kill().await;
        }
        let app = start_backend(&self.emulator, &self.database_url, &self.customize).await;
        self.api = format!("{}/api/v1", app.base_url);
        self.app = Some(app);
    }

    /// The cell at 0-based (row, col) of sheet `sheet_id`.
    pub fn cell(&self, sheet_id: i32, row: usize, col: usize) -> String {
        self.emulator.cell(SPREADSHEET, sheet_id, row, col)
    }
}
