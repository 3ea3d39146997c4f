//! Project exports: a database dump with the project's storage objects and configuration
//! documents beside it, as a tarball (`.tar.gz`, `.tgz`, `.tar.zst`, `.tar`) or a folder, in one of
//! two layouts:
//!
//! ```text
//! DESIGN.md's                         db/ storage/ config/ (SupaManager-style)
//! database.dump   pg_dump -Fc         db/database.dump or the one db/*.dump, db/*.backup (-Fc),
//!                                     or else the one db/*.sql, db/*.sql.gz (plain SQL)
//! globals.sql     roles (optional)    db/globals.sql (optional)
//! storage/<bucket>/<key>              storage/<bucket>/<key>
//! config/…        JSON documents      config/…
//! ```
//!
//! Either may sit in one top folder (`export/database.dump`). Storage objects become the
//! archive's `storage/` members and `storage.json`, as a full backup lays them out
//! ([`crate::archive::storage_layout`]); configuration JSON documents go under the archive's
//! `config/` (`auth.json` beside `supabase/auth.json`'s siblings is taken as
//! `supabase/auth.json`), their secrets redacted as in every archive that is not encrypted, and
//! Edge Functions' bundles (`supabase/functions/<slug>/body.eszip`) as a backup keeps them.
//! Everything else is listed in the preview as not imported, by name.
//!
//! Everything about the export is bounded before anything is read: [`LIMITS`] (files, bytes),
//! names (the archive's member-name rules: relative, no `..`, ≤ 4096 bytes), configuration
//! documents ([`MAX_CONFIG_FILES`], [`MAX_SMALL_DOC`] each, [`MAX_CONFIG_BYTES`] in all); links,
//! devices and other non-files are refused.

use super::{unsupported, walk_tar_limited};
use crate::archive::storage_layout::{
    check_bucket_name, member_name, BucketEntry, ObjectEntry, StorageDoc, ENCODED_DIR, STORAGE_DOC,
    STORAGE_PREFIX,
};
use crate::archive::{
    ArchiveWriter, ComponentCount, StorageCounts, DATABASE_MEMBER, GLOBALS_MEMBER,
};
use crate::error::{Error, ErrorKind, Result};
use crate::progress::Reporter;
use crate::units::MAX_SMALL_DOC;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// How much of an export is read at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Entries (files and folders).
    pub files: u64,
    /// Bytes of all its files together.
    pub bytes: u64,
}

/// The bounds every export is read within: 500,000 entries, 4 TiB.
pub(crate) const LIMITS: Limits = Limits {
    files: 500_000,
    bytes: 4 << 40,
};

/// Configuration documents taken from one export at most.
pub const MAX_CONFIG_FILES: usize = 10_000;
/// Their bytes together (they are held in memory while the archive is written).
pub const MAX_CONFIG_BYTES: u64 = 256 << 20;
/// Files named one by one in the preview's "not imported" list.
const MAX_LISTED: usize = 50;

/// What an export's parts hold, as the preview shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ExportParts {
    /// The dump's name in the export (`database.dump`, `db/shop.dump`).
    pub database: String,
    /// The roles file's name in the export, if it has one.
    pub globals: Option<String>,
    pub storage: Option<StoragePart>,
    pub config: Option<ConfigPart>,
    /// Files of the export that are not imported, with why (at most 50 named).
    pub not_imported: Vec<NotImported>,
    /// Files not imported beyond those named.
    pub not_imported_more: u64,
}

/// An export's storage objects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StoragePart {
    pub objects: u64,
    pub bytes: u64,
    pub buckets: Vec<StorageBucketPart>,
}

/// One bucket of an export.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StorageBucketPart {
    pub name: String,
    pub objects: u64,
    pub bytes: u64,
}

/// An export's configuration documents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConfigPart {
    /// Their names in the archive, under `config/` (`supabase/auth.json`).
    pub documents: Vec<String>,
    pub bytes: u64,
}

/// A file of an export that is not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NotImported {
    pub name: String,
    pub why: String,
}

