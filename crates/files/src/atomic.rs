//! Atomic writes: a file is written as a temporary file in the same folder, flushed to disk, then
//! renamed over its path, so a reader sees the old file or the whole new one, never half of it,
//! and a crash or an error leaves the old file untouched. [`AtomicFile`] does it as a stream (a
//! file of any size through a fixed buffer); [`write_atomic`] for bytes already in memory.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::types::{FileError, err};

/// Bytes buffered before they reach the temporary file.
const BUFFER_BYTES: usize = 64 * 1024;

/// A file being written in place of `path`: a temporary file beside it (`.almanac-*.tmp`) behind a
/// 64 KiB buffer. [`AtomicFile::commit`] flushes it to disk and renames it over `path`; dropped
/// without a commit, the temporary file is removed and `path` is untouched. A file that is
/// replaced keeps its permissions; a new one is created `rw-r--r--` on Unix.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    tmp: BufWriter<tempfile::NamedTempFile>,
}

impl AtomicFile {
    /// Starts writing `path`.
    ///
    /// # Errors
    /// [`FileError`] when the folder is not writable.
    pub fn create(path: &Path) -> Result<AtomicFile, FileError> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".almanac-").suffix(".tmp");
        // A replaced file keeps its permissions; a new one gets the usual rw-r--r-- (a temporary
        // file would otherwise be private to its owner).
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
        let tmp = builder
            .tempfile_in(&dir)
            .map_err(|e| write_error(path, &e))?;
        Ok(AtomicFile {
            path: path.to_owned(),
            tmp: BufWriter::with_capacity(BUFFER_BYTES, tmp),
        })
    }

    /// The path the file will have once committed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The error of a failed write to this file, as a [`FileError`] naming its path.
    pub fn error(&self, e: &io::Error) -> FileError {
        write_error(&self.path, e)
    }

    /// Flushes the file to disk and renames it over its path.
    ///
    /// # Errors
    /// [`FileError`] when the disk is full or the rename fails; the path is then untouched.
    pub fn commit(self) -> Result<(), FileError> {
        let path = self.path.clone();
        self.commit_as(&path)
    }

    /// Like [`AtomicFile::commit`], but renames the file over `path` instead, which must be in
    /// the same folder (the file was named before it was known which path it gets).
    ///
    /// # Errors
    /// As [`AtomicFile::commit`].
    pub fn commit_as(self, path: &Path) -> Result<(), FileError> {
        let tmp = self
            .tmp
            .into_inner()
            .map_err(|e| write_error(path, e.error()))?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| write_error(path, &e))?;
        tmp.persist(path).map_err(|e| write_error(path, &e.error))?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tmp.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.tmp.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tmp.flush()
    }
}

fn write_error(path: &Path, e: &io::Error) -> FileError {
    err(path, None, format!("cannot write: {e}"))
}

/// Writes `bytes` to `path` atomically (an [`AtomicFile`] written at once).
///
/// # Errors
/// [`FileError`] when the folder is not writable or the disk is full; `path` is then untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes).map_err(|e| file.error(&e))?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn an_atomic_write_keeps_the_permissions_of_the_file_it_replaces() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        std::fs::write(&path, b"old").unwrap();
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
    fn a_file_dropped_before_its_commit_leaves_the_old_one_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        std::fs::write(&path, b"old").unwrap();
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(&vec![b'x'; 1 << 20]).unwrap();
        drop(file);
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"new").unwrap();
        file.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }
}
