//! `--pitr` (issue 46, item 7): the RPO of logical point-in-time capture under a pgbench write
//! load, and what the capture costs the server.
//!
//! 1. `pgbench -i -s SCALE` into a database of its own, plus a `marker` table; the project is
//!    added to Offsite and capture enabled (`offsite pitr enable`: publication, slot, base).
//! 2. Per run, in turn, `pgbench -T SECS -c 2 -j 2` (its TPC-B-like default) while this
//!    process commits one marker row a second (every phase alike) and notes its commit time
//!    (the server's clock at the end of the statement):
//!    - without capture;
//!    - the floor: PostgreSQL's own `pg_recvlogical` draining a fresh `pgoutput` slot of the
//!      same publication to `/dev/null` — what logical decoding alone costs the server;
//!    - with `offsite pitr run` (a pass every 5 s: the product's default) beside it, started
//!      first and given time to read what its slot kept while it was stopped (the other
//!      phases' writes), so the run measures the steady cost, not a backlog.
//! 3. After the last run the capture is given up to 30 s to read past the last marker, then
//!    stopped. A marker committed at `t` is durably captured when the segment holding its
//!    transaction was closed (written, fsynced, renamed, registered): the first segment of the
//!    chain whose last commit is at or after `t`, read from Offsite's catalog. Its lag is that
//!    segment's close time − `t`; max and median over every marker.
//!
//! The floor of the lag: the pass interval (a commit waits up to one interval, then the pass
//! reads and writes it). Targets: max lag ≤ 60 s; TPS with capture / without ≥ 0.95 (the floor's
//! TPS / without says how much of that any logical capture pays on this machine).
//! `pgbench_history` has no key: it is listed as not covered and not captured (said).

use crate::report::{runs_table, verdict_table, Results, Verdict};
use crate::{loadavg, Offsite};
use offsite_testkit::TestCluster;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub(crate) const DB: &str = "pitr_bench";
pub(crate) const PROJECT: &str = "pitr_bench";
/// The capture's pass interval (`offsite pitr run --every`, the daemon's and agent's 5 s).
const EVERY_SECS: u64 = 5;
/// The floor's slot (PostgreSQL's own decoder; made fresh for each run, dropped after).
const FLOOR_SLOT: &str = "offsite_bench_floor";

pub(crate) struct PitrBench<'a> {
    pub offsite: &'a Offsite<'a>,
    pub pg: &'a TestCluster,
    pub runs: usize,
    /// pgbench's scale (100,000 accounts each).
    pub scale: u32,
    /// Seconds per pgbench run.
    pub secs: u64,
    /// pgbench's built-in script (`-b`).
    pub builtin: String,
}

