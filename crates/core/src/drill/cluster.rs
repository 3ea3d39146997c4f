//! A private throwaway PostgreSQL cluster Offsite starts itself for a drill: server binaries
//! found on this machine (as `pg_dump` is found, see [`crate::postgres::tools`]) with a major
//! version ≥ the backup's server, `initdb` into a private folder (0700), a Unix socket in that
//! folder and no TCP at all, stopped and removed afterwards whatever happens ([`Drop`] and
//! [`ThrowawayCluster::stop`]); a drill killed on the way leaves an owner file that the next
//! engine start finds and sweeps ([`super::sweep`]).
//!
//! `initdb` refuses to run as root: as root the server binaries run as the `postgres` OS user
//! (the one the distribution packages create), or the error says what to do.

use super::neutral;
use super::sandbox::{Confinement, Sandbox};
use super::single_user;
use crate::error::{Error, ErrorKind, Result};
use crate::postgres::conn::{ConnSpec, TlsMode};
use crate::postgres::tool_places::{install_dirs, system_root, Os};
use crate::postgres::tools::{candidate_dirs, probe_dirs};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const EXE: &str = Os::CURRENT.exe_suffix();
/// The bootstrap superuser of a throwaway cluster.
pub const SUPERUSER: &str = "postgres";
/// The port number in the socket's name (no TCP: nothing listens on it).
const PORT: u16 = 5432;
/// The OS user server binaries run as when Offsite runs as root.
#[cfg(unix)]
const OS_USER: &str = "postgres";
/// Where the owner files of running throwaway clusters are, under the data folder.
pub const CLUSTERS_DIR: &str = "drill-clusters";

/// A folder holding `initdb`, `pg_ctl` and `postgres` of one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerBins {
    pub dir: PathBuf,
    /// First line of `postgres --version`.
    pub version_line: String,
    pub major: u32,
    pub minor: u32,
}

impl ServerBins {
    fn bin(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}{EXE}"))
    }
}

/// Every folder with server binaries: the configured pg_bin folder first, then `PATH` and the
/// usual install locations of this OS ([`crate::postgres::tool_places`]).
pub fn discover_server_bins(configured: Option<&Path>) -> Vec<ServerBins> {
    let mut dirs: Vec<PathBuf> = configured
        .map(|c| candidate_dirs(Some(c)))
        .unwrap_or_default();
    dirs.extend(candidate_dirs(None));
    // The client places hold the server programs too where the package has both (Homebrew's
    // kegs, Postgres.app, the EDB installer); each OS adds its server-only places.
    dirs.extend(install_dirs(Os::CURRENT.places().server, &system_root()));
    probe_dirs(dirs, "postgres", &["initdb", "pg_ctl"])
        .into_iter()
        .map(|(dir, version_line, major, minor)| ServerBins {
            dir,
            version_line,
            major,
            minor,
        })
        .collect()
}

/// The server binaries for a backup of a `min_major` server: the same major if present, else
/// the closest newer one. None: `tool_missing` saying what to install.
pub fn choose_server_bins(found: &[ServerBins], min_major: u32) -> Result<ServerBins> {
    let best = found
        .iter()
        .filter(|b| b.major >= min_major)
        .min_by_key(|b| (b.major, std::cmp::Reverse(b.minor)));
    if let Some(b) = best {
        return Ok(b.clone());
    }
    let message = match found.iter().map(|b| b.major).max() {
        Some(newest) => format!(
            "the PostgreSQL server binaries found are version {newest}; a drill of a PostgreSQL {min_major} backup needs {min_major} or newer"
        ),
        None => "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found for the drill's throwaway cluster".to_string(),
    };
    Err(Error::new(ErrorKind::ToolMissing, message).with_hint(format!(
        "{}; or drill into a scratch server you name (offsite drill NAME --server URL). See docs/drills.md",
        server_install_hint(min_major)
    )))
}

/// What to install for the server binaries, on this platform.
pub fn server_install_hint(major: u32) -> String {
    Os::CURRENT.server_hint(major)
}

/// The owner file of a running throwaway cluster (under `<data>/drill-clusters/`): JSON, held
/// locked by the drill's process while the cluster lives.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OwnerFile {
    pub pid: u32,
    /// The cluster's private folder (data, socket, log).
    pub root: PathBuf,
    /// The server binaries' folder (its `pg_ctl` stops a leftover server).
    pub bin_dir: PathBuf,
}

