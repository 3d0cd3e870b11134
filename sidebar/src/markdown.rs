//! The chat's answers as Markdown: `pulldown-cmark` (CommonMark with tables and strikethrough)
//! parses an answer into a small element tree ([`Node`]) that the Chat tab turns into DOM nodes
//! one by one — never through `innerHTML`. Raw HTML in an answer is shown as the text it is; links
//! open outside the sidebar (`target="_blank" rel="noopener noreferrer"`, http(s) and mailto
//! only); `sandbox:/mnt/data/…` links and images (the code interpreter's files) point at the
//! backend's file route through a resolver; code blocks and tables sit in scrollable regions that
//! keep them within the sidebar's width. Pure, and tested on the host.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

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
    fn new(name: &'static str) -> Element {
        Element {
            name,
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

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

/// A file of the code interpreter that a `sandbox:` link names, as the backend serves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileLink {
    /// Almanac's `file_…` id.
    pub file_id: String,
    /// The file's name (`events_per_decade.png`), for the download.
    pub filename: String,
    /// The backend's route of its bytes (`…/threads/{thread_id}/files/{file_id}/content`).
    pub url: String,
}

/// The path of a `sandbox:` link in `text` (`/mnt/data/events_per_decade.png` of
/// `[Download the chart](sandbox:/mnt/data/events_per_decade.png)` or of the bare URL).
pub fn sandbox_path(text: &str) -> Option<&str> {
    let start = text.find("sandbox:")? + "sandbox:".len();
    let rest = &text[start..];
    let end = rest
        .find(|c: char| c == ')' || c == '"' || c.is_whitespace())
        .unwrap_or(rest.len());
    Some(&rest[..end]).filter(|p| !p.is_empty())
}

/// The last part of a path: `events_per_decade.png` of `/mnt/data/events_per_decade.png`.
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Parses `markdown` into nodes; `resolve` finds the file a `sandbox:` path names (`None`: the
/// link's text is shown without a link).
pub fn render(markdown: &str, resolve: &dyn Fn(&str) -> Option<FileLink>) -> Vec<Node> {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut tree = Builder {
        stack: vec![Element::new("div")],
        in_head: false,
        resolve,
    };
    for event in Parser::new_ext(markdown, options) {
        tree.event(event);
    }
    while tree.stack.len() > 1 {
        tree.close();
    }
    tree.stack
        .pop()
        .map(|root| root.children)
        .unwrap_or_default()
}

/// The tree being built: the open elements, innermost last.
struct Builder<'r> {
    stack: Vec<Element>,
    /// Inside a table's head row (cells are `th`).
    in_head: bool,
    resolve: &'r dyn Fn(&str) -> Option<FileLink>,
}

impl Builder<'_> {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text)
            | Event::Html(text)
            | Event::InlineHtml(text)
            | Event::InlineMath(text)
            | Event::DisplayMath(text)
            | Event::FootnoteReference(text) => self.text(&text),
            Event::Code(code) => {
                let mut el = Element::new("code");
                el.children.push(Node::Text(code.into_string()));
                self.push(el);
            }
            Event::SoftBreak => self.text("\n"),
            Event::HardBreak => self.push(Element::new("br")),
            Event::Rule => self.push(Element::new("hr")),
            Event::TaskListMarker(done) => self.text(if done { "☑ " } else { "☐ " }),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        let el = match tag {
            Tag::Paragraph | Tag::HtmlBlock => Element::new("p"),
            Tag::Heading { level, .. } => Element::new(heading(level)),
            Tag::BlockQuote(_) => Element::new("blockquote"),
            Tag::CodeBlock(kind) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split_whitespace().next().map(str::to_owned)
                    }
                    CodeBlockKind::Indented => None,
                };
                self.open(scroll_region("code-scroll", "code-block-label"));
                self.open(Element::new("pre"));
                let code = Element::new("code");
                match lang {
                    Some(lang) if !lang.is_empty() => code.with("data-lang", lang),
                    _ => code,
                }
            }
            Tag::List(Some(start)) if start != 1 => {
                Element::new("ol").with("start", start.to_string())
            }
            Tag::List(Some(_)) => Element::new("ol"),
            Tag::List(None) => Element::new("ul"),
            Tag::Item => Element::new("li"),
            Tag::Table(_) => {
                self.open(scroll_region("table-scroll", "table-label"));
                Element::new("table")
            }
            Tag::TableHead => {
                self.in_head = true;
                self.open(Element::new("thead"));
                Element::new("tr")
            }
            Tag::TableRow => Element::new("tr"),
            Tag::TableCell if self.in_head => Element::new("th").with("scope", "col"),
            Tag::TableCell => Element::new("td"),
            Tag::Emphasis => Element::new("em"),
            Tag::Strong => Element::new("strong"),
            Tag::Strikethrough => Element::new("del"),
            Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => self.link(&dest_url),
            _ => Element::new("span"),
        };
        self.open(el);
    }

    fn end(&mut self, tag: TagEnd) {
        if matches!(tag, TagEnd::Table) {
            gather_body(self.stack.last_mut());
        }
        self.close();
        match tag {
            // The `pre` and the scrolling region around the `code`; the region around the table.
            TagEnd::CodeBlock => {
                self.close();
                self.close();
            }
            TagEnd::TableHead => {
                self.in_head = false;
                self.close();
            }
            TagEnd::Table => self.close(),
            _ => {}
        }
    }

    /// An `a` for a link the sidebar may open, else a `span` holding only its text.
    fn link(&self, dest: &str) -> Element {
        if dest.starts_with("sandbox:") {
            return match sandbox_path(dest).and_then(|p| (self.resolve)(p)) {
                Some(file) => Element::new("a")
                    .with("href", file.url)
                    .with("target", "_blank")
                    .with("rel", "noopener noreferrer")
                    .with("download", file.filename)
                    .with("data-file-id", file.file_id),
                None => Element::new("span").with("class", "missing-file"),
            };
        }
        let lower = dest.to_ascii_lowercase();
        if ["https://", "http://", "mailto:"]
            .iter()
            .any(|s| lower.starts_with(s))
        {
            Element::new("a")
                .with("href", dest)
                .with("target", "_blank")
                .with("rel", "noopener noreferrer")
        } else {
            Element::new("span")
        }
    }

    fn open(&mut self, el: Element) {
        self.stack.push(el);
    }

    fn close(&mut self) {
        if self.stack.len() > 1
            && let Some(el) = self.stack.pop()
        {
            self.push(el);
        }
    }

    fn push(&mut self, el: Element) {
        if let Some(top) = self.stack.last_mut() {
            top.children.push(Node::Element(el));
        }
    }

    fn text(&mut self, text: &str) {
        let Some(top) = self.stack.last_mut() else {
            return;
        };
        match top.children.last_mut() {
            Some(Node::Text(last)) => last.push_str(text),
            _ => top.children.push(Node::Text(text.to_owned())),
        }
    }
}

