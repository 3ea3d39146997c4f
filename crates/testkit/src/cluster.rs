//! A throwaway PostgreSQL cluster for tests.

use crate::ports::free_port;
use std::ffi::OsStr;
#[cfg(unix)]
use std::ffi::{CStr, CString};
use std::fs;
use std::io::{Read, Write};
#[cfg(unix)]
use std::os::unix::fs::{MetadataExt, PermissionsExt};
#[cfg(unix)]
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

const HOST: &str = "127.0.0.1";
const SUPERUSER: &str = "postgres";
/// The OS user the server runs as when tests run as root.
#[cfg(unix)]
const OS_USER: &str = "postgres";
/// Binaries a cluster needs (server side and the client tools tests use).
const REQUIRED_BINARIES: &[&str] = &[
    "initdb", "pg_ctl", "postgres", "psql", "pg_dump", "createdb",
];
const INSTALL_HINT: &str =
    "install the Debian package `postgresql-15` (with `postgresql-contrib`): \
     `apt-get install -y postgresql-15 postgresql-contrib`, or run `.ci/setup.sh`; \
     or point $OFFSITE_TEST_PG_BIN at a directory holding initdb, pg_ctl, postgres, psql, pg_dump";

/// A PostgreSQL server in a temporary directory, listening on 127.0.0.1 on a free port.
///
/// * Superuser `postgres` with a random password ([`superuser_password`](Self::superuser_password));
///   TCP connections need it (scram-sha-256), the Unix socket in [`socket_dir`](Self::socket_dir)
///   is trusted. The password deliberately contains URL/pgpass-special characters (`:@/%#?+`).
/// * Dropping it stops the server (immediate) and removes the directory. A watchdog process does
///   the same if the test process dies without dropping it (panic=abort, SIGKILL, Ctrl-C), and
///   [`TestCluster::shared`] clusters are cleaned up when the process exits.
pub struct TestCluster {
    root: PathBuf,
    data_dir: PathBuf,
    log_file: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    /// The bootstrap superuser (`postgres` unless started with another).
    superuser: String,
    password: String,
    /// How clients reach it: `127.0.0.1`, or the socket folder when it listens on no TCP address.
    host: String,
    socket_only: bool,
    /// (uid, gid) of the `postgres` OS user when we run as root (initdb refuses root).
    #[cfg_attr(not(unix), allow(dead_code))]
    run_as: Option<(u32, u32)>,
    watchdog: Mutex<Option<(Child, ChildStdin)>>,
    cleaned: AtomicBool,
}

impl std::fmt::Debug for TestCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCluster")
            .field("root", &self.root)
            .field("port", &self.port)
            .field("bin_dir", &self.bin_dir)
            .finish_non_exhaustive()
    }
}

impl TestCluster {
    /// Creates and starts a new cluster. Panics (never skips) when PostgreSQL is unavailable,
    /// naming the package to install.
    pub fn start() -> TestCluster {
        Self::start_with_bin_dir(&find_bin_dir())
    }

    /// A cluster of PostgreSQL `major` (e.g. 13, an older source than the machine's own): its
    /// binaries found by [`crate::majors::bin_dir`], which panics when there are none.
    pub fn start_major(major: u32) -> TestCluster {
        Self::start_with_bin_dir(&crate::majors::bin_dir(major))
    }

    /// Like [`start`](Self::start) with an explicit directory of PostgreSQL binaries.
    pub fn start_with_bin_dir(bin_dir: &Path) -> TestCluster {
        Self::start_configured(bin_dir, false, SUPERUSER)
    }

    /// A cluster with `listen_addresses = ''`: reachable only through the Unix socket in
    /// [`socket_dir`](Self::socket_dir) (trusted, no password). [`host`](Self::host) is that
    /// folder, so [`conn_args`](Self::conn_args), [`env`](Self::env), [`psql`](Self::psql) and the
    /// snapshot helpers use the socket; [`url`](Self::url) is a socket URL.
    pub fn start_socket_only() -> TestCluster {
        Self::start_configured(&find_bin_dir(), true, SUPERUSER)
    }

    /// A cluster whose bootstrap superuser is `name` (a server shaped like a hosted platform's,
    /// where `postgres` is an ordinary role: create it yourself).
    pub fn start_with_superuser(name: &str) -> TestCluster {
        Self::start_configured(&find_bin_dir(), false, name)
    }

