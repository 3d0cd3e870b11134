//! What every part of the chat shares: the store (threads, messages, runs), the spreadsheet
//! layer's handles (the Sheets client, the catalogue, the access keys — for the sheet's reads,
//! the spreadsheet's budget and the access check, shared with jobs), the Responses client, the
//! settings with the model resolved in the catalogue, and the runs this process drives.

use almanac_core::catalog::{Catalog, ModelSpec, UnknownModel};
use almanac_openai::ResponsesClient;
use almanac_store::Store;

use crate::chat::live::Live;
use crate::chat::settings::ChatSettings;
use crate::spreadsheet::Spreadsheets;

/// The chat's shared handles.
pub struct ChatContext {
    /// The database (the spreadsheet layer's store).
    pub store: Store,
    /// Known models and prices (the spreadsheet layer's catalogue).
    pub catalog: &'static Catalog,
    /// The spreadsheet layer's handles: the sheet's reads, the access check, the budget.
    pub spreadsheets: Spreadsheets,
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
        spreadsheets: Spreadsheets,
        openai: ResponsesClient,
        settings: ChatSettings,
    ) -> Result<ChatContext, UnknownModel> {
        let model = spreadsheets.catalog.resolve(&settings.model)?;
        Ok(ChatContext {
            store: spreadsheets.store.clone(),
            catalog: spreadsheets.catalog,
            spreadsheets,
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
