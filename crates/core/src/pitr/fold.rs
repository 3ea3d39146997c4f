//! Captured changes folded by key before they reach the target (issue 67, item 3): the changes
//! of one target transaction to a table with a key are held, each key's changes reduced to
//! what they leave (a row deleted, updated to its last version, inserted), and applied as one
//! set-based statement per kind and table ([`super::fold_apply`]) instead of a statement per
//! change. A row updated a thousand times in a batch (a counter, pgbench's branches) is written
//! once.
//!
//! Exactness: the fold is an optimisation, never a second meaning. Only changes whose result
//! does not depend on their order among keys are held — a table with a key (`REPLICA IDENTITY
//! DEFAULT` with a primary key, or `USING INDEX`), the key sent and not changed by the update
//! (a TOAST value the update left unchanged stays unchanged, or takes the value the batch
//! gave the row); anything else (a key change, `TRUNCATE`, a table without a key, a new
//! description of a held table) first applies what is held, then goes the old way, in order. A change whose sequential result would be an error (an insert of a key the batch
//! holds alive) marks the batch so that it is applied change by change, where the error is the
//! one the sequence gives. And the set-based statements run behind a savepoint: should they
//! break a constraint the sequence would not (a unique value moved from one row to another in
//! the batch, a foreign key checked in between), the savepoint is rolled back and the held
//! changes are applied change by change, in their order.

use crate::pgoutput::{Message, Relation, Tuple, Value};
use std::collections::HashMap;

/// Held changes before the fold is applied, and held bytes (the values' text; the changes
/// are also kept as they came, for the sequence, so about twice that is held).
pub(crate) const HOLD_CHANGES: usize = 20_000;
pub(crate) const HOLD_BYTES: usize = 8 << 20;

/// What a key's held changes leave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The key's first held change was an update or a delete: the row was there before.
    existed: bool,
    /// A delete of it was held (before its latest row, if it has one).
    deleted: bool,
    /// Its row after the held changes; `None`: gone.
    row: Option<Tuple>,
}

/// One table's held changes.
#[derive(Debug)]
pub(crate) struct TableFold {
    pub relation: Relation,
    /// The key's columns, in the relation's order.
    pub key: Vec<usize>,
    index: HashMap<Vec<Value>, usize>,
    entries: Vec<(Vec<Value>, Entry)>,
    /// Its held changes as they came (with their place among all held), for applying them
    /// one by one instead.
    messages: Vec<(u64, Message)>,
    /// A held change whose sequence gives an error: apply them one by one.
    conflict: bool,
}

/// What a table's held changes come to, as statements will apply them: rows deleted by key,
/// rows updated (their columns but the key's, but those a partial row leaves unchanged), rows
/// inserted (whole).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Effects<'a> {
    pub deletes: Vec<&'a [Value]>,
    pub updates: Vec<&'a Tuple>,
    pub inserts: Vec<&'a Tuple>,
}

impl TableFold {
    fn new(relation: Relation, key: Vec<usize>) -> Self {
        TableFold {
            relation,
            key,
            index: HashMap::new(),
            entries: Vec::new(),
            messages: Vec::new(),
            conflict: false,
        }
    }

    fn entry(&mut self, k: Vec<Value>) -> Option<&mut Entry> {
        self.index.get(&k).map(|&i| &mut self.entries[i].1)
    }

    fn add(&mut self, k: Vec<Value>, e: Entry) {
        self.index.insert(k.clone(), self.entries.len());
        self.entries.push((k, e));
    }

    /// The table's effects, keys in the order they were first changed.
    pub(crate) fn effects(&self) -> Effects<'_> {
        let mut fx = Effects::default();
        for (k, e) in &self.entries {
            match (&e.row, e.existed, e.deleted) {
                (None, true, _) => fx.deletes.push(k),
                (Some(r), true, true) => {
                    fx.deletes.push(k);
                    fx.inserts.push(r);
                }
                (Some(r), true, false) => fx.updates.push(r),
                (Some(r), false, _) => fx.inserts.push(r),
                (None, false, _) => {}
            }
        }
        fx
    }
}

