//! Reading an events file as a stream, holding one row at a time: the bytes are checked as they
//! are read (UTF-16 and NUL bytes at the start, UTF-8 throughout, a UTF-8 byte-order mark
//! dropped), CSV records come from the `csv` crate over the file, and the seed's JSON from
//! `serde_json` reading the file through a visitor that hands over one entry at a time (its line
//! counted from the bytes the parser has taken; `json`). The bytes come through `source`. Every problem is a [`FileError`] at its
//! `path:line`, in the words of the whole-file reader it replaces.
//!
//! Unique ids are checked in constant memory (`ids::IdFilter`): when the filter has suspects, a
//! second pass over the file reads only ids and reports the first id used twice, as a reader of
//! the whole file would. A caller therefore sees every row before it learns that a later one
//! repeats an id: it must do nothing irreversible until [`scan`] has returned `Ok`.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use almanac_core::output::HEADERS;

use crate::ids::IdFilter;
use crate::json::scan_json;
use crate::source::{Each, Raw, Scanned, Source, file_error_in};
use crate::types::{FileError, FileRow, Format, err};

/// Reads `source` in `format`, handing every row to `each` in file order, then checks that no id
/// is used twice (see the module documentation).
///
/// # Errors
/// The first problem of the file, or the first error of `each`.
pub(crate) fn scan(
    source: Source<'_>,
    format: Format,
    each: &mut Each<'_>,
) -> Result<Scanned, FileError> {
    let mut filter = IdFilter::new();
    let scanned = scan_once(source, format, &mut |raw, row| {
        if !row.id.is_empty() {
            filter.insert(&row.id);
        }
        each(raw, row)
    })?;
    let suspects = filter.into_suspects();
    if !suspects.is_empty() {
        unique(source, format, &suspects)?;
    }
    Ok(scanned)
}

/// The second pass: the first row whose id (one of `suspects`) an earlier row has.
fn unique(source: Source<'_>, format: Format, suspects: &HashSet<String>) -> Result<(), FileError> {
    let mut first: HashMap<String, u64> = HashMap::new();
    let path = source.path().to_owned();
    scan_once(source, format, &mut |_, row| {
        if !suspects.contains(&row.id) {
            return Ok(());
        }
        match first.get(&row.id) {
            Some(line) => Err(err(
                &path,
                Some(row.line),
                format!(
                    "id `{}` is used again (first on line {line}): answers are matched to rows by id, so every id must be unique",
                    row.id
                ),
            )),
            None => {
                first.insert(row.id, row.line);
                Ok(())
            }
        }
    })
    .map(|_| ())
}

fn scan_once(
    source: Source<'_>,
    format: Format,
    each: &mut Each<'_>,
) -> Result<Scanned, FileError> {
    let path = source.path();
    let (input, bom) = source.open()?;
    match format {
        Format::Csv => {
            let (headers, rows) = scan_csv(path, input, each)?;
            Ok(Scanned {
                rows,
                bom,
                headers: Some(headers),
                keyed: false,
            })
        }
        Format::Json => {
            let (keyed, rows) = scan_json(path, input, each)?;
            Ok(Scanned {
                rows,
                bom,
                headers: None,
                keyed,
            })
        }
    }
}

/// The index of the column named `name` (any case, trimmed).
pub(crate) fn column(headers: &[String], name: &str) -> Option<usize> {
    headers
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case(name))
}

fn csv_error(path: &Path, e: &csv::Error) -> FileError {
    if let csv::ErrorKind::Io(io) = e.kind()
        && let Some(inner) = file_error_in(io)
    {
        return inner;
    }
    let line = e.position().map(|p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "this record has {len} fields but the header has {expected_len}: quote values that contain commas (\"a, b\") and check for a missing or extra comma"
        ),
        _ => format!("malformed CSV: {e}"),
    };
    err(path, line, message)
}

/// Refuses a header row that is empty or lacks `id` or `title`.
fn check_headers(path: &Path, headers: &[String]) -> Result<(), FileError> {
    if headers.iter().all(String::is_empty) {
        return Err(err(
            path,
            Some(1),
            "the file is empty: the first line must be a header row such as `id,title,year,content_simple,content_detailed,related_movies`",
        ));
    }
    let missing: Vec<&str> = ["id", "title"]
        .into_iter()
        .filter(|n| column(headers, n).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(err(
        path,
        Some(1),
        format!(
            "the header row has no {} column (found: {}); the first line must name the columns, e.g. `id,title,year,content_simple,content_detailed,related_movies`",
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(" or "),
            headers.join(",")
        ),
    ))
}

/// Reads CSV records one at a time into a reused record; returns the header row and the number
/// of data rows.
fn scan_csv(
    path: &Path,
    input: impl Read,
    each: &mut Each<'_>,
) -> Result<(Vec<String>, usize), FileError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(input);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(path, &e))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    check_headers(path, &headers)?;
    let id_col = column(&headers, "id").unwrap_or(0);
    let title_col = column(&headers, "title").unwrap_or(1);
    let out_cols = HEADERS.map(|n| column(&headers, n));
    let mut record = csv::StringRecord::new();
    let mut index = 0;
    while reader
        .read_record(&mut record)
        .map_err(|e| csv_error(path, &e))?
    {
        let get = |c: Option<usize>| c.and_then(|c| record.get(c)).unwrap_or("");
        let row = FileRow {
            index,
            line: record.position().map_or(0, |p| p.line()),
            id: get(Some(id_col)).trim().to_owned(),
            title: get(Some(title_col)).trim().to_owned(),
            outputs: out_cols.map(|c| get(c).to_owned()),
        };
        each(Raw::Csv(&record), row)?;
        index += 1;
    }
    Ok((headers, index))
}

