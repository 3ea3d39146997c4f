//! Copies of a project's change segments at its destinations (docs/pitr.md, "Copies at the
//! destinations"), on the triggers backups are copied on:
//! - after a capture pass that closed segments, each new segment goes to every destination
//!   ([`after_pass`], as a backup's last step copies it); a destination that cannot take it
//!   never fails the capture: the copy is recorded `pending`;
//! - `offsite sync` and the schedules' loop of pending copies ([`sync`]) upload what is missing
//!   or pending, and delete the copies of pruned windows (a copy locked by S3 Object Lock waits
//!   for its date, as a backup's copy does);
//! - a pruned window's copies are deleted right after the prune ([`remove_orphans`]).
//!
//! A segment goes to `<project>/pitr/<file name>` with its `.sha256` beside it; what is stored
//! is checked (size and SHA-256) before it is recorded. [`fetch_missing`] brings a segment whose
//! local file is missing or damaged back from a stored copy (bounded by its recorded size, its
//! checksum checked, put in place only then). [`check`] is `pitr verify`'s check of the copies.

use crate::archive::sidecar_path;
use crate::catalog::{
    parse_timestamp, CopyState, DestinationRecord, PitrSegment, Project, SegmentCopy,
    SegmentCopyTarget,
};
use crate::destinations::{put_file, Destination, FileBody, HashedBody, PutOptions, Sha256};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::pitr::segment;
use futures::StreamExt;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

/// One attempt to copy a segment to a destination.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SegmentCopyResult {
    pub chain_id: String,
    /// The segment's file name.
    pub segment: String,
    /// The destination's name.
    pub destination: String,
    pub state: CopyState,
    pub location: String,
    /// Why it is pending.
    pub error: Option<String>,
    #[serde(skip)]
    kind: Option<ErrorKind>,
}

/// What a sync did with the segments.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SegmentSync {
    pub copies: Vec<SegmentCopyResult>,
    /// Copies of pruned windows deleted at their destination (`destination: key`).
    pub removed: Vec<String>,
    /// Copies of pruned windows locked at their destination until a date (they wait).
    pub locked: Vec<String>,
    /// Segment copies still pending afterwards.
    pub pending: u32,
}

/// One copy's check (`pitr verify`).
#[derive(Debug, Clone, Serialize)]
pub struct CopyCheck {
    pub chain_id: String,
    /// The segment's local path.
    pub path: String,
    pub destination: String,
    pub location: String,
    /// `stored` copies are checked; a `pending` one is reported, never counted as damaged.
    pub state: CopyState,
    pub ok: bool,
    pub problem: Option<String>,
}

/// A segment fetched back from a copy.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Fetched {
    pub path: String,
    pub destination: String,
}

/// Where a segment goes at a destination: `<project>/pitr/<file name>`.
pub(crate) fn object_key(project: &Project, path: &str) -> String {
    let file = Path::new(path)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{}/pitr/{file}", project.name)
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}

/// A project's registered segments, with their chain's id.
async fn segments(engine: &Engine, project: &Project) -> Result<Vec<(String, PitrSegment)>> {
    let mut out = Vec::new();
    for c in engine.catalog.pitr_chains(&project.id).await? {
        for s in engine.catalog.pitr_segments(&c.id).await? {
            out.push((c.id.clone(), s));
        }
    }
    Ok(out)
}

async fn verify_local(path: &str, sha256: &str) -> Result<()> {
    let (path, sha) = (PathBuf::from(path), sha256.to_string());
    tokio::task::spawn_blocking(move || segment::verify(&path, Some(&sha)))
        .await
        .map_err(|e| Error::internal(e.to_string()))?
}

