//! Selective restore: chosen schemas or tables of a backup (their data, their definitions, or
//! both), into the original database, another one, or a side schema — with what hangs on the
//! tables (indexes, constraints, triggers, policies, sequences, comments, privileges, partitions)
//! and what they need that the target lacks (types, domains, functions, collations), and the
//! dependencies that would break named before anything runs.
//!
//! Decided over the backup's table of contents and its dependencies ([`FullToc`]); the result is
//! the set of entries to restore. Into a side schema, the selection (from one schema, `S`) is
//! restored under `S`'s own name in a fresh schema while the real `S` is renamed aside for the
//! length of the transaction, then the fresh one is renamed to the side name: pg_dump's SQL
//! qualifies every name, so this is the only way to move it without rewriting SQL.

use super::plan::DETAILS;
use super::toc::{take_ident, FullToc, Item};
use crate::error::{Error, ErrorKind, Result};
use crate::postgres::restore::quote_ident;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What of the selected objects is restored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum SelectWhat {
    /// Definitions and rows.
    #[default]
    Both,
    /// Rows only, into the target's existing tables.
    Data,
    /// Definitions only, no rows.
    Schema,
}

/// A choice of what to restore. Empty: the whole backup.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Selection {
    /// Whole schemas.
    #[serde(default)]
    pub schemas: Vec<String>,
    /// Tables, `schema.table` or `table` (in `public`).
    #[serde(default)]
    pub tables: Vec<String>,
    #[serde(default)]
    pub what: SelectWhat,
    /// Restore into this new schema instead of the original one (tables of one schema only).
    #[serde(default)]
    pub into_schema: Option<String>,
}

impl Selection {
    pub fn is_whole(&self) -> bool {
        self.schemas.is_empty() && self.tables.is_empty()
    }
}

/// The selection as the plan shows it.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SelectionPlan {
    /// Tables restored (`schema.table`, as in the backup).
    pub tables: Vec<String>,
    pub what: SelectWhat,
    /// The schema restored into, when not the original.
    pub into_schema: Option<String>,
    /// Objects the selection needs that the target lacks, restored with it.
    pub dependencies: Vec<String>,
    /// Dependencies that need care: foreign keys kept or added back, views over restored
    /// tables that are not restored.
    pub notes: Vec<String>,
    /// Foreign keys of restored tables left out because the tables they reference are not
    /// restored (the restored table will not check those rows exist).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub left_out_keys: Vec<LeftOutKey>,
}

/// A foreign key left out of a selective restore: `table` will not check that its rows in
/// `references` exist.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LeftOutKey {
    /// The restored table whose key is left out (`public.orders`, as in the backup).
    pub table: String,
    /// The constraint's name (`orders_customer_id_fkey`).
    pub constraint: String,
    /// The referenced tables that are not restored (`public.customers`).
    pub references: Vec<String>,
}

impl LeftOutKey {
    /// In words: "public.orders will not check that its customers exist, because
    /// public.customers is not restored (foreign key orders_customer_id_fkey)." — what the
    /// command line prints; the window says the sentence and keeps the constraint behind
    /// Details.
    pub fn sentence(&self) -> String {
        let names: Vec<&str> = self
            .references
            .iter()
            .map(|r| r.rsplit_once('.').map_or(r.as_str(), |(_, t)| t))
            .collect();
        let verb = if self.references.len() == 1 {
            "is"
        } else {
            "are"
        };
        format!(
            "{} will not check that its {} exist, because {} {verb} not restored (foreign key {}).",
            self.table,
            and_list(&names),
            and_list(
                &self
                    .references
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
            ),
            self.constraint
        )
    }
}

