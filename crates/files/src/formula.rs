//! CSV injection ("formula injection"): a spreadsheet program opening a CSV file runs a cell that
//! starts with `=`, `+`, `-` or `@` as a formula (and one starting with a tab or a carriage return
//! after trimming it), so text from a model or from someone else's sheet could fetch URLs or run
//! commands there. OWASP's rule (<https://owasp.org/www-community/attacks/CSV_Injection>) is
//! applied to every cell the command line brings into a CSV file from outside it — the answers it
//! merges, the cells it pulls from a sheet: such a cell is written with a leading `'`, which
//! spreadsheet programs show as text. Cells already in the user's own file are written back as
//! they were (escaping them would change the user's ids and titles on every run).
//! [`CsvCells::Raw`] (the `--raw-csv` flag) writes every cell as it is.

use std::borrow::Cow;

/// How the cells of a CSV output are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CsvCells {
    /// A cell a spreadsheet program would read as a formula gets a leading `'` (the default).
    #[default]
    Escaped,
    /// Every cell as it is (`--raw-csv`).
    Raw,
}

impl CsvCells {
    /// `cell` as it is written under this rule.
    pub fn apply(self, cell: &str) -> Cow<'_, str> {
        match self {
            CsvCells::Escaped => escape_formula(cell),
            CsvCells::Raw => Cow::Borrowed(cell),
        }
    }
}

/// The characters that make a spreadsheet program read a cell as a formula, at its start.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `cell` with a leading `'` when it starts with one of `=`, `+`, `-`, `@`, tab or carriage
/// return; otherwise unchanged (a cell already starting with `'` is left as it is, so writing a
/// file twice adds nothing).
pub fn escape_formula(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_a_spreadsheet_would_run_get_a_quote_and_others_stay() {
        for (cell, written) in [
            (
                "=HYPERLINK(\"http://evil\",\"x\")",
                "'=HYPERLINK(\"http://evil\",\"x\")",
            ),
            ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
        ] {
            assert_eq!(escape_formula(cell), written, "{cell:?}");
            assert_eq!(CsvCells::Raw.apply(cell), cell);
        }
        for cell in [
            "1969",
            "Apollo 11 = moon",
            " =1",
            "'=1",
            "",
            "한국어",
            "a-b",
        ] {
            assert_eq!(escape_formula(cell), cell, "{cell:?}");
        }
    }
}
