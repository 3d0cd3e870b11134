//! Where a job's answers go: a Google Sheet ([`sheet`], the sidebar's jobs) or an events file
//! ([`file`], the command line's `almanac run`). Both read their destination again at write time,
//! locate rows by id, never replace a filled cell unless the job asked to, and settle each written
//! row; answers stay stored until then, so a failed write is retried, never dropped.

pub(crate) mod file;
pub(crate) mod sheet;

use almanac_store::{FileTarget, JobRecord};

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
    /// The destination of `job` (a job with a row in `file_targets` writes a file).
    ///
    /// # Errors
    /// [`StepError::Store`] on a database failure.
    pub async fn of(svc: &Services, job: &JobRecord) -> Result<Target, StepError> {
        Ok(match svc.store.file_target(&job.id).await? {
            Some(file) => Target::File(file),
            None => Target::Sheet,
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
