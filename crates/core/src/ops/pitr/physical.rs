//! Physical capture of a project (docs/pitr.md "Physical capture"): `enable --mode physical`
//! (a physical slot, then a `pg_basebackup` base sealed in the project's `pitr` folder) and one
//! pass (`pg_receivewal` on the slot up to the server's flushed WAL, then every new or grown
//! WAL file sealed as a segment and registered). The windows, the limits on the slot's WAL,
//! pruning and the alerts are the logical capture's own.

use super::alert::{self, Lost};
use super::{active_chain, connect, segment_dir, PitrEnabled, PitrRun, StoredCoverage};
use crate::catalog::{PitrChain, Project};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::pitr::physical::{self, wal, BaseLsns, Modes, Tools, WalNow};
use crate::pitr::segment::SegmentInfo;
use crate::pitr::{micros_text, server, Names};
use crate::postgres::conn::ConnSpec;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// Where `pg_receivewal` writes, under the data folder: a private folder per chain.
pub const WAL_DIR: &str = "pitr-wal";
/// The WAL page size PostgreSQL is built with (a partial file is kept up to its last page).
const WAL_PAGE: usize = 8192;

/// A physical chain's base, kept as JSON in the chain's `base_snapshot`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhysicalBase {
    /// The sealed `base.tar`.
    pub path: String,
    pub sha256: String,
    #[serde(flatten)]
    pub lsns: BaseLsns,
    pub seg_size: u64,
    /// The server's major version (the restore's server binaries must be the same).
    pub major: u32,
}

fn blocking_err(e: tokio::task::JoinError) -> Error {
    Error::internal(format!("a blocking task failed: {e}"))
}

/// The private folder `pg_receivewal` writes chain `chain_id`'s WAL into.
pub(crate) fn wal_dir(engine: &Engine, chain_id: &str) -> PathBuf {
    engine.data_dir.join(WAL_DIR).join(chain_id)
}

/// The server's tools of its own major version, and the major.
async fn tools_for(
    engine: &Engine,
    conn: &mut sqlx::PgConnection,
    spec: &ConnSpec,
) -> Result<Tools> {
    let info = crate::postgres::conn::server_info(conn, spec).await?;
    let configured = engine.pg_bin();
    let major = info.major();
    tokio::task::spawn_blocking(move || Tools::find(major, configured.as_deref()))
        .await
        .map_err(blocking_err)?
}

/// Which captures project `name`'s server and role allow, and why not the other (the
/// project's test shows it).
pub(crate) async fn modes(engine: &Engine, name: &str) -> Result<Modes> {
    let project = engine.catalog.project(name).await?;
    let (spec, mut conn) = connect(engine, &project).await?;
    let mut m = physical::settings_allow(&mut conn, &spec).await?;
    if m.physical.is_none() {
        match tools_for(engine, &mut conn, &spec).await {
            Ok(tools) => {
                let password = engine.password_of(&project).await?;
                let s = spec.clone();
                m.physical = tokio::task::spawn_blocking(move || {
                    physical::replication_allowed(&tools, &s, password.as_deref())
                })
                .await
                .map_err(blocking_err)?;
            }
            Err(e) => m.physical = Some(e.message().to_string()),
        }
    }
    m.recommend();
    Ok(m)
}

