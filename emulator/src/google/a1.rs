//! A1 notation as the Sheets API reads and writes it
//! (<https://developers.google.com/workspace/sheets/api/guides/concepts#cell>).
//!
//! Written here rather than taken from the `a1` crate (1.0.2) because that crate does not cover what
//! Google's API and its clients send: it fails on quoted titles with non-ASCII characters
//! (`'🌵 test 1'!A1:A10` is rejected, it mixes char and byte offsets), cannot parse a bare sheet
//! name (`'D3'`, `Sheet1`), rejects half-open ranges (`A2:H`, `A1:1`), writes `''` escapes back as
//! `\'`, and does not quote titles that look like cells (`D3`).
//!
//! Accepted forms, each with an optional sheet prefix (`Sheet1!`, `'My ''quoted'' sheet'!`,
//! unquoted titles with spaces as gspread sends them): `A1`, `A1:B2`, `A:B`, `1:3`, `A2:H` (to the
//! last row), `A1:1` (to the last column), and a sheet name alone (the whole grid). `$` markers are
//! ignored. R1C1 notation is not supported.

use std::fmt::Write as _;

/// Columns are at most three letters (`ZZZ` is column 18278, the Sheets maximum); this is also what
/// lets `Sheet1` be read as a sheet name rather than as a cell of column `SHEET`.
const MAX_COLUMN_LETTERS: usize = 3;

/// One end of a range: a column, a row, or both (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// 0-based column, `None` for a whole-row reference such as `3` in `1:3`.
    pub col: Option<u32>,
    /// 0-based row, `None` for a whole-column reference such as `B` in `A:B`.
    pub row: Option<u32>,
}

/// The cells part of a range, without the sheet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Area {
    /// First endpoint as written.
    pub start: Endpoint,
    /// Second endpoint, `None` for a single cell such as `B2`.
    pub end: Option<Endpoint>,
}

/// A parsed range: the sheet title if one was given, and the area (`None` = the whole sheet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeRef {
    /// Sheet title, unquoted and unescaped. `None` means the first sheet.
    pub sheet: Option<String>,
    /// Cells. `None` when only a sheet was named.
    pub area: Option<Area>,
}

/// A resolved rectangle, 0-based and inclusive on both ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    /// First row.
    pub r1: u32,
    /// First column.
    pub c1: u32,
    /// Last row (inclusive).
    pub r2: u32,
    /// Last column (inclusive).
    pub c2: u32,
}

impl Rect {
    /// Number of rows.
    pub fn rows(&self) -> u32 {
        self.r2 - self.r1 + 1
    }
    /// Number of columns.
    pub fn cols(&self) -> u32 {
        self.c2 - self.c1 + 1
    }
}

/// Why a range could not be parsed; the Sheets API answers `Unable to parse range: <input>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError;

/// Parses a range in A1 notation.
///
/// # Errors
/// [`ParseError`] when the text is empty, a quote is not closed, or the cell part is not A1.
pub fn parse(input: &str) -> Result<RangeRef, ParseError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(ParseError);
    }
    if let Some(rest) = text.strip_prefix('\'') {
        // Quoted title: '' is an escaped quote; the closing quote is followed by `!` or the end.
        let mut title = String::new();
        let mut chars = rest.char_indices().peekable();
        let mut after: Option<usize> = None;
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if let Some((_, '\'')) = chars.peek() {
                    chars.next();
                    title.push('\'');
                } else {
                    after = Some(i + 1);
                    break;
                }
            } else {
                title.push(c);
            }
        }
        let after = after.ok_or(ParseError)?;
        let tail = &rest[after..];
        if title.is_empty() {
            return Err(ParseError);
        }
        if tail.is_empty() {
            return Ok(RangeRef {
                sheet: Some(title),
                area: None,
            });
        }
        let cells = tail.strip_prefix('!').ok_or(ParseError)?;
        return Ok(RangeRef {
            sheet: Some(title),
            area: Some(parse_area(cells)?),
        });
    }
    if let Some(pos) = text.rfind('!') {
        let (title, cells) = (&text[..pos], &text[pos + 1..]);
        if title.is_empty() {
            return Err(ParseError);
        }
        return Ok(RangeRef {
            sheet: Some(title.to_string()),
            area: Some(parse_area(cells)?),
        });
    }
    match parse_area(text) {
        Ok(area) => Ok(RangeRef {
            sheet: None,
            area: Some(area),
        }),
        Err(_) => Ok(RangeRef {
            sheet: Some(text.to_string()),
            area: None,
        }),
    }
}

