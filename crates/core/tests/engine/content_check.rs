//! Per-table digests recorded at backup and the drill's content check (issue 26): a database
//! with every awkward type, odd identifiers, partitions and large objects is backed up, restored
//! into a second cluster with the roles, and read back: every table compares equal; one deleted
//! row and one changed value then fail exactly those tables, by name.

use crate::common::*;
use offsite_core::archive::{read_manifest, Manifest};
use offsite_core::drill::content::check_tables;
use offsite_core::drill::{CheckStatus, DrillCheck};
use offsite_core::pgdump::{BlockKind, CopyRows, DumpReader};
use offsite_core::restore::DatabaseOptions;
use offsite_core::{JobStart, RestoreRequest};
use offsite_testkit::TestCluster;
use sqlx::Connection;
use std::io::Read;
use tokio_util::sync::CancellationToken;

/// Types whose text depends on session settings, text that COPY escapes, NULLs, odd names.
const CONTENT_SQL: &str = r#"
CREATE SCHEMA "My Schema";
CREATE SCHEMA "Drill Data";
SET search_path = "Drill Data", public;
CREATE TYPE "Drill Mood" AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE "My Schema"."Odd ""Name""" (
    id int PRIMARY KEY,
    "Mixed Case" text,
    "quote""col" text,
    feeling "Drill Mood",
    doubled int GENERATED ALWAYS AS (id * 2) STORED,
    raw bytea,
    at timestamptz,
    f8 float8,
    f4 float4,
    span interval,
    price money,
    tags text[],
    doc json,
    docb jsonb,
    n numeric,
    d date,
    rel regclass
);
INSERT INTO "My Schema"."Odd ""Name""" (id, "Mixed Case", "quote""col", feeling, raw, at, f8, f4,
    span, price, tags, doc, docb, n, d, rel)
SELECT g,
       CASE WHEN g % 7 = 0 THEN NULL ELSE E'tab\there back\\slash\nnew line ' || g END,
       E'\\N is not null ' || g,
       (ARRAY['sad', 'ok', 'happy'])[1 + g % 3]::"Drill Mood",
       CASE WHEN g % 5 = 0 THEN NULL ELSE decode(md5(g::text), 'hex') || '\x005c'::bytea END,
       timestamptz '2026-03-29 01:30:00+01' + g * interval '17 minutes 3.25 seconds',
       (ARRAY[0.1::float8, 1.0 / 3, 'NaN', '-Infinity', 1e-300, 123456789.125])[1 + g % 6],
       (g / 7.0)::float4,
       make_interval(0, g, 0, g, g, g, g / 3.0),
       (g * 1234.56)::numeric::money,
       ARRAY['a b', NULL, E'q"uote', 'x,y', g::text],
       json_build_object('k', g, 'nested', json_build_array(1, 'two', NULL)),
       jsonb_build_object('k', g, 'u', E'\u00e9\t'),
       g / 3.0,
       date '2000-02-28' + g,
       'pg_class'::regclass
FROM generate_series(1, 250) g;
ALTER TABLE "My Schema"."Odd ""Name""" ALTER COLUMN "quote""col" SET STORAGE EXTERNAL;

CREATE TABLE events (id int, created timestamptz, body text) PARTITION BY RANGE (id);
CREATE TABLE events_low PARTITION OF events FOR VALUES FROM (0) TO (100);
CREATE TABLE "Events High" PARTITION OF events FOR VALUES FROM (100) TO (10000);
INSERT INTO events SELECT g, now() - g * interval '1 hour', repeat('x', g % 50) FROM generate_series(1, 400) g;

CREATE TABLE "UPPER" ("ID" int, "Big Text" text);
INSERT INTO "UPPER" SELECT g, repeat(md5(g::text), 300) FROM generate_series(1, 30) g;
CREATE TABLE nocols ();
INSERT INTO nocols DEFAULT VALUES;
INSERT INTO nocols DEFAULT VALUES;
CREATE TABLE empty_one (a int);
"#;

