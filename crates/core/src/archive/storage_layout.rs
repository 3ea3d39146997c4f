//! The storage part of an archive (format v1, DESIGN.md):
//!
//! ```text
//! storage.json                  StorageDoc: buckets with settings, every object's facts
//! storage/<bucket>/<key>        an object whose key is a safe member path
//! storage/<bucket>/.offsite-key/<sha256 of key>   an object whose key is not
//! ```
//!
//! A key is stored under its own name when it is a safe relative path (no empty, `.` or `..`
//! segment, no leading `/`, no NUL or backslash, not under `.offsite-key/`); otherwise under the
//! SHA-256 of the key (so two keys never share a member), and `storage.json` keeps the real key.
//! Extraction with GNU tar therefore never leaves `storage/<bucket>/`. A key below another
//! key's name (`a`, then `a/b`: a file cannot also be a folder) is encoded too, by the pull;
//! an [`ObjectEntry`]'s `member` is always the authority on where an object's bytes are.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `storage.json` member.
pub const STORAGE_DOC: &str = "storage.json";
/// The folder holding the objects.
pub const STORAGE_PREFIX: &str = "storage/";
/// Where encoded keys live inside a bucket's folder.
pub const ENCODED_DIR: &str = ".offsite-key";

/// Which buckets a project's storage component covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case", tag = "kind", content = "names")]
pub enum BucketSelection {
    /// Every bucket the keys can list.
    #[default]
    All,
    /// Only these.
    Only(Vec<String>),
}

impl BucketSelection {
    /// `all`, or a comma-separated list of names.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("all") {
            return Ok(BucketSelection::All);
        }
        let names: Vec<String> = s
            .split(',')
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect();
        for n in &names {
            check_bucket_name(n)?;
        }
        Ok(BucketSelection::Only(names))
    }

    pub fn includes(&self, bucket: &str) -> bool {
        match self {
            BucketSelection::All => true,
            BucketSelection::Only(names) => names.iter().any(|n| n == bucket),
        }
    }
}

impl std::fmt::Display for BucketSelection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BucketSelection::All => f.write_str("all"),
            BucketSelection::Only(names) => f.write_str(&names.join(",")),
        }
    }
}

/// A bucket name Offsite stores as a folder: one safe path segment.
pub fn check_bucket_name(name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name.len() > 255
        || name.contains(['/', '\\', '\0']);
    if bad {
        return Err(
            Error::invalid(format!("{name:?} is not a bucket name Offsite can store"))
                .with_hint("bucket names are one path segment: letters, digits, '.', '-', '_'"),
        );
    }
    Ok(())
}

/// Whether `key` can be stored under its own name (a segment longer than 255 bytes, which no
/// common file system can create, is not).
pub fn key_is_safe(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with('/')
        && !key.contains(['\0', '\\'])
        && !key.starts_with(&format!("{ENCODED_DIR}/"))
        && key != ENCODED_DIR
        && key.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != ".." && seg.len() <= 255)
        // Windows drive prefix on the first segment, as the archive's own check refuses it.
        && !(key.len() >= 2 && key.as_bytes()[1] == b':' && key.as_bytes()[0].is_ascii_alphabetic())
}

/// The archive member holding `key` of `bucket`; `true` when the name is encoded.
pub fn member_name(bucket: &str, key: &str) -> (String, bool) {
    if key_is_safe(key) {
        (format!("{STORAGE_PREFIX}{bucket}/{key}"), false)
    } else {
        let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
        (
            format!(
                "{STORAGE_PREFIX}{bucket}/{ENCODED_DIR}/{}",
                hex::encode(digest)
            ),
            true,
        )
    }
}

/// A bucket's settings (Supabase: the `storage.buckets` row; plain S3: none known).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BucketSettings {
    pub public: Option<bool>,
    /// Largest object size, bytes.
    pub file_size_limit: Option<u64>,
    pub allowed_mime_types: Option<Vec<String>>,
}

/// A bucket in `storage.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BucketEntry {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<BucketSettings>,
    /// Objects of this bucket in the archive (incremental: in its full listing).
    pub objects: u64,
    pub bytes: u64,
}

/// An object in `storage.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ObjectEntry {
    pub bucket: String,
    /// The key exactly as the store has it.
    pub key: String,
    /// The archive member with its bytes; `None` when the bytes are in the base backup
    /// (incremental archives: an unchanged object).
    pub member: Option<String>,
    pub size: u64,
    pub etag: Option<String>,
    /// RFC 3339.
    pub last_modified: Option<String>,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
}

/// `storage.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StorageDoc {
    /// Where the objects came from (endpoint without credentials).
    pub endpoint: Option<String>,
    pub buckets: Vec<BucketEntry>,
    /// Every object, by bucket then key.
    pub objects: Vec<ObjectEntry>,
    /// Listed but gone before they could be read.
    #[serde(default)]
    pub vanished: Vec<VanishedObject>,
    /// Incremental archives: the backup holding the unchanged objects' bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_backup_id: Option<String>,
    /// Incremental archives: objects in the base that are gone now.
    #[serde(default)]
    pub deleted: Vec<VanishedObject>,
}

/// An object by bucket and key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct VanishedObject {
    pub bucket: String,
    pub key: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_keys_keep_their_names_and_odd_ones_are_encoded_inside_the_bucket() {
        assert_eq!(
            member_name("b", "a/b.png"),
            ("storage/b/a/b.png".into(), false)
        );
        assert_eq!(
            member_name("b", "ünï côdé/x y"),
            ("storage/b/ünï côdé/x y".into(), false)
        );
        for odd in [
            "../etc/passwd",
            "a//b",
            "/lead",
            "a/./b",
            ".",
            "..",
            "a/..",
            "",
            ".offsite-key/x",
            "C:x",
        ] {
            let (name, encoded) = member_name("b", odd);
            assert!(encoded, "{odd:?}");
            assert!(name.starts_with("storage/b/.offsite-key/"), "{name}");
            assert!(
                crate::archive::check_member_name(&name, false).is_ok(),
                "{name}"
            );
        }
        assert_ne!(member_name("b", "a//b").0, member_name("b", "a/./b").0);
        assert!(
            member_name("b", ".emptyFolderPlaceholder").0 == "storage/b/.emptyFolderPlaceholder"
        );
        assert!(!member_name("b", &"ß".repeat(127)).1);
        assert!(member_name("b", &format!("a/{}", "ß".repeat(128))).1);
    }

    #[test]
    fn bucket_selections_parse() {
        assert_eq!(BucketSelection::parse("all").unwrap(), BucketSelection::All);
        assert_eq!(
            BucketSelection::parse("a, b").unwrap(),
            BucketSelection::Only(vec!["a".into(), "b".into()])
        );
        assert!(BucketSelection::parse("a/b").is_err());
        assert!(BucketSelection::parse("..").is_err());
    }
}
