//! The chat store's tests, on SQLite and (when `ALMANAC_TEST_POSTGRES_URL` is set) PostgreSQL.

use almanac_protocol::chat::{Role, RunStatus};
use almanac_protocol::{ErrorCode, TokenUsage};
use chrono::{DateTime, Utc};

use super::*;
use crate::pool::on_pool;
use crate::{Store, scratch, timestamp};

/// A fresh store on each backend: SQLite in memory, and PostgreSQL when a test server is set.
async fn backends(test: &str) -> Vec<Store> {
    let mut stores = vec![Store::connect("sqlite::memory:").await.unwrap()];
    if let Some(admin) = scratch::test_server(test) {
        let url = scratch::fresh_database(&admin, "chat").await.unwrap();
        stores.push(Store::connect(&url).await.unwrap());
    }
    stores
}

/// The cutoff a caller passes with a run timeout of ten minutes.
fn ten_minutes_ago() -> DateTime<Utc> {
    Utc::now() - chrono::Duration::minutes(10)
}

fn thread(id: &str) -> NewThread {
    NewThread {
        id: id.into(),
        owner: "user-a".into(),
        spreadsheet_id: "sheet".into(),
        sheet_id: 0,
    }
}

fn run(id: &str, thread_id: &str) -> NewRun {
    NewRun {
        id: id.into(),
        thread_id: thread_id.into(),
        model: "gpt-4.1-mini-2025-04-14".into(),
        est_cost_usd: 0.01,
        stale_before: ten_minutes_ago(),
    }
}

fn end(status: RunStatus, containers: &[&str]) -> RunEnd {
    RunEnd {
        status,
        usage: TokenUsage {
            input_tokens: 100,
            cached_input_tokens: 0,
            output_tokens: 20,
            reasoning_tokens: 0,
        },
        error: (status != RunStatus::Completed)
            .then(|| (ErrorCode::parse("server_error"), "x".into())),
        incomplete_reason: None,
        containers: containers.iter().map(|c| c.to_string()).collect(),
    }
}

/// Makes a run look `minutes` old, as if its replica had died then.
async fn backdate(store: &Store, run_id: &str, minutes: i64) {
    let created = timestamp(Utc::now() - chrono::Duration::minutes(minutes));
    on_pool!(store.pool(), p => sqlx::query("UPDATE chat_runs SET created_at = $1 WHERE id = $2")
        .bind(&created)
        .bind(run_id)
        .execute(p)
        .await
        .unwrap()
        .rows_affected());
}

#[tokio::test]
async fn a_completed_run_stores_its_messages_and_files_at_once_and_ends_once() {
    for store in
        backends("a_completed_run_stores_its_messages_and_files_at_once_and_ends_once").await
    {
        store.insert_chat_thread(&thread("t1")).await.unwrap();
        let m1 = store
            .insert_chat_message(&"t1".into(), "m1", "hello")
            .await
            .unwrap();
        assert_eq!((m1.seq, m1.role, m1.run_id), (1, Role::User, None));
        assert!(store.insert_chat_run(&run("r1", "t1")).await.unwrap());
        assert!(
            !store.insert_chat_run(&run("r2", "t1")).await.unwrap(),
            "one unfinished run per thread"
        );
        let answer = Answer {
            question: None,
            sent: vec!["m1".into()],
            reply: ("m2".into(), "hi".into(), "[]".into()),
            files: vec![NewFile {
                id: "f1".into(),
                filename: "chart.png".into(),
                mime_type: "image/png".into(),
                content: vec![1, 2, 3],
                container_id: "cntr_1".into(),
                source_id: "cfile_1".into(),
            }],
        };
        let done = end(RunStatus::Completed, &["cntr_1"]);
        assert!(
            store
                .end_chat_run(&"r1".into(), &done, Some(&answer))
                .await
                .unwrap()
        );
        assert!(
            !store
                .end_chat_run(&"r1".into(), &done, Some(&answer))
                .await
                .unwrap()
        );
        let messages = store.chat_messages(&"t1".into(), false, 10).await.unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].run_id.as_deref(), Some("r1"));
        assert_eq!((messages[1].seq, messages[1].role), (2, Role::Assistant));
        assert!(
            store
                .pending_chat_messages(&"t1".into())
                .await
                .unwrap()
                .is_empty()
        );
        let (file, bytes) = store
            .chat_file_content(&"t1".into(), "f1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((file.message_id.as_str(), bytes), ("m2", vec![1, 2, 3]));
        assert_eq!(store.chat_files(&"t1".into()).await.unwrap()[0].bytes, 3);
        assert_eq!(store.chat_context_tokens(&"t1".into()).await.unwrap(), 120);
        assert_eq!(store.chat_run_containers(&"r1".into()).await.unwrap(), 1);
        let r1 = store.chat_run(&"r1".into()).await.unwrap().unwrap();
        assert_eq!(
            (r1.status, r1.usage().output_tokens),
            (RunStatus::Completed, 20)
        );
    }
}

