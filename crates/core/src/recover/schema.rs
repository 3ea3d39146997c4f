//! What the target database says about its tables: columns (types, generated, identity),
//! keys, foreign keys and triggers, read from its catalogs with bound parameters only.

use crate::error::{Error, Result};
use sqlx::{PgConnection, Row};
use std::collections::{HashMap, HashSet};

/// One column of a target table.
#[derive(Debug, Clone)]
pub(super) struct Column {
    pub name: String,
    /// `format_type` of its type (PostgreSQL quotes what needs quoting).
    pub type_sql: String,
    pub not_null: bool,
    /// A generated column (left to the target).
    pub generated: bool,
    /// `GENERATED ALWAYS AS IDENTITY` (inserting it needs `OVERRIDING SYSTEM VALUE`).
    pub identity_always: bool,
}

/// One table of the target.
#[derive(Debug, Clone)]
pub(super) struct Table {
    pub schema: String,
    pub name: String,
    pub columns: Vec<Column>,
    /// The primary key, else the first unique key whose columns are all NOT NULL.
    pub key: Option<Vec<String>>,
    /// User triggers that are enabled (they fire on the recovery's writes).
    pub triggers: Vec<String>,
    /// A partition's partitioned table (its rows are dumped as the partition's).
    pub partition_of: Option<u32>,
}

impl Table {
    pub fn label(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
    /// `"schema"."table"`.
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }
}

/// A foreign key: `child(child_cols)` references `parent(parent_cols)`.
#[derive(Debug, Clone)]
pub(super) struct ForeignKey {
    pub name: String,
    pub child: u32,
    pub child_cols: Vec<String>,
    pub parent: u32,
    pub parent_cols: Vec<String>,
    pub deferrable: bool,
    /// Not a constraint of the target: a partition without a foreign key its siblings (or its
    /// partitioned table) have, given the same one ([`Schema::infer_partition_keys`]), so its
    /// rows are reached as theirs are. Nothing checks it and no order waits on it.
    pub inferred: bool,
}

/// The target's tables (by oid) and foreign keys.
#[derive(Debug, Default)]
pub(super) struct Schema {
    pub tables: HashMap<u32, Table>,
    pub foreign_keys: Vec<ForeignKey>,
}

/// `"name"` with inner quotes doubled.
pub(super) fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

const USER_TABLES: &str = "SELECT c.oid FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'";

/// For each of `cols` of `table` (`"schema"."table"`), the equality operator of its type's
/// default btree operator class (a domain's: its base type's), as `OPERATOR("schema".=)` — the
/// operator a key index on it uses, named with its own schema, as PostgreSQL's foreign-key
/// checks name theirs; `pg_catalog`'s `=` where the type has none (enums, arrays, composites
/// and ranges compare through `pg_catalog`'s polymorphic classes) or the operator's name is
/// not one an operator can have.
pub(super) async fn eq_ops(
    conn: &mut PgConnection,
    table: &str,
    cols: &[String],
) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT k.o::int8, n.nspname::text, o.oprname::text \
         FROM pg_catalog.unnest($2::text[]) WITH ORDINALITY k(col, o) \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = $1::regclass AND a.attname = k.col \
         JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
         LEFT JOIN LATERAL (SELECT am.amopopr FROM pg_catalog.pg_opclass oc \
           JOIN pg_catalog.pg_amop am ON am.amopfamily = oc.opcfamily AND am.amopstrategy = 3 \
            AND am.amoplefttype = oc.opcintype AND am.amoprighttype = oc.opcintype \
          WHERE oc.opcmethod = 403 AND oc.opcdefault \
            AND oc.opcintype = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END \
          LIMIT 1) e ON true \
         LEFT JOIN pg_catalog.pg_operator o ON o.oid = e.amopopr \
         LEFT JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace",
    )
    .bind(table)
    .bind(cols)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut ops = vec![super::sql::CATALOG_EQ.to_string(); cols.len()];
    for r in rows {
        let i = r.get::<i64, _>(0) as usize;
        let (Some(ns), Some(op)) = (r.get::<Option<String>, _>(1), r.get::<Option<String>, _>(2))
        else {
            continue;
        };
        if i >= 1 && i <= ops.len() && is_operator_name(&op) {
            ops[i - 1] = format!("OPERATOR({}.{op})", quote_ident(&ns));
        }
    }
    Ok(ops)
}

/// Whether `op` is made only of the characters an operator's name may have.
pub(super) fn is_operator_name(op: &str) -> bool {
    !op.is_empty() && op.len() <= 63 && op.chars().all(|c| "+-*/<>=~!@#%^&|`?".contains(c))
}

fn db_err(e: sqlx::Error) -> Error {
    Error::new(
        crate::error::ErrorKind::ToolFailed,
        format!("reading the target's tables: {e}"),
    )
}

