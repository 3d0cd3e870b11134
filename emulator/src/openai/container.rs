//! The records of the code interpreter's containers: a [`Container`] (`cntr_…`) and its
//! [`ContainerFile`]s (`cfile_…`) under `/mnt/data/`, with their JSON objects, and the checks of
//! the request parameters that name them (`file_ids`, `memory_limit`), shared by
//! `POST /v1/containers` ([`crate::openai::containers`]) and the `code_interpreter` tool of
//! `POST /v1/responses` ([`crate::openai::request`]).

use bytes::Bytes;
use serde_json::{Value, json};

use crate::openai::wire::{Refusal, unsupported_value, wrong_type};
use crate::util::{now_unix, random_hex};

/// A code interpreter container.
#[derive(Clone, Debug)]
pub struct Container {
    /// `cntr_…`.
    pub id: String,
    /// The name given at creation (`auto` containers: `code-interpreter-auto`).
    pub name: String,
    /// Unix seconds.
    pub created_at: u64,
    /// `1g`, `4g`, `16g` or `64g`.
    pub memory_limit: String,
    /// Files, oldest first.
    pub files: Vec<ContainerFile>,
}

/// A file in a container.
#[derive(Clone, Debug)]
pub struct ContainerFile {
    /// `cfile_…`.
    pub id: String,
    /// `/mnt/data/<name>`.
    pub path: String,
    /// `user` (copied from the Files API) or `assistant` (written by the code).
    pub source: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Raw content.
    pub content: Bytes,
}

impl ContainerFile {
    /// The file name (the last part of `path`).
    pub fn filename(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    /// The `container.file` object.
    pub(crate) fn to_json(&self, container_id: &str) -> Value {
        json!({
            "id": self.id,
            "object": "container.file",
            "container_id": container_id,
            "created_at": self.created_at,
            "bytes": self.content.len(),
            "path": self.path,
            "source": self.source,
        })
    }
}

impl Container {
    /// The `container` object.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "container",
            "name": self.name,
            "created_at": self.created_at,
            "status": "running",
            "last_active_at": now_unix(),
            "expires_after": {"anchor": "last_active_at", "minutes": 20},
            "memory_limit": self.memory_limit,
        })
    }

    /// Stores a file under `/mnt/data/<filename>` and returns its id.
    pub fn add_file(&mut self, filename: &str, content: Bytes, source: &str) -> String {
        let file = ContainerFile {
            id: format!("cfile_{}", random_hex()),
            path: format!("/mnt/data/{filename}"),
            source: source.to_string(),
            created_at: now_unix(),
            content,
        };
        let id = file.id.clone();
        self.files.push(file);
        id
    }
}

/// `file_ids` of a request: absent/null → none; otherwise an array of strings.
pub(crate) fn file_ids(value: Option<&Value>, param: &str) -> Result<Vec<String>, Refusal> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(ids)) => ids
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(wrong_type(&format!("{param}[{i}]"), "a string", other)),
            })
            .collect(),
        Some(other) => Err(wrong_type(param, "an array", other)),
    }
}

/// A `memory_limit` (the spec's `ContainerMemoryLimit`), `1g` when absent.
pub(crate) fn memory_limit(value: Option<&Value>, param: &str) -> Result<String, Refusal> {
    const LIMITS: [&str; 4] = ["1g", "4g", "16g", "64g"];
    match value {
        None | Some(Value::Null) => Ok("1g".into()),
        Some(Value::String(s)) if LIMITS.contains(&s.as_str()) => Ok(s.clone()),
        Some(Value::String(s)) => Err(unsupported_value(param, s, &LIMITS)),
        Some(other) => Err(wrong_type(param, "a string", other)),
    }
}
