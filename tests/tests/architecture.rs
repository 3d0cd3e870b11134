//! Architecture rules of the workspace, checked on its sources and manifests (nothing of the
//! workspace is linked: this binary reads files).
//!
//! # No two modules of a crate import each other
//!
//! For the library of every workspace member (`crates/*`, `server`, `demo`, `emulator`,
//! `protocol`, `sidebar`, `tests`) the modules and the references between them form a graph; the
//! check fails when some modules reach each other — a strongly connected component of more than
//! one module (Tarjan's algorithm), so a cycle through three modules is found as well as a pair —
//! and lists, for every such group, an example cycle, the pairs that use each other directly, and
//! every reference (file and line) between its modules.
//!
//! The Rust sources are read by plain string scanning (no `syn`), with these rules:
//!
//! 1. **Files are modules.** `src/lib.rs` is the crate root, `src/a.rs` and `src/a/mod.rs` are
//!    `a`, `src/a/b.rs` is `a::b`; an inline `mod m { … }` is the module `m` of the module it is
//!    written in. `src/main.rs` and `src/bin/*.rs` are binary crates of their own, read alone.
//!    A `mod m;` that no file maps to, or a `#[path = …]` attribute, stops the check (these
//!    rules would misplace a file).
//! 2. **Only code is read.** Comments (line, nested block, doc comments) and the contents of
//!    string, byte-string, C-string, raw-string and char literals are blanked first, keeping
//!    lines; `'a` followed by no closing quote is a lifetime or a label, not a char literal.
//! 3. **Test code is dropped:** an item under `#[cfg(test)]` or `#[cfg(all(test, …))]`, any
//!    `mod tests { … }` or file of a module `tests`, and a whole file under `#![cfg(test)]`.
//! 4. **References** are the paths of every `use` declaration, its tree expanded
//!    (`use a::{self, b::{C as D, *}}` is `a`, `a::b::C` and `a::b::*`; `impl Trait + use<'a>`
//!    is not a declaration), and every path in code that starts with `crate::`, `$crate::`,
//!    `super::` (repeated or not), `self::`, the name of a child module of the module it is
//!    written in (`worker::step` in `jobs`, where `mod worker;` is), or a name a `use` of that
//!    module binds to a path of this crate (`use crate::state; … state::Cell`). A path starting
//!    with anything else (`std::`, another crate, a type) names no module of this crate; the path
//!    of `pub(in crate::a)` is a visibility, not a reference.
//! 5. **Resolution:** a reference is made absolute from the module it is written in and
//!    resolved to the longest prefix that is a module of the crate. When the next segment is a
//!    name that module re-exports (a `pub use` that is not a glob), the re-exported path is
//!    resolved instead: `crate::Item`, re-exported by the root from `a`, is a reference to `a`;
//!    a name re-exported from another crate (`pub use almanac_protocol::X`) is no module of this
//!    crate.
//! 6. **Edges:** a reference in module A that resolves to a module B ≠ A is an edge A → B — to a
//!    child, a sibling or an ancestor alike: a child using an item defined in the crate root is
//!    an edge child → root. The crate root's `mod` declarations and its `pub use` re-exports
//!    are no edges: a crate root re-exporting its children imports nothing.
//!
//! # Chat does not use jobs
//!
//! In the server's library (`almanac-server`), no module under `chat` references a module under
//! `jobs` (an edge of the graph above, re-exports followed): what both need of a spreadsheet (the
//! access proof, the budget and admission, the sheet's reads) is `spreadsheet`, beside them.
//!
//! # Crates are layered
//!
//! From the manifests (read with `toml`), among the workspace crates: each `crates/*` crate's
//! normal dependencies (`[dependencies]`, `[build-dependencies]` and their `[target.…]` forms)
//! are only `almanac-core` and `almanac-protocol`; `almanac-core` depends on `almanac-protocol`
//! alone and `almanac-protocol` on none; only `almanac-demo` and the test crate `almanac-tests`
//! have `almanac-emulator` as a normal dependency (any crate may as a dev-dependency); and
//! `almanac-server` depends on `almanac-demo` only optionally (behind its `demo` feature).
//!
//! # The map is true
//!
//! `ARCHITECTURE.md` names only paths that exist, in lines a terminal shows whole (`docs`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// `ARCHITECTURE.md` names only paths that exist, in wrapped lines.
#[path = "architecture/docs.rs"]
mod docs;

/// A module's path inside its crate; empty for the crate root.
type ModPath = Vec<String>;

/// A module for people: `crate` for the root, else `a::b`.
fn show(module: &[String]) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

/// `base` followed by `more`.
fn join(base: &[String], more: &[String]) -> ModPath {
    base.iter().chain(more).cloned().collect()
}

// ------------------------------------------------------------------------------------------------
// Rule 2: blank comments and literals.

/// `src` with comments and the contents of literals replaced by spaces, newlines kept.
fn blank_non_code(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = c.clone();
    let mut i = 0;
    while i < c.len() {
        match non_code_end(&c, i) {
            Some(end) => {
                for ch in &mut out[i..end] {
                    if *ch != '\n' {
                        *ch = ' ';
                    }
                }
                i = end;
            }
            None => i += 1,
        }
    }
    out.into_iter().collect()
}

fn is_ident_char(ch: char) -> bool {
    ch.is_alphanumeric() || ch == '_'
}

/// Where the comment or literal that starts at `i` ends (exclusive), if one starts there.
fn non_code_end(c: &[char], i: usize) -> Option<usize> {
    let next = c.get(i + 1).copied();
    match c[i] {
        '/' if next == Some('/') => Some((i..c.len()).find(|&k| c[k] == '\n').unwrap_or(c.len())),
        '/' if next == Some('*') => Some(block_comment_end(c, i)),
        '"' => Some(quoted_end(c, i + 1)),
        '\'' => char_literal_end(c, i),
        'b' | 'c' | 'r' if i == 0 || !is_ident_char(c[i - 1]) => prefixed_literal_end(c, i),
        _ => None,
    }
}

/// The end of the (nested) block comment starting at `i`.
fn block_comment_end(c: &[char], i: usize) -> usize {
    let mut depth = 0;
    let mut k = i;
    while k + 1 < c.len() {
        if c[k] == '/' && c[k + 1] == '*' {
            depth += 1;
            k += 2;
        } else if c[k] == '*' && c[k + 1] == '/' {
            depth -= 1;
            k += 2;
            if depth == 0 {
                return k;
            }
        } else {
            k += 1;
        }
    }
    c.len()
}

/// The end of a quoted literal whose contents start at `k`, escapes skipped.
fn quoted_end(c: &[char], mut k: usize) -> usize {
    while k < c.len() {
        match c[k] {
            '\\' => k += 2,
            '"' => return k + 1,
            _ => k += 1,
        }
    }
    c.len()
}

