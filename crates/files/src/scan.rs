//! Reading an events file as a stream, holding one row at a time: the bytes are checked as they
//! are read (UTF-16 and NUL bytes at the start, UTF-8 throughout, a UTF-8 byte-order mark
//! dropped), CSV records come from the `csv` crate over the file, and the seed's JSON from
//! `serde_json` reading the file through a visitor that hands over one entry at a time (its line
//! counted from the bytes the parser has taken). Every problem is a [`FileError`] at its
//! `path:line`, in the words of the whole-file reader it replaces.
//!
//! Unique ids are checked in constant memory (`ids::IdFilter`): when the filter has suspects, a
//! second pass over the file reads only ids and reports the first id used twice, as a reader of
//! the whole file would. A caller therefore sees every row before it learns that a later one
//! repeats an id: it must do nothing irreversible until [`scan`] has returned `Ok`.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use almanac_core::output::HEADERS;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::ids::IdFilter;
use crate::types::{Fields, FileError, FileRow, Format, err};

/// Where the bytes come from: a file, or text already in memory (named by `path` in errors).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Source<'a> {
    /// A file on disk.
    File(&'a Path),
    /// Text in memory.
    Bytes(&'a Path, &'a [u8]),
}

impl Source<'_> {
    fn path(&self) -> &Path {
        match self {
            Source::File(p) | Source::Bytes(p, _) => p,
        }
    }

    /// The text as a checked stream (see [`Utf8Check`]), and whether it began with a UTF-8
    /// byte-order mark.
    fn open(&self) -> Result<(Utf8Check<Box<dyn Read + '_>>, bool), FileError> {
        let path = self.path();
        let mut input: Box<dyn Read + '_> = match self {
            Source::File(p) => Box::new(
                std::fs::File::open(p).map_err(|e| err(p, None, format!("cannot read: {e}")))?,
            ),
            Source::Bytes(_, bytes) => Box::new(*bytes),
        };
        let mut head = Vec::with_capacity(HEAD_BYTES);
        (&mut input)
            .take(HEAD_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(|e| err(path, None, format!("cannot read: {e}")))?;
        check_head(path, &head)?;
        let bom = head.starts_with(UTF8_BOM);
        if bom {
            head.drain(..UTF8_BOM.len());
        }
        let chained: Box<dyn Read + '_> = Box::new(io::Cursor::new(head).chain(input));
        Ok((Utf8Check::new(path, chained), bom))
    }
}

/// Bytes looked at for UTF-16 before anything is parsed.
const HEAD_BYTES: usize = 4096;

const UTF8_BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

/// Refuses UTF-16: a UTF-16 byte-order mark, or NUL bytes in the first 4 KiB.
fn check_head(path: &Path, head: &[u8]) -> Result<(), FileError> {
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err(err(
            path,
            Some(1),
            "the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8 (in Excel: \"CSV UTF-8\"; or `iconv -f UTF-16 -t UTF-8`)",
        ));
    }
    if let Some(pos) = head.iter().position(|b| *b == 0) {
        let line = head[..pos].iter().filter(|b| **b == b'\n').count() as u64 + 1;
        return Err(err(
            path,
            Some(line),
            "the file contains NUL bytes: it looks like UTF-16 without a byte-order mark; save it as UTF-8",
        ));
    }
    Ok(())
}

/// A reader that checks that its bytes are UTF-8 as they pass, counting lines so that the first
/// bad byte is reported at its line and column. A failure is an `io::Error` carrying the
/// [`FileError`] (see [`file_error_in`]).
pub(crate) struct Utf8Check<R> {
    inner: R,
    path: PathBuf,
    /// Bytes passed on so far.
    offset: u64,
    /// `\n`s among them.
    newlines: u64,
    /// Offset just past the last `\n`.
    line_start: u64,
    /// The start of a character cut by the end of the last read.
    carry: Vec<u8>,
}

impl<R: Read> Utf8Check<R> {
    fn new(path: &Path, inner: R) -> Utf8Check<R> {
        Utf8Check {
            inner,
            path: path.to_owned(),
            offset: 0,
            newlines: 0,
            line_start: 0,
            carry: Vec::new(),
        }
    }

