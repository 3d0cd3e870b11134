-- Cost you can trust (issue 6), as `../sqlite/0003_cost.sql`: the estimate a job was created with,
-- its spending cap, the tokens each row's responses reported, realtime calls per row, and
-- per-spreadsheet budgets.

ALTER TABLE jobs ADD COLUMN template TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN max_cost_usd DOUBLE PRECISION;
ALTER TABLE jobs ADD COLUMN est_rows BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN est_input_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN est_cached_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN est_output_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN est_cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0;

ALTER TABLE job_rows ADD COLUMN spent_prompt_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE job_rows ADD COLUMN spent_cached_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE job_rows ADD COLUMN spent_completion_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE job_rows ADD COLUMN spent_reasoning_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE job_rows ADD COLUMN billed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE job_rows ADD COLUMN requests BIGINT NOT NULL DEFAULT 0;

CREATE TABLE spreadsheet_budgets (
    spreadsheet_id  TEXT PRIMARY KEY NOT NULL,
    monthly_usd     DOUBLE PRECISION NOT NULL,
    updated_at      TEXT COLLATE "C" NOT NULL
);
CREATE INDEX jobs_by_model_template ON jobs (model, template, status);
