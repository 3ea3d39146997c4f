//! A selective backup: which schemas and tables a database backup holds, and which tables it
//! keeps without their data (pg_dump's `-n`, `-N`, `-t`, `-T`, `--exclude-table-data`).
//!
//! Names are user input. Each is parsed as SQL writes it — `schema.table`, either part an
//! unquoted identifier (folded to lower case, letters, digits, `_` and `$`) or a double-quoted one
//! (`"My Schema"."Orders.2024"`, `""` for a quote) — and stored exactly. No patterns: pg_dump
//! gets every name double-quoted (`--table="public"."orders"`, one argv element, no shell), so
//! its pattern characters (`*`, `?`, `.`, regular-expression characters) match only themselves.
//! Control characters are refused even in quotes. Tables must be schema-qualified.
//!
//! pg_dump's rules, kept: `--table` chooses tables and nothing else (no functions, types or
//! extensions of their schemas), so it does not combine with `--schema`/`--exclude-schema`
//! here; `--schema` keeps a schema's objects but not the extensions they use. Chosen schemas
//! and tables must exist (`--strict-names`): a renamed table fails the backup instead of
//! silently leaving it out.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Names per list at most (a selection is a short, hand-written list).
pub const MAX_NAMES: usize = 200;

/// PostgreSQL's identifier limit (NAMEDATALEN − 1 bytes).
const MAX_IDENT_BYTES: usize = 63;

/// What a database backup holds, when not everything. Each name is stored as it parses back
/// (`public.logs`, `"My Schema".t`); the empty selection is the whole database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackupSelection {
    /// Only these schemas (`-n`); empty: every schema.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    /// Schemas left out (`-N`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_schemas: Vec<String>,
    /// Only these tables (`-t`, `schema.table`); empty: every table of the chosen schemas.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<String>,
    /// Tables left out (`-T`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_tables: Vec<String>,
    /// Tables kept without their rows (`--exclude-table-data`): restored empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_table_data: Vec<String>,
}

/// A schema-qualified table name, exact.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TableName {
    pub schema: String,
    pub table: String,
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{}",
            quote_ident(&self.schema),
            quote_ident(&self.table)
        )
    }
}

impl BackupSelection {
    /// The whole database.
    pub fn is_empty(&self) -> bool {
        *self == BackupSelection::default()
    }

    /// A selection from what the user typed: every name parsed and stored in its exact form.
    /// Refuses what pg_dump could not be given safely or exactly (see the module's text).
    pub fn parse(
        schemas: &[String],
        exclude_schemas: &[String],
        tables: &[String],
        exclude_tables: &[String],
        exclude_table_data: &[String],
    ) -> Result<BackupSelection> {
        let schema_list = |names: &[String]| -> Result<Vec<String>> {
            names
                .iter()
                .map(|n| parse_ident(n).map(|s| quote_ident(&s)))
                .collect()
        };
        let table_list = |names: &[String]| -> Result<Vec<String>> {
            names
                .iter()
                .map(|n| parse_table(n).map(|t| t.to_string()))
                .collect()
        };
        let s = BackupSelection {
            schemas: dedup(schema_list(schemas)?),
            exclude_schemas: dedup(schema_list(exclude_schemas)?),
            tables: dedup(table_list(tables)?),
            exclude_tables: dedup(table_list(exclude_tables)?),
            exclude_table_data: dedup(table_list(exclude_table_data)?),
        };
        s.validate()?;
        Ok(s)
    }

    /// Whether every name parses and the lists fit together (a stored or received selection is
    /// checked again before pg_dump sees it).
    pub fn validate(&self) -> Result<()> {
        for list in [
            &self.schemas,
            &self.exclude_schemas,
            &self.tables,
            &self.exclude_tables,
            &self.exclude_table_data,
        ] {
            if list.len() > MAX_NAMES {
                return Err(Error::invalid(format!(
                    "a selection lists at most {MAX_NAMES} names per kind"
                )));
            }
        }
        for s in self.schemas.iter().chain(&self.exclude_schemas) {
            parse_ident(s)?;
        }
        for t in self
            .tables
            .iter()
            .chain(&self.exclude_tables)
            .chain(&self.exclude_table_data)
        {
            parse_table(t)?;
        }
        let chooses_schemas = !self.schemas.is_empty() || !self.exclude_schemas.is_empty();
        if !self.tables.is_empty() && chooses_schemas {
            return Err(Error::invalid(
                "a selection of tables cannot also choose schemas: pg_dump's --table keeps only \
                 the tables named, whatever the schemas",
            )
            .with_hint("choose either tables (--table) or schemas (--schema/--exclude-schema)"));
        }
        Ok(())
    }

