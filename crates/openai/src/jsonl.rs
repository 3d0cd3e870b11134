//! The batch input file: one JSON request line per row, and the Batch API's limits.
//!
//! A line is `{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}` where `body` is
//! a Chat Completions request: the model's id, the shared system message, the row's user message,
//! the strict `response_format` of [`almanac_core::prompt`], and the model's output cap
//! (<https://platform.openai.com/docs/api-reference/batch/request-input>,
//! <https://platform.openai.com/docs/api-reference/chat/create>). Reasoning models (o-series,
//! gpt-5 family) take no `temperature` and cap output with `max_completion_tokens`; other models
//! get the catalogue's `temperature` and `max_tokens`.
//!
//! Every line of one model's file is the same bytes but for two strings, the row's id and its user
//! message. A [`LineTemplate`] serialises the shared bytes (system prompt, schema, model settings —
//! about 2 KB of the ~2.4 KB of a line) once per file and writes each line as
//! `{"custom_id":` id · middle · user message · tail, so a line costs two string escapes and
//! three copies, not a serialisation of the whole body. The template is built by serialising the
//! typed line once with placeholder strings, so its bytes are exactly what `serde_json` writes for
//! the whole line (a test holds them equal). A [`PartSplitter`] cuts a stream of lines into
//! consecutive parts within the limits as the lines are written, so a file of any size is written
//! in one pass holding one line at a time.

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::{self, Write};

use serde::Serialize;

use almanac_core::catalog::ModelSpec;
use almanac_core::domain::RowInput;
use almanac_core::prompt::{self, ResponseFormat};

/// The endpoint of every line and of the batch (`url` of a line, `endpoint` of the batch).
pub(crate) const ENDPOINT: &str = "/v1/chat/completions";

/// Most requests one batch input file may hold
/// (<https://platform.openai.com/docs/api-reference/batch/create>).
pub const MAX_REQUESTS_PER_BATCH: usize = 50_000;

/// Largest batch input file, in bytes (200 MB; same source).
pub const MAX_FILE_BYTES: usize = 200 * 1024 * 1024;

/// One line of the input file.
#[derive(Serialize)]
struct Line<'a> {
    custom_id: &'a str,
    method: &'static str,
    url: &'static str,
    body: Body<'a>,
}

/// A Chat Completions request body, fields in the order they are written.
#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    messages: [Message<'a>; 2],
    response_format: &'static ResponseFormat,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_effort: Option<&'a str>,
}

/// A chat message; the system message is borrowed, the user message is built per row.
#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: Cow<'a, str>,
}

fn body<'a>(spec: &'a ModelSpec, user: Cow<'a, str>) -> Body<'a> {
    let (temperature, max_tokens, max_completion_tokens, reasoning_effort) = if spec.reasoning {
        (
            None,
            None,
            Some(spec.max_output_tokens),
            spec.reasoning_effort.as_deref(),
        )
    } else {
        (spec.temperature, Some(spec.max_output_tokens), None, None)
    };
    Body {
        model: &spec.id,
        messages: [
            Message {
                role: "system",
                content: Cow::Borrowed(prompt::SYSTEM_PROMPT),
            },
            Message {
                role: "user",
                content: user,
            },
        ],
        response_format: prompt::response_format_typed(),
        temperature,
        max_tokens,
        max_completion_tokens,
        reasoning_effort,
    }
}

/// The typed line of a row (the tests hold [`LineTemplate`]'s bytes equal to it).
#[cfg(test)]
fn line<'a>(spec: &'a ModelSpec, row: &'a RowInput) -> Line<'a> {
    Line {
        custom_id: row.id.as_str(),
        method: "POST",
        url: ENDPOINT,
        body: body(spec, Cow::Owned(prompt::user_message(&row.title))),
    }
}

