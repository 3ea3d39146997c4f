//! The restore plan's lines that the wizard's review shows as they come (blockers, warnings,
//! what is left out, what needs administrator rights) are held to the app's words test (issue
//! 64 item 4): the glossary's "Not" words (`ui/src/test/never.ts`: `NEVER`, `NEVER_ON_SCREEN`,
//! and `TECHNICAL` — no id, engine time, log position or command-line flag outside Details),
//! read from that file so both sides keep one list. The plans are real: made by the engine
//! against a real server, for the situations that say the most (a Supabase project's backup into plain PostgreSQL, by an
//! administrator and by a plain role, into a database that holds tables, one that does not exist
//! yet with and without the right to create it, a table owned by a role the server lacks).

use crate::common::{back_up, env, target};
use offsite_core::restore::{DatabaseOptions, DatabaseTo};
use offsite_core::RestoreRequest;
use offsite_testkit::TestCluster;
use regex::Regex;

/// The word lists of `ui/src/test/never.ts`: each JavaScript pattern (flags `i` only) as a Rust
/// pattern, with what to say instead.
fn screen_word_lists() -> Vec<(Regex, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/src/test/never.ts");
    let source = std::fs::read_to_string(path).unwrap();
    let entry = Regex::new(r#"\[\s*/((?:\\/|[^/\n])+)/([a-z]*)\s*,\s*"([^"]*)"\s*\]"#).unwrap();
    let lists: Vec<(Regex, String)> = entry
        .captures_iter(&source)
        .map(|c| {
            let flags = &c[2];
            assert!(
                flags.chars().all(|f| f == 'i'),
                "a flag this reader does not know: {flags}"
            );
            let body = c[1].replace("\\/", "/");
            let pattern = if flags.contains('i') {
                format!("(?i){body}")
            } else {
                body
            };
            let re = Regex::new(&pattern)
                .unwrap_or_else(|e| panic!("never.ts's /{}/ as a Rust pattern: {e}", &c[1]));
            (re, c[3].to_string())
        })
        .collect();
    assert!(
        lists.len() >= 25,
        "never.ts's lists were not read: {} patterns",
        lists.len()
    );
    lists
}

/// Every line of `lines` that says a word the screens never say, with what to say instead. What
/// follows the engine's `\nDetails: ` is shown behind Details (the review's `SentenceDetails`),
/// where the command line's terms may stay.
fn misworded(lists: &[(Regex, String)], lines: &[(String, String)]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|(shown, text)| {
            let sentence = text.split("\nDetails: ").next().unwrap_or(text);
            lists
                .iter()
                .find(|(re, _)| re.is_match(sentence))
                .map(|(re, instead)| format!("{shown}: {text:?} (/{re}/: say {instead})"))
        })
        .collect()
}

/// The lines of a database plan the review shows as the engine wrote them.
fn plan_lines(case: &str, plan: &offsite_core::restore::DatabasePlan) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut add = |what: &str, items: &[String]| {
        for t in items {
            out.push((format!("restore plan ({case}): {what}"), t.clone()));
        }
    };
    add("blocker", &plan.blockers);
    add("warning", &plan.warnings);
    add("left out", &plan.left_out);
    add("needs administrator rights", &plan.superuser_only);
    add("platform privileges", &plan.platform_privileges);
    out
}

fn missing_name(pg: &TestCluster, prefix: &str) -> String {
    let name = pg.unique_db(prefix);
    pg.psql("postgres", &format!("DROP DATABASE {name}"));
    name
}

async fn plan(
    env: &crate::common::Env,
    archive: &std::path::Path,
    to: DatabaseTo,
    create: bool,
) -> offsite_core::restore::DatabasePlan {
    let req = RestoreRequest::new(archive, to).options(DatabaseOptions {
        create_database: create,
        ..Default::default()
    });
    env.engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap()
}

