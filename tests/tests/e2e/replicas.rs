//! Several replicas on one PostgreSQL (skipped with a message when `ALMANAC_TEST_POSTGRES_URL` is
//! unset outside CI; under CI a missing server fails): three backends in this process, each with
//! its own worker, pacer and event streams, sharing one fresh database.
//!
//! - realtime jobs running on three replicas at once stay within the account's RPM/TPM limits
//!   together (the pacer's buckets are shared through the database): (near) no 429s;
//! - a sidebar connected to one replica sees the live progress of a job another replica runs;
//! - SIGTERM-style shutdown gives the replica's leases back: another replica continues the job at
//!   once.

use almanac_core::ids::JobId;
use std::collections::BTreeSet;
use std::time::Duration;

use almanac::api::{AppState, Authenticator};
use almanac::app::{Application, RunningApp};
use almanac::auth::IdTokenVerifier;
use almanac::config::AuthMode;
use almanac::jobs::{JobService, Services};
use almanac_emulator::ratelimit::ChatLimits;
use almanac_emulator::{Emulator, HoldPoint};
use almanac_protocol::{JobEvent, JobStatus, Mode};
use almanac_tests::{
    ENGLISH_CSV, SPREADSHEET, USER_A, backend_config, fast, postgres_database, prove,
};
use futures::StreamExt;
use std::sync::Arc;

const MODEL: &str = "gpt-4.1-nano-2025-04-14";

/// A replica: the running backend, its services, and an HTTP client as user A.
struct Replica {
    app: Option<RunningApp>,
    svc: Arc<Services>,
    api: String,
    http: reqwest::Client,
}

async fn replica(
    emulator: &Emulator,
    url: &str,
    tune: impl Fn(&mut almanac::config::Config),
) -> Replica {
    let mut config = backend_config(emulator, url);
    tune(&mut config);
    let app = Application::build(config).await.expect("backend builds");
    let svc = app.services().clone();
    let app = app.spawn();
    let id_token = emulator.id_token(
        USER_A.sub,
        USER_A.email,
        almanac_emulator::identity::CLIENT_ID,
    );
    let api = format!("{}/api/v1", app.base_url);
    let proof = prove(emulator, &api, USER_A, &id_token).await.unwrap();
    Replica {
        api,
        app: Some(app),
        svc,
        http: almanac_demo::authorized_client(&id_token, Some(&proof)).unwrap(),
    }
}

async fn emulator() -> Emulator {
    almanac::app::install_crypto_provider();
    let emulator = Emulator::start(fast()).await.unwrap();
    emulator.share(SPREADSHEET, USER_A.email);
    emulator
        .add_sheet_from_csv(SPREADSHEET, 0, "Events", ENGLISH_CSV)
        .unwrap();
    emulator
}

impl Replica {
    async fn create(&self, start: u32, end: u32, mode: Mode) -> String {
        let req = almanac_protocol::CreateJobRequest {
            spreadsheet_id: SPREADSHEET.into(),
            sheet_id: 0,
            rows: vec![almanac_protocol::RowSpan {
                start_row: start,
                end_row: end,
            }],
            model: MODEL.into(),
            mode,
            overwrite: false,
        };
        let resp = self
            .http
            .post(format!("{}/jobs", self.api))
            .json(&req)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
        resp.json::<almanac_protocol::Job>().await.unwrap().id
    }