/// Put the segment and its `.sha256`, then check what is stored. An object of that name that
/// is not this segment is replaced only when the catalog recorded a copy there (an older file
/// of the same segment, written again after a killed capture); otherwise it is refused.
async fn upload(dest: &dyn Destination, s: &PitrSegment, key: &str, ours: bool) -> Result<()> {
    verify_local(&s.path, &s.sha256).await.map_err(|e| {
        Error::new(
            e.kind(),
            format!("the local segment cannot be copied: {}", e.message()),
        )
    })?;
    let want = s.sha256.to_ascii_lowercase();
    let same = |obj: &crate::destinations::StoredObject| obj.size == s.bytes;
    let put = match dest.stat(key).await? {
        Some(obj) if same(&obj) && dest.sha256(key).await? == want => None,
        Some(_) if !ours => {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "{key} in {} holds another file; it was not replaced",
                    dest.location()
                ),
            )
            .with_hint("move that file away, then run `offsite sync PROJECT`"))
        }
        Some(_) => Some(PutOptions { overwrite: true }),
        None => Some(PutOptions::default()),
    };
    if let Some(opts) = put {
        let body = HashedBody::new(
            FileBody {
                path: PathBuf::from(&s.path),
            },
            want.clone(),
        );
        dest.put(key, &body, opts).await?;
    }
    let side = sidecar_path(Path::new(&s.path));
    if side.is_file() {
        let opts = PutOptions { overwrite: true };
        put_file(dest, &format!("{key}.sha256"), &side, opts).await?;
    }
    let ok = match dest.stat(key).await? {
        Some(obj) if same(&obj) => match obj.sha256 {
            Some(h) => h == want,
            None => dest.sha256(key).await? == want,
        },
        _ => false,
    };
    if !ok {
        let _ = dest.delete(key).await;
        let _ = dest.delete(&format!("{key}.sha256")).await;
        return Err(Error::integrity(format!(
            "the copy of {key} in {} does not match the segment; it was removed",
            dest.location()
        )));
    }
    Ok(())
}

fn target(
    project: &Project,
    chain: &str,
    s: &PitrSegment,
    d: &DestinationRecord,
) -> SegmentCopyTarget {
    SegmentCopyTarget {
        project_id: project.id.clone(),
        chain_id: chain.to_string(),
        first_commit_lsn: s.first_commit_lsn,
        destination: d.id.clone(),
        location: object_key(project, &s.path),
        size: s.bytes,
        sha256: s.sha256.to_ascii_lowercase(),
    }
}

/// Copy one segment to one destination and record the outcome (stored, with its lock's date
/// at a locking destination; or pending with the error). Never fails.
async fn copy_one(
    engine: &Engine,
    project: &Project,
    chain: &str,
    s: &PitrSegment,
    d: &DestinationRecord,
    ours: bool,
    cancel: &CancellationToken,
) -> SegmentCopyResult {
    let t = target(project, chain, s, d);
    let lock = crate::ops::destinations::lock_for(engine, d);
    let attempt = async {
        let dest: Box<dyn Destination> =
            crate::ops::destinations::open_with(engine, project, d, lock)
                .await?
                .into();
        upload(dest.as_ref(), s, &t.location, ours).await
    };
    let result = tokio::select! {
        r = attempt => r,
        _ = cancel.cancelled() => Err(Error::cancelled()),
    };
    let recorded = match &result {
        Ok(()) => {
            let until = lock.map(|l| crate::clock::format_timestamp(l.retain_until));
            engine
                .catalog
                .record_segment_copy_stored(&t, until.as_deref())
                .await
        }
        Err(e) => {
            tracing::warn!(project = %project.name, destination = %d.name, "segment copy pending: {e}");
            engine
                .catalog
                .record_segment_copy_pending(&t, &e.to_string())
                .await
        }
    };
    let (error, kind) = match (&result, &recorded) {
        (Err(e), _) | (Ok(()), Err(e)) => (Some(e.to_string()), Some(e.kind())),
        _ => (None, None),
    };
    SegmentCopyResult {
        kind,
        chain_id: chain.to_string(),
        segment: file_name(&s.path),
        destination: d.name.clone(),
        state: if error.is_none() {
            CopyState::Stored
        } else {
            CopyState::Pending
        },
        location: t.location,
        error,
    }
}

