//! Reading an archive: the manifest, full verification, streaming one member, safe extraction.
//!
//! Everything is strict: only regular files and directories with plain relative names are
//! accepted; links, devices, absolute paths and `..` are refused before anything is written.

use super::pipeline::{self, ArchiveStream, MemberHasher, Outcome};
use super::tarfmt::{Kind, Next, TarError, TarReader};
use super::{
    check_member_name, read_sidecar, unsafe_member, Manifest, FORMAT_VERSION, MANIFEST_NAME,
    MAX_MANIFEST_SIZE,
};
use crate::error::{Error, ErrorKind, Result};
use crate::progress::{Phase, Reporter};
use serde::Serialize;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// How `<archive>.sha256` compares with the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SidecarStatus {
    Match,
    /// There is no `<archive>.sha256`. Not a failure by itself: the member checksums in the
    /// manifest still cover every byte of content.
    Missing,
    /// The recorded digest differs (or the file is unreadable / malformed: `expected` is then
    /// empty and the report's `problems` say why).
    Mismatch {
        expected: String,
    },
}

/// The check of one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MemberCheck {
    pub name: String,
    /// From the manifest (0 for a member the manifest does not list).
    pub expected_size: u64,
    /// Bytes actually read from the archive.
    pub actual_size: u64,
    /// From the manifest (empty for a member the manifest does not list).
    pub expected_sha256: String,
    /// `None` when the member could not be read completely.
    pub actual_sha256: Option<String>,
    pub ok: bool,
    pub problem: Option<String>,
    /// [`ErrorKind::Integrity`] or [`ErrorKind::UnsafePath`] when not ok.
    pub problem_kind: Option<ErrorKind>,
}

/// The result of [`verify`].
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct VerifyReport {
    pub archive: PathBuf,
    /// True when every member matches the manifest, the archive is structurally sound and the
    /// sidecar (if present) matches.
    pub ok: bool,
    /// SHA-256 of the whole archive file.
    pub file_sha256: String,
    pub sidecar: SidecarStatus,
    /// Members in archive order; members the manifest lists but the archive lacks come last.
    pub members: Vec<MemberCheck>,
    /// The first bad member; else the archive's file name for a structural problem (truncated,
    /// data after the end, ...); else `<archive file name>.sha256` for a sidecar mismatch.
    pub first_bad: Option<String>,
    /// Uncompressed bytes read and checked (member contents, metadata.json included).
    pub bytes_verified: u64,
    /// Every problem found, as sentences, in the order found.
    pub problems: Vec<String>,
    /// The manifest, when it could be read.
    pub manifest: Option<Manifest>,
}

fn not_archive(path: &Path, why: &str) -> Error {
    Error::new(
        ErrorKind::UnsupportedFormat,
        format!("not an Offsite archive: {}: {why}", path.display()),
    )
    .with_hint("choose a .tar.gz that Offsite made (a file named <project>_<date>_<type>.tar.gz)")
}

pub(super) fn corrupt(path: &Path, what: &str, e: &TarError) -> Error {
    Error::integrity(format!("{}: {what}: {e}", path.display()))
        .with_hint("the archive is damaged; use another copy of this backup")
}

/// Opens an archive and checks the gzip magic bytes.
pub(super) fn open_archive(path: &Path) -> Result<File> {
    let mut f =
        File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut magic = [0u8; 2];
    let n = pipeline::read_full(&mut f, &mut magic)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    if n == 0 {
        return Err(not_archive(path, "the file is empty"));
    }
    if n < 2 || magic != [0x1f, 0x8b] {
        return Err(not_archive(path, "not a gzip-compressed tar file"));
    }
    f.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    Ok(f)
}

/// Reads the first entry, which must be `metadata.json`, and parses it. Errors are
/// [`ErrorKind::UnsupportedFormat`] when this is not an Offsite archive (of a version we read)
/// and [`ErrorKind::Integrity`] when it is damaged. Returns the raw JSON too.
pub(super) fn read_manifest_entry<R: Read>(
    tar: &mut TarReader<R>,
    path: &Path,
) -> Result<(Manifest, Vec<u8>)> {
    let header = match tar.next() {
        Ok(Next::Entry(h)) => h,
        Ok(Next::End | Next::Eof) => return Err(not_archive(path, "it contains no files")),
        Err(TarError::BadHeader(why)) => return Err(not_archive(path, &why)),
        // Less than one header block: whatever this is, it is not an archive.
        Err(TarError::Truncated) => return Err(not_archive(path, "not a tar archive (too short)")),
        Err(e @ TarError::Stream(_)) => return Err(corrupt(path, "reading metadata.json", &e)),
    };
    if header.name != MANIFEST_NAME || header.kind != Kind::File {
        return Err(not_archive(
            path,
            &format!("the first member is {:?}, not {MANIFEST_NAME}", header.name),
        ));
    }
    if header.size > MAX_MANIFEST_SIZE {
        return Err(not_archive(
            path,
            &format!("{MANIFEST_NAME} is {} bytes, too large", header.size),
        ));
    }
    let mut raw = vec![0u8; header.size as usize];
    tar.fill(&mut raw)
        .map_err(|e| corrupt(path, "reading metadata.json", &e))?;

    // Check the version before the schema: a newer format may not parse as ours. Only the
    // version is picked out (the rest is skipped, not built): a `serde_json::Value` of a
    // manifest that lists 100,000 objects would take ~1 KB per member.
    #[derive(serde::Deserialize)]
    struct Head {
        format_version: Option<serde_json::Value>,
    }
    let invalid = |e: serde_json::Error| {
        not_archive(path, &format!("{MANIFEST_NAME} is not valid JSON ({e})"))
    };
    let is_object = raw.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let version = if is_object {
        serde_json::from_slice::<Head>(&raw)
            .map_err(invalid)?
            .format_version
    } else {
        serde_json::from_slice::<serde::de::IgnoredAny>(&raw).map_err(invalid)?;
        None
    };
    let version = version
        .and_then(|v| v.as_u64())
        .ok_or_else(|| not_archive(path, &format!("{MANIFEST_NAME} has no format_version")))?;
    if version > FORMAT_VERSION as u64 {
        return Err(Error::new(
            ErrorKind::UnsupportedFormat,
            format!(
                "{} uses archive format {version}; this Offsite reads format {FORMAT_VERSION} and older",
                path.display()
            ),
        )
        .with_hint("upgrade Offsite to read this archive"));
    }
    let manifest: Manifest = serde_json::from_slice(&raw)
        .map_err(|e| not_archive(path, &format!("{MANIFEST_NAME} is malformed ({e})")))?;
    Ok((manifest, raw))
}

/// Reads the manifest (`metadata.json`, the first member) without reading further.
pub fn read_manifest(path: &Path) -> Result<Manifest> {
    let file = open_archive(path)?;
    let gz = flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(64 * 1024, file));
    read_manifest_entry(&mut TarReader::new(gz), path).map(|(m, _)| m)
}

