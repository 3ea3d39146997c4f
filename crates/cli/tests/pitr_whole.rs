//! The whole project at a time (issue 46 item 5) through the `offsite` binary, on real parts:
//! a throwaway cluster with logical capture on (a role with REPLICATION, not SUPERUSER), the
//! storage on s3s-fs, the configuration from a local server answering as the Management API.
//! Between two storage pulls (a full backup, then an incremental) an object is changed, one
//! deleted and one added, the database written and the configuration changed. `restore PROJECT
//! --at TIME --components …` gives, for a TIME between the pulls, the first pull's objects and
//! the database's digests at TIME, and the first configuration; after the second pull, the
//! second's. The plan names per component the point it comes from and how far it is from TIME;
//! a TIME before any storage pull is refused for the storage, saying what to do.
//!
//! Issue 63: the storage step of such a restore is journaled like a plain storage restore —
//! `offsite` SIGKILLed while that step writes is `interrupted` at the next command, what the
//! step wrote is removed again, the job says the database had been restored, and the command it
//! names (the storage step at the same time) gives the pull's objects exactly.

mod common;

use common::pg::{json, offsite, ok, ok_json, server_now, wait_past};
use offsite_testkit::management_api::{FakeManagementApi, PROJECT_REF, TOKEN};
use offsite_testkit::s3s_fs::{S3sFsServer, S3S_KEY_ID, S3S_SECRET};
use offsite_testkit::TestCluster;
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

const ROLE: &str = "whole_owner";

fn owner_url(pg: &TestCluster, db: &str) -> String {
    format!("postgres://{ROLE}@127.0.0.1:{}/{db}", pg.port())
}

fn sql(pg: &TestCluster, db: &str, q: &str) {
    pg.psql_url(&owner_url(pg, db), q)
        .unwrap_or_else(|e| panic!("{q}: {e}"));
}

fn digest(pg: &TestCluster, db: &str) -> String {
    pg.psql(
        db,
        "SELECT coalesce(md5(string_agg(o::text, '|' ORDER BY id)), '-') FROM public.orders o",
    )
    .trim()
    .to_string()
}

/// `offsite args…` with the storage secret, the Management API's token and address.
fn run(d: &Path, pg: &TestCluster, api: &str, args: &[&str]) -> Output {
    offsite(d, pg, args)
        .env("OFFSITE_S3_SECRET_ACCESS_KEY", S3S_SECRET)
        .env("SUPABASE_ACCESS_TOKEN", TOKEN)
        .env("OFFSITE_SUPABASE_API_URL", api)
        .output()
        .unwrap()
}

use offsite_testkit::files_text as files;

fn put(root: &Path, key: &str, body: &str) {
    let p = root.join("media").join(key);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

fn backup_id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no backup id: {v}"))
        .to_string()
}