    fn start_configured(bin_dir: &Path, socket_only: bool, superuser: &str) -> TestCluster {
        if !cfg!(unix) {
            panic!(
                "testkit: throwaway PostgreSQL clusters run on Unix only (a watchdog through /bin/sh, \
                 process groups, Unix sockets, the `postgres` OS user); a test that needs one cannot \
                 run on this OS (docs/development.md lists them)"
            );
        }
        check_bin_dir(bin_dir, "the given bin dir");
        let run_as = postgres_os_user();
        let base = pick_base_dir(run_as);
        let root = tempfile::Builder::new()
            .prefix("offsite-pg-")
            .tempdir_in(&base)
            .unwrap_or_else(|e| {
                panic!(
                    "testkit: cannot create a temp dir in {}: {e}",
                    base.display()
                )
            })
            .keep();
        #[cfg(unix)]
        fs::set_permissions(&root, fs::Permissions::from_mode(0o700)).expect("chmod temp dir");
        #[cfg(unix)]
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(&root, Some(uid), Some(gid))
                .expect("chown temp dir to postgres");
        }
        let host = if socket_only {
            root.display().to_string()
        } else {
            HOST.to_string()
        };
        let mut cluster = TestCluster {
            host,
            socket_only,
            data_dir: root.join("data"),
            log_file: root.join("server.log"),
            root,
            bin_dir: bin_dir.to_path_buf(),
            port: 0,
            superuser: superuser.to_string(),
            password: random_password(),
            run_as,
            watchdog: Mutex::new(None),
            cleaned: AtomicBool::new(false),
        };
        // From here on, Drop (or the watchdog, if we die) removes the directory.
        cluster.spawn_watchdog();
        let templated = cluster.initdb();
        cluster.start_on_free_port();
        if templated {
            cluster.set_own_password();
        }
        cluster
    }

    /// One cluster per test process, started on first use and stopped when the process exits.
    /// Tests sharing it should each work in their own database (see [`unique_db`](Self::unique_db)).
    pub fn shared() -> &'static TestCluster {
        static SHARED: OnceLock<TestCluster> = OnceLock::new();
        #[cfg(unix)]
        extern "C" fn cleanup_shared() {
            if let Some(c) = SHARED.get() {
                c.cleanup();
            }
        }
        SHARED.get_or_init(|| {
            let c = TestCluster::start();
            // SAFETY: registering a plain extern "C" fn with no captured state.
            #[cfg(unix)]
            unsafe {
                libc::atexit(cleanup_shared)
            };
            c
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1`, or the socket folder of a [`start_socket_only`](Self::start_socket_only)
    /// cluster.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether it listens on no TCP address (see [`start_socket_only`](Self::start_socket_only)).
    pub fn is_socket_only(&self) -> bool {
        self.socket_only
    }

    /// Superuser name (`postgres`).
    pub fn superuser(&self) -> &str {
        &self.superuser
    }

    pub fn superuser_password(&self) -> &str {
        &self.password
    }

    /// Directory of the PostgreSQL binaries in use (pg_dump, pg_restore, psql, … are there too).
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// Path of a binary in [`bin_dir`](Self::bin_dir), e.g. `bin("pg_restore")`.
    pub fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The Unix socket directory (local connections there are trusted, no password).
    pub fn socket_dir(&self) -> &Path {
        &self.root
    }

    /// `postgres://postgres@127.0.0.1:PORT/db`: no password in it (it must come from elsewhere);
    /// for a socket-only cluster `postgresql://postgres@/db?host=SOCKET_DIR&port=PORT`.
    pub fn url(&self, db: &str) -> String {
        if self.socket_only {
            return format!(
                "postgresql://{}@/{}?host={}&port={}",
                self.superuser,
                crate::percent_encode(db),
                crate::percent_encode(&self.host),
                self.port
            );
        }
        format!(
            "postgres://{}@{HOST}:{}/{}",
            self.superuser,
            self.port,
            crate::percent_encode(db)
        )
    }

    /// `postgres://postgres:PASSWORD@127.0.0.1:PORT/db`, the password percent-encoded.
    pub fn url_with_password(&self, db: &str) -> String {
        format!(
            "postgres://{}:{}@{HOST}:{}/{}",
            self.superuser,
            crate::percent_encode(&self.password),
            self.port,
            crate::percent_encode(db)
        )
    }

    /// `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD` for child processes.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("PGHOST".into(), self.host.clone()),
            ("PGPORT".into(), self.port.to_string()),
            ("PGUSER".into(), self.superuser.clone()),
            ("PGPASSWORD".into(), self.password.clone()),
        ]
    }

    /// `-h HOST -p PORT -U postgres` ([`host`](Self::host)), for client tools (password via
    /// [`env`](Self::env)).
    pub fn conn_args(&self) -> Vec<String> {
        vec![
            "-h".into(),
            self.host.clone(),
            "-p".into(),
            self.port.to_string(),
            "-U".into(),
            self.superuser.clone(),
        ]
    }

    /// A command for `program` — looked up in [`bin_dir`](Self::bin_dir) first when it is a bare
    /// name found there (`pg_restore`, `pg_dump`, …) — with every inherited `PG*` variable
    /// removed and [`env`](Self::env) set, so it reaches this cluster as the superuser.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let program = program.as_ref();
        let in_bin = self.bin_dir.join(program);
        let mut cmd = if Path::new(program).components().count() == 1 && in_bin.exists() {
            Command::new(in_bin)
        } else {
            Command::new(program)
        };
        clear_pg_env(&mut cmd);
        cmd.envs(self.env());
        cmd.env("PGCONNECT_TIMEOUT", "20")
            .env("PGSSLMODE", "disable")
            .env("PGCLIENTENCODING", "UTF8");
        cmd
    }

    /// `createdb NAME` (panics on failure).
    pub fn create_db(&self, name: &str) {
        let out = self
            .command("createdb")
            .args(self.conn_args())
            .arg("--")
            .arg(name)
            .output()
            .expect("run createdb");
        check(&out, &format!("createdb {name}"));
    }

    /// `dropdb --if-exists --force NAME` (panics on failure).
    pub fn drop_db(&self, name: &str) {
        let out = self
            .command("dropdb")
            .args(self.conn_args())
            .args(["--if-exists", "--force", "--"])
            .arg(name)
            .output()
            .expect("run dropdb");
        check(&out, &format!("dropdb {name}"));
    }

    /// A new, empty database with a name unique in this cluster (`prefix_N`), created.
    pub fn unique_db(&self, prefix: &str) -> String {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let name = format!("{prefix}_{}", COUNTER.fetch_add(1, Ordering::SeqCst));
        self.create_db(&name);
        name
    }

    /// Runs `sql` as a script with `psql -X -q -v ON_ERROR_STOP=1 -At` over TCP as the superuser;
    /// returns stdout without its trailing newline(s). Panics with psql's stderr on failure.
    /// Waits until `sql` (one value) on `db` answers `want` — a row appearing or going, the
    /// event a test waits on — and panics naming `what` with the last answer once `deadline`
    /// has passed. Asks again every 50 ms: the interval bounds the cost, never the outcome.
    pub fn wait_for_answer(
        &self,
        db: &str,
        sql: &str,
        want: &str,
        what: &str,
        deadline: std::time::Duration,
    ) {
        let end = std::time::Instant::now() + deadline;
        loop {
            let got = self.psql(db, sql);
            if got.trim() == want {
                return;
            }
            assert!(
                std::time::Instant::now() < end,
                "{what}: still {got:?} after {deadline:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    pub fn psql(&self, db: &str, sql: &str) -> String {
        self.try_psql(db, sql).unwrap_or_else(|e| {
            panic!(
                "psql on database {db:?} failed: {e}\n--- SQL ---\n{}",
                shorten(sql, 2000)
            )
        })
    }

    /// Like [`psql`](Self::psql) but returns psql's stderr as the error.
    pub fn try_psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = self.run_psql(&["-d", db, "-f", "-"], Some(sql.as_bytes()))?;
        Ok(String::from_utf8_lossy(&out)
            .trim_end_matches(['\n', '\r'])
            .to_string())
    }

    /// `psql -f PATH` against `db` (panics on failure).
    pub fn psql_file(&self, db: &str, path: &Path) {
        let p = path.to_str().expect("utf-8 path");
        if let Err(e) = self.run_psql(&["-d", db, "-f", p], None) {
            panic!("psql -f {} on database {db:?} failed: {e}", path.display());
        }
    }

    /// Runs psql against an arbitrary connection string with NO password from the testkit
    /// (no `PGPASSWORD`, `PGPASSFILE=/dev/null`): for "does this URL authenticate" tests.
    pub fn psql_url(&self, conninfo: &str, sql: &str) -> Result<String, String> {
        let mut cmd = Command::new(self.bin("psql"));
        clear_pg_env(&mut cmd);
        cmd.env("PGPASSFILE", "/dev/null")
            .env("PGCONNECT_TIMEOUT", "20")
            .env("PGSSLMODE", "disable");
        cmd.args([
            "-X",
            "-q",
            "-w",
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-d",
            conninfo,
            "-c",
            sql,
        ]);
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout)
                .trim_end_matches(['\n', '\r'])
                .to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Creates the login role `role` without a password and lets it connect over TCP from
    /// 127.0.0.1 with no password at all (`trust`, placed before the cluster's password rule in
    /// `pg_hba.conf`), then reloads the configuration and waits until it applies. Every other
    /// role still needs its password. For "a database that needs no secret" tests.
    pub fn create_trusted_role(&self, role: &str) {
        assert!(
            !role.is_empty() && role.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "testkit: trusted role names are plain identifiers, got {role:?}"
        );
        static HBA: Mutex<()> = Mutex::new(());
        let _hba = HBA.lock().unwrap_or_else(|p| p.into_inner());
        self.psql("postgres", &format!("CREATE ROLE \"{role}\" LOGIN"));
        let hba = self.data_dir.join("pg_hba.conf");
        let old = fs::read_to_string(&hba).expect("testkit: read pg_hba.conf");
        // Rewriting the existing file keeps its owner (the postgres OS user) and mode.
        fs::write(&hba, format!("host all \"{role}\" {HOST}/32 trust\n{old}"))
            .expect("testkit: write pg_hba.conf");
        self.psql("postgres", "SELECT pg_reload_conf()");
        let url = format!("postgres://{role}@{HOST}:{}/postgres", self.port);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            match self.psql_url(&url, "SELECT 1") {
                Ok(_) => return,
                Err(e) if std::time::Instant::now() > deadline => {
                    panic!("testkit: role {role} still cannot connect without a password: {e}")
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
            }
        }
    }

    /// Loads [`crate::supabase_fixture_sql`] into `db` (which should be new and empty).
    pub fn load_supabase_fixture(&self, db: &str) {
        // Its roles are cluster-wide and created when missing: two loads at once would race.
        static LOADING: Mutex<()> = Mutex::new(());
        let _one_at_a_time = LOADING.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = self.run_psql(
            &["-d", db, "-f", "-"],
            Some(crate::supabase_fixture_sql().as_bytes()),
        ) {
            panic!("loading the Supabase-shaped fixture into {db:?} failed: {e}");
        }
    }

    /// `server_version_num`, e.g. 150020.
    pub fn server_version_num(&self) -> u32 {
        self.psql("postgres", "SHOW server_version_num")
            .parse()
            .expect("server_version_num")
    }

    /// Creates a large object holding `bytes` in `db`; returns its oid.
    pub fn create_large_object(&self, db: &str, bytes: &[u8]) -> u32 {
        let oid = self.psql(
            db,
            &format!("SELECT lo_from_bytea(0, {})", crate::bytea_literal(bytes)),
        );
        oid.parse()
            .unwrap_or_else(|_| panic!("lo_from_bytea returned {oid:?}"))
    }

    /// The bytes of large object `oid` in `db`.
    pub fn read_large_object(&self, db: &str, oid: u32) -> Vec<u8> {
        let hex = self.psql(db, &format!("SELECT encode(lo_get({oid}), 'hex')"));
        crate::snapshot::decode_hex(&hex)
    }

    /// Terminates every other backend connected to `db` (a dropped-connection test).
    pub fn terminate_backends(&self, db: &str) -> usize {
        let sql = format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = {} AND pid <> pg_backend_pid()",
            quote_literal(db)
        );
        self.psql("postgres", &sql).parse().unwrap_or(0)
    }

    /// Whether the server is running (`pg_ctl status`).
    pub fn is_running(&self) -> bool {
        self.pg_ctl()
            .args(["status", "-D"])
            .arg(&self.data_dir)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    /// Turns TLS on with this server certificate and key (PEM; see `tls::TestCa`): written into
    /// the data folder (the key 0600, as the server demands), `ssl = on`, configuration
    /// reloaded. Panics when the server refuses them.
    pub fn enable_tls(&self, cert_pem: &str, key_pem: &str) {
        std::fs::write(self.data_dir.join("server.crt"), cert_pem).expect("write server.crt");
        let key = self.data_dir.join("server.key");
        std::fs::write(&key, key_pem).expect("write server.key");
        #[cfg(unix)]
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod key");
        #[cfg(unix)]
        if let Some((uid, gid)) = self.run_as {
            for f in ["server.crt", "server.key"] {
                std::os::unix::fs::chown(self.data_dir.join(f), Some(uid), Some(gid))
                    .expect("chown the TLS files to postgres");
            }
        }
        self.psql("postgres", "ALTER SYSTEM SET ssl = on");
        self.psql("postgres", "SELECT pg_reload_conf()");
        for _ in 0..50 {
            let log = self.server_log_tail();
            if log.contains("could not load") || log.contains("private key file") {
                panic!("testkit: the server refused the TLS files: {log}");
            }
            if self.psql("postgres", "SHOW ssl").trim() == "on" {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!(
            "testkit: the server did not turn TLS on: {}",
            self.server_log_tail()
        );
    }

    /// Fast shutdown (`pg_ctl stop -m fast`), e.g. for "server went away mid-backup" tests.
    /// No-op when already stopped. [`restart`](Self::restart) brings it back on the same port.
    pub fn stop(&self) {
        if !self.is_running() {
            return;
        }
        let out = self
            .pg_ctl()
            .args(["stop", "-w", "-t", "60", "-m", "fast", "-D"])
            .arg(&self.data_dir)
            .output()
            .expect("run pg_ctl stop");
        check(&out, "pg_ctl stop -m fast");
    }

    /// Starts the server again after [`stop`](Self::stop) (same port, same data); restarts it
    /// when it is running.
    pub fn restart(&self) {
        let out = if self.is_running() {
            self.pg_ctl()
                .args(["restart", "-w", "-t", "60", "-m", "fast", "-D"])
                .arg(&self.data_dir)
                .arg("-l")
                .arg(&self.log_file)
                .output()
        } else {
            self.pg_ctl()
                .args(["start", "-w", "-t", "60", "-D"])
                .arg(&self.data_dir)
                .arg("-l")
                .arg(&self.log_file)
                .output()
        }
        .expect("run pg_ctl");
        if !out.status.success() {
            panic!(
                "testkit: restarting PostgreSQL failed: {}\n--- server log ---\n{}",
                String::from_utf8_lossy(&out.stderr),
                self.server_log_tail()
            );
        }
    }

    /// The server log (last 20 000 bytes), for failure messages.
    pub fn server_log_tail(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = fs::File::open(&self.log_file) {
            let _ = f.read_to_string(&mut s);
        }
        if s.len() > 20_000 {
            let mut cut = s.len() - 20_000;
            while !s.is_char_boundary(cut) {
                cut += 1;
            }
            s = s[cut..].to_string();
        }
        s
    }

    // ---- internals ----------------------------------------------------------------------------

    fn run_psql(&self, args: &[&str], stdin: Option<&[u8]>) -> Result<Vec<u8>, String> {
        let mut cmd = self.command("psql");
        cmd.args(["-X", "-q", "-w", "-v", "ON_ERROR_STOP=1", "-At"])
            .args(self.conn_args())
            .args(args);
        let out = run_with_stdin(cmd, stdin).map_err(|e| format!("cannot run psql: {e}"))?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(format!(
                "{}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// A command for a server-side binary, run as the `postgres` OS user when we are root.
    fn server_cmd(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        clear_pg_env(&mut cmd);
        cmd.current_dir("/");
        #[cfg(unix)]
        {
            if let Some((uid, gid)) = self.run_as {
                cmd.uid(uid).gid(gid);
            }
            // Own process group: a Ctrl-C in the terminal must not reach the server or watchdog.
            cmd.process_group(0);
        }
        cmd
    }

    fn pg_ctl(&self) -> Command {
        self.server_cmd(self.bin("pg_ctl"))
    }

    fn spawn_watchdog(&mut self) {
        // Reads stdin until EOF, i.e. until this process has gone (or Drop closed it), then
        // stops the server and removes the directory. Idempotent with Drop's own cleanup.
        let script = r#"cat >/dev/null; "$1" stop -D "$2" -m immediate -w -t 30 >/dev/null 2>&1; rm -rf "$3""#;
        let mut cmd = self.server_cmd("/bin/sh");
        cmd.args(["-c", script, "offsite-testkit-watchdog"])
            .arg(self.bin("pg_ctl"))
            .arg(&self.data_dir)
            .arg(&self.root)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("testkit: spawn watchdog (/bin/sh)");
        let stdin = child.stdin.take().expect("watchdog stdin");
        *self.watchdog.lock().unwrap() = Some((child, stdin));
    }

    /// The cluster's data folder: a copy of a cached `initdb` result for these binaries, this
    /// superuser and locale (made once per machine, in the temp folder), else initdb's own.
    /// Returns whether it is a copy (its superuser's password is then the template's, replaced
    /// by [`set_own_password`](Self::set_own_password) once the server runs). An initdb is
    /// ~0.6 s of CPU; a full test run starts ~200 clusters on 2 cores.
    fn initdb(&self) -> bool {
        let copied = self.copy_template();
        if !copied {
            self.run_initdb(&self.data_dir, &self.password);
        }
        self.append_conf();
        copied
    }

    #[cfg(unix)]
    fn copy_template(&self) -> bool {
        let Some(template) = self.template() else {
            return false;
        };
        let out = self
            .server_cmd("cp")
            .arg("-a")
            .arg(&template)
            .arg(&self.data_dir)
            .output()
            .expect("run cp");
        if !out.status.success() {
            panic!(
                "testkit: copying the initdb template {} failed: {}",
                template.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        true
    }

    #[cfg(not(unix))]
    fn copy_template(&self) -> bool {
        false
    }

    /// `<temp>/offsite-pg-template-<key>/data`, made when missing (initdb into a folder of its
    /// own, then renamed: test processes running at once each see a whole template or none).
    /// `OFFSITE_TEST_PG_NO_TEMPLATE=1` runs initdb for every cluster. (Unix: elsewhere every
    /// cluster runs its own initdb.)
    #[cfg(unix)]
    fn template(&self) -> Option<PathBuf> {
        if std::env::var_os("OFFSITE_TEST_PG_NO_TEMPLATE").is_some_and(|v| v == "1") {
            return None;
        }
        let initdb = fs::metadata(self.bin("initdb")).ok()?;
        let stamp = initdb
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        let key = fnv1a(&format!(
            "v1|{}|{}|{}|{stamp}|{}",
            self.bin_dir.display(),
            initdb.len(),
            self.superuser,
            c_utf8_available()
        ));
        let base = self.root.parent()?.to_path_buf();
        let dir = base.join(format!("offsite-pg-template-{key:016x}"));
        let data = dir.join("data");
        if data.join("PG_VERSION").is_file() {
            return Some(data);
        }
        let tmp = tempfile::Builder::new()
            .prefix("offsite-pg-template-new-")
            .tempdir_in(&base)
            .ok()?
            .keep();
        #[cfg(unix)]
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(&tmp, Some(uid), Some(gid)).ok()?;
        }
        self.run_initdb(&tmp.join("data"), TEMPLATE_PASSWORD);
        if fs::rename(&tmp, &dir).is_err() {
            // Another test process made it first: use theirs.
            let _ = fs::remove_dir_all(&tmp);
        }
        data.join("PG_VERSION").is_file().then_some(data)
    }

    /// Gives the superuser of a cluster copied from the template its own password (through
    /// the Unix socket, where the template trusts local connections).
    fn set_own_password(&self) {
        let sql = format!(
            "ALTER ROLE \"{}\" PASSWORD '{}'",
            self.superuser.replace('"', "\"\""),
            self.password.replace('\'', "''")
        );
        let out = self
            .server_cmd(self.bin("psql"))
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.root)
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-U", &self.superuser, "-d", "postgres", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write as _;
                child
                    .stdin
                    .take()
                    .expect("psql stdin")
                    .write_all(sql.as_bytes())?;
                child.wait_with_output()
            })
            .expect("run psql");
        check(&out, "setting the superuser's password");
    }

    fn run_initdb(&self, data_dir: &Path, password: &str) {
        let pwfile = data_dir.with_file_name("pwfile");
        fs::write(&pwfile, format!("{password}\n")).expect("write pwfile");
        #[cfg(unix)]
        fs::set_permissions(&pwfile, fs::Permissions::from_mode(0o600)).expect("chmod pwfile");
        #[cfg(unix)]
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid)).expect("chown pwfile");
        }
        let locale = if c_utf8_available() { "C.UTF-8" } else { "C" };
        let out = self
            .server_cmd(self.bin("initdb"))
            .arg("-D")
            .arg(data_dir)
            .args([
                "-U",
                &self.superuser,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
            ])
            .arg(format!("--locale={locale}"))
            .arg(format!("--pwfile={}", pwfile.display()))
            .arg("--no-sync")
            .output()
            .expect("run initdb");
        let _ = fs::remove_file(&pwfile);
        check(&out, "initdb");
    }

    fn append_conf(&self) {
        let listen = if self.socket_only { "" } else { HOST };
        let conf = format!(
            "\n# --- offsite-testkit ---\n\
             listen_addresses = '{listen}'\n\
             unix_socket_directories = '{}'\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n\
             max_connections = 50\n\
             shared_buffers = 16MB\n\
             max_wal_size = 256MB\n\
             wal_level = logical\n\
             max_wal_senders = 4\n\
             max_replication_slots = 4\n\
             password_encryption = 'scram-sha-256'\n\
             log_min_messages = warning\n\
             autovacuum = off\n\
             log_timezone = 'UTC'\n",
            self.root.display().to_string().replace('\'', "''")
        );
        append(&self.data_dir.join("postgresql.conf"), &conf);
    }

    fn start_on_free_port(&mut self) {
        let mut last = String::new();
        for _attempt in 0..8 {
            let port = free_port();
            append(
                &self.data_dir.join("postgresql.conf"),
                &format!("port = {port}\n"),
            );
            let out = self
                .pg_ctl()
                .args(["start", "-w", "-t", "60", "-s", "-D"])
                .arg(&self.data_dir)
                .arg("-l")
                .arg(&self.log_file)
                .output()
                .expect("run pg_ctl start");
            if out.status.success() {
                self.port = port;
                return;
            }
            last = format!(
                "{}\n--- server log ---\n{}",
                String::from_utf8_lossy(&out.stderr),
                self.server_log_tail()
            );
            if !(last.contains("could not bind")
                || last.contains("already in use")
                || last.contains("could not create any TCP/IP sockets"))
            {
                break;
            }
        }
        panic!(
            "testkit: starting PostgreSQL ({}) failed: {last}",
            self.bin_dir.display()
        );
    }

    fn cleanup(&self) {
        if self.cleaned.swap(true, Ordering::SeqCst) {
            return;
        }
        let stopped = self
            .pg_ctl()
            .args(["stop", "-w", "-t", "30", "-m", "immediate", "-D"])
            .arg(&self.data_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !stopped {
            // Not running, or pg_ctl failed: kill a postmaster that is still there.
            #[cfg(unix)]
            if let Ok(pidfile) = fs::read_to_string(self.data_dir.join("postmaster.pid")) {
                if let Some(pid) = pidfile
                    .lines()
                    .next()
                    .and_then(|l| l.trim().parse::<i32>().ok())
                {
                    if pid > 1 {
                        // SAFETY: plain syscall.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                }
            }
        }
        let _ = fs::remove_dir_all(&self.root);
        if let Ok(mut guard) = self.watchdog.lock() {
            if let Some((mut child, stdin)) = guard.take() {
                drop(stdin);
                let _ = child.wait();
            }
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        self.cleanup();
    }
}

// ---- helpers ------------------------------------------------------------------------------------

fn check(out: &Output, what: &str) {
    if !out.status.success() {
        panic!(
            "testkit: {what} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

pub(crate) fn run_with_stdin(mut cmd: Command, stdin: Option<&[u8]>) -> std::io::Result<Output> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    match stdin {
        None => cmd.stdin(Stdio::null()).output(),
        Some(bytes) => {
            cmd.stdin(Stdio::piped());
            let mut child = cmd.spawn()?;
            let mut pipe = child.stdin.take().expect("stdin");
            let data = bytes.to_vec();
            // Write from another thread: psql may fill stdout before reading all of stdin.
            let writer = std::thread::spawn(move || {
                let _ = pipe.write_all(&data);
            });
            let out = child.wait_with_output();
            let _ = writer.join();
            out
        }
    }
}

fn clear_pg_env(cmd: &mut Command) {
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("PG") {
            cmd.env_remove(k);
        }
    }
}

fn append(path: &Path, text: &str) {
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    f.write_all(text.as_bytes())
        .expect("append to postgresql.conf");
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub(crate) fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes in all)", &s[..cut], s.len())
}

fn random_password() -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 20];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("read /dev/urandom");
    let mut pw: String = bytes
        .iter()
        .map(|b| ALNUM[*b as usize % ALNUM.len()] as char)
        .collect();
    // Characters that break naive URL building, pgpass files and conninfo strings.
    pw.push_str("-:@/%#?+");
    pw
}

/// The password of the initdb template's superuser: replaced in every copy before it is used.
#[cfg(unix)]
const TEMPLATE_PASSWORD: &str = "offsite-testkit-template";

#[cfg(unix)]
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn c_utf8_available() -> bool {
    Command::new("locale")
        .arg("-a")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.eq_ignore_ascii_case("C.UTF-8") || l.eq_ignore_ascii_case("C.utf8"))
        })
        .unwrap_or(false)
}

