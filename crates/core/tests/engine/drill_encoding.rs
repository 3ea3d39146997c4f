//! Drills of databases that are not plain UTF-8 / C: a LATIN1 database with non-ASCII text
//! passes with its content compared (not merely counted), and a source whose `lc_monetary`
//! names a locale the drill's server lacks still passes (the setting is cosmetic when the
//! output it governs is the same), the report naming the locale it could not set.

use crate::common::{back_up, env, env_with};
use offsite_core::drill::{CheckStatus, DrillReport, Verdict};
use offsite_core::ops::drill::DrillOptions;
use offsite_core::JobStart;
use offsite_testkit::TestCluster;
use std::path::PathBuf;

fn check<'a>(r: &'a DrillReport, id: &str) -> &'a offsite_core::drill::DrillCheck {
    r.checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id:?} in {:#?}", r.checks))
}

fn drill(project: &str) -> DrillOptions {
    DrillOptions {
        project: project.into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_latin1_database_with_non_ascii_text_passes_with_its_content_compared() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = format!("drill_latin1_{}", std::process::id());
    pg.psql(
        "postgres",
        &format!(
            "CREATE DATABASE {db} ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'"
        ),
    );
    pg.psql(
        &db,
        "SET client_encoding = 'UTF8';
         CREATE TABLE public.words (id int PRIMARY KEY, w text NOT NULL, c char(3));
         INSERT INTO public.words VALUES
             (1, 'café crème brûlée', 'ñoñ'), (2, 'Ærøskøbing ß µ ¿¡ «»', 'äöü'),
             (3, 'plain ascii', 'abc'), (4, E'tab\\there ÿ', 'éèê');",
    );
    let enc = pg.psql(
        &db,
        "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()",
    );
    assert_eq!(enc.trim(), "LATIN1");
    back_up(pg, &env, "latin", &db).await;
    let out = env
        .engine
        .drill(drill("latin"), JobStart::default())
        .await
        .unwrap();
    let r = &out.report;
    assert_eq!(r.verdict, Verdict::Passed, "{:#?}", r.checks);
    let words = check(r, "table:public.words");
    assert_eq!(words.status, CheckStatus::Passed, "{words:?}");
    assert!(
        words
            .actual
            .as_deref()
            .unwrap()
            .starts_with("4 rows, sha256 "),
        "content compared, not only counted: {words:?}"
    );
    pg.drop_db(&db);
}

/// A folder of server binaries whose `postgres` runs with an empty `LOCPATH`: a drill server
/// that knows no locale but C/POSIX (as a machine without the source's locales installed).
fn server_without_locales() -> tempfile::TempDir {
    let real = PathBuf::from("/usr/lib/postgresql/15/bin");
    assert!(
        real.join("initdb").is_file(),
        "Debian's postgresql-15 is needed"
    );
    let root = tempfile::Builder::new()
        .prefix("nolocale")
        .tempdir_in("/tmp")
        .unwrap();
    let bin = root.path().join("lib/postgresql/15/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let empty = root.path().join("no-locales");
    std::fs::create_dir_all(&empty).unwrap();
    // initdb and pg_ctl run the `postgres` beside them: the wrapper.
    for b in ["initdb", "pg_ctl"] {
        std::fs::copy(real.join(b), bin.join(b)).unwrap();
    }
    let wrapper = format!(
        "#!/bin/sh\nLOCPATH='{}' exec '{}' \"$@\"\n",
        empty.display(),
        real.join("postgres").display()
    );
    std::fs::write(bin.join("postgres"), wrapper).unwrap();
    for b in ["pg_dump", "pg_restore", "pg_dumpall", "psql"] {
        std::os::unix::fs::symlink(real.join(b), bin.join(b)).unwrap();
    }
    std::os::unix::fs::symlink(
        "/usr/lib/postgresql/15/lib",
        root.path().join("lib/postgresql/15/lib"),
    )
    .unwrap();
    std::fs::create_dir_all(root.path().join("share/postgresql")).unwrap();
    std::os::unix::fs::symlink(
        "/usr/share/postgresql/15",
        root.path().join("share/postgresql/15"),
    )
    .unwrap();
    let status = std::process::Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(root.path())
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::set_permissions(
        bin.join("postgres"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    root
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_lc_monetary_the_drill_server_lacks_passes_and_the_report_names_it() {
    let pg = TestCluster::shared();
    let fake = server_without_locales();
    let env = env_with(Some(fake.path().join("lib/postgresql/15/bin"))).await;
    let db = pg.unique_db("drillmoney");
    pg.psql(
        "postgres",
        &format!("ALTER DATABASE {db} SET lc_monetary = 'C.utf8'"),
    );
    pg.psql(
        &db,
        "CREATE TABLE public.prices (id int PRIMARY KEY, amount money NOT NULL);
         INSERT INTO public.prices SELECT g, (g * 1234.5)::numeric::money FROM generate_series(1, 20) g;",
    );
    back_up(pg, &env, "money", &db).await;
    let m = env.engine.backups("money").await.unwrap()[0].clone();
    let manifest = offsite_core::archive::read_manifest(std::path::Path::new(&m.path)).unwrap();
    assert_eq!(
        manifest
            .content
            .as_ref()
            .unwrap()
            .settings
            .get("lc_monetary")
            .map(String::as_str),
        Some("C.utf8"),
        "the backup recorded the source's lc_monetary"
    );
    let out = env
        .engine
        .drill(drill("money"), JobStart::default())
        .await
        .unwrap();
    let r = &out.report;
    eprintln!("{:#?}", r.checks);
    assert_eq!(r.verdict, Verdict::Passed, "{:#?}", r.checks);
    assert_eq!(check(r, "table:public.prices").status, CheckStatus::Passed);
    let note = check(r, "settings");
    assert_eq!(note.status, CheckStatus::NotComparable, "{note:?}");
    let detail = note.detail.as_deref().unwrap();
    assert!(
        detail.contains("lc_monetary") && detail.contains("C.utf8"),
        "{detail}"
    );
}
