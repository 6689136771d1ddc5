-- Notices said in the status channels at most once per period (e.g. "X shuts
-- down on D", once per model per week), across restarts: key → when last said.
CREATE TABLE notices (
    key      TEXT PRIMARY KEY,
    said_at  REAL NOT NULL
);
