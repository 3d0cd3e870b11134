//! `almanac doctor` against the emulator: every check passes on good settings, and each setting
//! broken in turn (wrong OpenAI key, bad service-account key, scope missing, client ids unset or
//! malformed, JWKS unreachable, database not migrated, no sidebar bundle, CORS without Google's
//! origin) fails its own check — with what to do — and exits 1. Then
//! `GET /api/v1/health?deep=true` of a real `almanac serve`: the same checks, cached a minute,
//! 503 when one fails, no secret in the answer.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{World, code, json};

const GOOD_KEY: &str = "sk-doctor-good-key-0001";
const CLIENT_ID: &str = "123456789012-abc123def456.apps.googleusercontent.com";
const SPREADSHEETS: &str = "https://www.googleapis.com/auth/spreadsheets";
const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";

/// Settings broken in one way, the checks that must fail, those skipped, a word of the fix.
type Case = (
    BTreeMap<&'static str, String>,
    &'static [&'static str],
    &'static [&'static str],
    &'static str,
);

/// The settings of a deployment that passes every check, as environment variables.
async fn good_settings(world: &World) -> BTreeMap<&'static str, String> {
    world.emulator.set_openai_api_keys(Some(&[GOOD_KEY]));
    let key = world.write("sa.json", world.emulator.service_account_key_json());
    let db = format!("sqlite://{}", world.path("almanac.db").display());
    almanac_store::Store::connect(&db)
        .await
        .expect("migrates")
        .close()
        .await;
    let sidebar = world.path("sidebar");
    std::fs::create_dir_all(&sidebar).unwrap();
    std::fs::write(sidebar.join("almanac_sidebar_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let show = |p: std::path::PathBuf| p.display().to_string();
    BTreeMap::from([
        ("OPENAI_API_KEY", GOOD_KEY.to_owned()),
        ("OPENAI_BASE_URL", world.emulator.openai_base_url()),
        ("GOOGLE_APPLICATION_CREDENTIALS", show(key)),
        ("SHEETS_BASE_URL", world.emulator.sheets_base_url()),
        ("ALMANAC_OAUTH_CLIENT_IDS", CLIENT_ID.to_owned()),
        ("ALMANAC_JWKS_URL", world.emulator.jwks_url()),
        ("DATABASE_URL", db),
        ("ALMANAC_SIDEBAR_DIR", show(sidebar)),
    ])
}

/// `almanac doctor --json` with exactly these settings: its exit code and each check's status.
async fn doctor(world: &World, env: &BTreeMap<&'static str, String>) -> (i32, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_almanac"));
    cmd.args(["doctor", "--json"])
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir(world.dir.path());
    let out = crate::common::output(assert_cmd::Command::from_std(cmd)).await;
    (code(&out), json(&out))
}

/// `name`'s entry in a report.
fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {report}"))
}

/// Asserts that exactly `failed` failed (and `skipped` were skipped), every other check passed,
/// and each failure says what to do.
fn assert_only(report: &Value, failed: &[&str], skipped: &[&str]) {
    for c in report["checks"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let expected = if failed.contains(&name) {
            "failed"
        } else if skipped.contains(&name) {
            "skipped"
        } else {
            "ok"
        };
        assert_eq!(c["status"], expected, "{name}: {report:#}");
        if expected == "failed" {
            assert!(!c["fix"].as_str().unwrap_or("").is_empty(), "{c}");
        }
    }
}

