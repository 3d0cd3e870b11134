//! The chat's answers as DOM-ready elements: the backend parses an answer's Markdown (CommonMark
//! with tables and strikethrough) into the API's typed tree ([`MarkdownNode`]: raw HTML already
//! text, links already classified), and this module turns that tree into a small element tree
//! ([`Node`]) that the Chat tab turns into DOM nodes one by one — never through `innerHTML`.
//! Links open outside the sidebar (`target="_blank" rel="noopener noreferrer"`); links to the
//! code interpreter's files point at the backend's file route; code blocks and tables sit in
//! scrollable regions, named and reachable with the keyboard, that keep them within the
//! sidebar's width. Pure, and tested on the host.

use almanac_protocol::MarkdownNode;

use crate::i18n::t;

/// One node of a rendered answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// An element: its tag name, attributes and children.
    Element(Element),
    /// Text, shown as typed (markup included).
    Text(String),
}

/// An element of a rendered answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    /// The tag name (`p`, `h3`, `a`, `table`, …): one of a fixed set, never from the answer.
    pub name: &'static str,
    /// Attributes, in order (`href`, `target`, `data-file-id`, …).
    pub attrs: Vec<(&'static str, String)>,
    /// What it holds.
    pub children: Vec<Node>,
}

impl Element {
    fn with(mut self, name: &'static str, value: impl Into<String>) -> Element {
        self.attrs.push((name, value.into()));
        self
    }

    /// The value of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The elements of an answer's tree; `file_url` gives the backend's route of a kept file's bytes
/// (`…/threads/{thread_id}/files/{file_id}/content`) from its id.
pub fn render(tree: &[MarkdownNode], file_url: &dyn Fn(&str) -> String) -> Vec<Node> {
    tree.iter().map(|n| node(n, file_url)).collect()
}

/// An element named `name` holding `kids`.
fn element(name: &'static str, kids: Vec<Node>) -> Element {
    Element {
        name,
        attrs: Vec::new(),
        children: kids,
    }
}

fn node(n: &MarkdownNode, file_url: &dyn Fn(&str) -> String) -> Node {
    let kids = |nodes: &[MarkdownNode]| render(nodes, file_url);
    let el = match n {
        MarkdownNode::Text(text) => return Node::Text(text.clone()),
        MarkdownNode::Paragraph(children) => element("p", kids(children)),
        MarkdownNode::Heading { level, children } => element(heading(*level), kids(children)),
        MarkdownNode::BlockQuote(children) => element("blockquote", kids(children)),
        MarkdownNode::CodeBlock { language, text } => return code_block(language.as_deref(), text),
        MarkdownNode::List { start, items } => {
            let items = items
                .iter()
                .map(|item| Node::Element(element("li", kids(item))))
                .collect();
            match start {
                Some(1) => element("ol", items),
                Some(start) => element("ol", items).with("start", start.to_string()),
                None => element("ul", items),
            }
        }
        MarkdownNode::Table { head, rows } => return table(head, rows, file_url),
        MarkdownNode::ThematicBreak => element("hr", Vec::new()),
        MarkdownNode::Emphasis(children) => element("em", kids(children)),
        MarkdownNode::Strong(children) => element("strong", kids(children)),
        MarkdownNode::Strikethrough(children) => element("del", kids(children)),
        MarkdownNode::Code(text) => element("code", vec![Node::Text(text.clone())]),
        MarkdownNode::LineBreak => element("br", Vec::new()),
        MarkdownNode::Link { href, children } => element("a", kids(children))
            .with("href", href.as_str())
            .with("target", "_blank")
            .with("rel", "noopener noreferrer"),
        MarkdownNode::FileLink {
            file_id,
            filename,
            children,
        } => element("a", kids(children))
            .with("href", file_url(file_id))
            .with("target", "_blank")
            .with("rel", "noopener noreferrer")
            .with("download", filename.as_str())
            .with("data-file-id", file_id.as_str()),
        MarkdownNode::MissingFile(children) => {
            element("span", kids(children)).with("class", "missing-file")
        }
    };
    Node::Element(el)
}

/// A code block in its scrolling region: `div > pre > code[data-lang]`.
fn code_block(language: Option<&str>, text: &str) -> Node {
    let code = element("code", vec![Node::Text(text.to_owned())]);
    let code = match language {
        Some(lang) => code.with("data-lang", lang),
        None => code,
    };
    let pre = element("pre", vec![Node::Element(code)]);
    Node::Element(scroll_region("code-scroll", "code-block-label", pre))
}

/// A table in its scrolling region, its head cells `th scope="col"`, its rows in a `tbody`.
fn table(
    head: &[Vec<MarkdownNode>],
    rows: &[Vec<Vec<MarkdownNode>>],
    file_url: &dyn Fn(&str) -> String,
) -> Node {
    let cells = |cells: &[Vec<MarkdownNode>], name: &'static str| -> Node {
        let cells = cells.iter().map(|c| {
            let cell = element(name, render(c, file_url));
            Node::Element(match name {
                "th" => cell.with("scope", "col"),
                _ => cell,
            })
        });
        Node::Element(element("tr", cells.collect()))
    };
    let mut parts = vec![Node::Element(element("thead", vec![cells(head, "th")]))];
    if !rows.is_empty() {
        let body = rows.iter().map(|r| cells(r, "td")).collect();
        parts.push(Node::Element(element("tbody", body)));
    }
    Node::Element(scroll_region(
        "table-scroll",
        "table-label",
        element("table", parts),
    ))
}

