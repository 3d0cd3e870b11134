//! An answer's Markdown parsed once, here, into the API's typed tree
//! ([`almanac_protocol::MarkdownNode`]) that clients build their display from: `pulldown-cmark`
//! (CommonMark with tables and strikethrough) reads the text; raw HTML (blocks and inline) becomes
//! text; links are classified — `http`, `https` and `mailto` are links, a `sandbox:/mnt/data/…`
//! path is a [`MarkdownNode::FileLink`] when the answer's files hold a file of that name (else a
//! [`MarkdownNode::MissingFile`]), and any other link (`javascript:`, `data:`, relative) keeps
//! only its text. Images are links to their source with their description as text (the sidebar
//! shows charts itself).

use almanac_protocol::MarkdownNode;
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

/// A file the backend keeps for an answer: its name (`events_per_decade.png`) and its
/// Almanac id (`file_…`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeptFile<'a> {
    /// The name the code interpreter gave it.
    pub filename: &'a str,
    /// `file_…`.
    pub file_id: &'a str,
}

/// Parses `text` into the API's tree; `files` resolve its `sandbox:` links (by file name).
pub(crate) fn parse(text: &str, files: &[KeptFile<'_>]) -> Vec<MarkdownNode> {
    let mut tree = Tree {
        stack: vec![Frame::Nodes(Open::Root, Vec::new())],
        files,
    };
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    for event in Parser::new_ext(text, options) {
        tree.event(event);
    }
    while tree.stack.len() > 1 {
        tree.close();
    }
    match tree.stack.pop() {
        Some(Frame::Nodes(_, nodes)) => nodes,
        _ => Vec::new(),
    }
}

/// The path of a `sandbox:` link (`/mnt/data/events_per_decade.png`).
fn sandbox_path(dest: &str) -> Option<&str> {
    dest.strip_prefix("sandbox:").filter(|p| !p.is_empty())
}

/// What a link points at.
#[derive(Debug)]
enum Target {
    /// An `http`, `https` or `mailto` address.
    Web(String),
    /// A kept file: (id, name).
    File(String, String),
    /// A `sandbox:` file the backend does not have.
    Missing,
    /// Anything else: only the text is kept.
    Dropped,
}

/// An element being read.
#[derive(Debug)]
enum Open {
    Root,
    Paragraph,
    Heading(u8),
    BlockQuote,
    CodeBlock(Option<String>),
    Item,
    Cell,
    Emphasis,
    Strong,
    Strikethrough,
    Link(Target),
    /// A construct the tree does not keep (its children join the parent's).
    Plain,
}

/// A cell of a table, or an item of a list: its nodes.
type Cell = Vec<MarkdownNode>;

/// A level of the tree being built: an element's nodes, a list's items, a table row's cells, or
/// a table.
#[derive(Debug)]
enum Frame {
    Nodes(Open, Vec<MarkdownNode>),
    List {
        start: Option<u64>,
        items: Vec<Cell>,
    },
    Row(Vec<Cell>),
    Table {
        head: Vec<Cell>,
        rows: Vec<Vec<Cell>>,
    },
}

/// The tree being built: the open levels, innermost last.
struct Tree<'f> {
    stack: Vec<Frame>,
    files: &'f [KeptFile<'f>],
}

