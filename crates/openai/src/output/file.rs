//! Whole output and error files: every non-blank line parsed in file order ([`parse_file`]),
//! or cut from chunks as they arrive ([`LineSplitter`], [`parse_numbered`]), and a batch's two
//! files gathered into results keyed by `custom_id` ([`collect_results`]).

use std::collections::HashMap;

use crate::output::line::parse_line;
use crate::output::row::{LineError, ParsedLine};

/// Parses a whole output or error file, one item per non-blank line, in file order.
///
/// Lines are split on `\n` (a trailing `\r` is ignored). A [`LineError`] carries the 1-based line
/// number.
pub fn parse_file(bytes: &[u8]) -> impl Iterator<Item = Result<ParsedLine, LineError>> + '_ {
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, raw)| !raw.trim_ascii().is_empty())
        .map(|(i, raw)| {
            let number = i + 1;
            let text = std::str::from_utf8(raw.trim_ascii()).map_err(|e| LineError {
                line: Some(number),
                message: format!("not UTF-8 text: {e}"),
            })?;
            parse_line(text).map_err(|mut e| {
                e.line = Some(number);
                e
            })
        })
}

/// Cuts bytes that arrive in chunks (a download, a file read in blocks) into the lines of an
/// output or error file, by [`parse_file`]'s rules: split on `\n`, ASCII whitespace (a `\r`)
/// trimmed, blank lines skipped, lines numbered from 1. Holds only the line a chunk cut.
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
    /// Lines seen so far, blank ones included.
    lines: usize,
}

impl LineSplitter {
    /// A splitter at the start of a file.
    pub fn new() -> LineSplitter {
        LineSplitter::default()
    }

    /// Takes the next chunk; calls `each(number, line)` for every complete non-blank line in it
    /// (a line that is not UTF-8 comes as a [`LineError`]), stopping at the first error `each`
    /// returns.
    ///
    /// # Errors
    /// The first error of `each`.
    pub fn push<E>(
        &mut self,
        chunk: &[u8],
        each: &mut impl FnMut(Result<(usize, &str), LineError>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let (line, after) = rest.split_at(end);
            rest = &after[1..];
            if self.partial.is_empty() {
                self.emit(line, each)?;
            } else {
                let mut joined = std::mem::take(&mut self.partial);
                joined.extend_from_slice(line);
                self.emit(&joined, each)?;
            }
        }
        self.partial.extend_from_slice(rest);
        Ok(())
    }

    /// The end of the file: its last line, if it had no `\n`.
    ///
    /// # Errors
    /// The error of `each`.
    pub fn finish<E>(
        mut self,
        each: &mut impl FnMut(Result<(usize, &str), LineError>) -> Result<(), E>,
    ) -> Result<(), E> {
        let last = std::mem::take(&mut self.partial);
        if last.is_empty() {
            return Ok(());
        }
        self.emit(&last, each)
    }

    fn emit<E>(
        &mut self,
        raw: &[u8],
        each: &mut impl FnMut(Result<(usize, &str), LineError>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.lines += 1;
        let raw = raw.trim_ascii();
        if raw.is_empty() {
            return Ok(());
        }
        let number = self.lines;
        each(
            std::str::from_utf8(raw)
                .map(|text| (number, text))
                .map_err(|e| LineError {
                    line: Some(number),
                    message: format!("not UTF-8 text: {e}"),
                }),
        )
    }
}

/// [`parse_line`] of line `number`, the number set on its error.
///
/// # Errors
/// As [`parse_line`].
pub fn parse_numbered(number: usize, text: &str) -> Result<ParsedLine, LineError> {
    parse_line(text).map_err(|mut e| {
        e.line = Some(number);
        e
    })
}

/// The results of one batch, keyed by `custom_id`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchResults {
    /// One entry per `custom_id` seen in the output or error file.
    pub by_custom_id: HashMap<String, ParsedLine>,
    /// Lines that could not be attributed to a row.
    pub bad_lines: Vec<LineError>,
}

/// Parses a batch's output file and error file (either may be absent: a batch whose every request
/// failed has no output file) into results keyed by `custom_id`.
///
/// If a `custom_id` appears more than once (the service should never do this), a successful
/// outcome wins over a failed one, and otherwise the later line wins.
pub fn collect_results(output: Option<&[u8]>, errors: Option<&[u8]>) -> BatchResults {
    let mut results = BatchResults::default();
    let files = [output, errors];
    for item in files.into_iter().flatten().flat_map(parse_file) {
        match item {
            Ok(parsed) => {
                let keep_old = results
                    .by_custom_id
                    .get(&parsed.custom_id)
                    .is_some_and(|old| old.outcome.is_ok() && parsed.outcome.is_err());
                if !keep_old {
                    results
                        .by_custom_id
                        .insert(parsed.custom_id.clone(), parsed);
                }
            }
            Err(e) => results.bad_lines.push(e),
        }
    }
    results
}
