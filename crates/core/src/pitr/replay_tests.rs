//! Unit tests of the replay's checks of what a change stream names.

use super::*;
use crate::error::ErrorKind;

/// A Relation message as a publisher would send it, byte by byte: `R`, oid, namespace,
/// name, replica identity, then each column (flags, name, type oid, type modifier).
fn crafted_relation(namespace: &str, name: &str, columns: &[(&str, u32)]) -> Vec<u8> {
    let mut b = vec![b'R'];
    b.extend_from_slice(&1260u32.to_be_bytes());
    for s in [namespace, name] {
        b.extend_from_slice(s.as_bytes());
        b.push(0);
    }
    b.push(b'd');
    b.extend_from_slice(&(columns.len() as u16).to_be_bytes());
    for (i, (col, ty)) in columns.iter().enumerate() {
        b.push(u8::from(i == 0));
        b.extend_from_slice(col.as_bytes());
        b.push(0);
        b.extend_from_slice(&ty.to_be_bytes());
        b.extend_from_slice(&(-1i32).to_be_bytes());
    }
    b
}

fn relation(namespace: &str, name: &str) -> Relation {
    let bytes = crafted_relation(namespace, name, &[("rolname", 19), ("rolsuper", 16)]);
    match pgoutput::decode(&bytes).unwrap() {
        Message::Relation(r) => r,
        other => panic!("not a relation: {other:?}"),
    }
}

#[test]
fn a_relation_in_the_servers_own_schemas_ends_the_replay_naming_it() {
    let covered: std::collections::HashSet<String> =
        ["public.items".to_string()].into_iter().collect();
    for ns in [
        "pg_catalog",
        "information_schema",
        "pg_toast",
        "pg_temp_3",
        "pg_toast_temp_3",
    ] {
        for cov in [None, Some(&covered)] {
            let e = check_relation(&relation(ns, "pg_authid"), cov).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Integrity, "{ns}");
            assert!(e.message().contains(&format!("{ns}.pg_authid")), "{e}");
        }
    }
}

#[test]
fn a_relation_outside_the_chains_coverage_ends_the_replay_naming_it() {
    let covered: std::collections::HashSet<String> =
        ["public.items".to_string(), "odd.sch.t".to_string()]
            .into_iter()
            .collect();
    assert!(check_relation(&relation("public", "items"), Some(&covered)).is_ok());
    // Without a recorded coverage, an ordinary table passes (only the catalogs are refused).
    assert!(check_relation(&relation("public", "secret"), None).is_ok());
    let e = check_relation(&relation("public", "secret"), Some(&covered)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity);
    assert!(e.message().contains("public.secret"), "{e}");
    assert!(e.message().contains("did not capture"), "{e}");
    // A name made to look like a covered one with a quote or a control character.
    let e = check_relation(&relation("public", "items\n"), Some(&covered)).unwrap_err();
    assert!(e.message().contains("public.items\\n"), "{e}");
    for ok in ["public", "pgx", "Pg_catalog", "information_schema2"] {
        assert!(!system_schema(ok), "{ok}");
    }
}
