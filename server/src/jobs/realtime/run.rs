//! One realtime run: queue the job's pending rows, start the dispatcher, and store every answer
//! as it arrives — writing the answered rows in groups, watching for a cancel — until the run's
//! state says it is over; then fail the rows left unsent with the reason sending stopped.

use almanac_core::ids::JobId;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use almanac_core::catalog::ModelSpec;
use almanac_core::cost::{rate_limit_tokens, usage_cost};
use almanac_core::state::{FailureCode, Mode, RowFailure, RowState};
use almanac_openai::{ChatClient, OpenAiError, jsonl, output};
use almanac_store::JobRecord;
use tokio::sync::mpsc;

use crate::jobs::creation::estimate::estimate;
use crate::jobs::destination::Target;
use crate::jobs::queue::step::StepError;
use crate::jobs::realtime::dispatch::{Answer, dispatch};
use crate::jobs::realtime::pacer::Pacer;
use crate::jobs::realtime::state::{Call, Shared};
use crate::jobs::services::Services;

/// Aborts a task when dropped (the dispatcher dies with its run).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs a realtime job until every pending row is answered, failed, or left unsent (cap or
/// cancel); see the module documentation of `jobs::realtime`.
///
/// # Errors
/// [`StepError::Permanent`] for an unknown model; [`StepError::Store`] on a database failure
/// (the run resumes later).
pub async fn run(svc: &Arc<Services>, job_id: &JobId) -> Result<(), StepError> {
    let store = &svc.store;
    let Some(job) = store.job(job_id).await? else {
        return Ok(());
    };
    let spec = svc.model_spec(&job)?;
    let queue = queue_calls(svc, spec, job_id).await?;
    let cap = store.job_estimate(job_id).await?.max_cost_usd;
    let (_, used) = store.job_usage(job_id).await?;
    let spent = usage_cost(spec, Mode::Realtime, &used);
    tracing::info!(%job_id, rows = queue.len(), "realtime run started");
    let shared = Arc::new(Shared::new(queue, spent, cap));
    let pacer = svc.pacer.clone();
    let (answers, received) = mpsc::unbounded_channel::<Answer>();
    let mut dispatcher = AbortOnDrop(tokio::spawn(dispatch(
        shared.clone(),
        pacer.clone(),
        chat_client(svc, &pacer),
        answers,
        svc.cost.pacer.max_concurrency,
    )));
    let mut results = Results {
        svc,
        shared: &shared,
        pacer: &pacer,
        spec,
        target: Target::of(svc, &job).await?,
        job: &job,
        unflushed: store.row_counts(job_id).await?.generated as usize,
        last_flush: Instant::now(),
        last_cancel_check: Instant::now(),
    };
    results.receive(received).await?;
    shared.close();
    let _ = (&mut dispatcher.0).await;
    if let Some(why) = shared.stop_reason() {
        let left = store.fail_pending(job_id, &why).await?;
        tracing::info!(%job_id, rows = left, reason = %why.reason, "realtime run stopped early");
    }
    let (rpm, tpm) = pacer.limits();
    tracing::info!(
        %job_id,
        throttled = pacer.throttled(),
        rpm = rpm.unwrap_or(0),
        tpm = tpm.unwrap_or(0),
        "realtime run finished"
    );
    Ok(())
}

/// The job's pending rows as calls, each with its predicted cost and its weight against the TPM
/// limit, from the one estimate.
async fn queue_calls(
    svc: &Services,
    spec: &'static ModelSpec,
    job_id: &JobId,
) -> Result<VecDeque<Call>, StepError> {
    let rows: Vec<(i64, String, almanac_core::domain::RowInput)> = svc
        .store
        .rows_in(job_id, RowState::Pending)
        .await?
        .into_iter()
        .filter_map(|r| Some((r.seq, r.row_id.clone(), r.input()?)))
        .collect();
    let inputs = rows.iter().map(|(_, _, input)| input.clone()).collect();
    let estimate = estimate(&svc.store, spec, inputs).await?;
    Ok(rows
        .into_iter()
        .zip(estimate.per_row)
        .map(|((seq, row_id, input), predicted)| Call {
            seq,
            row_id,
            body: jsonl::request_body(spec, &input.title),
            rate_tokens: rate_limit_tokens(spec, predicted.input_tokens),
            predicted_usd: predicted.realtime_usd,
            attempt: 0,
        })
        .collect())
}

/// The client of the realtime endpoint (the OpenAI one unless another is configured), reporting
/// its answers' headers to `pacer`.
fn chat_client(svc: &Services, pacer: &Arc<Pacer>) -> ChatClient {
    let settings = &svc.cost;
    let key = settings
        .realtime_api_key
        .clone()
        .unwrap_or_else(|| svc.openai_key.clone());
    let base = settings
        .realtime_base_url
        .clone()
        .unwrap_or_else(|| svc.openai_base_url.clone());
    ChatClient::new(
        &key,
        &base,
        settings.request_timeout,
        pacer.clone(),
        svc.calls.clone(),
    )
}

/// The result loop of a run.
struct Results<'a> {
    svc: &'a Arc<Services>,
    shared: &'a Arc<Shared>,
    pacer: &'a Pacer,
    spec: &'a ModelSpec,
    target: Target,
    job: &'a JobRecord,
    /// Answers stored and not yet written.
    unflushed: usize,
    last_flush: Instant,
    last_cancel_check: Instant,
}

