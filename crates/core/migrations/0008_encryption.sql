-- Offsite catalog, version 8: a project's encryption settings (issue 25).
--
-- project_encryption: one row per project that has had encryption set (no row: off).
--   mode        'off', 'passphrase' (age scrypt) or 'key' (an Offsite-generated X25519 key)
--   public_key  key mode: the laptop's age1… public key
--   recipients  JSON array of extra public recipients (age1…, ssh-ed25519 …, ssh-rsa …)
--   confirmed   1 once the user entered the recovery item back (no encrypted backup before)
--   check       a small age ciphertext of a fixed text, encrypted like the archives: entering
--               the recovery item back is proven by decrypting it (public data, never a secret)
-- The passphrase and the identity live in the keychain only
-- (`project:<name>:encryption-passphrase`, `project:<name>:encryption-identity`).

CREATE TABLE project_encryption (
    project_id  TEXT PRIMARY KEY NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    mode        TEXT NOT NULL CHECK (mode IN ('off', 'passphrase', 'key')),
    public_key  TEXT,
    recipients  TEXT NOT NULL DEFAULT '[]',
    confirmed   INTEGER NOT NULL DEFAULT 0,
    "check"     BLOB,
    updated_at  TEXT NOT NULL
);
