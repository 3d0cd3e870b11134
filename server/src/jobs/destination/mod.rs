//! Where a job's answers go: a Google Sheet ([`sheet`], the sidebar's jobs) or an events file
//! ([`file`], the command line's `almanac run`). Both read their destination again at write time,
//! locate rows by id, never replace a filled cell unless the job asked to, and settle each written
//! row; answers stay stored until then, so a failed write is retried, never dropped.

pub(crate) mod file;
pub(crate) mod sheet;

use almanac_store::{Destination, FileTarget, JobRecord, StoreError};

use crate::jobs::queue::step::StepError;
use crate::jobs::services::Services;

/// A job's destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The job's spreadsheet and sheet (by `sheetId`).
    Sheet,
    /// The output file of a command-line job.
    File(FileTarget),
}

impl Target {
    /// The destination of `job`, as its record says (a file job's paths are in `file_targets`).
    ///
    /// # Errors
    /// [`StepError::Store`] on a database failure, or `Corrupt` for a file job without its row
    /// in `file_targets`.
    pub async fn of(svc: &Services, job: &JobRecord) -> Result<Target, StepError> {
        Ok(match &job.destination {
            Destination::Sheet { .. } => Target::Sheet,
            Destination::File { path } => {
                let file = svc.store.file_target(&job.id).await?.ok_or_else(|| {
                    StoreError::Corrupt(format!("file job {} ({path}) has no file target", job.id))
                })?;
                Target::File(file)
            }
        })
    }

    /// Writes every answered row of the job to this destination (the `writing` step).
    ///
    /// # Errors
    /// [`StepError`] from Sheets, the file system or the store; the answers stay stored.
    pub async fn write(&self, svc: &Services, job: &JobRecord) -> Result<(), StepError> {
        match self {
            Target::Sheet => sheet::write(svc, job).await.map(|_| ()),
            Target::File(file) => file::write(svc, job, file).await,
        }
    }

    /// Writes the rows answered so far while a realtime run goes on: a sheet shows progress as it
    /// comes; a file is written once, at the end. Returns the rows settled.
    ///
    /// # Errors
    /// As [`Target::write`].
    pub async fn write_progress(
        &self,
        svc: &Services,
        job: &JobRecord,
    ) -> Result<usize, StepError> {
        match self {
            Target::Sheet => sheet::write(svc, job).await,
            Target::File(_) => Ok(0),
        }
    }
}
