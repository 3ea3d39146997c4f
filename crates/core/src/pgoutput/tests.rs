use super::*;

fn samples() -> Vec<Message> {
    let t = |s: &str| Value::Text(s.as_bytes().to_vec());
    vec![
        Message::Begin {
            final_lsn: 0x1_6B37_4D48,
            commit_time: 1_795_000_000_000_000,
            xid: 745,
        },
        Message::Relation(Relation {
            oid: 16_385,
            namespace: "public".into(),
            name: "orders".into(),
            replica_identity: b'd',
            columns: vec![
                Column {
                    key: true,
                    name: "id".into(),
                    type_oid: 23,
                    type_modifier: -1,
                },
                Column {
                    key: false,
                    name: "note".into(),
                    type_oid: 25,
                    type_modifier: -1,
                },
            ],
        }),
        Message::Type {
            oid: 90_000,
            namespace: "public".into(),
            name: "mood".into(),
        },
        Message::Insert {
            relation: 16_385,
            new: vec![t("1"), t("héllo")],
        },
        Message::Update {
            relation: 16_385,
            old: None,
            new: vec![t("1"), Value::Unchanged],
        },
        Message::Update {
            relation: 16_385,
            old: Some(vec![t("1"), Value::Null]),
            new: vec![t("2"), Value::Null],
        },
        Message::Delete {
            relation: 16_385,
            old: vec![t("2"), Value::Null],
        },
        Message::Truncate {
            cascade: true,
            restart_identity: false,
            relations: vec![16_385, 16_390],
        },
        Message::Origin {
            lsn: 7,
            name: "elsewhere".into(),
        },
        Message::Message {
            transactional: true,
            lsn: 9,
            prefix: "offsite".into(),
            content: b"\0bytes".to_vec(),
        },
        Message::Commit {
            flags: 0,
            commit_lsn: 0x1_6B37_4D48,
            end_lsn: 0x1_6B37_4D78,
            commit_time: 1_795_000_000_000_000,
        },
    ]
}

#[test]
fn every_message_round_trips() {
    for m in samples() {
        assert_eq!(decode(&encode(&m)).unwrap(), m);
    }
}

#[test]
fn commit_time_is_unix_micros() {
    // A commit at 2000-01-01 00:00:01 UTC: 1 000 000 µs after PostgreSQL's epoch.
    let mut b = vec![b'C', 0];
    b.extend_from_slice(&1u64.to_be_bytes());
    b.extend_from_slice(&2u64.to_be_bytes());
    b.extend_from_slice(&1_000_000u64.to_be_bytes());
    match decode(&b).unwrap() {
        Message::Commit { commit_time, .. } => {
            assert_eq!(commit_time, 946_684_801_000_000);
        }
        m => panic!("{m:?}"),
    }
}

#[test]
fn damaged_messages_are_integrity_errors() {
    let insert = encode(&samples()[3]);
    // Truncated anywhere.
    for n in 0..insert.len() {
        let e = decode(&insert[..n]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{n}: {e}");
    }
    // Trailing bytes.
    let mut long = insert.clone();
    long.push(0);
    assert_eq!(decode(&long).unwrap_err().kind(), ErrorKind::Integrity);
    // A text length far past the end allocates nothing and fails.
    let mut huge = vec![b'I', 0, 0, 0, 1, b'N', 0, 1, b't'];
    huge.extend_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(decode(&huge).unwrap_err().kind(), ErrorKind::Integrity);
    // More columns than PostgreSQL allows.
    let many = [b'I', 0, 0, 0, 1, b'N', 0xFF, 0xFF];
    assert!(decode(&many).unwrap_err().message().contains("exceeds"));
    // A truncate claiming 4 billion relations.
    let mut t = vec![b'T'];
    t.extend_from_slice(&u32::MAX.to_be_bytes());
    t.push(0);
    assert_eq!(decode(&t).unwrap_err().kind(), ErrorKind::Integrity);
    // Binary values and unknown kinds.
    assert!(decode(&[b'I', 0, 0, 0, 1, b'N', 0, 1, b'b']).is_err());
    assert!(decode(b"Z").is_err());
    assert!(decode(&[]).is_err());
}