    /// Checks the bytes of one read (after what was carried over from the last one).
    fn check(&mut self, chunk: &[u8], at_end: bool) -> io::Result<()> {
        let joined;
        let data = if self.carry.is_empty() {
            chunk
        } else {
            joined = [self.carry.as_slice(), chunk].concat();
            &joined
        };
        let start = self.offset - self.carry.len() as u64;
        let (valid, bad) = match std::str::from_utf8(data) {
            Ok(_) => (data.len(), None),
            Err(e) if e.error_len().is_none() && !at_end => (e.valid_up_to(), None),
            Err(e) => (e.valid_up_to(), Some(e.valid_up_to())),
        };
        let good = &data[..valid];
        self.newlines += good.iter().filter(|b| **b == b'\n').count() as u64;
        if let Some(p) = good.iter().rposition(|b| *b == b'\n') {
            self.line_start = start + p as u64 + 1;
        }
        if let Some(at) = bad {
            let column = start + at as u64 - self.line_start + 1;
            let e = err(
                &self.path,
                Some(self.newlines + 1),
                format!(
                    "not valid UTF-8 (byte 0x{:02X} at column {column}): the file looks like CP949/EUC-KR, Latin-1 or another legacy encoding; save it as UTF-8 (e.g. `iconv -f CP949 -t UTF-8 in.csv > out.csv`)",
                    data[at]
                ),
            );
            return Err(io::Error::other(e));
        }
        self.carry = data[valid..].to_vec();
        self.offset += chunk.len() as u64;
        Ok(())
    }
}

impl<R: Read> Read for Utf8Check<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.check(&buf[..n], n == 0)?;
        Ok(n)
    }
}

/// The [`FileError`] an `io::Error` of [`Utf8Check`] carries, if it is one.
fn file_error_in(e: &io::Error) -> Option<FileError> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<FileError>())
        .cloned()
}

/// One entry as read, besides its [`FileRow`].
pub(crate) enum Raw<'a> {
    /// A CSV record.
    Csv(&'a csv::StringRecord),
    /// A JSON entry: its key in an object keyed by id, and its fields.
    Json(Option<String>, Fields),
}

/// What [`scan`] found besides the rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Scanned {
    /// Data rows.
    pub rows: usize,
    /// The file began with a UTF-8 byte-order mark.
    pub bom: bool,
    /// The CSV header row (trimmed), or `None` for JSON.
    pub headers: Option<Vec<String>>,
    /// A JSON file is an object keyed by id (else an array); `false` for CSV.
    pub keyed: bool,
}

/// Each row of a file, in order, with its raw entry.
pub(crate) type Each<'e> = dyn FnMut(Raw<'_>, FileRow) -> Result<(), FileError> + 'e;

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

/// Lines the JSON parser has taken so far, and whether the last byte it took was a `\n`.
#[derive(Default)]
struct Position {
    newlines: Cell<u64>,
    last_newline: Cell<bool>,
}

/// Counts the lines of the bytes handed to the JSON parser (which takes them one at a time).
struct Counted<R> {
    inner: io::BufReader<R>,
    position: Rc<Position>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let taken = &buf[..n];
        let newlines = taken.iter().filter(|b| **b == b'\n').count() as u64;
        let p = &self.position;
        p.newlines.set(p.newlines.get() + newlines);
        if let Some(last) = taken.last() {
            p.last_newline.set(*last == b'\n');
        }
        Ok(n)
    }
}

/// Reads the seed's JSON: an object keyed by id, or an array of objects, one entry at a time;
/// returns whether it is keyed and the number of entries.
fn scan_json(
    path: &Path,
    input: impl Read,
    each: &mut Each<'_>,
) -> Result<(bool, usize), FileError> {
    let position = Rc::new(Position::default());
    let counted = Counted {
        inner: io::BufReader::with_capacity(64 * 1024, input),
        position: position.clone(),
    };
    let mut top = Top {
        path,
        position,
        each,
        failure: None,
        rows: 0,
        keyed: false,
    };
    let mut de = serde_json::Deserializer::from_reader(counted);
    let parsed = de::Deserializer::deserialize_any(&mut de, &mut top).and_then(|()| de.end());
    if let Some(failure) = top.failure {
        return Err(failure);
    }
    match parsed {
        Ok(()) => Ok((top.keyed, top.rows)),
        Err(e) if e.is_io() => {
            let io: io::Error = e.into();
            Err(file_error_in(&io).unwrap_or_else(|| err(path, None, format!("cannot read: {io}"))))
        }
        Err(e) => Err(err(
            path,
            (e.line() > 0).then_some(e.line() as u64),
            format!("malformed JSON: {e}"),
        )),
    }
}

