//! The report of `offsite-bench --large`: the machine and its load, the dataset, every run,
//! the ratios against the targets, CPU-seconds per GiB of dump text, and what the one big table
//! costs a `-j` dump.

use crate::large::{BigTable, GIB};
use crate::large_gen::Table;
use crate::report::{self, median, Results, Verdict};
use crate::{cpu_model, large};
use serde_json::json;
use std::path::Path;

/// What one run adds besides the series.
pub struct LargeRun {
    pub text_bytes: u64,
    pub big: BigTable,
    pub load_before: String,
    pub load_after: String,
}

/// The facts around the measurements.
pub struct Info<'a> {
    pub pg_version: String,
    pub notes: Vec<String>,
    pub jobs: u32,
    pub zstd: bool,
    pub tables: &'a [Table],
    pub db_bytes: u64,
    pub gen_secs: f64,
    pub scale: f64,
    pub seed: u64,
    pub uptime_before: String,
    pub uptime_after: String,
    pub total_secs: f64,
}

fn m(r: &Results, key: &str) -> f64 {
    r.median(key).unwrap_or(f64::NAN)
}

fn max_of(r: &Results, key: &str) -> f64 {
    r.series
        .iter()
        .find(|s| s.key == key)
        .map(|s| s.values.iter().cloned().fold(f64::NAN, f64::max))
        .unwrap_or(f64::NAN)
}

/// The ratios against the targets (and a few without a target, `pass` true).
pub fn verdicts(r: &Results, jobs: u32, zstd: bool) -> Vec<Verdict> {
    let mut v = vec![
        Verdict::at_least(
            &format!("backup vs `pg_dump -Fd -j {jobs} -Z0` (t_pg / t_offsite)"),
            format!("{:.1} s / {:.1} s", m(r, "fd_secs"), m(r, "off_secs")),
            m(r, "fd_secs") / m(r, "off_secs"),
            0.9,
            "",
        ),
        Verdict::at_least(
            &format!("restore vs `pg_restore -j {jobs}` of the -Fd -Z0 folder (t_pg / t_offsite)"),
            format!("{:.1} s / {:.1} s", m(r, "pgr_secs"), m(r, "offr_secs")),
            m(r, "pgr_secs") / m(r, "offr_secs"),
            0.9,
            "",
        ),
        Verdict::at_most(
            "archive size (default compression) vs `pg_dump -Fc`",
            format!("{:.3} GiB / {:.3} GiB", m(r, "off_gib"), m(r, "fc_gib")),
            m(r, "off_gib") / m(r, "fc_gib"),
            0.9,
            "",
        ),
    ];
    let data_rate = m(r, "ver_data_gib") * 1024.0 / m(r, "ver_secs");
    let sha_rate = m(r, "off_gib") * 1024.0 / m(r, "sha_secs");
    v.push(Verdict::at_least(
        "verify, data verified/s vs `sha256sum` of the archive, bytes/s",
        format!("{data_rate:.0} / {sha_rate:.0} MiB/s"),
        data_rate / sha_rate,
        3.0,
        "",
    ));
    v.push(Verdict::at_most(
        "peak RSS of the backup, offsite + pg_dump (max of the runs, ru_maxrss)",
        format!("{:.1} MiB", max_of(r, "off_rss")),
        max_of(r, "off_rss") / 64.0,
        1.0,
        "of 64 MiB",
    ));
    v.push(Verdict::at_most(
        "peak RSS of the restore, offsite + pg_restore (max of the runs)",
        format!("{:.1} MiB", max_of(r, "offr_rss")),
        max_of(r, "offr_rss") / 64.0,
        1.0,
        "of 64 MiB",
    ));
    if zstd {
        v.push(Verdict::at_most(
            "gzip (level 3) archive size vs `pg_dump -Fc`",
            format!("{:.3} GiB / {:.3} GiB", m(r, "offg_gib"), m(r, "fc_gib")),
            m(r, "offg_gib") / m(r, "fc_gib"),
            0.9,
            "",
        ));
        v.push(Verdict::at_least(
            &format!("gzip backup vs `pg_dump -Fd -j {jobs} -Z0`"),
            format!("{:.1} s / {:.1} s", m(r, "fd_secs"), m(r, "offg_secs")),
            m(r, "fd_secs") / m(r, "offg_secs"),
            0.9,
            "",
        ));
    }
    v
}

/// Ratios without a target: (what, the medians, ratio).
fn info_rows(r: &Results) -> String {
    let rows = [
        (
            "backup vs `pg_dump -Fc` (t_fc / t_offsite)",
            "fc_secs",
            "off_secs",
        ),
        (
            "verify time vs `sha256sum` of the archive (t_sha / t_verify)",
            "sha_secs",
            "ver_secs",
        ),
        (
            "backup with the big table in ranges vs without (t_without / t_with)",
            "offw_secs",
            "off_secs",
        ),
        (
            "restore of the archive with ranges vs without (t_without / t_with)",
            "offrw_secs",
            "offr_secs",
        ),
        (
            "backup without ranges vs `pg_dump -Fd -j N -Z0` (t_pg / t_without)",
            "fd_secs",
            "offw_secs",
        ),
        (
            "restore without ranges vs `pg_restore -j N` (t_pg / t_without)",
            "pgr_secs",
            "offrw_secs",
        ),
    ];
    let mut s = String::from("\n| ratio without a target | median(s) | ratio |\n|---|---|---:|\n");
    for (what, a, b) in rows {
        s.push_str(&format!(
            "| {what} | {:.1} s / {:.1} s | {:.2} |\n",
            m(r, a),
            m(r, b),
            m(r, a) / m(r, b)
        ));
    }
    s
}

