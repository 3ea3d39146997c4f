//! What a restore test compares: every row, every sequence, every large object, and the schema.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::cluster::shorten;
use crate::TestCluster;

/// State of one sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SequenceState {
    pub last_value: i64,
    pub is_called: bool,
}

/// One large object: its size and the md5 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LargeObjectInfo {
    pub size: u64,
    pub md5: String,
}

/// The data of a database, comparable between a source and its restored copy.
///
/// Keys are schema-qualified names as `format('%I.%I', schema, name)` prints them
/// (`public.orders`, `"MixedCase"."Weird Table"`). Covers ordinary tables (each read with
/// `ONLY`, so partitions and inheritance children appear once, as themselves) and materialized
/// views, in every schema but `pg_catalog`, `information_schema`, `pg_toast*` and `pg_temp*`.
/// Rows are the row's text (`SELECT t::text FROM ONLY tbl t`) sorted by byte order (a multiset), read with TimeZone=UTC, ISO dates,
/// `extra_float_digits=1` and hex bytea. Large objects are keyed by oid (pg_dump/pg_restore keep
/// oids; use [`large_object_md5s`](Self::large_object_md5s) when they may legitimately differ).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FidelitySnapshot {
    pub tables: BTreeMap<String, Vec<String>>,
    /// Materialized views that exist but are not populated.
    pub unpopulated_matviews: Vec<String>,
    pub sequences: BTreeMap<String, SequenceState>,
    pub large_objects: BTreeMap<u32, LargeObjectInfo>,
}

impl FidelitySnapshot {
    /// Total number of rows over all tables.
    pub fn total_rows(&self) -> usize {
        self.tables.values().map(Vec::len).sum()
    }

    /// Rows of one table (`schema.table` as in [`tables`](Self::tables)); panics if absent.
    pub fn rows(&self, table: &str) -> &[String] {
        self.tables.get(table).unwrap_or_else(|| {
            panic!(
                "no table {table} in the snapshot; tables: {:?}",
                self.tables.keys().collect::<Vec<_>>()
            )
        })
    }

    /// The large objects' md5s as a sorted multiset (ignores oids).
    pub fn large_object_md5s(&self) -> Vec<String> {
        let mut v: Vec<String> = self.large_objects.values().map(|l| l.md5.clone()).collect();
        v.sort();
        v
    }

    /// Human-readable differences, `self` being the actual value and `expected` the reference.
    /// Empty when equal.
    pub fn diff(&self, expected: &FidelitySnapshot) -> Vec<String> {
        let mut out = Vec::new();
        for (name, exp_rows) in &expected.tables {
            match self.tables.get(name) {
                None => out.push(format!(
                    "table {name}: missing ({} rows expected)",
                    exp_rows.len()
                )),
                Some(rows) if rows != exp_rows => out.push(describe_row_diff(name, rows, exp_rows)),
                _ => {}
            }
        }
        for (name, rows) in &self.tables {
            if !expected.tables.contains_key(name) {
                out.push(format!("table {name}: unexpected ({} rows)", rows.len()));
            }
        }
        if self.unpopulated_matviews != expected.unpopulated_matviews {
            out.push(format!(
                "unpopulated materialized views: {:?}, expected {:?}",
                self.unpopulated_matviews, expected.unpopulated_matviews
            ));
        }
        for (name, exp) in &expected.sequences {
            match self.sequences.get(name) {
                None => out.push(format!("sequence {name}: missing (expected {exp:?})")),
                Some(got) if got != exp => {
                    out.push(format!("sequence {name}: {got:?}, expected {exp:?}"))
                }
                _ => {}
            }
        }
        for (name, got) in &self.sequences {
            if !expected.sequences.contains_key(name) {
                out.push(format!("sequence {name}: unexpected ({got:?})"));
            }
        }
        for (oid, exp) in &expected.large_objects {
            match self.large_objects.get(oid) {
                None => out.push(format!("large object {oid}: missing (expected {exp:?})")),
                Some(got) if got != exp => {
                    out.push(format!("large object {oid}: {got:?}, expected {exp:?}"))
                }
                _ => {}
            }
        }
        for (oid, got) in &self.large_objects {
            if !expected.large_objects.contains_key(oid) {
                out.push(format!("large object {oid}: unexpected ({got:?})"));
            }
        }
        out
    }

