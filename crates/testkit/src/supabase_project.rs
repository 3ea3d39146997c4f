//! A database built by Supabase's own init scripts and migrations (copied unchanged into
//! `fixtures/supabase_postgres/`, see its `SOURCE.md`), run the way Supabase's `migrate.sh` runs
//! them: what a fresh hosted project holds before its user adds anything.

use crate::TestCluster;
use std::path::{Path, PathBuf};

/// The password of the project's `postgres` role (a throwaway cluster on 127.0.0.1).
pub const POSTGRES_PASSWORD: &str = "supabase-postgres-pw";

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/supabase_postgres");

/// A throwaway cluster holding one fresh Supabase project in its database `postgres`: the
/// bootstrap superuser is `supabase_admin`, `postgres` is not a superuser.
pub struct SupabaseProject {
    pub cluster: TestCluster,
}

fn scripts(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(FIXTURE).join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("testkit: cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("read fixture dir").path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "testkit: no scripts in {}",
        dir.display()
    );
    files
}

impl SupabaseProject {
    /// Starts a cluster and builds the project. Panics (never skips) when a script fails.
    pub fn start() -> SupabaseProject {
        Self::build(TestCluster::start_with_superuser("supabase_admin"))
    }

    /// [`SupabaseProject::start`] on a server that preloads pg_cron for database `postgres`, as
    /// the platform's do, with the extension enabled as the platform enables it (its
    /// `supautils` extension runs the creation as the platform's superuser, then a script of
    /// its own; written here after what that script grants, not copied): created in
    /// `pg_catalog`, `postgres` may use schema `cron` and run every function in it, and may
    /// only read `cron.job` (its jobs are made and changed through `cron.schedule` and
    /// `cron.alter_job`, which write as the extension's owner).
    pub fn start_with_pg_cron() -> SupabaseProject {
        let cluster = TestCluster::start_with_superuser("supabase_admin");
        let conf = cluster.data_dir().join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).expect("read postgresql.conf");
        text.push_str("shared_preload_libraries = 'pg_cron'\ncron.database_name = 'postgres'\n");
        std::fs::write(&conf, text).expect("write postgresql.conf");
        cluster.restart();
        let project = Self::build(cluster);
        project.psql(
            "CREATE EXTENSION pg_cron WITH SCHEMA pg_catalog;
             GRANT USAGE ON SCHEMA cron TO postgres WITH GRANT OPTION;
             GRANT ALL ON ALL FUNCTIONS IN SCHEMA cron TO postgres WITH GRANT OPTION;
             GRANT ALL ON ALL TABLES IN SCHEMA cron TO postgres WITH GRANT OPTION;
             REVOKE ALL ON TABLE cron.job FROM postgres;
             GRANT SELECT ON TABLE cron.job TO postgres WITH GRANT OPTION;",
        );
        project
    }

    fn build(cluster: TestCluster) -> SupabaseProject {
        // migrate.sh: `postgres` is made a superuser and owns the database.
        cluster.psql(
            "postgres",
            &format!(
                "CREATE ROLE postgres SUPERUSER LOGIN PASSWORD '{POSTGRES_PASSWORD}';
                 ALTER DATABASE postgres OWNER TO postgres;"
            ),
        );
        // The init scripts run as `postgres` (a superuser until the first migration).
        for path in scripts("init-scripts") {
            let text = std::fs::read_to_string(&path).expect("read init script");
            // Stand-in: pgjwt is not packaged for Debian (SOURCE.md).
            let text: String = text
                .lines()
                .filter(|l| !l.contains("extension if not exists pgjwt"))
                .map(|l| format!("{l}\n"))
                .collect();
            let sql = format!("SET SESSION AUTHORIZATION postgres;\n{text}");
            if let Err(e) = cluster.try_psql("postgres", &sql) {
                panic!(
                    "testkit: Supabase init script {} failed: {e}",
                    path.display()
                );
            }
        }
        // Stand-in: the role the pgsodium extension would create (SOURCE.md).
        cluster.psql("postgres", "CREATE ROLE pgsodium_keyholder NOLOGIN;");
        for path in scripts("migrations") {
            let text = std::fs::read_to_string(&path).expect("read migration");
            if let Err(e) = cluster.try_psql("postgres", &text) {
                panic!("testkit: Supabase migration {} failed: {e}", path.display());
            }
        }
        SupabaseProject { cluster }
    }

    /// The project's database as its `postgres` role reaches it (password included).
    pub fn postgres_url(&self) -> String {
        format!(
            "postgres://postgres:{POSTGRES_PASSWORD}@127.0.0.1:{}/postgres",
            self.cluster.port()
        )
    }

    /// Runs `sql` in the project's database as `supabase_admin` (see [`TestCluster::psql`]).
    pub fn psql(&self, sql: &str) -> String {
        self.cluster.psql("postgres", sql)
    }

    /// Runs `sql` in the project's database as `postgres` (SET SESSION AUTHORIZATION: what it
    /// creates is owned by `postgres`, as when the user connects as it).
    pub fn psql_as_postgres(&self, sql: &str) -> String {
        self.cluster.psql(
            "postgres",
            &format!("SET SESSION AUTHORIZATION postgres;\n{sql}"),
        )
    }
}
