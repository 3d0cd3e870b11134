//! Planning the write of a job's results: which cells of C–F receive which text. Pure — no I/O —
//! so that every rule of "Writing to the sheet" (DESIGN.md) lives here and is tested here:
//!
//! - a row is found by its id in column A *as the sheet is now*, never by the row number seen at
//!   submission (rows may have been inserted, deleted or sorted since);
//! - an id that is missing or appears more than once is reported for that row, never guessed;
//! - a cell of C–F that is not empty is left alone unless the person asked to overwrite;
//! - values are passed through unchanged (the client writes with `valueInputOption=RAW`, so a
//!   leading `=`, `+`, `-` or `@` stays text);
//! - a value longer than Sheets' 50,000 characters per cell fails its row with a reason, instead of
//!   failing the whole write (<https://support.google.com/docs/answer/37603>).
//!
//! The plan's [`CellBlock`]s go to [`SheetsClient::write_blocks`](crate::SheetsClient::write_blocks)
//! in one `values.batchUpdateByDataFilter`
//! (<https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets.values/batchUpdateByDataFilter>),
//! addressed by `sheetId` ([`GridRange`]), so a sheet renamed since it was read is still written.

use std::collections::HashMap;
use std::fmt;

use almanac_core::domain::{Generated, RowId, SheetRow};
use almanac_core::output::OutputField;
use almanac_core::state::FailureCode;

use crate::grid::GridRange;
use crate::layout::{FIRST_OUTPUT_COL, ID_COL, OUTPUT_COLS};

/// Most characters Google Sheets accepts in one cell.
pub const MAX_CELL_CHARS: usize = 50_000;

/// A horizontal run of cells in one row and the text for each, left to right.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CellBlock {
    /// The cells: one row of the sheet, by `sheetId`.
    pub range: GridRange,
    /// One value per cell of `range`, left to right; written as given.
    pub values: Vec<String>,
}

/// Why nothing was written for one result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteProblem {
    /// No row of column A holds the id any more (deleted, or the id was edited).
    IdMissing,
    /// Several rows hold the id; `rows` are their 1-based row numbers, ascending.
    IdDuplicated {
        /// The rows where the id appears, ascending.
        rows: Vec<u32>,
    },
    /// Every cell of C–F in the row is already filled and overwrite was not asked.
    NothingToWrite,
    /// A generated value is longer than a cell holds ([`MAX_CELL_CHARS`]).
    CellTooLong {
        /// The column, e.g. `E (content_detailed)`.
        column: &'static str,
        /// The value's length in characters.
        chars: usize,
    },
}

impl WriteProblem {
    /// The row's failure code, for the problems that fail it (`None` for
    /// [`WriteProblem::NothingToWrite`], which skips it).
    pub fn failure_code(&self) -> Option<FailureCode> {
        match self {
            WriteProblem::IdMissing => Some(FailureCode::IdNotInSheet),
            WriteProblem::IdDuplicated { .. } => Some(FailureCode::IdDuplicatedInSheet),
            WriteProblem::CellTooLong { .. } => Some(FailureCode::ValueTooLong),
            WriteProblem::NothingToWrite => None,
        }
    }

    /// The sentence for people, naming the id: "id 04-01 appears in rows 5 and 9; nothing was
    /// written: make the ids unique and retry".
    pub fn message(&self, id: &RowId) -> String {
        format!("id {id} {}", self.predicate())
    }

    /// The sentence after its subject ("is no longer in column A; …").
    fn predicate(&self) -> String {
        match self {
            WriteProblem::IdMissing => {
                "is no longer in column A; it may have been deleted or changed — nothing was written"
                    .to_owned()
            }
            WriteProblem::IdDuplicated { rows } => {
                let list = match rows.as_slice() {
                    [] => String::new(),
                    [one] => one.to_string(),
                    [init @ .., last] => {
                        let init: Vec<String> = init.iter().map(u32::to_string).collect();
                        format!("{} and {last}", init.join(", "))
                    }
                };
                format!("appears in rows {list}; nothing was written: make the ids unique and retry")
            }
            WriteProblem::NothingToWrite => {
                "already has C–F filled; nothing was written (ask to overwrite to replace them)"
                    .to_owned()
            }
            WriteProblem::CellTooLong { column, chars } => format!(
                "got {chars} characters for column {column}, more than the {MAX_CELL_CHARS} a Google Sheets cell holds; nothing was written for this row: retry it, or ask for shorter content"
            ),
        }
    }
}

