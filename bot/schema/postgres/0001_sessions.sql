-- PostgreSQL's twin of ../0001_sessions.sql: the same tables and columns (REAL is
-- DOUBLE PRECISION here, BLOB is BYTEA; integers are BIGINT throughout).

CREATE TABLE blobs (
    sha256      TEXT PRIMARY KEY,
    mime_type   TEXT NOT NULL,
    size        BIGINT NOT NULL,
    data        BYTEA NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL
);

CREATE TABLE sessions (
    key         TEXT PRIMARY KEY,
    platform    TEXT NOT NULL,
    workspace   TEXT NOT NULL,
    channel     TEXT NOT NULL,
    thread      TEXT NOT NULL,
    model       TEXT,
    config      TEXT NOT NULL DEFAULT '{}',
    history     TEXT NOT NULL DEFAULT '[]',
    trimmed     BIGINT NOT NULL DEFAULT 0,
    created_at  DOUBLE PRECISION NOT NULL,
    updated_at  DOUBLE PRECISION NOT NULL
);

CREATE TABLE versions (
    session_key TEXT NOT NULL REFERENCES sessions(key) ON DELETE CASCADE,
    n           BIGINT NOT NULL,
    model       TEXT NOT NULL,
    blob        TEXT NOT NULL REFERENCES blobs(sha256),
    job_id      TEXT,
    created_at  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (session_key, n)
);
