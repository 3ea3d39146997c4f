//! The large database of `offsite-bench --large` (issue 28): ≥ 5 GiB of dump text over 56
//! tables, generated server-side with `generate_series`, deterministic for a seed.
//!
//! Size spread: `events` holds 40 % of the dump text; 55 more tables share the other 60 % by a
//! 1/k tail (the largest ≈ 13 %, the smallest ≈ 0.2 %), `accounts` among them. Five row shapes
//! (events, orders, documents, blobs, metrics) mix text, jsonb, numeric, timestamptz, bytea,
//! arrays and double precision. Every value is a function of the row number and the seed
//! (`hashint8extended(i, seed)`), never `random()`: two generations give the same rows,
//! whatever order the chunks run in. Primary keys on all tables but every 7th (a log table),
//! secondary indexes on most, four foreign keys to `accounts`.

use offsite_testkit::TestCluster;
use std::sync::Mutex;
use std::time::Instant;

/// Share of the dump text in the one big table (`--big-share` sets another).
pub const BIG_SHARE: f64 = 0.40;
/// Tail tables (besides `events`); `accounts` is one of them.
pub const TAIL_TABLES: usize = 55;
/// Rows per INSERT statement (chunks run on two sessions at once).
const CHUNK_ROWS: u64 = 400_000;

const WORDS: &[&str] = &[
    "account", "active", "amber", "anchor", "apple", "archive", "atlas", "basket", "beacon",
    "berlin", "binary", "bridge", "cache", "canvas", "carbon", "cedar", "circle", "cloud",
    "copper", "delta", "desert", "driver", "echo", "ember", "falcon", "filter", "forest", "garden",
    "gateway", "glacier", "harbor", "helium", "invoice", "island", "jasmine", "kernel", "ladder",
    "lagoon", "ledger", "lisbon", "marble", "meadow", "mirror", "nectar", "orbit", "packet",
    "pepper", "pixel", "quartz", "record", "river", "saffron", "signal", "silver", "socket",
    "summit", "tangent", "timber", "tokyo", "vector", "velvet", "window", "yellow", "zenith",
];

/// A row shape: its columns and the SELECT list that generates them from `i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Accounts,
    Events,
    Orders,
    Documents,
    Blobs,
    Metrics,
}

const TAIL_SHAPES: [Shape; 4] = [
    Shape::Orders,
    Shape::Documents,
    Shape::Blobs,
    Shape::Metrics,
];

/// One table of the plan.
#[derive(Clone, Debug)]
pub struct Table {
    pub name: String,
    pub shape: Shape,
    /// Share of the dump text it should hold.
    pub share: f64,
    pub rows: u64,
    /// Primary key on `id` (false for the log tables).
    pub pk: bool,
    /// A secondary index on its timestamp column.
    pub index: bool,
    /// A foreign key `account_id → accounts(id)`.
    pub fk: bool,
    /// Index in the seed space (distinct values per table).
    pub salt: u64,
}

/// The tables and their shares (rows are filled in by [`plan`] from the calibration).
fn layout(big_share: f64) -> Vec<Table> {
    let harmonic: f64 = (1..=TAIL_TABLES).map(|k| 1.0 / k as f64).sum();
    let mut tables = vec![Table {
        name: "events".into(),
        shape: Shape::Events,
        share: big_share,
        rows: 0,
        pk: true,
        index: true,
        fk: true,
        salt: 0,
    }];
    let mut fks = 0;
    for k in 1..=TAIL_TABLES {
        let share = (1.0 - big_share) / harmonic / k as f64;
        // accounts is the 9th largest of the tail (≈ 1.2 % of the data).
        let (name, shape) = if k == 9 {
            ("accounts".to_string(), Shape::Accounts)
        } else {
            let s = TAIL_SHAPES[k % TAIL_SHAPES.len()];
            (format!("t{k:02}_{}", shape_name(s)), s)
        };
        let fk = shape == Shape::Orders && fks < 3;
        if fk {
            fks += 1;
        }
        tables.push(Table {
            name,
            shape,
            share,
            rows: 0,
            pk: k % 7 != 0,
            index: k % 4 != 3,
            fk,
            salt: k as u64,
        });
    }
    tables
}

fn shape_name(s: Shape) -> &'static str {
    match s {
        Shape::Accounts => "accounts",
        Shape::Events => "events",
        Shape::Orders => "orders",
        Shape::Documents => "documents",
        Shape::Blobs => "blobs",
        Shape::Metrics => "metrics",
    }
}