/// Errors that say the destination as a whole cannot take copies now (the rest wait without
/// an attempt each).
fn destination_down(kind: Option<ErrorKind>) -> bool {
    matches!(
        kind,
        Some(
            ErrorKind::Connection
                | ErrorKind::RateLimited
                | ErrorKind::Auth
                | ErrorKind::Permission
                | ErrorKind::DiskFull
                | ErrorKind::KeychainUnavailable
                | ErrorKind::ToolMissing
        )
    )
}

/// Copy `todo` (chain id, segment, whether a copy of it was recorded there) to `d`; once the
/// destination is found down, the rest are recorded pending without an attempt.
async fn copy_list(
    engine: &Engine,
    project: &Project,
    d: &DestinationRecord,
    todo: &[(String, PitrSegment, bool)],
    cancel: &CancellationToken,
    out: &mut Vec<SegmentCopyResult>,
) -> Result<()> {
    let mut down: Option<String> = None;
    // The Storage objects' versions kept so far go first: a segment's copy is stored only
    // with them (super::objects_copy).
    let kept = super::objects_copy::kept_of(engine, project);
    if !todo.is_empty() && kept.exists() {
        let oldest = super::objects_copy::oldest_window(engine, project).await;
        let mirrored = async {
            let dest = crate::ops::destinations::open(engine, project, d).await?;
            super::objects_copy::mirror(dest.as_ref(), &project.name, &kept, oldest, cancel).await
        };
        match mirrored.await {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Cancelled => return Err(e),
            Err(e) => {
                down = Some(format!(
                    "the kept Storage objects could not be copied first: {e}"
                ))
            }
        }
    }
    for (chain, s, ours) in todo {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        if let Some(why) = &down {
            let t = target(project, chain, s, d);
            let msg = format!("not tried: {} cannot take copies now ({why})", d.name);
            engine.catalog.record_segment_copy_pending(&t, &msg).await?;
            out.push(SegmentCopyResult {
                kind: Some(ErrorKind::Connection),
                chain_id: chain.clone(),
                segment: file_name(&s.path),
                destination: d.name.clone(),
                state: CopyState::Pending,
                location: t.location,
                error: Some(msg),
            });
            continue;
        }
        let r = copy_one(engine, project, chain, s, d, *ours, cancel).await;
        if r.kind == Some(ErrorKind::Cancelled) {
            return Err(Error::cancelled());
        }
        if destination_down(r.kind) {
            down = r.error.clone();
        }
        out.push(r);
    }
    Ok(())
}

/// After a capture pass: copy the segments it closed to every destination of the project.
/// Never fails the capture (a failure is a pending copy; the log says why).
pub(crate) async fn after_pass(
    engine: &Engine,
    project: &Project,
    new: &[(String, PitrSegment)],
    cancel: &CancellationToken,
) -> Vec<SegmentCopyResult> {
    let mut out = Vec::new();
    if new.is_empty() {
        return out;
    }
    let dests = match engine.catalog.destinations(&project.id).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(project = %project.name, "copying change segments: {e}");
            return out;
        }
    };
    for d in &dests {
        let todo: Vec<_> = new
            .iter()
            .map(|(c, s)| (c.clone(), s.clone(), false))
            .collect();
        if let Err(e) = copy_list(engine, project, d, &todo, cancel, &mut out).await {
            tracing::warn!(project = %project.name, destination = %d.name, "copying change segments: {e}");
        }
    }
    out
}