/// The end of a char literal (`'x'`, `'\''`, `'\u{1F600}'`) at `i`; `None` for `'a` (a lifetime).
fn char_literal_end(c: &[char], i: usize) -> Option<usize> {
    match (c.get(i + 1), c.get(i + 2)) {
        (Some('\\'), _) => (i + 3..c.len()).find(|&k| c[k] == '\'').map(|k| k + 1),
        (Some(ch), Some('\'')) if *ch != '\'' => Some(i + 3),
        _ => None,
    }
}

/// The end of `b"…"`, `b'…'`, `c"…"`, `r"…"`, `r#"…"#`, `br#"…"#` or `cr"…"` at `i`, if one is.
fn prefixed_literal_end(c: &[char], i: usize) -> Option<usize> {
    let k = if matches!(c[i], 'b' | 'c') { i + 1 } else { i };
    if c.get(k) == Some(&'r') {
        return raw_string_end(c, k + 1);
    }
    match c.get(k) {
        Some('"') if k > i => Some(quoted_end(c, k + 1)),
        Some('\'') if c[i] == 'b' => char_literal_end(c, k),
        _ => None,
    }
}

/// The end of a raw string whose `#`s (or opening quote) start at `k`; `None` if none does
/// (`r#type` is a raw identifier).
fn raw_string_end(c: &[char], k: usize) -> Option<usize> {
    let hashes = c[k.min(c.len())..]
        .iter()
        .take_while(|ch| **ch == '#')
        .count();
    if c.get(k + hashes) != Some(&'"') {
        return None;
    }
    let closes = |e: usize| c[e] == '"' && (1..=hashes).all(|h| c.get(e + h) == Some(&'#'));
    let end = (k + hashes + 1..c.len()).find(|&e| closes(e));
    Some(end.map_or(c.len(), |e| e + 1 + hashes))
}

// ------------------------------------------------------------------------------------------------
// Tokens, and rule 3: drop test code.

/// A token of blanked source: enough of Rust's to find paths.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    /// An identifier, keyword or number.
    Ident(String),
    /// `::`.
    PathSep,
    /// Any other character.
    Punct(char),
}

/// A token and the 1-based line it is on.
#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    line: usize,
}

/// The tokens of blanked source.
fn tokenize(code: &str) -> Vec<Token> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < c.len() {
        if c[i].is_whitespace() {
            line += usize::from(c[i] == '\n');
            i += 1;
            continue;
        }
        let tok = if is_ident_char(c[i]) {
            let start = i;
            while i < c.len() && is_ident_char(c[i]) {
                i += 1;
            }
            Tok::Ident(c[start..i].iter().collect())
        } else if c[i] == ':' && c.get(i + 1) == Some(&':') {
            i += 2;
            Tok::PathSep
        } else {
            i += 1;
            Tok::Punct(c[i - 1])
        };
        out.push(Token { tok, line });
    }
    out
}

fn is_ident(toks: &[Token], i: usize, word: &str) -> bool {
    matches!(toks.get(i), Some(Token { tok: Tok::Ident(w), .. }) if w == word)
}

fn is_punct(toks: &[Token], i: usize, ch: char) -> bool {
    matches!(toks.get(i), Some(Token { tok: Tok::Punct(p), .. }) if *p == ch)
}

/// The index after the bracket that closes the one at `open` (`(`, `[` or `{`).
fn close_of(toks: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for (k, t) in toks.iter().enumerate().skip(open) {
        match t.tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                depth -= 1;
                if depth == 0 {
                    return k + 1;
                }
            }
            _ => {}
        }
    }
    toks.len()
}

/// An attribute `#[…]` or `#![…]` at `i`: whether it is inner, its content, and where it ends.
fn attribute(toks: &[Token], i: usize) -> Option<(bool, &[Token], usize)> {
    if !is_punct(toks, i, '#') {
        return None;
    }
    let inner = is_punct(toks, i + 1, '!');
    let open = if inner { i + 2 } else { i + 1 };
    if !is_punct(toks, open, '[') {
        return None;
    }
    let end = close_of(toks, open);
    Some((inner, &toks[open + 1..end.saturating_sub(1)], end))
}

/// Whether an attribute's content is `cfg(test)` or `cfg(all(test, …))`.
fn is_cfg_test(content: &[Token]) -> bool {
    let words: Vec<&Tok> = content.iter().map(|t| &t.tok).take(5).collect();
    let test = Tok::Ident("test".into());
    let cfg = Tok::Ident("cfg".into());
    let all = Tok::Ident("all".into());
    match words.as_slice() {
        [c, Tok::Punct('('), t, Tok::Punct(')')] => **c == cfg && **t == test,
        [c, Tok::Punct('('), a, Tok::Punct('('), t] => **c == cfg && **a == all && **t == test,
        _ => false,
    }
}

/// The index after the item starting at `start`: its `;`, or its `{ … }` block.
fn item_end(toks: &[Token], start: usize) -> usize {
    let mut depth = 0usize;
    for k in start..toks.len() {
        match toks[k].tok {
            Tok::Punct('(' | '[') => depth += 1,
            Tok::Punct(')' | ']') => depth = depth.saturating_sub(1),
            Tok::Punct(';') if depth == 0 => return k + 1,
            Tok::Punct('{') if depth == 0 => return close_of(toks, k),
            _ => {}
        }
    }
    toks.len()
}

/// The tokens without test code (rule 3).
fn drop_test_code(toks: &[Token]) -> Vec<Token> {
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        if let Some((inner, content, end)) = attribute(toks, i) {
            if is_cfg_test(content) {
                if inner {
                    return Vec::new();
                }
                i = item_end(toks, end);
            } else {
                out.extend_from_slice(&toks[i..end]);
                i = end;
            }
        } else if is_ident(toks, i, "mod") && is_ident(toks, i + 1, "tests") {
            i = item_end(toks, i);
        } else {
            out.push(toks[i].clone());
            i += 1;
        }
    }
    out
}

// ------------------------------------------------------------------------------------------------
// Rule 4: references.

/// How a reference is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RefKind {
    /// In a `use` declaration.
    Use,
    /// In a `pub use` (or `pub(crate) use`, …): a re-export.
    PubUse,
    /// A path in code.
    Path,
}

/// One path that may name a module of the crate.
#[derive(Clone, Debug)]
struct Ref {
    /// The inline module it is written in, relative to the file's module.
    within: ModPath,
    line: usize,
    kind: RefKind,
    segments: Vec<String>,
    /// The name a `use` binds, when renamed (`use a::B as C`).
    alias: Option<String>,
    /// A glob import (`use a::*`).
    glob: bool,
}

