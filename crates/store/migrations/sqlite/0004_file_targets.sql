-- Jobs started by `almanac run` write a file instead of a sheet: the same job, rows and batches,
-- plus where to read the rows from and where to write the result. A job without a row here is a
-- sheet job. (Upload, create, adopt-after-crash, poll and collect are shared; only `writing` differs.)

CREATE TABLE file_targets (
    job_id          TEXT PRIMARY KEY NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    input_path      TEXT NOT NULL,                 -- absolute path of the CSV/JSON read
    output_path     TEXT NOT NULL,                 -- absolute path written (atomically) when the job ends
    format          TEXT NOT NULL,                 -- csv | json (of the input; the output keeps it)
    start_row       INTEGER NOT NULL,              -- 0-based first data row selected
    end_row         INTEGER,                       -- 0-based data row after the last selected; NULL = to the end
    keep_temp_files INTEGER NOT NULL DEFAULT 0     -- 0 | 1: also save the JSONL input and the result files
);
CREATE INDEX file_targets_by_paths ON file_targets (input_path, output_path);
