//! docs/recovery.md, run (issue 47 item 9): the `offsite` lines of the runbook are read from the
//! page itself and run, scenario by scenario in the page's order, against a real cluster — the
//! page's example names swapped for the test's (its databases, a folder destination named
//! `bucket`, the real backup id and archive, the exported recovery key). After each scenario the
//! test checks that the loss it describes was repaired: the deleted rows are back, the dropped
//! column is back, the new and the clean server hold the data, the fetched copy is the archive,
//! a new computer with nothing but the archive and the key restores it.
//!
//! Not run here: "A Supabase project deleted" (its `project add --supabase` needs a Supabase
//! project; its restore of storage, settings and Edge Functions is tested against the local
//! Management API in crates/core/tests/engine/config_functions.rs and supabase_project.rs). Its
//! lines are parsed by the docs examples test like every other.

mod common;

use common::pg::{ok, run};
use offsite_core::secrets::{env_var_for_key, project_encryption_passphrase_key};
use offsite_testkit::TestCluster;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// The page's `offsite` lines by scenario (its `##` headings; the lines before the first one
/// under ""), in order.
fn runbook() -> BTreeMap<String, Vec<String>> {
    let page = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/recovery.md"
    ))
    .unwrap();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let (mut section, mut in_sh) = (String::new(), false);
    for line in page.lines() {
        let t = line.trim();
        if let Some(h) = line.strip_prefix("## ") {
            section = h.trim().to_string();
        } else if t == "```sh" {
            in_sh = true;
        } else if t == "```" {
            in_sh = false;
        } else if in_sh && t.starts_with("offsite ") {
            out.entry(section.clone()).or_default().push(t.to_string());
        }
    }
    out
}

/// A line's words as a shell splits them (double quotes), and the file of a `< FILE` redirect.
fn words(line: &str) -> (Vec<String>, Option<String>) {
    let (mut out, mut cur, mut quoted, mut any) = (Vec::new(), String::new(), false, false);
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    assert!(!quoted, "an unclosed quote in {line}");
    if any {
        out.push(cur);
    }
    let stdin = match out.iter().position(|w| w == "<") {
        Some(i) => {
            let file = out.get(i + 1).cloned();
            out.truncate(i);
            file
        }
        None => None,
    };
    (out, stdin)
}

struct Book {
    data: PathBuf,
    swaps: Vec<(String, String)>,
}

