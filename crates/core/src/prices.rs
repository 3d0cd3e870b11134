//! The catalogue checked against its price source: the vendored snapshot of pydantic's
//! `genai-prices` (`crates/core/data/genai-prices.json`, MIT, written by
//! `scripts/refresh-prices.py`). Test-only: the product reads `models.toml`; this module fails the
//! build's tests when a price there (standard input, cached input, output; batch = half of standard,
//! OpenAI's Batch API rule <https://platform.openai.com/docs/guides/batch>; flex = batch rates where
//! the model is flex-eligible, <https://platform.openai.com/docs/guides/flex-processing>) disagrees
//! with the snapshot, or when `prices_as_of` / `prices_source` do not name the snapshot.

use serde::Deserialize;

use crate::catalog::{Catalog, ModelSpec};

/// The snapshot as written by `scripts/refresh-prices.py`.
const SNAPSHOT_JSON: &str = include_str!("../data/genai-prices.json");

/// The snapshot file: its version, date and the providers' models.
#[derive(Debug, Deserialize)]
struct Snapshot {
    package_version: String,
    snapshot_date: String,
    providers: Vec<Provider>,
}

#[derive(Debug, Deserialize)]
struct Provider {
    id: String,
    models: Vec<SnapshotModel>,
}

/// One model: its genai-prices id, the rule matching request model names, and its prices.
#[derive(Debug, Deserialize)]
struct SnapshotModel {
    id: String,
    #[serde(rename = "match")]
    rule: Rule,
    prices: Prices,
    #[serde(default)]
    variants: Variants,
}

/// genai-prices' `MatchLogic`, as data (case-insensitive like the package; `regex` is never used
/// by the OpenAI models the catalogue lists, and matches nothing here).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Rule {
    Equals(String),
    StartsWith(String),
    EndsWith(String),
    Contains(String),
    Regex(serde::de::IgnoredAny),
    Or(Vec<Rule>),
    And(Vec<Rule>),
}

impl Rule {
    fn matches(&self, id: &str) -> bool {
        let id = id.to_lowercase();
        match self {
            Rule::Equals(s) => id == s.to_lowercase(),
            Rule::StartsWith(s) => id.starts_with(&s.to_lowercase()),
            Rule::EndsWith(s) => id.ends_with(&s.to_lowercase()),
            Rule::Contains(s) => id.contains(&s.to_lowercase()),
            Rule::Regex(_) => false,
            Rule::Or(rules) => rules.iter().any(|r| r.matches(&id)),
            Rule::And(rules) => rules.iter().all(|r| r.matches(&id)),
        }
    }
}

/// USD per 1M tokens.
#[derive(Debug, Default, Deserialize)]
struct Prices {
    input_mtok: Option<Price>,
    output_mtok: Option<Price>,
    cache_read_mtok: Option<Price>,
}

#[derive(Debug, Default, Deserialize)]
struct Variants {
    flex: Option<Prices>,
    batch: Option<Prices>,
}

/// A flat price, or a base price with tiers above a number of input tokens.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Price {
    Flat(f64),
    Tiered { base: f64, tiers: Vec<Tier> },
}

#[derive(Debug, Deserialize)]
struct Tier {
    start: u64,
}

impl Price {
    /// The price of a request below every tier (Almanac's requests are a few thousand tokens).
    fn base(&self) -> f64 {
        match self {
            Price::Flat(p) => *p,
            Price::Tiered { base, tiers } => {
                assert!(tiers.iter().all(|t| t.start >= 100_000), "{tiers:?}");
                *base
            }
        }
    }
}

/// Published prices are rounded to a tenth of a cent per 1M tokens at most (o4-mini's flex cached
/// input is listed as 0.138 for 0.1375).
fn agrees(ours: f64, theirs: Option<&Price>) -> bool {
    theirs.is_some_and(|p| (p.base() - ours).abs() <= 0.0051)
}

