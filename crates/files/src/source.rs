//! Where an events file's bytes come from and how they are checked as they are read: a file or
//! text in memory ([`Source`]), UTF-16 and NUL bytes refused at the start, UTF-8 checked
//! throughout ([`Utf8Check`]), a UTF-8 byte-order mark dropped; and what the scanner hands each
//! row's caller ([`Raw`], [`Each`]) and returns ([`Scanned`]).

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::types::{Fields, FileError, FileRow, err};

/// Where the bytes come from: a file, or text already in memory (named by `path` in errors).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Source<'a> {
    /// A file on disk.
    File(&'a Path),
    /// Text in memory.
    Bytes(&'a Path, &'a [u8]),
}

impl Source<'_> {
    pub(crate) fn path(&self) -> &Path {
        match self {
            Source::File(p) | Source::Bytes(p, _) => p,
        }
    }

    /// The text as a checked stream (see [`Utf8Check`]), and whether it began with a UTF-8
    /// byte-order mark.
    pub(crate) fn open(&self) -> Result<(Utf8Check<Box<dyn Read + '_>>, bool), FileError> {
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
pub(crate) fn file_error_in(e: &io::Error) -> Option<FileError> {
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
