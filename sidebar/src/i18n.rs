//! The sidebar's languages: every text a person reads comes from the Fluent files of `locales/`
//! (`en/sidebar.ftl`, `ko/sidebar.ftl`), parsed at build time by Fluent's parser (`build.rs`) into
//! static message patterns that this module formats: text, variables, and selections by a
//! number's CLDR plural category (`[one]`, `*[other]`) or by exact value. The language follows
//! the Google account's locale (`Session.getActiveUserLocale()`, passed in the selection
//! context), English when it is neither. Pure and tested on the host, including that both
//! languages hold the same messages.

use std::borrow::Cow;
use std::cell::Cell;

/// One part of a message's pattern, as `build.rs` compiles it.
#[derive(Debug)]
pub(crate) enum Part {
    /// Text, as written.
    Text(&'static str),
    /// The value of a variable (`{ $n }`).
    Var(&'static str),
    /// A selection by a variable (`{ $count -> [one] … *[other] … }`): the variants' keys,
    /// whether each is the default, and their patterns.
    Select(
        &'static str,
        &'static [(&'static str, bool, &'static [Part])],
    ),
}

include!(concat!(env!("OUT_DIR"), "/messages.rs"));

/// The value of a message's variable: text, or a number (which selects plural variants).
#[derive(Clone, Debug, PartialEq)]
pub enum Arg<'a> {
    /// Text, shown as given.
    Str(Cow<'a, str>),
    /// A number, shown with its digits only (`1234`, `1.5`).
    Num(f64),
}

impl Arg<'_> {
    fn write(&self, out: &mut String) {
        match self {
            Arg::Str(s) => out.push_str(s),
            Arg::Num(n) => out.push_str(&n.to_string()),
        }
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Str(Cow::Borrowed(s))
    }
}

impl From<String> for Arg<'_> {
    fn from(s: String) -> Self {
        Arg::Str(Cow::Owned(s))
    }
}

macro_rules! number_args {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg<'_> {
            fn from(n: $t) -> Self {
                Arg::Num(n as f64)
            }
        }
    )*};
}
number_args!(u64, u32, u16, usize, i64, i32, f64);

/// A language of the sidebar.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// English, the fallback.
    #[default]
    En,
    /// Korean.
    Ko,
}

impl Lang {
    /// The language of a locale as Apps Script (`ko`, `ko_KR`) or a browser (`ko-KR`, `en-US`)
    /// writes it; English for anything else, and for `None` or `""`.
    pub fn of_locale(locale: Option<&str>) -> Lang {
        let primary = locale
            .unwrap_or_default()
            .split(['-', '_'])
            .next()
            .unwrap_or_default();
        if primary.eq_ignore_ascii_case("ko") {
            Lang::Ko
        } else {
            Lang::En
        }
    }

    /// The BCP 47 tag: `en` or `ko` (for `<html lang>` and `Intl`).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ko => "ko",
        }
    }

    fn messages(self) -> &'static [(&'static str, &'static [Part])] {
        match self {
            Lang::En => EN,
            Lang::Ko => KO,
        }
    }

    /// The CLDR plural category of `n` in this language
    /// (<https://www.unicode.org/cldr/charts/latest/supplemental/language_plural_rules.html>):
    /// English `one` for 1 (no fraction), else `other`; Korean `other` always.
    fn plural(self, n: f64) -> &'static str {
        match self {
            Lang::En if n == 1.0 => "one",
            _ => "other",
        }
    }
}

thread_local! {
    static CURRENT: Cell<Lang> = const { Cell::new(Lang::En) };
}

