//! The engine's shared test fixtures (test code only): sample manifests and archives,
//! hand-built tar.gz files, system tools. Any module's tests may use them; no test borrows
//! another module's private helpers.

use crate::archive::*;
use crate::progress::Reporter;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use tokio_util::sync::CancellationToken;

pub(crate) fn manifest() -> Manifest {
    Manifest {
        format_version: FORMAT_VERSION,
        backup_id: "b-0001".into(),
        project: "shop".into(),
        backup_type: BackupType::Database,
        created_at: "2026-11-21T10:15:00Z".into(),
        versions: Versions {
            tool: "offsite test".into(),
            server: Some("15.8".into()),
            pg_dump: None,
        },
        source: SourceInfo::default(),
        members: Vec::new(),
        components: Default::default(),
        tables: Vec::new(),
        roles: Vec::new(),
        globals_note: None,
        tables_note: None,
        dump_tables: Vec::new(),
        counts: Default::default(),
        storage: None,
        redactions: Vec::new(),
        base_backup_id: None,
        encryption: None,
        content: None,
        dump: None,
        tenant: None,
        selection: None,
        census: None,
    }
}

/// Deterministic test bytes: runs of text (compressible) alternating with xorshift noise.
pub(crate) fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    while out.len() < len {
        let r = next();
        if r % 3 == 0 {
            for _ in 0..(r >> 8) % 64 {
                out.extend_from_slice(
                    format!(
                        "INSERT INTO t VALUES ({}, 'customer {}');\n",
                        r % 1000,
                        r % 77
                    )
                    .as_bytes(),
                );
            }
        } else {
            for _ in 0..(r >> 8) % 512 {
                out.extend_from_slice(&next().to_le_bytes());
            }
        }
    }
    out.truncate(len);
    out
}

pub(crate) fn sha(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

pub(crate) fn quiet() -> Reporter {
    Reporter::silent()
}

pub(crate) const ARCHIVE: &str = "shop_20261121_101500_database.tar.gz";

/// A typical archive: a spooled `database.dump`, `globals.sql` from memory and a storage object
/// with a name longer than 100 bytes from a file.
pub(crate) struct Sample {
    pub dir: tempfile::TempDir,
    pub written: Written,
    pub dump: Vec<u8>,
    pub globals: Vec<u8>,
    pub object: Vec<u8>,
    pub object_name: String,
}

impl Sample {
    pub fn path(&self) -> &Path {
        &self.written.path
    }
    pub fn members(&self) -> Vec<(&str, &[u8])> {
        vec![
            (DATABASE_MEMBER, &self.dump),
            (GLOBALS_MEMBER, &self.globals),
            (&self.object_name, &self.object),
        ]
    }
}

pub(crate) fn sample(dump_len: usize, level: u32) -> Sample {
    let dir = tempfile::tempdir().unwrap();
    let inputs = tempfile::tempdir().unwrap();
    let dump = data(dump_len, 1);
    let globals =
        b"CREATE ROLE shop_app;\nGRANT SELECT ON ALL TABLES IN SCHEMA public TO shop_app;\n"
            .to_vec();
    let object = data(300_000, 2);
    let object_name = format!(
        "storage/avatars/{}/photo.png",
        "nested-folder-name".repeat(8)
    );
    let object_path = inputs.path().join("photo.png");
    std::fs::write(&object_path, &object).unwrap();

    let mut w = ArchiveWriter::create(dir.path(), ARCHIVE, level).unwrap();
    let mut spool = w.spool(DATABASE_MEMBER).unwrap();
    // Writes of awkward sizes, like a pipe delivers them.
    let mut rest = &dump[..];
    let mut i = 0;
    while !rest.is_empty() {
        let n = [1, 7, 4096, 65_536, 1 << 20, 3_000_001][i % 6].min(rest.len());
        spool.write_all(&rest[..n]).unwrap();
        rest = &rest[n..];
        i += 1;
    }
    assert_eq!(spool.bytes_written(), dump.len() as u64);
    let spooled = spool.finish().unwrap();
    assert_eq!(spooled.size(), dump.len() as u64);
    assert_eq!(spooled.sha256(), sha(&dump));
    w.add_spooled(spooled);
    w.add_bytes(GLOBALS_MEMBER, globals.clone());
    w.add_file(&object_name, &object_path).unwrap();
    let written = w
        .finish(manifest(), &quiet(), &CancellationToken::new())
        .unwrap();
    Sample {
        dir,
        written,
        dump,
        globals,
        object,
        object_name,
    }
}

/// Names in a folder, sorted (without the folder's lock, `.offsite-folder.lock`: not data).
pub(crate) fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != crate::tempfiles::LOCK_NAME)
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// One entry of a hand-built archive. Names are written as raw bytes, unchecked.
pub(crate) enum Ent<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
}

/// A tar.gz built by hand (bypassing every check of the tar crate's path setters).
pub(crate) fn tgz(entries: &[Ent]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        let (name, data, kind, link): (&str, &[u8], tar::EntryType, Option<&str>) = match e {
            Ent::File(n, d) => (n, d, tar::EntryType::Regular, None),
            Ent::Dir(n) => (n, b"", tar::EntryType::Directory, None),
            Ent::Symlink(n, t) => (n, b"", tar::EntryType::Symlink, Some(t)),
            Ent::Hardlink(n, t) => (n, b"", tar::EntryType::Link, Some(t)),
        };
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(t) = link {
            h.as_old_mut().linkname[..t.len()].copy_from_slice(t.as_bytes());
        }
        h.set_entry_type(kind);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    gzip(&b.into_inner().unwrap())
}

pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A manifest listing `members` (name, content).
pub(crate) fn manifest_json(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut m = manifest();
    m.members = members
        .iter()
        .map(|(n, d)| MemberEntry {
            name: n.to_string(),
            size: d.len() as u64,
            sha256: sha(d),
        })
        .collect();
    serde_json::to_vec(&m).unwrap()
}

/// Writes `bytes` to `dir/name` and returns the path.
pub(crate) fn put(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Runs a system tool; panics loudly if it is missing or fails. Returns stdout.
pub(crate) fn tool(cwd: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).current_dir(cwd).output().unwrap_or_else(|e| {
        panic!("this test needs the system `{program}` (GNU tar/gzip/coreutils, on every Debian): {e}")
    });
    assert!(
        out.status.success(),
        "`{program} {}` failed: {}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// End offsets of each gzip member in a (multi-member) gzip file.
pub(crate) fn gzip_member_ends(bytes: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let mut d = flate2::bufread::GzDecoder::new(rest);
        std::io::copy(&mut d, &mut std::io::sink()).unwrap();
        rest = d.into_inner();
        ends.push(bytes.len() - rest.len());
    }
    ends
}

/// Peak resident memory of this process so far (VmHWM), in bytes.
pub(crate) fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}