/// After the pipeline ran: a cancel or a read error of the file itself wins over whatever the
/// body concluded (the body saw those only as a broken stream).
fn pipeline_failure<T>(
    path: &Path,
    outcome: &Outcome<T>,
    cancel: &CancellationToken,
) -> Option<Error> {
    if cancel.is_cancelled() {
        return Some(Error::cancelled());
    }
    match &outcome.file {
        Err(e) => Some(Error::io(
            format!("reading {}", path.display()),
            io::Error::new(e.kind(), e.to_string()),
        )),
        Ok(_) => None,
    }
}

/// Receives member bytes as they stream by (restore's pipe, an extracted file).
type Sink<'a> = &'a mut dyn FnMut(&[u8]) -> Result<()>;

/// Streams a member's data to the hash thread, and to `sink` first if given. Returns the bytes
/// read; on a stream error, the bytes read before it and the error.
fn stream_member(
    tar: &mut ArchiveStream,
    hasher: &MemberHasher,
    mut sink: Option<Sink>,
    cancel: &CancellationToken,
) -> Result<std::result::Result<u64, (u64, TarError)>> {
    let mut total = 0u64;
    while tar.remaining() > 0 {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let mut buf = hasher.buffer();
        match tar.fill(&mut buf) {
            Ok(n) => {
                if let Some(sink) = sink.as_mut() {
                    sink(&buf[..n])?;
                }
                hasher.update(buf, n);
                total += n as u64;
            }
            Err(e) => return Ok(Err((total, e))),
        }
    }
    Ok(Ok(total))
}

