//! Which rows of the backup a recovery takes: the tables reached through foreign keys from the
//! chosen one ([`Graph`]), and each table's COPY data streamed from the dump and kept when its
//! key or its foreign key values fall in the sets already found ([`select`]).
//!
//! Key sets hold a 128-bit digest of each key (SHA-256 of its fields, cut), never the values,
//! within a memory bound: past it they spill to sorted runs on disk ([`super::keyset`]), so a
//! tenant of millions of rows takes no more memory than a small one. The rows themselves go
//! to spool files on disk, never to memory.

use super::chosen::Chosen;
use super::keyset::{self, KeySet, Pool};
use super::schema::{parse_table_name, quote_ident, Schema};
use super::{RecoverRows, TableRole};
use crate::browse::for_each_row_line;
use crate::error::{Error, ErrorKind, Result};
use crate::progress::Reporter;
use std::cell::OnceCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// A table taking part.
#[derive(Debug, Clone)]
pub(super) struct Node {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    pub role: TableRole,
    /// Foreign-key steps from the chosen table (children only).
    pub depth: u32,
    pub path: Vec<String>,
    /// The columns that identify a row.
    pub key: Vec<String>,
    /// The target's columns, with whether each is generated.
    pub target_cols: Vec<(String, bool)>,
}

impl Node {
    pub fn label(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

/// A foreign key between two tables taking part.
#[derive(Debug, Clone)]
pub(super) struct Edge {
    pub name: String,
    pub child: usize,
    pub parent: usize,
    pub child_cols: Vec<String>,
    /// Followed from parent to child (`--children`): away from the chosen table.
    pub downward: bool,
    /// Which of the parent's column sets `parent_cols` is.
    pub parent_set: usize,
    pub deferrable: bool,
    /// Every column of the child's side may be NULL.
    pub nullable: bool,
    /// A tenant's members can set it (a tenant's `--member-writes`): no parent row is taken
    /// through it (docs/tenants.md).
    pub member_writes: bool,
    /// A partition's key taken from its siblings ([`super::schema::ForeignKey::inferred`]):
    /// no constraint of the target, so no insert order waits on it.
    pub inferred: bool,
}

#[derive(Debug, Clone)]
pub(super) struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Per node: its distinct referenced column sets.
    pub col_sets: Vec<Vec<Vec<String>>>,
    pub notes: Vec<String>,
}

impl Graph {
    /// The tables a recovery of `rows` reads: the chosen one, its children (transitively, with
    /// `children`), and the parents of all of them (transitively). `in_dump` says which
    /// tables the backup has data for.
    pub fn build(
        schema: &Schema,
        rows: &RecoverRows,
        in_dump: &HashSet<(String, String)>,
    ) -> Result<Graph> {
        let (s, t) = parse_table_name(&rows.table)?;
        let root = schema.find(&s, &t).ok_or_else(|| {
            Error::not_found(format!(
                "the target has no table {}.{}",
                quote_ident(&s),
                quote_ident(&t)
            ))
            .with_hint("name it as SCHEMA.TABLE; quote a part with dots or capitals")
        })?;
        if !in_dump.contains(&(s.clone(), t.clone())) {
            let parts = schema.partitions_in(root, in_dump);
            if !parts.is_empty() {
                return Err(Error::invalid(format!(
                    "{s}.{t} is a partitioned table: the backup holds its rows in its \
                     partitions ({})",
                    parts.join(", ")
                ))
                .with_hint(format!(
                    "recover from each partition: --table {}",
                    parts.join(" (then) --table ")
                )));
            }
            return Err(
                Error::not_found(format!("the backup has no data for table {s}.{t}"))
                    .with_hint("`offsite browse ARCHIVE` lists the tables it has"),
            );
        }
        let mut g = Graph::reach(schema, root, rows.children, in_dump);
        g.set_keys(schema, rows)?;
        Ok(g)
    }

