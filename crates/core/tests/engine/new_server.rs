//! Disaster recovery onto a server that is not the original: a second cluster without the
//! backup's roles, and a cluster shaped like a fresh Supabase project (bootstrap superuser
//! `supabase_admin`, `postgres` not a superuser, `auth` and `storage` made by the platform and
//! owned by their admin roles).

use crate::common::*;
use offsite_core::error::ErrorKind;
use offsite_core::restore::{DatabaseOptions, DatabaseTo};
use offsite_core::{JobStart, RestoreRequest};
use offsite_testkit::{fidelity_snapshot, schema_dump, schema_dump_of, TestCluster};

/// Attributes, memberships and settings of `roles`, one line each, comparable between servers.
fn roles_of(pg: &TestCluster, roles: &[&str]) -> String {
    let list = roles
        .iter()
        .map(|r| format!("'{r}'"))
        .collect::<Vec<_>>()
        .join(",");
    pg.psql(
        "postgres",
        &format!(
            "SELECT string_agg(line, E'\\n' ORDER BY line) FROM (
               SELECT r.rolname || ' super=' || r.rolsuper || ' inherit=' || r.rolinherit
                      || ' createrole=' || r.rolcreaterole || ' login=' || r.rolcanlogin
                      || ' bypassrls=' || r.rolbypassrls
                      || ' member_of=' || coalesce((SELECT string_agg(g.rolname, ',' ORDER BY g.rolname)
                             FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                            WHERE m.member = r.oid AND g.rolname IN ({list})), '')
                      || ' settings=' || coalesce((SELECT array_to_string(setconfig, ',')
                             FROM pg_db_role_setting s WHERE s.setrole = r.oid AND s.setdatabase = 0), '') AS line
                 FROM pg_roles r WHERE r.rolname IN ({list})) x"
        ),
    )
}

/// What row-level security lets each API role see, as PostgREST would connect: logged in as
/// `authenticator` (over the trusted socket, so its memberships are what lets it switch), then
/// switching role, with a JWT subject set.
fn rls_view(pg: &TestCluster, db: &str) -> String {
    let mut out = String::new();
    for role in ["anon", "authenticated", "service_role"] {
        let sql = format!(
            "SET ROLE {role}; SET \"request.jwt.claim.sub\" = '24c9e15e-52af-c47c-225b-757e7bee1f9d';
             SELECT '{role}: objects=' || (SELECT count(*) FROM storage.objects)
                    || ' buckets=' || (SELECT count(*) FROM storage.buckets)
                    || ' profiles=' || (SELECT count(*) FROM public.profiles)
                    || ' own=' || (SELECT count(*) FROM public.profiles WHERE id = auth.uid());"
        );
        let o = pg
            .command("psql")
            .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-w", "-h"])
            .arg(pg.socket_dir())
            .args([
                "-p",
                &pg.port().to_string(),
                "-U",
                "authenticator",
                "-d",
                db,
                "-c",
                &sql,
            ])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "as {role}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        out.push_str(String::from_utf8_lossy(&o.stdout).trim());
        out.push('\n');
    }
    out
}

fn target_on(pg: &TestCluster, user: &str, password: &str, db: &str) -> DatabaseTo {
    DatabaseTo::url_or_project(
        &format!("postgres://{user}@127.0.0.1:{}/{db}", pg.port()),
        Some(password.to_string()),
    )
}

const API_ROLES: &[&str] = &[
    "anon",
    "authenticated",
    "service_role",
    "authenticator",
    "supabase_auth_admin",
    "supabase_storage_admin",
];

