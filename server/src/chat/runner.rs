//! Running a prepared turn in a task of its own, so that it ends and is stored even when the
//! client that asked goes away: the run is registered as live (cancel reaches it), set
//! `in_progress`, driven ([`crate::chat::drive`]) and stored ([`crate::chat::finish`]); its
//! events go to whoever listens, and its result to whoever waits.

use almanac_core::ids::{RunId, ThreadId};
use std::sync::Arc;

use almanac_protocol::chat::ChatResponse;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument as _;

use crate::chat::context::ChatContext;
use crate::chat::drive::{self, TurnEvent};
use crate::chat::errors::TurnFailure;
use crate::chat::finish;
use crate::chat::turn::Turn;

/// A turn that runs: which thread and run, its events (deltas when streamed, then the end) and
/// its result.
pub struct Started {
    /// `thread_…`.
    pub thread_id: ThreadId,
    /// `run_…`.
    pub run_id: RunId,
    /// Deltas and tool starts (streamed turns only), then [`TurnEvent::Done`] or
    /// [`TurnEvent::Failed`].
    pub events: mpsc::UnboundedReceiver<TurnEvent>,
    /// The stored answer, or why there is none.
    pub done: oneshot::Receiver<Result<ChatResponse, TurnFailure>>,
}

/// Starts `turn` in a task; `streamed` asks OpenAI for a stream and relays its text.
pub fn spawn(ctx: Arc<ChatContext>, turn: Turn, streamed: bool) -> Started {
    let (events_tx, events) = mpsc::unbounded_channel();
    let (done_tx, done) = oneshot::channel();
    let started = Started {
        thread_id: turn.thread_id.clone(),
        run_id: turn.run_id.clone(),
        events,
        done,
    };
    let span = tracing::info_span!("chat_run", run_id = %turn.run_id, thread_id = %turn.thread_id);
    tokio::spawn(
        async move {
            let live = ctx.live.register(&turn.run_id);
            if let Err(e) = ctx.store.start_chat_run(&turn.run_id).await {
                tracing::warn!(error = %e, "could not mark the run in progress");
            }
            let driven = drive::drive(&ctx, &turn, streamed, &events_tx, live.stop.clone()).await;
            let result = finish::finish(&ctx, &turn, driven).await;
            drop(live);
            match &result {
                Ok(answer) => {
                    tracing::info!(cost_usd = answer.cost_usd, "chat run completed");
                    let _ = events_tx.send(TurnEvent::Done(answer.clone()));
                }
                Err(error) => {
                    tracing::info!(code = %error.error.code, "chat run ended without an answer");
                    let _ = events_tx.send(TurnEvent::Failed(error.clone()));
                }
            }
            let _ = done_tx.send(result);
        }
        .instrument(span),
    );
    started
}