impl Tree<'_> {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(TagEnd::TableHead | TagEnd::TableRow) => self.end_row(),
            Event::End(_) => self.close(),
            Event::Text(text)
            | Event::Html(text)
            | Event::InlineHtml(text)
            | Event::InlineMath(text)
            | Event::DisplayMath(text)
            | Event::FootnoteReference(text) => self.text(&text),
            Event::Code(code) => self.push(MarkdownNode::Code(code.into_string())),
            Event::SoftBreak => self.text("\n"),
            Event::HardBreak => self.push(MarkdownNode::LineBreak),
            Event::Rule => self.push(MarkdownNode::ThematicBreak),
            Event::TaskListMarker(done) => self.text(if done { "☑ " } else { "☐ " }),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        let open = match tag {
            Tag::Paragraph | Tag::HtmlBlock => Open::Paragraph,
            Tag::Heading { level, .. } => Open::Heading(level as u8),
            Tag::BlockQuote(_) => Open::BlockQuote,
            Tag::CodeBlock(CodeBlockKind::Fenced(info)) => Open::CodeBlock(
                info.split_whitespace()
                    .next()
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned),
            ),
            Tag::CodeBlock(CodeBlockKind::Indented) => Open::CodeBlock(None),
            Tag::List(start) => {
                self.stack.push(Frame::List {
                    start,
                    items: Vec::new(),
                });
                return;
            }
            Tag::Item => Open::Item,
            Tag::Table(_) => {
                self.stack.push(Frame::Table {
                    head: Vec::new(),
                    rows: Vec::new(),
                });
                return;
            }
            Tag::TableHead | Tag::TableRow => {
                self.stack.push(Frame::Row(Vec::new()));
                return;
            }
            Tag::TableCell => Open::Cell,
            Tag::Emphasis => Open::Emphasis,
            Tag::Strong => Open::Strong,
            Tag::Strikethrough => Open::Strikethrough,
            Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                Open::Link(self.classify(&dest_url))
            }
            _ => Open::Plain,
        };
        self.stack.push(Frame::Nodes(open, Vec::new()));
    }

    fn classify(&self, dest: &str) -> Target {
        if let Some(path) = sandbox_path(dest) {
            let name = path.rsplit('/').next().unwrap_or(path);
            return match self.files.iter().find(|f| f.filename == name) {
                Some(f) => Target::File(f.file_id.to_owned(), f.filename.to_owned()),
                None => Target::Missing,
            };
        }
        let lower = dest.to_ascii_lowercase();
        if ["https://", "http://", "mailto:"]
            .iter()
            .any(|scheme| lower.starts_with(scheme))
        {
            Target::Web(dest.to_owned())
        } else {
            Target::Dropped
        }
    }

    /// Ends a table's head or body row.
    fn end_row(&mut self) {
        let Some(Frame::Row(cells)) = self.stack.pop() else {
            return;
        };
        if let Some(Frame::Table { head, rows }) = self.stack.last_mut() {
            if head.is_empty() {
                *head = cells;
            } else {
                rows.push(cells);
            }
        }
    }

    /// Ends the innermost element and adds it to its parent.
    fn close(&mut self) {
        if self.stack.len() <= 1 {
            return;
        }
        match self.stack.pop() {
            Some(Frame::Nodes(Open::Cell, children)) => {
                if let Some(Frame::Row(cells)) = self.stack.last_mut() {
                    cells.push(children);
                }
            }
            Some(Frame::Nodes(Open::Item, children)) => {
                if let Some(Frame::List { items, .. }) = self.stack.last_mut() {
                    items.push(children);
                }
            }
            Some(Frame::List { start, items }) => self.push(MarkdownNode::List { start, items }),
            Some(Frame::Nodes(open, children)) => match node(open, children) {
                Ok(node) => self.push(node),
                Err(children) => children.into_iter().for_each(|n| self.push(n)),
            },
            Some(Frame::Table { head, rows }) => self.push(MarkdownNode::Table { head, rows }),
            Some(Frame::Row(_)) | None => {}
        }
    }

    fn push(&mut self, node: MarkdownNode) {
        if let MarkdownNode::Text(text) = &node {
            return self.text(text);
        }
        if let Some(Frame::Nodes(_, nodes)) = self.stack.last_mut() {
            nodes.push(node);
        }
    }

    /// Adds text, joined to the text before it.
    fn text(&mut self, text: &str) {
        let Some(Frame::Nodes(_, nodes)) = self.stack.last_mut() else {
            return;
        };
        match nodes.last_mut() {
            Some(MarkdownNode::Text(last)) => last.push_str(text),
            _ => nodes.push(MarkdownNode::Text(text.to_owned())),
        }
    }
}

