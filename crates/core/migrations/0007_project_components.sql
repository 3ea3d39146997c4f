-- Offsite catalog, version 7: a project's components beside its database.
--
-- components: one JSON document per project (crate::catalog::components::Components): the
-- storage component (S3-compatible endpoint, region, access key id, path style, buckets,
-- concurrency), the Supabase project (ref, Management API base URL) and the project's default
-- backup type (database, full, storage, config, incremental). Never a secret: the S3 secret
-- access key and the Supabase access token live in the keychain
-- (`project:<name>:s3-secret`, `project:<name>:supabase-token`).

CREATE TABLE project_components (
    project_id  TEXT PRIMARY KEY NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    doc         TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
