//! The ARCHIVE argument of verify, inspect and restore: a path, a backup id or
//! `PROJECT:latest`, resolved by the engine ([`Engine::resolve_archive`]).

use crate::output::{Out, ProgressBar};
use offsite_core::ops::pitr::at::{AtArchive, AtState};
use offsite_core::ops::resolve::parse_at_ref;
use offsite_core::ops::{ResolvedArchive, ResolvedBy};
use offsite_core::progress::{NoProgress, Progress, Reporter};
use offsite_core::{Engine, Result};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The archive `given` names. In text mode, an archive named by id or `PROJECT:latest` is
/// said on stderr (which backup was chosen, and its file).
pub(crate) async fn resolve(engine: &Engine, given: &Path, out: &Out) -> Result<ResolvedArchive> {
    let resolved = match given.to_str() {
        Some(s) => engine.resolve_archive(s).await?,
        // Not UTF-8: only ever a path.
        None => ResolvedArchive {
            path: given.to_path_buf(),
            backup_id: None,
            project: None,
            by: ResolvedBy::Path,
        },
    };
    if !out.json() && resolved.by != ResolvedBy::Path {
        eprintln!(
            "offsite: {} is backup {} of {}: {}",
            given.display(),
            resolved.backup_id.as_deref().unwrap_or("?"),
            resolved.project.as_deref().unwrap_or("?"),
            resolved.path.display()
        );
    }
    Ok(resolved)
}

/// `PROJECT@TIME` where an archive is read (browse, recover): the project's database as it was
/// then, materialised by the engine into a temporary archive (removed when the value is
/// dropped). Said on stderr in text mode: the plan first (the commit it replays up to), then
/// which state it is. `None`: `given` is no such reference.
pub(crate) async fn at_state(
    engine: &Engine,
    given: &Path,
    out: &Out,
    cancel: &CancellationToken,
) -> Result<Option<AtArchive>> {
    let Some(text) = given.to_str() else {
        return Ok(None);
    };
    let Some(r) = parse_at_ref(text) else {
        return Ok(None);
    };
    let r = r?;
    say_plan(engine, text, out).await?;
    let progress: Arc<dyn Progress> = if out.json() || !std::io::stderr().is_terminal() {
        Arc::new(NoProgress)
    } else {
        Arc::new(ProgressBar::new("state at a time"))
    };
    let reporter = Reporter::new(progress, "");
    let a = engine.materialise_at(&r, &reporter, cancel).await?;
    if !out.json() {
        eprintln!("offsite: {text} is {}", a.state.describe());
    }
    Ok(Some(a))
}

/// In text mode, for a `PROJECT@TIME` (else nothing): on stderr, the base it restores and the
/// commit it replays up to (the plan `restore --at` shows), before the state is made. A time in
/// no window is refused here, naming the nearest restorable times.
pub(crate) async fn say_plan(engine: &Engine, given: &str, out: &Out) -> Result<()> {
    let Some(r) = parse_at_ref(given) else {
        return Ok(());
    };
    let r = r?;
    let plan = engine.pitr_plan(&r.project, r.at).await?;
    if !out.json() {
        let planned = AtState::planned(&r.project, &plan);
        eprintln!(
            "offsite: {}: restoring base {} and replaying changes up to {} (LSN {})",
            given.trim(),
            planned.base_backup_id,
            planned
                .commit_at
                .as_deref()
                .unwrap_or("none: the base as taken"),
            planned.commit_lsn.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}