fn parse_area(text: &str) -> Result<Area, ParseError> {
    let text = text.trim();
    match text.split_once(':') {
        None => {
            let start = parse_endpoint(text)?;
            if start.col.is_none() || start.row.is_none() {
                return Err(ParseError);
            }
            Ok(Area { start, end: None })
        }
        Some((a, b)) => {
            let start = parse_endpoint(a)?;
            let end = parse_endpoint(b)?;
            let col_only = |e: &Endpoint| e.row.is_none();
            let row_only = |e: &Endpoint| e.col.is_none();
            if (col_only(&start) && row_only(&end)) || (row_only(&start) && col_only(&end)) {
                return Err(ParseError);
            }
            Ok(Area {
                start,
                end: Some(end),
            })
        }
    }
}

fn parse_endpoint(text: &str) -> Result<Endpoint, ParseError> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let skip_dollar = |i: &mut usize| {
        if bytes.get(*i) == Some(&b'$') {
            *i += 1;
        }
    };
    skip_dollar(&mut i);
    let letters_start = i;
    while bytes.get(i).is_some_and(u8::is_ascii_alphabetic) {
        i += 1;
    }
    let letters = text[letters_start..i].to_ascii_uppercase();
    skip_dollar(&mut i);
    let digits_start = i;
    while bytes.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let digits = &text[digits_start..i];
    if i != bytes.len() || (letters.is_empty() && digits.is_empty()) {
        return Err(ParseError);
    }
    if letters.len() > MAX_COLUMN_LETTERS {
        return Err(ParseError);
    }
    let col = (!letters.is_empty()).then(|| column_index(&letters));
    let row = if digits.is_empty() {
        None
    } else {
        let n: u32 = digits.parse().map_err(|_| ParseError)?;
        if n == 0 {
            return Err(ParseError);
        }
        Some(n - 1)
    };
    Ok(Endpoint { col, row })
}

/// 0-based index of column letters (`A` → 0, `Z` → 25, `AA` → 26). Letters must be `A`–`Z`.
pub fn column_index(letters: &str) -> u32 {
    letters
        .bytes()
        .fold(0u32, |acc, b| acc * 26 + u32::from(b - b'A' + 1))
        - 1
}

/// Column letters of a 0-based index (`0` → `A`, `26` → `AA`).
pub fn column_letters(index: u32) -> String {
    let mut n = index + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        out.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// Whether Google writes this title quoted in a returned range: anything but an ASCII identifier
/// (letters, digits, `_`, not starting with a digit), and identifiers that read as a cell (`D3`,
/// `AB12`) or as R1C1 (`R1C1`, `RC`) are quoted. Recorded: `'🌵 test 1'!A1:A10`, `'D3'!A1`,
/// `Sheet1!A1:B2`.
pub fn needs_quotes(title: &str) -> bool {
    let Some(first) = title.chars().next() else {
        return true;
    };
    if first.is_ascii_digit() || !title.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return true;
    }
    if parse_area(title).is_ok() {
        return true;
    }
    let upper = title.to_ascii_uppercase();
    if let Some(rest) = upper.strip_prefix('R') {
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        if let Some(rest) = rest.strip_prefix('C')
            && rest.chars().all(|c| c.is_ascii_digit())
        {
            return true;
        }
    }
    false
}

/// The title as it appears before `!`: quoted with `''` escapes when [`needs_quotes`].
pub fn quote_title(title: &str) -> String {
    if needs_quotes(title) {
        format!("'{}'", title.replace('\'', "''"))
    } else {
        title.to_string()
    }
}

/// `Title!A1` for a single cell, `Title!A1:B2` otherwise.
pub fn format_range(title: &str, rect: Rect) -> String {
    let mut out = quote_title(title);
    out.push('!');
    let _ = write!(out, "{}{}", column_letters(rect.c1), rect.r1 + 1);
    if rect.r1 != rect.r2 || rect.c1 != rect.c2 {
        let _ = write!(out, ":{}{}", column_letters(rect.c2), rect.r2 + 1);
    }
    out
}

impl Area {
    /// Resolves open ends against a grid of `row_count` × `col_count`: a missing start is the first
    /// row/column, a missing end the last; reversed corners are swapped. The result may lie outside
    /// the grid; callers clamp or refuse.
    pub fn resolve(&self, row_count: u32, col_count: u32) -> Rect {
        let last_row = row_count.saturating_sub(1);
        let last_col = col_count.saturating_sub(1);
        let (r1, c1) = (self.start.row.unwrap_or(0), self.start.col.unwrap_or(0));
        let (r2, c2) = match self.end {
            None => (r1, c1),
            Some(end) => (end.row.unwrap_or(last_row), end.col.unwrap_or(last_col)),
        };
        // A row-only start (`1:3`) starts at column A; a column-only start (`A:B`) at row 1.
        Rect {
            r1: r1.min(r2),
            c1: c1.min(c2),
            r2: r1.max(r2),
            c2: c1.max(c2),
        }
    }