#[tokio::test(flavor = "multi_thread")]
async fn a_new_server_gets_the_roles_with_attributes_and_memberships_and_rls_behaves_the_same() {
    let pg = TestCluster::shared();
    let src = pg.unique_db("newsrv");
    pg.load_supabase_fixture(&src);
    let env = env().await;
    let archive = back_up(pg, &env, "newsrv", &src).await;

    let other = TestCluster::start();
    other.create_db("dst");
    let target = target(&other, "dst");

    // Without consent: the plan names every missing role, authenticator included (nothing of
    // the backup names it; it is granted the API roles).
    let plan = env
        .engine
        .plan_restore(&RestoreRequest::new(&archive, target.clone()))
        .await
        .unwrap()
        .database
        .unwrap();
    for r in API_ROLES {
        assert!(
            plan.missing_roles.iter().any(|m| m == r),
            "{r} in {:?}",
            plan.missing_roles
        );
    }
    let auth = plan
        .roles_to_create
        .iter()
        .find(|r| r.name == "authenticator")
        .unwrap();
    assert_eq!(
        auth.member_of,
        vec!["anon", "authenticated", "service_role"]
    );
    assert!(auth.needs_password && auth.attributes.contains(&"NOINHERIT".to_string()));
    let service = plan
        .roles_to_create
        .iter()
        .find(|r| r.name == "service_role")
        .unwrap();
    assert!(service.attributes.contains(&"BYPASSRLS".to_string()) && service.left_out.is_empty());
    assert!(plan.connecting_superuser);
    assert!(
        plan.blockers.iter().any(|b| b.contains("--create-roles")),
        "{:?}",
        plan.blockers
    );
    let err = env
        .engine
        .restore(
            RestoreRequest::new(&archive, target.clone()),
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(
        other.psql(
            "postgres",
            "SELECT count(*) FROM pg_roles WHERE rolname = 'anon'"
        ),
        "0",
        "nothing was created"
    );

    let req = RestoreRequest::new(&archive, target).options(DatabaseOptions {
        create_roles: true,
        ..Default::default()
    });
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("authenticator") && w.contains("PASSWORD")),
        "{:?}",
        plan.warnings
    );
    let out = env.engine.restore(req, JobStart::default()).await.unwrap();
    assert!(
        out.report.ok,
        "{:?}",
        out.report.database.as_ref().unwrap().tables
    );

    // The roles as on the source: attributes, memberships, settings.
    assert_eq!(roles_of(&other, API_ROLES), roles_of(pg, API_ROLES));
    // The database as on the source.
    fidelity_snapshot(&other, "dst").assert_same_as(&fidelity_snapshot(pg, &src));
    assert_eq!(schema_dump(&other, "dst"), schema_dump(pg, &src));
    // Row-level security behaves the same (service_role's BYPASSRLS, authenticator's
    // memberships, the policies with the JWT subject).
    let (a, b) = (rls_view(pg, &src), rls_view(&other, "dst"));
    assert!(a.contains("service_role: objects="), "{a}");
    assert_eq!(b, a);
}

