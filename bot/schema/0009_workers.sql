-- Leases (bot/leases.py): one row per running process (a fresh id at each start), its
-- heartbeat in seen_at (seconds since the epoch, by the database's clock). A job is owned
-- by the process that submitted or adopted it; restart recovery adopts only jobs whose
-- owner is NULL (made before this migration), has no row here, or stopped beating.
CREATE TABLE workers (
    id         TEXT PRIMARY KEY,
    host       TEXT NOT NULL,
    pid        INTEGER NOT NULL,
    started_at REAL NOT NULL,
    seen_at    REAL NOT NULL
);
ALTER TABLE jobs ADD COLUMN owner TEXT;
CREATE INDEX jobs_owner ON jobs (state, owner);
