//! Structured logs: every line of a job's work in the worker carries the job id (from the step's
//! `job` span), and batch work the batch id (a nested `batch` span) — including lines logged deep in
//! the OpenAI client; a `wrong_audience` refusal names the `aud` the token carried, in one line a
//! minute at most however many arrive. Its own test binary, because it installs the process-wide
//! subscriber (once, for every test here: each test reads only the lines that are its own).

// A test is a scenario that reads best whole: the 80-line rule is for non-test code.
#![allow(clippy::too_many_lines)]

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use almanac_emulator::{CallFault, CallFaultKind, FaultTarget, Faults};
use almanac_protocol::JobStatus;
use almanac_tests::{KOREAN_CSV, fast, spawn_app};

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

/// The process-wide subscriber, installed by the first test that asks, writing into one capture.
fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("almanac=info"))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .init();
        capture
    })
}

#[tokio::test]
async fn every_worker_line_of_a_job_carries_its_job_id_and_batch_lines_their_batch_id() {
    let capture = capture();

    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    // One failed poll, so that the OpenAI client logs a retry from inside the step.
    app.emulator.set_faults(Faults {
        calls: vec![CallFault {
            target: FaultTarget::OpenAi,
            kind: CallFaultKind::Status(500),
            times: 1,
        }],
        ..Faults::default()
    });
    let job = app
        .create_job(&app.request(0, 2, 6, "gpt-4.1-mini-2025-04-14"))
        .await;
    let job = app.wait_finished(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:#?}");
    let batch_id = job.batch_ids[0].clone();

    let logs = capture.text();
    let job_lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("almanac::jobs::") || l.contains("almanac_openai::"))
        .filter(|l| !l.contains("worker started") && !l.contains("worker stopped"))
        // The worker's lines, not the API's (proving access, creating the job: a `request` span).
        .filter(|l| !l.contains("request{"))
        .collect();
    assert!(job_lines.len() >= 4, "the capture works: {logs}");
    for line in &job_lines {
        assert!(
            line.contains(&format!("job_id={}", job.id)),
            "a line without the job id: {line}"
        );
    }
    let retry = job_lines
        .iter()
        .find(|l| l.contains("OpenAI call failed; retrying"))
        .unwrap_or_else(|| panic!("no retry line: {logs}"));
    assert!(retry.contains("job_id="), "{retry}");
    for message in ["batch created", "batch results collected"] {
        let line = job_lines
            .iter()
            .find(|l| l.contains(message))
            .unwrap_or_else(|| panic!("no {message:?} line: {logs}"));
        assert!(
            line.contains(&format!("batch_id={batch_id}")),
            "{message}: {line}"
        );
    }
}

#[tokio::test]
async fn a_wrong_audience_refusal_is_logged_with_the_aud_the_token_carried_and_not_the_token() {
    let capture = capture();
    let app = spawn_app(fast()).await;
    // Signed by Google (the emulator's keys), addressed to an OAuth client the backend does not
    // list: what a sidebar sends when ALMANAC_OAUTH_CLIENT_IDS lacks the Apps Script project's id.
    let aud = "987654321-otherproject.apps.googleusercontent.com";
    let token = app
        .emulator
        .id_token("110000000000000000009", "carol@example.com", aud);
    let resp = reqwest::Client::new()
        .get(format!("{}/models", app.api))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "wrong_audience", "{body}");

    let logs = capture.text();
    let line = logs
        .lines()
        .find(|l| l.contains("wrong_audience") && l.contains(aud))
        .unwrap_or_else(|| panic!("no wrong_audience line naming {aud}: {logs}"));
    assert!(line.contains(" WARN "), "{line}");
    assert!(line.contains("almanac::auth::"), "{line}");
    assert!(
        line.contains(&format!("aud={aud}")),
        "the aud as a field: {line}"
    );
    assert!(
        line.contains(almanac_emulator::identity::CLIENT_ID),
        "the accepted client ids: {line}"
    );
    assert!(!logs.contains(&token), "the token itself is never logged");
}

#[tokio::test]
async fn foreign_audience_tokens_sent_in_a_row_write_one_warning_not_one_each() {
    let capture = capture();
    let app = spawn_app(fast()).await;
    let aud = "555555555-floodingproject.apps.googleusercontent.com";
    let token = app
        .emulator
        .id_token("110000000000000000005", "mallory@example.com", aud);
    for _ in 0..20 {
        let resp = reqwest::Client::new()
            .get(format!("{}/models", app.api))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "each is still refused");
    }
    let logs = capture.text();
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("wrong_audience") && l.contains(aud))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].contains("suppressed=0"), "{}", lines[0]);
}
