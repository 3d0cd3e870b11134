-- Typed states, as `../sqlite/0005_typed_states.sql`: why a row failed is a code programs read.
-- (No PostgreSQL database predates failure codes, so there is no old text to convert here; batch
-- errors are JSONB from the start.)

ALTER TABLE job_rows ADD COLUMN failure_code TEXT;

CREATE INDEX job_rows_by_failure ON job_rows (job_id, state, failure_code);