fn and_list(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The outcome: which entries are restored, and the SQL around them (side schema).
#[derive(Debug, Clone, Default)]
pub(crate) struct Selected {
    pub include: BTreeSet<usize>,
    pub plan: SelectionPlan,
    /// `(schema, table)` of the selected tables as the backup names them.
    pub tables: BTreeSet<(String, String)>,
    /// Side schema: the original schema.
    pub from_schema: Option<String>,
    pub before: Vec<String>,
    pub after: Vec<String>,
    pub blockers: Vec<String>,
}

/// What the target has, for the selection: `(schema, name)` of its relations, types, routines
/// (name with argument types), collations; its schemas and extensions.
#[derive(Debug, Clone, Default)]
pub(crate) struct TargetNames {
    pub relations: BTreeSet<(String, String)>,
    pub types: BTreeSet<(String, String)>,
    pub routines: BTreeSet<(String, String)>,
    pub collations: BTreeSet<(String, String)>,
    pub schemas: BTreeSet<String>,
    pub extensions: BTreeSet<String>,
    pub publications: BTreeSet<String>,
}

impl TargetNames {
    fn has(&self, it: &Item) -> bool {
        let key = (it.schema.clone(), it.tag.clone());
        match it.desc {
            "TABLE" | "VIEW" | "MATERIALIZED VIEW" | "SEQUENCE" | "FOREIGN TABLE" => {
                self.relations.contains(&key)
            }
            "TYPE" | "DOMAIN" | "SHELL TYPE" => self.types.contains(&key),
            "FUNCTION" | "PROCEDURE" | "AGGREGATE" => self.routines.contains(&key),
            "COLLATION" => self.collations.contains(&key),
            "SCHEMA" => self.schemas.contains(&it.tag),
            "EXTENSION" => self.extensions.contains(&it.tag),
            _ => false,
        }
    }
}

/// Read [`TargetNames`] from the target.
pub(crate) async fn read_names(
    conn: &mut sqlx::postgres::PgConnection,
    spec: &crate::postgres::conn::ConnSpec,
) -> Result<TargetNames> {
    use sqlx::Row;
    let e = |e| spec.map_sqlx(e);
    let pairs = |rows: Vec<sqlx::postgres::PgRow>| -> BTreeSet<(String, String)> {
        rows.into_iter().map(|r| (r.get(0), r.get(1))).collect()
    };
    let relations = pairs(
        sqlx::query("SELECT n.nspname::text, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p','v','m','S','f')")
            .fetch_all(&mut *conn)
            .await
            .map_err(e)?,
    );
    let types = pairs(
        sqlx::query("SELECT n.nspname::text, t.typname::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace")
            .fetch_all(&mut *conn)
            .await
            .map_err(e)?,
    );
    let collations = pairs(
        sqlx::query("SELECT n.nspname::text, c.collname::text FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace")
            .fetch_all(&mut *conn)
            .await
            .map_err(e)?,
    );
    let mut t = TargetNames {
        relations,
        types,
        collations,
        ..Default::default()
    };
    sqlx::query("SELECT pg_catalog.set_config('search_path', '', false)")
        .execute(&mut *conn)
        .await
        .map_err(e)?;
    t.routines = pairs(
        sqlx::query("SELECT n.nspname::text, p.proname || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')' FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog','information_schema')")
            .fetch_all(&mut *conn)
            .await
            .map_err(e)?,
    );
    sqlx::query("SELECT pg_catalog.set_config('search_path', $1, false)")
        .bind(crate::postgres::conn::FIXED_SEARCH_PATH)
        .execute(&mut *conn)
        .await
        .map_err(e)?;
    for (sql, into) in [
        ("SELECT nspname::text FROM pg_namespace", &mut t.schemas),
        ("SELECT extname::text FROM pg_extension", &mut t.extensions),
        (
            "SELECT pubname::text FROM pg_publication",
            &mut t.publications,
        ),
    ] {
        *into = sqlx::query_scalar::<_, String>(sql)
            .fetch_all(&mut *conn)
            .await
            .map_err(e)?
            .into_iter()
            .collect();
    }
    Ok(t)
}

/// Kinds that belong to the table they depend on.
const ATTACHED: &[&str] = &[
    "INDEX",
    "CONSTRAINT",
    "CHECK CONSTRAINT",
    "TRIGGER",
    "POLICY",
    "ROW SECURITY",
    "DEFAULT",
    "RULE",
    "COMMENT",
    "ACL",
    "SECURITY LABEL",
    "SEQUENCE",
    "SEQUENCE OWNED BY",
    "TABLE ATTACH",
    "INDEX ATTACH",
    "STATISTICS",
];

/// Kinds a selected object may need from elsewhere in the backup.
const NEEDED: &[&str] = &[
    "TYPE",
    "DOMAIN",
    "SHELL TYPE",
    "FUNCTION",
    "PROCEDURE",
    "AGGREGATE",
    "COLLATION",
    "SCHEMA",
    "EXTENSION",
    "SEQUENCE",
    "TEXT SEARCH CONFIGURATION",
    "TEXT SEARCH DICTIONARY",
    "OPERATOR",
    "OPERATOR CLASS",
    "OPERATOR FAMILY",
    "CONVERSION",
];

/// Session settings every restore keeps.
const ALWAYS: &[&str] = &[
    "ENCODING",
    "STDSTRINGS",
    "SEARCHPATH",
    "DATABASE PROPERTIES",
];

/// `schema.table` (quoted parts allowed) or `table` (in `public`).
pub(crate) fn parse_table(s: &str) -> Result<(String, String)> {
    let bad = || {
        Error::new(
            ErrorKind::InvalidInput,
            format!("{s:?} is not a table name: write schema.table (or table, for public)"),
        )
    };
    let (first, rest) = take_ident(s.trim()).ok_or_else(bad)?;
    if rest.is_empty() {
        return Ok(("public".into(), first));
    }
    let rest = rest.strip_prefix('.').ok_or_else(bad)?;
    let (second, rest) = take_ident(rest).ok_or_else(bad)?;
    if !rest.is_empty() {
        return Err(bad());
    }
    Ok((first, second))
}

/// Decide what the selection restores. `target` is what the target has.
pub(crate) fn select(toc: &FullToc, sel: &Selection, target: &TargetNames) -> Result<Selected> {
    let items = &toc.items;
    let cx = Cx {
        items,
        by_id: toc.by_id(),
        table_items: items
            .iter()
            .enumerate()
            .filter(|(_, i)| i.desc == "TABLE")
            .map(|(n, i)| ((i.schema.clone(), i.tag.clone()), n))
            .collect(),
        sel,
        target,
    };
    let mut out = Selected {
        plan: SelectionPlan {
            what: sel.what,
            into_schema: sel.into_schema.clone(),
            ..Default::default()
        },
        ..Default::default()
    };
    let mut inc = cx.roots(toc)?;
    cx.attach_what_hangs_on(&mut inc);
    let selected_tables = cx.tables_in(&inc);
    cx.check_side_schema(&selected_tables, &mut out)?;
    cx.foreign_keys(&selected_tables, &mut inc, &mut out);
    cx.views_over(&selected_tables, &inc, &mut out);
    if sel.what != SelectWhat::Data {
        cx.needed(&mut inc, &mut out);
    }
    cx.rows_or_definitions(&selected_tables, &mut inc, &mut out);
    if let (Some(side), Some(from)) = (&sel.into_schema, &out.from_schema) {
        let (before, after) = side_schema_sql(side, from, target.schemas.contains(from));
        out.before.extend(before);
        out.after.extend(after);
    }
    out.plan.tables = selected_tables
        .iter()
        .map(|(s, t)| format!("{s}.{t}"))
        .collect();
    out.plan.dependencies.sort();
    out.plan.dependencies.dedup();
    out.tables = selected_tables;
    out.include = inc.iter().map(|n| items[*n].line).collect();
    Ok(out)
}

/// What [`select`] decides over: the backup's entries and the choice.
struct Cx<'a> {
    items: &'a [Item],
    by_id: HashMap<i32, usize>,
    /// `(schema, table)` of the backup's tables, to their entry.
    table_items: BTreeMap<(String, String), usize>,
    sel: &'a Selection,
    target: &'a TargetNames,
}

