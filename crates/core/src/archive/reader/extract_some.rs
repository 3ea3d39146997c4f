//! Extracting only some of an archive's members: a format-2 restore needs the `database/`
//! members, not the storage objects and configuration files behind them (issue 28, 3b).

use super::super::pipeline;
use super::super::tarfmt::{Kind, Next};
use super::super::unsafe_member;
use super::{corrupt, input_failure, open_input, read_manifest_entry, stream_member};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

fn damaged(path: &Path, what: String) -> Error {
    Error::integrity(format!("{}: {what}", path.display()))
        .with_hint("the archive is damaged; use another copy of this backup")
}

/// Extracts the members whose names `wanted` accepts into `dest`, an existing folder that holds
/// none of them yet (each is created new, with its folders, 0600/0700). Each is checked against
/// the manifest: its size, its SHA-256, listed once ([`ErrorKind::Integrity`] otherwise); every
/// member met on the way must be listed with the size its tar header gives, and unsafe names are
/// [`ErrorKind::UnsafePath`]. Reading stops once every wanted member the manifest lists has been
/// extracted: the members behind them are not inflated (an encrypted archive is still read to its
/// end, so age authenticates its last chunk). On failure what was written stays in `dest`: the
/// caller removes the folder (a restore's private temporary folder). Returns the files written.
///
/// [`ErrorKind::Integrity`]: crate::error::ErrorKind::Integrity
/// [`ErrorKind::UnsafePath`]: crate::error::ErrorKind::UnsafePath
pub(crate) fn extract_matching(
    path: &Path,
    dest: &Path,
    wanted: &dyn Fn(&str) -> bool,
    cancel: &CancellationToken,
) -> Result<Vec<PathBuf>> {
    let (file, encrypted) = open_input(path)?;
    let target_of = |name: &str| -> PathBuf {
        let mut p = dest.to_path_buf();
        p.extend(name.split('/').filter(|c| !c.is_empty()));
        p
    };
    let outcome = pipeline::run_reader(
        file,
        false,
        encrypted,
        None,
        cancel,
        |tar, hasher| -> Result<(crate::archive::Manifest, Vec<PathBuf>, Vec<u64>)> {
            let (manifest, _) = read_manifest_entry(tar, path)?;
            let index: HashMap<&str, usize> = manifest
                .members
                .iter()
                .enumerate()
                .rev()
                .map(|(i, m)| (m.name.as_str(), i))
                .collect();
            let mut left = manifest.members.iter().filter(|m| wanted(&m.name)).count();
            let mut written = Vec::new();
            // Bytes read per manifest member, u64::MAX until seen.
            let mut sizes = vec![u64::MAX; manifest.members.len()];
            while left > 0 {
                if cancel.is_cancelled() {
                    return Err(Error::cancelled());
                }
                let header = match tar.next() {
                    Ok(Next::Entry(h)) => h,
                    // What is missing is said below, by name.
                    Ok(Next::End | Next::Eof) => break,
                    Err(e) => return Err(corrupt(path, "reading", &e)),
                };
                if let Some(why) = header.unsafe_reason() {
                    return Err(unsafe_member(&header.name, &why));
                }
                if header.kind == Kind::Dir {
                    continue;
                }
                let Some(&idx) = index.get(header.name.as_str()) else {
                    return Err(damaged(
                        path,
                        format!("member {} is not listed in the manifest", header.name),
                    ));
                };
                if header.size != manifest.members[idx].size {
                    return Err(damaged(
                        path,
                        format!(
                            "member {} is {} bytes in the archive, but the manifest says {}",
                            header.name, header.size, manifest.members[idx].size
                        ),
                    ));
                }
                if !wanted(&header.name) {
                    continue; // its data is skipped by the next header's read
                }
                if sizes[idx] != u64::MAX {
                    return Err(damaged(
                        path,
                        format!("member {} appears twice", header.name),
                    ));
                }
                let target = target_of(&header.name);
                if let Some(parent) = target.parent() {
                    crate::private_fs::create_dir_all(parent)
                        .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
                }
                let mut out = crate::private_fs::create_new(&target)
                    .map_err(|e| Error::io(format!("creating {}", target.display()), e))?;
                written.push(target.clone());
                let mut sink = |b: &[u8]| {
                    out.write_all(b)
                        .map_err(|e| Error::io(format!("writing {}", target.display()), e))
                };
                let n = match stream_member(tar, hasher, Some(&mut sink), cancel)? {
                    Ok(n) => n,
                    Err((_, e)) => {
                        return Err(corrupt(path, &format!("reading {}", header.name), &e))
                    }
                };
                hasher.end(idx);
                sizes[idx] = n;
                left -= 1;
            }
            Ok((manifest, written, sizes))
        },
    );
    if let Some(e) = input_failure(path, &outcome, cancel, encrypted) {
        return Err(e);
    }
    let (manifest, written, sizes) = outcome.value?;
    for (i, m) in manifest.members.iter().enumerate() {
        if !wanted(&m.name) {
            continue;
        }
        if sizes[i] == u64::MAX {
            return Err(damaged(
                path,
                format!("member {} is missing from the archive", m.name),
            ));
        }
        if sizes[i] != m.size || outcome.hashes.get(&i) != Some(&m.sha256) {
            return Err(damaged(
                path,
                format!(
                    "member {} does not match its checksum in the manifest",
                    m.name
                ),
            ));
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::testutil::{manifest, quiet, ARCHIVE};
    use crate::archive::ArchiveWriter;
    use crate::error::ErrorKind;

    fn archive(dir: &Path) -> PathBuf {
        let mut w = ArchiveWriter::create(dir, ARCHIVE, 1).unwrap();
        let big: Vec<u8> = (0..400_000u32).flat_map(|i| i.to_le_bytes()).collect();
        w.add_bytes("database/3001.dat", big);
        w.add_bytes("database/toc.dat", b"PGDMP the toc".to_vec());
        w.add_bytes("globals.sql", b"CREATE ROLE anon;\n".to_vec());
        w.add_bytes("storage/b/one.txt", b"an object".to_vec());
        w.finish(manifest(), &quiet(), &CancellationToken::new())
            .unwrap()
            .path
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for e in walk(dir) {
            out.push(
                e.strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
        }
        out.sort();
        out
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
        out
    }

    #[test]
    fn only_the_wanted_members_are_extracted_and_checked() {
        let (src, dest) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let path = archive(src.path());
        let db = |n: &str| n.starts_with("database/") && n != "database/toc.dat";
        let written = extract_matching(&path, dest.path(), &db, &CancellationToken::new()).unwrap();
        assert_eq!(written, vec![dest.path().join("database").join("3001.dat")]);
        assert_eq!(files(dest.path()), vec!["database/3001.dat"]);
        let got = std::fs::read(dest.path().join("database/3001.dat")).unwrap();
        assert_eq!(got.len(), 1_600_000);
        assert_eq!(&got[4..8], &1u32.to_le_bytes());
        // A member that is already there is not overwritten.
        let e = extract_matching(&path, dest.path(), &db, &CancellationToken::new()).unwrap_err();
        assert!(e.message().contains("3001.dat"), "{e}");
        assert_eq!(
            std::fs::read(dest.path().join("database/3001.dat")).unwrap(),
            got
        );
        // Cancelled: an error, whatever was written is the caller's to remove.
        let cancel = CancellationToken::new();
        cancel.cancel();
        let other = tempfile::tempdir().unwrap();
        assert!(extract_matching(&path, other.path(), &db, &cancel).is_err());
    }

    #[test]
    fn a_damaged_wanted_member_is_an_integrity_error() {
        let src = tempfile::tempdir().unwrap();
        let path = archive(src.path());
        // A byte flipped in the middle: inside the data member.
        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        let damaged = src.path().join("damaged.tar.gz");
        std::fs::write(&damaged, bytes).unwrap();
        let dest = tempfile::tempdir().unwrap();
        let all_db = |n: &str| n.starts_with("database/");
        let e = extract_matching(&damaged, dest.path(), &all_db, &CancellationToken::new())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
        // Nothing wanted: nothing written.
        let dest = tempfile::tempdir().unwrap();
        let none = |n: &str| n == "database/nothing.dat";
        assert!(extract_matching(&path, dest.path(), &none, &CancellationToken::new()).is_ok());
        assert!(files(dest.path()).is_empty());
    }
}
