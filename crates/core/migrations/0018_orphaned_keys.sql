-- Offsite catalog, version 18: encryption keys kept after their project was removed (issue 42).
--
-- orphaned_keys: one row per removed project whose encryption key (its identities, or its
-- passphrase) was kept in the keychain, under the entries of its name
-- (`project:<name>:encryption-identity`, `project:<name>:encryption-passphrase`). The backups it
-- encrypted stay on disk; with the key they still open (browse, import, verify, restore), and a
-- project added again under the same name takes the key back. `offsite key remove NAME`
-- deletes the keychain entries and the row. Never a secret: the settings the project had
-- (mode, public keys, whether the recovery item was confirmed, the test ciphertext).
CREATE TABLE orphaned_keys (
    name        TEXT PRIMARY KEY NOT NULL,
    mode        TEXT NOT NULL CHECK (mode IN ('off', 'passphrase', 'key')),
    public_key  TEXT,
    recipients  TEXT NOT NULL DEFAULT '[]',
    confirmed   INTEGER NOT NULL DEFAULT 0,
    "check"     BLOB,
    removed_at  TEXT NOT NULL
);
