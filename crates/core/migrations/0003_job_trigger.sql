-- Offsite catalog, version 3: what started a job (manual, schedule, catch_up, retry, cli,
-- retention). Jobs recorded before this version were all started by hand.

ALTER TABLE jobs ADD COLUMN "trigger" TEXT NOT NULL DEFAULT 'manual';
