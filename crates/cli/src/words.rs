//! The product's words in the command's human output (docs/glossary.md): a count with its noun,
//! "1 table", "2 tables", never "table(s)". One helper for the engine and the command line: the
//! engine's (`offsite_core::words`). JSON keys and flags keep theirs.
pub use offsite_core::words::{count, plural};

/// Where a backup came from, as the backup list says it (docs/glossary.md, "origin").
pub fn origin(o: offsite_core::catalog::BackupOrigin) -> &'static str {
    use offsite_core::catalog::BackupOrigin;
    match o {
        BackupOrigin::Local => "made here",
        BackupOrigin::Server => "backup server",
        BackupOrigin::Artifact => "artifact",
        BackupOrigin::Imported => "imported",
    }
}

/// A backup's (or copy's) status as people read it: `corrupt` is "damaged" (docs/glossary.md);
/// JSON keeps the value `corrupt`.
pub fn backup_status(s: offsite_core::catalog::BackupStatus) -> &'static str {
    use offsite_core::catalog::BackupStatus;
    match s {
        BackupStatus::Unverified => "unverified",
        BackupStatus::Verified => "verified",
        BackupStatus::Corrupt => "damaged",
        BackupStatus::Missing => "missing",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_the_glossary_says() {
        use offsite_core::catalog::BackupStatus;
        let words: Vec<_> = [
            BackupStatus::Unverified,
            BackupStatus::Verified,
            BackupStatus::Corrupt,
            BackupStatus::Missing,
        ]
        .into_iter()
        .map(backup_status)
        .collect();
        assert_eq!(words, ["unverified", "verified", "damaged", "missing"]);
    }

    #[test]
    fn origins_read_as_the_glossary_says() {
        use offsite_core::catalog::BackupOrigin;
        let words: Vec<_> = BackupOrigin::ALL.iter().map(|o| origin(*o)).collect();
        assert_eq!(
            words,
            ["made here", "backup server", "artifact", "imported"]
        );
    }
}
