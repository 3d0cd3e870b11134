//! The Conversations API under `/v1/conversations`
//! (<https://platform.openai.com/docs/api-reference/conversations>): a conversation is an id
//! (`conv_…`), `created_at` (Unix seconds), `metadata` and an ordered list of items (see
//! [`crate::openai::items`]). Responses created with `conversation` read its items as context and
//! append their input and output items to it ([`crate::openai::responses`]).
//!
//! | Route | Answer |
//! |---|---|
//! | `POST /v1/conversations` (`items` ≤ 20, `metadata`) | `conversation` object |
//! | `GET /v1/conversations/{id}` | `conversation` object |
//! | `POST /v1/conversations/{id}` (`metadata`, required; replaces it) | `conversation` object |
//! | `DELETE /v1/conversations/{id}` | `{"id","object":"conversation.deleted","deleted":true}` |
//! | `POST /v1/conversations/{id}/items` (`items`, 1–20) | list of the added items |
//! | `GET /v1/conversations/{id}/items` (`limit` 1–100 = 20, `order` = `desc`, `after`, `include`) | list page |
//! | `GET /v1/conversations/{id}/items/{item_id}` | the item |
//! | `DELETE /v1/conversations/{id}/items/{item_id}` | the `conversation` object |
//!
//! Unknown ids answer 404 `Conversation with id '…' not found.` / `Item with id '…' not found.`
//! (`type: invalid_request_error`). Lists have `first_id`/`last_id` `null` when empty.
//!
//! The record ([`Conversation`]) lives in [`crate::openai::conversation`], which the state uses.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::{Value, json};

pub use crate::openai::conversation::Conversation;
use crate::openai::items;
use crate::openai::wire::{self, Refusal, bad_request, missing, not_found, wrong_type};
use crate::state::{self, Shared};
use crate::util::now_unix;

/// Most items `POST /v1/conversations` and `POST /v1/conversations/{id}/items` take at once.
pub const MAX_ITEMS_PER_CALL: usize = 20;

/// The routes of this module (state supplied by [`crate::openai::routes::router`]).
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/conversations", post(create))
        .route(
            "/v1/conversations/{id}",
            get(retrieve).post(update).delete(remove),
        )
        .route(
            "/v1/conversations/{id}/items",
            post(add_items).get(list_items),
        )
        .route(
            "/v1/conversations/{id}/items/{item_id}",
            get(get_item).delete(delete_item),
        )
}

/// 404 for an unknown conversation.
pub(crate) fn no_such_conversation(id: &str) -> Refusal {
    not_found(&format!("Conversation with id '{id}' not found."), None)
}

fn no_such_item(id: &str) -> Refusal {
    not_found(&format!("Item with id '{id}' not found."), None)
}

/// Any stored item with this id: in a conversation, or among a response's input and output.
pub(crate) fn find_item(state: &state::State, id: &str) -> Option<Value> {
    let in_conversations = state
        .conversations
        .values()
        .flat_map(|c| c.items.iter())
        .find(|item| item["id"] == id);
    let in_responses = || {
        state
            .responses
            .values()
            .flat_map(|r| r.input_items.iter().chain(r.outcome.output.iter()))
            .find(|item| item["id"] == id)
    };
    in_conversations.or_else(in_responses).cloned()
}

/// Checks an `items` array (1–20 entries when `required`) and stores its items.
fn checked_items(
    state: &state::State,
    value: Option<&Value>,
    required: bool,
) -> Result<Vec<Value>, Refusal> {
    let list = match value {
        None | Some(Value::Null) if required => return Err(missing("items")),
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(other) => return Err(wrong_type("items", "an array", other)),
    };
    if list.len() > MAX_ITEMS_PER_CALL {
        return Err(bad_request(
            &format!(
                "Invalid 'items': array too long. Expected an array with maximum length {MAX_ITEMS_PER_CALL}, but got an array with length {} instead.",
                list.len()
            ),
            Some("items"),
            Some("array_above_max_length"),
        ));
    }
    items::normalize_list(list, "items", &|id| find_item(state, id))
}

