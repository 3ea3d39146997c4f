//! `--pitr-physical` (issue 46, item 7): the physical capture's replay against PostgreSQL's own
//! recovery of the same WAL.
//!
//! 1. `pgbench -i -s SCALE`; replication allowed from 127.0.0.1 (`pg_hba.conf`); the project
//!    added and `offsite pitr enable --mode physical` (slot, pg_basebackup base). Beside it, as
//!    an administrator would archive by hand: a base of its own (`pg_basebackup -F tar -X
//!    fetch`) and a `pg_receivewal --synchronous` on a slot of its own into a plain folder.
//! 2. `pgbench -T SECS -c 2 -j 2` while `offsite pitr run` captures (a pass every 5 s); the
//!    time T is the server's clock at its end, then one more commit (PostgreSQL's time target
//!    needs a commit after T in its WAL); the capture is given two passes, then stopped.
//! 3. Offsite: `offsite restore --at T --to-data-dir` (the plan — WAL files checked, decrypted
//!    and read by pg_waldump —, the base unpacked, recovery to the last commit at or before T,
//!    promotion, a clean stop) timed from start to end.
//!    PostgreSQL: its base unpacked, the partial WAL file named whole, `recovery.signal`,
//!    `restore_command = 'cp …'`, `recovery_target_time = T`, `recovery_target_action =
//!    promote`, started, timed until it is promoted (`ready`) and stopped cleanly.
//!
//! Target: PostgreSQL's time / Offsite's ≥ 0.9. The same cluster and the same WAL serve both.

use crate::pitr::PitrBench;
use crate::report::{verdict_table, Verdict};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DB: &str = "pitr_phys_bench";
const PROJECT: &str = "pitr_phys_bench";

