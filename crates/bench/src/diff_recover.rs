//! `--diff` and `--recover` (issue 45, item 5): the two row-level operations against a full
//! restore of the same backup, with the floor printed beside them.
//!
//! **`--diff`**: the large dataset is backed up (A); 1 % of `orders`' rows are changed, 0.1 %
//! removed and 0.2 % added; it is backed up again (B). Per run: `offsite diff A B --json`
//! (timed; its `bytes_read` and per-table statuses are checked: `orders` changed with the
//! expected counts, every other table identical by digest) against `pg_restore -j N` of B's
//! dump (extracted once, not timed) into an empty database. The floor: reading `orders`' COPY
//! lines out of both archives in this process (decompression and line splitting, nothing
//! else). Targets: bytes read ≤ 1.1 × `orders`' COPY bytes in A and B together (the archive's
//! manifest sizes), time ≤ 0.2 × the full restore.
//!
//! **`--recover`**: a multi-tenant database of `--tenant-mb` MiB of COPY text over ten tables
//! ([`crate::tenants_gen`]) is backed up. Per run: a copy of it (`CREATE DATABASE … TEMPLATE`,
//! not timed) loses one tenant (1 % of the rows of every table); `offsite recover ARCHIVE
//! --table public.tenants --where id=T --children --to URL --yes --json` brings it back
//! (timed, with the offsite process's own peak RSS, `VmHWM`); the tenant's rows are then
//! checked equal to the source's (an md5 over every table's rows). Against `pg_restore -j N`
//! of the same backup's dump into an empty database. The floor: reading every table's COPY
//! lines out of the archive in this process. Targets: time ≤ 0.5 × the full restore, peak RSS
//! of `offsite` ≤ 64 MiB.
//!
//! Every measurement line carries the load average (2 shared cores: say what else ran).

use crate::measure::{self, Measured};
use crate::report::{runs_table, verdict_table, Results, Verdict};
use crate::tenants_gen::{self, Counts};
use crate::{json_of, loadavg, mib, settle, Offsite};
use offsite_testkit::TestCluster;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// The table `--diff` changes.
const DIFF_TABLE: &str = "orders";
/// The tenant `--recover` deletes and brings back.
const TENANT: u64 = 42;

/// What both modes need.
pub(crate) struct RowBench<'a> {
    pub offsite: &'a Offsite<'a>,
    pub pg: &'a TestCluster,
    pub work: &'a Path,
    pub runs: usize,
    /// `pg_restore -j`.
    pub jobs: u32,
}

/// One archive: its backup id, path, and its dump extracted once for the peer.
struct Backup {
    id: String,
    path: PathBuf,
    /// The extracted directory-format dump (`toc.dat` inside), for `pg_restore`.
    dump_dir: PathBuf,
}

impl RowBench<'_> {
    /// `offsite backup PROJECT` (not timed), and its dump extracted for the peer.
    fn backup(&self, project: &str, tag: &str) -> Result<Backup, String> {
        let mut c = self.offsite.cmd();
        c.args(["backup", project, "--dest"])
            .arg(self.work.join(format!("{tag}-archive")));
        let m = measure::run(&mut c, None)?.check("offsite backup")?;
        let v = json_of(&m, "offsite backup")?;
        let id = v["id"].as_str().ok_or("offsite backup: no \"id\"")?;
        let path = PathBuf::from(v["path"].as_str().ok_or("offsite backup: no \"path\"")?);
        let dest = self.work.join(format!("{tag}-extracted"));
        offsite_core::archive::extract_all(&path, &dest, &CancellationToken::new())
            .map_err(|e| format!("extracting {}: {e}", path.display()))?;
        let dump_dir = find_toc(&dest)?;
        Ok(Backup {
            id: id.to_string(),
            path,
            dump_dir,
        })
    }

    /// `pg_restore -j N` of `b`'s dump into a new empty database `db` (dropped first and after).
    fn full_restore(&self, b: &Backup, db: &str) -> Result<Measured, String> {
        self.pg
            .try_psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"))?;
        self.pg
            .try_psql("postgres", &format!("CREATE DATABASE {db}"))?;
        settle(self.pg);
        let mut c = self.pg.command(self.pg.bin_dir().join("pg_restore"));
        c.args(["--no-owner", "--exit-on-error", "-j"])
            .arg(self.jobs.to_string())
            .args(["-d", db])
            .arg(&b.dump_dir);
        let m = measure::run(&mut c, None)?.check("pg_restore (full restore)")?;
        self.pg
            .try_psql("postgres", &format!("DROP DATABASE {db}"))?;
        Ok(m)
    }
}