#[test]
fn storage_database_and_config_come_back_as_they_were_at_the_time() {
    let pg = TestCluster::start();
    pg.create_trusted_role(ROLE);
    pg.psql("postgres", &format!("ALTER ROLE {ROLE} REPLICATION"));
    let db = "whole_shop";
    pg.psql("postgres", &format!("CREATE DATABASE {db} OWNER {ROLE}"));
    sql(
        &pg,
        db,
        "CREATE TABLE public.orders (id serial PRIMARY KEY, note text);
         INSERT INTO public.orders (note) SELECT 'before ' || g FROM generate_series(1, 20) g;",
    );
    let s3 = S3sFsServer::start();
    let root = s3.root();
    put(root, "a/changed.txt", "first version");
    put(root, "a/deleted.txt", "deleted later");
    put(root, "kept.txt", "kept");
    let fake = FakeManagementApi::start();
    let api = fake.base_url();
    let auth_path = format!("/v1/projects/{PROJECT_REF}/config/auth");
    let mut auth = fake.doc(&auth_path).unwrap();
    auth["site_url"] = serde_json::json!("https://first.example.com");
    fake.serve_json(&auth_path, auth.clone());

    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let endpoint = s3.endpoint();
    ok_json(
        run(
            d,
            &pg,
            &api,
            &[
                "--json",
                "project",
                "add",
                "shop",
                "--db",
                &owner_url(&pg, db),
                "--s3-endpoint",
                &endpoint,
                "--s3-key-id",
                S3S_KEY_ID,
                "--buckets",
                "media",
                "--supabase-ref",
                PROJECT_REF,
            ],
        ),
        "project add",
    );
    ok_json(
        run(d, &pg, &api, &["--json", "pitr", "enable", "shop"]),
        "pitr enable",
    );
    let before_pulls = server_now(&pg);
    std::thread::sleep(Duration::from_millis(1100));

    // The first pull: a full backup (database, storage, configuration).
    let first = backup_id(&ok_json(
        run(
            d,
            &pg,
            &api,
            &["--json", "backup", "shop", "--type", "full"],
        ),
        "full backup",
    ));
    sql(&pg, db, "INSERT INTO public.orders (note) VALUES ('after the first pull'); DELETE FROM public.orders WHERE id = 3;");
    let t1 = server_now(&pg);
    let d1 = digest(&pg, db);
    std::thread::sleep(Duration::from_millis(1100));

    // Between the pulls: one object changed (another size), one deleted, one added; more rows;
    // the configuration changed.
    put(root, "a/changed.txt", "second version, longer");
    std::fs::remove_file(root.join("media/a/deleted.txt")).unwrap();
    put(root, "b/added.txt", "added");
    sql(&pg, db, "UPDATE public.orders SET note = 'changed' WHERE id < 5; INSERT INTO public.orders (note) VALUES ('later');");
    auth["site_url"] = serde_json::json!("https://second.example.com");
    fake.serve_json(&auth_path, auth.clone());
    std::thread::sleep(Duration::from_millis(1100));
    let second = backup_id(&ok_json(
        run(
            d,
            &pg,
            &api,
            &["--json", "backup", "shop", "--type", "incremental"],
        ),
        "incremental backup",
    ));
    let second_config = backup_id(&ok_json(
        run(
            d,
            &pg,
            &api,
            &["--json", "backup", "shop", "--type", "config"],
        ),
        "config backup",
    ));
    let t2 = server_now(&pg);
    let d2 = digest(&pg, db);
    // After TIME: changes no restore to t2 may show.
    std::thread::sleep(Duration::from_millis(1100));
    put(root, "kept.txt", "changed after t2");
    sql(&pg, db, "DELETE FROM public.orders");
    std::thread::sleep(Duration::from_millis(1500));
    ok(
        run(d, &pg, &api, &["pitr", "run", "shop", "--once"]),
        "pitr run --once",
    );

    // TIME between the pulls: the first pull's objects, the database at TIME.
    let folder1 = tempfile::tempdir().unwrap();
    let target1 = "whole_at_t1";
    pg.create_db(target1);
    let plan = ok_json(
        run(
            d,
            &pg,
            &api,
            &[
                "--json",
                "restore",
                "shop",
                "--at",
                &t1,
                "--components",
                "database,storage",
                "--to",
                &pg.url(target1),
                "--storage-to",
                folder1.path().to_str().unwrap(),
                "--dry-run",
            ],
        ),
        "plan at t1",
    );
    assert_eq!(
        plan["storage"]["point"]["backup_id"],
        first.as_str(),
        "{plan}"
    );
    assert_eq!(plan["storage"]["at_time"], false, "{plan}");
    let said = plan["storage"]["said"].as_str().unwrap();
    assert!(
        said.contains("before TIME") && said.contains("not the state at TIME"),
        "{said}"
    );
    assert_eq!(plan["database"]["at_time"], true, "{plan}");
    assert!(
        plan["database"]["said"]
            .as_str()
            .unwrap()
            .contains("database at TIME"),
        "{plan}"
    );
    let restored = ok_json(
        run(
            d,
            &pg,
            &api,
            &[
                "--json",
                "restore",
                "shop",
                "--at",
                &t1,
                "--components",
                "database,storage",
                "--to",
                &pg.url(target1),
                "--storage-to",
                folder1.path().to_str().unwrap(),
            ],
        ),
        "restore at t1",
    );
    assert!(restored["storage"].is_object(), "{restored}");
    assert_eq!(digest(&pg, target1), d1, "the database at t1");
    let at1 = files(folder1.path());
    assert_eq!(
        at1.into_iter().collect::<Vec<_>>(),
        [
            (
                "media/a/changed.txt".to_string(),
                "first version".to_string()
            ),
            ("media/a/deleted.txt".into(), "deleted later".into()),
            ("media/kept.txt".into(), "kept".into()),
        ]
    );

    // TIME after the second pull: the second's objects (the incremental over the full).
    let folder2 = tempfile::tempdir().unwrap();
    let target2 = "whole_at_t2";
    pg.create_db(target2);
    let restored = ok_json(
        run(
            d,
            &pg,
            &api,
            &[
                "--json",
                "restore",
                "shop",
                "--at",
                &t2,
                "--components",
                "database,storage",
                "--to",
                &pg.url(target2),
                "--storage-to",
                folder2.path().to_str().unwrap(),
            ],
        ),
        "restore at t2",
    );
    assert_eq!(
        restored["plan"]["storage"]["point"]["backup_id"],
        second.as_str(),
        "{restored}"
    );
    assert_eq!(digest(&pg, target2), d2, "the database at t2");
    assert_eq!(
        files(folder2.path()).into_iter().collect::<Vec<_>>(),
        [
            (
                "media/a/changed.txt".to_string(),
                "second version, longer".to_string()
            ),
            ("media/b/added.txt".into(), "added".into()),
            ("media/kept.txt".into(), "kept".into()),
        ]
    );

    // The configuration as of each time: at t1 the first backup's site_url differs from the
    // project's now; written back, the first one returns. At t2 it is the second's.
    let config_at = |t: &str, extra: &[&str]| -> Value {
        let mut args = vec![
            "--json",
            "restore",
            "shop",
            "--at",
            t,
            "--components",
            "config",
            "--to",
            "shop",
        ];
        args.extend_from_slice(extra);
        ok_json(run(d, &pg, &api, &args), "config at a time")
    };
    let c1 = config_at(&t1, &["--dry-run"]);
    assert_eq!(c1["config"]["point"]["backup_id"], first.as_str(), "{c1}");
    let site = |plan: &Value| {
        plan["diffs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["setting"] == "site_url")
            .map(|d| d["archived"].clone())
    };
    assert_eq!(
        site(&c1["config"]["plan"]),
        Some(serde_json::json!("https://first.example.com")),
        "{c1}"
    );
    let c2 = config_at(&t2, &["--dry-run"]);
    assert_eq!(
        c2["config"]["point"]["backup_id"],
        second_config.as_str(),
        "{c2}"
    );
    assert_eq!(site(&c2["config"]["plan"]), None, "{c2}");
    config_at(&t1, &["--config-settings", "supabase/auth.json:site_url"]);
    let patches = fake.patches();
    assert!(
        patches
            .iter()
            .any(|(_, body)| body["site_url"] == "https://first.example.com"),
        "{patches:?}"
    );

    // Before any pull: the storage is refused, saying what to do; the plan still shows the
    // database.
    let out = run(
        d,
        &pg,
        &api,
        &[
            "--json",
            "restore",
            "shop",
            "--at",
            &before_pulls,
            "--components",
            "database,storage",
            "--to",
            &pg.url(target1),
            "--storage-to",
            folder1.path().to_str().unwrap(),
            "--dry-run",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let refused = json(&out);
    let blockers = refused["storage"]["blockers"].to_string();
    assert!(
        blockers.contains("no storage backup") && blockers.contains("restore a time at or after"),
        "{refused}"
    );
    assert!(refused["database"]["plan"].is_object(), "{refused}");
}

/// The storage step's objects: enough that it is still writing when the first has landed.
#[cfg(unix)]
const KILL_OBJECTS: usize = 160;

/// Object `i`'s bytes (256 KiB, different for every object).
#[cfg(unix)]
fn kill_body(i: usize) -> Vec<u8> {
    let seed = format!("object {i} ");
    seed.as_bytes()
        .iter()
        .cycle()
        .take(256 << 10)
        .copied()
        .collect()
}

/// Every file under `dir`: path relative to it → its bytes' length and a digest of them.
#[cfg(unix)]
fn file_digests(dir: &Path) -> std::collections::BTreeMap<String, (usize, u64)> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let b = std::fs::read(&p).unwrap();
                let mut h = std::collections::hash_map::DefaultHasher::new();
                std::hash::Hash::hash(&b, &mut h);
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, (b.len(), std::hash::Hasher::finish(&h)));
            }
        }
    }
    out
}

