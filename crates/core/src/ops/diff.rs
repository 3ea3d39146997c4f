//! Diff two backups, or a backup and a project's database now (see [`crate::diff`]): FROM and
//! TO resolved as restore resolves an archive (a path, a backup id, `PROJECT:latest`), plus
//! `PROJECT:latest~N` and `PROJECT:live`; encrypted archives unlocked as browse unlocks them
//! (the key given and the project's own keys).

use crate::crypto::UserKey;
use crate::diff::{self, DiffOptions, DiffReport, Side};
use crate::engine::Engine;
use crate::error::{ErrorKind, Result};
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// The suffix that names a project's database as it is now: `PROJECT:live`.
pub const LIVE_SUFFIX: &str = ":live";

/// What a side holds while it is read: the unlock of an encrypted archive, or the temporary
/// archive of a `PROJECT@TIME`.
enum Held {
    Unlocked(#[allow(dead_code)] crate::archive::Unlocked),
    At(#[allow(dead_code)] Box<crate::ops::pitr::at::AtArchive>),
}

/// A side as the user named it, resolved (with what it holds while it is read).
async fn side(
    engine: &Engine,
    given: &str,
    key: Option<UserKey>,
    cancel: &CancellationToken,
) -> Result<(Side, Option<Held>, Option<String>)> {
    let trimmed = given.trim();
    if let Some(at) = crate::ops::resolve::parse_at_ref(given) {
        let silent = crate::progress::Reporter::silent();
        let a = engine.materialise_at(&at?, &silent, cancel).await?;
        let side = Side::Archive {
            path: a.path.clone(),
            label: a.state.describe(),
        };
        return Ok((side, Some(Held::At(Box::new(a))), None));
    }
    if let Some(project) = trimmed.strip_suffix(LIVE_SUFFIX) {
        if std::fs::symlink_metadata(Path::new(given)).is_err() {
            let p = engine.catalog.project(project).await?;
            let side = Side::Live {
                spec: engine.spec_of(&p)?,
                password: engine.password_of(&p).await?,
                label: format!("{} (live)", p.name),
            };
            return Ok((side, None, Some(p.name)));
        }
    }
    let r = engine.resolve_archive(given).await?;
    let guard = engine.unlock_archive(&r.path, key).await?;
    let label = match (&r.project, &r.backup_id) {
        (Some(p), Some(id)) => format!("{p} backup {id}"),
        _ => r.path.display().to_string(),
    };
    Ok((
        Side::Archive {
            path: r.path,
            label,
        },
        Some(Held::Unlocked(guard)),
        None,
    ))
}

impl Engine {
    /// Compares FROM with TO table by table (see [`crate::diff`]). `key` opens encrypted
    /// archives besides their project's own keys.
    pub async fn diff(
        &self,
        from: &str,
        to: &str,
        options: &DiffOptions,
        key: Option<UserKey>,
        cancel: &CancellationToken,
    ) -> Result<DiffReport> {
        let (a, ga, live_a) = side(self, from, key.clone(), cancel).await?;
        let (b, gb, live_b) = side(self, to, key, cancel).await?;
        let out = diff::diff(&a, &b, options, cancel).await;
        drop((ga, gb));
        out.map_err(|e| match live_a.or(live_b) {
            Some(project) if e.kind() == ErrorKind::Auth => self.password_hint(&project, e),
            _ => e,
        })
    }
}