impl Results<'_> {
    /// Stores answers as they come, checks for a cancel every half second and writes the answered
    /// rows when due, until the run is over.
    async fn receive(
        &mut self,
        mut received: mpsc::UnboundedReceiver<Answer>,
    ) -> Result<(), StepError> {
        let tick = self.svc.cost.flush_interval.min(Duration::from_millis(250));
        loop {
            match tokio::time::timeout(tick, received.recv()).await {
                Ok(Some(answer)) => self.store_answer(answer).await?,
                // Every sender is gone (the dispatcher stopped, no call in flight): just wait.
                Ok(None) => tokio::time::sleep(tick).await,
                Err(_) => {}
            }
            self.check_cancel().await?;
            self.flush_when_due().await;
            if self.shared.is_over() {
                return Ok(());
            }
        }
    }

    /// Stores one answer (or failure) on its row, and settles its call in the run's state.
    async fn store_answer(&mut self, answer: Answer) -> Result<(), StepError> {
        let store = &self.svc.store;
        let Answer { call, result } = answer;
        store.count_requests(&self.job.id, &[call.seq]).await?;
        let body = match result {
            Ok(body) => body,
            Err(e) => return self.store_error(call, e).await,
        };
        self.pacer.on_success();
        let (outcome, usage) = output::parse_completion(&body);
        let mut cost = 0.0;
        if let Some(u) = usage {
            store
                .add_usage(&self.job.id, &[(call.row_id.clone(), u.tokens())])
                .await?;
            cost = usage_cost(self.spec, Mode::Realtime, &u.tokens());
        }
        let outcome = outcome.map_err(output::RowError::failure);
        let answered = outcome.is_ok();
        store
            .record_realtime_result(&self.job.id, call.seq, &outcome)
            .await?;
        self.shared.finish(&call, cost);
        self.unflushed += usize::from(answered);
        Ok(())
    }

    /// A call that failed: sent again after a backoff while attempts are left and the failure
    /// passes; else the row fails — and a refusal every call would meet ends the run.
    async fn store_error(&mut self, mut call: Call, e: OpenAiError) -> Result<(), StepError> {
        if e.is_transient() && call.attempt + 1 < self.svc.cost.max_attempts {
            call.attempt += 1;
            // 429s also pause every call through the pacer; this spaces out this row's tries.
            let delay =
                Duration::from_millis(200u64 << call.attempt.min(6)).min(Duration::from_secs(10));
            tracing::debug!(job_id = %self.job.id, row = %call.row_id, attempt = call.attempt, error = %e, "realtime call failed; will retry");
            self.shared.wait_backoff();
            self.shared.finish(&call, 0.0);
            let shared = self.shared.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                shared.requeue(call);
            });
            return Ok(());
        }
        let failure = if e.is_transient() {
            let calls = call.attempt + 1;
            RowFailure::new(
                FailureCode::RetriesExhausted,
                format!("OpenAI kept failing after {calls} calls ({e}); retry the row"),
            )
        } else {
            let code = e
                .status()
                .map_or(FailureCode::RequestError, FailureCode::Http);
            RowFailure::new(code, e.to_string())
        };
        // A refusal that every other call would meet too (bad key, no access to the model, no
        // quota left) ends the run instead of failing the rows one call at a time.
        if matches!(e.status(), Some(401 | 403 | 404 | 429)) {
            let reason =
                format!("not sent: an earlier call was refused ({e}); fix that and retry the job");
            self.shared
                .stop(RowFailure::new(FailureCode::NotSentRefused, reason));
        }
        self.svc
            .store
            .record_realtime_result(&self.job.id, call.seq, &Err(failure))
            .await?;
        self.shared.finish(&call, 0.0);
        Ok(())
    }

    /// Every half second: stop sending when the job was asked to cancel.
    async fn check_cancel(&mut self) -> Result<(), StepError> {
        if self.last_cancel_check.elapsed() < Duration::from_millis(500) {
            return Ok(());
        }
        self.last_cancel_check = Instant::now();
        let cancelled = self
            .svc
            .store
            .job(&self.job.id)
            .await?
            .is_some_and(|j| j.cancel_requested);
        if cancelled {
            self.shared.stop(RowFailure::new(
                FailureCode::NotSentCancelled,
                "not sent: the job was cancelled before this row was sent",
            ));
        }
        Ok(())
    }

    /// Writes the answered rows once `flush_rows` are waiting or the oldest has waited
    /// `flush_interval`; a failed write is retried at the next one (the answers stay stored).
    async fn flush_when_due(&mut self) {
        let settings = &self.svc.cost;
        let due = self.unflushed >= settings.flush_rows
            || (self.unflushed > 0 && self.last_flush.elapsed() >= settings.flush_interval);
        if !due {
            return;
        }
        self.last_flush = Instant::now();
        match self.target.write_progress(self.svc, self.job).await {
            Ok(_) => {
                self.unflushed = 0;
                self.svc.publish(&self.job.id).await;
            }
            Err(e) => {
                tracing::warn!(job_id = %self.job.id, error = %e, "realtime flush failed; will retry");
            }
        }
    }
}
