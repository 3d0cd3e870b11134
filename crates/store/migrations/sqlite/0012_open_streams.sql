-- Open streams (issue 26): one row per open job event stream or streamed chat turn, so that the
-- per-user cap holds across replicas. `expires_at` (RFC 3339 UTC, the database's clock, sorts as
-- text) is pushed forward while the stream lives; a replica that dies stops renewing, and its
-- streams' rows stop counting once they expire.

CREATE TABLE open_streams (
    id          TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX open_streams_by_owner ON open_streams (owner, expires_at);
