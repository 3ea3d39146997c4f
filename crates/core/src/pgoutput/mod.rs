//! PostgreSQL's `pgoutput` logical replication messages (protocol version 1), decoded from the
//! bytes a logical slot hands out (`pg_logical_slot_peek_binary_changes`: one message a row).
//!
//! Pure and hostile-input-safe: every length is checked against the bytes left before anything is
//! allocated, column counts are capped at PostgreSQL's own limit, and every failure is an
//! [`ErrorKind::Integrity`] error naming what was malformed. Fuzzed in `fuzz.rs`.
//!
//! Messages (PostgreSQL docs, "Logical Replication Message Formats"): Begin `B`, Commit `C`,
//! Origin `O`, Relation `R`, Type `Y`, Insert `I`, Update `U`, Delete `D`, Truncate `T`,
//! Message `M`; tuple data columns are text `t`, null `n` or an unchanged TOAST value `u`
//! (binary `b` only appears when asked for, and is refused).

use crate::error::{Error, ErrorKind, Result};

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;

/// PostgreSQL's MaxTupleAttributeNumber: no tuple or relation has more columns.
pub const MAX_COLUMNS: usize = 1664;

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01 00:00:00 UTC).
pub const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;

/// One decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Begin {
        final_lsn: u64,
        /// Commit time, microseconds since the Unix epoch.
        commit_time: i64,
        xid: u32,
    },
    Commit {
        flags: u8,
        commit_lsn: u64,
        end_lsn: u64,
        /// Commit time, microseconds since the Unix epoch.
        commit_time: i64,
    },
    Origin {
        lsn: u64,
        name: String,
    },
    Relation(Relation),
    Type {
        oid: u32,
        namespace: String,
        name: String,
    },
    Insert {
        relation: u32,
        new: Tuple,
    },
    Update {
        relation: u32,
        /// The old key (`K`) or the whole old row (`O`, replica identity full), when sent.
        old: Option<Tuple>,
        new: Tuple,
    },
    Delete {
        relation: u32,
        old: Tuple,
    },
    Truncate {
        cascade: bool,
        restart_identity: bool,
        relations: Vec<u32>,
    },
    Message {
        transactional: bool,
        lsn: u64,
        prefix: String,
        content: Vec<u8>,
    },
}

/// A relation as the publisher describes it before its first change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub oid: u32,
    pub namespace: String,
    pub name: String,
    /// `d` default, `n` nothing, `f` full, `i` index.
    pub replica_identity: u8,
    pub columns: Vec<Column>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Part of the replica identity key.
    pub key: bool,
    pub name: String,
    pub type_oid: u32,
    pub type_modifier: i32,
}

/// One column's value in a tuple.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Null,
    /// An unchanged TOAST value (not sent: the row keeps what it had).
    Unchanged,
    /// The value in PostgreSQL's text format.
    Text(Vec<u8>),
}

pub type Tuple = Vec<Value>;

fn bad(what: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Integrity,
        format!("malformed pgoutput message: {what}"),
    )
}

/// A bounded reader over one message's bytes.
struct Cursor<'a> {
    buf: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(bad(format_args!("{what} runs past the end")));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }
    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    /// A PostgreSQL timestamp (µs since 2000-01-01) as µs since the Unix epoch.
    fn time(&mut self, what: &str) -> Result<i64> {
        let pg = self.u64(what)? as i64;
        pg.checked_add(PG_EPOCH_UNIX_MICROS)
            .ok_or_else(|| bad(format_args!("{what} out of range")))
    }
    /// A NUL-terminated string, UTF-8.
    fn string(&mut self, what: &str) -> Result<String> {
        let end = self
            .buf
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| bad(format_args!("{what} is not terminated")))?;
        let s = std::str::from_utf8(&self.buf[..end])
            .map_err(|_| bad(format_args!("{what} is not UTF-8")))?
            .to_string();
        self.buf = &self.buf[end + 1..];
        Ok(s)
    }
    fn count(&mut self, what: &str) -> Result<usize> {
        let n = self.u16(what)? as usize;
        if n > MAX_COLUMNS {
            return Err(bad(format_args!("{what} {n} exceeds {MAX_COLUMNS}")));
        }
        Ok(n)
    }
    fn tuple(&mut self) -> Result<Tuple> {
        let n = self.count("tuple column count")?;
        let mut out = Vec::with_capacity(n.min(self.buf.len()));
        for _ in 0..n {
            out.push(match self.u8("column kind")? {
                b'n' => Value::Null,
                b'u' => Value::Unchanged,
                b't' => {
                    let len = self.u32("text length")? as usize;
                    Value::Text(self.take(len, "text value")?.to_vec())
                }
                b'b' => return Err(bad("binary column values were not asked for")),
                k => return Err(bad(format_args!("unknown column kind {k:#04x}"))),
            });
        }
        Ok(out)
    }
    fn done(&self, what: &str) -> Result<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(bad(format_args!(
                "{} trailing bytes after {what}",
                self.buf.len()
            )))
        }
    }
}

