//! Secrets never leak: the tracing output of the demo and of a whole job, at TRACE for every crate
//! (the OAuth, HTTP and TLS clients included) through the backend's own subscriber
//! (`almanac::logs`), error bodies and API answers hold neither the OpenAI key, the service
//! account's private key or signed assertion, an access token, an ID token, an access proof nor a
//! nonce. Its own test binary, because it installs the process-wide subscriber.

// A test is a scenario that reads best whole: the 80-line rule is for non-test code.
#![allow(clippy::too_many_lines)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use almanac_emulator::oauth::PRIVATE_KEY_PEM;
use almanac_protocol::JobStatus;
use almanac_tests::{KOREAN_CSV, OPENAI_KEY, fast, spawn_app};

/// A writer into a shared buffer, for `tracing_subscriber`.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The shapes of every credential the emulator and the backend issue, found anywhere in `text`:
/// Google access tokens (`ya29.…`: the service account's, the metadata server's, a user's), JWTs
/// (`eyJ…`: ID tokens and the service account's signed assertion, also inside a form body as
/// `assertion=`), the backend's nonces (`ap1.<exp>.…`) and proofs (`pp1.<exp>.…`), and the
/// OpenAI keys of the demo and the tests.
fn credential_shapes(text: &str) -> Vec<&str> {
    let numbered = |line: &str, prefix: &str| {
        line.match_indices(prefix).any(|(at, _)| {
            line[at + prefix.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
    };
    text.lines()
        .filter(|line| {
            line.contains("ya29.")
                || line.contains("eyJ")
                || line.contains("assertion=")
                || numbered(line, "ap1.")
                || numbered(line, "pp1.")
                || line.contains(almanac_demo::DEMO_OPENAI_KEY)
                || line.contains(OPENAI_KEY)
        })
        .collect()
}

#[tokio::test]
async fn the_demo_and_a_whole_job_log_and_answer_no_secret_at_trace_level() {
    let capture = Capture::default();
    let writer = capture.clone();
    // Everything at TRACE, as `RUST_LOG=trace` would ask of `almanac serve`.
    assert!(almanac::logs::install(
        tracing_subscriber::EnvFilter::new("trace"),
        move || writer.clone(),
        false,
    ));

    // The demo, as `almanac demo` runs it (its own emulator, service account and keys).
    almanac::cli::demo::run(almanac::cli::demo::DemoCommand {
        demo: almanac_demo::DemoArgs {
            sheet: None,
            rows: Some("2:5".into()),
            model: None,
            overwrite: false,
            database_url: None,
            step_ms: 20,
            serve: false,
            bind: "127.0.0.1:0".parse().unwrap(),
            token_file: None,
            jobs_per_minute: 10,
        },
        sidebar_dir: almanac::config::DEFAULT_SIDEBAR_DIR.into(),
    })
    .await
    .expect("the demo runs");
    let demo_logs = capture.text();
    assert!(
        demo_logs.contains("job created"),
        "the demo's lines are captured"
    );

    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    let mut answers = String::new();
    let job = app
        .create_job(&app.request(0, 2, 17, "gpt-4.1-mini-2025-04-14"))
        .await;
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    answers.push_str(&serde_json::to_string(&job).unwrap());
    // Refusals too: a bad ID token, a bad access proof, an unknown job.
    for resp in [
        reqwest::Client::new()
            .get(format!("{}/models", app.api))
            .bearer_auth(format!("{}x", app.id_token))
            .send()
            .await
            .unwrap(),
        reqwest::Client::new()
            .post(format!("{}/jobs", app.api))
            .bearer_auth(&app.id_token)
            .header("x-almanac-access-proof", format!("{}x", app.access_proof))
            .json(&app.request(0, 2, 3, "gpt-4.1-mini-2025-04-14"))
            .send()
            .await
            .unwrap(),
        app.http
            .get(format!("{}/jobs/nope", app.api))
            .send()
            .await
            .unwrap(),
    ] {
        answers.push_str(&resp.text().await.unwrap());
    }

    let logs = capture.text();
    assert!(logs.contains("job created"), "the capture works: {logs}");
    for level in ["TRACE", "DEBUG"] {
        assert!(logs.contains(level), "{level} lines are captured");
    }
    let key_line = PRIVATE_KEY_PEM
        .lines()
        .nth(3)
        .expect("a line of the key body");
    let mut secrets = vec![
        OPENAI_KEY.to_owned(),
        key_line.to_owned(),
        app.id_token.clone(),
        app.id_token.rsplit('.').next().unwrap().to_owned(),
        app.access_proof.clone(),
    ];
    let issued = app.emulator.issued_access_tokens();
    assert!(
        issued.iter().any(|t| t.starts_with("ya29.emulated-")),
        "the service account got an access token: {issued:?}"
    );
    secrets.extend(issued);
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "the logs hold a secret: {secret}"
        );
        assert!(
            !answers.contains(secret.as_str()),
            "an answer holds a secret: {secret}"
        );
    }
    let leaks = credential_shapes(&logs);
    assert!(
        leaks.is_empty(),
        "{} log lines hold a credential, first: {}",
        leaks.len(),
        leaks[0]
    );
    assert!(credential_shapes(&answers).is_empty(), "{answers}");
}
