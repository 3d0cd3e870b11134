//! Event files on disk — the command line's stand-in for a sheet: a CSV file with a header row
//! (`id,title,year,content_simple,content_detailed,related_movies,…`) or the seed workflow's
//! `historical_events.json` (an object keyed by id, or an array of objects, each with `id` and
//! `title`). This crate (`almanac-files`, depending only on `almanac-core`) reads them with strict checks (encoding, CSV shape, headers, unique ids),
//! lists their rows, merges generated answers into the four output columns while keeping every
//! other column or field as it was, and writes the result atomically (a temporary file in the same
//! folder, then a rename), so a reader never sees half a file.
//!
//! CSV is parsed and written with the `csv` crate (RFC 4180 quoting); JSON with `serde_json`,
//! keeping the order of entries and fields.

#![warn(missing_docs)]

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use almanac_core::domain::{Generated, RowId, SheetRow};

/// The four columns the model fills, by their header names (C–F of a sheet).
pub const OUTPUT_FIELDS: [&str; 4] = [
    "year",
    "content_simple",
    "content_detailed",
    "related_movies",
];

/// Why a file cannot be used. Displays as `path:line: problem` (or `path: problem` when the problem
/// is not on one line), the way compilers report errors.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line the problem is on, when there is one.
    pub line: Option<u64>,
    /// What is wrong and what to do.
    pub message: String,
}

fn err(path: &Path, line: Option<u64>, message: impl Into<String>) -> FileError {
    FileError {
        path: path.to_owned(),
        line,
        message: message.into(),
    }
}

/// The format of an events file, chosen by its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `.csv`: RFC 4180, a header row first.
    Csv,
    /// `.json`: the seed workflow's shape.
    Json,
}

impl Format {
    /// The format named by the path's extension (`.csv` or `.json`, any case).
    ///
    /// # Errors
    /// [`FileError`] for another extension.
    pub fn from_path(path: &Path) -> Result<Format, FileError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Ok(Format::Csv),
            Some("json") => Ok(Format::Json),
            _ => Err(err(
                path,
                None,
                "cannot tell the file's format from its name: use a .csv or .json file",
            )),
        }
    }

    /// `csv` or `json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }
}

/// One row (CSV record or JSON entry) of an events file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRow {
    /// 0-based position among the data rows (the header is not counted).
    pub index: usize,
    /// 1-based line the row starts on.
    pub line: u64,
    /// The `id` value, trimmed.
    pub id: String,
    /// The `title` value, trimmed.
    pub title: String,
    /// Current `year`, `content_simple`, `content_detailed`, `related_movies` (`""` when absent).
    pub outputs: [String; 4],
}

impl FileRow {
    /// The row as a sheet row (A id, B title, C–F outputs), numbered by its line, for the same
    /// selection rules as the sheet flow.
    pub fn as_sheet_row(&self) -> SheetRow {
        let mut cells = vec![self.id.clone(), self.title.clone()];
        cells.extend(self.outputs.iter().cloned());
        SheetRow {
            row_number: u32::try_from(self.line).unwrap_or(u32::MAX),
            cells,
        }
    }
}