/// The top level of a JSON events file; hands each entry over as it is read.
struct Top<'a, 'e> {
    path: &'a Path,
    position: Rc<Position>,
    each: &'a mut Each<'e>,
    /// The error that stopped the parse, when it was ours rather than the parser's.
    failure: Option<FileError>,
    rows: usize,
    keyed: bool,
}

impl Top<'_, '_> {
    /// Hands one entry over; an error is kept and the parse stopped.
    fn entry<E: de::Error>(&mut self, key: Option<String>, value: Entry) -> Result<(), E> {
        let handed = entry_row(self.path, key.as_deref(), &value).and_then(|mut row| {
            row.index = self.rows;
            self.rows += 1;
            let fields = value.fields.unwrap_or_default();
            (self.each)(Raw::Json(key, fields), row)
        });
        handed.map_err(|e| {
            self.failure = Some(e);
            E::custom("stopped")
        })
    }
}

impl<'de> Visitor<'de> for &mut Top<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object keyed by id, or an array of objects")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.keyed = true;
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(EntrySeed(&self.position))?;
            self.entry(Some(key), value)?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(value) = seq.next_element_seed(EntrySeed(&self.position))? {
            self.entry(None, value)?;
        }
        Ok(())
    }
}

/// One entry: the line it starts on and its fields in file order (`None` when it is not an
/// object).
struct Entry {
    line: u64,
    fields: Option<Fields>,
}

/// Reads one entry, noting the line it starts on: the parser has taken the bytes up to the
/// entry's first character when an object or array is opened, and up to its last when a string,
/// `true`, `false` or `null` is read; a number it ends by reading the byte after it.
struct EntrySeed<'p>(&'p Position);

impl EntrySeed<'_> {
    fn line(&self) -> u64 {
        self.0.newlines.get() + 1
    }

    fn other(&self) -> Entry {
        Entry {
            line: self.line(),
            fields: None,
        }
    }

    fn number(&self) -> Entry {
        Entry {
            line: self.line() - u64::from(self.0.last_newline.get()),
            fields: None,
        }
    }
}

impl<'de> DeserializeSeed<'de> for EntrySeed<'_> {
    type Value = Entry;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Entry, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed<'_> {
    type Value = Entry;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with `id` and `title`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entry, A::Error> {
        let line = self.line();
        let mut fields: Fields = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            match fields.iter_mut().find(|(name, _)| *name == k) {
                Some(slot) => slot.1 = v,
                None => fields.push((k, v)),
            }
        }
        Ok(Entry {
            line,
            fields: Some(fields),
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Entry, A::Error> {
        let entry = self.other();
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(entry)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Entry, E> {
        Ok(self.other())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Entry, E> {
        Ok(self.other())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Entry, E> {
        Ok(self.other())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Entry, E> {
        Ok(self.number())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Entry, E> {
        Ok(self.number())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Entry, E> {
        Ok(self.number())
    }
}

fn text_of(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
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

/// The row of one JSON entry (`key` when the file is an object keyed by id), with `index` 0 (set
/// by the caller).
fn entry_row(path: &Path, key: Option<&str>, entry: &Entry) -> Result<FileRow, FileError> {
    let line = entry.line;
    let name = key.map_or_else(String::new, |k| format!(" `{k}`"));
    let Some(fields) = &entry.fields else {
        return Err(err(
            path,
            Some(line),
            format!(
                "entry{name} is not an object: each entry must be an object with `id` and `title`"
            ),
        ));
    };
    let get = |n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, v)| v);
    let id = entry_id(path, line, get("id"), key)?;
    if get("title").is_none() {
        return Err(err(
            path,
            Some(line),
            format!("entry{name} has no `title` field: every entry needs `id` and `title`"),
        ));
    }
    Ok(FileRow {
        index: 0,
        line,
        id: id.trim().to_owned(),
        title: text_of(get("title")).trim().to_owned(),
        outputs: HEADERS.map(|n| text_of(get(n))),
    })
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
