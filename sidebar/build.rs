//! Compiles the sidebar's Fluent messages (`locales/{en,ko}/sidebar.ftl`) at build time: Fluent's
//! own parser (`fluent-syntax`) reads each file, and each message's pattern becomes a static list
//! of parts (text, a variable, a selection by a variable) in `$OUT_DIR/messages.rs`, which
//! `src/i18n.rs` formats. The bundle then carries neither a Fluent parser nor a resolver (about
//! 45 KB of its gzip size). A construct the sidebar's formatter does not know (terms, message
//! references, functions, attributes) fails the build, naming the message.

use std::fmt::Write as _;

use fluent_syntax::ast::{
    Entry, Expression, InlineExpression, Pattern, PatternElement, VariantKey,
};

fn main() {
    let mut out = String::new();
    for (name, lang) in [("EN", "en"), ("KO", "ko")] {
        let path = format!("../locales/{lang}/sidebar.ftl");
        println!("cargo::rerun-if-changed={path}");
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let resource = fluent_syntax::parser::parse(source.as_str())
            .unwrap_or_else(|(_, errors)| panic!("{path} does not parse: {errors:?}"));
        let _ = writeln!(out, "/// The messages of `{path}`, by id.");
        let _ = writeln!(out, "pub(crate) static {name}: &[(&str, &[Part])] = &[");
        for entry in &resource.body {
            if let Entry::Message(m) = entry
                && let Some(value) = &m.value
            {
                let id = m.id.name;
                let _ = writeln!(out, "    ({id:?}, &{}),", pattern(id, value));
            }
        }
        out.push_str("];\n");
    }
    let dir = std::env::var("OUT_DIR").expect("OUT_DIR");
    std::fs::write(format!("{dir}/messages.rs"), out).expect("messages.rs written");
}

/// A pattern as the Rust expression of its parts: `[Part::Text("…"), Part::Var("n"), …]`.
fn pattern(id: &str, pattern: &Pattern<&str>) -> String {
    let parts: Vec<String> = pattern
        .elements
        .iter()
        .map(|element| match element {
            PatternElement::TextElement { value } => format!("Part::Text({value:?})"),
            PatternElement::Placeable { expression } => placeable(id, expression),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

fn placeable(id: &str, expression: &Expression<&str>) -> String {
    match expression {
        Expression::Inline(InlineExpression::VariableReference { id: var }) => {
            format!("Part::Var({:?})", var.name)
        }
        Expression::Inline(InlineExpression::StringLiteral { value }) => {
            format!("Part::Text({value:?})")
        }
        Expression::Select {
            selector: InlineExpression::VariableReference { id: var },
            variants,
        } => {
            let variants: Vec<String> = variants
                .iter()
                .map(|v| {
                    let key = match &v.key {
                        VariantKey::Identifier { name } => name,
                        VariantKey::NumberLiteral { value } => value,
                    };
                    format!("({key:?}, {}, &{})", v.default, pattern(id, &v.value))
                })
                .collect();
            format!("Part::Select({:?}, &[{}])", var.name, variants.join(", "))
        }
        other => panic!("message `{id}`: the sidebar cannot format {other:?}"),
    }
}
