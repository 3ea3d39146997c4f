//! `sslmode=verify-full` with a certificate authority file (`sslrootcert`), as the Supabase
//! quick add now connects: against a real PostgreSQL cluster serving TLS with a certificate of a
//! throwaway CA. Both ways Offsite talks to a database check the server: sqlx (the engine's own
//! connections) and libpq (pg_dump, psql) — success with the right CA, a clear coded error with
//! the wrong one (and libpq refuses too).

use offsite_core::postgres::conn::{ConnSpec, TlsMode};
use offsite_core::ErrorKind;
use offsite_testkit::tls::TestCa;
use offsite_testkit::TestCluster;
use std::path::Path;

fn spec_for(pg: &TestCluster, ca: &Path) -> ConnSpec {
    let url = format!(
        "postgres://{}@localhost:{}/postgres?sslmode=verify-full&sslrootcert={}",
        pg.superuser(),
        pg.port(),
        ca.display()
    );
    let (spec, _) = ConnSpec::parse_url(&url).unwrap();
    assert_eq!(spec.tls, TlsMode::VerifyFull);
    assert_eq!(spec.ca_file.as_deref(), ca.to_str());
    // The canonical URL keeps the CA (it is what the catalog stores).
    assert_eq!(ConnSpec::parse_url(&spec.to_url()).unwrap().0, spec);
    spec
}

/// psql through libpq with exactly the environment Offsite gives pg_dump/psql.
fn libpq_ssl(pg: &TestCluster, spec: &ConnSpec) -> Result<String, String> {
    let mut c = pg.command("psql");
    for (k, _) in pg.env() {
        c.env_remove(k);
    }
    for k in [
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGDATABASE",
        "PGSSLROOTCERT",
        "PGSSLMODE",
    ] {
        c.env_remove(k);
    }
    c.envs(spec.libpq_env(Some(pg.superuser_password())))
        .env("HOME", "/nonexistent") // no ~/.postgresql/root.crt to fall back on
        .args([
            "-X",
            "-At",
            "-c",
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        ]);
    let out = c.output().unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[tokio::test]
async fn verify_full_against_a_ca_file_accepts_its_server_and_refuses_another_ca() {
    let pg = TestCluster::start();
    let ca = TestCa::new("Offsite Test Root");
    let (cert, key) = ca.issue(&["localhost"]);
    pg.enable_tls(&cert, &key);
    let dir = tempfile::tempdir().unwrap();
    let right = dir.path().join("right-ca.crt");
    std::fs::write(&right, ca.pem()).unwrap();
    let wrong = dir.path().join("wrong-ca.crt");
    std::fs::write(&wrong, TestCa::new("Someone Else's Root").pem()).unwrap();

    // The right CA: sqlx connects over TLS, libpq too.
    let spec = spec_for(&pg, &right);
    let mut conn = spec.connect(Some(pg.superuser_password())).await.unwrap();
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(ssl);
    assert_eq!(libpq_ssl(&pg, &spec).unwrap(), "t");

    // Another CA: a clear, coded error naming the way out; libpq refuses as well.
    let spec = spec_for(&pg, &wrong);
    let e = spec
        .connect(Some(pg.superuser_password()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert_eq!(e.code(), "connection");
    assert!(e.message().contains("TLS failed"), "{e}");
    let hint = e.hint().unwrap();
    assert!(
        hint.contains("--supabase-ca") && hint.contains("sslmode=require"),
        "{hint}"
    );
    assert!(
        !e.is_temporary(),
        "a certificate that does not verify is not retried"
    );
    assert!(!format!("{e:?}").contains(pg.superuser_password()));
    let err = libpq_ssl(&pg, &spec).unwrap_err();
    assert!(err.contains("certificate verify failed"), "{err}");

    // The right CA, but reached as 127.0.0.1, a name the certificate does not hold: refused
    // (verify-FULL checks the name), by sqlx and by libpq.
    let url = format!(
        "postgres://{}@127.0.0.1:{}/postgres?sslmode=verify-full&sslrootcert={}",
        pg.superuser(),
        pg.port(),
        right.display()
    );
    let (spec, _) = ConnSpec::parse_url(&url).unwrap();
    let e = spec
        .connect(Some(pg.superuser_password()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(e.message().contains("TLS failed"), "{e}");
    let err = libpq_ssl(&pg, &spec).unwrap_err();
    assert!(err.contains("does not match host name"), "{err}");
}

#[test]
fn a_ca_file_is_refused_with_a_weaker_mode_or_as_a_relative_path() {
    for (url, says) in [
        (
            "postgres://u@h/d?sslmode=require&sslrootcert=/ca.crt",
            "only checked with verify-full",
        ),
        (
            "postgres://u@h/d?sslrootcert=/ca.crt",
            "only checked with verify-full",
        ),
        (
            "postgres://u@h/d?sslmode=verify-full&sslrootcert=ca.crt",
            "not an absolute path",
        ),
    ] {
        let e = ConnSpec::parse_url(url).unwrap_err();
        assert_eq!(e.code(), "invalid_input", "{url}");
        assert!(e.message().contains(says), "{url}: {e}");
    }
    // verify-full without a CA file: libpq gets the system's roots (as sqlx uses them).
    let (spec, _) = ConnSpec::parse_url("postgres://u@h/d?sslmode=verify-full").unwrap();
    let env = spec.libpq_env(None);
    let root = env
        .iter()
        .find(|(k, _)| *k == "PGSSLROOTCERT")
        .map(|(_, v)| v.clone());
    assert_eq!(root, offsite_core::postgres::conn::system_ca_bundle());
}
