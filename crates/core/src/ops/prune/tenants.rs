//! Per-tenant archives' own retention (docs/tenants.md): the archives of one tenant (a tenant
//! name and one value of its root key) are kept by their own count — the last N of that tenant,
//! N from the backup schedule that names the tenant (`schedule set --tenant NAME
//! --tenant-keep-last N`), [`TENANT_KEEP_LAST`] without one — never by the project's policy,
//! which neither counts nor removes them. Applied locally by every prune and at every
//! destination by its sync. A tenant no longer in the database makes no new archives, so its
//! last ones stay until removed by hand (`offsite delete`). Pinned and suspicious archives stay.

use crate::catalog::parse_timestamp;
use crate::catalog::{BackupMarks, BackupRecord, Project};
use crate::engine::Engine;
use crate::error::Result;
use crate::schedule::retention::{Decision, KeepRule};
use std::collections::HashMap;

/// The archives kept per tenant when no schedule says otherwise.
pub const TENANT_KEEP_LAST: u32 = 4;

/// How many archives each tenant name of `project` keeps: the largest count of the backup
/// schedules naming it, [`TENANT_KEEP_LAST`] for a schedule without one.
pub(crate) async fn keep_counts(
    engine: &Engine,
    project: &Project,
) -> Result<HashMap<String, u32>> {
    let mut out: HashMap<String, u32> = HashMap::new();
    for s in engine.catalog.schedules(Some(&project.id)).await? {
        if let Some(t) = s.tenant {
            let n = s.tenant_keep_last.unwrap_or(TENANT_KEEP_LAST).max(1);
            let e = out.entry(t).or_insert(n);
            *e = (*e).max(n);
        }
    }
    Ok(out)
}

/// What the tenants' retention decides for each per-tenant archive among `archives` (others are
/// left out): the newest N of each tenant value kept.
pub(crate) fn decide(
    archives: &[&BackupRecord],
    counts: &HashMap<String, u32>,
    marks: &HashMap<String, BackupMarks>,
) -> Result<Vec<Decision>> {
    let mut groups: HashMap<(String, String), Vec<(&BackupRecord, time::OffsetDateTime)>> =
        HashMap::new();
    for b in archives {
        let Some(t) = b.tenant() else { continue };
        let at = parse_timestamp(&b.created_at)?;
        groups.entry((t.name, t.value)).or_default().push((b, at));
    }
    let mut out = Vec::new();
    for ((name, value), mut list) in groups {
        list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.id.cmp(&a.0.id)));
        let n = counts
            .get(&name)
            .copied()
            .unwrap_or(TENANT_KEEP_LAST)
            .max(1) as usize;
        for (i, (b, at)) in list.into_iter().enumerate() {
            let mut d = Decision {
                id: b.id.clone(),
                created_at: at,
                keep: false,
                reasons: Vec::new(),
                rules: Vec::new(),
            };
            if i < n {
                d.keep_for(KeepRule::Last, format!("last {n} of tenant {name}={value}"));
            }
            if super::kept_by_marks(&b.id, marks) {
                d.keep_for(KeepRule::Pinned, "pinned or suspicious".to_string());
            }
            out.push(d);
        }
    }
    out.sort_by_key(|d| std::cmp::Reverse(d.created_at));
    Ok(out)
}

/// The ids of `archives` the tenants' retention keeps.
pub(crate) fn kept(
    archives: &[&BackupRecord],
    counts: &HashMap<String, u32>,
    marks: &HashMap<String, BackupMarks>,
) -> Result<std::collections::HashSet<String>> {
    Ok(decide(archives, counts, marks)?
        .into_iter()
        .filter(|d| d.keep)
        .map(|d| d.id)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::BackupStatus;

    fn archive(id: &str, day: u32, tenant: Option<(&str, &str)>) -> BackupRecord {
        let mut manifest = serde_json::json!({"format_version": 1});
        if let Some((name, value)) = tenant {
            manifest["tenant"] = serde_json::json!({"name": name, "root": "\"public\".\"orgs\"",
                "key": "id", "value": value, "rows_checked": 1, "outside": 0});
        }
        BackupRecord {
            id: id.into(),
            project_id: "p".into(),
            path: format!("/b/{id}"),
            size: 1,
            sha256: "x".into(),
            backup_type: "database".parse().unwrap(),
            created_at: format!("2026-11-{day:02}T00:00:00Z"),
            verified_at: None,
            status: BackupStatus::Verified,
            verify_problem: None,
            manifest_json: Some(manifest.to_string()),
            job_id: None,
            origin: Default::default(),
        }
    }

    #[test]
    fn each_tenant_keeps_its_own_last_n_and_full_backups_are_not_counted() {
        let list = [
            archive("full", 20, None),
            archive("a1", 1, Some(("orgs", "1"))),
            archive("a2", 2, Some(("orgs", "1"))),
            archive("a3", 3, Some(("orgs", "1"))),
            archive("b1", 1, Some(("orgs", "2"))),
            archive("c1", 1, Some(("teams", "1"))),
            archive("c2", 2, Some(("teams", "1"))),
        ];
        let refs: Vec<&BackupRecord> = list.iter().collect();
        let counts = HashMap::from([("orgs".to_string(), 2)]);
        let mut kept: Vec<String> = kept(&refs, &counts, &HashMap::new())
            .unwrap()
            .into_iter()
            .collect();
        kept.sort();
        // orgs keeps 2 per value (the tenant gone since, orgs=2, keeps its last); teams the default.
        assert_eq!(kept, ["a2", "a3", "b1", "c1", "c2"]);
        let d = decide(&refs, &counts, &HashMap::new()).unwrap();
        assert_eq!(d.len(), 6, "the full backup is not the tenants' to decide");
        let a3 = d.iter().find(|d| d.id == "a3").unwrap();
        assert_eq!(a3.reasons, ["last 2 of tenant orgs=1"]);
    }
}
