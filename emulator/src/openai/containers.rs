//! Containers, the sandboxes of the code interpreter tool
//! (<https://platform.openai.com/docs/api-reference/containers>): a container (`cntr_…`) holds
//! files (`cfile_…`) under `/mnt/data/`. A response whose `code_interpreter` tool has
//! `container: {"type": "auto", "file_ids": [...]}` gets a new container holding copies of those
//! uploaded files (`source: "user"`), and the files the emulated code writes (the PNG chart,
//! `source: "assistant"`) land in it too ([`crate::openai::responses`]).
//!
//! | Route | Answer |
//! |---|---|
//! | `POST /v1/containers` (`name` required, `file_ids`, `expires_after`, `memory_limit`) | `container` |
//! | `GET /v1/containers` | list, newest first |
//! | `GET`/`DELETE /v1/containers/{id}` | `container` / `{"id","object":"container.deleted","deleted":true}` |
//! | `GET /v1/containers/{id}/files` | list of `container.file`, newest first |
//! | `GET`/`DELETE /v1/containers/{id}/files/{file_id}` | `container.file` / `container.file.deleted` |
//! | `GET /v1/containers/{id}/files/{file_id}/content` | the raw bytes (`image/png` for `.png`) |
//!
//! A `container.file` is `{"id","object":"container.file","container_id","created_at","bytes",
//! "path","source"}`. Unknown ids answer 404 (`Container with id '…' not found.`,
//! `File with id '…' not found in container '…'.`).
//!
//! The records ([`Container`], [`ContainerFile`]) and the checks of `file_ids` and
//! `memory_limit` live in [`crate::openai::container`], which the state and
//! [`crate::openai::request`] use too.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use serde_json::{Value, json};

pub use crate::openai::container::{Container, ContainerFile};
use crate::openai::container::{file_ids, memory_limit};
use crate::openai::wire::{self, Refusal, missing, not_found, wrong_type};
use crate::state::{Shared, State as World};
use crate::util::now_unix;

/// Creates a container holding copies of the uploaded files `file_ids` and returns its id.
///
/// # Errors
/// The first id that names no uploaded file.
pub(crate) fn create(
    state: &mut World,
    name: &str,
    memory_limit: &str,
    file_ids: &[String],
) -> Result<String, String> {
    let mut container = Container {
        id: wire::new_id("cntr_"),
        name: name.to_string(),
        created_at: now_unix(),
        memory_limit: memory_limit.to_string(),
        files: Vec::new(),
    };
    for file_id in file_ids {
        let file = state.files.get(file_id).ok_or_else(|| file_id.clone())?;
        let filename = format!("{file_id}-{}", file.filename);
        container.add_file(&filename, file.content.clone(), "user");
    }
    let id = container.id.clone();
    state.containers.insert(id.clone(), container);
    Ok(id)
}

/// The routes of this module (state supplied by [`crate::openai::routes::router`]).
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/containers", get(list).post(create_route))
        .route("/v1/containers/{id}", get(retrieve).delete(remove))
        .route("/v1/containers/{id}/files", get(list_files))
        .route(
            "/v1/containers/{id}/files/{file_id}",
            get(retrieve_file).delete(remove_file),
        )
        .route(
            "/v1/containers/{id}/files/{file_id}/content",
            get(file_content),
        )
}

fn no_such_container(id: &str) -> Refusal {
    not_found(&format!("Container with id '{id}' not found."), None)
}

fn no_such_file(container: &str, id: &str) -> Refusal {
    not_found(
        &format!("File with id '{id}' not found in container '{container}'."),
        None,
    )
}

