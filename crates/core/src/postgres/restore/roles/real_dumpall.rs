//! The roles parser against what the real `pg_dumpall --roles-only` writes: roles with every
//! attribute and setting kind are created on a throwaway cluster, dumped, parsed, dropped and
//! recreated from the SQL Offsite writes; the server must then say what it said before
//! (`pg_roles`, `pg_db_role_setting`, `pg_auth_members`). `fuzz_globals_sql_against_pg_dumpall`
//! does the same for generated names, attributes, settings and memberships.

use super::*;
use offsite_testkit::TestCluster;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

/// `pg_dumpall --roles-only --no-role-passwords` of `pg`.
fn dumpall(pg: &TestCluster) -> String {
    let out = pg
        .command("pg_dumpall")
        .args(pg.conn_args())
        .args(["--roles-only", "--no-role-passwords", "-l", "postgres"])
        .output()
        .expect("pg_dumpall runs");
    assert!(
        out.status.success(),
        "pg_dumpall: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("pg_dumpall writes UTF-8")
}

/// What the server says about the roles `names`: attributes, connection limit, expiry,
/// settings per database and memberships (of them, and in them), one line each.
/// Database-specific settings only when `per_db`.
fn server_view(pg: &TestCluster, names: &[String], per_db: bool) -> String {
    let list: Vec<String> = names.iter().map(|n| parse::quote_literal(n)).collect();
    let set = format!("ARRAY[{}]::text[]", list.join(", "));
    let sql = format!(
        "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC';
         SELECT string_agg(line, E'\\n' ORDER BY line) FROM (
           SELECT format('role %I super=%s inherit=%s createrole=%s createdb=%s login=%s replication=%s bypassrls=%s connlimit=%s until=%s',
                         rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
                         rolreplication, rolbypassrls, rolconnlimit, coalesce(rolvaliduntil::text, '-')) AS line
             FROM pg_roles WHERE rolname = ANY({set})
           UNION ALL
           SELECT format('setting %I db=%s %s', r.rolname, coalesce(d.datname, '-'), s.setconfig::text)
             FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
             LEFT JOIN pg_database d ON d.oid = s.setdatabase
            WHERE r.rolname = ANY({set}) AND (s.setdatabase = 0 OR {per_db})
           UNION ALL
           SELECT format('member %I of %I admin=%s', m.rolname, g.rolname, a.admin_option)
             FROM pg_auth_members a JOIN pg_roles m ON m.oid = a.member JOIN pg_roles g ON g.oid = a.roleid
            WHERE m.rolname = ANY({set}) OR g.rolname = ANY({set})
         ) x;"
    );
    pg.psql("postgres", &sql)
}

/// Drop the roles `names`, recreate them from the dump `text` with the SQL Offsite writes, and
/// return the parsed globals.
fn replay(pg: &TestCluster, text: &str, names: &[String]) -> Globals {
    let g = parse_globals(text);
    let refused: Vec<_> = g
        .invalid
        .iter()
        .filter(|(n, _)| names.contains(n))
        .collect();
    assert!(
        refused.is_empty(),
        "the parser refused what pg_dumpall wrote: {refused:?}\n{text}"
    );
    // Every other role of the server exists on the "target" (it is the same server).
    let existing: BTreeSet<String> = pg
        .psql("postgres", "SELECT rolname FROM pg_roles")
        .lines()
        .map(String::from)
        .filter(|r| !names.contains(r))
        .collect();
    let plan = plan_roles(Some(&g), names, &existing, true).expect("a plan");
    let dropped: Vec<String> = names.iter().map(|n| quote_ident(n)).collect();
    let mut sql = format!(
        "SET client_min_messages = error;\nDROP ROLE {};\n",
        dropped.join(", ")
    );
    for s in &plan.sql {
        // A setting the server refuses would only be a warning in a restore: here it fails.
        sql.push_str(&s.replace("RAISE WARNING", "RAISE EXCEPTION"));
        sql.push('\n');
    }
    pg.psql("postgres", &sql);
    g
}

#[test]
fn every_form_pg_dumpall_writes_is_read_and_recreated_as_the_server_had_it() {
    let pg = TestCluster::start();
    pg.psql(
        "postgres",
        r#"CREATE DATABASE "other db";
        -- Supabase's own line: an escape string in a list.
        CREATE ROLE rt_supabase_admin SUPERUSER CREATEDB CREATEROLE LOGIN REPLICATION BYPASSRLS;
        ALTER ROLE rt_supabase_admin SET search_path TO "\$user", public, auth, extensions;
        -- Names that need quotes: mixed case, a space, a double quote, unicode, a keyword.
        CREATE ROLE "rt_Wé ird""q" LOGIN CONNECTION LIMIT 3 VALID UNTIL '2031-02-03 04:05:06+00';
        CREATE ROLE "rt_select" NOINHERIT CREATEDB CREATEROLE REPLICATION BYPASSRLS VALID UNTIL 'infinity' CONNECTION LIMIT 0;
        CREATE ROLE "rt_Ω";
        CREATE ROLE rt_e NOLOGIN;
        -- Settings of every kind: a list (quoted as identifiers by the server), an empty list
        -- item, a custom dotted name (quoted, with unicode), a value with a backslash, a quote,
        -- a line break, a number, a list setting that is not quoted.
        ALTER ROLE "rt_Wé ird""q" SET "app.ñame" TO 'x\y';
        ALTER ROLE "rt_Wé ird""q" SET "App.Two" TO 'it''s
two lines';
        ALTER ROLE rt_e SET search_path TO '$user', 'we"ird', 'x y', '';
        ALTER ROLE rt_e SET statement_timeout = 5000;
        ALTER ROLE rt_e SET "DateStyle" TO 'ISO', 'MDY';
        ALTER ROLE rt_e SET "pgrst.db_schemas" TO 'public, storage, graphql_public';
        ALTER ROLE rt_e IN DATABASE "other db" SET work_mem TO '8MB';
        ALTER ROLE "rt_Ω" IN DATABASE postgres SET search_path TO E'\\$user', 'public';
        COMMENT ON ROLE rt_e IS E'a comment; \\! id';
        -- Memberships, with and without ADMIN OPTION, granted by another role.
        GRANT "rt_Ω" TO "rt_select";
        GRANT rt_e TO "rt_select" WITH ADMIN OPTION GRANTED BY rt_supabase_admin;
        GRANT rt_supabase_admin TO "rt_Wé ird""q" WITH ADMIN OPTION;"#,
    );
    let text = dumpall(&pg);
    // The forms the issue names, as this pg_dumpall writes them.
    for form in [
        r"ALTER ROLE rt_supabase_admin SET search_path TO E'\\$user', 'public', 'auth', 'extensions';",
        r#"CREATE ROLE "rt_Wé ird""q";"#,
        "VALID UNTIL 'infinity'",
        "CONNECTION LIMIT 3",
        "WITH ADMIN OPTION GRANTED BY rt_supabase_admin;",
    ] {
        assert!(text.contains(form), "{form} not in\n{text}");
    }
    // pg_dumpall 11 and later write settings IN DATABASE with each database (pg_dump
    // --create), not with the roles; compare them when this one does.
    let per_db = text.contains(" IN DATABASE ");
    let names: Vec<String> = [
        "rt_supabase_admin",
        "rt_Wé ird\"q",
        "rt_select",
        "rt_Ω",
        "rt_e",
    ]
    .map(String::from)
    .into();
    let before = server_view(&pg, &names, per_db);
    let g = replay(&pg, &text, &names);
    assert_eq!(
        g.roles["rt_supabase_admin"].settings,
        vec![
            r#"ALTER ROLE "rt_supabase_admin" SET "search_path" TO E'\\$user', 'public', 'auth', 'extensions';"#
        ]
    );
    assert!(g.roles["rt_select"].has("VALID UNTIL 'infinity'"));
    assert!(g.roles["rt_Wé ird\"q"].has("CONNECTION LIMIT 3"));
    let after = server_view(&pg, &names, per_db);
    assert!(before.contains("$user") && before.contains("ñ"), "{before}");
    assert_eq!(after, before, "recreated from:\n{text}");
}

#[test]
fn a_backslash_escape_pg_dumpall_never_writes_is_refused_not_guessed() {
    for text in [
        "CREATE ROLE evil;\nALTER ROLE evil SET search_path TO E'\\x27';\n",
        "CREATE ROLE evil;\nALTER ROLE evil SET search_path TO E'\\'; \\\\! id';\n",
        "CREATE ROLE evil;\nALTER ROLE evil SET search_path TO E'a\\",
    ] {
        let g = parse_globals(text);
        assert!(g.invalid.contains_key("evil"), "{text}: {g:?}");
    }
    let g = parse_globals("CREATE ROLE a;\nALTER ROLE a SET x.y TO E'\\\\', e'it''s \\\\n';\n");
    assert!(g.invalid.is_empty(), "{:?}", g.invalid);
    assert_eq!(
        g.roles["a"].settings,
        vec![r#"ALTER ROLE "a" SET "x.y" TO E'\\', E'it''s \\n';"#]
    );
}

/// One generated role: name, attributes, settings, memberships in the fixed roles.
#[derive(Debug, Clone)]
struct Spec {
    name: String,
    flags: [bool; 7],
    limit: i32,
    until: Option<&'static str>,
    settings: Vec<(String, Vec<String>)>,
    member_of: Vec<(usize, bool)>,
}

const FLAGS: [(&str, &str); 7] = [
    ("SUPERUSER", "NOSUPERUSER"),
    ("INHERIT", "NOINHERIT"),
    ("CREATEROLE", "NOCREATEROLE"),
    ("CREATEDB", "NOCREATEDB"),
    ("LOGIN", "NOLOGIN"),
    ("REPLICATION", "NOREPLICATION"),
    ("BYPASSRLS", "NOBYPASSRLS"),
];

/// Roles the generated one may be made a member of.
const BASE_ROLES: [&str; 2] = ["fz_base", "fz_Base two"];

/// Up to `max` characters, often ones that need quoting or escaping; line breaks and tabs only
/// when `controls` (a role name holding one is refused by Offsite on purpose).
fn text(max: usize, controls: bool) -> impl Strategy<Value = String> {
    let mut odd = vec![
        '\\', '\'', '"', ',', ' ', '$', ';', '.', 'É', 'ß', 'Ω', '😀', '-', '_', 'A',
    ];
    if controls {
        odd.extend(['\n', '\t']);
    }
    proptest::collection::vec(
        prop_oneof![
            4 => proptest::char::range('a', 'z'),
            1 => proptest::sample::select(odd),
        ],
        0..max,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn spec() -> impl Strategy<Value = Spec> {
    let setting = prop_oneof![
        proptest::collection::vec(text(8, true), 1..4).prop_map(|v| ("search_path".to_string(), v)),
        (
            proptest::sample::select(vec!["fz.x", "Fz.Ünï", "fz.a_b$1"]),
            text(12, true)
        )
            .prop_map(|(n, v)| (n.to_string(), vec![v])),
        proptest::sample::select(vec!["1s", "250", "0"])
            .prop_map(|v| ("statement_timeout".to_string(), vec![v.to_string()])),
    ];
    (
        text(12, false),
        proptest::array::uniform7(any::<bool>()),
        -1i32..4,
        proptest::option::of(proptest::sample::select(vec![
            "infinity",
            "2030-01-01 00:00:00+00",
            "1999-12-31 23:59:59.5+00",
        ])),
        proptest::collection::vec(setting, 0..4),
        proptest::collection::vec((0..BASE_ROLES.len(), any::<bool>()), 0..3),
    )
        .prop_map(|(n, flags, limit, until, settings, member_of)| Spec {
            // Not a reserved pg_ name, never truncated (NAMEDATALEN: at most 51 bytes).
            name: format!("fz_{n}"),
            flags,
            limit,
            until,
            settings,
            member_of,
        })
}

fn create_sql(s: &Spec) -> String {
    let q = quote_ident(&s.name);
    let mut sql = format!("CREATE ROLE {q} WITH");
    for (on, (yes, no)) in s.flags.iter().zip(FLAGS) {
        sql.push(' ');
        sql.push_str(if *on { yes } else { no });
    }
    sql.push_str(&format!(" CONNECTION LIMIT {}", s.limit));
    if let Some(u) = s.until {
        sql.push_str(&format!(" VALID UNTIL '{u}'"));
    }
    sql.push_str(";\n");
    for (name, values) in &s.settings {
        let values: Vec<String> = values.iter().map(|v| parse::quote_literal(v)).collect();
        sql.push_str(&format!(
            "ALTER ROLE {q} SET {} TO {};\n",
            quote_ident(name),
            values.join(", ")
        ));
    }
    for (i, admin) in &s.member_of {
        sql.push_str(&format!(
            "GRANT {} TO {q}{};\n",
            quote_ident(BASE_ROLES[*i]),
            if *admin { " WITH ADMIN OPTION" } else { "" }
        ));
    }
    sql
}

const DROP_LEFTOVERS: &str = "DO $d$ DECLARE r text; BEGIN
  FOR r IN SELECT rolname FROM pg_roles WHERE rolname LIKE 'fz\\_%' AND rolname NOT IN ('fz_base', 'fz_Base two') LOOP
    EXECUTE format('DROP ROLE %I', r);
  END LOOP;
END $d$;";

/// pg_dumpall is the oracle: whatever role it writes, Offsite reads and recreates as it was.
#[test]
fn fuzz_globals_sql_against_pg_dumpall() {
    let pg = TestCluster::start();
    pg.psql(
        "postgres",
        "CREATE ROLE fz_base; CREATE ROLE \"fz_Base two\" LOGIN;",
    );
    // Each case starts a few processes: fewer cases than a pure fuzz target.
    let mut runner = TestRunner::new(offsite_testkit::fuzz::config_with(64));
    runner
        .run(&spec(), |s| {
            let names = [s.name.clone()];
            // Roles of failed cases (while shrinking) are left over: dropped first.
            pg.psql("postgres", &format!("{DROP_LEFTOVERS}\n{}", create_sql(&s)));
            let text = dumpall(&pg);
            let before = server_view(&pg, &names, false);
            replay(&pg, &text, &names);
            let after = server_view(&pg, &names, false);
            pg.psql("postgres", &format!("DROP ROLE {};", quote_ident(&s.name)));
            prop_assert_eq!(after, before, "recreated from:\n{}", text);
            Ok(())
        })
        .unwrap();
}