/// The folder under `dir` holding `toc.dat`.
fn find_toc(dir: &Path) -> Result<PathBuf, String> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if d.join("toc.dat").is_file() {
            return Ok(d);
        }
        for e in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let p = e.map_err(|e| e.to_string())?.path();
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    Err(format!(
        "{}: the archive holds no directory-format dump (no toc.dat)",
        dir.display()
    ))
}

/// Reads every row line of `tables` out of `archive` in this process, doing nothing with
/// them: the cost of decompressing and splitting the dump's COPY data. Returns (seconds,
/// bytes of COPY text, rows).
fn read_floor(archive: &Path, tables: &[&str]) -> Result<(f64, u64, u64), String> {
    let t0 = Instant::now();
    let (mut bytes, mut rows) = (0u64, 0u64);
    let cancel = CancellationToken::new();
    for t in tables {
        rows += offsite_core::browse::for_each_row_line(
            archive,
            "public",
            t,
            &cancel,
            &mut |_| Ok(()),
            &mut |line| {
                bytes += line.len() as u64 + 1;
                Ok(())
            },
        )
        .map_err(|e| format!("reading {t} from {}: {e}", archive.display()))?;
    }
    Ok((t0.elapsed().as_secs_f64(), bytes, rows))
}

/// The COPY text size of `table` as the archive's manifest records it.
fn table_bytes(archive: &Path, table: &str) -> Result<u64, String> {
    let listed = offsite_core::browse::list_tables(archive, &CancellationToken::new())
        .map_err(|e| format!("listing {}: {e}", archive.display()))?;
    listed
        .tables
        .iter()
        .find(|t| t.schema == "public" && t.name == table)
        .and_then(|t| t.data_bytes)
        .ok_or_else(|| format!("{}: no data size recorded for {table}", archive.display()))
}

/// `offsite` itself, or under `perf record` when `OFFSITE_BENCH_PERF_DIR` names a folder (a
/// profile per command, `NAME.perf`; times and RSS are then perf's, not for the tables).
fn offsite_cmd(o: &Offsite<'_>, name: &str) -> Command {
    let c = o.cmd();
    let Some(dir) = std::env::var_os("OFFSITE_BENCH_PERF_DIR") else {
        return c;
    };
    let mut p = o.pg.command("perf");
    p.envs(c.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))));
    for k in c.get_envs().filter(|(_, v)| v.is_none()).map(|(k, _)| k) {
        p.env_remove(k);
    }
    p.args(["record", "-F", "499", "-g", "-o"])
        .arg(Path::new(&dir).join(format!("{name}.perf")))
        .arg("--")
        .arg(c.get_program())
        .args(c.get_args());
    p
}

fn line(run: usize, what: &str, m: &Measured) {
    eprintln!(
        "  run {run}: {what:<34} {:7.2} s  peak RSS {:.1} MiB (own), {:.1} MiB (wait4)  load {}",
        m.secs(),
        m.own_hwm_kib.unwrap_or(0) as f64 / 1024.0,
        m.maxrss_kib as f64 / 1024.0,
        loadavg()
    );
}