/// A running throwaway cluster. Stop it with [`ThrowawayCluster::stop`]; dropping it stops it
/// too.
pub struct ThrowawayCluster {
    bins: ServerBins,
    root: PathBuf,
    owner_path: PathBuf,
    /// Held (locked) while the cluster lives: the sweep leaves a locked owner file alone.
    owner_lock: Option<File>,
    run_as: Option<(u32, u32)>,
    /// The postmaster (started directly, confined: [`super::sandbox`]); reaped when stopped.
    server: Option<std::process::Child>,
    confinement: Confinement,
    stopped: bool,
    /// `-c name=value` options given to the server (a prepared cluster's).
    extra_args: Vec<String>,
}

impl std::fmt::Debug for ThrowawayCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThrowawayCluster")
            .field("root", &self.root)
            .field("bins", &self.bins.dir)
            .finish_non_exhaustive()
    }
}

impl ThrowawayCluster {
    /// A private folder for cluster `id` under the engine's data folder `data_dir`, its owner
    /// file written and locked; nothing started. From here on, Drop stops and removes whatever
    /// was made.
    fn unstarted(data_dir: &Path, id: &str, bins: ServerBins) -> Result<ThrowawayCluster> {
        if !cfg!(unix) {
            // Reached only over a Unix socket in its private folder, stopped with signals.
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "Offsite's throwaway PostgreSQL servers run on Unix only (Linux, macOS), not on {}",
                    std::env::consts::OS
                ),
            )
            .with_hint("drill or look inside at a time on a scratch server instead (--server URL), or from a Linux or macOS machine"));
        }
        let run_as = server_os_user()?;
        let clusters = data_dir.join(CLUSTERS_DIR);
        crate::private_fs::create_dir_all(&clusters)
            .map_err(|e| Error::io(format!("creating {}", clusters.display()), e))?;
        let base = pick_base(&clusters, run_as);
        let root = crate::private_fs::tempdir_in(&base, &folder_prefix(id))
            .map_err(|e| Error::io(format!("creating a folder in {}", base.display()), e))?
            .keep();
        let owner_path = clusters.join(format!("{id}.owner"));
        let owner = OwnerFile {
            pid: std::process::id(),
            root: root.clone(),
            bin_dir: bins.dir.clone(),
        };
        let lock = write_owner(&owner_path, &owner);
        let mut cluster = ThrowawayCluster {
            bins,
            root,
            owner_path,
            owner_lock: None,
            run_as,
            server: None,
            confinement: Confinement::Unconfined("not started".into()),
            stopped: false,
            extra_args: Vec::new(),
        };
        cluster.owner_lock = Some(lock?);
        Ok(cluster)
    }

    /// `initdb` a private cluster for a drill `drill_id` and start it (blocking: run on a
    /// blocking thread). `data_dir`: the engine's data folder.
    pub fn start(data_dir: &Path, drill_id: &str, bins: ServerBins) -> Result<ThrowawayCluster> {
        let mut cluster = Self::unstarted(data_dir, drill_id, bins)?;
        // `run_as` is only ever set on Unix (`server_os_user`: root hands the cluster to the
        // `postgres` OS user); elsewhere the server runs as the user Offsite runs as.
        #[cfg(unix)]
        if let Some((uid, gid)) = cluster.run_as {
            std::os::unix::fs::chown(&cluster.root, Some(uid), Some(gid)).map_err(|e| {
                Error::io(
                    format!("handing {} to the postgres user", cluster.root.display()),
                    e,
                )
            })?;
        }
        cluster.initdb()?;
        cluster.start_server()?;
        Ok(cluster)
    }

    /// A throwaway cluster whose data folder `prepare` fills (a physical base and the WAL to
    /// replay) instead of `initdb` — told the server's owner (uid, gid) when it runs as
    /// another user —, started with the settings `prepare` returns as `-c` options (nothing
    /// written into the data folder but what `prepare` writes) and given `ready_within` to
    /// become ready (a recovery replays first); `watch` is asked while it waits, and an error
    /// from it ends the start (the cluster removed). Blocking.
    pub fn start_prepared(
        data_dir: &Path,
        id: &str,
        bins: ServerBins,
        prepare: impl FnOnce(&Path, Option<(u32, u32)>) -> Result<Vec<(String, String)>>,
        ready_within: std::time::Duration,
        watch: impl FnMut(&Starting<'_>) -> Result<()>,
    ) -> Result<ThrowawayCluster> {
        let mut cluster = Self::unstarted(data_dir, id, bins)?;
        let run_as = cluster.run_as;
        let data = cluster.data();
        crate::private_fs::create_dir_all(&data)
            .map_err(|e| Error::io(format!("creating {}", data.display()), e))?;
        let settings = prepare(&data, run_as)?;
        // The base's own configuration never applies (see [`super::neutral`]).
        neutral::check_links(&data, &cluster.root)?;
        neutral::replace_configuration(&data)?;
        let hba = cluster.root.join("offsite_hba.conf");
        neutral::write_new(
            &hba,
            &[b"local all all trust\nlocal replication all trust\n"],
        )?;
        let ident = cluster.root.join("offsite_ident.conf");
        neutral::write_new(&ident, &[b""])?;
        #[cfg(unix)]
        if let Some((uid, gid)) = run_as {
            chown_tree(&cluster.root, uid, gid)?;
        }
        let prepared_xacts = cluster
            .control_data()
            .and_then(|t| neutral::prepared_xacts(&t));
        let mut args = vec![
            ("listen_addresses".to_string(), String::new()),
            (
                "unix_socket_directories".into(),
                cluster.root.display().to_string(),
            ),
            ("unix_socket_permissions".into(), "0700".into()),
            ("port".into(), PORT.to_string()),
            ("hba_file".into(), hba.display().to_string()),
            ("ident_file".into(), ident.display().to_string()),
            ("dynamic_shared_memory_type".into(), "mmap".into()),
            ("log_timezone".into(), "UTC".into()),
        ];
        if let Some(n) = prepared_xacts {
            args.push(("max_prepared_transactions".into(), n.to_string()));
        }
        args.extend(settings);
        // Last: over anything the caller or a configuration file says.
        args.extend(neutral::forced_settings(cluster.bins.major));
        cluster.extra_args = args
            .into_iter()
            .flat_map(|(k, v)| ["-c".to_string(), format!("{k}={v}")])
            .collect();
        cluster.start_server_within(ready_within, watch)?;
        Ok(cluster)
    }

    /// Stop the server cleanly and move its data folder to `dest` (which must not exist): a
    /// new server's data folder. The rest of the private folder is removed. Blocking.
    pub fn stop_into(mut self, dest: &Path) -> Result<()> {
        let data = self.data();
        self.stop_server()?;
        if std::fs::rename(&data, dest).is_err() {
            // Another file system: copied (links as links, modes kept).
            copy_tree(&data, dest).map_err(|e| {
                let _ = std::fs::remove_dir_all(dest);
                Error::io(
                    format!("copying the restored data folder to {}", dest.display()),
                    e,
                )
            })?;
        }
        self.cleanup()
    }

    /// Stop the server cleanly (`pg_ctl stop -m fast`) and reap it. Blocking.
    fn stop_server(&mut self) -> Result<()> {
        let mut cmd = self.server_cmd("pg_ctl");
        cmd.args(["stop", "-w", "-t", "300", "-m", "fast", "-D"])
            .arg(self.data())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let ok = cmd.status().map(|s| s.success()).unwrap_or(false);
        if !ok {
            return Err(Error::new(
                ErrorKind::ToolFailed,
                "the restored cluster did not stop cleanly (pg_ctl stop -m fast)",
            ));
        }
        if let Some(mut child) = self.server.take() {
            let _ = child.wait();
        }
        Ok(())
    }

    /// The recovered server made ready for Offsite's own sessions (see [`super::neutral`]):
    /// stopped cleanly; then, in single-user mode — which applies no per-role or per-database
    /// setting and fires no event trigger — first a run that only reads which roles, databases
    /// and settings rows there are, then a run that clears every `ALTER ROLE/DATABASE … SET` of
    /// the base with `… RESET ALL` (utility commands: no trigger or rule the source planted on a
    /// catalog fires, as one would on `DELETE`; see [`super::single_user`]), makes a role to
    /// read with — LOGIN, not a superuser, a member of `pg_read_all_data` with BYPASSRLS
    /// (PostgreSQL 13 and older have no such role: there it is a superuser) — and checks that
    /// no settings row is left; then started again as before. `database`: one that exists
    /// (single-user mode opens one). Returns the role's name. Blocking.
    pub fn reopen_for_reading(&mut self, database: &str) -> Result<String> {
        self.stop_server()?;
        let listed = self.single_user(database, single_user::LISTING.as_bytes().to_vec())?;
        let mut sql = Vec::new();
        let resets = single_user::resets(&single_user::parse_listing(&listed)?)?;
        let mut commands = resets.len();
        for r in resets {
            sql.extend_from_slice(&r);
            sql.push(b'\n');
        }
        let role = format!(
            "offsite_read_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let modern = self.bins.major >= 14;
        let rights = if modern {
            "NOSUPERUSER BYPASSRLS"
        } else {
            "SUPERUSER"
        };
        sql.extend_from_slice(
            format!("CREATE ROLE {role} LOGIN NOCREATEDB NOCREATEROLE NOREPLICATION {rights}\n")
                .as_bytes(),
        );
        commands += 1;
        if modern {
            sql.extend_from_slice(format!("GRANT pg_read_all_data TO {role}\n").as_bytes());
            commands += 1;
        }
        sql.extend_from_slice(single_user::LEFT.as_bytes());
        let out = self.single_user(database, sql)?;
        single_user::check_cleared(&out, commands)?;
        self.start_server_within(std::time::Duration::from_secs(120), |_| Ok(()))?;
        Ok(role)
    }

    /// `sql` (one statement a line) run by the server in single-user mode on `database`,
    /// confined as the server is; what it printed (at most [`single_user::OUTPUT_LIMIT`]
    /// bytes). Any error ends it and is returned. Blocking.
    fn single_user(&self, database: &str, sql: Vec<u8>) -> Result<Vec<u8>> {
        use std::io::{Read, Write};
        let server = std::fs::canonicalize(self.bins.bin("postgres"))
            .map_err(|e| Error::io("finding the server binary (postgres)", e))?;
        let exec_dir = server.parent().unwrap_or(&self.bins.dir).to_path_buf();
        let sandbox = Sandbox::new(&exec_dir, &self.root);
        let mut cmd = self.command(&server);
        cmd.arg("--single")
            .arg("-D")
            .arg(self.data())
            .args(&self.extra_args)
            .args(["-c", "exit_on_error=on"])
            .arg(database)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        sandbox.apply(&mut cmd);
        let mut child = cmd
            .spawn()
            .map_err(|e| Error::io("starting the server in single-user mode", e))?;
        // Written and read at once: the server prints a prompt per statement while it reads.
        let stdin = child.stdin.take();
        let writer = std::thread::spawn(move || match stdin {
            Some(mut i) => i.write_all(&sql),
            None => Ok(()),
        });
        let stderr = child.stderr.take();
        let errors = std::thread::spawn(move || stderr.map(last_words).unwrap_or_default());
        let mut out = Vec::new();
        let read = match child.stdout.take() {
            Some(o) => o.take(single_user::OUTPUT_LIMIT + 1).read_to_end(&mut out),
            None => Ok(0),
        };
        let over = out.len() as u64 > single_user::OUTPUT_LIMIT;
        if over {
            let _ = child.kill();
        }
        let status = child
            .wait()
            .map_err(|e| Error::io("running the server in single-user mode", e))?;
        let wrote = writer.join().unwrap_or(Ok(()));
        let said = errors.join().unwrap_or_default();
        if over {
            return Err(Error::integrity(format!(
                "the restored cluster printed over {} MiB in single-user mode: refused",
                single_user::OUTPUT_LIMIT >> 20
            )));
        }
        let text = String::from_utf8_lossy(&said);
        if !status.success()
            || wrote.is_err()
            || read.is_err()
            || text.contains("ERROR:")
            || text.contains("FATAL:")
        {
            return Err(Error::new(
                ErrorKind::ToolFailed,
                format!(
                    "preparing the restored cluster for reading (single-user mode) failed: {}",
                    tail(&said)
                ),
            ));
        }
        Ok(out)
    }

    /// `pg_controldata` of the data folder, or `None`. Blocking.
    fn control_data(&self) -> Option<String> {
        let out = self
            .server_cmd("pg_controldata")
            .arg(self.data())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// How the server process is confined (for the drill's report).
    pub fn confinement(&self) -> &Confinement {
        &self.confinement
    }

    /// The server's binaries.
    pub fn bins(&self) -> &ServerBins {
        &self.bins
    }

    /// The private folder (data, socket, log).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A connection to `database` over the private socket (no password: local trust, and only
    /// this OS user — or root through the `postgres` user — can open the folder).
    pub fn spec(&self, database: &str) -> ConnSpec {
        ConnSpec {
            host: self.root.display().to_string(),
            port: PORT,
            user: SUPERUSER.into(),
            database: database.into(),
            tls: TlsMode::Disable,
            ca_file: None,
        }
    }

    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    fn server_cmd(&self, name: &str) -> Command {
        self.command(&self.bins.bin(name))
    }

    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("PG") {
                cmd.env_remove(k);
            }
        }
        cmd.current_dir(&self.root).stdin(Stdio::null());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            if let Some((uid, gid)) = self.run_as {
                cmd.uid(uid).gid(gid);
            }
            // Its own process group: a Ctrl-C in the terminal goes to Offsite, which stops it.
            cmd.process_group(0);
        }
        cmd
    }

    fn initdb(&self) -> Result<()> {
        let out = self
            .server_cmd("initdb")
            .arg("-D")
            .arg(self.data())
            .args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync"])
            .arg("--locale=C")
            .output()
            .map_err(|e| Error::io("running initdb", e))?;
        if !out.status.success() {
            return Err(Error::new(
                ErrorKind::ToolFailed,
                format!(
                    "initdb of the drill's throwaway cluster failed: {}",
                    tail(&out.stderr)
                ),
            ));
        }
        let socket = self.root.display().to_string().replace('\'', "''");
        let conf = format!(
            "\n# --- offsite drill: private, socket only ---\n\
             listen_addresses = ''\n\
             unix_socket_directories = '{socket}'\n\
             unix_socket_permissions = 0700\n\
             port = {PORT}\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n\
             max_connections = 20\n\
             dynamic_shared_memory_type = mmap\n\
             log_timezone = 'UTC'\n"
        );
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.data().join("postgresql.conf"))
            .map_err(|e| Error::io("opening the drill cluster's postgresql.conf", e))?;
        f.write_all(conf.as_bytes())
            .map_err(|e| Error::io("writing the drill cluster's postgresql.conf", e))
    }

    /// Start `postgres` itself (not through `pg_ctl`, whose shell the sandbox would not let
    /// run), confined, its output in `server.log`; wait until it says it is ready.
    fn start_server(&mut self) -> Result<()> {
        self.start_server_within(std::time::Duration::from_secs(120), |_| Ok(()))
    }

    /// [`start_server`](Self::start_server), waiting up to `ready_within`; an error from
    /// `watch` (asked while waiting) ends the wait with it.
    fn start_server_within(
        &mut self,
        ready_within: std::time::Duration,
        mut watch: impl FnMut(&Starting<'_>) -> Result<()>,
    ) -> Result<()> {
        let log_path = self.root.join("server.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| Error::io(format!("creating {}", log_path.display()), e))?;
        let log2 = log
            .try_clone()
            .map_err(|e| Error::io("opening the drill cluster's log", e))?;
        // The server binary as it really is (a bin folder may hold links to it, and the
        // sandbox holds the folder the file is in, not the link's).
        let server = std::fs::canonicalize(self.bins.bin("postgres"))
            .map_err(|e| Error::io("finding the drill's server binary (postgres)", e))?;
        let exec_dir = server.parent().unwrap_or(&self.bins.dir).to_path_buf();
        let sandbox = Sandbox::new(&exec_dir, &self.root);
        let mut cmd = self.command(&server);
        cmd.arg("-D")
            .arg(self.data())
            .args(&self.extra_args)
            .stdout(log)
            .stderr(log2);
        sandbox.apply(&mut cmd);
        let child = cmd
            .spawn()
            .map_err(|e| Error::io("starting the drill's throwaway server (postgres)", e))?;
        self.server = Some(child);
        self.confinement = sandbox.confinement.clone();
        drop(sandbox);
        let pid_file = self.data().join("postmaster.pid");
        let deadline = std::time::Instant::now() + ready_within;
        loop {
            let exited = match self.server.as_mut().map(|c| c.try_wait()) {
                Some(Ok(Some(status))) => Some(status.to_string()),
                Some(Err(e)) => Some(e.to_string()),
                _ => None,
            };
            let ready = std::fs::read_to_string(&pid_file)
                .map(|t| t.lines().nth(7).map(str::trim) == Some("ready"))
                .unwrap_or(false);
            if ready && exited.is_none() {
                return Ok(());
            }
            let data = self.data();
            let pid = self.server.as_ref().map(|c| c.id()).unwrap_or(0);
            watch(&Starting { pid, data: &data })?;
            if exited.is_some() || std::time::Instant::now() > deadline {
                let log = std::fs::read(&log_path).unwrap_or_default();
                return Err(Error::new(
                    ErrorKind::ToolFailed,
                    format!(
                        "starting the drill's throwaway cluster failed ({}): {}",
                        exited.unwrap_or_else(|| format!(
                            "not ready after {} s",
                            ready_within.as_secs()
                        )),
                        tail(&log)
                    ),
                ));
            }
            // Often: a restore to a time waits here for its recovery to end.
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Restart the server with pg_cron preloaded for `database` (the machine's own library, by
    /// name: never one from a backup), so that a backup holding pg_cron's jobs restores: the
    /// extension can only be created where its library runs. No job ever runs here
    /// (`cron.max_running_jobs = 0`; the server listens on no TCP address either). Blocking.
    pub fn preload_pg_cron(&mut self, database: &str) -> Result<()> {
        self.stop_server()?;
        self.extra_args = [
            "shared_preload_libraries=pg_cron".to_string(),
            format!("cron.database_name={database}"),
            "cron.max_running_jobs=0".to_string(),
            "cron.use_background_workers=off".to_string(),
        ]
        .into_iter()
        .flat_map(|kv| ["-c".to_string(), kv])
        .collect();
        self.start_server()
    }

    /// Stop the server and remove its folder and owner file.
    pub fn stop(mut self) -> Result<()> {
        self.cleanup()
    }

    fn cleanup(&mut self) -> Result<()> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        stop_and_remove(&self.root, &self.bins.dir, self.run_as);
        if let Some(mut child) = self.server.take() {
            // Stopped above; a server that did not stop is killed, and reaped either way.
            if !matches!(child.try_wait(), Ok(Some(_))) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.owner_path);
        self.owner_lock = None;
        if self.root.exists() {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "could not remove the drill's cluster folder {}",
                    self.root.display()
                ),
            ));
        }
        Ok(())
    }
}

