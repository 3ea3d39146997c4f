//! A replay writes only what its chain captured (issue 62, item 2): a change segment crafted
//! by a compromised source or agent that names `pg_catalog.pg_authid` — or a table the chain
//! did not capture — ends the replay as an integrity error naming it, replayed as a superuser
//! into a real cluster: no row of `pg_authid` changes, nothing is written to the other table,
//! and the honest change to a covered table still goes through. A segment's trailer sets only
//! the sequences of the tables its chain captured.

use offsite_core::pgoutput::{self, Column, Message, Relation, Value};
use offsite_core::pitr::replay::Replayer;
use offsite_core::pitr::segment::{SegmentInfo, SegmentWriter, SequenceValue};
use offsite_core::pitr::snapshot::XidSnapshot;
use offsite_core::postgres::conn::ConnSpec;
use offsite_core::ErrorKind;
use offsite_testkit::TestCluster;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

fn col(name: &str, type_oid: u32, key: bool) -> Column {
    Column {
        key,
        name: name.into(),
        type_oid,
        type_modifier: -1,
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.as_bytes().to_vec())
}

/// One transaction (xid 5000, committed at `t`) holding `messages`, as a segment in `dir`.
fn segment(dir: &Path, name: &str, t: i64, messages: Vec<Message>) -> PathBuf {
    segment_setting(dir, name, t, messages, Vec::new())
}

/// [`segment`] whose trailer sets `sequences` (schema, name, value).
fn segment_setting(
    dir: &Path,
    name: &str,
    t: i64,
    messages: Vec<Message>,
    sequences: Vec<(&str, &str, i64)>,
) -> PathBuf {
    let mut w = SegmentWriter::create(dir).unwrap();
    let mut all = vec![Message::Begin {
        final_lsn: 0x2000,
        commit_time: t,
        xid: 5000,
    }];
    all.extend(messages);
    all.push(Message::Commit {
        flags: 0,
        commit_lsn: 0x2000,
        end_lsn: 0x2010,
        commit_time: t,
    });
    for (i, m) in all.iter().enumerate() {
        w.message(0x1000 + i as u64, 5000, &pgoutput::encode(m))
            .unwrap();
    }
    let info = SegmentInfo {
        start_lsn: 0x1000,
        first_commit_lsn: 0x2000,
        end_lsn: 0x2010,
        first_commit_at: t,
        last_commit_at: t,
        closed_at: t,
        commits: 1,
        messages: all.len() as u64,
        fingerprint: String::new(),
        sequences: sequences
            .into_iter()
            .map(|(schema, name, value)| SequenceValue {
                schema: schema.into(),
                name: name.into(),
                value,
            })
            .collect(),
    };
    let path = dir.join(format!("{name}.pitr"));
    w.finish(&info, &path, None).unwrap();
    path
}

fn authid(role: &str) -> String {
    TestCluster::shared().psql(
        "postgres",
        &format!(
            "SELECT rolsuper::text || rolcreaterole::text || rolbypassrls::text \
             FROM pg_authid WHERE rolname = '{role}'"
        ),
    )
}

async fn replay(db: &str, seg: &Path, covered: Option<Vec<String>>) -> offsite_core::Result<u64> {
    let pg = TestCluster::shared();
    let (spec, password) = ConnSpec::parse_url(&pg.url_with_password(db)).unwrap();
    let mut conn = spec.connect(password.as_deref()).await.unwrap();
    // The base saw nothing past xid 100: the crafted transaction is one to apply.
    let snapshot = XidSnapshot::parse("100:100:").unwrap();
    Replayer::new(&mut conn, &spec, snapshot, i64::MAX)
        .covering(covered)
        .all(&[seg], &[], &CancellationToken::new())
        .await
        .map(|r| r.changes)
        .map_err(|a| a.error)
}

