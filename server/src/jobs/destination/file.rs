//! The `writing` step of a job started by `almanac run`: the answers stored on the job's rows are
//! merged into the input file (by id, keeping every other column or field) and written to the
//! output file atomically. Everything before this step — upload, create, adopt after a crash,
//! poll, collect — is the worker's shared code, so a file job resumes like a sheet job.
//!
//! The input file is read again at write time (as a sheet is), so the merge works on what the
//! file holds now; re-running this step after a crash writes the same output again.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use almanac_core::domain::{Generated, RowId, RowInput};
use almanac_core::state::{FailureCode, RowFailure};
use std::io::Write as _;

use almanac_files::{AtomicFile, EventsFile};
use almanac_openai::jsonl;
use almanac_store::{FileTarget, JobRecord, RowRecord, RowUpdate};

use crate::jobs::queue::step::StepError;
use crate::jobs::services::Services;

/// Writes the output file of a file job and marks its generated rows `done` (or `failed` when
/// their id is no longer in the input file).
///
/// # Errors
/// [`StepError::Permanent`] when the input cannot be read or the output cannot be written (the
/// answers stay stored; running `almanac run` again writes them); [`StepError::Store`] and
/// transient OpenAI errors (while saving `--keep-temp-files` copies) are retried.
pub async fn write(svc: &Services, job: &JobRecord, target: &FileTarget) -> Result<(), StepError> {
    let store = &svc.store;
    let generated = store.generated_rows(&job.id).await?;
    let kept = "the generated answers are kept: fix this and run `almanac run` again to write them";
    let mut file =
        EventsFile::read(Path::new(&target.input_path)).map_err(|e| StepError::Permanent {
            code: almanac_protocol::ErrorCode::InputUnreadable,
            message: format!("{e}; {kept}"),
        })?;
    let answers: Vec<(RowId, Generated)> = generated
        .iter()
        .map(|(_, id, g)| (id.clone(), g.clone()))
        .collect();
    let report = file.merge(&answers, job.overwrite, svc.settings.csv_cells);
    if target.keep_temp_files {
        save_temp_files(svc, job, target).await?;
    }
    file.write_atomic(Path::new(&target.output_path))
        .map_err(|e| StepError::Permanent {
            code: almanac_protocol::ErrorCode::OutputUnwritable,
            message: format!("{e}; {kept}"),
        })?;
    tracing::info!(job_id = %job.id, rows = report.rows_written, cells = report.cells_written, path = %target.output_path, "output file written");
    let present: HashSet<&str> = file.rows().iter().map(|r| r.id.as_str()).collect();
    let updates: Vec<RowUpdate> = generated
        .iter()
        .map(|(seq, id, _)| {
            if present.contains(id.as_str()) {
                RowUpdate::done(*seq)
            } else {
                RowUpdate::failed(
                    *seq,
                    RowFailure::new(
                        FailureCode::IdNotInSheet,
                        format!(
                            "id `{id}` is no longer in {}: the answer was not written",
                            target.input_path
                        ),
                    ),
                )
            }
        })
        .collect();
    store.set_row_states(&job.id, &updates).await?;
    Ok(())
}

/// The folder `--keep-temp-files` saves into: `<output>.almanac-files/` beside the output.
pub fn temp_files_dir(output_path: &Path) -> PathBuf {
    let mut name = output_path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".almanac-files");
    output_path.with_file_name(name)
}

/// Saves, per batch, the JSONL input (`<batch_id>.input.jsonl`) and the downloaded output and
/// error files (`<batch_id>.output.jsonl`, `<batch_id>.errors.jsonl`), each written as it is
/// made or as it arrives.
async fn save_temp_files(
    svc: &Services,
    job: &JobRecord,
    target: &FileTarget,
) -> Result<(), StepError> {
    let dir = temp_files_dir(Path::new(&target.output_path));
    let io = |e: std::io::Error| StepError::Permanent {
        code: almanac_protocol::ErrorCode::OutputUnwritable,
        message: format!("cannot save the temporary files in {}: {e}", dir.display()),
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let spec = svc.model_spec(job)?;
    for batch in svc.store.batches(&job.id).await? {
        let name = batch.batch_id.as_ref().map_or_else(
            || format!("part-{}-{}", batch.attempt, batch.part),
            ToString::to_string,
        );
        let inputs: Vec<RowInput> = svc
            .store
            .batch_rows(batch.id)
            .await?
            .iter()
            .filter_map(RowRecord::input)
            .collect();
        let keep = |e: almanac_files::FileError| StepError::Permanent {
            code: almanac_protocol::ErrorCode::OutputUnwritable,
            message: e.to_string(),
        };
        let mut input =
            AtomicFile::create(&dir.join(format!("{name}.input.jsonl"))).map_err(keep)?;
        jsonl::write_jsonl(spec, &inputs, &mut input).map_err(io)?;
        input.commit().map_err(keep)?;
        for (file_id, suffix) in [
            (&batch.output_file_id, "output"),
            (&batch.error_file_id, "errors"),
        ] {
            if let Some(file_id) = file_id {
                let path = dir.join(format!("{name}.{suffix}.jsonl"));
                let mut file = AtomicFile::create(&path).map_err(keep)?;
                let mut download = svc.openai.download(file_id).await?;
                while let Some(chunk) = download.chunk().await? {
                    file.write_all(&chunk).map_err(io)?;
                }
                file.commit().map_err(keep)?;
            }
        }
    }
    Ok(())
}
