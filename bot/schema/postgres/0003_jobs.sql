-- PostgreSQL's twin of ../0003_jobs.sql. ``rowid`` stands in for SQLite's implicit
-- one (insertion order: "oldest first" among jobs made in the same instant).

CREATE TABLE jobs (
    id              TEXT PRIMARY KEY,
    rowid           BIGINT GENERATED ALWAYS AS IDENTITY,
    platform        TEXT NOT NULL,
    workspace       TEXT NOT NULL,
    channel         TEXT NOT NULL,
    thread          TEXT NOT NULL,
    "user"          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    idempotency_key TEXT,
    payload         TEXT NOT NULL DEFAULT '{}',
    refs            TEXT NOT NULL DEFAULT '[]',
    state           TEXT NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'running', 'delivered', 'failed')),
    runs            BIGINT NOT NULL DEFAULT 0,
    attempts        TEXT NOT NULL DEFAULT '[]',
    cost_musd       BIGINT CHECK (cost_musd >= 0),
    model           TEXT,
    result          TEXT,
    error_code      TEXT,
    created_at      DOUBLE PRECISION NOT NULL,
    started_at      DOUBLE PRECISION,
    finished_at     DOUBLE PRECISION,
    UNIQUE (platform, idempotency_key)
);

CREATE INDEX jobs_state ON jobs (state, created_at);