    /// The walk along the foreign keys, one for `recover --children` and tenants: from `root`,
    /// with `children` every table referencing a reached one (breadth first: its depth is
    /// the shortest chain of foreign keys from the root, and a key goes "down" from a table to
    /// a deeper one or to itself), then the parents of all of them, transitively. Tables the
    /// backup has no data for (`in_dump`) are left out with a note. No keys are set.
    pub(super) fn reach(
        schema: &Schema,
        root: u32,
        children: bool,
        in_dump: &HashSet<(String, String)>,
    ) -> Graph {
        let mut g = Graph {
            nodes: Vec::new(),
            edges: Vec::new(),
            col_sets: Vec::new(),
            notes: Vec::new(),
        };
        let mut index: HashMap<u32, usize> = HashMap::new();
        let add = |g: &mut Graph,
                   index: &mut HashMap<u32, usize>,
                   oid: u32,
                   role,
                   depth,
                   path: Vec<String>|
         -> usize {
            let tb = &schema.tables[&oid];
            g.nodes.push(Node {
                oid,
                schema: tb.schema.clone(),
                name: tb.name.clone(),
                role,
                depth,
                path,
                key: Vec::new(),
                target_cols: tb
                    .columns
                    .iter()
                    .map(|c| (c.name.clone(), c.generated))
                    .collect(),
            });
            index.insert(oid, g.nodes.len() - 1);
            g.nodes.len() - 1
        };
        add(&mut g, &mut index, root, TableRole::Chosen, 0, Vec::new());
        let in_dump_oid = |oid: u32| {
            let tb = &schema.tables[&oid];
            in_dump.contains(&(tb.schema.clone(), tb.name.clone()))
        };
        let step = |fk: &super::schema::ForeignKey| {
            let (c, p) = (&schema.tables[&fk.child], &schema.tables[&fk.parent]);
            format!(
                "{}({}) → {}({}){}",
                c.label(),
                fk.child_cols.join(", "),
                p.label(),
                fk.parent_cols.join(", "),
                if fk.inferred {
                    " (no foreign key: as its siblings')"
                } else {
                    ""
                }
            )
        };
        if children {
            let mut queue = VecDeque::from([root]);
            while let Some(p) = queue.pop_front() {
                let (pdepth, ppath) = {
                    let n = &g.nodes[index[&p]];
                    (n.depth, n.path.clone())
                };
                for fk in schema.foreign_keys.iter().filter(|f| f.parent == p) {
                    if index.contains_key(&fk.child) {
                        continue;
                    }
                    if !in_dump_oid(fk.child) {
                        g.notes.push(format!(
                            "{} references {} but the backup has no data for it: not read",
                            schema.tables[&fk.child].label(),
                            schema.tables[&p].label()
                        ));
                        continue;
                    }
                    let mut path = ppath.clone();
                    path.push(step(fk));
                    add(
                        &mut g,
                        &mut index,
                        fk.child,
                        TableRole::Child,
                        pdepth + 1,
                        path,
                    );
                    queue.push_back(fk.child);
                }
            }
        }
        // Parents of everything, transitively.
        let mut i = 0;
        while i < g.nodes.len() {
            let c = g.nodes[i].oid;
            let cpath = g.nodes[i].path.clone();
            for fk in schema.foreign_keys.iter().filter(|f| f.child == c) {
                if index.contains_key(&fk.parent) {
                    continue;
                }
                if !in_dump_oid(fk.parent) {
                    g.notes.push(format!(
                        "{} is referenced by {} but the backup has no data for it: the target \
                         must have the rows it needs",
                        schema.tables[&fk.parent].label(),
                        schema.tables[&c].label()
                    ));
                    continue;
                }
                let mut path = cpath.clone();
                path.push(step(fk));
                add(
                    &mut g,
                    &mut index,
                    fk.parent,
                    TableRole::Parent,
                    u32::MAX,
                    path,
                );
            }
            i += 1;
        }
        g.add_edges(schema, &index, children);
        g
    }

