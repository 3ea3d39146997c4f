//! Where a project's backups live ([`copies`]: every backup with its copies and their state) and
//! its 3-2-1 state at a glance ([`protection`]): how many copies the newest backup has, on how
//! many distinct media (the computer, each destination), whether one is offsite, and the copies
//! that are pending (since when, why).

use crate::catalog::{BackupCopy, CopyState, DestinationKind, LOCAL_DESTINATION};
use crate::engine::Engine;
use crate::error::Result;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

/// One copy of a backup, as shown.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CopyView {
    /// `local` or the destination's name.
    pub destination: String,
    pub kind: Option<DestinationKind>,
    pub location: String,
    pub state: CopyState,
    pub status: crate::catalog::BackupStatus,
    pub size: u64,
    pub uploaded_at: Option<String>,
    pub verified_at: Option<String>,
    pub pending_since: Option<String>,
    pub last_error: Option<String>,
    pub attempts: u32,
    /// A copy locked at its destination (S3 Object Lock): until when (RFC 3339, UTC); its
    /// destination's retention does not remove it before.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub retain_until: Option<String>,
}

/// A backup and where its copies are.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BackupCopies {
    pub backup_id: String,
    pub created_at: String,
    pub path: String,
    pub copies: Vec<CopyView>,
}

/// A copy waiting for its destination.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PendingCopy {
    pub backup_id: String,
    pub destination: String,
    pub since: String,
    pub last_error: Option<String>,
    pub attempts: u32,
}

/// A project's 3-2-1 state.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Protection {
    pub project: String,
    /// The newest backup (none yet: everything below is zero).
    pub newest_backup: Option<String>,
    /// Copies of the newest backup that exist (stored): the local archive and each destination.
    pub copies: u32,
    /// Distinct media holding them: this computer, and each destination not on the same disk
    /// as the local backups (see `notes`).
    pub media: u32,
    /// One of them is offsite (an S3 bucket, an rclone remote, or a folder marked offsite).
    pub offsite: bool,
    /// Three copies, two media, one offsite.
    pub meets_321: bool,
    pub destinations: u32,
    /// Every pending copy of the project, oldest first.
    pub pending: Vec<PendingCopy>,
    /// Why copies count less than they seem, one sentence each ("usb is on the same disk as
    /// the local backups: one medium, not two"; "… a remote of type local …: not offsite").
    pub notes: Vec<String>,
    /// In words: "3 copies on 2 media, 1 offsite", "copy to nas pending since 2026-11-24T09:00:00.000Z".
    pub summary: String,
}

/// Every backup of the project, newest first, with its copies (local first).
pub(crate) async fn copies(engine: &Engine, project: &str) -> Result<Vec<BackupCopies>> {
    let p = engine.catalog.project(project).await?;
    let dests: HashMap<String, (String, DestinationKind)> = engine
        .catalog
        .destinations(&p.id)
        .await?
        .into_iter()
        .map(|d| (d.id, (d.name, d.kind)))
        .collect();
    let mut by_backup: HashMap<String, Vec<BackupCopy>> = HashMap::new();
    for c in engine.catalog.project_copies(&p.id).await? {
        by_backup.entry(c.backup_id.clone()).or_default().push(c);
    }
    let view = |c: BackupCopy| {
        let (name, kind) = match dests.get(&c.destination) {
            Some((n, k)) => (n.clone(), Some(*k)),
            None => (c.destination.clone(), None),
        };
        CopyView {
            destination: name,
            kind,
            location: c.location,
            state: c.state,
            status: c.status,
            size: c.size,
            uploaded_at: c.uploaded_at,
            verified_at: c.verified_at,
            pending_since: c.pending_since,
            last_error: c.last_error,
            attempts: c.attempts,
            retain_until: c.retain_until,
        }
    };
    Ok(engine
        .catalog
        .backups(&p.id)
        .await?
        .into_iter()
        .map(|b| BackupCopies {
            copies: by_backup
                .remove(&b.id)
                .unwrap_or_default()
                .into_iter()
                .map(view)
                .collect(),
            backup_id: b.id,
            created_at: b.created_at,
            path: b.path,
        })
        .collect())
}

/// The backup server's copy of backup `id` of project `p`, when the server made it and the
/// project still has its server.
async fn server_copy(
    engine: &Engine,
    p: &crate::catalog::Project,
    id: Option<&str>,
) -> Result<Option<crate::health::CopyMark>> {
    let Some(id) = id else { return Ok(None) };
    let origin = engine
        .catalog
        .backup_rows(&p.id)
        .await?
        .into_iter()
        .find(|b| b.id == id)
        .map(|b| b.origin);
    let components = engine.catalog.components(&p.id).await?;
    Ok(origin.and_then(|o| crate::health::gather::server_mark(o, components.server.as_ref())))
}

