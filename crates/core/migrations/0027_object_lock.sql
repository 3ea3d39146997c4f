-- Offsite catalog, version 27: copies attackers cannot delete, and storage classes (issue 47,
-- item 6).
--
-- destinations (S3 only; NULL for other kinds and for S3 destinations that do not ask):
--  * s3_object_lock: `governance` or `compliance`: every copy uploaded there is locked so.
--  * s3_lock_days: how many days each copy is locked from its upload (given with --lock-days, or
--    derived from the destination's retention when it was added; see docs/destinations.md).
--  * s3_storage_class: the storage class uploads go to (`STANDARD_IA`, `GLACIER`, …).
-- backup_copies.retain_until: a locked copy's retain-until date (RFC 3339, UTC); retention does
-- not delete the copy before it. NULL: not locked.
ALTER TABLE destinations ADD COLUMN s3_object_lock TEXT
    CHECK (s3_object_lock IS NULL OR s3_object_lock IN ('governance', 'compliance'));
ALTER TABLE destinations ADD COLUMN s3_lock_days INTEGER
    CHECK (s3_lock_days IS NULL OR s3_lock_days > 0);
ALTER TABLE destinations ADD COLUMN s3_storage_class TEXT;
ALTER TABLE backup_copies ADD COLUMN retain_until TEXT;
