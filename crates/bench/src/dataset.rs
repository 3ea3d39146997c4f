//! The benchmark's dataset: a small shop (users, orders, events) with mixed types, generated
//! server-side with `generate_series` and md5/random-derived values, scaled to a target size of
//! plain-format dump text.
//!
//! One "unit" is 1 000 users, 4 000 orders and 3 000 events. A small calibration database gives
//! the dump bytes per unit; the real databases are generated with enough units to reach the
//! target (+3 %), then measured with `pg_dump -Fp`, and topped up with more events if short.

use crate::measure;
use offsite_testkit::TestCluster;
use std::path::Path;
use std::time::Instant;

pub const USERS_PER_UNIT: u64 = 1_000;
pub const ORDERS_PER_UNIT: u64 = 4_000;
pub const EVENTS_PER_UNIT: u64 = 3_000;

const FIRST_NAMES: &[&str] = &[
    "Alice", "Bruno", "Chloé", "David", "Emma", "Farid", "Grace", "Hiroshi", "Ines", "Jonas",
    "Kateryna", "Liam", "Maya", "Noah", "Olivia", "Pedro", "Quinn", "Rosa", "Sven", "Tariq", "Uma",
    "Victor", "Wen", "Ximena", "Yusuf", "Zoe", "Amara", "Björn", "Carmen", "Dmitri", "Elif",
    "Fatima", "Giulia", "Hana", "Ivan", "José", "Kofi", "Lena", "Mateo", "Nia",
];
const LAST_NAMES: &[&str] = &[
    "Smith",
    "Müller",
    "Garcia",
    "Rossi",
    "Nguyen",
    "Kowalski",
    "Johansson",
    "Okafor",
    "Tanaka",
    "Silva",
    "Dubois",
    "Novak",
    "Hansen",
    "Yilmaz",
    "Kim",
    "Patel",
    "O'Brien",
    "van Dijk",
    "Fernández",
    "Ivanova",
    "Schmidt",
    "Costa",
    "Moreau",
    "Horvat",
    "Lindqvist",
    "Mensah",
    "Sato",
    "Andersen",
    "Popescu",
    "Cohen",
];
const DOMAINS: &[&str] = &[
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "proton.me",
    "icloud.com",
    "fastmail.com",
    "example.org",
    "acme.io",
    "hey.com",
    "web.de",
    "orange.fr",
    "company.co.uk",
];
const CITIES: &[&str] = &[
    "Berlin",
    "Lisbon",
    "Zürich",
    "Tokyo",
    "São Paulo",
    "Lagos",
    "Toronto",
    "Melbourne",
    "Kraków",
    "Austin",
    "Lyon",
    "Seoul",
    "Nairobi",
    "Oslo",
    "Dublin",
    "Mumbai",
    "Mexico City",
    "Tallinn",
    "Cape Town",
    "Vancouver",
];
const TAGS: &[&str] = &[
    "vip",
    "newsletter",
    "beta",
    "churn-risk",
    "wholesale",
    "b2b",
    "student",
    "referral",
    "early-adopter",
    "support",
    "gift",
    "mobile",
    "desktop",
    "eu",
    "us",
    "apac",
    "trial",
    "annual",
    "monthly",
    "partner",
];
const LOCALES: &[&str] = &[
    "en-US", "en-GB", "de-DE", "fr-FR", "pt-BR", "ja-JP", "es-ES", "pl-PL", "sv-SE", "ko-KR",
];
const KINDS: &[&str] = &[
    "page_view",
    "page_view",
    "page_view",
    "click",
    "click",
    "search",
    "add_to_cart",
    "checkout",
    "purchase",
    "login",
    "logout",
    "signup",
    "share",
    "review",
    "error",
];
const PATHS: &[&str] = &[
    "products", "cart", "search", "account", "blog", "help", "checkout", "orders", "wishlist",
];
const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36",
    "curl/8.5.0",
];
/// Varied-length free text is cut out of this (a few non-ASCII characters included).
const LOREM: &str = "Please leave the parcel with the neighbour if nobody answers. The last delivery arrived \
damaged, so extra padding would be appreciated. Customer asked whether the blue variant will be back in stock \
before the holidays; promised an email. Gift wrap requested — no price tag inside, please. Address changed after \
checkout: Straße 12, 3. OG, 80331 München. Invoice must show the VAT number of the company, not the private name. \
Called support twice about the tracking link, which showed “label created” for five days. Refund issued for one \
item (size too small), the rest was kept. Crème brûlée scented candle was out of stock and replaced with the vanilla \
one after the customer agreed by phone. Delivery window 9–12 only; the office is closed in the afternoon. Fragile: \
glassware inside, do not stack. Repeat customer since 2019, usually pays by invoice within 14 days. Wants a single \
shipment even if that means waiting a week for the back-ordered item. Coupon SPRING24 applied manually because \
the checkout rejected it. Naïve question from the buyer: does the warranty cover water damage? Answered no. \
Ship to the pick-up point at the train station; phone number on file is outdated, use the email instead. Order \
placed on behalf of a colleague, their name goes on the label. Customer reported the app crashed during payment; \
payment went through twice, one charge reversed. Leave at the back door 🚪 next to the garage, the dog is friendly. ";

