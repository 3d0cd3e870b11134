//! `ARCHITECTURE.md` names only paths that exist.
//!
//! Every code span of the document (text between single backticks) that reads as a path from
//! the workspace root — its first segment is a top-level entry of the repository (`server/…`,
//! `crates/…`, `.ci/run`, `Cargo.toml`, …) — must name a file or folder of the checkout. Braces
//! expand (`migrations/{sqlite,postgres}/` is two paths), a `:line` suffix is dropped, and a span
//! with `*` or `…` is checked up to the segment before it; a path git ignores (a build output such
//! as `sidebar/dist`) need not exist. Anything else in backticks (types,
//! routes, settings, module paths) is not a path and is left alone, so the document writes every
//! path in full from the root.
//!
//! The document's lines are also kept short enough to read in a terminal and a diff: at most 100
//! characters, except lines holding a URL.

use std::path::Path;

/// The longest line of prose the document may have.
const MAX_LINE: usize = 100;

/// The code spans of a Markdown text, in order (fenced blocks skipped: they are diagrams).
fn code_spans(markdown: &str) -> Vec<(usize, String)> {
    let mut spans = Vec::new();
    let mut fenced = false;
    for (n, line) in markdown.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut parts = line.split('`');
        parts.next();
        while let (Some(inside), Some(_)) = (parts.next(), parts.next()) {
            spans.push((n + 1, inside.to_owned()));
        }
    }
    spans
}

/// `a/{b,c}/d` → `a/b/d`, `a/c/d` (one level of braces, repeated).
fn expand_braces(path: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (path.find('{'), path.find('}')) else {
        return vec![path.to_owned()];
    };
    if close < open {
        return vec![path.to_owned()];
    }
    path[open + 1..close]
        .split(',')
        .flat_map(|alt| {
            expand_braces(&format!(
                "{}{}{}",
                &path[..open],
                alt.trim(),
                &path[close + 1..]
            ))
        })
        .collect()
}

/// The path a span names, if it names one: rooted at a top-level entry of `root`, without a
/// `:line` suffix, cut before a `*` or `…` segment.
fn as_root_path(span: &str, top_level: &[String]) -> Option<String> {
    let span = span.trim();
    if span.is_empty() || span.contains(' ') || span.contains("::") || span.starts_with('/') {
        return None;
    }
    let first = span.split('/').next()?;
    if !top_level.iter().any(|entry| entry == first) {
        return None;
    }
    let without_line = match span.rsplit_once(':') {
        Some((path, line)) if line.chars().all(|c| c.is_ascii_digit()) => path,
        _ => span,
    };
    let mut kept = Vec::new();
    for segment in without_line.split('/') {
        if segment.contains('*') || segment.contains('…') {
            break;
        }
        kept.push(segment);
    }
    Some(kept.join("/"))
}

/// The paths of `markdown` that do not exist under `root`, as `line: path` messages.
fn missing_paths(markdown: &str, root: &Path) -> Vec<String> {
    let top_level: Vec<String> = std::fs::read_dir(root)
        .expect("the workspace root can be listed")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name != "target" && name != ".git")
        .collect();
    let mut missing = Vec::new();
    for (line, span) in code_spans(markdown) {
        for candidate in expand_braces(&span) {
            if let Some(path) = as_root_path(&candidate, &top_level)
                && !root.join(&path).exists()
                && !ignored_by_git(root, &path)
            {
                missing.push(format!("line {line}: `{span}` ({path} does not exist)"));
            }
        }
    }
    missing
}

/// Whether git ignores `path` (a build output, named though it is not in a fresh checkout).
fn ignored_by_git(root: &Path, path: &str) -> bool {
    std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["check-ignore", "-q", "--no-index", path])
        .status()
        .is_ok_and(|status| status.success())
}

/// Lines over [`MAX_LINE`] characters that hold no URL.
fn long_lines(markdown: &str) -> Vec<String> {
    markdown
        .lines()
        .enumerate()
        .filter(|(_, l)| l.chars().count() > MAX_LINE)
        .filter(|(_, l)| !l.contains("://"))
        .map(|(n, l)| format!("line {}: {} characters", n + 1, l.chars().count()))
        .collect()
}

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
}

#[test]
fn every_path_architecture_md_names_exists() {
    let root = workspace_root();
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let missing = missing_paths(&doc, root);
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names paths that do not exist:\n{}",
        missing.join("\n")
    );
}

#[test]
fn architecture_md_lines_are_wrapped() {
    let doc =
        std::fs::read_to_string(workspace_root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let long = long_lines(&doc);
    assert!(
        long.is_empty(),
        "ARCHITECTURE.md has lines over {MAX_LINE} characters (wrap them):\n{}",
        long.join("\n")
    );
}

#[test]
fn a_missing_path_is_found_and_other_spans_are_not_paths() {
    let root = workspace_root();
    let doc = "See `server/src/lib.rs`, `server/src/nope.rs:12`, `crates/{core,nothing}/`,\n\
               `sidebar/dist/index.html` (git-ignored),\n\
               `JobStatus`, `/api/v1/jobs`, `jobs::queue`, `crates/*/src`, `ALMANAC_X`.\n\
               ```\nserver/src/not-checked-in-a-diagram.rs\n```\n";
    let missing = missing_paths(doc, root);
    assert_eq!(missing.len(), 2, "{missing:#?}");
    assert!(missing[0].contains("server/src/nope.rs does not exist"));
    assert!(missing[1].contains("crates/nothing/ does not exist"));
}

#[test]
fn long_lines_are_found_but_a_url_passes() {
    let long = "x".repeat(MAX_LINE + 1);
    let doc = format!("{long}\n| {long} |\nsee https://{long}\nshort\n");
    assert_eq!(
        long_lines(&doc),
        vec![
            format!("line 1: {} characters", MAX_LINE + 1),
            format!("line 2: {} characters", MAX_LINE + 5)
        ]
    );
}