/// The sentence for a row's status, with "this id" as subject ("this id appears in rows 5 and 9;
/// nothing was written: make the ids unique and retry"); [`WriteProblem::message`] names the id.
impl fmt::Display for WriteProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "this id {}", self.predicate())
    }
}

/// Where one result goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedRow {
    /// The row's id (column A).
    pub id: RowId,
    /// The 1-based row where the id is now.
    pub row_number: u32,
    /// The ranges written for this row (one per block), in column order.
    pub ranges: Vec<GridRange>,
    /// Cells of C–F that were not empty and are left as they are (0 when overwriting).
    pub kept_cells: usize,
}

/// The whole write of a job: blocks for one `values.batchUpdate`, where each result goes, and the
/// results that are not written with the reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WritePlan {
    /// Every block to write, in the order of the results.
    pub blocks: Vec<CellBlock>,
    /// One entry per result that has at least one block, in the order of the results.
    pub rows: Vec<PlannedRow>,
    /// One entry per result that is not written, in the order of the results.
    pub problems: Vec<(RowId, WriteProblem)>,
}

/// Which of C, D, E, F hold something other than blanks (`[year, simple, detail, related_movies]`).
/// A cell beyond the end of `row.cells` (the API trims trailing blanks) counts as empty.
pub fn filled_columns(row: &SheetRow) -> [bool; OUTPUT_COLS] {
    std::array::from_fn(|i| {
        row.cells
            .get(FIRST_OUTPUT_COL as usize + i)
            .is_some_and(|c| !c.trim().is_empty())
    })
}

/// Keeps of each row what planning a write reads — the id (A) and C–F — so that a large sheet's
/// read costs little while its answers are written: B's title is emptied, trailing empty cells
/// are cut (a missing cell reads as empty, as the API's own trimmed rows do) and the cell list is
/// shrunk to fit. A 50,000-row sheet whose C–F are empty goes from about 19 MiB to about 4 MiB.
/// The rows are then no longer padded to the columns read.
pub fn keep_write_columns(rows: &mut [SheetRow]) {
    for row in rows {
        if let Some(title) = row.cells.get_mut(ID_COL as usize + 1) {
            *title = String::new();
        }
        while row.cells.len() > 1 && row.cells.last().is_some_and(|c| c.is_empty()) {
            row.cells.pop();
        }
        row.cells.shrink_to_fit();
    }
}

/// Plans where each result is written.
///
/// - `sheet_id`: the sheet's `sheetId`, which every block addresses.
/// - `current`: column A–F as read now by
///   [`SheetsClient::read_ids_and_outputs`](crate::SheetsClient::read_ids_and_outputs); ids are
///   compared after trimming, exactly (case-sensitive).
/// - `results`: the generated content per id. When an id occurs more than once here, only its first
///   occurrence is planned (outputs are matched by `custom_id` upstream, so this should not happen).
/// - `overwrite`: `false` writes only contiguous runs of empty cells of C–F (C and D filled →
///   one block `E{r}:F{r}`); `true` writes the whole `C{r}:F{r}`.
///
/// Runs in time linear in `current.len() + results.len()`. To plan a large job a request at a
/// time, index the sheet once ([`SheetIndex::new`]) and call [`plan_with_index`] per part.
pub fn plan_writes(
    sheet_id: i32,
    current: &[SheetRow],
    results: &[(RowId, Generated)],
    overwrite: bool,
) -> WritePlan {
    plan_with_index(sheet_id, &SheetIndex::new(current), results, overwrite)
}

/// [`plan_writes`] against a sheet indexed once: the same rules, in time linear in
/// `results.len()`. Duplicates among `results` are found within this call only.
pub fn plan_with_index(
    sheet_id: i32,
    index: &SheetIndex<'_>,
    results: &[(RowId, Generated)],
    overwrite: bool,
) -> WritePlan {
    let mut plan = WritePlan::default();
    let mut seen: HashMap<&str, ()> = HashMap::with_capacity(results.len());
    for (id, generated) in results {
        if seen.insert(id.as_str(), ()).is_some() {
            continue;
        }
        // A value too long for its cell fails the row before its id is looked up.
        let row = match too_long_cell(generated) {
            Some(problem) => Err(problem),
            None => index.find(id),
        };
        match row {
            Ok(row) => plan_row(&mut plan, sheet_id, id, generated, row, overwrite),
            Err(problem) => plan.problems.push((id.clone(), problem)),
        }
    }
    plan
}