/// The Chat Completions request body for one title, as sent inside a batch line and as sent
/// directly in realtime mode (`POST /v1/chat/completions`,
/// <https://platform.openai.com/docs/api-reference/chat/create>):
///
/// ```json
/// {"model": "gpt-4.1-mini-2025-04-14",
///  "messages": [{"role": "system", "content": SYSTEM_PROMPT},
///               {"role": "user", "content": "Historical event: …"}],
///  "response_format": {"type": "json_schema", …},
///  "temperature": 0.7, "max_tokens": 2048}
/// ```
///
/// For a reasoning model `temperature` and `max_tokens` are absent and `max_completion_tokens`
/// (plus `reasoning_effort` when the catalogue sets one) is present.
pub fn request_body(spec: &ModelSpec, title: &str) -> serde_json::Value {
    serde_json::to_value(body(spec, Cow::Owned(prompt::user_message(title))))
        .expect("a request body serializes")
}

/// One input-file line for a row, as JSON:
/// `{"custom_id": row.id, "method": "POST", "url": "/v1/chat/completions", "body": request_body(..)}`
/// (<https://platform.openai.com/docs/api-reference/batch/request-input>).
#[cfg(test)]
fn request_line(spec: &ModelSpec, row: &RowInput) -> serde_json::Value {
    serde_json::to_value(line(spec, row)).expect("a request line serializes")
}

/// Placeholders the template is cut at: private-use characters, which `serde_json` writes as they
/// are (never escaped), so each appears in the serialised line exactly as written here.
const ID_MARK: &str = "\u{E000}almanac-custom-id\u{E000}";
const USER_MARK: &str = "\u{E000}almanac-user-message\u{E000}";

/// What every line of one model's input file shares, serialised once (see the module
/// documentation): a line is `{"custom_id":` + the id as a JSON string + [`LineTemplate`]'s middle
/// (`,"method":"POST","url":…,"body":{"model":…,"messages":[{"role":"system","content":…},
/// {"role":"user","content":`) + the user message as a JSON string + its tail
/// (`}],"response_format":…}}`) + `\n`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineTemplate {
    middle: Vec<u8>,
    tail: Vec<u8>,
}

/// The opening of every line, up to the id.
const HEAD: &[u8] = b"{\"custom_id\":";

impl LineTemplate {
    /// The template of `spec`'s lines: the typed line serialised once with placeholders.
    pub fn new(spec: &ModelSpec) -> LineTemplate {
        let whole = serde_json::to_vec(&Line {
            custom_id: ID_MARK,
            method: "POST",
            url: ENDPOINT,
            body: body(spec, Cow::Borrowed(USER_MARK)),
        })
        .expect("a request line serializes");
        let quoted = |mark: &str| format!("\"{mark}\"").into_bytes();
        let find = |needle: &[u8]| {
            whole
                .windows(needle.len())
                .position(|w| w == needle)
                .expect("the placeholder is in the serialised line")
        };
        let (id, user) = (quoted(ID_MARK), quoted(USER_MARK));
        let (id_at, user_at) = (find(&id), find(&user));
        assert_eq!(&whole[..id_at], HEAD, "custom_id is the first field");
        LineTemplate {
            middle: whole[id_at + id.len()..user_at].to_vec(),
            tail: whole[user_at + user.len()..].to_vec(),
        }
    }

    /// Appends the line of one row (its `\n` included) to `out`; returns the bytes appended.
    pub fn write_line(&self, out: &mut Vec<u8>, id: &str, title: &str) -> usize {
        let before = out.len();
        out.extend_from_slice(HEAD);
        serde_json::to_writer(&mut *out, id).expect("a string serializes");
        out.extend_from_slice(&self.middle);
        serde_json::to_writer(&mut *out, &prompt::user_message(title))
            .expect("a string serializes");
        out.extend_from_slice(&self.tail);
        out.push(b'\n');
        out.len() - before
    }

    /// Bytes of one row's line including its `\n`, without writing it.
    pub(crate) fn line_len(&self, id: &str, title: &str) -> usize {
        HEAD.len()
            + json_string_len(id)
            + self.middle.len()
            + json_string_len(&prompt::user_message(title))
            + self.tail.len()
            + 1
    }
}

/// Bytes of `s` as a JSON string (quotes and escapes included), as `serde_json` writes it.
fn json_string_len(s: &str) -> usize {
    struct Counter(usize);
    impl Write for Counter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, s).expect("a string serializes");
    counter.0
}

