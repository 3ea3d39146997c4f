//! Backup archives: composing one from a project's components ([`compose`]: the database
//! through its [`DatabaseSource`](crate::sources::DatabaseSource), storage, configuration) and
//! naming it. The dump itself is [`crate::postgres::dump`].
//!
//! Everything is written under temporary names in the destination and renamed only after it
//! all succeeded and was fsynced; on failure or cancel nothing is left behind.

pub mod canary;
pub mod compose;

pub use compose::{
    add_config, compose, compose_encrypted, ComposeRequest, ConfigInput, DatabaseInput,
    StorageInput,
};

use crate::archive::{BackupType, Compression};
use std::path::Path;
use time::OffsetDateTime;

pub use crate::archive::compression::DEFAULT_COMPRESSION_LEVEL;

/// An archive's file name: `<project>_<YYYYMMDD_HHMMSS>_<type>` and the ending of its
/// `compression`, `.tar.zst` or `.tar.gz` (every archive Offsite writes, backups, imports and
/// safety backups alike).
pub fn archive_file_name_for(
    project: &str,
    at: OffsetDateTime,
    kind: BackupType,
    compression: Compression,
) -> String {
    let f = time::macros::format_description!("[year][month][day]_[hour][minute][second]");
    format!(
        "{project}_{}_{}{}",
        at.format(&f).expect("static format"),
        kind.as_str(),
        compression.suffix()
    )
}

/// The endings of the files Offsite writes: `.tar.gz` or `.tar.zst`, `.age` appended when
/// encrypted.
pub const ARCHIVE_SUFFIXES: [&str; 4] = [".tar.gz", ".tar.gz.age", ".tar.zst", ".tar.zst.age"];

/// Whether a file name ends like an archive Offsite writes ([`ARCHIVE_SUFFIXES`]).
pub fn has_archive_suffix(name: &str) -> bool {
    ARCHIVE_SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// Is `path` a file Offsite could have written (used to refuse odd destinations early)?
pub fn is_archive_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(has_archive_suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_name_follows_the_design() {
        let at = time::macros::datetime!(2026-11-21 10:15:00 UTC);
        assert_eq!(
            archive_file_name_for("shop", at, BackupType::Database, Compression::Gzip(3)),
            "shop_20261121_101500_database.tar.gz"
        );
        assert!(is_archive_name(Path::new(
            "/x/shop_20261121_101500_database.tar.gz"
        )));
        assert!(!is_archive_name(Path::new("/x/shop.sql")));
    }

    #[test]
    fn zstd_archives_are_named_and_recognized() {
        let at = time::macros::datetime!(2026-11-21 10:15:00 UTC);
        let name = archive_file_name_for("shop", at, BackupType::Full, Compression::Zstd(3));
        assert_eq!(name, "shop_20261121_101500_full.tar.zst");
        for ok in [name.clone(), format!("{name}.age")] {
            assert!(is_archive_name(Path::new(&ok)), "{ok}");
        }
        for bad in ["x.zst", "x.tar.zst.sha256", "x.tar.zstd"] {
            assert!(!is_archive_name(Path::new(bad)), "{bad}");
        }
    }
}
