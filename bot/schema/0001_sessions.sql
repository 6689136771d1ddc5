-- Thread sessions: one row per (platform, workspace, channel, thread), the
-- model's history as JSON with image bytes moved to the content-addressed blobs
-- table, and the thread's version list (v1, v2, …).

CREATE TABLE blobs (
    sha256      TEXT PRIMARY KEY,
    mime_type   TEXT NOT NULL,
    size        INTEGER NOT NULL,
    data        BLOB NOT NULL,
    created_at  REAL NOT NULL
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
    trimmed     INTEGER NOT NULL DEFAULT 0,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL
);

CREATE TABLE versions (
    session_key TEXT NOT NULL REFERENCES sessions(key) ON DELETE CASCADE,
    n           INTEGER NOT NULL,
    model       TEXT NOT NULL,
    blob        TEXT NOT NULL REFERENCES blobs(sha256),
    job_id      TEXT,
    created_at  REAL NOT NULL,
    PRIMARY KEY (session_key, n)
);
