//! `--drill`: a restore drill of the large dataset against the same work done by hand.
//!
//! One backup of the large dataset is made (`offsite backup`, not timed); its `database.dump`
//! is extracted once (not timed) for the peer. Then, `--runs` times, alternating which goes
//! first:
//!
//! - **the peer**, as a careful person would do it by hand with the same PostgreSQL binaries:
//!   `initdb` a private cluster (socket only, the settings the drill's cluster gets: `fsync`,
//!   `synchronous_commit` and `full_page_writes` off), `pg_ctl start`, `createdb`,
//!   `pg_restore --single-transaction --exit-on-error` of the extracted dump (the flags Offsite
//!   runs it with), list the tables and read every one back with `COPY … TO STDOUT` in one
//!   `psql` (output to /dev/null), `pg_ctl stop -m immediate`, remove the folder. Each step is
//!   its own timed process; the sum is the peer's time, and `pg_restore` + the read-back alone
//!   is the floor the issue names ("restore alone + reading every table back").
//! - **`offsite drill bench --backup ID`** (the CLI as a child process): verify, throwaway
//!   cluster, restore with `--create-roles`, every table's rows and SHA-256 compared, storage
//!   and config checks, cluster stopped and removed, report written and signed.
//!
//! Before each contender's run: `sync` + CHECKPOINT, and the free memory is warmed alike
//! ([`measure::warm_memory`]). Prints every run, the medians, both ratios and the peak RSS.

use crate::measure::{self, Measured};
use crate::report::{runs_table, verdict_table, Results, Verdict};
use crate::{json_of, settle, Offsite};
use offsite_testkit::TestCluster;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Free memory warmed before each contender's run (more than the restore writes).
const WARM_BYTES: u64 = 1 << 30;

/// What `drill::run` needs from the bench.
pub(crate) struct DrillBench<'a> {
    pub(crate) offsite: &'a Offsite<'a>,
    pub(crate) pg: &'a TestCluster,
    pub(crate) work: &'a Path,
    pub(crate) runs: usize,
}

pub(crate) fn run(b: &DrillBench<'_>) -> Result<(), String> {
    let (backup_id, archive) = backup(b)?;
    let dump = b.work.join("drill-peer.dump");
    extract_dump(&archive, &dump)?;
    eprintln!(
        "drill bench: backup {backup_id}, archive {:.1} MiB, database.dump {:.1} MiB",
        crate::mib(crate::file_size(&archive)?),
        crate::mib(crate::file_size(&dump)?)
    );
    let mut r = Results::default();
    for run in 1..=b.runs {
        let peer_first = run % 2 == 1;
        for peer in [peer_first, !peer_first] {
            settle(b.pg);
            measure::warm_memory(b.work, WARM_BYTES);
            if peer {
                let p = by_hand(b.pg, &dump)?;
                eprintln!(
                    "  run {run}: by hand {:6.2} s (cluster up {:.2}, pg_restore {:.2}, read back {:.2}, down {:.2})",
                    p.total(), p.up, p.restore, p.read, p.down
                );
                p.record(&mut r);
            } else {
                let m = drill(b.offsite, &backup_id)?;
                eprintln!(
                    "  run {run}: offsite drill {:6.2} s  peak RSS {:.1} MiB (offsite alone), {:.1} MiB (wait4)",
                    m.secs(),
                    m.own_hwm_kib.unwrap_or(0) as f64 / 1024.0,
                    m.maxrss_kib as f64 / 1024.0
                );
                record_drill(&m, &mut r);
            }
        }
    }
    let _ = std::fs::remove_file(&dump);
    print_report(&r, b.runs);
    Ok(())
}

/// The backup the drills prove (not timed): its id and archive.
fn backup(b: &DrillBench<'_>) -> Result<(String, PathBuf), String> {
    eprintln!("drill bench: backing the large dataset up…");
    let mut c = b.offsite.cmd();
    c.args(["backup", "bench", "--dest"])
        .arg(b.work.join("drill-archive"));
    let m = measure::run(&mut c, None)?.check("offsite backup (for the drill)")?;
    let v = json_of(&m, "offsite backup")?;
    let id = v["id"].as_str().ok_or("offsite backup: no \"id\"")?;
    let path = v["path"].as_str().ok_or("offsite backup: no \"path\"")?;
    Ok((id.to_string(), PathBuf::from(path)))
}

