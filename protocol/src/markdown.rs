//! An answer's Markdown as a small typed tree, parsed by the backend (CommonMark with tables and
//! strikethrough) and sent beside the answer's text, so that a client builds its display from
//! typed nodes without a Markdown parser of its own. The tree holds no HTML: raw HTML of the
//! answer is [`MarkdownNode::Text`], shown as typed; a link is classified
//! ([`MarkdownNode::Link`] for `http`, `https` and `mailto` only, [`MarkdownNode::FileLink`] for
//! a `sandbox:/mnt/data/…` file the backend keeps, [`MarkdownNode::MissingFile`] for one it does
//! not); any other link (`javascript:`, relative, …) keeps only its text. Node names follow
//! CommonMark's (<https://spec.commonmark.org/0.31.2/>) and its table extension's
//! (<https://github.github.com/gfm/#tables-extension->).
//!
//! A node is one JSON object whose only key names its kind (`{"paragraph": [...]}`,
//! `{"text": "..."}`, `{"heading": {"level": 1, "children": [...]}}`), or a string for the two
//! kinds without content (`"thematic_break"`, `"line_break"`): serde's externally tagged form,
//! read in one pass (the sidebar's bundle stays small).

use serde::{Deserialize, Serialize};

/// One node of an answer's Markdown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(no_recursion))]
#[serde(rename_all = "snake_case")]
pub enum MarkdownNode {
    /// Text, shown as typed (markup of raw HTML included).
    Text(String),
    /// A paragraph: inline nodes.
    Paragraph(Vec<MarkdownNode>),
    /// An ATX or setext heading.
    Heading {
        /// 1 (`#`) to 6 (`######`).
        level: u8,
        /// Inline nodes.
        children: Vec<MarkdownNode>,
    },
    /// A block quote (`> …`): block nodes.
    BlockQuote(Vec<MarkdownNode>),
    /// A fenced or indented code block.
    CodeBlock {
        /// The first word of a fence's info string (`python` of ```` ```python ````), if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<String>,
        /// The code, line ends included.
        text: String,
    },
    /// A bullet list (`start` absent) or an ordered list numbered from `start`.
    List {
        /// The ordered list's first number (`3` of `3. three`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start: Option<u64>,
        /// The items, each a list of inline nodes (a tight list) or block nodes.
        items: Vec<Vec<MarkdownNode>>,
    },
    /// A table: its head row and its body rows, each row a list of cells, each cell a list of
    /// inline nodes.
    Table {
        /// The head row's cells.
        head: Vec<Vec<MarkdownNode>>,
        /// The body rows.
        rows: Vec<Vec<Vec<MarkdownNode>>>,
    },
    /// A thematic break (`---`).
    ThematicBreak,
    /// Emphasis (`*…*`): inline nodes.
    Emphasis(Vec<MarkdownNode>),
    /// Strong emphasis (`**…**`): inline nodes.
    Strong(Vec<MarkdownNode>),
    /// Strikethrough (`~~…~~`): inline nodes.
    Strikethrough(Vec<MarkdownNode>),
    /// A code span (`` `…` ``): the code.
    Code(String),
    /// A hard line break.
    LineBreak,
    /// A link to an `http`, `https` or `mailto` address (an image of one is a link too: its
    /// description is the text).
    Link {
        /// The address, as written.
        href: String,
        /// Inline nodes.
        children: Vec<MarkdownNode>,
    },
    /// A link to a file of the code interpreter (`sandbox:/mnt/data/…`) that the backend keeps:
    /// its bytes are at `GET /api/v1/threads/{thread_id}/files/{file_id}/content`.
    FileLink {
        /// `file_…`.
        file_id: String,
        /// The file's name (`events_per_decade.png`).
        filename: String,
        /// Inline nodes.
        children: Vec<MarkdownNode>,
    },
    /// A link to a file of the code interpreter that the backend does not have: its inline
    /// nodes, without a link.
    MissingFile(Vec<MarkdownNode>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_an_object_named_by_its_kind_and_reads_back() {
        let node = MarkdownNode::Paragraph(vec![
            MarkdownNode::Text("a ".into()),
            MarkdownNode::FileLink {
                file_id: "file_1".into(),
                filename: "c.png".into(),
                children: vec![MarkdownNode::LineBreak],
            },
        ]);
        let json = serde_json::to_value(&node).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"paragraph": [
                {"text": "a "},
                {"file_link": {"file_id": "file_1", "filename": "c.png", "children": ["line_break"]}}
            ]})
        );
        let back: MarkdownNode = serde_json::from_value(json).expect("deserialises");
        assert_eq!(back, node);
    }
}
