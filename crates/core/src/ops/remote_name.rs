//! The local name of a backup pulled from a backup server: the file name the server gave when
//! it is a plain archive name ([`given`]); else `remote_<id>` ([`stem`]), downloaded under that
//! name and then given the ending its bytes say ([`named_by_content`]): `.tar.zst` or `.tar.gz`
//! (told by the first bytes, [`crate::archive::codec`], never guessed), `.age` appended when it
//! is age-encrypted (the plaintext's first bytes then decide, read with the project's keys).

use crate::archive::{self, codec::Codec};
use crate::crypto::UserKey;
use crate::error::{Error, ErrorKind, Result};
use crate::sources::agent::AgentBackup;
use std::path::{Path, PathBuf};

/// The file name the server gave, if it is a plain archive name (one of the endings Offsite
/// writes, no folder, not hidden, a short run of safe characters).
pub(crate) fn given(b: &AgentBackup) -> Option<String> {
    let ok = |n: &str| {
        n.len() <= 200
            && crate::backup::has_archive_suffix(n)
            && !n.starts_with('.')
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    b.file_name.as_deref().filter(|n| ok(n)).map(str::to_string)
}

/// `remote_<id>` (the id's letters and digits only): what a backup the server names no file
/// for is downloaded as, before its bytes name its ending.
pub(crate) fn stem(b: &AgentBackup) -> String {
    format!(
        "remote_{}",
        b.backup_id
            .replace(|c: char| !c.is_ascii_alphanumeric(), "")
    )
}

/// The ending the archive at `path` gets by its bytes: `.tar.zst` or `.tar.gz`, with `.age`
/// when it is age-encrypted (decrypted with `keys` for its first bytes). `None` when the bytes
/// are neither (or an encrypted file does not open with `keys`): the import that follows refuses
/// such a file anyway.
pub(crate) fn suffix_by_content(path: &Path, keys: Vec<UserKey>) -> Option<&'static str> {
    let encrypted = archive::is_encrypted(path);
    let _unlocked = archive::unlock(path, keys);
    Some(match (archive::codec_of(path).ok()?, encrypted) {
        (Codec::Zstd, false) => ".tar.zst",
        (Codec::Gzip, false) => ".tar.gz",
        (Codec::Zstd, true) => ".tar.zst.age",
        (Codec::Gzip, true) => ".tar.gz.age",
    })
}