    /// Panics with a readable diff (not a multi-megabyte `Debug` dump) when `self != expected`.
    pub fn assert_same_as(&self, expected: &FidelitySnapshot) {
        let diff = self.diff(expected);
        if !diff.is_empty() {
            panic!(
                "fidelity snapshots differ ({} differences):\n  {}",
                diff.len(),
                diff.join("\n  ")
            );
        }
    }
}

fn describe_row_diff(name: &str, rows: &[String], expected: &[String]) -> String {
    // Multiset difference of two sorted vectors.
    let (mut i, mut j) = (0, 0);
    let (mut missing, mut extra) = (Vec::new(), Vec::new());
    while i < rows.len() || j < expected.len() {
        match (rows.get(i), expected.get(j)) {
            (Some(a), Some(b)) if a == b => {
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a < b => {
                extra.push(a);
                i += 1;
            }
            (Some(_), Some(b)) => {
                missing.push(b);
                j += 1;
            }
            (Some(a), None) => {
                extra.push(a);
                i += 1;
            }
            (None, Some(b)) => {
                missing.push(b);
                j += 1;
            }
            (None, None) => break,
        }
    }
    let mut s = format!(
        "table {name}: {} rows, expected {}; {} missing, {} unexpected",
        rows.len(),
        expected.len(),
        missing.len(),
        extra.len()
    );
    for r in missing.iter().take(3) {
        let _ = write!(s, "\n      - {}", shorten(r, 300));
    }
    for r in extra.iter().take(3) {
        let _ = write!(s, "\n      + {}", shorten(r, 300));
    }
    s
}

const SESSION_SETUP: &str =
    "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'; \
     SET extra_float_digits = 1; SET bytea_output = 'hex'; SET search_path = pg_catalog;\n";

/// Reads every row, sequence and large object of `db` (see [`FidelitySnapshot`]).
pub fn fidelity_snapshot(cluster: &TestCluster, db: &str) -> FidelitySnapshot {
    // 1. The relations: hex of the qualified name (names may hold any character), relkind,
    //    populated.
    let listing = cluster.psql(
        db,
        "SELECT encode(convert_to(format('%I.%I', n.nspname, c.relname), 'UTF8'), 'hex'), c.relkind, c.relispopulated \
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
          WHERE c.relkind IN ('r', 'm', 'S') \
            AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
            AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%' \
          ORDER BY 1",
    );
    let mut snap = FidelitySnapshot::default();
    // 2. One script reading everything in one repeatable-read transaction. Records are NUL-
    //    separated; table rows (composite text) always start with '(', markers with '#'.
    let mut script = String::from("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n");
    script.push_str(SESSION_SETUP);
    for line in listing.lines().filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split('|').collect();
        let [hex, relkind, populated] = fields[..] else {
            panic!("fidelity_snapshot: bad listing line {line:?}")
        };
        let qname = String::from_utf8(decode_hex(hex)).expect("relation name is UTF-8");
        let lit = format!("convert_from('\\x{hex}'::bytea, 'UTF8')");
        match relkind {
            "S" => {
                let _ = writeln!(
                    script,
                    "SELECT '#S ' || last_value || ' ' || is_called || ' ' || {lit} FROM {qname};"
                );
            }
            "m" if populated != "t" => snap.unpopulated_matviews.push(qname),
            _ => {
                let _ = writeln!(script, "SELECT '#T ' || {lit};");
                // A whole-row reference; the alias must not be a column name (a column `t` would win).
                let _ = writeln!(script, "SELECT offsite_snapshot_row__::text FROM ONLY {qname} AS offsite_snapshot_row__;");
            }
        }
    }
    script.push_str(
        "SELECT '#L ' || m.oid || ' ' || length(d) || ' ' || md5(d) \
           FROM pg_catalog.pg_largeobject_metadata m, LATERAL pg_catalog.lo_get(m.oid) d;\nCOMMIT;\n",
    );
    let mut cmd = cluster.command("psql");
    cmd.args(["-X", "-q", "-w", "-v", "ON_ERROR_STOP=1", "-At", "-0"])
        .args(cluster.conn_args())
        .args(["-d", db, "-f", "-"]);
    let out = crate::cluster::run_with_stdin(cmd, Some(script.as_bytes())).expect("run psql");
    if !out.status.success() {
        panic!(
            "fidelity_snapshot({db}) failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8(out.stdout).expect("psql output is UTF-8");
    let mut current: Option<&mut Vec<String>> = None;
    for rec in stdout.split('\0').filter(|r| !r.is_empty()) {
        if let Some(name) = rec.strip_prefix("#T ") {
            current = Some(snap.tables.entry(name.to_string()).or_default());
        } else if let Some(rest) = rec.strip_prefix("#S ") {
            let mut it = rest.splitn(3, ' ');
            let last_value = it
                .next()
                .and_then(|v| v.parse().ok())
                .expect("sequence last_value");
            let is_called = it.next() == Some("t");
            let name = it.next().expect("sequence name").to_string();
            snap.sequences.insert(
                name,
                SequenceState {
                    last_value,
                    is_called,
                },
            );
            current = None;
        } else if let Some(rest) = rec.strip_prefix("#L ") {
            let mut it = rest.splitn(3, ' ');
            let oid = it.next().and_then(|v| v.parse().ok()).expect("lo oid");
            let size = it.next().and_then(|v| v.parse().ok()).expect("lo size");
            let md5 = it.next().expect("lo md5").to_string();
            snap.large_objects
                .insert(oid, LargeObjectInfo { size, md5 });
            current = None;
        } else if rec.starts_with('(') {
            current
                .as_mut()
                .expect("row before any table marker")
                .push(rec.to_string());
        } else {
            panic!(
                "fidelity_snapshot: unexpected psql record {:?}",
                shorten(rec, 200)
            );
        }
    }
    for rows in snap.tables.values_mut() {
        rows.sort();
    }
    snap
}

pub(crate) fn decode_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// `pg_dump --schema-only` of `db`, without the `\restrict KEY` / `\unrestrict KEY` lines that
/// pg_dump ≥ 15.14 writes with a random key, so two dumps of equal schemas compare equal.
pub fn schema_dump(cluster: &TestCluster, db: &str) -> String {
    pg_dump_schema(cluster, db, &[])
}

/// [`schema_dump`] of one schema of `db` (`pg_dump -n SCHEMA`: a pattern, so quote names with
/// capitals, `"\"MixedCase\""`).
pub fn schema_dump_of(cluster: &TestCluster, db: &str, schema: &str) -> String {
    pg_dump_schema(cluster, db, &["-n", schema])
}

fn pg_dump_schema(cluster: &TestCluster, db: &str, extra: &[&str]) -> String {
    let out = cluster
        .command("pg_dump")
        .args(cluster.conn_args())
        .args(["--schema-only", "--no-password"])
        .args(extra)
        .args(["-d", db])
        .output()
        .expect("run pg_dump");
    if !out.status.success() {
        panic!(
            "pg_dump --schema-only {extra:?} {db} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    strip_restrict_lines(&String::from_utf8(out.stdout).expect("pg_dump output is UTF-8"))
}

/// Panics, naming the first line that differs, unless `actual_db` has the schema of
/// `expected_db` (their [`schema_dump`]s are equal).
pub fn assert_same_schema(cluster: &TestCluster, expected_db: &str, actual_db: &str) {
    let (want, got) = (
        schema_dump(cluster, expected_db),
        schema_dump(cluster, actual_db),
    );
    if want != got {
        panic!(
            "the schema of {actual_db} differs from {expected_db}'s: {}",
            first_difference(&want, &got)
        );
    }
}

/// Where two texts first differ: the line number and both lines, or their line counts.
pub fn first_difference(expected: &str, actual: &str) -> String {
    for (i, (x, y)) in expected.lines().zip(actual.lines()).enumerate() {
        if x != y {
            return format!("line {}: expected {x:?}, found {y:?}", i + 1);
        }
    }
    format!(
        "{} lines expected, {} found",
        expected.lines().count(),
        actual.lines().count()
    )
}

pub(crate) fn strip_restrict_lines(dump: &str) -> String {
    let mut s = String::with_capacity(dump.len());
    for line in dump.split_inclusive('\n') {
        if line.starts_with("\\restrict ") || line.starts_with("\\unrestrict ") {
            continue;
        }
        s.push_str(line);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_hex() {
        assert_eq!(decode_hex("00ff41"), vec![0, 255, 65]);
    }

    #[test]
    fn strips_restrict_lines() {
        let d = "--\n\\restrict abc\nCREATE TABLE t ();\n\\unrestrict abc\n";
        assert_eq!(strip_restrict_lines(d), "--\nCREATE TABLE t ();\n");
    }

    #[test]
    fn row_diff_lists_missing_and_extra() {
        let a = vec!["(1)".to_string(), "(2)".to_string()];
        let b = vec!["(1)".to_string(), "(3)".to_string()];
        let d = describe_row_diff("t", &a, &b);
        assert!(d.contains("- (3)") && d.contains("+ (2)"), "{d}");
    }
}
