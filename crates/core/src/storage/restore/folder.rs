//! Restoring into a local folder: `<dir>/<bucket>/<key>`.
//!
//! Keys that are not safe relative paths (and keys that another key needs as a folder, like
//! `a` beside `a/b`) go to `<dir>/<bucket>/.offsite-key/<sha256 of key>`, and
//! `<dir>/<bucket>/.offsite-keys.json` maps those names to the real keys. Nothing is written
//! outside `<dir>`: names come from checked keys only and no existing symlink is followed.
//! Files are written under a temporary name, checked, synced and renamed.

use super::source::{self, Hashing};
use super::{
    blocking, build_plan, empty_report, Decision, Prepared, Selected, StorageRestoreOptions,
    StorageRestoreReport,
};
use crate::archive::{sync_dir, TMP_PREFIX};
use crate::error::{Error, ErrorKind, Result};
use crate::progress::Reporter;
use crate::storage::layout::{key_is_safe, ObjectEntry, ENCODED_DIR};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// The file mapping encoded names to keys, in each bucket's folder.
pub const KEYS_FILE: &str = ".offsite-keys.json";

/// Where a key goes inside its bucket's folder: path segments, and whether it is encoded.
fn place(key: &str, dirs: &HashSet<String>) -> (Vec<String>, bool) {
    let first = key.split('/').next().unwrap_or("");
    if key_is_safe(key) && !dirs.contains(key) && first != KEYS_FILE {
        (key.split('/').map(str::to_string).collect(), false)
    } else {
        let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
        (vec![ENCODED_DIR.to_string(), hex::encode(digest)], true)
    }
}

/// The folders the safe keys of one bucket need (every proper prefix).
fn folders_of<'a>(keys: impl Iterator<Item = &'a str>) -> HashSet<String> {
    let mut dirs = HashSet::new();
    for key in keys.filter(|k| key_is_safe(k)) {
        let mut at = 0;
        while let Some(p) = key[at..].find('/') {
            dirs.insert(key[..at + p].to_string());
            at += p + 1;
        }
    }
    dirs
}

/// Per item: (bucket folder name, segments inside it, encoded).
pub(super) fn places(sel: &Selected) -> Vec<(Vec<String>, bool)> {
    let mut dirs: Vec<HashSet<String>> = Vec::new();
    for bi in 0..sel.buckets.len() {
        dirs.push(folders_of(
            sel.items
                .iter()
                .filter(|it| it.bucket == bi)
                .map(|it| sel.entry(it).key.as_str()),
        ));
    }
    sel.items
        .iter()
        .map(|it| place(&sel.entry(it).key, &dirs[it.bucket]))
        .collect()
}

/// `dir/<bucket>/<segments>`.
pub(super) fn path_of(dir: &Path, bucket: &str, segs: &[String]) -> PathBuf {
    let mut p = dir.join(bucket);
    p.extend(segs);
    p
}

/// What is at `path` (never following a symlink), and why it cannot be written when it cannot.
pub(super) enum Existing {
    Missing,
    File(u64),
    Blocked(String),
}

pub(super) fn existing(dir: &Path, bucket: &str, segs: &[String]) -> Existing {
    // Every folder on the way must be a real folder (or missing).
    let mut p = dir.join(bucket);
    for (i, seg) in std::iter::once(None)
        .chain(segs.iter().map(Some))
        .enumerate()
    {
        if let Some(seg) = seg {
            p.push(seg);
        }
        let last = i == segs.len();
        match std::fs::symlink_metadata(&p) {
            Err(_) => return Existing::Missing,
            Ok(md) if md.file_type().is_symlink() => {
                return Existing::Blocked(format!("{} is a symbolic link", p.display()))
            }
            Ok(md) if last && md.is_file() => return Existing::File(md.len()),
            Ok(md) if !last && md.is_dir() => {}
            Ok(_) if last => {
                return Existing::Blocked(format!("{} exists and is not a file", p.display()))
            }
            Ok(_) => {
                return Existing::Blocked(format!("{} exists and is not a folder", p.display()))
            }
        }
    }
    Existing::Missing
}

