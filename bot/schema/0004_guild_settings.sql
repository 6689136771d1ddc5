-- Per-workspace settings an admin changes with /imagine-admin: one row per
-- (workspace, name), the value as JSON. Absent: the installation's default.

CREATE TABLE guild_settings (
    workspace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_by  TEXT,
    updated_at  REAL NOT NULL,
    PRIMARY KEY (workspace, name)
);
