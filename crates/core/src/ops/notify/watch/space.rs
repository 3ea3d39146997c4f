//! The space watcher (issue 27): hourly ([`SPACE_EVERY`]), for each project's backup folder and
//! each of its folder destinations, the file system's free and total bytes (`statvfs`; on
//! Windows `GetDiskFreeSpaceExW`) and the growth: the bytes of this project's backups (at a
//! destination: of its copies stored there) made in the last [`GROWTH_WINDOW_DAYS`] days, per
//! day. The condition holds when
//! - free space is below what the next backup needs ([`NEXT_BACKUP_FACTOR`] × the newest
//!   backup's size: the next one, and room for it to grow), or
//! - free space is below the absolute floor `space_min_free_mib` (default 1 GB), or
//! - at that growth it is full in fewer than `space_min_days_to_full` days (default 14).
//!
//! Never by a percentage of the disk alone: 10 % of a 4 TB disk is room for years of backups.
//!
//! When it starts to hold, one `space_low` event per project and place (projects sharing one
//! folder each get theirs, with their own growth); when it no longer holds it resets silently.
//! S3 and rclone destinations have no capacity to ask and are not checked.

use super::settings::{self, WatchSettings};
use crate::catalog::{format_timestamp, parse_timestamp, CopyState, DestinationKind, Project};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::notify::events::new_event;
use crate::notify::render::human_size;
use crate::notify::{Event, EventKind, EventProject};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use time::OffsetDateTime;

/// How often the space watcher looks.
pub const SPACE_EVERY: Duration = Duration::from_secs(3600);
/// The name under which the space watcher's last run is kept.
pub const SPACE_WATCH: &str = "space";
/// The condition's kind in `notify_conditions`.
pub const SPACE_LOW_KIND: &str = "space_low";
/// The next backup needs this many times the newest backup's size.
pub const NEXT_BACKUP_FACTOR: u64 = 2;
/// The growth is measured over this many days.
pub const GROWTH_WINDOW_DAYS: i64 = 14;

/// A file system's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// Bytes available to this user.
    pub free: u64,
    pub total: u64,
}

/// What the rule found about one place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    pub free_bytes: u64,
    pub total_bytes: u64,
    pub growth_bytes_per_day: u64,
    /// At the current growth (one decimal); `None` when not growing.
    pub days_until_full: Option<f64>,
    /// Why it is low (empty: it is not).
    pub reasons: Vec<String>,
}

/// Days until `free` bytes are used at `growth` bytes a day (one decimal); `None` when not
/// growing.
pub fn days_until_full(free: u64, growth: u64) -> Option<f64> {
    (growth > 0).then(|| (free as f64 / growth as f64 * 10.0).floor() / 10.0)
}

/// Growth per day: the bytes made within the window before `now`, over the window's days.
pub fn growth_per_day<'a>(
    made: impl IntoIterator<Item = (&'a str, u64)>,
    now: OffsetDateTime,
) -> Result<u64> {
    let start = now - time::Duration::days(GROWTH_WINDOW_DAYS);
    let mut sum: u64 = 0;
    for (at, size) in made {
        let t = parse_timestamp(at)?;
        if t > start && t <= now {
            sum = sum.saturating_add(size);
        }
    }
    Ok(sum / GROWTH_WINDOW_DAYS as u64)
}

/// The rule: low when the next backup (the newest was `newest` bytes) would not have the room it
/// needs, when free space is under the absolute floor, or by days until full. The disk's size
/// plays no part.
pub fn assess(cap: Capacity, growth: u64, newest: u64, s: &WatchSettings) -> Assessment {
    let days = days_until_full(cap.free, growth);
    let mut reasons = Vec::new();
    let need = newest.saturating_mul(NEXT_BACKUP_FACTOR);
    if need > 0 && cap.free < need {
        reasons.push(format!(
            "less free than the next backup needs (about {}: twice the last one's {})",
            human_size(need),
            human_size(newest)
        ));
    }
    let floor = u64::from(s.space_min_free_mib) << 20;
    if cap.free < floor {
        reasons.push(format!("less than {} free", human_size(floor)));
    }
    if let Some(d) = days.filter(|d| *d < f64::from(s.space_min_days_to_full)) {
        reasons.push(format!(
            "full in about {d} days at {}/day",
            human_size(growth)
        ));
    }
    Assessment {
        free_bytes: cap.free,
        total_bytes: cap.total,
        growth_bytes_per_day: growth,
        days_until_full: days,
        reasons,
    }
}

