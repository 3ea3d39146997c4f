use super::spill::{self, compare, Projection, RowWindow, Spill};
use super::*;
use tokio_util::sync::CancellationToken;

#[test]
fn table_names_parse_with_quotes_and_dots() {
    let t = parse_table_name("public.orders").unwrap();
    assert_eq!((t.schema.as_str(), t.table.as_str()), ("public", "orders"));
    let t = parse_table_name("orders").unwrap();
    assert_eq!(t.schema, "public");
    let t = parse_table_name(r#""odd schema"."my.table ""x""""#).unwrap();
    assert_eq!(
        (t.schema.as_str(), t.table.as_str()),
        ("odd schema", r#"my.table "x""#)
    );
    assert_eq!(t.to_string(), r#""odd schema"."my.table ""x""""#);
    assert_eq!(parse_table_name(&t.to_string()).unwrap(), t);
    for bad in [
        "a.b.c",
        "\"open",
        "a.",
        ".b",
        "",
        "a\"b",
        "\"a\"x.b",
        "'; DROP TABLE x; --.t.u",
    ] {
        let e = parse_table_name(bad).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidInput, "{bad}: {e}");
        assert!(e.message().contains("SCHEMA.TABLE"), "{e}");
    }
}

fn spill(
    dir: &std::path::Path,
    name: &str,
    parts: usize,
    proj: Projection,
    lines: &[&str],
) -> spill::Spilled {
    let mut s = Spill::new(dir, name, parts, proj).unwrap();
    for l in lines {
        s.push(l.as_bytes()).unwrap();
    }
    s.finish().unwrap()
}

#[test]
fn rows_are_matched_by_key_across_partitions_and_column_orders() {
    let dir = tempfile::tempdir().unwrap();
    // FROM (id, name, note); TO (note, id, name, extra): compared on (id, name, note), by id.
    let from = spill(
        dir.path(),
        "f",
        7,
        Projection {
            pick: None,
            key: Some(vec![0]),
            fields: 3,
        },
        &["1\ta\tx", "2\tb\t\\N", "3\tc\ty", "4\td\tz"],
    );
    let to = spill(
        dir.path(),
        "t",
        7,
        Projection {
            pick: Some(vec![1, 2, 0]),
            key: Some(vec![0]),
            fields: 4,
        },
        &["x\t1\ta\tq", "w\t2\tb\tq", "z\t4\tD\tq", "n\t5\te\tq"],
    );
    let w = RowWindow {
        offset: 0,
        limit: 10,
        columns: vec!["id".into(), "name".into(), "note".into()],
        key: Some(vec![0]),
    };
    let got = compare(&from, &to, Some(&w), &CancellationToken::new()).unwrap();
    assert_eq!(
        (
            got.counts.added,
            got.counts.removed,
            got.counts.changed,
            got.counts.unchanged
        ),
        (1, 1, 2, 1)
    );
    assert_eq!(got.rows.len(), 4);
    let two = got
        .rows
        .iter()
        .find(|r| r.key[0].value.as_deref() == Some("2"))
        .unwrap();
    assert_eq!(two.kind, RowChangeKind::Changed);
    assert_eq!(
        two.columns,
        vec![ValueChange {
            column: "note".into(),
            before: None,
            after: Some("w".into())
        }]
    );
    // Pages: the same order every time, offset skips.
    let w2 = RowWindow {
        offset: 1,
        limit: 2,
        ..w
    };
    let page = compare(&from, &to, Some(&w2), &CancellationToken::new()).unwrap();
    assert_eq!(page.rows, got.rows[1..3].to_vec());
    assert!(page.more);
}

#[test]
fn rows_without_a_key_are_a_multiset() {
    let dir = tempfile::tempdir().unwrap();
    let p = Projection {
        pick: None,
        key: None,
        fields: 1,
    };
    let from = spill(dir.path(), "f", 3, p.clone(), &["a", "a", "b", "c"]);
    let to = spill(dir.path(), "t", 3, p, &["a", "b", "b", "d"]);
    let got = compare(&from, &to, None, &CancellationToken::new()).unwrap();
    assert_eq!(
        (
            got.counts.added,
            got.counts.removed,
            got.counts.changed,
            got.counts.unchanged
        ),
        (2, 2, 0, 2)
    );
}

#[test]
fn a_row_with_the_wrong_number_of_fields_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Spill::new(
        dir.path(),
        "f",
        1,
        Projection {
            pick: None,
            key: Some(vec![0]),
            fields: 2,
        },
    )
    .unwrap();
    let e = s.push(b"1\t2\t3").unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Integrity);
}

#[test]
fn partitions_grow_with_the_table_and_stop_at_the_limit() {
    assert_eq!(spill::parts_for(0), 1);
    assert_eq!(spill::parts_for(spill::PART_BUDGET), 1);
    assert_eq!(spill::parts_for(spill::PART_BUDGET + 1), 2);
    assert_eq!(spill::parts_for(u64::MAX), spill::MAX_PARTS);
}