/// The node an element read as `open` makes, or its children when the tree keeps no node for it.
fn node(open: Open, children: Vec<MarkdownNode>) -> Result<MarkdownNode, Vec<MarkdownNode>> {
    Ok(match open {
        Open::Paragraph => MarkdownNode::Paragraph(children),
        Open::Heading(level) => MarkdownNode::Heading { level, children },
        Open::BlockQuote => MarkdownNode::BlockQuote(children),
        Open::CodeBlock(language) => MarkdownNode::CodeBlock {
            language,
            text: children
                .iter()
                .filter_map(|n| match n {
                    MarkdownNode::Text(text) => Some(text.as_str()),
                    _ => None,
                })
                .collect(),
        },
        Open::Emphasis => MarkdownNode::Emphasis(children),
        Open::Strong => MarkdownNode::Strong(children),
        Open::Strikethrough => MarkdownNode::Strikethrough(children),
        Open::Link(Target::Web(href)) => MarkdownNode::Link { href, children },
        Open::Link(Target::File(file_id, filename)) => MarkdownNode::FileLink {
            file_id,
            filename,
            children,
        },
        Open::Link(Target::Missing) => MarkdownNode::MissingFile(children),
        Open::Link(Target::Dropped) | Open::Plain | Open::Root | Open::Cell | Open::Item => {
            return Err(children);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use MarkdownNode as N;

    fn text(t: &str) -> MarkdownNode {
        N::Text(t.into())
    }

    const CHART: [KeptFile<'static>; 1] = [KeptFile {
        filename: "events_per_decade.png",
        file_id: "file_1",
    }];

    /// Every text of `nodes`, depth first.
    fn texts(nodes: &[MarkdownNode], out: &mut String) {
        for n in nodes {
            match n {
                N::Text(text) | N::Code(text) | N::CodeBlock { text, .. } => out.push_str(text),
                N::Paragraph(children)
                | N::Heading { children, .. }
                | N::BlockQuote(children)
                | N::Emphasis(children)
                | N::Strong(children)
                | N::Strikethrough(children)
                | N::Link { children, .. }
                | N::FileLink { children, .. }
                | N::MissingFile(children) => texts(children, out),
                N::List { items, .. } => items.iter().for_each(|i| texts(i, out)),
                N::Table { head, rows } => head
                    .iter()
                    .chain(rows.iter().flatten())
                    .for_each(|c| texts(c, out)),
                N::ThematicBreak | N::LineBreak => {}
            }
        }
    }

    #[test]
    fn a_heading_a_list_a_table_a_code_block_and_a_sandbox_link_become_typed_nodes() {
        let answer = "# Events per decade\n\nThe **1940s** lead:\n\n- 1910s: 3\n- 1940s: 5\n\n\
| decade | events |\n|---|---:|\n| 1910s | 3 |\n| 1940s | 5 |\n\n```python\ndf.size()\n```\n\n\
[Download the chart](sandbox:/mnt/data/events_per_decade.png)\n\n3. three\n4. four\n";
        let cell = |t: &str| vec![text(t)];
        assert_eq!(
            parse(answer, &CHART),
            vec![
                N::Heading {
                    level: 1,
                    children: vec![text("Events per decade")]
                },
                N::Paragraph(vec![
                    text("The "),
                    N::Strong(vec![text("1940s")]),
                    text(" lead:")
                ]),
                N::List {
                    start: None,
                    items: vec![cell("1910s: 3"), cell("1940s: 5")]
                },
                N::Table {
                    head: vec![cell("decade"), cell("events")],
                    rows: vec![
                        vec![cell("1910s"), cell("3")],
                        vec![cell("1940s"), cell("5")]
                    ]
                },
                N::CodeBlock {
                    language: Some("python".into()),
                    text: "df.size()\n".into()
                },
                N::Paragraph(vec![N::FileLink {
                    file_id: "file_1".into(),
                    filename: "events_per_decade.png".into(),
                    children: vec![text("Download the chart")]
                }]),
                N::List {
                    start: Some(3),
                    items: vec![cell("three"), cell("four")]
                },
            ]
        );
    }

    #[test]
    fn a_script_and_an_html_block_are_text_and_no_node_carries_html() {
        let answer = "<script>alert(1)</script>\n\n<div onclick=\"x()\">\n<b>hi</b>\n</div>\n\n\
Inline <img src=x onerror=alert(1)> and <b>bold</b>.\n";
        assert_eq!(
            parse(answer, &[]),
            vec![
                N::Paragraph(vec![text("<script>alert(1)</script>\n")]),
                N::Paragraph(vec![text("<div onclick=\"x()\">\n<b>hi</b>\n</div>\n")]),
                N::Paragraph(vec![text(
                    "Inline <img src=x onerror=alert(1)> and <b>bold</b>."
                )]),
            ]
        );
    }

    #[test]
    fn only_web_and_mail_links_stay_links_and_other_schemes_keep_their_text() {
        let answer = "[a](javascript:alert(1)) [b](JavaScript:alert(1)) [c](data:text/html,x) \
[d](/relative) [e](vbscript:x) ![f](javascript:alert(1)) <javascript:alert(1)> \
[g](https://example.com) [h](mailto:a@b.c) [i](HTTP://EXAMPLE.COM) [j](sandbox:/mnt/data/gone.csv)";
        let nodes = parse(answer, &CHART);
        let [N::Paragraph(children)] = nodes.as_slice() else {
            panic!("one paragraph: {nodes:?}");
        };
        let links: Vec<&MarkdownNode> = children
            .iter()
            .filter(|n| !matches!(n, N::Text(_)))
            .collect();
        assert_eq!(
            links,
            [
                &N::Link {
                    href: "https://example.com".into(),
                    children: vec![text("g")]
                },
                &N::Link {
                    href: "mailto:a@b.c".into(),
                    children: vec![text("h")]
                },
                &N::Link {
                    href: "HTTP://EXAMPLE.COM".into(),
                    children: vec![text("i")]
                },
                &N::MissingFile(vec![text("j")]),
            ]
        );
        let mut all = String::new();
        texts(&nodes, &mut all);
        assert_eq!(all, "a b c d e f javascript:alert(1) g h i j");
    }

    #[test]
    fn nested_blocks_emphasis_breaks_and_rules_are_kept() {
        let nodes = parse("> *a* ~~b~~ `c`  \nd\n\n---\n\n- x\n\n  y\n", &[]);
        assert_eq!(
            nodes,
            vec![
                N::BlockQuote(vec![N::Paragraph(vec![
                    N::Emphasis(vec![text("a")]),
                    text(" "),
                    N::Strikethrough(vec![text("b")]),
                    text(" "),
                    N::Code("c".into()),
                    N::LineBreak,
                    text("d"),
                ])]),
                N::ThematicBreak,
                N::List {
                    start: None,
                    items: vec![vec![
                        N::Paragraph(vec![text("x")]),
                        N::Paragraph(vec![text("y")]),
                    ]]
                },
            ]
        );
    }
}