/// An ordered JSON object: fields in file order.
type Fields = Vec<(String, Value)>;

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
        let bytes =
            std::fs::read(path).map_err(|e| err(path, None, format!("cannot read: {e}")))?;
        let text = decode(path, &bytes)?;
        let bom = bytes.starts_with(UTF8_BOM);
        let (body, rows) = match format {
            Format::Csv => parse_csv(path, text)?,
            Format::Json => parse_json(path, text)?,
        };
        check_unique(path, &rows)?;
        Ok(EventsFile {
            path: path.to_owned(),
            format,
            body,
            rows,
            bom,
        })
    }

    /// Builds a file from sheet rows (the first row is the header), as `sheet pull` saves them.
    /// Columns without a header name are dropped; rows with an empty id are kept in CSV and left
    /// out of JSON (an object needs a key).
    ///
    /// # Errors
    /// [`FileError`] when the header has no `id` or `title`, or an id is used twice.
    pub fn from_grid(
        path: &Path,
        format: Format,
        grid: &[Vec<String>],
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
        let (body, rows) = parse_csv(path, &out)?;
        check_unique(path, &rows)?;
        let mut file = EventsFile {
            path: path.to_owned(),
            format: Format::Csv,
            body,
            rows,
            bom: false,
        };
        if format == Format::Json {
            file.convert_to_json_object();
        }
        Ok(file)
    }

    /// Every data row, in file order.
    pub fn rows(&self) -> &[FileRow] {
        &self.rows
    }

    /// Sets the answers into the output columns, by id. A cell that already holds text is kept
    /// unless `overwrite`. CSV files without some output columns get them appended to the header;
    /// JSON entries without an output field get it appended.
    pub fn merge(&mut self, answers: &[(RowId, Generated)], overwrite: bool) -> MergeReport {
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
            for name in OUTPUT_FIELDS {
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
                self.set(i, OUTPUT_FIELDS[k], value);
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

    fn set(&mut self, index: usize, field: &str, value: &str) {
        match &mut self.body {
            Body::Csv { headers, records } => {
                if let Some(col) = headers
                    .iter()
                    .position(|h| h.trim().eq_ignore_ascii_case(field))
                {
                    records[index][col] = value.to_owned();
                }
            }
            Body::JsonObject(entries) => set_field(&mut entries[index].1, field, value),
            Body::JsonArray(entries) => set_field(&mut entries[index], field, value),
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

/// Writes `bytes` to `path` atomically (temporary file in the same folder, fsync, rename). A file
/// that is replaced keeps its permissions; a new one is created `rw-r--r--` on Unix.
///
/// # Errors
/// [`FileError`] when the folder is not writable or the disk is full; `path` is then untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let fail = |e: std::io::Error| err(path, None, format!("cannot write: {e}"));
    let mut builder = tempfile::Builder::new();
    builder.prefix(".almanac-").suffix(".tmp");
    // A replaced file keeps its permissions; a new one gets the usual rw-r--r-- (a temporary file
    // would otherwise be private to its owner).
    match std::fs::metadata(path) {
        Ok(meta) => {
            builder.permissions(meta.permissions());
        }
        Err(_) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                builder.permissions(std::fs::Permissions::from_mode(0o644));
            }
        }
    }
    let mut tmp = builder.tempfile_in(&dir).map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
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

const UTF8_BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

/// The file as UTF-8 text (a UTF-8 byte-order mark is dropped).
fn decode<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str, FileError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(err(
            path,
            Some(1),
            "the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8 (in Excel: \"CSV UTF-8\"; or `iconv -f UTF-16 -t UTF-8`)",
        ));
    }
    if let Some(pos) = bytes.iter().take(4096).position(|b| *b == 0) {
        let line = bytes[..pos].iter().filter(|b| **b == b'\n').count() as u64 + 1;
        return Err(err(
            path,
            Some(line),
            "the file contains NUL bytes: it looks like UTF-16 without a byte-order mark; save it as UTF-8",
        ));
    }
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        let line = bytes[..at].iter().filter(|b| **b == b'\n').count() as u64 + 1;
        let column = at - bytes[..at].iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1) + 1;
        err(
            path,
            Some(line),
            format!(
                "not valid UTF-8 (byte 0x{:02X} at column {column}): the file looks like CP949/EUC-KR, Latin-1 or another legacy encoding; save it as UTF-8 (e.g. `iconv -f CP949 -t UTF-8 in.csv > out.csv`)",
                bytes[at]
            ),
        )
    })
}

fn column(headers: &[String], name: &str) -> Option<usize> {
    headers
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case(name))
}

