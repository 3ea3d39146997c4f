//! Where a base backup and the captured changes meet: the dump's transaction snapshot
//! (`pg_current_snapshot()`, recorded in the base's manifest). The slot exists before the base
//! is taken, so every transaction the snapshot sees as committed is already in the base and is
//! skipped on replay; every other one is replayed. Exact, with no replication connection.

use crate::error::{Error, Result};
use std::collections::BTreeSet;

/// `xmin:xmax:xip,…` with 64-bit transaction ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XidSnapshot {
    xmin: u64,
    xmax: u64,
    xip: BTreeSet<u64>,
}

/// Most in-progress ids a snapshot text may list (PostgreSQL's own limit is far lower).
const MAX_XIP: usize = 1 << 20;

impl XidSnapshot {
    pub fn parse(s: &str) -> Result<XidSnapshot> {
        let bad = || Error::integrity(format!("not a transaction snapshot: {s:.64?}"));
        let mut parts = s.trim().splitn(3, ':');
        let num =
            |p: Option<&str>| -> Result<u64> { p.ok_or_else(bad)?.parse().map_err(|_| bad()) };
        let xmin = num(parts.next())?;
        let xmax = num(parts.next())?;
        let rest = parts.next().ok_or_else(bad)?;
        let mut xip = BTreeSet::new();
        for x in rest.split(',').filter(|x| !x.is_empty()) {
            if xip.len() >= MAX_XIP {
                return Err(bad());
            }
            xip.insert(x.parse().map_err(|_| bad())?);
        }
        if xmin > xmax {
            return Err(bad());
        }
        Ok(XidSnapshot { xmin, xmax, xip })
    }

    /// The 64-bit id of a 32-bit `xid` seen after this snapshot was taken (the epoch of `xmax`,
    /// or the one before when the id is above it by wrap-around).
    fn widen(&self, xid: u32) -> u64 {
        let epoch = self.xmax >> 32;
        let full = (epoch << 32) | u64::from(xid);
        if full > self.xmax + (1 << 31) && epoch > 0 {
            full - (1 << 32)
        } else {
            full
        }
    }

    /// Whether the transaction `xid` had committed in this snapshot (its changes are in the base).
    pub fn sees(&self, xid: u32) -> bool {
        let x = self.widen(xid);
        x < self.xmin || (x < self.xmax && !self.xip.contains(&x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility() {
        let s = XidSnapshot::parse("100:105:101,103").unwrap();
        assert!(s.sees(99));
        assert!(s.sees(100) && s.sees(102) && s.sees(104));
        assert!(!s.sees(101) && !s.sees(103));
        assert!(!s.sees(105) && !s.sees(4000));
        let e = XidSnapshot::parse(&format!("{}:{}:", (1u64 << 32) + 5, (1u64 << 32) + 9)).unwrap();
        assert!(e.sees(6) && !e.sees(9) && e.sees(u32::MAX));
        for bad in ["", "1", "1:2", "5:1:", "a:b:", "1:2:x"] {
            assert!(XidSnapshot::parse(bad).is_err(), "{bad}");
        }
    }
}