fn create_sql(t: &Table) -> String {
    let cols = match t.shape {
        Shape::Accounts => {
            "id bigint NOT NULL, email text NOT NULL, name text NOT NULL, plan text NOT NULL, \
             balance numeric(14,2) NOT NULL, created_at timestamptz NOT NULL, settings jsonb"
        }
        Shape::Events => {
            "id bigint NOT NULL, account_id bigint NOT NULL, created_at timestamptz NOT NULL, \
             kind text NOT NULL, amount numeric(14,2), payload jsonb, note text"
        }
        Shape::Orders => {
            "id bigint NOT NULL, account_id bigint NOT NULL, status text NOT NULL, \
             total numeric(12,2) NOT NULL, currency char(3) NOT NULL, created_at timestamptz NOT NULL, \
             shipped_at timestamptz, items jsonb NOT NULL"
        }
        Shape::Documents => {
            "id bigint NOT NULL, title text NOT NULL, body text NOT NULL, tags text[] NOT NULL, \
             version integer NOT NULL, updated_at timestamptz NOT NULL"
        }
        Shape::Blobs => {
            "id bigint NOT NULL, name text NOT NULL, mime text NOT NULL, content bytea NOT NULL, \
             checksum text NOT NULL, created_at timestamptz NOT NULL"
        }
        Shape::Metrics => {
            "id bigint NOT NULL, ts timestamptz NOT NULL, host text NOT NULL, metric text NOT NULL, \
             value double precision NOT NULL, p99 numeric(10,3), labels jsonb NOT NULL"
        }
    };
    format!("CREATE TABLE {} ({cols});", t.name)
}

/// The SELECT list generating one row from `i` (a bigint) for `t`, with `seed`.
fn select_list(t: &Table, seed: u64, accounts: u64) -> String {
    let base = seed.wrapping_mul(1_000).wrapping_add(t.salt * 32) % (i64::MAX as u64);
    let u = |k: u64, n: u64| {
        format!(
            "((hashint8extended(i, {}) & 9223372036854775807) % {n})",
            base + k
        )
    };
    let w = |k: u64| format!("(W)[1 + {}]", u(k, WORDS.len() as u64));
    let ts = |k: u64| {
        format!(
            "(timestamptz '2023-01-01 00:00:00+00' + make_interval(secs => {}))",
            u(k, 63_072_000)
        )
    };
    let md5 = |k: u64| format!("md5(i::text || ':{}')", base + k);
    let acc = format!("1 + {}", u(1, accounts.max(1)));
    match t.shape {
        Shape::Accounts => format!(
            "i, {w2} || '.' || {w3} || i || '@' || {w4} || '.example', initcap({w5}) || ' ' || initcap({w6}), \
             (ARRAY['free','pro','team','enterprise'])[1 + {p}], ({bal} / 100.0)::numeric(14,2), {t7}, \
             jsonb_build_object('theme', {w8}, 'locale', (ARRAY['en','de','fr','pt','ja'])[1 + {l}], 'beta', {b} = 0)",
            w2 = w(2), w3 = w(3), w4 = w(4), w5 = w(5), w6 = w(6), p = u(7, 4), bal = u(8, 10_000_000),
            t7 = ts(9), w8 = w(10), l = u(11, 5), b = u(12, 3)
        ),
        Shape::Events => format!(
            "i, {acc}, {t2}, (ARRAY['login','logout','view','click','purchase','refund','signup','error'])[1 + {k}], \
             ({amt} / 100.0)::numeric(14,2), \
             jsonb_build_object('ip', {a} || '.' || {b} || '.' || {c} || '.' || {d}, 'page', '/' || {w1} || '/' || {n}, \
             'ms', {ms}, 'agent', (ARRAY['Mozilla/5.0 (X11; Linux x86_64)','Mozilla/5.0 (Macintosh)','curl/8.5.0','okhttp/4.12'])[1 + {ag}]), \
             {w2} || ' ' || {w3} || ' ' || {w4} || ' ' || {h}",
            t2 = ts(2), k = u(3, 8), amt = u(4, 100_000_000), a = u(5, 256), b = u(6, 256), c = u(7, 256),
            d = u(8, 256), w1 = w(9), n = u(10, 10_000), ms = u(11, 5_000), ag = u(12, 4), w2 = w(13),
            w3 = w(14), w4 = w(15), h = md5(16)
        ),
        Shape::Orders => format!(
            "i, {acc}, (ARRAY['pending','paid','shipped','delivered','cancelled'])[1 + {s}], \
             ({tot} / 100.0)::numeric(12,2), (ARRAY['EUR','USD','GBP','JPY','BRL'])[1 + {c}], {t4}, \
             CASE WHEN {sh} = 0 THEN NULL ELSE {t6} END, \
             jsonb_build_array(jsonb_build_object('sku', upper({w7}) || '-' || {n8}, 'qty', 1 + {q}, 'price', ({pr} / 100.0)), \
             jsonb_build_object('sku', upper({w10}) || '-' || {n11}, 'qty', 1 + {q2}))",
            s = u(2, 5), tot = u(3, 5_000_000), c = u(4, 5), t4 = ts(5), sh = u(6, 3), t6 = ts(7), w7 = w(8),
            n8 = u(9, 1000), q = u(10, 9), pr = u(11, 100_000), w10 = w(12), n11 = u(13, 1000), q2 = u(14, 4)
        ),
        Shape::Documents => format!(
            "i, initcap({w1}) || ' ' || {w2} || ' ' || {w3}, \
             repeat({w4} || ' ' || {w5} || ' ' || {w6} || ' ' || {w7} || ', ', (2 + {r})::int) || {h}, \
             ARRAY[{w8}, {w9}, {w10}], 1 + {v}, {t11}",
            w1 = w(1), w2 = w(2), w3 = w(3), w4 = w(4), w5 = w(5), w6 = w(6), w7 = w(7), r = u(12, 14),
            h = md5(13), w8 = w(8), w9 = w(9), w10 = w(10), v = u(11, 40), t11 = ts(14)
        ),
        Shape::Blobs => format!(
            "i, {w1} || '_' || i || (ARRAY['.png','.jpg','.pdf','.bin'])[1 + {e}], \
             (ARRAY['image/png','image/jpeg','application/pdf','application/octet-stream'])[1 + {e}], \
             decode(repeat({h}, (1 + {r})::int), 'hex'), {h2}, {t}",
            w1 = w(1), e = u(2, 4), h = md5(3), r = u(4, 12), h2 = md5(5), t = ts(6)
        ),
        Shape::Metrics => format!(
            "i, {t1}, 'host-' || {hst} || '.' || {w3} || '.internal', \
             (ARRAY['cpu.user','cpu.system','mem.used','disk.read','disk.write','net.rx','net.tx'])[1 + {m}], \
             {v}::double precision / 1000.0, ({p} / 1000.0)::numeric(10,3), \
             jsonb_build_object('region', (ARRAY['eu-west-1','us-east-1','ap-northeast-1'])[1 + {rg}], 'env', {w6})",
            t1 = ts(1), hst = u(2, 200), w3 = w(3), m = u(4, 7), v = u(5, 10_000_000), p = u(6, 10_000_000),
            rg = u(7, 3), w6 = w(8)
        ),
    }
}

