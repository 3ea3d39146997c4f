//! The parity report of a restore (issue 66, item 3): part by part ([`crate::parts`]), what the
//! backup's source had against what the restore's target has now.
//!
//! Two kinds of evidence, both exact:
//! - **rows**: the tables of a part (auth's users and identities, storage's buckets and objects,
//!   the webhooks' hooks) read back from the target and compared with the digests and counts the
//!   backup recorded in its manifest (the drill's content check, [`crate::drill::content`]);
//! - **objects**: the [`census`](crate::postgres::census) the backup took in its dump's snapshot (publications' tables,
//!   policies, triggers, cron jobs, queues) against the same census of the target, item by item.
//!
//!
//! and, for the parts a restore carries outside the database, [`config`] (settings, Edge
//! Functions, function secrets, the Vault root key: the target project's configuration fetched
//! again) and [`storage`] (objects by key, size and checksum: the storage restore planned again).

use crate::archive::{Census, Manifest};
use crate::drill::{content, CheckStatus};
use crate::error::{Error, Result};
use crate::postgres::census;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use tokio_util::sync::CancellationToken;

pub mod config;
pub mod storage;

/// The tables whose rows make a part.
const PART_TABLES: &[(&str, &[(&str, &str)])] = &[
    ("auth-users", &[("auth", "users"), ("auth", "identities")]),
    (
        "storage-schema",
        &[("storage", "buckets"), ("storage", "objects")],
    ),
    ("webhooks", &[("supabase_functions", "hooks")]),
];

/// How a part compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum PartVerdict {
    /// The target has exactly what the source had.
    Equal,
    /// Something differs (`differences` says what).
    Differs,
    /// Not compared: the source's side was not recorded or could not be read (`note` says why).
    NotCompared,
}

/// What a part's comparison rests on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// Its tables' rows: counts and digests.
    Rows,
    /// Its database objects (policies, triggers, publications, cron jobs, queues), each by name
    /// and definition digest.
    #[default]
    Objects,
    /// The project's settings, one by one.
    Settings,
    /// Edge Functions: slug, bundle digest, settings.
    Functions,
    /// Function secrets: names and value digests.
    Secrets,
    /// Storage's objects: key, size, checksum.
    Files,
    /// The Vault root key.
    Key,
}

/// One part, source against target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PartParity {
    /// The part's id and name ([`crate::parts::PARTS`]).
    pub part: String,
    pub name: String,
    pub verdict: PartVerdict,
    #[serde(default)]
    pub evidence: Evidence,
    /// What was compared ("3 tables, 5 rows"; "4 policies and triggers").
    pub compared: String,
    /// What differs, one line each (names only; never a definition).
    pub differences: Vec<String>,
    pub note: Option<String>,
    /// The target has none of this part's objects, not even the extension that holds them
    /// (pg_cron, pgmq): a drill's scratch server that lacks the extension says "not compared".
    #[serde(default)]
    pub absent_in_target: bool,
}

/// The parity report: one line per part the source had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ParityReport {
    pub parts: Vec<PartParity>,
    /// Every compared part is equal.
    pub equal: bool,
    /// Said once for the whole report (a backup without a census).
    pub note: Option<String>,
}

impl ParityReport {
    /// The report of `parts` (in the order of [`crate::parts::PARTS`]); `None` when there is no
    /// part.
    pub fn of(mut parts: Vec<PartParity>, note: Option<String>) -> Option<ParityReport> {
        parts.sort_by_key(|p| {
            crate::parts::PARTS
                .iter()
                .position(|x| x.id == p.part)
                .unwrap_or(usize::MAX)
        });
        if parts.is_empty() {
            return None;
        }
        let equal = parts.iter().all(|p| p.verdict != PartVerdict::Differs);
        Some(ParityReport { parts, equal, note })
    }

    /// One report of `parts` and `notes` (the parts of several components); `None` when there
    /// is neither.
    pub fn merge(parts: Vec<PartParity>, notes: Vec<String>) -> Option<ParityReport> {
        let note = (!notes.is_empty()).then(|| notes.join("; "));
        match ParityReport::of(parts, note.clone()) {
            Some(r) => Some(r),
            None => note.map(|note| ParityReport {
                parts: Vec::new(),
                equal: true,
                note: Some(note),
            }),
        }
    }
}

