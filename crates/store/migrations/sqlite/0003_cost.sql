-- Cost you can trust (issue 6): the estimate a job was created with, its spending cap, the tokens
-- each row's responses reported (`usage`), realtime calls per row, and per-spreadsheet budgets.

ALTER TABLE jobs ADD COLUMN template TEXT NOT NULL DEFAULT '';          -- prompt::template_id() at creation
ALTER TABLE jobs ADD COLUMN max_cost_usd REAL;                          -- the job's cap, USD
ALTER TABLE jobs ADD COLUMN est_rows INTEGER NOT NULL DEFAULT 0;        -- rows the estimate covered
ALTER TABLE jobs ADD COLUMN est_input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN est_cached_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN est_output_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN est_cost_usd REAL NOT NULL DEFAULT 0;       -- in the job's mode

ALTER TABLE job_rows ADD COLUMN spent_prompt_tokens INTEGER NOT NULL DEFAULT 0;      -- usage summed over every response of the row (retries included)
ALTER TABLE job_rows ADD COLUMN spent_cached_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE job_rows ADD COLUMN spent_completion_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE job_rows ADD COLUMN spent_reasoning_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE job_rows ADD COLUMN billed INTEGER NOT NULL DEFAULT 0;      -- responses with usage recorded for the row
ALTER TABLE job_rows ADD COLUMN requests INTEGER NOT NULL DEFAULT 0;    -- realtime calls made for the row

CREATE TABLE spreadsheet_budgets (
    spreadsheet_id  TEXT PRIMARY KEY NOT NULL,     -- Sheets `spreadsheetId`
    monthly_usd     REAL NOT NULL,                 -- budget per calendar month (UTC), USD
    updated_at      TEXT NOT NULL
);
CREATE INDEX jobs_by_model_template ON jobs (model, template, status);
