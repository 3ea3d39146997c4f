//! Each column's type, for display: taken from the dump's `CREATE TABLE` statement of the
//! table (its TOC entry's `defn`, see [`super::create_table`]), and for columns it does not
//! list, from the tables it inherits from or is a partition of and the composite type a typed
//! table is `OF`. A type that cannot be read this way is `None`, and a note says why.

use super::create_table::{parse_composite_type, parse_table, TableDef};
use crate::pgdump::TocEntry;
use std::collections::HashMap;

/// How far up inheritance is followed, and how many statements one table's types may read.
const MAX_DEPTH: usize = 8;
const MAX_VISITS: usize = 64;

/// Column types of one table, in the order of its columns.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct ColumnTypes {
    pub types: Vec<Option<String>>,
    /// Why some (or all) types are missing.
    pub note: Option<String>,
}

/// The dump's TABLE and TYPE statements by (schema, name).
pub(super) struct Definitions<'a> {
    tables: HashMap<(&'a str, &'a str), &'a str>,
    types: HashMap<(&'a str, &'a str), &'a str>,
}

/// What was found by name while collecting one table's columns.
struct Collect {
    found: HashMap<String, Option<String>>,
    visits: usize,
    /// The first reason something could not be read.
    problem: Option<String>,
}

impl<'a> Definitions<'a> {
    pub fn new(toc: &'a [TocEntry]) -> Self {
        let (mut tables, mut types) = (HashMap::new(), HashMap::new());
        for e in toc {
            let (Some(ns), Some(defn)) = (e.namespace.as_deref(), e.defn.as_deref()) else {
                continue;
            };
            match e.desc.as_str() {
                "TABLE" => tables.insert((ns, e.tag.as_str()), defn),
                "TYPE" => types.insert((ns, e.tag.as_str()), defn),
                _ => None,
            };
        }
        Definitions { tables, types }
    }

    /// The types of `schema.table`'s `columns` (named as its COPY statement names them).
    pub fn column_types(&self, schema: &str, table: &str, columns: &[String]) -> ColumnTypes {
        let mut c = Collect {
            found: HashMap::new(),
            visits: 0,
            problem: None,
        };
        self.collect(schema, table, false, 0, &mut c);
        let types: Vec<Option<String>> = columns
            .iter()
            .map(|n| c.found.get(n).cloned().flatten())
            .collect();
        let missing: Vec<&str> = columns
            .iter()
            .zip(&types)
            .filter(|(_, t)| t.is_none())
            .map(|(n, _)| n.as_str())
            .collect();
        let note = if missing.is_empty() {
            None
        } else {
            let why = c.problem.unwrap_or_else(|| {
                "the dump's CREATE TABLE statement does not give it".to_string()
            });
            Some(if missing.len() == columns.len() {
                format!("column types are not shown: {why}")
            } else {
                let mut names: Vec<String> =
                    missing.iter().take(5).map(|n| format!("{n:?}")).collect();
                if missing.len() > 5 {
                    names.push(format!("and {} more", missing.len() - 5));
                }
                format!("no type is shown for {}: {why}", names.join(", "))
            })
        };
        ColumnTypes { types, note }
    }

    fn collect(&self, schema: &str, name: &str, is_type: bool, depth: usize, c: &mut Collect) {
        c.visits += 1;
        if c.visits > MAX_VISITS || depth > MAX_DEPTH {
            c.problem
                .get_or_insert_with(|| "its tables inherit too deeply to follow".into());
            return;
        }
        let (what, map) = if is_type {
            ("TYPE", &self.types)
        } else {
            ("TABLE", &self.tables)
        };
        let shown = format!("{schema}.{name}");
        let Some(defn) = map.get(&(schema, name)) else {
            c.problem.get_or_insert_with(|| {
                format!("the dump has no CREATE {what} statement for {shown:?}")
            });
            return;
        };
        let parsed: Result<TableDef, String> = if is_type {
            parse_composite_type(defn)
        } else {
            parse_table(defn)
        };
        let def = match parsed {
            Ok(d) => d,
            Err(why) => {
                c.problem.get_or_insert_with(|| {
                    format!("the dump's CREATE {what} statement for {shown:?} could not be read ({why})")
                });
                return;
            }
        };
        for (col, ty) in def.columns {
            let slot = c.found.entry(col).or_insert(None);
            if slot.is_none() {
                *slot = ty;
            }
        }
        for (s, t) in &def.parents {
            self.collect(qualifier(s, schema), t, false, depth + 1, c);
        }
        if let Some((s, t)) = &def.of_type {
            self.collect(qualifier(s, schema), t, true, depth + 1, c);
        }
    }
}

/// A name given without a schema is taken to be in the table's own schema.
fn qualifier<'a>(given: &'a str, own: &'a str) -> &'a str {
    if given.is_empty() {
        own
    } else {
        given
    }
}