/// Re-reads the whole archive and checks it: the file's SHA-256 against `<archive>.sha256`, every
/// member's size and SHA-256 against the manifest, that no member is missing, extra, duplicated
/// or unsafe, and that the tar and gzip structure is intact to the last byte.
///
/// Integrity problems give `Ok` with `ok: false`. `Err` only when the file cannot be opened or
/// read, is not an Offsite archive or is of a newer format ([`ErrorKind::UnsupportedFormat`]),
/// or on cancel. Progress: [`Phase::Verifying`] in archive bytes read, out of the file size.
pub fn verify(
    path: &Path,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<VerifyReport> {
    let file = open_archive(path)?;
    let size = file
        .metadata()
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?
        .len();
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    reporter.phase(Phase::Verifying, Some(size));

    let outcome = pipeline::run(file, true, Some(reporter), cancel, |tar, hasher| {
        verify_body(tar, hasher, path, cancel)
    });
    if let Some(e) = pipeline_failure(path, &outcome, cancel) {
        return Err(e);
    }
    let mut body = match outcome.value {
        Ok(b) => b,
        // A damaged manifest is an integrity finding; anything else (not an archive) an error.
        Err(e) if e.kind() == ErrorKind::Integrity => VerifyBody {
            checks: vec![MemberCheck {
                name: MANIFEST_NAME.into(),
                expected_size: 0,
                actual_size: 0,
                expected_sha256: String::new(),
                actual_sha256: None,
                ok: false,
                problem: Some(e.message().to_string()),
                problem_kind: Some(ErrorKind::Integrity),
            }],
            problems: vec![e.message().to_string()],
            ..VerifyBody::default()
        },
        Err(e) => return Err(e),
    };
    for (i, check) in body.checks.iter_mut().enumerate() {
        if body.hashed.contains(&i) {
            check.actual_sha256 = outcome.hashes.get(&i).cloned();
        }
        if check.ok && check.actual_sha256.as_deref() != Some(check.expected_sha256.as_str()) {
            check.ok = false;
            check.problem = Some(format!(
                "{}: SHA-256 mismatch (content differs from what was backed up)",
                check.name
            ));
            check.problem_kind = Some(ErrorKind::Integrity);
            body.problems.push(check.problem.clone().unwrap());
        }
    }

    let file_read = outcome.file.as_ref().ok();
    let file_sha256 = match file_read.and_then(|f| f.sha256.clone()) {
        Some(h) => h,
        // Reading stopped early (damaged manifest): hash the file on its own.
        None => super::sha256_file(path)?,
    };
    if file_read.is_some_and(|f| f.sha256.is_some() && f.bytes != size) {
        body.problems.push(format!(
            "{file_name} changed size while it was being verified"
        ));
        body.structural = true;
    }
    let sidecar = match read_sidecar(path) {
        Ok(None) => SidecarStatus::Missing,
        Ok(Some(h)) if h == file_sha256 => SidecarStatus::Match,
        Ok(Some(h)) => {
            body.problems.push(format!(
                "{file_name}.sha256 records {h}, but the archive's SHA-256 is {file_sha256}"
            ));
            SidecarStatus::Mismatch { expected: h }
        }
        Err(e) => {
            body.problems.push(e.message().to_string());
            SidecarStatus::Mismatch {
                expected: String::new(),
            }
        }
    };

    let first_bad = body
        .checks
        .iter()
        .find(|c| !c.ok)
        .map(|c| c.name.clone())
        .or_else(|| body.structural.then(|| file_name.clone()))
        .or_else(|| {
            matches!(sidecar, SidecarStatus::Mismatch { .. }).then(|| format!("{file_name}.sha256"))
        });
    Ok(VerifyReport {
        archive: path.to_path_buf(),
        ok: first_bad.is_none(),
        file_sha256,
        sidecar,
        bytes_verified: body.checks.iter().map(|c| c.actual_size).sum::<u64>() + body.manifest_len,
        members: body.checks,
        first_bad,
        problems: body.problems,
        manifest: body.manifest,
    })
}

#[derive(Default)]
struct VerifyBody {
    checks: Vec<MemberCheck>,
    /// Indexes of checks whose data went to the hash thread completely.
    hashed: std::collections::HashSet<usize>,
    problems: Vec<String>,
    /// A problem not attributable to a member (truncation after the last one, trailing data).
    structural: bool,
    manifest: Option<Manifest>,
    manifest_len: u64,
}

fn verify_body(
    tar: &mut ArchiveStream,
    hasher: &MemberHasher,
    path: &Path,
    cancel: &CancellationToken,
) -> Result<VerifyBody> {
    let (manifest, raw) = read_manifest_entry(tar, path)?;
    let mut body = VerifyBody {
        manifest_len: raw.len() as u64,
        ..VerifyBody::default()
    };
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, m) in manifest.members.iter().enumerate() {
        index.entry(m.name.as_str()).or_insert(i);
    }
    let mut seen = vec![false; manifest.members.len()];
    let mut seen_extra: Vec<String> = Vec::new();
    // Set when the stream broke and reading stopped.
    let mut stopped: Option<String> = None;
    // The bytes of storage.json, when the archive has one.
    let mut storage_doc: Option<Vec<u8>> = None;

    loop {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let header = match tar.next() {
            Ok(Next::Entry(h)) => h,
            Ok(Next::End) => {
                if let Err(e) = tar.finish() {
                    let what = match e {
                        TarError::BadHeader(_) => {
                            "unexpected data after the end of the archive".to_string()
                        }
                        e => format!("the end of the archive is damaged: {e}"),
                    };
                    body.problems.push(what);
                    body.structural = true;
                }
                break;
            }
            Ok(Next::Eof) => {
                body.problems
                    .push("the archive has no end-of-archive marker (truncated?)".into());
                body.structural = true;
                break;
            }
            Err(e) => {
                stopped = Some(format!("unreadable: {e}"));
                // Blamed on the member that should come next, if any (it cannot be checked).
                if seen.iter().all(|s| *s) {
                    body.problems
                        .push(format!("the archive is damaged after its last member: {e}"));
                    body.structural = true;
                }
                break;
            }
        };

        let expected = index
            .get(header.name.as_str())
            .map(|&i| &manifest.members[i]);
        let mut check = MemberCheck {
            name: header.name.clone(),
            expected_size: expected.map_or(0, |m| m.size),
            actual_size: header.size,
            expected_sha256: expected.map_or(String::new(), |m| m.sha256.clone()),
            actual_sha256: None,
            ok: true,
            problem: None,
            problem_kind: None,
        };
        let duplicate = match index.get(header.name.as_str()) {
            Some(&i) => std::mem::replace(&mut seen[i], true),
            None => {
                let dup = header.name == MANIFEST_NAME || seen_extra.contains(&header.name);
                seen_extra.push(header.name.clone());
                dup
            }
        };
        let mut fail = |check: &mut MemberCheck, kind: ErrorKind, why: String| {
            if check.ok {
                check.ok = false;
                check.problem = Some(why.clone());
                check.problem_kind = Some(kind);
                body.problems.push(why);
            }
        };

        if let Some(why) = header.unsafe_reason() {
            check.actual_size = 0; // never read
            fail(
                &mut check,
                ErrorKind::UnsafePath,
                format!("{}: unsafe member ({why})", header.name),
            );
            body.checks.push(check);
            continue; // its data (if any) is skipped by the next `next()`
        }
        if header.kind == Kind::Dir {
            continue;
        }
        let tag = body.checks.len();
        // storage.json is also checked against the manifest (after the loop).
        let keep_doc = header.name == crate::storage::STORAGE_DOC
            && header.size <= crate::storage::check::MAX_DOC_SIZE
            && expected.is_some();
        let mut doc_bytes = Vec::new();
        let mut keep = |b: &[u8]| {
            doc_bytes.extend_from_slice(b);
            Ok(())
        };
        let sink: Option<Sink> = if keep_doc { Some(&mut keep) } else { None };
        let streamed = stream_member(tar, hasher, sink, cancel)?;
        if keep_doc && streamed.is_ok() {
            storage_doc = Some(doc_bytes);
        }
        hasher.end(tag);
        match streamed {
            Ok(n) => {
                check.actual_size = n;
                body.hashed.insert(tag);
            }
            Err((n, e)) => {
                check.actual_size = n;
                fail(
                    &mut check,
                    ErrorKind::Integrity,
                    format!("{}: {e}", header.name),
                );
                stopped = Some(format!("unreadable: {e}"));
            }
        }
        if duplicate {
            fail(
                &mut check,
                ErrorKind::Integrity,
                format!("{}: appears more than once in the archive", header.name),
            );
        } else if expected.is_none() {
            fail(
                &mut check,
                ErrorKind::Integrity,
                format!("{}: not listed in the manifest", header.name),
            );
        }
        if check.actual_size != check.expected_size {
            let why = format!(
                "{}: {} bytes, the manifest says {}",
                header.name, check.actual_size, check.expected_size
            );
            fail(&mut check, ErrorKind::Integrity, why);
        }
        body.checks.push(check);
        if stopped.is_some() {
            break;
        }
    }

    if let Some(raw) = storage_doc {
        let problems = crate::storage::check::check_doc(&raw, &manifest);
        if !problems.is_empty() {
            if let Some(c) = body
                .checks
                .iter_mut()
                .find(|c| c.name == crate::storage::STORAGE_DOC && c.ok)
            {
                c.ok = false;
                c.problem = Some(problems[0].clone());
                c.problem_kind = Some(ErrorKind::Integrity);
            }
            body.problems.extend(problems);
        }
    }
    for (i, m) in manifest.members.iter().enumerate() {
        if seen[i] {
            continue;
        }
        let why = match &stopped {
            Some(cause) => format!("{}: not checked, the archive is {cause}", m.name),
            None => format!("{}: missing from the archive", m.name),
        };
        body.problems.push(why.clone());
        body.checks.push(MemberCheck {
            name: m.name.clone(),
            expected_size: m.size,
            actual_size: 0,
            expected_sha256: m.sha256.clone(),
            actual_sha256: None,
            ok: false,
            problem: Some(why),
            problem_kind: Some(ErrorKind::Integrity),
        });
    }
    body.manifest = Some(manifest);
    Ok(body)
}