/// `--diff` (see the module's description).
pub(crate) fn run_diff(b: &RowBench<'_>) -> Result<(), String> {
    eprintln!("diff bench: backing the large dataset up (A)…");
    let a = b.backup("bench", "diff-a")?;
    let expect = change_orders(b.pg)?;
    eprintln!(
        "diff bench: {DIFF_TABLE}: {} rows changed, {} removed, {} added; backing up again (B)…",
        expect.0, expect.1, expect.2
    );
    let bb = b.backup("bench", "diff-b")?;
    let table_bytes_ab = table_bytes(&a.path, DIFF_TABLE)? + table_bytes(&bb.path, DIFF_TABLE)?;
    let mut r = Results::default();
    let mut bytes_read = 0u64;
    for run in 1..=b.runs {
        settle(b.pg);
        let (fs, fbytes, _) = read_floor(&a.path, &[DIFF_TABLE])?;
        let (ts, tbytes, _) = read_floor(&bb.path, &[DIFF_TABLE])?;
        eprintln!(
            "  run {run}: floor: {DIFF_TABLE} read from A and B   {:7.2} s  ({:.1} MiB of COPY text)  load {}",
            fs + ts,
            mib(fbytes + tbytes),
            loadavg()
        );
        r.add(
            "floor",
            &format!("floor: read {DIFF_TABLE} from A and B"),
            "s",
            fs + ts,
        );
        let peer_first = run % 2 == 1;
        for peer in [peer_first, !peer_first] {
            if peer {
                let m = b.full_restore(&bb, "diff_full_restore")?;
                line(run, "full restore (pg_restore -j of B)", &m);
                r.add("full", "full restore: pg_restore of B", "s", m.secs());
            } else {
                settle(b.pg);
                let mut c = offsite_cmd(b.offsite, &format!("diff-{run}"));
                c.args(["diff", &a.id, &bb.id]);
                let m = measure::run(&mut c, None)?.check("offsite diff")?;
                line(run, "offsite diff A B", &m);
                bytes_read = check_diff(&json_of(&m, "offsite diff")?, expect)?;
                r.add("diff", "offsite diff A B", "s", m.secs());
                r.add(
                    "diff_rss",
                    "offsite diff peak RSS (own)",
                    "MiB",
                    m.own_hwm_kib.unwrap_or(0) as f64 / 1024.0,
                );
            }
        }
    }
    let (t_full, t_diff, t_floor) = (
        r.median("full").unwrap_or(f64::NAN),
        r.median("diff").unwrap_or(f64::NAN),
        r.median("floor").unwrap_or(f64::NAN),
    );
    println!("\n## offsite diff: one table changed, against a full restore\n");
    println!(
        "{DIFF_TABLE}: {:.1} MiB of COPY text in A and B together (manifest); `pg_restore -j {}` of B's dump; load at the end {}\n",
        mib(table_bytes_ab),
        b.jobs,
        loadavg()
    );
    println!("{}", runs_table(&r, b.runs));
    let verdicts = [
        Verdict::at_most(
            "bytes read vs the changed table's COPY text (A + B)",
            format!("{:.1} / {:.1} MiB", mib(bytes_read), mib(table_bytes_ab)),
            bytes_read as f64 / table_bytes_ab as f64,
            1.1,
            "diff's bytes_read",
        ),
        Verdict::at_most(
            "diff vs full restore (t_diff / t_restore)",
            format!("{t_diff:.2} s / {t_full:.2} s"),
            t_diff / t_full,
            0.2,
            &format!(
                "floor {:.2} s = {:.2} of the restore",
                t_floor,
                t_floor / t_full
            ),
        ),
    ];
    println!("{}", verdict_table(&verdicts));
    Ok(())
}

/// Changes 1 % of `orders`' rows, removes 0.1 % and adds 0.2 %; returns those counts.
fn change_orders(pg: &TestCluster) -> Result<(u64, u64, u64), String> {
    let n = |s: String| s.trim().parse::<u64>().map_err(|e| format!("{s:?}: {e}"));
    let changed = n(pg.try_psql(
        "bench_large",
        "WITH u AS (UPDATE orders SET amount = amount + 1, notes = 'changed for the diff bench'
                     WHERE id % 100 = 0 RETURNING 1) SELECT count(*) FROM u",
    )?)?;
    let removed = n(pg.try_psql(
        "bench_large",
        "WITH d AS (DELETE FROM orders WHERE id % 1000 = 7 RETURNING 1) SELECT count(*) FROM d",
    )?)?;
    let added = n(pg.try_psql(
        "bench_large",
        "WITH i AS (INSERT INTO orders (user_id, amount, status, notes)
                    SELECT user_id, amount, 'pending', 'added for the diff bench' FROM orders
                     WHERE id % 500 = 3 RETURNING 1) SELECT count(*) FROM i",
    )?)?;
    Ok((changed, removed, added))
}

