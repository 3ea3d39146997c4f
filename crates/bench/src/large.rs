//! `offsite-bench --large` (issue 28): a generated database of ≥ 5 GiB of dump text over 56
//! tables (see [`large_gen`](crate::large_gen)), and per run: `pg_dump -Fd -j N -Z0` to a folder
//! (the natural limit), `pg_restore -j N` of that folder into an empty database, `pg_dump -Fc` at
//! its default compression, Offsite's backup (`--jobs N`, its default compression), `sha256sum` and `offsite verify` of
//! its archive, Offsite's restore into an empty database (`--jobs N`), and Offsite's backup with
//! `--compression gzip` when the binary has it. Every dump, archive and restored database is
//! deleted as soon as it has been measured; the bench stops before the disk has less than
//! [`MIN_FREE`] free.

use crate::args::Args;
use crate::large_gen::{self, Table};
use crate::large_report::{self, LargeRun};
use crate::measure::{self, Measured, ServerCpu};
use crate::report::Results;
use crate::workdir::WorkDir;
use crate::{json_of, loadavg, setup, timed, Offsite};
use offsite_testkit::TestCluster;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Free disk the bench leaves to others (it stops with an error before going below).
const MIN_FREE: u64 = 15 << 30;
const DB: &str = "bench_big";
pub const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
/// [`Ctx::offsite_backup`]'s "compression" that means the default one with no table in ranges.
const WHOLE: &str = "whole";

/// Everything one measurement needs.
struct Ctx<'a> {
    pg: &'a TestCluster,
    srv: &'a Option<ServerCpu>,
    off: &'a Offsite<'a>,
    w: &'a Path,
    jobs: u32,
    /// `events/accounts/<smallest table>` row counts of the source.
    counts: String,
    count_sql: String,
    zstd: bool,
}

pub fn run(args: &Args, bin: PathBuf, notes: Vec<String>) -> Result<(), String> {
    let t_all = Instant::now();
    let uptime_before = uptime();
    let base = args.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    let work = WorkDir::new(&base)?;
    let w = work.path.clone();
    eprintln!(
        "work folder: {} ({:.1} GiB free)",
        w.display(),
        free_bytes(&w)? as f64 / GIB
    );
    let (pg, pg_version) = setup::start_cluster()?;
    // WAL of a 5 GiB load is kept to 2 GiB (disk is shared); the same for every contender.
    pg.try_psql(
        "postgres",
        "ALTER SYSTEM SET max_wal_size = '2GB'; SELECT pg_reload_conf();",
    )?;
    let srv = ServerCpu::new(pg.data_dir());
    pg.create_db(DB);
    let target = args.scale * GIB;
    eprintln!("calibrating the generator (seed {})…", args.seed);
    let tables = large_gen::plan(&pg, DB, args.seed, target, args.big_share)?;
    eprintln!("generating ≥ {:.2} GiB of dump text…", args.scale);
    let gen_secs = large_gen::generate(&pg, DB, args.seed, &tables)?;
    let db_bytes: u64 = pg
        .try_psql(DB, &format!("SELECT pg_database_size('{DB}')"))?
        .trim()
        .parse()
        .map_err(|e| format!("database size: {e}"))?;
    eprintln!(
        "  generated in {gen_secs:.0} s; database {:.2} GiB on disk",
        db_bytes as f64 / GIB
    );
    let smallest = tables
        .iter()
        .min_by_key(|t| t.rows)
        .map(|t| t.name.clone())
        .ok_or("no tables")?;
    let count_sql = format!(
        "SELECT (SELECT count(*) FROM events) || '/' || (SELECT count(*) FROM accounts) || '/' || (SELECT count(*) FROM {smallest})"
    );
    let counts = pg.try_psql(DB, &count_sql)?;
    let off = Offsite {
        bin,
        data_dir: w.join("offsite-data"),
        pg: &pg,
    };
    let mut c = off.cmd();
    c.args(["project", "add", "large", "--db", &off.url(DB)]);
    measure::run(&mut c, None)?.check("offsite project add large")?;
    let zstd = has_zstd(&off);
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(1)
    });
    let cx = Ctx {
        pg: &pg,
        srv: &srv,
        off: &off,
        w: &w,
        jobs,
        counts,
        count_sql,
        zstd,
    };
    let mut r = Results::default();
    let mut runs = Vec::new();
    for run in 1..=args.runs {
        eprintln!("run {run}/{} (load {})…", args.runs, loadavg());
        runs.push(cx.one_run(run, &mut r)?);
    }
    let info = large_report::Info {
        pg_version,
        notes,
        jobs,
        zstd,
        tables: &tables,
        db_bytes,
        gen_secs,
        scale: args.scale,
        seed: args.seed,
        uptime_before,
        uptime_after: uptime(),
        total_secs: t_all.elapsed().as_secs_f64(),
    };
    large_report::print(&info, &r, &runs, args.json_out.as_deref())?;
    drop(pg);
    drop(work);
    Ok(())
}

