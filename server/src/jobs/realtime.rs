//! Realtime mode: the same request bodies as a batch ([`almanac_openai::jsonl::request_body`]),
//! sent as concurrent Chat Completions calls at the highest rate the account allows, with the
//! answers written to the sheet in groups as they arrive.
//!
//! The worker hands a realtime job to [`step`], which starts one [`run`] task per job in this
//! process (and does nothing while it runs). The task:
//!
//! 1. queues every `pending` row; a dispatcher sends them through one [`ChatClient`] whose answers'
//!    rate-limit headers feed the process's [`Pacer`] (RPM and TPM, `retry-after`, AIMD
//!    concurrency), shared by all runs since the account's limits are;
//! 2. stores each answer on its row (`generated`, with its `usage`) or its failure (`failed` with
//!    the same reasons as a batch output line, see [`almanac_openai::output`]) **before** anything
//!    is written; a transient failure (429, 5xx, timeout) sends the row again after a backoff, up
//!    to [`CostSettings::max_attempts`] calls;
//! 3. every [`CostSettings::flush_rows`] answers or [`CostSettings::flush_interval`], writes the
//!    answered rows in one `values.batchUpdate` (located by id, never over a filled cell) and marks
//!    them `done`, so progress shows in the sheet;
//! 4. stops sending when the job's `max_cost_usd` would be passed (spent + in flight + next call)
//!    or when the job is cancelled, fails the rows left with the reason, and hands the job back to
//!    the worker in `writing`, whose last write ends it.
//!
//! A crash loses nothing: answers are in the store before they are written, and after a restart
//! only rows still `pending` are sent again (a call in flight at the crash may thus be billed
//! twice).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use almanac_protocol::{JobStatus, Mode, RowState};
use chrono::Utc;
use serde_json::Value;
use tokio::sync::{Notify, mpsc};

use super::Services;
use super::pacer::Pacer;
use super::settings::CostSettings;
use super::worker::StepError;
use almanac_core::catalog::ModelSpec;
use almanac_openai::OpenAiError;
use almanac_openai::chat::ChatClient;
use almanac_openai::{jsonl, output};
use almanac_store::cost::UNSENT_PREFIX;
use almanac_store::{JobRecord, timestamp};

/// The [`run`] tasks alive in this process, by job id ([`Services::realtime_runs`]).
pub type Runs = Mutex<HashMap<String, tokio::task::AbortHandle>>;

/// Aborts every realtime run of these services when dropped: the worker holds one, so stopping
/// the worker (a shutdown, or a test playing a crash) stops the runs too, as a crash would.
pub struct AbortRunsOnDrop(pub Arc<Services>);

impl Drop for AbortRunsOnDrop {
    fn drop(&mut self) {
        let runs = std::mem::take(&mut *self.0.realtime_runs.lock().expect("not poisoned"));
        for (_, run) in runs {
            run.abort();
        }
    }
}

/// Aborts a task when dropped (the dispatcher dies with its run).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The worker's step for a realtime job that is not writing or finished: starts its [`run`] task
/// unless one is alive, and asks to be woken again in a while (the task wakes the worker itself
/// when it ends).
///
/// # Errors
/// [`StepError::Store`] when the job cannot be rescheduled.
pub async fn step(svc: &Arc<Services>, job: &JobRecord) -> Result<(), StepError> {
    let store = &svc.store;
    let alive = svc
        .realtime_runs
        .lock()
        .expect("not poisoned")
        .get(&job.id)
        .is_some_and(|run| !run.is_finished());
    if !alive {
        if job.status()? != JobStatus::InProgress {
            store
                .set_status(&job.id, JobStatus::InProgress, None)
                .await?;
        }
        let svc = svc.clone();
        let id = job.id.clone();
        let runs = svc.clone();
        let task = tokio::spawn(async move {
            let outcome = run(&svc, &id).await;
            svc.realtime_runs.lock().expect("not poisoned").remove(&id);
            match outcome {
                Ok(()) => {
                    if let Err(e) = store_done(&svc, &id).await {
                        tracing::error!(job_id = %id, error = %e, "cannot hand the realtime job back to the worker");
                    }
                }
                Err(StepError::Permanent { code, message }) => {
                    tracing::warn!(job_id = %id, code, %message, "realtime job failed");
                    let _ = svc
                        .store
                        .set_status(&id, JobStatus::Failed, Some((code, &message)))
                        .await;
                }
                Err(e) => {
                    // The worker's next check starts a new task; answers stored so far are kept.
                    tracing::warn!(job_id = %id, error = %e, "realtime run stopped; will resume");
                    let at = timestamp(Utc::now() + chrono::Duration::seconds(2));
                    let _ = svc.store.schedule(&id, &at, 0).await;
                }
            }
            svc.publish(&id).await;
            svc.wake.notify_one();
        });
        runs.realtime_runs
            .lock()
            .expect("not poisoned")
            .insert(job.id.clone(), task.abort_handle());
    }
    // Look again in a while (a run that died is started again); the run normally ends first
    // and wakes the worker.
    let at = timestamp(Utc::now() + chrono::Duration::seconds(5));
    store.schedule(&job.id, &at, 0).await?;
    Ok(())
}

