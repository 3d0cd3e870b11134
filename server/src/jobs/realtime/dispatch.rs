//! The dispatcher of a realtime run: claims the next call from the run's state (within the
//! pacer's window of calls in flight and the job's cap), waits for the pacer to allow it, and
//! sends it as a task of one `JoinSet`, never more tasks than a semaphore of `max_concurrency`
//! permits. Each answer goes back to the run's result loop over a channel.

use std::sync::Arc;

use almanac_openai::{ChatClient, OpenAiError};
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::jobs::realtime::pacer::Pacer;
use crate::jobs::realtime::state::{Call, Claim, Shared};

/// The answer of one call, back to the result loop.
pub struct Answer {
    /// The call.
    pub call: Call,
    /// The response body, or why there is none.
    pub result: Result<Value, OpenAiError>,
}

/// Sends queued calls as fast as the pacer and the cap allow, until the run stops; then waits for
/// the calls in flight to answer. The call tasks live in the dispatcher's `JoinSet`: aborting the
/// dispatcher (the run is aborted, as in a crash) aborts them.
pub async fn dispatch(
    shared: Arc<Shared>,
    pacer: Arc<Pacer>,
    client: ChatClient,
    answers: mpsc::UnboundedSender<Answer>,
    max_concurrency: usize,
) {
    let permits = Arc::new(Semaphore::new(max_concurrency.max(1)));
    let mut calls = JoinSet::new();
    loop {
        while calls.try_join_next().is_some() {}
        let call = match shared.claim(pacer.window()) {
            Claim::Stopped => break,
            Claim::Wait => {
                shared.changed().await;
                continue;
            }
            Claim::Send(call) => call,
        };
        pacer.acquire(call.rate_tokens).await;
        if shared.stopped() {
            // Stopped (cancel, cap) while waiting for the pacer: the call is not made.
            shared.unclaim(call);
            break;
        }
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let (client, answers) = (client.clone(), answers.clone());
        calls.spawn(async move {
            let result = client.create(call.body.clone()).await;
            let _ = answers.send(Answer { call, result });
            drop(permit);
        });
    }
    while calls.join_next().await.is_some() {}
}
