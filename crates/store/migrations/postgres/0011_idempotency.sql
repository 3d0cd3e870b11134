-- Idempotency keys (issue 23), as `../sqlite/0011_idempotency.sql`: one row per (caller `sub`, key),
-- the request's fingerprint, and once answered its status, content type and body; 24 hours.

CREATE TABLE idempotency_keys (
    owner           TEXT NOT NULL,
    key             TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    created_at      TEXT COLLATE "C" NOT NULL,
    status          INTEGER,
    content_type    TEXT,
    body            BYTEA,
    PRIMARY KEY (owner, key)
);
CREATE INDEX idempotency_keys_by_created_at ON idempotency_keys (created_at);
