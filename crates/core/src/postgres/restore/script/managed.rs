//! Entries of the schemas managed by others (see [`super`]): what the target has is kept, the
//! backup's rows are loaded into the target's empty tables, what it lacks is added.

use super::super::toc::{table_columns, FullToc, Item};
use super::{index_table, Decisions, ManagedSchema, Pass, TargetFacts};
use std::collections::{BTreeMap, BTreeSet};

/// An entry of a schema managed by others (see the module): kept when the target has it, else
/// added (owned, for what hangs on the target's table, by that table's owner).
pub(super) fn entry(
    toc: &FullToc,
    f: &TargetFacts,
    i: usize,
    it: &Item,
    m: &mut ManagedSchema,
    d: &mut Decisions,
    p: &mut Pass,
) {
    let s = &it.schema;
    let table_of = || {
        it.tag
            .split_once(' ')
            .map(|(t, _)| t.to_string())
            .unwrap_or_default()
    };
    let exists = match it.desc {
        "SCHEMA" => true,
        "TABLE" | "VIEW" | "MATERIALIZED VIEW" | "FOREIGN TABLE" | "SEQUENCE" | "INDEX" => {
            f.relations.contains_key(&(s.clone(), it.tag.clone()))
        }
        "FUNCTION" | "PROCEDURE" | "AGGREGATE" => f.routines.contains(&(s.clone(), it.tag.clone())),
        "TYPE" | "DOMAIN" => f.types.contains(&(s.clone(), it.tag.clone())),
        "CONSTRAINT" | "FK CONSTRAINT" | "CHECK CONSTRAINT" => {
            f.on_tables
                .contains(&("CONSTRAINT", s.clone(), it.tag.clone()))
        }
        "TRIGGER" | "POLICY" | "RULE" => {
            f.on_tables.contains(&(it.desc, s.clone(), it.tag.clone()))
        }
        "ROW SECURITY" => f
            .relations
            .get(&(s.clone(), it.tag.clone()))
            .is_some_and(|r| r.rls),
        "DEFAULT" | "SEQUENCE OWNED BY" => {
            let rel = if it.desc == "DEFAULT" {
                table_of()
            } else {
                it.tag.clone()
            };
            f.relations.contains_key(&(s.clone(), rel))
        }
        "SEQUENCE SET" => f
            .sequences_used
            .get(&(s.clone(), it.tag.clone()))
            .copied()
            .unwrap_or(false),
        "COMMENT" | "ACL" | "SECURITY LABEL" => {
            // About an object the target has: keep the target's.
            it.deps.is_empty() || it.deps.iter().any(|dep| p.kept_ids.contains(dep))
        }
        "TABLE DATA" => {
            if rows(toc, f, it, m, d, p) {
                return;
            }
            false
        }
        _ => false,
    };
    if exists {
        p.kept_ids.insert(it.id);
        if !matches!(
            it.desc,
            "SCHEMA" | "COMMENT" | "ACL" | "SECURITY LABEL" | "SEQUENCE SET"
        ) {
            m.kept_objects += 1;
        }
        d.skip.insert(
            it.line,
            format!(
                "{}: {} already has it (managed by {})",
                it.label(),
                s,
                m.owner
            ),
        );
        return;
    }
    if !matches!(
        it.desc,
        "COMMENT" | "ACL" | "SECURITY LABEL" | "SEQUENCE SET" | "TABLE DATA"
    ) {
        m.added.push(it.label());
    }
    // What hangs on a table of the target is owned by that table's owner.
    if let Some(rel) = f.relations.get(&(s.clone(), table_of())) {
        if matches!(
            it.desc,
            "TRIGGER"
                | "POLICY"
                | "RULE"
                | "CONSTRAINT"
                | "FK CONSTRAINT"
                | "CHECK CONSTRAINT"
                | "ROW SECURITY"
        ) {
            p.effective_owner.insert(i, rel.owner.clone());
        }
    }
    if it.desc == "INDEX" {
        // CREATE INDEX … ON s.t: the target's table when it has it.
        if let Some(t) = index_table(&it.sql) {
            if let Some(rel) = f.relations.get(&t) {
                p.effective_owner.insert(i, rel.owner.clone());
            }
        }
    }
    if it.desc == "ROW SECURITY" {
        if let Some(rel) = f.relations.get(&(s.clone(), it.tag.clone())) {
            p.effective_owner.insert(i, rel.owner.clone());
        }
    }
}