/// `offsite sync` and the schedules' loop: every registered segment that a destination lacks
/// (never copied, pending, or an older file of it) is copied there; the copies of pruned
/// windows are deleted.
pub(crate) async fn sync(
    engine: &Engine,
    project: &Project,
    cancel: &CancellationToken,
) -> Result<SegmentSync> {
    let mut out = SegmentSync::default();
    let segs = segments(engine, project).await?;
    let copies = engine.catalog.segment_copies(&project.id).await?;
    let at: HashMap<(&str, u64, &str), &SegmentCopy> = copies
        .iter()
        .map(|c| {
            (
                (
                    c.chain_id.as_str(),
                    c.first_commit_lsn,
                    c.destination.as_str(),
                ),
                c,
            )
        })
        .collect();
    for d in engine.catalog.destinations(&project.id).await? {
        let todo: Vec<(String, PitrSegment, bool)> = segs
            .iter()
            .filter_map(|(chain, s)| {
                let have = at.get(&(chain.as_str(), s.first_commit_lsn, d.id.as_str()));
                let done = have.is_some_and(|c| {
                    c.state == CopyState::Stored && c.sha256.eq_ignore_ascii_case(&s.sha256)
                });
                // A segment not here any more cannot be copied from here: its copies stay.
                (!done && Path::new(&s.path).is_file())
                    .then(|| (chain.clone(), s.clone(), have.is_some()))
            })
            .collect();
        copy_list(engine, project, &d, &todo, cancel, &mut out.copies).await?;
    }
    remove_orphans(engine, project, &mut out).await?;
    super::objects_copy::mirror_all(engine, project, cancel).await;
    out.pending = engine
        .catalog
        .segment_copies(&project.id)
        .await?
        .iter()
        .filter(|c| c.state == CopyState::Pending)
        .count() as u32;
    Ok(out)
}

/// The date a copy is locked until, when that is after `now` (an unreadable date: for ever).
fn locked_until(c: &SegmentCopy, now: time::OffsetDateTime) -> Option<String> {
    let until = c.retain_until.as_deref()?;
    match parse_timestamp(until) {
        Ok(t) if t <= now => None,
        _ => Some(until.to_string()),
    }
}

/// Delete the copies whose segment is no longer registered (its window was pruned), at each
/// destination that answers; a copy locked there until a later date waits (and is listed).
pub(crate) async fn remove_orphans(
    engine: &Engine,
    project: &Project,
    out: &mut SegmentSync,
) -> Result<()> {
    let live: HashSet<(String, u64)> = segments(engine, project)
        .await?
        .into_iter()
        .map(|(c, s)| (c, s.first_commit_lsn))
        .collect();
    let dests = engine.catalog.destinations(&project.id).await?;
    let mut opened: HashMap<String, Option<Box<dyn Destination>>> = HashMap::new();
    let now = engine.clock.now();
    for c in engine.catalog.segment_copies(&project.id).await? {
        if live.contains(&(c.chain_id.clone(), c.first_commit_lsn)) {
            continue;
        }
        let Some(d) = dests.iter().find(|d| d.id == c.destination) else {
            continue;
        };
        if c.state == CopyState::Pending {
            engine
                .catalog
                .remove_segment_copy(&c.chain_id, c.first_commit_lsn, &c.destination)
                .await?;
            continue;
        }
        if let Some(until) = locked_until(&c, now) {
            out.locked
                .push(format!("{}: {} (locked until {until})", d.name, c.location));
            continue;
        }
        if !opened.contains_key(&d.id) {
            let dest = match crate::ops::destinations::open(engine, project, d).await {
                Ok(dest) => Some(dest),
                Err(e) => {
                    tracing::warn!(destination = %d.name, "pruned segments' copies wait for the destination: {e}");
                    None
                }
            };
            opened.insert(d.id.clone(), dest);
        }
        let Some(Some(dest)) = opened.get(&d.id) else {
            continue;
        };
        dest.delete(&c.location).await?;
        let _ = dest.delete(&format!("{}.sha256", c.location)).await;
        engine
            .catalog
            .remove_segment_copy(&c.chain_id, c.first_commit_lsn, &c.destination)
            .await?;
        out.removed.push(format!("{}: {}", d.name, c.location));
    }
    Ok(())
}

