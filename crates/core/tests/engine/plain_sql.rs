//! Plain SQL dumps (`pg_dump` plain format as `.sql.gz`, `pg_dumpall` output): previewed,
//! imported into an archive, restored through psql in one transaction — against real
//! PostgreSQL clusters and the real pg_dump, pg_dumpall and psql.

use offsite_core::archive;
use offsite_core::catalog::BackupStatus;
use offsite_core::import::ImportKind;
use offsite_core::restore::DatabaseOptions;
use offsite_core::{
    AddProject, ErrorKind, ImportInto, ImportOptions, JobStart, ProjectConnection, RestoreRequest,
};
use offsite_testkit::TestCluster;
use offsite_testkit::{fidelity_snapshot, schema_dump};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::common::{env, files_under, target, Env};

/// A database with two schemas, rows whose text looks like transaction statements, a comment
/// spanning lines with `COMMIT;` in it, a sequence, a function and a large object.
fn fixture_db(pg: &TestCluster, prefix: &str) -> String {
    let db = pg.unique_db(prefix);
    pg.psql(
        &db,
        r#"
CREATE SCHEMA app;
CREATE TABLE app.orders (id int PRIMARY KEY, note text, amount numeric(10,2));
INSERT INTO app.orders VALUES (1, 'BEGIN;', 1.50), (2, E'multi\nCOMMIT;\nline', 2.25), (3, '\.', 0);
INSERT INTO app.orders SELECT g, md5(g::text), g / 7.0 FROM generate_series(4, 500) g;
CREATE TABLE public.items (id serial PRIMARY KEY, order_id int REFERENCES app.orders(id), name text);
INSERT INTO public.items (order_id, name) SELECT 1 + g % 100, 'item ' || g FROM generate_series(1, 300) g;
COMMENT ON TABLE public.items IS E'first\nCOMMIT;\nROLLBACK;\nlast';
CREATE FUNCTION app.total() RETURNS numeric LANGUAGE plpgsql AS $$
BEGIN
  RETURN (SELECT sum(amount) FROM app.orders);
END
$$;
SELECT lo_from_bytea(0, decode(repeat('0123456789abcdef', 4096), 'hex'));
"#,
    );
    db
}