/// Answers' headings sit below the sidebar's own (`h1` Almanac, `h2` sections): `#` is `h3`.
fn heading(level: HeadingLevel) -> &'static str {
    match level {
        HeadingLevel::H1 => "h3",
        HeadingLevel::H2 => "h4",
        HeadingLevel::H3 => "h5",
        _ => "h6",
    }
}

/// A region that scrolls sideways within the sidebar's width, reachable with the keyboard
/// (`tabindex="0"`) and named for screen readers.
fn scroll_region(class: &'static str, label: &str) -> Element {
    Element::new("div")
        .with("class", class)
        .with("role", "region")
        .with("tabindex", "0")
        .with("aria-label", t(label))
}

/// Puts a table's body rows (those after its head) into a `tbody`.
fn gather_body(table: Option<&mut Element>) {
    let Some(table) = table else {
        return;
    };
    let (head, rows): (Vec<Node>, Vec<Node>) = table
        .children
        .drain(..)
        .partition(|n| matches!(n, Node::Element(e) if e.name == "thead"));
    table.children = head;
    if !rows.is_empty() {
        let mut body = Element::new("tbody");
        body.children = rows;
        table.children.push(Node::Element(body));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn chart(path: &str) -> Option<FileLink> {
        (file_name(path) == "events_per_decade.png").then(|| FileLink {
            file_id: "file_1".into(),
            filename: "events_per_decade.png".into(),
            url: "https://b/api/v1/threads/thread_1/files/file_1/content".into(),
        })
    }

    const ANSWER: &str = "# Events per decade\n\nThe **1940s** lead:\n\n- 1910s: 3\n- 1940s: 5\n\n\
| decade | events |\n|---|---:|\n| 1910s | 3 |\n| 1940s | 5 |\n\n```python\ndf.groupby('decade').size()\n```\n\n\
[Download the chart](sandbox:/mnt/data/events_per_decade.png)\n\n<script>alert(1)</script>\n\n\
Inline <b>bold</b> and [a site](https://example.com) and [bad](javascript:alert(1)).\n";

    #[test]
    fn an_answer_with_a_heading_a_list_a_table_code_a_sandbox_link_and_a_script_renders_safely() {
        let out = html(&render(ANSWER, &chart));
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
        // Raw HTML is text: no element comes from the answer.
        assert!(
            out.contains("<p>&lt;script&gt;alert(1)&lt;/script&gt;\n</p>"),
            "{out}"
        );
        assert!(out.contains("Inline &lt;b&gt;bold&lt;/b&gt; and"), "{out}");
        assert!(!out.contains("<script") && !out.contains("<b>"), "{out}");
        assert!(out.contains(
            "<a href=\"https://example.com\" target=\"_blank\" rel=\"noopener noreferrer\">a site</a>"
        ), "{out}");
        assert!(out.contains("<span>bad</span>"), "{out}");
    }

    #[test]
    fn a_sandbox_link_to_an_unknown_file_keeps_only_its_text_and_ordered_lists_keep_their_start() {
        let out = html(&render(
            "[gone](sandbox:/mnt/data/x.csv)\n\n3. three\n4. four",
            &chart,
        ));
        assert_eq!(
            out,
            "<p><span class=\"missing-file\">gone</span></p><ol start=\"3\"><li>three</li><li>four</li></ol>"
        );
    }

    #[test]
    fn sandbox_paths_are_found_in_citations_and_urls() {
        assert_eq!(
            sandbox_path("[Download the chart](sandbox:/mnt/data/events_per_decade.png)"),
            Some("/mnt/data/events_per_decade.png")
        );
        assert_eq!(
            sandbox_path("sandbox:/mnt/data/a.csv"),
            Some("/mnt/data/a.csv")
        );
        assert_eq!(sandbox_path("no link"), None);
        assert_eq!(file_name("/mnt/data/a.csv"), "a.csv");
    }
}
