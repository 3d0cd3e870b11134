//! The sidebar's languages: every text a person reads comes from the Fluent files of `locales/`
//! (`en/sidebar.ftl`, `ko/sidebar.ftl`), compiled into the bundle and formatted by `fluent-bundle`
//! (plurals by CLDR rules). The language follows the Google account's locale
//! (`Session.getActiveUserLocale()`, passed in the selection context), English when it is neither.
//! Pure and tested on the host, including that both languages hold the same messages.

use std::cell::{Cell, OnceCell};

use fluent_bundle::{FluentArgs, FluentBundle, FluentResource, FluentValue};

/// The sidebar's English messages.
const EN: &str = include_str!("../../locales/en/sidebar.ftl");
/// The sidebar's Korean messages.
const KO: &str = include_str!("../../locales/ko/sidebar.ftl");

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

    fn source(self) -> &'static str {
        match self {
            Lang::En => EN,
            Lang::Ko => KO,
        }
    }
}

/// One language's messages, ready to format.
struct Catalog(FluentBundle<FluentResource>);

impl Catalog {
    fn load(lang: Lang) -> Catalog {
        // The files are tested on the host: a syntax error cannot reach the bundle.
        let resource = FluentResource::try_new(lang.source().to_owned()).unwrap_or_else(|(r, _)| r);
        let id = lang.tag().parse().unwrap_or_default();
        let mut bundle = FluentBundle::new(vec![id]);
        // One direction of writing throughout: no Unicode isolation marks around arguments.
        bundle.set_use_isolating(false);
        let _ = bundle.add_resource(resource);
        Catalog(bundle)
    }

    fn format(&self, id: &str, args: Option<&FluentArgs>) -> Option<String> {
        let pattern = self.0.get_message(id)?.value()?;
        let mut errors = Vec::new();
        Some(
            self.0
                .format_pattern(pattern, args, &mut errors)
                .into_owned(),
        )
    }
}

thread_local! {
    static CURRENT: Cell<Lang> = const { Cell::new(Lang::En) };
    static EN_CATALOG: OnceCell<Catalog> = const { OnceCell::new() };
    static KO_CATALOG: OnceCell<Catalog> = const { OnceCell::new() };
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
pub fn text_in(lang: Lang, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        fluent_args.set(*name, value.clone());
    }
    let args = (!args.is_empty()).then_some(&fluent_args);
    let format = |cell: &'static std::thread::LocalKey<OnceCell<Catalog>>, lang| {
        cell.with(|c| c.get_or_init(|| Catalog::load(lang)).format(id, args))
    };
    let found = match lang {
        Lang::Ko => format(&KO_CATALOG, Lang::Ko),
        Lang::En => None,
    };
    found
        .or_else(|| format(&EN_CATALOG, Lang::En))
        .unwrap_or_else(|| id.to_owned())
}

/// Message `id` without arguments, in the current language.
pub fn t(id: &str) -> String {
    text_in(lang(), id, &[])
}

/// Message `id` with `args` (`("name", value.into())`), in the current language.
pub fn tf(id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
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
}
