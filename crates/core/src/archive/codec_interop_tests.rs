//! zstd archives with the standard tools and our readers: an Offsite archive's tar stream as
//! independent 1 MiB zstd frames (as the zstd writer lays it out), with and without the
//! skippable padding frame of an in-place finish, and age-encrypted: GNU tar (`tar --zstd -x`),
//! `zstd -d | tar x`, `age -d` first, and our verify, manifest reader and extraction.

use super::{skippable_frame, zstd_frames};
use crate::archive::{extract_all, read_manifest, sidecar_path, verify, CHUNK};
use crate::test_fixtures::{names_in, quiet, sample, tool};
use std::io::Read;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// The gzip archive at `gz` re-laid as zstd frames into `dir/name` (with its sidecar).
fn transcode(gz: &Path, dir: &Path, name: &str, pad: Option<usize>) -> PathBuf {
    let raw = std::fs::read(gz).unwrap();
    let mut tar = Vec::new();
    flate2::read::MultiGzDecoder::new(&raw[..])
        .read_to_end(&mut tar)
        .unwrap();
    let mut out = pad.map(|n| skippable_frame(n).unwrap()).unwrap_or_default();
    out.extend_from_slice(&zstd_frames(&tar, CHUNK, 3, 2).unwrap());
    let p = dir.join(name);
    std::fs::write(&p, &out).unwrap();
    let sha = hex::encode(ring::digest::digest(&ring::digest::SHA256, &out));
    std::fs::write(sidecar_path(&p), format!("{sha}  {name}\n")).unwrap();
    p
}

fn same_tree(a: &Path, b: &Path) {
    let out = std::process::Command::new("diff")
        .arg("-r")
        .arg(a)
        .arg(b)
        .output()
        .expect("diff");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn zstd_archives_open_with_gnu_tar_zstd_and_our_readers_padded_or_not() {
    let s = sample(3 * 1024 * 1024 + 777, 1);
    let work = tempfile::tempdir().unwrap();
    let ours = work.path().join("ours-gz");
    extract_all(s.path(), &ours, &CancellationToken::new()).unwrap();
    for (name, pad) in [("plain.tar.zst", None), ("padded.tar.zst", Some(4096))] {
        let z = transcode(s.path(), work.path(), name, pad);
        let report = verify(&z, &quiet(), &CancellationToken::new()).unwrap();
        assert!(report.ok, "{name}: {:?}", report.problems);
        assert_eq!(
            json(&read_manifest(&z).unwrap()),
            json(&read_manifest(s.path()).unwrap())
        );
        let preview = crate::import::inspect(&z, None).unwrap();
        assert_eq!(preview.kind, crate::import::ImportKind::OffsiteArchive);
        let mine = work.path().join(format!("ours-{name}"));
        extract_all(&z, &mine, &CancellationToken::new()).unwrap();
        same_tree(&ours, &mine);

        let gnu = work.path().join(format!("tar-{name}"));
        std::fs::create_dir(&gnu).unwrap();
        tool(&gnu, "tar", &["--zstd", "-xf", z.to_str().unwrap()]);
        same_tree(&ours, &gnu);

        let piped = work.path().join(format!("pipe-{name}"));
        std::fs::create_dir(&piped).unwrap();
        let cmd = format!("zstd -dc '{}' | tar xf -", z.display());
        tool(&piped, "sh", &["-c", &cmd]);
        same_tree(&ours, &piped);
        assert!(!names_in(&piped).is_empty());
    }
}

#[test]
fn an_encrypted_zstd_archive_opens_with_age_then_tar_and_with_our_reader() {
    let s = sample(1024 * 1024 + 5, 1);
    let work = tempfile::tempdir().unwrap();
    let z = transcode(s.path(), work.path(), "x.tar.zst", Some(512));
    let key = work.path().join("key.txt");
    tool(work.path(), "age-keygen", &["-o", key.to_str().unwrap()]);
    let identity = std::fs::read_to_string(&key).unwrap();
    let recipient = identity
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    let enc = work.path().join("x.tar.zst.age");
    tool(
        work.path(),
        "age",
        &[
            "-r",
            &recipient,
            "-o",
            enc.to_str().unwrap(),
            z.to_str().unwrap(),
        ],
    );
    let out = work.path().join("age-tar");
    std::fs::create_dir(&out).unwrap();
    let cmd = format!(
        "age -d -i '{}' '{}' | tar --zstd -xf -",
        key.display(),
        enc.display()
    );
    tool(&out, "sh", &["-c", &cmd]);
    let ours = work.path().join("ours");
    extract_all(s.path(), &ours, &CancellationToken::new()).unwrap();
    same_tree(&ours, &out);

    let secret = identity
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap();
    let k = crate::crypto::UserKey::parse(secret).unwrap();
    let m = crate::archive::read_manifest_with(&enc, &[k]).unwrap();
    assert_eq!(json(&m), json(&read_manifest(s.path()).unwrap()));
}

fn json(m: &crate::archive::Manifest) -> serde_json::Value {
    serde_json::to_value(m).unwrap()
}