fn run_ok(cmd: &mut std::process::Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `pg_dump` (plain format) of `db`.
pub(crate) fn pg_dump_plain(pg: &TestCluster, db: &str) -> Vec<u8> {
    run_ok(pg.command("pg_dump").args(pg.conn_args()).arg(db))
}

fn gzip(bytes: &[u8], file: &Path) {
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(file).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap();
}

pub(crate) fn new_project(pg: &TestCluster, name: &str, db: &str) -> ImportInto {
    ImportInto::New(AddProject {
        name: name.into(),
        connection: ProjectConnection::Url(pg.url(db)),
        tls: None,
        password: Some(pg.superuser_password().into()),
        backup_dir: None,
        skip_test: false,
    })
}

fn replace() -> DatabaseOptions {
    DatabaseOptions {
        replace: true,
        ..Default::default()
    }
}

pub(crate) async fn import_new(
    env: &Env,
    file: &Path,
    into: ImportInto,
    db: Option<&str>,
) -> PathBuf {
    let o = env
        .engine
        .import(
            ImportOptions {
                database: db.map(str::to_string),
                ..ImportOptions::new(file, into)
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(o.backup.status, BackupStatus::Verified);
    PathBuf::from(o.backup.path)
}

#[tokio::test(flavor = "multi_thread")]
async fn sql_gz_from_pg_dump_imports_and_restores_identically() {
    let pg = TestCluster::shared();
    let src = fixture_db(pg, "plain_src");
    let sql = pg_dump_plain(pg, &src);
    let text = String::from_utf8_lossy(&sql);
    // What makes a naive restore non-atomic is there: the dump's own transaction.
    assert!(text.contains("\nBEGIN;\n") && text.contains("\nCOMMIT;\n"));
    let env = env().await;
    let file = env.dir.path().join("nightly.sql.gz");
    gzip(&sql, &file);

    let p = env.engine.inspect_import(&file).await.unwrap();
    assert_eq!(p.kind, ImportKind::PlainSql);
    let plain = p.plain.as_ref().unwrap();
    assert!(plain.compressed && plain.from_pg_dump && !plain.dumpall);
    assert!(plain.large_objects);
    assert_eq!(plain.sql_bytes, sql.len() as u64);
    let mut tables: Vec<String> = p
        .tables
        .iter()
        .map(|t| format!("{}.{}", t.schema, t.table))
        .collect();
    tables.sort();
    assert_eq!(tables, vec!["app.orders", "public.items"]);
    assert!(!p.rows_recorded);
    assert!(p.server_version.is_some() && p.pg_dump_version.is_some());
    assert!(
        p.notes.iter().any(|n| n.contains("plain SQL")),
        "{:?}",
        p.notes
    );

    let path = import_new(&env, &file, new_project(pg, "nightly", &src), None).await;
    let m = archive::read_manifest(&path).unwrap();
    assert!(m.member(archive::DATABASE_SQL_MEMBER).is_some());
    assert!(m.member(archive::DATABASE_MEMBER).is_none());
    assert!(m
        .tables_note
        .as_deref()
        .unwrap()
        .contains("written as SQL text"));
    assert!(
        m.roles.contains(&pg.superuser().to_string()),
        "{:?}",
        m.roles
    );
    // The member is the dump's SQL, byte for byte but for pg_dump's `\restrict` /
    // `\unrestrict` lines (users are never locked in: `psql -f database.sql` restores it).
    let mut member = Vec::new();
    archive::copy_member(
        &path,
        archive::DATABASE_SQL_MEMBER,
        &mut member,
        &offsite_core::progress::Reporter::silent(),
        &Default::default(),
    )
    .unwrap();
    let without_restrict: String = text
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("\\restrict ") && !l.starts_with("\\unrestrict "))
        .collect();
    assert!(
        String::from_utf8(member).unwrap() == without_restrict,
        "database.sql is the dump without \\restrict"
    );

    // Into a fresh database: identical data, large object and schema.
    let dst = pg.unique_db("plain_dst");
    let r = env
        .engine
        .restore(
            RestoreRequest::new(&path, target(pg, &dst)),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(
        r.report
            .database
            .as_ref()
            .unwrap()
            .plan
            .pg_restore
            .ends_with("psql"),
        "{}",
        r.report.database.as_ref().unwrap().plan.pg_restore
    );
    assert!(r
        .report
        .database
        .as_ref()
        .unwrap()
        .rows_not_recorded
        .is_some());
    let source = fidelity_snapshot(pg, &src);
    assert_eq!(source.large_objects.len(), 1);
    fidelity_snapshot(pg, &dst).assert_same_as(&source);
    assert_eq!(schema_dump(pg, &dst), schema_dump(pg, &src));

    // A second restore into the same copy needs consent…
    let e = env
        .engine
        .restore(
            RestoreRequest::new(&path, target(pg, &dst)),
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NeedsConsent, "{e}");
    // …and with --replace, after the copy changed, puts it back (a safety backup first).
    pg.psql(
        &dst,
        "DELETE FROM public.items WHERE id > 10; UPDATE app.orders SET note = 'changed'; SELECT lo_unlink(oid) FROM pg_largeobject_metadata; CREATE TABLE public.extra (x int);",
    );
    let r = env
        .engine
        .restore(
            RestoreRequest::new(&path, target(pg, &dst)).options(replace()),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(
        r.report.database.as_ref().unwrap().plan.replace
            && !r.report.database.as_ref().unwrap().plan.target_empty
    );
    assert!(
        r.report
            .database
            .as_ref()
            .unwrap()
            .plan
            .will_replace
            .iter()
            .any(|t| t == "app.orders"),
        "{:?}",
        r.report.database.as_ref().unwrap().plan.will_replace
    );
    let safety = r
        .report
        .database
        .as_ref()
        .unwrap()
        .safety_backup
        .as_ref()
        .expect("a safety backup");
    assert!(safety.exists());
    let after = fidelity_snapshot(pg, &dst);
    let mut expected = source.clone();
    expected.tables.insert("public.extra".into(), Vec::new()); // kept: not in the backup
    after.assert_same_as(&expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_in_the_middle_leaves_the_target_as_it_was() {
    let pg = TestCluster::shared();
    let src = fixture_db(pg, "plain_fail_src");
    let sql = String::from_utf8(pg_dump_plain(pg, &src)).unwrap();
    // A row whose key repeats: the primary key, added after the data and after the large
    // objects' own BEGIN/COMMIT, fails.
    let broken = sql.replacen("1\tBEGIN;\t1.50\n", "1\tBEGIN;\t1.50\n1\tagain\t0.00\n", 1);
    assert_ne!(broken, sql);
    let lo = broken.find("lo_open").unwrap();
    let pk = broken.find("ADD CONSTRAINT orders_pkey").unwrap();
    assert!(
        lo < pk,
        "the large objects come before the failing constraint"
    );
    let env = env().await;
    let file = env.dir.path().join("broken.sql");
    std::fs::write(&file, &broken).unwrap();
    let path = import_new(&env, &file, new_project(pg, "broken", &src), None).await;

    // A naive `psql --single-transaction` of the same file is not all or nothing: the dump's
    // COMMIT ends the transaction and what came before it stays.
    let naive = pg.unique_db("plain_naive");
    let out = pg
        .command("psql")
        .args(pg.conn_args())
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "--single-transaction",
            "-f",
        ])
        .arg(&file)
        .arg(&naive)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_ne!(
        pg.psql(&naive, "SELECT count(*) FROM pg_largeobject_metadata"),
        "0"
    );

    // Into an empty database: it stays empty.
    let dst = pg.unique_db("plain_fail_dst");
    let before = (fidelity_snapshot(pg, &dst), schema_dump(pg, &dst));
    let e = env
        .engine
        .restore(
            RestoreRequest::new(&path, target(pg, &dst)),
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert!(e.message().contains("restore failed"), "{e}");
    assert!(e.hint().unwrap_or("").contains("rolled back"), "{e:?}");
    assert_eq!((fidelity_snapshot(pg, &dst), schema_dump(pg, &dst)), before);

    // Replacing an existing copy: it stays exactly as it was.
    let good = pg.unique_db("plain_fail_good");
    pg.psql(&good, "CREATE TABLE public.mine (id int PRIMARY KEY, v text); INSERT INTO public.mine VALUES (1, 'keep'); SELECT lo_from_bytea(0, '\\x0102');");
    pg.psql(
        &good,
        "CREATE SCHEMA app; CREATE TABLE app.orders (id int); INSERT INTO app.orders VALUES (42);",
    );
    let before = (fidelity_snapshot(pg, &good), schema_dump(pg, &good));
    let e = env
        .engine
        .restore(
            RestoreRequest::new(&path, target(pg, &good)).options(replace()),
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert!(e.message().contains("restore failed"), "{e}");
    assert_eq!(
        (fidelity_snapshot(pg, &good), schema_dump(pg, &good)),
        before
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pg_dumpall_one_database_with_its_roles() {
    // A cluster of its own: pg_dumpall takes every database and role of the cluster.
    let source = TestCluster::start();
    source.psql(
        "postgres",
        "CREATE ROLE plain_owner LOGIN PASSWORD 'owner-secret-pw'; CREATE ROLE plain_reader NOLOGIN; GRANT plain_reader TO plain_owner;",
    );
    source.create_db("shop");
    source.psql(
        "shop",
        "CREATE TABLE public.orders (id int PRIMARY KEY, v text); INSERT INTO orders SELECT g, 'o' || g FROM generate_series(1, 200) g; ALTER TABLE orders OWNER TO plain_owner; GRANT SELECT ON orders TO plain_reader; SELECT lo_from_bytea(0, '\\xdeadbeef');",
    );
    source.create_db("crm");
    source.psql(
        "crm",
        "CREATE TABLE public.contacts (id int); INSERT INTO contacts VALUES (1), (2);",
    );
    let env = env().await;
    let file = env.dir.path().join("cluster.sql");
    let all = run_ok(source.command("pg_dumpall").args(source.conn_args()));
    assert!(
        String::from_utf8_lossy(&all).contains("owner-secret-pw")
            || String::from_utf8_lossy(&all).contains("SCRAM")
    );
    std::fs::write(&file, &all).unwrap();

    let p = env.engine.inspect_import(&file).await.unwrap();
    assert_eq!(p.kind, ImportKind::PgDumpall);
    let plain = p.plain.as_ref().unwrap();
    assert!(plain.dumpall);
    let names: Vec<&str> = plain.databases.iter().map(|d| d.name.as_str()).collect();
    assert!(
        names.contains(&"shop") && names.contains(&"crm"),
        "{names:?}"
    );
    assert!(!names.contains(&"template1"), "{names:?}");
    let shop = plain.databases.iter().find(|d| d.name == "shop").unwrap();
    assert_eq!(shop.tables, vec!["public.orders"]);
    assert!(
        plain.roles.iter().any(|r| r == "plain_owner"),
        "{:?}",
        plain.roles
    );

    // Which database must be said; an unknown one is refused; nothing is left behind.
    let target_pg = TestCluster::start();
    target_pg.create_db("placeholder");
    for (db, needle) in [(None, "choose"), (Some("nope"), "no database \"nope\"")] {
        let e = env
            .engine
            .import(
                ImportOptions {
                    database: db.map(str::to_string),
                    ..ImportOptions::new(&file, new_project(&target_pg, "cluster", "placeholder"))
                },
                JobStart::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(
            e.message().contains(needle) && e.message().contains("crm"),
            "{e}"
        );
        assert!(env.engine.catalog().project("cluster").await.is_err());
        assert!(files_under(&env.engine.data_dir().join("backups")).is_empty());
    }

    let path = import_new(
        &env,
        &file,
        new_project(&target_pg, "cluster", "placeholder"),
        Some("shop"),
    )
    .await;
    let m = archive::read_manifest(&path).unwrap();
    assert_eq!(m.source.database.as_deref(), Some("shop"));
    assert!(
        m.roles.contains(&"plain_owner".to_string()),
        "{:?}",
        m.roles
    );
    assert!(
        m.roles.contains(&"plain_reader".to_string()),
        "{:?}",
        m.roles
    );
    let mut globals = Vec::new();
    archive::copy_member(
        &path,
        archive::GLOBALS_MEMBER,
        &mut globals,
        &offsite_core::progress::Reporter::silent(),
        &Default::default(),
    )
    .unwrap();
    let globals = String::from_utf8(globals).unwrap();
    assert!(globals.contains("CREATE ROLE plain_owner;"), "{globals}");
    assert!(
        !globals.contains("PASSWORD") && !globals.contains("SCRAM"),
        "{globals}"
    );
    let mut sql = Vec::new();
    archive::copy_member(
        &path,
        archive::DATABASE_SQL_MEMBER,
        &mut sql,
        &offsite_core::progress::Reporter::silent(),
        &Default::default(),
    )
    .unwrap();
    let sql = String::from_utf8(sql).unwrap();
    assert!(sql.contains("CREATE TABLE public.orders") && !sql.contains("contacts"));
    assert!(!sql.contains("\\connect") && !sql.contains("CREATE DATABASE"));

    // Restored into another server that lacks the roles: the plan says so; with
    // --create-roles they are created (membership too) and the data arrives.
    let dst = target_pg.unique_db("shop_copy");
    let req = RestoreRequest::new(&path, target(&target_pg, &dst));
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert!(
        plan.missing_roles.contains(&"plain_owner".to_string()),
        "{:?}",
        plan.missing_roles
    );
    let e = env
        .engine
        .restore(req.clone(), JobStart::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(
        target_pg.psql(
            &dst,
            "SELECT count(*) FROM pg_class WHERE relname = 'orders'"
        ),
        "0"
    );
    env.engine
        .restore(
            req.options(DatabaseOptions {
                create_roles: true,
                ..Default::default()
            }),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        fidelity_snapshot(&target_pg, &dst),
        fidelity_snapshot(&source, "shop")
    );
    assert_eq!(
        target_pg.psql(
            &dst,
            "SELECT tableowner FROM pg_tables WHERE tablename = 'orders'"
        ),
        "plain_owner"
    );
    assert_eq!(
        target_pg.psql(&dst, "SELECT has_table_privilege('plain_reader', 'public.orders', 'SELECT'), pg_has_role('plain_owner', 'plain_reader', 'MEMBER')"),
        "t|t"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_plain_archive_is_refused_and_the_target_stays_empty() {
    let pg = TestCluster::shared();
    let src = fixture_db(pg, "plain_bad_src");
    let env = env().await;
    let file = env.dir.path().join("dump.sql");
    std::fs::write(&file, pg_dump_plain(pg, &src)).unwrap();
    let path = import_new(&env, &file, new_project(pg, "bad", &src), None).await;
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    let bad = env.dir.path().join("bad.tar.gz");
    std::fs::write(&bad, &bytes).unwrap();
    let dst = pg.unique_db("plain_bad_dst");
    let e = env
        .engine
        .restore(
            RestoreRequest::new(&bad, target(pg, &dst)),
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::Integrity | ErrorKind::UnsupportedFormat
        ),
        "{e:?}"
    );
    assert_eq!(
        pg.psql(&dst, "SELECT count(*) FROM pg_class WHERE relnamespace IN ('public'::regnamespace) OR relname = 'orders'"),
        "0"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hand_written_script_restores_and_shell_commands_are_refused() {
    let pg = TestCluster::shared();
    let env = env().await;
    let file = env.dir.path().join("seed.sql");
    std::fs::write(
        &file,
        "CREATE TABLE hand (id int, note text);\nINSERT INTO hand VALUES (1, 'a;b'), (2, $$x\nCOMMIT;$$);\nBEGIN;\nINSERT INTO hand VALUES (3, NULL);\nCOMMIT;\n",
    )
    .unwrap();
    let p = env.engine.inspect_import(&file).await.unwrap();
    assert_eq!(p.kind, ImportKind::PlainSql);
    assert!(!p.plain.as_ref().unwrap().from_pg_dump);
    let db = pg.unique_db("plain_hand");
    let path = import_new(&env, &file, new_project(pg, "hand", &db), None).await;
    let r = env
        .engine
        .restore(
            RestoreRequest::new(&path, target(pg, &db)),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(
        r.report
            .database
            .as_ref()
            .unwrap()
            .plan
            .warnings
            .iter()
            .any(|w| w.contains("no pg_dump entry headers")),
        "{:?}",
        r.report.database.as_ref().unwrap().plan.warnings
    );
    assert_eq!(pg.psql(&db, "SELECT count(*) FROM hand"), "3");

    // A psql shell escape in a script is never run: refused at import already, nothing
    // imported (a crafted archive holding it is refused at restore: see `psql_meta`).
    let evil = env.dir.path().join("evil.sql");
    let marker = env.dir.path().join("ran");
    std::fs::write(
        &evil,
        format!(
            "CREATE TABLE evil (id int);\n\\! touch {}\nINSERT INTO evil VALUES (1);\n",
            marker.display()
        ),
    )
    .unwrap();
    let hand = env.engine.catalog().project("hand").await.unwrap();
    let count = || async { env.engine.catalog().backups(&hand.id).await.unwrap().len() };
    let before = count().await;
    let e = env
        .engine
        .import(
            ImportOptions::new(
                &evil,
                ImportInto::Existing {
                    project: "hand".into(),
                },
            ),
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnsupportedFormat, "{e}");
    assert!(
        e.message().contains("\\!") && e.message().contains("(line 2)"),
        "{e}"
    );
    assert!(
        e.hint().unwrap_or("").starts_with("Nothing was imported"),
        "{e:?}"
    );
    assert!(!marker.exists());
    assert_eq!(count().await, before, "a backup was registered");
}
