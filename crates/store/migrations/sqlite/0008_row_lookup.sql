-- A batch's answers are stored row by row with `WHERE batch = $1 AND row_id = $2` (batches.rs,
-- cost.rs): without this index each of those statements scanned every row of the batch, so storing
-- a 50,000-row batch took minutes and held the write lock past the lease (SQLite).
CREATE INDEX job_rows_by_batch_row ON job_rows (batch, row_id);
