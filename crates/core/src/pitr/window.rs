//! Which times a chain can restore to, and the plan for one time: pure rules over what the
//! catalog holds about a chain and its segments (the operation checks the files first).

use super::micros_text;
use crate::error::{Error, ErrorKind, Result};
use serde::Serialize;

/// One segment as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentFacts {
    pub path: String,
    /// Its SHA-256 as the catalog recorded it.
    pub sha256: String,
    pub start_lsn: u64,
    pub end_lsn: u64,
    pub first_commit_at: i64,
    pub last_commit_at: i64,
    pub closed_at: i64,
    pub fingerprint: String,
    /// The file is there and matches its checksum.
    pub intact: bool,
}

/// One chain: its base's time and fingerprint, its segments in LSN order, its last empty poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainFacts {
    pub id: String,
    pub base_backup_id: String,
    pub base_at: i64,
    pub base_fingerprint: String,
    pub segments: Vec<SegmentFacts>,
    pub last_poll_at: Option<i64>,
}

/// A span of restorable times (µs), and why it ends where it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Window {
    pub chain_id: String,
    pub from: i64,
    pub to: i64,
    pub from_text: String,
    pub to_text: String,
    /// `None`: it ends at the last capture; else what breaks it (a damaged segment, DDL, a gap).
    pub broken_by: Option<String>,
    /// How many of the chain's segments lie inside it.
    pub segments: usize,
}

/// The restorable window of a chain: from its base up to the last intact, continuous segment
/// with the base's columns (or the last poll that found nothing after it).
pub fn window(c: &ChainFacts) -> Window {
    let mut to = c.base_at;
    let mut broken_by = None;
    let mut used = 0;
    let mut prev_end: Option<u64> = None;
    for s in &c.segments {
        let why = if !s.intact {
            Some(format!("change segment {} is missing or damaged", s.path))
        } else if s.fingerprint != c.base_fingerprint {
            Some(definitions_changed(c, s))
        } else if prev_end.is_some_and(|e| s.start_lsn > e) {
            Some(format!("changes are missing before {}", s.path))
        } else {
            None
        };
        if why.is_some() {
            broken_by = why;
            break;
        }
        to = to.max(s.closed_at);
        prev_end = Some(s.end_lsn);
        used += 1;
    }
    if broken_by.is_none() {
        if let Some(p) = c.last_poll_at {
            to = to.max(p);
        }
    }
    Window {
        chain_id: c.id.clone(),
        from: c.base_at,
        to,
        from_text: micros_text(c.base_at),
        to_text: micros_text(to),
        broken_by,
        segments: used,
    }
}

/// Why a segment with another fingerprint than its base's ends the window.
fn definitions_changed(c: &ChainFacts, s: &SegmentFacts) -> String {
    use super::server::FINGERPRINT_V;
    if !c.base_fingerprint.starts_with(FINGERPRINT_V) && s.fingerprint.starts_with(FINGERPRINT_V) {
        return format!(
            "Offsite's check of the tables' definitions was widened (an update) before {}: a new \
             base starts the next window",
            micros_text(s.closed_at)
        );
    }
    format!(
        "the captured tables' definitions changed (DDL: columns, constraints, indexes, replica \
         identity or types) before {}",
        micros_text(s.closed_at)
    )
}

/// The chain and segments to restore `at` from: the newest chain whose window holds it, and its
/// segments up to the first whose commits all come after `at`. A time in no window is refused
/// naming the nearest restorable times before and after it.
pub fn choose(chains: &[ChainFacts], at: i64) -> Result<(ChainFacts, Window)> {
    let windows: Vec<Window> = chains.iter().map(window).collect();
    for (c, w) in chains.iter().zip(&windows).rev() {
        if w.from <= at && at <= w.to {
            let mut c = c.clone();
            c.segments.truncate(w.segments);
            let keep = c
                .segments
                .iter()
                .take_while(|s| s.first_commit_at <= at)
                .count();
            c.segments.truncate(keep);
            return Ok((c, w.clone()));
        }
    }
    let before = windows.iter().filter(|w| w.to < at).map(|w| w.to).max();
    let after = windows.iter().filter(|w| w.from > at).map(|w| w.from).min();
    let say = |t: Option<i64>| t.map(micros_text).unwrap_or_else(|| "none".into());
    Err(Error::new(
        ErrorKind::NotFound,
        format!(
            "{} is in no restorable window; nearest restorable times: before {}, after {}",
            micros_text(at),
            say(before),
            say(after)
        ),
    )
    .with_hint("`offsite pitr status PROJECT` lists the windows"))
}

