//! Offsite's own configuration for every PostgreSQL server it starts from a physical base
//! (a restore to a time, `--to-data-dir`, browse/diff/recover and drills at a time: see
//! [`super::cluster::ThrowawayCluster::start_prepared`]). A base is what its source server sent,
//! and whoever controls that server (a superuser there, or the server itself) chooses its bytes:
//! `ALTER SYSTEM SET recovery_end_command = '…'` without a reload leaves the primary as it was
//! and waits in `postgresql.auto.conf` for the day someone restores; a library copied inside the
//! base can be named by `session_preload_libraries`; a link can stand where Offsite writes.
//!
//! So before the server starts:
//! - every link in the data folder is refused ([`check_links`], an `integrity` error naming the
//!   entry), except a tablespace's link under `pg_tblspc`, which is re-pointed at an empty
//!   folder inside the throwaway folder; `pg_wal` must be a real folder;
//! - the base's `postgresql.conf` and `postgresql.auto.conf` are set aside
//!   (`<name>.from-backup`, a first line saying what it set) and replaced by Offsite's neutral
//!   ones ([`replace_configuration`]), so neither they nor the files and folders they include
//!   (`conf.d`, `include …`) are read;
//! - every setting that runs a command or loads code is forced off on the command line, where
//!   it outranks any configuration file ([`forced_settings`]).
//!
//! Per-role and per-database settings (`ALTER ROLE/DATABASE … SET`, in the catalog) are
//! cleared in single-user mode — which does not apply them — before any session opens, with
//! utility commands that fire no trigger or rule the source planted on a catalog
//! ([`super::cluster::ThrowawayCluster::reopen_for_reading`], [`super::single_user`]).

use crate::error::{Error, ErrorKind, Result};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The suffix of a configuration file of the base, set aside.
pub const SET_ASIDE: &str = ".from-backup";
/// The configuration files of a base that PostgreSQL reads from the data folder.
const CONFIG_FILES: [&str; 2] = ["postgresql.conf", "postgresql.auto.conf"];
/// The largest configuration file set aside (a real one is a few tens of KiB).
const CONFIG_LIMIT: u64 = 8 << 20;
/// The folder (in the throwaway folder, beside the data folder) tablespace links point into.
pub const TABLESPACES: &str = "tablespaces";

/// Settings given on the server's command line, after any other: whatever a configuration file
/// (the base's, or one a later `ALTER SYSTEM` writes) says, the server runs no command, loads no
/// library but its own, reaches no other server and writes nothing outside its folder. `major`:
/// the server's major version (a setting it does not know would stop it).
pub fn forced_settings(major: u32) -> Vec<(String, String)> {
    let mut s: Vec<(&str, &str)> = vec![
        // Commands run through /bin/sh.
        ("recovery_end_command", ""),
        ("archive_cleanup_command", ""),
        ("restore_command", ""),
        ("archive_mode", "off"),
        ("archive_command", ""),
        ("ssl", "off"),
        ("ssl_passphrase_command", ""),
        // Code loaded into the server or its sessions.
        ("shared_preload_libraries", ""),
        ("session_preload_libraries", ""),
        ("local_preload_libraries", ""),
        ("dynamic_library_path", "$libdir"),
        ("jit", "off"),
        ("jit_provider", "llvmjit"),
        // Other servers, and files outside its folder.
        ("primary_conninfo", ""),
        ("primary_slot_name", ""),
        ("logging_collector", "off"),
        ("log_destination", "stderr"),
        ("external_pid_file", ""),
        ("unix_socket_group", ""),
        ("bonjour", "off"),
        // The reading role (pg_read_all_data) reads large objects it does not own too.
        ("lo_compat_privileges", "on"),
    ];
    if major >= 15 {
        s.push(("archive_library", ""));
    }
    if major >= 17 {
        s.push(("event_triggers", "off"));
        s.push(("allow_alter_system", "off"));
    }
    if major >= 18 {
        s.push(("oauth_validator_libraries", ""));
        s.push(("extension_control_path", "$system"));
    }
    s.into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Why the library path `probin` of a `LANGUAGE C` function could name a file that came with
/// the base, or `None` when it cannot. The server looks a name without `/` up in
/// `dynamic_library_path` (forced to `$libdir`) and expands a leading `$libdir`; every other
/// path it opens as written, a relative one from the data folder, its working directory
/// (`AS './x.so'`, `AS 'base/1/16390'`: a file the base, or the WAL replayed into it, wrote).
/// So a path is accepted only when it is a bare name, or under `$libdir` without `..`, or
/// absolute, outside `root` (the throwaway folder, its data folder inside) once its links are
/// resolved and not under `/proc` or `/dev` (`/proc/self/cwd/x.so` is the data folder of the
/// process that opens it).
pub fn base_library(probin: &str, root: &Path) -> Option<&'static str> {
    let climbs = |p: &str| p.split(['/', '\\']).any(|c| c == "..");
    if !probin.contains(['/', '\\']) {
        return None;
    }
    if let Some(rest) = probin.strip_prefix("$libdir/") {
        return climbs(rest).then_some("it climbs out of the server's library folder (..)");
    }
    if !probin.starts_with('/') {
        return Some("a relative path names a file of the restored data folder");
    }
    let system = ["/proc", "/dev", "/sys"]
        .iter()
        .any(|d| Path::new(probin).starts_with(d));
    if system {
        return Some("a path under /proc, /dev or /sys can name the server's own files");
    }
    let within = |p: &Path| {
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        p.starts_with(&root)
    };
    let path = Path::new(probin);
    // A path that does not exist names no file: loading it fails, as on any server.
    let resolved = std::fs::canonicalize(path).ok();
    if within(path) || resolved.as_deref().is_some_and(within) || climbs(probin) {
        return Some("it names a file inside the restored data folder");
    }
    None
}