impl Book {
    /// Runs one of the page's lines (after the swaps) and asserts it succeeded; its stdout.
    fn run(&self, pg: &TestCluster, line: &str) -> String {
        let mut l = line.to_string();
        for (from, to) in &self.swaps {
            l = l.replace(from, to);
        }
        let (w, stdin) = words(&l);
        assert_eq!(w[0], "offsite", "{line}");
        let args: Vec<&str> = w[1..].iter().map(String::as_str).collect();
        let mut c = common::pg::offsite(&self.data, pg, &args);
        if let Some(f) = stdin {
            c.stdin(Stdio::from(std::fs::File::open(&f).unwrap()));
        }
        let out = ok(c.output().unwrap(), &format!("{line}\n  ran as: {l}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn count(pg: &TestCluster, db: &str, sql: &str) -> i64 {
    pg.psql(db, sql).trim().parse().unwrap()
}

const SHOP: &str = "
    CREATE TABLE customers (id int PRIMARY KEY, name text);
    INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 20) g;
    CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customers, note text);
    INSERT INTO orders SELECT g, g % 20 + 1, 'order ' || g FROM generate_series(1, 400) g;
    CREATE TABLE order_items (id int PRIMARY KEY, order_id int REFERENCES orders, qty int);
    INSERT INTO order_items SELECT g, g % 400 + 1, g FROM generate_series(1, 800) g;
";

/// The id and path of `shop:latest` (`~n`: n before it).
fn backup(book: &Book, pg: &TestCluster, n: usize) -> (String, PathBuf) {
    let out = run(&book.data, pg, &["--json", "backups", "shop"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let b = &v["backups"][n];
    (
        b["id"].as_str().unwrap().to_string(),
        PathBuf::from(b["path"].as_str().unwrap()),
    )
}

/// Deletes the local archive (the file is "lost"), runs the page's `fetch-copy` and checks the
/// file is back, byte for byte.
fn lose_and_fetch(book: &Book, pg: &TestCluster, path: &Path, line: &str) {
    let bytes = std::fs::read(path).unwrap();
    std::fs::remove_file(path).unwrap();
    book.run(pg, line);
    assert_eq!(std::fs::read(path).unwrap(), bytes, "{}", path.display());
}

#[test]
fn every_scenario_of_the_recovery_runbook_runs_as_written() {
    let book_lines = runbook();
    let pg = TestCluster::shared();
    let tmp = tempfile::tempdir().unwrap();
    let db = pg.unique_db("runbook");
    pg.psql(&db, SHOP);
    let (new_db, clean_db, copy_db) = (
        pg.unique_db("runbook_new"),
        pg.unique_db("runbook_clean"),
        pg.unique_db("runbook_copy"),
    );
    let data = tmp.path().join("data");
    let card = tmp.path().join("shop-card.html");
    let mut book = Book {
        data: data.clone(),
        swaps: vec![
            // Longest first: `…/shop_copy` before `…/shop`.
            (
                "postgres://postgres@db.example.com/shop_copy".into(),
                pg.url(&copy_db),
            ),
            (
                "postgres://postgres@new-db.example.com/shop".into(),
                pg.url(&new_db),
            ),
            (
                "postgres://postgres@clean-db.example.com/shop".into(),
                pg.url(&clean_db),
            ),
            ("shop-card.html".into(), card.display().to_string()),
        ],
    };
    let bucket = tmp.path().join("bucket");
    std::fs::create_dir_all(&bucket).unwrap();
    ok(
        run(&data, pg, &["project", "add", "shop", "--db", &pg.url(&db)]),
        "project add",
    );
    ok(
        run(
            &data,
            pg,
            &[
                "destination",
                "add",
                "shop",
                "bucket",
                "--folder",
                bucket.to_str().unwrap(),
            ],
        ),
        "destination add",
    );
    ok(
        run(
            &data,
            pg,
            &["backup", "shop", "--note", "before the deploy"],
        ),
        "first backup",
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    ok(run(&data, pg, &["backup", "shop"]), "second backup");

    // Before anything goes wrong: targets, a drill, the card.
    let before = &book_lines[""];
    assert_eq!(before.len(), 3, "{before:?}");
    for line in before {
        book.run(pg, line);
    }
    let html = std::fs::read_to_string(&card).unwrap();
    assert!(html.contains("Ann Lee"), "the card's contact");
    let shown = book.run(pg, "offsite project show shop");
    assert!(shown.contains("RPO 1d, RTO 30m"), "{shown}");

    // A table or rows deleted: customer 7's orders (and their items) are deleted by mistake.
    let orders_of_7 = "SELECT count(*) FROM orders WHERE customer_id = 7";
    let had = count(pg, &db, orders_of_7);
    assert!(had > 0);
    pg.psql(
        &db,
        "DELETE FROM order_items WHERE order_id IN (SELECT id FROM orders WHERE customer_id = 7); \
         DELETE FROM orders WHERE customer_id = 7;",
    );
    for line in &book_lines["A table or rows deleted"] {
        book.run(pg, line);
    }
    assert_eq!(count(pg, &db, orders_of_7), had, "the rows are back");
    assert_eq!(
        count(pg, &db, "SELECT count(*) FROM yesterday.orders"),
        400,
        "the table beside the live one"
    );

    // A bad migration: a column dropped.
    pg.psql(&db, "ALTER TABLE orders DROP COLUMN note;");
    for line in &book_lines["A bad migration"] {
        book.run(pg, line);
    }
    assert_eq!(
        count(
            pg,
            &db,
            "SELECT count(*) FROM orders WHERE note LIKE 'order %'"
        ),
        400,
        "the column and its values are back"
    );

    // The database server lost: restored into a new server's database; the local archive is
    // lost too and fetched back from `bucket`.
    let (id, path) = backup(&book, pg, 0);
    book.swaps.push(("3f2a9c1e".into(), id[..8].to_string()));
    let lines = &book_lines["The database server lost"];
    let (fetch, rest): (Vec<&String>, Vec<&String>) =
        lines.iter().partition(|l| l.contains("fetch-copy"));
    assert_eq!(fetch.len(), 1, "{lines:?}");
    for line in rest {
        book.run(pg, line);
    }
    assert_eq!(count(pg, &new_db, "SELECT count(*) FROM orders"), 400);
    lose_and_fetch(&book, pg, &path, fetch[0]);

    // Ransomware on the server: the backup before the newest, fetched back, into a clean server.
    let (id, path) = backup(&book, pg, 1);
    book.swaps.pop();
    book.swaps.push(("3f2a9c1e".into(), id[..8].to_string()));
    for line in &book_lines["Ransomware on the server"] {
        if line.contains("fetch-copy") {
            lose_and_fetch(&book, pg, &path, line);
        } else {
            book.run(pg, line);
        }
    }
    assert_eq!(
        count(pg, &clean_db, "SELECT count(*) FROM order_items"),
        800
    );

    // The laptop lost or stolen: an encrypted backup (its recovery key exported as the page says),
    // then a new computer with nothing but the archive and the key.
    let pass = "correct horse battery staple runbook";
    let var = env_var_for_key(&project_encryption_passphrase_key("shop"));
    let with_pass = |args: &[&str], input: Option<&str>| {
        let mut c = common::pg::offsite(&data, pg, args);
        c.env(&var, pass);
        if let Some(i) = input {
            c.stdin(Stdio::piped());
            let mut child = c
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            child.stdin.take().unwrap().write_all(i.as_bytes()).unwrap();
            ok(child.wait_with_output().unwrap(), &args.join(" "))
        } else {
            ok(c.output().unwrap(), &args.join(" "))
        }
    };
    with_pass(
        &["encryption", "set", "shop", "--passphrase-stdin"],
        Some(pass),
    );
    with_pass(&["encryption", "confirm", "shop"], Some(pass));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let made = with_pass(&["--json", "backup", "shop"], None);
    let made: serde_json::Value = serde_json::from_slice(&made.stdout).unwrap();
    let archive = PathBuf::from(made["path"].as_str().unwrap());
    assert!(archive.to_string_lossy().ends_with(".age"), "{made}");
    let key = tmp.path().join("shop-recovery-key.txt");
    let exported = with_pass(&["key", "export", "shop"], None);
    std::fs::write(&key, &exported.stdout).unwrap();
    let laptop = Book {
        data: tmp.path().join("new-laptop"),
        swaps: vec![
            (
                "postgres://postgres@db.example.com/shop_copy".into(),
                pg.url(&copy_db),
            ),
            (
                "shop_20261120_023000_database.tar.zst.age".into(),
                archive.display().to_string(),
            ),
            ("shop-recovery-key.txt".into(), key.display().to_string()),
        ],
    };
    let lines = &book_lines["The laptop lost or stolen"];
    assert_eq!(lines.len(), 2, "{lines:?}");
    for line in lines {
        laptop.run(pg, line);
    }
    assert_eq!(count(pg, &copy_db, "SELECT count(*) FROM order_items"), 800);

    // Every scenario the page has is one of these (or the Supabase one, see above).
    let known = [
        "",
        "A table or rows deleted",
        "A bad migration",
        "The database server lost",
        "Ransomware on the server",
        "The laptop lost or stolen",
        "A Supabase project deleted",
    ];
    for s in book_lines.keys() {
        assert!(
            known.contains(&s.as_str()),
            "a scenario this test does not run: {s}"
        );
    }
}