/// The changes of a target transaction held for folding.
#[derive(Debug, Default)]
pub(crate) struct Fold {
    pub tables: Vec<TableFold>,
    by_oid: HashMap<u32, usize>,
    /// Changes held, the next one's place among all taken in (never reused: a table taken
    /// out alone leaves the others' places as they were), and bytes.
    held: u64,
    next: u64,
    bytes: usize,
}

/// The key columns of a relation whose changes may be folded: `REPLICA IDENTITY DEFAULT` (a
/// primary key) or `USING INDEX`; `None` for `FULL`, `NOTHING` or no key.
pub(crate) fn key_columns(r: &Relation) -> Option<Vec<usize>> {
    if !matches!(r.replica_identity, b'd' | b'i') {
        return None;
    }
    let key: Vec<usize> = (0..r.columns.len()).filter(|&i| r.columns[i].key).collect();
    (!key.is_empty()).then_some(key)
}

/// A tuple's key values, when every one is sent and not null.
fn key_of(key: &[usize], t: &Tuple) -> Option<Vec<Value>> {
    key.iter()
        .map(|&i| match t.get(i) {
            Some(v @ Value::Text(_)) => Some(v.clone()),
            _ => None,
        })
        .collect()
}

/// A whole row: a value (or null) for each of the relation's columns.
fn whole(r: &Relation, t: &Tuple) -> bool {
    t.len() == r.columns.len() && !t.contains(&Value::Unchanged)
}

/// `new` over `old`: where `new` leaves a value unchanged (TOAST), `old`'s.
fn merge(old: Option<Tuple>, new: Tuple) -> Tuple {
    match old {
        Some(old) if new.contains(&Value::Unchanged) => new
            .into_iter()
            .zip(old)
            .map(|(n, o)| if n == Value::Unchanged { o } else { n })
            .collect(),
        _ => new,
    }
}

fn size(t: &Tuple) -> usize {
    t.iter()
        .map(|v| match v {
            Value::Text(b) => b.len() + 1,
            _ => 2,
        })
        .sum()
}

impl Fold {
    pub(crate) fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// Whether enough is held to apply it now.
    pub(crate) fn full(&self) -> bool {
        self.held >= HOLD_CHANGES as u64 || self.bytes >= HOLD_BYTES
    }

    /// Whether changes to `r`'s table are held under another description of it (they must be
    /// applied before the new one is used).
    pub(crate) fn holds_other(&self, r: &Relation) -> bool {
        self.by_oid
            .get(&r.oid)
            .is_some_and(|&i| self.tables[i].relation != *r)
    }

    /// Hold `m`, a change to `r`'s table; `Err(m)` when it cannot be folded (the caller applies
    /// what is held, then `m` the old way).
    pub(crate) fn push(&mut self, r: &Relation, m: Message) -> std::result::Result<(), Message> {
        let Some(key) = key_columns(r) else {
            return Err(m);
        };
        // The row a change leaves, its key, and whether it removes the row.
        let (k, row, delete) = match &m {
            Message::Insert { new, .. } if whole(r, new) => match key_of(&key, new) {
                Some(k) => (k, Some(new.clone()), false),
                None => return Err(m),
            },
            // An update may leave TOAST values unchanged: the row is then partial until a
            // later change of the key fills it, and only its sent columns are set.
            Message::Update { old, new, .. } if new.len() == r.columns.len() => {
                let Some(k) = key_of(&key, new) else {
                    return Err(m);
                };
                // A key sent beside the new row: the key changed (or the identity is FULL).
                if let Some(o) = old {
                    if key_of(&key, o).as_ref() != Some(&k) {
                        return Err(m);
                    }
                }
                (k, Some(new.clone()), false)
            }
            Message::Delete { old, .. } if old.len() == r.columns.len() => {
                match key_of(&key, old) {
                    Some(k) => (k, None, true),
                    None => return Err(m),
                }
            }
            _ => return Err(m),
        };
        let ti = match self.by_oid.get(&r.oid) {
            Some(&i) => i,
            None => {
                self.tables.push(TableFold::new(r.clone(), key));
                self.by_oid.insert(r.oid, self.tables.len() - 1);
                self.tables.len() - 1
            }
        };
        let t = &mut self.tables[ti];
        let insert = matches!(m, Message::Insert { .. });
        self.bytes += row.as_ref().map_or(0, size) + k.len() * 8;
        match t.entry(k.clone()) {
            None => t.add(
                k,
                Entry {
                    existed: !insert,
                    deleted: delete,
                    row,
                },
            ),
            // An update or a delete of a row already gone changes nothing (as the statement
            // would find no row).
            Some(e) if e.row.is_none() && !insert => {}
            Some(e) if e.row.is_none() => e.row = row,
            // The key is alive: an insert of it is an error in the sequence.
            Some(_) if insert => t.conflict = true,
            Some(e) => {
                e.row = row.map(|new| merge(e.row.take(), new));
                e.deleted |= delete;
            }
        }
        t.messages.push((self.next, m));
        self.next += 1;
        self.held += 1;
        Ok(())
    }