impl Ref {
    /// The name a `use` binds: its rename, else its last segment.
    fn bound_name(&self) -> String {
        self.alias
            .clone()
            .or_else(|| self.segments.last().cloned())
            .unwrap_or_default()
    }

    /// The reference as written (a `use` tree shown one path at a time).
    fn display(&self) -> String {
        let mut text = self.segments.join("::");
        if self.glob {
            text.push_str("::*");
        }
        if let Some(alias) = &self.alias {
            write!(text, " as {alias}").unwrap();
        }
        match self.kind {
            RefKind::Use => format!("use {text}"),
            RefKind::PubUse => format!("pub use {text}"),
            RefKind::Path => text,
        }
    }
}

/// What one file says about modules.
#[derive(Debug, Default)]
struct FileScan {
    /// Inline `mod m { … }` modules, relative to the file's module.
    inline_modules: Vec<ModPath>,
    /// `mod m;` declarations: (the inline module they are in, `m`, line).
    declared: Vec<(ModPath, String, usize)>,
    /// The line of a `#[path = …]` attribute, if there is one.
    path_attribute: Option<usize>,
    refs: Vec<Ref>,
}

/// Reads a file's test-free tokens: its modules, declarations and references.
fn scan(toks: &[Token]) -> FileScan {
    let mut s = FileScan::default();
    // Open inline modules, each with the brace depth inside it.
    let mut open: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let within = || open.iter().map(|(n, _)| n.clone()).collect::<ModPath>();
        match &toks[i].tok {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                depth = depth.saturating_sub(1);
                open.retain(|(_, d)| *d <= depth);
            }
            Tok::Punct('#') if is_punct(toks, i + 1, '[') && is_ident(toks, i + 2, "path") => {
                s.path_attribute.get_or_insert(toks[i].line);
            }
            Tok::Ident(w) if w == "mod" => {
                if let Some(Tok::Ident(name)) = toks.get(i + 1).map(|t| &t.tok) {
                    if is_punct(toks, i + 2, '{') {
                        s.inline_modules
                            .push(join(&within(), std::slice::from_ref(name)));
                        open.push((name.clone(), depth + 1));
                    } else if is_punct(toks, i + 2, ';') {
                        s.declared.push((within(), name.clone(), toks[i].line));
                    }
                }
            }
            Tok::Ident(w) if w == "use" && !is_punct(toks, i + 1, '<') => {
                i = scan_use(toks, i, within(), &mut s.refs);
                continue;
            }
            Tok::Ident(_) if starts_path(toks, i) => {
                i = scan_path(toks, i, within(), &mut s.refs);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    s
}

/// Whether the `use` at `i` has a visibility (`pub`, `pub(crate)`, `pub(in …)`).
fn is_public(toks: &[Token], i: usize) -> bool {
    if i >= 1 && is_ident(toks, i - 1, "pub") {
        return true;
    }
    if i >= 1 && is_punct(toks, i - 1, ')') {
        let open = (0..i - 1).rev().find(|&k| is_punct(toks, k, '('));
        return open.is_some_and(|k| k >= 1 && is_ident(toks, k - 1, "pub"));
    }
    false
}

/// Records the paths of the `use` declaration at `i`; returns the index after its `;`.
fn scan_use(toks: &[Token], i: usize, within: ModPath, refs: &mut Vec<Ref>) -> usize {
    let end = (i..toks.len())
        .find(|&k| is_punct(toks, k, ';'))
        .unwrap_or(toks.len());
    let kind = if is_public(toks, i) {
        RefKind::PubUse
    } else {
        RefKind::Use
    };
    let mut paths = Vec::new();
    use_tree(&toks[i + 1..end], &mut 0, &[], &mut paths);
    for (segments, alias, glob, line) in paths {
        refs.push(Ref {
            within: within.clone(),
            line,
            kind,
            segments,
            alias,
            glob,
        });
    }
    end + 1
}

/// A path of a `use` tree: its segments, its rename, whether it is a glob, and the line of its
/// last segment.
type UsePath = (Vec<String>, Option<String>, bool, usize);

/// Expands the use tree at `*pos` below `prefix` into `out` (`a::{self, b as c, d::*}`).
fn use_tree(toks: &[Token], pos: &mut usize, prefix: &[String], out: &mut Vec<UsePath>) {
    let mut path = prefix.to_vec();
    while let Some(t) = toks.get(*pos) {
        *pos += 1;
        match &t.tok {
            Tok::PathSep => {}
            Tok::Punct('{') => {
                use_group(toks, pos, &path, out);
                return;
            }
            Tok::Punct('*') => {
                out.push((path, None, true, t.line));
                return;
            }
            Tok::Ident(name) => {
                if name != "self" || path.is_empty() {
                    path.push(name.clone());
                }
                if matches!(toks.get(*pos).map(|t| &t.tok), Some(Tok::PathSep)) {
                    continue;
                }
                let alias = if is_ident(toks, *pos, "as") {
                    *pos += 2;
                    toks.get(*pos - 1).and_then(|t| match &t.tok {
                        Tok::Ident(a) => Some(a.clone()),
                        _ => None,
                    })
                } else {
                    None
                };
                out.push((path, alias, false, t.line));
                return;
            }
            _ => {
                *pos -= 1;
                return;
            }
        }
    }
}

/// Expands the trees of a `{ … }` group (its `{` already read) below `prefix`.
fn use_group(toks: &[Token], pos: &mut usize, prefix: &[String], out: &mut Vec<UsePath>) {
    while let Some(t) = toks.get(*pos) {
        match t.tok {
            Tok::Punct('}') => {
                *pos += 1;
                return;
            }
            Tok::Punct(',') => *pos += 1,
            _ => {
                let before = *pos;
                use_tree(toks, pos, prefix, out);
                if *pos == before {
                    *pos += 1;
                }
            }
        }
    }
}

/// Whether a path that may name a module starts at `i`: a lowercase first segment followed by
/// `::`, not itself after `::`, and not the path of a `pub(in …)` visibility.
fn starts_path(toks: &[Token], i: usize) -> bool {
    let Tok::Ident(first) = &toks[i].tok else {
        return false;
    };
    let lowercase = first.starts_with(|c: char| c.is_lowercase() || c == '_');
    let after_sep = i >= 1 && toks[i - 1].tok == Tok::PathSep;
    let visibility = i >= 2 && is_ident(toks, i - 1, "in") && is_punct(toks, i - 2, '(');
    lowercase
        && !after_sep
        && !visibility
        && matches!(toks.get(i + 1).map(|t| &t.tok), Some(Tok::PathSep))
}

/// Records the path in code at `i`; returns the index after it.
fn scan_path(toks: &[Token], i: usize, within: ModPath, refs: &mut Vec<Ref>) -> usize {
    let mut segments = Vec::new();
    let mut k = i;
    while let Some(Tok::Ident(name)) = toks.get(k).map(|t| &t.tok) {
        segments.push(name.clone());
        if toks.get(k + 1).map(|t| &t.tok) != Some(&Tok::PathSep) {
            k += 1;
            break;
        }
        k += 2;
    }
    refs.push(Ref {
        within,
        line: toks[i].line,
        kind: RefKind::Path,
        segments,
        alias: None,
        glob: false,
    });
    k
}

// ------------------------------------------------------------------------------------------------
// Rules 1, 5 and 6: modules, resolution and edges.

/// One source file of a crate.
#[derive(Clone, Debug)]
struct SourceFile {
    /// The file as shown in messages (relative to the workspace).
    path: String,
    /// Its module (rule 1).
    module: ModPath,
    text: String,
}

/// The module of a file of a library, from its path below `src/` (rule 1).
fn module_of_file(below_src: &Path) -> ModPath {
    let mut parts: ModPath = below_src
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop().unwrap_or_default();
    let stem = file.strip_suffix(".rs").unwrap_or(&file);
    if !(stem == "mod" || (parts.is_empty() && (stem == "lib" || stem == "main"))) {
        parts.push(stem.to_owned());
    }
    parts
}

/// Where a reference was written.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Site {
    file: String,
    line: usize,
    text: String,
}

