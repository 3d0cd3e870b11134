-- "Ask about the sheet" on PostgreSQL: the same tables, columns and indexes as
-- `../sqlite/0007_chat.sql` (see there for the meaning of each), in PostgreSQL's types: BIGINT for
-- every integer, DOUBLE PRECISION for dollars, BYTEA for a file's bytes. Times stay RFC 3339 text
-- (`COLLATE "C"`, so they sort as bytes, whatever the database's locale). A message's
-- `annotations` stay JSON text: the store reads and writes them as a string, never inside SQL.
-- Queries: crates/store/src/chat.rs.

CREATE TABLE chat_threads (
    id              TEXT PRIMARY KEY NOT NULL,
    owner           TEXT NOT NULL,
    spreadsheet_id  TEXT NOT NULL,
    sheet_id        BIGINT NOT NULL,
    conversation_id TEXT,
    csv_file_id     TEXT,
    csv_sha256      TEXT,
    created_at      TEXT COLLATE "C" NOT NULL,
    deleted_at      TEXT COLLATE "C"
);
CREATE INDEX chat_threads_by_owner ON chat_threads (owner, spreadsheet_id, created_at);

CREATE TABLE chat_runs (
    id                TEXT PRIMARY KEY NOT NULL,
    thread_id         TEXT NOT NULL REFERENCES chat_threads (id) ON DELETE CASCADE,
    status            TEXT NOT NULL,
    model             TEXT NOT NULL,
    response_id       TEXT,
    est_cost_usd      DOUBLE PRECISION NOT NULL,
    input_tokens      BIGINT NOT NULL DEFAULT 0,
    cached_tokens     BIGINT NOT NULL DEFAULT 0,
    output_tokens     BIGINT NOT NULL DEFAULT 0,
    reasoning_tokens  BIGINT NOT NULL DEFAULT 0,
    error_code        TEXT,
    error_message     TEXT,
    incomplete_reason TEXT,
    created_at        TEXT COLLATE "C" NOT NULL,
    completed_at      TEXT COLLATE "C"
);
CREATE INDEX chat_runs_by_thread ON chat_runs (thread_id, created_at);
-- One run at a time per thread: a second one is refused at insert (`ON CONFLICT DO NOTHING`).
CREATE UNIQUE INDEX chat_runs_one_active ON chat_runs (thread_id) WHERE status IN ('queued', 'in_progress');

CREATE TABLE chat_messages (
    id          TEXT PRIMARY KEY NOT NULL,
    thread_id   TEXT NOT NULL REFERENCES chat_threads (id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    role        TEXT NOT NULL,
    text        TEXT NOT NULL,
    annotations TEXT NOT NULL DEFAULT '[]',
    run_id      TEXT REFERENCES chat_runs (id) ON DELETE SET NULL,
    created_at  TEXT COLLATE "C" NOT NULL,
    UNIQUE (thread_id, seq)
);

CREATE TABLE chat_files (
    id           TEXT PRIMARY KEY NOT NULL,
    thread_id    TEXT NOT NULL REFERENCES chat_threads (id) ON DELETE CASCADE,
    message_id   TEXT NOT NULL REFERENCES chat_messages (id) ON DELETE CASCADE,
    filename     TEXT NOT NULL,
    mime_type    TEXT NOT NULL,
    content      BYTEA NOT NULL,
    container_id TEXT NOT NULL,
    source_id    TEXT NOT NULL,
    created_at   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX chat_files_by_message ON chat_files (message_id);

CREATE TABLE chat_containers (
    thread_id    TEXT NOT NULL REFERENCES chat_threads (id) ON DELETE CASCADE,
    container_id TEXT NOT NULL,
    run_id       TEXT NOT NULL REFERENCES chat_runs (id) ON DELETE CASCADE,
    PRIMARY KEY (thread_id, container_id)
);
CREATE INDEX chat_containers_by_run ON chat_containers (run_id);
