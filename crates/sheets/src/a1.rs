//! A1 notation: the only place that builds or reads range strings such as `'It''s 🌵'!C5:F5`.
//!
//! The Sheets API names cells with [A1 notation](https://developers.google.com/workspace/sheets/api/guides/concepts#cell):
//! an optional sheet title, `!`, then a cell (`C5`), a rectangle (`C5:F5`), whole columns (`A:F`) or
//! nothing at all (the whole sheet). A title is wrapped in single quotes — with an inner `'` doubled —
//! when it could otherwise be misread. [`quote_sheet_title`] produces the same form the API itself
//! returns in `range` / `updatedRange`, so that a range we send and the range Google reports back are
//! the same string (checked against recorded traffic in the tests below).
//!
//! The `a1` crate was considered and not used: its parser slices the input at a *character* index
//! (it mis-handles `'🌵 test 1'!A1`) and its formatter escapes `'` as `\'`, which Sheets does not read.
//!
//! Columns are 0-based here (`0` = `A`), rows are 1-based as in the sheet.

use std::fmt;

/// The largest column Google Sheets can hold is `ZZZ` (18,278 columns), so a column has 1–3 letters.
const MAX_COLUMN_LETTERS: usize = 3;

/// Why a string is not an A1 range; the message quotes the range and says what was wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{range:?} is not an A1 range: {reason}")]
pub struct A1Error {
    /// The text that was given.
    pub range: String,
    /// What was wrong with it.
    pub reason: &'static str,
}

/// One corner of a range: a column, a row, or both (`C`, `5`, `C5`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Corner {
    /// 0-based column (`0` = `A`), or `None` when the corner names a whole row (`5` in `A1:5`).
    pub col: Option<u32>,
    /// 1-based row, or `None` when the corner names a whole column (`F` in `A:F`).
    pub row: Option<u32>,
}

/// A parsed A1 range. [`fmt::Display`] writes it back in the API's own form, so a range returned by
/// the API (`'🌵 test 1'!A1:A10`, `'D3'!A1:D4`, `Sheet1!A1`) formats to exactly the same string.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ParsedRange {
    /// The sheet's title with quotes removed and `''` undone (`It's 🌵`), or `None` when the range
    /// names no sheet (the API then uses the first visible sheet).
    pub sheet_title: Option<String>,
    /// The top-left corner, or `None` when the range is a whole sheet (`'D3'`).
    pub start: Option<Corner>,
    /// The bottom-right corner, or `None` for a single cell (`A1`) or a whole sheet.
    pub end: Option<Corner>,
}

impl ParsedRange {
    /// First row (1-based), or `None` when the range is unbounded at the top (`A:F`, whole sheet).
    pub fn first_row(&self) -> Option<u32> {
        self.start.and_then(|c| c.row)
    }

    /// Last row (1-based, inclusive); for a single cell, its row.
    pub fn last_row(&self) -> Option<u32> {
        self.end.or(self.start).and_then(|c| c.row)
    }

    /// First column (0-based), or `None` when the range is unbounded on the left.
    pub fn first_col(&self) -> Option<u32> {
        self.start.and_then(|c| c.col)
    }

    /// Last column (0-based, inclusive); for a single cell, its column.
    pub fn last_col(&self) -> Option<u32> {
        self.end.or(self.start).and_then(|c| c.col)
    }
}

impl fmt::Display for ParsedRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(title) = &self.sheet_title {
            f.write_str(&quote_sheet_title(title))?;
            if self.start.is_some() {
                f.write_str("!")?;
            }
        }
        if let Some(start) = self.start {
            write_corner(f, start)?;
            if let Some(end) = self.end {
                f.write_str(":")?;
                write_corner(f, end)?;
            }
        }
        Ok(())
    }
}

fn write_corner(f: &mut fmt::Formatter<'_>, corner: Corner) -> fmt::Result {
    if let Some(col) = corner.col {
        f.write_str(&column_letters(col))?;
    }
    if let Some(row) = corner.row {
        write!(f, "{row}")?;
    }
    Ok(())
}

