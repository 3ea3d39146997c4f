//! `offsite project set-targets` / `project show` and `offsite recovery-card` on a real database
//! (issue 47): the card names the backup and where it is, how to open it without Offsite, the
//! targets and the contacts (escaped), and is written 0600.

mod common;

use common::pg::{ok, ok_json, refused, run};
use offsite_testkit::TestCluster;
use std::os::unix::fs::PermissionsExt;

#[test]
fn the_recovery_card_names_the_backup_the_targets_and_escaped_contacts() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("clicard");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);",
    );
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok_json(
        run(
            d,
            pg,
            &["--json", "project", "add", "shop", "--db", &pg.url(&db)],
        ),
        "project add",
    );
    // Targets: set, shown, cleared one at a time; a bad duration is refused.
    ok(
        run(
            d,
            pg,
            &[
                "project",
                "set-targets",
                "shop",
                "--rpo",
                "24h",
                "--rto",
                "30m",
            ],
        ),
        "set-targets",
    );
    let shown = ok_json(run(d, pg, &["--json", "project", "show", "shop"]), "show");
    assert_eq!(shown["targets"]["rpo_seconds"], 86_400, "{shown}");
    assert_eq!(shown["targets"]["rto_seconds"], 1800, "{shown}");
    let text =
        String::from_utf8(ok(run(d, pg, &["project", "show", "shop"]), "show").stdout).unwrap();
    assert!(text.contains("targets:     RPO 1d, RTO 30m"), "{text}");
    refused(
        run(
            d,
            pg,
            &["project", "set-targets", "shop", "--rpo", "6months"],
        ),
        "is not a duration",
    );
    let backup = ok_json(run(d, pg, &["--json", "backup", "shop"]), "backup");
    let id = backup["id"].as_str().unwrap().to_string();

    let out = d.join("card.html");
    ok(
        run(
            d,
            pg,
            &[
                "recovery-card",
                "shop",
                "--contact",
                "Ann <ann@example.com><script>alert(1)</script>",
                "--out",
                out.to_str().unwrap(),
            ],
        ),
        "recovery-card",
    );
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the card is private");
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(!html.contains("<script"), "unescaped contact:\n{html}");
    assert!(html.contains("Ann &lt;ann@example.com&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains(&id), "the backup's id");
    assert!(html.contains("This computer"), "where the copy is");
    assert!(html.contains("tar --zstd -xf shop_"), "how to open it");
    assert!(html.contains("pg_restore --no-owner"), "how to restore it");
    assert!(
        html.contains("<th>Recovery point target (RPO)</th><td>1d</td>"),
        "{html}"
    );
    assert!(
        html.contains("<th>Recovery time target (RTO)</th><td>30m</td>"),
        "{html}"
    );
    assert!(html.contains("never: no drill"), "the last drill");
    assert!(!html.contains("password"), "nothing secret");
    // A contact with a line break is refused, and nothing is written.
    let other = d.join("other.html");
    refused(
        run(
            d,
            pg,
            &[
                "recovery-card",
                "shop",
                "--contact",
                "a\nb",
                "--out",
                other.to_str().unwrap(),
            ],
        ),
        "a contact must be one line",
    );
    assert!(!other.exists());
}