/// The modules of one crate and the references between them.
#[derive(Debug)]
struct CrateGraph {
    name: String,
    modules: BTreeSet<ModPath>,
    edges: BTreeMap<(ModPath, ModPath), Vec<Site>>,
}

/// The absolute path of `segments` written in module `from`, if it starts with `crate`,
/// `super`, `self`, a child module of `from`, or a name `bound` there by a `use` (rule 4).
fn absolute(
    from: &[String],
    segments: &[String],
    modules: &BTreeSet<ModPath>,
    bound: Option<&BTreeMap<String, ModPath>>,
) -> Option<ModPath> {
    let first = segments.first()?;
    let (base, rest) = match first.as_str() {
        "crate" => (Vec::new(), &segments[1..]),
        "self" => (from.to_vec(), &segments[1..]),
        "super" => {
            let ups = segments.iter().take_while(|s| *s == "super").count();
            let kept = from.len().checked_sub(ups)?;
            (from[..kept].to_vec(), &segments[ups..])
        }
        _ if modules.contains(&join(from, std::slice::from_ref(first))) => {
            (from.to_vec(), segments)
        }
        _ => (bound?.get(first)?.clone(), &segments[1..]),
    };
    Some(join(&base, rest))
}

/// What resolution knows of a crate (rule 5).
struct Names {
    modules: BTreeSet<ModPath>,
    /// Per module, the names its non-glob `use`s bind to paths of this crate.
    bound: BTreeMap<ModPath, BTreeMap<String, ModPath>>,
    /// (module, name) → what its non-glob `pub use` re-exports: a path of this crate, or `None`
    /// for an item of another crate (`pub use other_crate::Item`).
    reexports: BTreeMap<(ModPath, String), Option<ModPath>>,
}

impl Names {
    /// Reads the bindings and re-exports of every `use` of the crate.
    fn new(modules: BTreeSet<ModPath>, files: &[SourceFile], scans: &[FileScan]) -> Names {
        let mut names = Names {
            modules,
            bound: BTreeMap::new(),
            reexports: BTreeMap::new(),
        };
        let uses = || {
            files.iter().zip(scans).flat_map(|(file, scan)| {
                let imports = scan
                    .refs
                    .iter()
                    .filter(|r| r.kind != RefKind::Path && !r.glob);
                imports.map(|r| (join(&file.module, &r.within), r))
            })
        };
        for (from, r) in uses() {
            if let Some(path) = absolute(&from, &r.segments, &names.modules, None) {
                let bound = names.bound.entry(from).or_default();
                bound.insert(r.bound_name(), path);
            }
        }
        for (from, r) in uses().filter(|(_, r)| r.kind == RefKind::PubUse) {
            let target = names.absolute(&from, &r.segments);
            names.reexports.insert((from, r.bound_name()), target);
        }
        names
    }

    /// [`absolute`], with the names bound in `from`.
    fn absolute(&self, from: &[String], segments: &[String]) -> Option<ModPath> {
        absolute(from, segments, &self.modules, self.bound.get(from))
    }

    /// The module an absolute path refers to: its longest prefix that is a module, re-exports
    /// followed; `None` when it is another crate's item re-exported.
    fn resolve(&self, path: &[String]) -> Option<ModPath> {
        let mut path = path.to_vec();
        // Re-export chains are short; the bound keeps a re-export loop from hanging the check.
        for hop in 0.. {
            let n = (0..=path.len())
                .rev()
                .find(|&n| self.modules.contains(&path[..n]))
                .unwrap_or(0);
            let module = path[..n].to_vec();
            let target = path
                .get(n)
                .and_then(|name| self.reexports.get(&(module.clone(), name.clone())));
            match target {
                Some(Some(target)) if hop < 16 => path = join(target, &path[n + 1..]),
                Some(None) => return None,
                _ => return Some(module),
            }
        }
        unreachable!("the loop returns")
    }
}

/// The graph of one crate's files; `Err` when rule 1 cannot place a module.
fn crate_graph(name: &str, files: &[SourceFile]) -> Result<CrateGraph, String> {
    let scans: Vec<FileScan> = files
        .iter()
        .map(|f| scan(&drop_test_code(&tokenize(&blank_non_code(&f.text)))))
        .collect();
    let mut modules: BTreeSet<ModPath> = files.iter().map(|f| f.module.clone()).collect();
    modules.insert(Vec::new());
    for (file, scan) in files.iter().zip(&scans) {
        modules.extend(scan.inline_modules.iter().map(|m| join(&file.module, m)));
    }
    check_placement(files, &scans, &modules)?;
    let names = Names::new(modules, files, &scans);
    let mut edges: BTreeMap<(ModPath, ModPath), Vec<Site>> = BTreeMap::new();
    for (file, scan) in files.iter().zip(&scans) {
        for r in &scan.refs {
            let from = join(&file.module, &r.within);
            if r.kind == RefKind::PubUse && from.is_empty() {
                continue; // The crate root re-exporting: not an import (rule 6).
            }
            let to = names
                .absolute(&from, &r.segments)
                .and_then(|p| names.resolve(&p));
            if let Some(to) = to
                && to != from
            {
                let site = Site {
                    file: file.path.clone(),
                    line: r.line,
                    text: r.display(),
                };
                edges.entry((from, to)).or_default().push(site);
            }
        }
    }
    Ok(CrateGraph {
        name: name.to_owned(),
        modules: names.modules,
        edges,
    })
}

