//! Storage objects of a backup: listed from its `storage.json`, previewed (bounded bytes) and
//! saved one at a time, read through [`ArchiveSeeker`] (no pass over the whole archive).

use super::{
    ObjectInfo, ObjectPage, ObjectPreview, ObjectQuery, PreviewKind, SavedObject, MAX_OBJECT_PAGE,
    MAX_PREVIEW,
};
use crate::archive::random_access::{ArchiveSeeker, MemberSpan};
use crate::error::{Error, ErrorKind, Result};
use crate::storage::{ObjectEntry, StorageDoc, STORAGE_DOC};
use std::io::{Read, Write};
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// The archive's `storage.json` (bounded as every reader bounds it).
fn storage_doc(s: &mut ArchiveSeeker, cancel: &CancellationToken) -> Result<StorageDoc> {
    let path = s.path().to_path_buf();
    let span = s.find(STORAGE_DOC, cancel)?.ok_or_else(|| {
        Error::not_found(format!(
            "{} has no storage objects ({STORAGE_DOC} is missing)",
            path.display()
        ))
        .with_hint("choose a full or storage backup")
    })?;
    let max = crate::storage::check::MAX_DOC_SIZE;
    if span.size > max {
        return Err(Error::integrity(format!(
            "{}: {STORAGE_DOC} is {} bytes, more than {max}",
            path.display(),
            span.size
        )));
    }
    let mut raw = Vec::new();
    s.read_range(&span, 0, span.size)?
        .read_to_end(&mut raw)
        .map_err(|e| s.read_error("reading storage.json", e))?;
    serde_json::from_slice(&raw).map_err(|e| {
        Error::new(
            ErrorKind::UnsupportedFormat,
            format!("{}: {STORAGE_DOC} is malformed ({e})", path.display()),
        )
    })
}

/// What a preview of an object of this type and first bytes would show.
fn preview_kind(content_type: Option<&str>, key: &str) -> PreviewKind {
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    let ext = key.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    let image_ext = ["png", "jpg", "jpeg", "gif", "webp", "bmp", "ico", "avif"];
    let text_ext = [
        "txt", "md", "csv", "json", "xml", "html", "css", "js", "ts", "sql", "log", "yaml", "yml",
        "toml", "svg",
    ];
    if ct.starts_with("image/") && ct != "image/svg+xml" || image_ext.contains(&ext.as_str()) {
        PreviewKind::Image
    } else if ct.starts_with("text/")
        || [
            "application/json",
            "application/xml",
            "application/javascript",
            "image/svg+xml",
        ]
        .iter()
        .any(|t| ct.starts_with(t))
        || text_ext.contains(&ext.as_str())
    {
        PreviewKind::Text
    } else {
        PreviewKind::None
    }
}

fn info(o: &ObjectEntry) -> ObjectInfo {
    ObjectInfo {
        bucket: o.bucket.clone(),
        key: o.key.clone(),
        size: o.size,
        content_type: o.content_type.clone(),
        last_modified: o.last_modified.clone(),
        sha256: o.sha256.clone(),
        in_archive: o.member.is_some(),
        preview: preview_kind(o.content_type.as_deref(), &o.key),
    }
}

/// A page of the backup's storage objects.
pub fn list_objects(
    path: &Path,
    q: &ObjectQuery,
    cancel: &CancellationToken,
) -> Result<ObjectPage> {
    let mut s = ArchiveSeeker::open(path)?;
    let doc = storage_doc(&mut s, cancel)?;
    let limit = if q.limit == 0 { 100 } else { q.limit }.min(MAX_OBJECT_PAGE) as usize;
    let needle = q
        .search
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase);
    let wanted = doc.objects.iter().filter(|o| {
        q.bucket.as_ref().is_none_or(|b| *b == o.bucket)
            && q.prefix
                .as_ref()
                .is_none_or(|p| o.key.starts_with(p.as_str()))
            && needle.as_ref().is_none_or(|n| {
                format!("{}/{}", o.bucket, o.key)
                    .to_lowercase()
                    .contains(n.as_str())
            })
    });
    let mut total = 0u64;
    let mut objects = Vec::new();
    for o in wanted {
        if total >= q.offset && objects.len() < limit {
            objects.push(info(o));
        }
        total += 1;
    }
    Ok(ObjectPage {
        buckets: doc.buckets,
        more: q.offset + (objects.len() as u64) < total,
        objects,
        total,
        offset: q.offset,
    })
}

