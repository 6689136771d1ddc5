-- Durable jobs (bot/jobs.py): one row per request, queued → running →
-- delivered | failed. Money is integer micro-dollars, like the quota ledger.
-- Reference images live in blobs (0001) and are named here by sha256, so a job
-- can be run again after a restart.

CREATE TABLE jobs (
    id              TEXT PRIMARY KEY,
    platform        TEXT NOT NULL,
    workspace       TEXT NOT NULL,
    channel         TEXT NOT NULL,
    thread          TEXT NOT NULL,
    user            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    -- the platform event's id (Slack event_id, Discord interaction id): a
    -- redelivered event finds its job instead of making a second one
    idempotency_key TEXT,
    payload         TEXT NOT NULL DEFAULT '{}',
    refs            TEXT NOT NULL DEFAULT '[]',
    state           TEXT NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'running', 'delivered', 'failed')),
    runs            INTEGER NOT NULL DEFAULT 0,
    attempts        TEXT NOT NULL DEFAULT '[]',
    cost_musd       INTEGER CHECK (cost_musd >= 0),
    model           TEXT,
    result          TEXT,
    error_code      TEXT,
    created_at      REAL NOT NULL,
    started_at      REAL,
    finished_at     REAL,
    UNIQUE (platform, idempotency_key)
);

CREATE INDEX jobs_state ON jobs (state, created_at);
