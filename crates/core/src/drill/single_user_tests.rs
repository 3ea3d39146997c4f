use super::*;
use crate::error::ErrorKind;

/// A query's answer as PostgreSQL 15's `debugtup` prints it (header, rows, separators).
fn answer(cols: &[Column], rows: &[&[&[u8]]]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, c) in cols.iter().enumerate() {
        out.extend_from_slice(format!("\t{:>2}: {}", i + 1, c.0).as_bytes());
        out.extend_from_slice(&c.suffix()[1..]);
    }
    out.extend_from_slice(b"\t----\n");
    for row in rows {
        for (i, (c, v)) in cols.iter().zip(row.iter()).enumerate() {
            out.extend_from_slice(format!("\t{:>2}: {} = \"", i + 1, c.0).as_bytes());
            out.extend_from_slice(v);
            out.extend_from_slice(&c.suffix());
        }
        out.extend_from_slice(b"\t----\n");
    }
    out
}

fn run(answers: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"\nPostgreSQL stand-alone backend 15.18 (Debian 15.18-0+deb12u1)\n".to_vec();
    for a in answers {
        out.extend_from_slice(PROMPT);
        out.extend_from_slice(a);
    }
    out.extend_from_slice(PROMPT);
    out
}

/// What the server printed for the listing (copied from a run of PostgreSQL 15.18, one role
/// and one settings row shortened away).
const REAL: &[u8] = b"\nPostgreSQL stand-alone backend 15.18 (Debian 15.18-0+deb12u1)\n\
backend> \t 1: oid\t(typeid = 26, len = 4, typmod = -1, byval = t)\n\
\t 2: rolname\t(typeid = 19, len = 64, typmod = -1, byval = f)\n\
\t----\n\
\t 1: oid = \"10\"\t(typeid = 26, len = 4, typmod = -1, byval = t)\n\
\t 2: rolname = \"postgres\"\t(typeid = 19, len = 64, typmod = -1, byval = f)\n\
\t----\n\
\t 1: oid = \"16399\"\t(typeid = 26, len = 4, typmod = -1, byval = t)\n\
\t 2: rolname = \"we\nrd\"x\\y\"\t(typeid = 19, len = 64, typmod = -1, byval = f)\n\
\t----\n\
backend> \t 1: oid\t(typeid = 26, len = 4, typmod = -1, byval = t)\n\
\t 2: datname\t(typeid = 19, len = 64, typmod = -1, byval = f)\n\
\t----\n\
\t 1: oid = \"5\"\t(typeid = 26, len = 4, typmod = -1, byval = t)\n\
\t 2: datname = \"postgres\"\t(typeid = 19, len = 64, typmod = -1, byval = f)\n\
\t----\n\
backend> \t 1: setdatabase\t(typeid = 26, len = 4, typmod = -1, byval = t)\n\
\t 2: setrole\t(typeid = 26, len = 4, typmod = -1, byval = t)\n\
\t----\n\
\t 1: setdatabase = \"0\"\t(typeid = 26, len = 4, typmod = -1, byval = t)\n\
\t 2: setrole = \"10\"\t(typeid = 26, len = 4, typmod = -1, byval = t)\n\
\t----\n\
\t 1: setdatabase = \"5\"\t(typeid = 26, len = 4, typmod = -1, byval = t)\n\
\t 2: setrole = \"0\"\t(typeid = 26, len = 4, typmod = -1, byval = t)\n\
\t----\n\
\t 1: setdatabase = \"5\"\t(typeid = 26, len = 4, typmod = -1, byval = t)\n\
\t 2: setrole = \"16399\"\t(typeid = 26, len = 4, typmod = -1, byval = t)\n\
\t----\n\
\t 1: setdatabase = \"0\"\t(typeid = 26, len = 4, typmod = -1, byval = t)\n\
\t 2: setrole = \"0\"\t(typeid = 26, len = 4, typmod = -1, byval = t)\n\
\t----\n\
backend> ";

