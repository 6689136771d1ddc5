-- A message in a channel thread asks "is this a job's thread?" (JobStore.in_thread).
CREATE INDEX jobs_thread ON jobs (platform, workspace, channel, thread);