/// The backup's `database.dump`, for the peer (checked against its SHA-256 as it is copied).
fn extract_dump(archive: &Path, to: &Path) -> Result<(), String> {
    let mut f = std::fs::File::create(to).map_err(|e| format!("creating {}: {e}", to.display()))?;
    offsite_core::archive::copy_member(
        archive,
        offsite_core::archive::DATABASE_MEMBER,
        &mut f,
        &offsite_core::progress::Reporter::silent(),
        &tokio_util::sync::CancellationToken::new(),
    )
    .map_err(|e| format!("extracting database.dump: {e}"))?;
    f.sync_all().map_err(|e| format!("{}: {e}", to.display()))
}

/// `offsite drill bench --backup ID`, measured; the report must say passed, every table
/// compared.
fn drill(o: &Offsite<'_>, backup_id: &str) -> Result<Measured, String> {
    let mut c = o.cmd();
    // The report is signed with a key from the secret store: the process's own memory here
    // (the environment store is read-only).
    c.env("OFFSITE_SECRET_STORE", "memory")
        .args(["drill", "bench", "--backup", backup_id]);
    let m = measure::run(&mut c, None)?.check("offsite drill")?;
    let v = json_of(&m, "offsite drill")?;
    if v["verdict"].as_str() != Some("passed") {
        return Err(format!("offsite drill did not pass: {v}"));
    }
    let checks = v["report"]["checks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let tables = checks
        .iter()
        .filter(|c| c["id"].as_str().is_some_and(|i| i.starts_with("table:")))
        .filter(|c| c["status"].as_str() == Some("passed"))
        .count();
    if tables < 3 {
        return Err(format!(
            "offsite drill compared {tables} tables' content, expected users, orders, events"
        ));
    }
    Ok(m)
}

fn record_drill(m: &Measured, r: &mut Results) {
    r.add("drill_secs", "offsite drill, total", "s", m.secs());
    if let (Some(init), Some(restore)) = (m.child("initdb"), m.child("pg_restore")) {
        r.add(
            "drill_pre",
            "  drill: before initdb (verify the archive, plan)",
            "s",
            init.first_seen,
        );
        r.add(
            "drill_up",
            "  drill: initdb → pg_restore starts (cluster up, TOC, roles)",
            "s",
            restore.first_seen - init.first_seen,
        );
        r.add(
            "drill_restore",
            "  drill: while the main pg_restore runs",
            "s",
            restore.last_seen - restore.first_seen,
        );
        r.add(
            "drill_post",
            "  drill: after pg_restore (content checks, storage, cluster down, report)",
            "s",
            m.secs() - restore.last_seen,
        );
    }
    r.add(
        "drill_cpu",
        "offsite drill client CPU (offsite + its waited children)",
        "s",
        m.cpu.as_secs_f64(),
    );
    r.add(
        "drill_hwm",
        "offsite drill peak RSS, offsite process alone (VmHWM)",
        "MiB",
        m.own_hwm_kib.map_or(f64::NAN, |k| k as f64 / 1024.0),
    );
    r.add(
        "drill_rss",
        "offsite drill peak RSS, wait4 (incl. pg_restore, initdb)",
        "MiB",
        m.maxrss_kib as f64 / 1024.0,
    );
}

/// The peer's steps, in seconds.
struct ByHand {
    up: f64,
    restore: f64,
    read: f64,
    down: f64,
    /// Largest `ru_maxrss` of the client steps (pg_restore, psql, initdb), MiB.
    rss: f64,
}

impl ByHand {
    fn total(&self) -> f64 {
        self.up + self.restore + self.read + self.down
    }
    fn record(&self, r: &mut Results) {
        r.add("peer_secs", "by hand, total", "s", self.total());
        r.add(
            "peer_up",
            "  by hand: initdb + pg_ctl start + createdb",
            "s",
            self.up,
        );
        r.add("peer_restore", "  by hand: pg_restore", "s", self.restore);
        r.add(
            "peer_read",
            "  by hand: list tables + COPY each TO STDOUT",
            "s",
            self.read,
        );
        r.add(
            "peer_down",
            "  by hand: pg_ctl stop + rm -rf",
            "s",
            self.down,
        );
        r.add(
            "floor_secs",
            "floor: pg_restore + read back",
            "s",
            self.restore + self.read,
        );
        r.add(
            "peer_rss",
            "by hand: peak RSS of the client tools (wait4)",
            "MiB",
            self.rss,
        );
    }
}

/// A private cluster folder of the peer: the server stopped and the folder removed on drop.
struct PeerCluster {
    root: PathBuf,
    bin: PathBuf,
    run_as: Option<(u32, u32)>,
}

impl PeerCluster {
    fn data(&self) -> PathBuf {
        self.root.join("data")
    }
    /// A server binary, run as the `postgres` OS user when we are root (initdb refuses root).
    fn server_cmd(&self, name: &str) -> Command {
        let mut c = self.client_cmd(name);
        if let Some((uid, gid)) = self.run_as {
            c.uid(uid).gid(gid);
        }
        c.current_dir(&self.root);
        c
    }
    fn client_cmd(&self, name: &str) -> Command {
        let mut c = Command::new(self.bin.join(name));
        for k in ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"] {
            c.env_remove(k);
        }
        c
    }
    /// A client tool connected to `db` over the private socket.
    fn client(&self, name: &str, db: &str) -> Command {
        let mut c = self.client_cmd(name);
        c.arg("-h")
            .arg(&self.root)
            .args(["-U", "postgres", "-d", db]);
        c
    }
}