/// Decode one message.
pub fn decode(bytes: &[u8]) -> Result<Message> {
    let mut c = Cursor { buf: bytes };
    let tag = c.u8("message type")?;
    let m = match tag {
        b'B' => Message::Begin {
            final_lsn: c.u64("begin lsn")?,
            commit_time: c.time("begin time")?,
            xid: c.u32("begin xid")?,
        },
        b'C' => Message::Commit {
            flags: c.u8("commit flags")?,
            commit_lsn: c.u64("commit lsn")?,
            end_lsn: c.u64("commit end lsn")?,
            commit_time: c.time("commit time")?,
        },
        b'O' => Message::Origin {
            lsn: c.u64("origin lsn")?,
            name: c.string("origin name")?,
        },
        b'R' => Message::Relation(relation(&mut c)?),
        b'Y' => Message::Type {
            oid: c.u32("type oid")?,
            namespace: c.string("type namespace")?,
            name: c.string("type name")?,
        },
        b'I' => {
            let relation = c.u32("insert relation")?;
            if c.u8("insert tuple marker")? != b'N' {
                return Err(bad("insert without a new tuple"));
            }
            Message::Insert {
                relation,
                new: c.tuple()?,
            }
        }
        b'U' => {
            let relation = c.u32("update relation")?;
            let (old, marker) = match c.u8("update tuple marker")? {
                b'K' | b'O' => {
                    let old = c.tuple()?;
                    (Some(old), c.u8("update tuple marker")?)
                }
                m => (None, m),
            };
            if marker != b'N' {
                return Err(bad("update without a new tuple"));
            }
            Message::Update {
                relation,
                old,
                new: c.tuple()?,
            }
        }
        b'D' => {
            let relation = c.u32("delete relation")?;
            if !matches!(c.u8("delete tuple marker")?, b'K' | b'O') {
                return Err(bad("delete without an old tuple"));
            }
            Message::Delete {
                relation,
                old: c.tuple()?,
            }
        }
        b'T' => {
            let n = c.u32("truncate relation count")? as usize;
            let options = c.u8("truncate options")?;
            if n > c.buf.len() / 4 {
                return Err(bad("truncate relation count runs past the end"));
            }
            let mut relations = Vec::with_capacity(n);
            for _ in 0..n {
                relations.push(c.u32("truncate relation")?);
            }
            Message::Truncate {
                cascade: options & 1 != 0,
                restart_identity: options & 2 != 0,
                relations,
            }
        }
        b'M' => {
            let flags = c.u8("message flags")?;
            let lsn = c.u64("message lsn")?;
            let prefix = c.string("message prefix")?;
            let len = c.u32("message length")? as usize;
            Message::Message {
                transactional: flags & 1 != 0,
                lsn,
                prefix,
                content: c.take(len, "message content")?.to_vec(),
            }
        }
        t => return Err(bad(format_args!("unknown message type {t:#04x}"))),
    };
    c.done("the message")?;
    Ok(m)
}

fn relation(c: &mut Cursor<'_>) -> Result<Relation> {
    let oid = c.u32("relation oid")?;
    let namespace = c.string("relation namespace")?;
    let name = c.string("relation name")?;
    let replica_identity = c.u8("replica identity")?;
    let n = c.count("relation column count")?;
    let mut columns = Vec::with_capacity(n.min(c.buf.len() / 10));
    for _ in 0..n {
        let flags = c.u8("column flags")?;
        columns.push(Column {
            key: flags & 1 != 0,
            name: c.string("column name")?,
            type_oid: c.u32("column type")?,
            type_modifier: c.u32("column type modifier")? as i32,
        });
    }
    Ok(Relation {
        oid,
        namespace,
        name,
        replica_identity,
        columns,
    })
}