/// Cuts a stream of lines into consecutive parts of at most `max_requests` lines and
/// `max_bytes` bytes each, as the lines come: [`PartSplitter::push`] says whether a line opens a
/// new part. A single line larger than `max_bytes` gets a part of its own (the provider will then
/// reject that file; a row id is at most 64 characters, so only an absurdly long title can do
/// this).
#[derive(Clone, Debug)]
pub struct PartSplitter {
    max_requests: usize,
    max_bytes: usize,
    lines: usize,
    bytes: usize,
}

impl Default for PartSplitter {
    /// The Batch API's limits: [`MAX_REQUESTS_PER_BATCH`] lines, [`MAX_FILE_BYTES`] bytes.
    fn default() -> Self {
        PartSplitter::new(MAX_REQUESTS_PER_BATCH, MAX_FILE_BYTES)
    }
}

impl PartSplitter {
    /// A splitter with these limits.
    ///
    /// # Panics
    /// When `max_requests` is 0.
    pub fn new(max_requests: usize, max_bytes: usize) -> PartSplitter {
        assert!(max_requests > 0, "max_requests must be at least 1");
        PartSplitter {
            max_requests,
            max_bytes,
            lines: 0,
            bytes: 0,
        }
    }

    /// Takes the next line, `len` bytes long: true when it opens a new part (the first line does).
    pub fn push(&mut self, len: usize) -> bool {
        let opens =
            self.lines == 0 || self.lines == self.max_requests || self.bytes + len > self.max_bytes;
        if opens {
            self.lines = 0;
            self.bytes = 0;
        }
        self.lines += 1;
        self.bytes += len;
        opens
    }
}

/// Builds the whole input file in memory, reserving its size up front (measured with the
/// template) so that a 100 MB file is not copied while it grows. Prefer [`write_jsonl`] into a
/// file: this holds the whole file.
///
/// # Errors
/// As [`write_jsonl`].
pub fn build_jsonl(spec: &ModelSpec, rows: &[RowInput]) -> io::Result<Vec<u8>> {
    let template = LineTemplate::new(spec);
    let size = rows
        .iter()
        .map(|row| template.line_len(row.id.as_str(), &row.title))
        .sum();
    let mut out = Vec::with_capacity(size);
    write_jsonl(spec, rows, &mut out)?;
    Ok(out)
}

/// Writes the input file for `rows`: one line per row, each ended by `\n`, in row order. Returns the
/// bytes written.
///
/// Each line is written into a reused buffer by the model's [`LineTemplate`] and handed to `out`
/// with one `write_all`, so an unbuffered writer is fine.
///
/// # Errors
/// `InvalidInput` (nothing written) when two rows share an id — `custom_id` must be unique within a
/// batch — or when there are more than [`MAX_REQUESTS_PER_BATCH`] rows (cut them
/// into parts with [`RowParts`]); otherwise any error of `out`.
pub fn write_jsonl<W: Write>(spec: &ModelSpec, rows: &[RowInput], mut out: W) -> io::Result<usize> {
    if rows.len() > MAX_REQUESTS_PER_BATCH {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} rows exceed the Batch API's {MAX_REQUESTS_PER_BATCH} requests per batch; cut them into parts with RowParts",
                rows.len()
            ),
        ));
    }
    let mut seen = HashSet::with_capacity(rows.len());
    for row in rows {
        if !seen.insert(row.id.as_str()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "row id `{}` appears twice; custom_id must be unique within a batch",
                    row.id
                ),
            ));
        }
    }
    let template = LineTemplate::new(spec);
    let mut buf = Vec::with_capacity(4096);
    let mut written = 0;
    for row in rows {
        buf.clear();
        written += template.write_line(&mut buf, row.id.as_str(), &row.title);
        out.write_all(&buf)?;
    }
    out.flush()?;
    Ok(written)
}

/// Writes one input file a page of rows at a time, in bounded memory: the same lines as
/// [`write_jsonl`], with its checks across every page (each `custom_id` once, at most
/// [`MAX_REQUESTS_PER_BATCH`] lines). Each line is made by the model's [`LineTemplate`] in a reused
/// buffer and handed to `out` with one `write_all`.
#[derive(Debug)]
pub struct JsonlWriter<W> {
    template: LineTemplate,
    out: W,
    seen: HashSet<String>,
    buf: Vec<u8>,
    lines: usize,
    written: usize,
}