fn parse_csv(path: &Path, text: &str) -> Result<(Body, Vec<FileRow>), FileError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let csv_error = |e: csv::Error| {
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
    };
    let headers: Vec<String> = reader
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    if headers.iter().all(String::is_empty) {
        return Err(err(
            path,
            Some(1),
            "the file is empty: the first line must be a header row such as `id,title,year,content_simple,content_detailed,related_movies`",
        ));
    }
    let missing: Vec<&str> = ["id", "title"]
        .into_iter()
        .filter(|n| column(&headers, n).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(err(
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
        ));
    }
    let (id_col, title_col) = (
        column(&headers, "id").unwrap_or(0),
        column(&headers, "title").unwrap_or(1),
    );
    let out_cols: Vec<Option<usize>> = OUTPUT_FIELDS.iter().map(|n| column(&headers, n)).collect();
    let mut records = Vec::new();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, |p| p.line());
        let cells: Vec<String> = record.iter().map(str::to_owned).collect();
        let get = |c: Option<usize>| {
            c.and_then(|c| cells.get(c))
                .map(|s| s.to_owned())
                .unwrap_or_default()
        };
        rows.push(FileRow {
            index: rows.len(),
            line,
            id: get(Some(id_col)).trim().to_owned(),
            title: get(Some(title_col)).trim().to_owned(),
            outputs: [
                get(out_cols[0]),
                get(out_cols[1]),
                get(out_cols[2]),
                get(out_cols[3]),
            ],
        });
        records.push(cells);
    }
    Ok((Body::Csv { headers, records }, rows))
}

