//! The server's free disk space, where Offsite can know it, and the retained-WAL limit it
//! lowers (docs/pitr.md, "The server's disk comes first"). Known for a server on this machine
//! (a loopback address or a socket folder: `offsite serve` beside the database, a local
//! cluster) whose data folder this role may read (`data_directory` needs a superuser or
//! `pg_read_all_settings`); elsewhere (a hosted server) it is not known and the set limit holds.

use crate::postgres::conn::ConnSpec;
use sqlx::PgConnection;
use std::path::Path;

/// Never lowered below this: a slot is read every few seconds and one WAL segment is 16 MiB.
pub const MIN_LIMIT: u64 = 64 * 1024 * 1024;

/// A slot may hold at most this share of the free space (1/4).
pub const SHARE_OF_FREE: u64 = 4;

/// Whether `host` (a [`ConnSpec`] host) is this machine.
pub fn is_this_machine(host: &str) -> bool {
    host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Free bytes (for unprivileged users) of the file system holding the server's WAL, when the
/// server is on this machine and says where its data folder is; `None` otherwise.
pub async fn free_bytes(conn: &mut PgConnection, spec: &ConnSpec) -> Option<u64> {
    if !is_this_machine(&spec.host) {
        return None;
    }
    let dir: String = sqlx::query_scalar("SELECT current_setting('data_directory')")
        .fetch_one(&mut *conn)
        .await
        .ok()?;
    let dir = Path::new(&dir);
    if !dir.is_absolute() {
        return None;
    }
    // pg_wal may be a link to another disk; the data folder itself is 0700 (another user
    // cannot look inside it), its file system is then the best known.
    [dir.join("pg_wal"), dir.to_path_buf()]
        .iter()
        .find_map(|p| available(p))
}

#[cfg(unix)]
fn available(p: &Path) -> Option<u64> {
    let s = rustix::fs::statvfs(p).ok()?;
    Some(s.f_bavail.saturating_mul(s.f_frsize))
}

#[cfg(not(unix))]
fn available(_p: &Path) -> Option<u64> {
    None
}

/// The limit a pass holds the slot to: the set one, or a quarter of the server's free space
/// when that is less (never under [`MIN_LIMIT`], nor above the set limit).
pub fn effective_limit(set: u64, free: Option<u64>) -> u64 {
    match free {
        Some(f) => set.min((f / SHARE_OF_FREE).max(MIN_LIMIT)),
        None => set,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1024 * 1024 * 1024;

    #[test]
    fn a_small_free_space_lowers_the_limit_never_below_the_floor_nor_above_the_set_one() {
        assert_eq!(effective_limit(GIB, None), GIB);
        assert_eq!(effective_limit(GIB, Some(100 * GIB)), GIB);
        assert_eq!(effective_limit(GIB, Some(2 * GIB)), GIB / 2);
        assert_eq!(effective_limit(GIB, Some(10 * 1024 * 1024)), MIN_LIMIT);
        assert_eq!(effective_limit(1024, Some(10 * 1024 * 1024)), 1024);
    }

    #[test]
    fn only_this_machine_is_asked() {
        for h in [
            "127.0.0.1",
            "localhost",
            "::1",
            "[::1]",
            "/var/run/postgresql",
            "127.0.0.2",
        ] {
            assert!(is_this_machine(h), "{h}");
        }
        for h in [
            "db.example.com",
            "10.0.0.5",
            "aws-0-eu.pooler.supabase.com",
            "",
        ] {
            assert!(!is_this_machine(h), "{h}");
        }
    }
}
