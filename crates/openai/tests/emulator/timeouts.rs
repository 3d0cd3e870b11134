//! Timeouts of OpenAI calls, against the emulator answering late (`CallFaultKind::Delay`: the call
//! is carried out, then its answer waits): a late poll is retried by the client's transport; a
//! late batch creation is *not* replayed (that could create and bill a second batch) but reported
//! as transient, and the batch it created is found again by job id — what the worker does before
//! every create.

use std::time::Duration;

use almanac_core::catalog::Catalog;
use almanac_core::domain::{RowId, RowInput};
use almanac_emulator::{CallFault, CallFaultKind, Emulator, EmulatorConfig, FaultTarget, Faults};
use almanac_openai::BatchClient;
use almanac_openai::RetryPolicy;
use almanac_openai::jsonl::write_jsonl;
use secrecy::SecretString;

async fn start() -> (Emulator, BatchClient) {
    crate::install_crypto_provider();
    let emulator = Emulator::start(EmulatorConfig {
        step: Duration::from_millis(5),
        rows_per_step: 64,
    })
    .await
    .unwrap();
    let client = BatchClient::with_policy(
        &SecretString::from("sk-timeouts"),
        &emulator.openai_base_url(),
        RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
            request_timeout: Duration::from_millis(300),
            ..RetryPolicy::default()
        },
    );
    (emulator, client)
}

async fn upload(client: &BatchClient) -> String {
    let spec = Catalog::builtin()
        .resolve("gpt-4.1-nano-2025-04-14")
        .unwrap();
    let rows = vec![RowInput {
        id: RowId::parse("01-01").unwrap(),
        title: "Castro expels Cuban President Batista".into(),
    }];
    let mut jsonl = Vec::new();
    write_jsonl(spec, &rows, &mut jsonl).unwrap();
    client.upload_jsonl("rows.jsonl", jsonl).await.unwrap()
}

fn late(target: FaultTarget, times: usize) -> Faults {
    Faults {
        calls: vec![CallFault {
            target,
            kind: CallFaultKind::Delay(Duration::from_secs(2)),
            times,
        }],
        ..Faults::default()
    }
}

#[tokio::test]
async fn a_poll_that_times_out_is_retried_and_succeeds() {
    let (emulator, client) = start().await;
    let file = upload(&client).await;
    let batch = client.create_batch(&file, "job-timeouts").await.unwrap();
    emulator.set_faults(late(FaultTarget::OpenAi, 1));
    let before = emulator.calls().batches_retrieve;
    let info = client.retrieve_batch(&batch.id).await.unwrap();
    assert_eq!(info.id, batch.id);
    assert_eq!(
        emulator.calls().batches_retrieve - before,
        2,
        "one timed-out attempt, then one that answered"
    );
}

#[tokio::test]
async fn a_batch_creation_that_times_out_is_not_replayed_and_the_created_batch_is_found_again() {
    let (emulator, client) = start().await;
    let file = upload(&client).await;
    emulator.set_faults(late(FaultTarget::OpenAiBatchCreate, 1));
    let err = client.create_batch(&file, "job-late").await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert_eq!(emulator.calls().batches_create, 1, "not replayed");
    let found = client
        .find_batch_for_job("job-late", &file)
        .await
        .unwrap()
        .expect("the batch created before the timeout");
    assert_eq!(emulator.batches().len(), 1);
    assert_eq!(emulator.batches()[0]["id"], found.id.as_str());
}