/// The word list as a scalar sub-select (an InitPlan: evaluated once per statement).
fn words_literal() -> String {
    let list: Vec<String> = WORDS.iter().map(|w| format!("'{w}'")).collect();
    format!("(SELECT ARRAY[{}]::text[])", list.join(","))
}

fn insert_sql(t: &Table, seed: u64, accounts: u64, lo: u64, hi: u64) -> String {
    let sel = select_list(t, seed, accounts).replace("(W)", &words_literal());
    format!(
        "INSERT INTO {} SELECT {sel} FROM generate_series({lo}::bigint, {hi}::bigint) i;",
        t.name
    )
}

/// Bytes of COPY text per row of each shape, from a sample of 20,000 generated rows.
fn calibrate(pg: &TestCluster, db: &str, seed: u64) -> Result<Vec<(Shape, f64)>, String> {
    let mut out = Vec::new();
    let mut seen: Vec<Shape> = Vec::new();
    for t in layout(BIG_SHARE) {
        if seen.contains(&t.shape) {
            continue;
        }
        seen.push(t.shape);
        let sel = select_list(&t, seed, 1000).replace("(W)", &words_literal());
        let copy = format!(
            "COPY (SELECT {sel} FROM generate_series(1::bigint, 20000::bigint) i) TO STDOUT;"
        );
        let text = pg.try_psql(db, &copy)?;
        let per_row = (text.len() as f64 + 1.0) / 20_000.0;
        out.push((t.shape, per_row));
    }
    Ok(out)
}

/// The tables with their row counts for `target` bytes of dump text.
pub fn plan(
    pg: &TestCluster,
    db: &str,
    seed: u64,
    target: f64,
    big_share: f64,
) -> Result<Vec<Table>, String> {
    let per_row = calibrate(pg, db, seed)?;
    let mut tables = layout(big_share);
    for t in &mut tables {
        let bytes = per_row
            .iter()
            .find(|(s, _)| *s == t.shape)
            .map(|(_, b)| *b)
            .ok_or("calibration lost a shape")?;
        t.rows = ((t.share * target / bytes).ceil() as u64).max(100);
    }
    Ok(tables)
}

