-- Almanac's store: jobs, their rows, their batches.
-- Every external id (OpenAI file id, batch id) is written here before anything depends on it.

CREATE TABLE jobs (
    id              TEXT PRIMARY KEY NOT NULL,     -- UUID v7
    owner           TEXT NOT NULL,                 -- the caller's `sub`
    spreadsheet_id  TEXT NOT NULL,                 -- Sheets `spreadsheetId`
    sheet_id        INTEGER NOT NULL,              -- Sheets `sheetId` (gid): stable across renames
    sheet_title     TEXT NOT NULL,                 -- title as last seen (informative)
    spans           TEXT NOT NULL,                 -- JSON [{start_row,end_row}] as selected
    model           TEXT NOT NULL,
    mode            TEXT NOT NULL,                 -- batch | realtime
    overwrite       INTEGER NOT NULL,              -- 0 | 1
    status          TEXT NOT NULL,                 -- almanac_protocol::JobStatus
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    error_code      TEXT,
    error_message   TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,    -- consecutive transient failures of the current step
    not_before      TEXT NOT NULL,                 -- RFC 3339: the worker leaves the job alone until then
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX jobs_by_spreadsheet ON jobs (spreadsheet_id, created_at);
CREATE INDEX jobs_by_status ON jobs (status, not_before);

CREATE TABLE batches (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id          TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt         INTEGER NOT NULL,              -- 0 = first submission, 1.. = retries of failed rows
    part            INTEGER NOT NULL,              -- index when one attempt needs several batches
    input_file_id   TEXT,                          -- OpenAI file id (`file-…`), saved right after upload
    batch_id        TEXT,                          -- OpenAI batch id (`batch_…`), saved right after create
    status          TEXT NOT NULL,                 -- `preparing`, then the Batch object's status
    output_file_id  TEXT,
    error_file_id   TEXT,
    total           INTEGER NOT NULL DEFAULT 0,    -- request_counts
    completed       INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0,
    errors          TEXT,                          -- validation errors, one per line
    collected       INTEGER NOT NULL DEFAULT 0,    -- output/error files parsed into job_rows
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (job_id, attempt, part)
);
CREATE INDEX batches_by_job ON batches (job_id);

CREATE TABLE job_rows (
    job_id          TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,              -- position in the selection
    row_id          TEXT NOT NULL,                 -- column A (the batch line's custom_id); may be '' when invalid
    title           TEXT NOT NULL,                 -- column B
    row_number      INTEGER NOT NULL,              -- 1-based row at submission (informative only)
    state           TEXT NOT NULL,                 -- almanac_protocol::RowState
    reason          TEXT,                          -- why failed/skipped, for people
    batch           INTEGER REFERENCES batches (id), -- the batch this row was last sent in
    year            TEXT,                          -- the model's answer, kept until written
    simple          TEXT,
    detail          TEXT,
    related_movies  TEXT,
    PRIMARY KEY (job_id, seq)
);
CREATE INDEX job_rows_by_batch ON job_rows (batch);
