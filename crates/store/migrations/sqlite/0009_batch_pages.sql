-- A batch's input file is written a page of rows at a time, `WHERE batch = $1 AND seq > $2 ORDER
-- BY seq LIMIT $3` (rows.rs, `inputs_page`): this index serves each page without sorting the
-- batch's rows again, and covers every lookup the index on `batch` alone served.
CREATE INDEX job_rows_by_batch_seq ON job_rows (batch, seq);
DROP INDEX job_rows_by_batch;
