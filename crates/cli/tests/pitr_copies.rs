//! Point-in-time change segments at the project's destinations (issue 46, docs/pitr.md "Copies
//! at the destinations"), through the `offsite` binary and a real cluster (a REPLICATION role,
//! not superuser): each segment a capture pass closes is copied to every destination with its
//! `.sha256`; a segment missing here makes `status` name the destination holding a copy, and a
//! restore to a time fetches it back (checksum checked) and gives that instant's tables;
//! `pitr verify` checks the copies too (a damaged copy is named, exit 1); `offsite sync` copies
//! the segments to a destination added later; pruning a window deletes its copies there.

mod common;

use common::pg::{ok, ok_json, run, server_now};
use offsite_testkit::TestCluster;
use std::path::{Path, PathBuf};
use std::time::Duration;

const ROLE: &str = "pitr_copier";

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

fn writes(pg: &TestCluster, db: &str, round: i32) {
    for k in 0..5 {
        sql(
            pg,
            db,
            &format!("INSERT INTO public.orders (note, qty) VALUES ('round {round} #{k}', {k})"),
        );
    }
    sql(
        pg,
        db,
        &format!("UPDATE public.orders SET qty = qty + {round} WHERE id % 2 = 0"),
    );
}

/// Every segment file under `dir` (plain or encrypted), by name.
fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            out.extend(segment_files(&p));
        } else if name.ends_with(".pitr") || name.ends_with(".pitr.age") {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn name_of(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// The copy of local segment `seg` at a folder destination.
fn copy_at(dest: &Path, seg: &Path) -> PathBuf {
    dest.join("shop").join("pitr").join(name_of(seg))
}

fn pass(d: &Path, pg: &TestCluster) -> serde_json::Value {
    ok_json(
        run(d, pg, &["--json", "pitr", "run", "shop", "--once"]),
        "pitr run --once",
    )
}

#[test]
fn segments_are_copied_fetched_verified_and_pruned_at_destinations() {
    let pg = TestCluster::start();
    pg.create_trusted_role(ROLE);
    pg.psql("postgres", &format!("ALTER ROLE {ROLE} REPLICATION"));
    let db = "pitr_copies";
    pg.psql("postgres", &format!("CREATE DATABASE {db} OWNER {ROLE}"));
    sql(
        &pg,
        db,
        "CREATE TABLE public.orders (id serial PRIMARY KEY, note text, qty int NOT NULL)",
    );
    let data = tempfile::tempdir().unwrap();
    let d = data.path().join("data");
    let d = d.as_path();
    let usb = data.path().join("usb");
    let nas = data.path().join("nas");
    std::fs::create_dir_all(&usb).unwrap();
    std::fs::create_dir_all(&nas).unwrap();
    ok(
        run(
            d,
            &pg,
            &["project", "add", "shop", "--db", &owner_url(&pg, db)],
        ),
        "project add",
    );
    ok(
        run(
            d,
            &pg,
            &[
                "destination",
                "add",
                "shop",
                "usb",
                "--folder",
                usb.to_str().unwrap(),
            ],
        ),
        "destination add usb",
    );
    ok(run(d, &pg, &["pitr", "enable", "shop"]), "pitr enable");

    // Each pass's segments go to the destination, with their .sha256, byte for byte.
    writes(&pg, db, 1);
    let t1 = server_now(&pg);
    let want1 = digest(&pg, db);
    std::thread::sleep(Duration::from_millis(1200));
    let p = pass(d, &pg);
    assert!(p["segments"].as_u64().unwrap() >= 1, "{p}");
    assert_eq!(p["copies_pending"], 0, "{p}");
    writes(&pg, db, 2);
    std::thread::sleep(Duration::from_millis(1200));
    pass(d, &pg);
    let segs = segment_files(d);
    assert!(segs.len() >= 2, "{segs:?}");
    for s in &segs {
        let c = copy_at(&usb, s);
        assert_eq!(
            std::fs::read(&c).unwrap(),
            std::fs::read(s).unwrap(),
            "{c:?}"
        );
        let side = std::fs::read_to_string(format!("{}.sha256", c.display())).unwrap();
        assert!(side.contains(&name_of(s)), "{side}");
    }

    // The first segment is lost here: status says the window breaks there and where a copy is.
    let first = segs[0].clone();
    let first_bytes = std::fs::read(&first).unwrap();
    std::fs::remove_file(&first).unwrap();
    let status = ok_json(
        run(d, &pg, &["--json", "pitr", "status", "shop"]),
        "pitr status",
    );
    let broken = status["windows"][0]["broken_by"]
        .as_str()
        .unwrap_or_default();
    assert!(broken.contains("missing or damaged"), "{status}");
    assert!(broken.contains("a copy is stored at usb"), "{status}");
    // verify: the local segment is missing (exit 1); its copies are intact.
    let out = run(d, &pg, &["--json", "pitr", "verify", "shop"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["damaged"], 1, "{v}");
    assert_eq!(v["copies"].as_array().unwrap().len(), segs.len(), "{v}");
    assert_eq!(v["copies_damaged"], 0, "{v}");

    // A restore to a time fetches it back from the copy, checked (its plan, even a dry run,
    // says so), and gives that instant.
    let plan = ok_json(
        run(
            d,
            &pg,
            &[
                "--json",
                "restore",
                "shop",
                "--at",
                &t1,
                "--to",
                &pg.url("postgres"),
                "--dry-run",
            ],
        ),
        "restore --at --dry-run",
    );
    assert_eq!(plan["fetched"][0]["destination"], "usb", "{plan}");
    assert_eq!(std::fs::read(&first).unwrap(), first_bytes);
    std::fs::remove_file(&first).unwrap();
    pg.create_db("pitr_copies_t1");
    let done = ok_json(
        run(
            d,
            &pg,
            &[
                "--json",
                "restore",
                "shop",
                "--at",
                &t1,
                "--to",
                &pg.url("pitr_copies_t1"),
            ],
        ),
        "restore --at",
    );
    assert_eq!(digest(&pg, "pitr_copies_t1"), want1, "{done}");
    assert_eq!(std::fs::read(&first).unwrap(), first_bytes);
    ok(run(d, &pg, &["pitr", "verify", "shop"]), "pitr verify");

    // A copy damaged at the destination is named by verify (exit 1); a local segment damaged
    // and a copy that does not match is never fetched: the window stays broken.
    let last = segs.last().unwrap();
    let victim = copy_at(&usb, last);
    let good = std::fs::read(&victim).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x41;
    std::fs::write(&victim, &bad).unwrap();
    let out = run(d, &pg, &["pitr", "verify", "shop"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.lines().any(|l| l.starts_with("DAMAGED  copy usb:")
            && l.contains(&name_of(last))
            && l.contains("checksum")),
        "{text}"
    );
    let local = std::fs::read(last).unwrap();
    std::fs::write(last, &bad).unwrap();
    let plan = ok_json(
        run(
            d,
            &pg,
            &[
                "--json",
                "restore",
                "shop",
                "--at",
                &t1,
                "--to",
                &pg.url("postgres"),
                "--dry-run",
            ],
        ),
        "restore --at --dry-run",
    );
    assert_eq!(plan["fetched"].as_array().unwrap().len(), 0, "{plan}");
    assert_eq!(
        std::fs::read(last).unwrap(),
        bad,
        "a damaged copy was put in place"
    );
    std::fs::write(last, &local).unwrap();
    std::fs::write(&victim, &good).unwrap();

    // A destination added later gets every segment at the next sync.
    ok(
        run(
            d,
            &pg,
            &[
                "destination",
                "add",
                "shop",
                "nas",
                "--folder",
                nas.to_str().unwrap(),
            ],
        ),
        "destination add nas",
    );
    let s = ok_json(run(d, &pg, &["--json", "sync", "shop"]), "sync");
    assert_eq!(s["sync"]["segments"]["pending"], 0, "{s}");
    for seg in &segs {
        assert!(copy_at(&nas, seg).is_file(), "{seg:?} not at nas: {s}");
    }

    // Pruning a window deletes its copies at every destination.
    ok(run(d, &pg, &["pitr", "disable", "shop"]), "pitr disable");
    std::thread::sleep(Duration::from_millis(2500));
    ok(
        run(d, &pg, &["pitr", "enable", "shop"]),
        "pitr enable again",
    );
    let pruned = ok_json(
        run(
            d,
            &pg,
            &["--json", "pitr", "prune", "shop", "--keep-within", "1s"],
        ),
        "pitr prune",
    );
    assert_eq!(pruned["removed"].as_array().unwrap().len(), 1, "{pruned}");
    assert_eq!(
        pruned["copies_removed"].as_array().unwrap().len(),
        2 * segs.len(),
        "{pruned}"
    );
    for seg in &segs {
        for dest in [&usb, &nas] {
            let c = copy_at(dest, seg);
            assert!(!c.exists(), "{c:?} left after the prune");
            assert!(!Path::new(&format!("{}.sha256", c.display())).exists());
        }
    }
    ok(run(d, &pg, &["pitr", "disable", "shop"]), "pitr disable");
}
