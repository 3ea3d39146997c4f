//! Drills of databases that are not plain UTF-8 / C: a LATIN1 database with non-ASCII text
//! passes with its content compared (not merely counted); a source whose `lc_monetary` names a
//! locale the drill's server lacks passes when that only formats output (the report names the
//! setting it could not reproduce) and fails with the locale named when money values written in
//! its format cannot be loaded.

use crate::common::{back_up, env};
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

/// A compiled `de_DE.UTF-8` locale (money as "1.234,50 €") in a folder of its own, and a
/// folder of server binaries whose `postgres` finds locales there (`LOCPATH`): a source server
/// with a locale this machine (and so the drill's throwaway cluster) does not have.
fn server_with_a_private_locale() -> tempfile::TempDir {
    let real = PathBuf::from("/usr/lib/postgresql/15/bin");
    assert!(
        real.join("initdb").is_file(),
        "Debian's postgresql-15 is needed"
    );
    let root = tempfile::Builder::new()
        .prefix("privlocale")
        .tempdir_in("/tmp")
        .unwrap();
    let locales = root.path().join("locales");
    std::fs::create_dir_all(&locales).unwrap();
    let made = std::process::Command::new("localedef")
        .args(["-i", "de_DE", "-f", "UTF-8"])
        .arg(locales.join("de_DE.UTF-8"))
        .output()
        .expect("localedef (glibc's locales tools, /usr/share/i18n) is needed");
    assert!(
        locales.join("de_DE.UTF-8").is_dir(),
        "localedef failed: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let bin = root.path().join("lib/postgresql/15/bin");
    std::fs::create_dir_all(&bin).unwrap();
    // initdb and pg_ctl run the `postgres` beside them: the wrapper.
    for b in ["initdb", "pg_ctl"] {
        std::fs::copy(real.join(b), bin.join(b)).unwrap();
    }
    let wrapper = format!(
        "#!/bin/sh\nLOCPATH='{}' exec '{}' \"$@\"\n",
        locales.display(),
        real.join("postgres").display()
    );
    offsite_testkit::script::write_executable(&bin.join("postgres"), &wrapper);
    // The client tools (psql, createdb, pg_dump …): the real ones.
    for e in std::fs::read_dir(&real).unwrap().flatten() {
        let name = e.file_name();
        if !bin.join(&name).exists() {
            std::os::unix::fs::symlink(e.path(), bin.join(&name)).unwrap();
        }
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
    // Reachable by the `postgres` OS user when the tests run as root.
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

/// A source whose `lc_monetary` names a locale the drill's server lacks. Without money values
/// the drill passes (the setting only formats money), the report naming the setting it could not
/// reproduce; with money values written in that locale's format pg_restore cannot load them,
/// and the failed restore check says so, naming the locale and what to do.
#[tokio::test(flavor = "multi_thread")]
async fn a_source_lc_monetary_the_drill_server_lacks_passes_or_fails_naming_it() {
    let fake = server_with_a_private_locale();
    let src = TestCluster::start_with_bin_dir(&fake.path().join("lib/postgresql/15/bin"));
    let env = env().await;
    let plain = src.unique_db("drillmoney");
    src.psql(
        "postgres",
        &format!("ALTER DATABASE {plain} SET lc_monetary = 'de_DE.UTF-8'"),
    );
    src.psql(
        &plain,
        "CREATE TABLE public.prices (id int PRIMARY KEY, amount numeric(12,2) NOT NULL, label text);
         INSERT INTO public.prices SELECT g, g * 1234.5, 'Preis ' || g FROM generate_series(1, 20) g;",
    );
    assert_eq!(
        src.psql(&plain, "SELECT 1234.5::money").trim(),
        "1.234,50 €",
        "the source formats money in its own locale"
    );
    back_up(&src, &env, "money", &plain).await;
    let out = env
        .engine
        .drill(drill("money"), JobStart::default())
        .await
        .unwrap();
    let r = &out.report;
    assert_eq!(r.verdict, Verdict::Passed, "{:#?}", r.checks);
    assert_eq!(check(r, "table:public.prices").status, CheckStatus::Passed);
    let note = check(r, "settings");
    assert_eq!(note.status, CheckStatus::NotComparable, "{note:?}");
    let detail = note.detail.as_deref().unwrap();
    assert!(detail.contains("lc_monetary = 'de_DE.UTF-8'"), "{detail}");
    assert!(detail.contains("install that locale"), "{detail}");

    // Money values: written as "1.234,50 €", which a server without the locale cannot read.
    let money = src.unique_db("drillmoney");
    src.psql(
        "postgres",
        &format!("ALTER DATABASE {money} SET lc_monetary = 'de_DE.UTF-8'"),
    );
    src.psql(
        &money,
        "CREATE TABLE public.wallet (id int PRIMARY KEY, amount money NOT NULL);
         INSERT INTO public.wallet SELECT g, (g * 1234.5)::numeric::money FROM generate_series(1, 5) g;",
    );
    back_up(&src, &env, "wallet", &money).await;
    let out = env
        .engine
        .drill(drill("wallet"), JobStart::default())
        .await
        .unwrap();
    let r = &out.report;
    assert_eq!(r.verdict, Verdict::Failed, "{:#?}", r.checks);
    let restore = check(r, "restore");
    assert_eq!(restore.status, CheckStatus::Failed, "{restore:?}");
    let detail = restore.detail.as_deref().unwrap();
    assert!(
        detail.contains("lc_monetary = 'de_DE.UTF-8'")
            && detail.contains("lacks")
            && detail.contains("install that locale"),
        "{detail}"
    );
}