async fn store_done(svc: &Services, id: &str) -> Result<(), StepError> {
    svc.store.set_status(id, JobStatus::Writing, None).await?;
    svc.store.schedule(id, &almanac_store::now(), 0).await?;
    Ok(())
}

/// One row's call, queued or in flight.
#[derive(Clone, Debug)]
struct Call {
    seq: i64,
    row_id: String,
    body: Value,
    /// Input tokens + output cap: the weight against the TPM limit.
    rate_tokens: u64,
    /// Expected cost of the call, USD (for the cap).
    predicted_usd: f64,
    /// Calls made for this row in this run.
    attempt: u32,
}

/// What the dispatcher and the result loop share.
struct Shared {
    queue: Mutex<VecDeque<Call>>,
    /// Calls claimed by the dispatcher and not yet answered.
    in_flight: AtomicUsize,
    /// Wakes the dispatcher: a call ended, a row was queued again, or the run ends.
    notify: Notify,
    /// Set when no more calls may start (cap reached, cancelled, finished).
    stop: AtomicBool,
    /// Why sending stopped early, for the rows left.
    stop_reason: Mutex<Option<String>>,
    /// `(spent so far, expected cost of calls in flight)`, USD.
    money: Mutex<(f64, f64)>,
    /// Rows waiting out a backoff before they are queued again.
    retrying: AtomicUsize,
}

/// The answer of one call, back to the result loop.
struct Answer {
    call: Call,
    result: Result<Value, OpenAiError>,
}