#[cfg(unix)]
#[test]
fn a_restore_to_a_time_killed_in_its_storage_step_is_interrupted_and_the_command_it_names_finishes_it(
) {
    use common::tree::{kill_tree, SpawnTree};
    let pg = TestCluster::start();
    pg.create_trusted_role(ROLE);
    pg.psql("postgres", &format!("ALTER ROLE {ROLE} REPLICATION"));
    let db = "whole_kill";
    pg.psql("postgres", &format!("CREATE DATABASE {db} OWNER {ROLE}"));
    sql(
        &pg,
        db,
        "CREATE TABLE public.orders (id serial PRIMARY KEY, note text);
         INSERT INTO public.orders (note) SELECT 'before ' || g FROM generate_series(1, 20) g;",
    );
    let s3 = S3sFsServer::start();
    for i in 0..KILL_OBJECTS {
        let p = s3.root().join(format!("media/f/{i:04}.bin"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, kill_body(i)).unwrap();
    }
    let source = file_digests(s3.root());
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let api = "http://127.0.0.1:9";
    ok_json(
        run(
            d,
            &pg,
            api,
            &[
                "--json",
                "project",
                "add",
                "shop",
                "--db",
                &owner_url(&pg, db),
                "--s3-endpoint",
                &s3.endpoint(),
                "--s3-key-id",
                S3S_KEY_ID,
                "--buckets",
                "media",
            ],
        ),
        "project add",
    );
    ok_json(
        run(d, &pg, api, &["--json", "pitr", "enable", "shop"]),
        "pitr enable",
    );
    ok_json(
        run(d, &pg, api, &["--json", "backup", "shop", "--type", "full"]),
        "full backup",
    );
    sql(
        &pg,
        db,
        "INSERT INTO public.orders (note) VALUES ('after the pull');",
    );
    let t = server_now(&pg);
    let at_t = digest(&pg, db);
    wait_past(&pg, &t);
    ok(
        run(d, &pg, api, &["pitr", "run", "shop", "--once"]),
        "pitr run --once",
    );

    let folder = tempfile::tempdir().unwrap();
    let target = "whole_kill_at";
    pg.create_db(target);
    let (mut child, tree) = offsite(
        d,
        &pg,
        &[
            "restore",
            "shop",
            "--at",
            &t,
            "--components",
            "database,storage",
            "--to",
            &pg.url(target),
            "--storage-to",
            folder.path().to_str().unwrap(),
        ],
    )
    .env("OFFSITE_S3_SECRET_ACCESS_KEY", S3S_SECRET)
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped())
    .spawn_tree();
    // An object's file renamed into place by the storage step (the database step came first).
    let bucket = folder.path().join("media/f");
    common::pg::wait_while_running(
        &mut child,
        "a file of the storage step landed",
        Duration::from_secs(300),
        || {
            std::fs::read_dir(&bucket)
                .is_ok_and(|mut d| {
                    d.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".bin")))
                })
                .then_some(())
        },
    );
    kill_tree(&tree, &mut child);
    let left = file_digests(folder.path()).len();
    println!("killed with {left} of {KILL_OBJECTS} files in the folder");
    assert!(
        left < KILL_OBJECTS,
        "the kill came part way ({left} written)"
    );

    // The next command: the storage step's job is interrupted, what it wrote removed again.
    let history = ok_json(
        run(d, &pg, api, &["--json", "history", "--kind", "restore"]),
        "history",
    );
    let job = &history["jobs"][0];
    assert_eq!(job["state"], "interrupted", "{history}");
    let message = job["error_message"].as_str().unwrap();
    assert!(
        message.contains("removed again")
            && message.contains("as it was before")
            && message.contains(&format!("database {target} on"))
            && message.contains("as it was at"),
        "{job}"
    );
    assert!(
        file_digests(folder.path()).is_empty(),
        "the folder is as before"
    );
    assert_eq!(
        digest(&pg, target),
        at_t,
        "the database step's restore stays"
    );

    // The command the job names finishes it: the storage step at the same time.
    let hint = job["error_hint"].as_str().unwrap();
    let command = &hint[hint.find("offsite restore ").expect(hint) + "offsite ".len()..];
    assert!(
        command.starts_with("restore shop --at ")
            && command.contains("--components storage --storage-to"),
        "{hint}"
    );
    let args: Vec<&str> = command.split_whitespace().collect();
    ok(run(d, &pg, api, &args), "the command the job names");
    let restored: std::collections::BTreeMap<_, _> = file_digests(folder.path());
    assert_eq!(restored, source, "the pull's objects exactly");
}