#[tokio::test]
async fn a_failed_run_keeps_its_usage_but_no_message_and_a_container_is_charged_once() {
    for store in
        backends("a_failed_run_keeps_its_usage_but_no_message_and_a_container_is_charged_once")
            .await
    {
        store.insert_chat_thread(&thread("t1")).await.unwrap();
        store.insert_chat_run(&run("r1", "t1")).await.unwrap();
        let failed = end(RunStatus::Failed, &["cntr_1"]);
        assert!(
            store
                .end_chat_run(&"r1".into(), &failed, None)
                .await
                .unwrap()
        );
        assert_eq!(store.count_chat_messages(&"t1".into()).await.unwrap(), 0);
        store.insert_chat_run(&run("r2", "t1")).await.unwrap();
        let again = end(RunStatus::Completed, &["cntr_1", "cntr_2"]);
        let answer = Answer {
            question: Some(("m1".into(), "q".into())),
            sent: Vec::new(),
            reply: ("m2".into(), "a".into(), "[]".into()),
            files: Vec::new(),
        };
        store
            .end_chat_run(&"r2".into(), &again, Some(&answer))
            .await
            .unwrap();
        let month = store
            .chat_runs_since(
                crate::cost::SpendScope::Spreadsheet("sheet"),
                DateTime::UNIX_EPOCH,
            )
            .await
            .unwrap();
        let containers: Vec<i64> = month.iter().map(|r| r.containers).collect();
        assert_eq!(containers.iter().sum::<i64>(), 2, "{containers:?}");
        assert_eq!(month[0].usage().input_tokens, 100);
        let mut per_run = store.chat_thread_containers(&"t1".into()).await.unwrap();
        per_run.sort();
        assert_eq!(per_run, [("r1".into(), 1), ("r2".into(), 1)]);
        store.insert_chat_run(&run("r3", "t1")).await.unwrap();
        // At start-up everything created before now is stale (one process, or all of them,
        // restarted).
        assert_eq!(
            store
                .interrupt_chat_runs(
                    &STALE_RUN_CODE,
                    "restart",
                    Utc::now() + chrono::Duration::seconds(1)
                )
                .await
                .unwrap(),
            1
        );
        let r3 = store.chat_run(&"r3".into()).await.unwrap().unwrap();
        assert_eq!(
            (r3.status, r3.error_code.clone()),
            (RunStatus::Failed, Some(STALE_RUN_CODE))
        );
        assert!(store.active_chat_run(&"t1".into()).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn only_stale_runs_are_interrupted_and_a_stale_run_does_not_block_its_thread() {
    for store in
        backends("only_stale_runs_are_interrupted_and_a_stale_run_does_not_block_its_thread").await
    {
        for t in ["t1", "t2"] {
            store.insert_chat_thread(&thread(t)).await.unwrap();
        }
        assert!(store.insert_chat_run(&run("fresh", "t1")).await.unwrap());
        assert!(store.insert_chat_run(&run("old", "t2")).await.unwrap());
        store.start_chat_run(&"old".into()).await.unwrap();
        backdate(&store, "old", 20).await;
        // Another replica starts: it fails the run whose replica died, not the live one.
        let failed = store
            .interrupt_chat_runs(&STALE_RUN_CODE, "restart", ten_minutes_ago())
            .await
            .unwrap();
        assert_eq!(failed, 1);
        let (fresh, old) = (
            store.chat_run(&"fresh".into()).await.unwrap().unwrap(),
            store.chat_run(&"old".into()).await.unwrap().unwrap(),
        );
        assert_eq!(fresh.status, RunStatus::Queued);
        assert_eq!(
            (
                old.status,
                old.error_code.clone(),
                old.error_message.as_deref()
            ),
            (RunStatus::Failed, Some(STALE_RUN_CODE), Some("restart"))
        );
        assert!(old.completed_at.is_some());
        // A live run still blocks its thread; a stale one is failed by the next run's insert.
        assert!(!store.insert_chat_run(&run("second", "t1")).await.unwrap());
        assert_eq!(
            store
                .chat_run(&"fresh".into())
                .await
                .unwrap()
                .unwrap()
                .status,
            RunStatus::Queued
        );
        backdate(&store, "fresh", 11).await;
        assert!(store.insert_chat_run(&run("second", "t1")).await.unwrap());
        let fresh = store.chat_run(&"fresh".into()).await.unwrap().unwrap();
        assert_eq!(
            (
                fresh.status,
                fresh.error_code.clone(),
                fresh.error_message.as_deref()
            ),
            (
                RunStatus::Failed,
                Some(STALE_RUN_CODE),
                Some(STALE_RUN_MESSAGE)
            )
        );
        let active = store.active_chat_run(&"t1".into()).await.unwrap().unwrap();
        assert_eq!(active.id, "second");
        // The stale run's driver, if it wakes up, cannot end it any more.
        let late = end(RunStatus::Completed, &[]);
        assert!(
            !store
                .end_chat_run(&"fresh".into(), &late, None)
                .await
                .unwrap()
        );
    }
}

#[tokio::test]
async fn a_deleted_thread_loses_its_messages_and_files_but_keeps_its_runs() {
    for store in backends("a_deleted_thread_loses_its_messages_and_files_but_keeps_its_runs").await
    {
        store.insert_chat_thread(&thread("t1")).await.unwrap();
        store
            .set_chat_conversation(&"t1".into(), "conv_1")
            .await
            .unwrap();
        store
            .set_chat_csv(&"t1".into(), "file-1", "abc")
            .await
            .unwrap();
        let t1 = store.chat_thread(&"t1".into()).await.unwrap().unwrap();
        assert_eq!(
            (
                t1.conversation_id.as_deref(),
                t1.csv_file_id.as_deref(),
                t1.sheet_id
            ),
            (Some("conv_1"), Some("file-1"), 0)
        );
        assert_eq!(
            store.count_chat_threads("user-a", "sheet").await.unwrap(),
            1
        );
        assert_eq!(
            store
                .chat_threads("user-a", "sheet", 10)
                .await
                .unwrap()
                .len(),
            1
        );
        store
            .insert_chat_message(&"t1".into(), "m1", "q")
            .await
            .unwrap();
        store.insert_chat_run(&run("r1", "t1")).await.unwrap();
        store
            .set_chat_response(&"r1".into(), "resp_1")
            .await
            .unwrap();
        assert!(store.delete_chat_thread(&"t1".into()).await.unwrap());
        assert!(!store.delete_chat_thread(&"t1".into()).await.unwrap());
        assert!(store.chat_thread(&"t1".into()).await.unwrap().is_none());
        assert_eq!(store.count_chat_messages(&"t1".into()).await.unwrap(), 0);
        let runs = store.chat_runs(&"t1".into()).await.unwrap();
        assert_eq!(runs[0].response_id.as_deref(), Some("resp_1"));
    }
}

#[tokio::test]
async fn concurrent_messages_on_one_thread_are_numbered_without_a_clash() {
    for store in backends("concurrent_messages_on_one_thread_are_numbered_without_a_clash").await {
        store.insert_chat_thread(&thread("t1")).await.unwrap();
        let mut writers = Vec::new();
        for i in 0..8 {
            let store = store.clone();
            writers.push(tokio::spawn(async move {
                store
                    .insert_chat_message(&"t1".into(), &format!("m{i}"), "q")
                    .await
                    .unwrap()
                    .seq
            }));
        }
        let mut seqs = Vec::new();
        for w in writers {
            seqs.push(w.await.unwrap());
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=8).collect::<Vec<i64>>());
    }
}

#[tokio::test]
async fn a_stored_time_that_is_not_a_time_is_an_error_never_a_default() {
    for store in backends("a_stored_time_that_is_not_a_time_is_an_error_never_a_default").await {
        store.insert_chat_thread(&thread("t1")).await.unwrap();
        let t1 = store.chat_thread(&"t1".into()).await.unwrap().unwrap();
        assert!((Utc::now() - t1.created_at).num_seconds().abs() < 60);
        on_pool!(store.pool(), p => sqlx::query("UPDATE chat_threads SET created_at = 'yesterday' WHERE id = 't1'")
            .execute(p)
            .await
            .unwrap()
            .rows_affected());
        let err = store.chat_thread(&"t1".into()).await.unwrap_err();
        assert!(err.to_string().contains("created_at"), "{err}");
    }
}
