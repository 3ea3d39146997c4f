//! Property-based fuzzing of the pgoutput decoder (see `offsite_testkit::fuzz`): valid messages
//! mutated (bytes flipped, cut, spliced) and arbitrary bytes never panic, never allocate without
//! bound, and fail only with `integrity`.

use super::*;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

fn valid() -> Vec<Vec<u8>> {
    let t = |s: &str| Value::Text(s.as_bytes().to_vec());
    let rel = Relation {
        oid: 1,
        namespace: "public".into(),
        name: "t".into(),
        replica_identity: b'f',
        columns: vec![Column {
            key: true,
            name: "a".into(),
            type_oid: 23,
            type_modifier: -1,
        }],
    };
    [
        Message::Begin {
            final_lsn: 1,
            commit_time: 1,
            xid: 2,
        },
        Message::Relation(rel),
        Message::Insert {
            relation: 1,
            new: vec![t("1"), Value::Null, Value::Unchanged],
        },
        Message::Update {
            relation: 1,
            old: Some(vec![t("1")]),
            new: vec![t("2")],
        },
        Message::Delete {
            relation: 1,
            old: vec![t("2")],
        },
        Message::Truncate {
            cascade: false,
            restart_identity: true,
            relations: vec![1, 2, 3],
        },
        Message::Message {
            transactional: false,
            lsn: 3,
            prefix: "p".into(),
            content: vec![1, 2, 3],
        },
        Message::Commit {
            flags: 0,
            commit_lsn: 1,
            end_lsn: 2,
            commit_time: 1,
        },
    ]
    .iter()
    .map(encode)
    .collect()
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    let mutated = (
        0..valid().len(),
        proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        proptest::option::of(any::<usize>()),
    )
        .prop_map(|(i, flips, cut)| {
            let mut b = valid()[i].clone();
            for (at, byte) in flips {
                if !b.is_empty() {
                    let n = b.len();
                    b[at % n] = byte;
                }
            }
            if let Some(cut) = cut {
                b.truncate(cut % (b.len() + 1));
            }
            b
        });
    prop_oneof![mutated, proptest::collection::vec(any::<u8>(), 0..64)]
}

#[test]
fn fuzz_pgoutput_decoder() {
    for b in valid() {
        decode(&b).unwrap();
    }
    let mut runner = TestRunner::new(offsite_testkit::fuzz::config());
    runner
        .run(&input(), |b| {
            if let Err(e) = decode(&b) {
                prop_assert_eq!(e.kind(), ErrorKind::Integrity, "{}", e);
            }
            Ok(())
        })
        .unwrap();
}