/// How many differences a part lists by name.
const MAX_LISTED: usize = 20;

fn name_of(part: &str) -> String {
    crate::parts::part(part)
        .map(|p| p.name.to_string())
        .unwrap_or_else(|| part.to_string())
}

/// Compare the backup of `manifest` with the database `conn` is connected to (a restore of it).
/// `None`: nothing to compare (no part has rows or objects on either side: a plain database
/// without policies, triggers or publications).
pub async fn check(
    conn: &mut PgConnection,
    manifest: &Manifest,
    cancel: &CancellationToken,
) -> Result<Option<ParityReport>> {
    // The tables' side of the manifest only: no member list, and no large objects (they are no
    // part's: checked once by a drill, not once per part here).
    let mut rows_only = Manifest {
        members: Vec::new(),
        selection: None,
        tables_note: None,
        census: None,
        ..manifest.clone()
    };
    if let Some(c) = rows_only.content.as_mut() {
        c.large_objects = None;
    }
    let mut parts = Vec::new();
    for (part, tables) in PART_TABLES {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        if let Some(p) = rows_of(conn, &rows_only, part, tables, cancel).await? {
            parts.push(p);
        }
    }
    let note = match &manifest.census {
        Some(source) => {
            let target = census::take(conn, false).await;
            parts.extend(objects(source, &target));
            None
        }
        None => Some(
            "this backup was made before Offsite recorded its publications, policies, \
             triggers, cron jobs and queues: only the rows of its tables are compared"
                .to_string(),
        ),
    };
    Ok(ParityReport::of(parts, note))
}

/// The rows of `part`'s tables that the backup holds, against the target's (`manifest`: its
/// tables' side only, see [`check`]).
async fn rows_of(
    conn: &mut PgConnection,
    manifest: &Manifest,
    part: &str,
    tables: &[(&str, &str)],
    cancel: &CancellationToken,
) -> Result<Option<PartParity>> {
    let mut only = manifest.clone();
    only.tables
        .retain(|t| tables.iter().any(|(s, n)| t.schema == *s && t.table == *n));
    if only.tables.is_empty() {
        return Ok(None);
    }
    let rows: u64 = only.tables.iter().map(|t| t.rows).sum();
    let checks = content::check_tables(conn, &only, cancel).await?;
    let differences: Vec<String> = checks
        .iter()
        .filter(|c| c.status == CheckStatus::Failed)
        .map(|c| {
            format!(
                "{}: {}",
                c.title,
                c.detail.clone().unwrap_or_else(|| "differs".into())
            )
        })
        .collect();
    Ok(Some(PartParity {
        part: part.to_string(),
        name: name_of(part),
        verdict: if differences.is_empty() {
            PartVerdict::Equal
        } else {
            PartVerdict::Differs
        },
        evidence: Evidence::Rows,
        compared: format!(
            "{}, {}",
            crate::words::count(only.tables.len(), "table"),
            crate::words::count(rows as usize, "row")
        ),
        differences,
        note: None,
        absent_in_target: false,
    }))
}

/// The object parts of the source's census against the target's.
fn objects(source: &Census, target: &Census) -> Vec<PartParity> {
    let mut out = Vec::new();
    for (part, why) in &source.unread {
        out.push(PartParity {
            part: part.clone(),
            name: name_of(part),
            verdict: PartVerdict::NotCompared,
            evidence: Evidence::Objects,
            compared: "nothing".into(),
            differences: Vec::new(),
            note: Some(format!("the backup could not read it: {why}")),
            absent_in_target: false,
        });
    }
    for (part, items) in &source.parts {
        let p = match (target.parts.get(part), target.unread.get(part)) {
            (Some(theirs), _) => compare(part, items, theirs),
            (None, Some(why)) => Some(PartParity {
                part: part.clone(),
                name: name_of(part),
                verdict: PartVerdict::NotCompared,
                evidence: Evidence::Objects,
                compared: crate::words::count(items.len(), "item"),
                differences: Vec::new(),
                note: Some(format!("the target could not be read: {why}")),
                absent_in_target: false,
            }),
            // The target lacks the part's very tables (pg_cron or pgmq is not installed there).
            (None, None) => compare(part, items, &[]).map(|mut p| {
                p.absent_in_target = true;
                p.note = Some(
                    "the target has none of these objects: the extension that holds them is not \
                     installed there"
                        .into(),
                );
                p
            }),
        };
        out.extend(p);
    }
    // What the target has of a part the source did not (a part it lacks altogether).
    for (part, items) in &target.parts {
        if !source.parts.contains_key(part) && !source.unread.contains_key(part) {
            out.extend(compare(part, &[], items));
        }
    }
    out
}

