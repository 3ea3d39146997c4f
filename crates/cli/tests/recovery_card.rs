//! `offsite project set-targets` / `project show` and `offsite recovery-card` on a real database
//! (issue 47): the card names the backup and where it is, how to open it without Offsite, the
//! targets and the contacts (escaped), and is written 0600; and its by-hand steps, run as written
//! on an encrypted backup (zstd and gzip), restore it without Offsite.
// Unix only: a throwaway cluster, Unix modes (docs/development.md lists what runs on Windows).
#![cfg(unix)]

mod common;

use common::pg::{ok, ok_json, refused, run};
use common::{json_of, Cli};
use offsite_testkit::TestCluster;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

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

/// The card's "Opening a backup without Offsite" lines, as written on it (HTML unescaped).
fn card_steps(html: &str) -> Vec<String> {
    let section = html
        .split("<h2>Opening a backup without Offsite</h2>")
        .nth(1)
        .expect("the card says how to open a backup without Offsite");
    let pre = section
        .split("<pre>")
        .nth(1)
        .and_then(|p| p.split("</pre>").next())
        .expect("the steps in a <pre>");
    let text = pre
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// One line of the card as commands (split at `&&`), each its words: single quotes and
/// backslashes as a POSIX shell reads them, a `#` starting a word begins a comment. Anything else
/// a shell would interpret (pipes, redirections, variables, globs) fails the test: the card's
/// lines must run as plain commands.
fn shell_commands(line: &str) -> Vec<Vec<String>> {
    let (mut commands, mut words) = (Vec::new(), Vec::new());
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    w.push(q);
                }
            }
            '\\' => word
                .get_or_insert_with(String::new)
                .push(chars.next().expect("a backslash at the end of a line")),
            c if c.is_whitespace() => words.extend(word.take()),
            '#' if word.is_none() => break,
            '|' | ';' | '<' | '>' | '$' | '`' | '(' | ')' | '*' | '?' | '"' => {
                panic!("{line:?}: {c:?} needs a shell; the card's lines must not")
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    for w in words {
        if w == "&&" {
            commands.push(Vec::new());
        } else if w.contains('&') {
            panic!("{line:?}: {w:?} needs a shell");
        } else {
            if commands.is_empty() {
                commands.push(Vec::new());
            }
            commands.last_mut().unwrap().push(w);
        }
    }
    commands
}

/// The key of an encrypted project in key mode, written alone to a file by `encryption set
/// --generate-key > key`, and confirmed from it.
fn key_mode(cli: &Cli, name: &str, key: &Path) {
    let set = cli
        .cmd(&["encryption", "set", name, "--generate-key"])
        .stdout(std::fs::File::create(key).unwrap())
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let confirm = cli
        .cmd(&["--json", "encryption", "confirm", name])
        .stdin(std::fs::File::open(key).unwrap())
        .output()
        .unwrap();
    json_of(&confirm, 0, &["encryption confirm"]);
}

