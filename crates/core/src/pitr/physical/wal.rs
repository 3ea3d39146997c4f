//! WAL file names and the commits in a stretch of WAL (read with the server version's own
//! `pg_waldump`: the plan names the exact commit a restore stops at).

use super::Tools;
use crate::error::{Error, ErrorKind, Result};
use crate::pitr::{lsn_text, parse_lsn};
use std::path::Path;

/// The WAL file holding `lsn` on `timeline` (`000000010000000000000003`).
pub fn file_name(timeline: u32, lsn: u64, seg_size: u64) -> String {
    let segno = lsn / seg_size;
    let per = 0x1_0000_0000u64 / seg_size;
    format!("{timeline:08X}{:08X}{:08X}", segno / per, segno % per)
}

/// A WAL file's name (a `.partial` one too): (timeline, first LSN, partial).
pub fn parse_file_name(name: &str, seg_size: u64) -> Option<(u32, u64, bool)> {
    let (base, partial) = match name.strip_suffix(".partial") {
        Some(b) => (b, true),
        None => (name, false),
    };
    if base.len() != 24 || !base.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let tli = u32::from_str_radix(&base[..8], 16).ok()?;
    let hi = u64::from_str_radix(&base[8..16], 16).ok()?;
    let lo = u64::from_str_radix(&base[16..], 16).ok()?;
    let per = 0x1_0000_0000u64 / seg_size;
    if lo >= per {
        return None;
    }
    Some((tli, (hi * per + lo) * seg_size, partial))
}

/// One commit record: where it starts (a `recovery_target_lsn` that stops right after it) and
/// its time (µs since the epoch, what `recovery_target_time` compares).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitRecord {
    pub lsn: u64,
    pub at: i64,
}

/// Where replay stops for `at` in `dir`'s WAL from `from` on: recovery's own rule for a time
/// target (stop before the first commit later than `at`), so the last commit applied is the one
/// before it (`None`: none after `from`), and how many commits are applied. Each WAL file's
/// records are listed by a `pg_waldump` of its own, on every core, in file order, each stopped
/// at its first commit later than `at` (files after the first that holds one are not read);
/// a record belongs to the file it starts in. The end of the available WAL ends the listing (a
/// partial file's zeros, a file not there). Blocking.
pub fn stop_in(
    tools: &Tools,
    dir: &Path,
    timeline: u32,
    from: u64,
    at: i64,
    seg_size: u64,
) -> Result<(Option<CommitRecord>, u64)> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut starts: Vec<u64> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?
        .filter_map(|e| e.ok())
        .filter_map(|e| parse_file_name(&e.file_name().to_string_lossy(), seg_size))
        .filter(|&(tli, start, _)| tli == timeline && start + seg_size > from)
        .map(|(_, start, _)| start)
        .collect();
    starts.sort_unstable();
    starts.dedup();
    // A file not following the one before ends the WAL there (as it ends recovery).
    if let Some(gap) = starts.windows(2).position(|w| w[1] != w[0] + seg_size) {
        starts.truncate(gap + 1);
    }
    let parts: Vec<std::sync::Mutex<Option<Part>>> =
        starts.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let first_later = AtomicUsize::new(usize::MAX);
    crate::pitr::segment::par_each(starts.len(), |i| {
        if i > first_later.load(Ordering::Relaxed) {
            return Ok(());
        }
        let range = Range {
            start: starts[i].max(from),
            // Records that start in this file, read to their end in the next one.
            owned_below: starts.get(i + 1).copied(),
            read_to: starts.get(i + 2).copied(),
        };
        let part = list_range(tools, dir, timeline, &range, at)?;
        if part.later {
            first_later.fetch_min(i, Ordering::Relaxed);
        }
        *parts[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(part);
        Ok(())
    })?;
    let (mut last, mut n) = (None, 0u64);
    for part in parts {
        let Some(part) = part.into_inner().unwrap_or_else(|p| p.into_inner()) else {
            break;
        };
        last = part.last.or(last);
        n += part.commits;
        if part.later {
            break;
        }
    }
    Ok((last, n))
}

/// Whether the WAL file starting at `file_start` in `dir` holds a commit later than `at` (read
/// from that file alone): then recovery's own time target stops inside the WAL at hand.
/// Blocking.
pub fn later_commit_in(
    tools: &Tools,
    dir: &Path,
    timeline: u32,
    file_start: u64,
    at: i64,
) -> Result<bool> {
    let range = Range {
        start: file_start,
        owned_below: None,
        read_to: None,
    };
    Ok(list_range(tools, dir, timeline, &range, at)?.later)
}

/// The WAL one `pg_waldump` lists: from `start`, the records that start below `owned_below`
/// (all: `None`), reading no further than `read_to`.
struct Range {
    start: u64,
    owned_below: Option<u64>,
    read_to: Option<u64>,
}

/// What one range held: its last commit not later than `at` before the first later one, how
/// many, and whether a later one was found (the stop is in this range).
struct Part {
    last: Option<CommitRecord>,
    commits: u64,
    later: bool,
}