fn find_bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("OFFSITE_TEST_PG_BIN") {
        let dir = PathBuf::from(dir);
        check_bin_dir(&dir, "$OFFSITE_TEST_PG_BIN");
        return dir;
    }
    let mut best: Option<(u32, PathBuf)> = None;
    if let Ok(entries) = fs::read_dir("/usr/lib/postgresql") {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(major) = name.split('.').next().unwrap_or("").parse::<u32>() else {
                continue;
            };
            let bin = e.path().join("bin");
            if bin.join("postgres").is_file()
                && bin.join("initdb").is_file()
                && best.as_ref().is_none_or(|(m, _)| major > *m)
            {
                best = Some((major, bin));
            }
        }
    }
    match best {
        Some((_, bin)) => {
            check_bin_dir(&bin, "/usr/lib/postgresql/*/bin");
            bin
        }
        None => panic!(
            "testkit: PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin with initdb and postgres, \
             and $OFFSITE_TEST_PG_BIN is not set). Tests that need PostgreSQL do not skip: {INSTALL_HINT}."
        ),
    }
}

fn check_bin_dir(dir: &Path, origin: &str) {
    let missing: Vec<&str> = REQUIRED_BINARIES
        .iter()
        .copied()
        .filter(|b| !dir.join(b).is_file())
        .collect();
    if !missing.is_empty() {
        panic!(
            "testkit: PostgreSQL binaries missing in {} ({origin}): {}. Tests that need PostgreSQL do not skip: {INSTALL_HINT}.",
            dir.display(),
            missing.join(", ")
        );
    }
}