#[test]
fn the_servers_listing_is_read_and_every_kind_of_row_reset() {
    let l = parse_listing(REAL).unwrap();
    assert_eq!(l.roles[&10], b"postgres");
    assert_eq!(l.roles[&16399], b"we\nrd\"x\\y");
    assert_eq!(l.databases[&5], b"postgres");
    assert_eq!(
        l.settings,
        BTreeSet::from([(0, 10), (5, 0), (5, 16399), (0, 0)])
    );
    let stmts: Vec<String> = resets(&l)
        .unwrap()
        .into_iter()
        .map(|s| String::from_utf8(s).unwrap())
        .collect();
    assert_eq!(
        stmts,
        [
            "ALTER ROLE ALL RESET ALL",
            "ALTER ROLE \"postgres\" RESET ALL",
            "ALTER DATABASE \"postgres\" RESET ALL",
            "ALTER ROLE U&\"we\\000Ard\"\"x\\\\y\" IN DATABASE \"postgres\" RESET ALL",
        ]
    );
    assert!(stmts.iter().all(|s| !s.contains('\n') && !s.contains('\r')));
    // The same with a trailing newline (the server's last words) and nothing else.
    let mut more = REAL.to_vec();
    more.extend_from_slice(b"\n");
    assert_eq!(parse_listing(&more).unwrap(), l);
}

#[test]
fn a_name_that_imitates_the_answer_fails_the_parse() {
    // A row's end, a separator and most of a prompt in a role's name (63 bytes at most: a
    // whole prompt does not fit, let alone another row): the rest no longer fits what was
    // expected, however much of it the name holds.
    let r = &ROLES[1];
    let mut fake = r.suffix();
    fake.extend_from_slice(b"\t----\n");
    fake.extend_from_slice(&PROMPT[..63 - fake.len()]);
    assert_eq!(fake.len(), 63);
    let listing = |cut: usize| {
        parse_listing(&run(&[
            answer(&ROLES, &[&[b"10", b"postgres"], &[b"16400", &fake[..cut]]]),
            answer(&DATABASES, &[&[b"5", b"postgres"]]),
            answer(&SETTINGS, &[]),
        ]))
    };
    for cut in [63, r.suffix().len() + 6, r.suffix().len()] {
        let e = listing(cut).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{cut}: {e}");
    }
    // Less than a whole row's end is a name like another (odd, but a server allows it).
    assert_eq!(listing(20).unwrap().roles[&16400], &fake[..20]);
    // An answer missing, one too many, text after the last prompt, an oid that is no number.
    let two = run(&[answer(&ROLES, &[]), answer(&DATABASES, &[])]);
    assert!(parse_listing(&two).is_err());
    let four = run(&[
        answer(&ROLES, &[]),
        answer(&DATABASES, &[]),
        answer(&SETTINGS, &[]),
        answer(&SETTINGS, &[]),
    ]);
    assert!(parse_listing(&four).is_err());
    let mut after = run(&[
        answer(&ROLES, &[]),
        answer(&DATABASES, &[]),
        answer(&SETTINGS, &[]),
    ]);
    assert!(parse_listing(&after).is_ok());
    after.extend_from_slice(b"ALTER ROLE x");
    assert!(parse_listing(&after).is_err());
    let nan = run(&[
        answer(&ROLES, &[&[b"1x", b"postgres"]]),
        answer(&DATABASES, &[]),
        answer(&SETTINGS, &[]),
    ]);
    assert!(parse_listing(&nan).is_err());
}

#[test]
fn rows_no_command_clears_are_refused_before_anything_changes() {
    let mut l = parse_listing(REAL).unwrap();
    l.roles.insert(3373, b"pg_monitor".to_vec());
    for stray in [(0, 3373), (0, 99999), (77777, 0), (5, 99999), (77777, 10)] {
        let mut one = Listing {
            roles: l.roles.clone(),
            databases: l.databases.clone(),
            settings: l.settings.clone(),
        };
        one.settings.insert(stray);
        let e = resets(&one).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{stray:?}");
        assert!(
            e.message()
                .contains(&format!("database oid {}, role oid {}", stray.0, stray.1)),
            "{e}"
        );
    }
}

#[test]
fn after_the_resets_no_row_may_be_left() {
    let cleared = run(&[Vec::new(), Vec::new(), answer(&SETTINGS, &[])]);
    check_cleared(&cleared, 2).unwrap();
    assert!(
        check_cleared(&cleared, 1).is_err(),
        "a command's answer missing"
    );
    let left = run(&[Vec::new(), answer(&SETTINGS, &[&[b"0", b"16500"]])]);
    let e = check_cleared(&left, 1).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity);
    assert!(e.message().contains("role oid 16500"), "{e}");
}

#[test]
fn names_are_quoted_on_one_line() {
    assert_eq!(quote(b"plain"), b"\"plain\"");
    assert_eq!(quote(b"a\"b\\c"), b"\"a\"\"b\\c\"");
    assert_eq!(quote(b"a\nb\\c\x7f"), b"U&\"a\\000Ab\\\\c\\007F\"");
    // Bytes of another encoding pass as they are.
    assert_eq!(quote(b"caf\xe9"), b"\"caf\xe9\"");
}