/// Answers' headings sit below the sidebar's own (`h1` Almanac, `h2` sections): `#` is `h3`.
fn heading(level: u8) -> &'static str {
    match level {
        0 | 1 => "h3",
        2 => "h4",
        3 => "h5",
        _ => "h6",
    }
}

/// A region that scrolls sideways within the sidebar's width, reachable with the keyboard
/// (`tabindex="0"`) and named for screen readers, around `inner`.
fn scroll_region(class: &'static str, label: &str, inner: Element) -> Element {
    element("div", vec![Node::Element(inner)])
        .with("class", class)
        .with("role", "region")
        .with("tabindex", "0")
        .with("aria-label", t(label))
}

#[cfg(test)]
mod tests {
    use super::*;
    use MarkdownNode as N;

    /// The nodes as HTML (text escaped), to compare with what a test expects.
    fn html(nodes: &[Node]) -> String {
        let mut out = String::new();
        for node in nodes {
            match node {
                Node::Text(t) => out.push_str(
                    &t.replace('&', "&amp;")
                        .replace('<', "&lt;")
                        .replace('>', "&gt;"),
                ),
                Node::Element(e) => {
                    out.push('<');
                    out.push_str(e.name);
                    for (k, v) in &e.attrs {
                        out.push_str(&format!(" {k}=\"{v}\""));
                    }
                    out.push('>');
                    out.push_str(&html(&e.children));
                    out.push_str(&format!("</{}>", e.name));
                }
            }
        }
        out
    }

    fn route(file_id: &str) -> String {
        format!("https://b/api/v1/threads/thread_1/files/{file_id}/content")
    }

    fn text(t: &str) -> MarkdownNode {
        N::Text(t.into())
    }

    /// A table cell or list item holding `t`.
    fn cell(t: &str) -> Vec<MarkdownNode> {
        vec![text(t)]
    }

