//! The product's words in the command's human output (docs/glossary.md): a count with its noun,
//! "1 table", "2 tables", "1 copy", "2 copies", never "table(s)". JSON keys and flags keep theirs.

/// The plural of an English noun: "table" → "tables", "copy" → "copies", "match" → "matches".
pub fn plural_of(noun: &str) -> String {
    let lower = noun.to_ascii_lowercase();
    let irregular = match lower.as_str() {
        "child" => Some("children"),
        "person" => Some("people"),
        _ => None,
    };
    if let Some(p) = irregular {
        return p.to_string();
    }
    let ends = |s: &str| lower.ends_with(s);
    if ends("y") && !["ay", "ey", "iy", "oy", "uy"].iter().any(|v| ends(v)) {
        return format!("{}ies", &noun[..noun.len() - 1]);
    }
    if ["s", "x", "z", "ch", "sh"].iter().any(|s| ends(s)) {
        return format!("{noun}es");
    }
    format!("{noun}s")
}

/// "1 table", "2 tables", "0 copies".
pub fn plural(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {}", plural_of(noun))
    }
}

/// [`plural`] for a `usize` count (a list's length).
pub fn count(n: usize, noun: &str) -> String {
    plural(n as u64, noun)
}

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

    #[test]
    fn counts_read_as_english() {
        assert_eq!(plural(1u64, "table"), "1 table");
        assert_eq!(plural(2u64, "table"), "2 tables");
        assert_eq!(plural(0u64, "copy"), "0 copies");
        assert_eq!(plural(1u64, "copy"), "1 copy");
        assert_eq!(count(3, "new backup"), "3 new backups");
        assert_eq!(count(2, "match"), "2 matches");
        assert_eq!(count(2, "day"), "2 days");
        assert_eq!(count(5, "setting"), "5 settings");
        assert_eq!(count(2, "child"), "2 children");
    }
}
