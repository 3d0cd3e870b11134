//! Driving a prepared turn to its end: one background response after another in the thread's
//! conversation — polled (`GET /v1/responses/{id}`) or streamed (text deltas relayed as they
//! come) — answering the model's function calls from the sheet between them, until a response
//! answers in text (at most [`MAX_RESPONSES`]). A stop signal (cancel) or the run timeout
//! cancels the current response at OpenAI. A stream that breaks is followed by polling the same
//! background response, so a dropped connection loses no answer. Nothing is stored here but the
//! latest response's id; [`crate::chat::finish`] stores the end.

use almanac_core::ids::RunId;
use std::time::Duration;

use almanac_openai::OpenAiError;
use almanac_openai::responses::events::{StreamEvent, ToolStart};
use almanac_openai::responses::outcome::{ResponseOutcome, ResponseStatus};
use almanac_openai::responses::request::{InputItem, ResponseRequest};
use almanac_protocol::chat::{ChatResponse, RunStatus, ToolKind};
use almanac_protocol::{ErrorCode, ErrorDetail, TokenUsage};
use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::chat::context::ChatContext;
use crate::chat::errors::{FailureKind, TurnFailure};
use crate::chat::tools;
use crate::chat::turn::Turn;

/// Most responses one turn makes (the first, then one per round of function calls).
pub const MAX_RESPONSES: usize = 5;

/// What a streamed turn tells its listener, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum TurnEvent {
    /// The next piece of the answer's text.
    Delta(String),
    /// The model started using a tool.
    Tool(ToolKind),
    /// The answer, stored.
    Done(ChatResponse),
    /// The turn ended without an answer; nothing of it was stored but its `usage`.
    Failed(TurnFailure),
}

/// How the responses of a turn ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Ending {
    /// The last response, which answers in text (`completed` or `incomplete`).
    Answered(Box<ResponseOutcome>),
    /// OpenAI failed or refused: the kind, a stable code and a message for people.
    Failed(TurnFailure),
    /// Cancelled on request, or expired at the run timeout.
    Stopped(RunStatus),
}

/// A driven turn: how it ended and what its responses spent.
#[derive(Clone, Debug, PartialEq)]
pub struct Driven {
    /// How it ended.
    pub ending: Ending,
    /// `usage` of every response, summed.
    pub usage: TokenUsage,
    /// Containers the code interpreter ran in, each once.
    pub containers: Vec<String>,
}

/// What one response came to.
enum Step {
    Ended(ResponseOutcome),
    Stopped(RunStatus),
    Failed(TurnFailure),
}

/// The state of one turn's driving.
struct Driver<'a> {
    ctx: &'a ChatContext,
    run_id: &'a RunId,
    events: &'a mpsc::UnboundedSender<TurnEvent>,
    stop: watch::Receiver<bool>,
    deadline: Instant,
    response_id: Option<String>,
}

/// Drives `turn` (see the module documentation); `streamed` relays text to `events`.
pub async fn drive(
    ctx: &ChatContext,
    turn: &Turn,
    streamed: bool,
    events: &mpsc::UnboundedSender<TurnEvent>,
    stop: watch::Receiver<bool>,
) -> Driven {
    let mut driver = Driver {
        ctx,
        run_id: &turn.run_id,
        events,
        stop,
        deadline: Instant::now() + ctx.settings.run_timeout,
        response_id: None,
    };
    let mut driven = Driven {
        ending: Ending::Failed(too_many_calls()),
        usage: TokenUsage::default(),
        containers: Vec::new(),
    };
    let mut request = turn.request.clone();
    for _ in 0..MAX_RESPONSES {
        let step = match streamed {
            true => driver.streamed(&request).await,
            false => driver.polled(&request).await,
        };
        let outcome = match step {
            Step::Ended(outcome) => outcome,
            Step::Stopped(status) => {
                driver.cancel_current().await;
                driven.ending = Ending::Stopped(status);
                return driven;
            }
            Step::Failed(error) => {
                driver.cancel_current().await;
                driven.ending = Ending::Failed(error);
                return driven;
            }
        };
        add(&mut driven, &outcome);
        match next_input(turn, &outcome) {
            Ok(Some(input)) => request.input = input,
            Ok(None) => {
                driven.ending = Ending::Answered(Box::new(outcome));
                return driven;
            }
            Err(ending) => {
                driven.ending = ending;
                return driven;
            }
        }
    }
    driven
}