impl Cx<'_> {
    /// `(schema, name)` of the entries of `inc` of kind `desc`.
    fn keys_of(&self, inc: &BTreeSet<usize>, desc: &str) -> BTreeSet<(String, String)> {
        inc.iter()
            .filter(|n| self.items[**n].desc == desc)
            .map(|n| (self.items[*n].schema.clone(), self.items[*n].tag.clone()))
            .collect()
    }

    fn tables_in(&self, inc: &BTreeSet<usize>) -> BTreeSet<(String, String)> {
        self.keys_of(inc, "TABLE")
    }

    /// The roots: the entries of the chosen schemas and the chosen tables.
    fn roots(&self, toc: &FullToc) -> Result<BTreeSet<usize>> {
        let mut inc = BTreeSet::new();
        let mut schemas: BTreeSet<String> = BTreeSet::new();
        for s in &self.sel.schemas {
            let known = self
                .items
                .iter()
                .any(|i| i.schema == *s || (i.desc == "SCHEMA" && i.tag == *s));
            if !known {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("the backup has no schema {s:?}"),
                )
                .with_hint(format!("schemas in the backup: {}", list_schemas(toc))));
            }
            schemas.insert(s.clone());
        }
        for (n, it) in self.items.iter().enumerate() {
            let in_schema = schemas.contains(&it.schema)
                || (it.desc == "SCHEMA" && schemas.contains(&it.tag))
                || (it.schema == "-"
                    && it
                        .tag
                        .strip_prefix("SCHEMA ")
                        .and_then(take_ident)
                        .is_some_and(|(s, _)| schemas.contains(&s)));
            if in_schema {
                inc.insert(n);
            }
        }
        for t in &self.sel.tables {
            let key = parse_table(t)?;
            let Some(&n) = self.table_items.get(&key) else {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("the backup has no table {}.{}", key.0, key.1),
                )
                .with_hint(self.tables_hint(&key.0)));
            };
            inc.insert(n);
        }
        Ok(inc)
    }

    /// The backup's tables, those of `schema` when it has any, for an unknown table's hint.
    fn tables_hint(&self, schema: &str) -> String {
        let same: Vec<String> = self
            .table_items
            .keys()
            .filter(|(s, _)| *s == schema)
            .map(|(s, t)| format!("{s}.{t}"))
            .collect();
        if same.is_empty() {
            format!(
                "tables in the backup: {}",
                shorten(
                    self.table_items
                        .keys()
                        .map(|(s, t)| format!("{s}.{t}"))
                        .collect()
                )
            )
        } else {
            format!("tables of schema {schema} in the backup: {}", shorten(same))
        }
    }

    /// What hangs on the selected tables, and partitions of selected parents, until nothing
    /// more comes.
    fn attach_what_hangs_on(&self, inc: &mut BTreeSet<usize>) {
        let items = self.items;
        loop {
            let keys = self.tables_in(inc);
            let tables_in: BTreeSet<i32> = inc
                .iter()
                .filter(|n| {
                    matches!(
                        items[**n].desc,
                        "TABLE" | "SEQUENCE" | "VIEW" | "MATERIALIZED VIEW"
                    )
                })
                .map(|n| items[*n].id)
                .collect();
            let before = inc.len();
            for (n, it) in items.iter().enumerate() {
                if inc.contains(&n) {
                    continue;
                }
                let on_selected = it.deps.iter().any(|d| tables_in.contains(d))
                    && own_table(it).is_none_or(|t| keys.contains(&t));
                let attach = (ATTACHED.contains(&it.desc) && on_selected)
                    || (it.desc == "TABLE"
                        && on_selected
                        && it
                            .deps
                            .iter()
                            .any(|d| self.by_id.get(d).is_some_and(|&p| items[p].desc == "TABLE")));
                if attach {
                    inc.insert(n);
                }
            }
            if inc.len() == before {
                break;
            }
        }
    }

    /// Into a side schema: tables of one schema (`out.from_schema`), a side name the target
    /// does not have, definitions with the rows.
    fn check_side_schema(
        &self,
        selected_tables: &BTreeSet<(String, String)>,
        out: &mut Selected,
    ) -> Result<()> {
        let Some(side) = &self.sel.into_schema else {
            return Ok(());
        };
        let from: BTreeSet<&String> = selected_tables.iter().map(|(s, _)| s).collect();
        if from.len() != 1 {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "a side schema takes tables of one schema",
            )
            .with_hint("choose tables of one schema, or restore them under their own names"));
        }
        out.from_schema = from.into_iter().next().cloned();
        if self.target.schemas.contains(side) {
            out.blockers.push(format!(
                "the target already has a schema {side}: choose a new name for the side schema"
            ));
        }
        if self.sel.what == SelectWhat::Data {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "rows only cannot go into a side schema: it has no tables yet",
            ));
        }
        Ok(())
    }

    /// Foreign keys from selected tables, and into them: kept, left out or added back, each
    /// with a note.
    fn foreign_keys(
        &self,
        selected_tables: &BTreeSet<(String, String)>,
        inc: &mut BTreeSet<usize>,
        out: &mut Selected,
    ) {
        let (items, target, sel) = (self.items, self.target, self.sel);
        let side = sel.into_schema.is_some();
        for (n, it) in items.iter().enumerate() {
            if it.desc != "FK CONSTRAINT" {
                continue;
            }
            let Some(child) = table_of_constraint(it) else {
                continue;
            };
            let parents: BTreeSet<(String, String)> = it
                .deps
                .iter()
                .filter_map(|d| self.by_id.get(d).map(|&p| &items[p]))
                .filter_map(table_of_constraint)
                .filter(|t| *t != child)
                .collect();
            let child_in = selected_tables.contains(&child);
            let restored = restored_tables(selected_tables.len());
            let parent_in = parents.iter().all(|p| selected_tables.contains(p));
            let (cn, name) = (
                format!("{}.{}", child.0, child.1),
                it.tag.split_once(' ').map(|x| x.1).unwrap_or(&it.tag),
            );
            let parents_shown = parents
                .iter()
                .map(|(s, t)| format!("{s}.{t}"))
                .collect::<Vec<_>>()
                .join(", ");
            if child_in && !parent_in {
                let parents_exist = parents.iter().all(|p| target.relations.contains(p));
                if !side && parents_exist {
                    inc.insert(n);
                    // A plain sentence first, the constraint behind Details (issue 44).
                    out.plan.notes.push(format!(
                        "the table {cn} keeps its link to {parents_shown}, which {} not restored: the target's {parents_shown} must hold the rows it points to{DETAILS}foreign key {name} of {cn}",
                        if parents.len() == 1 { "is" } else { "are" }
                    ));
                } else {
                    inc.remove(&n);
                    out.plan.left_out_keys.push(LeftOutKey {
                        table: cn.clone(),
                        constraint: name.to_string(),
                        references: parents.iter().map(|(s, t)| format!("{s}.{t}")).collect(),
                    });
                }
            } else if !child_in && parents.iter().any(|p| selected_tables.contains(p)) {
                if !side && target.relations.contains(&child) && sel.what != SelectWhat::Data {
                    inc.insert(n);
                    out.plan.notes.push(format!(
                        "the table {cn} is not restored, but its link into the {restored} is added back: its rows must match them{DETAILS}foreign key {name} of {cn}"
                    ));
                } else if sel.what != SelectWhat::Data {
                    out.plan.notes.push(format!(
                        "the table {cn} is not restored, and its link into the {restored} is left out{DETAILS}foreign key {name} of {cn}"
                    ));
                }
            }
        }
    }

    /// Views over selected tables that are not selected: a note each.
    fn views_over(
        &self,
        selected_tables: &BTreeSet<(String, String)>,
        inc: &BTreeSet<usize>,
        out: &mut Selected,
    ) {
        let items = self.items;
        let side = self.sel.into_schema.is_some();
        let rel_ids: BTreeSet<i32> = selected_tables
            .iter()
            .filter_map(|k| self.table_items.get(k).map(|&n| items[n].id))
            .collect();
        for (n, it) in items.iter().enumerate() {
            if matches!(it.desc, "VIEW" | "MATERIALIZED VIEW")
                && !inc.contains(&n)
                && it.deps.iter().any(|d| rel_ids.contains(d))
            {
                out.plan.notes.push(format!(
                    "{} reads the {} and is not restored{}",
                    it.label(),
                    restored_tables(selected_tables.len()),
                    if !side { "; if the target has it, replacing the tables drops it (see what will be dropped)" } else { "" }
                ));
            }
        }
    }

    /// What the selection needs that the target lacks (into a side schema: everything of the
    /// original schema it needs, since the fresh schema holds nothing), with their comments
    /// and privileges.
    fn needed(&self, inc: &mut BTreeSet<usize>, out: &mut Selected) {
        let items = self.items;
        let from = out.from_schema.clone();
        let mut stack: Vec<usize> = inc.iter().copied().collect();
        while let Some(n) = stack.pop() {
            for d in &items[n].deps {
                let Some(&p) = self.by_id.get(d) else {
                    continue;
                };
                let dep = &items[p];
                if inc.contains(&p) || !NEEDED.contains(&dep.desc) {
                    continue;
                }
                let into_side = from.as_ref().is_some_and(|f| dep.schema == *f);
                if dep.desc == "SCHEMA" && from.as_ref().is_some_and(|f| dep.tag == *f) {
                    continue;
                }
                if into_side || !self.target.has(dep) {
                    inc.insert(p);
                    out.plan.dependencies.push(dep.label());
                    stack.push(p);
                }
            }
        }
        let ids: BTreeSet<i32> = inc.iter().map(|n| items[*n].id).collect();
        for (n, it) in items.iter().enumerate() {
            if matches!(it.desc, "COMMENT" | "ACL" | "SECURITY LABEL")
                && it.deps.iter().any(|d| ids.contains(d))
            {
                inc.insert(n);
            }
        }
    }

    /// Rows or definitions only; the session settings every restore keeps.
    fn rows_or_definitions(
        &self,
        selected_tables: &BTreeSet<(String, String)>,
        inc: &mut BTreeSet<usize>,
        out: &mut Selected,
    ) {
        let (items, what) = (self.items, self.sel.what);
        let sequences = self.keys_of(inc, "SEQUENCE");
        for (n, it) in items.iter().enumerate() {
            let key = (it.schema.clone(), it.tag.clone());
            let data = match it.desc {
                "TABLE DATA" => selected_tables.contains(&key),
                "SEQUENCE SET" => sequences.contains(&key),
                _ => false,
            };
            if data && what != SelectWhat::Schema {
                inc.insert(n);
            }
        }
        if what == SelectWhat::Data {
            inc.retain(|n| matches!(items[*n].desc, "TABLE DATA" | "SEQUENCE SET"));
            out.plan.dependencies.clear();
        }
        if self.sel.into_schema.is_some() {
            // The fresh schema is made by the restore itself.
            let from = out.from_schema.as_ref();
            inc.retain(|n| !(items[*n].desc == "SCHEMA" && Some(&items[*n].tag) == from));
        }
        for (n, it) in items.iter().enumerate() {
            if ALWAYS.contains(&it.desc) {
                inc.insert(n);
            }
        }
    }
}

