use super::lockstep;
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

/// Feeds `lines` of one side through a [`lockstep::Batcher`] on its own thread.
fn feed(
    lines: Vec<String>,
    mut b: lockstep::Batcher,
    tx: tokio::sync::mpsc::Sender<lockstep::Msg>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for l in &lines {
            if let Some(batch) = b.push(l.as_bytes()).unwrap() {
                tx.blocking_send(lockstep::Msg::Rows(batch)).unwrap();
            }
        }
        if let Some(batch) = b.finish() {
            tx.blocking_send(lockstep::Msg::Rows(batch)).unwrap();
        }
        tx.blocking_send(lockstep::Msg::End).unwrap();
    })
}

/// Counts (added, removed, changed, unchanged) and the changed rows of `from` → `to` matched
/// in lockstep, with `budget` bytes of unmatched rows held before they are spilled.
fn lockstep_diff(
    from: &[String],
    to: &[String],
    proj: Projection,
    budget: usize,
    window: Option<&RowWindow>,
) -> ([u64; 4], Vec<RowChange>, bool) {
    let dir = tempfile::tempdir().unwrap();
    let keyed = proj.key.is_some();
    let (fb, ftx, fe) = lockstep::channel(proj.clone());
    let (tb, ttx, te) = lockstep::channel(proj);
    let (a, b) = (feed(from.to_vec(), fb, ftx), feed(to.to_vec(), tb, ttx));
    let plan = lockstep::Plan {
        keyed,
        parts: 5,
        dir: dir.path().to_path_buf(),
        name: "t".into(),
        budget,
    };
    let mut out = spill::Collector::new(window);
    lockstep::run(fe, te, &plan, &mut out, &CancellationToken::new()).unwrap();
    a.join().unwrap();
    b.join().unwrap();
    let c = out.out.counts;
    (
        [c.added, c.removed, c.changed, c.unchanged],
        out.out.rows,
        out.out.more,
    )
}

/// Two states of a 3,000-row table as a dump holds them: TO lost every 10th row, its changed
/// rows moved to the end (where an UPDATE puts them), new rows after them, and a stretch of
/// rows in another order (as after a CLUSTER of part of it).
fn two_states() -> (Vec<String>, Vec<String>) {
    let from: Vec<String> = (0..3000).map(|i| format!("{i}\tv{i}\t{}", i % 7)).collect();
    let mut to = Vec::new();
    let mut moved = Vec::new();
    for (i, row) in from.iter().enumerate() {
        if i % 10 == 0 {
            continue;
        }
        if i % 7 == 3 {
            moved.push(format!("{i}\tv{i}\tchanged"));
            continue;
        }
        to.push(row.clone());
    }
    to[100..400].reverse();
    to.extend(moved);
    to.extend((3000..3050).map(|i| format!("{i}\tnew\t\\N")));
    (from, to)
}

#[test]
fn lockstep_counts_equal_the_partitions_whether_it_spills_or_not() {
    let (from, to) = two_states();
    let proj = Projection {
        pick: None,
        key: Some(vec![0]),
        fields: 3,
    };
    // The expected counts, by the partition matching the diff used before.
    let dir = tempfile::tempdir().unwrap();
    let fs = spill(
        dir.path(),
        "f",
        3,
        proj.clone(),
        &from.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let ts = spill(
        dir.path(),
        "t",
        3,
        proj.clone(),
        &to.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let c = compare(&fs, &ts, None, &CancellationToken::new())
        .unwrap()
        .counts;
    let expected = [c.added, c.removed, c.changed, c.unchanged];
    assert_eq!(expected[0], 50);
    assert_eq!(expected[1], 300);
    let w = RowWindow {
        offset: 0,
        limit: 1000,
        columns: vec!["id".into(), "v".into(), "n".into()],
        key: Some(vec![0]),
    };
    let (held, rows, more) = lockstep_diff(&from, &to, proj.clone(), 1 << 20, Some(&w));
    assert_eq!(held, expected, "in memory");
    assert_eq!(rows.len() as u64, expected[0] + expected[1] + expected[2]);
    assert!(!more);
    // A budget of a few rows: the unmatched rows go to the partitions again and again.
    let (spilled, srows, _) = lockstep_diff(&from, &to, proj.clone(), 300, Some(&w));
    assert_eq!(spilled, expected, "spilled");
    let mut a: Vec<String> = rows.iter().map(|r| format!("{r:?}")).collect();
    let mut b: Vec<String> = srows.iter().map(|r| format!("{r:?}")).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b, "the same changed rows either way");
    // Pages are stable: the same two sides give the same order.
    let page = RowWindow {
        offset: 7,
        limit: 20,
        ..w
    };
    let (_, p1, more) = lockstep_diff(&from, &to, proj.clone(), 300, Some(&page));
    let (_, p2, _) = lockstep_diff(&from, &to, proj, 300, Some(&page));
    assert!(more);
    assert_eq!(p1, p2);
    assert_eq!(p1, srows[7..27].to_vec());
}

#[test]
fn lockstep_rows_without_a_key_are_a_multiset() {
    let p = Projection {
        pick: None,
        key: None,
        fields: 1,
    };
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let (from, to) = (v(&["a", "a", "b", "c", "a"]), v(&["a", "b", "b", "d", "a"]));
    for budget in [1 << 20, 1] {
        let (got, _, _) = lockstep_diff(&from, &to, p.clone(), budget, None);
        // added b, d; removed a, c; unchanged a, a, b.
        assert_eq!(got, [2, 2, 0, 3], "budget {budget}");
    }
}

/// Keys chosen to collide under a fixed hash (std's `DefaultHasher::new()`, SipHash with zero
/// keys: anyone can compute it) all land in one partition when partitions are chosen by it; by
/// random keys drawn per process they spread.
#[test]
fn keys_chosen_for_one_partition_under_a_fixed_hash_spread() {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let parts = 16;
    let fixed = |k: &[u8]| {
        let mut h = DefaultHasher::new();
        k.hash(&mut h);
        (h.finish() % parts as u64) as usize
    };
    let chosen: Vec<String> = (0..)
        .map(|i| format!("k{i}"))
        .filter(|k| fixed(k.as_bytes()) == 0)
        .take(64)
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let p = Projection {
        pick: None,
        key: Some(vec![0]),
        fields: 2,
    };
    let lines: Vec<String> = chosen.iter().map(|k| format!("{k}\tv")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let s = spill(dir.path(), "f", parts, p, &refs);
    let used = (0..parts)
        .filter(|i| {
            std::fs::metadata(dir.path().join(format!("f-{i}")))
                .unwrap()
                .len()
                > 0
        })
        .count();
    assert!(used > 1, "64 chosen keys all went to one partition");
    s.remove();
}

/// The pending rows' hash table is keyed at random, not by a fixed hash anyone can compute.
#[test]
fn the_pending_map_is_keyed_at_random() {
    use std::hash::{BuildHasher, DefaultHasher, Hash, Hasher};
    let key: Box<[u8]> = b"some key".to_vec().into_boxed_slice();
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    assert_ne!(lockstep::pending_hasher().hash_one(&key), h.finish());
}