/// Adds a response's usage and containers to the turn's.
fn add(driven: &mut Driven, outcome: &ResponseOutcome) {
    let (u, o) = (&mut driven.usage, &outcome.usage);
    u.input_tokens += o.input_tokens;
    u.cached_input_tokens += o.cached_input_tokens;
    u.output_tokens += o.output_tokens;
    u.reasoning_tokens += o.reasoning_tokens;
    for c in &outcome.containers {
        if !driven.containers.contains(c) {
            driven.containers.push(c.clone());
        }
    }
}

/// After an ended response: the function outputs to send next, `None` when it answered, or how
/// the turn ends when it did neither.
fn next_input(turn: &Turn, outcome: &ResponseOutcome) -> Result<Option<Vec<InputItem>>, Ending> {
    match outcome.status {
        ResponseStatus::Completed | ResponseStatus::Incomplete => {}
        ResponseStatus::Cancelled => return Err(Ending::Stopped(RunStatus::Cancelled)),
        _ => return Err(Ending::Failed(failed_response(outcome))),
    }
    if outcome.function_calls.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        outcome
            .function_calls
            .iter()
            .map(|call| InputItem::FunctionOutput {
                call_id: call.call_id.clone(),
                output: tools::answer(&turn.sheet, call),
            })
            .collect(),
    ))
}

