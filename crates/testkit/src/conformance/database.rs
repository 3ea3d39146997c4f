//! The [`DatabaseSource`] contract, against a real throwaway PostgreSQL cluster (directly, or
//! through a [`crate::proxy::FaultProxy`] in front of it).

use crate::TestCluster;
use offsite_core::archive::{self, DATABASE_MEMBER, DATABASE_TOC_MEMBER};
use offsite_core::backup::compose::{database_only, database_only_retried};
use offsite_core::postgres::conn::{ConnSpec, TlsMode};
use offsite_core::postgres::restore::RestoreOptions;
use offsite_core::progress::{Phase, ProgressUpdate, Reporter};
use offsite_core::retry::RetryPolicy;
use offsite_core::sources::{DatabaseSource, DumpOptions};
use offsite_core::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Builds the implementation under test for one database.
pub type MakeSource<'a> = &'a dyn Fn(ConnSpec, Option<String>) -> Box<dyn DatabaseSource>;

/// One run of the suite.
pub struct DatabaseCase<'a> {
    pub cluster: &'a TestCluster,
    /// The port sources connect to on 127.0.0.1: the cluster's, or a proxy's in front of it.
    pub port: u16,
    pub make: MakeSource<'a>,
    /// Connections the server side has seen so far (a proxy's count), to prove that a
    /// permanent failure is not retried. `None` when not observable.
    pub connections: Option<&'a dyn Fn() -> u32>,
    /// How a dump into a new archive is retried whole (`backup::compose::database_only_retried`)
    /// when the sources under test are wrapped in `Retrying`; `None`: not retried.
    pub retry: Option<RetryPolicy>,
}

impl DatabaseCase<'_> {
    /// A spec for `db` as the superuser, through `port`.
    pub fn spec(&self, db: &str) -> ConnSpec {
        ConnSpec {
            host: "127.0.0.1".into(),
            port: self.port,
            user: self.cluster.superuser().into(),
            database: db.into(),
            tls: TlsMode::Disable,
            ca_file: None,
        }
    }
    /// The source for `db` with the right password.
    pub fn source(&self, db: &str) -> Box<dyn DatabaseSource> {
        (self.make)(
            self.spec(db),
            Some(self.cluster.superuser_password().into()),
        )
    }
}

impl DatabaseCase<'_> {
    /// A dump of `src` into a new archive, retried whole under [`DatabaseCase::retry`].
    pub async fn dump(
        &self,
        src: Arc<dyn DatabaseSource>,
        opts: &DumpOptions,
        reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> offsite_core::Result<offsite_core::archive::Written> {
        match &self.retry {
            Some(policy) => database_only_retried(policy, src, opts, reporter, cancel).await,
            None => database_only(src, opts, reporter, cancel).await,
        }
    }
}

/// Run every check.
pub async fn check_database_source(case: &DatabaseCase<'_>) {
    describe(case).await;
    dump_then_restore(case).await;
    bucket_settings(case).await;
    wrong_password_is_auth(case).await;
    unreachable_is_connection(case).await;
    cancel_leaves_nothing(case).await;
}