/// `Some((uid, gid))` of the `postgres` OS user when running as root; `None` otherwise.
#[cfg(not(unix))]
fn postgres_os_user() -> Option<(u32, u32)> {
    None
}

/// `Some((uid, gid))` of the `postgres` OS user when running as root; `None` otherwise.
#[cfg(unix)]
fn postgres_os_user() -> Option<(u32, u32)> {
    // SAFETY: plain syscall.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let name = CString::new(OS_USER).unwrap();
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0u8; 16384];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: buffers are valid for the call; the result points into `pwd`/`buf`.
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
        panic!(
            "testkit: running as root, and initdb refuses to run as root, but there is no `postgres` OS user \
             to run the server as (the Debian package postgresql-15 creates it: {INSTALL_HINT}); or run the tests as a non-root user"
        );
    }
    let _ = unsafe { CStr::from_ptr(pwd.pw_name) };
    Some((pwd.pw_uid, pwd.pw_gid))
}

/// `std::env::temp_dir()`, unless the `postgres` user cannot reach it or the socket path would be
/// too long; then `/tmp`.
fn pick_base_dir(run_as: Option<(u32, u32)>) -> PathBuf {
    let tmp = std::env::temp_dir();
    // "/offsite-pg-XXXXXX/.s.PGSQL.65535" must fit in sun_path (108 bytes).
    let fits = tmp.as_os_str().len() + 40 < 108;
    let reachable = match run_as {
        None => true,
        #[cfg(not(unix))]
        Some(_) => true,
        #[cfg(unix)]
        Some((uid, gid)) => tmp.ancestors().all(|p| {
            fs::metadata(p)
                .map(|m| {
                    let mode = m.mode();
                    mode & 0o001 != 0
                        || (m.uid() == uid && mode & 0o100 != 0)
                        || (m.gid() == gid && mode & 0o010 != 0)
                })
                .unwrap_or(false)
        }),
    };
    if fits && reachable {
        tmp
    } else {
        PathBuf::from("/tmp")
    }
}