/// Looks at what the folder holds and decides every object.
pub(super) async fn plan(
    dir: &Path,
    sel: Selected,
    opts: &StorageRestoreOptions,
    cancel: &CancellationToken,
) -> Result<Prepared> {
    if opts.mirror {
        return Err(Error::invalid(
            "mirror mode deletes objects of an object store; a restore into a folder never deletes files",
        ));
    }
    // The folder itself was chosen by the user: it may be reached through a symlink.
    match std::fs::metadata(dir) {
        Ok(md) if md.is_dir() => {}
        Ok(_) => {
            return Err(Error::invalid(format!(
                "{} exists and is not a folder",
                dir.display()
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(format!("checking {}", dir.display()), e)),
    }
    let (dir_c, overwrite, cancel) = (dir.to_path_buf(), opts.overwrite, cancel.clone());
    let (sel, decisions, exists, blockers) = blocking("looking at the folder", move || {
        let places = places(&sel);
        let mut decisions = Vec::with_capacity(sel.items.len());
        let mut blockers = Vec::new();
        for (item, (segs, _)) in sel.items.iter().zip(&places) {
            if cancel.is_cancelled() {
                return Err(Error::cancelled());
            }
            let e = sel.entry(item);
            let bucket = &sel.buckets[item.bucket].target;
            let d = match existing(&dir_c, bucket, segs) {
                Existing::Missing => Decision::New,
                Existing::File(size) => {
                    let path = path_of(&dir_c, bucket, segs);
                    if size == e.size && crate::archive::sha256_file(&path)? == e.sha256 {
                        Decision::Identical
                    } else if overwrite {
                        Decision::Overwrite
                    } else {
                        Decision::Keep
                    }
                }
                Existing::Blocked(why) => {
                    if blockers.len() < 20 {
                        blockers.push(format!("object {}/{}: {why}", e.bucket, e.key));
                    }
                    Decision::Keep
                }
            };
            decisions.push(d);
        }
        let exists = sel
            .buckets
            .iter()
            .map(|b| dir_c.join(&b.target).is_dir())
            .collect::<Vec<_>>();
        Ok((sel, decisions, exists, blockers))
    })
    .await?;
    let mut plan = build_plan(
        &sel,
        &decisions,
        &[],
        &vec![0; sel.buckets.len()],
        &exists,
        format!("folder {}", dir.display()),
        opts,
    );
    plan.blockers = blockers;
    Ok(Prepared {
        plan,
        sel,
        decisions,
        deletions: Vec::new(),
        exists,
    })
}

/// Creates `dir/<bucket>/<folders>`, one segment at a time, refusing symlinks and anything that
/// is not a folder. Returns the folder.
fn make_folders(dir: &Path, bucket: &str, folders: &[String]) -> Result<PathBuf> {
    let mut p = dir.to_path_buf();
    for seg in std::iter::once(bucket).chain(folders.iter().map(String::as_str)) {
        p.push(seg);
        match std::fs::symlink_metadata(&p) {
            Ok(md) if md.is_dir() && !md.file_type().is_symlink() => {}
            Ok(_) => {
                return Err(Error::new(
                    ErrorKind::UnsafePath,
                    format!("{} is not a folder (or is a symbolic link)", p.display()),
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => crate::private_fs::create_dir(&p)
                .map_err(|e| Error::io(format!("creating {}", p.display()), e))?,
            Err(e) => return Err(Error::io(format!("checking {}", p.display()), e)),
        }
    }
    Ok(p)
}

/// Writes one member under a temporary name in its folder, checks it, syncs it and renames it.
fn write_verified(
    archive: &Path,
    parent: &Path,
    name: &str,
    e: &ObjectEntry,
    r: &mut dyn Read,
    cancel: &CancellationToken,
) -> Result<()> {
    let mut tmp = crate::private_fs::tempfile_in(parent, TMP_PREFIX).map_err(|e| {
        Error::io(
            format!("creating a temporary file in {}", parent.display()),
            e,
        )
    })?;
    let mut h = Hashing::new(r, false);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let n = h
            .read(&mut buf)
            .map_err(|e| Error::io(format!("reading {}", archive.display()), e))?;
        if n == 0 {
            break;
        }
        tmp.write_all(&buf[..n])
            .map_err(|e| Error::io(format!("writing {}", tmp.path().display()), e))?;
    }
    let (n, sha, _) = h.finish();
    if n != e.size || sha != e.sha256 {
        return Err(source::mismatch(archive, e, n, &sha));
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(format!("syncing {}", tmp.path().display()), e))?;
    let dest = parent.join(name);
    tmp.persist(&dest)
        .map_err(|e| Error::io(format!("renaming into {}", dest.display()), e.error))?;
    Ok(())
}

/// Adds `entries` (encoded name → key) to `<bucket folder>/.offsite-keys.json`.
fn write_keys_file(bucket_dir: &Path, entries: &BTreeMap<String, String>) -> Result<()> {
    let path = bucket_dir.join(KEYS_FILE);
    let mut map: BTreeMap<String, String> = match std::fs::read(&path) {
        Ok(raw) => serde_json::from_slice(&raw).unwrap_or_default(),
        Err(_) => BTreeMap::new(),
    };
    map.extend(entries.iter().map(|(k, v)| (k.clone(), v.clone())));
    let text = serde_json::to_vec_pretty(&map)
        .map_err(|e| Error::internal(format!("serializing {KEYS_FILE}: {e}")))?;
    let mut tmp = crate::private_fs::tempfile_in(bucket_dir, TMP_PREFIX).map_err(|e| {
        Error::io(
            format!("creating a temporary file in {}", bucket_dir.display()),
            e,
        )
    })?;
    tmp.write_all(&text)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    tmp.persist(&path)
        .map_err(|e| Error::io(format!("renaming into {}", path.display()), e.error))?;
    Ok(())
}

/// Carries out the plan.
pub(super) async fn execute(
    dir: &Path,
    p: Prepared,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<StorageRestoreReport> {
    let Prepared {
        plan,
        sel,
        decisions,
        exists,
        ..
    } = p;
    let mut report = empty_report(plan);
    let (dir, reporter_c, cancel) = (dir.to_path_buf(), reporter.clone(), cancel.clone());
    blocking("restoring into the folder", move || {
        crate::private_fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let places = places(&sel);
        for (bi, b) in sel.buckets.iter().enumerate() {
            make_folders(&dir, &b.target, &[])?;
            if !exists[bi] {
                report.created_buckets.push(b.target.clone());
                report.buckets[bi].created = true;
            }
        }
        let mut touched: BTreeSet<PathBuf> = BTreeSet::new();
        let mut written: HashSet<usize> = HashSet::new();
        let mut result = Ok(());
        for a in 0..sel.archives.len() {
            let wanted: HashMap<String, usize> = (0..sel.items.len())
                .filter(|&i| {
                    matches!(decisions[i], Decision::New | Decision::Overwrite)
                        && sel.items[i].src.archive == a
                })
                .map(|i| (sel.items[i].src.member.clone(), i))
                .collect();
            if wanted.is_empty() {
                continue;
            }
            let path = &sel.archives[a].path;
            result = source::scan_members(path, &wanted, &cancel, |i, r| {
                let item = &sel.items[i];
                let e = sel.entry(item);
                let bucket = &sel.buckets[item.bucket].target;
                let segs = &places[i].0;
                let (name, folders) = segs.split_last().expect("a key has a name");
                let parent = make_folders(&dir, bucket, folders)?;
                write_verified(path, &parent, name, e, r, &cancel)?;
                touched.insert(parent);
                written.insert(i);
                report.uploaded += 1;
                report.uploaded_bytes += e.size;
                report.buckets[item.bucket].uploaded += 1;
                report.buckets[item.bucket].uploaded_bytes += e.size;
                reporter_c.advance(e.size);
                Ok(())
            });
            if result.is_err() {
                break;
            }
        }
        // The map of encoded names, for what is in the folder now (also after a failure).
        let mut keys: Vec<BTreeMap<String, String>> = vec![BTreeMap::new(); sel.buckets.len()];
        for (i, item) in sel.items.iter().enumerate() {
            let (segs, encoded) = &places[i];
            let on_disk = written.contains(&i) || decisions[i] == Decision::Identical;
            if *encoded && on_disk {
                keys[item.bucket].insert(segs[1].clone(), sel.entry(item).key.clone());
            }
        }
        for (bi, map) in keys.iter().enumerate() {
            if !map.is_empty() {
                let bucket_dir = dir.join(&sel.buckets[bi].target);
                write_keys_file(&bucket_dir, map)?;
                touched.insert(bucket_dir);
            }
        }
        for d in &touched {
            sync_dir(d)?;
        }
        result?;
        for (i, d) in decisions.iter().enumerate() {
            let item = &sel.items[i];
            match d {
                Decision::Identical => {
                    report.skipped += 1;
                    report.skipped_bytes += sel.entry(item).size;
                    report.buckets[item.bucket].skipped += 1;
                }
                Decision::Keep => {
                    report.kept += 1;
                    report.buckets[item.bucket].kept += 1;
                }
                Decision::New | Decision::Overwrite => {}
            }
        }
        Ok(report)
    })
    .await
}