    async fn status(&self, id: &str) -> JobEvent {
        self.http
            .get(format!("{}/jobs/{id}/status", self.api))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn wait_finished(&self, ids: &[String]) -> Vec<JobEvent> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            let mut all = Vec::new();
            for id in ids {
                all.push(self.status(id).await);
            }
            if all.iter().all(|e| e.status.is_terminal()) {
                return all;
            }
            assert!(tokio::time::Instant::now() < deadline, "{all:#?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn realtime_jobs_on_three_replicas_share_the_accounts_rate_limits() {
    let Some(url) =
        postgres_database("realtime_jobs_on_three_replicas_share_the_accounts_rate_limits").await
    else {
        return;
    };
    let emulator = emulator().await;
    let (rpm, tpm) = (1_800u64, 20_000_000u64);
    emulator.set_chat_limits(Some(ChatLimits {
        requests_per_minute: Some(rpm),
        tokens_per_minute: Some(tpm),
        burst_seconds: 1.0,
        latency: Duration::from_millis(100),
    }));
    let mut replicas = Vec::new();
    for _ in 0..3 {
        // One run per replica: the three jobs run on three replicas at once.
        replicas.push(replica(&emulator, &url, |c| c.api.cost.max_runs = 1).await);
    }
    let mut ids = Vec::new();
    for (i, r) in replicas.iter().enumerate() {
        let start = 2 + 100 * i as u32;
        ids.push(r.create(start, start + 99, Mode::Realtime).await);
    }
    let mut holders = BTreeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        for id in &ids {
            if let Some((owner, _)) = replicas[0]
                .svc
                .store
                .lease_holder(&JobId::from(id.as_str()))
                .await
                .unwrap()
            {
                holders.insert(owner);
            }
        }
        let done = replicas[0].wait_finished_quick(&ids).await;
        if done {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let finished = replicas[0].wait_finished(&ids).await;
    for event in &finished {
        assert_eq!(event.status, JobStatus::Completed, "{event:#?}");
        assert_eq!(event.row_counts.done, 100, "{event:#?}");
    }
    let stats = emulator.chat_limit_stats();
    let names: BTreeSet<String> = replicas.iter().map(|r| r.svc.replica.clone()).collect();
    assert!(holders.is_subset(&names), "{holders:?} {names:?}");
    let sustained = stats.accepted as f64 - rpm as f64 / 60.0;
    let fraction = sustained / (stats.span_seconds / 60.0) / rpm as f64;
    println!(
        "3 replicas ran realtime jobs ({} held leases): {} calls accepted over {:.1} s, {} 429s; {:.0} RPM = {fraction:.3} of the {rpm} RPM limit",
        holders.len(),
        stats.accepted,
        stats.span_seconds,
        stats.throttled,
        sustained / (stats.span_seconds / 60.0),
    );
    assert!(
        holders.len() >= 2,
        "the jobs ran on one replica only: {holders:?}"
    );
    assert_eq!(stats.accepted, 300, "{stats:?}");
    assert!(
        stats.throttled <= 3,
        "the replicas together passed the limits: {stats:?}"
    );
    for r in &mut replicas {
        r.app.take().unwrap().shutdown().await;
    }
}

impl Replica {
    /// True when every job has ended.
    async fn wait_finished_quick(&self, ids: &[String]) -> bool {
        for id in ids {
            if !self.status(id).await.status.is_terminal() {
                return false;
            }
        }
        true
    }
}

/// A replica that serves the API (and follows the others' announcements) but runs no worker, as
/// a sidebar's replica that happens to run none of the job's steps.
async fn api_only(emulator: &Emulator, url: &str) -> (String, reqwest::Client) {
    let config = backend_config(emulator, url);
    let built = Application::build(config.clone()).await.unwrap();
    let svc = built.services().clone();
    let chat = built.chat().clone();
    drop(built);
    let AuthMode::GoogleIdToken(identity) = config.auth else {
        unreachable!("the tests authenticate with ID tokens")
    };
    let auth = Authenticator::GoogleIdToken(Arc::new(IdTokenVerifier::new(identity)));
    let state = AppState::new(JobService::new(svc.clone()), chat, auth, config.api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}/api/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, almanac::api::router(state)).await });
    tokio::spawn(almanac::jobs::queue::events::follow(svc));
    let id_token = emulator.id_token(
        USER_A.sub,
        USER_A.email,
        almanac_emulator::identity::CLIENT_ID,
    );
    // A proof got from this replica is good on every replica that shares the secret.
    let proof = prove(emulator, &api, USER_A, &id_token).await.unwrap();
    (
        api,
        almanac_demo::authorized_client(&id_token, Some(&proof)).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sidebar_on_one_replica_follows_a_job_another_runs_and_a_shutdown_hands_it_over_at_once()
{
    let Some(url) = postgres_database("a_sidebar_on_one_replica_follows_a_job_another_runs").await
    else {
        return;
    };
    let emulator = emulator().await;
    // Long leases: the job can only move on before they expire if A gives its lease back.
    let long = |c: &mut almanac::config::Config| c.worker.lease = Duration::from_secs(60);
    let mut a = replica(&emulator, &url, long).await;
    let (b_api, b_http) = api_only(&emulator, &url).await;
    // A holds back its write until the test is ready.
    // The batch waits until B's sidebar follows the job.
    emulator.hold_batches(true);
    let id = a.create(2, 9, Mode::Batch).await;
    let mut write = emulator.hold_next(HoldPoint::ValuesBatchGet);
    // A sidebar on B (which runs no step) follows the job A runs.
    let stream = b_http
        .get(format!("{b_api}/jobs/{id}/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut events = eventsource_stream::EventStream::new(stream.bytes_stream());
    emulator.hold_batches(false);
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(50);
    while let Ok(Some(Ok(event))) = tokio::time::timeout_at(deadline, events.next()).await {
        let event: JobEvent = serde_json::from_str(&event.data).unwrap();
        seen.push(event.status);
        if event.status == JobStatus::Writing {
            break;
        }
    }
    assert!(
        seen.len() >= 2 && !seen[0].is_terminal() && seen.contains(&JobStatus::Writing),
        "B's stream shows A's progress live: {seen:?}"
    );
    assert!(
        tokio::time::timeout(Duration::from_secs(30), write.reached())
            .await
            .unwrap()
    );
    // A is stuck in the write step, holding the lease; C starts, A shuts down: A's lease is given
    // back and C takes the job over at once (long before the 60 s lease would have expired).
    let c = replica(&emulator, &url, long).await;
    a.app.take().unwrap().shutdown().await;
    drop(write);
    while let Ok(Some(Ok(event))) = tokio::time::timeout_at(deadline, events.next()).await {
        let event: JobEvent = serde_json::from_str(&event.data).unwrap();
        seen.push(event.status);
        if event.status.is_terminal() {
            break;
        }
    }
    assert_eq!(seen.last(), Some(&JobStatus::Completed), "{seen:?}");
    assert_eq!(c.status(&id).await.row_counts.done, 8);
    let writes = emulator.cell_writes(SPREADSHEET, 0);
    assert_eq!(writes.len(), 8 * 4);
    assert!(writes.values().all(|n| *n == 1), "{writes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idempotency_key_holds_across_replicas() {
    let Some(url) = postgres_database("an_idempotency_key_holds_across_replicas").await else {
        return;
    };
    let emulator = emulator().await;
    emulator.hold_batches(true);
    let (api_a, http_a) = api_only(&emulator, &url).await;
    let (api_b, http_b) = api_only(&emulator, &url).await;
    let req = almanac_protocol::CreateJobRequest {
        spreadsheet_id: SPREADSHEET.into(),
        sheet_id: 0,
        rows: vec![almanac_protocol::RowSpan {
            start_row: 2,
            end_row: 4,
        }],
        model: MODEL.into(),
        mode: Mode::Batch,
        overwrite: false,
    };
    let post = |http: &reqwest::Client, api: &str, key: &str| {
        http.post(format!("{api}/jobs"))
            .header(almanac_protocol::IDEMPOTENCY_KEY_HEADER, key)
            .json(&req)
            .send()
    };
    let first = post(&http_a, &api_a, "one-click").await.unwrap();
    assert_eq!(first.status(), 201);
    let first = first.text().await.unwrap();
    // The retry lands on the other replica: the first answer, and no second job.
    let again = post(&http_b, &api_b, "one-click").await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.text().await.unwrap(), first);
    let list: serde_json::Value = http_b
        .get(format!("{api_b}/jobs?spreadsheet_id={SPREADSHEET}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["jobs"].as_array().unwrap().len(), 1, "{list}");
}

#[tokio::test]
async fn one_users_open_streams_are_capped_across_replicas() {
    let Some(url) = postgres_database("one_users_open_streams_are_capped_across_replicas").await
    else {
        return;
    };
    let emulator = emulator().await;
    emulator.hold_batches(true);
    let (api_a, http_a) = api_only(&emulator, &url).await;
    let (api_b, http_b) = api_only(&emulator, &url).await;
    let req = almanac_protocol::CreateJobRequest {
        spreadsheet_id: SPREADSHEET.into(),
        sheet_id: 0,
        rows: vec![almanac_protocol::RowSpan {
            start_row: 2,
            end_row: 4,
        }],
        model: MODEL.into(),
        mode: Mode::Batch,
        overwrite: false,
    };
    let created = http_a
        .post(format!("{api_a}/jobs"))
        .json(&req)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let job: serde_json::Value = created.json().await.unwrap();
    let id = job["id"].as_str().unwrap();
    // The default cap (8), all held on replica A: the job does not end, so its streams stay open.
    let mut open = Vec::new();
    for _ in 0..8 {
        let resp = http_a
            .get(format!("{api_a}/jobs/{id}/events"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        open.push(resp);
    }
    let refused = http_b
        .get(format!("{api_b}/jobs/{id}/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        429,
        "replica B counts replica A's streams"
    );
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_streams", "{body}");
    // A stream closed on A gives its slot back to every replica.
    drop(open.pop());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let resp = http_b
            .get(format!("{api_b}/jobs/{id}/events"))
            .send()
            .await
            .unwrap();
        if resp.status() == 200 {
            break;
        }
        assert_eq!(resp.status(), 429);
        assert!(
            std::time::Instant::now() < deadline,
            "the closed stream's slot never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
