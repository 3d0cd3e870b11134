-- Idempotency keys (issue 23; the `Idempotency-Key` header of draft-ietf-httpapi-idempotency-key-header):
-- one row per (caller `sub`, key). `fingerprint` is the SHA-256 of the request (method, path, body);
-- `status` is NULL while the first request is in flight, then the answer's status, `content_type`
-- and `body`, returned again to a repeat of the same request. `created_at` (RFC 3339 UTC, sorts as
-- text) ends the key's life after 24 hours.

CREATE TABLE idempotency_keys (
    owner           TEXT NOT NULL,
    key             TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    status          INTEGER,
    content_type    TEXT,
    body            BLOB,
    PRIMARY KEY (owner, key)
);
CREATE INDEX idempotency_keys_by_created_at ON idempotency_keys (created_at);