/// A server being started, as [`ThrowawayCluster::start_prepared`]'s `watch` sees it.
pub struct Starting<'a> {
    pid: u32,
    data: &'a Path,
}

impl Starting<'_> {
    /// Ask a standby to end its recovery once it runs out of WAL (PostgreSQL's `promote`
    /// signal file and SIGUSR1, as `pg_ctl promote` sends them): with a recovery target it has
    /// not reached, it then stops with "recovery ended before configured recovery target was
    /// reached" instead of waiting for WAL that will not come. Not before the postmaster has
    /// written its `postmaster.pid` (after it set its signal handlers: a SIGUSR1 before would
    /// end it): then `Ok(false)`, to be asked again.
    pub fn promote(&self) -> Result<bool> {
        let pid_file =
            std::fs::read_to_string(self.data.join("postmaster.pid")).unwrap_or_default();
        if self.pid == 0 || pid_file.lines().next().map(str::trim) != Some(&self.pid.to_string()) {
            return Ok(false);
        }
        // Created new, never through a link (one left there is refused, or taken for ours).
        match crate::private_fs::create_new(&self.data.join("promote")) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let m = std::fs::symlink_metadata(self.data.join("promote"))
                    .map_err(|e| Error::io("reading the throwaway server's promote file", e))?;
                if !m.is_file() {
                    return Err(Error::integrity(
                        "the throwaway server's promote file is not a file: refused",
                    ));
                }
            }
            Err(e) => return Err(Error::io("writing the throwaway server's promote file", e)),
        }
        #[cfg(unix)]
        if self.pid > 0 {
            // SAFETY: kill has no memory preconditions; the pid is our own child's.
            unsafe {
                libc::kill(self.pid as libc::pid_t, libc::SIGUSR1);
            }
        }
        // Windows: PostgreSQL takes its signals through a named pipe that only `pg_ctl` speaks;
        // without it the promote file is never looked at, so say so instead of waiting on it.
        #[cfg(not(unix))]
        return Err(Error::new(
            ErrorKind::ToolFailed,
            format!(
                "cannot promote the throwaway server (process {}) on this OS: Offsite signals it only on Unix",
                self.pid
            ),
        ));
        #[cfg(unix)]
        Ok(true)
    }
}

