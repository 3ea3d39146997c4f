//! The full suite's report: the text table on stdout, the JSON file, and the verdicts.

use crate::args::Args;
use crate::dataset::Dataset;
use crate::report::{self, Results, Verdict};
use crate::setup::Datasets;
use crate::{cpu_model, loadavg, mib};
use serde_json::json;
use std::io::Write;
use std::time::Instant;

/// What the report says besides the measurements.
pub struct Context<'a> {
    pub args: &'a Args,
    pub pg_version: &'a str,
    pub data: &'a Datasets,
    pub notes: &'a [String],
    pub t_all: Instant,
    pub load_start: &'a str,
}

/// Prints the report and, with --json-out, writes the JSON.
pub fn print(cx: &Context, r: &Results) -> Result<(), String> {
    let args = cx.args;
    let (large, small) = (&cx.data.large, &cx.data.small);
    let verdicts = verdicts(r, args.raw_only);
    let mut text = String::new();
    text.push_str(&format!(
        "\n## offsite-bench: {} runs, large dataset {:.1} MiB of pg_dump -Fp text{}\n\n",
        args.runs,
        mib(large.dump_bytes),
        small
            .as_ref()
            .map(|s| format!(", small dataset {:.1} MiB", mib(s.dump_bytes)))
            .unwrap_or_default()
    ));
    text.push_str(&format!(
        "PostgreSQL {} (throwaway cluster, fsync=off), {} × {}, warm page cache (caches cannot be dropped here); \
         `sync` + CHECKPOINT before every timed step. MiB = 2^20 bytes.\n",
        cx.pg_version,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        cpu_model()
    ));
    for d in std::iter::once(large).chain(small.iter()) {
        text.push_str(&describe(d));
    }
    for n in cx.notes {
        text.push_str(&format!("- {n}\n"));
    }
    if !verdicts.is_empty() {
        text.push_str("\n### Targets (ratios of medians)\n\n");
        text.push_str(&report::verdict_table(&verdicts));
    }
    text.push_str("\n### All runs\n\n");
    text.push_str(&report::runs_table(r, args.runs));
    text.push_str(&format!(
        "\ntotal bench time: {:.0} s; load average at start {}, at end {} (other work on the machine skews timings)\n",
        cx.t_all.elapsed().as_secs_f64(),
        cx.load_start,
        loadavg()
    ));
    println!("{text}");
    let _ = std::io::stdout().flush();

    if let Some(path) = &args.json_out {
        let doc = json!({
            "size_mb_target": args.size_mb,
            "runs": args.runs,
            "raw_only": args.raw_only,
            "postgres_version": cx.pg_version,
            "cpu": cpu_model(),
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "cache": "warm (page cache not dropped); sync + CHECKPOINT before each timed step",
            "datasets": { "large": large, "small": small },
            "notes": cx.notes,
            "series": r.series,
            "targets": verdicts,
            "total_secs": cx.t_all.elapsed().as_secs_f64(),
            "loadavg": { "start": cx.load_start, "end": loadavg() },
        });
        std::fs::write(
            path,
            serde_json::to_string_pretty(&doc).expect("serializable") + "\n",
        )
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
        eprintln!("results written to {}", path.display());
    }
    Ok(())
}

fn describe(d: &Dataset) -> String {
    format!(
        "- `{}`: {:.1} MiB dump text, {:.1} MiB database; {} users, {} orders, {} events (generated in {:.0} s)\n",
        d.db,
        mib(d.dump_bytes),
        mib(d.db_bytes),
        d.rows.users,
        d.rows.orders,
        d.rows.events + d.extra_events,
        d.generate_secs
    )
}
pub fn verdicts(r: &Results, raw_only: bool) -> Vec<Verdict> {
    let mut v = Vec::new();
    if raw_only {
        return v;
    }
    let m = |k: &str| r.median(k).unwrap_or(f64::NAN);
    let (fp, fc, off) = (m("fp_secs"), m("fc_secs"), m("off_secs"));
    v.push(Verdict::at_least(
        "backup speed vs pg_dump -Fp",
        format!("{fp:.2} s / {off:.2} s"),
        fp / off,
        0.9,
        "t_fp / t_offsite",
    ));
    v.push(Verdict::at_least(
        "backup speed vs pg_dump -Fc",
        format!("{fc:.2} s / {off:.2} s"),
        fc / off,
        3.0,
        "t_fc / t_offsite",
    ));
    let (sz_off, sz_fc) = (m("off_mib"), m("fc_mib"));
    v.push(Verdict::at_most(
        "archive size vs pg_dump -Fc file",
        format!("{sz_off:.1} MiB / {sz_fc:.1} MiB"),
        sz_off / sz_fc,
        1.2,
        "",
    ));
    let (pgr, offr) = (m("pgr_secs"), m("offr_secs"));
    v.push(Verdict::at_least(
        "restore speed vs pg_restore",
        format!("{pgr:.2} s / {offr:.2} s"),
        pgr / offr,
        0.9,
        "t_pg_restore / t_offsite",
    ));
    let (va, sa) = (m("verify_mibps"), m("sha_arch_mibps"));
    v.push(Verdict::at_least(
        "verify vs sha256sum, same archive",
        format!("{va:.0} / {sa:.0} MiB/s"),
        va / sa,
        3.0,
        "archive bytes/s",
    ));
    let (vd, sf) = (m("verify_data_mibps"), m("sha_fp_mibps"));
    v.push(Verdict::at_least(
        "verify vs sha256sum, data bytes",
        format!("{vd:.0} / {sf:.0} MiB/s"),
        vd / sf,
        3.0,
        "uncompressed member bytes/s vs sha256sum of the -Fp dump",
    ));
    if r.median("agent_secs").is_some() {
        let agent = m("agent_secs");
        v.push(Verdict::at_least(
            "agent's backup speed vs the local CLI's",
            format!("{off:.2} s / {agent:.2} s"),
            off / agent,
            1.0,
            "t_cli / t_agent (same database, same machine)",
        ));
    }
    let (rl, rs) = (m("off_rss"), m("small_rss"));
    v.push(Verdict::at_most(
        "peak RSS, large dataset",
        format!("{rl:.1} MiB"),
        rl / 64.0,
        1.0,
        "vs 64 MiB",
    ));
    v.push(Verdict::at_most(
        "peak RSS, small dataset",
        format!("{rs:.1} MiB"),
        rs / 64.0,
        1.0,
        "vs 64 MiB",
    ));
    v.push(Verdict::at_most(
        "peak RSS flat across sizes",
        format!("{rl:.1} / {rs:.1} MiB"),
        rl / rs,
        1.2,
        "large / small; flat = within 20 %",
    ));
    v
}