impl Schema {
    /// The partitions of table `oid` (directly or through sub-partitioned ones) the backup
    /// has data for, as `schema.table`, sorted.
    pub fn partitions_in(&self, oid: u32, in_dump: &HashSet<(String, String)>) -> Vec<String> {
        let mut out: Vec<String> = self
            .tables
            .values()
            .filter(|t| {
                let mut up = t.partition_of;
                while let Some(p) = up {
                    if p == oid {
                        return in_dump.contains(&(t.schema.clone(), t.name.clone()));
                    }
                    up = self.tables.get(&p).and_then(|x| x.partition_of);
                }
                false
            })
            .map(Table::label)
            .collect();
        out.sort();
        out
    }

    pub async fn read(conn: &mut PgConnection) -> Result<Schema> {
        let mut s = Schema::default();
        let q = format!(
            "SELECT c.oid::int8 AS oid, n.nspname::text AS s, c.relname::text AS t \
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.oid IN ({USER_TABLES})"
        );
        for r in sqlx::query(&q)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?
        {
            let oid = r.get::<i64, _>("oid") as u32;
            s.tables.insert(
                oid,
                Table {
                    schema: r.get("s"),
                    name: r.get("t"),
                    columns: Vec::new(),
                    key: None,
                    triggers: Vec::new(),
                    partition_of: None,
                },
            );
        }
        let q = format!(
            "SELECT inhrelid::int8 AS child, inhparent::int8 AS parent FROM pg_catalog.pg_inherits \
             WHERE inhrelid IN ({USER_TABLES}) AND inhrelid IN \
             (SELECT oid FROM pg_catalog.pg_class WHERE relispartition)"
        );
        for r in sqlx::query(&q)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?
        {
            let child = r.get::<i64, _>("child") as u32;
            if let Some(t) = s.tables.get_mut(&child) {
                t.partition_of = Some(r.get::<i64, _>("parent") as u32);
            }
        }
        let q = format!(
            "SELECT attrelid::int8 AS oid, attname::text AS name, \
             pg_catalog.format_type(atttypid, atttypmod) AS ty, attnotnull, \
             attgenerated::text AS gen, attidentity::text AS ident \
             FROM pg_catalog.pg_attribute WHERE attnum > 0 AND NOT attisdropped \
             AND attrelid IN ({USER_TABLES}) ORDER BY attrelid, attnum"
        );
        for r in sqlx::query(&q)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?
        {
            let oid = r.get::<i64, _>("oid") as u32;
            if let Some(t) = s.tables.get_mut(&oid) {
                t.columns.push(Column {
                    name: r.get("name"),
                    type_sql: r.get("ty"),
                    not_null: r.get("attnotnull"),
                    generated: !r.get::<String, _>("gen").is_empty(),
                    identity_always: r.get::<String, _>("ident") == "a",
                });
            }
        }
        s.read_constraints(conn).await?;
        let q = format!(
            "SELECT tgrelid::int8 AS oid, tgname::text AS name FROM pg_catalog.pg_trigger \
             WHERE NOT tgisinternal AND tgenabled <> 'D' AND tgrelid IN ({USER_TABLES}) \
             ORDER BY tgname"
        );
        for r in sqlx::query(&q)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?
        {
            let oid = r.get::<i64, _>("oid") as u32;
            if let Some(t) = s.tables.get_mut(&oid) {
                t.triggers.push(r.get("name"));
            }
        }
        Ok(s)
    }

    async fn read_constraints(&mut self, conn: &mut PgConnection) -> Result<()> {
        let names = |rel: &str, keys: &str| {
            format!(
                "ARRAY(SELECT a.attname::text FROM pg_catalog.unnest({keys}) WITH ORDINALITY k(n, o) \
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = {rel} AND a.attnum = k.n \
                 ORDER BY k.o)"
            )
        };
        let q = format!(
            "SELECT conrelid::int8 AS oid, contype::text AS kind, conname::text AS name, \
             {} AS cols, confrelid::int8 AS poid, \
             CASE WHEN contype = 'f' THEN {} ELSE ARRAY[]::text[] END AS pcols, condeferrable \
             FROM pg_catalog.pg_constraint WHERE contype IN ('p', 'u', 'f') \
             AND conrelid IN ({USER_TABLES}) ORDER BY contype, conname",
            names("conrelid", "conkey"),
            names("confrelid", "confkey"),
        );
        let rows = sqlx::query(&q)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?;
        for r in rows {
            let oid = r.get::<i64, _>("oid") as u32;
            let kind: String = r.get("kind");
            let cols: Vec<String> = r.get("cols");
            match kind.as_str() {
                "f" => self.foreign_keys.push(ForeignKey {
                    name: r.get("name"),
                    child: oid,
                    child_cols: cols,
                    parent: r.get::<i64, _>("poid") as u32,
                    parent_cols: r.get("pcols"),
                    deferrable: r.get("condeferrable"),
                    inferred: false,
                }),
                _ => {
                    let Some(t) = self.tables.get_mut(&oid) else {
                        continue;
                    };
                    let usable =
                        kind == "p" || cols.iter().all(|c| t.column(c).is_some_and(|c| c.not_null));
                    // 'p' sorts before 'u': a primary key wins.
                    if t.key.is_none() && usable {
                        t.key = Some(cols);
                    }
                }
            }
        }
        // Only keys between tables both known here.
        let known = |o: &u32| self.tables.contains_key(o);
        self.foreign_keys
            .retain(|f| known(&f.child) && known(&f.parent));
        self.infer_partition_keys();
        Ok(())
    }