/// Every `LANGUAGE C` function of the database `conn` is on (language handlers, types' input
/// and output functions, operators' and casts' functions are functions too) whose library could
/// be a file of the base (see [`base_library`]): an `integrity` error naming each (at most
/// five) before any of them is called — a column of a type whose output function is such a
/// function would load it while the database is dumped. Reads only the catalog: nothing is
/// loaded. `root`: the throwaway folder.
pub async fn refuse_base_libraries(conn: &mut sqlx::PgConnection, root: &Path) -> Result<()> {
    // Language C by its fixed oid (13, what the server itself checks) or by name.
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT n.nspname::text, p.proname::text, p.probin FROM pg_catalog.pg_proc p \
         JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
         LEFT JOIN pg_catalog.pg_language l ON l.oid = p.prolang \
         WHERE (p.prolang = 13 OR l.lanname = 'c') AND p.probin IS NOT NULL \
         ORDER BY 1, 2",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| Error::new(ErrorKind::ToolFailed, format!("reading the functions: {e}")))?;
    let found: Vec<String> = rows
        .iter()
        .filter_map(|(ns, name, bin)| {
            base_library(bin, root).map(|why| {
                let cut: String = bin.chars().take(200).collect();
                format!("{ns}.{name} loads {cut:?} ({why})")
            })
        })
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    let more = found.len().saturating_sub(5);
    let mut list = found.into_iter().take(5).collect::<Vec<_>>().join("; ");
    if more > 0 {
        list.push_str(&format!("; and {more} more"));
    }
    Err(Error::new(
        ErrorKind::Integrity,
        format!(
            "the backup defines C functions whose library could be a file that came with the \
             base, so it was not read: {list}"
        ),
    )
    .with_hint(
        "a genuine extension's functions load from the server's library folder ($libdir); these \
         were planted on the source server or its base was altered. Restore to a data folder \
         (--to-data-dir) to look at it without Offsite starting it for you",
    ))
}

/// Refuse every link in the data folder `data` but a tablespace's (`pg_tblspc/<oid>`), which is
/// re-pointed at an empty folder under `<root>/tablespaces/` (`root`: the throwaway folder,
/// which holds `data`). `pg_wal` must be a real folder. A genuine server sends no other link
/// (`pg_basebackup` skips them); a hostile one could point `standby.signal`, `pg_wal` or a
/// configuration file at any file of this machine for Offsite to write through. Blocking.
pub fn check_links(data: &Path, root: &Path) -> Result<()> {
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        let dir = data.join(&rel);
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
        for e in entries {
            let e = e.map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
            let name = rel.join(e.file_name());
            let kind = e
                .file_type()
                .map_err(|err| Error::io(format!("reading {}", e.path().display()), err))?;
            if kind.is_dir() {
                todo.push(name);
            } else if kind.is_symlink() {
                if rel.as_os_str() == "pg_tblspc" {
                    repoint_tablespace(&e.path(), &e.file_name(), root)?;
                } else {
                    return Err(link_refused(&name, &e.path()));
                }
            }
        }
    }
    let pg_wal = data.join("pg_wal");
    match std::fs::symlink_metadata(&pg_wal) {
        Ok(m) if m.is_dir() => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        _ => Err(Error::integrity(
            "the physical base's pg_wal is not a folder: refused (Offsite puts the WAL it replays there)",
        )),
    }
}