    /// The foreign keys between the tables taking part, and each table's referenced column sets.
    fn add_edges(&mut self, schema: &Schema, index: &HashMap<u32, usize>, children: bool) {
        self.col_sets = vec![Vec::new(); self.nodes.len()];
        for fk in &schema.foreign_keys {
            let (Some(&ci), Some(&pi)) = (index.get(&fk.child), index.get(&fk.parent)) else {
                continue;
            };
            let sets = &mut self.col_sets[pi];
            let parent_set = match sets.iter().position(|s| *s == fk.parent_cols) {
                Some(k) => k,
                None => {
                    sets.push(fk.parent_cols.clone());
                    sets.len() - 1
                }
            };
            let (cn, pn) = (&self.nodes[ci], &self.nodes[pi]);
            let downward = children
                && cn.role != TableRole::Parent
                && pn.role != TableRole::Parent
                && (ci == pi || cn.depth > pn.depth);
            let ct = &schema.tables[&fk.child];
            self.edges.push(Edge {
                name: fk.name.clone(),
                child: ci,
                parent: pi,
                child_cols: fk.child_cols.clone(),
                downward,
                parent_set,
                deferrable: fk.deferrable,
                nullable: fk
                    .child_cols
                    .iter()
                    .all(|c| ct.column(c).is_some_and(|c| !c.not_null)),
                member_writes: false,
                inferred: fk.inferred,
            });
        }
        self.note_inferred(schema);
    }

    /// One note per partitioned table, referenced table and columns that partitions reached
    /// here are linked by without a foreign key of their own, naming each partition.
    fn note_inferred(&mut self, schema: &Schema) {
        // (partitioned table, referenced node, columns, downward) → the partitions.
        type Group = (Option<u32>, usize, Vec<String>, bool);
        let mut groups: Vec<(Group, Vec<String>)> = Vec::new();
        for e in self.edges.iter().filter(|e| e.inferred) {
            let family = schema.tables[&self.nodes[e.child].oid].partition_of;
            let k = (family, e.parent, e.child_cols.clone(), e.downward);
            let label = self.nodes[e.child].label();
            match groups.iter_mut().find(|(g, _)| *g == k) {
                Some((_, parts)) => parts.push(label),
                None => groups.push((k, vec![label])),
            }
        }
        for ((family, parent, cols, downward), mut parts) in groups {
            parts.sort();
            let target = self.nodes[parent].label();
            let cols = cols.join(", ");
            let (who, has, its, their) = match parts.len() {
                1 => (parts[0].clone(), "has", "its", "its"),
                n => (
                    format!(
                        "{} ({n} partitions of {})",
                        parts.join(", "),
                        family.map_or_else(String::new, |f| schema.tables[&f].label())
                    ),
                    "have",
                    "their",
                    "their",
                ),
            };
            self.notes.push(if downward {
                format!(
                    "{who} {has} no foreign key to {target}; {its} rows with the same {cols} are \
                     taken as {their} siblings' are"
                )
            } else {
                format!(
                    "{who} {has} no foreign key to {target}; the {target} rows {its} rows name \
                     by {cols} are taken as {their} siblings' are"
                )
            });
        }
    }