    /// Gives each partition the foreign keys its siblings (the other partitions of its
    /// partitioned table) or its partitioned table have and it lacks — the same referenced
    /// table and columns, when it has those columns — marked `inferred`. Pagila's
    /// `payment_p2022_01` to `_06` reference `customer`, `payment_p2022_07` on do not: a
    /// customer's payments there are the customer's all the same (docs/recover.md).
    pub(super) fn infer_partition_keys(&mut self) {
        type Shape = (u32, Vec<String>, Vec<String>);
        let shape =
            |f: &ForeignKey| -> Shape { (f.parent, f.child_cols.clone(), f.parent_cols.clone()) };
        // Per partitioned table: the keys its partitions or itself have, each shape once.
        let mut family: HashMap<u32, Vec<&ForeignKey>> = HashMap::new();
        let mut have: HashSet<(u32, Shape)> = HashSet::new();
        for f in &self.foreign_keys {
            have.insert((f.child, shape(f)));
            let Some(ct) = self.tables.get(&f.child) else {
                continue;
            };
            let group = ct.partition_of.unwrap_or(f.child);
            let list = family.entry(group).or_default();
            // A partition referencing itself or a sibling is not a key to copy.
            let inside = |o: u32| {
                o == group || self.tables.get(&o).and_then(|t| t.partition_of) == Some(group)
            };
            if !inside(f.parent) && !list.iter().any(|g| shape(g) == shape(f)) {
                list.push(f);
            }
        }
        let mut partitions: Vec<(&u32, &Table)> = self
            .tables
            .iter()
            .filter(|(_, t)| t.partition_of.is_some())
            .collect();
        partitions.sort_by(|a, b| (&a.1.schema, &a.1.name).cmp(&(&b.1.schema, &b.1.name)));
        let mut add = Vec::new();
        for (&oid, t) in partitions {
            let Some(keys) = t.partition_of.and_then(|p| family.get(&p)) else {
                continue;
            };
            for f in keys {
                if have.contains(&(oid, shape(f)))
                    || !f.child_cols.iter().all(|c| t.column(c).is_some())
                {
                    continue;
                }
                add.push(ForeignKey {
                    name: format!("{} (as {})", f.name, self.tables[&f.child].label()),
                    child: oid,
                    child_cols: f.child_cols.clone(),
                    parent: f.parent,
                    parent_cols: f.parent_cols.clone(),
                    deferrable: false,
                    inferred: true,
                });
                have.insert((oid, shape(f)));
            }
        }
        self.foreign_keys.extend(add);
    }

    /// The table named `schema.name`.
    pub fn find(&self, schema: &str, name: &str) -> Option<u32> {
        self.tables
            .iter()
            .find(|(_, t)| t.schema == schema && t.name == name)
            .map(|(o, _)| *o)
    }
}

/// `SCHEMA.TABLE` as written on a command line: each part bare (folded to lower case, as SQL
/// does) or in double quotes (`""` inside for a quote, dots kept); no schema means `public`.
pub fn parse_table_name(given: &str) -> Result<(String, String)> {
    let bad = |why: &str| {
        Error::invalid(format!("{given:?} is not a table name ({why})")).with_hint(
            "write SCHEMA.TABLE; quote a part that holds dots or capitals: 'public.\"My.Table\"'",
        )
    };
    let mut parts = Vec::new();
    let mut chars = given.trim().chars().peekable();
    loop {
        let mut part = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        part.push('"');
                    }
                    Some('"') => break,
                    Some(c) => part.push(c),
                    None => return Err(bad("a quote is not closed")),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' {
                    break;
                }
                if c == '"' {
                    return Err(bad("a quote inside a bare name"));
                }
                part.push(c.to_ascii_lowercase());
                chars.next();
            }
        }
        if part.is_empty() {
            return Err(bad("an empty part"));
        }
        parts.push(part);
        match chars.next() {
            None => break,
            Some('.') => continue,
            Some(_) => return Err(bad("text after a quoted part")),
        }
    }
    match parts.len() {
        1 => Ok(("public".into(), parts.remove(0))),
        2 => {
            let t = parts.remove(1);
            Ok((parts.remove(0), t))
        }
        _ => Err(bad("more than two parts")),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_table_name;

    #[test]
    fn table_names_parse_with_quotes_and_dots() {
        let p = |s: &str| parse_table_name(s).unwrap();
        assert_eq!(p("public.orders"), ("public".into(), "orders".into()));
        assert_eq!(p("Orders"), ("public".into(), "orders".into()));
        assert_eq!(
            p(r#""odd.schema"."My ""x"" .t""#),
            ("odd.schema".into(), r#"My "x" .t"#.into())
        );
        for bad in ["", "a.b.c", "\"open", "a.", ".b", "a\"b\".c", "\"a\"b.c"] {
            assert!(parse_table_name(bad).is_err(), "{bad}");
        }
    }
}
