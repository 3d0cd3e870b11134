//! JSONL files read in 1 MiB blocks, every non-blank line handed over one at a time (a file of
//! any size is read in bounded memory), by `batch submit` and `batch results`.

use std::path::Path;

use almanac_openai::output;

use crate::cli::common::CliError;

/// One line of a JSONL file as [`output::LineSplitter`] hands it over.
pub(super) type Line<'a> = Result<(usize, &'a str), output::LineError>;

/// Reads a JSONL file in 1 MiB blocks (each block seen by `block`, e.g. to hash it) and hands
/// every non-blank line to `each`, holding one line at a time.
pub(super) fn read_lines(
    path: &Path,
    block: &mut dyn FnMut(&[u8]),
    each: &mut dyn FnMut(Line<'_>) -> Result<(), CliError>,
) -> Result<(), CliError> {
    use std::io::Read as _;
    let unreadable =
        |e: std::io::Error| CliError::bad_input(format!("{}: cannot read: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let mut buffer = vec![0; 1 << 20];
    let mut lines = output::LineSplitter::new();
    let mut each = |line: Line<'_>| each(line);
    loop {
        let n = file.read(&mut buffer).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        block(&buffer[..n]);
        lines.push(&buffer[..n], &mut each)?;
    }
    lines.finish(&mut each)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_non_blank_line_is_handed_over_numbered_and_every_block_seen() {
        let path =
            std::env::temp_dir().join(format!("almanac-lines-{}.jsonl", uuid::Uuid::new_v4()));
        std::fs::write(&path, "{\"a\":1}\n\n{\"b\":2}").unwrap();
        let (mut bytes, mut seen) = (0, Vec::new());
        read_lines(&path, &mut |b| bytes += b.len(), &mut |line| {
            let (n, text) = line.unwrap();
            seen.push((n, text.to_owned()));
            Ok(())
        })
        .unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(bytes, 16);
        assert_eq!(
            seen,
            vec![(1, "{\"a\":1}".to_owned()), (3, "{\"b\":2}".to_owned())]
        );
    }

    #[test]
    fn a_missing_file_is_bad_input_naming_it() {
        let path = Path::new("/nonexistent/almanac.jsonl");
        let e = read_lines(path, &mut |_| {}, &mut |_| Ok(())).unwrap_err();
        assert!(
            e.message.contains("/nonexistent/almanac.jsonl"),
            "{}",
            e.message
        );
    }
}
