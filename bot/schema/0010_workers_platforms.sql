-- The platforms each worker serves (",slack,discord,"): a process adopts another
-- platform's orphaned jobs only when no worker of that platform has been seen for a
-- while (bot/adoption.py), so a Discord-only process never fails a restarting Slack
-- process's jobs.
ALTER TABLE workers ADD COLUMN platforms TEXT NOT NULL DEFAULT '';