async fn create(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let body = match wire::parse_object(&body) {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = wire::reject_unknown(&body, &["items", "metadata"]) {
        return e.into_response();
    }
    let metadata = match wire::metadata(body.get("metadata"), "metadata") {
        Ok(m) => m,
        Err(e) => return e.into_response(),
    };
    let mut state = shared.lock();
    let items = match checked_items(&state, body.get("items"), false) {
        Ok(items) => items,
        Err(e) => return e.into_response(),
    };
    let conversation = Conversation {
        id: wire::new_id("conv_"),
        created_at: now_unix(),
        metadata,
        items,
    };
    let out = conversation.to_json();
    state.response_stats.conversations_created += 1;
    state
        .conversations
        .insert(conversation.id.clone(), conversation);
    Json(out).into_response()
}

async fn retrieve(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match shared.lock().conversations.get(&id) {
        Some(c) => Json(c.to_json()).into_response(),
        None => no_such_conversation(&id).into_response(),
    }
}

async fn update(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let body = match wire::parse_object(&body) {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = wire::reject_unknown(&body, &["metadata"]) {
        return e.into_response();
    }
    if !body.contains_key("metadata") {
        return missing("metadata").into_response();
    }
    let metadata = match wire::metadata(body.get("metadata"), "metadata") {
        Ok(m) => m,
        Err(e) => return e.into_response(),
    };
    match shared.lock().conversations.get_mut(&id) {
        Some(c) => {
            c.metadata = metadata;
            Json(c.to_json()).into_response()
        }
        None => no_such_conversation(&id).into_response(),
    }
}

async fn remove(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match shared.lock().conversations.remove(&id) {
        Some(_) => Json(json!({"id": id, "object": "conversation.deleted", "deleted": true}))
            .into_response(),
        None => no_such_conversation(&id).into_response(),
    }
}

async fn add_items(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let page = match wire::page(query.as_deref()) {
        Ok(page) => page,
        Err(e) => return e.into_response(),
    };
    let body = match wire::parse_object(&body) {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    let mut state = shared.lock();
    if !state.conversations.contains_key(&id) {
        return no_such_conversation(&id).into_response();
    }
    let added = match checked_items(&state, body.get("items"), true) {
        Ok(items) => items,
        Err(e) => return e.into_response(),
    };
    if let Some(c) = state.conversations.get_mut(&id) {
        c.items.extend(added.iter().cloned());
    }
    let data: Vec<Value> = added
        .iter()
        .map(|i| items::render(i, &page.include))
        .collect();
    Json(json!({
        "object": "list",
        "first_id": data.first().map(|i| i["id"].clone()),
        "last_id": data.last().map(|i| i["id"].clone()),
        "data": data,
        "has_more": false,
    }))
    .into_response()
}

async fn list_items(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let page = match wire::page(query.as_deref()) {
        Ok(page) => page,
        Err(e) => return e.into_response(),
    };
    let state = shared.lock();
    let Some(c) = state.conversations.get(&id) else {
        return no_such_conversation(&id).into_response();
    };
    match wire::list(&c.items, &page, |i| items::render(i, &page.include)) {
        Some(list) => Json(list).into_response(),
        None => no_such_item(page.after.as_deref().unwrap_or("")).into_response(),
    }
}

async fn get_item(
    State(shared): State<Arc<Shared>>,
    Path((id, item_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let page = match wire::page(query.as_deref()) {
        Ok(page) => page,
        Err(e) => return e.into_response(),
    };
    let state = shared.lock();
    let Some(c) = state.conversations.get(&id) else {
        return no_such_conversation(&id).into_response();
    };
    match c.items.iter().find(|i| i["id"] == item_id.as_str()) {
        Some(item) => Json(items::render(item, &page.include)).into_response(),
        None => no_such_item(&item_id).into_response(),
    }
}

async fn delete_item(
    State(shared): State<Arc<Shared>>,
    Path((id, item_id)): Path<(String, String)>,
) -> Response {
    let mut state = shared.lock();
    let Some(c) = state.conversations.get_mut(&id) else {
        return no_such_conversation(&id).into_response();
    };
    let before = c.items.len();
    c.items.retain(|i| i["id"] != item_id.as_str());
    if c.items.len() == before {
        return no_such_item(&item_id).into_response();
    }
    Json(c.to_json()).into_response()
}