    /// Take what is held, leaving the fold empty.
    pub(crate) fn take(&mut self) -> Fold {
        std::mem::take(self)
    }

    /// Take what is held of one table (`None`: nothing), leaving the rest.
    pub(crate) fn take_table(&mut self, oid: u32) -> Option<Fold> {
        let i = self.by_oid.remove(&oid)?;
        let t = self.tables.remove(i);
        for v in self.by_oid.values_mut() {
            if *v > i {
                *v -= 1;
            }
        }
        let n = t.messages.len() as u64;
        self.held -= n.min(self.held);
        let mut f = Fold {
            held: n,
            next: self.next,
            ..Fold::default()
        };
        f.by_oid.insert(oid, 0);
        f.tables.push(t);
        Some(f)
    }

    /// How many changes are held.
    pub(crate) fn len(&self) -> u64 {
        self.held
    }

    /// Whether a held change's sequence gives an error (apply them one by one).
    pub(crate) fn conflict(&self) -> bool {
        self.tables.iter().any(|t| t.conflict)
    }

    /// The held changes as they came, all tables' in their order.
    pub(crate) fn into_messages(self) -> Vec<Message> {
        let mut all: Vec<(u64, Message)> =
            self.tables.into_iter().flat_map(|t| t.messages).collect();
        all.sort_by_key(|(n, _)| *n);
        all.into_iter().map(|(_, m)| m).collect()
    }
}

