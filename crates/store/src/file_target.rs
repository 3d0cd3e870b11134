//! Jobs whose result goes to a file (`almanac run`) rather than a sheet: the `file_targets` table
//! of `migrations/0004_file_targets.sql`. Such a job shares everything else with a sheet job — rows,
//! batches, the worker's steps — so a run that is interrupted resumes like any job.

use almanac_core::ids::JobId;
use sqlx::{AssertSqlSafe, FromRow};

use crate::jobs::{insert_job_in, terminal_list};
use crate::pool::{in_tx, on_pool};
use crate::records::{JOB_COLUMNS, JobRecord, JobRow, NewJob, NewRow};
use crate::{Store, StoreResult};

/// Where a file job reads its rows and writes its result.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct FileTarget {
    /// The job.
    pub job_id: JobId,
    /// Absolute path of the input file.
    pub input_path: String,
    /// Absolute path of the output file (written atomically when the job ends).
    pub output_path: String,
    /// `csv` or `json`.
    pub format: String,
    /// 0-based first data row selected.
    pub start_row: i64,
    /// 0-based data row after the last one selected; `None` = to the end.
    pub end_row: Option<i64>,
    /// Also save the batch input JSONL and the downloaded result files next to the output.
    pub keep_temp_files: bool,
}

impl Store {
    /// Inserts a file job, its rows and its target in one transaction.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure (nothing is inserted then).
    pub async fn insert_file_job(
        &self,
        job: &NewJob,
        rows: &[NewRow],
        target: &FileTarget,
    ) -> StoreResult<()> {
        in_tx!(self.pool(), tx => {
            insert_job_in!(self.pool(), tx, job, rows);
            sqlx::query(
                "INSERT INTO file_targets (job_id, input_path, output_path, format, start_row, end_row, keep_temp_files) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&job.id)
            .bind(&target.input_path)
            .bind(&target.output_path)
            .bind(&target.format)
            .bind(target.start_row)
            .bind(target.end_row)
            .bind(target.keep_temp_files)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// The file target of a job; `None` for a sheet job.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn file_target(&self, job_id: &JobId) -> StoreResult<Option<FileTarget>> {
        Ok(on_pool!(self.pool(), p => sqlx::query_as(
            "SELECT job_id, input_path, output_path, format, start_row, end_row, keep_temp_files FROM file_targets WHERE job_id = $1",
        )
        .bind(job_id)
        .fetch_optional(p)
        .await?))
    }

    /// The newest file job from `input_path` to `output_path` that is not finished, or that
    /// finished with answers still unwritten (its write failed): the job a new run must resume
    /// instead of paying for a second batch.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn unfinished_file_job(
        &self,
        input_path: &str,
        output_path: &str,
    ) -> StoreResult<Option<JobRecord>> {
        let terminal = terminal_list();
        let columns = JOB_COLUMNS
            .split(", ")
            .map(|c| format!("j.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns} FROM jobs j JOIN file_targets f ON f.job_id = j.id
             WHERE f.input_path = $1 AND f.output_path = $2
               AND (j.status NOT IN ({terminal})
                    OR EXISTS (SELECT 1 FROM job_rows r WHERE r.job_id = j.id AND r.state = 'generated'))
             ORDER BY j.created_at DESC, j.id DESC LIMIT 1"
        );
        let row: Option<JobRow> = on_pool!(self.pool(), p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(input_path)
            .bind(output_path)
            .fetch_optional(p)
            .await?);
        row.map(JobRecord::try_from).transpose()
    }
}

#[cfg(test)]
mod tests {
    use almanac_protocol::{JobStatus, Mode, RowState};

    use super::*;
    use crate::records::Destination;

    fn job(id: &str, status: JobStatus) -> NewJob {
        NewJob {
            id: id.into(),
            owner: "cli".into(),
            destination: Destination::File {
                path: "/in.csv".into(),
            },
            sheet_title: "in.csv".into(),
            spans: vec![],
            model: "gpt-4.1-mini-2025-04-14".into(),
            mode: Mode::Batch,
            overwrite: false,
            status,
        }
    }

    fn target(id: &str, output: &str) -> FileTarget {
        FileTarget {
            job_id: id.into(),
            input_path: "/in.csv".into(),
            output_path: output.into(),
            format: "csv".into(),
            start_row: 0,
            end_row: Some(10),
            keep_temp_files: true,
        }
    }

    fn row(state: RowState) -> NewRow {
        NewRow {
            row_id: "01-01".into(),
            title: "t".into(),
            row_number: 2,
            state,
            reason: None,
            failure_code: None,
        }
    }

    #[tokio::test]
    async fn a_running_job_is_found_by_its_paths_and_a_finished_one_is_not() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let running = job("j1", JobStatus::InProgress);
        store
            .insert_file_job(
                &running,
                &[row(RowState::Pending)],
                &target("j1", "/out.csv"),
            )
            .await
            .unwrap();
        assert_eq!(
            store.file_target(&"j1".into()).await.unwrap(),
            Some(target("j1", "/out.csv"))
        );
        let found = store
            .unfinished_file_job("/in.csv", "/out.csv")
            .await
            .unwrap();
        assert_eq!(found.map(|j| j.id).as_deref(), Some("j1"));
        assert!(
            store
                .unfinished_file_job("/in.csv", "/other.csv")
                .await
                .unwrap()
                .is_none()
        );
        store
            .set_status(&"j1".into(), JobStatus::Writing, None)
            .await
            .unwrap();
        store
            .set_status(&"j1".into(), JobStatus::Completed, None)
            .await
            .unwrap();
        assert!(
            store
                .unfinished_file_job("/in.csv", "/out.csv")
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_failed_job_with_unwritten_answers_is_found_and_a_sheet_job_has_no_target() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store
            .insert_file_job(
                &job("j1", JobStatus::Failed),
                &[row(RowState::Generated)],
                &target("j1", "/out.csv"),
            )
            .await
            .unwrap();
        let found = store
            .unfinished_file_job("/in.csv", "/out.csv")
            .await
            .unwrap();
        assert_eq!(found.map(|j| j.id).as_deref(), Some("j1"));
        store
            .insert_job(&job("j2", JobStatus::Created), &[])
            .await
            .unwrap();
        assert_eq!(store.file_target(&"j2".into()).await.unwrap(), None);
    }
}
