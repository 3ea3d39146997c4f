//! `--digests-only`: what the per-table digests cost a backup. Offsite's backup of the large
//! dataset, alternately with the digest tee on and off (`OFFSITE_BENCH_NO_TABLE_DIGESTS=1`, an
//! internal switch for this bench only), `--runs` times each; prints the medians, the ratio
//! (t_off / t_on, target ≥ 0.9) and the peak RSS of both.

use crate::measure::ServerCpu;
use crate::report::{median, verdict_table, Verdict};
use crate::{timed, Offsite};
use offsite_testkit::TestCluster;
use std::path::Path;

/// The environment variable the engine reads (see `offsite_core::postgres::digest`).
const SWITCH: &str = "OFFSITE_BENCH_NO_TABLE_DIGESTS";

pub fn run(
    o: &Offsite,
    pg: &TestCluster,
    srv: &Option<ServerCpu>,
    work: &Path,
    runs: usize,
) -> Result<(), String> {
    let (mut on, mut off, mut rss_on, mut rss_off) = (vec![], vec![], vec![], vec![]);
    for run in 1..=runs {
        for digests in [true, false] {
            let mut c = o.cmd();
            if !digests {
                c.env(SWITCH, "1");
            }
            let dir = work.join(format!("digests-{run}-{digests}"));
            c.args(["backup", "bench", "--dest"]).arg(&dir);
            let what = if digests {
                "with digests"
            } else {
                "without digests"
            };
            let (m, _) = timed(pg, srv, &mut c, None, &format!("offsite backup {what}"))?;
            let rss = m.maxrss_kib as f64 / 1024.0;
            eprintln!(
                "  run {run}: backup {what:16} {:7.2} s  peak RSS {rss:.1} MiB",
                m.secs()
            );
            let _ = std::fs::remove_dir_all(&dir);
            if digests {
                on.push(m.secs());
                rss_on.push(rss);
            } else {
                off.push(m.secs());
                rss_off.push(rss);
            }
        }
    }
    let (t_on, t_off) = (median(&on), median(&off));
    let (r_on, r_off) = (median(&rss_on), median(&rss_off));
    println!(
        "backup with table digests: median {t_on:.2} s, peak RSS {r_on:.1} MiB (runs: {on:.2?})"
    );
    println!(
        "backup without digests:    median {t_off:.2} s, peak RSS {r_off:.1} MiB (runs: {off:.2?})"
    );
    let v = vec![
        Verdict::at_least(
            "backup speed with digests vs without",
            format!("{t_off:.2} s / {t_on:.2} s"),
            t_off / t_on,
            0.9,
            "t_without / t_with",
        ),
        Verdict::at_most(
            "peak RSS with digests (wait4, incl. pg_dump)",
            format!("{r_on:.1} MiB (without: {r_off:.1} MiB)"),
            r_on / 64.0,
            1.0,
            "of 64 MiB",
        ),
    ];
    println!("{}", verdict_table(&v));
    Ok(())
}