/// Column A–F of a sheet as read, indexed by id: the rows holding each (trimmed, non-empty) id
/// of column A. Built once per read (linear in the rows); borrowed by every
/// [`plan_with_index`] of the write.
#[derive(Debug)]
pub struct SheetIndex<'a> {
    current: &'a [SheetRow],
    rows_by_id: HashMap<&'a str, Vec<usize>>,
}

impl<'a> SheetIndex<'a> {
    /// Indexes `current` (as read by
    /// [`SheetsClient::read_ids_and_outputs`](crate::SheetsClient::read_ids_and_outputs)).
    pub fn new(current: &'a [SheetRow]) -> SheetIndex<'a> {
        let mut rows_by_id: HashMap<&str, Vec<usize>> = HashMap::with_capacity(current.len());
        for (i, row) in current.iter().enumerate() {
            let Some(id) = row.cells.get(ID_COL as usize).map(|c| c.trim()) else {
                continue;
            };
            if !id.is_empty() {
                rows_by_id.entry(id).or_default().push(i);
            }
        }
        SheetIndex {
            current,
            rows_by_id,
        }
    }

    /// The one row that holds `id` now.
    ///
    /// # Errors
    /// [`WriteProblem::IdMissing`] when no row does, [`WriteProblem::IdDuplicated`] (row
    /// numbers ascending) when several do.
    pub fn find(&self, id: &RowId) -> Result<&'a SheetRow, WriteProblem> {
        match self.rows_by_id.get(id.as_str()).map(Vec::as_slice) {
            None | Some([]) => Err(WriteProblem::IdMissing),
            Some([one]) => Ok(&self.current[*one]),
            Some(many) => {
                let mut rows: Vec<u32> = many.iter().map(|&i| self.current[i].row_number).collect();
                rows.sort_unstable();
                Err(WriteProblem::IdDuplicated { rows })
            }
        }
    }
}

/// [`WriteProblem::CellTooLong`] for the first of C–F whose value is longer than a cell holds.
fn too_long_cell(generated: &Generated) -> Option<WriteProblem> {
    OutputField::ALL
        .into_iter()
        .map(|field| (generated.get(field).chars().count(), field.label()))
        .find(|(chars, _)| *chars > MAX_CELL_CHARS)
        .map(|(chars, column)| WriteProblem::CellTooLong { column, chars })
}

/// The runs of columns (`start..end`, indices into C–F, left to right) that are not `filled`.
fn empty_runs(filled: &[bool; OUTPUT_COLS]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut col = 0;
    while col < OUTPUT_COLS {
        if filled[col] {
            col += 1;
            continue;
        }
        let start = col;
        while col < OUTPUT_COLS && !filled[col] {
            col += 1;
        }
        runs.push(start..col);
    }
    runs
}