/// `offsite pitr run` in the background; killed when dropped.
pub(crate) struct Capture(Child);

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl PitrBench<'_> {
    pub(crate) fn psql(&self, sql: &str) -> Result<String, String> {
        self.pg.try_psql(DB, sql).map(|s| s.trim().to_string())
    }

    pub(crate) fn setup(&self) -> Result<(), String> {
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

    /// One pgbench run; its TPS. One marker is committed a second meanwhile (their commit
    /// times, µs since the epoch, appended to `markers`).
    pub(crate) fn pgbench(&self, markers: &mut Vec<i64>) -> Result<f64, String> {
        let child = self
            .pg
            .command("pgbench")
            .args(["-b", &self.builtin, "-c", "2", "-j", "2"])
            .args(["-T", &self.secs.to_string(), DB])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("pgbench: {e}"))?;
        let end = Instant::now() + Duration::from_secs(self.secs.saturating_sub(1));
        while Instant::now() < end {
            let t0 = Instant::now();
            markers.push(self.marker()?);
            std::thread::sleep(Duration::from_secs(1).saturating_sub(t0.elapsed()));
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

    /// Commits one marker; its commit time (µs since the epoch).
    pub(crate) fn marker(&self) -> Result<i64, String> {
        let at = self.psql(
            "INSERT INTO marker (at) VALUES (clock_timestamp()) \
             RETURNING (extract(epoch FROM at) * 1000000)::bigint",
        )?;
        at.parse().map_err(|_| format!("marker time {at:?}"))
    }

    /// The capture's publication (one: the bench's project).
    pub(crate) fn publication(&self) -> Result<String, String> {
        let p = self
            .psql("SELECT pubname FROM pg_publication WHERE pubname LIKE 'offsite\\_pitr\\_%'")?;
        (!p.is_empty() && !p.contains('\n'))
            .then_some(p.clone())
            .ok_or_else(|| format!("one capture publication expected, found {p:?}"))
    }

    /// The floor: a fresh `pgoutput` slot of the same publication, drained by
    /// `pg_recvlogical` to `/dev/null` until the returned guard is dropped.
    fn floor(&self) -> Result<Floor<'_>, String> {
        let publication = self.publication()?;
        self.psql(&format!(
            "SELECT pg_create_logical_replication_slot('{FLOOR_SLOT}', 'pgoutput')"
        ))?;
        let child = self
            .pg
            .command("pg_recvlogical")
            .args(["-d", DB, "--slot", FLOOR_SLOT, "--start", "-f", "/dev/null"])
            .args(["-o", "proto_version=1", "-o"])
            .arg(format!("publication_names={publication}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("pg_recvlogical: {e}"))?;
        Ok(Floor { bench: self, child })
    }

    /// Starts the capture and waits until it has read past a marker committed now (what its
    /// slot kept while it was stopped), so that the measured run pays only for its own writes.
    fn capture_caught_up(&self) -> Result<Capture, String> {
        let capture = self.capture()?;
        let mark = self.marker()?;
        let deadline = Instant::now() + Duration::from_secs(300);
        while !segments(&self.offsite.data_dir)?
            .iter()
            .any(|(l, _)| *l >= mark)
        {
            if Instant::now() > deadline {
                return Err("the capture did not catch up with its slot in 300 s".into());
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        Ok(capture)
    }

    pub(crate) fn capture(&self) -> Result<Capture, String> {
        let mut c = self.offsite.cmd();
        c.args(["pitr", "run", PROJECT, "--every", &EVERY_SECS.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Ok(Capture(
            c.spawn().map_err(|e| format!("offsite pitr run: {e}"))?,
        ))
    }
}

/// `pg_recvlogical` on the floor's slot; stopped and the slot dropped when dropped.
struct Floor<'a> {
    bench: &'a PitrBench<'a>,
    child: Child,
}

impl Drop for Floor<'_> {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The walsender lets go of the slot a moment after its client is gone.
        for _ in 0..50 {
            let sql = format!("SELECT pg_drop_replication_slot('{FLOOR_SLOT}')");
            if self.bench.psql(&sql).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("pitr bench: the floor's slot {FLOOR_SLOT} could not be dropped");
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

/// The newest chain of the bench's project and its segments, from the catalog.
fn newest_chain(
    data_dir: &std::path::Path,
) -> Result<
    (
        offsite_core::catalog::PitrChain,
        Vec<offsite_core::catalog::PitrSegment>,
    ),
    String,
> {
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
        let chain = chains.last().ok_or("no capture chain")?.clone();
        let segs = cat
            .pitr_segments(&chain.id)
            .await
            .map_err(|e| e.to_string())?;
        Ok((chain, segs))
    })
}

/// The newest chain's segments: (last commit, closed at), µs.
pub(crate) fn segments(data_dir: &std::path::Path) -> Result<Vec<(i64, i64)>, String> {
    let (_, segs) = newest_chain(data_dir)?;
    Ok(segs
        .into_iter()
        .map(|s| (s.last_commit_at, s.closed_at))
        .collect())
}

/// Where the newest chain's window ends now (µs): its newest segment's close or its last poll
/// that found nothing new, whichever is later (docs/pitr.md: a window ends there).
pub(crate) fn window_end(data_dir: &std::path::Path) -> Result<i64, String> {
    let (chain, segs) = newest_chain(data_dir)?;
    let closed = segs.into_iter().map(|s| s.closed_at).max();
    Ok(closed.max(chain.last_poll_at).unwrap_or(0))
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
    let mut floor = Vec::new();
    let mut with = Vec::new();
    let mut markers = Vec::new();
    for run in 1..=b.runs {
        let tps = b.pgbench(&mut Vec::new())?;
        eprintln!(
            "  run {run}: pgbench without capture  {tps:>9.1} tps  load {}",
            loadavg()
        );
        without.push(tps);
        let decoder = b.floor()?;
        let tps = b.pgbench(&mut Vec::new())?;
        drop(decoder);
        eprintln!(
            "  run {run}: pgbench, pg_recvlogical  {tps:>9.1} tps  load {}",
            loadavg()
        );
        floor.push(tps);
        let capture = b.capture_caught_up()?;
        let tps = b.pgbench(&mut markers)?;
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
    for f in &floor {
        r.add("floor", "pgbench beside pg_recvlogical (floor)", "tps", *f);
    }
    println!("{}", runs_table(&r, b.runs));
    let mut tps_w = with.clone();
    let mut tps_o = without.clone();
    let (w, o) = (median(&mut tps_w), median(&mut tps_o));
    let f = median(&mut floor.clone());
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
        &format!(
            "floor: pg_recvlogical's {f:.0} tps = {:.2} of without; Offsite / floor {:.2}",
            f / o,
            w / f
        ),
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
