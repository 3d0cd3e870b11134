//! The seed backend guide's own clients (`tests/fixtures/seed-chat/`: its Python
//! `OpenAIAssistantClient` and its cURL examples, verbatim but for the base URL) run against the
//! real backend: first started with `--insecure-dev-no-auth`, as the seed's clients send no token;
//! then against a backend that checks tokens, with the test user's headers added from outside the
//! scripts. A conversation keeps its context across turns.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use almanac::config::{AuthMode, DefaultSheet};
use almanac_tests::{SPREADSHEET, TestApp, fast, spawn_app_with};
use serde_json::{Value, json};

/// The base URL the seed's clients hard-code.
const SEED_BASE_URL: &str = "https://hamtoto.kr/openai-api";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed-chat")
}

/// A backend whose chat defaults to the test spreadsheet (the seed's clients name none).
async fn backend(checks_tokens: bool) -> TestApp {
    let app = spawn_app_with(fast(), move |config| {
        if !checks_tokens {
            config.auth = AuthMode::InsecureNoAuth;
        }
        config.api.chat.default_sheet = Some(DefaultSheet {
            spreadsheet_id: SPREADSHEET.into(),
            sheet_id: 0,
        });
    })
    .await;
    app.add_sheet(0, "Events", crate::chat::EVENTS);
    app
}

/// A copy of the fixture `name` in `dir` with the seed's base URL replaced by the backend's.
fn rebased(app: &TestApp, dir: &Path, name: &str) -> PathBuf {
    let text = std::fs::read_to_string(fixtures().join(name)).expect("fixture");
    assert!(
        text.contains(SEED_BASE_URL),
        "{name} names the seed's base URL"
    );
    let base = app.api.trim_end_matches("/api/v1");
    let path = dir.join(name);
    std::fs::write(&path, text.replace(SEED_BASE_URL, base)).unwrap();
    path
}

/// Runs a program (off the async runtime) with `envs`, proxies off for the local backend.
async fn run(program: &str, script: &Path, envs: Vec<(String, String)>) -> Output {
    let mut command = Command::new(program);
    command
        .arg(script)
        .envs(envs)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("PYTHONIOENCODING", "utf-8");
    tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{program} cannot be run (it is needed by this test): {e}"))
}

/// `requests` for the seed's Python client: installed with pip when missing.
fn ensure_requests() {
    let has = Command::new("python3")
        .args(["-c", "import requests"])
        .status();
    if has.is_ok_and(|s| s.success()) {
        return;
    }
    let pip = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "--user", "requests"])
        .status()
        .expect("python3 runs");
    assert!(
        pip.success(),
        "pip could not install requests for the seed's Python client"
    );
}

/// The values after `응답: ` (answer) and `스레드 ID: ` (thread id) that the seed's usage example
/// prints.
fn printed(stdout: &[u8], label: &str) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|line| line.strip_prefix(label).map(str::to_owned))
        .collect()
}

/// Runs the seed's Python client and checks its two turns: the second sees the first.
async fn python_client(app: &TestApp, dir: &Path, envs: Vec<(String, String)>) {
    ensure_requests();
    let output = run("python3", &rebased(app, dir, "client.py"), envs).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the seed's Python client failed: {stderr}"
    );
    let answers = printed(&output.stdout, "응답: ");
    assert_eq!(
        answers,
        [
            "[emulated] You asked: \"안녕하세요!\". Earlier user turns in this conversation: 0.",
            "[emulated] You asked: \"이전에 뭘 말했는지 기억하나요?\". Earlier user turns in this conversation: 1.",
        ],
        "a conversation keeps its context"
    );
    let threads = printed(&output.stdout, "스레드 ID: ");
    assert!(threads[0].starts_with("thread_"), "{threads:?}");
}

/// Runs the seed's cURL examples and reads the three JSON answers they print back to back.
async fn curl_examples(app: &TestApp, dir: &Path, envs: Vec<(String, String)>) -> Vec<Value> {
    let output = run("bash", &rebased(app, dir, "curl.sh"), envs).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let answers: Vec<Value> = serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("not JSON answers ({e}): {text}"));
    assert_eq!(answers.len(), 3, "{text}");
    assert_eq!(answers[0]["status"], "ok");
    assert_eq!(answers[1]["role"], "assistant");
    assert!(
        answers[1]["message"]
            .as_str()
            .unwrap()
            .contains("안녕하세요!")
    );
    assert!(
        answers[1]["thread_id"]
            .as_str()
            .unwrap()
            .starts_with("thread_")
    );
    // The seed's third example continues its made-up `thread_abc123`, unknown here.
    assert_eq!(answers[2]["error"]["code"], "thread_not_found", "{text}");
    answers
}

#[tokio::test]
async fn the_seed_guides_python_client_and_curl_examples_run_unmodified_without_auth() {
    let app = backend(false).await;
    let dir = tempfile::tempdir().unwrap();
    python_client(&app, dir.path(), Vec::new()).await;
    curl_examples(&app, dir.path(), Vec::new()).await;
}

#[tokio::test]
async fn the_seed_guides_clients_run_with_tokens_added_against_a_backend_that_checks_them() {
    let app = backend(true).await;
    let dir = tempfile::tempdir().unwrap();
    // Without a token the backend refuses the seed's client.
    ensure_requests();
    let refused = run(
        "python3",
        &rebased(&app, dir.path(), "client.py"),
        Vec::new(),
    )
    .await;
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("401"),
        "{refused:?}"
    );

    let headers = json!({
        "Authorization": format!("Bearer {}", app.id_token),
        "X-Almanac-Access-Proof": app.access_proof,
    });
    let python_env = vec![
        ("PYTHONPATH".to_owned(), fixtures().display().to_string()),
        ("ALMANAC_SEED_HEADERS".to_owned(), headers.to_string()),
    ];
    python_client(&app, dir.path(), python_env).await;

    let curl_home = dir.path().join("curl-home");
    std::fs::create_dir_all(&curl_home).unwrap();
    let curlrc = format!(
        "header = \"Authorization: Bearer {}\"\nheader = \"X-Almanac-Access-Proof: {}\"\n",
        app.id_token, app.access_proof
    );
    std::fs::write(curl_home.join(".curlrc"), curlrc).unwrap();
    let curl_env = vec![("CURL_HOME".to_owned(), curl_home.display().to_string())];
    curl_examples(&app, dir.path(), curl_env).await;
}