impl<W: Write> JsonlWriter<W> {
    /// A writer of `spec`'s lines into `out` (give it a buffered writer for a file).
    pub fn new(spec: &ModelSpec, out: W) -> JsonlWriter<W> {
        JsonlWriter {
            template: LineTemplate::new(spec),
            out,
            seen: HashSet::new(),
            buf: Vec::with_capacity(4096),
            lines: 0,
            written: 0,
        }
    }

    /// Appends the lines of `rows`, in order.
    ///
    /// # Errors
    /// `InvalidInput` when a row's id was written before (`custom_id` must be unique within a
    /// batch) or the file would pass [`MAX_REQUESTS_PER_BATCH`] lines — the file is then
    /// incomplete: discard it; otherwise any error of `out`.
    pub fn write_rows(&mut self, rows: &[RowInput]) -> io::Result<()> {
        for row in rows {
            let id = row.id.as_str();
            if self.lines == MAX_REQUESTS_PER_BATCH {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "more than the Batch API's {MAX_REQUESTS_PER_BATCH} requests per batch; split the rows with PartSplitter"
                    ),
                ));
            }
            if !self.seen.insert(id.to_owned()) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("row id `{id}` appears twice; custom_id must be unique within a batch"),
                ));
            }
            self.buf.clear();
            self.written += self.template.write_line(&mut self.buf, id, &row.title);
            self.lines += 1;
            self.out.write_all(&self.buf)?;
        }
        Ok(())
    }

    /// Flushes `out` and returns the lines and bytes written.
    ///
    /// # Errors
    /// Any error of `out`.
    pub fn finish(mut self) -> io::Result<(usize, usize)> {
        self.out.flush()?;
        Ok((self.lines, self.written))
    }
}

/// Splits rows into consecutive chunks that each fit one batch: at most
/// [`MAX_REQUESTS_PER_BATCH`] lines and at most [`MAX_FILE_BYTES`] bytes of JSONL as
/// [`write_jsonl`] writes it. No rows give no chunks.
#[cfg(test)]
fn split_into_batches<'r>(spec: &ModelSpec, rows: &'r [RowInput]) -> Vec<&'r [RowInput]> {
    split_into_batches_with_limits(spec, rows, MAX_REQUESTS_PER_BATCH, MAX_FILE_BYTES)
}

/// [`split_into_batches`] with other limits (for tests, or a provider with smaller limits), by
/// [`RowParts`].
///
/// # Panics
/// When `max_requests` is 0.
#[cfg(test)]
fn split_into_batches_with_limits<'r>(
    spec: &ModelSpec,
    rows: &'r [RowInput],
    max_requests: usize,
    max_bytes: usize,
) -> Vec<&'r [RowInput]> {
    let mut parts = RowParts::with_limits(spec, max_requests, max_bytes);
    let mut chunks = Vec::new();
    let mut start = 0;
    for (i, row) in rows.iter().enumerate() {
        if parts.push(row) && i > start {
            chunks.push(&rows[start..i]);
            start = i;
        }
    }
    if start < rows.len() {
        chunks.push(&rows[start..]);
    }
    chunks
}

/// Rows cut into parts as they come: a [`PartSplitter`] over each row's line length as the
/// model's [`LineTemplate`] measures it. The one rule [`split_into_batches`] and a submission cut
/// from pages of stored rows share.
#[derive(Clone, Debug)]
pub struct RowParts {
    template: LineTemplate,
    splitter: PartSplitter,
}

impl RowParts {
    /// Parts within the Batch API's limits ([`MAX_REQUESTS_PER_BATCH`], [`MAX_FILE_BYTES`]).
    pub fn new(spec: &ModelSpec) -> RowParts {
        RowParts::with_limits(spec, MAX_REQUESTS_PER_BATCH, MAX_FILE_BYTES)
    }

