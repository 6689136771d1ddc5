-- PostgreSQL's twin of ../0007_notices.sql.
CREATE TABLE notices (
    key      TEXT PRIMARY KEY,
    said_at  DOUBLE PRECISION NOT NULL
);
