-- Several replicas sharing one database (issue 12). A job's next step is claimed under a lease:
-- `lease_owner` (the replica), `lease_expires_at` (RFC 3339; renewed by the owner's heartbeat) and
-- `lease_version`, the fencing token bumped by every claim: a write of a step's result checks, in
-- its own transaction, that the version is still the one its lease was given.
-- The shared limits (`rate_limits`, `pacer_buckets`) are used on PostgreSQL only (one SQLite file
-- belongs to one process, whose limits are in memory); the tables exist here too so that both
-- schemas stay in step.

ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_expires_at TEXT;
ALTER TABLE jobs ADD COLUMN lease_version INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_by_lease_owner ON jobs (lease_owner);

CREATE TABLE rate_limits (
    key             TEXT PRIMARY KEY NOT NULL,     -- `jobs:<sub>`: the per-user job creation limit
    tat_ms          REAL NOT NULL                  -- GCRA's theoretical arrival time, Unix ms
);

CREATE TABLE pacer_buckets (
    name            TEXT PRIMARY KEY NOT NULL,     -- `realtime:<endpoint>`: one account's limits
    requests_tat_ms REAL NOT NULL DEFAULT 0,       -- when the requests bucket is full again, Unix ms
    tokens_tat_ms   REAL NOT NULL DEFAULT 0,       -- when the tokens bucket is full again, Unix ms
    pause_until_ms  REAL NOT NULL DEFAULT 0        -- no call starts before this (a 429's retry-after)
);