/// Fails when a file has `#[path = …]` or declares a `mod m;` that no file is (rule 1).
fn check_placement(
    files: &[SourceFile],
    scans: &[FileScan],
    modules: &BTreeSet<ModPath>,
) -> Result<(), String> {
    for (file, scan) in files.iter().zip(scans) {
        if let Some(line) = scan.path_attribute {
            return Err(format!(
                "{}:{line}: `#[path = …]` moves a module where this check does not look: extend the check",
                file.path
            ));
        }
        for (within, name, line) in &scan.declared {
            let module = join(&join(&file.module, within), std::slice::from_ref(name));
            if !modules.contains(&module) {
                return Err(format!(
                    "{}:{line}: `mod {name};` is declared but no file of the crate is the module `{}`: extend the check",
                    file.path,
                    show(&module)
                ));
            }
        }
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------------
// Cycles: Tarjan's strongly connected components.

/// Tarjan's algorithm over nodes `0..adj.len()`.
struct Tarjan<'a> {
    adj: &'a [Vec<usize>],
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    next: usize,
    components: Vec<Vec<usize>>,
}

impl Tarjan<'_> {
    /// The strongly connected components of the graph `adj`.
    fn components(adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
        let n = adj.len();
        let mut t = Tarjan {
            adj,
            index: vec![None; n],
            low: vec![0; n],
            on_stack: vec![false; n],
            stack: Vec::new(),
            next: 0,
            components: Vec::new(),
        };
        for v in 0..n {
            if t.index[v].is_none() {
                t.visit(v);
            }
        }
        t.components
    }

    fn visit(&mut self, v: usize) {
        self.index[v] = Some(self.next);
        self.low[v] = self.next;
        self.next += 1;
        self.stack.push(v);
        self.on_stack[v] = true;
        let adj = self.adj;
        for &w in &adj[v] {
            match self.index[w] {
                None => {
                    self.visit(w);
                    self.low[v] = self.low[v].min(self.low[w]);
                }
                Some(iw) if self.on_stack[w] => self.low[v] = self.low[v].min(iw),
                Some(_) => {}
            }
        }
        if self.index[v] == Some(self.low[v]) {
            let mut component = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            self.components.push(component);
        }
    }
}

/// Modules of one crate that reach each other.
#[derive(Debug)]
struct Cycle {
    krate: String,
    /// The modules, sorted.
    modules: Vec<ModPath>,
    /// A shortest cycle through the first module, first module repeated at the end.
    example: Vec<ModPath>,
    /// Pairs of the modules that use each other directly.
    pairs: Vec<(ModPath, ModPath)>,
    /// Every edge between the modules, with its references.
    edges: Vec<((ModPath, ModPath), Vec<Site>)>,
}

/// Every group of modules of `graph` that reach each other.
fn cycles(graph: &CrateGraph) -> Vec<Cycle> {
    let nodes: Vec<&ModPath> = graph.modules.iter().collect();
    let at = |m: &ModPath| {
        nodes
            .binary_search(&m)
            .expect("an edge between known modules")
    };
    let mut adj = vec![Vec::new(); nodes.len()];
    for (from, to) in graph.edges.keys() {
        adj[at(from)].push(at(to));
    }
    let mut out: Vec<Cycle> = Tarjan::components(&adj)
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| {
            let mut modules: Vec<ModPath> = c.iter().map(|&i| nodes[i].clone()).collect();
            modules.sort();
            cycle_of(graph, modules)
        })
        .collect();
    out.sort_by(|a, b| a.modules.cmp(&b.modules));
    out
}

/// The [`Cycle`] of a strongly connected group of `modules`.
fn cycle_of(graph: &CrateGraph, modules: Vec<ModPath>) -> Cycle {
    let members: BTreeSet<&ModPath> = modules.iter().collect();
    let edges: Vec<((ModPath, ModPath), Vec<Site>)> = graph
        .edges
        .iter()
        .filter(|((a, b), _)| members.contains(a) && members.contains(b))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let pairs = edges
        .iter()
        .map(|(k, _)| k)
        .filter(|(a, b)| a < b && graph.edges.contains_key(&(b.clone(), a.clone())))
        .cloned()
        .collect();
    let example = shortest_cycle(&modules[0], &edges);
    Cycle {
        krate: graph.name.clone(),
        modules,
        example,
        pairs,
        edges,
    }
}

/// A shortest cycle from `start` back to itself over `edges` (breadth first).
fn shortest_cycle(start: &ModPath, edges: &[((ModPath, ModPath), Vec<Site>)]) -> Vec<ModPath> {
    let mut came_from: BTreeMap<&ModPath, &ModPath> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(m) = queue.pop_front() {
        for ((_, to), _) in edges.iter().filter(|((from, _), _)| from == m) {
            if to == start {
                let mut back = Vec::new();
                let mut at = m;
                while at != start {
                    back.push(at.clone());
                    at = came_from[at];
                }
                let mut path = vec![start.clone()];
                path.extend(back.into_iter().rev());
                path.push(start.clone());
                return path;
            }
            if !came_from.contains_key(to) {
                came_from.insert(to, m);
                queue.push_back(to);
            }
        }
    }
    vec![start.clone()]
}

/// The failure message for `cycles`.
fn render(cycles: &[Cycle]) -> String {
    let mut out = format!(
        "{} group(s) of modules import each other; break each cycle by moving what both sides need into a module that imports neither:\n",
        cycles.len()
    );
    for c in cycles {
        let names: Vec<String> = c.modules.iter().map(|m| show(m)).collect();
        let example: Vec<String> = c.example.iter().map(|m| show(m)).collect();
        let pairs: Vec<String> = c
            .pairs
            .iter()
            .map(|(a, b)| format!("{} ↔ {}", show(a), show(b)))
            .collect();
        writeln!(out, "\n{}: {}", c.krate, names.join(", ")).unwrap();
        writeln!(out, "  for example {}", example.join(" → ")).unwrap();
        if !pairs.is_empty() {
            writeln!(out, "  using each other directly: {}", pairs.join(", ")).unwrap();
        }
        for ((from, to), sites) in &c.edges {
            writeln!(out, "  {} → {}:", show(from), show(to)).unwrap();
            for s in sites {
                writeln!(out, "    {}:{}: {}", s.file, s.line, s.text).unwrap();
            }
        }
    }
    out
}

// ------------------------------------------------------------------------------------------------
// The workspace: members, their crates and their manifests.

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_owned()
}