/// What [`read_rows`] read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowsRead {
    /// The file's format.
    pub format: Format,
    /// Its data rows.
    pub rows: usize,
}

/// Reads an events file as a stream, handing each data row to `each` in file order and holding
/// one row at a time (plus a fixed 2 MiB for the check of unique ids). The file is checked as a
/// whole, exactly as [`crate::EventsFile::read`] checks it, whatever `each` keeps: the same
/// problems at the same lines, and none of them passes.
///
/// `each` sees every row before a problem of a later line is known (an id used twice is known
/// only at the end): write outputs to temporary files and keep them only once this returns `Ok`.
///
/// # Errors
/// [`FileError`] as [`crate::EventsFile::read`], or the first error `each` returns.
pub fn read_rows(
    path: &Path,
    mut each: impl FnMut(FileRow) -> Result<(), FileError>,
) -> Result<RowsRead, FileError> {
    let format = Format::from_path(path)?;
    let scanned = scan(Source::File(path), format, &mut |_, row| each(row))?;
    Ok(RowsRead {
        format,
        rows: scanned.rows,
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::EventsFile;

    fn write(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    fn streamed(path: &Path) -> Result<Vec<FileRow>, FileError> {
        let mut rows = Vec::new();
        let read = read_rows(path, |row| {
            rows.push(row);
            Ok(())
        })?;
        assert_eq!(read.rows, rows.len());
        Ok(rows)
    }

    /// A CSV of `n` Korean rows: multi-byte characters fall across every read boundary.
    fn korean_csv(n: usize) -> String {
        let mut csv = String::from("id,title,year,note\n");
        for i in 0..n {
            csv.push_str(&format!("k{i},\"오키나와 전투, 개시 {i}\",,\"여러\n줄\"\n"));
        }
        csv
    }

    #[test]
    fn streamed_rows_are_the_rows_of_the_whole_file_reader() {
        let (_d, path) = write("big.csv", korean_csv(5_000).as_bytes());
        let rows = streamed(&path).unwrap();
        assert_eq!(rows, EventsFile::read(&path).unwrap().rows());
        assert_eq!(rows[4_999].line, 2 + 2 * 4_999);
        assert_eq!(rows[4_999].title, "오키나와 전투, 개시 4999");
        let json = "[\n  {\"id\": \"a\",\n   \"title\": \"A\", \"year\": 1945},\n\n  {\"title\": \"B\",\n \"id\": \"b\"}\n]";
        let (_d, path) = write("a.json", json.as_bytes());
        let rows = streamed(&path).unwrap();
        assert_eq!(rows, EventsFile::read(&path).unwrap().rows());
        assert_eq!((rows[0].line, rows[1].line), (2, 5));
        assert_eq!(rows[0].outputs[0], "1945");
    }

    #[test]
    fn a_bad_byte_deep_in_a_file_is_named_at_its_line_and_column() {
        let mut bytes = korean_csv(3_000).into_bytes();
        let line = 2 + 2 * 3_000;
        bytes.extend_from_slice(b"x1,ab\xB0\xA1c,,\n");
        let (_d, path) = write("bad.csv", &bytes);
        let e = streamed(&path).unwrap_err();
        assert_eq!(e.line, Some(line));
        assert!(e.message.contains("byte 0xB0 at column 6"), "{e}");
        assert_eq!(EventsFile::read(&path).unwrap_err(), e);
        // A file cut in the middle of a character.
        let (_d, path) = write(
            "cut.csv",
            "id,title\n1,가".as_bytes().split_last().unwrap().1,
        );
        assert!(
            streamed(&path)
                .unwrap_err()
                .message
                .contains("not valid UTF-8")
        );
    }

    #[test]
    fn an_id_used_again_far_from_its_first_use_is_found_with_both_lines() {
        let mut csv = String::from("id,title\n");
        for i in 0..100_000 {
            csv.push_str(&format!("r{i},t\n"));
        }
        csv.push_str("r12,again\nr7,again\n");
        let (_d, path) = write("dup.csv", csv.as_bytes());
        let e = streamed(&path).unwrap_err();
        assert_eq!(e.line, Some(100_002));
        assert!(
            e.message
                .contains("id `r12` is used again (first on line 14)"),
            "{e}"
        );
    }

    #[test]
    fn json_entries_that_are_not_objects_and_malformed_json_name_their_lines() {
        let (_d, path) = write(
            "n.json",
            b"{\"a\": {\"id\": \"a\", \"title\": \"x\"},\n \"b\": 5\n}",
        );
        let e = streamed(&path).unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.contains("entry `b` is not an object"), "{e}");
        let (_d, path) = write(
            "s.json",
            b"[{\"id\": \"a\", \"title\": \"x\"},\n\n \"text\"]",
        );
        assert_eq!(streamed(&path).unwrap_err().line, Some(3));
        let (_d, path) = write(
            "m.json",
            b"{\"a\": {\"id\": \"a\", \"title\": \"x\"}\n \"b\": {}}",
        );
        let e = streamed(&path).unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.starts_with("malformed JSON: "), "{e}");
        assert_eq!(EventsFile::read(&path).unwrap_err(), e);
        let (_d, path) = write("t.json", b"\"just text\"");
        assert!(
            streamed(&path)
                .unwrap_err()
                .message
                .contains("an object keyed by id, or an array of objects")
        );
    }
}