/// Writes `parts` with `args` (a variable without a value shows as `{$name}`, as Fluent does).
fn write(lang: Lang, parts: &[Part], args: &[(&str, Arg<'_>)], out: &mut String) {
    let arg = |name: &str| args.iter().find(|(n, _)| *n == name).map(|(_, v)| v);
    for part in parts {
        match part {
            Part::Text(text) => out.push_str(text),
            Part::Var(name) => match arg(name) {
                Some(value) => value.write(out),
                None => out.push_str(&format!("{{${name}}}")),
            },
            Part::Select(name, variants) => {
                let chosen = match arg(name) {
                    Some(Arg::Num(n)) => variants
                        .iter()
                        .find(|(key, _, _)| key.parse::<f64>().ok() == Some(*n))
                        .or_else(|| variants.iter().find(|(key, _, _)| *key == lang.plural(*n))),
                    Some(Arg::Str(s)) => variants.iter().find(|(key, _, _)| key == s),
                    None => None,
                };
                if let Some((_, _, pattern)) =
                    chosen.or_else(|| variants.iter().find(|(_, default, _)| *default))
                {
                    write(lang, pattern, args, out);
                }
            }
        }
    }
}

/// Chooses the language of every text formatted from now on (on this thread).
pub fn set_lang(lang: Lang) {
    CURRENT.with(|c| c.set(lang));
}

/// The language texts are formatted in.
pub fn lang() -> Lang {
    CURRENT.with(Cell::get)
}

/// Message `id` in `lang` with `args`; English when `lang` lacks it, and the id itself when
/// neither has it (so that a missing message shows, rather than an empty line).
pub fn text_in(lang: Lang, id: &str, args: &[(&str, Arg<'_>)]) -> String {
    let find = |lang: Lang| {
        lang.messages()
            .iter()
            .find(|(name, _)| *name == id)
            .map(|(_, parts)| (lang, *parts))
    };
    match find(lang).or_else(|| find(Lang::En)) {
        Some((lang, parts)) => {
            let mut out = String::new();
            write(lang, parts, args, &mut out);
            out
        }
        None => id.to_owned(),
    }
}

/// Message `id` without arguments, in the current language.
pub fn t(id: &str) -> String {
    text_in(lang(), id, &[])
}

/// Message `id` with `args` (`("name", value.into())`), in the current language.
pub fn tf(id: &str, args: &[(&str, Arg<'_>)]) -> String {
    text_in(lang(), id, args)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use fluent_syntax::ast::{Entry, Expression, InlineExpression, Pattern, PatternElement};

    use super::*;

    fn locales() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../locales")
    }

    /// Each message's id with the variables it uses, of one `.ftl` file (which must parse).
    fn messages(path: &Path) -> BTreeSet<(String, BTreeSet<String>)> {
        let source = std::fs::read_to_string(path).expect("a locale file");
        let resource = fluent_syntax::parser::parse(source.as_str())
            .unwrap_or_else(|(_, errors)| panic!("{} does not parse: {errors:?}", path.display()));
        resource
            .body
            .iter()
            .filter_map(|entry| match entry {
                Entry::Message(m) => Some((
                    m.id.name.to_owned(),
                    m.value.as_ref().map(variables).unwrap_or_default(),
                )),
                _ => None,
            })
            .collect()
    }

    fn variables(pattern: &Pattern<&str>) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for element in &pattern.elements {
            if let PatternElement::Placeable { expression } = element {
                match expression {
                    Expression::Inline(InlineExpression::VariableReference { id }) => {
                        out.insert(id.name.to_owned());
                    }
                    Expression::Select { selector, variants } => {
                        if let InlineExpression::VariableReference { id } = selector {
                            out.insert(id.name.to_owned());
                        }
                        variants
                            .iter()
                            .for_each(|v| out.extend(variables(&v.value)));
                    }
                    Expression::Inline(_) => {}
                }
            }
        }
        out
    }

    #[test]
    fn every_message_exists_in_both_languages_with_the_same_arguments() {
        let files: Vec<_> = std::fs::read_dir(locales().join("en"))
            .expect("locales/en")
            .map(|e| e.expect("an entry").file_name())
            .collect();
        assert!(!files.is_empty());
        for file in files {
            let en = messages(&locales().join("en").join(&file));
            let ko = messages(&locales().join("ko").join(&file));
            let ids = |set: &BTreeSet<(String, BTreeSet<String>)>| -> BTreeSet<String> {
                set.iter().map(|(id, _)| id.clone()).collect()
            };
            let only_en: Vec<_> = ids(&en).difference(&ids(&ko)).cloned().collect();
            let only_ko: Vec<_> = ids(&ko).difference(&ids(&en)).cloned().collect();
            assert!(
                only_en.is_empty() && only_ko.is_empty(),
                "{file:?}: only in English {only_en:?}, only in Korean {only_ko:?}"
            );
            // Korean may leave out a plural's count ($count) that only English needs.
            for ((id, en_vars), (_, ko_vars)) in en.iter().zip(ko.iter()) {
                let missing: Vec<_> = ko_vars.difference(en_vars).collect();
                assert!(
                    missing.is_empty(),
                    "{file:?} {id}: Korean uses {missing:?}, unknown to English"
                );
            }
        }
    }

    #[test]
    fn the_locale_of_the_google_account_picks_the_language_and_english_is_the_fallback() {
        assert_eq!(Lang::of_locale(Some("ko")), Lang::Ko);
        assert_eq!(Lang::of_locale(Some("ko_KR")), Lang::Ko);
        assert_eq!(Lang::of_locale(Some("KO-kr")), Lang::Ko);
        assert_eq!(Lang::of_locale(Some("en_GB")), Lang::En);
        assert_eq!(Lang::of_locale(Some("fr")), Lang::En);
        assert_eq!(Lang::of_locale(Some("")), Lang::En);
        assert_eq!(Lang::of_locale(None), Lang::En);
    }

    #[test]
    fn messages_are_formatted_with_arguments_and_plurals_in_each_language() {
        let rows = |lang, n: u64| text_in(lang, "rows", &[("count", n.into()), ("n", n.into())]);
        assert_eq!(rows(Lang::En, 1), "1 row");
        assert_eq!(rows(Lang::En, 3), "3 rows");
        assert_eq!(rows(Lang::Ko, 3), "3개 행");
        assert_eq!(text_in(Lang::Ko, "tab-generate", &[]), "생성");
        assert_eq!(text_in(Lang::En, "no-such-message", &[]), "no-such-message");
        set_lang(Lang::Ko);
        assert_eq!(
            tf("sheet-line", &[("title", "이벤트".into())]),
            "시트 “이벤트”"
        );
        set_lang(Lang::En);
        assert_eq!(t("tab-chat"), "Chat");
    }

    #[test]
    fn a_missing_argument_shows_its_name_and_selects_the_default_variant() {
        assert_eq!(text_in(Lang::En, "rows", &[]), "{$n} rows");
        assert_eq!(
            text_in(Lang::En, "duration-days", &[("d", 1u64.into())]),
            "about 1 day"
        );
        assert_eq!(
            text_in(Lang::En, "duration-days", &[("d", 2.5f64.into())]),
            "about 2.5 days"
        );
        assert_eq!(
            text_in(
                Lang::Ko,
                "rows",
                &[("count", 1u64.into()), ("n", "1".into())]
            ),
            "1개 행"
        );
    }

    #[test]
    fn the_plural_rules_agree_with_cldr_as_fluent_applies_it() {
        use intl_pluralrules::{PluralCategory, PluralRuleType, PluralRules};
        for (lang, id) in [(Lang::En, "en"), (Lang::Ko, "ko")] {
            let cldr = PluralRules::create(
                id.parse::<unic_langid::LanguageIdentifier>().unwrap(),
                PluralRuleType::CARDINAL,
            )
            .unwrap();
            let numbers = (0..=1_000)
                .map(f64::from)
                .chain([0.5, 1.5, 2.25, 1e6, 21.0, 101.0]);
            for n in numbers {
                let expected = match cldr.select(n).unwrap() {
                    PluralCategory::ONE => "one",
                    PluralCategory::OTHER => "other",
                    other => panic!("{id} has a category the sidebar does not know: {other:?}"),
                };
                assert_eq!(lang.plural(n), expected, "{id} {n}");
            }
        }
    }
}
