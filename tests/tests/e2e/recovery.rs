//! Crash recovery driven step by step: the worker is not running; the test plays the crash.

use almanac::app::{Application, install_crypto_provider};
use almanac::jobs::JobService;
use almanac::jobs::Worker;
use almanac_core::domain::{RowId, RowInput};
use almanac_core::ids::JobId;
use almanac_emulator::Emulator;
use almanac_openai::{PartTag, jsonl};
use almanac_protocol::JobStatus;
use almanac_tests::{KOREAN_CSV, SPREADSHEET, USER_A, backend_config, fast};
use secrecy::SecretString;

#[tokio::test]
async fn a_batch_created_just_before_a_crash_is_adopted_instead_of_created_again() {
    install_crypto_provider();
    let emulator = Emulator::start(fast()).await.unwrap();
    emulator
        .add_sheet_from_csv(SPREADSHEET, 0, "Events", KOREAN_CSV)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    // Built but not spawned: no worker runs behind the test's back.
    let app = Application::build(backend_config(&emulator, &url))
        .await
        .unwrap();
    let svc = app.services().clone();
    let jobs = JobService::new(svc.clone());
    let req = almanac_protocol::CreateJobRequest {
        spreadsheet_id: SPREADSHEET.into(),
        sheet_id: 0,
        rows: vec![almanac_protocol::RowSpan {
            start_row: 2,
            end_row: 5,
        }],
        model: "gpt-4.1-nano-2025-04-14".into(),
        mode: almanac_protocol::Mode::Batch,
        overwrite: false,
    };
    emulator.share(SPREADSHEET, USER_A.email);
    // The proof the sidebar would hold (the access proof itself is tested in `security`).
    let (proof, _) = svc
        .access
        .proof(USER_A.sub, SPREADSHEET, almanac::auth::access::now_secs());
    let proof = SecretString::from(proof);
    let job = jobs.create(USER_A.sub, Some(&proof), req).await.unwrap();

    // What the worker does up to the crash: assign rows, upload and save the file id, create the
    // batch — and die before saving the batch id.
    let rows = svc.store.rows(&JobId::from(job.id.as_str())).await.unwrap();
    svc.store
        .create_batches(
            &JobId::from(job.id.as_str()),
            0,
            &[rows.iter().map(|r| r.seq).collect()],
        )
        .await
        .unwrap();
    let batch = svc
        .store
        .batches(&JobId::from(job.id.as_str()))
        .await
        .unwrap()
        .remove(0);
    let inputs: Vec<RowInput> = rows
        .iter()
        .map(|r| RowInput {
            id: RowId::parse(&r.row_id).unwrap(),
            title: r.title.clone(),
        })
        .collect();
    let spec = svc.catalog.resolve(&job.model).unwrap();
    let file_id = svc
        .openai
        .upload_jsonl(
            "pre-crash.jsonl",
            jsonl::build_jsonl(spec, &inputs).unwrap(),
        )
        .await
        .unwrap();
    svc.store.set_input_file(batch.id, &file_id).await.unwrap();
    let orphan = svc.openai.create_batch(&file_id, &job.id).await.unwrap();

    // After the restart, the worker's step adopts the orphan.
    let worker = Worker::new(svc.clone());
    worker
        .try_execute_step(&JobId::from(job.id.as_str()))
        .await
        .unwrap();
    let saved = svc
        .store
        .batches(&JobId::from(job.id.as_str()))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(saved.batch_id.as_deref(), Some(orphan.id.as_str()));
    assert_eq!(emulator.calls().batches_create, 1);
    assert_eq!(emulator.calls().files_create, 1);

    // And the job runs to the end on that batch.
    let mut status = JobStatus::Validating;
    for _ in 0..500 {
        worker
            .try_execute_step(&JobId::from(job.id.as_str()))
            .await
            .unwrap();
        status = svc
            .store
            .job(&JobId::from(job.id.as_str()))
            .await
            .unwrap()
            .unwrap()
            .status;
        if status.is_terminal() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(status, JobStatus::Completed);
    assert_eq!(
        svc.store
            .row_counts(&JobId::from(job.id.as_str()))
            .await
            .unwrap()
            .done,
        4
    );
    assert_eq!(emulator.calls().batches_create, 1);
}

/// A batch job created through the service, its part made as the worker makes it, no worker
/// running: the app (kept alive), its services and the job's id and input file body.
async fn job_with_one_part(
    emulator: &Emulator,
    dir: &tempfile::TempDir,
) -> (
    Application,
    std::sync::Arc<almanac::jobs::Services>,
    JobId,
    Vec<u8>,
) {
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let app = Application::build(backend_config(emulator, &url))
        .await
        .unwrap();
    let svc = app.services().clone();
    let req = almanac_protocol::CreateJobRequest {
        spreadsheet_id: SPREADSHEET.into(),
        sheet_id: 0,
        rows: vec![almanac_protocol::RowSpan {
            start_row: 2,
            end_row: 5,
        }],
        model: "gpt-4.1-nano-2025-04-14".into(),
        mode: almanac_protocol::Mode::Batch,
        overwrite: false,
    };
    emulator.share(SPREADSHEET, USER_A.email);
    let (proof, _) = svc
        .access
        .proof(USER_A.sub, SPREADSHEET, almanac::auth::access::now_secs());
    let proof = SecretString::from(proof);
    let job = JobService::new(svc.clone())
        .create(USER_A.sub, Some(&proof), req)
        .await
        .unwrap();
    let job_id = JobId::from(job.id.as_str());
    let rows = svc.store.rows(&job_id).await.unwrap();
    svc.store
        .create_batches(&job_id, 0, &[rows.iter().map(|r| r.seq).collect()])
        .await
        .unwrap();
    let inputs: Vec<RowInput> = rows
        .iter()
        .map(|r| RowInput {
            id: RowId::parse(&r.row_id).unwrap(),
            title: r.title.clone(),
        })
        .collect();
    let spec = svc.catalog.resolve(&job.model).unwrap();
    let body = jsonl::build_jsonl(spec, &inputs).unwrap();
    (app, svc, job_id, body)
}

#[tokio::test]
async fn a_batch_a_stalled_replica_created_without_saving_any_id_is_adopted_with_its_file() {
    install_crypto_provider();
    let emulator = Emulator::start(fast()).await.unwrap();
    emulator
        .add_sheet_from_csv(SPREADSHEET, 0, "Events", KOREAN_CSV)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_app, svc, job_id, body) = job_with_one_part(&emulator, &dir).await;
    // The stalled replica uploaded the part's file and created its batch, both tagged, then lost
    // its lease: neither id reached the store.
    let tag = PartTag {
        job_id: job_id.to_string(),
        attempt: 0,
        part: 0,
    };
    let file_id = svc
        .openai
        .upload_jsonl(&tag.filename(), body)
        .await
        .unwrap();
    let orphan = svc
        .openai
        .create_tagged_batch(&file_id, &tag)
        .await
        .unwrap();
    assert_eq!(emulator.batches()[0]["metadata"]["part"], "0");

    let worker = Worker::new(svc.clone());
    worker.try_execute_step(&job_id).await.unwrap();
    let saved = svc.store.batches(&job_id).await.unwrap().remove(0);
    assert_eq!(saved.batch_id.as_deref(), Some(orphan.id.as_str()));
    assert_eq!(emulator.calls().batches_create, 1);
    assert_eq!(emulator.calls().files_create, 1);
    for _ in 0..500 {
        worker.try_execute_step(&job_id).await.unwrap();
        if svc
            .store
            .job(&job_id)
            .await
            .unwrap()
            .unwrap()
            .status
            .is_terminal()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let job = svc.store.job(&job_id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(svc.store.row_counts(&job_id).await.unwrap().done, 4);
    assert_eq!(
        emulator.batches().len(),
        1,
        "exactly one batch for the part"
    );
}

#[tokio::test]
async fn a_file_uploaded_under_the_parts_name_is_adopted_not_uploaded_again() {
    install_crypto_provider();
    let emulator = Emulator::start(fast()).await.unwrap();
    emulator
        .add_sheet_from_csv(SPREADSHEET, 0, "Events", KOREAN_CSV)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_app, svc, job_id, body) = job_with_one_part(&emulator, &dir).await;
    let tag = PartTag {
        job_id: job_id.to_string(),
        attempt: 0,
        part: 0,
    };
    // Another part's file and this part's file, uploaded by a replica that stalled before saving.
    let other = PartTag {
        part: 1,
        ..tag.clone()
    };
    svc.openai
        .upload_jsonl(&other.filename(), body.clone())
        .await
        .unwrap();
    let file_id = svc
        .openai
        .upload_jsonl(&tag.filename(), body)
        .await
        .unwrap();
    svc.openai
        .upload_jsonl("unrelated.jsonl", b"{}\n".to_vec())
        .await
        .unwrap();
    Worker::new(svc.clone())
        .try_execute_step(&job_id)
        .await
        .unwrap();
    let saved = svc.store.batches(&job_id).await.unwrap().remove(0);
    assert_eq!(saved.input_file_id.as_deref(), Some(file_id.as_str()));
    assert_eq!(emulator.calls().files_create, 3);
    assert_eq!(emulator.batches().len(), 1);
    assert_eq!(emulator.batches()[0]["input_file_id"], file_id.as_str());
}

#[tokio::test]
async fn of_two_tagged_batches_of_a_part_the_oldest_is_kept_and_the_other_cancelled() {
    install_crypto_provider();
    let emulator = Emulator::start(fast()).await.unwrap();
    emulator.hold_batches(true);
    emulator
        .add_sheet_from_csv(SPREADSHEET, 0, "Events", KOREAN_CSV)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_app, svc, job_id, body) = job_with_one_part(&emulator, &dir).await;
    let tag = PartTag {
        job_id: job_id.to_string(),
        attempt: 0,
        part: 0,
    };
    // Two replicas stalled in turn, each creating a batch for the part without saving it.
    let file_id = svc
        .openai
        .upload_jsonl(&tag.filename(), body)
        .await
        .unwrap();
    let first = svc
        .openai
        .create_tagged_batch(&file_id, &tag)
        .await
        .unwrap();
    let second = svc
        .openai
        .create_tagged_batch(&file_id, &tag)
        .await
        .unwrap();
    Worker::new(svc.clone())
        .try_execute_step(&job_id)
        .await
        .unwrap();
    let saved = svc.store.batches(&job_id).await.unwrap().remove(0);
    assert_eq!(saved.batch_id.as_deref(), Some(first.id.as_str()));
    assert_eq!(saved.input_file_id.as_deref(), Some(file_id.as_str()));
    assert_eq!(emulator.calls().batches_create, 2);
    assert_eq!(emulator.calls().batches_cancel, 1);
    let status = |id: &str| {
        emulator
            .batches()
            .into_iter()
            .find(|b| b["id"] == id)
            .map(|b| b["status"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert!(
        ["cancelling", "cancelled"].contains(&status(&second.id).as_str()),
        "{}",
        status(&second.id)
    );
    assert!(!status(&first.id).starts_with("cancel"));
}

#[tokio::test]
async fn a_batch_a_stalled_replica_creates_while_the_step_creates_its_own_is_cancelled() {
    install_crypto_provider();
    let emulator = Emulator::start(fast()).await.unwrap();
    emulator.hold_batches(true);
    emulator
        .add_sheet_from_csv(SPREADSHEET, 0, "Events", KOREAN_CSV)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_app, svc, job_id, body) = job_with_one_part(&emulator, &dir).await;
    let tag = PartTag {
        job_id: job_id.to_string(),
        attempt: 0,
        part: 0,
    };
    // The step looks, finds nothing and creates its batch; its answer is held at the emulator.
    let mut hold = emulator.hold_next(almanac_emulator::HoldPoint::BatchCreated);
    let step = {
        let (svc, job_id) = (svc.clone(), job_id.clone());
        tokio::spawn(async move { Worker::new(svc).try_execute_step(&job_id).await })
    };
    assert!(hold.reached().await);
    // Meanwhile the replica that stalled with the old lease wakes up and creates its own.
    let file_id = svc
        .openai
        .upload_jsonl(&tag.filename(), body)
        .await
        .unwrap();
    let late = svc
        .openai
        .create_tagged_batch(&file_id, &tag)
        .await
        .unwrap();
    hold.release();
    step.await.unwrap().unwrap();

    let saved = svc.store.batches(&job_id).await.unwrap().remove(0);
    let kept = saved.batch_id.unwrap();
    assert_ne!(kept.as_str(), late.id);
    let status = |id: &str| {
        emulator
            .batches()
            .into_iter()
            .find(|b| b["id"] == id)
            .map(|b| b["status"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert!(
        status(&late.id).starts_with("cancel"),
        "{}",
        status(&late.id)
    );
    assert!(!status(kept.as_str()).starts_with("cancel"));
    assert_eq!(emulator.calls().batches_cancel, 1);
}