    /// A single cell (`B2`): a write anchored here may extend right and down.
    pub fn is_single_cell(&self) -> bool {
        self.end.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(col: u32, row: u32) -> Endpoint {
        Endpoint {
            col: Some(col),
            row: Some(row),
        }
    }

    #[test]
    fn parses_quoted_titles_with_escapes_emoji_and_cell_like_names() {
        let r = parse("'🌵 test 1'!A1:A10").unwrap();
        assert_eq!(r.sheet.as_deref(), Some("🌵 test 1"));
        assert_eq!(
            r.area,
            Some(Area {
                start: cell(0, 0),
                end: Some(cell(0, 9))
            })
        );
        let r = parse("'Bob''s data'!B2").unwrap();
        assert_eq!(r.sheet.as_deref(), Some("Bob's data"));
        assert_eq!(r.area.unwrap().start, cell(1, 1));
        let r = parse("'D3'").unwrap();
        assert_eq!(r.sheet.as_deref(), Some("D3"));
        assert_eq!(r.area, None);
        let r = parse("'D3'!A1:D1").unwrap();
        assert_eq!(r.sheet.as_deref(), Some("D3"));
        let r = parse("'시트 1'!C:F").unwrap();
        assert_eq!(r.sheet.as_deref(), Some("시트 1"));
    }

    #[test]
    fn parses_unquoted_titles_and_bare_ranges() {
        let r = parse("Sheet1").unwrap();
        assert_eq!(r.sheet.as_deref(), Some("Sheet1"));
        assert_eq!(r.area, None);
        let r = parse("🌵 test_values_batch_get 1!A:A").unwrap();
        assert_eq!(r.sheet.as_deref(), Some("🌵 test_values_batch_get 1"));
        let r = parse("A1").unwrap();
        assert_eq!(r.sheet, None);
        assert_eq!(r.area.unwrap().start, cell(0, 0));
        let r = parse("Events!$A$2:$H").unwrap();
        assert_eq!(
            r.area.unwrap(),
            Area {
                start: cell(0, 1),
                end: Some(Endpoint {
                    col: Some(7),
                    row: None
                })
            }
        );
    }

    #[test]
    fn refuses_malformed_ranges() {
        for bad in [
            "",
            "'unterminated!A1",
            "'x'A1",
            "Sheet1!",
            "Sheet1!A0",
            "S!A:1",
            "S!1A",
        ] {
            assert_eq!(parse(bad), Err(ParseError), "{bad:?} should not parse");
        }
        assert!(parse("Sheet1!ABCD1").is_err());
    }

    #[test]
    fn resolves_open_ranges_against_the_grid() {
        let area = |s: &str| parse(s).unwrap().area.unwrap();
        assert_eq!(
            area("A:A").resolve(10, 26),
            Rect {
                r1: 0,
                c1: 0,
                r2: 9,
                c2: 0
            }
        );
        assert_eq!(
            area("A1:1").resolve(1000, 26),
            Rect {
                r1: 0,
                c1: 0,
                r2: 0,
                c2: 25
            }
        );
        assert_eq!(
            area("2:3").resolve(1000, 8),
            Rect {
                r1: 1,
                c1: 0,
                r2: 2,
                c2: 7
            }
        );
        assert_eq!(
            area("C5:A1").resolve(1000, 26),
            Rect {
                r1: 0,
                c1: 0,
                r2: 4,
                c2: 2
            }
        );
    }

    #[test]
    fn formats_ranges_like_the_recorded_traffic() {
        let rect = |r1, c1, r2, c2| Rect { r1, c1, r2, c2 };
        assert_eq!(
            format_range("🌵 test 1", rect(0, 0, 9, 0)),
            "'🌵 test 1'!A1:A10"
        );
        assert_eq!(format_range("D3", rect(0, 0, 0, 0)), "'D3'!A1");
        assert_eq!(format_range("Sheet1", rect(0, 0, 1, 1)), "Sheet1!A1:B2");
        assert_eq!(format_range("Bob's", rect(0, 27, 0, 27)), "'Bob''s'!AB1");
        assert_eq!(format_range("R1C1", rect(0, 0, 0, 0)), "'R1C1'!A1");
        assert_eq!(format_range("2024", rect(0, 0, 0, 0)), "'2024'!A1");
        assert_eq!(format_range("Events", rect(1, 0, 16, 7)), "Events!A2:H17");
        // Round trip through the parser.
        let text = format_range("It's 🌵", rect(2, 3, 4, 5));
        let back = parse(&text).unwrap();
        assert_eq!(back.sheet.as_deref(), Some("It's 🌵"));
        assert_eq!(back.area.unwrap().resolve(1000, 26), rect(2, 3, 4, 5));
    }

    #[test]
    fn column_letters_round_trip() {
        for (i, s) in [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"), (702, "AAA")] {
            assert_eq!(column_letters(i), s);
            assert_eq!(column_index(s), i);
        }
    }
}
