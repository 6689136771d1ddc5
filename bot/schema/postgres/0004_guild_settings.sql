-- PostgreSQL's twin of ../0004_guild_settings.sql.

CREATE TABLE guild_settings (
    workspace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_by  TEXT,
    updated_at  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (workspace, name)
);
