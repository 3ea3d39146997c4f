//! `--recover`'s dataset: a multi-tenant application of ten tables joined by foreign keys,
//! generated server-side with `generate_series` (no client round trips).
//!
//! ```text
//! tenants ─┬─ users ──────────────┐ (owner, assignee, author)
//!          ├─ labels ───────┐     │
//!          ├─ projects ─ tasks ─┬─ task_labels (composite key)
//!          │                    ├─ comments (parent_id → comments: replies)
//!          │                    └─ attachments
//!          └─ invoices ─ invoice_lines
//! ```
//!
//! Every row belongs to one tenant, and all its references stay inside it: the row with id `n`
//! of any table belongs to tenant `(n - 1) % T + 1`, and it references rows `k·T + tenant` of
//! the other tables. So each of the `T` tenants holds `1/T` of every table's rows (1 % with the
//! default 100), and a tenant's rows of every table are `(id - 1) % T = tenant - 1`
//! ([`tenant_rows_sql`], [`delete_tenant_sql`]). Tables are loaded without keys, then the
//! primary keys, foreign keys and an index on every foreign key are added (what a real schema
//! has, and what a full restore pays for).

use offsite_testkit::TestCluster;

/// The ten tables, parents before children, with the column that ties a row to its tenant's
/// residue (`id` for all but `task_labels`).
pub const TABLES: [(&str, &str); 10] = [
    ("tenants", "id"),
    ("users", "id"),
    ("labels", "id"),
    ("projects", "id"),
    ("invoices", "id"),
    ("tasks", "id"),
    ("invoice_lines", "id"),
    ("task_labels", "task_id"),
    ("comments", "id"),
    ("attachments", "id"),
];

/// Row counts, each a multiple of the tenant count.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    pub tenants: u64,
    pub users: u64,
    pub labels: u64,
    pub projects: u64,
    pub invoices: u64,
    pub tasks: u64,
    pub invoice_lines: u64,
    pub comments: u64,
    pub attachments: u64,
}

impl Counts {
    /// Counts for about `mib` MiB of COPY text (measured: ≈ 1.07 MiB per "MiB" asked; the
    /// bench prints the real size from the archive), `tenants` tenants.
    pub fn for_mib(mib: u64, tenants: u64) -> Counts {
        let t = tenants.max(1);
        let n = |per_mib: u64| (mib * per_mib).div_ceil(t).max(2) * t;
        Counts {
            tenants: t,
            users: n(200),
            labels: n(20),
            projects: n(100),
            invoices: n(200),
            tasks: n(1_500),
            invoice_lines: n(1_000),
            comments: n(2_400),
            attachments: n(300),
        }
    }

    pub fn total_rows(&self) -> u64 {
        self.tenants
            + self.users
            + self.labels
            + self.projects
            + self.invoices
            + self.tasks
            + self.invoice_lines
            + self.tasks * 2 // task_labels
            + self.comments
            + self.attachments
    }
}

/// `k·T + tenant(n)`: a row of a table of `count` rows in the same tenant as row `n`.
fn same_tenant(n: &str, count: u64, t: u64, mult: u64) -> String {
    format!(
        "((({n} * {mult}) % {per}) * {t} + ({n} - 1) % {t} + 1)",
        per = count / t
    )
}

fn schema_sql() -> &'static str {
    "CREATE TABLE tenants (id bigint NOT NULL, name text NOT NULL, plan text NOT NULL,
        created_at timestamptz NOT NULL, settings jsonb NOT NULL);
     CREATE TABLE users (id bigint NOT NULL, tenant_id bigint NOT NULL, email text NOT NULL,
        name text NOT NULL, created_at timestamptz NOT NULL);
     CREATE TABLE labels (id bigint NOT NULL, tenant_id bigint NOT NULL, name text NOT NULL,
        color text NOT NULL);
     CREATE TABLE projects (id bigint NOT NULL, tenant_id bigint NOT NULL, owner_id bigint NOT NULL,
        name text NOT NULL, description text NOT NULL, created_at timestamptz NOT NULL);
     CREATE TABLE invoices (id bigint NOT NULL, tenant_id bigint NOT NULL, number text NOT NULL,
        total numeric(12,2) NOT NULL, issued_at timestamptz NOT NULL);
     CREATE TABLE tasks (id bigint NOT NULL, project_id bigint NOT NULL, assignee_id bigint,
        title text NOT NULL, body text NOT NULL, status text NOT NULL, due date);
     CREATE TABLE invoice_lines (id bigint NOT NULL, invoice_id bigint NOT NULL,
        description text NOT NULL, quantity integer NOT NULL, unit_price numeric(10,2) NOT NULL);
     CREATE TABLE task_labels (task_id bigint NOT NULL, label_id bigint NOT NULL);
     CREATE TABLE comments (id bigint NOT NULL, task_id bigint NOT NULL, author_id bigint NOT NULL,
        parent_id bigint, body text NOT NULL, created_at timestamptz NOT NULL);
     CREATE TABLE attachments (id bigint NOT NULL, task_id bigint NOT NULL, file_name text NOT NULL,
        size_bytes integer NOT NULL, meta jsonb NOT NULL);"
}