/// The letters of a 0-based column: `0` → `A`, `25` → `Z`, `26` → `AA`, `18277` → `ZZZ`.
pub fn column_letters(col: u32) -> String {
    let mut n = u64::from(col) + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        letters.push(char::from(b'A' + rem));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// The 0-based column of 1–3 letters (`A` → `0`, `ZZZ` → `18277`), case-insensitive; `None` otherwise.
pub fn column_index(letters: &str) -> Option<u32> {
    if letters.is_empty() || letters.len() > MAX_COLUMN_LETTERS {
        return None;
    }
    let mut n: u32 = 0;
    for b in letters.bytes() {
        if !b.is_ascii_alphabetic() {
            return None;
        }
        n = n * 26 + u32::from(b.to_ascii_uppercase() - b'A') + 1;
    }
    Some(n - 1)
}

/// A sheet title as it must appear before `!` in A1 notation, in the form the API itself returns.
///
/// Bare when the title is plain ASCII `[A-Za-z_][A-Za-z0-9_]*` and cannot be read as something
/// else; otherwise wrapped in `'…'` with every inner `'` doubled. "Something else" is: a cell
/// (`D3`, `FY2024` — 1–3 letters then digits), an R1C1 reference (`R1C1`, `RC`, `R2`, `C7`), or a
/// boolean (`TRUE`, `false`). So `Sheet1` stays bare, while `My sheet`, `🌵 test 1`, `It's`, `2024`,
/// `D3`, `시트1` and the empty string are quoted: `'It''s'`.
///
/// The recorded API traffic shows `Sheet1!A1:B1`, `'D3'!A1:D4` and `'🌵 test_values_get 1'!A1:J10`;
/// the rest of the rule is conservative (quoting a title that would not need it is still valid input,
/// see <https://developers.google.com/workspace/sheets/api/guides/concepts#cell>).
pub fn quote_sheet_title(title: &str) -> String {
    if needs_quotes(title) {
        format!("'{}'", title.replace('\'', "''"))
    } else {
        title.to_owned()
    }
}

fn needs_quotes(title: &str) -> bool {
    let bytes = title.as_bytes();
    let Some(&first) = bytes.first() else {
        return true;
    };
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return true;
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
    {
        return true;
    }
    looks_like_cell(title) || looks_like_r1c1(title) || is_boolean(title)
}

/// `D3`, `ab12`: 1–3 letters then at least one digit and nothing else.
fn looks_like_cell(s: &str) -> bool {
    let letters = s.bytes().take_while(u8::is_ascii_alphabetic).count();
    let rest = &s[letters..];
    (1..=MAX_COLUMN_LETTERS).contains(&letters)
        && !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_digit())
}

/// `R1C1`, `RC`, `R2`, `C7`, `r1c`: R and/or C, each optionally followed by digits.
fn looks_like_r1c1(s: &str) -> bool {
    let mut rest = s.as_bytes();
    let mut seen = false;
    for letter in [b'R', b'C'] {
        if let Some((&first, tail)) = rest.split_first()
            && first.to_ascii_uppercase() == letter
        {
            let digits = tail.iter().take_while(|b| b.is_ascii_digit()).count();
            rest = &tail[digits..];
            seen = true;
        }
    }
    seen && rest.is_empty()
}

fn is_boolean(s: &str) -> bool {
    s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false")
}

fn with_title(title: &str, start: Corner, end: Option<Corner>) -> String {
    ParsedRange {
        sheet_title: Some(title.to_owned()),
        start: Some(start),
        end,
    }
    .to_string()
}

fn cell(col: u32, row: u32) -> Corner {
    Corner {
        col: Some(col),
        row: Some(row),
    }
}

