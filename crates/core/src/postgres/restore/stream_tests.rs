//! The FIFO feed against a real reader process: a shell that copies the FIFO to a file and,
//! only when it has read the FIFO's end, writes `eof` beside it (as pg_restore ends its COPY,
//! and the server commits, only at the end of the data file).

use super::*;
use crate::archive::testutil::{manifest, quiet, ARCHIVE};
use crate::archive::ArchiveWriter;
use crate::error::ErrorKind;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const MEMBER: &str = "database/3001.dat";

struct Case {
    dir: tempfile::TempDir,
    archive: PathBuf,
    bytes: Vec<u8>,
}

impl Case {
    fn new() -> Case {
        let dir = tempfile::tempdir().unwrap();
        // 12 MB: far more than a pipe holds, so the feed waits on its reader.
        let bytes: Vec<u8> = (0..3_000_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let mut w = ArchiveWriter::create(dir.path(), ARCHIVE, 1).unwrap();
        w.add_bytes(MEMBER, bytes.clone());
        w.add_bytes("database/toc.dat", b"PGDMP".to_vec());
        let archive = w
            .finish(manifest(), &quiet(), &CancellationToken::new())
            .unwrap()
            .path;
        make_fifo(&dir.path().join("3001.dat")).unwrap();
        Case {
            dir,
            archive,
            bytes,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn entry(&self) -> MemberEntry {
        crate::archive::read_manifest(&self.archive)
            .unwrap()
            .member(MEMBER)
            .unwrap()
            .clone()
    }

    /// Start `script` (`$0` the FIFO, `$1` the copy, `$2` the end marker) as the reader.
    fn reader(
        &self,
        script: &str,
        stop: &CancellationToken,
    ) -> (process::Guarded, process::StderrTail) {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(script)
            .arg(self.path("3001.dat"))
            .arg(self.path("copy"))
            .arg(self.path("eof"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let (g, _, _, stderr) = process::Guarded::spawn_group(cmd, "reader", stop).unwrap();
        (g, stderr)
    }

    fn feed(&self, entry: &MemberEntry, script: &str, stop: &CancellationToken) -> Result<()> {
        let mut seeker = ArchiveSeeker::open(&self.archive).unwrap();
        let span = seeker.find(MEMBER, stop).unwrap().unwrap();
        let reader = self.reader(script, stop);
        feed(
            &mut seeker,
            span,
            entry,
            &self.path("3001.dat"),
            reader,
            "reader",
            None,
            stop,
        )
    }
}

const COPY_THEN_MARK: &str = r#"cat "$0" > "$1" && echo eof > "$2""#;

#[test]
fn a_member_that_matches_its_checksum_reaches_its_reader_whole_and_ends() {
    let c = Case::new();
    c.feed(&c.entry(), COPY_THEN_MARK, &CancellationToken::new())
        .unwrap();
    assert_eq!(std::fs::read(c.path("copy")).unwrap(), c.bytes);
    assert!(c.path("eof").exists(), "the reader read the end");
}

#[test]
fn a_member_that_fails_its_checksum_never_shows_its_reader_an_end() {
    let c = Case::new();
    let mut wrong = c.entry();
    wrong.sha256 = "0".repeat(64);
    let e = c
        .feed(&wrong, COPY_THEN_MARK, &CancellationToken::new())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    // Every byte went through, but the reader was killed before it could read an end.
    assert!(!c.path("eof").exists(), "the reader must never see the end");
}

#[test]
fn a_cancel_kills_the_reader_before_it_sees_an_end() {
    let c = Case::new();
    let stop = CancellationToken::new();
    // A slow reader: the feed is still writing when the cancel comes.
    let slow = r#"while dd bs=65536 count=1 status=none; do sleep 0.01; done < "$0" > "$1"; echo eof > "$2""#;
    let canceller = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            stop.cancel();
        })
    };
    let e = c.feed(&c.entry(), slow, &stop).unwrap_err();
    canceller.join().unwrap();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
    assert!(!c.path("eof").exists(), "the reader must never see the end");
}

#[test]
fn a_reader_that_fails_before_it_opens_the_fifo_is_its_error_not_a_hang() {
    let c = Case::new();
    let e = c
        .feed(
            &c.entry(),
            "echo 'no such table' >&2; exit 3",
            &CancellationToken::new(),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ToolFailed, "{e}");
    assert!(e.message().contains("no such table"), "{e}");
}

#[test]
fn a_reader_that_stops_reading_early_is_its_error_and_damage_still_wins() {
    let c = Case::new();
    let early = r#"head -c 1000 "$0" > "$1"; echo 'COPY failed' >&2; exit 1"#;
    let e = c
        .feed(&c.entry(), early, &CancellationToken::new())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ToolFailed, "{e}");
    assert!(e.message().contains("COPY failed"), "{e}");
    // The same, the member damaged: the rest is still read and hashed, and damage is said.
    let c = Case::new();
    let mut wrong = c.entry();
    wrong.sha256 = "0".repeat(64);
    let e = c
        .feed(&wrong, early, &CancellationToken::new())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
}
