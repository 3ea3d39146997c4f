-- Offsite catalog, version 28: what the server or tool said when a job failed (issue 44).
--
-- jobs.error_detail: the failed job's error `detail` (the server's or tool's own words, already
-- redacted: never a secret), shown behind "Details" in the job history and returned by
-- `offsite jobs --json`. NULL: the job did not fail, or its error had no detail.
ALTER TABLE jobs ADD COLUMN error_detail TEXT;