/// Supabase's `storage` tables, owned by the capturing role (the database's owner) so that the
/// capture covers them as it does on a project, and the bucket `media`.
fn storage_schema() -> String {
    format!(
        "{}INSERT INTO storage.buckets (id, name) VALUES ('media', 'media');",
        offsite_testkit::STORAGE_TABLES
    )
}

/// An upload as Supabase's Storage API makes it: the bytes into the store, then the object's
/// row (inserted, or updated on an overwrite) with the ETag, size and type in `metadata`.
fn upload(pg: &TestCluster, db: &str, root: &Path, key: &str, body: &str) {
    put(root, key, body);
    let (k, b) = (key.replace('\'', "''"), body.replace('\'', "''"));
    sql(
        pg,
        db,
        &format!(
            "INSERT INTO storage.objects (bucket_id, name, metadata) VALUES ('media', '{k}', \
             jsonb_build_object('eTag', '\"' || md5('{b}') || '\"', 'size', length('{b}'), \
             'mimetype', 'text/plain')) \
             ON CONFLICT (bucket_id, name) DO UPDATE SET metadata = excluded.metadata, \
             updated_at = now()"
        ),
    );
}

/// The first folder `pitr/<name>` under `root` (depth first).
fn walk_for(root: &Path, name: &str) -> Option<std::path::PathBuf> {
    for e in std::fs::read_dir(root).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == name)
                && p.parent()
                    .and_then(|q| q.file_name())
                    .is_some_and(|n| n == "pitr")
            {
                return Some(p);
            }
            if let Some(f) = walk_for(&p, name) {
                return Some(f);
            }
        }
    }
    None
}

