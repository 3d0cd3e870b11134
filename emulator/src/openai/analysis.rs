//! The canned analysis the emulated code interpreter really computes over an uploaded CSV:
//! **events per decade** from a year column, with the Python it pretends to run, its printed
//! logs, and a one-line summary.
//!
//! - The year column is the one whose header is `year`, `years`, `연도`, `년도` or `년`
//!   (case-insensitive, trimmed); failing that, the first column whose non-empty cells are all
//!   whole numbers (optionally followed by `년`).
//! - A cell's year is its first run of digits (at most 4, so `1919년` and `c. 1919` give 1919),
//!   negative when a `-` directly precedes it; cells without digits are skipped.
//! - A year's decade is `year - year.rem_euclid(10)`; decades are listed in ascending order.

use std::collections::BTreeMap;

/// Headers taken as the year column.
const YEAR_HEADERS: [&str; 5] = ["year", "years", "연도", "년도", "년"];

/// Events per decade of one CSV.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecadeCounts {
    /// Header of the year column.
    pub column: String,
    /// Data rows (header excluded).
    pub rows: usize,
    /// Rows whose year cell held a year.
    pub with_year: usize,
    /// `(decade, events)`, ascending by decade.
    pub counts: Vec<(i64, usize)>,
}

impl DecadeCounts {
    /// The decades with the most events and that number (empty when no row has a year).
    pub fn busiest(&self) -> (Vec<i64>, usize) {
        let max = self.counts.iter().map(|(_, n)| *n).max().unwrap_or(0);
        let decades = self
            .counts
            .iter()
            .filter(|(_, n)| *n == max && max > 0)
            .map(|(d, _)| *d)
            .collect();
        (decades, max)
    }

    /// `1910s: 3, 1940s: 5`.
    pub fn listing(&self) -> String {
        self.counts
            .iter()
            .map(|(d, n)| format!("{d}s: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// What the code prints: one `decade  count` line per decade, then the totals.
    pub fn logs(&self) -> String {
        let mut out = String::from("decade  events\n");
        for (d, n) in &self.counts {
            out.push_str(&format!("{:<6}  {n}\n", format!("{d}s")));
        }
        out.push_str(&format!(
            "rows: {}, rows with a year: {} [emulated]\n",
            self.rows, self.with_year
        ));
        out
    }
}

/// The year in a cell (see the module docs).
pub fn year_of(cell: &str) -> Option<i64> {
    let bytes = cell.as_bytes();
    let start = bytes.iter().position(u8::is_ascii_digit)?;
    let digits: String = cell[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .take(4)
        .collect();
    let year: i64 = digits.parse().ok()?;
    let negative = start > 0 && bytes[start - 1] == b'-';
    Some(if negative { -year } else { year })
}

fn is_whole_year(cell: &str) -> bool {
    let digits = cell.trim().trim_end_matches('년');
    !digits.is_empty() && digits.len() <= 4 && digits.chars().all(|c| c.is_ascii_digit())
}

fn year_column(header: &[String], rows: &[Vec<String>]) -> Option<usize> {
    let by_name = header
        .iter()
        .position(|h| YEAR_HEADERS.contains(&h.trim().to_lowercase().as_str()));
    by_name.or_else(|| {
        (0..header.len()).find(|&col| {
            let mut cells = rows
                .iter()
                .filter_map(|r| r.get(col))
                .filter(|c| !c.trim().is_empty())
                .peekable();
            cells.peek().is_some() && cells.all(|c| is_whole_year(c))
        })
    })
}

/// Counts events per decade in `csv_text` (first record = header).
///
/// # Errors
/// A sentence saying why: the CSV does not parse, or it has no year column.
pub fn decades(csv_text: &str) -> Result<DecadeCounts, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv_text.trim_start_matches('\u{feff}').as_bytes());
    let mut records = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("the CSV does not parse: {e}"))?;
        records.push(record.iter().map(str::to_string).collect::<Vec<_>>());
    }
    let Some((header, rows)) = records.split_first() else {
        return Err("the CSV is empty".into());
    };
    let col = year_column(header, rows).ok_or("the CSV has no year column")?;
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    let mut with_year = 0;
    for row in rows {
        if let Some(year) = row.get(col).and_then(|c| year_of(c)) {
            with_year += 1;
            *counts.entry(year - year.rem_euclid(10)).or_default() += 1;
        }
    }
    Ok(DecadeCounts {
        column: header[col].clone(),
        rows: rows.len(),
        with_year,
        counts: counts.into_iter().collect(),
    })
}

/// The Python the emulated code interpreter shows for this analysis of `csv_path` (column
/// `column`), saving the chart to `chart_path`.
pub fn python_code(csv_path: &str, column: &str, chart_path: &str) -> String {
    format!(
        r#"# [emulated] The local emulator computed this analysis itself; no Python ran.
import pandas as pd
import matplotlib.pyplot as plt

df = pd.read_csv({csv_path:?})
years = pd.to_numeric(df[{column:?}].astype(str).str.extract(r"(-?\d{{1,4}})")[0], errors="coerce").dropna().astype(int)
counts = (years // 10 * 10).value_counts().sort_index()
print("decade  events")
for decade, n in counts.items():
    print(f"{{str(decade) + 's':<6}}  {{n}}")
print(f"rows: {{len(df)}}, rows with a year: {{len(years)}}")
counts.plot(kind="bar", title="Events per decade")
plt.savefig({chart_path:?})
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_events_per_decade_from_the_year_column() {
        let csv =
            "id,title,year\n01-27,A,1945\n03-01,B,1919\n04-19,C,1960\n05-16,D,1961년\n06-25,E,\n";
        let d = decades(csv).unwrap();
        assert_eq!(d.column, "year");
        assert_eq!((d.rows, d.with_year), (5, 4));
        assert_eq!(d.counts, vec![(1910, 1), (1940, 1), (1960, 2)]);
        assert_eq!(d.busiest(), (vec![1960], 2));
        assert_eq!(d.listing(), "1910s: 1, 1940s: 1, 1960s: 2");
        assert!(d.logs().contains("1960s   2"));
    }

    #[test]
    fn finds_an_unnamed_year_column_but_not_the_id_column() {
        let csv = "id,when\n01-27,1945\n03-01,1919\n";
        assert_eq!(decades(csv).unwrap().column, "when");
        assert!(decades("id,title\n01-27,A\n").is_err());
        assert_eq!(year_of("c. -44 BC"), Some(-44));
        assert_eq!(year_of("no digits"), None);
    }
}