/// Renames the download at `path` (`remote_<id>`) to carry the ending its bytes say; returns
/// where it is now (`path` itself when its bytes name none). Never replaces a file.
pub(crate) fn named_by_content(path: &Path, keys: Vec<UserKey>) -> Result<PathBuf> {
    let Some(suffix) = suffix_by_content(path, keys) else {
        return Ok(path.to_path_buf());
    };
    let mut name = path
        .file_name()
        .ok_or_else(|| Error::internal("the download has no file name"))?
        .to_owned();
    name.push(suffix);
    let to = path.with_file_name(name);
    if to.symlink_metadata().is_ok() {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!("{} already exists", to.display()),
        )
        .with_hint("a file of that name is already in the project's backup folder"));
    }
    std::fs::rename(path, &to).map_err(|e| {
        Error::io(
            format!("renaming {} to {}", path.display(), to.display()),
            e,
        )
    })?;
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{ArchiveWriter, Compression};
    use crate::progress::Reporter;
    use tokio_util::sync::CancellationToken;

    fn b(name: Option<&str>) -> AgentBackup {
        AgentBackup {
            backup_id: "0b1e-77".into(),
            project: "shop".into(),
            status: "COMPLETED".into(),
            progress: 100,
            created_at: String::new(),
            completed_at: None,
            backup_type: None,
            size: None,
            sha256: None,
            file_name: name.map(str::to_string),
            error: None,
            phase: None,
            bytes_done: None,
            bytes_total: None,
        }
    }

    #[test]
    fn server_file_names_cannot_leave_the_folder() {
        assert_eq!(
            given(&b(Some("shop_20261123_010203_full.tar.gz"))).as_deref(),
            Some("shop_20261123_010203_full.tar.gz")
        );
        for bad in [
            "../x.tar.gz",
            "/etc/x.tar.gz",
            ".x.tar.gz",
            "a/b.tar.gz",
            "x.sh",
            "x.tar.age",
        ] {
            assert_eq!(given(&b(Some(bad))), None, "{bad}");
        }
        assert_eq!(given(&b(None)), None);
        assert_eq!(stem(&b(None)), "remote_0b1e77");
        // Every ending Offsite writes keeps its name: an encrypted archive stays `.age`.
        for good in [
            "shop_20261123_010203_full.tar.zst",
            "shop_20261123_010203_full.tar.zst.age",
            "shop_20261123_010203_full.tar.gz.age",
        ] {
            assert_eq!(given(&b(Some(good))).as_deref(), Some(good));
        }
    }

    /// A real archive of `compression` (age-encrypted to `to` when given), its bytes only.
    fn archive_bytes(compression: Compression, to: Option<&crate::crypto::Recipient>) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let age = if to.is_some() { ".age" } else { "" };
        let name = format!("shop_20261123_010203_database{}{age}", compression.suffix());
        let mut w = ArchiveWriter::create_with(dir.path(), &name, compression).unwrap();
        if let Some(r) = to {
            w.encrypt(crate::crypto::Encryption::to_recipients(vec![r.clone()]).unwrap())
                .unwrap();
        }
        w.add_bytes(crate::archive::DATABASE_MEMBER, b"PGDMP-remote".to_vec());
        let written = w
            .finish(
                crate::test_fixtures::manifest(),
                &Reporter::silent(),
                &CancellationToken::new(),
            )
            .unwrap();
        std::fs::read(written.path).unwrap()
    }

    #[test]
    fn an_unnamed_download_is_named_by_its_codec() {
        let (key, public) = UserKey::generate();
        let dir = tempfile::tempdir().unwrap();
        for (compression, age, want) in [
            (Compression::default(), false, "remote_0b1e77.tar.zst"),
            (Compression::Gzip(1), false, "remote_0b1e77.tar.gz"),
            (Compression::default(), true, "remote_0b1e77.tar.zst.age"),
            (Compression::Gzip(1), true, "remote_0b1e77.tar.gz.age"),
        ] {
            let bytes = archive_bytes(compression, age.then_some(&public));
            let at = dir.path().join(stem(&b(None)));
            std::fs::write(&at, &bytes).unwrap();
            let named = named_by_content(&at, vec![key.clone()]).unwrap();
            assert_eq!(named, dir.path().join(want));
            assert!(!at.exists());
            assert_eq!(
                std::fs::read(&named).unwrap(),
                bytes,
                "moved, not rewritten"
            );
            // What the name says is what the bytes are, and the archive reads.
            let _unlocked = crate::archive::unlock(&named, vec![key.clone()]);
            assert_eq!(
                crate::archive::codec_of(&named).unwrap(),
                compression.codec()
            );
            let r = crate::archive::verify_with(
                &named,
                std::slice::from_ref(&key),
                &Reporter::silent(),
                &CancellationToken::new(),
            )
            .unwrap();
            assert!(r.ok, "{want}: {:?}", r.problems);
            std::fs::remove_file(&named).unwrap();
        }
    }

    #[test]
    fn bytes_that_name_no_codec_keep_the_stem_and_nothing_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join("remote_x");
        // Not an archive: left as it is, for the import to refuse.
        std::fs::write(&at, b"#!/bin/sh\n").unwrap();
        assert_eq!(named_by_content(&at, vec![]).unwrap(), at);
        // An encrypted archive without its key: its codec cannot be told.
        let (_, public) = UserKey::generate();
        std::fs::write(&at, archive_bytes(Compression::default(), Some(&public))).unwrap();
        assert_eq!(named_by_content(&at, vec![]).unwrap(), at);
        // A file already under the final name is never replaced.
        std::fs::write(&at, archive_bytes(Compression::default(), None)).unwrap();
        let taken = dir.path().join("remote_x.tar.zst");
        std::fs::write(&taken, b"mine").unwrap();
        let e = named_by_content(&at, vec![]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&taken).unwrap(), b"mine");
        assert!(at.exists());
    }
}