    /// Each table's key: `--key-columns`, else its primary or unique key; a parent without
    /// one is identified by the columns referenced. A table without any is refused.
    fn set_keys(&mut self, schema: &Schema, rows: &RecoverRows) -> Result<()> {
        let mut given: HashMap<(String, String), Vec<String>> = HashMap::new();
        for k in &rows.key_columns {
            let name = parse_table_name(k.table.as_deref().unwrap_or(&rows.table))?;
            given.insert(name, k.columns.clone());
        }
        for (i, n) in self.nodes.iter_mut().enumerate() {
            let tb = &schema.tables[&n.oid];
            let key = given
                .remove(&(n.schema.clone(), n.name.clone()))
                .or_else(|| tb.key.clone())
                .or_else(|| {
                    (n.role == TableRole::Parent)
                        .then(|| self.col_sets[i].first().cloned())
                        .flatten()
                });
            let Some(key) = key else {
                return Err(Error::invalid(format!(
                    "table {} has no primary key or unique key: its rows cannot be matched \
                     with the target's",
                    n.label()
                ))
                .with_hint(format!(
                    "name the columns that identify its rows: --key-columns '{}.{}=COLUMN,COLUMN'",
                    quote_ident(&n.schema),
                    quote_ident(&n.name)
                )));
            };
            for c in &key {
                if tb.column(c).is_none() {
                    return Err(Error::invalid(format!(
                        "--key-columns: {} has no column {c:?}",
                        n.label()
                    )));
                }
            }
            n.key = key;
        }
        // Key columns of a table this recovery does not reach are not needed.
        Ok(())
    }
}

/// What was read: per table, its spool of chosen rows (COPY text lines, each ending in a
/// `t`/`f` field: chosen or child (`t`), needed as a parent only (`f`)) and the dump's columns.
#[derive(Debug, Default)]
pub(super) struct Selection {
    pub spools: Vec<Option<PathBuf>>,
    pub dump_cols: Vec<Vec<String>>,
    pub rows: Vec<u64>,
    pub rows_read: u64,
}

pub(super) type Key = u128;

/// The key of a row's fields (`None` if one is NULL): a 128-bit SipHash-1-3 of each field
/// with its length, under keys drawn at random once per process (so no value can be made to
/// collide with another, and the same within one process: a recovery and a tenant backup's
/// isolation check compare keys made by the same process).
pub(super) fn digest<'a>(fields: impl Iterator<Item = Option<&'a [u8]>>) -> Option<Key> {
    use siphasher::sip128::{Hasher128, SipHasher13};
    use std::hash::{BuildHasher, Hasher};
    static SEEDS: std::sync::OnceLock<(u64, u64)> = std::sync::OnceLock::new();
    let (k0, k1) = *SEEDS.get_or_init(|| {
        let s = std::hash::RandomState::new();
        (s.hash_one(0u8), s.hash_one(1u8))
    });
    let mut h = SipHasher13::new_with_keys(k0, k1);
    for f in fields {
        let f = f?;
        h.write_u64(f.len() as u64);
        h.write(f);
    }
    Some(h.finish128().as_u128())
}

/// The fields of a line of COPY text, as ranges, in a buffer used again for every line.
#[derive(Default)]
struct Fields(Vec<(usize, usize)>);

impl Fields {
    fn split(&mut self, line: &[u8]) {
        self.0.clear();
        let mut start = 0;
        for i in memchr::memchr_iter(b'\t', line) {
            self.0.push((start, i));
            start = i + 1;
        }
        self.0.push((start, line.len()));
    }

    /// Field `k` of `line` (`None` for NULL or past the end).
    fn get<'a>(&self, line: &'a [u8], k: usize) -> Option<&'a [u8]> {
        let &(a, b) = self.0.get(k)?;
        let f = &line[a..b];
        (f != b"\\N").then_some(f)
    }
}

struct State {
    dirty: bool,
    /// Per column set: digests of chosen/child rows (what children are matched against).
    sub: Vec<KeySet>,
    /// Per column set: digests parents must have (what parents are matched against).
    need: Vec<KeySet>,
    seen_sub: KeySet,
    /// This pass: the values of rows' references to their own table (a reply's parent) that
    /// did not match. A row chosen later whose key is among them means one more pass.
    pending_self: KeySet,
    seen_par: KeySet,
    spool: Option<BufWriter<std::fs::File>>,
    rows: u64,
}

impl State {
    fn new(pool: &Pool, col_sets: usize) -> State {
        State {
            dirty: false,
            sub: (0..col_sets).map(|_| KeySet::new(pool)).collect(),
            need: (0..col_sets).map(|_| KeySet::new(pool)).collect(),
            seen_sub: KeySet::new(pool),
            pending_self: KeySet::new(pool),
            seen_par: KeySet::new(pool),
            spool: None,
            rows: 0,
        }
    }
}

