//! Structured logs: every line of a job's work in the worker carries the job id (from the step's
//! `job` span), and batch work the batch id (a nested `batch` span) — including lines logged deep in
//! the OpenAI client. Its own test binary, because it installs the process-wide subscriber.

// A test is a scenario that reads best whole: the 80-line rule is for non-test code.
#![allow(clippy::too_many_lines)]

use std::io::Write;
use std::sync::{Arc, Mutex};

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

#[tokio::test]
async fn every_worker_line_of_a_job_carries_its_job_id_and_batch_lines_their_batch_id() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("almanac=info"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

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

    let logs = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    let job_lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("almanac::jobs::") || l.contains("almanac_openai::"))
        .filter(|l| !l.contains("worker started") && !l.contains("worker stopped"))
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
