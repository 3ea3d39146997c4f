//! `offsite backup --compression zstd` and `offsite settings --compression`: a `.tar.zst` that
//! GNU tar (`tar --zstd -xf`) and `zstd -dc | tar x` extract to identical trees, and that
//! `offsite verify` passes. zstd is the default; a saved `offsite settings --compression gzip:N`
//! (or `--level N`) makes gzip archives that `tar -xzf` extracts.

mod common;

use common::Cli;
use offsite_core::secrets::{env_var_for_key, project_password_key};
use offsite_testkit::TestCluster;
use std::path::{Path, PathBuf};
use std::process::Command;

fn sh(dir: &Path, cmd: &str) {
    let out = Command::new("sh")
        .args(["-c", cmd])
        .current_dir(dir)
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_zstd_backup_from_the_cli_extracts_with_gnu_tar_and_zstd() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("clizstd");
    pg.psql(
        &db,
        "CREATE TABLE t AS SELECT g AS id, 'row ' || g AS label FROM generate_series(1, 5000) g;",
    );
    let name = "clizstd";
    let var = env_var_for_key(&project_password_key(name));
    let cli = Cli::new().env(&var, pg.superuser_password());
    cli.json(&["project", "add", name, "--db", &pg.url(&db)], 0);

    for bad in [
        &["backup", name, "--compression", "lz4"][..],
        &["backup", name, "--compression", "zstd:40"],
        &["backup", name, "--compression", "zstd", "--level", "1"],
        &["settings", "--compression", "brotli"],
    ] {
        let out = cli.run(bad);
        assert!(!out.status.success(), "{bad:?} was accepted");
    }

    let b = cli.json(&["backup", name, "--compression", "zstd"], 0);
    let path = PathBuf::from(b["path"].as_str().unwrap());
    assert!(
        path.to_string_lossy().ends_with("_database.tar.zst"),
        "{}",
        path.display()
    );
    let v = cli.json(&["verify", path.to_str().unwrap()], 0);
    assert_eq!(v["ok"], true, "{v}");

    let work = tempfile::tempdir().unwrap();
    let (gnu, piped) = (work.path().join("gnu"), work.path().join("piped"));
    std::fs::create_dir(&gnu).unwrap();
    std::fs::create_dir(&piped).unwrap();
    sh(&gnu, &format!("tar --zstd -xf '{}'", path.display()));
    sh(&piped, &format!("zstd -dc '{}' | tar xf -", path.display()));
    let diff = Command::new("diff")
        .arg("-r")
        .arg(&gnu)
        .arg(&piped)
        .output()
        .unwrap();
    assert!(
        diff.status.success(),
        "{}",
        String::from_utf8_lossy(&diff.stdout)
    );
    assert!(gnu.join("metadata.json").is_file());
    assert!(std::fs::read_dir(&gnu).unwrap().count() >= 2);

    // The built-in default is zstd: shown, used by a backup naming none.
    let zstd_default = format!(
        "zstd:{}",
        offsite_core::archive::compression::DEFAULT_ZSTD_LEVEL
    );
    assert_eq!(cli.json(&["settings"], 0)["compression"], zstd_default);
    let d = cli.json(&["backup", name], 0);
    assert!(d["path"].as_str().unwrap().ends_with(".tar.zst"), "{d}");

    // A saved gzip default wins: `.tar.gz` that GNU tar's gzip path extracts, and that verifies.
    let s = cli.json(&["settings", "--compression", "gzip:6"], 0);
    assert_eq!(s["compression"], "gzip:6");
    let g6 = cli.json(&["backup", name], 0);
    let g6 = PathBuf::from(g6["path"].as_str().unwrap());
    assert!(
        g6.to_string_lossy().ends_with("_database.tar.gz"),
        "{}",
        g6.display()
    );
    let gz = work.path().join("gz");
    std::fs::create_dir(&gz).unwrap();
    sh(&gz, &format!("tar -xzf '{}'", g6.display()));
    assert!(gz.join("metadata.json").is_file());
    assert_eq!(cli.json(&["verify", g6.to_str().unwrap()], 0)["ok"], true);

    // A saved zstd level; --level stays gzip.
    let s = cli.json(&["settings", "--compression", "zstd:5"], 0);
    assert_eq!(s["compression"], "zstd:5");
    let d = cli.json(&["backup", name], 0);
    assert!(d["path"].as_str().unwrap().ends_with(".tar.zst"), "{d}");
    let g = cli.json(&["backup", name, "--level", "1"], 0);
    assert!(g["path"].as_str().unwrap().ends_with(".tar.gz"), "{g}");
    assert_eq!(cli.json(&["settings"], 0)["compression"], "zstd:5");
}