impl Ctx<'_> {
    fn one_run(&self, run: usize, r: &mut Results) -> Result<LargeRun, String> {
        let load_before = loadavg();
        let fd = self.w.join("fd");
        let (text_bytes, big) = self.pg_dump_fd(r, &fd)?;
        self.pg_restore(run, r, &fd)?;
        std::fs::remove_dir_all(&fd).map_err(|e| format!("removing {}: {e}", fd.display()))?;
        self.pg_dump_fc(r)?;
        let dir = self.w.join("archives");
        // The default compression (zstd 3 since issue 28; gzip in binaries before it) is what
        // is verified and restored; where the binary knows `--compression`, a gzip backup is
        // timed and sized beside it.
        let (archive, size) = self.offsite_backup(r, &dir, None)?;
        self.say_ranges(&archive);
        self.verify(r, &archive, size)?;
        self.offsite_restore(run, r, &archive, "offr")?;
        std::fs::remove_dir_all(&dir).map_err(|e| format!("removing {}: {e}", dir.display()))?;
        // The same backup and restore without a table in ranges (issue 67: what the ranges
        // gain, side by side in the same run).
        let (archive, _) = self.offsite_backup(r, &dir, Some(WHOLE))?;
        self.offsite_restore(run, r, &archive, "offrw")?;
        std::fs::remove_dir_all(&dir).map_err(|e| format!("removing {}: {e}", dir.display()))?;
        if self.zstd {
            self.offsite_backup(r, &dir, Some("gzip"))?;
            std::fs::remove_dir_all(&dir)
                .map_err(|e| format!("removing {}: {e}", dir.display()))?;
        }
        Ok(LargeRun {
            text_bytes,
            big,
            load_before,
            load_after: loadavg(),
        })
    }

    fn disk_check(&self, what: &str, needs: u64) -> Result<(), String> {
        let free = free_bytes(self.w)?;
        if free < needs + MIN_FREE {
            return Err(format!(
                "{what}: {:.1} GiB free, needs about {:.1} GiB and leaves {} GiB to others: stopping",
                free as f64 / GIB,
                needs as f64 / GIB,
                MIN_FREE >> 30
            ));
        }
        Ok(())
    }

    fn needs(&self) -> u64 {
        // A dump folder or a restored database: at most the source database's size.
        self.pg
            .try_psql(DB, &format!("SELECT pg_database_size('{DB}')"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// pg_dump -Fd -j N -Z0: the natural limit. Returns the dump text bytes and how long the
    /// biggest table's one worker took (from its data file's birth and last write).
    fn pg_dump_fd(&self, r: &mut Results, fd: &Path) -> Result<(u64, BigTable), String> {
        self.disk_check("pg_dump -Fd", self.needs())?;
        let _ = std::fs::remove_dir_all(fd);
        let mut c = self.pg.command("pg_dump");
        c.args(self.pg.conn_args())
            .args(["-Fd", "-Z0", "-j", &self.jobs.to_string(), "-f"])
            .arg(fd)
            .args(["-d", DB]);
        let (m, scpu) = timed(self.pg, self.srv, &mut c, None, "pg_dump -Fd -j")?;
        let bytes = dir_bytes(fd)?;
        add_run(r, "fd", "pg_dump -Fd -j N -Z0", &m, scpu);
        r.add(
            "fd_gib",
            "pg_dump -Fd -Z0 folder (dump text)",
            "GiB",
            bytes as f64 / GIB,
        );
        let big = big_table_span(self.pg, fd, m.secs())?;
        r.add(
            "fd_big_secs",
            "pg_dump -Fd: the events table's one worker",
            "s",
            big.secs,
        );
        eprintln!(
            "  pg_dump -Fd -j{} -Z0  {:7.1} s  {:6.2} GiB  (events alone: {:.1} s)",
            self.jobs,
            m.secs(),
            bytes as f64 / GIB,
            big.secs
        );
        Ok((bytes, big))
    }

    fn pg_restore(&self, run: usize, r: &mut Results, fd: &Path) -> Result<(), String> {
        self.disk_check("pg_restore", self.needs())?;
        let db = format!("restore_pg_{run}");
        self.pg.create_db(&db);
        let mut c = self.pg.command("pg_restore");
        c.args(self.pg.conn_args())
            .args(["-j", &self.jobs.to_string(), "-d", &db])
            .arg(fd);
        let res = timed(self.pg, self.srv, &mut c, None, "pg_restore -j");
        let counts = res
            .as_ref()
            .ok()
            .map(|_| self.pg.try_psql(&db, &self.count_sql));
        self.pg.drop_db(&db);
        let (m, scpu) = res?;
        self.check_counts("pg_restore -j", counts)?;
        add_run(r, "pgr", "pg_restore -j N (of the -Fd folder)", &m, scpu);
        eprintln!("  pg_restore -j{}       {:7.1} s", self.jobs, m.secs());
        Ok(())
    }

    fn pg_dump_fc(&self, r: &mut Results) -> Result<(), String> {
        self.disk_check("pg_dump -Fc", self.needs() / 3)?;
        let f = self.w.join("big.dump");
        let mut c = self.pg.command("pg_dump");
        c.args(self.pg.conn_args())
            .args(["-Fc", "-f"])
            .arg(&f)
            .args(["-d", DB]);
        let (m, scpu) = timed(self.pg, self.srv, &mut c, None, "pg_dump -Fc")?;
        let size = crate::file_size(&f)?;
        let _ = std::fs::remove_file(&f);
        add_run(r, "fc", "pg_dump -Fc (default gzip)", &m, scpu);
        r.add("fc_gib", "pg_dump -Fc file", "GiB", size as f64 / GIB);
        eprintln!(
            "  pg_dump -Fc          {:7.1} s  {:6.2} GiB",
            m.secs(),
            size as f64 / GIB
        );
        Ok(())
    }

    /// Offsite's backup (`--jobs N`, and `--compression` when given); the archive and its size.
    fn offsite_backup(
        &self,
        r: &mut Results,
        dir: &Path,
        compression: Option<&str>,
    ) -> Result<(PathBuf, u64), String> {
        self.disk_check("offsite backup", self.needs() * 3 / 5)?;
        let mut c = self.off.cmd();
        c.args([
            "backup",
            "large",
            "--jobs",
            &self.jobs.to_string(),
            "--dest",
        ])
        .arg(dir);
        match compression {
            Some(WHOLE) => {
                c.env(offsite_core::postgres::dump_split::SPLIT_ABOVE_ENV, "0");
            }
            Some(z) => {
                c.args(["--compression", z]);
            }
            None => {}
        }
        let key = match compression {
            Some(WHOLE) => "offw",
            Some(z) if z.starts_with("gzip") => "offg",
            _ => "off",
        };
        let label = match compression {
            Some(WHOLE) => "Offsite backup --jobs N, no table in ranges".to_string(),
            Some(z) => format!("Offsite backup --jobs N --compression {z}"),
            None => "Offsite backup --jobs N".to_string(),
        };
        let (m, scpu) = timed(self.pg, self.srv, &mut c, None, &label)?;
        let v = json_of(&m, "offsite backup")?;
        let path = PathBuf::from(v["path"].as_str().ok_or("offsite backup: no \"path\"")?);
        let size = crate::file_size(&path)?;
        add_run(r, key, &label, &m, scpu);
        r.add(
            &format!("{key}_gib"),
            &format!("{label}: archive"),
            "GiB",
            size as f64 / GIB,
        );
        add_rss(r, key, &label, &m);
        eprintln!(
            "  {label:<40} {:7.1} s  {:6.2} GiB  peak RSS {:.1} MiB (offsite alone {:.1})",
            m.secs(),
            size as f64 / GIB,
            m.maxrss_kib as f64 / 1024.0,
            m.own_hwm_kib.unwrap_or(0) as f64 / 1024.0
        );
        Ok((path, size))
    }

    /// `offsite verify` of the archive vs `sha256sum` of the same file.
    fn verify(&self, r: &mut Results, path: &Path, size: u64) -> Result<(), String> {
        let mut c = self.off.cmd();
        c.arg("inspect").arg(path);
        let m = measure::run(&mut c, None)?.check("offsite inspect")?;
        let manifest = json_of(&m, "offsite inspect")?;
        let data: u64 = manifest["members"]
            .as_array()
            .ok_or("offsite inspect: no \"members\"")?
            .iter()
            .filter_map(|m| m["size"].as_u64())
            .sum();
        let mut c = self.off.cmd();
        c.arg("verify").arg(path);
        let (m, scpu) = timed(self.pg, self.srv, &mut c, None, "offsite verify")?;
        let v = json_of(&m, "offsite verify")?;
        if v["ok"].as_bool() != Some(true) {
            return Err(format!("offsite verify did not report ok: {v}"));
        }
        add_run(r, "ver", "offsite verify", &m, scpu);
        r.add(
            "ver_data_gib",
            "archive members, uncompressed",
            "GiB",
            data as f64 / GIB,
        );
        let mut c = Command::new("sha256sum");
        c.arg(path);
        let (s, scpu) = timed(self.pg, self.srv, &mut c, None, "sha256sum")?;
        add_run(r, "sha", "sha256sum of the archive", &s, scpu);
        eprintln!(
            "  offsite verify       {:7.1} s   sha256sum {:.1} s  ({:.2} GiB archive, {:.2} GiB data)",
            m.secs(),
            s.secs(),
            size as f64 / GIB,
            data as f64 / GIB
        );
        Ok(())
    }

    /// Which tables the archive holds in ranges (issue 67), said in the log.
    fn say_ranges(&self, archive: &Path) {
        if let Ok(m) = offsite_core::archive::read_manifest(archive) {
            let split: Vec<String> = m
                .dump
                .map(|d| d.split)
                .unwrap_or_default()
                .iter()
                .map(|s| format!("{} in {} ranges", s.table, s.ranges))
                .collect();
            eprintln!(
                "  (archive format {}; {})",
                m.format_version,
                if split.is_empty() {
                    "no table in ranges".to_string()
                } else {
                    split.join(", ")
                }
            );
        }
    }

    /// Offsite's restore of `path` into an empty database, its measures under `key` (`offr`:
    /// the default backup's archive, `offrw`: the one without a table in ranges).
    fn offsite_restore(
        &self,
        run: usize,
        r: &mut Results,
        path: &Path,
        key: &str,
    ) -> Result<(), String> {
        self.disk_check("offsite restore", self.needs())?;
        let db = format!("restore_off_{run}");
        self.pg.create_db(&db);
        let mut c = self.off.cmd();
        c.arg("restore").arg(path).args([
            "--to",
            &self.off.url(&db),
            "--yes",
            "--jobs",
            &self.jobs.to_string(),
        ]);
        let res = timed(self.pg, self.srv, &mut c, None, "offsite restore");
        let counts = res
            .as_ref()
            .ok()
            .map(|_| self.pg.try_psql(&db, &self.count_sql));
        self.pg.drop_db(&db);
        let (m, scpu) = res?;
        let v = json_of(&m, "offsite restore")?;
        if v["report"]["ok"].as_bool() != Some(true) {
            return Err(format!("offsite restore did not report ok: {v}"));
        }
        self.check_counts("offsite restore", counts)?;
        let label = if key == "offr" {
            "Offsite restore --jobs N"
        } else {
            "Offsite restore --jobs N, no table in ranges"
        };
        add_run(r, key, label, &m, scpu);
        add_rss(r, key, label, &m);
        eprintln!(
            "  {label:<44} {:7.1} s  peak RSS {:.1} MiB",
            m.secs(),
            m.maxrss_kib as f64 / 1024.0
        );
        Ok(())
    }

    fn check_counts(
        &self,
        what: &str,
        counts: Option<Result<String, String>>,
    ) -> Result<(), String> {
        match counts {
            Some(Ok(c)) if c == self.counts => Ok(()),
            Some(Ok(c)) => Err(format!(
                "{what}: restored row counts (events/accounts/smallest) {c} differ from the source's {}",
                self.counts
            )),
            Some(Err(e)) => Err(format!("{what}: counting the restored rows: {e}")),
            None => Ok(()),
        }
    }
}

/// Time, client CPU (wait4 of the process tree), server CPU.
fn add_run(r: &mut Results, key: &str, label: &str, m: &Measured, server_cpu: f64) {
    r.add(
        &format!("{key}_secs"),
        &format!("{label}: time"),
        "s",
        m.secs(),
    );
    r.add(
        &format!("{key}_cpu"),
        &format!("{label}: client CPU (user+sys, process tree)"),
        "s",
        m.cpu.as_secs_f64(),
    );
    r.add(
        &format!("{key}_srv"),
        &format!("{label}: server CPU"),
        "s",
        server_cpu,
    );
}

fn add_rss(r: &mut Results, key: &str, label: &str, m: &Measured) {
    r.add(
        &format!("{key}_rss"),
        &format!("{label}: peak RSS (ru_maxrss, max over offsite and its pg tools)"),
        "MiB",
        m.maxrss_kib as f64 / 1024.0,
    );
    r.add(
        &format!("{key}_hwm"),
        &format!("{label}: peak RSS of offsite alone (VmHWM)"),
        "MiB",
        m.own_hwm_kib.map_or(f64::NAN, |k| k as f64 / 1024.0),
    );
}

/// How long the biggest table took in a `pg_dump -Fd -j` folder.
#[derive(Debug, Clone, Copy)]
pub struct BigTable {
    /// From its data file's creation to its last write.
    pub secs: f64,
    /// The whole pg_dump's wall time.
    pub wall: f64,
    /// Its bytes, and the whole folder's.
    pub bytes: u64,
}

/// The `events` table's span in the -Fd folder: `pg_restore -l` maps its TABLE DATA entry to
/// `<dumpId>.dat`; the file's birth (statx) and last write bound the one worker that wrote it.
fn big_table_span(pg: &TestCluster, fd: &Path, wall: f64) -> Result<BigTable, String> {
    let mut c = pg.command("pg_restore");
    c.arg("-l").arg(fd);
    let m = measure::run(&mut c, None)?.check("pg_restore -l")?;
    let toc = String::from_utf8_lossy(&m.stdout);
    let id = toc
        .lines()
        .find(|l| l.contains(" TABLE DATA public events "))
        .and_then(|l| l.split(';').next())
        .map(|s| s.trim().to_string())
        .ok_or("pg_restore -l: no TABLE DATA entry for events")?;
    let f = fd.join(format!("{id}.dat"));
    let meta = std::fs::metadata(&f).map_err(|e| format!("{}: {e}", f.display()))?;
    let secs = match (meta.created(), meta.modified()) {
        (Ok(b), Ok(m)) => m.duration_since(b).map(|d| d.as_secs_f64()).unwrap_or(0.0),
        _ => f64::NAN,
    };
    Ok(BigTable {
        secs,
        wall,
        bytes: meta.len(),
    })
}

fn dir_bytes(p: &Path) -> Result<u64, String> {
    let mut total = 0;
    for e in std::fs::read_dir(p).map_err(|e| format!("{}: {e}", p.display()))? {
        let e = e.map_err(|e| e.to_string())?;
        let m = e.metadata().map_err(|e| e.to_string())?;
        if m.is_file() {
            total += m.len();
        }
    }
    Ok(total)
}

pub fn free_bytes(p: &Path) -> Result<u64, String> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid C string and out-pointer.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return Err(format!(
            "statvfs {}: {}",
            p.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(s.f_bavail as u64 * s.f_frsize as u64)
}

/// Whether this `offsite` binary has the zstd writer (`backup --compression`).
fn has_zstd(o: &Offsite) -> bool {
    let mut c = o.cmd();
    c.args(["backup", "--help"]);
    measure::run(&mut c, None)
        .map(|m| String::from_utf8_lossy(&m.stdout).contains("--compression"))
        .unwrap_or(false)
}

fn uptime() -> String {
    Command::new("uptime")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|_| loadavg())
}

/// (Used by the report) the tables' planned shares, for the layout line.
pub fn share_summary(tables: &[Table]) -> String {
    let mut shares: Vec<f64> = tables.iter().map(|t| t.share * 100.0).collect();
    shares.sort_by(|a, b| b.partial_cmp(a).unwrap_or(std::cmp::Ordering::Equal));
    format!(
        "{} tables; shares of the dump text: {:.1} % (events), then {:.1}, {:.1}, {:.1} … {:.2} %",
        tables.len(),
        shares[0],
        shares[1],
        shares[2],
        shares[3],
        shares[shares.len() - 1]
    )
}