/// Issue 66 item 4: the capture keeps each object version its `storage.objects` rows name, and
/// a restore to a time of the database and the storage gives the objects exactly as the rows
/// say at TIME — an object uploaded after TIME is not there, one overwritten after TIME is the
/// version of TIME, and one deleted after TIME is not lost — through the real binary, against
/// s3s-fs and a cluster with Supabase's storage tables.
#[test]
fn storage_at_a_time_is_what_its_rows_say_then() {
    let pg = TestCluster::start();
    pg.create_trusted_role(ROLE);
    pg.psql("postgres", &format!("ALTER ROLE {ROLE} REPLICATION"));
    let db = "rows_shop";
    pg.psql("postgres", &format!("CREATE DATABASE {db} OWNER {ROLE}"));
    sql(&pg, db, &storage_schema());
    let s3 = S3sFsServer::start();
    let root = s3.root();
    std::fs::create_dir_all(root.join("media")).unwrap();
    upload(&pg, db, root, "old.txt", "there before the capture");
    let fake = FakeManagementApi::start();
    let api = fake.base_url();
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let endpoint = s3.endpoint();
    ok_json(
        run(
            d,
            &pg,
            &api,
            &[
                "--json",
                "project",
                "add",
                "shop",
                "--db",
                &owner_url(&pg, db),
                "--s3-endpoint",
                &endpoint,
                "--s3-key-id",
                S3S_KEY_ID,
                "--buckets",
                "media",
            ],
        ),
        "project add",
    );
    // A second copy: the segments and the kept objects' versions go there too.
    let usb = tempfile::tempdir().unwrap();
    ok_json(
        run(
            d,
            &pg,
            &api,
            &[
                "--json",
                "destination",
                "add",
                "shop",
                "usb",
                "--folder",
                usb.path().to_str().unwrap(),
            ],
        ),
        "destination add",
    );
    ok_json(
        run(d, &pg, &api, &["--json", "pitr", "enable", "shop"]),
        "pitr enable",
    );
    let pulled = backup_id(&ok_json(
        run(
            d,
            &pg,
            &api,
            &["--json", "backup", "shop", "--type", "full"],
        ),
        "full backup",
    ));

    // Uploaded after the pull: only the capture can have it.
    upload(&pg, db, root, "a.txt", "first version");
    // A pass reads what the server has flushed (the test cluster commits asynchronously): the
    // commits are a second old first.
    wait_past(&pg, &server_now(&pg));
    let pass = ok_json(
        run(d, &pg, &api, &["--json", "pitr", "run", "shop", "--once"]),
        "first pass",
    );
    assert_eq!(pass["objects_kept"], 1, "{pass}");
    assert_eq!(pass["objects_missed"], 0, "{pass}");
    let t = server_now(&pg);
    wait_past(&pg, &t);

    // After TIME: a new object, the first overwritten, the one from before deleted.
    upload(&pg, db, root, "b.txt", "uploaded after the time");
    upload(&pg, db, root, "a.txt", "second version, after the time");
    std::fs::remove_file(root.join("media/old.txt")).unwrap();
    sql(
        &pg,
        db,
        "DELETE FROM storage.objects WHERE name = 'old.txt'",
    );
    wait_past(&pg, &server_now(&pg));
    let pass = ok_json(
        run(d, &pg, &api, &["--json", "pitr", "run", "shop", "--once"]),
        "second pass",
    );
    assert_eq!(pass["objects_kept"], 2, "{pass}");
    // Nothing the rows name is kept twice: a pass over no new rows fetches nothing.
    let pass = ok_json(
        run(d, &pg, &api, &["--json", "pitr", "run", "shop", "--once"]),
        "third pass",
    );
    assert_eq!(pass["objects_kept"], 0, "{pass}");
    assert_eq!(pass["copies_pending"], 0, "{pass}");
    // At the destination: the three versions' contents, and an index listing them.
    let copied = usb.path().join("shop/pitr/objects");
    let index = std::fs::read_to_string(copied.join("index.jsonl")).unwrap();
    assert_eq!(index.lines().count(), 3, "{index}");
    let mut contents: Vec<String> = files(&copied)
        .into_iter()
        // Not the index, nor the folder destination's lock files.
        .filter(|(k, _)| k != "index.jsonl" && !k.ends_with(".offsite-folder.lock"))
        .map(|(_, v)| v)
        .collect();
    contents.sort();
    assert_eq!(
        contents,
        [
            "first version",
            "second version, after the time",
            "uploaded after the time"
        ]
    );
    // `pitr verify` reads every kept version back; one damaged on disk is named, exit 1.
    let verified = ok_json(
        run(d, &pg, &api, &["--json", "pitr", "verify", "shop"]),
        "pitr verify",
    );
    assert_eq!(verified["objects_checked"], 3, "{verified}");
    assert_eq!(verified["objects_damaged_count"], 0, "{verified}");
    let here = walk_for(d, "objects").expect("the capture's objects folder");
    let second = files(&here)
        .into_iter()
        .find(|(_, v)| v == "second version, after the time")
        .map(|(k, _)| here.join(k))
        .expect("the kept second version");
    std::fs::write(&second, "second version, after the timE").unwrap();
    let damaged = run(d, &pg, &api, &["pitr", "verify", "shop"]);
    assert_eq!(damaged.status.code(), Some(1));
    let said = String::from_utf8_lossy(&damaged.stdout);
    assert!(
        said.contains("DAMAGED  kept object media/a.txt")
            && said.contains("3 kept Storage object version(s) checked, 1 missing or damaged"),
        "{said}"
    );
    // This machine loses what its capture kept of the objects (a damaged or replaced disk):
    // the restore to a time brings the versions back from the copy.
    assert!(here.join("index.jsonl").is_file(), "{}", here.display());
    std::fs::remove_dir_all(&here).unwrap();

    let target = "rows_at_t";
    pg.create_db(target);
    let folder = tempfile::tempdir().unwrap();
    let args = [
        "--json",
        "restore",
        "shop",
        "--at",
        &t,
        "--components",
        "database,storage",
        "--to",
        &pg.url(target),
        "--storage-to",
        folder.path().to_str().unwrap(),
    ];
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let plan = ok_json(run(d, &pg, &api, &dry), "plan at t");
    assert_eq!(plan["storage"]["at_time"], true, "{plan}");
    assert_eq!(
        plan["storage"]["point"]["backup_id"],
        pulled.as_str(),
        "{plan}"
    );
    assert!(
        plan["storage"]["said"]
            .as_str()
            .unwrap()
            .contains("storage.objects rows list at TIME"),
        "{plan}"
    );
    let restored = ok_json(run(d, &pg, &api, &args), "restore at t");
    let at = &restored["storage_at"];
    assert_eq!(at["objects"], 2, "{restored}");
    assert_eq!(at["from_capture"], 1, "{restored}");
    assert_eq!(at["from_pull"], 1, "{restored}");
    assert_eq!(at["older_count"], 0, "{restored}");
    assert_eq!(at["missing_count"], 0, "{restored}");
    assert_eq!(
        files(folder.path()).into_iter().collect::<Vec<_>>(),
        [
            ("media/a.txt".to_string(), "first version".to_string()),
            ("media/old.txt".into(), "there before the capture".into()),
        ]
    );
    // The rows restored with them say the same.
    assert_eq!(
        pg.psql(
            target,
            "SELECT string_agg(name, ',' ORDER BY name) FROM storage.objects"
        )
        .trim(),
        "a.txt,old.txt"
    );
    // The storage alone, chosen by the rows of the database restored to TIME above (what
    // finishes an interrupted storage step of such a restore): the same objects.
    let folder_again = tempfile::tempdir().unwrap();
    let again = ok_json(
        run(
            d,
            &pg,
            &api,
            &[
                "--json",
                "restore",
                "shop",
                "--at",
                &t,
                "--components",
                "storage",
                "--storage-to",
                folder_again.path().to_str().unwrap(),
                "--storage-rows-from",
                &pg.url(target),
            ],
        ),
        "storage again by the rows of the restored database",
    );
    assert_eq!(again["storage_at"]["from_capture"], 1, "{again}");
    assert_eq!(files(folder_again.path()), files(folder.path()));
    // With the database restored by the same request, its own rows decide: refused.
    let both = run(
        d,
        &pg,
        &api,
        &[
            "restore",
            "shop",
            "--at",
            &t,
            "--components",
            "database,storage",
            "--to",
            &pg.url(target),
            "--storage-to",
            folder_again.path().to_str().unwrap(),
            "--storage-rows-from",
            &pg.url(target),
            "--dry-run",
        ],
    );
    assert!(!both.status.success());
    assert!(
        String::from_utf8_lossy(&both.stderr)
            .contains("only when the storage is restored without the database"),
        "{}",
        String::from_utf8_lossy(&both.stderr)
    );

    // Now: the rows of now, every object's latest version (the deleted one gone).
    let now = server_now(&pg);
    wait_past(&pg, &now);
    run(d, &pg, &api, &["pitr", "run", "shop", "--once"]);
    let target_now = "rows_now";
    pg.create_db(target_now);
    let folder_now = tempfile::tempdir().unwrap();
    let restored = ok_json(
        run(
            d,
            &pg,
            &api,
            &[
                "--json",
                "restore",
                "shop",
                "--at",
                &now,
                "--components",
                "database,storage",
                "--to",
                &pg.url(target_now),
                "--storage-to",
                folder_now.path().to_str().unwrap(),
            ],
        ),
        "restore now",
    );
    assert_eq!(restored["storage_at"]["from_capture"], 2, "{restored}");
    assert_eq!(
        files(folder_now.path()).into_iter().collect::<Vec<_>>(),
        [
            (
                "media/a.txt".to_string(),
                "second version, after the time".to_string()
            ),
            ("media/b.txt".into(), "uploaded after the time".into()),
        ]
    );
}