/// Every recorded copy of the project's registered segments checked at its destination: there,
/// its size, and the SHA-256 of its bytes read back against the segment's recorded checksum.
pub(crate) async fn check(engine: &Engine, project: &Project) -> Result<Vec<CopyCheck>> {
    let segs = segments(engine, project).await?;
    let dests = engine.catalog.destinations(&project.id).await?;
    let mut opened: HashMap<String, std::result::Result<Box<dyn Destination>, String>> =
        HashMap::new();
    let mut out = Vec::new();
    for c in engine.catalog.segment_copies(&project.id).await? {
        let Some((_, s)) = segs
            .iter()
            .find(|(ch, s)| *ch == c.chain_id && s.first_commit_lsn == c.first_commit_lsn)
        else {
            continue;
        };
        let Some(d) = dests.iter().find(|d| d.id == c.destination) else {
            continue;
        };
        let mut row = CopyCheck {
            chain_id: c.chain_id.clone(),
            path: s.path.clone(),
            destination: d.name.clone(),
            location: c.location.clone(),
            state: c.state,
            ok: c.state == CopyState::Stored,
            problem: None,
        };
        if c.state == CopyState::Pending {
            row.problem = Some(format!(
                "not copied yet: {}",
                c.last_error.as_deref().unwrap_or("pending")
            ));
            out.push(row);
            continue;
        }
        if !opened.contains_key(&d.id) {
            let dest = crate::ops::destinations::open(engine, project, d)
                .await
                .map_err(|e| e.to_string());
            opened.insert(d.id.clone(), dest);
        }
        let problem = match opened.get(&d.id) {
            Some(Ok(dest)) => check_copy(dest.as_ref(), &c, s).await,
            Some(Err(e)) => Some(format!("the destination cannot be read: {e}")),
            None => None,
        };
        row.ok = problem.is_none();
        row.problem = problem;
        out.push(row);
    }
    Ok(out)
}

async fn check_copy(dest: &dyn Destination, c: &SegmentCopy, s: &PitrSegment) -> Option<String> {
    match dest.stat(&c.location).await {
        Ok(None) => return Some("missing at the destination".into()),
        Ok(Some(obj)) if obj.size != s.bytes => {
            return Some(format!(
                "its size is {} bytes, not the segment's {}",
                obj.size, s.bytes
            ))
        }
        Ok(Some(_)) => {}
        Err(e) => return Some(format!("the destination cannot be read: {e}")),
    }
    match dest.deep_sha256(&c.location).await {
        Ok(h) if h.eq_ignore_ascii_case(&s.sha256) => None,
        Ok(_) => Some("its checksum does not match the segment's".into()),
        Err(e) => Some(format!("the destination cannot be read: {e}")),
    }
}

/// The destinations (names) holding a stored copy of each registered segment, by its path.
pub(crate) async fn holders(
    engine: &Engine,
    project: &Project,
) -> Result<HashMap<String, Vec<String>>> {
    let segs = segments(engine, project).await?;
    let dests = engine.catalog.destinations(&project.id).await?;
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for c in engine.catalog.segment_copies(&project.id).await? {
        let seg = segs
            .iter()
            .find(|(ch, s)| *ch == c.chain_id && s.first_commit_lsn == c.first_commit_lsn);
        let (Some((_, s)), Some(d)) = (seg, dests.iter().find(|d| d.id == c.destination)) else {
            continue;
        };
        if c.state == CopyState::Stored && c.sha256.eq_ignore_ascii_case(&s.sha256) {
            out.entry(s.path.clone()).or_default().push(d.name.clone());
        }
    }
    Ok(out)
}

