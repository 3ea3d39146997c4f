//! Full verification: every member against the manifest, the structure to the last byte, the
//! sidecar against the file.

use super::super::pipeline::{self, ArchiveStream, MemberHasher};
use super::super::tarfmt::{EntryHeader, Kind, Next, TarError};
use super::super::{read_sidecar, Manifest, MANIFEST_NAME};
use super::{open_archive, pipeline_failure, read_manifest_entry, stream_member, Sink};
use crate::error::{Error, ErrorKind, Result};
use crate::progress::{Phase, Reporter};
use serde::Serialize;
use std::collections::HashMap;
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
    /// An encrypted archive verified without its key: why its members were not checked (only
    /// the ciphertext's SHA-256 against `<archive>.sha256`). `None`: the contents were checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub contents_not_checked: Option<String>,
}

/// The longest [`VerifyReport::damage`] message, in characters.
const MAX_DAMAGE_MESSAGE: usize = 600;

impl VerifyReport {
    /// The error a verify that found damage ends with (code `integrity`): what is damaged and
    /// what to do. `None` when nothing was found (a ciphertext-only check that matched included).
    /// The verify job is recorded as failed with it, and `--json verify` carries it as `error`.
    pub fn damage(&self) -> Option<Error> {
        if self.ok {
            return None;
        }
        let name = self
            .archive
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.archive.display().to_string());
        let mut message = format!("the archive {name} is damaged");
        if let Some(bad) = &self.first_bad {
            message.push_str(&format!(": first damaged file {bad}"));
        }
        if let Some(why) = self.problems.first() {
            message.push_str(&format!(" ({why})"));
        }
        // Member names come from the archive (hostile until proven): the message stays short.
        if let Some((cut, _)) = message.char_indices().nth(MAX_DAMAGE_MESSAGE) {
            message.truncate(cut);
            message.push('…');
        }
        Some(Error::integrity(message).with_hint(
            "do not restore from it: verify another backup, fetch a copy from a destination \
             (`offsite copies PROJECT` lists them), or take a new backup",
        ))
    }
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
    verify_with(path, &[], reporter, cancel)
}