/// Streams one member's bytes to `out` (hashing them on another thread) and checks its size and
/// SHA-256 against the manifest at the end: a difference is an [`ErrorKind::Integrity`] error
/// naming the member (the bytes were already written; the caller aborts). Unsafe names, in the
/// request or in the archive before the member, are [`ErrorKind::UnsafePath`]. Advances
/// `reporter` by the member bytes copied (the caller sets the phase). Returns the bytes copied.
pub fn copy_member(
    path: &Path,
    member: &str,
    out: &mut dyn Write,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<u64> {
    copy_member_within(path, member, out, reporter, cancel, u64::MAX)
}

/// A member whose tar header and manifest disagree on its size, or larger than `max`: refused
/// before a byte of it is read.
fn oversized(path: &Path, member: &str, what: String) -> Error {
    Error::integrity(format!("{}: member {member} {what}", path.display())).with_hint(
        "the archive is damaged or was not made by Offsite; use another copy of this backup",
    )
}

/// [`copy_member`], refusing (as [`ErrorKind::Integrity`], before reading it) a member the
/// manifest says is larger than `max` bytes. Every member's tar header must give the size the
/// manifest records, so no more than that is ever read.
pub(crate) fn copy_member_within(
    path: &Path,
    member: &str,
    out: &mut dyn Write,
    reporter: &Reporter,
    cancel: &CancellationToken,
    max: u64,
) -> Result<u64> {
    check_member_name(member, false).map_err(|why| unsafe_member(member, &why))?;
    let file = open_archive(path)?;
    let outcome = pipeline::run(
        file,
        false,
        None,
        cancel,
        |tar, hasher| -> Result<(u64, String, u64)> {
            let (manifest, _) = read_manifest_entry(tar, path)?;
            let entry = manifest.member(member).ok_or_else(|| {
                Error::not_found(format!("{} has no member {member:?}", path.display()))
            })?;
            if entry.size > max {
                return Err(oversized(
                    path,
                    member,
                    format!(
                        "is {} bytes according to the manifest; Offsite reads at most {max} bytes of it",
                        entry.size
                    ),
                ));
            }
            loop {
                let header = match tar.next() {
                Ok(Next::Entry(h)) => h,
                Ok(Next::End | Next::Eof) => {
                    return Err(Error::integrity(format!(
                        "{}: member {member} is listed in the manifest but missing from the archive",
                        path.display()
                    )).with_hint("the archive is damaged; use another copy of this backup"))
                }
                Err(e) => return Err(corrupt(path, &format!("looking for {member}"), &e)),
            };
                if let Some(why) = header.unsafe_reason() {
                    return Err(unsafe_member(&header.name, &why));
                }
                if header.name != member || header.kind != Kind::File {
                    continue;
                }
                if header.size != entry.size {
                    return Err(oversized(
                        path,
                        member,
                        format!(
                            "is {} bytes in the archive, but the manifest says {}",
                            header.size, entry.size
                        ),
                    ));
                }
                let mut sink = |b: &[u8]| {
                    out.write_all(b)
                        .map_err(|e| Error::io(format!("writing {member}"), e))?;
                    reporter.advance(b.len() as u64);
                    Ok(())
                };
                let n = match stream_member(tar, hasher, Some(&mut sink), cancel)? {
                    Ok(n) => n,
                    Err((_, e)) => return Err(corrupt(path, &format!("reading {member}"), &e)),
                };
                hasher.end(0);
                return Ok((n, entry.sha256.clone(), entry.size));
            }
        },
    );
    if let Some(e) = pipeline_failure(path, &outcome, cancel) {
        return Err(e);
    }
    let (n, expected_sha, expected_size) = outcome.value?;
    let actual = outcome.hashes.get(&0).map(String::as_str).unwrap_or("");
    if n != expected_size || actual != expected_sha {
        return Err(Error::integrity(format!(
            "{}: member {member} does not match the manifest ({n} bytes, SHA-256 {actual}; expected {expected_size} bytes, {expected_sha})",
            path.display()
        ))
        .with_hint("the archive is damaged; use another copy of this backup"));
    }
    Ok(n)
}

/// Extracts every member (`metadata.json` included) into `dest`, which must be an empty folder or
/// not exist yet (its parent must). Unsafe members (absolute paths, `..`, links, devices) are
/// [`ErrorKind::UnsafePath`] errors naming the member; every member is checked against the
/// manifest ([`ErrorKind::Integrity`] otherwise). Nothing is ever written outside `dest`, and on
/// any failure everything written is removed (and `dest` itself if this call created it).
/// Returns the files written, in archive order.
pub fn extract_all(path: &Path, dest: &Path, cancel: &CancellationToken) -> Result<Vec<PathBuf>> {
    let file = open_archive(path)?;
    let created = match std::fs::symlink_metadata(dest) {
        Ok(md) if md.is_dir() => {
            let mut entries = std::fs::read_dir(dest)
                .map_err(|e| Error::io(format!("reading {}", dest.display()), e))?;
            if entries.next().is_some() {
                return Err(Error::invalid(format!("{} is not empty", dest.display()))
                    .with_hint("extract into a new or empty folder"));
            }
            false
        }
        Ok(_) => {
            return Err(Error::invalid(format!(
                "{} exists and is not a folder",
                dest.display()
            )))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // Not create_dir_all: a failed extraction must not leave parent folders behind.
            crate::private_fs::create_dir(dest)
                .map_err(|e| Error::io(format!("creating {}", dest.display()), e))?;
            true
        }
        Err(e) => return Err(Error::io(format!("checking {}", dest.display()), e)),
    };

    let result = extract_into(file, path, dest, cancel);
    if result.is_err() {
        // `dest` was empty (or new), so everything in it is ours.
        if created {
            let _ = std::fs::remove_dir_all(dest);
        } else if let Ok(entries) = std::fs::read_dir(dest) {
            for e in entries.flatten() {
                let p = e.path();
                let _ = match e.file_type() {
                    Ok(t) if t.is_dir() => std::fs::remove_dir_all(&p),
                    _ => std::fs::remove_file(&p),
                };
            }
        }
    }
    result
}

fn extract_into(
    file: File,
    path: &Path,
    dest: &Path,
    cancel: &CancellationToken,
) -> Result<Vec<PathBuf>> {
    let target_of = |name: &str| -> PathBuf {
        let mut p = dest.to_path_buf();
        p.extend(name.split('/').filter(|c| !c.is_empty()));
        p
    };
    let create = |p: &Path| {
        crate::private_fs::create_new(p)
            .map_err(|e| Error::io(format!("creating {}", p.display()), e))
    };
    let outcome = pipeline::run(
        file,
        false,
        None,
        cancel,
        |tar, hasher| -> Result<(Manifest, Vec<PathBuf>, Vec<u64>)> {
            let (manifest, raw) = read_manifest_entry(tar, path)?;
            let manifest_path = target_of(MANIFEST_NAME);
            create(&manifest_path)?
                .write_all(&raw)
                .map_err(|e| Error::io(format!("writing {}", manifest_path.display()), e))?;
            let mut written = vec![manifest_path];
            let index: HashMap<&str, usize> = manifest
                .members
                .iter()
                .enumerate()
                .rev()
                .map(|(i, m)| (m.name.as_str(), i))
                .collect();
            // Bytes read per manifest member, u64::MAX until seen.
            let mut sizes = vec![u64::MAX; manifest.members.len()];
            loop {
                if cancel.is_cancelled() {
                    return Err(Error::cancelled());
                }
                let header = match tar.next() {
                    Ok(Next::Entry(h)) => h,
                    Ok(Next::End) => {
                        tar.finish()
                            .map_err(|e| corrupt(path, "after the last member", &e))?;
                        break;
                    }
                    Ok(Next::Eof) => {
                        return Err(corrupt(path, "after the last member", &TarError::Truncated));
                    }
                    Err(e) => return Err(corrupt(path, "reading", &e)),
                };
                if let Some(why) = header.unsafe_reason() {
                    return Err(unsafe_member(&header.name, &why));
                }
                let target = target_of(&header.name);
                if header.kind == Kind::Dir {
                    crate::private_fs::create_dir_all(&target)
                        .map_err(|e| Error::io(format!("creating {}", target.display()), e))?;
                    continue;
                }
                let Some(&idx) = index.get(header.name.as_str()) else {
                    return Err(Error::integrity(format!(
                        "{}: member {} is not listed in the manifest",
                        path.display(),
                        header.name
                    ))
                    .with_hint("the archive is damaged; use another copy of this backup"));
                };
                if sizes[idx] != u64::MAX {
                    return Err(Error::integrity(format!(
                        "{}: member {} appears twice",
                        path.display(),
                        header.name
                    ))
                    .with_hint("the archive is damaged; use another copy of this backup"));
                }
                if header.size != manifest.members[idx].size {
                    return Err(oversized(
                        path,
                        &header.name,
                        format!(
                            "is {} bytes in the archive, but the manifest says {}",
                            header.size, manifest.members[idx].size
                        ),
                    ));
                }
                if let Some(parent) = target.parent() {
                    crate::private_fs::create_dir_all(parent)
                        .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
                }
                let mut out = create(&target)?;
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
            }
            Ok((manifest, written, sizes))
        },
    );
    if let Some(e) = pipeline_failure(path, &outcome, cancel) {
        return Err(e);
    }
    let (manifest, written, sizes) = outcome.value?;
    for (i, m) in manifest.members.iter().enumerate() {
        if sizes[i] == u64::MAX {
            return Err(Error::integrity(format!(
                "{}: member {} is missing from the archive",
                path.display(),
                m.name
            ))
            .with_hint("the archive is damaged; use another copy of this backup"));
        }
        if sizes[i] != m.size || outcome.hashes.get(&i) != Some(&m.sha256) {
            return Err(Error::integrity(format!(
                "{}: member {} does not match the manifest",
                path.display(),
                m.name
            ))
            .with_hint("the archive is damaged; use another copy of this backup"));
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;
    use crate::error::ErrorKind;
    use crate::progress::{Phase, ProgressUpdate, Reporter};
    use std::path::Path;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;
    use tokio_util::sync::CancellationToken;

    fn check(path: &Path) -> crate::Result<VerifyReport> {
        verify(path, &quiet(), &CancellationToken::new())
    }

    fn copy(path: &Path, member: &str) -> crate::Result<Vec<u8>> {
        let mut out = Vec::new();
        copy_member(path, member, &mut out, &quiet(), &CancellationToken::new()).map(|_| out)
    }

    /// Extracts into a fresh folder; on error asserts nothing was left behind.
    fn extract(path: &Path) -> crate::Result<Vec<PathBuf>> {
        let out = tempfile::tempdir().unwrap();
        let dest = out.path().join("dest");
        let r = extract_all(path, &dest, &CancellationToken::new());
        if r.is_err() {
            assert!(
                !dest.exists(),
                "extract_all failed but left {:?}",
                names_in(&dest)
            );
            assert_eq!(names_in(out.path()), Vec::<String>::new());
        }
        r
    }

    fn bad_member<'a>(r: &'a VerifyReport, name: &str) -> &'a MemberCheck {
        r.members
            .iter()
            .find(|m| m.name == name && !m.ok)
            .unwrap_or_else(|| panic!("{name} not flagged: {r:#?}"))
    }

    #[test]
    fn truncated_archives_are_never_ok() {
        let s = sample(2 << 20, 6);
        let bytes = std::fs::read(s.path()).unwrap();
        let len = bytes.len();
        let ends = gzip_member_ends(&bytes);
        assert!(
            ends.len() >= 4,
            "expected several concatenated gzip members: {ends:?}"
        );
        let mut cuts = vec![
            0,
            1,
            2,
            10,
            100,
            600,
            5000,
            len / 3,
            len / 2,
            len - 100,
            len - 9,
            len - 1,
        ];
        // Cuts exactly between gzip members decompress cleanly: only the tar layer can tell.
        cuts.extend(&ends[..ends.len() - 1]);
        let work = tempfile::tempdir().unwrap();
        for cut in cuts {
            for with_sidecar in [true, false] {
                let p = put(work.path(), ARCHIVE, &bytes[..cut]);
                if with_sidecar {
                    std::fs::copy(sidecar_path(s.path()), sidecar_path(&p)).unwrap();
                } else {
                    let _ = std::fs::remove_file(sidecar_path(&p));
                }
                match check(&p) {
                    Ok(r) => {
                        assert!(!r.ok, "cut at {cut}/{len} passed verify: {r:#?}");
                        assert!(r.first_bad.is_some());
                    }
                    Err(e) => assert!(
                        matches!(
                            e.kind(),
                            ErrorKind::UnsupportedFormat | ErrorKind::Integrity
                        ),
                        "cut at {cut}: {e}"
                    ),
                }
                let e = extract(&p).unwrap_err();
                assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::UnsupportedFormat | ErrorKind::Integrity
                    ),
                    "cut at {cut}: {e}"
                );
            }
        }
        // Cut in the middle of database.dump: restore's copy fails, naming it.
        let p = put(work.path(), ARCHIVE, &bytes[..len / 2]);
        let e = copy(&p, DATABASE_MEMBER).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
        assert!(e.message().contains(DATABASE_MEMBER), "{e}");
        let r = check(&p).unwrap();
        assert_eq!(r.first_bad.as_deref(), Some(DATABASE_MEMBER), "{r:#?}");
    }

    #[test]
    fn a_damaged_manifest_is_reported_not_an_error() {
        // The tar stream ends inside metadata.json's data: an archive, but a damaged one.
        let meta = manifest_json(&[("a.txt", b"alpha")]);
        let mut tarred = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_path(MANIFEST_NAME).unwrap();
        h.set_size(meta.len() as u64);
        h.set_cksum();
        tarred.append(&h, &meta[..]).unwrap();
        let tarred = tarred.into_inner().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = put(dir.path(), ARCHIVE, &gzip(&tarred[..512 + meta.len() / 2]));
        let r = check(&p).unwrap();
        assert!(!r.ok);
        assert_eq!(r.first_bad.as_deref(), Some(MANIFEST_NAME), "{r:#?}");
        assert_eq!(r.file_sha256, sha256_file(&p).unwrap());
        assert_eq!(read_manifest(&p).unwrap_err().kind(), ErrorKind::Integrity);
        assert_eq!(extract(&p).unwrap_err().kind(), ErrorKind::Integrity);
    }

    #[test]
    fn flipped_bytes_are_detected() {
        let s = sample(2 << 20, 6);
        let good = std::fs::read(s.path()).unwrap();
        let len = good.len();
        let ends = gzip_member_ends(&good);
        let work = tempfile::tempdir().unwrap();
        let sidecar_name = format!("{ARCHIVE}.sha256");
        for pos in [
            len / 2,
            len / 3,
            2 * len / 3,
            4,
            20,
            ends[0] - 3,
            ends[1] - 6,
            len - 5,
            len - 30,
        ] {
            let mut bytes = good.clone();
            bytes[pos] ^= 0x10;
            let p = put(work.path(), ARCHIVE, &bytes);
            std::fs::copy(sidecar_path(s.path()), sidecar_path(&p)).unwrap();
            match check(&p) {
                Ok(r) => {
                    assert!(!r.ok, "flip at {pos}/{len} passed: {r:#?}");
                    let first = r.first_bad.clone().unwrap();
                    assert!(
                        first == sidecar_name
                            || r.members.iter().any(|m| m.name == first && !m.ok)
                            || first == ARCHIVE,
                        "flip at {pos}: first_bad {first}"
                    );
                    assert!(matches!(r.sidecar, SidecarStatus::Mismatch { .. }));
                }
                // A flip in metadata.json's compressed bytes can make it unreadable JSON.
                Err(e) => assert!(pos < ends[0], "flip at {pos}: {e}"),
            }
        }

        // In the middle (database.dump's data), the member itself is named, sidecar or not.
        let mut bytes = good.clone();
        bytes[len / 2] ^= 0x01;
        let p = put(work.path(), ARCHIVE, &bytes);
        let _ = std::fs::remove_file(sidecar_path(&p));
        let r = check(&p).unwrap();
        assert!(!r.ok);
        assert_eq!(r.first_bad.as_deref(), Some(DATABASE_MEMBER), "{r:#?}");
        assert_eq!(
            bad_member(&r, DATABASE_MEMBER).problem_kind,
            Some(ErrorKind::Integrity)
        );
        assert_eq!(
            copy(&p, DATABASE_MEMBER).unwrap_err().kind(),
            ErrorKind::Integrity
        );
        assert!(extract(&p).is_err());

        // A flip in a gzip header's timestamp does not change any content: only the sidecar sees it.
        let mut bytes = good.clone();
        bytes[4] ^= 0x01;
        let p = put(work.path(), ARCHIVE, &bytes);
        std::fs::copy(sidecar_path(s.path()), sidecar_path(&p)).unwrap();
        let r = check(&p).unwrap();
        assert_eq!(
            r.first_bad.as_deref(),
            Some(sidecar_name.as_str()),
            "{r:#?}"
        );
        assert!(r.members.iter().all(|m| m.ok));
    }

    #[test]
    fn missing_member_is_named() {
        let (a, b) = (&b"alpha"[..], &b"bravo"[..]);
        let dir = tempfile::tempdir().unwrap();
        let p = put(
            dir.path(),
            ARCHIVE,
            &tgz(&[
                Ent::File(MANIFEST_NAME, &manifest_json(&[("a.txt", a), ("b.txt", b)])),
                Ent::File("a.txt", a),
            ]),
        );
        let r = check(&p).unwrap();
        assert!(!r.ok);
        assert_eq!(r.first_bad.as_deref(), Some("b.txt"), "{r:#?}");
        assert!(bad_member(&r, "b.txt")
            .problem
            .as_deref()
            .unwrap()
            .contains("missing"));
        assert_eq!(r.sidecar, SidecarStatus::Missing);
        assert!(r.members.iter().find(|m| m.name == "a.txt").unwrap().ok);

        let e = copy(&p, "b.txt").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity);
        assert!(e.message().contains("b.txt"));
        assert_eq!(copy(&p, "a.txt").unwrap(), a);
        let e = extract(&p).unwrap_err();
        assert!(e.message().contains("b.txt"), "{e}");
    }

    #[test]
    fn wrong_extra_and_duplicate_members_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let meta = manifest_json(&[("a.txt", b"alpha"), ("b.txt", b"bravo")]);

        // Same size, different content.
        let p = put(
            dir.path(),
            "wrong.tar.gz",
            &tgz(&[
                Ent::File(MANIFEST_NAME, &meta),
                Ent::File("a.txt", b"alphA"),
                Ent::File("b.txt", b"bravo"),
            ]),
        );
        let r = check(&p).unwrap();
        assert_eq!(r.first_bad.as_deref(), Some("a.txt"), "{r:#?}");
        let m = bad_member(&r, "a.txt");
        assert_eq!(m.actual_sha256.as_deref(), Some(sha(b"alphA").as_str()));
        assert!(m.problem.as_deref().unwrap().contains("SHA-256"));
        let e = copy(&p, "a.txt").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity);
        assert!(e.message().contains("a.txt"), "{e}");
        assert_eq!(copy(&p, "b.txt").unwrap(), b"bravo");
        assert!(extract(&p).unwrap_err().message().contains("a.txt"));

        // Different size.
        let p = put(
            dir.path(),
            "short.tar.gz",
            &tgz(&[
                Ent::File(MANIFEST_NAME, &meta),
                Ent::File("a.txt", b"alp"),
                Ent::File("b.txt", b"bravo"),
            ]),
        );
        let r = check(&p).unwrap();
        assert_eq!(r.first_bad.as_deref(), Some("a.txt"));
        assert_eq!(bad_member(&r, "a.txt").actual_size, 3);

        // A member the manifest does not list.
        let p = put(
            dir.path(),
            "extra.tar.gz",
            &tgz(&[
                Ent::File(MANIFEST_NAME, &meta),
                Ent::File("a.txt", b"alpha"),
                Ent::File("z.txt", b"zulu"),
                Ent::File("b.txt", b"bravo"),
            ]),
        );
        let r = check(&p).unwrap();
        assert_eq!(r.first_bad.as_deref(), Some("z.txt"), "{r:#?}");
        assert!(bad_member(&r, "z.txt")
            .problem
            .as_deref()
            .unwrap()
            .contains("not listed"));
        assert!(extract(&p).unwrap_err().message().contains("z.txt"));

        // Twice the same member.
        let p = put(
            dir.path(),
            "dup.tar.gz",
            &tgz(&[
                Ent::File(MANIFEST_NAME, &meta),
                Ent::File("a.txt", b"alpha"),
                Ent::File("b.txt", b"bravo"),
                Ent::File("a.txt", b"alpha"),
            ]),
        );
        let r = check(&p).unwrap();
        assert_eq!(r.first_bad.as_deref(), Some("a.txt"), "{r:#?}");
        assert!(bad_member(&r, "a.txt")
            .problem
            .as_deref()
            .unwrap()
            .contains("more than once"));
        assert!(extract(&p).is_err());
    }

    #[test]
    fn malformed_or_future_manifests_are_unsupported() {
        let dir = tempfile::tempdir().unwrap();
        let mut future: serde_json::Value = serde_json::from_slice(&manifest_json(&[])).unwrap();
        future["format_version"] = serde_json::json!(FORMAT_VERSION + 1);
        future["something_new"] = serde_json::json!({"x": 1});
        future.as_object_mut().unwrap().remove("project");
        let mut unversioned: serde_json::Value =
            serde_json::from_slice(&manifest_json(&[])).unwrap();
        unversioned
            .as_object_mut()
            .unwrap()
            .remove("format_version");
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            (
                "malformed",
                tgz(&[Ent::File(MANIFEST_NAME, b"{\"format_version\": 1, ")]),
                "JSON",
            ),
            (
                "wrong schema",
                tgz(&[Ent::File(MANIFEST_NAME, b"{\"format_version\": 1}")]),
                "malformed",
            ),
            (
                "future",
                tgz(&[Ent::File(MANIFEST_NAME, future.to_string().as_bytes())]),
                "format 2",
            ),
            (
                "unversioned",
                tgz(&[Ent::File(MANIFEST_NAME, unversioned.to_string().as_bytes())]),
                "format_version",
            ),
            (
                "manifest not first",
                tgz(&[
                    Ent::File("a.txt", b"a"),
                    Ent::File(MANIFEST_NAME, &manifest_json(&[("a.txt", b"a")])),
                ]),
                "first member",
            ),
            (
                "manifest is a folder",
                tgz(&[Ent::Dir(MANIFEST_NAME)]),
                "first member",
            ),
        ];
        for (what, bytes, needle) in cases {
            let p = put(dir.path(), "a.tar.gz", &bytes);
            let e = read_manifest(&p).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnsupportedFormat, "{what}: {e}");
            assert!(e.message().contains(needle), "{what}: {e}");
            assert_eq!(
                check(&p).unwrap_err().kind(),
                ErrorKind::UnsupportedFormat,
                "{what}"
            );
            assert_eq!(
                copy(&p, "a.txt").unwrap_err().kind(),
                ErrorKind::UnsupportedFormat,
                "{what}"
            );
            assert_eq!(
                extract(&p).unwrap_err().kind(),
                ErrorKind::UnsupportedFormat,
                "{what}"
            );
            if what == "future" {
                assert!(e.hint().unwrap().contains("upgrade Offsite"), "{e:?}");
            }
        }
    }

    #[test]
    fn files_that_are_not_archives_are_unsupported() {
        let dir = tempfile::tempdir().unwrap();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("one byte", vec![0x1f]),
            ("random", data(100_000, 77)),
            ("text", b"SELECT 1;\n-- a plain SQL file\n".repeat(100)),
            ("gzip of text", gzip(&b"hello world\n".repeat(200))),
            ("short gzip", gzip(b"hi")),
            ("gzip of nothing", gzip(b"")),
            ("gzip of zeros", gzip(&[0u8; 4096])),
        ];
        for (what, bytes) in cases {
            let p = put(dir.path(), "x.tar.gz", &bytes);
            let e = read_manifest(&p).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnsupportedFormat, "{what}: {e}");
            assert!(
                e.message().starts_with("not an Offsite archive: "),
                "{what}: {e}"
            );
            assert_eq!(
                check(&p).unwrap_err().kind(),
                ErrorKind::UnsupportedFormat,
                "{what}"
            );
            assert_eq!(
                copy(&p, "x").unwrap_err().kind(),
                ErrorKind::UnsupportedFormat,
                "{what}"
            );
            assert_eq!(
                extract(&p).unwrap_err().kind(),
                ErrorKind::UnsupportedFormat,
                "{what}"
            );
        }
        let e = check(&dir.path().join("nope.tar.gz")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }

    #[test]
    fn unsafe_members_are_refused_and_nothing_is_written() {
        let root = tempfile::tempdir().unwrap();
        let abs = format!("{}/abs-x", root.path().display());
        let etc_x_existed = Path::new("/etc/x").exists();
        let ok = &b"fine"[..];
        let meta = manifest_json(&[("ok.txt", ok)]);
        let evils: Vec<(&str, Ent)> = vec![
            ("../x", Ent::File("../x", b"evil")),
            ("a/../../x", Ent::File("a/../../x", b"evil")),
            (abs.as_str(), Ent::File(&abs, b"evil")),
            ("/etc/x", Ent::File("/etc/x", b"evil")),
            ("link", Ent::Symlink("link", "/etc/passwd")),
            ("hard", Ent::Hardlink("hard", "../../x")),
        ];
        for (name, evil) in evils {
            for evil_first in [false, true] {
                let entries = if evil_first {
                    vec![
                        Ent::File(MANIFEST_NAME, &meta),
                        clone_ent(&evil),
                        Ent::File("ok.txt", ok),
                    ]
                } else {
                    vec![
                        Ent::File(MANIFEST_NAME, &meta),
                        Ent::File("ok.txt", ok),
                        clone_ent(&evil),
                    ]
                };
                let archives = root.path().join("archives");
                std::fs::create_dir_all(&archives).unwrap();
                let p = put(&archives, "evil.tar.gz", &tgz(&entries));

                let r = check(&p).unwrap();
                assert!(!r.ok, "{name}");
                assert_eq!(r.first_bad.as_deref(), Some(name), "{r:#?}");
                assert_eq!(
                    bad_member(&r, name).problem_kind,
                    Some(ErrorKind::UnsafePath)
                );
                assert!(
                    r.members.iter().find(|m| m.name == "ok.txt").unwrap().ok,
                    "{r:#?}"
                );

                // Extraction into an existing empty folder two levels down.
                let dest = root.path().join("work").join("dest");
                std::fs::create_dir_all(&dest).unwrap();
                let e = extract_all(&p, &dest, &CancellationToken::new()).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::UnsafePath, "{name}: {e}");
                assert!(e.message().contains(name), "{name}: {e}");
                assert_eq!(
                    names_in(&dest),
                    Vec::<String>::new(),
                    "{name}: left files in dest"
                );
                assert_eq!(
                    names_in(&root.path().join("work")),
                    vec!["dest".to_string()],
                    "{name}"
                );
                assert_eq!(
                    names_in(root.path()),
                    vec!["archives".to_string(), "work".to_string()],
                    "{name}"
                );
                assert_eq!(
                    names_in(&archives),
                    vec!["evil.tar.gz".to_string()],
                    "{name}"
                );
                assert_eq!(Path::new("/etc/x").exists(), etc_x_existed);

                // Reading ok.txt only fails when the unsafe member comes before it.
                match copy(&p, "ok.txt") {
                    Ok(b) => assert!(!evil_first && b == ok, "{name}"),
                    Err(e) => assert!(
                        evil_first && e.kind() == ErrorKind::UnsafePath,
                        "{name}: {e}"
                    ),
                }
            }
        }
        let s = sample(1000, 6);
        for bad in ["../x", "/etc/passwd", "a/./b"] {
            assert_eq!(
                copy(s.path(), bad).unwrap_err().kind(),
                ErrorKind::UnsafePath,
                "{bad}"
            );
        }
        assert_eq!(
            copy(s.path(), "nope.txt").unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }

    fn clone_ent<'a>(e: &Ent<'a>) -> Ent<'a> {
        match e {
            Ent::File(n, d) => Ent::File(n, d),
            Ent::Dir(n) => Ent::Dir(n),
            Ent::Symlink(n, t) => Ent::Symlink(n, t),
            Ent::Hardlink(n, t) => Ent::Hardlink(n, t),
        }
    }

    #[test]
    fn directories_are_extracted_but_not_members() {
        let dir = tempfile::tempdir().unwrap();
        let meta = manifest_json(&[("config/a.json", b"{}")]);
        let p = put(
            dir.path(),
            ARCHIVE,
            &tgz(&[
                Ent::File(MANIFEST_NAME, &meta),
                Ent::Dir("config/"),
                Ent::Dir("empty/"),
                Ent::File("config/a.json", b"{}"),
            ]),
        );
        assert!(check(&p).unwrap().ok);
        let out = tempfile::tempdir().unwrap();
        let files = extract_all(&p, &out.path().join("d"), &CancellationToken::new()).unwrap();
        assert_eq!(files.len(), 2);
        assert!(out.path().join("d/empty").is_dir());
        assert_eq!(
            std::fs::read(out.path().join("d/config/a.json")).unwrap(),
            b"{}"
        );
    }

    #[test]
    fn extract_all_needs_an_empty_folder() {
        let s = sample(10_000, 6);
        let out = tempfile::tempdir().unwrap();
        put(out.path(), "keep.txt", b"mine");
        let e = extract_all(s.path(), out.path(), &CancellationToken::new()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(names_in(out.path()), vec!["keep.txt".to_string()]);
        let e = extract_all(
            s.path(),
            &out.path().join("keep.txt"),
            &CancellationToken::new(),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        // An existing empty folder is fine.
        let empty = out.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert_eq!(
            extract_all(s.path(), &empty, &CancellationToken::new())
                .unwrap()
                .len(),
            4
        );
    }

    #[test]
    fn sidecar_missing_wrong_or_malformed() {
        let s = sample(100_000, 6);
        let side = sidecar_path(s.path());
        let sidecar_name = format!("{ARCHIVE}.sha256");

        std::fs::write(&side, format!("{}  {ARCHIVE}\n", "0".repeat(64))).unwrap();
        let r = check(s.path()).unwrap();
        assert!(!r.ok);
        assert_eq!(r.first_bad.as_deref(), Some(sidecar_name.as_str()));
        assert_eq!(
            r.sidecar,
            SidecarStatus::Mismatch {
                expected: "0".repeat(64)
            }
        );
        assert!(r.members.iter().all(|m| m.ok));

        std::fs::write(&side, "not a checksum\n").unwrap();
        let r = check(s.path()).unwrap();
        assert!(!r.ok);
        assert_eq!(r.first_bad.as_deref(), Some(sidecar_name.as_str()));

        std::fs::remove_file(&side).unwrap();
        let r = check(s.path()).unwrap();
        assert!(r.ok, "{r:#?}");
        assert_eq!(r.sidecar, SidecarStatus::Missing);
        assert_eq!(r.file_sha256, s.written.sha256);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["sidecar"]["status"], "missing");
    }

    #[test]
    fn data_after_the_archive_is_detected() {
        let s = sample(100_000, 6);
        let good = std::fs::read(s.path()).unwrap();
        let work = tempfile::tempdir().unwrap();
        let mut tarred_extra = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_path("smuggled.txt").unwrap();
        h.set_size(4);
        h.set_cksum();
        tarred_extra.append(&h, &b"evil"[..]).unwrap();
        for (what, tail) in [
            ("garbage", b"garbage".to_vec()),
            ("hidden member", gzip(&tarred_extra.into_inner().unwrap())),
        ] {
            let mut bytes = good.clone();
            bytes.extend_from_slice(&tail);
            let p = put(work.path(), ARCHIVE, &bytes);
            let r = check(&p).unwrap();
            assert!(!r.ok, "{what}");
            assert_eq!(r.first_bad.as_deref(), Some(ARCHIVE), "{what}: {r:#?}");
            assert!(r.members.iter().all(|m| m.ok), "{what}");
            assert!(extract(&p).is_err(), "{what}");
        }
    }

    #[test]
    fn verify_reports_progress_in_archive_bytes() {
        let s = sample(3 << 20, 6);
        let seen = Arc::new(Mutex::new(Vec::<ProgressUpdate>::new()));
        let sink = {
            let seen = seen.clone();
            move |u: &ProgressUpdate| seen.lock().unwrap().push(u.clone())
        };
        let reporter = Reporter::with_interval(Arc::new(sink), "v", Duration::ZERO);
        assert!(
            verify(s.path(), &reporter, &CancellationToken::new())
                .unwrap()
                .ok
        );
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].phase, Phase::Verifying);
        assert_eq!(seen[0].bytes_total, Some(s.written.size));
        assert_eq!(seen.last().unwrap().bytes_done, s.written.size);
        assert!(seen.len() >= 3, "{}", seen.len());
    }

    #[test]
    fn cancel_stops_reading() {
        let s = sample(3 << 20, 6);
        let cancel = CancellationToken::new();
        cancel.cancel();
        assert_eq!(
            verify(s.path(), &quiet(), &cancel).unwrap_err().kind(),
            ErrorKind::Cancelled
        );
        let mut out = Vec::new();
        let e = copy_member(s.path(), DATABASE_MEMBER, &mut out, &quiet(), &cancel).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Cancelled);
        let work = tempfile::tempdir().unwrap();
        let e = extract_all(s.path(), &work.path().join("d"), &cancel).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Cancelled);
        assert_eq!(names_in(work.path()), Vec::<String>::new());
    }

    #[test]
    fn archives_written_by_gnu_tar_are_read() {
        // GNU tar's own encodings of long names: GNU long-name entries, pax headers, ustar prefix.
        let long = format!("storage/bucket/{}/object.bin", "deep".repeat(30));
        let content = data(50_000, 4);
        let small = b"small".to_vec();
        for format in ["gnu", "pax", "ustar"] {
            let work = tempfile::tempdir().unwrap();
            let src = work.path().join("src");
            std::fs::create_dir_all(src.join(Path::new(&long).parent().unwrap())).unwrap();
            std::fs::write(src.join(&long), &content).unwrap();
            std::fs::write(src.join("b.txt"), &small).unwrap();
            std::fs::write(
                src.join(MANIFEST_NAME),
                manifest_json(&[(&long, &content), ("b.txt", &small)]),
            )
            .unwrap();
            let archive = work.path().join("gnu.tar.gz");
            let a = archive.to_str().unwrap();
            tool(
                &src,
                "tar",
                &[
                    &format!("--format={format}"),
                    "-czf",
                    a,
                    MANIFEST_NAME,
                    &long,
                    "b.txt",
                ],
            );
            let r = check(&archive).unwrap();
            assert!(r.ok, "{format}: {r:#?}");
            assert_eq!(copy(&archive, &long).unwrap(), content, "{format}");
        }
    }
}