    /// Parts within other limits.
    ///
    /// # Panics
    /// When `max_requests` is 0.
    fn with_limits(spec: &ModelSpec, max_requests: usize, max_bytes: usize) -> RowParts {
        RowParts {
            template: LineTemplate::new(spec),
            splitter: PartSplitter::new(max_requests, max_bytes),
        }
    }

    /// Takes the next row: true when its line opens a new part (the first row's does).
    pub fn push(&mut self, row: &RowInput) -> bool {
        self.splitter
            .push(self.template.line_len(row.id.as_str(), &row.title))
    }
}

/// What is wrong with one line of a batch input file, for a file made elsewhere: the line must be
/// a JSON object with a string `custom_id` and non-null `url` and `body`
/// (<https://platform.openai.com/docs/api-reference/batch/request-input>). Returns the
/// `custom_id`. The line is scanned once; nothing but the id is kept.
///
/// # Errors
/// A sentence saying what is wrong: not JSON, no string `custom_id`, or no `url`/`body`.
pub fn check_line(line: &str) -> Result<Cow<'_, str>, String> {
    #[derive(serde::Deserialize)]
    struct Request<'a> {
        #[serde(borrow, default)]
        custom_id: Option<Cow<'a, str>>,
        #[serde(default)]
        url: Option<NonNull>,
        #[serde(default)]
        body: Option<NonNull>,
    }
    let no_id = || "no string `custom_id`: build the file with `almanac batch build`".to_owned();
    if !line.trim_start().starts_with('{') {
        // Not an object (an array, a string…): it names no request.
        return match serde_json::from_str::<serde::de::IgnoredAny>(line) {
            Ok(_) => Err(no_id()),
            Err(e) => Err(format!("not JSON: {e}")),
        };
    }
    let request: Request<'_> = serde_json::from_str(line).map_err(|e| {
        if e.is_data() {
            // Valid JSON of another shape (e.g. a number for `custom_id`).
            no_id()
        } else {
            format!("not JSON: {e}")
        }
    })?;
    let id = request.custom_id.ok_or_else(no_id)?;
    let present = |field: Option<NonNull>| field.is_some_and(|NonNull(present)| present);
    if !present(request.url) || !present(request.body) {
        return Err("a request line needs `method`, `url` and `body`".into());
    }
    Ok(id)
}

/// Whether a JSON value is anything but `null` (the value itself is skipped).
struct NonNull(bool);

impl<'de> serde::Deserialize<'de> for NonNull {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::IgnoredAny;
        let value = Option::<IgnoredAny>::deserialize(d)?;
        Ok(NonNull(value.is_some()))
    }
}

/// Bytes of a row's line including its `\n`.
#[cfg(test)]
fn line_len(spec: &ModelSpec, row: &RowInput) -> usize {
    LineTemplate::new(spec).line_len(row.id.as_str(), &row.title)
}

#[cfg(test)]
mod tests {
    use super::*;
    use almanac_core::catalog::Catalog;
    use almanac_core::domain::RowId;
    use serde_json::Value;

    fn row(id: &str, title: &str) -> RowInput {
        RowInput {
            id: RowId::parse(id).unwrap(),
            title: title.into(),
        }
    }