/// `None`: nothing on either side (a part with nothing says nothing).
fn compare(part: &str, ours: &[String], theirs: &[String]) -> Option<PartParity> {
    if ours.is_empty() && theirs.is_empty() {
        return None;
    }
    let (a, b) = (census::by_name(ours), census::by_name(theirs));
    let mut differences = Vec::new();
    for (name, digest) in &a {
        match b.get(name) {
            None => differences.push(format!("missing in the target: {name}")),
            Some(d) if d != digest => differences.push(format!("differs: {name}")),
            Some(_) => {}
        }
    }
    for name in b.keys().filter(|n| !a.contains_key(*n)) {
        differences.push(format!("only in the target: {name}"));
    }
    let total = differences.len();
    if total > MAX_LISTED {
        differences.truncate(MAX_LISTED);
        differences.push(format!("… and {} more", total - MAX_LISTED));
    }
    Some(PartParity {
        part: part.to_string(),
        name: name_of(part),
        verdict: if total == 0 {
            PartVerdict::Equal
        } else {
            PartVerdict::Differs
        },
        evidence: Evidence::Objects,
        compared: crate::words::count(a.len(), "item"),
        differences,
        note: None,
        absent_in_target: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn census(part: &str, items: &[(&str, &str)]) -> Census {
        let mut c = Census::default();
        c.parts.insert(
            part.into(),
            items.iter().map(|(n, d)| census::item(n, d)).collect(),
        );
        c
    }

    #[test]
    fn objects_compare_by_name_and_definition_and_never_show_a_definition() {
        let src = census(
            "pg-cron",
            &[
                ("nightly", "0 3 * * * secret-cmd"),
                ("hourly", "0 * * * * x"),
            ],
        );
        let same = objects(&src, &src.clone());
        assert_eq!(same[0].verdict, PartVerdict::Equal);
        assert_eq!(same[0].compared, "2 items");
        let tgt = census(
            "pg-cron",
            &[
                ("nightly", "0 4 * * * secret-cmd"),
                ("weekly", "0 0 * * 0 y"),
            ],
        );
        let d = &objects(&src, &tgt)[0];
        assert_eq!(d.verdict, PartVerdict::Differs);
        assert_eq!(
            d.differences,
            [
                "missing in the target: hourly",
                "differs: nightly",
                "only in the target: weekly"
            ]
        );
        assert!(!format!("{d:?}").contains("secret-cmd"));
        // A part the target lacks entirely: every item missing; one only the target has: every
        // item extra; one empty on both sides: not listed.
        let d = &objects(&src, &Census::default())[0];
        assert_eq!(d.differences.len(), 2);
        let d = &objects(&Census::default(), &src)[0];
        assert_eq!(d.differences[0], "only in the target: hourly");
        assert!(objects(&census("pgmq", &[]), &census("pgmq", &[])).is_empty());
        // One the source could not read: not compared, and said why.
        let mut unread = Census::default();
        unread
            .unread
            .insert("pgmq".into(), "permission denied".into());
        let d = &objects(&unread, &Census::default())[0];
        assert_eq!(d.verdict, PartVerdict::NotCompared);
        assert!(d.note.as_deref().unwrap().contains("permission denied"));
    }

    #[test]
    fn a_long_list_of_differences_is_cut() {
        let many: Vec<(String, String)> = (0..30)
            .map(|i| (format!("p{i:02}"), "d".to_string()))
            .collect();
        let items: Vec<(&str, &str)> = many.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let d = &objects(&census("publications", &items), &Census::default())[0];
        assert_eq!(d.differences.len(), MAX_LISTED + 1);
        assert_eq!(d.differences.last().unwrap(), "… and 10 more");
    }
}
