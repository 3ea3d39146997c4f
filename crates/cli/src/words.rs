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

#[cfg(test)]
mod tests {
    use super::*;

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
