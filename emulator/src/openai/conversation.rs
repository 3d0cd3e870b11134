//! The record of a stored conversation (the Conversations API's `conversation`,
//! <https://platform.openai.com/docs/api-reference/conversations>): its id, `created_at`,
//! `metadata` and items, with its JSON object. The routes are in [`crate::openai::conversations`].
//! Plain data: this module uses no other module of the crate.

use serde_json::{Value, json};

/// A stored conversation.
#[derive(Clone, Debug)]
pub struct Conversation {
    /// `conv_…`.
    pub id: String,
    /// Unix seconds.
    pub created_at: u64,
    /// The `metadata` object (`{}` when none was given).
    pub metadata: Value,
    /// Items, oldest first, as stored (see [`crate::openai::items`]).
    pub items: Vec<Value>,
}

impl Conversation {
    /// The `conversation` object (the spec's `ConversationResource`).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "conversation",
            "created_at": self.created_at,
            "metadata": self.metadata,
        })
    }
}
