//! Dev-only test helpers for Offsite.
//!
//! * [`TestCluster`]: a throwaway PostgreSQL cluster started from the system's server binaries
//!   (`$OFFSITE_TEST_PG_BIN`, else the highest `/usr/lib/postgresql/*/bin`). It never skips: when
//!   the binaries are missing it panics and names the package to install.
//! * [`supabase_fixture_sql`]: a deterministic, Supabase-shaped database (roles, RLS, extensions in
//!   `extensions`, large objects, awkward text, a ~3 MB value, partitions, …) to load into a fresh
//!   database with [`TestCluster::load_supabase_fixture`].
//! * [`fidelity_snapshot`] / [`schema_dump`]: what a test compares between a source database and
//!   its restored copy.
//! * [`conformance`]: the shared conformance suite of the engine's source and destination traits;
//!   [`faults::Faulty`] (a fault-injecting wrapper) and [`FaultProxy`] (a TCP proxy that drops or
//!   cuts connections to a real server) for running it under faults.
//! * [`FakeManagementApi`]: a fake Supabase Management API on 127.0.0.1 (documented shapes,
//!   planted fake secrets, recorded requests, 401/403/404/429 on request).
//! * [`SmtpServer`]: a real SMTP server (aiosmtpd) on 127.0.0.1 with STARTTLS or implicit TLS
//!   and AUTH, recording every message it receives.
//! * [`S3sFsServer`]: s3s-fs on 127.0.0.1, an S3 server whose listings carry no ETags and
//!   sub-second times (storage incrementals are tested against it).
//! * [`telegram::FakeBotApi`]: a local server answering `sendMessage` as Telegram's Bot API does.
//!
//! ```no_run
//! use offsite_testkit::{fidelity_snapshot, schema_dump, TestCluster};
//! let pg = TestCluster::start();
//! pg.create_db("src");
//! pg.load_supabase_fixture("src");
//! // … back up `pg.url_with_password("src")`, restore into "dst" …
//! # pg.create_db("dst");
//! let (a, b) = (fidelity_snapshot(&pg, "src"), fidelity_snapshot(&pg, "dst"));
//! b.assert_same_as(&a);
//! assert_eq!(schema_dump(&pg, "src"), schema_dump(&pg, "dst"));
//! ```

pub mod catalog_hooks;
mod cluster;
pub mod conformance;
pub mod crafted_s3;
pub mod faults;
pub mod file_server;
pub mod fuzz;
pub mod http_proxy;
pub mod leftovers;
pub mod majors;
pub mod management_api;
pub mod pagila;
pub mod pooler_proxy;
pub mod ports;
pub mod proxy;
pub mod s3;
pub mod s3s_fs;
pub mod script;
mod serve;
pub mod smtp;
mod snapshot;
pub mod supabase_project;
pub mod telegram;
pub mod tls;
pub mod webhook_receiver;

pub use cluster::TestCluster;
pub use file_server::{ExpiryStyle, FileServer};
pub use http_proxy::{HttpExchange, HttpFault, HttpFaultProxy};
pub use management_api::FakeManagementApi;
pub use proxy::FaultProxy;
pub use s3::MotoServer;
pub use s3s_fs::S3sFsServer;
pub use smtp::{SmtpMode, SmtpServer};
pub use snapshot::{
    assert_same_schema, fidelity_snapshot, first_difference, schema_dump, schema_dump_of,
    FidelitySnapshot, LargeObjectInfo, SequenceState,
};
pub use supabase_project::SupabaseProject;
pub use webhook_receiver::{Answer, Received, WebhookReceiver};

/// The Supabase-shaped fixture (`fixtures/supabase_shaped.sql`). Load it as the superuser into a
/// fresh database (`psql -v ON_ERROR_STOP=1`); it can be loaded into several databases of one
/// cluster (the roles it creates are guarded). Its content is deterministic: two loads give equal
/// [`fidelity_snapshot`]s and equal [`schema_dump`]s.
pub fn supabase_fixture_sql() -> &'static str {
    include_str!("../fixtures/supabase_shaped.sql")
}

/// The platform's side of a Supabase project (`fixtures/supabase_platform.sql`): the roles
/// (`postgres` not a superuser), the platform's schemas and its privileges on objects it owns
/// (`pg_catalog.lo_export` / `lo_import`, an extension's function). Load it as the bootstrap
/// superuser `supabase_admin` into a new database owned by `postgres`.
pub fn supabase_platform_sql() -> &'static str {
    include_str!("../fixtures/supabase_platform.sql")
}

/// Supabase Storage's two tables as its init script creates them
/// (`00000000000002-storage-schema.sql`: buckets, objects with `metadata` jsonb and the unique
/// bucket and name, row level security on), for tests of the objects a point-in-time capture
/// keeps; a test adds its buckets.
pub const STORAGE_TABLES: &str = "
CREATE SCHEMA storage;
CREATE TABLE storage.buckets (id text PRIMARY KEY, name text NOT NULL, owner uuid,
  created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now());
CREATE UNIQUE INDEX bname ON storage.buckets (name);
CREATE TABLE storage.objects (id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  bucket_id text REFERENCES storage.buckets(id), name text, owner uuid,
  created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now(),
  last_accessed_at timestamptz DEFAULT now(), metadata jsonb);
CREATE UNIQUE INDEX bucketid_objname ON storage.objects (bucket_id, name);
ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;
";

/// Every file under `dir` (depth first), as `relative path → its text`.
pub fn files_text(dir: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read_to_string(&p).unwrap_or_default());
            }
        }
    }
    out
}

/// What the fixture is known to contain, for assertions that do not want to hard-code numbers.
pub mod fixture_facts {
    /// Large objects created with fixed oids: (oid, size in bytes, md5 of the bytes).
    pub const LARGE_OBJECTS: &[(u32, u64, &str)] = &[
        (424_201, 24, "6403e41d267faf9e157614b1474e2fd5"), // "Hello, large object! ✓"
        (424_202, 0, "d41d8cd98f00b204e9800998ecf8427e"),  // empty
        (424_203, 1_120_000, "4f39a30b3642f3bf46f93a30cba9305f"), // several pg_largeobject pages
    ];
    /// Total number of large objects in the fixture.
    pub const LARGE_OBJECT_COUNT: usize = 3;
    /// Tables (schema-qualified, as `format('%I.%I')` prints them) that the fixture fills.
    pub const SOME_TABLES: &[&str] = &[
        "auth.users",
        "storage.buckets",
        "storage.objects",
        "public.profiles",
        "public.orders",
        "public.events_2024",
        "public.events_2025",
        "public.documents",
        "public.type_zoo",
        "\"MixedCase\".\"Weird Table\"",
    ];
    /// A value of a few megabytes lives in `public.documents.body` (row `name = 'big'`).
    pub const BIG_TEXT_BYTES: usize = 3_200_000;
}

/// Percent-encodes everything outside RFC 3986's unreserved set.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Hex-encodes bytes as a PostgreSQL bytea literal body (`\x…`), e.g. for `lo_from_bytea`.
pub fn bytea_literal(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(4 + bytes.len() * 2);
    s.push_str("'\\x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s.push_str("'::bytea");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding() {
        assert_eq!(percent_encode("aZ9-._~"), "aZ9-._~");
        assert_eq!(
            percent_encode("a:@/%#?+ é"),
            "a%3A%40%2F%25%23%3F%2B%20%C3%A9"
        );
    }

    #[test]
    fn bytea_literals() {
        assert_eq!(bytea_literal(&[0, 255, 16]), "'\\x00ff10'::bytea");
    }
}
