//! The four output columns, one vocabulary for all their names: the column a sheet holds each in
//! (C–F), its header in a sheet or an events file (`content_simple`), its field in the model's
//! answer (`simple`, as the prompt and the answer schema name it) and the description the schema
//! gives the model. Its value in an answer is `Generated::get`.
//!
//! Every place that lists the output columns reads [`OutputField::ALL`] and this one table, so the
//! names cannot drift apart; the answer schema is built from it, byte for byte as before (the
//! prompt module's tests hold it).

use std::sync::LazyLock;

/// One of the four columns the model fills, in column order C, D, E, F.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OutputField {
    /// C `year`: the year the event happened (answer field `year`).
    Year,
    /// D `content_simple`: one or two plain sentences (answer field `simple`).
    Simple,
    /// E `content_detailed`: a detailed paragraph (answer field `detail`).
    Detail,
    /// F `related_movies`: films about the event, comma-separated (answer field
    /// `related_movies`).
    RelatedMovies,
}

/// The names of one output column.
#[derive(Clone, Copy)]
struct FieldNames {
    /// The sheet column's letter.
    column: char,
    /// The header in a sheet's first row and an events file.
    header: &'static str,
    /// The key in the model's answer (the prompt's and the schema's name).
    answer_field: &'static str,
    /// The answer schema's `description` of the field, read by the model.
    description: &'static str,
}

/// The one table of the output columns, in [`OutputField::ALL`]'s order.
const TABLE: [FieldNames; 4] = [
    FieldNames {
        column: 'C',
        header: "year",
        answer_field: "year",
        description: "Year of the event, digits only, minus sign for BCE; empty if unknown.",
    },
    FieldNames {
        column: 'D',
        header: "content_simple",
        answer_field: "simple",
        description: "One or two plain sentences for a general reader.",
    },
    FieldNames {
        column: 'E',
        header: "content_detailed",
        answer_field: "detail",
        description: "One paragraph: background, what happened, why it matters.",
    },
    FieldNames {
        column: 'F',
        header: "related_movies",
        answer_field: "related_movies",
        description: "Films about the event, separated by \", \"; empty string if none.",
    },
];

/// The headers of the output columns, in column order (`year`, `content_simple`,
/// `content_detailed`, `related_movies`).
pub const HEADERS: [&str; 4] = {
    let mut out = [""; 4];
    let mut i = 0;
    while i < TABLE.len() {
        out[i] = TABLE[i].header;
        i += 1;
    }
    out
};

/// The answer's fields, in the order the model writes them (`year`, `simple`, `detail`,
/// `related_movies`).
pub const ANSWER_FIELDS: [&str; 4] = {
    let mut out = [""; 4];
    let mut i = 0;
    while i < TABLE.len() {
        out[i] = TABLE[i].answer_field;
        i += 1;
    }
    out
};

/// `C (year)` … `F (related_movies)`, for messages.
static LABELS: LazyLock<[String; 4]> =
    LazyLock::new(|| OutputField::ALL.map(|f| format!("{} ({})", f.column(), f.header())));

impl OutputField {
    /// Every output column, in column order C, D, E, F (the order the model writes them too).
    pub const ALL: [OutputField; 4] = [
        OutputField::Year,
        OutputField::Simple,
        OutputField::Detail,
        OutputField::RelatedMovies,
    ];

    const fn names(self) -> FieldNames {
        TABLE[self as usize]
    }

    /// Its 0-based position among the output columns (C is 0).
    pub const fn position(self) -> usize {
        self as usize
    }

    /// The sheet column's letter, `C` to `F`.
    pub const fn column(self) -> char {
        self.names().column
    }

    /// The sheet column's 0-based index (C is 2).
    pub const fn column_index(self) -> u32 {
        self.names().column as u32 - 'A' as u32
    }

    /// The header in a sheet's first row and in an events file: `year`, `content_simple`,
    /// `content_detailed`, `related_movies`.
    pub const fn header(self) -> &'static str {
        self.names().header
    }

    /// The key in the model's answer, as the prompt and the answer schema name it: `year`,
    /// `simple`, `detail`, `related_movies`.
    pub const fn answer_field(self) -> &'static str {
        self.names().answer_field
    }

    /// The answer schema's description of the field, for the model.
    pub const fn description(self) -> &'static str {
        self.names().description
    }

    /// `C (year)`, `D (content_simple)`, …: the column for people.
    pub fn label(self) -> &'static str {
        &LABELS[self.position()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_output_columns_are_c_to_f_in_order_with_their_three_names() {
        let columns: String = OutputField::ALL.iter().map(|f| f.column()).collect();
        assert_eq!(columns, "CDEF");
        assert_eq!(
            OutputField::ALL.map(OutputField::column_index),
            [2, 3, 4, 5]
        );
        assert_eq!(
            HEADERS,
            [
                "year",
                "content_simple",
                "content_detailed",
                "related_movies"
            ]
        );
        assert_eq!(
            ANSWER_FIELDS,
            ["year", "simple", "detail", "related_movies"]
        );
        assert_eq!(OutputField::Detail.label(), "E (content_detailed)");
        for (i, f) in OutputField::ALL.into_iter().enumerate() {
            assert_eq!(f.position(), i);
        }
    }
}
