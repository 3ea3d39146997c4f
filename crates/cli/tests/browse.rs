//! `offsite browse` as scripts use it: the tables of a backup, a page of rows, a CSV export,
//! storage-less backups saying so — and memory that does not grow with the table (peak RSS
//! of the process, measured by GNU time).

mod common;

use common::pg::{json, measured, offsite, ok};
use offsite_testkit::TestCluster;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

#[test]
fn browse_lists_pages_and_exports_with_memory_that_does_not_grow_with_the_table() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("clibrowse");
    // ~35 MB of COPY text in `big`, behind a small table in the dump.
    pg.psql(
        &db,
        "CREATE TABLE public.a_small (id int, v text);
         INSERT INTO public.a_small SELECT g, 'v' || g FROM generate_series(1, 50) g;
         CREATE TABLE public.big (id bigint, body text);
         INSERT INTO public.big SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 250000) g;",
    );
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok(
        offsite(d, pg, &["project", "add", "shop", "--db", &pg.url(&db)])
            .output()
            .unwrap(),
        "project add",
    );
    let backup = json(&ok(
        offsite(d, pg, &["--json", "backup", "shop"])
            .output()
            .unwrap(),
        "backup",
    ));
    let archive = backup["path"].as_str().unwrap().to_string();

    // The tables, named by PROJECT:latest.
    let tables = json(&ok(
        offsite(d, pg, &["--json", "browse", "shop:latest"])
            .output()
            .unwrap(),
        "browse",
    ));
    assert_eq!(tables["readable"], true);
    let big = tables["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "big")
        .expect("big listed")
        .clone();
    assert_eq!(big["rows"], 250000);
    assert!(big["data_bytes"].as_u64().unwrap() > 30_000_000, "{big}");

    // A page deep in, in text.
    let out = ok(
        offsite(
            d,
            pg,
            &[
                "browse", &archive, "--table", "big", "--limit", "2", "--offset", "200000",
            ],
        )
        .output()
        .unwrap(),
        "page",
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "id | body");
    assert!(lines[1].starts_with("200001 | "), "{text}");
    assert!(lines[2].starts_with("200002 | "), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("more with --offset 200002"));

    // The CSV of the big table costs the memory of the small one's (it streams).
    let small_csv = d.join("small.csv");
    let big_csv = d.join("big.csv");
    let (_, small_rss) = measured(
        d,
        pg,
        &[
            "browse",
            &archive,
            "--table",
            "public.a_small",
            "--csv",
            small_csv.to_str().unwrap(),
        ],
    );
    let (out, big_rss) = measured(
        d,
        pg,
        &[
            "--json",
            "browse",
            &archive,
            "--table",
            "public.big",
            "--csv",
            big_csv.to_str().unwrap(),
        ],
    );
    let done = json(&out);
    assert_eq!(done["rows"], 250000);
    let csv_len = std::fs::metadata(&big_csv).unwrap().len();
    assert!(csv_len > 30_000_000, "{csv_len}");
    assert!(
        big_rss < small_rss + 16 * 1024,
        "peak RSS {big_rss} KiB exporting {csv_len} bytes vs {small_rss} KiB for 50 rows"
    );
    // A first page reads only what it shows.
    let (out, page_rss) = measured(
        d,
        pg,
        &["--json", "browse", &archive, "--table", "public.big"],
    );
    let page = json(&out);
    assert_eq!(page["rows"].as_array().unwrap().len(), 20);
    assert_eq!(page["scanned"], 20);
    assert!(
        page_rss < small_rss + 16 * 1024,
        "{page_rss} KiB vs {small_rss} KiB"
    );

    // The columns and their types, from the dump's CREATE TABLE statement.
    let out = ok(
        offsite(
            d,
            pg,
            &["browse", &archive, "--table", "public.big", "--columns"],
        )
        .output()
        .unwrap(),
        "columns",
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "id\tbigint\nbody\ttext\n"
    );
    let cols = json(&ok(
        offsite(
            d,
            pg,
            &[
                "--json",
                "browse",
                &archive,
                "--table",
                "a_small",
                "--columns",
            ],
        )
        .output()
        .unwrap(),
        "columns --json",
    ));
    assert_eq!(cols["columns"], serde_json::json!(["id", "v"]));
    assert_eq!(cols["column_types"], serde_json::json!(["integer", "text"]));
    assert_eq!(cols["types_note"], Value::Null);
    // A page in JSON carries them too.
    assert_eq!(page["column_types"], serde_json::json!(["bigint", "text"]));
    // --filter names rows or objects: alone it is refused.
    let out = offsite(d, pg, &["--json", "browse", &archive, "--filter", "x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(json(&out)["error"]["code"], "invalid_input");

    // No storage in a database backup: said clearly.
    let out = offsite(d, pg, &["--json", "browse", &archive, "--objects"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = json(&out);
    assert_eq!(err["error"]["code"], "not_found", "{err}");

    objects_page_past_the_first_hundreds(d, pg, Path::new(&archive));
}

/// A storage archive of 1,200 objects (its `storage.json`, the manifest of `like`): every
/// object reached with --offset, found with --prefix and --filter, pages capped at 1000.
fn objects_page_past_the_first_hundreds(d: &Path, pg: &TestCluster, like: &Path) {
    use offsite_core::archive::{self, ArchiveWriter};
    use offsite_core::storage::{ObjectEntry, StorageDoc, STORAGE_DOC};
    let mut m = archive::read_manifest(like).unwrap();
    m.members.clear();
    m.components.clear();
    let doc = StorageDoc {
        objects: (0..1200)
            .map(|i| ObjectEntry {
                bucket: if i < 600 { "avatars" } else { "docs" }.into(),
                key: format!("k/{i:04}.txt"),
                size: 1,
                sha256: "0".repeat(64),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let dir = d.join("objects");
    std::fs::create_dir_all(&dir).unwrap();
    let mut w = ArchiveWriter::create(&dir, "shop_storage.tar.gz", 3).unwrap();
    w.add_bytes(STORAGE_DOC, serde_json::to_vec(&doc).unwrap());
    let cancel = tokio_util::sync::CancellationToken::new();
    let path = w
        .finish(m, &offsite_core::progress::Reporter::silent(), &cancel)
        .unwrap()
        .path;
    let path = path.to_str().unwrap();
    let list = |extra: &[&str]| {
        let mut args = vec!["--json", "browse", path, "--objects"];
        args.extend_from_slice(extra);
        json(&ok(
            offsite(d, pg, &args).output().unwrap(),
            &extra.join(" "),
        ))
    };
    let keys = |v: &Value| -> Vec<String> {
        v["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                format!(
                    "{}/{}",
                    o["bucket"].as_str().unwrap(),
                    o["key"].as_str().unwrap()
                )
            })
            .collect()
    };
    let page = list(&["--limit", "5000"]);
    assert_eq!(page["total"], 1200);
    assert_eq!(keys(&page).len(), 1000);
    assert_eq!(page["more"], true);
    let rest = list(&["--limit", "5000", "--offset", "1000"]);
    assert_eq!(
        keys(&rest).first().map(String::as_str),
        Some("docs/k/1000.txt")
    );
    assert_eq!(keys(&rest).len(), 200);
    assert_eq!(rest["more"], false);
    let p = list(&["--bucket", "docs", "--prefix", "k/11", "--limit", "3"]);
    assert_eq!(p["total"], 100);
    assert_eq!(
        keys(&p),
        vec!["docs/k/1100.txt", "docs/k/1101.txt", "docs/k/1102.txt"]
    );
    let p = list(&["--filter", "AVATARS/K/059"]);
    assert_eq!(p["total"], 10);
    assert_eq!(keys(&p)[9], "avatars/k/0599.txt");
    // In text: one line per object, the range and how to go on.
    let out = ok(
        offsite(
            d,
            pg,
            &[
                "browse",
                path,
                "--objects",
                "--offset",
                "598",
                "--limit",
                "3",
            ],
        )
        .output()
        .unwrap(),
        "objects text",
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("avatars/k/0598.txt\t"), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("objects 599-601 of 1200; more with --offset 601"));
}

/// The default backup is a parallel dump (archive format 2); `--jobs 1` still makes one
/// `pg_dump -Fc` stream (format 1), which verifies, browses and restores as before.
#[test]
fn a_one_stream_backup_is_format_1_and_still_verifies_restores_and_browses() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("cliformat1");
    pg.psql(
        &db,
        "CREATE TABLE public.notes (id int PRIMARY KEY, body text);
         INSERT INTO public.notes SELECT g, 'note ' || g FROM generate_series(1, 321) g;
         CREATE TABLE public.tags (id int, tag text);
         INSERT INTO public.tags SELECT g, 't' || g FROM generate_series(1, 12) g;",
    );
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let run = |args: &[&str]| json(&ok(offsite(d, pg, args).output().unwrap(), &args.join(" ")));
    run(&["--json", "project", "add", "shop", "--db", &pg.url(&db)]);

    let default = run(&["--json", "backup", "shop"]);
    let default = default["path"].as_str().unwrap().to_string();
    assert_eq!(run(&["--json", "inspect", &default])["format_version"], 2);

    let one = run(&["--json", "backup", "shop", "--jobs", "1"]);
    let one = one["path"].as_str().unwrap().to_string();
    let m = run(&["--json", "inspect", &one]);
    assert_eq!(m["format_version"], 1, "{m}");
    let listed = Command::new("tar").arg("-tf").arg(&one).output().unwrap();
    let names = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(names.lines().any(|l| l == "database.dump"), "{names}");
    assert!(!names.contains("database/"), "{names}");

    assert_eq!(run(&["--json", "verify", &one])["ok"], true);
    let tables = run(&["--json", "browse", &one]);
    assert_eq!(tables["readable"], true);
    let notes = tables["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "notes")
        .expect("notes listed")
        .clone();
    assert_eq!(notes["rows"], 321);
    let page = run(&[
        "--json",
        "browse",
        &one,
        "--table",
        "public.notes",
        "--limit",
        "2",
    ]);
    assert_eq!(page["rows"].as_array().unwrap().len(), 2, "{page}");

    let dst = pg.unique_db("cliformat1_dst");
    let r = run(&[
        "--json",
        "restore",
        &one,
        "--to",
        &pg.url_with_password(&dst),
    ]);
    assert_eq!(r["report"]["ok"], true, "{r}");
    assert_eq!(pg.psql(&dst, "SELECT count(*) FROM public.notes"), "321");
    assert_eq!(pg.psql(&dst, "SELECT count(*) FROM public.tags"), "12");
}