    /// pg_dump's arguments for this selection, each one argv element with its name
    /// double-quoted (matched literally). Empty for the whole database.
    pub fn pg_dump_args(&self) -> Result<Vec<String>> {
        self.validate()?;
        let mut args = Vec::new();
        for s in &self.schemas {
            args.push(format!("--schema={}", schema_pattern(&parse_ident(s)?)));
        }
        for s in &self.exclude_schemas {
            args.push(format!(
                "--exclude-schema={}",
                schema_pattern(&parse_ident(s)?)
            ));
        }
        for (flag, list) in [
            ("--table", &self.tables),
            ("--exclude-table", &self.exclude_tables),
            ("--exclude-table-data", &self.exclude_table_data),
        ] {
            for t in list {
                args.push(format!("{flag}={}", table_pattern(&parse_table(t)?)));
            }
        }
        if !self.schemas.is_empty() || !self.tables.is_empty() {
            args.push("--strict-names".to_string());
        }
        Ok(args)
    }

    /// Whether the backup holds table `schema.table` (its definition at least), by pg_dump's
    /// rules for the names it is given.
    pub fn holds_table(&self, schema: &str, table: &str) -> bool {
        let is = |list: &[String]| {
            list.iter()
                .filter_map(|t| parse_table(t).ok())
                .any(|t| t.schema == schema && t.table == table)
        };
        let schema_in = |list: &[String]| {
            list.iter()
                .filter_map(|s| parse_ident(s).ok())
                .any(|s| s == schema)
        };
        let chosen = if !self.tables.is_empty() {
            is(&self.tables)
        } else {
            (self.schemas.is_empty() || schema_in(&self.schemas))
                && !schema_in(&self.exclude_schemas)
        };
        chosen && !is(&self.exclude_tables)
    }

    /// Whether the backup holds the rows of `schema.table`.
    pub fn holds_data_of(&self, schema: &str, table: &str) -> bool {
        self.holds_table(schema, table)
            && !self
                .exclude_table_data
                .iter()
                .filter_map(|t| parse_table(t).ok())
                .any(|t| t.schema == schema && t.table == table)
    }

    /// One line per kind of choice, for `project show`, `inspect`, plans and drill reports:
    /// `only schemas: public`, `schemas left out: audit`, `data left out: public.logs`.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (what, list) in [
            ("only schemas", &self.schemas),
            ("schemas left out", &self.exclude_schemas),
            ("only tables", &self.tables),
            ("tables left out", &self.exclude_tables),
            (
                "data left out (tables restored empty)",
                &self.exclude_table_data,
            ),
        ] {
            if !list.is_empty() {
                out.push(format!("{what}: {}", list.join(", ")));
            }
        }
        out
    }

    /// `selective backup: schemas left out: audit; data left out …`, or `None` for the whole database.
    pub fn summary(&self) -> Option<String> {
        (!self.is_empty()).then(|| format!("selective backup: {}", self.lines().join("; ")))
    }
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    v.retain(|s| seen.insert(s.clone()));
    v
}

/// One identifier as SQL writes it: unquoted (folded to lower case; a letter or `_`, then
/// letters, digits, `_`, `$`) or double-quoted (`""` is a quote). The name, exact.
pub fn parse_ident(text: &str) -> Result<String> {
    no_control(text)?;
    let (name, rest) = ident_prefix(text.trim_matches(' '))?;
    if !rest.is_empty() {
        return Err(bad_name(text, "one name was expected"));
    }
    Ok(name)
}

/// `schema.table` (either part quoted or not).
pub fn parse_table(text: &str) -> Result<TableName> {
    no_control(text)?;
    let (schema, rest) = ident_prefix(text.trim_matches(' '))?;
    let Some(rest) = rest.strip_prefix('.') else {
        return Err(bad_name(text, "a table is written schema.table")
            .with_hint("name its schema: public.logs"));
    };
    let (table, rest) = ident_prefix(rest)?;
    if !rest.is_empty() {
        return Err(bad_name(text, "a table is written schema.table"));
    }
    Ok(TableName { schema, table })
}

/// Control characters (a newline, an escape) are refused anywhere, even around a name.
fn no_control(text: &str) -> Result<()> {
    if text.chars().any(char::is_control) {
        return Err(bad_name(text, "a name may not hold control characters"));
    }
    Ok(())
}