/// One line of `COPY … FROM STDIN` (text format): when `lead` is given, it and `group`
/// first; then each value, escaped as COPY reads it (`\N` for null, and for a value left
/// unchanged, which no statement reads).
pub(crate) fn copy_line<'a>(
    out: &mut Vec<u8>,
    lead: Option<u8>,
    group: usize,
    values: impl Iterator<Item = &'a Value>,
) {
    let mut first = true;
    if let Some(b) = lead {
        out.push(b);
        out.push(b'\t');
        out.extend_from_slice(group.to_string().as_bytes());
        first = false;
    }
    for v in values {
        if !first {
            out.push(b'\t');
        }
        first = false;
        match v {
            Value::Text(b) => {
                for &c in b {
                    match c {
                        b'\\' => out.extend_from_slice(b"\\\\"),
                        b'\t' => out.extend_from_slice(b"\\t"),
                        b'\n' => out.extend_from_slice(b"\\n"),
                        b'\r' => out.extend_from_slice(b"\\r"),
                        c => out.push(c),
                    }
                }
            }
            Value::Null | Value::Unchanged => out.extend_from_slice(b"\\N"),
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pgoutput::Column;

    fn rel(identity: u8) -> Relation {
        Relation {
            oid: 7,
            namespace: "public".into(),
            name: "t".into(),
            replica_identity: identity,
            columns: vec![
                Column {
                    key: true,
                    name: "id".into(),
                    type_oid: 23,
                    type_modifier: -1,
                },
                Column {
                    key: false,
                    name: "v".into(),
                    type_oid: 25,
                    type_modifier: -1,
                },
            ],
        }
    }

    fn t(id: &str, v: &str) -> Tuple {
        vec![
            Value::Text(id.as_bytes().to_vec()),
            Value::Text(v.as_bytes().to_vec()),
        ]
    }

    fn ins(id: &str, v: &str) -> Message {
        Message::Insert {
            relation: 7,
            new: t(id, v),
        }
    }
    fn upd(id: &str, v: &str) -> Message {
        Message::Update {
            relation: 7,
            old: None,
            new: t(id, v),
        }
    }
    fn del(id: &str) -> Message {
        Message::Delete {
            relation: 7,
            old: vec![Value::Text(id.as_bytes().to_vec()), Value::Null],
        }
    }

    fn fold(ms: Vec<Message>) -> Fold {
        let r = rel(b'd');
        let mut f = Fold::default();
        for m in ms {
            f.push(&r, m).unwrap();
        }
        f
    }

    fn ids(ts: &[&Tuple]) -> Vec<String> {
        ts.iter()
            .map(|t| match (&t[0], &t[1]) {
                (Value::Text(a), Value::Text(b)) => format!(
                    "{}={}",
                    String::from_utf8_lossy(a),
                    String::from_utf8_lossy(b)
                ),
                _ => "?".into(),
            })
            .collect()
    }

    #[test]
    fn each_key_comes_to_what_its_changes_leave() {
        let f = fold(vec![
            upd("1", "a"),
            upd("2", "a"),
            upd("1", "b"),
            upd("1", "c"),
            ins("3", "x"),
            upd("3", "y"),
            ins("4", "x"),
            del("4"),
            del("5"),
            upd("5", "ignored"),
            del("6"),
            ins("6", "again"),
            upd("6", "again2"),
            upd("7", "a"),
            del("7"),
            ins("7", "back"),
        ]);
        assert!(!f.conflict());
        assert_eq!(f.len(), 16);
        let fx = f.tables[0].effects();
        let deleted: Vec<String> = fx
            .deletes
            .iter()
            .map(|k| match &k[0] {
                Value::Text(b) => String::from_utf8_lossy(b).into_owned(),
                _ => "?".into(),
            })
            .collect();
        assert_eq!(deleted, ["5", "6", "7"]);
        assert_eq!(ids(&fx.updates), ["1=c", "2=a"]);
        assert_eq!(ids(&fx.inserts), ["3=y", "6=again2", "7=back"]);
    }

    #[test]
    fn unchanged_toast_values_stay_unchanged_or_take_the_rows_last_value() {
        let partial = |id: &str| Message::Update {
            relation: 7,
            old: None,
            new: vec![Value::Text(id.as_bytes().to_vec()), Value::Unchanged],
        };
        // Only updates with the value unchanged: the row stays partial (its value left alone).
        let f = fold(vec![partial("1"), partial("1")]);
        assert_eq!(
            f.tables[0].effects().updates,
            [&vec![Value::Text(b"1".to_vec()), Value::Unchanged]]
        );
        // A whole row first: a later unchanged value is that row's.
        let f = fold(vec![
            ins("2", "x"),
            partial("2"),
            upd("3", "y"),
            partial("3"),
        ]);
        let fx = f.tables[0].effects();
        assert_eq!(ids(&fx.inserts), ["2=x"]);
        assert_eq!(ids(&fx.updates), ["3=y"]);
        // A partial row, then one that sends the value.
        let f = fold(vec![partial("4"), upd("4", "z")]);
        assert_eq!(ids(&f.tables[0].effects().updates), ["4=z"]);
    }

    #[test]
    fn an_insert_of_a_live_key_marks_the_batch_for_the_sequence() {
        let f = fold(vec![upd("1", "a"), ins("1", "b")]);
        assert!(f.conflict());
        let f = fold(vec![ins("1", "a"), ins("1", "b")]);
        assert!(f.conflict());
        let f = fold(vec![ins("1", "a"), del("1"), ins("1", "b")]);
        assert!(!f.conflict());
        assert_eq!(ids(&f.tables[0].effects().inserts), ["1=b"]);
    }

    #[test]
    fn what_cannot_be_folded_is_given_back() {
        let r = rel(b'd');
        let mut f = Fold::default();
        // A key change (the old key sent beside the new row).
        let m = Message::Update {
            relation: 7,
            old: Some(vec![Value::Text(b"1".to_vec()), Value::Null]),
            new: t("2", "a"),
        };
        assert!(f.push(&r, m).is_err());
        // An unchanged key value; a null key; a truncate.
        let m = Message::Update {
            relation: 7,
            old: None,
            new: vec![Value::Unchanged, Value::Text(b"1".to_vec())],
        };
        assert!(f.push(&r, m).is_err());
        let m = Message::Insert {
            relation: 7,
            new: vec![Value::Null, Value::Text(b"1".to_vec())],
        };
        assert!(f.push(&r, m).is_err());
        let m = Message::Truncate {
            cascade: false,
            restart_identity: false,
            relations: vec![7],
        };
        assert!(f.push(&r, m).is_err());
        // REPLICA IDENTITY FULL or NOTHING: no key to fold by.
        for id in [b'f', b'n'] {
            assert!(f.push(&rel(id), upd("1", "a")).is_err());
        }
        // The same key sent as the old key (the update did not change it) is folded.
        let m = Message::Update {
            relation: 7,
            old: Some(vec![Value::Text(b"1".to_vec()), Value::Null]),
            new: t("1", "a"),
        };
        assert!(f.push(&r, m).is_ok());
        assert!(!f.is_empty() && !f.conflict());
        // A new description of a held table.
        let mut r2 = r.clone();
        r2.columns[1].type_oid = 1043;
        assert!(f.holds_other(&r2));
        assert!(!f.holds_other(&r));
    }

    #[test]
    fn one_tables_changes_are_taken_alone_and_all_come_back_in_their_order() {
        let r = rel(b'd');
        let mut other = rel(b'd');
        other.oid = 8;
        let mut f = Fold::default();
        let on = |oid: u32, m: Message| match m {
            Message::Update { old, new, .. } => Message::Update {
                relation: oid,
                old,
                new,
            },
            m => m,
        };
        f.push(&r, upd("1", "a")).unwrap();
        f.push(&other, on(8, upd("1", "b"))).unwrap();
        f.push(&r, upd("2", "c")).unwrap();
        f.push(&other, on(8, upd("2", "d"))).unwrap();
        let mine = f.take_table(7).unwrap();
        assert_eq!(mine.len(), 2);
        assert_eq!(f.len(), 2);
        assert!(f.take_table(7).is_none());
        // The other table is still held and found.
        f.push(&other, on(8, upd("3", "e"))).unwrap();
        assert_eq!(f.tables.len(), 1);
        assert_eq!(relations(f.take()), [8, 8, 8]);
        let mut both = Fold::default();
        both.push(&r, upd("1", "a")).unwrap();
        both.push(&other, on(8, upd("1", "b"))).unwrap();
        both.push(&r, upd("2", "c")).unwrap();
        assert_eq!(relations(both), [7, 8, 7]);
        // A table taken out alone leaves the others' order as it was: what is pushed after
        // comes after them.
        let mut f = Fold::default();
        f.push(&r, upd("1", "a")).unwrap();
        f.push(&other, on(8, upd("1", "b"))).unwrap();
        f.push(&r, upd("2", "c")).unwrap();
        f.push(&other, on(8, upd("2", "d"))).unwrap();
        f.take_table(7).unwrap();
        f.push(&other, on(8, upd("3", "e"))).unwrap();
        let values: Vec<Vec<u8>> = f
            .take()
            .into_messages()
            .into_iter()
            .map(|m| match m {
                Message::Update { new, .. } => match &new[1] {
                    Value::Text(b) => b.clone(),
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            })
            .collect();
        assert_eq!(values, [b"b".to_vec(), b"d".to_vec(), b"e".to_vec()]);
    }

    /// The relations of the held changes, in the order they come back.
    fn relations(f: Fold) -> Vec<u32> {
        f.into_messages()
            .iter()
            .map(|m| match m {
                Message::Update { relation, .. } => *relation,
                _ => 0,
            })
            .collect()
    }

    #[test]
    fn copy_lines_escape_what_copy_reads_specially() {
        let mut out = Vec::new();
        let vals = [
            Value::Text(b"a\tb\\c\nd\re".to_vec()),
            Value::Null,
            Value::Text(b"\\N".to_vec()),
            Value::Text(Vec::new()),
        ];
        copy_line(&mut out, Some(b'u'), 3, vals.iter());
        assert_eq!(out, b"u\t3\ta\\tb\\\\c\\nd\\re\t\\N\t\\\\N\t\n".to_vec());
    }
}