fn sql_lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn array_lit(items: &[&str]) -> String {
    format!(
        "ARRAY[{}]::text[]",
        items
            .iter()
            .map(|s| sql_lit(s))
            .collect::<Vec<_>>()
            .join(",")
    )
}

/// `(ARRAY[...])[random index]`
fn pick(items: &[&str]) -> String {
    format!(
        "({})[1 + floor(random() * {})::int]",
        array_lit(items),
        items.len()
    )
}

/// A random piece of the lorem text, `min..min+spread` characters long.
fn text_piece(min: u32, spread: u32) -> String {
    let n = LOREM.chars().count() as u32;
    let max_start = n.saturating_sub(min + spread).max(1);
    format!(
        "substr({}, 1 + floor(random() * {max_start})::int, {min} + floor(random() * {spread})::int)",
        sql_lit(LOREM)
    )
}

const SCHEMA_SQL: &str = "
CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded');
CREATE TABLE users (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    email text NOT NULL,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    profile jsonb NOT NULL DEFAULT '{}',
    tags text[] NOT NULL DEFAULT '{}'
);
CREATE TABLE orders (
    id bigserial NOT NULL,
    user_id uuid NOT NULL,
    amount numeric(12,2) NOT NULL,
    status order_status NOT NULL DEFAULT 'pending',
    placed_at timestamptz NOT NULL DEFAULT now(),
    notes text
);
CREATE TABLE events (
    id bigint NOT NULL,
    user_id uuid,
    kind text NOT NULL,
    payload jsonb NOT NULL,
    at timestamptz NOT NULL
);
COMMENT ON TABLE events IS 'Clickstream events (benchmark data).';
";

const POST_SQL: &str = "
SET maintenance_work_mem = '1GB';
ALTER TABLE users ADD PRIMARY KEY (id);
ALTER TABLE orders ADD PRIMARY KEY (id);
ALTER TABLE events ADD PRIMARY KEY (id);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_created_at_idx ON users (created_at);
CREATE INDEX orders_user_id_idx ON orders (user_id);
CREATE INDEX orders_placed_at_idx ON orders (placed_at);
CREATE INDEX orders_status_idx ON orders (status) WHERE status IN ('pending', 'paid');
CREATE INDEX events_at_idx ON events (at);
CREATE INDEX events_user_kind_idx ON events (user_id, kind);
ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE events ADD CONSTRAINT events_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL;
CREATE VIEW order_totals AS
    SELECT u.id AS user_id, u.email, count(o.id) AS orders, coalesce(sum(o.amount), 0) AS total
      FROM users u LEFT JOIN orders o ON o.user_id = u.id
     GROUP BY u.id, u.email;
";

/// The id of user number `n` (1-based), as SQL: md5-derived so orders and events can reference
/// users without a join (and be generated in parallel with them).
fn user_id_expr(n: &str) -> String {
    format!("md5('user' || ({n})::text)::uuid")
}

fn users_sql(from: u64, to: u64) -> String {
    format!(
        "INSERT INTO users (id, email, name, created_at, profile, tags)
SELECT {uid},
       translate(CASE s.fmt WHEN 0 THEN lower(s.fn || '.' || s.ln)
                            WHEN 1 THEN lower(s.fn || '_' || s.ln)
                            ELSE lower(left(s.fn, 1) || s.ln) END,
                 'éöüáíóñçåø'' ', 'eouaioncao') || s.g || '@' || {dom},
       s.fn || ' ' || s.ln,
       timestamptz '2019-01-01 00:00:00+00' + random() * interval '2190 days',
       jsonb_build_object(
         'locale', {locale},
         'newsletter', random() < 0.3,
         'age', 18 + floor(random() * 60)::int,
         'address', jsonb_build_object('city', {city}, 'zip', lpad(floor(random() * 99999)::int::text, 5, '0'),
                                       'street', (1 + floor(random() * 200)::int)::text || ' ' || {ln2} || ' Street'),
         'bio', CASE WHEN random() < 0.5 THEN {bio} END,
         'avatar', 'https://cdn.example.com/avatars/' || md5(s.g::text) || '.png'),
       (ARRAY[{t}, {t}, {t}, {t}])[1:floor(random() * 5)::int]
  FROM (SELECT g, floor(random() * 3)::int AS fmt,
               {fn} AS fn, {ln} AS ln
          FROM generate_series({from}, {to}) AS g) AS s;\n",
        uid = user_id_expr("s.g"),
        dom = pick(DOMAINS),
        locale = pick(LOCALES),
        city = pick(CITIES),
        ln2 = pick(LAST_NAMES),
        bio = text_piece(20, 180),
        t = pick(TAGS),
        fn = pick(FIRST_NAMES),
        ln = pick(LAST_NAMES),
    )
}