#[tokio::test]
async fn doctor_passes_every_check_of_a_good_deployment_and_fails_each_broken_setting_alone() {
    let world = World::start().await;
    let good = good_settings(&world).await;
    let (exit, report) = doctor(&world, &good).await;
    assert_eq!(exit, 0, "{report:#}");
    assert_eq!(report["status"], "ok");
    assert_eq!(report["checks"].as_array().unwrap().len(), 8);
    assert_only(&report, &[], &[]);
    assert!(
        check(&report, "service_account")["detail"]
            .as_str()
            .unwrap()
            .contains(&world.emulator.service_account_email())
    );

    let broken = |name: &'static str, value: String| {
        let mut env = good.clone();
        env.insert(name, value);
        env
    };
    let unset = |name: &'static str| {
        let mut env = good.clone();
        env.remove(name);
        env
    };
    // Each case: the settings, the checks that must fail, those skipped, a word of the fix.
    let bad_key = world.write("not-a-key.json", "{}");
    let mut other_account: Value =
        serde_json::from_str(&world.emulator.service_account_key_json()).unwrap();
    other_account["client_email"] = "deleted@almanac-demo.iam.gserviceaccount.com".into();
    let other_account = world.write("other.json", other_account.to_string());
    let empty_db = world.write("empty.db", "");
    let no_sidebar = world.path("no-sidebar");
    let cases: Vec<Case> = vec![
        (
            broken("OPENAI_API_KEY", "sk-doctor-wrong-key-9999".into()),
            &["openai_key"],
            &[],
            "api-keys",
        ),
        (
            unset("OPENAI_API_KEY"),
            &["openai_key"],
            &[],
            "OPENAI_API_KEY",
        ),
        (
            broken(
                "GOOGLE_APPLICATION_CREDENTIALS",
                bad_key.display().to_string(),
            ),
            &["service_account"],
            &["sheets_api"],
            "JSON",
        ),
        (
            broken(
                "GOOGLE_APPLICATION_CREDENTIALS",
                other_account.display().to_string(),
            ),
            &["service_account"],
            &["sheets_api"],
            "deleted",
        ),
        (
            unset("ALMANAC_OAUTH_CLIENT_IDS"),
            &["oauth_client_ids"],
            &[],
            "apps.googleusercontent.com",
        ),
        (
            broken("ALMANAC_OAUTH_CLIENT_IDS", "my-client-id".into()),
            &["oauth_client_ids"],
            &[],
            "apps.googleusercontent.com",
        ),
        (
            broken(
                "ALMANAC_JWKS_URL",
                "http://127.0.0.1:9/oauth2/v3/certs".into(),
            ),
            &["jwks"],
            &[],
            "ALMANAC_JWKS_URL",
        ),
        (
            broken("DATABASE_URL", format!("sqlite://{}", empty_db.display())),
            &["database"],
            &[],
            "almanac serve",
        ),
        (
            broken(
                "DATABASE_URL",
                format!("sqlite://{}", world.path("missing.db").display()),
            ),
            &["database"],
            &[],
            "DATABASE_URL",
        ),
        (
            broken("ALMANAC_SIDEBAR_DIR", no_sidebar.display().to_string()),
            &["sidebar_bundle"],
            &[],
            "sidebar/build.sh",
        ),
        (
            broken("ALMANAC_CORS_ORIGINS", "https://example.com".into()),
            &["cors"],
            &[],
            "googleusercontent.com",
        ),
    ];
    for (env, failed, skipped, fix_word) in cases {
        let (exit, report) = doctor(&world, &env).await;
        assert_eq!(exit, 1, "{failed:?}: {report:#}");
        assert_eq!(report["status"], "failed");
        assert_eq!(report["exit_code"], 1);
        assert_only(&report, failed, skipped);
        let fix = check(&report, failed[0])["fix"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(fix.contains(fix_word), "{failed:?}: {fix}");
        let text = report.to_string();
        assert!(
            !text.contains(GOOD_KEY) && !text.contains("sk-doctor-wrong"),
            "{text}"
        );
        assert!(!text.contains("PRIVATE KEY"), "{text}");
    }
    assert!(
        !world.path("missing.db").exists(),
        "doctor creates no database"
    );
    world.emulator.shutdown().await;
}

