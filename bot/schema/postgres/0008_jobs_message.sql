-- PostgreSQL's twin of ../0008_jobs_message.sql (payload is JSON text: read as jsonb).
ALTER TABLE jobs ADD COLUMN message TEXT NOT NULL DEFAULT '';
UPDATE jobs SET message = COALESCE(
    CAST(payload AS jsonb) #>> '{extra,message}', CAST(payload AS jsonb) #>> '{extra,status_ts}', ''
);
CREATE INDEX jobs_message ON jobs (platform, workspace, channel, message);
