-- The platform's id of each job's status message, so "which job thread does a reply to
-- this message belong to?" (JobStore.thread_of_message) needs no platform's JSON keys.
-- The one-off UPDATE carries over what adapters kept in payload.extra before this
-- column existed (Discord: "message", Slack: "status_ts"), and nothing reads those keys here again.
ALTER TABLE jobs ADD COLUMN message TEXT NOT NULL DEFAULT '';
UPDATE jobs SET message = COALESCE(
    json_extract(payload, '$.extra.message'), json_extract(payload, '$.extra.status_ts'), ''
);
CREATE INDEX jobs_message ON jobs (platform, workspace, channel, message);
