//! Jobs whose result goes to a file (`almanac run`) rather than a sheet: the `file_targets` table
//! of `migrations/0004_file_targets.sql`. Such a job shares everything else with a sheet job — rows,
//! batches, the worker's steps — so a run that is interrupted resumes like any job.

use sqlx::{AssertSqlSafe, FromRow};

use super::{JOB_COLUMNS, JobRecord, NewJob, NewRow, Store, StoreResult, insert_job_in};

/// Where a file job reads its rows and writes its result.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct FileTarget {
    /// The job.
    pub job_id: String,
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
    /// [`super::StoreError::Sqlx`] on a database failure (nothing is inserted then).
    pub async fn insert_file_job(
        &self,
        job: &NewJob,
        rows: &[NewRow],
        target: &FileTarget,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        insert_job_in(&mut tx, job, rows).await?;
        sqlx::query(
            "INSERT INTO file_targets (job_id, input_path, output_path, format, start_row, end_row, keep_temp_files) VALUES (?, ?, ?, ?, ?, ?, ?)",
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
        tx.commit().await?;
        Ok(())
    }

    /// The file target of a job; `None` for a sheet job.
    ///
    /// # Errors
    /// [`super::StoreError::Sqlx`] on a database failure.
    pub async fn file_target(&self, job_id: &str) -> StoreResult<Option<FileTarget>> {
        Ok(sqlx::query_as(
            "SELECT job_id, input_path, output_path, format, start_row, end_row, keep_temp_files FROM file_targets WHERE job_id = ?",
        )
        .bind(job_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The newest file job from `input_path` to `output_path` that is not finished, or that
    /// finished with answers still unwritten (its write failed): the job a new run must resume
    /// instead of paying for a second batch.
    ///
    /// # Errors
    /// [`super::StoreError::Sqlx`] on a database failure.
    pub async fn unfinished_file_job(
        &self,
        input_path: &str,
        output_path: &str,
    ) -> StoreResult<Option<JobRecord>> {
        let terminal = super::terminal_list();
        let columns = JOB_COLUMNS
            .split(", ")
            .map(|c| format!("j.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {columns} FROM jobs j JOIN file_targets f ON f.job_id = j.id
             WHERE f.input_path = ? AND f.output_path = ?
               AND (j.status NOT IN ({terminal})
                    OR EXISTS (SELECT 1 FROM job_rows r WHERE r.job_id = j.id AND r.state = 'generated'))
             ORDER BY j.created_at DESC, j.id DESC LIMIT 1"
        )))
        .bind(input_path)
        .bind(output_path)
        .fetch_optional(&self.pool)
        .await?)
    }
}