/// [`verify`], for an encrypted (`.age`) archive too: with `keys` it is decrypted as it is read
/// and every member checked (a key that does not open it: `wrong_key`; damage: a finding);
/// without, only the ciphertext's SHA-256 is checked against `<archive>.sha256`, and the report
/// says the contents were not checked ([`VerifyReport::contents_not_checked`]).
pub fn verify_with(
    path: &Path,
    keys: &[crate::crypto::UserKey],
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<VerifyReport> {
    let encrypted = super::super::is_encrypted_file(path)?;
    if encrypted && keys.is_empty() {
        return super::ciphertext::verify_ciphertext(path, reporter, cancel);
    }
    let file = if encrypted {
        std::fs::File::open(path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?
    } else {
        open_archive(path)?
    };
    let size = file
        .metadata()
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?
        .len();
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    reporter.phase(Phase::Verifying, Some(size));

    let body =
        |tar: &mut ArchiveStream, hasher: &MemberHasher| verify_body(tar, hasher, path, cancel);
    let mut raw_read = None;
    let outcome = if encrypted {
        // Three stages: read + hash the ciphertext, decrypt, gunzip + tar (+ member hashing).
        let (raw, result) =
            pipeline::ReadAhead::spawn(file, true, Some(reporter.clone()), cancel.clone());
        let plain = crate::crypto::decrypt(raw, keys)?;
        let outcome = pipeline::run_reader(plain, false, true, None, cancel, body);
        // The decrypting reader (and the ReadAhead in it) is dropped: the raw thread ends.
        raw_read = Some(result.join());
        outcome
    } else {
        pipeline::run(file, true, Some(reporter), cancel, body)
    };
    // Damage found while decrypting (a chunk that fails authentication, an early end) is a
    // finding about this file, not a failure to read it.
    let mut damaged = None;
    match &outcome.file {
        Err(e)
            if encrypted
                && !cancel.is_cancelled()
                && matches!(
                    e.kind(),
                    std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
                ) =>
        {
            damaged = Some(
                crate::crypto::read_error(&file_name, std::io::Error::new(e.kind(), e.to_string()))
                    .message()
                    .to_string(),
            );
        }
        _ => {
            if let Some(e) = pipeline_failure(path, &outcome, cancel) {
                return Err(e);
            }
        }
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

    if let Some(why) = damaged {
        body.problems.push(why);
        body.structural = true;
    }
    // The whole file's hash and size: the ciphertext's when encrypted.
    let (read_sha, read_bytes) = match &raw_read {
        Some(Ok(raw)) => (raw.sha256.clone(), raw.bytes),
        // The raw thread's read error reached the decrypting reader: reported above.
        Some(Err(_)) => (None, 0),
        None => match outcome.file.as_ref().ok() {
            Some(f) => (f.sha256.clone(), f.bytes),
            None => (None, 0),
        },
    };
    let file_sha256 = match read_sha.clone() {
        Some(h) => h,
        // Reading stopped early (damaged manifest): hash the file on its own.
        None => super::super::sha256_file(path)?,
    };
    if read_sha.is_some() && read_bytes != size {
        body.problems.push(format!(
            "{file_name} changed size while it was being verified"
        ));
        body.structural = true;
    }
    let sidecar = check_sidecar(path, &file_name, &file_sha256, &mut body.problems);
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
        contents_not_checked: None,
    })
}

/// How `<archive>.sha256` compares with the file's `file_sha256` (problems noted).
pub(super) fn check_sidecar(
    path: &Path,
    file_name: &str,
    file_sha256: &str,
    problems: &mut Vec<String>,
) -> SidecarStatus {
    match read_sidecar(path) {
        Ok(None) => SidecarStatus::Missing,
        Ok(Some(h)) if h == file_sha256 => SidecarStatus::Match,
        Ok(Some(h)) => {
            problems.push(format!(
                "{file_name}.sha256 records {h}, but the archive's SHA-256 is {file_sha256}"
            ));
            SidecarStatus::Mismatch { expected: h }
        }
        Err(e) => {
            problems.push(e.message().to_string());
            SidecarStatus::Mismatch {
                expected: String::new(),
            }
        }
    }
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
        let Some(header) = next_header(tar, &mut body, &seen, &mut stopped) else {
            break;
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
        let keep_doc = header.name == crate::archive::storage_layout::STORAGE_DOC
            && header.size <= crate::archive::storage_check::MAX_DOC_SIZE
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
        check_storage_doc(&mut body, &raw, &manifest);
    }
    add_unseen(&mut body, &manifest, &seen, stopped.as_deref());
    body.manifest = Some(manifest);
    Ok(body)
}

/// The next member's header; `None` at the end of the archive or when the stream broke (the
/// problem recorded in `body`, and `stopped` set when reading cannot go on).
fn next_header(
    tar: &mut ArchiveStream,
    body: &mut VerifyBody,
    seen: &[bool],
    stopped: &mut Option<String>,
) -> Option<EntryHeader> {
    match tar.next() {
        Ok(Next::Entry(h)) => Some(h),
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
            None
        }
        Ok(Next::Eof) => {
            body.problems
                .push("the archive has no end-of-archive marker (truncated?)".into());
            body.structural = true;
            None
        }
        Err(e) => {
            *stopped = Some(format!("unreadable: {e}"));
            // Blamed on the member that should come next, if any (it cannot be checked).
            if seen.iter().all(|s| *s) {
                body.problems
                    .push(format!("the archive is damaged after its last member: {e}"));
                body.structural = true;
            }
            None
        }
    }
}

/// storage.json checked against the manifest: its problems are the member's.
fn check_storage_doc(body: &mut VerifyBody, raw: &[u8], manifest: &Manifest) {
    let problems = crate::archive::storage_check::check_doc(raw, manifest);
    if !problems.is_empty() {
        if let Some(c) = body
            .checks
            .iter_mut()
            .find(|c| c.name == crate::archive::storage_layout::STORAGE_DOC && c.ok)
        {
            c.ok = false;
            c.problem = Some(problems[0].clone());
            c.problem_kind = Some(ErrorKind::Integrity);
        }
        body.problems.extend(problems);
    }
}

/// The members the manifest lists that were not seen: missing, or not checked once the stream
/// broke (`stopped` says why).
fn add_unseen(body: &mut VerifyBody, manifest: &Manifest, seen: &[bool], stopped: Option<&str>) {
    for (i, m) in manifest.members.iter().enumerate() {
        if seen[i] {
            continue;
        }
        let why = match stopped {
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
}
