//! Failed authentications per client address: after `limit` failures within a minute, the
//! client is answered 429 (with `Retry-After`) until that minute is over, and the audit log
//! gets one line when the throttle starts and one summary when it ends instead of a line per
//! request.
//!
//! A failure is a 4xx answer to a request that carried no valid credential (no or a wrong
//! bearer token, a bad download signature, a route that does not exist). IPv6 clients are
//! counted by their /64 (one host usually owns a whole /64). At most [`MAX_CLIENTS`] addresses
//! are tracked at once, so the table cannot grow without bound.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Addresses tracked at once.
pub const MAX_CLIENTS: usize = 4096;

/// The window failures are counted in.
pub const WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    failures: u32,
    refused: u64,
}

/// A client whose throttle ended, for the summary line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub client: IpAddr,
    pub failures: u32,
    pub refused: u64,
}

/// The failure counts.
pub struct Throttle {
    limit: u32,
    clients: Mutex<HashMap<IpAddr, Window>>,
}

/// The address a client is counted under.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

impl Throttle {
    pub fn new(limit: u32) -> Self {
        Throttle {
            limit,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Before a request: `Some(seconds)` to answer 429 with that `Retry-After`.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Option<u64> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let w = clients.get_mut(&client_key(ip))?;
        let end = w.start + WINDOW;
        if w.failures >= self.limit && now < end {
            w.refused += 1;
            return Some((end - now).as_secs().max(1));
        }
        None
    }

    /// After a failed request: `Some(failures)` when this failure starts the throttle.
    pub fn failed(&self, ip: IpAddr, now: Instant) -> Option<u32> {
        let key = client_key(ip);
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if !clients.contains_key(&key) && clients.len() >= MAX_CLIENTS {
            clients.retain(|_, w| now < w.start + WINDOW);
            if clients.len() >= MAX_CLIENTS {
                return None;
            }
        }
        let w = clients.entry(key).or_insert(Window {
            start: now,
            failures: 0,
            refused: 0,
        });
        if now >= w.start + WINDOW {
            *w = Window {
                start: now,
                failures: 0,
                refused: 0,
            };
        }
        w.failures = w.failures.saturating_add(1);
        (w.failures == self.limit).then_some(w.failures)
    }

    /// Forget windows that are over; the throttled ones among them, for their summary lines.
    pub fn sweep(&self, now: Instant) -> Vec<Ended> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let mut ended = Vec::new();
        clients.retain(|ip, w| {
            let live = now < w.start + WINDOW;
            if !live && w.failures >= self.limit {
                ended.push(Ended {
                    client: *ip,
                    failures: w.failures,
                    refused: w.refused,
                });
            }
            live
        });
        ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_throttles_for_the_rest_of_the_minute() {
        let t = Throttle::new(3);
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        let t0 = Instant::now();
        assert_eq!(t.failed(ip, t0), None);
        assert_eq!(t.failed(ip, t0), None);
        assert_eq!(t.check(ip, t0), None);
        assert_eq!(t.failed(ip, t0), Some(3));
        assert_eq!(t.check(ip, t0 + Duration::from_secs(10)), Some(50));
        assert_eq!(t.check(other, t0), None, "another client is not throttled");
        assert!(t.sweep(t0 + Duration::from_secs(30)).is_empty());
        let later = t0 + WINDOW + Duration::from_secs(1);
        assert_eq!(t.check(ip, later), None);
        assert_eq!(
            t.sweep(later),
            vec![Ended {
                client: ip,
                failures: 3,
                refused: 1
            }]
        );
        // IPv6 by /64.
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::2:3".parse().unwrap();
        for _ in 0..3 {
            t.failed(a, t0);
        }
        assert!(t.check(b, t0).is_some());
    }
}