impl Drop for ThrowawayCluster {
    fn drop(&mut self) {
        if let Err(e) = self.cleanup() {
            tracing::warn!("{e}");
        }
    }
}

/// Stop the server of a cluster folder (`pg_ctl stop -m immediate`, else kill its postmaster)
/// and remove the folder.
pub(crate) fn stop_and_remove(root: &Path, bin_dir: &Path, run_as: Option<(u32, u32)>) {
    let data = root.join("data");
    if data.join("postmaster.pid").exists() {
        let mut cmd = Command::new(bin_dir.join(format!("pg_ctl{EXE}")));
        cmd.args(["stop", "-w", "-t", "60", "-m", "immediate", "-D"])
            .arg(&data)
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            if let Some((uid, gid)) = run_as {
                cmd.uid(uid).gid(gid);
            }
        }
        #[cfg(not(unix))]
        let _ = run_as; // always None: only Unix hands the cluster to another OS user
        let stopped = cmd.status().map(|s| s.success()).unwrap_or(false);
        if !stopped {
            kill_postmaster(&data);
        }
    }
    let _ = std::fs::remove_dir_all(root);
}

/// Kill the postmaster named in `data/postmaster.pid` when it is a process running on that data
/// folder (Linux: its command line names the folder; elsewhere: trusted as written).
fn kill_postmaster(data: &Path) {
    let Ok(text) = std::fs::read_to_string(data.join("postmaster.pid")) else {
        return;
    };
    let Some(pid) = text
        .lines()
        .next()
        .and_then(|l| l.trim().parse::<i32>().ok())
    else {
        return;
    };
    let data_line = text.lines().nth(1).unwrap_or_default();
    if pid <= 1 || data_line.trim() != data.display().to_string() {
        return;
    }
    // Elsewhere no throwaway cluster is ever started (`unstarted` refuses), so none is left.
    #[cfg(not(unix))]
    let _ = pid;
    #[cfg(unix)]
    {
        // SAFETY: plain syscalls.
        unsafe { libc::kill(pid, libc::SIGQUIT) };
        for _ in 0..50 {
            if unsafe { libc::kill(pid, 0) } != 0 {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

pub(crate) fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir(to)?;
    std::fs::set_permissions(to, std::fs::metadata(from)?.permissions())?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let t = e.file_type()?;
        if t.is_dir() {
            copy_tree(&src, &dst)?;
        } else if t.is_symlink() {
            #[cfg(unix)]
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else {
            std::fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

/// Hand a folder and everything in it to the server's OS user (links not followed).
#[cfg(unix)]
fn chown_tree(root: &Path, uid: u32, gid: u32) -> Result<()> {
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        std::os::unix::fs::lchown(&p, Some(uid), Some(gid))
            .map_err(|e| Error::io(format!("handing {} to the postgres user", p.display()), e))?;
        let meta = std::fs::symlink_metadata(&p)
            .map_err(|e| Error::io(format!("reading {}", p.display()), e))?;
        if meta.is_dir() {
            for e in std::fs::read_dir(&p)
                .map_err(|e| Error::io(format!("reading {}", p.display()), e))?
            {
                stack.push(e.map_err(|e| Error::io("reading a folder", e))?.path());
            }
        }
    }
    Ok(())
}

fn write_owner(path: &Path, owner: &OwnerFile) -> Result<File> {
    use std::io::Write;
    let mut f = crate::private_fs::open_options()
        .create(true)
        .truncate(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
    f.try_lock()
        .map_err(|_| Error::internal(format!("{} is locked", path.display())))?;
    let json = serde_json::to_vec(owner).map_err(|e| Error::internal(e.to_string()))?;
    f.write_all(&json)
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    Ok(f)
}

/// How the private folder of drill `drill_id`'s cluster is named: `offsite-drill-<first 8
/// characters of its id>-` and a random suffix (what `ps` and a folder listing show).
pub fn folder_prefix(drill_id: &str) -> String {
    let short: String = drill_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect();
    format!("offsite-drill-{short}-")
}

/// The folder the cluster's private folder goes in: under the data folder, unless the socket
/// path would be too long for a Unix socket or (as root) the `postgres` user cannot reach it;
/// then the system's temporary folder (the owner file under the data folder still names it).
fn pick_base(clusters: &Path, run_as: Option<(u32, u32)>) -> PathBuf {
    // "/offsite-drill-IIIIIIII-XXXXXX/.s.PGSQL.5432" must fit in sun_path (104 bytes on macOS).
    let fits = |p: &Path| p.as_os_str().len() + 50 < 100;
    if fits(clusters) && reachable(clusters, run_as) {
        return clusters.to_path_buf();
    }
    let tmp = std::env::temp_dir();
    if fits(&tmp) && reachable(&tmp, run_as) {
        tmp
    } else {
        PathBuf::from("/tmp")
    }
}

#[cfg(unix)]
fn reachable(dir: &Path, run_as: Option<(u32, u32)>) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some((uid, gid)) = run_as else {
        return true;
    };
    dir.ancestors().all(|p| {
        std::fs::metadata(p)
            .map(|m| {
                let mode = m.mode();
                mode & 0o001 != 0
                    || (m.uid() == uid && mode & 0o100 != 0)
                    || (m.gid() == gid && mode & 0o010 != 0)
            })
            .unwrap_or(false)
    })
}

#[cfg(not(unix))]
fn reachable(_dir: &Path, _run_as: Option<(u32, u32)>) -> bool {
    true
}

/// As root: `(uid, gid)` of the `postgres` OS user the server binaries run as (initdb refuses
/// root); an error saying what to do when there is none. Not root: `None`.
#[cfg(unix)]
pub(crate) fn server_os_user() -> Result<Option<(u32, u32)>> {
    // SAFETY: plain syscall.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = std::ffi::CString::new(OS_USER).expect("no NUL");
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0u8; 16384];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: the buffers are valid for the call; the result points into `pwd`/`buf`.
    let rc = unsafe {
        libc::getpwnam_r(
            name.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return Err(Error::new(
            ErrorKind::Permission,
            "Offsite runs as root, and PostgreSQL's initdb refuses to run as root, but there is no `postgres` OS user to run the drill's throwaway cluster as",
        )
        .with_hint("run Offsite as an ordinary user, create a `postgres` OS user (the distribution's postgresql package does), or drill into a scratch server (--server URL)"));
    }
    Ok(Some((pwd.pw_uid, pwd.pw_gid)))
}

#[cfg(not(unix))]
pub(crate) fn server_os_user() -> Result<Option<(u32, u32)>> {
    Ok(None)
}

/// The last 64 KiB `from` writes, read to its end (what a server said before it stopped).
fn last_words(mut from: impl std::io::Read) -> Vec<u8> {
    const KEEP: usize = 64 << 10;
    let (mut kept, mut buf) = (Vec::new(), [0u8; 8192]);
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&buf[..n]);
        if kept.len() > 2 * KEEP {
            kept.drain(..kept.len() - KEEP);
        }
    }
    kept
}

fn tail(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let s = s.trim();
    let start = s.len().saturating_sub(800);
    let start = (start..=s.len())
        .find(|i| s.is_char_boundary(*i))
        .unwrap_or(s.len());
    s[start..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bins(major: u32, minor: u32) -> ServerBins {
        ServerBins {
            dir: format!("/x/{major}").into(),
            version_line: format!("postgres (PostgreSQL) {major}.{minor}"),
            major,
            minor,
        }
    }

    #[test]
    fn chooses_the_closest_major_at_least_the_backups() {
        let found = [bins(14, 1), bins(15, 3), bins(15, 9), bins(17, 0)];
        assert_eq!(choose_server_bins(&found, 15).unwrap(), bins(15, 9));
        assert_eq!(choose_server_bins(&found, 16).unwrap(), bins(17, 0));
        assert_eq!(choose_server_bins(&found, 12).unwrap(), bins(14, 1));
        let e = choose_server_bins(&found, 18).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ToolMissing);
        assert!(e.message().contains("version 17"), "{}", e.message());
        let e = choose_server_bins(&[], 15).unwrap_err();
        assert!(e.message().contains("initdb"), "{}", e.message());
        assert!(e.hint().unwrap().contains("15"), "{:?}", e.hint());
    }

    #[test]
    fn finds_this_machines_server_binaries() {
        // The test machine has Debian's postgresql-15 (the CI setup installs it).
        let found = discover_server_bins(None);
        assert!(
            found
                .iter()
                .any(|b| b.major >= 15 && b.dir.join("initdb").is_file()),
            "no server binaries found: {found:?}"
        );
    }
}