pub(crate) async fn enable(
    engine: &Engine,
    name: &str,
    max_retained: Option<u64>,
    keep_within: Option<i64>,
) -> Result<PitrEnabled> {
    let project = engine.catalog.project(name).await?;
    // Held until the base is recorded (or the chain ended), as the logical capture's enable.
    let _base = super::unfinished::base_lock(engine, &project)?;
    super::unfinished::settle(engine, &project, true).await?;
    if active_chain(engine, &project).await?.is_some() {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!("point-in-time capture is already enabled for {name}"),
        ));
    }
    let m = modes(engine, name).await?;
    if let Some(why) = m.physical {
        return Err(Error::new(
            ErrorKind::Permission,
            format!("physical capture is not possible for {name}: {why}"),
        )
        .with_hint(match m.logical {
            None => "the logical capture is: offsite pitr enable PROJECT".to_string(),
            Some(l) => format!("the logical capture is not either: {l}"),
        }));
    }
    let names = Names::for_project(&project.id);
    let (spec, mut conn) = connect(engine, &project).await?;
    let tools = tools_for(engine, &mut conn, &spec).await?;
    let restart = physical::create_slot(&mut conn, &spec, &names.slot).await?;
    let unlogged = physical::unlogged_tables(&mut conn, &spec).await?;
    let stored = StoredCoverage {
        covered: vec!["the whole server (every database, physical WAL)".into()],
        not_covered: unlogged
            .into_iter()
            .map(|t| (t, physical::UNLOGGED_EMPTY.to_string()))
            .collect(),
        ..Default::default()
    };
    let json = serde_json::to_string(&stored).map_err(|e| Error::internal(e.to_string()))?;
    let max = max_retained.unwrap_or(super::DEFAULT_MAX_RETAINED);
    let chain = engine
        .catalog
        .add_pitr_chain_mode(
            &project.id,
            "physical",
            &names.slot,
            "",
            &json,
            max as i64,
            keep_within,
        )
        .await?;
    let cancel = CancellationToken::new();
    match take_base(engine, &project, &chain, &tools, &spec, restart, &cancel).await {
        Ok((base_id, base_at)) => Ok(PitrEnabled {
            chain_id: chain.id,
            slot: names.slot,
            publication: String::new(),
            coverage: stored,
            base_backup_id: base_id,
            base_at: micros_text(base_at),
        }),
        Err(e) => {
            let _ = server::drop_slot(&mut conn, &spec, &names.slot).await;
            let _ = engine
                .catalog
                .end_pitr_chain(&chain.id, "its base backup failed")
                .await;
            let _ = std::fs::remove_dir_all(wal_dir(engine, &chain.id));
            Err(e)
        }
    }
}