fn read_toml(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A workspace member: its folder (relative, `/`-separated), package name and manifest.
struct Member {
    dir: String,
    name: String,
    manifest: toml::Table,
}

/// Every member listed in the root manifest's `[workspace] members`.
fn members(root: &Path) -> Vec<Member> {
    let workspace = read_toml(&root.join("Cargo.toml"));
    let listed = workspace["workspace"]["members"]
        .as_array()
        .expect("[workspace] members");
    listed
        .iter()
        .map(|dir| {
            let dir = dir.as_str().expect("a member folder").to_owned();
            let manifest = read_toml(&root.join(&dir).join("Cargo.toml"));
            let name = manifest["package"]["name"]
                .as_str()
                .expect("package.name")
                .to_owned();
            Member {
                dir,
                name,
                manifest,
            }
        })
        .collect()
}

/// Every `.rs` file below `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The crates of a member (rule 1): its library, and each binary root read alone.
fn crates_of(root: &Path, member: &Member) -> Vec<(String, Vec<SourceFile>)> {
    let src = root.join(&member.dir).join("src");
    let file = |path: &Path, module: ModPath| SourceFile {
        path: path
            .strip_prefix(root)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned(),
        module,
        text: std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    };
    let mut lib = Vec::new();
    let mut out = Vec::new();
    for path in rust_files(&src) {
        let below = path.strip_prefix(&src).expect("below src");
        if below == Path::new("main.rs") || below.starts_with("bin") {
            let name = format!("{} (binary {})", member.name, below.display());
            out.push((name, vec![file(&path, Vec::new())]));
        } else if module_of_file(below).last().is_some_and(|m| m == "tests") {
            // A `tests` module in a file of its own is test code (rule 3).
        } else {
            lib.push(file(&path, module_of_file(below)));
        }
    }
    if src.join("lib.rs").exists() {
        out.insert(0, (format!("{} (lib)", member.name), lib));
    }
    out
}

// ------------------------------------------------------------------------------------------------
// Crate layering.

/// What kind of dependency a manifest entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DepKind {
    /// `[dependencies]` or `[build-dependencies]` (or their `[target.…]` forms).
    Normal,
    /// `[dev-dependencies]` (or `[target.….dev-dependencies]`).
    Dev,
}

/// A dependency on a workspace crate.
#[derive(Debug)]
struct Dep {
    name: String,
    kind: DepKind,
    optional: bool,
}

/// The dependencies of `manifest` on crates named in `workspace` (a `package = …` rename read).
fn workspace_deps(manifest: &toml::Table, workspace: &BTreeSet<String>) -> Vec<Dep> {
    let sections = [
        ("dependencies", DepKind::Normal),
        ("build-dependencies", DepKind::Normal),
        ("dev-dependencies", DepKind::Dev),
    ];
    let targets = manifest.get("target").and_then(toml::Value::as_table);
    let tables = std::iter::once(manifest).chain(
        targets
            .into_iter()
            .flat_map(|t| t.values().filter_map(toml::Value::as_table)),
    );
    let mut out = Vec::new();
    for table in tables {
        for (section, kind) in sections {
            let Some(deps) = table.get(section).and_then(toml::Value::as_table) else {
                continue;
            };
            for (key, spec) in deps {
                let name = spec.get("package").and_then(toml::Value::as_str);
                let name = name.unwrap_or(key).to_owned();
                let optional = spec.get("optional").and_then(toml::Value::as_bool);
                if workspace.contains(&name) {
                    out.push(Dep {
                        name,
                        kind,
                        optional: optional.unwrap_or(false),
                    });
                }
            }
        }
    }
    out
}

/// The workspace crates a member may depend on normally, when that is limited.
fn allowed_deps(member: &Member) -> Option<(&'static [&'static str], &'static str)> {
    match member.name.as_str() {
        "almanac-protocol" => Some((&[], "the wire types depend on no workspace crate")),
        "almanac-core" => Some((
            &["almanac-protocol"],
            "the domain depends on the wire types alone",
        )),
        _ if member.dir.starts_with("crates/") => Some((
            &["almanac-core", "almanac-protocol"],
            "a crate of crates/ builds on almanac-core and almanac-protocol only",
        )),
        _ => None,
    }
}

/// Every broken layering rule, one sentence each.
fn layering_violations(members: &[Member]) -> Vec<String> {
    let workspace: BTreeSet<String> = members.iter().map(|m| m.name.clone()).collect();
    let mut out = Vec::new();
    for m in members {
        let deps = workspace_deps(&m.manifest, &workspace);
        for d in deps.iter().filter(|d| d.kind == DepKind::Normal) {
            if let Some((allowed, why)) = allowed_deps(m)
                && !allowed.contains(&d.name.as_str())
                && d.name != m.name
            {
                out.push(format!(
                    "{} ({}) depends on {}: {why}",
                    m.name, m.dir, d.name
                ));
            }
            if d.name == "almanac-emulator"
                && !["almanac-demo", "almanac-tests"].contains(&&*m.name)
            {
                out.push(format!(
                    "{} ({}) depends on almanac-emulator: only almanac-demo and tests may (as a dev-dependency)",
                    m.name, m.dir
                ));
            }
            if m.name == "almanac-server" && d.name == "almanac-demo" && !d.optional {
                out.push(
                    "almanac-server depends on almanac-demo unconditionally: it must be optional (the `demo` feature), so deployments contain no stand-in".into(),
                );
            }
        }
    }
    out.sort();
    out
}

// ------------------------------------------------------------------------------------------------
// The checks.

#[test]
fn no_two_modules_of_a_crate_import_each_other() {
    let root = workspace_root();
    let mut found = Vec::new();
    let (mut crates, mut modules, mut edges) = (0, 0, 0);
    for member in members(&root) {
        for (name, files) in crates_of(&root, &member) {
            let graph = crate_graph(&name, &files).unwrap_or_else(|e| panic!("{e}"));
            crates += 1;
            modules += graph.modules.len();
            edges += graph.edges.len();
            found.extend(cycles(&graph));
        }
    }
    // The scanner must have seen the tree, or an empty graph would pass.
    assert!(
        modules > 50 && edges > 50,
        "only {modules} modules and {edges} edges found"
    );
    assert!(
        found.is_empty(),
        "{}\n({crates} crates, {modules} modules and {edges} edges read)",
        render(&found)
    );
}

/// The references from a module under `from` to a module under `to`, as `file:line: text`.
fn references_between(graph: &CrateGraph, from: &[&str], to: &[&str]) -> Vec<String> {
    let under = |module: &ModPath, prefix: &[&str]| {
        module.len() >= prefix.len() && module.iter().zip(prefix).all(|(m, p)| m == p)
    };
    let mut out = Vec::new();
    for ((a, b), sites) in &graph.edges {
        if under(a, from) && under(b, to) {
            for site in sites {
                out.push(format!(
                    "{}:{}: {} → {}: {}",
                    site.file,
                    site.line,
                    show(a),
                    show(b),
                    site.text
                ));
            }
        }
    }
    out
}

