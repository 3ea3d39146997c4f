//! The full suite (the default mode): per run, pg_dump -Fp / -Fc, Offsite's backup (and the
//! agent's), verify vs sha256sum, pg_restore vs Offsite's restore, peak RSS on the small dataset.

use crate::agent::BenchAgent;
use crate::args::Args;
use crate::measure::{self, ServerCpu};
use crate::report::Results;
use crate::{file_size, json_of, mib, row_counts, timed, Offsite};
use offsite_testkit::TestCluster;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Everything the runs share.
pub struct Suite<'a> {
    pub args: &'a Args,
    pub pg: &'a TestCluster,
    pub srv: &'a Option<ServerCpu>,
    pub off: Option<&'a Offsite<'a>>,
    pub agent: Option<&'a BenchAgent>,
    pub w: &'a Path,
    /// Row counts of the source (`users/orders/events`) every restore must reproduce.
    pub source_counts: &'a str,
}

impl Suite<'_> {
    /// Every measurement, --runs times.
    pub fn run_all(&self) -> Result<Results, String> {
        let mut r = Results::default();
        for run in 1..=self.args.runs {
            eprintln!("run {run}/{}…", self.args.runs);
            self.one_run(run, &mut r)?;
        }
        Ok(r)
    }

    fn one_run(&self, run: usize, r: &mut Results) -> Result<(), String> {
        let w = self.w;
        let fp_file = w.join("large.sql");
        let fc_file = w.join("large.dump");
        let fc0_file = w.join("large.z0.dump");
        for f in [&fp_file, &fc_file, &fc0_file] {
            let _ = std::fs::remove_file(f);
        }
        let fp_bytes = self.raw_dumps(r, &fp_file, &fc_file, &fc0_file)?;
        let archive_dir = w.join(format!("archives-{run}"));
        let archive = match self.off {
            Some(o) => Some(self.offsite_backup(o, r, &archive_dir)?),
            None => None,
        };
        if let Some(a) = self.agent {
            agent_backup(a, r)?;
        }
        if let (Some(o), Some((path, size))) = (self.off, &archive) {
            self.verify(o, r, path, *size)?;
        }
        self.sha_dump(r, &fp_file, fp_bytes)?;
        let _ = std::fs::remove_file(&fp_file);
        self.pg_restore(run, r, &fc_file)?;
        if let (Some(o), Some((path, _))) = (self.off, &archive) {
            self.offsite_restore(o, run, r, path)?;
        }
        let _ = std::fs::remove_file(&fc_file);
        let _ = std::fs::remove_dir_all(&archive_dir);
        if let Some(o) = self.off {
            self.small_backup(o, run, r)?;
        }
        Ok(())
    }

    /// a. pg_dump -Fp, b. pg_dump -Fc, and the diagnostic pg_dump -Fc -Z0; returns the -Fp size.
    fn raw_dumps(
        &self,
        r: &mut Results,
        fp_file: &Path,
        fc_file: &Path,
        fc0_file: &Path,
    ) -> Result<u64, String> {
        let (pg, srv) = (self.pg, self.srv);
        // a. pg_dump -Fp
        let mut c = pg.command("pg_dump");
        c.args(pg.conn_args())
            .args(["-Fp", "-f"])
            .arg(fp_file)
            .args(["-d", "bench_large"]);
        let (m, scpu) = timed(pg, srv, &mut c, None, "pg_dump -Fp")?;
        let fp_bytes = file_size(fp_file)?;
        r.add("fp_secs", "pg_dump -Fp time", "s", m.secs());
        r.add("fp_mib", "pg_dump -Fp output size", "MiB", mib(fp_bytes));
        r.add("fp_cpu", "pg_dump -Fp client CPU", "s", m.cpu.as_secs_f64());
        r.add("fp_srv_cpu", "pg_dump -Fp server CPU", "s", scpu);
        eprintln!(
            "  pg_dump -Fp          {:7.2} s  {:8.1} MiB",
            m.secs(),
            mib(fp_bytes)
        );

        // b. pg_dump -Fc (default compression)
        let mut c = pg.command("pg_dump");
        c.args(pg.conn_args())
            .args(["-Fc", "-f"])
            .arg(fc_file)
            .args(["-d", "bench_large"]);
        let (m, scpu) = timed(pg, srv, &mut c, None, "pg_dump -Fc")?;
        let fc_bytes = file_size(fc_file)?;
        r.add("fc_secs", "pg_dump -Fc time", "s", m.secs());
        r.add("fc_mib", "pg_dump -Fc file size", "MiB", mib(fc_bytes));
        r.add("fc_cpu", "pg_dump -Fc client CPU", "s", m.cpu.as_secs_f64());
        r.add("fc_srv_cpu", "pg_dump -Fc server CPU", "s", scpu);
        eprintln!(
            "  pg_dump -Fc          {:7.2} s  {:8.1} MiB",
            m.secs(),
            mib(fc_bytes)
        );

        // diagnostic: pg_dump -Fc -Z0 (what Offsite runs, before its own gzip + hashing)
        if !self.args.no_diagnostics {
            let mut c = pg.command("pg_dump");
            c.args(pg.conn_args())
                .args(["-Fc", "-Z0", "-f"])
                .arg(fc0_file)
                .args(["-d", "bench_large"]);
            let (m, _) = timed(pg, srv, &mut c, None, "pg_dump -Fc -Z0")?;
            r.add("fc0_secs", "(diag) pg_dump -Fc -Z0 time", "s", m.secs());
            r.add(
                "fc0_mib",
                "(diag) pg_dump -Fc -Z0 size",
                "MiB",
                mib(file_size(fc0_file)?),
            );
            eprintln!("  pg_dump -Fc -Z0      {:7.2} s", m.secs());
            let _ = std::fs::remove_file(fc0_file);
        }
        Ok(fp_bytes)
    }

    /// c. offsite backup of the large dataset; returns the archive and its size.
    fn offsite_backup(
        &self,
        o: &Offsite,
        r: &mut Results,
        archive_dir: &Path,
    ) -> Result<(PathBuf, u64), String> {
        let mut c = o.cmd();
        c.args(["backup", "bench", "--dest"]).arg(archive_dir);
        // The read-back's line (issue 67, item 6): its time and the writing's.
        c.env("OFFSITE_LOG", "offsite_core::ops::backup=info");
        let (m, scpu) = timed(self.pg, self.srv, &mut c, None, "offsite backup (large)")?;
        if let Some(read) = read_back_secs(&m.stderr) {
            let share = 100.0 * read / m.secs();
            r.add(
                "off_readback",
                "Offsite backup: read-back of the new archive before it is registered",
                "s",
                read,
            );
            r.add(
                "off_readback_share",
                "Offsite backup: read-back / the backup's wall time, target ≤ 15 %",
                "%",
                share,
            );
            eprintln!(
                "  read-back            {read:7.2} s of {:.2} s ({share:.1} %; target ≤ 15 %)",
                m.secs()
            );
        }
        let v = json_of(&m, "offsite backup")?;
        let path = PathBuf::from(
            v["path"]
                .as_str()
                .ok_or("offsite backup: no \"path\" in its JSON")?,
        );
        let size = file_size(&path)?;
        r.add("off_secs", "Offsite backup time", "s", m.secs());
        r.add("off_mib", "Offsite archive size", "MiB", mib(size));
        r.add(
            "off_cpu",
            "Offsite backup client CPU (offsite + pg_dump)",
            "s",
            m.cpu.as_secs_f64(),
        );
        r.add("off_srv_cpu", "Offsite backup server CPU", "s", scpu);
        r.add(
            "off_rss",
            "Offsite backup peak RSS, large (wait4, incl. pg_dump)",
            "MiB",
            m.maxrss_kib as f64 / 1024.0,
        );
        r.add(
            "off_hwm",
            "Offsite backup peak RSS, large (offsite process only)",
            "MiB",
            m.own_hwm_kib.map_or(f64::NAN, |k| k as f64 / 1024.0),
        );
        if let Some(d) = m.child("pg_dump") {
            r.add(
                "off_pre",
                "Offsite backup: before pg_dump starts",
                "s",
                d.first_seen,
            );
            r.add(
                "off_dump",
                "Offsite backup: while pg_dump runs",
                "s",
                d.last_seen - d.first_seen,
            );
            r.add(
                "off_post",
                "Offsite backup: after pg_dump exits (globals, packing, fsync, catalog)",
                "s",
                m.secs() - d.last_seen,
            );
        }
        eprintln!(
            "  offsite backup       {:7.2} s  {:8.1} MiB  peak RSS {:.1} MiB",
            m.secs(),
            mib(size),
            m.maxrss_kib as f64 / 1024.0
        );
        Ok((path, size))
    }

    /// d. offsite verify vs sha256sum of the same archive.
    fn verify(&self, o: &Offsite, r: &mut Results, path: &Path, size: u64) -> Result<(), String> {
        let (pg, srv) = (self.pg, self.srv);
        let mut c = o.cmd();
        c.arg("inspect").arg(path);
        let m = measure::run(&mut c, None)?.check("offsite inspect")?;
        let manifest = json_of(&m, "offsite inspect")?;
        let data_bytes: u64 = manifest["members"]
            .as_array()
            .ok_or("offsite inspect: no \"members\" in its JSON")?
            .iter()
            .filter_map(|m| m["size"].as_u64())
            .sum();

        let mut c = o.cmd();
        c.arg("verify").arg(path);
        let (m, _) = timed(pg, srv, &mut c, None, "offsite verify")?;
        let v = json_of(&m, "offsite verify")?;
        if v["ok"].as_bool() != Some(true) {
            return Err(format!("offsite verify did not report ok: {v}"));
        }
        r.add("verify_secs", "Offsite verify time", "s", m.secs());
        r.add(
            "verify_mibps",
            "Offsite verify, archive bytes/s",
            "MiB/s",
            mib(size) / m.secs(),
        );
        r.add(
            "verify_data_mibps",
            "Offsite verify, uncompressed member bytes/s",
            "MiB/s",
            mib(data_bytes) / m.secs(),
        );
        r.add("verify_cpu", "Offsite verify CPU", "s", m.cpu.as_secs_f64());
        r.add(
            "data_mib",
            "archive members, uncompressed",
            "MiB",
            mib(data_bytes),
        );
        eprintln!(
            "  offsite verify       {:7.2} s  {:8.1} MiB/s archive, {:.1} MiB/s data",
            m.secs(),
            mib(size) / m.secs(),
            mib(data_bytes) / m.secs()
        );

        let mut c = Command::new("sha256sum");
        c.arg(path);
        let (m, _) = timed(pg, srv, &mut c, None, "sha256sum ARCHIVE")?;
        r.add("sha_arch_secs", "sha256sum archive time", "s", m.secs());
        r.add(
            "sha_arch_mibps",
            "sha256sum archive",
            "MiB/s",
            mib(size) / m.secs(),
        );
        eprintln!(
            "  sha256sum archive    {:7.2} s  {:8.1} MiB/s",
            m.secs(),
            mib(size) / m.secs()
        );
        Ok(())
    }

    /// sha256sum of the plain dump (the "data bytes" floor of verify).
    fn sha_dump(&self, r: &mut Results, fp_file: &Path, fp_bytes: u64) -> Result<(), String> {
        let mut c = Command::new("sha256sum");
        c.arg(fp_file);
        let (m, _) = timed(self.pg, self.srv, &mut c, None, "sha256sum DUMP.sql")?;
        r.add("sha_fp_secs", "sha256sum -Fp dump time", "s", m.secs());
        r.add(
            "sha_fp_mibps",
            "sha256sum -Fp dump",
            "MiB/s",
            mib(fp_bytes) / m.secs(),
        );
        eprintln!(
            "  sha256sum -Fp dump   {:7.2} s  {:8.1} MiB/s",
            m.secs(),
            mib(fp_bytes) / m.secs()
        );
        Ok(())
    }

    /// e. pg_restore of the -Fc dump into a fresh empty database.
    fn pg_restore(&self, run: usize, r: &mut Results, fc_file: &Path) -> Result<(), String> {
        let pg = self.pg;
        let db = format!("restore_pg_{run}");
        pg.create_db(&db);
        let mut c = pg.command("pg_restore");
        c.args(pg.conn_args()).args(["-d", &db]).arg(fc_file);
        let res = timed(pg, self.srv, &mut c, None, "pg_restore");
        let counts = res.as_ref().ok().map(|_| row_counts(pg, &db));
        pg.drop_db(&db);
        let (m, scpu) = res?;
        if let Some(c) = counts {
            let c = c?;
            if c != self.source_counts {
                return Err(format!(
                    "pg_restore: restored row counts {c} differ from the source's {}",
                    self.source_counts
                ));
            }
        }
        r.add("pgr_secs", "pg_restore time", "s", m.secs());
        r.add("pgr_cpu", "pg_restore client CPU", "s", m.cpu.as_secs_f64());
        r.add("pgr_srv_cpu", "pg_restore server CPU", "s", scpu);
        eprintln!("  pg_restore           {:7.2} s", m.secs());
        Ok(())
    }

    /// e. Offsite's restore of its archive into a fresh empty database.
    fn offsite_restore(
        &self,
        o: &Offsite,
        run: usize,
        r: &mut Results,
        path: &Path,
    ) -> Result<(), String> {
        let pg = self.pg;
        let db = format!("restore_off_{run}");
        pg.create_db(&db);
        let mut c = o.cmd();
        c.arg("restore")
            .arg(path)
            .args(["--to", &o.url(&db), "--yes"]);
        let res = timed(pg, self.srv, &mut c, None, "offsite restore");
        let counts = res.as_ref().ok().map(|_| row_counts(pg, &db));
        pg.drop_db(&db);
        let (m, scpu) = res?;
        let v = json_of(&m, "offsite restore")?;
        if v["report"]["ok"].as_bool() != Some(true) {
            return Err(format!("offsite restore did not report ok: {v}"));
        }
        if let Some(c) = counts {
            let c = c?;
            if c != self.source_counts {
                return Err(format!(
                    "offsite restore: restored row counts {c} differ from the source's {}",
                    self.source_counts
                ));
            }
        }
        r.add("offr_secs", "Offsite restore time", "s", m.secs());
        if let Some(d) = m.child("pg_restore") {
            r.add(
                "offr_pre",
                "Offsite restore: before the main pg_restore (plan, checks)",
                "s",
                d.first_seen,
            );
            r.add(
                "offr_restore",
                "Offsite restore: while the main pg_restore runs",
                "s",
                d.last_seen - d.first_seen,
            );
            r.add(
                "offr_post",
                "Offsite restore: after pg_restore exits (validation)",
                "s",
                m.secs() - d.last_seen,
            );
        }
        r.add(
            "offr_cpu",
            "Offsite restore client CPU (offsite + pg_restore)",
            "s",
            m.cpu.as_secs_f64(),
        );
        r.add("offr_srv_cpu", "Offsite restore server CPU", "s", scpu);
        r.add(
            "offr_rss",
            "Offsite restore peak RSS (wait4, incl. pg_restore)",
            "MiB",
            m.maxrss_kib as f64 / 1024.0,
        );
        eprintln!("  offsite restore      {:7.2} s", m.secs());
        Ok(())
    }

    /// f. peak RSS on the small dataset.
    fn small_backup(&self, o: &Offsite, run: usize, r: &mut Results) -> Result<(), String> {
        let dir = self.w.join(format!("archives-small-{run}"));
        let mut c = o.cmd();
        c.args(["backup", "bench_small", "--dest"]).arg(&dir);
        let (m, _) = timed(self.pg, self.srv, &mut c, None, "offsite backup (small)")?;
        r.add("small_secs", "Offsite backup time, small", "s", m.secs());
        r.add(
            "small_rss",
            "Offsite backup peak RSS, small (wait4, incl. pg_dump)",
            "MiB",
            m.maxrss_kib as f64 / 1024.0,
        );
        r.add(
            "small_hwm",
            "Offsite backup peak RSS, small (offsite process only)",
            "MiB",
            m.own_hwm_kib.map_or(f64::NAN, |k| k as f64 / 1024.0),
        );
        eprintln!(
            "  offsite backup small {:7.2} s  peak RSS {:.1} MiB",
            m.secs(),
            m.maxrss_kib as f64 / 1024.0
        );
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}