/// The INSERT … SELECT of every table.
fn data_sql(c: &Counts) -> Vec<String> {
    let t = c.tenants;
    let text = |n: &str, min: u32, spread: u32| {
        format!(
            "substr(repeat(md5({n}::text) || ' ' || md5(({n} + 7)::text) || ' lorem ipsum ', 8), 1, ({min} + ({n} * 37) % {spread})::int)"
        )
    };
    let ts =
        |n: &str| format!("timestamptz '2024-01-01' + ({n} * 97 % 63072000) * interval '1 second'");
    vec![
        format!(
            "INSERT INTO tenants SELECT n, 'Tenant ' || n, (ARRAY['free','team','enterprise'])[(1 + n % 3)::int], {},
               jsonb_build_object('region', 'eu-' || n % 4, 'seats', n * 3)
             FROM generate_series(1::bigint, {t}) n",
            ts("n")
        ),
        format!(
            "INSERT INTO users SELECT n, (n - 1) % {t} + 1, 'user' || n || '@' || left(md5(n::text), 8) || '.example',
               initcap(left(md5((n + 1)::text), 10)) || ' ' || initcap(left(md5((n + 2)::text), 12)), {}
             FROM generate_series(1::bigint, {}) n",
            ts("n"),
            c.users
        ),
        format!(
            "INSERT INTO labels SELECT n, (n - 1) % {t} + 1, 'label-' || left(md5(n::text), 12), '#' || left(md5((n + 3)::text), 6)
             FROM generate_series(1::bigint, {}) n",
            c.labels
        ),
        format!(
            "INSERT INTO projects SELECT n, (n - 1) % {t} + 1, {}, 'Project ' || n, {}, {}
             FROM generate_series(1::bigint, {}) n",
            same_tenant("n", c.users, t, 7919),
            text("n", 60, 160),
            ts("n"),
            c.projects
        ),
        format!(
            "INSERT INTO invoices SELECT n, (n - 1) % {t} + 1, 'INV-' || lpad(n::text, 9, '0'),
               (n * 7 % 100000) / 100.0 + 10, {}
             FROM generate_series(1::bigint, {}) n",
            ts("n"),
            c.invoices
        ),
        format!(
            "INSERT INTO tasks SELECT n, {}, CASE WHEN n % 10 = 0 THEN NULL ELSE {} END,
               'Task ' || n || ' ' || left(md5(n::text), 16), {},
               (ARRAY['open','doing','review','done'])[(1 + n % 4)::int], date '2025-01-01' + (n % 700)::int
             FROM generate_series(1::bigint, {}) n",
            same_tenant("n", c.projects, t, 104729),
            same_tenant("n", c.users, t, 31),
            text("n", 40, 200),
            c.tasks
        ),
        format!(
            "INSERT INTO invoice_lines SELECT n, {}, 'Item ' || left(md5(n::text), 24), 1 + n % 9, (n * 13 % 50000) / 100.0
             FROM generate_series(1::bigint, {}) n",
            same_tenant("n", c.invoices, t, 611953),
            c.invoice_lines
        ),
        format!(
            "INSERT INTO task_labels SELECT n, ((((n * 31) % {per}) + j) % {per}) * {t} + (n - 1) % {t} + 1
             FROM generate_series(1::bigint, {}) n, generate_series(0, 1) j",
            c.tasks,
            per = c.labels / t
        ),
        format!(
            "INSERT INTO comments SELECT n, {}, {}, CASE WHEN n > {t} AND n % 5 = 0 THEN n - {t} END, {}, {}
             FROM generate_series(1::bigint, {}) n",
            same_tenant("n", c.tasks, t, 15485863),
            same_tenant("n", c.users, t, 101),
            text("n", 30, 180),
            ts("n"),
            c.comments
        ),
        format!(
            "INSERT INTO attachments SELECT n, {}, 'file-' || n || '.' || (ARRAY['pdf','png','txt'])[(1 + n % 3)::int], n * 131 % 9000000,
               jsonb_build_object('sha', md5(n::text), 'pages', n % 40)
             FROM generate_series(1::bigint, {}) n",
            same_tenant("n", c.tasks, t, 7),
            c.attachments
        ),
    ]
}