fn snapshot() -> Snapshot {
    serde_json::from_str(SNAPSHOT_JSON).expect("crates/core/data/genai-prices.json parses")
}

/// The one OpenAI model of the snapshot matching `id`.
fn priced<'s>(snapshot: &'s Snapshot, id: &str) -> &'s SnapshotModel {
    let openai = snapshot
        .providers
        .iter()
        .find(|p| p.id == "openai")
        .unwrap();
    let found: Vec<_> = openai
        .models
        .iter()
        .filter(|m| m.rule.matches(id))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{id}: {:?}",
        found.iter().map(|m| &m.id).collect::<Vec<_>>()
    );
    found[0]
}

/// What disagrees between one catalogue model and its snapshot prices, one line each.
fn disagreements(m: &ModelSpec, s: &SnapshotModel) -> Vec<String> {
    let mut out = Vec::new();
    let half = m.batch_price_factor;
    let mut check = |what: &str, ours: f64, theirs: Option<&Price>| {
        if !agrees(ours, theirs) {
            out.push(format!("{} ({}): {what} {ours} vs {theirs:?}", m.id, s.id));
        }
    };
    check("input", m.input_per_1m, s.prices.input_mtok.as_ref());
    check(
        "cached input",
        m.cached_input_per_1m,
        s.prices.cache_read_mtok.as_ref(),
    );
    check("output", m.output_per_1m, s.prices.output_mtok.as_ref());
    if let Some(batch) = &s.variants.batch {
        check(
            "batch input",
            m.input_per_1m * half,
            batch.input_mtok.as_ref(),
        );
        check(
            "batch output",
            m.output_per_1m * half,
            batch.output_mtok.as_ref(),
        );
    }
    match (&s.variants.flex, m.flex) {
        (Some(flex), true) => {
            check(
                "flex input",
                m.input_per_1m * half,
                flex.input_mtok.as_ref(),
            );
            check(
                "flex cached input",
                m.cached_input_per_1m * half,
                flex.cache_read_mtok.as_ref(),
            );
            check(
                "flex output",
                m.output_per_1m * half,
                flex.output_mtok.as_ref(),
            );
        }
        (None, false) => {}
        (flex, eligible) => out.push(format!(
            "{}: flex = {eligible} but the snapshot's flex prices are {flex:?}",
            m.id
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_price_agrees_with_the_genai_prices_snapshot() {
        let snapshot = snapshot();
        let catalog = Catalog::builtin();
        let wrong: Vec<String> = catalog
            .models
            .iter()
            .flat_map(|m| disagreements(m, priced(&snapshot, &m.id)))
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        assert!(catalog.models.iter().all(|m| m.batch_price_factor == 0.5));
    }

    #[test]
    fn the_catalogue_names_the_snapshot_it_was_checked_against() {
        let snapshot = snapshot();
        let catalog = Catalog::builtin();
        assert_eq!(catalog.prices_as_of, snapshot.snapshot_date);
        assert_eq!(
            catalog.prices_source,
            format!("genai-prices {}", snapshot.package_version)
        );
    }

    #[test]
    fn a_wrong_price_or_a_wrong_flex_flag_is_caught() {
        let snapshot = snapshot();
        let mut m = Catalog::builtin().resolve("gpt-4.1-mini").unwrap().clone();
        m.cached_input_per_1m = 0.2;
        m.flex = true;
        let wrong = disagreements(&m, priced(&snapshot, &m.id));
        assert_eq!(wrong.len(), 2, "{wrong:?}");
        assert!(wrong[0].contains("cached input 0.2"), "{wrong:?}");
        assert!(wrong[1].contains("flex = true"), "{wrong:?}");
    }

    #[test]
    fn match_rules_follow_genai_prices() {
        let snapshot = snapshot();
        assert_eq!(priced(&snapshot, "gpt-5-nano-2025-08-07").id, "gpt-5-nano");
        assert_eq!(
            priced(&snapshot, "GPT-4.1-mini-2025-04-14").id,
            "gpt-4.1-mini"
        );
    }
}