pub fn dump_options(project: &str, dest: &Path) -> DumpOptions {
    DumpOptions {
        project: project.into(),
        dest_dir: dest.to_path_buf(),
        compression: offsite_core::archive::Compression::default(),
        backup_id: format!("conformance-{project}"),
        created_at: offsite_core::clock::Clock::now(&offsite_core::clock::SystemClock),
    }
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        // A folder's lock (`.offsite-folder.lock`, see offsite_core::tempfiles) is not data.
        if e.file_name() == ".offsite-folder.lock" {
            continue;
        }
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// describe: the server's version and user, and that a dump is possible.
pub async fn describe(case: &DatabaseCase<'_>) {
    let db = case.cluster.unique_db("conf_describe");
    let info = case.source(&db).describe().await.unwrap();
    let major = case.cluster.server_version_num() / 10000;
    assert!(
        info.server_version.starts_with(&format!("{major}.")),
        "{}",
        info.server_version
    );
    assert_eq!(info.user, case.cluster.superuser());
    assert!(info.superuser);
    assert!(info.can_dump, "{info:?}");
    assert!(info.pg_dump.is_some());
}

/// dump → an archive whose dump (`database.dump` or `database/`) `pg_restore -l` lists, with the source's exact row
/// counts in its manifest; restore → a fresh database holding those rows.
pub async fn dump_then_restore(case: &DatabaseCase<'_>) {
    let pg = case.cluster;
    let db = pg.unique_db("conf_src");
    pg.load_supabase_fixture(&db);
    let dir = tempfile::tempdir().unwrap();
    let written = case
        .dump(
            case.source(&db).into(),
            &dump_options("conf", dir.path()),
            &Reporter::silent(),
            &CancellationToken::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("dump failed: {e} ({:?})", e.hint()));
    assert!(written.path.starts_with(dir.path()));
    assert_eq!(written.manifest.backup_id, "conformance-conf");
    let files: Vec<_> = files_under(dir.path());
    assert_eq!(
        files.len(),
        2,
        "the archive and its .sha256 only: {files:?}"
    );

    // pg_restore lists the dump: `database.dump` (one stream, format 1) or the directory dump
    // `database/` (a parallel dump, format 2: the default on 2 cores or more).
    let out = tempfile::tempdir().unwrap();
    archive::extract_all(&written.path, out.path(), &CancellationToken::new()).unwrap();
    let manifest = archive::read_manifest(&written.path).unwrap();
    let dump = if manifest.member(DATABASE_MEMBER).is_some() {
        out.path().join(DATABASE_MEMBER)
    } else {
        assert!(
            manifest.member(DATABASE_TOC_MEMBER).is_some(),
            "neither {DATABASE_MEMBER} nor {DATABASE_TOC_MEMBER}"
        );
        assert_eq!(manifest.format_version, 2);
        out.path().join("database")
    };
    let listing = std::process::Command::new(pg.bin("pg_restore"))
        .arg("-l")
        .arg(&dump)
        .output()
        .unwrap();
    assert!(
        listing.status.success(),
        "{}",
        String::from_utf8_lossy(&listing.stderr)
    );
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.contains("TABLE DATA public orders"), "{listing}");

    // Row counts: the manifest's equal the source's, table by table.
    let tables = &written.manifest.tables;
    assert!(
        tables.len() >= crate::fixture_facts::SOME_TABLES.len(),
        "{} tables",
        tables.len()
    );
    for t in tables {
        // A table's own rows (ONLY): what its data block in the dump holds. An inheritance
        // parent's children are tables of their own (the Supabase fixture's `vehicles`).
        let q = format!(
            "SELECT count(*) FROM ONLY {}.{}",
            ident(&t.schema),
            ident(&t.table)
        );
        let n: u64 = pg.psql(&db, &q).trim().parse().unwrap();
        assert_eq!(t.rows, n, "{}.{}", t.schema, t.table);
    }
    assert!(tables.iter().any(|t| t.rows > 0));

    // Restore into a fresh database through the same kind of source.
    let dst = pg.unique_db("conf_dst");
    let opts = RestoreOptions::default();
    let target = case.source(&dst);
    let plan = target
        .plan_restore(&written.path, &opts, &Reporter::silent())
        .await
        .unwrap();
    assert!(plan.target_empty && plan.blockers.is_empty(), "{plan:?}");
    let report = target
        .restore(
            &written.path,
            &opts,
            &Reporter::silent(),
            &CancellationToken::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("restore failed: {e} ({:?})", e.hint()));
    assert!(report.ok, "{:?}", report.tables);
    assert_eq!(report.tables.len(), tables.len());
    pg.drop_db(&dst);
    pg.drop_db(&db);
}

