//! Settings read from an archive are data, not instructions (issue 62, item 3): a manifest
//! doctored to carry `search_path = 'public, pg_catalog'` must not make Offsite's own calls
//! resolve to functions a role with CREATE on `public` planted there. The planted
//! `public.set_config` and `public.format_type` would make a role a superuser when the
//! project's (superuser) role calls them; the diff against the live database must not call
//! them, must say the setting was not taken, and must give the honest diff's result.

use crate::common::*;
use offsite_core::archive::{self, ArchiveWriter, Manifest, MANIFEST_NAME};
use offsite_core::diff::DiffOptions;
use offsite_core::progress::Reporter;
use offsite_testkit::TestCluster;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// A copy of `archive` (into `dir`) whose manifest's content settings gain `extra`.
fn doctored(archive: &Path, dir: &Path, extra: &[(&str, &str)]) -> PathBuf {
    let x = tempfile::tempdir().unwrap();
    let files =
        archive::extract_all(archive, &x.path().join("x"), &CancellationToken::new()).unwrap();
    let mut manifest: Manifest =
        serde_json::from_slice(&std::fs::read(x.path().join("x").join(MANIFEST_NAME)).unwrap())
            .unwrap();
    let content = manifest.content.as_mut().expect("the backup has digests");
    for (k, v) in extra {
        content.settings.insert(k.to_string(), v.to_string());
    }
    let mut w = ArchiveWriter::create(dir, "evil", 1).unwrap();
    for m in &manifest.members {
        let f = files
            .iter()
            .find(|f| f.ends_with(&m.name))
            .unwrap_or_else(|| panic!("{} not extracted", m.name));
        w.add_file(&m.name, f).unwrap();
    }
    w.finish(manifest, &Reporter::silent(), &CancellationToken::new())
        .unwrap()
        .path
}

fn is_superuser(pg: &TestCluster, role: &str) -> bool {
    pg.psql(
        "postgres",
        &format!("SELECT rolsuper FROM pg_roles WHERE rolname = '{role}'"),
    ) == "t"
}

#[tokio::test(flavor = "multi_thread")]
async fn a_doctored_search_path_calls_nothing_a_user_planted() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = pg.unique_db("plantdiff");
    let mallory = format!("mallory_{}", db.trim_start_matches("plantdiff_"));
    let planter = format!("planter_{}", db.trim_start_matches("plantdiff_"));
    pg.psql(
        "postgres",
        &format!(
            "DROP ROLE IF EXISTS {mallory}; CREATE ROLE {mallory} NOLOGIN; \
             DROP ROLE IF EXISTS {planter}; CREATE ROLE {planter} NOLOGIN"
        ),
    );
    // What a role with CREATE on public (Supabase grants it to its API roles) can plant.
    pg.psql(
        &db,
        &format!(
            r#"
CREATE TABLE public.items (id int PRIMARY KEY, v text);
INSERT INTO public.items SELECT g, 'v' || g FROM generate_series(1, 500) g;
GRANT CREATE ON SCHEMA public TO {planter};
SET ROLE {planter};
CREATE FUNCTION public.set_config(text, text, boolean) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
  EXECUTE 'ALTER ROLE {mallory} SUPERUSER';
  RETURN pg_catalog.set_config($1, $2, $3);
END $f$;
CREATE FUNCTION public.format_type(oid, integer) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
  EXECUTE 'ALTER ROLE {mallory} SUPERUSER';
  RETURN pg_catalog.format_type($1, $2);
END $f$;
RESET ROLE;
"#
        ),
    );
    let honest = back_up(pg, &env, "plantdiff", &db).await;
    pg.psql(
        &db,
        "UPDATE public.items SET v = 'changed' WHERE id <= 7; \
         INSERT INTO public.items VALUES (1000, 'new');",
    );
    let evil = doctored(
        &honest,
        env.dir.path(),
        &[
            ("search_path", "public, pg_catalog"),
            ("session_preload_libraries", "'$libdir/evil'"),
        ],
    );

    let cancel = CancellationToken::new();
    let o = DiffOptions::default();
    let r = env
        .engine
        .diff(evil.to_str().unwrap(), "plantdiff:live", &o, None, &cancel)
        .await;
    assert!(
        !is_superuser(pg, &mallory),
        "a function planted in public ran as the project's role"
    );
    let r = r.unwrap();
    for key in ["search_path", "session_preload_libraries"] {
        assert!(
            r.notes
                .iter()
                .any(|n| n.starts_with(key) && n.contains("was not set")),
            "the doctored {key} is not said: {:?}",
            r.notes
        );
    }

    // The honest diff: the same tables, the same counts; nothing planted ran either.
    let h = env
        .engine
        .diff(
            honest.to_str().unwrap(),
            "plantdiff:live",
            &o,
            None,
            &cancel,
        )
        .await
        .unwrap();
    assert!(!is_superuser(pg, &mallory));
    assert_eq!(h.tables, r.tables);
    let items = h
        .tables
        .iter()
        .find(|t| t.schema == "public" && t.table == "items")
        .unwrap();
    assert_eq!(
        [items.added, items.removed, items.changed, items.unchanged],
        [1, 0, 7, 493]
    );
    assert!(
        !h.notes.iter().any(|n| n.contains("was not set")),
        "{:?}",
        h.notes
    );
}