/// The top level of a JSON events file, with each entry's raw text (to find its line).
enum TopLevel<'a> {
    Object(Vec<(String, &'a RawValue)>),
    Array(Vec<&'a RawValue>),
}

impl<'de> Deserialize<'de> for TopLevel<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TopLevel<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object keyed by id, or an array of objects")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, &'de RawValue>()? {
                    out.push((k, v));
                }
                Ok(TopLevel::Object(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<&'de RawValue>()? {
                    out.push(v);
                }
                Ok(TopLevel::Array(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A JSON object with its fields in file order.
struct Ordered(Fields);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object with `id` and `title`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out: Fields = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    match out.iter_mut().find(|(name, _)| *name == k) {
                        Some(slot) => slot.1 = v,
                        None => out.push((k, v)),
                    }
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn text_of(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The 1-based line of `text` on which `raw` (a slice of `text`) starts.
fn line_of(text: &str, raw: &RawValue) -> u64 {
    let offset = (raw.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u64
        + 1
}

/// The id of a JSON entry on `line`: its `id` field, which must equal the key when the file is an
/// object keyed by id, or else the key; an entry of an array needs its own `id`.
fn entry_id(
    path: &Path,
    line: u64,
    id_field: Option<&Value>,
    key: Option<&str>,
) -> Result<String, FileError> {
    match (id_field, key) {
        (Some(v), Some(k)) if text_of(Some(v)).trim() != k.trim() => Err(err(
            path,
            Some(line),
            format!(
                "entry `{k}` has id `{}`: the key and the `id` field must be the same",
                text_of(Some(v))
            ),
        )),
        (Some(v), _) => Ok(text_of(Some(v))),
        (None, Some(k)) => Ok(k.to_owned()),
        (None, None) => Err(err(
            path,
            Some(line),
            "this entry has no `id` field: every entry needs `id` and `title`",
        )),
    }
}

/// One entry of a JSON events file (`key` when the file is an object keyed by id): its fields in
/// file order and its row (with `index` 0, set by the caller).
fn json_entry(
    path: &Path,
    text: &str,
    raw: &RawValue,
    key: Option<&str>,
) -> Result<(Fields, FileRow), FileError> {
    let line = line_of(text, raw);
    let name = key.map_or_else(String::new, |k| format!(" `{k}`"));
    let Ordered(fields) = serde_json::from_str(raw.get()).map_err(|_| {
        err(
            path,
            Some(line),
            format!(
                "entry{name} is not an object: each entry must be an object with `id` and `title`"
            ),
        )
    })?;
    let get = |n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, v)| v);
    let id = entry_id(path, line, get("id"), key)?;
    if get("title").is_none() {
        return Err(err(
            path,
            Some(line),
            format!("entry{name} has no `title` field: every entry needs `id` and `title`"),
        ));
    }
    let row = FileRow {
        index: 0,
        line,
        id: id.trim().to_owned(),
        title: text_of(get("title")).trim().to_owned(),
        outputs: OUTPUT_FIELDS.map(|n| text_of(get(n))),
    };
    Ok((fields, row))
}

/// Reads a JSON events file: an object keyed by id, or an array of objects, in file order.
fn parse_json(path: &Path, text: &str) -> Result<(Body, Vec<FileRow>), FileError> {
    let top: TopLevel = serde_json::from_str(text).map_err(|e| {
        err(
            path,
            (e.line() > 0).then_some(e.line() as u64),
            format!("malformed JSON: {e}"),
        )
    })?;
    let mut rows = Vec::new();
    let mut push_row = |mut row: FileRow| {
        row.index = rows.len();
        rows.push(row);
    };
    let body = match top {
        TopLevel::Object(items) => {
            let mut entries = Vec::new();
            for (key, raw) in items {
                let (fields, row) = json_entry(path, text, raw, Some(&key))?;
                push_row(row);
                entries.push((key, fields));
            }
            Body::JsonObject(entries)
        }
        TopLevel::Array(items) => {
            let mut entries = Vec::new();
            for raw in items {
                let (fields, row) = json_entry(path, text, raw, None)?;
                push_row(row);
                entries.push(fields);
            }
            Body::JsonArray(entries)
        }
    };
    Ok((body, rows))
}

fn check_unique(path: &Path, rows: &[FileRow]) -> Result<(), FileError> {
    let mut seen: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
    for row in rows.iter().filter(|r| !r.id.is_empty()) {
        if let Some(first) = seen.insert(row.id.as_str(), row.line) {
            return Err(err(
                path,
                Some(row.line),
                format!(
                    "id `{}` is used again (first on line {first}): answers are matched to rows by id, so every id must be unique",
                    row.id
                ),
            ));
        }
    }
    Ok(())
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
        let report = file.merge(&[answer("1"), answer("2")], false);
        assert_eq!(report.rows_written, 2);
        assert_eq!(
            file.render(),
            "id,title,year,note,content_simple,content_detailed,related_movies\n1,One,1945,keep me,s 1,\"d, with \"\"quotes\"\"\",m\n2,Two,1999,x,s 2,\"d, with \"\"quotes\"\"\",m\n"
        );
    }

    #[test]
    fn json_object_keeps_entry_and_field_order() {
        let (_d, path) = write(
            "a.json",
            "{\n  \"b\": {\"id\": \"b\", \"title\": \"나\", \"year\": \"\", \"imageUrl\": \"x.png\"},\n  \"a\": {\"title\": \"A\"}\n}".as_bytes(),
        );
        let mut file = EventsFile::read(&path).unwrap();
        assert_eq!(file.rows()[1].line, 3);
        file.merge(&[answer("b")], false);
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
        file.merge(&[answer("y")], false);
        let back: Value = serde_json::from_str(&file.render()).unwrap();
        assert_eq!(
            back[0],
            serde_json::json!({"id": "x", "title": "X", "extra": 3})
        );
        assert_eq!(back[1]["content_simple"], "s y");

        let (_d, path) = write("b.csv", "\u{feff}id,title\n1,가\n".as_bytes());
        let mut file = EventsFile::read(&path).unwrap();
        assert_eq!(file.rows()[0].id, "1");
        file.merge(&[answer("1")], false);
        assert!(file.render().starts_with("\u{feff}id,title,year,"));
    }

    #[cfg(unix)]
    #[test]
    fn an_atomic_write_keeps_the_permissions_of_the_file_it_replaces() {
        use std::os::unix::fs::PermissionsExt as _;
        let (dir, path) = write("a.csv", b"old");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o640);
        let fresh = dir.path().join("fresh.csv");
        write_atomic(&fresh, b"x").unwrap();
        assert_eq!(mode(&fresh), 0o644);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
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