fn link_refused(name: &Path, path: &Path) -> Error {
    let to = std::fs::read_link(path)
        .map(|t| t.display().to_string())
        .unwrap_or_default();
    Error::integrity(format!(
        "the physical base holds a link at {} (to {to}): refused — a server sends links only \
         under pg_tblspc, and Offsite follows no link from a base",
        name.display()
    ))
    .with_hint(
        "this base did not come from a genuine PostgreSQL server as it was sent: check who \
         controls the source server, then take a new base (offsite pitr enable PROJECT --mode physical)",
    )
}

/// A tablespace's link replaced by one to an empty folder inside the throwaway folder.
fn repoint_tablespace(link: &Path, name: &std::ffi::OsStr, root: &Path) -> Result<()> {
    let oid = name.to_string_lossy();
    if oid.is_empty() || !oid.bytes().all(|b| b.is_ascii_digit()) {
        return Err(link_refused(&Path::new("pg_tblspc").join(name), link));
    }
    let inside = root.join(TABLESPACES).join(name);
    crate::private_fs::create_dir_all(&inside)
        .map_err(|e| Error::io(format!("creating {}", inside.display()), e))?;
    std::fs::remove_file(link).map_err(|e| Error::io(format!("removing {}", link.display()), e))?;
    #[cfg(unix)]
    let made = std::os::unix::fs::symlink(&inside, link);
    #[cfg(windows)]
    let made = std::os::windows::fs::symlink_dir(&inside, link);
    #[cfg(not(any(unix, windows)))]
    let made: std::io::Result<()> = Ok(());
    made.map_err(|e| Error::io(format!("re-pointing {}", link.display()), e))?;
    Ok(())
}

/// The base's `postgresql.conf` and `postgresql.auto.conf` set aside as `<name>.from-backup`
/// (a first line saying what each set) and replaced by Offsite's neutral files, created new
/// (no link followed: [`check_links`] ran first, and a name that is there is refused). Returns
/// the names set aside. Blocking.
pub fn replace_configuration(data: &Path) -> Result<Vec<String>> {
    let mut aside = Vec::new();
    for name in CONFIG_FILES {
        let path = data.join(name);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        };
        if !meta.is_file() {
            return Err(Error::integrity(format!(
                "the physical base's {name} is not a file: refused"
            )));
        }
        let mut text = Vec::new();
        std::fs::File::open(&path)
            .and_then(|f| f.take(CONFIG_LIMIT + 1).read_to_end(&mut text))
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if text.len() as u64 > CONFIG_LIMIT {
            return Err(Error::integrity(format!(
                "the physical base's {name} is over {} MiB: refused",
                CONFIG_LIMIT >> 20
            )));
        }
        let kept = format!("{name}{SET_ASIDE}");
        let header = format!(
            "# Offsite set this aside: the source server's {name}, as its physical base held it. \
             Offsite did not use it and PostgreSQL does not read it under this name. It set: {}. \
             Review every line before copying any back: the commands and libraries it names run \
             with the server's rights.\n",
            setting_names(&text)
        );
        write_new(&data.join(&kept), &[header.as_bytes(), &text])?;
        std::fs::remove_file(&path)
            .map_err(|e| Error::io(format!("removing {}", path.display()), e))?;
        aside.push(kept);
    }
    let mut conf = String::from(
        "# Offsite's neutral configuration: this data folder was restored from a physical base,\n\
         # and a server started on it runs none of the source server's settings.\n",
    );
    if aside.is_empty() {
        conf.push_str("# The base held no configuration of its own.\n");
    } else {
        conf.push_str(&format!(
            "# The source's own configuration is beside it, set aside and not read: {}\n\
             # (the files and folders it included, such as conf.d, are not read either). Review it\n\
             # before copying any setting back: commands and libraries it names run with the\n\
             # server's rights.\n",
            aside.join(", ")
        ));
    }
    write_new(&data.join("postgresql.conf"), &[conf.as_bytes()])?;
    write_new(
        &data.join("postgresql.auto.conf"),
        &[b"# Do not edit this file manually!\n# It will be overwritten by the ALTER SYSTEM command.\n"],
    )?;
    Ok(aside)
}