/// One storage object of an export.
#[derive(Debug, Clone)]
pub(crate) struct StorageFile {
    /// Its name in the export (tarball member or path below the folder).
    pub source: String,
    pub bucket: String,
    pub key: String,
    /// Its member in the new archive.
    pub member: String,
    pub size: u64,
}

/// One configuration document of an export.
#[derive(Debug, Clone)]
pub(crate) struct ConfigFile {
    pub source: String,
    /// Its name under the archive's `config/`.
    pub name: String,
    pub size: u64,
}

/// Where an export's files are read from.
#[derive(Debug, Clone)]
pub(crate) enum ExportFrom {
    Folder(PathBuf),
    /// The tarball (or its decrypted copy: `Inspected::read_path`).
    Tar,
}

/// A recognised export: which file is what.
#[derive(Debug, Clone)]
pub(crate) struct ExportLayout {
    pub from: ExportFrom,
    /// The dump's name in the export.
    pub dump: String,
    /// The dump is plain SQL (`db/*.sql`, `db/*.sql.gz`), not pg_dump's custom format.
    pub plain: bool,
    pub globals: Option<String>,
    pub storage: Vec<StorageFile>,
    pub config: Vec<ConfigFile>,
    pub parts: ExportParts,
    /// A tarball's plain SQL dump, extracted into a private temporary folder (removed with the
    /// last clone of this).
    pub scratch: Option<std::sync::Arc<tempfile::TempDir>>,
}

/// The folder of the export among `names` ("" or "<top>/"): where `database.dump` or a `db/`
/// folder with a file in it is.
pub(crate) fn export_root(names: &[String]) -> Option<String> {
    let at = |root: &str| {
        names.iter().any(|n| {
            n.strip_prefix(root).is_some_and(|r| {
                r == DATABASE_MEMBER || r.strip_prefix("db/").is_some_and(|f| !f.contains('/'))
            })
        })
    };
    if at("") {
        return Some(String::new());
    }
    let tops: std::collections::BTreeSet<&str> = names
        .iter()
        .filter_map(|n| n.split_once('/').map(|(t, _)| t))
        .collect();
    tops.into_iter().map(|t| format!("{t}/")).find(|r| at(r))
}

fn is_custom_dump_name(n: &str) -> bool {
    n.ends_with(".dump") || n.ends_with(".backup")
}

fn is_plain_dump_name(n: &str) -> bool {
    n.ends_with(".sql") || n.ends_with(".sql.gz")
}