async fn create_route(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let body = match wire::parse_object(&body) {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    let known = [
        "name",
        "file_ids",
        "expires_after",
        "memory_limit",
        "skills",
        "network_policy",
    ];
    if let Err(e) = wire::reject_unknown(&body, &known) {
        return e.into_response();
    }
    let name = match body.get("name") {
        Some(Value::String(name)) => name.clone(),
        None | Some(Value::Null) => return missing("name").into_response(),
        Some(other) => return wrong_type("name", "a string", other).into_response(),
    };
    let memory = match memory_limit(body.get("memory_limit"), "memory_limit") {
        Ok(m) => m,
        Err(e) => return e.into_response(),
    };
    let ids = match file_ids(body.get("file_ids"), "file_ids") {
        Ok(ids) => ids,
        Err(e) => return e.into_response(),
    };
    let mut state = shared.lock();
    match create(&mut state, &name, &memory, &ids) {
        Ok(id) => Json(state.containers[&id].to_json()).into_response(),
        Err(file_id) => {
            not_found(&format!("No such File object: {file_id}"), Some("file_ids")).into_response()
        }
    }
}

async fn list(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let page = match wire::page(query.as_deref()) {
        Ok(page) => page,
        Err(e) => return e.into_response(),
    };
    let state = shared.lock();
    let mut all: Vec<&Container> = state.containers.values().collect();
    all.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    let objects: Vec<Value> = all.iter().map(|c| c.to_json()).collect();
    match wire::list(&objects, &page, Value::clone) {
        Some(list) => Json(list).into_response(),
        None => no_such_container(page.after.as_deref().unwrap_or("")).into_response(),
    }
}

async fn retrieve(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match shared.lock().containers.get(&id) {
        Some(c) => Json(c.to_json()).into_response(),
        None => no_such_container(&id).into_response(),
    }
}

async fn remove(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match shared.lock().containers.remove(&id) {
        Some(_) => {
            Json(json!({"id": id, "object": "container.deleted", "deleted": true})).into_response()
        }
        None => no_such_container(&id).into_response(),
    }
}

async fn list_files(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let page = match wire::page(query.as_deref()) {
        Ok(page) => page,
        Err(e) => return e.into_response(),
    };
    let state = shared.lock();
    let Some(c) = state.containers.get(&id) else {
        return no_such_container(&id).into_response();
    };
    let objects: Vec<Value> = c.files.iter().map(|f| f.to_json(&c.id)).collect();
    match wire::list(&objects, &page, Value::clone) {
        Some(list) => Json(list).into_response(),
        None => no_such_file(&id, page.after.as_deref().unwrap_or("")).into_response(),
    }
}

/// Runs `f` on the file, or answers 404.
fn with_file(
    shared: &Shared,
    id: &str,
    file_id: &str,
    f: impl FnOnce(&mut Container, usize) -> Response,
) -> Response {
    let mut state = shared.lock();
    let Some(c) = state.containers.get_mut(id) else {
        return no_such_container(id).into_response();
    };
    match c.files.iter().position(|file| file.id == file_id) {
        Some(i) => f(c, i),
        None => no_such_file(id, file_id).into_response(),
    }
}

async fn retrieve_file(
    State(shared): State<Arc<Shared>>,
    Path((id, file_id)): Path<(String, String)>,
) -> Response {
    with_file(&shared, &id, &file_id, |c, i| {
        Json(c.files[i].to_json(&c.id)).into_response()
    })
}

async fn remove_file(
    State(shared): State<Arc<Shared>>,
    Path((id, file_id)): Path<(String, String)>,
) -> Response {
    with_file(&shared, &id, &file_id, |c, i| {
        let file = c.files.remove(i);
        Json(json!({"id": file.id, "object": "container.file.deleted", "deleted": true}))
            .into_response()
    })
}

async fn file_content(
    State(shared): State<Arc<Shared>>,
    Path((id, file_id)): Path<(String, String)>,
) -> Response {
    with_file(&shared, &id, &file_id, |c, i| {
        let file = &c.files[i];
        let kind = if file.path.ends_with(".png") {
            "image/png"
        } else {
            "application/octet-stream"
        };
        ([(header::CONTENT_TYPE, kind)], file.content.clone()).into_response()
    })
}