/// A project name no earlier run used (the keychain may outlive a run).
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// The card of an encrypted backup, zstd (directory format) and then gzip (one dump file), is followed by hand on a "desk" that
/// holds nothing but the archive and the recovery key: its own lines (`sha256sum`, `age -d`,
/// `tar`, `createdb`, `cat` — the roles are read, never run with psql —, `pg_restore`) are parsed and run without a shell, with the
/// cluster's connection in the environment (`restored` swapped for a fresh name), and the
/// restored database holds the rows. Needs the OS keychain (run through .ci/with-keyring).
#[test]
fn the_card_s_own_steps_open_an_encrypted_backup_without_offsite() {
    let pg = TestCluster::shared();
    let cli = Cli::keychain();
    let name = unique("cardopen");
    let db = pg.unique_db("cardopen");
    pg.psql(
        &db,
        "CREATE TABLE orders (id int PRIMARY KEY, item text);
         INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(1, 321) g;",
    );
    cli.add_project_stdin(
        &name,
        &pg.url(&db),
        &format!("{}\n", pg.superuser_password()),
    );
    let work = tempfile::tempdir().unwrap();
    let key = work.path().join("saved-key.txt");
    key_mode(&cli, &name, &key);
    // zstd with pg_dump's directory format (2 jobs: format 2's `database/` folder), then gzip
    // with one stream (`database.dump`).
    for (compression, ending, tar, jobs, dump) in [
        ("zstd", ".tar.zst.age", "--zstd", "2", "backup/database"),
        ("gzip", ".tar.gz.age", "-xzf", "1", "backup/database.dump"),
    ] {
        let made = cli.json(
            &[
                "backup",
                &name,
                "--compression",
                compression,
                "--jobs",
                jobs,
            ],
            0,
        );
        let archive = PathBuf::from(made["path"].as_str().unwrap());
        let file = archive.file_name().unwrap().to_str().unwrap().to_string();
        assert!(file.ends_with(ending), "{made}");
        let card = work.path().join(format!("card-{compression}.html"));
        let out = cli.run(&["recovery-card", &name, "--out", card.to_str().unwrap()]);
        assert!(out.status.success(), "{out:?}");
        let html = std::fs::read_to_string(&card).unwrap();
        let steps = card_steps(&html);
        assert!(
            steps.iter().any(|l| l.contains(" tar ") && l.contains(tar)),
            "the tar line follows the compression ({compression}): {steps:#?}"
        );
        assert!(
            steps.iter().flat_map(|l| shell_commands(l)).any(|words| {
                words[0] == "pg_restore" && words.last().map(String::as_str) == Some(dump)
            }),
            "the pg_restore line follows the dump's format ({jobs} jobs): {steps:#?}"
        );

        // The desk: the archive as fetched from a copy, and the recovery key.
        let desk = tempfile::tempdir().unwrap();
        std::fs::copy(&archive, desk.path().join(&file)).unwrap();
        std::fs::copy(&key, desk.path().join("recovery-key.txt")).unwrap();
        let restored = format!("card_restored_{compression}");
        let mut ran = Vec::new();
        for line in &steps {
            for words in shell_commands(line) {
                let words: Vec<String> = words
                    .into_iter()
                    .map(|w| if w == "restored" { restored.clone() } else { w })
                    .collect();
                let program = words[0].as_str();
                let mut cmd = match program {
                    "createdb" | "psql" | "pg_restore" => pg.command(program),
                    "sha256sum" | "age" | "mkdir" | "tar" | "cat" => Command::new(program),
                    other => panic!("the card runs {other:?}, which this test does not expect"),
                };
                let out = cmd
                    .args(&words[1..])
                    .current_dir(desk.path())
                    .stdin(std::process::Stdio::null())
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{words:?} failed ({}):\n{}{}",
                    out.status,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                if program == "sha256sum" {
                    let sum = String::from_utf8_lossy(&out.stdout);
                    let sum = sum.split_whitespace().next().unwrap().to_string();
                    assert_eq!(sum, made["sha256"].as_str().unwrap(), "the file's hash");
                    assert!(html.contains(&sum), "the card shows the hash to compare");
                }
                ran.push(program.to_string());
            }
        }
        assert_eq!(
            ran,
            [
                "sha256sum",
                "age",
                "mkdir",
                "tar",
                "createdb",
                "cat",
                "pg_restore"
            ],
            "{steps:#?}"
        );
        // The manifest the card names is where it says.
        assert!(
            html.contains("<code>backup/metadata.json</code> (the archive's manifest)"),
            "{html}"
        );
        assert!(desk.path().join("backup/metadata.json").is_file());
        let rows = pg.psql(&restored, "SELECT count(*), max(item) FROM orders");
        assert!(rows.contains("321"), "{rows}");
        assert!(rows.contains("item 99"), "{rows}");
    }
}