/// The table a constraint, index or table entry belongs to.
fn table_of_constraint(it: &Item) -> Option<(String, String)> {
    match it.desc {
        "CONSTRAINT" | "FK CONSTRAINT" | "CHECK CONSTRAINT" => it
            .tag
            .split_once(' ')
            .map(|(t, _)| (it.schema.clone(), t.to_string())),
        "INDEX" => super::script::index_table(&it.sql),
        "TABLE" => Some((it.schema.clone(), it.tag.clone())),
        _ => None,
    }
}

/// The SQL around a restore into the side schema `side` of tables of `from`: the real `from`
/// (when the target has it) renamed aside, a fresh `from`, renamed to `side` at the end.
fn side_schema_sql(side: &str, from: &str, target_has_from: bool) -> (Vec<String>, Vec<String>) {
    let (mut before, mut after) = (Vec::new(), Vec::new());
    let aside = format!(
        "{from}_offsite_aside_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    if target_has_from {
        before.push(format!(
            "ALTER SCHEMA {} RENAME TO {};",
            quote_ident(from),
            quote_ident(&aside)
        ));
    }
    before.push(format!("CREATE SCHEMA {};", quote_ident(from)));
    after.push(format!(
        "ALTER SCHEMA {} RENAME TO {};",
        quote_ident(from),
        quote_ident(side)
    ));
    if target_has_from {
        after.push(format!(
            "ALTER SCHEMA {} RENAME TO {};",
            quote_ident(&aside),
            quote_ident(from)
        ));
    }
    (before, after)
}