    fn spec(id: &str) -> &'static ModelSpec {
        Catalog::builtin().resolve(id).unwrap()
    }

    const SAMPLE_INPUT: &str = include_str!(
        "../../../fixtures/reference/openai-batch/sample-input-chat-completions.jsonl"
    );

    #[test]
    fn a_line_has_the_same_envelope_as_the_recorded_sample_input() {
        let sample: Value = serde_json::from_str(SAMPLE_INPUT.lines().next().unwrap()).unwrap();
        let ours = request_line(
            spec("gpt-4.1-mini-2025-04-14"),
            &row("04-01", "오키나와 전투 개시"),
        );
        let keys = |v: &Value| {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(keys(&ours), keys(&sample));
        assert_eq!(ours["method"], sample["method"]);
        assert_eq!(ours["url"], sample["url"]);
        assert_eq!(ours["custom_id"], "04-01");
        let messages = ours["body"]["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0]["role"], sample["body"]["messages"][0]["role"]);
        assert_eq!(messages[1]["role"], sample["body"]["messages"][1]["role"]);
        assert_eq!(messages[0]["content"], prompt::SYSTEM_PROMPT);
        assert_eq!(
            messages[1]["content"],
            "Historical event: 오키나와 전투 개시"
        );
        assert_eq!(ours["body"]["model"], "gpt-4.1-mini-2025-04-14");
        assert_eq!(ours["body"]["response_format"], prompt::response_format());
    }

    #[test]
    fn non_reasoning_models_get_temperature_and_max_tokens() {
        let s = spec("gpt-4.1-2025-04-14");
        let body = &request_line(s, &row("a", "3·1 운동"))["body"];
        assert_eq!(body["max_tokens"], s.max_output_tokens);
        assert!(
            body["temperature"]
                .as_f64()
                .is_some_and(|t| (t - 0.7).abs() < 1e-6)
        );
        assert!(body.get("max_completion_tokens").is_none());
        assert!(body.get("reasoning_effort").is_none());
    }

    #[test]
    fn reasoning_models_get_no_temperature_and_use_max_completion_tokens() {
        for id in [
            "o4-mini-2025-04-16",
            "o3-2025-04-16",
            "o3-mini-2025-01-31",
            "gpt-5-mini-2025-08-07",
        ] {
            let s = spec(id);
            let body = &request_line(s, &row("a", "3·1 운동"))["body"];
            assert!(body.get("temperature").is_none(), "{id}");
            assert!(body.get("max_tokens").is_none(), "{id}");
            assert_eq!(body["max_completion_tokens"], s.max_output_tokens, "{id}");
            assert_eq!(body["reasoning_effort"], "low", "{id}");
        }
    }

    #[test]
    fn every_written_line_is_json_ending_in_a_newline_with_the_row_id_as_custom_id() {
        let rows = vec![
            row("01-27", "아우슈비츠 강제 수용소 해방"),
            row("03-01", "3·1 운동 \"만세\"\n"),
        ];
        let mut out = Vec::new();
        let n = write_jsonl(spec("o4-mini-2025-04-16"), &rows, &mut out).unwrap();
        assert_eq!(n, out.len());
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with('\n'));
        let lines: Vec<&str> = text.split_terminator('\n').collect();
        assert_eq!(lines.len(), 2);
        for (line, row) in lines.iter().zip(&rows) {
            let v: Value = serde_json::from_str(line).unwrap();
            assert_eq!(v, request_line(spec("o4-mini-2025-04-16"), row));
            assert_eq!(v["custom_id"], row.id.as_str());
            assert_eq!(line_len(spec("o4-mini-2025-04-16"), row), line.len() + 1);
        }
    }

    #[test]
    fn duplicate_row_ids_are_refused_before_anything_is_written() {
        let rows = vec![row("a", "x"), row("b", "y"), row("a", "z")];
        let mut out = Vec::new();
        let err = write_jsonl(spec("gpt-4.1-mini-2025-04-14"), &rows, &mut out).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("`a` appears twice"), "{err}");
        assert!(out.is_empty());
    }

    #[test]
    fn writing_50000_rows_stays_under_the_file_limit_and_one_more_is_refused() {
        let rows: Vec<RowInput> = (0..MAX_REQUESTS_PER_BATCH)
            .map(|i| row(&format!("{i:05}"), "제2차 세계 대전 종전과 포츠담 선언"))
            .collect();
        // Speed is the pipeline benchmark's to measure, not a test's.
        let mut out = Vec::new();
        let n = write_jsonl(spec("gpt-4.1-mini-2025-04-14"), &rows, &mut out).unwrap();
        assert_eq!(
            out.iter().filter(|&&b| b == b'\n').count(),
            MAX_REQUESTS_PER_BATCH
        );
        assert!(n < MAX_FILE_BYTES);
        let one_more = [rows.as_slice(), &[row("extra", "x")]].concat();
        let err = write_jsonl(spec("gpt-4.1-mini-2025-04-14"), &one_more, io::sink()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn splitting_respects_the_request_limit() {
        let s = spec("gpt-4.1-mini-2025-04-14");
        let rows: Vec<RowInput> = (0..7).map(|i| row(&format!("r{i}"), "t")).collect();
        let chunks = split_into_batches_with_limits(s, &rows, 3, usize::MAX);
        let sizes: Vec<usize> = chunks.iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [3, 3, 1]);
        assert_eq!(chunks.concat(), rows);
        assert!(split_into_batches(s, &[]).is_empty());
        assert_eq!(split_into_batches(s, &rows), vec![rows.as_slice()]);
    }

    #[test]
    fn splitting_respects_the_byte_limit_measured_as_written() {
        let s = spec("gpt-4.1-mini-2025-04-14");
        let rows: Vec<RowInput> = (0..10)
            .map(|i| row(&format!("r{i}"), &"가".repeat(i * 50)))
            .collect();
        let max_bytes = 3 * line_len(s, &rows[9]);
        let chunks = split_into_batches_with_limits(s, &rows, 1000, max_bytes);
        assert!(chunks.len() > 1);
        assert_eq!(chunks.concat(), rows);
        for chunk in &chunks {
            let mut out = Vec::new();
            let n = write_jsonl(s, chunk, &mut out).unwrap();
            assert!(n <= max_bytes, "{n} > {max_bytes}");
        }
        // A line larger than the limit still gets a chunk of its own rather than vanishing.
        let chunks = split_into_batches_with_limits(s, &rows, 1000, 10);
        assert_eq!(chunks.len(), rows.len());
    }
    #[test]
    fn a_templated_line_is_byte_for_byte_the_serialised_line() {
        let titles = [
            "오키나와 전투 개시",
            "3·1 운동 \"만세\"\n\ttab \\ back",
            "  padded  ",
            "\u{1}control",
            "",
        ];
        for id in [
            "o4-mini-2025-04-16",
            "gpt-4.1-mini-2025-04-14",
            "o3-2025-04-16",
        ] {
            let s = spec(id);
            let template = LineTemplate::new(s);
            for (n, title) in titles.iter().enumerate() {
                let row = row(&format!("id-{n}\"q"), title);
                let mut expected = serde_json::to_vec(&line(s, &row)).unwrap();
                expected.push(b'\n');
                let mut got = Vec::new();
                let len = template.write_line(&mut got, row.id.as_str(), &row.title);
                assert_eq!(
                    String::from_utf8(got).unwrap(),
                    String::from_utf8(expected.clone()).unwrap(),
                    "{id}"
                );
                assert_eq!(len, expected.len());
                assert_eq!(
                    template.line_len(row.id.as_str(), &row.title),
                    expected.len()
                );
            }
        }
    }

    #[test]
    fn the_splitter_opens_a_part_at_the_first_line_and_at_each_limit() {
        let mut s = PartSplitter::new(2, 100);
        let opens: Vec<bool> = [10, 10, 10, 60, 40, 200, 1]
            .iter()
            .map(|&n| s.push(n))
            .collect();
        assert_eq!(opens, [true, false, true, false, true, true, true]);
    }

    #[test]
    fn input_lines_of_other_programs_are_checked_for_an_id_a_url_and_a_body() {
        let good =
            String::from_utf8(build_jsonl(spec("o3-2025-04-16"), &[row("a\"1", "x")]).unwrap())
                .unwrap();
        assert_eq!(check_line(good.trim()).unwrap(), "a\"1");
        let bad = [
            (
                "{\"custom_id\": 5, \"url\": 1, \"body\": {}}",
                "no string `custom_id`",
            ),
            ("[1, 2]", "no string `custom_id`"),
            ("{\"url\": \"/v1\", \"body\": {}}", "no string `custom_id`"),
            (
                "{\"custom_id\": \"a\", \"url\": null, \"body\": {}}",
                "needs `method`, `url` and `body`",
            ),
            (
                "{\"custom_id\": \"a\", \"url\": \"/v1\"}",
                "needs `method`, `url` and `body`",
            ),
            ("{\"custom_id\": \"a\",", "not JSON"),
        ];
        for (line, needle) in bad {
            let e = check_line(line).unwrap_err();
            assert!(e.contains(needle), "{line}: {e}");
        }
    }
}
