-- Jobs started by `almanac run` write a file instead of a sheet, as `../sqlite/0004_file_targets.sql`.

CREATE TABLE file_targets (
    job_id          TEXT PRIMARY KEY NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    input_path      TEXT NOT NULL,
    output_path     TEXT NOT NULL,
    format          TEXT NOT NULL,
    start_row       BIGINT NOT NULL,
    end_row         BIGINT,
    keep_temp_files BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX file_targets_by_paths ON file_targets (input_path, output_path);