/// Runs a realtime job until every pending row is answered, failed, or left unsent (cap or
/// cancel); see the module documentation.
///
/// # Errors
/// [`StepError::Permanent`] for an unknown model; [`StepError::Store`] on a database failure
/// (the run resumes later).
pub async fn run(svc: &Arc<Services>, job_id: &str) -> Result<(), StepError> {
    let store = &svc.store;
    let Some(job) = store.job(job_id).await? else {
        return Ok(());
    };
    let spec = super::worker::model_spec(svc, &job)?;
    let settings = &svc.cost;
    let estimate = store.job_estimate(job_id).await?;
    let output = almanac_core::cost::predict_output(
        spec,
        store
            .average_output_tokens(&spec.id, almanac_core::prompt::template_id())
            .await?,
    );
    let (_, used) = store.job_usage(job_id).await?;
    let spent = almanac_core::cost::usage_cost(spec, Mode::Realtime, &used);

    let mut queue = VecDeque::new();
    for row in store.rows(job_id).await? {
        if row.state != RowState::Pending.as_str() {
            continue;
        }
        let Some(input) = row.input() else { continue };
        let body = jsonl::request_body(spec, &input.title);
        let input_tokens = almanac_openai::tokens::request_input_tokens(spec.tokenizer, &body);
        let predicted_usd = almanac_core::cost::usage_cost(
            spec,
            Mode::Realtime,
            &almanac_protocol::TokenUsage {
                input_tokens,
                output_tokens: output.tokens_per_row,
                ..Default::default()
            },
        );
        queue.push_back(Call {
            seq: row.seq,
            row_id: row.row_id,
            body,
            rate_tokens: almanac_core::cost::rate_limit_tokens(spec, input_tokens),
            predicted_usd,
            attempt: 0,
        });
    }
    tracing::info!(job_id, rows = queue.len(), "realtime run started");

    let pacer = svc
        .realtime_pacer
        .get_or_init(|| Pacer::new(settings.pacer.clone()))
        .clone();
    let key = settings
        .realtime_api_key
        .clone()
        .unwrap_or_else(|| svc.openai_key.clone());
    let base = settings
        .realtime_base_url
        .clone()
        .unwrap_or_else(|| svc.openai_base_url.clone());
    let client = ChatClient::new(
        &key,
        &base,
        settings.request_timeout,
        pacer.clone(),
        svc.calls.clone(),
    );
    let shared = Arc::new(Shared {
        queue: Mutex::new(queue),
        in_flight: AtomicUsize::new(0),
        notify: Notify::new(),
        stop: AtomicBool::new(false),
        stop_reason: Mutex::new(None),
        money: Mutex::new((spent, 0.0)),
        retrying: AtomicUsize::new(0),
    });
    let (tx, mut rx) = mpsc::unbounded_channel::<Answer>();
    let mut dispatcher = AbortOnDrop(tokio::spawn(dispatch(
        shared.clone(),
        pacer.clone(),
        client,
        tx,
        estimate.max_cost_usd,
    )));

    let mut unflushed = store.row_counts(job_id).await?.generated as usize;
    let mut last_flush = Instant::now();
    let tick = settings.flush_interval.min(Duration::from_millis(250));
    let mut last_cancel_check = Instant::now();
    loop {
        let received = match tokio::time::timeout(tick, rx.recv()).await {
            Ok(Some(answer)) => Some(answer),
            // Every sender is gone (the dispatcher stopped, no call in flight): just wait.
            Ok(None) => {
                tokio::time::sleep(tick).await;
                None
            }
            Err(_) => None,
        };
        if let Some(answer) = received {
            shared.in_flight.fetch_sub(1, Ordering::SeqCst);
            {
                let mut money = shared.money.lock().expect("not poisoned");
                money.1 = (money.1 - answer.call.predicted_usd).max(0.0);
            }
            if handle(svc, &shared, &pacer, spec, job_id, settings, answer).await? {
                unflushed += 1;
            }
            shared.notify.notify_one();
        }
        if last_cancel_check.elapsed() >= Duration::from_millis(500) {
            last_cancel_check = Instant::now();
            if store.job(job_id).await?.is_some_and(|j| j.cancel_requested) {
                stop(
                    &shared,
                    &format!("{UNSENT_PREFIX}the job was cancelled before this row was sent"),
                );
            }
        }
        let due = unflushed >= settings.flush_rows
            || (unflushed > 0 && last_flush.elapsed() >= settings.flush_interval);
        if due {
            match flush(svc, &job).await {
                Ok(_) => {
                    unflushed = 0;
                    last_flush = Instant::now();
                    svc.publish(job_id).await;
                }
                Err(e) => {
                    // The answers stay stored; the next flush (or the worker's write) retries.
                    tracing::warn!(job_id, error = %e, "realtime flush failed; will retry");
                    last_flush = Instant::now();
                }
            }
        }
        let idle = shared.in_flight.load(Ordering::SeqCst) == 0;
        let empty = shared.queue.lock().expect("not poisoned").is_empty();
        let waiting_retries = shared.pending_retries() > 0;
        // Once stopped, rows waiting for a retry stay pending and fail with the stop's reason.
        if idle && (shared.stop.load(Ordering::SeqCst) || (empty && !waiting_retries)) {
            break;
        }
    }
    shared.stop.store(true, Ordering::SeqCst);
    shared.notify.notify_one();
    let _ = (&mut dispatcher.0).await;
    let reason = shared.stop_reason.lock().expect("not poisoned").clone();
    if let Some(reason) = reason {
        let left = store.fail_pending(job_id, &reason).await?;
        tracing::info!(job_id, rows = left, %reason, "realtime run stopped early");
    }
    tracing::info!(
        job_id,
        throttled = pacer.throttled(),
        rpm = pacer.limits().0.unwrap_or(0),
        tpm = pacer.limits().1.unwrap_or(0),
        "realtime run finished"
    );
    Ok(())
}

impl Shared {
    /// Rows waiting out a backoff before being queued again.
    fn pending_retries(&self) -> usize {
        self.retrying.load(Ordering::SeqCst)
    }
}

fn stop(shared: &Shared, reason: &str) {
    let mut r = shared.stop_reason.lock().expect("not poisoned");
    if r.is_none() {
        *r = Some(reason.to_owned());
    }
    shared.stop.store(true, Ordering::SeqCst);
    shared.notify.notify_one();
}