/// Checks the diff's report: the changed table with the expected counts, every other table
/// identical by digest. Returns its `bytes_read`.
fn check_diff(
    v: &serde_json::Value,
    (changed, removed, added): (u64, u64, u64),
) -> Result<u64, String> {
    let tables = v["tables"]
        .as_array()
        .ok_or("offsite diff: no \"tables\"")?;
    for t in tables {
        let name = t["table"].as_str().unwrap_or_default();
        if name == DIFF_TABLE {
            let got = (
                t["changed"].as_u64(),
                t["removed"].as_u64(),
                t["added"].as_u64(),
            );
            if got != (Some(changed), Some(removed), Some(added)) || t["status"] != "changed" {
                return Err(format!(
                    "offsite diff: {DIFF_TABLE} should be changed with ({changed}, {removed}, {added}) \
                     rows changed, removed, added: {t}"
                ));
            }
        } else if t["status"] != "identical" || t["compared_by"] != "digest" {
            return Err(format!(
                "offsite diff: {name} should be identical by its digest: {t}"
            ));
        }
    }
    v["bytes_read"]
        .as_u64()
        .ok_or_else(|| "offsite diff: no \"bytes_read\"".into())
}

/// `--recover` (see the module's description).
pub(crate) fn run_recover(b: &RowBench<'_>, tenant_mb: u64, tenants: u64) -> Result<(), String> {
    let counts = Counts::for_mib(tenant_mb, tenants);
    eprintln!(
        "recover bench: generating {} rows over ten tables, {} tenants (≈ {tenant_mb} MiB of COPY text)…",
        counts.total_rows(),
        counts.tenants
    );
    let t0 = Instant::now();
    tenants_gen::generate(b.pg, "bench_tenants", &counts)?;
    eprintln!("  in {:.0} s", t0.elapsed().as_secs_f64());
    let mut c = b.offsite.cmd();
    c.args([
        "project",
        "add",
        "tenants",
        "--db",
        &b.offsite.url("bench_tenants"),
    ]);
    measure::run(&mut c, None)?.check("offsite project add tenants")?;
    let tenant = TENANT.min(counts.tenants);
    let want_rows = count(
        b.pg,
        "bench_tenants",
        &tenants_gen::tenant_rows_sql(tenant, counts.tenants),
    )?;
    let want_digest = b.pg.try_psql(
        "bench_tenants",
        &tenants_gen::tenant_digest_sql(tenant, counts.tenants),
    )?;
    eprintln!("recover bench: backing it up…");
    let bk = b.backup("tenants", "tenants")?;
    let names: Vec<&str> = tenants_gen::TABLES.iter().map(|(t, _)| *t).collect();
    let mut dump_bytes = 0;
    for t in &names {
        dump_bytes += table_bytes(&bk.path, t)?;
    }
    eprintln!(
        "  archive {:.1} MiB, {:.1} MiB of COPY text; tenant {tenant}: {want_rows} of {} rows",
        mib(crate::file_size(&bk.path)?),
        mib(dump_bytes),
        counts.total_rows()
    );
    let mut r = Results::default();
    for run in 1..=b.runs {
        settle(b.pg);
        let (secs, bytes, rows) = read_floor(&bk.path, &names)?;
        eprintln!(
            "  run {run}: floor: every table read            {secs:7.2} s  ({:.1} MiB, {rows} rows)  load {}",
            mib(bytes),
            loadavg()
        );
        r.add("floor", "floor: read every table's COPY lines", "s", secs);
        let peer_first = run % 2 == 1;
        for peer in [peer_first, !peer_first] {
            if peer {
                let m = b.full_restore(&bk, "tenants_full_restore")?;
                line(run, "full restore (pg_restore -j)", &m);
                r.add(
                    "full",
                    "full restore: pg_restore of the backup",
                    "s",
                    m.secs(),
                );
            } else {
                let m = recover_once(b, &bk, tenant, counts.tenants, want_rows, &want_digest)?;
                line(run, "offsite recover --children", &m);
                r.add(
                    "recover",
                    "offsite recover one tenant --children",
                    "s",
                    m.secs(),
                );
                r.add(
                    "rss",
                    "offsite recover peak RSS (own VmHWM)",
                    "MiB",
                    m.own_hwm_kib.unwrap_or(0) as f64 / 1024.0,
                );
            }
        }
    }
    let med = |k: &str| r.median(k).unwrap_or(f64::NAN);
    println!("\n## offsite recover: one tenant with --children, against a full restore\n");
    println!(
        "{:.1} MiB of COPY text in ten tables, {} rows; tenant {tenant} of {}: {want_rows} rows; `pg_restore -j {}`; load at the end {}\n",
        mib(dump_bytes),
        counts.total_rows(),
        counts.tenants,
        b.jobs,
        loadavg()
    );
    println!("{}", runs_table(&r, b.runs));
    let verdicts = [
        Verdict::at_most(
            "recover vs full restore (t_recover / t_restore)",
            format!("{:.2} s / {:.2} s", med("recover"), med("full")),
            med("recover") / med("full"),
            0.5,
            &format!(
                "floor {:.2} s = {:.2} of the restore",
                med("floor"),
                med("floor") / med("full")
            ),
        ),
        Verdict::at_most(
            "peak RSS of offsite recover",
            format!("{:.1} MiB", med("rss")),
            med("rss") / 64.0,
            1.0,
            "of 64 MiB",
        ),
    ];
    println!("{}", verdict_table(&verdicts));
    Ok(())
}