/// bucket_settings: none where the database records no buckets; the rows of Supabase's
/// `storage.buckets` where it does.
pub async fn bucket_settings(case: &DatabaseCase<'_>) {
    let pg = case.cluster;
    let plain = pg.unique_db("conf_nobuckets");
    let none = case.source(&plain).bucket_settings().await.unwrap();
    assert!(none.is_empty(), "{none:?}");
    let db = pg.unique_db("conf_buckets");
    pg.load_supabase_fixture(&db);
    let got = case.source(&db).bucket_settings().await.unwrap();
    assert_eq!(got.len(), 3, "{got:?}");
    let avatars = &got["avatars"];
    assert_eq!(avatars.public, Some(true));
    assert_eq!(avatars.file_size_limit, Some(5_242_880));
    assert_eq!(
        avatars.allowed_mime_types.as_deref(),
        Some(&["image/png".to_string(), "image/jpeg".to_string()][..])
    );
    let private = &got["private docs"];
    assert_eq!(private.public, Some(false));
    assert_eq!(private.file_size_limit, None);
    assert_eq!(private.allowed_mime_types, None);
    let unicode = &got["ünïcødé-✓"];
    assert_eq!(unicode.file_size_limit, Some(0));
    assert_eq!(unicode.allowed_mime_types.as_deref(), Some(&[][..]));
    pg.drop_db(&db);
    pg.drop_db(&plain);
}

/// A wrong password is `auth`, permanent, and not retried (one connection).
pub async fn wrong_password_is_auth(case: &DatabaseCase<'_>) {
    let db = case.cluster.unique_db("conf_auth");
    let before = case.connections.map(|c| c());
    let src: Arc<dyn DatabaseSource> =
        (case.make)(case.spec(&db), Some("not-the-password".into())).into();
    let e = src.describe().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    assert!(!e.is_temporary());
    assert!(
        !e.message().contains("not-the-password"),
        "the password leaked: {e}"
    );
    if let (Some(before), Some(now)) = (before, case.connections.map(|c| c())) {
        assert_eq!(now - before, 1, "a permanent failure was retried");
    }
    let dir = tempfile::tempdir().unwrap();
    let e = case
        .dump(
            src.clone(),
            &dump_options("auth", dir.path()),
            &Reporter::silent(),
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    assert!(files_under(dir.path()).is_empty());
    let e = src.bucket_settings().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
}

/// Nothing listening: `connection`, temporary (so a retrying wrapper tries again and then says
/// it gave up).
pub async fn unreachable_is_connection(case: &DatabaseCase<'_>) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let spec = ConnSpec {
        port,
        ..case.spec("postgres")
    };
    let src = (case.make)(spec, Some(case.cluster.superuser_password().into()));
    let e = src.describe().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(e.is_temporary(), "{e}");
    assert!(!e.message().contains(case.cluster.superuser_password()));
}

/// A dump cancelled while pg_dump streams ends `cancelled` and leaves nothing in the folder.
pub async fn cancel_leaves_nothing(case: &DatabaseCase<'_>) {
    let pg = case.cluster;
    let db = pg.unique_db("conf_cancel");
    pg.load_supabase_fixture(&db);
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    let sink = move |u: &ProgressUpdate| {
        if u.phase == Phase::Dumping && u.bytes_done > 0 {
            c2.cancel();
        }
    };
    let reporter = Reporter::with_interval(Arc::new(sink), "cancel", Duration::ZERO);
    let e = case
        .dump(
            case.source(&db).into(),
            &dump_options("cancel", dir.path()),
            &reporter,
            &cancel,
        )
        .await
        .unwrap_err();
    assert!(cancel.is_cancelled(), "the dump never streamed");
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
    assert_eq!(
        files_under(dir.path()),
        Vec::<PathBuf>::new(),
        "left behind"
    );
    pg.drop_db(&db);
}

fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}