/// `pg_catalog.pg_authid` as a crafted stream describes it, and an update making `role` a
/// superuser that may create roles and bypass row security.
fn authid_messages(role: &str) -> Vec<Message> {
    vec![
        Message::Relation(Relation {
            oid: 1260,
            namespace: "pg_catalog".into(),
            name: "pg_authid".into(),
            replica_identity: b'd',
            columns: vec![
                col("rolname", 19, true),
                col("rolsuper", 16, false),
                col("rolcreaterole", 16, false),
                col("rolbypassrls", 16, false),
            ],
        }),
        Message::Update {
            relation: 1260,
            old: None,
            new: vec![text(role), text("t"), text("t"), text("t")],
        },
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crafted_relation_for_pg_authid_changes_no_role() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("replaygate");
    let role = format!("mallory_{}", db.trim_start_matches("replaygate_"));
    pg.psql(
        "postgres",
        &format!("DROP ROLE IF EXISTS {role}; CREATE ROLE {role} NOLOGIN"),
    );
    let before = authid(&role);
    assert_eq!(before, "falsefalsefalse");
    let dir = tempfile::tempdir().unwrap();
    let seg = segment(dir.path(), "authid", 1_000_000, authid_messages(&role));

    // Whatever coverage the chain records (none known, too), the catalogs are never written.
    for covered in [None, Some(vec!["public.items".to_string()])] {
        let e = replay(&db, &seg, covered).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
        assert!(e.message().contains("pg_catalog.pg_authid"), "{e}");
        assert_eq!(authid(&role), before, "a crafted change reached pg_authid");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_table_the_chain_did_not_capture_is_not_written() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("replaycov");
    pg.psql(
        &db,
        "CREATE TABLE public.items (id int PRIMARY KEY, v text); \
         CREATE TABLE public.secret (id int PRIMARY KEY, v text);",
    );
    let dir = tempfile::tempdir().unwrap();
    let insert = |oid: u32, table: &str, v: &str| {
        vec![
            Message::Relation(Relation {
                oid,
                namespace: "public".into(),
                name: table.into(),
                replica_identity: b'd',
                columns: vec![col("id", 23, true), col("v", 25, false)],
            }),
            Message::Insert {
                relation: oid,
                new: vec![text("1"), text(v)],
            },
        ]
    };
    let covered = Some(vec!["public.items".to_string()]);
    let evil = segment(
        dir.path(),
        "secret",
        1_000_000,
        insert(70_001, "secret", "planted"),
    );
    let e = replay(&db, &evil, covered.clone()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert!(e.message().contains("public.secret"), "{e}");
    assert_eq!(pg.psql(&db, "SELECT count(*) FROM public.secret"), "0");

    // The honest change to a covered table is replayed as before.
    let honest = segment(
        dir.path(),
        "items",
        1_000_000,
        insert(70_002, "items", "kept"),
    );
    assert_eq!(replay(&db, &honest, covered).await.unwrap(), 1);
    assert_eq!(
        pg.psql(&db, "SELECT v FROM public.items WHERE id = 1"),
        "kept"
    );
}

/// A crafted trailer that sets a sequence of a table the chain did not capture (an
/// application's ids, set back so they are used again), or one in the server's own schemas, ends
/// the replay naming it: no sequence is set from that segment. The honest trailer — the
/// sequence of a covered table, `serial` or a column default's — is set as before.
#[tokio::test(flavor = "multi_thread")]
async fn a_trailer_sets_only_the_sequences_of_the_tables_its_chain_captured() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("replayseq");
    pg.psql(
        &db,
        "CREATE TABLE public.items (id serial PRIMARY KEY, v text); \
         CREATE SEQUENCE public.tickets; \
         CREATE TABLE public.orders (id int PRIMARY KEY DEFAULT pg_catalog.nextval('public.tickets')); \
         CREATE TABLE public.sessions (id bigserial PRIMARY KEY); \
         SELECT pg_catalog.setval('public.sessions_id_seq', 5000); \
         CREATE SEQUENCE public.loose; \
         SELECT pg_catalog.setval('public.loose', 77);",
    );
    let dir = tempfile::tempdir().unwrap();
    let covered = Some(vec![
        "public.items".to_string(),
        "public.orders".to_string(),
    ]);
    let value = |seq: &str| pg.psql(&db, &format!("SELECT last_value FROM public.{seq}"));
    for (name, bad) in [
        ("other", ("public", "sessions_id_seq", 1)),
        ("loose", ("public", "loose", 1)),
        ("catalog", ("pg_catalog", "pg_anything", 1)),
        ("absent", ("public", "nosuch", 1)),
    ] {
        let seg = segment_setting(
            dir.path(),
            name,
            1_000_000,
            Vec::new(),
            vec![("public", "items_id_seq", 40), bad],
        );
        let e = replay(&db, &seg, covered.clone()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{name}: {e}");
        assert!(e.message().contains(&format!("{}.{}", bad.0, bad.1)), "{e}");
        assert_eq!(value("sessions_id_seq"), "5000", "{name}");
        assert_eq!(value("loose"), "77", "{name}");
        assert_eq!(value("items_id_seq"), "1", "{name}: none set from it");
    }
    // Without a known coverage the catalogs' sequences are still refused.
    let seg = segment_setting(
        dir.path(),
        "catalog-unknown",
        1_000_000,
        Vec::new(),
        vec![("pg_catalog", "pg_anything", 1)],
    );
    let e = replay(&db, &seg, None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");

    let honest = segment_setting(
        dir.path(),
        "honest",
        1_000_000,
        Vec::new(),
        vec![("public", "items_id_seq", 40), ("public", "tickets", 9)],
    );
    replay(&db, &honest, covered).await.unwrap();
    assert_eq!(value("items_id_seq"), "40");
    assert_eq!(value("tickets"), "9");
}