/// The backup's rows of a table of a managed schema: kept (the target holds rows) or loaded
/// into the target's empty table (its columns checked). `false`: the target lacks the table.
fn rows(
    toc: &FullToc,
    f: &TargetFacts,
    it: &Item,
    m: &mut ManagedSchema,
    d: &mut Decisions,
    p: &mut Pass,
) -> bool {
    let s = &it.schema;
    let key = (s.clone(), it.tag.clone());
    if f.cron_by_functions && s == "cron" {
        // pg_cron's jobs go in through its functions (`super::cron`); their run history refers
        // to the source's job ids, which the target's jobs do not get.
        if it.tag == "job_run_details" {
            m.notes.push(
                "cron.job_run_details: pg_cron's run history stays the target's (the backup's                  jobs get new ids there)"
                    .into(),
            );
            d.skip.insert(
                it.line,
                "cron.job_run_details: the target's run history is kept".into(),
            );
        }
        if matches!(it.tag.as_str(), "job" | "job_run_details") {
            return true;
        }
    }
    match f.relations.get(&key) {
        None => false,
        Some(rel) if rel.rows > 0 => {
            let held = if rel.rows == u64::MAX {
                "rows the connecting role cannot read".to_string()
            } else if rel.rows >= 100_000 {
                "100,000 rows or more".to_string()
            } else {
                crate::words::plural(rel.rows, "row")
            };
            m.kept_rows
                .push(format!("{s}.{} (the target holds {held})", it.tag));
            d.skip.insert(
                it.line,
                format!("{s}.{}: the target's rows are kept", it.tag),
            );
            true
        }
        Some(rel) => {
            // Every column the backup fills must exist, and not be generated.
            let backup_cols = toc
                .items
                .iter()
                .find(|t| t.desc == "TABLE" && t.schema == *s && t.tag == it.tag)
                .and_then(|t| table_columns(&t.sql));
            match backup_cols {
                Some(cols) => {
                    let target: BTreeMap<&str, bool> =
                        rel.columns.iter().map(|(n, g)| (n.as_str(), *g)).collect();
                    let missing: Vec<&str> = cols
                        .iter()
                        .filter(|(n, g)| !*g && target.get(n.as_str()) != Some(&false))
                        .map(|(n, _)| n.as_str())
                        .collect();
                    if !missing.is_empty() {
                        d.blockers.push(format!(
                            "{s}.{}: the target's table lacks {} the backup holds data in ({}); its rows cannot be loaded without losing them",
                            it.tag,
                            if missing.len() == 1 { "a column" } else { "columns" },
                            missing.join(", ")
                        ));
                    }
                    let names: BTreeSet<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
                    let extra: Vec<&str> = rel
                        .columns
                        .iter()
                        .filter(|(n, g)| !g && !names.contains(n.as_str()))
                        .map(|(n, _)| n.as_str())
                        .collect();
                    if !extra.is_empty() {
                        m.notes.push(format!(
                            "{s}.{}: the target has {} the backup lacks ({}); {} {} defaults",
                            it.tag,
                            if extra.len() == 1 { "a column" } else { "columns" },
                            extra.join(", "),
                            if extra.len() == 1 { "it gets" } else { "they get" },
                            if extra.len() == 1 { "its" } else { "their" }
                        ));
                    }
                }
                None => d.warnings.push(format!(
                    "{s}.{}: the backup's columns could not be read; its rows are loaded as they are",
                    it.tag
                )),
            }
            m.load_rows.push(format!("{s}.{}", it.tag));
            p.loads.push((it.line, key));
            true
        }
    }
}
