//! `fuzz_globals_sql`: whatever `globals.sql` holds, the role SQL Offsite sends to psql is a
//! list of single statements with no psql meta-command outside quotes (or the plan is refused).

use super::*;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

const BASE: &str = "CREATE ROLE evil;
ALTER ROLE evil WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 5 VALID UNTIL '2030-01-01 00:00:00+00';
CREATE ROLE \"We ird\";
ALTER ROLE \"We ird\" WITH NOLOGIN;
ALTER ROLE evil SET search_path TO '$user', 'public';
ALTER ROLE evil IN DATABASE \"db\" SET \"app.x\" TO 'it''s';
GRANT \"We ird\" TO evil WITH ADMIN OPTION, INHERIT TRUE GRANTED BY postgres;
";

const PIECES: &[&str] = &[
    "\\! touch /tmp/x",
    "\\",
    ";",
    "'",
    "''",
    "\"",
    "$offsite$",
    "$offsiteq$",
    "$",
    "\n",
    " ",
    " WITH ",
    "E'",
    "--",
    "/*",
    "*/",
    "LOGIN",
    "CONNECTION LIMIT ",
    "VALID UNTIL ",
    " SET ",
    " TO ",
    "GRANT ",
    "ALTER ROLE evil",
    "CREATE ROLE ",
    "\u{0}",
    "\r",
    ", ",
    "PASSWORD ",
];

fn input() -> impl Strategy<Value = String> {
    let edit = (any::<u32>(), 0..PIECES.len(), any::<bool>());
    prop_oneof![
        4 => proptest::collection::vec(edit, 1..6).prop_map(|edits| {
            let mut s = BASE.to_string();
            for (at, piece, replace) in edits {
                let mut i = at as usize % (s.len() + 1);
                while !s.is_char_boundary(i) {
                    i -= 1;
                }
                if replace {
                    let mut end = (i + PIECES[piece].len()).min(s.len());
                    while !s.is_char_boundary(end) {
                        end -= 1;
                    }
                    s.replace_range(i..end, PIECES[piece]);
                } else {
                    s.insert_str(i, PIECES[piece]);
                }
            }
            s
        }),
        1 => "(CREATE ROLE evil;\n|ALTER ROLE evil WITH |ALTER ROLE evil SET |GRANT x TO evil|[ -~\n]{0,12})*",
    ]
}

/// Whether `stmt` is one statement ending in `;` with no backslash, newline or `;` outside
/// quotes (what psql would run as anything but that one statement).
fn single_statement(stmt: &str) -> Result<(), String> {
    let b = stmt.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\'' => {
                let escapes = i > 0 && b[i - 1] == b'E';
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Err("unclosed string".into()),
                        Some(b'\\') if escapes => i += 2,
                        Some(b'\'') if b.get(i + 1) == Some(&b'\'') => i += 2,
                        Some(b'\'') => break,
                        Some(_) => i += 1,
                    }
                }
            }
            b'"' => {
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Err("unclosed identifier".into()),
                        Some(b'"') if b.get(i + 1) == Some(&b'"') => i += 2,
                        Some(b'"') => break,
                        Some(_) => i += 1,
                    }
                }
            }
            b'$' => {
                let end = stmt[i + 1..].find('$').ok_or("lone $")? + i + 1;
                let tag = &stmt[i..=end];
                if !tag[1..tag.len() - 1]
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    return Err(format!("odd dollar tag {tag:?}"));
                }
                let close = stmt[end + 1..].find(tag).ok_or("unclosed dollar quote")?;
                i = end + 1 + close + tag.len() - 1;
            }
            b'\\' => return Err("backslash outside quotes".into()),
            b'\n' | b'\r' => return Err("line break outside quotes".into()),
            b';' if i + 1 != b.len() => return Err("';' before the end".into()),
            _ => {}
        }
        i += 1;
    }
    if stmt.ends_with(';') {
        Ok(())
    } else {
        Err("does not end in ';'".into())
    }
}

#[test]
fn fuzz_globals_sql() {
    let mut runner = TestRunner::new(offsite_testkit::fuzz::config());
    runner
        .run(&input(), |text| {
            let g = parse_globals(&text);
            let named = vec!["evil".to_string(), "We ird".to_string()];
            for superuser in [true, false] {
                match plan_roles(Some(&g), &named, &BTreeSet::new(), superuser) {
                    Ok(plan) => {
                        for stmt in &plan.sql {
                            if let Err(why) = single_statement(stmt) {
                                prop_assert!(false, "{why}: {stmt:?} from {text:?}");
                            }
                        }
                    }
                    Err(e) => {
                        prop_assert_eq!(e.kind(), ErrorKind::UnsupportedFormat);
                        prop_assert!(e.hint().is_some());
                    }
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_statement_check_catches_what_psql_would_run() {
    assert!(single_statement("CREATE ROLE \"a\" WITH LOGIN;").is_ok());
    assert!(single_statement("DO $t$ BEGIN EXECUTE $tq$x; \\! id$tq$; END $t$;").is_ok());
    assert!(single_statement("ALTER ROLE \"a\" SET \"x\" TO E'a\\\\! b''';").is_ok());
    assert!(single_statement("CREATE ROLE \"a\" WITH LOGIN \\! id;").is_err());
    assert!(single_statement("CREATE ROLE \"a\"; DROP TABLE t;").is_err());
    assert!(single_statement("ALTER ROLE \"a\" SET \"x\" TO 'a';\n\\! id").is_err());
}