/// Encode a message the way PostgreSQL does (tests, and segments written by hand in tests).
pub fn encode(m: &Message) -> Vec<u8> {
    let mut b = Vec::new();
    let time = |t: i64| ((t - PG_EPOCH_UNIX_MICROS) as u64).to_be_bytes();
    let string = |b: &mut Vec<u8>, s: &str| {
        b.extend_from_slice(s.as_bytes());
        b.push(0);
    };
    let tuple = |b: &mut Vec<u8>, t: &Tuple| {
        b.extend_from_slice(&(t.len() as u16).to_be_bytes());
        for v in t {
            match v {
                Value::Null => b.push(b'n'),
                Value::Unchanged => b.push(b'u'),
                Value::Text(x) => {
                    b.push(b't');
                    b.extend_from_slice(&(x.len() as u32).to_be_bytes());
                    b.extend_from_slice(x);
                }
            }
        }
    };
    match m {
        Message::Begin {
            final_lsn,
            commit_time,
            xid,
        } => {
            b.push(b'B');
            b.extend_from_slice(&final_lsn.to_be_bytes());
            b.extend_from_slice(&time(*commit_time));
            b.extend_from_slice(&xid.to_be_bytes());
        }
        Message::Commit {
            flags,
            commit_lsn,
            end_lsn,
            commit_time,
        } => {
            b.push(b'C');
            b.push(*flags);
            b.extend_from_slice(&commit_lsn.to_be_bytes());
            b.extend_from_slice(&end_lsn.to_be_bytes());
            b.extend_from_slice(&time(*commit_time));
        }
        Message::Origin { lsn, name } => {
            b.push(b'O');
            b.extend_from_slice(&lsn.to_be_bytes());
            string(&mut b, name);
        }
        Message::Relation(r) => {
            b.push(b'R');
            b.extend_from_slice(&r.oid.to_be_bytes());
            string(&mut b, &r.namespace);
            string(&mut b, &r.name);
            b.push(r.replica_identity);
            b.extend_from_slice(&(r.columns.len() as u16).to_be_bytes());
            for col in &r.columns {
                b.push(u8::from(col.key));
                string(&mut b, &col.name);
                b.extend_from_slice(&col.type_oid.to_be_bytes());
                b.extend_from_slice(&col.type_modifier.to_be_bytes());
            }
        }
        Message::Type {
            oid,
            namespace,
            name,
        } => {
            b.push(b'Y');
            b.extend_from_slice(&oid.to_be_bytes());
            string(&mut b, namespace);
            string(&mut b, name);
        }
        Message::Insert { relation, new } => {
            b.push(b'I');
            b.extend_from_slice(&relation.to_be_bytes());
            b.push(b'N');
            tuple(&mut b, new);
        }
        Message::Update { relation, old, new } => {
            b.push(b'U');
            b.extend_from_slice(&relation.to_be_bytes());
            if let Some(old) = old {
                b.push(b'O');
                tuple(&mut b, old);
            }
            b.push(b'N');
            tuple(&mut b, new);
        }
        Message::Delete { relation, old } => {
            b.push(b'D');
            b.extend_from_slice(&relation.to_be_bytes());
            b.push(b'K');
            tuple(&mut b, old);
        }
        Message::Truncate {
            cascade,
            restart_identity,
            relations,
        } => {
            b.push(b'T');
            b.extend_from_slice(&(relations.len() as u32).to_be_bytes());
            b.push(u8::from(*cascade) | (u8::from(*restart_identity) << 1));
            for r in relations {
                b.extend_from_slice(&r.to_be_bytes());
            }
        }
        Message::Message {
            transactional,
            lsn,
            prefix,
            content,
        } => {
            b.push(b'M');
            b.push(u8::from(*transactional));
            b.extend_from_slice(&lsn.to_be_bytes());
            string(&mut b, prefix);
            b.extend_from_slice(&(content.len() as u32).to_be_bytes());
            b.extend_from_slice(content);
        }
    }
    b
}