/// The dump (and roles file) of the export at `root`, and whether the dump is plain SQL.
fn find_dump(
    shown: &Path,
    files: &[(String, u64)],
    root: &str,
) -> Result<(String, Option<String>, bool)> {
    let has = |rel: &str| files.iter().any(|(n, _)| *n == format!("{root}{rel}"));
    if has(DATABASE_MEMBER) {
        let g = has(GLOBALS_MEMBER).then(|| format!("{root}{GLOBALS_MEMBER}"));
        return Ok((format!("{root}{DATABASE_MEMBER}"), g, false));
    }
    let globals = has("db/globals.sql").then(|| format!("{root}db/globals.sql"));
    if has("db/database.dump") {
        return Ok((format!("{root}db/database.dump"), globals, false));
    }
    let in_db: Vec<&str> = files
        .iter()
        .filter_map(|(n, _)| n.strip_prefix(root)?.strip_prefix("db/"))
        .filter(|f| !f.contains('/'))
        .collect();
    let custom: Vec<&&str> = in_db.iter().filter(|f| is_custom_dump_name(f)).collect();
    let several = |many: &[&&str]| {
        unsupported(
            shown,
            &format!(
                "its db/ folder holds several dumps ({}): keep one",
                many.iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    };
    match custom.as_slice() {
        [one] => return Ok((format!("{root}db/{one}"), globals, false)),
        [] => {}
        many => return Err(several(many)),
    }
    let plain: Vec<&&str> = in_db
        .iter()
        .filter(|f| is_plain_dump_name(f) && **f != "globals.sql")
        .collect();
    match plain.as_slice() {
        [one] => Ok((format!("{root}db/{one}"), globals, true)),
        [] => Err(unsupported(
            shown,
            "its db/ folder holds no database dump (db/database.dump, db/*.dump, db/*.sql or db/*.sql.gz)",
        )),
        many => Err(several(many)),
    }
}

/// An Edge Function's deployed bundle (`supabase/functions/<slug>/body.eszip[.br|.gz]`), as a
/// full backup keeps it (code, not settings: nothing in it is redacted, as in a backup).
fn is_function_bundle(name: &str) -> bool {
    name.strip_prefix("supabase/functions/")
        .and_then(|r| r.split_once('/'))
        .is_some_and(|(slug, file)| {
            !slug.is_empty() && matches!(file, "body.eszip" | "body.eszip.br" | "body.eszip.gz")
        })
}

/// Where configuration document `rest` (its path under `config/`) goes in the archive.
fn config_name(rest: &str) -> String {
    if rest.starts_with("supabase/") {
        return rest.to_string();
    }
    let under = format!("supabase/{rest}");
    if crate::config::endpoint_for(&under).is_some() {
        under
    } else {
        rest.to_string()
    }
}

/// Recognises the export among `files` (names relative to the tarball or folder, with sizes):
/// `None` when it is not one.
pub(crate) fn classify(
    shown: &Path,
    from: ExportFrom,
    files: &[(String, u64)],
) -> Result<Option<ExportLayout>> {
    let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    let Some(root) = export_root(&names) else {
        return Ok(None);
    };
    let (dump, globals, plain) = find_dump(shown, files, &root)?;
    let mut storage = Vec::new();
    let mut config: Vec<ConfigFile> = Vec::new();
    let mut config_bytes = 0u64;
    let mut skipped: Vec<NotImported> = Vec::new();
    let mut skip = |name: &str, why: &str| {
        skipped.push(NotImported {
            name: name.to_string(),
            why: why.to_string(),
        })
    };
    for (name, size) in files {
        if *name == dump || Some(name) == globals.as_ref() {
            continue;
        }
        let Some(rel) = name.strip_prefix(root.as_str()) else {
            skip(name, "outside the export's folder");
            continue;
        };
        if let Some(rest) = rel.strip_prefix(STORAGE_PREFIX) {
            match rest.split_once('/') {
                Some((bucket, key)) if !key.is_empty() && check_bucket_name(bucket).is_ok() => {
                    storage.push(StorageFile {
                        source: name.clone(),
                        bucket: bucket.to_string(),
                        key: key.to_string(),
                        member: String::new(),
                        size: *size,
                    })
                }
                _ => skip(
                    name,
                    "not inside a bucket's folder (storage/<bucket>/<key>)",
                ),
            }
        } else if let Some(rest) = rel.strip_prefix("config/") {
            let target = config_name(rest);
            if !rest.ends_with(".json") && !is_function_bundle(&target) {
                skip(
                    name,
                    "not a JSON document or a function bundle: Offsite cannot tell its secrets apart to redact them",
                );
            } else if *size > MAX_SMALL_DOC {
                skip(name, "larger than 64 MiB");
            } else if config.iter().any(|c| c.name == target) {
                skip(name, &format!("the same document as config/{target}"));
            } else {
                config_bytes += size;
                config.push(ConfigFile {
                    source: name.clone(),
                    name: target,
                    size: *size,
                });
            }
        } else {
            skip(
                name,
                "not a part of a project export Offsite knows (db, storage, config)",
            );
        }
    }
    if config.len() > MAX_CONFIG_FILES || config_bytes > MAX_CONFIG_BYTES {
        return Err(unsupported(
            shown,
            &format!(
                "its config/ folder holds {} JSON documents of {} (at most {MAX_CONFIG_FILES} and {} are imported)",
                config.len(),
                crate::units::format_bytes(config_bytes),
                crate::units::format_bytes(MAX_CONFIG_BYTES)
            ),
        ));
    }
    assign_members(&mut storage);
    config.sort_by(|a, b| a.name.cmp(&b.name));
    let more = skipped.len().saturating_sub(MAX_LISTED) as u64;
    skipped.truncate(MAX_LISTED);
    let parts = ExportParts {
        database: dump.clone(),
        globals: globals.clone(),
        storage: storage_part(&storage),
        config: (!config.is_empty()).then(|| ConfigPart {
            documents: config.iter().map(|c| c.name.clone()).collect(),
            bytes: config_bytes,
        }),
        not_imported: skipped,
        not_imported_more: more,
    };
    Ok(Some(ExportLayout {
        from,
        dump,
        plain,
        globals,
        storage,
        config,
        parts,
        scratch: None,
    }))
}

/// Sorts the objects by bucket and key and gives each its archive member: its own name, or
/// (as a pull does) an encoded one for a key below another key's name.
fn assign_members(storage: &mut [StorageFile]) {
    storage.sort_by(|a, b| (&a.bucket, &a.key).cmp(&(&b.bucket, &b.key)));
    let mut files: HashSet<String> = HashSet::new();
    for f in storage.iter_mut() {
        let (plain, encoded) = member_name(&f.bucket, &f.key);
        let under_a_file = !encoded
            && plain
                .match_indices('/')
                .any(|(i, _)| files.contains(&plain[..i]));
        f.member = if under_a_file {
            let digest = ring::digest::digest(&ring::digest::SHA256, f.key.as_bytes());
            format!(
                "{STORAGE_PREFIX}{}/{ENCODED_DIR}/{}",
                f.bucket,
                hex::encode(digest)
            )
        } else {
            plain
        };
        if !encoded && !under_a_file {
            files.insert(f.member.clone());
        }
    }
}

fn storage_part(storage: &[StorageFile]) -> Option<StoragePart> {
    if storage.is_empty() {
        return None;
    }
    let mut buckets: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for f in storage {
        let b = buckets.entry(&f.bucket).or_default();
        b.0 += 1;
        b.1 += f.size;
    }
    Some(StoragePart {
        objects: storage.len() as u64,
        bytes: storage.iter().map(|f| f.size).sum(),
        buckets: buckets
            .into_iter()
            .map(|(name, (objects, bytes))| StorageBucketPart {
                name: name.to_string(),
                objects,
                bytes,
            })
            .collect(),
    })
}

/// The files below `dir` (names relative to it, `/`-separated, with sizes), within `limits`: a
/// link, device or other non-file, or a name that is not plain UTF-8, is refused.
pub(crate) fn list_folder(
    dir: &Path,
    limits: Limits,
    cancel: &CancellationToken,
) -> Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    let mut stack: Vec<(PathBuf, String)> = vec![(dir.to_path_buf(), String::new())];
    let (mut count, mut bytes) = (0u64, 0u64);
    while let Some((path, prefix)) = stack.pop() {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let entries = std::fs::read_dir(&path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        for e in entries {
            let e = e.map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
            let p = e.path();
            let Some(name) = e.file_name().to_str().map(str::to_string) else {
                return Err(unsafe_file(&p, "its name is not valid UTF-8"));
            };
            let rel = format!("{prefix}{name}");
            crate::archive::check_member_name(&rel, false).map_err(|why| unsafe_file(&p, &why))?;
            count += 1;
            over(dir, count, bytes, limits)?;
            let md = std::fs::symlink_metadata(&p)
                .map_err(|e| Error::io(format!("reading {}", p.display()), e))?;
            if md.is_dir() {
                stack.push((p, format!("{rel}/")));
            } else if md.is_file() {
                bytes = bytes.saturating_add(md.len());
                over(dir, count, bytes, limits)?;
                out.push((rel, md.len()));
            } else {
                return Err(unsafe_file(
                    &p,
                    "not a regular file or folder (link or device)",
                ));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Open the file `rel` (`/`-separated) below the export folder `dir` without following a link
/// anywhere below it: every folder on the way is opened from its parent without following a
/// link ([`crate::nofollow::Folder`]), so a folder swapped for a link after the listing is
/// refused, not followed. A file that is gone or no longer a regular file is refused too.
fn open_below(dir: &Path, rel: &str) -> Result<std::fs::File> {
    let p = dir.join(rel);
    let mut parts: Vec<&str> = rel.split('/').collect();
    let name = parts.pop().unwrap_or_default();
    let gone = || unsafe_file(&p, "no longer a regular file");
    let folder = crate::nofollow::Folder::open(dir, &parts, false)?.ok_or_else(gone)?;
    folder.open_read(name)?.ok_or_else(gone)
}

fn unsafe_file(p: &Path, why: &str) -> Error {
    Error::new(
        ErrorKind::UnsafePath,
        format!("{} cannot be imported: {why}", p.display()),
    )
    .with_hint("an export holds only regular files and folders; remove it, then try again")
}

/// The error when an export is past `limits`.
pub(crate) fn over(shown: &Path, count: u64, bytes: u64, limits: Limits) -> Result<()> {
    if count > limits.files {
        return Err(unsupported(
            shown,
            &format!(
                "more than {}: too many for an import",
                crate::words::plural(limits.files, "file")
            ),
        ));
    }
    if bytes > limits.bytes {
        return Err(unsupported(
            shown,
            &format!(
                "more than {} in all: too large for an import",
                crate::units::format_bytes(limits.bytes)
            ),
        ));
    }
    Ok(())
}

/// What [`pack_parts`] put into the archive.
#[derive(Debug, Default)]
pub(crate) struct Packed {
    pub storage: Option<(StorageCounts, ComponentCount)>,
    /// The configuration documents (path under `config/`, bytes), not yet redacted.
    pub config: Vec<(String, Vec<u8>)>,
}

/// Packs the export's storage objects into `writer` (`storage.json`, then the objects as one
/// fragment, as a pull does) and reads its configuration documents (for the caller to add,
/// redacted). `read_path`: the tarball (or its decrypted copy). Every file is read within the
/// size it was listed with; a file that changed since is an integrity error.
pub(crate) fn pack_parts(
    layout: &ExportLayout,
    read_path: &Path,
    writer: &mut ArchiveWriter,
    created_at: &str,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<Packed> {
    let mut frag = writer.fragment(created_at)?;
    let by_source: HashMap<&str, usize> = layout
        .storage
        .iter()
        .enumerate()
        .map(|(i, f)| (f.source.as_str(), i))
        .collect();
    let configs: HashMap<&str, &ConfigFile> = layout
        .config
        .iter()
        .map(|c| (c.source.as_str(), c))
        .collect();
    let mut sums: Vec<Option<String>> = vec![None; layout.storage.len()];
    let mut docs: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut take = |name: &str, size: u64, r: &mut dyn Read| -> Result<()> {
        if let Some(&i) = by_source.get(name) {
            let f = &layout.storage[i];
            if size != f.size {
                return Err(changed(name));
            }
            sums[i] = Some(stream_object(
                &mut frag, &f.member, f.size, r, reporter, cancel,
            )?);
        } else if let Some(c) = configs.get(name) {
            let mut v = Vec::with_capacity(c.size as usize);
            r.take(c.size + 1)
                .read_to_end(&mut v)
                .map_err(|e| Error::integrity(format!("reading {name}: {e}")))?;
            if v.len() as u64 != c.size {
                return Err(changed(name));
            }
            docs.insert(c.name.clone(), v);
        }
        Ok(())
    };
    match &layout.from {
        ExportFrom::Tar => {
            walk_tar_limited(read_path, LIMITS, cancel, |f, r| take(&f.name, f.size, r))?
        }
        ExportFrom::Folder(dir) => {
            let wanted = layout
                .storage
                .iter()
                .map(|f| (&f.source, f.size))
                .chain(layout.config.iter().map(|c| (&c.source, c.size)));
            for (name, size) in wanted {
                let mut file = open_below(dir, name)?;
                // Its size now, checked against the listing's: a file that grew or shrank
                // since is refused rather than cut or padded.
                let now = file
                    .metadata()
                    .map_err(|e| Error::io(format!("reading {}", dir.join(name).display()), e))?
                    .len();
                if now != size {
                    return Err(changed(name));
                }
                take(name, now, &mut file)?;
            }
        }
    }
    if let Some(i) = sums.iter().position(Option::is_none) {
        return Err(changed(&layout.storage[i].source));
    }
    if docs.len() != layout.config.len() {
        return Err(
            Error::integrity("a configuration document of the export went missing")
                .with_hint("the export changed while it was imported; import it again"),
        );
    }
    let mut packed = Packed {
        config: docs.into_iter().collect(),
        ..Default::default()
    };
    if layout.storage.is_empty() {
        return Ok(packed);
    }
    let doc = storage_doc(layout, &sums);
    let json = serde_json::to_vec(&doc)
        .map_err(|e| Error::internal(format!("writing storage.json: {e}")))?;
    writer.add_bytes(STORAGE_DOC, json);
    writer.add_fragment(frag.finish()?);
    let (objects, bytes) = (
        doc.objects.len() as u64,
        doc.objects.iter().map(|o| o.size).sum(),
    );
    packed.storage = Some((
        StorageCounts {
            buckets: doc.buckets.len() as u64,
            objects,
            bytes,
            ..Default::default()
        },
        ComponentCount {
            items: objects,
            bytes,
        },
    ));
    Ok(packed)
}

fn changed(name: &str) -> Error {
    Error::integrity(format!(
        "{name} is not the file the preview read (it changed or went missing)"
    ))
    .with_hint("the export changed while it was imported; import it again")
}

/// Copies one object of `size` bytes into the fragment as `member`; returns its SHA-256.
fn stream_object(
    frag: &mut crate::archive::FragmentWriter,
    member: &str,
    size: u64,
    r: &mut dyn Read,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<String> {
    frag.start(member, size)?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; (1 << 20).min(size.max(1) as usize)];
    let mut r = r.take(size);
    loop {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::integrity(format!("reading {member}: {e}"))),
        };
        ctx.update(&buf[..n]);
        frag.write(&buf[..n])?;
        reporter.advance(n as u64);
    }
    let sha = hex::encode(ctx.finish().as_ref());
    frag.end(&sha)?;
    Ok(sha)
}

/// `storage.json` of the packed objects (bucket settings unknown: an export has none).
fn storage_doc(layout: &ExportLayout, sums: &[Option<String>]) -> StorageDoc {
    let objects: Vec<ObjectEntry> = layout
        .storage
        .iter()
        .zip(sums)
        .map(|(f, sha)| ObjectEntry {
            bucket: f.bucket.clone(),
            key: f.key.clone(),
            member: Some(f.member.clone()),
            size: f.size,
            sha256: sha.clone().unwrap_or_default(),
            ..Default::default()
        })
        .collect();
    let buckets = layout
        .parts
        .storage
        .as_ref()
        .map(|s| {
            s.buckets
                .iter()
                .map(|b| BucketEntry {
                    name: b.name.clone(),
                    settings: None,
                    objects: b.objects,
                    bytes: b.bytes,
                })
                .collect()
        })
        .unwrap_or_default();
    StorageDoc {
        endpoint: None,
        buckets,
        objects,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(v: &[(&str, u64)]) -> Vec<(String, u64)> {
        v.iter().map(|(n, s)| (n.to_string(), *s)).collect()
    }

    #[test]
    fn export_roots() {
        let n = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            export_root(&n(&["database.dump", "globals.sql"])),
            Some("".into())
        );
        assert_eq!(export_root(&n(&["exp/database.dump"])), Some("exp/".into()));
        assert_eq!(export_root(&n(&["a/b/database.dump", "x"])), None);
        assert_eq!(
            export_root(&n(&["db/shop.dump", "storage/b/k"])),
            Some("".into())
        );
        assert_eq!(export_root(&n(&["e/db/shop.dump"])), Some("e/".into()));
        assert_eq!(export_root(&n(&["db/x/y.dump"])), None);
    }

    #[test]
    fn the_db_layout_is_recognised_and_every_part_listed() {
        let f = files(&[
            ("e/db/shop.dump", 100),
            ("e/db/globals.sql", 5),
            ("e/storage/avatars/a/b.png", 3),
            ("e/storage/avatars/a", 2),
            ("e/storage/docs/x.pdf", 7),
            ("e/storage/loose.txt", 1),
            ("e/config/auth.json", 10),
            ("e/config/supabase/postgrest.json", 11),
            ("e/config/supabase/auth.json", 12),
            ("e/config/.env", 13),
            ("e/config/supabase/functions/hello/metadata.json", 4),
            ("e/config/supabase/functions/hello/body.eszip", 9),
            ("e/config/supabase/functions/hello/source.ts", 9),
            ("e/docker-compose.yml", 14),
            ("README", 1),
        ]);
        let l = classify(Path::new("x"), ExportFrom::Tar, &f)
            .unwrap()
            .unwrap();
        assert_eq!(l.dump, "e/db/shop.dump");
        assert_eq!(l.globals.as_deref(), Some("e/db/globals.sql"));
        let s = l.parts.storage.as_ref().unwrap();
        assert_eq!((s.objects, s.bytes), (3, 12));
        assert_eq!(
            s.buckets
                .iter()
                .map(|b| b.name.as_str())
                .collect::<Vec<_>>(),
            ["avatars", "docs"]
        );
        // `a` then `a/b.png`: the second is below a file's name, so its name is encoded.
        assert_eq!(l.storage[0].member, "storage/avatars/a");
        assert!(l.storage[1]
            .member
            .starts_with("storage/avatars/.offsite-key/"));
        assert_eq!(
            l.parts.config.as_ref().unwrap().documents,
            [
                "supabase/auth.json",
                "supabase/functions/hello/body.eszip",
                "supabase/functions/hello/metadata.json",
                "supabase/postgrest.json"
            ]
        );
        let skipped: Vec<&str> = l
            .parts
            .not_imported
            .iter()
            .map(|n| n.name.as_str())
            .collect();
        for n in [
            "e/storage/loose.txt",
            "e/config/supabase/auth.json",
            "e/config/.env",
            "e/config/supabase/functions/hello/source.ts",
            "e/docker-compose.yml",
            "README",
        ] {
            assert!(skipped.contains(&n), "{n}: {skipped:?}");
        }
    }

    #[test]
    fn several_dumps_in_db_are_refused_and_a_plain_one_is_taken() {
        let two = files(&[("db/a.dump", 1), ("db/b.dump", 1)]);
        let e = classify(Path::new("x"), ExportFrom::Tar, &two).unwrap_err();
        assert!(e.message().contains("a.dump, b.dump"), "{e:?}");
        let two = files(&[("db/a.sql", 1), ("db/b.sql.gz", 1)]);
        let e = classify(Path::new("x"), ExportFrom::Tar, &two).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedFormat);
        let plain = files(&[("db/a.sql.gz", 1), ("db/globals.sql", 1)]);
        let l = classify(Path::new("x"), ExportFrom::Tar, &plain)
            .unwrap()
            .unwrap();
        assert_eq!((l.dump.as_str(), l.plain), ("db/a.sql.gz", true));
        assert_eq!(l.globals.as_deref(), Some("db/globals.sql"));
        let e = classify(
            Path::new("x"),
            ExportFrom::Tar,
            &files(&[("db/notes.txt", 1)]),
        )
        .unwrap_err();
        assert!(e.message().contains("no database dump"), "{e:?}");
        assert!(
            classify(Path::new("x"), ExportFrom::Tar, &files(&[("a/b", 1)]))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_file_gone_between_preview_and_packing_leaves_nothing_in_the_folder() {
        let d = tempfile::tempdir().unwrap();
        let e = d.path().join("export");
        for (name, bytes) in [
            ("db/x.dump", &b"PGDMP"[..]),
            ("storage/b/one", b"1"),
            ("storage/b/two", b"22"),
            ("config/auth.json", b"{}"),
        ] {
            let p = e.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
        let c = CancellationToken::new();
        let files = list_folder(&e, LIMITS, &c).unwrap();
        let layout = classify(&e, ExportFrom::Folder(e.clone()), &files)
            .unwrap()
            .unwrap();
        let dest = d.path().join("dest");
        std::fs::create_dir(&dest).unwrap();
        let reporter = Reporter::silent();
        // Grown since it was listed: refused.
        std::fs::write(e.join("storage/b/two"), b"222").unwrap();
        let mut w = ArchiveWriter::create_with(&dest, "x.tar.zst", Default::default()).unwrap();
        let err =
            pack_parts(&layout, &e, &mut w, "2026-11-26T00:00:00Z", &reporter, &c).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Integrity, "{err:?}");
        drop(w);
        // Gone: refused too.
        std::fs::remove_file(e.join("storage/b/two")).unwrap();
        let mut w = ArchiveWriter::create_with(&dest, "x.tar.zst", Default::default()).unwrap();
        assert!(pack_parts(&layout, &e, &mut w, "2026-11-26T00:00:00Z", &reporter, &c).is_err());
        drop(w);
        // Cancelled: nothing either.
        std::fs::write(e.join("storage/b/two"), b"22").unwrap();
        let cancelled = CancellationToken::new();
        cancelled.cancel();
        let mut w = ArchiveWriter::create_with(&dest, "x.tar.zst", Default::default()).unwrap();
        let err = pack_parts(
            &layout,
            &e,
            &mut w,
            "2026-11-26T00:00:00Z",
            &reporter,
            &cancelled,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Cancelled, "{err:?}");
        drop(w);
        // The folder's lock file stays (every backup folder has one); nothing else.
        let left: Vec<String> = std::fs::read_dir(&dest)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".offsite-folder.lock")
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }

    /// A folder of the export swapped for a link between the listing and the packing (the
    /// file at its end a regular one of the listed size) is refused, not followed.
    #[cfg(unix)]
    #[test]
    fn an_intermediate_folder_swapped_for_a_link_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let e = d.path().join("export");
        for (name, bytes) in [
            ("db/x.dump", &b"PGDMP"[..]),
            ("storage/b/sub/one", b"1"),
            ("config/auth.json", b"{}"),
        ] {
            let p = e.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
        let c = CancellationToken::new();
        let files = list_folder(&e, LIMITS, &c).unwrap();
        let layout = classify(&e, ExportFrom::Folder(e.clone()), &files)
            .unwrap()
            .unwrap();
        // Elsewhere, a file of the same name and size: what the link would hand over.
        let secret = d.path().join("secret");
        std::fs::create_dir_all(secret.join("sub")).unwrap();
        std::fs::write(secret.join("sub/one"), b"S").unwrap();
        std::fs::rename(e.join("storage/b"), d.path().join("moved")).unwrap();
        std::os::unix::fs::symlink(&secret, e.join("storage/b")).unwrap();
        let dest = d.path().join("dest");
        std::fs::create_dir(&dest).unwrap();
        let mut w = ArchiveWriter::create_with(&dest, "x.tar.zst", Default::default()).unwrap();
        let err = pack_parts(
            &layout,
            &e,
            &mut w,
            "2026-11-26T00:00:00Z",
            &Reporter::silent(),
            &c,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnsafePath, "{err:?}");
        assert!(err.message().contains("storage/b"), "{err:?}");
    }

    #[test]
    fn a_folder_with_a_link_or_too_many_files_is_refused() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("db")).unwrap();
        std::fs::write(d.path().join("db/x.dump"), b"PGDMP").unwrap();
        for i in 0..5 {
            std::fs::write(d.path().join(format!("f{i}")), b"").unwrap();
        }
        let c = CancellationToken::new();
        let small = Limits {
            files: 4,
            bytes: 1 << 20,
        };
        let e = list_folder(d.path(), small, &c).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedFormat);
        assert!(e.message().contains("too many"), "{e:?}");
        let tiny = Limits {
            files: 100,
            bytes: 4,
        };
        assert!(list_folder(d.path(), tiny, &c)
            .unwrap_err()
            .message()
            .contains("too large"));
        assert_eq!(list_folder(d.path(), LIMITS, &c).unwrap().len(), 6);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/passwd", d.path().join("db/link")).unwrap();
            let e = list_folder(d.path(), LIMITS, &c).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnsafePath, "{e:?}");
        }
    }
}