fn list_range(tools: &Tools, dir: &Path, timeline: u32, range: &Range, at: i64) -> Result<Part> {
    use std::io::{BufRead, Read};
    let mut cmd = std::process::Command::new(tools.bin("pg_waldump"));
    cmd.env("TZ", "UTC")
        .arg("-p")
        .arg(dir)
        .args(["--timeline", &timeline.to_string(), "--rmgr", "Transaction"])
        .args(["--start", &lsn_text(range.start)]);
    if let Some(end) = range.read_to {
        cmd.args(["--end", &lsn_text(end)]);
    }
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| Error::io("running pg_waldump", e))?;
    let mut err_pipe = child.stderr.take();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = err_pipe.as_mut() {
            let _ = e.take(64 * 1024).read_to_string(&mut s);
        }
        s
    });
    let out = child
        .stdout
        .take()
        .ok_or_else(|| Error::internal("no pg_waldump output"))?;
    let mut part = Part {
        last: None,
        commits: 0,
        later: false,
    };
    let mut early = false;
    for line in std::io::BufReader::new(out).lines() {
        let line = line.map_err(|e| Error::io("reading pg_waldump's listing", e))?;
        if let (Some(below), Some(lsn)) = (range.owned_below, line_lsn(&line)) {
            if lsn >= below {
                // The next file's records are its own listing's.
                early = true;
                break;
            }
        }
        let Some(c) = parse_commit_line(&line)? else {
            continue;
        };
        if c.at > at {
            part.later = true;
            early = true;
            break;
        }
        part.last = Some(c);
        part.commits += 1;
    }
    if early {
        let _ = child.kill();
    }
    let status = child
        .wait()
        .map_err(|e| Error::io("running pg_waldump", e))?;
    let stderr = stderr.join().unwrap_or_default();
    // It ends in an error at the end of the WAL it has; any other error is one.
    if !early
        && !status.success()
        && !stderr.contains("invalid record length")
        && !stderr.contains("could not find file")
        && !stderr.contains("invalid magic number 0000")
    {
        return Err(Error::new(
            ErrorKind::ToolFailed,
            format!("pg_waldump failed: {}", stderr.trim()),
        ));
    }
    Ok(part)
}

/// The LSN a listing line's record starts at (`… lsn: 0/01A3F2B8, prev …`).
fn line_lsn(line: &str) -> Option<u64> {
    let lsn = line.split("lsn: ").nth(1)?.split(',').next()?;
    parse_lsn(lsn).ok()
}

/// `rmgr: Transaction len (rec/tot): 34/34, tx: 735, lsn: 0/01A3F2B8, prev 0/01A3F280, desc:
/// COMMIT 2026-11-26 22:50:19.123456 UTC` → the commit; other lines → `None`.
pub fn parse_commit_line(line: &str) -> Result<Option<CommitRecord>> {
    let Some(desc) = line.split("desc: ").nth(1) else {
        return Ok(None);
    };
    let Some(rest) = desc.strip_prefix("COMMIT ") else {
        return Ok(None);
    };
    let lsn = line
        .split("lsn: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .ok_or_else(|| Error::invalid(format!("pg_waldump: no LSN in {line:?}")))?;
    let stamp = rest.split(';').next().unwrap_or_default().trim();
    let stamp = stamp.strip_suffix(" UTC").unwrap_or(stamp);
    let at = chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S%.f")
        .map_err(|_| Error::invalid(format!("pg_waldump: not a commit time in {line:?}")))?
        .and_utc()
        .timestamp_micros();
    Ok(Some(CommitRecord {
        lsn: parse_lsn(lsn)?,
        at,
    }))
}

/// Every commit of a listing, in order.
pub fn parse_commits(stdout: &str) -> Result<Vec<CommitRecord>> {
    stdout
        .lines()
        .filter_map(|l| parse_commit_line(l).transpose())
        .collect()
}

/// Where replay stops for `at` among `commits` (the rule of [`stop_in`]).
pub fn stop_for(commits: &[CommitRecord], at: i64) -> (Option<CommitRecord>, u64) {
    let n = commits.iter().take_while(|c| c.at <= at).count();
    (n.checked_sub(1).map(|i| commits[i]), n as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let seg = 16 << 20;
        let n = file_name(1, 0x1_0300_0028, seg);
        assert_eq!(n, "000000010000000100000003");
        assert_eq!(parse_file_name(&n, seg), Some((1, 0x1_0300_0000, false)));
        assert_eq!(
            parse_file_name(&format!("{n}.partial"), seg),
            Some((1, 0x1_0300_0000, true))
        );
        assert_eq!(parse_file_name("00000001000000010000FFFF", seg), None);
        assert_eq!(parse_file_name("x.history", seg), None);
    }

    #[test]
    fn commits_parse_and_stop_before_the_first_later_one() {
        let out = "rmgr: Transaction len (rec/tot):     34/    34, tx:        735, lsn: 0/01A3F2B8, prev 0/01A3F280, desc: COMMIT 2026-11-26 22:50:19.123456 UTC\n\
                   rmgr: Transaction len (rec/tot):     34/    34, tx:        736, lsn: 0/01A3F300, prev 0/01A3F2B8, desc: ABORT 2026-11-26 22:50:20.000000 UTC\n\
                   rmgr: Transaction len (rec/tot):    130/   130, tx:        737, lsn: 0/01A3F400, prev 0/01A3F300, desc: COMMIT 2026-11-26 22:50:21.5 UTC; inval msgs: catcache 7\n";
        let c = parse_commits(out).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].lsn, 0x01A3_F2B8);
        assert_eq!(
            crate::pitr::micros_text(c[1].at),
            "2026-11-26T22:50:21.500000Z"
        );
        let at = crate::pitr::parse_time("2026-11-26T22:50:20Z").unwrap();
        assert_eq!(stop_for(&c, at), (Some(c[0]), 1));
        assert_eq!(stop_for(&c, 0), (None, 0));
    }
}