/// Keys, foreign keys (validated once, after the load) and an index on each foreign key.
fn constraints_sql() -> &'static str {
    "ALTER TABLE tenants ADD PRIMARY KEY (id);
     ALTER TABLE users ADD PRIMARY KEY (id);
     ALTER TABLE labels ADD PRIMARY KEY (id);
     ALTER TABLE projects ADD PRIMARY KEY (id);
     ALTER TABLE invoices ADD PRIMARY KEY (id);
     ALTER TABLE tasks ADD PRIMARY KEY (id);
     ALTER TABLE invoice_lines ADD PRIMARY KEY (id);
     ALTER TABLE task_labels ADD PRIMARY KEY (task_id, label_id);
     ALTER TABLE comments ADD PRIMARY KEY (id);
     ALTER TABLE attachments ADD PRIMARY KEY (id);
     ALTER TABLE users ADD FOREIGN KEY (tenant_id) REFERENCES tenants;
     ALTER TABLE labels ADD FOREIGN KEY (tenant_id) REFERENCES tenants;
     ALTER TABLE projects ADD FOREIGN KEY (tenant_id) REFERENCES tenants;
     ALTER TABLE projects ADD FOREIGN KEY (owner_id) REFERENCES users;
     ALTER TABLE invoices ADD FOREIGN KEY (tenant_id) REFERENCES tenants;
     ALTER TABLE tasks ADD FOREIGN KEY (project_id) REFERENCES projects;
     ALTER TABLE tasks ADD FOREIGN KEY (assignee_id) REFERENCES users;
     ALTER TABLE invoice_lines ADD FOREIGN KEY (invoice_id) REFERENCES invoices;
     ALTER TABLE task_labels ADD FOREIGN KEY (task_id) REFERENCES tasks;
     ALTER TABLE task_labels ADD FOREIGN KEY (label_id) REFERENCES labels;
     ALTER TABLE comments ADD FOREIGN KEY (task_id) REFERENCES tasks;
     ALTER TABLE comments ADD FOREIGN KEY (author_id) REFERENCES users;
     ALTER TABLE comments ADD FOREIGN KEY (parent_id) REFERENCES comments;
     ALTER TABLE attachments ADD FOREIGN KEY (task_id) REFERENCES tasks;
     CREATE INDEX ON users (tenant_id);
     CREATE INDEX ON labels (tenant_id);
     CREATE INDEX ON projects (tenant_id);
     CREATE INDEX ON projects (owner_id);
     CREATE INDEX ON invoices (tenant_id);
     CREATE INDEX ON tasks (project_id);
     CREATE INDEX ON tasks (assignee_id);
     CREATE INDEX ON invoice_lines (invoice_id);
     CREATE INDEX ON task_labels (label_id);
     CREATE INDEX ON comments (task_id);
     CREATE INDEX ON comments (author_id);
     CREATE INDEX ON comments (parent_id);
     CREATE INDEX ON attachments (task_id);
     VACUUM ANALYZE;"
}

/// Creates database `db` and fills it.
pub fn generate(pg: &TestCluster, db: &str, c: &Counts) -> Result<(), String> {
    pg.try_psql("postgres", &format!("CREATE DATABASE {db}"))?;
    pg.try_psql(db, schema_sql())?;
    for sql in data_sql(c) {
        pg.try_psql(db, &sql)?;
    }
    pg.try_psql(db, constraints_sql())?;
    Ok(())
}

/// Rows of `tenant` in every table, summed (one SQL statement).
pub fn tenant_rows_sql(tenant: u64, tenants: u64) -> String {
    let parts: Vec<String> = TABLES
        .iter()
        .map(|(tb, col)| {
            format!("(SELECT count(*) FROM {tb} WHERE ({col} - 1) % {tenants} = {tenant} - 1)")
        })
        .collect();
    format!("SELECT {}", parts.join(" + "))
}

/// Deletes `tenant`'s rows, children first (what the recovery brings back).
pub fn delete_tenant_sql(tenant: u64, tenants: u64) -> String {
    TABLES
        .iter()
        .rev()
        .map(|(tb, col)| format!("DELETE FROM {tb} WHERE ({col} - 1) % {tenants} = {tenant} - 1;"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A digest of `tenant`'s rows in every table (to compare the recovered tenant with the source).
pub fn tenant_digest_sql(tenant: u64, tenants: u64) -> String {
    let parts: Vec<String> = TABLES
        .iter()
        .map(|(tb, col)| {
            format!(
                "(SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM {tb} x WHERE ({col} - 1) % {tenants} = {tenant} - 1)"
            )
        })
        .collect();
    format!("SELECT md5({})", parts.join(" || "))
}