/// The table an entry belongs to, for kinds bound to one table.
fn own_table(it: &Item) -> Option<(String, String)> {
    match it.desc {
        "CONSTRAINT" | "CHECK CONSTRAINT" | "TRIGGER" | "POLICY" | "RULE" | "DEFAULT" => it
            .tag
            .split_once(' ')
            .map(|(t, _)| (it.schema.clone(), t.to_string())),
        "ROW SECURITY" => Some((it.schema.clone(), it.tag.clone())),
        "INDEX" => super::script::index_table(&it.sql),
        _ => None,
    }
}

fn list_schemas(toc: &FullToc) -> String {
    let s: BTreeSet<&str> = toc
        .items
        .iter()
        .filter(|i| i.schema != "-")
        .map(|i| i.schema.as_str())
        .collect();
    s.into_iter().collect::<Vec<_>>().join(", ")
}

fn shorten(items: Vec<String>) -> String {
    if items.len() <= 30 {
        items.join(", ")
    } else {
        format!("{}, and {} more", items[..30].join(", "), items.len() - 30)
    }
}

/// "restored table" or "restored tables", as many as were selected.
fn restored_tables(n: usize) -> &'static str {
    if n == 1 {
        "restored table"
    } else {
        "restored tables"
    }
}

#[cfg(test)]
#[path = "select_tests.rs"]
mod tests;