    /// The backend's tree of an answer with a heading, a list, a table, code, a sandbox link, an
    /// attempted `<script>` (text), a web link and a `javascript:` link (its text only).
    fn answer() -> Vec<MarkdownNode> {
        vec![
            N::Heading {
                level: 1,
                children: vec![text("Events per decade")],
            },
            N::Paragraph(vec![
                text("The "),
                N::Strong(vec![text("1940s")]),
                text(" lead:"),
            ]),
            N::List {
                start: None,
                items: vec![cell("1910s: 3"), cell("1940s: 5")],
            },
            N::Table {
                head: vec![cell("decade"), cell("events")],
                rows: vec![
                    vec![cell("1910s"), cell("3")],
                    vec![cell("1940s"), cell("5")],
                ],
            },
            N::CodeBlock {
                language: Some("python".into()),
                text: "df.groupby('decade').size()\n".into(),
            },
            N::Paragraph(vec![N::FileLink {
                file_id: "file_1".into(),
                filename: "events_per_decade.png".into(),
                children: vec![text("Download the chart")],
            }]),
            N::Paragraph(vec![text("<script>alert(1)</script>\n")]),
            N::Paragraph(vec![
                text("Inline <b>bold</b> and "),
                N::Link {
                    href: "https://example.com".into(),
                    children: vec![text("a site")],
                },
                text(" and bad."),
            ]),
        ]
    }

    #[test]
    fn an_answer_with_a_heading_a_list_a_table_code_a_sandbox_link_and_a_script_renders_safely() {
        let out = html(&render(&answer(), &route));
        assert!(
            out.starts_with("<h3>Events per decade</h3><p>The <strong>1940s</strong> lead:</p>"),
            "{out}"
        );
        assert!(
            out.contains("<ul><li>1910s: 3</li><li>1940s: 5</li></ul>"),
            "{out}"
        );
        assert!(out.contains(
            "<div class=\"table-scroll\" role=\"region\" tabindex=\"0\" aria-label=\"Table\"><table>\
<thead><tr><th scope=\"col\">decade</th><th scope=\"col\">events</th></tr></thead>\
<tbody><tr><td>1910s</td><td>3</td></tr><tr><td>1940s</td><td>5</td></tr></tbody></table></div>"
        ), "{out}");
        assert!(out.contains(
            "<div class=\"code-scroll\" role=\"region\" tabindex=\"0\" aria-label=\"Code\"><pre>\
<code data-lang=\"python\">df.groupby('decade').size()\n</code></pre></div>"
        ), "{out}");
        assert!(out.contains(
            "<a href=\"https://b/api/v1/threads/thread_1/files/file_1/content\" target=\"_blank\" \
rel=\"noopener noreferrer\" download=\"events_per_decade.png\" data-file-id=\"file_1\">Download the chart</a>"
        ), "{out}");
        // Text stays text: no element comes from the answer's characters.
        assert!(
            out.contains("<p>&lt;script&gt;alert(1)&lt;/script&gt;\n</p>"),
            "{out}"
        );
        assert!(out.contains("Inline &lt;b&gt;bold&lt;/b&gt; and"), "{out}");
        assert!(!out.contains("<script") && !out.contains("<b>"), "{out}");
        assert!(out.contains(
            "<a href=\"https://example.com\" target=\"_blank\" rel=\"noopener noreferrer\">a site</a>"
        ), "{out}");
    }

    #[test]
    fn a_missing_file_keeps_only_its_text_and_ordered_lists_keep_their_start() {
        let tree = vec![
            N::Paragraph(vec![N::MissingFile(vec![text("gone")])]),
            N::List {
                start: Some(3),
                items: vec![cell("three"), cell("four")],
            },
            N::List {
                start: Some(1),
                items: vec![cell("one")],
            },
            N::ThematicBreak,
            N::Heading {
                level: 6,
                children: vec![N::Code("x".into()), N::LineBreak],
            },
        ];
        assert_eq!(
            html(&render(&tree, &route)),
            "<p><span class=\"missing-file\">gone</span></p><ol start=\"3\"><li>three</li><li>four</li></ol>\
<ol><li>one</li></ol><hr></hr><h6><code>x</code><br></br></h6>"
        );
    }
}