fn orders_sql(n_users: u64, count: u64) -> String {
    format!(
        "INSERT INTO orders (user_id, amount, status, placed_at, notes)
SELECT {uid},
       round((5 + random() * random() * 995)::numeric, 2),
       (ARRAY['pending','paid','shipped','delivered','delivered','delivered','cancelled','refunded']::order_status[])[1 + floor(random() * 8)::int],
       timestamptz '2019-06-01 00:00:00+00' + random() * interval '2000 days',
       CASE WHEN random() < 0.35 THEN NULL ELSE {notes} END
  FROM generate_series(1, {count}) AS g;\n",
        uid = user_id_expr(&format!("1 + floor(random() * {n_users})::bigint")),
        notes = text_piece(5, 260),
    )
}

fn events_sql(n_users: u64, from: u64, to: u64) -> String {
    format!(
        "INSERT INTO events (id, user_id, kind, payload, at)
SELECT g,
       CASE WHEN random() < 0.15 THEN NULL ELSE {uid} END,
       {kind},
       jsonb_build_object(
         'session', md5('s' || (g / 7)::text),
         'ip', concat_ws('.', 1 + floor(random() * 254)::int, floor(random() * 256)::int,
                              floor(random() * 256)::int, 1 + floor(random() * 254)::int),
         'ua', {ua},
         'path', '/' || {path} || '/' || floor(random() * 100000)::int,
         'duration_ms', floor(random() * random() * 8000)::int,
         'props', jsonb_build_object('ab', chr(65 + floor(random() * 4)::int),
                                     'score', round((random() * 100)::numeric, 3),
                                     'flags', jsonb_build_array(random() < 0.5, random() < 0.1),
                                     'ref', CASE WHEN random() < 0.3 THEN md5(g::text) END),
         'message', CASE WHEN random() < 0.4 THEN {msg} END),
       timestamptz '2024-01-01 00:00:00+00' + (g::double precision / {to}) * interval '365 days'
                   + random() * interval '1 hour'
  FROM generate_series({from}, {to}) AS g;\n",
        uid = user_id_expr(&format!("1 + floor(random() * {n_users})::bigint")),
        kind = pick(KINDS),
        ua = pick(USER_AGENTS),
        path = pick(PATHS),
        msg = text_piece(10, 300),
    )
}

/// Row counts of one generated database.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Rows {
    pub users: u64,
    pub orders: u64,
    pub events: u64,
}

/// Loads `units` units of data into the (new, empty) database `db`: two sessions in parallel
/// (users + orders | events), then keys, indexes, FKs and `VACUUM (FREEZE, ANALYZE)`.
pub fn generate(pg: &TestCluster, db: &str, units: u64) -> Result<Rows, String> {
    let rows = Rows {
        users: units * USERS_PER_UNIT,
        orders: units * ORDERS_PER_UNIT,
        events: units * EVENTS_PER_UNIT,
    };
    pg.try_psql(db, SCHEMA_SQL)
        .map_err(|e| format!("creating the schema in {db}: {e}"))?;
    let prelude = "SET synchronous_commit = off;\n";
    let a = format!(
        "{prelude}{}{}",
        users_sql(1, rows.users),
        orders_sql(rows.users, rows.orders)
    );
    let b = format!("{prelude}{}", events_sql(rows.users, 1, rows.events));
    std::thread::scope(|s| {
        let ta = s.spawn(|| pg.try_psql(db, &a));
        let tb = s.spawn(|| pg.try_psql(db, &b));
        let (ra, rb) = (ta.join(), tb.join());
        ra.map_err(|_| "generator thread panicked".to_string())?
            .map_err(|e| format!("generating users/orders: {e}"))?;
        rb.map_err(|_| "generator thread panicked".to_string())?
            .map_err(|e| format!("generating events: {e}"))?;
        Ok::<(), String>(())
    })?;
    pg.try_psql(db, POST_SQL)
        .map_err(|e| format!("indexes/constraints in {db}: {e}"))?;
    vacuum(pg, db)?;
    Ok(rows)
}