/// One row segment: `row_range("My sheet", 2, 5, 5)` → `'My sheet'!C5:F5`.
///
/// Columns are 0-based (`2` = `C`), `row` is 1-based. A single cell is written as the API writes it
/// (`'T'!F5`, not `F5:F5`), so the range equals the `updatedRange` Google reports back.
/// See <https://developers.google.com/workspace/sheets/api/guides/concepts#cell>.
pub fn row_range(title: &str, first_col: u32, last_col: u32, row: u32) -> String {
    rows_range(title, first_col, last_col, row, row)
}

/// A rectangle: `rows_range("T", 0, 7, 5, 9)` → `T!A5:H9`. Columns 0-based, rows 1-based and
/// inclusive; a single cell collapses to `T!A5`.
/// See <https://developers.google.com/workspace/sheets/api/guides/concepts#cell>.
pub fn rows_range(
    title: &str,
    first_col: u32,
    last_col: u32,
    start_row: u32,
    end_row: u32,
) -> String {
    let start = cell(first_col, start_row);
    let end = cell(last_col, end_row);
    with_title(title, start, (start != end).then_some(end))
}

/// Whole columns: `columns_range("T", 0, 5)` → `T!A:F` (the API answers with the bounded range,
/// e.g. `T!A1:F1000`). Columns are 0-based.
/// See <https://developers.google.com/workspace/sheets/api/guides/concepts#cell>.
pub fn columns_range(title: &str, first_col: u32, last_col: u32) -> String {
    let col = |c| Corner {
        col: Some(c),
        row: None,
    };
    with_title(title, col(first_col), Some(col(last_col)))
}

/// Parses an A1 range such as `'It''s 🌵 D3'!A1:H10`, `Sheet1!A1`, `'D3'`, `T!A:F` or `C5:F5`.
///
/// Accepted: an optional sheet title (quoted with `''` for an inner quote, or bare and free of `!`
/// and `'`), then `!` and a reference made of one or two corners `[letters][digits]`. A quoted title
/// with no `!` is the whole sheet. Absolute references (`$A$1`), R1C1 and named ranges are refused.
///
/// # Errors
/// [`A1Error`] naming the range and what was wrong: unclosed quote, missing `!`, empty reference,
/// a column beyond `ZZZ`, row `0` or beyond `u32`, or stray characters.
/// See <https://developers.google.com/workspace/sheets/api/guides/concepts#cell>.
pub fn parse_range(range: &str) -> Result<ParsedRange, A1Error> {
    let err = |reason| A1Error {
        range: range.to_owned(),
        reason,
    };
    let (sheet_title, reference) = if let Some(quoted) = range.strip_prefix('\'') {
        let (title, rest) = parse_quoted_title(quoted)
            .ok_or_else(|| err("the quoted sheet title is not closed"))?;
        if rest.is_empty() {
            return Ok(ParsedRange {
                sheet_title: Some(title),
                start: None,
                end: None,
            });
        }
        let reference = rest
            .strip_prefix('!')
            .ok_or_else(|| err("expected `!` after the quoted sheet title"))?;
        (Some(title), reference)
    } else if let Some((title, reference)) = range.split_once('!') {
        if title.is_empty() {
            return Err(err("the sheet title before `!` is empty"));
        }
        if title.contains('\'') {
            return Err(err("a sheet title containing `'` must be quoted"));
        }
        (Some(title.to_owned()), reference)
    } else {
        (None, range)
    };
    if reference.is_empty() {
        return Err(err("nothing after `!`"));
    }
    let (start, end) = match reference.split_once(':') {
        Some((a, b)) => (a, Some(b)),
        None => (reference, None),
    };
    let start = parse_corner(start).map_err(err)?;
    let end = end.map(parse_corner).transpose().map_err(err)?;
    if end.is_none() && (start.col.is_none() || start.row.is_none()) {
        return Err(err("a single reference must be a cell such as `A1`"));
    }
    Ok(ParsedRange {
        sheet_title,
        start: Some(start),
        end,
    })
}