impl Drop for PeerCluster {
    fn drop(&mut self) {
        if self.data().join("postmaster.pid").exists() {
            let _ = self
                .server_cmd("pg_ctl")
                .args(["stop", "-m", "immediate", "-s", "-D"])
                .arg(self.data())
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// One step of the peer, measured; (seconds, ru_maxrss MiB).
fn step(c: &mut Command, what: &str) -> Result<(f64, f64), String> {
    let m = measure::run(c, None)?.check(what)?;
    Ok((m.secs(), m.maxrss_kib as f64 / 1024.0))
}

/// The drill done by hand (see the module's doc).
fn by_hand(pg: &TestCluster, dump: &Path) -> Result<ByHand, String> {
    let t0 = Instant::now();
    let run_as = postgres_ids()?;
    let root = tempfile::Builder::new()
        .prefix("offsite-bench-peer-")
        .tempdir_in(std::env::temp_dir())
        .map_err(|e| format!("creating the peer's cluster folder: {e}"))?
        .keep();
    let cl = PeerCluster {
        root,
        bin: pg.bin_dir().to_path_buf(),
        run_as,
    };
    if let Some((uid, gid)) = run_as {
        std::os::unix::fs::chown(&cl.root, Some(uid), Some(gid))
            .map_err(|e| format!("chown {}: {e}", cl.root.display()))?;
    }
    let mut rss: f64 = 0.0;
    let mut up = t0.elapsed().as_secs_f64();
    let (s, m) = step(
        cl.server_cmd("initdb").arg("-D").arg(cl.data()).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]),
        "initdb (by hand)",
    )?;
    up += s;
    rss = rss.max(m);
    let t = Instant::now();
    let conf = format!(
        "\nlisten_addresses = ''\nunix_socket_directories = '{}'\nfsync = off\n\
         synchronous_commit = off\nfull_page_writes = off\nmax_connections = 20\n",
        cl.root.display()
    );
    append(&cl.data().join("postgresql.conf"), &conf)?;
    up += t.elapsed().as_secs_f64();
    let (s, _) = step(
        cl.server_cmd("pg_ctl")
            .args(["start", "-w", "-s", "-D"])
            .arg(cl.data())
            .arg("-l")
            .arg(cl.root.join("server.log")),
        "pg_ctl start (by hand)",
    )?;
    up += s;
    let (s, _) = step(
        cl.client_cmd("createdb")
            .arg("-h")
            .arg(&cl.root)
            .args(["-U", "postgres", "drill"]),
        "createdb (by hand)",
    )?;
    up += s;
    let (restore, m) = step(
        cl.client("pg_restore", "drill")
            .args(["--single-transaction", "--exit-on-error"])
            .arg(dump),
        "pg_restore (by hand)",
    )?;
    rss = rss.max(m);
    let read = read_back(&cl, &mut rss)?;
    let (stop, _) = step(
        cl.server_cmd("pg_ctl")
            .args(["stop", "-m", "immediate", "-s", "-D"])
            .arg(cl.data()),
        "pg_ctl stop (by hand)",
    )?;
    let t = Instant::now();
    drop(cl); // the server is down: removes the folder
    let down = stop + t.elapsed().as_secs_f64();
    Ok(ByHand {
        up,
        restore,
        read,
        down,
        rss,
    })
}

/// List the tables, then `COPY` each `TO STDOUT` in one psql whose output goes to /dev/null.
fn read_back(cl: &PeerCluster, rss: &mut f64) -> Result<f64, String> {
    let t = Instant::now();
    let mut c = cl.client("psql", "drill");
    c.args(["-X", "-At", "-v", "ON_ERROR_STOP=1", "-c"]).arg(
        "SELECT format('COPY %I.%I TO STDOUT;', n.nspname, c.relname) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' \
         AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    );
    let m = measure::run(&mut c, None)?.check("psql: listing the tables (by hand)")?;
    let script = String::from_utf8_lossy(&m.stdout).into_owned();
    if script.lines().count() < 3 {
        return Err(format!(
            "by hand: expected at least 3 tables, got:\n{script}"
        ));
    }
    let mut c = cl.client("psql", "drill");
    c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-o", "/dev/null"]);
    let m =
        measure::run(&mut c, Some(script.as_bytes()))?.check("psql: COPY … TO STDOUT (by hand)")?;
    if !m.stdout.is_empty() {
        return Err("by hand: psql -o /dev/null still wrote COPY data to stdout".into());
    }
    *rss = rss.max(m.maxrss_kib as f64 / 1024.0);
    Ok(t.elapsed().as_secs_f64())
}

fn append(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The `postgres` OS user's (uid, gid) when we run as root; `None` otherwise.
fn postgres_ids() -> Result<Option<(u32, u32)>, String> {
    // SAFETY: plain syscalls; getpwnam's result is copied out before the next call.
    unsafe {
        if libc::geteuid() != 0 {
            return Ok(None);
        }
        let pw = libc::getpwnam(c"postgres".as_ptr());
        if pw.is_null() {
            return Err("running as root needs a `postgres` OS user for initdb".into());
        }
        Ok(Some(((*pw).pw_uid, (*pw).pw_gid)))
    }
}

fn print_report(r: &Results, runs: usize) {
    let m = |k: &str| r.median(k).unwrap_or(f64::NAN);
    let (drill, peer, floor) = (m("drill_secs"), m("peer_secs"), m("floor_secs"));
    let (hwm, rss) = (m("drill_hwm"), m("drill_rss"));
    let v = vec![
        Verdict::at_most(
            "drill vs the same by hand (cluster up + pg_restore + read back + cluster down)",
            format!("{drill:.2} s / {peer:.2} s"),
            drill / peer,
            1.3,
            "t_drill / t_by_hand",
        ),
        Verdict::at_most(
            "drill vs the floor (pg_restore + read back alone)",
            format!("{drill:.2} s / {floor:.2} s"),
            drill / floor,
            1.3,
            "t_drill / t_floor",
        ),
        Verdict::at_most(
            "peak RSS of the offsite process (VmHWM; servers not counted)",
            format!("{hwm:.1} MiB (wait4 incl. pg_restore, initdb: {rss:.1} MiB)"),
            hwm / 64.0,
            1.0,
            "of 64 MiB",
        ),
    ];
    println!(
        "\n## offsite-bench --drill: {runs} runs (medians)\n\n{}\n### All runs\n\n{}",
        verdict_table(&v),
        runs_table(r, runs)
    );
}
