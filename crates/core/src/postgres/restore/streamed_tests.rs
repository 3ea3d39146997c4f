//! The streamed parallel restore on a real cluster: pg_restore's data loaders read the tables'
//! rows from FIFOs (no data member is extracted to disk before the rows load), the result is
//! the source's, and a member damaged in the middle of its bytes never commits.

use super::*;
use crate::archive::ArchiveWriter;
use crate::postgres::conn::ConnSpec;
use crate::postgres::tools::PgTools;
use crate::test_fixtures::{manifest, quiet, ARCHIVE};
use offsite_testkit::TestCluster;

/// A folder whose `pg_restore` writes, for every run given a list, the type of each data file
/// the list names (`fifo` or `regular file`) to `log`, then runs the real one.
fn logging_pg_restore(root: &Path, pg: &TestCluster, log: &Path) -> PgTools {
    let dir = root.join("bin");
    std::fs::create_dir_all(&dir).unwrap();
    let real = pg.bin("pg_restore");
    let script = format!(
        "#!/bin/sh\n\
         dump=''; list=''\n\
         for a in \"$@\"; do\n\
           case \"$a\" in --use-list=*) list=\"${{a#--use-list=}}\" ;; -*) ;; *) dump=\"$a\" ;; esac\n\
         done\n\
         if [ -n \"$list\" ]; then\n\
           while read -r id; do\n\
             f=\"$dump/$id.dat\"\n\
             if [ -e \"$f\" ]; then echo \"$id $(stat -c %F \"$f\")\" >> '{log}'; fi\n\
           done < \"$list\"\n\
         fi\n\
         exec '{real}' \"$@\"\n",
        log = log.display(),
        real = real.display()
    );
    offsite_testkit::script::write_executable(&dir.join("pg_restore"), &script);
    PgTools {
        dir,
        version_line: "pg_restore (PostgreSQL) 15".into(),
        major: 15,
        minor: 0,
    }
}

/// Tables of different sizes, a sequence, a large object, an index and a foreign key.
fn source(pg: &TestCluster) -> String {
    let db = pg.unique_db("strm");
    pg.psql(
        &db,
        "CREATE TABLE small (id int PRIMARY KEY, t text);
         INSERT INTO small SELECT g, 's' || g FROM generate_series(1, 300) g;
         CREATE TABLE big (id bigint PRIMARY KEY, body text, s int REFERENCES small (id));
         INSERT INTO big SELECT g, repeat(md5(g::text), 6), 1 + g % 300 FROM generate_series(1, 40000) g;
         CREATE INDEX big_body ON big (body);
         CREATE TABLE mid (id serial PRIMARY KEY, v text);
         INSERT INTO mid (v) SELECT md5(g::text) FROM generate_series(1, 8000) g;
         CREATE TABLE empty_one (id int);",
    );
    pg.create_large_object(&db, b"a large object's bytes");
    db
}

/// The source dumped by pg_dump -Fd -Z0 and packed into a format-2-shaped archive.
fn archive_of(pg: &TestCluster, db: &str, dir: &Path) -> PathBuf {
    let dump = dir.join("dump");
    let out = pg
        .command(pg.bin("pg_dump"))
        .args(["-Fd", "-Z0", "-f"])
        .arg(&dump)
        .arg(format!("--dbname={db}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut w = ArchiveWriter::create(dir, ARCHIVE, 1).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&dump)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "toc.dat")
        .collect();
    names.sort();
    names.push("toc.dat".into());
    for n in names {
        w.add_bytes(
            &format!("database/{n}"),
            std::fs::read(dump.join(&n)).unwrap(),
        );
    }
    w.finish(manifest(), &quiet(), &CancellationToken::new())
        .unwrap()
        .path
}

/// A copy of `archive` in `dir` (the manifest kept) whose member `name` has one hexadecimal
/// digit in its middle changed.
fn with_member_changed(archive: &Path, dir: &Path, name: &str) -> PathBuf {
    use std::io::{Read, Write};
    std::fs::create_dir_all(dir).unwrap();
    let out = dir.join(archive.file_name().unwrap());
    let reader = flate2::read::MultiGzDecoder::new(std::fs::File::open(archive).unwrap());
    let encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&out).unwrap(),
        flate2::Compression::fast(),
    );
    let mut builder = tar::Builder::new(encoder);
    let mut changed = false;
    for entry in tar::Archive::new(reader).entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut header = entry.header().clone();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if path == name {
            let at = (bytes.len() / 2..bytes.len())
                .find(|&i| bytes[i].is_ascii_digit())
                .unwrap();
            bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
            changed = true;
        }
        header.set_size(bytes.len() as u64);
        header.set_cksum();
        builder.append(&header, &bytes[..]).unwrap();
    }
    assert!(changed, "{name} is in {}", archive.display());
    builder
        .into_inner()
        .unwrap()
        .finish()
        .unwrap()
        .flush()
        .unwrap();
    out
}

