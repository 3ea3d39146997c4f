//! The directory dump against a stand-in pg_dump that writes a table's file in growth steps, and
//! only once Offsite follows it (a handshake, not a timing): the file is read while it grows,
//! spliced into the archive, and the archive reads back identical; a pg_dump killed in the
//! middle of the table leaves nothing.

use super::*;
use crate::archive::{verify, ArchiveWriter, Compression};
use crate::test_fixtures::{manifest, names_in, quiet};
use std::path::PathBuf;

/// A folder with a `pg_dump` script; `die`: it kills itself in the middle of the big table.
fn fake_pg_dump(root: &Path, expect: &Path, die: bool) -> PgTools {
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = format!(
        r#"#!/bin/bash
set -e
if [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) 15.0"; exit 0; fi
out=""; prev=""
for a in "$@"; do if [ "$prev" = "--file" ]; then out="$a"; fi; prev="$a"; done
exp='{exp}'
mkdir -m 700 "$out"
tmp=$(dirname "$out")
# Appends stdin to the file in the dump and to its expected copy.
put() {{ cat > "$exp/chunk"; cat "$exp/chunk" >> "$exp/$1"; cat "$exp/chunk" >> "$out/$1"; rm "$exp/chunk"; }}
rows() {{ seq "$1" "$2" | sed 's/$/\tgrowing row with some text/'; }}
rows 1 30000 | put 7.dat
# Wait until Offsite follows the file: its spool appears beside the output folder.
n=0
until ls "$tmp"/.offsite-tmp-* >/dev/null 2>&1; do
  n=$((n+1)); [ $n -gt 1200 ] && exit 3; sleep 0.05
done
if [ '{die}' = yes ]; then kill -9 $$; fi
for step in 1 2 3 4; do rows $((step*30000+1)) $(((step+1)*30000)) | put 7.dat; sleep 0.05; done
printf '\\.\n\n\n' | put 7.dat
echo "pg_dump: finished item 7 TABLE DATA grow" >&2
rows 1 10 | put 8.dat
printf '\\.\n\n\n' | put 8.dat
echo "pg_dump: finished item 8 TABLE DATA small" >&2
printf 'not a real toc' | put toc.dat
"#,
        exp = expect.display(),
        die = if die { "yes" } else { "no" },
    );
    let path = bin.join("pg_dump");
    // written by a child process: a write here failed as "Text file busy" (offsite_testkit::script)
    offsite_testkit::script::write_executable(&path, &script);
    PgTools {
        dir: bin,
        version_line: "pg_dump (PostgreSQL) 15.0".into(),
        major: 15,
        minor: 0,
    }
}

struct Setup {
    _root: tempfile::TempDir,
    dest: PathBuf,
    expect: PathBuf,
    tools: PgTools,
}

fn setup(die: bool) -> Setup {
    let root = tempfile::tempdir().unwrap();
    let dest = root.path().join("dest");
    let expect = root.path().join("expect");
    std::fs::create_dir_all(&dest).unwrap();
    std::fs::create_dir_all(&expect).unwrap();
    let tools = fake_pg_dump(root.path(), &expect, die);
    Setup {
        _root: root,
        dest,
        expect,
        tools,
    }
}

fn dump(s: &Setup, w: &ArchiveWriter) -> Result<DirDumped> {
    let (spec, _) = ConnSpec::parse_url("postgres://u@127.0.0.1:5432/db").unwrap();
    let fragment = w.fragment("").unwrap();
    run(
        &s.tools,
        &spec,
        None,
        None,
        2,
        &[],
        &[],
        &s.dest,
        fragment,
        &quiet(),
        &CancellationToken::new(),
    )
}

fn a_table_written_in_growth_steps_is_followed_and_reads_back(compression: Compression) {
    let s = setup(false);
    let name = format!("x{}", compression.suffix());
    let mut w = ArchiveWriter::create_with(&s.dest, &name, compression).unwrap();
    let dumped = dump(&s, &w).unwrap();
    assert!(dumped.tailed >= 1, "{dumped:?}");
    assert_eq!(dumped.packed_early, 2, "{dumped:?}");
    let want = std::fs::read(s.expect.join("7.dat")).unwrap();
    assert!(want.len() > 4 << 20, "{}", want.len());
    let names: Vec<String> = dumped
        .fragment
        .entries()
        .unwrap()
        .map(|e| e.unwrap().name)
        .collect();
    assert_eq!(
        names,
        ["database/7.dat", "database/8.dat", "database/toc.dat"]
    );
    // The TOC is a stand-in: no digests, said so.
    assert!(matches!(dumped.digests, Some(Err(_))), "{dumped:?}");
    w.add_fragment(dumped.fragment);
    let written = w
        .finish(manifest(), &quiet(), &CancellationToken::new())
        .unwrap();
    let report = verify(&written.path, &quiet(), &CancellationToken::new()).unwrap();
    assert!(report.ok, "{:?}", report.problems);
    let out = tempfile::tempdir().unwrap();
    let flags: &[&str] = match compression {
        Compression::Gzip(_) => &["-xzf"],
        Compression::Zstd(_) => &["--zstd", "-xf"],
    };
    let st = std::process::Command::new("tar")
        .args(flags)
        .arg(&written.path)
        .arg("-C")
        .arg(out.path())
        .status()
        .unwrap();
    assert!(st.success());
    for f in ["7.dat", "8.dat", "toc.dat"] {
        let got = std::fs::read(out.path().join("database").join(f)).unwrap();
        assert!(
            got == std::fs::read(s.expect.join(f)).unwrap(),
            "{f} differs"
        );
    }
    // Only the archive and its checksum: the temporary folder and every spool are gone.
    assert_eq!(names_in(&s.dest), [name.clone(), format!("{name}.sha256")]);
}

#[test]
fn a_gzip_table_written_in_growth_steps_is_followed_and_reads_back() {
    a_table_written_in_growth_steps_is_followed_and_reads_back(Compression::Gzip(6));
}

#[test]
fn a_zstd_table_written_in_growth_steps_is_followed_and_reads_back() {
    a_table_written_in_growth_steps_is_followed_and_reads_back(Compression::Zstd(3));
}

#[test]
fn pg_dump_killed_in_the_middle_of_a_followed_table_leaves_nothing() {
    let s = setup(true);
    let w = ArchiveWriter::create(&s.dest, "x.tar.gz", 6).unwrap();
    let e = dump(&s, &w).unwrap_err();
    assert!(e.message().contains("pg_dump"), "{e}");
    // A file was being followed: its part was read before pg_dump died.
    assert!(std::fs::metadata(s.expect.join("7.dat")).unwrap().len() > 0);
    drop(w);
    assert_eq!(names_in(&s.dest), Vec::<String>::new());
}
