//! The foreign keys a tenant's members can set (docs/tenants.md, "What a member can write").
//!
//! A foreign key is no proof that the row it points at belongs with the tenant: a member of
//! tenant A who may set `tasks.assignee` can point it at a user of tenant B, and a per-tenant
//! archive that takes every referenced row would then carry B's user (email, password hash)
//! into A's archive. Which columns a member can write is the owner's knowledge (their policies
//! and grants), so it is a per-tenant setting: a row that the tenant's rows reach *only*
//! through such a key is left out of the tenant's archive and counted; the key's value stays
//! in the tenant's row.

use super::schema::{parse_table_name, quote_ident, Schema};
use super::select::Graph;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The referencing side of a foreign key a tenant's members can set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MemberWrite {
    pub schema: String,
    pub table: String,
    /// The foreign key's referencing columns, in its order.
    pub columns: Vec<String>,
}

impl MemberWrite {
    /// `"schema"."table"("col", …)`, quoted, as `--member-writes` takes it back.
    pub fn label(&self) -> String {
        let cols: Vec<String> = self.columns.iter().map(|c| quote_ident(c)).collect();
        format!(
            "{}.{}({})",
            quote_ident(&self.schema),
            quote_ident(&self.table),
            cols.join(", ")
        )
    }
}

/// `SCHEMA.TABLE(COLUMN[, COLUMN…])` as written on a command line: the table as
/// [`parse_table_name`] reads it, each column bare (folded to lower case) or double-quoted.
pub fn parse_member_write(given: &str) -> Result<MemberWrite> {
    let bad = |why: &str| {
        Error::invalid(format!("{given:?} is not a foreign key's columns ({why})")).with_hint(
            "write SCHEMA.TABLE(COLUMN), the referencing side of a foreign key: \
             'public.tasks(assignee)'",
        )
    };
    let s = given.trim();
    let mut quoted = false;
    let open = s
        .char_indices()
        .find(|&(_, c)| {
            if c == '"' {
                quoted = !quoted;
            }
            c == '(' && !quoted
        })
        .map(|(i, _)| i)
        .ok_or_else(|| bad("no column list in parentheses"))?;
    let inner = s[open + 1..]
        .strip_suffix(')')
        .ok_or_else(|| bad("it does not end with ')'"))?;
    let (schema, table) = parse_table_name(&s[..open])?;
    let mut columns = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut col = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        col.push('"');
                    }
                    Some('"') => break,
                    Some(c) => col.push(c),
                    None => return Err(bad("a quote is not closed")),
                }
            }
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if c == '"' || c == '(' || c == ')' {
                    return Err(bad("a quote or parenthesis inside a bare column"));
                }
                col.push(c.to_ascii_lowercase());
                chars.next();
            }
            col = col.trim_end().to_string();
        }
        if col.is_empty() {
            return Err(bad("an empty column"));
        }
        columns.push(col);
        match chars.next() {
            None => break,
            Some(',') => continue,
            Some(_) => return Err(bad("text after a quoted column")),
        }
    }
    Ok(MemberWrite {
        schema,
        table,
        columns,
    })
}

/// Each `given` parsed and checked against the database: it is the referencing side of a
/// foreign key (its columns exactly, in order) of a table the tenant reaches (`tenant`'s
/// walk). Duplicates are kept once.
pub(super) fn check(schema: &Schema, tenant: &Graph, given: &[String]) -> Result<Vec<MemberWrite>> {
    let mut out: Vec<MemberWrite> = Vec::new();
    for g in given {
        let m = parse_member_write(g)?;
        let oid = schema.find(&m.schema, &m.table).ok_or_else(|| {
            Error::not_found(format!(
                "{}, a key the tenant's users set: the project's database has no table {}.{}",
                m.label(),
                quote_ident(&m.schema),
                quote_ident(&m.table)
            ))
        })?;
        if !tenant.nodes.iter().any(|n| n.oid == oid) {
            return Err(Error::invalid(format!(
                "{}, a key the tenant's users set: the tenant does not reach {}.{}",
                m.label(),
                quote_ident(&m.schema),
                quote_ident(&m.table)
            ))
            .with_hint("`offsite tenant show PROJECT NAME` lists the tables a tenant reaches"));
        }
        if !schema
            .foreign_keys
            .iter()
            .any(|f| f.child == oid && f.child_cols == m.columns)
        {
            let keys: Vec<String> = schema
                .foreign_keys
                .iter()
                .filter(|f| f.child == oid)
                .map(|f| {
                    let cols: Vec<String> = f.child_cols.iter().map(|c| quote_ident(c)).collect();
                    format!("({})", cols.join(", "))
                })
                .collect();
            return Err(Error::invalid(format!(
                "{}, a key the tenant's users set: no foreign key of {}.{} has exactly these columns",
                m.label(),
                quote_ident(&m.schema),
                quote_ident(&m.table)
            ))
            .with_hint(if keys.is_empty() {
                "the table has no foreign key".to_string()
            } else {
                format!("its foreign keys' columns: {}", keys.join(", "))
            }));
        }
        if !out.contains(&m) {
            out.push(m);
        }
    }
    Ok(out)
}

/// Marks the edges of `g` that `writes` name (their child's table and columns): the selection
/// does not take a parent row through them. Returns what names no foreign key of `g` now (the
/// database changed since the tenant was named), for the notes.
pub(super) fn mark(g: &mut Graph, writes: &[MemberWrite]) -> Vec<String> {
    let mut unknown = Vec::new();
    for m in writes {
        let mut found = false;
        for e in g.edges.iter_mut() {
            let c = &g.nodes[e.child];
            if c.schema == m.schema && c.name == m.table && e.child_cols == m.columns {
                e.member_writes = true;
                found = true;
            }
        }
        if !found {
            unknown.push(format!(
                "{}, a key the tenant's users set, names no foreign key the tenant's walk follows \
                 now: nothing is left out through it",
                m.label()
            ));
        }
    }
    unknown
}

#[cfg(test)]
mod tests {
    use super::parse_member_write;

    #[test]
    fn member_writes_parse_with_quotes_and_several_columns() {
        let p = |s: &str| {
            let m = parse_member_write(s).unwrap();
            (m.schema, m.table, m.columns)
        };
        assert_eq!(
            p("public.tasks(assignee)"),
            ("public".into(), "tasks".into(), vec!["assignee".into()])
        );
        assert_eq!(
            p(r#"Tasks( A , "B, ""c"")" )"#),
            (
                "public".into(),
                "tasks".into(),
                vec!["a".into(), r#"B, "c")"#.into()]
            )
        );
        assert_eq!(
            p(r#""odd(x".t(a,b)"#),
            ("odd(x".into(), "t".into(), vec!["a".into(), "b".into()])
        );
        for bad in [
            "tasks",
            "tasks()",
            "tasks(a,)",
            "tasks(a",
            "tasks(a) x",
            "(a)",
            "tasks(\"a)",
            "tasks(a b\")",
            "tasks(\"a\" b)",
        ] {
            assert!(parse_member_write(bad).is_err(), "{bad}");
        }
    }
}
