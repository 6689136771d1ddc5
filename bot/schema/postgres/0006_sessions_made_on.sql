-- The provider channel (e.g. "google", a relay) whose model made the thread's
-- history: thought signatures only count for the model and channel (key) that
-- made them, so a turn elsewhere is sent rebased (bot/rebase.py). NULL: written
-- before this column existed (treated as the model's own channel).
ALTER TABLE sessions ADD COLUMN made_on TEXT;