/// The base: `pg_basebackup` (tar, with its WAL) into a private temporary folder beside the
/// segments, sealed as `<project>_base_<start LSN>.pitr[.age]`, recorded with the chain. Its
/// time is the server's clock once it returned: every commit before it is in the base or after
/// its end LSN (in the WAL the slot kept).
async fn take_base(
    engine: &Engine,
    project: &Project,
    chain: &PitrChain,
    tools: &Tools,
    spec: &ConnSpec,
    restart: u64,
    cancel: &CancellationToken,
) -> Result<(String, i64)> {
    let dir = segment_dir(engine, project);
    crate::private_fs::create_dir_all(&dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let recv = wal_dir(engine, &chain.id);
    crate::private_fs::create_dir_all(&recv)
        .map_err(|e| Error::io(format!("creating {}", recv.display()), e))?;
    let mut conn = spec
        .connect(engine.password_of(project).await?.as_deref())
        .await?;
    let now = physical::wal_now(&mut conn, spec).await?;
    if tools.major < 15 {
        // Before 15 pg_receivewal starts an empty folder at the server's position, not the
        // slot's: a zero-filled partial file of the slot's WAL file makes it start there.
        let name = format!(
            "{}.partial",
            wal::file_name(now.timeline, restart, now.seg_size)
        );
        let f = crate::private_fs::create_new(&recv.join(name))
            .map_err(|e| Error::io("creating the first WAL file", e))?;
        f.set_len(now.seg_size)
            .map_err(|e| Error::io("creating the first WAL file", e))?;
    }
    let tmp = crate::private_fs::tempdir_in(&dir, crate::tempfiles::TEMP_PREFIX)
        .map_err(|e| Error::io(format!("creating a folder in {}", dir.display()), e))?;
    let password = engine.password_of(project).await?;
    let (t, s, d, c) = (
        tools.clone(),
        spec.clone(),
        tmp.path().to_path_buf(),
        cancel.clone(),
    );
    let (tar, lsns) = tokio::task::spawn_blocking(move || {
        physical::base_backup(&t, &s, password.as_deref(), &d, &c)
    })
    .await
    .map_err(blocking_err)??;
    let base_at = physical::wal_now(&mut conn, spec).await?.at;
    let encryption = crate::ops::encryption::for_backup(engine, project).await?;
    let stem = format!("base_{:016X}", lsns.start_lsn);
    let path = dir.join(physical::sealed_name(
        &project.name,
        &stem,
        encryption.is_some(),
    ));
    let len = std::fs::metadata(&tar)
        .map_err(|e| Error::io(format!("reading {}", tar.display()), e))?
        .len();
    let info = SegmentInfo {
        start_lsn: lsns.start_lsn,
        first_commit_lsn: lsns.start_lsn,
        end_lsn: lsns.end_lsn,
        first_commit_at: base_at,
        last_commit_at: base_at,
        closed_at: base_at,
        commits: 0,
        messages: 0,
        fingerprint: String::new(),
        sequences: Vec::new(),
    };
    let p = path.clone();
    let (sha256, _) = tokio::task::spawn_blocking(move || {
        physical::seal_file(&tar, len, &info, &p, encryption.as_ref())
    })
    .await
    .map_err(blocking_err)??;
    drop(tmp);
    let base = PhysicalBase {
        path: path.display().to_string(),
        sha256,
        lsns,
        seg_size: now.seg_size,
        major: tools.major,
    };
    let json = serde_json::to_string(&base).map_err(|e| Error::internal(e.to_string()))?;
    let id = format!("{}_{stem}", project.name);
    engine
        .catalog
        .set_pitr_base(&chain.id, &id, &json, base_at)
        .await?;
    Ok((id, base_at))
}

/// One pass of a physical chain: WAL received up to the server's flushed position, every new
/// or grown WAL file sealed and registered, the slot's WAL compared with its limit.
pub(crate) async fn run_once(
    engine: &Engine,
    project: &Project,
    chain: &PitrChain,
) -> Result<PitrRun> {
    let (spec, mut conn) = connect(engine, project).await?;
    let mut done = PitrRun::default();
    let Some(before) = server::slot_state(&mut conn, &spec, &chain.slot).await? else {
        done.dropped = Some(alert::slot_lost(engine, project, chain, Lost::Vanished).await?);
        return Ok(done);
    };
    let base: PhysicalBase = serde_json::from_str(chain.base_snapshot.as_deref().unwrap_or(""))
        .map_err(|_| Error::integrity("a physical chain without its base"))?;
    let tools = tools_for(engine, &mut conn, &spec).await?;
    // The server's clock and flushed WAL now, less a second: every commit before that time is
    // at or before that WAL position (a commit's time is taken before its record is written).
    let now = physical::wal_now(&mut conn, &spec).await?;
    let segments = engine.catalog.pitr_segments(&chain.id).await?;
    let have = segments.iter().map(|s| s.end_lsn).max().unwrap_or(0);
    let recv = wal_dir(engine, &chain.id);
    let mut reached = now.flush_lsn <= have;
    if !reached {
        let password = engine.password_of(project).await?;
        let (t, s, slot, d) = (
            tools.clone(),
            spec.clone(),
            chain.slot.clone(),
            recv.clone(),
        );
        let upto = now.flush_lsn;
        tokio::task::spawn_blocking(move || {
            physical::receive(&t, &s, password.as_deref(), &slot, &d, upto)
        })
        .await
        .map_err(blocking_err)??;
    }
    let encryption = crate::ops::encryption::for_backup(engine, project).await?;
    let sealed = seal_received(engine, project, chain, &base, &now, &recv, encryption).await?;
    done.segments = sealed.count;
    reached = reached || sealed.upto >= now.flush_lsn;
    if reached {
        engine
            .catalog
            .set_pitr_polled(&chain.id, now.at - 1_000_000)
            .await?;
    }
    if done.segments > 0 {
        super::prune::by_stored_setting(engine, &project.name).await;
    }
    if let Some(after) = server::slot_state(&mut conn, &spec, &chain.slot).await? {
        let retained = before.retained_bytes.max(after.retained_bytes);
        if retained > chain.max_retained {
            server::drop_slot(&mut conn, &spec, &chain.slot).await?;
            let lost = Lost::OverLimit { retained };
            done.dropped = Some(alert::slot_lost(engine, project, chain, lost).await?);
            let _ = std::fs::remove_dir_all(&recv);
        }
    }
    Ok(done)
}

struct Sealed {
    count: u64,
    /// The end of the WAL now sealed (on the chain's timeline).
    upto: u64,
}

/// Seal every WAL file of the receive folder the catalog does not hold whole yet: a completed
/// file once, the partial one each time it grew. Completed files sealed are removed from the
/// folder but the newest (where `pg_receivewal` resumes).
async fn seal_received(
    engine: &Engine,
    project: &Project,
    chain: &PitrChain,
    base: &PhysicalBase,
    now: &WalNow,
    recv: &Path,
    encryption: Option<crate::crypto::Encryption>,
) -> Result<Sealed> {
    let seg = base.seg_size;
    let mut files: Vec<(u64, bool, PathBuf)> = std::fs::read_dir(recv)
        .map_err(|e| Error::io(format!("reading {}", recv.display()), e))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let (tli, start, partial) = wal::parse_file_name(&name, seg)?;
            (tli == base.lsns.timeline).then(|| (start, partial, e.path()))
        })
        .collect();
    files.sort_by_key(|(start, partial, _)| (*start, !*partial));
    let known: std::collections::BTreeMap<u64, u64> = engine
        .catalog
        .pitr_segments(&chain.id)
        .await?
        .into_iter()
        .map(|s| (s.start_lsn, s.end_lsn))
        .collect();
    let dir = segment_dir(engine, project);
    let last_poll = chain.last_poll_at.or(chain.base_at).unwrap_or(0);
    let mut out = Sealed {
        count: 0,
        upto: known.values().copied().max().unwrap_or(0),
    };
    let newest = files.last().map(|(s, _, _)| *s);
    for (start, partial, path) in &files {
        let p = path.clone();
        let used = tokio::task::spawn_blocking(move || physical::used_len(&p, WAL_PAGE))
            .await
            .map_err(blocking_err)??;
        let end = if *partial {
            // Everything up to the flushed position asked for was received (or the pass
            // timed out, and the file ends where its data ends).
            (start + used).min(now.flush_lsn.max(*start)).max(*start)
        } else {
            start + seg
        };
        let is_last = Some(*start) == newest;
        if known.get(start).is_some_and(|&e| e >= end) || used == 0 {
            if !partial && !is_last {
                let _ = std::fs::remove_file(path);
            }
            continue;
        }
        let closed_at = if is_last {
            now.at - 1_000_000
        } else {
            last_poll
        };
        let info = SegmentInfo {
            start_lsn: *start,
            first_commit_lsn: *start,
            end_lsn: end,
            first_commit_at: closed_at,
            last_commit_at: closed_at,
            closed_at,
            commits: 0,
            messages: 0,
            fingerprint: String::new(),
            sequences: Vec::new(),
        };
        let name = wal::file_name(base.lsns.timeline, *start, seg);
        let sealed = dir.join(physical::sealed_name(
            &project.name,
            &format!("wal_{name}"),
            encryption.is_some(),
        ));
        let (src, dst, enc, i) = (
            path.clone(),
            sealed.clone(),
            encryption.clone(),
            info.clone(),
        );
        let len = if *partial { used } else { seg };
        let (sha, bytes) = tokio::task::spawn_blocking(move || {
            physical::seal_file(&src, len, &i, &dst, enc.as_ref())
        })
        .await
        .map_err(blocking_err)??;
        engine
            .catalog
            .add_pitr_segment(&chain.id, &sealed.to_string_lossy(), &info, bytes, &sha)
            .await?;
        out.count += 1;
        out.upto = out.upto.max(end);
        if !partial && !is_last {
            let _ = std::fs::remove_file(path);
        }
    }
    Ok(out)
}
