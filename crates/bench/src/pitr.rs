//! `--pitr` (issue 46, item 7): the RPO of logical point-in-time capture under a pgbench write
//! load, and what the capture costs the server.
//!
//! 1. `pgbench -i -s SCALE` into a database of its own, plus a `marker` table; the project is
//!    added to Offsite and capture enabled (`offsite pitr enable`: publication, slot, base).
//! 2. Per run, alternating: `pgbench -T SECS -c 2 -j 2` (its TPC-B-like default) without
//!    capture running, then the same with `offsite pitr run` (a pass every 5 s: the product's
//!    default) running beside it, while this process commits one marker row a second and notes
//!    its commit time (the server's clock at the end of the statement).
//! 3. After the last run the capture is given up to 30 s to read past the last marker, then
//!    stopped. A marker committed at `t` is durably captured when the segment holding its
//!    transaction was closed (written, fsynced, renamed, registered): the first segment of the
//!    chain whose last commit is at or after `t`, read from Offsite's catalog. Its lag is that
//!    segment's close time − `t`; max and median over every marker.
//!
//! The floor of the lag: the pass interval (a commit waits up to one interval, then the pass
//! reads and writes it). Targets: max lag ≤ 60 s; TPS with capture / without ≥ 0.95.
//! `pgbench_history` has no key: it is listed as not covered and not captured (said).

use crate::report::{runs_table, verdict_table, Results, Verdict};
use crate::{loadavg, Offsite};
use offsite_testkit::TestCluster;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const DB: &str = "pitr_bench";
const PROJECT: &str = "pitr_bench";
/// The capture's pass interval (`offsite pitr run --every`, the daemon's and agent's 5 s).
const EVERY_SECS: u64 = 5;

pub(crate) struct PitrBench<'a> {
    pub offsite: &'a Offsite<'a>,
    pub pg: &'a TestCluster,
    pub runs: usize,
    /// pgbench's scale (100,000 accounts each).
    pub scale: u32,
    /// Seconds per pgbench run.
    pub secs: u64,
}