/// Column positions in the dump's rows of one table.
struct Positions {
    key: Vec<usize>,
    filters: Vec<(usize, Vec<u8>)>,
    /// Rows chosen one by one: the positions of their columns, and their keys' digests.
    keys: Option<(Vec<usize>, std::sync::Arc<HashSet<Key>>)>,
    /// Per edge where this table is the child: positions of its columns.
    as_child: Vec<(usize, Vec<usize>)>,
    /// Per column set of this table.
    sets: Vec<Vec<usize>>,
}

fn positions(g: &Graph, i: usize, chosen: &Chosen, cols: &[String]) -> Result<Positions> {
    let n = &g.nodes[i];
    for c in cols {
        match n.target_cols.iter().find(|(t, _)| t == c) {
            None => {
                return Err(Error::invalid(format!(
                    "column {c:?} of {} is in the backup but not in the target",
                    n.label()
                ))
                .with_hint("the target's table changed since the backup; recover into a database with the backup's columns"))
            }
            Some((_, true)) => {
                return Err(Error::invalid(format!(
                    "column {c:?} of {} holds data in the backup but is generated in the target",
                    n.label()
                )))
            }
            _ => {}
        }
    }
    let at = |c: &String| {
        cols.iter().position(|x| x == c).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("{} has no column {c:?} in the backup", n.label()),
            )
        })
    };
    let all = |v: &[String]| v.iter().map(at).collect::<Result<Vec<_>>>();
    Ok(Positions {
        key: all(&n.key)?,
        keys: match (&chosen.keys, i) {
            (Some(k), 0) => Some((all(&k.columns)?, k.set.clone())),
            _ => None,
        },
        filters: if i == 0 {
            chosen
                .filters
                .iter()
                .map(|f| Ok((at(&f.column)?, f.value.clone())))
                .collect::<Result<_>>()?
        } else {
            Vec::new()
        },
        as_child: g
            .edges
            .iter()
            .enumerate()
            .filter(|(_, e)| e.child == i)
            .map(|(k, e)| Ok((k, all(&e.child_cols)?)))
            .collect::<Result<_>>()?,
        sets: g.col_sets[i]
            .iter()
            .map(|s| all(s))
            .collect::<Result<_>>()?,
    })
}