/// Creates and fills the tables of `plan` in `db` on two sessions at once, then builds the
/// indexes and foreign keys and runs VACUUM ANALYZE (hint bits set before the first dump).
pub fn generate(pg: &TestCluster, db: &str, seed: u64, tables: &[Table]) -> Result<f64, String> {
    let t0 = Instant::now();
    let accounts = tables
        .iter()
        .find(|t| t.shape == Shape::Accounts)
        .map_or(1, |t| t.rows);
    let ddl: Vec<String> = tables.iter().map(create_sql).collect();
    pg.try_psql(db, &ddl.join("\n"))?;
    // Chunks, the biggest tables first so both sessions stay busy to the end.
    let mut order: Vec<&Table> = tables.iter().collect();
    order.sort_by_key(|b| std::cmp::Reverse(b.rows));
    let mut work: Vec<String> = Vec::new();
    for t in &order {
        let mut lo = 1;
        while lo <= t.rows {
            let hi = (lo + CHUNK_ROWS - 1).min(t.rows);
            work.push(insert_sql(t, seed, accounts, lo, hi));
            lo = hi + 1;
        }
    }
    let total = work.len();
    eprintln!(
        "  {} tables, {total} INSERT chunks on 2 sessions…",
        tables.len()
    );
    run_parallel(pg, db, work, 2, "filling")?;
    eprintln!("  filled in {:.0} s", t0.elapsed().as_secs_f64());

    let mut post: Vec<String> = Vec::new();
    for t in &order {
        let mut s = String::new();
        if t.pk {
            s += &format!(
                "ALTER TABLE {0} ADD CONSTRAINT {0}_pkey PRIMARY KEY (id);",
                t.name
            );
        }
        if t.index {
            let col = match t.shape {
                Shape::Metrics => "ts",
                Shape::Documents => "updated_at",
                _ => "created_at",
            };
            s += &format!("CREATE INDEX {0}_{col}_idx ON {0} ({col});", t.name);
        }
        if t.shape == Shape::Events {
            s += "CREATE INDEX events_account_id_idx ON events (account_id);";
        }
        if t.shape == Shape::Accounts {
            s += "CREATE UNIQUE INDEX accounts_email_key ON accounts (email);";
        }
        post.push(s);
    }
    run_parallel(pg, db, post, 2, "indexes")?;
    let fks: Vec<String> = order
        .iter()
        .filter(|t| t.fk)
        .map(|t| {
            format!(
                "ALTER TABLE {0} ADD CONSTRAINT {0}_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id);",
                t.name
            )
        })
        .collect();
    run_parallel(pg, db, fks, 2, "foreign keys")?;
    let vac: Vec<String> = order
        .iter()
        .map(|t| format!("VACUUM ANALYZE {};", t.name))
        .collect();
    run_parallel(pg, db, vac, 2, "vacuum")?;
    pg.try_psql("postgres", "CHECKPOINT")?;
    Ok(t0.elapsed().as_secs_f64())
}

/// Runs the statements on `sessions` psql processes at once, in order of the list.
fn run_parallel(
    pg: &TestCluster,
    db: &str,
    work: Vec<String>,
    sessions: usize,
    what: &str,
) -> Result<(), String> {
    let total = work.len();
    let queue = Mutex::new(work.into_iter().enumerate().collect::<Vec<_>>());
    queue.lock().map_err(|_| "poisoned")?.reverse();
    let failed: Mutex<Option<String>> = Mutex::new(None);
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..sessions {
            s.spawn(|| loop {
                if failed.lock().map(|f| f.is_some()).unwrap_or(true) {
                    return;
                }
                let Some((n, sql)) = queue.lock().ok().and_then(|mut q| q.pop()) else {
                    return;
                };
                if let Err(e) = pg.try_psql(db, &sql) {
                    if let Ok(mut f) = failed.lock() {
                        *f = Some(format!("{what}: {e}"));
                    }
                    return;
                }
                if (n + 1) % 20 == 0 || n + 1 == total {
                    eprintln!(
                        "    {what}: {}/{total} ({:.0} s)",
                        n + 1,
                        t0.elapsed().as_secs_f64()
                    );
                }
            });
        }
    });
    match failed.into_inner().map_err(|_| "poisoned")? {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