/// The project's 3-2-1 state (see [`Protection`]).
pub(crate) async fn protection(engine: &Engine, project: &str) -> Result<Protection> {
    let p = engine.catalog.project(project).await?;
    let dests = engine.catalog.destinations(&p.id).await?;
    let all = copies(engine, project).await?;
    let mut pending: Vec<PendingCopy> = all
        .iter()
        .flat_map(|b| {
            b.copies
                .iter()
                .filter(|c| c.state == CopyState::Pending)
                .map(|c| PendingCopy {
                    backup_id: b.backup_id.clone(),
                    destination: c.destination.clone(),
                    since: c.pending_since.clone().unwrap_or_default(),
                    last_error: c.last_error.clone(),
                    attempts: c.attempts,
                })
        })
        .collect();
    pending.sort_by(|a, b| a.since.cmp(&b.since));
    let newest = all.first();
    let stored: Vec<&CopyView> = newest
        .map(|b| {
            b.copies
                .iter()
                .filter(|c| c.state == CopyState::Stored)
                .collect()
        })
        .unwrap_or_default();
    // The backup server's own copy of a backup it made is one more copy on one more medium (not
    // offsite): the same rule the checklist counts by (`health::gather::server_mark`).
    let server = server_copy(engine, &p, newest.map(|b| b.backup_id.as_str())).await?;
    let copies = stored.len() as u32 + u32::from(server.is_some());
    // The computer is one medium, each destination another, unless it is on the same disk
    // (a folder on the local backups' filesystem, an rclone remote of type local).
    let local_dir = stored
        .iter()
        .find(|c| c.destination == LOCAL_DESTINATION)
        .and_then(|c| Path::new(&c.location).parent().map(Path::to_path_buf));
    let (local_medium, by_id) = crate::health::media::media(local_dir.as_deref(), &dests).await;
    let medium_of = |c: &CopyView| {
        if c.destination == LOCAL_DESTINATION {
            return Some(&local_medium);
        }
        let d = dests.iter().find(|d| d.name == c.destination)?;
        by_id.get(&d.id)
    };
    let mut keys: Vec<String> = stored
        .iter()
        .map(|c| medium_of(c).map_or_else(|| format!("name:{}", c.destination), |m| m.key.clone()))
        .collect();
    keys.extend(server.map(|m| format!("server:{}", m.place)));
    let media =
        crate::health::media::count(&keys.iter().map(String::as_str).collect::<Vec<_>>()) as u32;
    let offsite = stored
        .iter()
        .any(|c| c.destination != LOCAL_DESTINATION && medium_of(c).is_some_and(|m| m.offsite));
    let notes: Vec<String> = stored
        .iter()
        .filter_map(|c| medium_of(c).and_then(|m| m.note.clone()))
        .collect();
    let meets_321 = crate::health::meets_321(copies as usize, media as usize, offsite);
    let mut summary = match newest {
        None => "no backup yet".to_string(),
        Some(_) => format!(
            "{copies} {} on {media} {}{}",
            if copies == 1 { "copy" } else { "copies" },
            if media == 1 { "medium" } else { "media" },
            if offsite {
                ", 1 offsite"
            } else {
                ", none offsite"
            }
        ),
    };
    if !notes.is_empty() {
        summary.push_str(&format!(" ({})", notes.join("; ")));
    }
    if let Some(first) = pending.first() {
        summary.push_str(&format!(
            "; copy to {} pending since {}",
            first.destination, first.since
        ));
    }
    Ok(Protection {
        project: p.name,
        newest_backup: newest.map(|b| b.backup_id.clone()),
        copies,
        media,
        offsite,
        meets_321,
        destinations: dests.len() as u32,
        pending,
        notes,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use crate::catalog::testing::{new_backup, new_project};
    use crate::catalog::{BackupOrigin, Components, ServerComponent};
    use crate::secrets::MemoryStore;
    use crate::{Engine, EngineConfig};
    use std::sync::Arc;

    /// The 3-2-1 view and the checklist count the backup server's own copy by one rule: a backup
    /// the server made is on this computer and on the server, two copies on two media.
    #[tokio::test]
    async fn the_server_copy_counts_in_the_321_view_as_in_the_checklist() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(
            EngineConfig::new(Arc::new(MemoryStore::new())).data_dir(Some(dir.path().join("d"))),
        )
        .await
        .unwrap();
        let catalog = engine.catalog();
        let p = catalog.add_project(&new_project("shop")).await.unwrap();
        let components = Components {
            server: Some(ServerComponent {
                url: "https://backup.example.com:8443/".into(),
                project: "shop".into(),
                fingerprint: None,
                insecure_http: false,
            }),
            ..Components::default()
        };
        catalog.set_components(&p.id, &components).await.unwrap();
        let archive = dir.path().join("shop_20261120_010000_full.tar.gz");
        std::fs::write(&archive, b"x").unwrap();
        let mut b = new_backup(&p.id, &archive, "2026-11-20T01:00:00Z");
        b.origin = BackupOrigin::Server;
        catalog.add_backup(&b).await.unwrap();

        let view = engine.protection("shop").await.unwrap();
        let h = engine.health(Some("shop")).await.unwrap().remove(0);
        let marks: Vec<_> = h.copies.iter().filter(|c| c.ok).collect();
        assert!(
            marks.iter().any(|c| c.kind == "server"),
            "the checklist counts the server: {:?}",
            h.copies
        );
        assert_eq!(
            view.copies as usize,
            marks.len(),
            "{view:?} vs {:?}",
            h.copies
        );
        assert_eq!(view.copies, 2, "{view:?}");
        assert_eq!(view.media, 2, "{view:?}");
        assert!(!view.offsite, "the server is beside the database: {view:?}");
        let (line, _) = crate::health::copies_line(&h.copies);
        assert!(
            line.starts_with("2 of 3 copies, on 2 separate disks"),
            "{line}"
        );
        assert!(
            view.summary.starts_with("2 copies on 2 media"),
            "{}",
            view.summary
        );
    }
}