fn ok(c: &mut Command, what: &str) -> Result<String, String> {
    let out = c.output().map_err(|e| format!("{what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The uid and gid the server runs as (the `postgres` user when this runs as root).
fn server_user() -> Option<(u32, u32)> {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        return None;
    }
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, "postgres"]).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

fn as_server(c: &mut Command, user: Option<(u32, u32)>) -> &mut Command {
    use std::os::unix::process::CommandExt;
    if let Some((u, g)) = user {
        c.uid(u).gid(g);
    }
    c
}

fn chown_all(p: &Path, user: Option<(u32, u32)>) -> Result<(), String> {
    if let Some((u, g)) = user {
        ok(
            Command::new("chown")
                .arg("-R")
                .arg(format!("{u}:{g}"))
                .arg(p),
            "chown",
        )?;
    }
    Ok(())
}

pub(crate) fn run(b: &PitrBench, work: &Path) -> Result<(), String> {
    let pg = b.pg;
    let hba = pg.data_dir().join("pg_hba.conf");
    let old = std::fs::read_to_string(&hba).map_err(|e| e.to_string())?;
    std::fs::write(
        &hba,
        format!("host replication all 127.0.0.1/32 scram-sha-256\n{old}"),
    )
    .map_err(|e| e.to_string())?;
    pg.try_psql("postgres", "SELECT pg_reload_conf()")?;
    pg.try_psql("postgres", &format!("CREATE DATABASE {DB}"))?;
    eprintln!("physical pitr bench: pgbench -i -s {} …", b.scale);
    ok(
        pg.command("pgbench")
            .args(["-i", "-q", "-s", &b.scale.to_string(), DB]),
        "pgbench -i",
    )?;
    let mut c = b.offsite.cmd();
    c.args(["project", "add", PROJECT, "--db", &b.offsite.url(DB)]);
    crate::measure::run(&mut c, None)?.check("offsite project add")?;
    let mut c = b.offsite.cmd();
    c.args(["pitr", "enable", PROJECT, "--mode", "physical"]);
    crate::measure::run(&mut c, None)?.check("offsite pitr enable --mode physical")?;

    // PostgreSQL's own archive: a base and pg_receivewal on a slot of its own.
    let user = server_user();
    // Under the system's temporary folder: the server's OS user must reach it.
    let own = std::env::temp_dir().join(format!("offsite-bench-pg-own-{}", std::process::id()));
    let _ = work;
    let (own_base, own_wal) = (own.join("base"), own.join("wal"));
    std::fs::create_dir_all(&own_wal).map_err(|e| e.to_string())?;
    pg.try_psql(
        "postgres",
        "SELECT pg_create_physical_replication_slot('bench_own', true)",
    )?;
    let mut receiver = pg
        .command(pg.bin("pg_receivewal"))
        .arg("-D")
        .arg(&own_wal)
        .args(["--slot", "bench_own", "--synchronous", "--no-password"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("pg_receivewal: {e}"))?;
    ok(
        pg.command(pg.bin("pg_basebackup"))
            .arg("-D")
            .arg(&own_base)
            .args(["-F", "tar", "-X", "fetch", "-c", "fast", "--no-password"]),
        "pg_basebackup",
    )?;

    let mut capture = b
        .offsite
        .cmd()
        .args(["pitr", "run", PROJECT, "--every", "5"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("offsite pitr run: {e}"))?;
    eprintln!("physical pitr bench: pgbench -T {} -c 2 -j 2 …", b.secs);
    let tps = ok(
        pg.command("pgbench")
            .args(["-c", "2", "-j", "2", "-T", &b.secs.to_string(), DB]),
        "pgbench",
    )?;
    let at = pg
        .try_psql(
            "postgres",
            "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
        )?
        .trim()
        .to_string();
    // A commit after T: PostgreSQL's time target needs one in the WAL it has (else "recovery
    // ended before configured recovery target was reached"; Offsite stops at the commit's LSN).
    std::thread::sleep(Duration::from_millis(50));
    pg.try_psql(DB, "CREATE TABLE after_t (); DROP TABLE after_t")?;
    std::thread::sleep(Duration::from_secs(12));
    let _ = capture.kill();
    let _ = capture.wait();
    let _ = receiver.kill();
    let _ = receiver.wait();
    let wal_bytes = pg.try_psql(
        "postgres",
        "SELECT pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0'))",
    )?;

    // Offsite's replay.
    let restored = work.join("offsite-restored");
    let t0 = Instant::now();
    let mut c = b.offsite.cmd();
    c.args(["restore", PROJECT, "--at", &at, "--to-data-dir"])
        .arg(&restored);
    if let Some(log) = std::env::var_os("OFFSITE_LOG") {
        c.env("OFFSITE_LOG", log);
    }
    let m = crate::measure::run(&mut c, None)?;
    let offsite_secs = t0.elapsed().as_secs_f64();
    if std::env::var_os("OFFSITE_LOG").is_some() {
        // Where Offsite's time went (its debug log's timings), when asked for.
        eprintln!("{}", String::from_utf8_lossy(&m.stderr));
    }
    m.check("offsite restore --at --to-data-dir")?;

    // PostgreSQL's own recovery of the same WAL.
    let pg_secs = own_recovery(b, &own, &own_base, &own_wal, &at, user)?;
    pg.try_psql("postgres", "SELECT pg_drop_replication_slot('bench_own')")?;
    let _ = std::fs::remove_dir_all(&own);

    println!(
        "\n## physical point-in-time replay (pgbench scale {}, {} s, -c 2 -j 2; {})",
        b.scale,
        b.secs,
        tps.lines()
            .find(|l| l.starts_with("tps = "))
            .unwrap_or("tps ?")
    );
    println!(
        "restored to {at}; WAL written by the server since its start: {}",
        wal_bytes.trim()
    );
    println!(
        "offsite restore --at --to-data-dir: {offsite_secs:.1} s; PostgreSQL's own recovery \
         (restore_command cp, recovery_target_time): {pg_secs:.1} s"
    );
    let v = Verdict::at_least(
        "physical replay: PostgreSQL's recovery time / Offsite's",
        format!("{pg_secs:.1} s / {offsite_secs:.1} s"),
        pg_secs / offsite_secs,
        0.9,
        "Offsite's includes checking, decrypting and reading the WAL (pg_waldump)",
    );
    println!("{}", verdict_table(&[v]));
    Ok(())
}

/// Unpack `base`'s tar into a data folder, recover it from `wal` to `at` with PostgreSQL's own
/// `restore_command` and `recovery_target_time`, promote, stop: the seconds it took.
fn own_recovery(
    b: &PitrBench,
    own: &Path,
    base: &Path,
    wal: &Path,
    at: &str,
    user: Option<(u32, u32)>,
) -> Result<f64, String> {
    let pg = b.pg;
    let data = own.join("data");
    let t0 = Instant::now();
    std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
    ok(
        Command::new("tar")
            .arg("-xf")
            .arg(base.join("base.tar"))
            .arg("-C")
            .arg(&data),
        "tar -x",
    )?;
    // The file pg_receivewal was writing is named whole, as an administrator would.
    for e in std::fs::read_dir(wal).map_err(|e| e.to_string())?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(whole) = name.strip_suffix(".partial") {
            std::fs::rename(e.path(), wal.join(whole)).map_err(|e| e.to_string())?;
        }
    }
    std::fs::write(data.join("recovery.signal"), "").map_err(|e| e.to_string())?;
    let sock: PathBuf = own.join("sock");
    std::fs::create_dir_all(&sock).map_err(|e| e.to_string())?;
    let hba = own.join("hba.conf");
    std::fs::write(&hba, "local all all trust\n").map_err(|e| e.to_string())?;
    std::fs::set_permissions(&data, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .map_err(|e| e.to_string())?;
    chown_all(own, user)?;
    let settings = [
        ("listen_addresses", String::new()),
        ("unix_socket_directories", sock.display().to_string()),
        ("port", "5439".into()),
        ("hba_file", hba.display().to_string()),
        ("shared_preload_libraries", String::new()),
        ("archive_mode", "off".into()),
        ("hot_standby", "off".into()),
        ("restore_command", format!("cp '{}/%f' '%p'", wal.display())),
        // PostgreSQL's own spelling of the same instant (it refuses RFC 3339's `T…Z`).
        (
            "recovery_target_time",
            at.replace('T', " ").replace('Z', "+00"),
        ),
        ("recovery_target_action", "promote".into()),
        ("recovery_target_timeline", "current".into()),
    ];
    let mut c = Command::new(pg.bin("postgres"));
    c.arg("-D").arg(&data);
    for (k, v) in &settings {
        c.arg("-c").arg(format!("{k}={v}"));
    }
    let log = std::fs::File::create(own.join("server.log")).map_err(|e| e.to_string())?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    as_server(&mut c, user).stdout(log).stderr(log2);
    let mut server = c.spawn().map_err(|e| format!("postgres: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        let ready = std::fs::read_to_string(data.join("postmaster.pid"))
            .map(|t| t.lines().nth(7).map(str::trim) == Some("ready"))
            .unwrap_or(false);
        if ready {
            break;
        }
        if let Ok(Some(s)) = server.try_wait() {
            return Err(format!(
                "PostgreSQL's own recovery exited ({s}): {}",
                std::fs::read_to_string(own.join("server.log")).unwrap_or_default()
            ));
        }
        if Instant::now() > deadline {
            let _ = server.kill();
            return Err("PostgreSQL's own recovery took over an hour".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stop = Command::new(pg.bin("pg_ctl"));
    stop.args(["stop", "-w", "-m", "fast", "-D"]).arg(&data);
    ok(as_server(&mut stop, user), "pg_ctl stop")?;
    let _ = server.wait();
    Ok(t0.elapsed().as_secs_f64())
}
