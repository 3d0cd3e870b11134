//! Secrets never leak: the tracing output of a whole job (TRACE for Almanac's crates), error bodies
//! and API answers hold neither the OpenAI key, the service account's private key, an access token
//! nor an ID token. Its own test binary, because it installs the process-wide subscriber.

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

#[tokio::test]
async fn a_whole_job_logs_and_answers_no_secret_at_trace_level() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "almanac=trace,almanac_emulator=trace,almanac_tests=trace,tower_http=trace",
        ))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

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
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "verbose levels are captured"
    );
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
}
