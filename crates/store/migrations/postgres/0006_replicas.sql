-- Several replicas sharing one database (issue 12), as `../sqlite/0006_replicas.sql`: leases with a
-- fencing token on jobs, the per-user job creation limit and the realtime pacer's buckets shared by
-- every replica (times of the shared limits are the database's clock, in Unix milliseconds).

ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_expires_at TEXT COLLATE "C";
ALTER TABLE jobs ADD COLUMN lease_version BIGINT NOT NULL DEFAULT 0;
CREATE INDEX jobs_by_lease_owner ON jobs (lease_owner);

CREATE TABLE rate_limits (
    key             TEXT PRIMARY KEY NOT NULL,
    tat_ms          DOUBLE PRECISION NOT NULL
);

CREATE TABLE pacer_buckets (
    name            TEXT PRIMARY KEY NOT NULL,
    requests_tat_ms DOUBLE PRECISION NOT NULL DEFAULT 0,
    tokens_tat_ms   DOUBLE PRECISION NOT NULL DEFAULT 0,
    pause_until_ms  DOUBLE PRECISION NOT NULL DEFAULT 0
);
