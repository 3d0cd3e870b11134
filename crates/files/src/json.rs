//! The seed's JSON events file read as a stream: `serde_json` reads the file through a visitor
//! that hands over one entry at a time (an object keyed by id, or an array of objects), its line
//! counted from the bytes the parser has taken; each entry becomes a [`FileRow`] with the checks
//! of the whole-file reader.

use std::cell::Cell;
use std::fmt;
use std::io::{self, Read};
use std::path::Path;
use std::rc::Rc;

use almanac_core::output::HEADERS;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::source::{Each, Raw, file_error_in};
use crate::types::{Fields, FileError, FileRow, err};

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
pub(crate) fn scan_json(
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