/// Sends queued calls as fast as the pacer and the cap allow.
async fn dispatch(
    shared: Arc<Shared>,
    pacer: Arc<Pacer>,
    client: ChatClient,
    tx: mpsc::UnboundedSender<Answer>,
    max_cost_usd: Option<f64>,
) {
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        if shared.in_flight.load(Ordering::SeqCst) >= pacer.concurrency() {
            shared.notify.notified().await;
            continue;
        }
        // Claim before popping, so the result loop never sees "nothing queued, nothing in
        // flight" while a call is between the two.
        shared.in_flight.fetch_add(1, Ordering::SeqCst);
        let next = shared.queue.lock().expect("not poisoned").pop_front();
        let Some(call) = next else {
            shared.in_flight.fetch_sub(1, Ordering::SeqCst);
            shared.notify.notified().await;
            continue;
        };
        if let Some(max) = max_cost_usd {
            let mut money = shared.money.lock().expect("not poisoned");
            let (spent, in_flight) = *money;
            if spent + in_flight + call.predicted_usd > max {
                drop(money);
                shared.queue.lock().expect("not poisoned").push_front(call);
                shared.in_flight.fetch_sub(1, Ordering::SeqCst);
                stop(
                    &shared,
                    &format!(
                        "{UNSENT_PREFIX}the job's cap of ${max:.4} would be passed (${spent:.4} spent, ${in_flight:.4} in flight); create a new job with a higher max_cost_usd to send this row"
                    ),
                );
                return;
            }
            money.1 += call.predicted_usd;
        }
        pacer.acquire(call.rate_tokens).await;
        if shared.stop.load(Ordering::SeqCst) {
            // Stopped (cancel, cap) while waiting for the pacer: the call is not made.
            {
                let mut money = shared.money.lock().expect("not poisoned");
                money.1 = (money.1 - call.predicted_usd).max(0.0);
            }
            shared.queue.lock().expect("not poisoned").push_front(call);
            shared.in_flight.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        let client = client.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let result = client.create(call.body.clone()).await;
            let _ = tx.send(Answer { call, result });
        });
    }
}

/// Stores one answer; true when the row got an answer to write.
async fn handle(
    svc: &Arc<Services>,
    shared: &Arc<Shared>,
    pacer: &Pacer,
    spec: &ModelSpec,
    job_id: &str,
    settings: &CostSettings,
    answer: Answer,
) -> Result<bool, StepError> {
    let store = &svc.store;
    let Answer { mut call, result } = answer;
    store.count_requests(job_id, &[call.seq]).await?;
    match result {
        Ok(body) => {
            pacer.on_success();
            let (outcome, usage) = output::parse_completion(&body);
            if let Some(u) = usage {
                store
                    .add_usage(job_id, &[(call.row_id.clone(), u.tokens())])
                    .await?;
                let cost = almanac_core::cost::usage_cost(spec, Mode::Realtime, &usage_tokens(&u));
                shared.money.lock().expect("not poisoned").0 += cost;
            }
            let outcome = outcome.map_err(|e| e.message);
            let ok = outcome.is_ok();
            store
                .record_realtime_result(job_id, call.seq, &outcome)
                .await?;
            Ok(ok)
        }
        Err(e) if e.is_transient() && call.attempt + 1 < settings.max_attempts => {
            call.attempt += 1;
            // 429s also pause every call through the pacer; this spaces out this row's tries.
            let delay =
                Duration::from_millis(200u64 << call.attempt.min(6)).min(Duration::from_secs(10));
            tracing::debug!(job_id, row = %call.row_id, attempt = call.attempt, error = %e, "realtime call failed; will retry");
            shared.retrying.fetch_add(1, Ordering::SeqCst);
            let shared = shared.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                shared.queue.lock().expect("not poisoned").push_back(call);
                shared.retrying.fetch_sub(1, Ordering::SeqCst);
                shared.notify.notify_one();
            });
            Ok(false)
        }
        Err(e) => {
            let reason = if e.is_transient() {
                format!(
                    "OpenAI kept failing after {} calls ({e}); retry the row",
                    call.attempt + 1
                )
            } else {
                e.to_string()
            };
            // A refusal that every other call would meet too (bad key, no access to the model,
            // no quota left) ends the run instead of failing the rows one call at a time.
            if matches!(e.status(), Some(401 | 403 | 404 | 429)) {
                stop(
                    shared,
                    &format!(
                        "{UNSENT_PREFIX}an earlier call was refused ({e}); fix that and retry the job"
                    ),
                );
            }
            store
                .record_realtime_result(job_id, call.seq, &Err(reason))
                .await?;
            Ok(false)
        }
    }
}

fn usage_tokens(u: &output::Usage) -> almanac_protocol::TokenUsage {
    almanac_protocol::TokenUsage {
        input_tokens: u.prompt_tokens,
        cached_input_tokens: u.cached_tokens,
        output_tokens: u.completion_tokens,
        reasoning_tokens: u.reasoning_tokens,
    }
}

/// Writes every answered (`generated`) row of the job in one `values.batchUpdate`, located by id,
/// and marks the rows `done` (or `skipped`/`failed` with the reason), exactly as the batch
/// worker's write step does ([`super::worker::write_sheet`]). Returns the rows settled. A job
/// started by `almanac run` has a file, not a sheet: its answers stay stored and the final
/// `writing` step writes the file once.
///
/// # Errors
/// [`StepError`] from Sheets or the store; the answers stay stored.
pub async fn flush(svc: &Services, job: &JobRecord) -> Result<usize, StepError> {
    if svc.store.file_target(&job.id).await?.is_some() {
        return Ok(0);
    }
    super::worker::write_sheet(svc, job).await
}
