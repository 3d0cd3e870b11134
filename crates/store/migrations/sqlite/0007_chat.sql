-- "Ask about the sheet": threads (one spreadsheet, one user), their messages, the runs that
-- answered them, the files the code interpreter made and the containers each thread was billed
-- for. The OpenAI ids (`conv_…`, `resp_…`, `file-…`, `cntr_…`, `cfile_…`) stay behind Almanac's
-- own (`thread_…`, `msg_…`, `run_…`, `file_…`). Times are RFC 3339 UTC text, as elsewhere.
-- Queries: crates/store/src/chat.rs.

CREATE TABLE chat_threads (
    id              TEXT PRIMARY KEY NOT NULL,  -- thread_…
    owner           TEXT NOT NULL,              -- the caller's `sub`
    spreadsheet_id  TEXT NOT NULL,
    sheet_id        INTEGER NOT NULL,
    conversation_id TEXT,                       -- conv_…, saved right after it is created
    csv_file_id     TEXT,                       -- the sheet's rows as last uploaded (file-…)
    csv_sha256      TEXT,                       -- of that CSV, to upload again only on a change
    created_at      TEXT NOT NULL,
    deleted_at      TEXT                        -- set by DELETE: messages and files are gone, runs stay (budget)
);
CREATE INDEX chat_threads_by_owner ON chat_threads (owner, spreadsheet_id, created_at);

CREATE TABLE chat_runs (
    id                TEXT PRIMARY KEY NOT NULL,   -- run_…
    thread_id         TEXT NOT NULL REFERENCES chat_threads (id) ON DELETE CASCADE,
    status            TEXT NOT NULL,               -- almanac_protocol::chat::RunStatus
    model             TEXT NOT NULL,
    response_id       TEXT,                        -- the latest resp_…, saved right after create
    est_cost_usd      REAL NOT NULL,               -- the estimate the budget was checked with
    input_tokens      INTEGER NOT NULL DEFAULT 0,  -- `usage` of every response of the run
    cached_tokens     INTEGER NOT NULL DEFAULT 0,
    output_tokens     INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens  INTEGER NOT NULL DEFAULT 0,
    error_code        TEXT,
    error_message     TEXT,
    incomplete_reason TEXT,
    created_at        TEXT NOT NULL,
    completed_at      TEXT
);
CREATE INDEX chat_runs_by_thread ON chat_runs (thread_id, created_at);
-- One run at a time per thread: a second one is refused at insert.
CREATE UNIQUE INDEX chat_runs_one_active ON chat_runs (thread_id) WHERE status IN ('queued', 'in_progress');

CREATE TABLE chat_messages (
    id          TEXT PRIMARY KEY NOT NULL,     -- msg_…
    thread_id   TEXT NOT NULL REFERENCES chat_threads (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,              -- order in the thread
    role        TEXT NOT NULL,                 -- user | assistant
    text        TEXT NOT NULL,
    annotations TEXT NOT NULL DEFAULT '[]',    -- JSON: cited files (file_id, text, start/end index)
    run_id      TEXT REFERENCES chat_runs (id) ON DELETE SET NULL,  -- NULL: a user message no run took yet
    created_at  TEXT NOT NULL,
    UNIQUE (thread_id, seq)
);

CREATE TABLE chat_files (
    id           TEXT PRIMARY KEY NOT NULL,    -- file_…
    thread_id    TEXT NOT NULL REFERENCES chat_threads (id) ON DELETE CASCADE,
    message_id   TEXT NOT NULL REFERENCES chat_messages (id) ON DELETE CASCADE,
    filename     TEXT NOT NULL,
    mime_type    TEXT NOT NULL,
    content      BLOB NOT NULL,
    container_id TEXT NOT NULL,                -- where the code interpreter wrote it (cntr_…)
    source_id    TEXT NOT NULL,                -- its id there (cfile_…)
    created_at   TEXT NOT NULL
);
CREATE INDEX chat_files_by_message ON chat_files (message_id);

-- Code interpreter containers a thread was charged for, each once, with the run that opened it.
CREATE TABLE chat_containers (
    thread_id    TEXT NOT NULL REFERENCES chat_threads (id) ON DELETE CASCADE,
    container_id TEXT NOT NULL,
    run_id       TEXT NOT NULL REFERENCES chat_runs (id) ON DELETE CASCADE,
    PRIMARY KEY (thread_id, container_id)
);
CREATE INDEX chat_containers_by_run ON chat_containers (run_id);
