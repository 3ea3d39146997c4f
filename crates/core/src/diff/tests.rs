use super::spill::{self, Fetch, Lines, Matcher, Projection, RowWindow};
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

/// Compares `from` with `to` in `parts` partitions as a diff does (with the second read of
/// the page's rows by key), returning the counts, the page's rows and whether more follow.
fn compare(
    parts: usize,
    fp: Projection,
    tp: Projection,
    from: &[&str],
    to: &[&str],
    window: Option<&RowWindow>,
) -> (spill::Counts, Vec<RowChange>, bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut m = Matcher::new(dir.path(), "t", parts, fp.clone(), tp.clone(), window.cloned()).unwrap();
    for l in from {
        m.line(l.as_bytes()).unwrap();
    }
    m.from_done().unwrap();
    for l in to {
        m.line(l.as_bytes()).unwrap();
    }
    let mut got = m.finish(&CancellationToken::new()).unwrap();
    if let Some(mut f) = Fetch::new(fp, tp, &got.picked) {
        for l in from {
            f.line(l.as_bytes()).unwrap();
        }
        f.from_done();
        for l in to {
            f.line(l.as_bytes()).unwrap();
        }
        f.fill(&mut got.picked);
    }
    let rows = match window {
        Some(w) => got.picked.iter().map(|p| spill::row_change(w, p)).collect(),
        None => Vec::new(),
    };
    // Every partition file is gone.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    (got.counts, rows, got.more)
}

fn counts(c: spill::Counts) -> (u64, u64, u64, u64) {
    (c.added, c.removed, c.changed, c.unchanged)
}

#[test]
fn rows_are_matched_by_key_across_partitions_and_column_orders() {
    // FROM (id, name, note); TO (note, id, name, extra): compared on (id, name, note), by id.
    let fp = Projection {
        pick: None,
        key: Some(vec![0]),
        fields: 3,
    };
    let tp = Projection {
        pick: Some(vec![1, 2, 0]),
        key: Some(vec![0]),
        fields: 4,
    };
    let from = ["1\ta\tx", "2\tb\t\\N", "3\tc\ty", "4\td\tz"];
    let to = ["x\t1\ta\tq", "w\t2\tb\tq", "z\t4\tD\tq", "n\t5\te\tq"];
    let w = RowWindow {
        offset: 0,
        limit: 10,
        columns: vec!["id".into(), "name".into(), "note".into()],
        key: Some(vec![0]),
    };
    for parts in [1, 2, 7] {
        let (c, rows, _) = compare(parts, fp.clone(), tp.clone(), &from, &to, Some(&w));
        assert_eq!(counts(c), (1, 1, 2, 1), "{parts} partitions");
        assert_eq!(rows.len(), 4);
        let two = rows
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
        let three = rows
            .iter()
            .find(|r| r.key[0].value.as_deref() == Some("3"))
            .unwrap();
        assert_eq!(three.kind, RowChangeKind::Removed);
        assert_eq!(three.columns[1].before.as_deref(), Some("c"));
        // Pages: the same order every time, offset skips.
        let w2 = RowWindow {
            offset: 1,
            limit: 2,
            ..w.clone()
        };
        let (_, page, more) = compare(parts, fp.clone(), tp.clone(), &from, &to, Some(&w2));
        assert_eq!(page, rows[1..3].to_vec());
        assert!(more);
    }
}

#[test]
fn rows_without_a_key_are_a_multiset() {
    let p = Projection {
        pick: None,
        key: None,
        fields: 1,
    };
    let w = RowWindow {
        offset: 0,
        limit: 10,
        columns: vec!["v".into()],
        key: None,
    };
    for parts in [1, 3] {
        let (c, rows, _) = compare(
            parts,
            p.clone(),
            p.clone(),
            &["a", "a", "b", "c"],
            &["a", "b", "b", "d"],
            Some(&w),
        );
        assert_eq!(counts(c), (2, 2, 0, 2));
        let mut shown: Vec<_> = rows
            .iter()
            .map(|r| (r.kind, r.columns[0].before.clone(), r.columns[0].after.clone()))
            .collect();
        shown.sort_by_key(|x| format!("{x:?}"));
        assert_eq!(shown.len(), 4);
        assert!(shown.contains(&(RowChangeKind::Added, None, Some("d".into()))));
        assert!(shown.contains(&(RowChangeKind::Removed, Some("c".into()), None)));
    }
}

#[test]
fn a_table_larger_than_the_memory_bound_matches_as_one_held_in_memory() {
    // 20,000 rows, 1 % changed, 0.5 % removed, 0.5 % added: the same counts in one partition
    // (all held) and in 16 (15 spilled to files).
    let p = Projection {
        pick: None,
        key: Some(vec![0]),
        fields: 2,
    };
    let from: Vec<String> = (0..20_000).map(|i| format!("{i}\tv{i}")).collect();
    let to: Vec<String> = (100..20_100)
        .map(|i| {
            if i % 100 == 7 {
                format!("{i}\tchanged")
            } else {
                format!("{i}\tv{i}")
            }
        })
        .collect();
    let (f, t): (Vec<&str>, Vec<&str>) = (
        from.iter().map(String::as_str).collect(),
        to.iter().map(String::as_str).collect(),
    );
    let one = compare(1, p.clone(), p.clone(), &f, &t, None).0;
    let many = compare(16, p.clone(), p, &f, &t, None).0;
    assert_eq!(one, many);
    assert_eq!(counts(one), (100, 100, 199, 19_701));
}

#[test]
fn a_row_with_the_wrong_number_of_fields_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = Projection {
        pick: None,
        key: Some(vec![0]),
        fields: 2,
    };
    let mut m = Matcher::new(dir.path(), "f", 1, p.clone(), p, None).unwrap();
    let e = m.line(b"1\t2\t3").unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Integrity);
}

#[test]
fn partitions_grow_with_the_table_and_stop_at_the_limit() {
    assert_eq!(spill::parts_for(0), 1);
    assert_eq!(spill::parts_for(spill::MEMORY_BUDGET), 1);
    assert_eq!(spill::parts_for(spill::MEMORY_BUDGET + 1), 2);
    assert_eq!(spill::parts_for(u64::MAX), spill::MAX_PARTS);
    // A million rows keyed by short ids take three partitions, not one per 16 MiB of text.
    assert_eq!(spill::parts_for(spill::held_bytes(1_000_000, 16_000_000)), 3);
}