/// The file system's capacity at `path`, or at its nearest existing parent when it is not
/// made yet (a folder created by the first backup, a mount point not mounted: the disk it
/// would be on). Any other trouble (a file where a folder should be, no permission) is an
/// error.
pub fn capacity(path: &Path) -> Result<Capacity> {
    let what = || format!("reading the free space of {}", path.display());
    let mut at = path;
    loop {
        match std::fs::metadata(at) {
            // A file where a folder should be is trouble, not "on the parent's disk" (Unix says
            // so itself; Windows calls the path under a file not found).
            Ok(m) if at != path && !m.is_dir() => {
                return Err(Error::io(
                    what(),
                    std::io::Error::new(
                        std::io::ErrorKind::NotADirectory,
                        format!("{} is a file", at.display()),
                    ),
                ))
            }
            Ok(_) => break,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                at = at.parent().ok_or_else(|| Error::io(what(), e))?;
            }
            Err(e) => return Err(Error::io(what(), e)),
        }
    }
    statvfs(at).map_err(|e| Error::io(what(), e))
}

#[cfg(unix)]
fn statvfs(at: &Path) -> std::io::Result<Capacity> {
    let s = rustix::fs::statvfs(at)?;
    Ok(Capacity {
        free: s.f_bavail.saturating_mul(s.f_frsize),
        total: s.f_blocks.saturating_mul(s.f_frsize),
    })
}

/// Windows: `GetDiskFreeSpaceExW` (the bytes free to this user, as `f_bavail` is on Unix).
#[cfg(windows)]
fn statvfs(at: &Path) -> std::io::Result<Capacity> {
    use std::os::windows::ffi::OsStrExt;
    use windows_sys::Win32::Storage::FileSystem::GetDiskFreeSpaceExW;
    let name: Vec<u16> = at.as_os_str().encode_wide().chain([0]).collect();
    let (mut free, mut total) = (0u64, 0u64);
    // SAFETY: a NUL-terminated path; the two counters are written by the call, the third
    // (total free, all users) is not asked for.
    let ok =
        unsafe { GetDiskFreeSpaceExW(name.as_ptr(), &mut free, &mut total, std::ptr::null_mut()) };
    if ok == 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(Capacity { free, total })
}

/// The `space_low` event for `place` (`backup folder`, `destination nas`) at `path`.
pub fn space_event(
    project: EventProject,
    place: &str,
    path: &str,
    a: &Assessment,
    now: &str,
) -> Event {
    let until = a
        .days_until_full
        .map(|d| format!(", about {d} days until full"))
        .unwrap_or_default();
    let summary = format!(
        "Space is low for {}'s {place} ({path}): {} free of {}{until}",
        project.name,
        human_size(a.free_bytes),
        human_size(a.total_bytes)
    );
    let mut e = new_event(EventKind::SpaceLow, now, Some(project), summary);
    e.details = serde_json::json!({
        "where": place,
        "path": path,
        "free_bytes": a.free_bytes,
        "total_bytes": a.total_bytes,
        "growth_bytes_per_day": a.growth_bytes_per_day,
        "days_until_full": a.days_until_full,
        "reasons": a.reasons,
    });
    e
}

/// What a project keeps and the room it has, now: its backups in the catalog (count, bytes) and
/// its backup folder judged by the space watcher's rule ([`assess`]), for `/metrics` and the
/// agent's backup list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredAndSpace {
    pub backups: u64,
    pub bytes: u64,
    /// The backup folder's file system, by the rule; `low` when any reason holds.
    pub space: Assessment,
    pub low: bool,
}

/// [`StoredAndSpace`] of `project`.
pub async fn stored_and_space(engine: &Engine, project: &Project) -> Result<StoredAndSpace> {
    let s = settings::load(&engine.catalog).await?;
    let backups = engine.catalog.backups(&project.id).await?;
    let newest = backups
        .iter()
        .max_by(|a, b| a.created_at.cmp(&b.created_at))
        .map_or(0, |b| b.size);
    let now = engine.clock.now();
    let growth = growth_per_day(backups.iter().map(|b| (b.created_at.as_str(), b.size)), now)?;
    let folder = engine.backup_dir_of(project);
    let cap = tokio::task::spawn_blocking(move || capacity(&folder))
        .await
        .map_err(|e| Error::internal(format!("reading free space: {e}")))??;
    let space = assess(cap, growth, newest, &s);
    Ok(StoredAndSpace {
        backups: backups.len() as u64,
        bytes: backups.iter().map(|b| b.size).sum(),
        low: !space.reasons.is_empty(),
        space,
    })
}

/// Look at every project's backup folder and folder destinations; returns how many events were
/// queued. One project's trouble is logged and does not keep the others from being looked at.
pub(crate) async fn watch_space(engine: &Engine) -> Result<u32> {
    let s = settings::load(&engine.catalog).await?;
    let mut made = 0;
    for project in engine.catalog.projects().await? {
        match watch_project(engine, &project, &s).await {
            Ok(n) => made += n,
            Err(e) => tracing::warn!(project = %project.name, "space watcher skipped: {e}"),
        }
    }
    Ok(made)
}

