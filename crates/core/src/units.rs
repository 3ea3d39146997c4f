//! Sizes as people read them, one convention everywhere Offsite shows one (the command line, the
//! desktop's notifications, the window — `ui/src/components/format.ts` follows the same rule and
//! the same test vectors): powers of 1024 written KB, MB, GB as the glossary (docs/glossary.md)
//! and most people's file managers write them (issue 64: the app said KiB/MiB), whole bytes
//! below 1 KB, one decimal above: `0 B`, `1023 B`, `1.0 KB`, `1.5 MB`, `2.0 GB`. Sizes typed in
//! (`--max-retained 48MB`) read MB and MiB alike.

const UNITS: [&str; 5] = ["KB", "MB", "GB", "TB", "PB"];

/// Largest `globals.sql` or `config/…` member read from an archive, and the largest roles and
/// globals part gathered from a plain SQL file (each is a few KB in practice).
pub const MAX_SMALL_DOC: u64 = 64 << 20;

/// `1536` → `1.5 KB` (see the module's description).
pub fn format_bytes(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    // 1023.96 KB would round to "1024.0 KB": that is 1.0 MB.
    while value >= 1023.95 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A duration as people read it, one convention everywhere Offsite shows one (the desktop's
/// notifications, the window's `formatDuration` in `ui/src/components/format.ts`, with the same
/// test vectors): `under 1 s`, `42 s`, `2 min`, `3 min 5 s`, `1 h 2 min`, `2 h`. Whole seconds
/// are rounded down (a job of 59.9 s took "59 s", not "1 min").
pub fn format_duration(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0 => "under 1 s".into(),
        1..=59 => format!("{secs} s"),
        60..=3599 => match secs % 60 {
            0 => format!("{} min", secs / 60),
            s => format!("{} min {s} s", secs / 60),
        },
        _ => match (secs % 3600) / 60 {
            0 => format!("{} h", secs / 3600),
            m => format!("{} h {m} min", secs / 3600),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same vectors as `ui/src/components/format.test.ts` (formatDuration).
    #[test]
    fn durations_read_the_same_everywhere() {
        use std::time::Duration;
        for (secs, text) in [
            (0.0, "under 1 s"),
            (0.4, "under 1 s"),
            (59.0, "59 s"),
            (61.0, "1 min 1 s"),
            (120.0, "2 min"),
            (3600.0, "1 h"),
            (3720.0, "1 h 2 min"),
        ] {
            assert_eq!(
                format_duration(Duration::from_secs_f64(secs)),
                text,
                "{secs}"
            );
        }
    }

    /// The same vectors as `ui/src/components/format.test.ts`.
    #[test]
    fn sizes_are_iec_with_one_decimal() {
        for (bytes, text) in [
            (0u64, "0 B"),
            (1, "1 B"),
            (1023, "1023 B"),
            (1024, "1.0 KB"),
            (1536, "1.5 KB"),
            (1_048_575, "1.0 MB"),
            (1_572_864, "1.5 MB"),
            (44_040_192, "42.0 MB"),
            (2_147_483_648, "2.0 GB"),
            (3_298_534_883_328, "3.0 TB"),
        ] {
            assert_eq!(format_bytes(bytes), text, "{bytes}");
        }
    }
}