/// Reads a quoted title after its opening quote: returns the unquoted title and what follows the
/// closing quote, or `None` when the quote is never closed.
fn parse_quoted_title(s: &str) -> Option<(String, &str)> {
    let mut title = String::new();
    let mut rest = s;
    loop {
        let at = rest.find('\'')?;
        title.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(next) = after.strip_prefix('\'') {
            title.push('\'');
            rest = next;
        } else {
            return Some((title, after));
        }
    }
}

fn parse_corner(s: &str) -> Result<Corner, &'static str> {
    let letters = s.bytes().take_while(u8::is_ascii_alphabetic).count();
    let (col, row) = s.split_at(letters);
    if col.is_empty() && row.is_empty() {
        return Err("a corner of the range is empty");
    }
    if !row.bytes().all(|b| b.is_ascii_digit()) {
        return Err("only plain references such as `A1`, `A:F` or `A1:H10` are accepted");
    }
    let col = if col.is_empty() {
        None
    } else {
        Some(column_index(col).ok_or("a column has more than 3 letters (the last column is ZZZ)")?)
    };
    let row = if row.is_empty() {
        None
    } else {
        let n: u32 = row.parse().map_err(|_| "a row number is too large")?;
        if n == 0 {
            return Err("rows start at 1");
        }
        Some(n)
    };
    Ok(Corner { col, row })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORDED: &str =
        include_str!("../../../fixtures/reference/google-sheets/recorded-values-traffic.json");

    /// Every `range`, `updatedRange`, `tableRange` and `clearedRanges[]` the real API returned.
    fn recorded_ranges() -> Vec<String> {
        fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(map) => {
                    for (k, v) in map {
                        match (k.as_str(), v) {
                            (
                                "range" | "updatedRange" | "tableRange",
                                serde_json::Value::String(s),
                            ) => out.push(s.clone()),
                            ("clearedRanges", serde_json::Value::Array(items)) => out
                                .extend(items.iter().filter_map(|i| i.as_str().map(str::to_owned))),
                            _ => walk(v, out),
                        }
                    }
                }
                serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
                _ => {}
            }
        }
        let calls: serde_json::Value = serde_json::from_str(RECORDED).unwrap();
        let mut out = Vec::new();
        for call in calls.as_array().unwrap() {
            walk(&call["response_body"], &mut out);
        }
        out
    }

    #[test]
    fn every_range_returned_by_the_real_api_parses_and_formats_back_to_the_same_string() {
        let ranges = recorded_ranges();
        assert!(
            ranges.len() >= 30,
            "expected the recorded traffic, got {ranges:?}"
        );
        for range in &ranges {
            let parsed = parse_range(range).unwrap_or_else(|e| panic!("{e}"));
            assert!(parsed.sheet_title.is_some(), "{range} names its sheet");
            assert_eq!(&parsed.to_string(), range);
        }
    }

    #[test]
    fn titles_from_the_recorded_traffic_are_quoted_exactly_as_the_api_quotes_them() {
        let ranges = recorded_ranges();
        for range in &ranges {
            let parsed = parse_range(range).unwrap();
            let title = parsed.sheet_title.as_deref().unwrap();
            let prefix = format!("{}!", quote_sheet_title(title));
            assert!(
                range.starts_with(&prefix),
                "{range} should start with {prefix}"
            );
        }
        // The three kinds of title seen: plain, emoji with spaces, cell-like.
        assert!(ranges.iter().any(|r| r.starts_with("Sheet1!")));
        assert!(
            ranges
                .iter()
                .any(|r| r.starts_with("'🌵 test_values_get 1'!"))
        );
        assert!(ranges.iter().any(|r| r.starts_with("'D3'!")));
    }

    #[test]
    fn ranges_sent_by_the_recorded_client_parse_to_the_same_sheet_and_bounds() {
        let a = parse_range("'Sheet1'!A1:D1").unwrap();
        assert_eq!(a.sheet_title.as_deref(), Some("Sheet1"));
        assert_eq!(a.to_string(), "Sheet1!A1:D1");
        let whole = parse_range("'D3'").unwrap();
        assert_eq!(whole.sheet_title.as_deref(), Some("D3"));
        assert_eq!((whole.start, whole.end), (None, None));
        assert_eq!(whole.to_string(), "'D3'");
        let row_open = parse_range("'Sheet1'!A1:1").unwrap();
        assert_eq!(row_open.last_col(), None);
        assert_eq!(row_open.last_row(), Some(1));
    }

    #[test]
    fn quoting_keeps_plain_titles_bare_and_quotes_everything_that_could_be_misread() {
        for bare in [
            "Sheet1",
            "Events",
            "history_en",
            "_x",
            "ABCD1",
            "Data2024x",
            "Rx",
            "Cats",
        ] {
            assert_eq!(quote_sheet_title(bare), bare, "{bare}");
        }
        for (title, quoted) in [
            ("My sheet", "'My sheet'"),
            ("It's 🌵 D3", "'It''s 🌵 D3'"),
            ("D3", "'D3'"),
            ("fy2024", "'fy2024'"),
            ("ZZZ9", "'ZZZ9'"),
            ("R1C1", "'R1C1'"),
            ("rc", "'rc'"),
            ("C7", "'C7'"),
            ("R", "'R'"),
            ("TRUE", "'TRUE'"),
            ("2024", "'2024'"),
            ("1st", "'1st'"),
            ("시트1", "'시트1'"),
            ("a-b", "'a-b'"),
            ("a.b", "'a.b'"),
            ("''", "''''''"),
            ("", "''"),
        ] {
            assert_eq!(quote_sheet_title(title), quoted, "{title}");
        }
    }

    #[test]
    fn a_title_with_quotes_emoji_and_a_cell_name_round_trips_through_every_builder() {
        let title = "It's 🌵 D3";
        let built = [
            row_range(title, 2, 5, 5),
            rows_range(title, 0, 7, 2, 40),
            columns_range(title, 0, 5),
            row_range(title, 5, 5, 12),
        ];
        assert_eq!(
            built,
            [
                "'It''s 🌵 D3'!C5:F5",
                "'It''s 🌵 D3'!A2:H40",
                "'It''s 🌵 D3'!A:F",
                "'It''s 🌵 D3'!F12",
            ]
        );
        for range in &built {
            let parsed = parse_range(range).unwrap();
            assert_eq!(parsed.sheet_title.as_deref(), Some(title));
            assert_eq!(&parsed.to_string(), range);
        }
        let parsed = parse_range(&built[0]).unwrap();
        assert_eq!(
            (
                parsed.first_col(),
                parsed.last_col(),
                parsed.first_row(),
                parsed.last_row()
            ),
            (Some(2), Some(5), Some(5), Some(5))
        );
        let cols = parse_range(&built[2]).unwrap();
        assert_eq!((cols.first_row(), cols.last_row()), (None, None));
    }

    #[test]
    fn column_letters_and_indexes_are_inverse_up_to_zzz() {
        for (i, s) in [
            (0, "A"),
            (25, "Z"),
            (26, "AA"),
            (701, "ZZ"),
            (702, "AAA"),
            (18277, "ZZZ"),
        ] {
            assert_eq!(column_letters(i), s);
            assert_eq!(column_index(s), Some(i));
        }
        for i in 0..18278 {
            assert_eq!(column_index(&column_letters(i)), Some(i));
        }
        assert_eq!(column_index("AAAA"), None);
        assert_eq!(column_index("a"), Some(0));
    }

    #[test]
    fn malformed_ranges_are_refused_with_a_reason() {
        for bad in [
            "'open!A1",
            "'Sheet1'A1",
            "Sheet1!",
            "!A1",
            "Sheet1!A0",
            "Sheet1!$A$1",
            "Sheet1!AAAA1",
            "Sheet1!A1:",
            "Sheet1!A",
            "It's!A1",
            "Sheet1!A1:B2:C3",
            "Sheet1!A99999999999",
        ] {
            let e = parse_range(bad).expect_err(bad);
            assert!(e.to_string().contains(bad), "{e}");
        }
    }
}