/// CPU-seconds per GiB of dump text, client (the process tree, wait4) and server.
fn cpu_table(r: &Results, gib: f64, zstd: bool) -> String {
    let mut rows = vec![
        ("fd", "pg_dump -Fd -j N -Z0"),
        ("fc", "pg_dump -Fc"),
        ("off", "Offsite backup (default compression)"),
    ];
    if zstd {
        rows.push(("offg", "Offsite backup (--compression gzip)"));
    }
    rows.extend([
        ("pgr", "pg_restore -j N"),
        ("offr", "Offsite restore"),
        ("ver", "offsite verify"),
        ("sha", "sha256sum of the archive"),
    ]);
    let mut s = String::from(
        "| step | wall s/GiB | client CPU-s/GiB | server CPU-s/GiB | total CPU-s/GiB |\n|---|---:|---:|---:|---:|\n",
    );
    for (k, label) in rows {
        let (t, c, sv) = (
            m(r, &format!("{k}_secs")),
            m(r, &format!("{k}_cpu")),
            m(r, &format!("{k}_srv")),
        );
        s.push_str(&format!(
            "| {label} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
            t / gib,
            c / gib,
            sv / gib,
            (c + sv) / gib
        ));
    }
    s
}

pub fn print(
    info: &Info,
    r: &Results,
    runs: &[LargeRun],
    json_out: Option<&Path>,
) -> Result<(), String> {
    let gib = median(
        &runs
            .iter()
            .map(|x| x.text_bytes as f64 / GIB)
            .collect::<Vec<_>>(),
    );
    let vs = verdicts(r, info.jobs, info.zstd);
    let big_secs = median(&runs.iter().map(|x| x.big.secs).collect::<Vec<_>>());
    let big_wall = median(&runs.iter().map(|x| x.big.wall).collect::<Vec<_>>());
    let big_bytes = runs.first().map_or(0, |x| x.big.bytes);
    let events_rows = info.tables.first().map_or(0, |t| t.rows);
    let mut t = String::new();
    t.push_str(&format!(
        "\n## offsite-bench --large: {} runs, {gib:.2} GiB of dump text (scale {}, seed {})\n\n",
        runs.len(),
        info.scale,
        info.seed
    ));
    t.push_str(&format!(
        "Machine: {} × {}; PostgreSQL {} (throwaway cluster, fsync=off, server and client on the same cores), \
         warm page cache; `sync` + CHECKPOINT before every timed step; GiB = 2^30 bytes; -j {} everywhere.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
        info.pg_version,
        info.jobs
    ));
    t.push_str(&format!(
        "Load: before `{}`; after `{}`; per run (1-min load before → after): {}.\n",
        info.uptime_before,
        info.uptime_after,
        runs.iter()
            .map(|x| format!("{} → {}", x.load_before, x.load_after))
            .collect::<Vec<_>>()
            .join("; ")
    ));
    t.push_str(&format!(
        "Dataset: {}; events {} rows; database {:.2} GiB on disk, generated in {:.0} s.\n",
        large::share_summary(info.tables),
        events_rows,
        info.db_bytes as f64 / GIB,
        info.gen_secs
    ));
    t.push_str(&format!(
        "The one big table and `-j`: pg_dump gives a table to one worker, so `events` ({:.2} GiB, {:.0} % of the \
         dump text) is dumped by one worker for {big_secs:.1} s of the {big_wall:.1} s wall ({:.0} %): \
         with {} cores the other worker does all the other tables meanwhile; on more cores the wall time cannot \
         drop below that one worker's time.\n",
        big_bytes as f64 / GIB,
        100.0 * big_bytes as f64 / (gib * GIB),
        100.0 * big_secs / big_wall,
        info.jobs
    ));
    if !info.zstd {
        t.push_str("zstd: this offsite binary has no `backup --compression` (no zstd writer): gzip only.\n");
    }
    for n in &info.notes {
        t.push_str(&format!("{n}\n"));
    }
    t.push_str(&format!(
        "\n### Ratios (medians)\n\n{}",
        report::verdict_table(&vs)
    ));
    t.push_str(&info_rows(r));
    t.push_str(&format!(
        "\n### CPU per GiB of dump text (medians; {gib:.2} GiB)\n\n{}",
        cpu_table(r, gib, info.zstd)
    ));
    t.push_str(&format!(
        "\n### Every run\n\n{}",
        report::runs_table(r, runs.len())
    ));
    t.push_str(&format!("\nTotal bench time {:.0} s.\n", info.total_secs));
    println!("{t}");
    if let Some(p) = json_out {
        let j = json!({
            "dump_text_gib": gib,
            "jobs": info.jobs,
            "zstd": info.zstd,
            "verdicts": vs,
            "results": r,
            "events_span_secs": big_secs,
            "events_bytes": big_bytes,
            "uptime_before": info.uptime_before,
            "uptime_after": info.uptime_after,
        });
        std::fs::write(p, serde_json::to_vec_pretty(&j).map_err(|e| e.to_string())?)
            .map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(())
}