fn restore(
    pg: &TestCluster,
    tools: &PgTools,
    archive: &Path,
    db: &str,
    parent: &Path,
) -> Result<()> {
    let (spec, password) = ConnSpec::parse_url(&pg.url_with_password(db)).unwrap();
    super::super::parallel::run_in(
        parent,
        tools,
        &spec,
        password.as_deref(),
        archive,
        (2, false, "offsite-streamed-test", false),
        &CancellationToken::new(),
    )
}

fn content(pg: &TestCluster, db: &str) -> String {
    pg.psql(
        db,
        "SELECT (SELECT count(*) || ':' || md5(string_agg(id || body || s, ',' ORDER BY id)) FROM big)
           || ' ' || (SELECT count(*) || ':' || md5(string_agg(id || t, ',' ORDER BY id)) FROM small)
           || ' ' || (SELECT count(*) || ':' || md5(string_agg(id || v, ',' ORDER BY id)) FROM mid)
           || ' ' || (SELECT count(*) FROM empty_one)
           || ' ' || (SELECT last_value FROM mid_id_seq)
           || ' ' || (SELECT count(*) FROM pg_largeobject_metadata)
           || ' ' || (SELECT count(*) FROM pg_indexes WHERE tablename = 'big')",
    )
}

#[test]
fn the_rows_load_through_checked_pipes_and_the_result_is_the_source() {
    let pg = TestCluster::shared();
    let src = source(pg);
    let dir = tempfile::tempdir().unwrap();
    let archive = archive_of(pg, &src, dir.path());
    let log = dir.path().join("opened.log");
    let tools = logging_pg_restore(dir.path(), pg, &log);
    let target = pg.unique_db("strmdst");
    let parent = dir.path().join("tmp");
    std::fs::create_dir(&parent).unwrap();
    restore(pg, &tools, &archive, &target, &parent).unwrap();
    assert_eq!(content(pg, &target), content(pg, &src));
    // Every table's data file the loaders were given was a FIFO: no row waited for an
    // extraction to disk.
    let seen = std::fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(lines.len(), 4, "the four tables' data files: {seen}");
    assert!(lines.iter().all(|l| l.ends_with(" fifo")), "{seen}");
    assert_eq!(
        std::fs::read_dir(&parent).unwrap().count(),
        0,
        "the temporary folder is gone"
    );
}

#[test]
fn a_member_damaged_in_its_middle_never_commits_and_stops_the_restore() {
    let pg = TestCluster::shared();
    let src = source(pg);
    let dir = tempfile::tempdir().unwrap();
    let archive = archive_of(pg, &src, dir.path());
    // The biggest table's rows with one hex digit in the middle changed: still COPY data the
    // server takes, but not the bytes whose SHA-256 the manifest recorded.
    let m = crate::archive::read_manifest(&archive).unwrap();
    let big = m
        .members
        .iter()
        .filter(|e| e.name.ends_with(".dat"))
        .max_by_key(|e| e.size)
        .unwrap()
        .name
        .clone();
    let bad = with_member_changed(&archive, &dir.path().join("bad"), &big);
    let log = dir.path().join("opened.log");
    let tools = logging_pg_restore(dir.path(), pg, &log);
    let target = pg.unique_db("strmbad");
    let parent = dir.path().join("tmp");
    std::fs::create_dir(&parent).unwrap();
    let e = restore(pg, &tools, &bad, &target, &parent).unwrap_err();
    assert_eq!(e.kind(), crate::error::ErrorKind::Integrity, "{e}");
    assert!(e.message().contains(&big), "{e}");
    // The loader of the damaged member was killed before the end of its COPY: not one of its
    // rows is in the target (the rest is what the caller's undo drops).
    assert_eq!(pg.psql(&target, "SELECT count(*) FROM big"), "0");
    assert_eq!(std::fs::read_dir(&parent).unwrap().count(), 0);
}