fn failed(checks: &[DrillCheck]) -> Vec<&str> {
    checks
        .iter()
        .filter(|c| c.status == CheckStatus::Failed)
        .map(|c| c.id.as_str())
        .collect()
}

async fn checks_of(pg: &TestCluster, db: &str, manifest: &Manifest) -> Vec<DrillCheck> {
    let mut conn = sqlx::PgConnection::connect(&pg.url_with_password(db))
        .await
        .unwrap();
    let checks = check_tables(&mut conn, manifest, &CancellationToken::new())
        .await
        .unwrap();
    conn.close().await.unwrap();
    checks
}

/// The archive's `database.dump`, extracted.
fn dump_bytes(archive: &std::path::Path) -> Vec<u8> {
    let out = tempfile::tempdir().unwrap();
    let tar = std::process::Command::new("tar")
        .arg("-xf")
        .arg(archive)
        .arg("-C")
        .arg(out.path())
        .arg("database.dump")
        .status()
        .unwrap();
    assert!(tar.success());
    std::fs::read(out.path().join("database.dump")).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_restored_table_reads_back_as_backed_up_and_sabotage_names_the_table() {
    let pg = TestCluster::shared();
    let env = env().await;
    let src = pg.unique_db("digests");
    pg.load_supabase_fixture(&src);
    pg.psql(&src, CONTENT_SQL);
    let lo_a = pg.create_large_object(&src, b"large object \x00\xff bytes");
    pg.create_large_object(&src, &vec![7u8; 3 << 20]);
    // Settings pg_dump does not fix and a read-back must reproduce (TimeZone through PGTZ;
    // the rest recorded): the source's own defaults differ from the target's.
    pg.psql(
        "postgres",
        &format!(
            "ALTER DATABASE \"{src}\" SET timezone = 'America/New_York'; \
             ALTER DATABASE \"{src}\" SET bytea_output = 'escape'; \
             ALTER DATABASE \"{src}\" SET intervalstyle = 'iso_8601'; \
             ALTER DATABASE \"{src}\" SET datestyle = 'German, DMY'; \
             ALTER DATABASE \"{src}\" SET extra_float_digits = -3"
        ),
    );
    // One stream (format 1): the block offsets below are into `database.dump` (format 2's
    // digests equal these: parallel_dump.rs).
    let archive =
        crate::parallel_dump::back_up_with_jobs(&env, "dg", pg.url_with_password(&src), Some(1))
            .await;
    let manifest = read_manifest(&archive).unwrap();

    // The manifest: every table has its digest, lines = exact rows, columns, block offsets.
    let content = manifest.content.as_ref().expect("digests recorded");
    assert_eq!(content.note, None);
    assert_eq!(content.settings["TimeZone"], "UTC");
    assert_eq!(content.settings["bytea_output"], "escape");
    assert_eq!(content.settings["client_encoding"], "UTF8");
    let objects: u64 = pg
        .psql(&src, "SELECT count(*) FROM pg_largeobject_metadata")
        .parse()
        .unwrap();
    assert!(objects >= 2);
    assert_eq!(
        content.large_objects.as_ref().map(|l| l.count),
        Some(objects)
    );
    let odd = manifest
        .tables
        .iter()
        .find(|t| t.table == "Odd \"Name\"")
        .expect("the odd table is listed");
    assert_eq!((odd.rows, odd.lines), (250, Some(250)));
    let cols = odd.columns.as_ref().unwrap();
    assert!(cols.contains(&"quote\"col".to_string()) && cols.contains(&"Mixed Case".to_string()));
    assert!(
        !cols.contains(&"doubled".to_string()),
        "generated columns are not dumped"
    );
    let dump = dump_bytes(&archive);
    for t in &manifest.tables {
        assert!(t.sha256.is_some(), "{}.{} has no digest", t.schema, t.table);
        assert_eq!(t.lines, Some(t.rows), "{}.{}", t.schema, t.table);
        // The recorded block is the table's, and its rows hash to the digest.
        let (offset, length) = (t.dump_offset.unwrap(), t.dump_length.unwrap());
        let mut r = DumpReader::new(std::io::Cursor::new(&dump)).unwrap();
        let block = r.seek_block(offset).unwrap();
        assert_eq!(block.kind, BlockKind::Data);
        assert_eq!(r.entry(block.dump_id).unwrap().tag, t.table);
        let mut rows = Vec::new();
        CopyRows::new(r.data()).read_to_end(&mut rows).unwrap();
        assert_eq!(r.position(), offset + length);
        assert_eq!(
            Some(hex::encode(ring::digest::digest(
                &ring::digest::SHA256,
                &rows
            ))),
            t.sha256
        );
    }
    let names: Vec<String> = manifest
        .tables
        .iter()
        .map(|t| format!("{}.{}", t.schema, t.table))
        .collect();
    for want in [
        "Drill Data.events_low",
        "Drill Data.Events High",
        "Drill Data.UPPER",
        "Drill Data.nocols",
    ] {
        assert!(names.contains(&want.to_string()), "{want} in {names:?}");
    }
    assert!(
        !names.contains(&"Drill Data.events".to_string()),
        "a partitioned parent holds no rows"
    );

    // Restored into another cluster, with the roles: every table compares equal.
    let other = TestCluster::start();
    other.create_db("dst");
    let req = RestoreRequest::new(&archive, target(&other, "dst")).options(DatabaseOptions {
        create_roles: true,
        ..Default::default()
    });
    env.engine.restore(req, JobStart::default()).await.unwrap();
    let checks = checks_of(&other, "dst", &manifest).await;
    assert_eq!(checks.len(), manifest.tables.len() + 1);
    for c in &checks {
        assert_eq!(c.status, CheckStatus::Passed, "{c:?}");
        assert_eq!(c.expected, c.actual, "{c:?}");
    }
    assert!(checks
        .iter()
        .any(|c| c.id == "table:My Schema.Odd \"Name\""));
    assert!(checks.iter().any(|c| c.id == "large_objects"));

    // Sabotage: one row deleted in one table, one value changed in another, one large object.
    other.psql("dst", "DELETE FROM \"Drill Data\".events WHERE id = 150");
    other.psql(
        "dst",
        "UPDATE \"My Schema\".\"Odd \"\"Name\"\"\" SET f4 = f4 + 1 WHERE id = 3",
    );
    let checks = checks_of(&other, "dst", &manifest).await;
    assert_eq!(
        failed(&checks),
        [
            "table:Drill Data.Events High",
            "table:My Schema.Odd \"Name\""
        ]
    );
    let high = checks
        .iter()
        .find(|c| c.id == "table:Drill Data.Events High")
        .unwrap();
    let detail = high.detail.as_deref().unwrap();
    assert!(
        detail.contains("Events High") && detail.contains("300 rows"),
        "{detail}"
    );
    other.psql("dst", &format!("SELECT lo_put({lo_a}, 0, 'L')"));
    let checks = checks_of(&other, "dst", &manifest).await;
    assert!(failed(&checks).contains(&"large_objects"), "{checks:?}");
}

/// An archive from before digests: its tables are not comparable by content; the row count is
/// checked instead (and a wrong one still fails).
#[tokio::test(flavor = "multi_thread")]
async fn an_archive_without_digests_checks_row_counts_instead() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (src, archive) = backed_up_with(
        pg,
        &env,
        "nodigest",
        "CREATE TABLE a AS SELECT g FROM generate_series(1, 5) g; \
         CREATE TABLE b AS SELECT g FROM generate_series(1, 3) g;",
    )
    .await;
    let mut manifest = read_manifest(&archive).unwrap();
    for t in &mut manifest.tables {
        t.sha256 = None;
    }
    manifest.content = None;
    pg.psql(&src, "DELETE FROM b WHERE g = 1");
    let checks = checks_of(pg, &src, &manifest).await;
    let a = checks.iter().find(|c| c.id == "table:public.a").unwrap();
    assert_eq!(a.status, CheckStatus::NotComparable, "{a:?}");
    assert!(a.detail.as_deref().unwrap().contains("row count"), "{a:?}");
    assert_eq!(failed(&checks), ["table:public.b"]);
}