/// A file created new (never through a link, never over a file), `parts` written in order.
pub fn write_new(path: &Path, parts: &[&[u8]]) -> Result<()> {
    let mut f = crate::private_fs::create_new(path)
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
    for p in parts {
        f.write_all(p)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    }
    f.sync_all()
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// The names a configuration file sets (and its include directives), in order, each once; at
/// most 200 of them, printable ASCII only.
fn setting_names(text: &[u8]) -> String {
    let mut names: Vec<String> = Vec::new();
    for line in String::from_utf8_lossy(text).lines() {
        let line = line.trim_start();
        let name: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
            .take(64)
            .collect();
        let rest = line[name.len()..].trim_start();
        let is_setting = !name.is_empty()
            && (rest.starts_with('=')
                || (name.starts_with("include") && !rest.is_empty())
                || rest.starts_with('\'')
                || rest
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric()));
        if is_setting && !names.contains(&name) && names.len() < 200 {
            names.push(name);
        }
    }
    if names.is_empty() {
        "nothing".into()
    } else {
        names.join(", ")
    }
}

/// `max_prepared_transactions` as the base's control file records it (`pg_controldata`'s
/// "max_prepared_xacts setting"): recovery replays prepared transactions into that many slots.
/// At most 10,000; `None` when unreadable (the server then uses its default).
pub fn prepared_xacts(controldata_output: &str) -> Option<u32> {
    controldata_output
        .lines()
        .find_map(|l| l.strip_prefix("max_prepared_xacts setting:"))
        .and_then(|v| v.trim().parse::<u32>().ok())
        .map(|n| n.min(10_000))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_outside_pg_tblspc_are_refused_naming_them() {
        let d = tempfile::tempdir().unwrap();
        let (root, outside) = (d.path().join("root"), d.path().join("outside"));
        let data = root.join("data");
        std::fs::create_dir_all(data.join("pg_tblspc")).unwrap();
        std::fs::create_dir_all(data.join("base/1")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("precious"), b"keep").unwrap();
        check_links(&data, &root).unwrap();

        // A tablespace's link: re-pointed inside the throwaway folder.
        symlink(&outside, data.join("pg_tblspc/16400")).unwrap();
        check_links(&data, &root).unwrap();
        assert_eq!(
            std::fs::read_link(data.join("pg_tblspc/16400")).unwrap(),
            root.join(TABLESPACES).join("16400")
        );
        assert!(root.join(TABLESPACES).join("16400").is_dir());

        for (name, to) in [
            ("standby.signal", outside.join("precious")),
            ("base/1/16384", outside.join("precious")),
            ("postgresql.conf", outside.join("made-by-offsite")),
            ("pg_tblspc/not-an-oid", outside.clone()),
        ] {
            symlink(&to, data.join(name)).unwrap();
            let e = check_links(&data, &root).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Integrity, "{name}");
            assert!(e.message().contains(name), "{name}: {e}");
            std::fs::remove_file(data.join(name)).unwrap();
        }
        // pg_wal as a link, or a file.
        symlink(&outside, data.join("pg_wal")).unwrap();
        assert!(check_links(&data, &root)
            .unwrap_err()
            .message()
            .contains("pg_wal"));
        std::fs::remove_file(data.join("pg_wal")).unwrap();
        std::fs::write(data.join("pg_wal"), b"").unwrap();
        assert!(check_links(&data, &root)
            .unwrap_err()
            .message()
            .contains("pg_wal"));
        assert_eq!(std::fs::read(outside.join("precious")).unwrap(), b"keep");
        assert!(!outside.join("made-by-offsite").exists());
    }

    #[test]
    fn the_bases_configuration_is_set_aside_saying_what_it_set() {
        let d = tempfile::tempdir().unwrap();
        let data = d.path();
        std::fs::write(
            data.join("postgresql.conf"),
            "# comment = no\nmax_connections = 100\ninclude_dir 'conf.d'\nshared_buffers 128MB\n",
        )
        .unwrap();
        std::fs::write(
            data.join("postgresql.auto.conf"),
            "# Do not edit\nrecovery_end_command = 'touch /tmp/m'\nsession_preload_libraries = 'x/evil.so'\n",
        )
        .unwrap();
        let aside = replace_configuration(data).unwrap();
        assert_eq!(
            aside,
            [
                "postgresql.conf.from-backup",
                "postgresql.auto.conf.from-backup"
            ]
        );
        let auto = std::fs::read_to_string(data.join("postgresql.auto.conf.from-backup")).unwrap();
        let first = auto.lines().next().unwrap();
        assert!(
            first.contains("It set: recovery_end_command, session_preload_libraries."),
            "{first}"
        );
        assert!(auto.ends_with("session_preload_libraries = 'x/evil.so'\n"));
        let conf = std::fs::read_to_string(data.join("postgresql.conf.from-backup")).unwrap();
        assert!(
            conf.lines()
                .next()
                .unwrap()
                .contains("It set: max_connections, include_dir, shared_buffers."),
            "{conf}"
        );
        let neutral = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
        assert!(neutral
            .lines()
            .all(|l| l.starts_with('#') || l.trim().is_empty()));
        assert!(neutral.contains("postgresql.auto.conf.from-backup"));
        let auto_now = std::fs::read_to_string(data.join("postgresql.auto.conf")).unwrap();
        assert!(auto_now
            .lines()
            .all(|l| l.starts_with('#') || l.trim().is_empty()));
        // Run again (a set-aside file is there): refused, nothing overwritten.
        std::fs::write(data.join("postgresql.auto.conf"), "x = 1\n").unwrap();
        assert!(replace_configuration(data).is_err());
        assert!(
            std::fs::read_to_string(data.join("postgresql.auto.conf.from-backup"))
                .unwrap()
                .contains("recovery_end_command")
        );
    }

    #[test]
    fn only_libraries_from_the_servers_own_folder_are_accepted() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        std::fs::create_dir_all(data.join("pg_logical")).unwrap();
        std::fs::write(data.join("x.so"), b"\x7fELF").unwrap();
        let other = tempfile::tempdir().unwrap();
        let link = other.path().join("into-the-base");
        std::os::unix::fs::symlink(&data, &link).unwrap();
        let r = root.path();
        for fine in [
            "$libdir/plpgsql",
            "plpgsql",
            "$libdir/sub/x",
            "/usr/lib/postgresql/15/lib/plpgsql.so",
            "/nowhere/at/all.so",
        ] {
            assert_eq!(base_library(fine, r), None, "{fine}");
        }
        let inside = format!("{}/x.so", data.display());
        let through_link = format!("{}/x.so", link.display());
        let climbing = format!("{}/../../{}/x.so", other.path().display(), data.display());
        for bad in [
            "./x.so",
            "x/../x.so",
            "pg_logical/x",
            "base/1/16390",
            "$libdir/../../../proc/self/cwd/x.so",
            "/proc/self/cwd/x.so",
            "/dev/fd/3",
            inside.as_str(),
            through_link.as_str(),
            climbing.as_str(),
        ] {
            assert!(base_library(bad, r).is_some(), "{bad}");
        }
    }

    #[test]
    fn commands_and_libraries_are_forced_off_by_version() {
        let s15 = forced_settings(15);
        for k in [
            "recovery_end_command",
            "archive_cleanup_command",
            "session_preload_libraries",
            "local_preload_libraries",
            "shared_preload_libraries",
            "dynamic_library_path",
            "ssl_passphrase_command",
            "archive_library",
        ] {
            assert!(s15.iter().any(|(n, _)| n == k), "{k}");
        }
        assert!(s15.contains(&("jit".into(), "off".into())));
        assert!(!s15.iter().any(|(n, _)| n == "event_triggers"));
        assert!(!forced_settings(14)
            .iter()
            .any(|(n, _)| n == "archive_library"));
        assert!(!s15.iter().any(|(n, _)| n == "oauth_validator_libraries"));
        assert!(forced_settings(18).contains(&("oauth_validator_libraries".into(), String::new())));
        let s17 = forced_settings(17);
        assert!(s17.contains(&("event_triggers".into(), "off".into())));
        assert!(s17.contains(&("allow_alter_system".into(), "off".into())));
        assert_eq!(
            prepared_xacts("max_connections setting:              100\nmax_prepared_xacts setting:           5\n"),
            Some(5)
        );
        assert_eq!(
            prepared_xacts("max_prepared_xacts setting: 99999999\n"),
            Some(10_000)
        );
    }
}