impl Driver<'_> {
    /// A background response, polled to its end.
    async fn polled(&mut self, request: &ResponseRequest) -> Step {
        match self.ctx.openai.create(request).await {
            Ok(created) => {
                self.saw_response(&created.id).await;
                self.follow(created).await
            }
            Err(e) => Step::Failed(openai_error(&e)),
        }
    }

    /// Polls a background response until it ends, the run is stopped or the timeout passes.
    async fn follow(&mut self, mut outcome: ResponseOutcome) -> Step {
        loop {
            if outcome.status.is_terminal() {
                return Step::Ended(outcome);
            }
            if let Some(status) = self.wait(self.ctx.settings.poll_interval).await {
                return Step::Stopped(status);
            }
            outcome = match self.ctx.openai.retrieve(&outcome.id).await {
                Ok(now) => now,
                Err(e) if e.is_transient() => outcome,
                Err(e) => return Step::Failed(openai_error(&e)),
            };
        }
    }

    /// A streamed background response: deltas and tool starts relayed, the end returned; a
    /// broken stream is followed by polling.
    async fn streamed(&mut self, request: &ResponseRequest) -> Step {
        let mut stream = match self.ctx.openai.stream(request).await {
            Ok(stream) => stream,
            Err(e) => return Step::Failed(openai_error(&e)),
        };
        loop {
            let next = tokio::select! {
                next = stream.next() => next,
                status = self.stopped() => return Step::Stopped(status),
            };
            match next {
                Some(Ok(StreamEvent::Created(id))) => self.saw_response(&id).await,
                Some(Ok(StreamEvent::TextDelta(text))) => self.tell(TurnEvent::Delta(text)),
                Some(Ok(StreamEvent::ToolStarted(tool))) => {
                    self.tell(TurnEvent::Tool(match tool {
                        ToolStart::Function => ToolKind::SheetLookup,
                        ToolStart::CodeInterpreter => ToolKind::CodeInterpreter,
                    }))
                }
                Some(Ok(StreamEvent::Ended(outcome))) => return Step::Ended(outcome),
                Some(Ok(StreamEvent::Error(f))) => {
                    return Step::Failed(stopped_answer(&f.code, &f.message));
                }
                Some(Err(e)) => return self.after_break(&e.to_string()).await,
                None => return self.after_break("the stream ended early").await,
            }
        }
    }

    /// After a broken stream: poll the same background response to its end.
    async fn after_break(&mut self, why: &str) -> Step {
        let Some(id) = self.response_id.clone() else {
            return Step::Failed(failure(
                FailureKind::Unavailable,
                ErrorCode::OpenAiUnavailable,
                format!(
                    "OpenAI's stream broke before the answer started ({why}): nothing was saved; ask again"
                ),
            ));
        };
        tracing::warn!(response_id = %id, %why, "the stream broke; polling the response instead");
        match self.ctx.openai.retrieve(&id).await {
            Ok(now) => self.follow(now).await,
            Err(e) => Step::Failed(openai_error(&e)),
        }
    }

    /// Saves the latest response's id on the run (right after OpenAI named it).
    async fn saw_response(&mut self, id: &str) {
        self.response_id = Some(id.to_owned());
        if let Err(e) = self.ctx.store.set_chat_response(self.run_id, id).await {
            tracing::warn!(error = %e, "could not save the response id");
        }
    }

    fn tell(&self, event: TurnEvent) {
        let _ = self.events.send(event);
    }

    /// Waits `pause`; `Some` when the run was stopped or timed out meanwhile.
    async fn wait(&mut self, pause: Duration) -> Option<RunStatus> {
        tokio::select! {
            () = tokio::time::sleep(pause) => None,
            status = self.stopped() => Some(status),
        }
    }

    /// Resolves when the run is cancelled (`cancelled`) or its timeout passes (`expired`).
    async fn stopped(&mut self) -> RunStatus {
        let deadline = self.deadline;
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => RunStatus::Expired,
            _ = self.stop.wait_for(|stop| *stop) => RunStatus::Cancelled,
        }
    }

    /// Cancels the current response at OpenAI, best effort (it may have ended already).
    async fn cancel_current(&self) {
        if let Some(id) = &self.response_id
            && let Err(e) = self.ctx.openai.cancel(id).await
        {
            tracing::debug!(response_id = %id, error = %e, "response not cancelled");
        }
    }
}

fn failure(kind: FailureKind, code: ErrorCode, message: String) -> TurnFailure {
    TurnFailure {
        kind,
        error: ErrorDetail { code, message },
    }
}

/// An OpenAI error that ended a turn.
fn openai_error(e: &OpenAiError) -> TurnFailure {
    let (kind, code) = match e.is_transient() {
        true => (FailureKind::Unavailable, ErrorCode::OpenAiUnavailable),
        false => (FailureKind::OpenAi, ErrorCode::OpenAiRefused),
    };
    failure(
        kind,
        code,
        format!("{e}. Nothing of this turn was saved: ask again"),
    )
}

/// A response that failed (its `error`).
fn failed_response(outcome: &ResponseOutcome) -> TurnFailure {
    let (code, message) = outcome
        .error
        .as_ref()
        .map_or(("server_error", "no reason given"), |f| {
            (f.code.as_str(), f.message.as_str())
        });
    stopped_answer(code, message)
}

/// OpenAI stopped writing the answer (a failed response or an `error` event).
fn stopped_answer(code: &str, message: &str) -> TurnFailure {
    failure(
        FailureKind::OpenAi,
        ErrorCode::OpenAi(code.to_owned()),
        format!(
            "OpenAI stopped answering ({code}: {message}). Nothing of this turn was saved: ask again"
        ),
    )
}

fn too_many_calls() -> TurnFailure {
    failure(
        FailureKind::OpenAi,
        ErrorCode::TooManyToolCalls,
        format!(
            "the model kept calling the sheet's tools ({MAX_RESPONSES} responses without an answer): ask a narrower question"
        ),
    )
}
