//! Where batch input files wait for their upload: one folder per process under
//! `<temp dir>/almanac-uploads/`, holding a `lock` file the process keeps locked (`flock`) for
//! its whole life. The kernel drops the lock when the process ends, however it ends (SIGKILL
//! included), so the next process to start ([`Spool::start`]) knows which folders belong to dead
//! processes and removes them with the files they left between writing and uploading. A folder
//! is locked before it appears under its final name (it is made as `.staging-…`, then renamed),
//! so a sweep never mistakes a starting process for a dead one.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The name of the lock file in each process's folder.
const LOCK: &str = "lock";
/// The prefix of a folder being made (never swept: it holds no input file yet).
const STAGING: &str = ".staging-";

/// This process's upload folders (see the module documentation).
#[derive(Debug)]
pub(crate) struct Spool {
    /// `<temp dir>/almanac-uploads`.
    root: PathBuf,
    /// This process's folder, made at its first upload.
    own: Mutex<Option<Own>>,
}

/// A process's folder and its held lock (removed when the process ends normally).
#[derive(Debug)]
struct Own {
    dir: PathBuf,
    _lock: File,
}

impl Drop for Own {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Spool {
    /// The spool under `root` (the server uses `<temp dir>/almanac-uploads`), after removing the
    /// folders of processes that are gone. A folder that cannot be read or removed is logged and
    /// left.
    pub(crate) fn start(root: PathBuf) -> Spool {
        match sweep(&root) {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(folders = n, root = %root.display(), "removed batch input files left by stopped processes")
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(error = %e, root = %root.display(), "cannot sweep batch input files left by stopped processes")
            }
        }
        Spool {
            root,
            own: Mutex::new(None),
        }
    }

    /// A new empty folder for one input file, inside this process's folder; it is removed when
    /// dropped, and by the next start if the process is killed first.
    ///
    /// # Errors
    /// The I/O error when the folder cannot be made.
    pub(crate) fn folder(&self) -> io::Result<tempfile::TempDir> {
        let mut own = self.own.lock().unwrap_or_else(|e| e.into_inner());
        if own.as_ref().is_none_or(|o| !o.dir.is_dir()) {
            *own = Some(make_own(&self.root)?);
        }
        let dir = &own.as_ref().expect("made above").dir;
        tempfile::Builder::new().prefix("part-").tempdir_in(dir)
    }
}

/// Makes this process's folder under `root`, locked before it gets its final name.
fn make_own(root: &Path) -> io::Result<Own> {
    std::fs::create_dir_all(root)?;
    let staging = tempfile::Builder::new()
        .prefix(STAGING)
        .tempdir_in(root)?
        .keep();
    let lock = File::create(staging.join(LOCK))?;
    lock.try_lock().map_err(io::Error::other)?;
    let name = staging
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix(STAGING))
        .map(|n| format!("process-{n}"))
        .ok_or_else(|| io::Error::other("unexpected staging folder name"))?;
    let dir = root.join(name);
    std::fs::rename(&staging, &dir)?;
    Ok(Own { dir, _lock: lock })
}

/// Removes the folders under `root` whose lock no live process holds; returns how many.
fn sweep(root: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(STAGING) || !entry.file_type()?.is_dir() {
            continue;
        }
        let dir = entry.path();
        let dead = match File::options().write(true).open(dir.join(LOCK)) {
            Ok(lock) => lock.try_lock().is_ok(),
            // A folder under a final name always has its lock file: none means nothing lives.
            Err(e) => e.kind() == io::ErrorKind::NotFound,
        };
        if dead {
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => removed += 1,
                Err(e) => {
                    tracing::warn!(error = %e, dir = %dir.display(), "cannot remove a stopped process's batch input files")
                }
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_of_stopped_processes_are_removed_at_start_and_live_ones_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("almanac-uploads");
        // A live process with an input file waiting for its upload.
        let live = Spool::start(root.clone());
        let part = live.folder().unwrap();
        std::fs::write(part.path().join("almanac-j1-0-0.jsonl"), "{}\n").unwrap();
        // A process killed between writing and uploading: its folder stays, its lock is gone.
        let killed = root.join("process-killed");
        std::fs::create_dir_all(killed.join("part-x")).unwrap();
        File::create(killed.join(LOCK)).unwrap();
        std::fs::write(killed.join("part-x/almanac-j2-0-0.jsonl"), "{}\n").unwrap();
        let next = Spool::start(root.clone());
        assert!(!killed.exists(), "the killed process's file is removed");
        assert!(part.path().join("almanac-j1-0-0.jsonl").exists());
        // The new process's folders are its own; a normal end removes them.
        let mine = next.folder().unwrap();
        assert!(mine.path().starts_with(&root));
        drop((mine, next, part, live));
        assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
    }
}