fn count(pg: &TestCluster, db: &str, sql: &str) -> Result<u64, String> {
    let s = pg.try_psql(db, sql)?;
    s.trim().parse().map_err(|e| format!("{s:?}: {e}"))
}

/// One recovery into a fresh copy of the database that lost the tenant; checks the outcome.
fn recover_once(
    b: &RowBench<'_>,
    bk: &Backup,
    tenant: u64,
    tenants: u64,
    want_rows: u64,
    want_digest: &str,
) -> Result<Measured, String> {
    let db = "tenants_target";
    b.pg.try_psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"))?;
    b.pg.try_psql(
        "postgres",
        &format!("CREATE DATABASE {db} TEMPLATE bench_tenants"),
    )?;
    b.pg.try_psql(db, &tenants_gen::delete_tenant_sql(tenant, tenants))?;
    b.pg.try_psql(db, "VACUUM ANALYZE")?;
    settle(b.pg);
    let mut c = offsite_cmd(b.offsite, "recover");
    c.args(["recover"])
        .arg(&bk.path)
        .args(["--table", "public.tenants", "--where"])
        .arg(format!("id={tenant}"))
        .args(["--children", "--yes", "--to", &b.offsite.url(db)]);
    let m = measure::run(&mut c, None)?.check("offsite recover")?;
    let v = json_of(&m, "offsite recover")?;
    let inserted: u64 = v["tables"]
        .as_array()
        .ok_or("offsite recover: no \"tables\"")?
        .iter()
        .filter_map(|t| t["insert"].as_u64())
        .sum();
    let got = count(b.pg, db, &tenants_gen::tenant_rows_sql(tenant, tenants))?;
    let digest =
        b.pg.try_psql(db, &tenants_gen::tenant_digest_sql(tenant, tenants))?;
    if inserted != want_rows || got != want_rows || digest != want_digest {
        return Err(format!(
            "offsite recover: tenant {tenant} should have {want_rows} rows back as in the source: \
             {inserted} inserted, {got} there, digest {}",
            if digest == want_digest {
                "equal"
            } else {
                "different"
            }
        ));
    }
    b.pg.try_psql("postgres", &format!("DROP DATABASE {db}"))?;
    Ok(m)
}