/// Adds to `plan` the blocks of one result written to `row` (its empty cells of C–F, or all four
/// when overwriting), and the row — or [`WriteProblem::NothingToWrite`] when every cell is kept.
fn plan_row(
    plan: &mut WritePlan,
    sheet_id: i32,
    id: &RowId,
    generated: &Generated,
    row: &SheetRow,
    overwrite: bool,
) {
    let filled = if overwrite {
        [false; OUTPUT_COLS]
    } else {
        filled_columns(row)
    };
    let values = generated.columns();
    let mut ranges = Vec::new();
    for run in empty_runs(&filled) {
        let range = GridRange::rows(
            sheet_id,
            row.row_number,
            row.row_number,
            FIRST_OUTPUT_COL + run.start as u32,
            FIRST_OUTPUT_COL + run.end as u32 - 1,
        );
        ranges.push(range);
        plan.blocks.push(CellBlock {
            range,
            values: values[run].iter().map(|v| (*v).to_owned()).collect(),
        });
    }
    if ranges.is_empty() {
        plan.problems
            .push((id.clone(), WriteProblem::NothingToWrite));
    } else {
        plan.rows.push(PlannedRow {
            id: id.clone(),
            row_number: row.row_number,
            ranges,
            kept_cells: filled.iter().filter(|f| **f).count(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sheet every test plans for.
    const SHEET: i32 = 0;

    /// A row segment of [`SHEET`] from A1 notation (the title is ignored): `grid("T!C4:F4")`.
    fn grid(a1: &str) -> GridRange {
        let parsed = crate::a1::parse_range(a1).unwrap();
        GridRange::rows(
            SHEET,
            parsed.first_row().unwrap(),
            parsed.last_row().unwrap(),
            parsed.first_col().unwrap(),
            parsed.last_col().unwrap(),
        )
    }

    fn id(s: &str) -> RowId {
        RowId::parse(s).unwrap()
    }

    fn row(row_number: u32, cells: &[&str]) -> SheetRow {
        SheetRow {
            row_number,
            cells: cells.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    fn generated(tag: &str) -> Generated {
        Generated {
            year: format!("{tag}-year"),
            simple: format!("{tag}-simple"),
            detail: format!("{tag}-detail"),
            related_movies: format!("{tag}-movies"),
        }
    }

    fn header() -> SheetRow {
        row(
            1,
            &[
                "id",
                "title",
                "year",
                "content_simple",
                "content_detailed",
                "related_movies",
            ],
        )
    }

    #[test]
    fn a_sheet_kept_to_its_write_columns_plans_exactly_as_the_whole_read() {
        let whole = vec![
            header(),
            row(2, &["a", "Title a", "", "", "", ""]),
            row(3, &["b", "Title b", "1990", "", "typed", ""]),
            row(4, &["c", "Title c", "1", "2", "3", "4"]),
            row(5, &["d", "Title d", "", "", "", "kept"]),
            row(6, &["d", "Title d again", "", "", "", ""]),
            row(7, &["", "no id", "", "", "", ""]),
        ];
        let mut kept = whole.clone();
        keep_write_columns(&mut kept);
        assert_eq!(kept[1].cells, ["a"]);
        assert_eq!(kept[2].cells, ["b", "", "1990", "", "typed"]);
        assert_eq!(kept[4].cells, ["d", "", "", "", "", "kept"]);
        assert_eq!(kept[6].cells, [""]);
        let results: Vec<(RowId, Generated)> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|t| (id(t), generated(t)))
            .collect();
        for overwrite in [false, true] {
            assert_eq!(
                plan_writes(SHEET, &kept, &results, overwrite),
                plan_writes(SHEET, &whole, &results, overwrite),
            );
        }
    }

    #[test]
    fn a_row_moved_down_by_an_insertion_above_is_written_at_its_new_row() {
        // At submission 04-01 was row 2; two rows were inserted above it since.
        let current = vec![
            header(),
            row(2, &["new-1", "Inserted"]),
            row(3, &["new-2", "Inserted"]),
            row(4, &["04-01", "Moon landing"]),
        ];
        let plan = plan_writes(SHEET, &current, &[(id("04-01"), generated("a"))], false);
        assert_eq!(plan.problems, vec![]);
        assert_eq!(
            plan.blocks,
            vec![CellBlock {
                range: grid("Events!C4:F4"),
                values: vec![
                    "a-year".into(),
                    "a-simple".into(),
                    "a-detail".into(),
                    "a-movies".into()
                ],
            }]
        );
        assert_eq!(
            plan.rows,
            vec![PlannedRow {
                id: id("04-01"),
                row_number: 4,
                ranges: vec![grid("Events!C4:F4")],
                kept_cells: 0
            }]
        );
    }

    #[test]
    fn a_missing_id_is_reported_and_nothing_is_written_for_it() {
        let current = vec![header(), row(2, &["04-02", "Other"])];
        let plan = plan_writes(SHEET, &current, &[(id("04-01"), generated("a"))], false);
        assert!(plan.blocks.is_empty());
        assert!(plan.rows.is_empty());
        assert_eq!(plan.problems, vec![(id("04-01"), WriteProblem::IdMissing)]);
        assert_eq!(
            WriteProblem::IdMissing.message(&id("04-01")),
            "id 04-01 is no longer in column A; it may have been deleted or changed — nothing was written"
        );
    }

    #[test]
    fn a_duplicated_id_is_reported_with_its_rows_and_nothing_is_written_for_it() {
        let current = vec![
            header(),
            row(9, &[" 04-01 ", "Copy"]),
            row(5, &["04-01", "Original"]),
            row(6, &["04-02", "Fine"]),
        ];
        let results = [(id("04-01"), generated("a")), (id("04-02"), generated("b"))];
        let plan = plan_writes(SHEET, &current, &results, true);
        assert_eq!(
            plan.problems,
            vec![(id("04-01"), WriteProblem::IdDuplicated { rows: vec![5, 9] })]
        );
        assert_eq!(plan.blocks.len(), 1);
        assert_eq!(plan.blocks[0].range, grid("Events!C6:F6"));
        assert_eq!(
            plan.problems[0].1.message(&id("04-01")),
            "id 04-01 appears in rows 5 and 9; nothing was written: make the ids unique and retry"
        );
        assert_eq!(
            WriteProblem::IdDuplicated {
                rows: vec![2, 3, 4]
            }
            .to_string(),
            "this id appears in rows 2, 3 and 4; nothing was written: make the ids unique and retry"
        );
    }

    #[test]
    fn ids_are_compared_exactly_after_trimming() {
        let current = vec![row(2, &["Ab-1 ", "x"]), row(3, &["ab-1", "y"])];
        let plan = plan_writes(SHEET, &current, &[(id("ab-1"), generated("a"))], false);
        assert_eq!(plan.rows[0].row_number, 3);
        let plan = plan_writes(SHEET, &current, &[(id("Ab-1"), generated("a"))], false);
        assert_eq!(plan.rows[0].row_number, 2);
    }

    #[test]
    fn filled_cells_are_kept_and_only_runs_of_empty_cells_become_blocks() {
        let current = vec![
            // C and D filled by a person: one block E:F.
            row(7, &["08-15", "Liberation", "1945", "typed by hand"]),
            // D filled, C/E/F empty (F beyond the ragged end): blocks C and E:F.
            row(8, &["08-16", "x", "", "kept", "  ", ""]),
            // Only whitespace in C–F counts as empty.
            row(9, &["08-17", "x", " ", "\t"]),
        ];
        let results = [
            (id("08-15"), generated("a")),
            (id("08-16"), generated("b")),
            (id("08-17"), generated("c")),
        ];
        let plan = plan_writes(SHEET, &current, &results, false);
        assert_eq!(plan.problems, vec![]);
        assert_eq!(
            plan.blocks,
            vec![
                CellBlock {
                    range: grid("'My sheet'!E7:F7"),
                    values: vec!["a-detail".into(), "a-movies".into()]
                },
                CellBlock {
                    range: grid("'My sheet'!C8"),
                    values: vec!["b-year".into()]
                },
                CellBlock {
                    range: grid("'My sheet'!E8:F8"),
                    values: vec!["b-detail".into(), "b-movies".into()]
                },
                CellBlock {
                    range: grid("'My sheet'!C9:F9"),
                    values: vec![
                        "c-year".into(),
                        "c-simple".into(),
                        "c-detail".into(),
                        "c-movies".into()
                    ]
                },
            ]
        );
        assert_eq!(plan.rows[0].kept_cells, 2);
        assert_eq!(plan.rows[1].kept_cells, 1);
        assert_eq!(
            plan.rows[1].ranges,
            vec![grid("'My sheet'!C8"), grid("'My sheet'!E8:F8")]
        );
        assert_eq!(plan.rows[2].kept_cells, 0);
    }

    #[test]
    fn a_fully_filled_row_is_reported_as_nothing_to_write_unless_overwriting() {
        let current = vec![row(
            3,
            &["1", "t", "c", "d", "e", "f", "G stays", "H stays"],
        )];
        let results = [(id("1"), generated("a"))];
        let plan = plan_writes(SHEET, &current, &results, false);
        assert!(plan.blocks.is_empty());
        assert_eq!(plan.problems, vec![(id("1"), WriteProblem::NothingToWrite)]);

        let plan = plan_writes(SHEET, &current, &results, true);
        assert_eq!(plan.problems, vec![]);
        assert_eq!(
            plan.blocks,
            vec![CellBlock {
                range: grid("T!C3:F3"),
                values: vec![
                    "a-year".into(),
                    "a-simple".into(),
                    "a-detail".into(),
                    "a-movies".into()
                ]
            }]
        );
        assert_eq!(plan.rows[0].kept_cells, 0);
    }

    #[test]
    fn overwriting_writes_the_whole_c_to_f_block_even_over_a_partly_filled_row() {
        let current = vec![row(4, &["x", "t", "", "typed", "", "typed"])];
        let plan = plan_writes(SHEET, &current, &[(id("x"), generated("a"))], true);
        assert_eq!(plan.blocks.len(), 1);
        assert_eq!(plan.blocks[0].range, grid("T!C4:F4"));
    }

    #[test]
    fn values_starting_with_equals_are_passed_through_unchanged() {
        let current = vec![row(2, &["f1", "Formula-looking"])];
        let g = Generated {
            year: "=SUM(1,2)".into(),
            simple: "'quoted".into(),
            detail: "+1".into(),
            related_movies: String::new(),
        };
        let plan = plan_writes(SHEET, &current, &[(id("f1"), g)], false);
        assert_eq!(
            plan.blocks[0].values,
            vec!["=SUM(1,2)", "'quoted", "+1", ""]
        );
    }

    #[test]
    fn a_result_given_twice_is_planned_once() {
        let current = vec![row(2, &["a", "t"])];
        let plan = plan_writes(
            SHEET,
            &current,
            &[
                (id("a"), generated("first")),
                (id("a"), generated("second")),
            ],
            false,
        );
        assert_eq!(plan.blocks.len(), 1);
        assert_eq!(plan.blocks[0].values[0], "first-year");
    }

    #[test]
    fn filled_columns_reports_c_to_f_and_treats_missing_cells_as_empty() {
        assert_eq!(filled_columns(&row(2, &["a", "b"])), [false; 4]);
        assert_eq!(
            filled_columns(&row(2, &["a", "b", "1945", " ", "x"])),
            [true, false, true, false]
        );
        assert_eq!(
            filled_columns(&row(2, &["", "", "c", "d", "e", "f", "g", "h"])),
            [true; 4]
        );
    }

    #[test]
    fn fifty_thousand_results_against_a_shuffled_sheet_are_planned_quickly_and_exactly() {
        const N: u32 = 50_000;
        // The sheet is the reverse of the submission order, with every 10th row partly filled,
        // one id deleted and one id duplicated.
        let mut current = vec![header()];
        for k in 0..N {
            let n = N - 1 - k;
            let row_number = k + 2;
            let idc = format!("ev-{n}");
            if n == 123 {
                continue;
            }
            let cells = if n.is_multiple_of(10) {
                vec![idc, "t".into(), "1900".into()]
            } else {
                vec![idc, "t".into()]
            };
            current.push(SheetRow { row_number, cells });
        }
        current.push(row(N + 2, &["ev-777", "dup"]));
        let results: Vec<(RowId, Generated)> = (0..N)
            .map(|n| (id(&format!("ev-{n}")), generated("x")))
            .collect();

        // Speed is the pipeline benchmark's to measure (`cargo bench -p almanac-tests --bench
        // pipeline`); this checks what 50,000 rows come to.
        let plan = plan_writes(SHEET, &current, &results, false);
        assert_eq!(plan.problems.len(), 2);
        assert!(
            plan.problems
                .contains(&(id("ev-123"), WriteProblem::IdMissing))
        );
        assert!(plan.problems.contains(&(
            id("ev-777"),
            WriteProblem::IdDuplicated {
                rows: vec![N - 777 + 1, N + 2]
            }
        )));
        assert_eq!(plan.rows.len(), N as usize - 2);
        assert_eq!(plan.blocks.len(), N as usize - 2);
        let first = &plan.rows[0];
        assert_eq!((first.id.as_str(), first.row_number), ("ev-0", N + 1));
        assert_eq!(
            first.ranges,
            vec![grid(&format!("Events!D{}:F{}", N + 1, N + 1))]
        );
        assert_eq!(first.kept_cells, 1);
        let second = &plan.rows[1];
        assert_eq!(second.ranges, vec![grid(&format!("Events!C{0}:F{0}", N))]);
    }

    #[test]
    fn a_value_longer_than_a_cell_holds_fails_its_row_and_the_others_are_written() {
        let current = vec![
            SheetRow {
                row_number: 2,
                cells: vec!["a".into(), "A".into()],
            },
            SheetRow {
                row_number: 3,
                cells: vec!["b".into(), "B".into()],
            },
        ];
        let long = Generated {
            year: "1999".into(),
            simple: "short".into(),
            detail: "가".repeat(MAX_CELL_CHARS + 1),
            related_movies: String::new(),
        };
        let fits = Generated {
            detail: "x".repeat(MAX_CELL_CHARS),
            ..long.clone()
        };
        let plan = plan_writes(SHEET, &current, &[(id("a"), long), (id("b"), fits)], false);
        assert_eq!(plan.rows.len(), 1);
        assert_eq!(plan.rows[0].id, id("b"));
        assert_eq!(
            plan.problems,
            vec![(
                id("a"),
                WriteProblem::CellTooLong {
                    column: "E (content_detailed)",
                    chars: MAX_CELL_CHARS + 1
                }
            )]
        );
        assert!(plan.problems[0].1.to_string().contains("50000"));
    }
}