#[test]
fn the_reader_of_never_ts_catches_what_the_ui_test_catches() {
    let lists = screen_word_lists();
    let planted = [
        (
            "planted",
            "restored as a superuser into a throwaway cluster",
        ),
        ("planted", "base c39820ee-144f-4804-981c-a7c1d1daa1a7"),
        ("planted", "stopped at LSN 0/2DDDAA0"),
        ("planted", "3 table(s) left out"),
        ("planted", "made at 2026-11-28T06:31:23Z"),
        ("planted", "12 MiB to load"),
        (
            "planted",
            "create them (see globals.sql) or pass --create-roles",
        ),
    ]
    .map(|(s, t)| (s.to_string(), t.to_string()));
    assert_eq!(misworded(&lists, &planted).len(), planted.len());
    let fine = [(
        "fine".to_string(),
        "The database shop holds 3 tables: choose Replace to drop them first.".to_string(),
    )];
    assert!(misworded(&lists, &fine).is_empty());
    // Behind Details, the command line's terms may stay.
    let detailed = [(
        "fine".to_string(),
        "Connect as a role with administrator rights.\nDetails: a superuser may; --no-owner"
            .to_string(),
    )];
    assert!(misworded(&lists, &detailed).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_restore_plans_lines_say_the_apps_words() {
    let lists = screen_word_lists();
    let pg = TestCluster::shared();
    let env = env().await;
    let mut lines = Vec::new();

    // A Supabase project's backup (its roles, RLS, extensions' schemas) into plain PostgreSQL.
    let src = pg.unique_db("words_src");
    pg.load_supabase_fixture(&src);
    let archive = back_up(pg, &env, "words", &src).await;
    let empty = pg.unique_db("words_empty");
    let p = plan(&env, &archive, target(pg, &empty), false).await;
    lines.extend(plan_lines("into an empty database", &p));
    // Into the database it came from: it holds tables (not replaced unless asked).
    let p = plan(&env, &archive, target(pg, &src), false).await;
    assert!(!p.blockers.is_empty(), "a database that holds tables");
    lines.extend(plan_lines("into a database that holds tables", &p));
    // By a plain role (no administrator rights, no CREATEDB).
    let role = "words_plain";
    pg.psql(
        "postgres",
        &format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}' NOCREATEDB"
        ),
    );
    let as_role = |db: &str| {
        DatabaseTo::url_or_project(
            &format!("postgres://{role}@127.0.0.1:{}/{db}", pg.port()),
            Some(format!("pw-{role}")),
        )
    };
    let p = plan(&env, &archive, as_role(&empty), false).await;
    lines.extend(plan_lines("by a plain role", &p));
    // Into a database that does not exist yet: not asked to create it; asked, without the right.
    let missing = missing_name(pg, "words_missing");
    let p = plan(&env, &archive, target(pg, &missing), false).await;
    assert!(p.database_missing && !p.blockers.is_empty());
    lines.extend(plan_lines("a missing database", &p));
    let p = plan(&env, &archive, as_role(&missing), true).await;
    assert!(!p.may_create_database && !p.blockers.is_empty());
    lines.extend(plan_lines("a missing database, no right to create it", &p));
    // A table owned by a role this server does not have.
    let owner = "words_gone_owner";
    pg.psql(
        "postgres",
        &format!("DROP ROLE IF EXISTS {owner}; CREATE ROLE {owner} NOLOGIN"),
    );
    let owned_src = pg.unique_db("words_owned");
    pg.psql(
        &owned_src,
        &format!("CREATE TABLE t (id int PRIMARY KEY); ALTER TABLE t OWNER TO {owner};"),
    );
    let owned = back_up(pg, &env, "words_owned", &owned_src).await;
    pg.psql("postgres", &format!("DROP DATABASE {owned_src}"));
    pg.psql("postgres", &format!("DROP ROLE {owner}"));
    let into = pg.unique_db("words_owned_into");
    let p = plan(&env, &owned, target(pg, &into), false).await;
    assert!(!p.missing_roles.is_empty(), "{:?}", p.missing_roles);
    lines.extend(plan_lines("a role the server lacks", &p));

    assert!(
        lines.len() >= 6,
        "the plans said too little to test: {lines:#?}"
    );
    assert_eq!(
        misworded(&lists, &lines),
        Vec::<String>::new(),
        "{lines:#?}"
    );
}
