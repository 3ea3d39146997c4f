//! One step of the capture: read what the slot holds (without consuming it), write it as a
//! segment ending at a commit, and let the caller register it before the slot moves on
//! ([`advance`]). A capture killed anywhere resumes from the slot: nothing is lost (the slot
//! did not move) and nothing is doubled (the segment is named by its first commit and is
//! written again under the same name).

use super::segment::{SegmentInfo, SegmentWriter, ENCRYPTED_EXTENSION, EXTENSION};
use super::server;
use super::{lsn_text, parse_lsn, Names};
use crate::crypto::Encryption;
use crate::error::{Error, Result};
use crate::pgoutput::{self, Message};
use crate::postgres::conn::ConnSpec;
use futures::TryStreamExt;
use sqlx::PgConnection;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// A segment written and not yet registered.
#[derive(Debug, Clone)]
pub struct Captured {
    pub path: PathBuf,
    pub info: SegmentInfo,
    pub sha256: String,
    pub bytes: u64,
    /// The Storage objects its committed `storage.objects` rows write ([`super::objects`]).
    pub objects: Vec<super::objects::ObjectChange>,
}

/// Where the commits seen so far stand.
#[derive(Default)]
struct Commits {
    first: Option<(u64, i64)>,
    last: Option<(u64, i64)>,
    count: u64,
    /// The writer's position after the last commit.
    cut: u64,
    messages: u64,
    messages_at_cut: u64,
}

/// The file name of a segment: the project's stem and the first commit's LSN (sortable);
/// `.pitr.age` when encrypted.
pub fn segment_name(stem: &str, first_commit_lsn: u64, encrypted: bool) -> String {
    let ext = if encrypted {
        ENCRYPTED_EXTENSION
    } else {
        EXTENSION
    };
    format!("{stem}_{first_commit_lsn:016X}.{ext}")
}

/// Where a segment goes and how it is sealed.
pub struct Target<'a> {
    pub dir: &'a Path,
    /// The project's file name stem.
    pub stem: &'a str,
    /// The project's backup encryption (`None`: plain segments).
    pub encryption: Option<&'a Encryption>,
}

/// Where a pass reads to: the transactions committed before it began.
pub struct Upto {
    /// The server's clock when the pass began, less a second: every commit before it is in
    /// what the slot hands out up to [`lsn`](Self::lsn) (decoding reads flushed WAL; with
    /// synchronous_commit off a commit may wait up to three wal_writer_delay periods for its
    /// flush). µs since the epoch.
    pub closed_at: i64,
    /// The WAL flushed then (read after the clock: every commit a second older is in it).
    pub lsn: String,
}

/// Where a pass beginning now reads to.
pub async fn upto_now(conn: &mut PgConnection, spec: &ConnSpec) -> Result<Upto> {
    let (closed_at, lsn): (i64, String) = sqlx::query_as(
        "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint - 1000000, \
         pg_current_wal_flush_lsn()::text",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e))?;
    Ok(Upto { closed_at, lsn })
}

/// What one read of the slot gave.
pub struct Read {
    /// Up to when the commits are all read (µs since the epoch): the window's end so far.
    pub closed_at: i64,
    /// The segment written (`None`: nothing committed since the slot's position).
    pub captured: Option<Captured>,
    /// Whether the read stopped at `max_changes` with more to read (else everything committed
    /// before the pass began is in it).
    pub more: bool,
}

/// Read the transactions committed before `upto` (the pass's beginning) that the slot still
/// holds, up to about `max_changes` messages (whole transactions: the server stops only at a
/// commit), from the slot into a new segment under `dir`.
///
/// One read, not reads until the slot is empty: every read of a slot decodes again from its
/// restart point (up to the server's last logged snapshot of running transactions, seconds
/// back), so reading on while commits keep coming decoded the same WAL over and over — under
/// pgbench the capture cost the server a third of its throughput.
pub async fn capture_once(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    names: &Names,
    to: &Target<'_>,
    upto: &Upto,
    max_changes: u32,
    cancel: &CancellationToken,
) -> Result<Read> {
    let state = server::slot_state(conn, spec, &names.slot)
        .await?
        .ok_or_else(|| {
            Error::not_found(format!("the slot {} is gone from the server", names.slot))
        })?;
    let mut closed_at = upto.closed_at;
    let mut w = SegmentWriter::create(to.dir)?;
    let mut c = Commits::default();
    let mut scan = super::objects::ChangeScan::default();
    {
        let mut rows = sqlx::query_as::<_, (String, i64, Vec<u8>)>(
            "SELECT lsn::text, xid::text::bigint, data FROM pg_logical_slot_peek_binary_changes(\
             $1, $4::text::pg_lsn, $2, 'proto_version', '1', 'publication_names', $3)",
        )
        .bind(&names.slot)
        .bind(i32::try_from(max_changes).unwrap_or(i32::MAX))
        .bind(&names.publication)
        .bind(&upto.lsn)
        .fetch(&mut *conn);
        while let Some((lsn, xid, data)) = rows.try_next().await.map_err(|e| spec.map_sqlx(e))? {
            if cancel.is_cancelled() {
                return Err(Error::cancelled());
            }
            let lsn = parse_lsn(&lsn)?;
            w.message(lsn, xid as u32, &data)?;
            c.messages += 1;
            let message = pgoutput::decode(&data)?;
            scan.message(&message);
            if let Message::Commit {
                commit_lsn,
                end_lsn,
                commit_time,
                ..
            } = message
            {
                c.first.get_or_insert((commit_lsn, commit_time));
                c.last = Some((end_lsn, commit_time));
                c.count += 1;
                c.cut = w.position();
                c.messages_at_cut = c.messages;
            }
        }
    }
    let more = c.messages >= u64::from(max_changes);
    let (Some((first_lsn, first_at)), Some((end_lsn, last_at))) = (c.first, c.last) else {
        return Ok(Read {
            closed_at,
            captured: None,
            more: false,
        });
    };
    if more {
        // Stopped at the limit: complete only up to its last commit (less the same second:
        // commit times are taken before the commit records are written, in any order).
        closed_at = closed_at.min(last_at - 1_000_000);
    }
    // Messages after the last commit (the server ends at commits; never trust it): dropped
    // here, read again next time.
    w.truncate(c.cut)?;
    let info = SegmentInfo {
        start_lsn: state.confirmed_flush,
        first_commit_lsn: first_lsn,
        end_lsn,
        first_commit_at: first_at,
        last_commit_at: last_at,
        closed_at,
        commits: c.count,
        messages: c.messages_at_cut,
        fingerprint: server::fingerprint(conn, spec, &names.publication).await?,
        sequences: server::sequences(conn, spec, &names.publication).await?,
    };
    let path = to
        .dir
        .join(segment_name(to.stem, first_lsn, to.encryption.is_some()));
    let sha256 = w.finish(&info, &path, to.encryption)?;
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    Ok(Read {
        closed_at,
        captured: Some(Captured {
            path,
            info,
            sha256,
            bytes,
            objects: scan.finish(),
        }),
        more,
    })
}

/// Move the slot past a registered segment: the server may now free the WAL it held.
pub async fn advance(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    names: &Names,
    to: u64,
) -> Result<()> {
    sqlx::query("SELECT pg_replication_slot_advance($1, $2::text::pg_lsn)")
        .bind(&names.slot)
        .bind(lsn_text(to))
        .execute(&mut *conn)
        .await
        .map_err(|e| spec.map_sqlx(e).context("advancing the slot"))?;
    Ok(())
}