/// A cluster shaped like a new Supabase project: bootstrap superuser `supabase_admin`;
/// `postgres` a member of the auth and storage admins but no superuser; the API roles; the
/// extensions; `auth` and `storage` as the platform makes them (here: the source's own tables,
/// plus a column and a migrations table of a newer platform), without the user's policies and
/// triggers; a platform event trigger; an empty `supabase_realtime` publication.
fn fresh_supabase_project(src_pg: &TestCluster, src: &str) -> (TestCluster, String) {
    let pg = TestCluster::start_with_superuser("supabase_admin");
    let pw = "p0stgres-pw";
    pg.psql(
        "postgres",
        &format!(
            "CREATE ROLE postgres LOGIN CREATEROLE CREATEDB REPLICATION BYPASSRLS PASSWORD '{pw}';
             CREATE ROLE anon NOLOGIN NOINHERIT;
             CREATE ROLE authenticated NOLOGIN NOINHERIT;
             CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
             CREATE ROLE authenticator LOGIN NOINHERIT;
             CREATE ROLE supabase_auth_admin LOGIN NOINHERIT CREATEROLE;
             CREATE ROLE supabase_storage_admin LOGIN NOINHERIT CREATEROLE;
             GRANT anon, authenticated, service_role TO authenticator;
             GRANT anon, authenticated, service_role TO supabase_storage_admin;
             ALTER ROLE authenticator SET statement_timeout = '8s';
             ALTER ROLE anon SET statement_timeout = '3s';
             GRANT supabase_auth_admin, supabase_storage_admin TO postgres;"
        ),
    );
    pg.psql("postgres", "CREATE DATABASE proj OWNER postgres");
    // The platform's schemas, as the source has them.
    let managed = src_pg
        .command("pg_dump")
        .args(src_pg.conn_args())
        .args([
            "--schema-only",
            "--no-password",
            "-n",
            "auth",
            "-n",
            "storage",
            "-d",
            src,
        ])
        .output()
        .unwrap();
    assert!(
        managed.status.success(),
        "{}",
        String::from_utf8_lossy(&managed.stderr)
    );
    pg.psql(
        "proj",
        "CREATE SCHEMA extensions AUTHORIZATION postgres;
         CREATE EXTENSION pgcrypto WITH SCHEMA extensions;
         CREATE EXTENSION \"uuid-ossp\" WITH SCHEMA extensions;
         CREATE EXTENSION citext WITH SCHEMA extensions;
         CREATE EXTENSION btree_gist WITH SCHEMA extensions;
         CREATE FUNCTION public.handle_new_user() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;",
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("managed.sql");
    std::fs::write(&file, &managed.stdout).unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    pg.psql_file("proj", &file);
    pg.psql(
        "proj",
        "DROP TRIGGER on_auth_user_created ON auth.users;
         DROP FUNCTION public.handle_new_user();
         DO $$ DECLARE p record; BEGIN
           FOR p IN SELECT polname, polrelid::regclass AS t FROM pg_policy
                     WHERE polrelid IN ('storage.objects'::regclass, 'storage.buckets'::regclass) LOOP
             EXECUTE format('DROP POLICY %I ON %s', p.polname, p.t);
           END LOOP; END $$;
         ALTER TABLE auth.users ADD COLUMN is_sso_user boolean NOT NULL DEFAULT false;
         INSERT INTO auth.schema_migrations VALUES ('20240101'), ('20250101');
         CREATE FUNCTION extensions.set_graphql_placeholder() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
         CREATE EVENT TRIGGER issue_graphql_placeholder ON sql_drop EXECUTE FUNCTION extensions.set_graphql_placeholder();
         CREATE PUBLICATION supabase_realtime;
         ALTER PUBLICATION supabase_realtime OWNER TO postgres;",
    );
    (pg, pw.to_string())
}

/// The Supabase-shaped fixture in `src`, of an older platform than the fresh project's: one
/// migration recorded.
fn supabase_source(src_pg: &TestCluster, src: &str) {
    src_pg.load_supabase_fixture(src);
    src_pg.psql(
        src,
        "CREATE TABLE auth.schema_migrations (version text PRIMARY KEY);
         ALTER TABLE auth.schema_migrations OWNER TO supabase_auth_admin;
         INSERT INTO auth.schema_migrations VALUES ('20240101');",
    );
}

/// Every row of `schema.table`, projected on `columns`, sorted.
fn rows(pg: &TestCluster, db: &str, table: &str, columns: &str) -> String {
    pg.psql(
        db,
        &format!("SELECT string_agg(r, E'\\n' ORDER BY r) FROM (SELECT ROW({columns})::text AS r FROM {table}) x"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_supabase_project_takes_the_users_schemas_data_and_objects_as_postgres() {
    let src_pg = TestCluster::shared();
    let src = src_pg.unique_db("supa");
    supabase_source(src_pg, &src);
    src_pg.psql(
        &src,
        "DO $$ BEGIN
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'supabase_admin') THEN
             CREATE ROLE supabase_admin NOLOGIN;
           END IF;
         END $$;
         CREATE FUNCTION public.admin_note() RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$;
         ALTER FUNCTION public.admin_note() OWNER TO supabase_admin;",
    );
    let env = env().await;
    let archive = back_up(src_pg, &env, "supa", &src).await;
    let (pg, pw) = fresh_supabase_project(src_pg, &src);
    let target = target_on(&pg, "postgres", &pw, "proj");

    let plan = env
        .engine
        .plan_restore(&RestoreRequest::new(&archive, target.clone()))
        .await
        .unwrap()
        .database
        .unwrap();
    assert!(!plan.connecting_superuser);
    assert!(
        plan.target_empty,
        "the platform's objects do not count: {:?}",
        plan.existing
    );
    assert!(plan.missing_roles.is_empty(), "{:?}", plan.missing_roles);
    let schemas: Vec<&str> = plan
        .managed_schemas
        .iter()
        .map(|m| m.schema.as_str())
        .collect();
    assert_eq!(schemas, vec!["auth", "storage"]);
    let auth = &plan.managed_schemas[0];
    assert!(
        auth.load_rows.contains(&"auth.users".to_string()),
        "{auth:?}"
    );
    assert!(
        auth.kept_rows
            .iter()
            .any(|k| k.starts_with("auth.schema_migrations")),
        "{auth:?}"
    );
    assert!(
        auth.added
            .iter()
            .any(|a| a.contains("on_auth_user_created")),
        "{auth:?}"
    );
    assert!(
        auth.notes.iter().any(|n| n.contains("is_sso_user")),
        "{auth:?}"
    );
    let storage = &plan.managed_schemas[1];
    assert!(
        storage
            .added
            .iter()
            .filter(|a| a.starts_with("policy"))
            .count()
            >= 3,
        "{storage:?}"
    );
    assert_eq!(plan.superuser_only, vec!["event trigger offsite_ddl_watch"]);
    // postgres holds the privileges of the auth and storage admins, not of service_role (a
    // member of it only through NOINHERIT supabase_storage_admin) or the platform's superuser.
    let others: Vec<(&str, &[String])> = plan
        .owned_by_others
        .iter()
        .map(|o| (o.role.as_str(), o.objects.as_slice()))
        .collect();
    assert_eq!(
        others,
        vec![
            ("service_role", &["large object 424202".to_string()][..]),
            (
                "supabase_admin",
                &["function public.admin_note()".to_string()][..]
            ),
        ]
    );
    // Refused as a permission problem of the target, nothing changed.
    let err = env
        .engine
        .restore(
            RestoreRequest::new(&archive, target.clone()),
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permission, "{err}");
    assert!(
        err.hint().unwrap().contains("--no-owner"),
        "{:?}",
        err.hint()
    );
    assert_eq!(pg.psql("proj", "SELECT count(*) FROM auth.users"), "0");

    let req = RestoreRequest::new(&archive, target).options(DatabaseOptions {
        no_owner: true,
        ..Default::default()
    });
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    assert!(
        plan.left_out
            .iter()
            .any(|l| l.contains("offsite_ddl_watch")),
        "{:?}",
        plan.left_out
    );
    let out = env.engine.restore(req, JobStart::default()).await.unwrap();
    assert!(
        out.report.ok,
        "{:?}",
        out.report.database.as_ref().unwrap().tables
    );

    // The user's own schemas as in the source.
    for schema in ["public", "\"MixedCase\""] {
        let dump = |c: &TestCluster, db: &str| schema_dump_of(c, db, schema);
        // admin_note() is postgres's now: otherwise the same.
        let (got, want) = (
            dump(&pg, "proj"),
            dump(src_pg, &src)
                .replace("OWNER TO supabase_admin;", "OWNER TO postgres;")
                .replace("Owner: supabase_admin", "Owner: postgres"),
        );
        let first_diff = got
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .map(|i| (got.lines().nth(i), want.lines().nth(i)));
        assert!(
            got == want,
            "schema {schema}: first difference {first_diff:?}"
        );
    }
    // Every table's rows as in the source, but the platform's migrations (the target's kept)
    // and auth.users (compared on the source's columns: the target has one more).
    let (a, b) = (
        fidelity_snapshot(src_pg, &src),
        fidelity_snapshot(&pg, "proj"),
    );
    for (table, src_rows) in &a.tables {
        if table == "auth.schema_migrations" || table == "auth.users" {
            continue;
        }
        assert_eq!(b.tables.get(table), Some(src_rows), "rows of {table}");
    }
    assert_eq!(a.large_object_md5s(), b.large_object_md5s());
    let cols = src_pg.psql(
        &src,
        "SELECT string_agg(quote_ident(attname), ',' ORDER BY attnum) FROM pg_attribute
          WHERE attrelid = 'auth.users'::regclass AND attnum > 0 AND NOT attisdropped",
    );
    assert_eq!(
        rows(&pg, "proj", "auth.users", &cols),
        rows(src_pg, &src, "auth.users", &cols)
    );
    assert_eq!(
        pg.psql(
            "proj",
            "SELECT string_agg(version, ',' ORDER BY version) FROM auth.schema_migrations"
        ),
        "20240101,20250101",
        "the platform's migrations are kept"
    );
    // What hangs on the platform's tables came along; the platform's objects are untouched.
    let hooks = "SELECT (SELECT string_agg(polname, ',' ORDER BY polname) FROM pg_policy WHERE polrelid = 'storage.objects'::regclass)
                 || ' / ' || (SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'auth.users'::regclass AND NOT tgisinternal)
                 || ' / ' || (SELECT string_agg(schemaname || '.' || tablename, ',' ORDER BY schemaname, tablename) FROM pg_publication_tables WHERE pubname = 'supabase_realtime')";
    assert_eq!(pg.psql("proj", hooks), src_pg.psql(&src, hooks));
    assert_eq!(
        pg.psql(
            "proj",
            "SELECT string_agg(evtname, ',' ORDER BY evtname) FROM pg_event_trigger"
        ),
        "issue_graphql_placeholder",
        "the superuser-only event trigger was left out, as the plan said"
    );
    assert_eq!(
        pg.psql(
            "proj",
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'auth.users'::regclass"
        ),
        "supabase_auth_admin"
    );
    assert_eq!(
        pg.psql("proj", "SELECT string_agg(pg_get_userbyid(lomowner), ',' ORDER BY oid) FROM pg_largeobject_metadata"),
        src_pg.psql(&src, "SELECT string_agg(CASE WHEN pg_get_userbyid(lomowner) = 'service_role' THEN 'postgres' ELSE pg_get_userbyid(lomowner) END, ',' ORDER BY oid) FROM pg_largeobject_metadata"),
        "the large object of service_role (whose privileges postgres lacks) is postgres's"
    );
    assert_eq!(
        pg.psql("proj", "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE m.member = 'postgres'::regrole AND r.rolname NOT IN ('supabase_auth_admin','supabase_storage_admin')"),
        "0",
        "no membership was left behind"
    );
    // Row-level security behaves as in the source.
    assert_eq!(rls_view(&pg, "proj"), rls_view(src_pg, &src));
}

/// The fresh project's platform is another version whose `auth.users` lacks a column the backup
/// fills: the plan names the table and the column and refuses, the restore refuses the same way
/// before touching anything, and the target is as it was (schema, rows, roles).
#[tokio::test(flavor = "multi_thread")]
async fn a_managed_table_without_a_column_of_the_backup_is_refused_and_nothing_changes() {
    let src_pg = TestCluster::shared();
    let src = src_pg.unique_db("supa_col");
    supabase_source(src_pg, &src);
    assert_ne!(
        src_pg.psql(&src, "SELECT count(*) FROM auth.users"),
        "0",
        "the backup has users"
    );
    let env = env().await;
    let archive = back_up(src_pg, &env, "supa_col", &src).await;
    let (pg, pw) = fresh_supabase_project(src_pg, &src);
    pg.psql("proj", "ALTER TABLE auth.users DROP COLUMN deleted_at");
    let before = || {
        (
            schema_dump(&pg, "proj"),
            fidelity_snapshot(&pg, "proj"),
            roles_of(&pg, API_ROLES),
            pg.psql(
                "postgres",
                "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database",
            ),
        )
    };
    let then = before();
    // As postgres, with --no-owner: the column is the one thing in the way.
    let req = RestoreRequest::new(&archive, target_on(&pg, "postgres", &pw, "proj")).options(
        DatabaseOptions {
            no_owner: true,
            ..Default::default()
        },
    );
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert_eq!(plan.blockers.len(), 1, "{:?}", plan.blockers);
    let blocker = &plan.blockers[0];
    assert!(
        blocker.starts_with(
            "auth.users: the target's table lacks a column the backup holds data in (deleted_at)"
        ),
        "{blocker}"
    );
    assert!(
        plan.managed_schemas
            .iter()
            .any(|m| m.schema == "auth" && m.load_rows.contains(&"auth.users".to_string())),
        "{:?}",
        plan.managed_schemas
    );
    let err = env
        .engine
        .restore(req, JobStart::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(err.message(), blocker.as_str());
    let hint = err.hint().unwrap();
    assert!(
        hint.contains("nothing was changed")
            && hint.contains("--dry-run")
            && !hint.contains("roles"),
        "{hint}"
    );
    // Nothing on the target changed.
    let now = before();
    assert!(
        now.0 == then.0,
        "the schema changed: {}",
        first_diff(&then.0, &now.0)
    );
    now.1.assert_same_as(&then.1);
    assert_eq!(now.2, then.2, "the roles changed");
    assert_eq!(now.3, then.3, "databases were created or dropped");
    assert_eq!(pg.psql("proj", "SELECT count(*) FROM auth.users"), "0");
}

/// Supabase sets `supabase_admin`'s `search_path` to `"\$user", public, auth, extensions`,
/// which pg_dumpall writes as an escape string in a list (`E'\\$user', 'public', …`); names
/// that need quotes and settings with non-ASCII names are written quoted. A backup of such a
/// server restores onto a new one with `--create-roles`, every role recreated as it was.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_server_gets_roles_whose_settings_pg_dumpall_writes_as_escape_strings() {
    const ROLES: &[&str] = &["supabase_admin", "Ünï \"q", "api reader"];
    let src = TestCluster::start();
    src.psql(
        "postgres",
        r#"CREATE ROLE supabase_admin CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS;
           ALTER ROLE supabase_admin SET search_path TO "\$user", public, auth, extensions;
           CREATE ROLE "Ünï ""q" LOGIN CONNECTION LIMIT 4 VALID UNTIL 'infinity';
           ALTER ROLE "Ünï ""q" SET "app.ñame" TO 'C:\dir\it''s';
           CREATE ROLE "api reader" NOINHERIT;
           ALTER ROLE "api reader" SET statement_timeout TO '8s';
           GRANT "api reader" TO "Ünï ""q" WITH ADMIN OPTION;
           CREATE DATABASE proj OWNER supabase_admin;"#,
    );
    src.psql(
        "proj",
        r#"SET ROLE supabase_admin;
           CREATE SCHEMA extensions;
           CREATE TABLE public.notes (id integer PRIMARY KEY, body text);
           INSERT INTO public.notes VALUES (1, 'a'), (2, 'b');
           GRANT SELECT ON public.notes TO "api reader";
           RESET ROLE;
           CREATE TABLE public.odd (id integer);
           ALTER TABLE public.odd OWNER TO "Ünï ""q";"#,
    );
    let env = env().await;
    let archive = back_up(&src, &env, "escroles", "proj").await;

    let other = TestCluster::start();
    other.create_db("dst");
    let req = RestoreRequest::new(&archive, target(&other, "dst")).options(DatabaseOptions {
        create_roles: true,
        ..Default::default()
    });
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    let admin = plan
        .roles_to_create
        .iter()
        .find(|r| r.name == "supabase_admin")
        .unwrap();
    assert_eq!(
        admin.settings,
        vec![
            r#"ALTER ROLE "supabase_admin" SET "search_path" TO E'\\$user', 'public', 'auth', 'extensions';"#
        ]
    );
    let out = env.engine.restore(req, JobStart::default()).await.unwrap();
    assert!(
        out.report.ok,
        "{:?}",
        out.report.database.as_ref().unwrap().tables
    );
    assert_eq!(roles_of(&other, ROLES), roles_of(&src, ROLES));
    assert!(
        roles_of(&other, ROLES).contains(r#"search_path="\$user", public, auth, extensions"#),
        "{}",
        roles_of(&other, ROLES)
    );
    assert_eq!(other.psql("dst", "SELECT count(*) FROM public.notes"), "2");
    assert_eq!(
        other.psql(
            "dst",
            "SELECT tableowner FROM pg_tables WHERE tablename = 'odd'"
        ),
        "Ünï \"q"
    );
}