/// Adds `count` more events (ids after the current maximum).
pub fn add_events(pg: &TestCluster, db: &str, n_users: u64, count: u64) -> Result<(), String> {
    let max: u64 = pg
        .try_psql(db, "SELECT coalesce(max(id), 0) FROM events")?
        .trim()
        .parse()
        .map_err(|e| format!("{e}"))?;
    pg.try_psql(db, &events_sql(n_users, max + 1, max + count))
        .map_err(|e| format!("adding events: {e}"))?;
    vacuum(pg, db)
}

fn vacuum(pg: &TestCluster, db: &str) -> Result<(), String> {
    pg.try_psql(db, "VACUUM (FREEZE, ANALYZE)")
        .map(|_| ())
        .map_err(|e| format!("vacuum {db}: {e}"))
}

/// `pg_dump -Fp` of `db` into `file`; returns the file's size (the dataset's "dump text" size).
pub fn plain_dump_size(pg: &TestCluster, db: &str, file: &Path) -> Result<(u64, f64), String> {
    let _ = std::fs::remove_file(file);
    let mut cmd = pg.command("pg_dump");
    cmd.args(pg.conn_args())
        .args(["-Fp", "-f"])
        .arg(file)
        .args(["-d", db]);
    let m = measure::run(&mut cmd, None)?.check("pg_dump -Fp (size measurement)")?;
    let size = std::fs::metadata(file)
        .map_err(|e| format!("{}: {e}", file.display()))?
        .len();
    Ok((size, m.secs()))
}

/// A generated database and how big its plain dump is.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Dataset {
    pub db: String,
    pub units: u64,
    pub rows: Rows,
    pub extra_events: u64,
    pub dump_bytes: u64,
    pub db_bytes: u64,
    pub generate_secs: f64,
}

/// Dump bytes per unit, from a throwaway calibration database of `units` units.
pub fn calibrate(pg: &TestCluster, scratch: &Path, units: u64) -> Result<f64, String> {
    pg.create_db("bench_calibration");
    let result = (|| {
        generate(pg, "bench_calibration", units)?;
        let (size, _) = plain_dump_size(pg, "bench_calibration", &scratch.join("calibration.sql"))?;
        let _ = std::fs::remove_file(scratch.join("calibration.sql"));
        Ok(size as f64 / units as f64)
    })();
    pg.drop_db("bench_calibration");
    result
}

/// Creates `db` with at least `target_bytes` of plain dump text (aiming 3 % over).
pub fn build(
    pg: &TestCluster,
    db: &str,
    target_bytes: u64,
    bytes_per_unit: f64,
    scratch: &Path,
) -> Result<Dataset, String> {
    let start = Instant::now();
    let units = ((target_bytes as f64 * 1.03) / bytes_per_unit)
        .ceil()
        .max(1.0) as u64;
    pg.create_db(db);
    eprintln!(
        "  {db}: generating {units} units ({} users, {} orders, {} events)…",
        units * USERS_PER_UNIT,
        units * ORDERS_PER_UNIT,
        units * EVENTS_PER_UNIT
    );
    let rows = generate(pg, db, units)?;
    let file = scratch.join(format!("{db}.measure.sql"));
    let (mut size, _) = plain_dump_size(pg, db, &file)?;
    let mut extra_events = 0;
    // Events are ~half of a unit's bytes spread over EVENTS_PER_UNIT rows; top up until reached.
    for _ in 0..4 {
        if size >= target_bytes {
            break;
        }
        let per_event = bytes_per_unit / (EVENTS_PER_UNIT as f64 * 2.0);
        let more = (((target_bytes - size) as f64 * 1.05) / per_event).ceil() as u64 + 1000;
        eprintln!(
            "  {db}: {:.1} MiB < target, adding {more} events…",
            size as f64 / MIB
        );
        add_events(pg, db, rows.users, more)?;
        extra_events += more;
        size = plain_dump_size(pg, db, &file)?.0;
    }
    let _ = std::fs::remove_file(&file);
    let db_bytes: u64 = pg
        .try_psql(db, "SELECT pg_database_size(current_database())")?
        .trim()
        .parse()
        .map_err(|e| format!("database size: {e}"))?;
    Ok(Dataset {
        db: db.into(),
        units,
        rows,
        extra_events,
        dump_bytes: size,
        db_bytes,
        generate_secs: start.elapsed().as_secs_f64(),
    })
}

pub const MIB: f64 = 1024.0 * 1024.0;