/// One place to look at: the condition's subject, how people call it, its folder, and what
/// was made there (when, bytes).
struct Place {
    subject: String,
    name: String,
    folder: PathBuf,
    made: Vec<(String, u64)>,
}

async fn places(engine: &Engine, project: &Project) -> Result<Vec<Place>> {
    let catalog = &engine.catalog;
    let backups = catalog.backups(&project.id).await?;
    let mut out = vec![Place {
        subject: "folder".into(),
        name: "backup folder".into(),
        folder: engine.backup_dir_of(project),
        made: backups
            .iter()
            .map(|b| (b.created_at.clone(), b.size))
            .collect(),
    }];
    let copies = catalog.project_copies(&project.id).await?;
    for d in catalog.destinations(&project.id).await? {
        let Some(folder) = d
            .folder
            .as_ref()
            .filter(|_| d.kind == DestinationKind::Folder)
        else {
            continue;
        };
        let made = copies
            .iter()
            .filter(|c| c.destination == d.id && c.state == CopyState::Stored)
            .map(|c| {
                (
                    c.uploaded_at
                        .clone()
                        .unwrap_or_else(|| c.created_at.clone()),
                    c.size,
                )
            })
            .collect();
        out.push(Place {
            subject: format!("dest:{}", d.id),
            name: format!("destination {}", d.name),
            folder: PathBuf::from(folder),
            made,
        });
    }
    Ok(out)
}