/// The identifier at the start of `text` and what follows it.
fn ident_prefix(text: &str) -> Result<(String, &str)> {
    if text.chars().any(char::is_control) {
        return Err(bad_name(text, "a name may not hold control characters"));
    }
    let name;
    let rest;
    if let Some(body) = text.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = body.char_indices().peekable();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if matches!(chars.peek(), Some((_, '"'))) {
                    chars.next();
                    out.push('"');
                } else {
                    end = Some(i + 1);
                    break;
                }
            } else {
                out.push(c);
            }
        }
        let Some(end) = end else {
            return Err(bad_name(text, "a quoted name is not closed"));
        };
        name = out;
        rest = &body[end..];
    } else {
        let len = text
            .char_indices()
            .find(|(i, c)| {
                let ok = c.is_ascii_alphabetic()
                    || *c == '_'
                    || (*i > 0 && (c.is_ascii_digit() || *c == '$'));
                !ok
            })
            .map_or(text.len(), |(i, _)| i);
        name = text[..len].to_ascii_lowercase();
        rest = &text[len..];
        if !rest.is_empty() && !rest.starts_with('.') {
            return Err(
                bad_name(text, "an unquoted name holds only letters, digits, _ and $").with_hint(
                    "double-quote a name with other characters: \"my schema\".\"my table\"",
                ),
            );
        }
    }
    if name.is_empty() {
        return Err(bad_name(text, "a name may not be empty"));
    }
    if name.len() > MAX_IDENT_BYTES {
        return Err(bad_name(text, "a name is at most 63 bytes"));
    }
    Ok((name, rest))
}

fn bad_name(text: &str, why: &str) -> Error {
    let shown: String = text.chars().take(80).collect();
    Error::invalid(format!("{shown:?} is not a schema or table name: {why}"))
}

/// `name` as SQL writes it: bare when it is a plain lower-case identifier, else double-quoted.
pub fn quote_ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain {
        name.to_string()
    } else {
        always_quoted(name)
    }
}

fn always_quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// pg_dump's pattern matching exactly schema `name`: double-quoted, so `*`, `?`, `.` and the
/// regular-expression characters are literal and the case is kept.
fn schema_pattern(name: &str) -> String {
    always_quoted(name)
}

/// pg_dump's pattern matching exactly the table `t`.
pub(crate) fn table_pattern(t: &TableName) -> String {
    format!("{}.{}", always_quoted(&t.schema), always_quoted(&t.table))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names_parse_as_sql_writes_them() {
        assert_eq!(parse_ident("Public").unwrap(), "public");
        assert_eq!(parse_ident("\"My \"\"S\"").unwrap(), "My \"S");
        let t = parse_table("\"a.b\".\"c*?\"").unwrap();
        assert_eq!((t.schema.as_str(), t.table.as_str()), ("a.b", "c*?"));
        assert_eq!(t.to_string(), "\"a.b\".\"c*?\"");
        assert_eq!(
            parse_table("public.logs").unwrap().to_string(),
            "public.logs"
        );
    }

    #[test]
    fn hostile_names_are_refused() {
        for bad in [
            "x; rm -rf /",
            "public.x; rm -rf",
            "\"a\".\"b",
            "public.\"a\nb\"",
            "public.a\n",
            "logs",
            "public.",
            "a.b.c",
            "public.*",
            "$(touch x).t",
            "",
            "\"\".t",
        ] {
            assert!(
                BackupSelection::parse(&[], &[], &[], &[], &v(&[bad])).is_err(),
                "{bad:?} was accepted"
            );
        }
        assert!(BackupSelection::parse(&v(&["a b"]), &[], &[], &[], &[]).is_err());
    }

    #[test]
    fn pg_dump_gets_each_name_quoted_in_one_argument() {
        let s = BackupSelection::parse(
            &[],
            &v(&["audit"]),
            &[],
            &v(&["\"x; rm -rf\".\"t\""]),
            &v(&["public.logs", "public.\"Big*Log\""]),
        )
        .unwrap();
        assert_eq!(
            s.pg_dump_args().unwrap(),
            v(&[
                "--exclude-schema=\"audit\"",
                "--exclude-table=\"x; rm -rf\".\"t\"",
                "--exclude-table-data=\"public\".\"logs\"",
                "--exclude-table-data=\"public\".\"Big*Log\"",
            ])
        );
        assert!(s.holds_table("public", "logs"));
        assert!(!s.holds_data_of("public", "logs"));
        assert!(s.holds_data_of("public", "orders"));
        assert!(!s.holds_table("audit", "events"));
        assert!(!s.holds_table("x; rm -rf", "t"));
        assert_eq!(
            s.lines(),
            v(&[
                "schemas left out: audit",
                "tables left out: \"x; rm -rf\".t",
                "data left out (tables restored empty): public.logs, public.\"Big*Log\""
            ])
        );
    }

    #[test]
    fn tables_and_schemas_do_not_mix_and_includes_are_strict() {
        assert!(BackupSelection::parse(&v(&["a"]), &[], &v(&["a.b"]), &[], &[]).is_err());
        let s = BackupSelection::parse(&[], &[], &v(&["a.b", "A.B"]), &[], &[]).unwrap();
        assert_eq!(s.tables, v(&["a.b"]));
        assert!(s
            .pg_dump_args()
            .unwrap()
            .contains(&"--strict-names".to_string()));
        assert!(s.holds_table("a", "b") && !s.holds_table("a", "c"));
        assert!(BackupSelection::default()
            .pg_dump_args()
            .unwrap()
            .is_empty());
    }
}