/// Bring every registered segment of `damaged` (paths the caller found missing or damaged
/// here) whose local file still is so back from a stored copy of the same file (its recorded
/// SHA-256): downloaded beside it (`….part`, 0600, bounded
/// by the recorded size), checked, then renamed over the local name with its `.sha256`. A copy
/// that does not match is not kept; the next copy is tried. What could not be fetched stays as
/// it was (the window says it is broken there).
pub(crate) async fn fetch_missing(
    engine: &Engine,
    project: &Project,
    damaged: &std::collections::HashSet<String>,
) -> Result<Vec<Fetched>> {
    let segs = segments(engine, project).await?;
    let mut copies: Option<Vec<SegmentCopy>> = None;
    let mut fetched = Vec::new();
    for (chain, s) in &segs {
        if !damaged.contains(&s.path) || verify_local(&s.path, &s.sha256).await.is_ok() {
            continue;
        }
        if copies.is_none() {
            copies = Some(engine.catalog.segment_copies(&project.id).await?);
        }
        let dests = engine.catalog.destinations(&project.id).await?;
        let held = copies.iter().flatten().filter(|c| {
            c.chain_id == *chain
                && c.first_commit_lsn == s.first_commit_lsn
                && c.state == CopyState::Stored
                && c.sha256.eq_ignore_ascii_case(&s.sha256)
        });
        for c in held {
            let Some(d) = dests.iter().find(|d| d.id == c.destination) else {
                continue;
            };
            match fetch_one(engine, project, d, &c.location, s).await {
                Ok(()) => {
                    tracing::info!(project = %project.name, destination = %d.name, "change segment {} fetched back from its copy", s.path);
                    fetched.push(Fetched {
                        path: s.path.clone(),
                        destination: d.name.clone(),
                    });
                    break;
                }
                Err(e) => tracing::warn!(destination = %d.name, "fetching segment {}: {e}", s.path),
            }
        }
    }
    Ok(fetched)
}

/// Removes the `.part` unless disarmed.
struct PartGuard(Option<PathBuf>);

impl Drop for PartGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

async fn fetch_one(
    engine: &Engine,
    project: &Project,
    d: &DestinationRecord,
    key: &str,
    s: &PitrSegment,
) -> Result<()> {
    let dest = crate::ops::destinations::open(engine, project, d).await?;
    let path = PathBuf::from(&s.path);
    let dir = path
        .parent()
        .ok_or_else(|| Error::internal("a segment path without a folder"))?;
    crate::private_fs::create_dir_all_async(dir)
        .await
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let part = crate::transfer::part_path(&path);
    let _ = tokio::fs::remove_file(&part).await;
    let mut guard = PartGuard(Some(part.clone()));
    let writing = format!("writing {}", part.display());
    let mut file = crate::private_fs::tokio_open_options()
        .write(true)
        .create_new(true)
        .open(&part)
        .await
        .map_err(|e| Error::io(&writing, e))?;
    let mut stream = dest.read(key).await?;
    let (mut sha, mut size) = (Sha256::new(), 0u64);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        size += chunk.len() as u64;
        if size > s.bytes {
            return Err(Error::integrity(format!(
                "the copy in {} is larger than the segment",
                d.name
            )));
        }
        sha.update(&chunk);
        file.write_all(&chunk)
            .await
            .map_err(|e| Error::io(&writing, e))?;
    }
    file.flush().await.map_err(|e| Error::io(&writing, e))?;
    file.sync_all().await.map_err(|e| Error::io(&writing, e))?;
    drop(file);
    let got = sha.hex();
    if size != s.bytes || !got.eq_ignore_ascii_case(&s.sha256) {
        return Err(Error::integrity(format!(
            "the copy in {} does not match the segment (size or SHA-256); it was not kept",
            d.name
        )));
    }
    let name = file_name(&s.path);
    let side = sidecar_path(&path);
    crate::private_fs::write_atomic(&side, format!("{got}  {name}\n").as_bytes())
        .map_err(|e| Error::io("writing a segment's checksum", e))?;
    tokio::fs::rename(&part, &path)
        .await
        .map_err(|e| Error::io(format!("placing {}", path.display()), e))?;
    guard.0 = None;
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
    Ok(())
}