/// The object `bucket`/`key` and where its bytes are.
fn locate(
    s: &mut ArchiveSeeker,
    bucket: &str,
    key: &str,
    cancel: &CancellationToken,
) -> Result<(ObjectEntry, MemberSpan)> {
    let path = s.path().to_path_buf();
    let doc = storage_doc(s, cancel)?;
    let entry = doc
        .objects
        .into_iter()
        .find(|o| o.bucket == bucket && o.key == key)
        .ok_or_else(|| {
            Error::not_found(format!(
                "{} has no object {key:?} in bucket {bucket:?}",
                path.display()
            ))
        })?;
    let Some(member) = entry.member.clone() else {
        return Err(Error::not_found(format!(
            "the bytes of {bucket}/{key} are in the base backup {} (this is an incremental backup)",
            doc.base_backup_id.as_deref().unwrap_or("?")
        ))
        .with_hint("browse the base backup for this object"));
    };
    let span = s.find(&member, cancel)?.ok_or_else(|| {
        Error::integrity(format!(
            "{}: {STORAGE_DOC} lists {member} but the archive has no such member",
            path.display()
        ))
    })?;
    if span.size != entry.size {
        return Err(Error::integrity(format!(
            "{}: {member} is {} bytes, {STORAGE_DOC} says {}",
            path.display(),
            span.size,
            entry.size
        )));
    }
    Ok((entry, span))
}

/// A preview of one object: at most `max` bytes (capped at [`MAX_PREVIEW`]) of a text, or an
/// image no larger than that.
pub fn object_preview(
    path: &Path,
    bucket: &str,
    key: &str,
    max: u64,
    cancel: &CancellationToken,
) -> Result<ObjectPreview> {
    let max = max.clamp(1, MAX_PREVIEW);
    let mut s = ArchiveSeeker::open(path)?;
    let (entry, span) = locate(&mut s, bucket, key, cancel)?;
    let mut out = ObjectPreview {
        bucket: bucket.into(),
        key: key.into(),
        size: entry.size,
        content_type: entry.content_type.clone(),
        kind: preview_kind(entry.content_type.as_deref(), key),
        text: None,
        image_base64: None,
        truncated: false,
        note: None,
    };
    if out.kind == PreviewKind::Image && entry.size > max {
        out.kind = PreviewKind::None;
        out.note = Some(format!(
            "the image is {} bytes, more than a preview shows ({max}); save it to look at it",
            entry.size
        ));
    }
    if out.kind == PreviewKind::None {
        out.note
            .get_or_insert_with(|| "not a text or an image; save it to look at it".into());
        return Ok(out);
    }
    let n = entry.size.min(max);
    let mut bytes = Vec::with_capacity(n as usize);
    s.read_range(&span, 0, n)?
        .read_to_end(&mut bytes)
        .map_err(|e| s.read_error(&format!("reading {bucket}/{key}"), e))?;
    if out.kind == PreviewKind::Image {
        out.image_base64 = Some(base64(&bytes));
    } else {
        out.truncated = n < entry.size;
        // A cut inside a UTF-8 sequence is not the text's fault: drop the partial character.
        let valid = match std::str::from_utf8(&bytes) {
            Ok(_) => bytes.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => bytes.len(),
        };
        out.text = Some(String::from_utf8_lossy(&bytes[..valid]).into_owned());
    }
    Ok(out)
}

/// Saves one object's bytes to `dest` (a private temporary file beside it, mode 0600, synced,
/// then renamed over it); its SHA-256 is checked against `storage.json` before the rename.
pub fn save_object(
    path: &Path,
    bucket: &str,
    key: &str,
    dest: &Path,
    cancel: &CancellationToken,
) -> Result<SavedObject> {
    let mut s = ArchiveSeeker::open(path)?;
    let (entry, span) = locate(&mut s, bucket, key, cancel)?;
    let what = || format!("writing {}", dest.display());
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = crate::private_fs::tempfile_in(dir, ".offsite-tmp-object-")
        .map_err(|e| Error::io(what(), e))?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 256 << 10];
    let mut left = span.size;
    let mut r = s.read_range(&span, 0, span.size)?;
    while left > 0 {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(s.read_error(&format!("reading {bucket}/{key}"), e)),
        };
        ctx.update(&buf[..n]);
        tmp.as_file_mut()
            .write_all(&buf[..n])
            .map_err(|e| Error::io(what(), e))?;
        left -= n as u64;
    }
    let sha256 = hex::encode(ctx.finish().as_ref());
    if left != 0 || sha256 != entry.sha256 {
        return Err(Error::integrity(format!(
            "{}: the bytes of {bucket}/{key} are not what {STORAGE_DOC} recorded",
            path.display()
        ))
        .with_hint("the archive is damaged; use another copy of this backup"));
    }
    tmp.as_file().sync_all().map_err(|e| Error::io(what(), e))?;
    tmp.persist(dest).map_err(|e| Error::io(what(), e.error))?;
    Ok(SavedObject {
        path: dest.display().to_string(),
        bytes: span.size,
        sha256,
    })
}

/// Standard base64 with padding.
pub(super) fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
