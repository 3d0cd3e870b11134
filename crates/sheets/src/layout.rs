//! The sheet's layout, as 0-based column indexes: A `id`, B `title` (filled by people); C `year`,
//! D `content_simple`, E `content_detailed`, F `related_movies` (filled by the model, the columns of
//! `almanac_core::output::OutputField`); G `imageUrl`, H `relatedMovieId` (read, never written).

use almanac_core::output::OutputField;

/// Column A (0-based index): the row's id.
pub const ID_COL: u32 = 0;
/// Column B (0-based index): the event's title.
pub const TITLE_COL: u32 = 1;
/// Column C (0-based index): the first column the model fills (`year`).
pub const FIRST_OUTPUT_COL: u32 = OutputField::ALL[0].column_index();
/// Column F (0-based index): the last column the model fills (`related_movies`).
pub const LAST_OUTPUT_COL: u32 = OutputField::ALL[OUTPUT_COLS - 1].column_index();
/// How many columns the model fills: C, D, E, F.
pub const OUTPUT_COLS: usize = OutputField::ALL.len();
/// Column H (0-based index): the last column read at submission (G `imageUrl`, H `relatedMovieId`
/// are read so that callers can see them, and never written).
pub const LAST_READ_COL: u32 = 7;