#[tokio::test]
async fn doctor_on_google_cloud_finds_a_runtime_service_account_without_the_sheets_scope() {
    let world = World::start().await;
    let mut env = good_settings(&world).await;
    env.remove("GOOGLE_APPLICATION_CREDENTIALS");
    env.insert("GCE_METADATA_HOST", world.emulator.metadata_host());
    let (exit, report) = doctor(&world, &env).await;
    assert_eq!(exit, 0, "{report:#}");

    // A VM created with the default access scope: its tokens carry cloud-platform only.
    world
        .emulator
        .set_metadata_access_scopes(Some(&[CLOUD_PLATFORM]));
    let (exit, report) = doctor(&world, &env).await;
    assert_eq!(exit, 1, "{report:#}");
    assert_only(&report, &["sheets_api"], &[]);
    let sheets = check(&report, "sheets_api");
    assert!(
        sheets["detail"]
            .as_str()
            .unwrap()
            .contains("ACCESS_TOKEN_SCOPE_INSUFFICIENT"),
        "{sheets}"
    );
    assert!(sheets["fix"].as_str().unwrap().contains(SPREADSHEETS));

    // No key file and no metadata server: the service account fails, the Sheets API is skipped.
    env.insert("GCE_METADATA_HOST", "127.0.0.1:9".into());
    let (exit, report) = doctor(&world, &env).await;
    assert_eq!(exit, 1);
    assert_only(&report, &["service_account"], &["sheets_api"]);
    world.emulator.shutdown().await;
}

#[tokio::test]
async fn doctor_prints_a_mark_and_what_to_do_for_each_check() {
    let world = World::start().await;
    let mut env = good_settings(&world).await;
    env.insert("ALMANAC_CORS_ORIGINS", "https://example.com".into());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_almanac"));
    cmd.arg("doctor")
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir(world.dir.path());
    let out = crate::common::output(assert_cmd::Command::from_std(cmd)).await;
    assert_eq!(code(&out), 1);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("✓ OpenAI API key"), "{text}");
    assert!(text.contains("✗ CORS"), "{text}");
    assert!(
        text.contains("→ add https://n-*-script.googleusercontent.com"),
        "{text}"
    );
    assert!(text.contains("1 of 8 checks failed"), "{text}");
    world.emulator.shutdown().await;
}

/// `almanac serve` with `env`, until dropped.
struct Serve {
    child: Child,
    api: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn serve(world: &World, env: &BTreeMap<&'static str, String>) -> Serve {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_almanac"))
        .arg("serve")
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("ALMANAC_BIND", format!("127.0.0.1:{port}"))
        .current_dir(world.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the almanac binary starts");
    let server = Serve {
        child,
        api: format!("http://127.0.0.1:{port}/api/v1"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{}/health", server.api))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "the server never answered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server
}

async fn get(url: &str) -> (u16, Value) {
    let resp = reqwest::get(url).await.expect("GET");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("JSON"))
}

#[tokio::test]
async fn the_deep_health_check_runs_the_same_checks_caches_them_a_minute_and_answers_503_on_a_failure()
 {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let world = World::start().await;
    let good = good_settings(&world).await;
    let server = serve(&world, &good).await;
    let (status, plain) = get(&format!("{}/health", server.api)).await;
    assert_eq!(status, 200);
    assert_eq!(plain["status"], "ok");
    assert!(
        plain.get("checks").is_none(),
        "plain health unchanged: {plain}"
    );

    let (status, deep) = get(&format!("{}/health?deep=true", server.api)).await;
    assert_eq!(status, 200, "{deep:#}");
    assert_eq!(deep["status"], "ok");
    assert_only(&deep, &[], &[]);
    let text = deep.to_string();
    assert!(
        !text.contains(GOOD_KEY) && !text.contains("PRIVATE KEY"),
        "{text}"
    );

    // The key is revoked: within the minute the cached answer stands (no new outside calls).
    world
        .emulator
        .set_openai_api_keys(Some(&["sk-another-key-0002"]));
    let (status, again) = get(&format!("{}/health?deep=true", server.api)).await;
    assert_eq!(status, 200);
    assert_eq!(again["checked_at"], deep["checked_at"]);
    drop(server);

    // A server whose sidebar bundle is missing and whose key is refused answers 503.
    let mut broken = good.clone();
    broken.insert(
        "ALMANAC_SIDEBAR_DIR",
        world.path("no-sidebar").display().to_string(),
    );
    let server = serve(&world, &broken).await;
    let (status, deep) = get(&format!("{}/health?deep=true", server.api)).await;
    assert_eq!(status, 503, "{deep:#}");
    assert_eq!(deep["status"], "failed");
    assert_only(&deep, &["openai_key", "sidebar_bundle"], &[]);
    let (status, _) = get(&format!("{}/health?deep=maybe", server.api)).await;
    assert_eq!(status, 400);
    drop(server);
    world.emulator.shutdown().await;
}