/// c2. the agent's own backup of the same database.
fn agent_backup(a: &BenchAgent, r: &mut Results) -> Result<(), String> {
    let run = a.backup()?;
    r.add(
        "agent_secs",
        "Agent backup time (its job: started → finished)",
        "s",
        run.job_secs,
    );
    r.add(
        "agent_wall_secs",
        "Agent backup seen from the laptop (request → COMPLETED, 50 ms polls)",
        "s",
        run.secs,
    );
    r.add("agent_mib", "Agent archive size", "MiB", mib(run.size));
    eprintln!(
        "  agent backup         {:7.2} s  {:8.1} MiB  (seen from the laptop: {:.2} s)",
        run.job_secs,
        mib(run.size),
        run.secs
    );
    Ok(())
}

/// The read-back's seconds from `offsite backup`'s log line ("new archive read back before
/// it is registered", `OFFSITE_LOG=offsite_core::ops::backup=info`).
fn read_back_secs(stderr: &[u8]) -> Option<f64> {
    // Without the terminal's colours (tracing styles field names).
    let mut text = String::new();
    let mut bytes = stderr.iter().copied();
    while let Some(b) = bytes.next() {
        if b == 0x1b {
            for c in bytes.by_ref() {
                if c == b'm' {
                    break;
                }
            }
        } else {
            text.push(b as char);
        }
    }
    let line = text
        .lines()
        .find(|l| l.contains("read back before it is registered"))?;
    let rest = &line[line.find("read_back_secs=")? + "read_back_secs=".len()..];
    rest.split_whitespace().next()?.parse().ok()
}