async fn watch_project(engine: &Engine, project: &Project, s: &WatchSettings) -> Result<u32> {
    let catalog = &engine.catalog;
    let now = engine.clock.now();
    let stamp = format_timestamp(now);
    let newest = catalog
        .backups(&project.id)
        .await?
        .iter()
        .max_by(|a, b| a.created_at.cmp(&b.created_at))
        .map_or(0, |b| b.size);
    let mut made = 0;
    for place in places(engine, project).await? {
        let cap = capacity(&place.folder)?;
        let growth = growth_per_day(place.made.iter().map(|(t, n)| (t.as_str(), *n)), now)?;
        let a = assess(cap, growth, newest, s);
        let low = !a.reasons.is_empty();
        let path = place.folder.display().to_string();
        let detail = format!(
            "{} free of {}",
            human_size(a.free_bytes),
            human_size(a.total_bytes)
        );
        let who = EventProject {
            id: project.id.clone(),
            name: project.name.clone(),
        };
        let fired = catalog
            .record_condition(
                &project.id,
                SPACE_LOW_KIND,
                &place.subject,
                low,
                Some(&detail),
                |active| active.then(|| space_event(who, &place.name, &path, &a, &stamp)),
            )
            .await?;
        made += u32::from(fired);
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::render::render;
    use time::macros::datetime;

    const GIB: u64 = 1 << 30;

    const MIB: u32 = 1;

    fn rule(floor_mib: u32, days: u32) -> WatchSettings {
        WatchSettings {
            copy_pending_hours: 24,
            space_min_free_mib: floor_mib,
            space_min_days_to_full: days,
        }
    }

    #[test]
    fn days_until_full_and_growth_per_day() {
        assert_eq!(days_until_full(10 * GIB, GIB), Some(10.0));
        assert_eq!(days_until_full(10 * GIB, 3 * GIB), Some(3.3));
        assert_eq!(days_until_full(10 * GIB, 0), None);
        let now = datetime!(2030-01-15 00:00 UTC);
        let made = [
            ("2030-01-14T00:00:00.000Z", 7 * GIB),
            ("2030-01-02T00:00:00.000Z", 7 * GIB),
            // 14 days ago exactly, and older: outside the window.
            ("2030-01-01T00:00:00.000Z", 100 * GIB),
            ("2029-12-01T00:00:00.000Z", 100 * GIB),
        ];
        assert_eq!(growth_per_day(made, now).unwrap(), GIB);
        assert!(growth_per_day([("later", 1)], now).is_err());
    }

    /// The case: a big disk with a small share free but plenty of room is not low.
    #[test]
    fn a_big_disk_with_a_small_share_free_but_plenty_of_room_is_not_low() {
        // 4 % of 10 TB free: 400 GB, for backups of 5 GB.
        let cap = Capacity {
            free: 400 * GIB,
            total: 10 * 1024 * GIB,
        };
        let a = assess(cap, 0, 5 * GIB, &rule(1024 * MIB, 14));
        assert!(a.reasons.is_empty(), "{a:?}");
        // Almost full by share (0.5 %) and still 50 GB: not low for 1 GB backups.
        let cap = Capacity {
            free: 50 * GIB,
            total: 10 * 1024 * GIB,
        };
        assert!(assess(cap, 0, GIB, &rule(1024, 14)).reasons.is_empty());
    }

    #[test]
    fn each_threshold_alone_makes_it_low() {
        let cap = Capacity {
            free: 50 * GIB,
            total: 100 * GIB,
        };
        let fine = assess(cap, GIB, GIB, &rule(1024, 14));
        assert!(fine.reasons.is_empty(), "{fine:?}");
        assert_eq!(fine.days_until_full, Some(50.0));
        // The next backup needs twice the last one: 26 GB × 2 does not fit in 50 GB; 24 does.
        let a = assess(cap, 0, 26 * GIB, &rule(1024, 14));
        assert_eq!(
            a.reasons,
            vec![
                "less free than the next backup needs (about 52.0 GB: twice the last one's 26.0 GB)"
                    .to_string()
            ]
        );
        assert!(assess(cap, 0, 24 * GIB, &rule(1024, 14)).reasons.is_empty());
        // The absolute floor: 50 GB free is under a 60 GB floor, and not under 40 GB.
        let a = assess(cap, 0, 0, &rule(60 * 1024, 14));
        assert_eq!(a.reasons, vec!["less than 60.0 GB free".to_string()]);
        assert_eq!(a.days_until_full, None);
        assert!(assess(cap, 0, 0, &rule(40 * 1024, 14)).reasons.is_empty());
        // The default floor (1 GB) on a small disk nearly full.
        let tiny = Capacity {
            free: 512 << 20,
            total: 8 * GIB,
        };
        let a = assess(tiny, 0, 0, &WatchSettings::default());
        assert_eq!(a.reasons, vec!["less than 1.0 GB free".to_string()]);
        // By growth: 5 GB a day fills 50 GB in 10 days.
        let a = assess(cap, 5 * GIB, GIB, &rule(1024, 14));
        assert_eq!(a.reasons, vec!["full in about 10 days at 5.0 GB/day"]);
        assert!(assess(cap, 5 * GIB, GIB, &rule(1024, 10))
            .reasons
            .is_empty());
        // No backup yet and no floor: nothing to need.
        assert!(assess(cap, 50 * GIB, 0, &rule(0, 0)).reasons.is_empty());
        // A huge last backup does not overflow.
        let a = assess(cap, 0, u64::MAX, &rule(0, 0));
        assert_eq!(a.reasons.len(), 1, "{a:?}");
    }

    #[test]
    fn the_real_disk_has_a_capacity_and_missing_folders_use_their_parent() {
        let dir = tempfile::tempdir().unwrap();
        let cap = capacity(&dir.path().join("not/yet/made")).unwrap();
        assert!(cap.total > 0 && cap.free <= cap.total, "{cap:?}");
        // A file where a folder should be is trouble, not "on the parent's disk".
        std::fs::write(dir.path().join("file"), b"x").unwrap();
        assert!(capacity(&dir.path().join("file/sub")).is_err());
    }

    #[test]
    fn the_event_carries_the_numbers_and_reads_in_units() {
        let cap = Capacity {
            free: 5 * GIB,
            total: 100 * GIB,
        };
        let a = assess(cap, GIB, 3 * GIB, &rule(1024, 14));
        let who = EventProject {
            id: "p".into(),
            name: "shop".into(),
        };
        let e = space_event(
            who,
            "backup folder",
            "/srv/b",
            &a,
            "2030-01-02T00:00:00.000Z",
        );
        assert_eq!(e.event, EventKind::SpaceLow);
        assert_eq!(e.details["free_bytes"], 5 * GIB);
        assert_eq!(e.details["total_bytes"], 100 * GIB);
        assert_eq!(e.details["growth_bytes_per_day"], GIB);
        assert_eq!(e.details["days_until_full"], 5.0);
        let r = render(&e);
        assert!(
            r.subject.contains(
                "Space is low for shop's backup folder (/srv/b): 5.0 GB free of 100.0 GB, \
                 about 5 days until full"
            ),
            "{r:?}"
        );
        assert!(
            r.text.contains("Free: 5.0 GB of 100.0 GB (5 %)\n"),
            "{}",
            r.text
        );
        assert!(
            r.text.contains("Growth: 1.0 GB/day (last 14 days)\n"),
            "{}",
            r.text
        );
        assert!(r.text.contains("Days until full: 5\n"), "{}", r.text);
        assert!(
            r.text
                .contains("Why: less free than the next backup needs (about 6.0 GB: twice the last one's 3.0 GB); full in about 5 days"),
            "{}",
            r.text
        );
        let mut still = a.clone();
        still.days_until_full = None;
        let e = space_event(
            EventProject {
                id: "p".into(),
                name: "shop".into(),
            },
            "backup folder",
            "/srv/b",
            &still,
            "2030-01-02T00:00:00.000Z",
        );
        assert!(e.details["days_until_full"].is_null());
        assert!(render(&e).text.contains("Days until full: not growing\n"));
    }
}