/// `offsite pitr run` in the background; killed when dropped.
struct Capture(Child);

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl PitrBench<'_> {
    fn psql(&self, sql: &str) -> Result<String, String> {
        self.pg.try_psql(DB, sql).map(|s| s.trim().to_string())
    }

    fn setup(&self) -> Result<(), String> {
        self.pg
            .try_psql("postgres", &format!("CREATE DATABASE {DB}"))?;
        eprintln!("pitr bench: pgbench -i -s {} …", self.scale);
        let out = self
            .pg
            .command("pgbench")
            .args(["-i", "-q", "-s", &self.scale.to_string(), DB])
            .output()
            .map_err(|e| format!("pgbench -i: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "pgbench -i: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        self.psql("CREATE TABLE marker (id bigserial PRIMARY KEY, at timestamptz NOT NULL)")?;
        let mut c = self.offsite.cmd();
        c.args(["project", "add", PROJECT, "--db", &self.offsite.url(DB)]);
        crate::measure::run(&mut c, None)?.check("offsite project add")?;
        let mut c = self.offsite.cmd();
        c.args(["pitr", "enable", PROJECT]);
        let m = crate::measure::run(&mut c, None)?.check("offsite pitr enable")?;
        let out = String::from_utf8_lossy(&m.stdout);
        eprintln!("  {}", out.lines().take(3).collect::<Vec<_>>().join("\n  "));
        Ok(())
    }

    /// One pgbench run; its TPS. With `markers`, one marker committed a second meanwhile
    /// (their commit times, µs since the epoch, appended).
    fn pgbench(&self, markers: Option<&mut Vec<i64>>) -> Result<f64, String> {
        let child = self
            .pg
            .command("pgbench")
            .args(["-c", "2", "-j", "2", "-T", &self.secs.to_string(), DB])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("pgbench: {e}"))?;
        if let Some(markers) = markers {
            let end = Instant::now() + Duration::from_secs(self.secs.saturating_sub(1));
            while Instant::now() < end {
                let t0 = Instant::now();
                let at = self.psql(
                    "INSERT INTO marker (at) VALUES (clock_timestamp()) \
                     RETURNING (extract(epoch FROM at) * 1000000)::bigint",
                )?;
                markers.push(at.parse().map_err(|_| format!("marker time {at:?}"))?);
                std::thread::sleep(Duration::from_secs(1).saturating_sub(t0.elapsed()));
            }
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("pgbench: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "pgbench: {}{}",
                text,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        text.lines()
            .find_map(|l| {
                let rest = l.strip_prefix("tps = ")?;
                rest.split_whitespace().next()?.parse::<f64>().ok()
            })
            .ok_or_else(|| format!("pgbench printed no tps: {text}"))
    }

    fn capture(&self) -> Result<Capture, String> {
        let mut c = self.offsite.cmd();
        c.args(["pitr", "run", PROJECT, "--every", &EVERY_SECS.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Ok(Capture(
            c.spawn().map_err(|e| format!("offsite pitr run: {e}"))?,
        ))
    }
}

/// Each marker's lag (seconds): the close time of the first segment whose last commit is at or
/// after it. `None` for a marker no segment holds.
fn lags(markers: &[i64], segments: &[(i64, i64)]) -> Vec<Option<f64>> {
    markers
        .iter()
        .map(|&t| {
            segments
                .iter()
                .filter(|(last_commit, _)| *last_commit >= t)
                .map(|(_, closed)| *closed)
                .min()
                .map(|closed| (closed - t) as f64 / 1e6)
        })
        .collect()
}

/// The segments of the project's newest chain: (last commit, closed at), µs.
fn segments(data_dir: &std::path::Path) -> Result<Vec<(i64, i64)>, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let cat = offsite_core::catalog::Catalog::open(data_dir)
            .await
            .map_err(|e| e.to_string())?;
        let p = cat.project(PROJECT).await.map_err(|e| e.to_string())?;
        let chains = cat.pitr_chains(&p.id).await.map_err(|e| e.to_string())?;
        let chain = chains.last().ok_or("no capture chain")?;
        Ok(cat
            .pitr_segments(&chain.id)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|s| (s.last_commit_at, s.closed_at))
            .collect())
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

pub(crate) fn run(b: &PitrBench) -> Result<(), String> {
    b.setup()?;
    let mut without = Vec::new();
    let mut with = Vec::new();
    let mut markers = Vec::new();
    for run in 1..=b.runs {
        let tps = b.pgbench(None)?;
        eprintln!(
            "  run {run}: pgbench without capture  {tps:>9.1} tps  load {}",
            loadavg()
        );
        without.push(tps);
        let capture = b.capture()?;
        let tps = b.pgbench(Some(&mut markers))?;
        eprintln!(
            "  run {run}: pgbench with capture     {tps:>9.1} tps  load {}",
            loadavg()
        );
        with.push(tps);
        // Let it read past the last marker, then stop it (the next run without capture must
        // not pay for it).
        let last = *markers.last().ok_or("no marker committed")?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline
            && !segments(&b.offsite.data_dir)?
                .iter()
                .any(|(l, _)| *l >= last)
        {
            std::thread::sleep(Duration::from_millis(500));
        }
        drop(capture);
    }
    let segs = segments(&b.offsite.data_dir)?;
    let all = lags(&markers, &segs);
    let missed = all.iter().filter(|l| l.is_none()).count();
    let mut got: Vec<f64> = all.into_iter().flatten().collect();
    let max = got.iter().copied().fold(0.0, f64::max);
    let med = median(&mut got);
    let covered = b.psql(
        "SELECT count(*) FROM pg_publication_tables WHERE pubname LIKE 'offsite\\_pitr\\_%'",
    )?;
    println!(
        "\n## point-in-time capture under pgbench (scale {}, {} s a run, -c 2 -j 2)",
        b.scale, b.secs
    );
    println!(
        "{} markers (one a second) over {} runs; {} segments; {covered} tables published \
         (pgbench_history has no key: not covered); a pass every {EVERY_SECS} s; load at the \
         end {}",
        markers.len(),
        b.runs,
        segs.len(),
        loadavg()
    );
    let mut r = Results::default();
    for (o, w) in without.iter().zip(&with) {
        r.add("without", "pgbench without capture", "tps", *o);
        r.add("with", "pgbench with capture", "tps", *w);
    }
    println!("{}", runs_table(&r, b.runs));
    let mut tps_w = with.clone();
    let mut tps_o = without.clone();
    let (w, o) = (median(&mut tps_w), median(&mut tps_o));
    let rpo = Verdict {
        metric: format!(
            "RPO: commit → durably captured, max (median {med:.1} s; floor: the {EVERY_SECS} s pass)"
        ),
        measured: format!("{max:.1} s"),
        ratio: max / 60.0,
        target: "≤ 60 s".into(),
        pass: max <= 60.0 && missed == 0,
        note: String::new(),
    };
    let cost = Verdict::at_least(
        "capture's cost: pgbench TPS with / without",
        format!("{w:.0} / {o:.0}"),
        w / o,
        0.95,
        "",
    );
    let verdicts = vec![rpo, cost];
    if missed > 0 {
        println!("{missed} marker(s) never captured within 30 s of the run's end");
    }
    println!("{}", verdict_table(&verdicts));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_is_captured_by_the_first_segment_that_reaches_it() {
        // Segments: commits up to 10 s closed at 12 s, up to 20 s closed at 26 s.
        let segs = [(10_000_000, 12_000_000), (20_000_000, 26_000_000)];
        let l = lags(&[9_000_000, 10_000_000, 15_000_000, 21_000_000], &segs);
        assert_eq!(l, vec![Some(3.0), Some(2.0), Some(11.0), None]);
    }
}