#[test]
fn chat_references_no_module_of_jobs() {
    let root = workspace_root();
    let member = members(&root)
        .into_iter()
        .find(|m| m.name == "almanac-server")
        .expect("the server is a workspace member");
    let (_, files) = crates_of(&root, &member)
        .into_iter()
        .find(|(name, _)| name.ends_with("(lib)"))
        .expect("the server has a library");
    let graph = crate_graph("almanac-server", &files).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        graph
            .modules
            .iter()
            .any(|m| m.first().is_some_and(|c| c == "chat")),
        "no module under `chat` found"
    );
    let found = references_between(&graph, &["chat"], &["jobs"]);
    assert!(
        found.is_empty(),
        "`chat` uses `jobs` (go through `spreadsheet`, or a handle the app passes):\n{}",
        found.join("\n")
    );
}

#[test]
fn crates_are_layered_as_their_manifests_say() {
    let violations = layering_violations(&members(&workspace_root()));
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

// ------------------------------------------------------------------------------------------------
// The scanner on small sources: it finds what it must, and only that.

/// A crate of inline files (`src/…` paths).
fn graph_of(files: &[(&str, &str)]) -> CrateGraph {
    let files: Vec<SourceFile> = files
        .iter()
        .map(|(path, text)| SourceFile {
            path: (*path).to_owned(),
            module: module_of_file(Path::new(path.strip_prefix("src/").unwrap())),
            text: (*text).to_owned(),
        })
        .collect();
    crate_graph("demo-crate", &files).unwrap()
}

/// The edges of a graph as `from → to` strings.
fn edge_names(graph: &CrateGraph) -> Vec<String> {
    graph
        .edges
        .keys()
        .map(|(a, b)| format!("{} → {}", show(a), show(b)))
        .collect()
}

fn path(s: &str) -> ModPath {
    s.split("::").map(str::to_owned).collect()
}

#[test]
fn two_siblings_using_each_other_are_reported_with_their_lines() {
    let graph = graph_of(&[
        ("src/lib.rs", "pub mod a;\npub mod b;\n"),
        (
            "src/a.rs",
            "use crate::b::{\n    B,\n    C,\n};\npub struct A;\n",
        ),
        (
            "src/b.rs",
            "pub struct B;\nfn f() -> super::a::A {\n    todo!()\n}\npub struct C;\n",
        ),
    ]);
    let found = cycles(&graph);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].modules, vec![path("a"), path("b")]);
    assert_eq!(found[0].pairs, vec![(path("a"), path("b"))]);
    let message = render(&found);
    assert!(message.contains("src/a.rs:2: use crate::b::B"), "{message}");
    assert!(message.contains("src/a.rs:3: use crate::b::C"), "{message}");
    assert!(message.contains("src/b.rs:2: super::a::A"), "{message}");
    assert!(message.contains("for example a → b → a"), "{message}");
}

#[test]
fn comments_strings_and_test_code_are_not_references() {
    let a = r####"
// crate::b::B
/// [`crate::b::B`] /* crate::b::B */
/* nested /* crate::b::B */ crate::b::B */
const S: &str = "crate::b::B \" crate::b::B";
const R: &str = r#"crate::b::B"#;
const Y: &[u8] = br##"crate::b::B"##;
const C: char = '"';
fn f<'a>(x: &'a str) -> char { let _ = "crate::b::B"; 'b' }
#[cfg(test)]
use crate::b::B;
#[cfg(test)]
mod tests {
    use crate::b::B;
}
#[cfg(all(test, unix))]
fn g() -> crate::b::B { todo!() }
pub struct A;
"####;
    let graph = graph_of(&[
        ("src/lib.rs", "mod a;\nmod b;\n"),
        ("src/a.rs", a),
        ("src/b.rs", "use crate::a::A;\npub struct B;\n"),
    ]);
    assert_eq!(edge_names(&graph), vec!["b → a"]);
    assert!(cycles(&graph).is_empty());
}

#[test]
fn a_parent_and_its_child_using_each_other_is_a_cycle() {
    let graph = graph_of(&[
        ("src/lib.rs", "mod jobs;\n"),
        (
            "src/jobs/mod.rs",
            "pub mod worker;\npub struct Services;\nfn go() {\n    worker::run();\n}\n",
        ),
        (
            "src/jobs/worker.rs",
            "use super::Services;\npub fn run() {}\n",
        ),
    ]);
    assert_eq!(
        edge_names(&graph),
        vec!["jobs → jobs::worker", "jobs::worker → jobs"]
    );
    let message = render(&cycles(&graph));
    assert!(
        message.contains("src/jobs/mod.rs:4: worker::run"),
        "{message}"
    );
    assert!(
        message.contains("src/jobs/worker.rs:1: use super::Services"),
        "{message}"
    );
}

#[test]
fn the_crate_root_re_exporting_its_children_is_not_an_import() {
    let graph = graph_of(&[
        (
            "src/lib.rs",
            "pub mod a;\npub mod b;\npub use a::A;\npub use crate::b::{self as bee, B as Bee};\npub struct Root;\n",
        ),
        ("src/a.rs", "use crate::Root;\npub struct A;\n"),
        // `crate::A` is `a::A`, re-exported: an edge to `a`, not to the root.
        ("src/b.rs", "pub struct B(crate::A);\n"),
    ]);
    assert_eq!(edge_names(&graph), vec!["a → crate", "b → a"]);
    assert!(cycles(&graph).is_empty());
}

#[test]
fn the_crate_root_using_a_child_that_uses_the_root_is_a_cycle() {
    let graph = graph_of(&[
        (
            "src/lib.rs",
            "pub mod state;\npub struct Emulator(state::Shared);\n",
        ),
        ("src/state.rs", "pub struct Shared(Box<crate::Emulator>);\n"),
    ]);
    assert_eq!(edge_names(&graph), vec!["crate → state", "state → crate"]);
    assert_eq!(cycles(&graph).len(), 1);
}

#[test]
fn another_crates_item_re_exported_is_no_edge_and_names_bound_by_use_are_followed() {
    let graph = graph_of(&[
        ("src/lib.rs", "mod api;\nmod state;\n"),
        (
            "src/api/mod.rs",
            "mod cors;\npub use almanac_protocol::HEADER;\nuse crate::state;\nfn f() -> state::Cell {\n    todo!()\n}\n",
        ),
        ("src/api/cors.rs", "use super::HEADER;\n"),
        ("src/state.rs", "pub struct Cell;\n"),
    ]);
    assert_eq!(edge_names(&graph), vec!["api → state"]);
    let lines: Vec<usize> = graph.edges[&(path("api"), path("state"))]
        .iter()
        .map(|s| s.line)
        .collect();
    assert_eq!(lines, vec![3, 4]);
}

