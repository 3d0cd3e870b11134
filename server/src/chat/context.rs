//! What every part of the chat shares: the jobs layer's handles it needs (the store, the Sheets
//! client, the catalogue — for the spreadsheet's budget and the access check, shared with jobs),
//! the Responses client, the settings with the model resolved in the catalogue, and the runs this
//! process drives.

use std::sync::Arc;

use almanac_core::catalog::{ModelSpec, UnknownModel};
use almanac_openai::ResponsesClient;

use crate::chat::live::Live;
use crate::chat::settings::ChatSettings;
use crate::jobs::Services;

/// The chat's shared handles.
pub struct ChatContext {
    /// The store, the Sheets client and the catalogue (the jobs layer's, shared).
    pub svc: Arc<Services>,
    /// OpenAI's Conversations, Responses, Files and Containers.
    pub openai: ResponsesClient,
    /// The settings.
    pub settings: ChatSettings,
    /// The chat model in the catalogue (prices, tokenizer).
    pub model: &'static ModelSpec,
    /// Runs this process drives.
    pub live: Live,
}

impl ChatContext {
    /// The context over these handles.
    ///
    /// # Errors
    /// [`UnknownModel`] when the chat model is not in the catalogue (its turns could not be
    /// priced).
    pub fn new(
        svc: Arc<Services>,
        openai: ResponsesClient,
        settings: ChatSettings,
    ) -> Result<ChatContext, UnknownModel> {
        let model = svc.catalog.resolve(&settings.model)?;
        Ok(ChatContext {
            svc,
            openai,
            settings,
            model,
            live: Live::default(),
        })
    }
}

/// A new id of Almanac's own: `prefix_` and a UUID v7 (time-ordered) in hex, such as
/// `thread_0190a1b2c3d4…`; the OpenAI ids stay behind these.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}
