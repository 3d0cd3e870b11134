//! How a response ends, shared by the synchronous, background and streamed paths
//! ([`crate::openai::responses`], the ticker, [`crate::openai::stream`]): settling it at its final
//! status (with the conversation update and the counters), forgetting a finished `store: false`
//! response, the ticker's step of background responses, and the lookup of stored responses.

use serde_json::Value;

use crate::openai::response::{ResponseStatus, StoredResponse};
use crate::openai::wire::{Refusal, not_found};
use crate::state::State as World;
use crate::util::now_unix;

/// 404 for an unknown (or unstored) response.
pub(crate) fn no_such_response(id: &str) -> Refusal {
    not_found(&format!("Response with id '{id}' not found."), None)
}

/// A stored (retrievable) response.
pub(crate) fn stored<'a>(state: &'a World, id: &str) -> Option<&'a StoredResponse> {
    state.responses.get(id).filter(|r| r.request.store)
}

/// How a response ends.
pub(crate) enum End {
    /// As planned.
    Planned,
    /// Failed with this `error` object.
    Failed(Value),
}

/// Ends a response: its final status, the conversation update, the counters (see
/// [`forget_unstored`] for `store: false`).
pub(crate) fn settle(state: &mut World, id: &str, end: End) {
    let Some(resp) = state.responses.get_mut(id) else {
        return;
    };
    if resp.status.is_terminal() {
        return;
    }
    if let End::Failed(error) = end {
        resp.outcome.status = ResponseStatus::Failed;
        resp.outcome.error = error;
    }
    resp.status = resp.outcome.status;
    resp.completed_at = (resp.status == ResponseStatus::Completed).then(now_unix);
    let append = matches!(
        resp.status,
        ResponseStatus::Completed | ResponseStatus::Incomplete
    );
    let new_items: Vec<Value> = resp
        .input_items
        .iter()
        .chain(resp.outcome.output.iter())
        .cloned()
        .collect();
    let (conversation, status) = (resp.request.conversation.clone(), resp.status);
    if let Some(c) = conversation
        .filter(|_| append)
        .and_then(|id| state.conversations.get_mut(&id))
    {
        c.items.extend(new_items);
    }
    let stats = &mut state.response_stats;
    match status {
        ResponseStatus::Completed => stats.completed += 1,
        ResponseStatus::Failed => stats.failed += 1,
        ResponseStatus::Incomplete => stats.incomplete += 1,
        _ => {}
    }
}

/// Forgets a finished `store: false` response.
pub(crate) fn forget_unstored(state: &mut World, id: &str) {
    let unstored = state
        .responses
        .get(id)
        .is_some_and(|r| !r.request.store && r.status.is_terminal());
    if unstored {
        state.responses.remove(id);
    }
}

/// One tick of every background response that is not streamed (called by the emulator's ticker).
pub(crate) fn advance(state: &mut World) {
    if state.responses_hold {
        return;
    }
    let config = state.responses_config.clone();
    let mut done = Vec::new();
    for resp in state.responses.values_mut() {
        if !resp.request.background || resp.request.stream || resp.status.is_terminal() {
            continue;
        }
        resp.ticks += 1;
        if resp.status == ResponseStatus::Queued && resp.ticks >= config.queued_steps {
            resp.status = ResponseStatus::InProgress;
            resp.ticks = 0;
        } else if resp.status == ResponseStatus::InProgress
            && resp.ticks >= config.in_progress_steps
        {
            done.push(resp.id.clone());
        }
    }
    for id in done {
        settle(state, &id, End::Planned);
    }
}