#[test]
fn a_cycle_through_three_modules_is_found_without_any_pair() {
    let graph = graph_of(&[
        ("src/lib.rs", "mod a;\nmod b;\nmod c;\n"),
        ("src/a.rs", "use super::b::B;\npub struct A;\n"),
        ("src/b.rs", "use super::c::C;\npub struct B;\n"),
        ("src/c.rs", "pub struct C(crate::a::A);\n"),
    ]);
    let found = cycles(&graph);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].modules, vec![path("a"), path("b"), path("c")]);
    assert!(found[0].pairs.is_empty());
    assert!(render(&found).contains("for example a → b → c → a"));
}

#[test]
fn use_trees_expand_to_every_path() {
    let toks = tokenize("pub(crate) use super::{self as s, x::{Y, z::*}, w};");
    let shown: Vec<String> = scan(&toks).refs.iter().map(Ref::display).collect();
    assert_eq!(
        shown,
        vec![
            "pub use super as s",
            "pub use super::x::Y",
            "pub use super::x::z::*",
            "pub use super::w",
        ]
    );
}

#[test]
fn inline_modules_resolve_from_themselves() {
    let graph = graph_of(&[
        ("src/lib.rs", "mod a;\nmod b;\n"),
        (
            "src/a.rs",
            "mod inner {\n    use super::super::b::B;\n}\npub struct A;\n",
        ),
        (
            "src/b.rs",
            "pub struct B;\nfn f() -> impl Sized + use<> {\n    self::g()\n}\nfn g() {}\n",
        ),
    ]);
    assert_eq!(edge_names(&graph), vec!["a::inner → b"]);
}

#[test]
fn precise_capturing_is_not_a_use_declaration() {
    let graph = graph_of(&[
        ("src/lib.rs", "mod a;\nmod b;\n"),
        (
            "src/a.rs",
            "fn f<'a>(x: &'a u8) -> impl Sized + use<'a> {\n    crate::b::g(x)\n}\n",
        ),
        ("src/b.rs", "pub fn g(_: &u8) {}\n"),
    ]);
    assert_eq!(edge_names(&graph), vec!["a → b"]);
    assert_eq!(graph.edges[&(path("a"), path("b"))][0].line, 2);
}

#[test]
fn a_reference_from_under_one_module_to_under_another_is_found_through_re_exports() {
    let graph = graph_of(&[
        ("src/lib.rs", "mod chat; mod jobs; mod spreadsheet;"),
        ("src/chat/mod.rs", "mod turn;"),
        (
            "src/chat/turn.rs",
            "use crate::spreadsheet::access;\nfn f() -> crate::jobs::Services { todo!() }",
        ),
        (
            "src/jobs/mod.rs",
            "mod services;\npub use services::Services;",
        ),
        ("src/jobs/services.rs", "pub struct Services;"),
        ("src/spreadsheet/mod.rs", "pub mod access;"),
        ("src/spreadsheet/access.rs", ""),
    ]);
    let found = references_between(&graph, &["chat"], &["jobs"]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("src/chat/turn.rs:2: chat::turn → jobs::services"),
        "{found:?}"
    );
    assert!(references_between(&graph, &["jobs"], &["chat"]).is_empty());
}

#[test]
fn a_declared_module_without_a_file_stops_the_check() {
    let files = [SourceFile {
        path: "src/main.rs".into(),
        module: Vec::new(),
        text: "mod helpers;\nfn main() {}\n".into(),
    }];
    let err = crate_graph("bin", &files).unwrap_err();
    assert!(err.contains("src/main.rs:1: `mod helpers;`"), "{err}");
}

/// A member from an inline manifest.
fn member(dir: &str, manifest: &str) -> Member {
    let manifest: toml::Table = manifest.parse().unwrap();
    let name = manifest["package"]["name"].as_str().unwrap().to_owned();
    Member {
        dir: dir.into(),
        name,
        manifest,
    }
}

/// Inline members: the leaves plus `extra`.
fn workspace_with(extra: Vec<Member>) -> Vec<Member> {
    let mut all = vec![
        member("protocol", "[package]\nname = \"almanac-protocol\"\n"),
        member("emulator", "[package]\nname = \"almanac-emulator\"\n"),
        member(
            "crates/core",
            "[package]\nname = \"almanac-core\"\n[dependencies]\nalmanac-protocol = { workspace = true }\n",
        ),
    ];
    all.extend(extra);
    all
}

#[test]
fn the_intended_layering_passes() {
    let members = workspace_with(vec![
        member(
            "crates/sheets",
            "[package]\nname = \"almanac-sheets\"\n[dependencies]\nalmanac-core = { workspace = true }\n[dev-dependencies]\nalmanac-emulator = { workspace = true }\n",
        ),
        member(
            "demo",
            "[package]\nname = \"almanac-demo\"\n[dependencies]\nalmanac-emulator = { workspace = true }\n",
        ),
        member(
            "server",
            "[package]\nname = \"almanac-server\"\n[dependencies]\nalmanac-sheets = \"0.1\"\nalmanac-demo = { workspace = true, optional = true }\n",
        ),
    ]);
    assert_eq!(layering_violations(&members), Vec::<String>::new());
}

#[test]
fn layering_violations_are_named() {
    let members = workspace_with(vec![
        member(
            "crates/sheets",
            "[package]\nname = \"almanac-sheets\"\n[target.'cfg(unix)'.dependencies]\nstore = { package = \"almanac-store\", path = \"../store\" }\n",
        ),
        member("crates/store", "[package]\nname = \"almanac-store\"\n"),
        member(
            "demo",
            "[package]\nname = \"almanac-demo\"\n[dependencies]\nalmanac-emulator = { workspace = true }\n",
        ),
        member(
            "server",
            "[package]\nname = \"almanac-server\"\n[dependencies]\nalmanac-emulator = { workspace = true }\nalmanac-demo = { workspace = true }\n",
        ),
    ]);
    assert_eq!(
        layering_violations(&members),
        vec![
            "almanac-server (server) depends on almanac-emulator: only almanac-demo and tests may (as a dev-dependency)",
            "almanac-server depends on almanac-demo unconditionally: it must be optional (the `demo` feature), so deployments contain no stand-in",
            "almanac-sheets (crates/sheets) depends on almanac-store: a crate of crates/ builds on almanac-core and almanac-protocol only",
        ]
    );
}