/// The chains (oldest first) whose whole window ended before `cutoff` (µs): removable by a
/// time-window prune. Never the newest chain (the window restorable now, or the one a new base
/// will continue): a window is removed whole, as its base is where its replay starts.
pub fn prunable(chains: &[ChainFacts], cutoff: i64) -> Vec<(ChainFacts, Window)> {
    let Some((_, older)) = chains.split_last() else {
        return Vec::new();
    };
    older
        .iter()
        .map(|c| (c.clone(), window(c)))
        .filter(|(_, w)| w.to < cutoff)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(n: i64, start: u64, end: u64) -> SegmentFacts {
        SegmentFacts {
            path: format!("s{n}"),
            sha256: String::new(),
            start_lsn: start,
            end_lsn: end,
            first_commit_at: n * 10 + 1,
            last_commit_at: n * 10 + 5,
            closed_at: n * 10 + 9,
            fingerprint: "f".into(),
            intact: true,
        }
    }

    fn chain() -> ChainFacts {
        ChainFacts {
            id: "c".into(),
            base_backup_id: "b".into(),
            base_at: 5,
            base_fingerprint: "f".into(),
            segments: vec![seg(1, 1, 2), seg(2, 2, 3), seg(3, 3, 4)],
            last_poll_at: Some(100),
        }
    }

    #[test]
    fn windows_end_at_damage_ddl_and_gaps() {
        assert_eq!(window(&chain()).to, 100);
        let mut c = chain();
        c.segments[1].intact = false;
        let w = window(&c);
        assert_eq!((w.to, w.segments), (19, 1));
        assert!(w.broken_by.unwrap().contains("s2"));
        let mut c = chain();
        c.segments[2].fingerprint = "g".into();
        let w = window(&c);
        assert_eq!(w.to, 29);
        assert!(w.broken_by.unwrap().contains("definitions changed (DDL"));
        // A base of an older Offsite (columns only) meeting the wider check: said as that.
        c.segments[2].fingerprint = "v2:abc".into();
        let w = window(&c);
        assert_eq!(w.to, 29);
        assert!(w.broken_by.unwrap().contains("was widened (an update)"));
        let mut c = chain();
        c.segments[2].start_lsn = 9;
        assert_eq!(window(&c).to, 29);
    }

    #[test]
    fn prune_removes_whole_windows_before_the_cutoff_never_the_newest() {
        let mut a = chain();
        a.id = "a".into();
        let mut b = chain();
        b.id = "b".into();
        b.base_at = 200;
        b.last_poll_at = Some(300);
        let mut c = chain();
        c.id = "c".into();
        c.base_at = 400;
        c.last_poll_at = Some(500);
        let ids =
            |v: Vec<(ChainFacts, Window)>| v.into_iter().map(|(c, _)| c.id).collect::<Vec<_>>();
        let all = [a, b, c];
        assert!(
            prunable(&all, 100).is_empty(),
            "a window ending at the cutoff stays"
        );
        assert_eq!(ids(prunable(&all, 101)), ["a"]);
        assert_eq!(ids(prunable(&all, 10_000)), ["a", "b"]);
        assert!(prunable(&all[2..], 10_000).is_empty());
        assert!(prunable(&[], 10_000).is_empty());
    }

    #[test]
    fn choose_takes_segments_up_to_the_time_and_refuses_outside() {
        let (c, _) = choose(&[chain()], 22).unwrap();
        assert_eq!(c.segments.len(), 2);
        let (c, _) = choose(&[chain()], 7).unwrap();
        assert!(c.segments.is_empty());
        let mut broken = chain();
        broken.segments[1].intact = false;
        let e = choose(&[broken], 50).unwrap_err();
        assert!(
            e.message().contains("before 1970-01-01T00:00:00.000019Z"),
            "{e}"
        );
        assert!(e.message().contains("after none"), "{e}");
        let e = choose(&[chain()], 1).unwrap_err();
        assert!(e.message().contains("before none"), "{e}");
    }
}