/// Streams the tables of `g` from the archive until no new row is found (see the module's
/// description), spooling the chosen rows into `dir`.
pub(super) fn select(
    archive: &Path,
    g: &Graph,
    chosen: &Chosen,
    dir: &Path,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<Selection> {
    let pool = keyset::pool(dir);
    let mut states: Vec<State> = g
        .col_sets
        .iter()
        .map(|s| State::new(&pool, s.len()))
        .collect();
    states[0].dirty = true;
    let mut out = Selection {
        spools: vec![None; g.nodes.len()],
        dump_cols: vec![Vec::new(); g.nodes.len()],
        rows: vec![0; g.nodes.len()],
        rows_read: 0,
    };
    // Children by depth, then parents: one round mostly finds all.
    let mut scan_order: Vec<usize> = (0..g.nodes.len()).collect();
    scan_order.sort_by_key(|&i| g.nodes[i].depth);
    while let Some(i) = scan_order.iter().copied().find(|&i| states[i].dirty) {
        states[i].dirty = false;
        states[i].pending_self.clear();
        if states[i].spool.is_none() {
            let path = dir.join(format!("t{i}.copy"));
            let f = crate::private_fs::create_new(&path)
                .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
            states[i].spool = Some(BufWriter::with_capacity(256 << 10, f));
            out.spools[i] = Some(path);
        }
        let pos = OnceCell::new();
        let n = &g.nodes[i];
        let cols_seen = OnceCell::new();
        let (mut fields, mut unreported) = (Fields::default(), 0u64);
        let read = for_each_row_line(
            archive,
            &n.schema,
            &n.name,
            cancel,
            &mut |cols| {
                let p = positions(g, i, chosen, cols)?;
                let _ = pos.set(p);
                let _ = cols_seen.set(cols.to_vec());
                Ok(())
            },
            &mut |line| {
                // Progress by the 256 KiB: one lock and clock read per line cost as much as
                // reading the line.
                unreported += line.len() as u64 + 1;
                if unreported >= 256 << 10 {
                    reporter.advance(std::mem::take(&mut unreported));
                }
                let p = pos.get().expect("columns come first");
                take_row(g, i, p, line, &mut fields, &mut states)
            },
        )?;
        reporter.advance(unreported);
        out.rows_read += read;
        if let Some(c) = cols_seen.into_inner() {
            out.dump_cols[i] = c;
        }
    }
    for (i, s) in states.iter_mut().enumerate() {
        if let Some(mut w) = s.spool.take() {
            w.flush()
                .map_err(|e| Error::io("writing the recovery's rows", e))?;
        }
        out.rows[i] = s.rows;
    }
    Ok(out)
}

/// Decides one row of table `i`, spools it when chosen, and grows the sets it feeds.
fn take_row(
    g: &Graph,
    i: usize,
    p: &Positions,
    line: &[u8],
    fields: &mut Fields,
    states: &mut [State],
) -> Result<()> {
    fields.split(line);
    let fields = &*fields;
    let pick = |at: &[usize]| digest(at.iter().map(|&k| fields.get(line, k)));
    let mut sub = (!p.filters.is_empty() || p.keys.is_some())
        && p.filters
            .iter()
            .all(|(k, v)| fields.get(line, *k) == Some(v.as_slice()))
        && p.keys
            .as_ref()
            .is_none_or(|(at, set)| pick(at).is_some_and(|d| set.contains(&d)));
    if !sub {
        for (e, at) in &p.as_child {
            let e = &g.edges[*e];
            if let (true, Some(d)) = (e.downward, pick(at)) {
                if states[e.parent].sub[e.parent_set].contains(d)? {
                    sub = true;
                    break;
                }
            }
        }
    }
    if !sub {
        for (e, at) in &p.as_child {
            let e = &g.edges[*e];
            if e.downward && e.child == e.parent {
                if let Some(d) = pick(at) {
                    states[i].pending_self.insert(d)?;
                }
            }
        }
    }
    let mut par = false;
    if !sub {
        for (k, at) in p.sets.iter().enumerate() {
            if states[i].need[k].is_empty() {
                continue;
            }
            if let Some(d) = pick(at) {
                if states[i].need[k].contains(d)? {
                    par = true;
                    break;
                }
            }
        }
    }
    if !sub && !par {
        return Ok(());
    }
    let Some(key) = pick(&p.key) else {
        return Ok(()); // a NULL in the key (--key-columns): such a row cannot be matched
    };
    let s = &mut states[i];
    if sub {
        if !s.seen_sub.insert(key)? {
            return Ok(());
        }
    } else if s.seen_sub.contains(key)? || !s.seen_par.insert(key)? {
        return Ok(());
    }
    let w = s.spool.as_mut().expect("spool open");
    let flag: &[u8] = if sub { b"\tt\n" } else { b"\tf\n" };
    w.write_all(line)
        .and_then(|_| w.write_all(flag))
        .map_err(|e| Error::io("writing the recovery's rows", e))?;
    s.rows += 1;
    if sub {
        for (k, at) in p.sets.iter().enumerate() {
            let mut down = g
                .edges
                .iter()
                .filter(|e| e.downward && e.parent == i && e.parent_set == k)
                .peekable();
            if down.peek().is_none() {
                continue;
            }
            let Some(d) = pick(at) else { continue };
            if !states[i].sub[k].insert(d)? {
                continue;
            }
            for e in down {
                // Its own table: read again only if a row passed already refers to it.
                if e.child != i || states[i].pending_self.contains(d)? {
                    states[e.child].dirty = true;
                }
            }
        }
    }
    for (e, at) in &p.as_child {
        let e = &g.edges[*e];
        if e.member_writes {
            continue; // a member's choice is no reason to take the row it points at
        }
        if let Some(d) = pick(at) {
            let parent = &mut states[e.parent];
            if parent.sub[e.parent_set].contains(d)? {
                continue; // already taken as a chosen or child row
            }
            if parent.need[e.parent_set].insert(d)? {
                parent.dirty = true;
            }
        }
    }
    Ok(())
}
