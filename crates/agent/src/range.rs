//! `Range: bytes=…` of the signed file route, parsed against the file's size.
//!
//! One range is served (206); a few ranges (2 to [`MAX_RANGES`]) get the whole file (200, as
//! RFC 9110 allows); a header longer than [`MAX_RANGE_HEADER`] bytes, more ranges than that,
//! a malformed or unsatisfiable range is answered 416. A suffix range longer than the file is
//! the whole file (RFC 9110 §14.1.3). Whatever the header, a served range lies inside the file.

use std::ops::Range;

/// Longest `Range` header looked at; longer ones are refused (416).
pub const MAX_RANGE_HEADER: usize = 256;
/// Most ranges in one header; more are refused (416).
pub const MAX_RANGES: usize = 8;

/// What to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeAnswer {
    /// No usable range: the whole file (200).
    Whole,
    /// This part (206); never empty, never past the end.
    Part(Range<u64>),
    /// 416.
    Unsatisfiable,
}

fn number(s: &str) -> Option<u64> {
    let s = s.trim_matches([' ', '\t']);
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// One `first-last` / `first-` / `-suffix` against `size`.
fn one(spec: &str, size: u64) -> Option<Range<u64>> {
    let (a, b) = spec.trim_matches([' ', '\t']).split_once('-')?;
    let (a, b) = (a.trim_matches([' ', '\t']), b.trim_matches([' ', '\t']));
    if a.is_empty() {
        let n = number(b)?;
        if n == 0 || size == 0 {
            return None;
        }
        return Some(size.saturating_sub(n)..size);
    }
    let start = number(a)?;
    let end = if b.is_empty() {
        size
    } else {
        let last = number(b)?;
        if last < start {
            return None;
        }
        last.saturating_add(1).min(size)
    };
    (start < size && start < end).then_some(start..end)
}

/// The answer to `value` (a `Range` header) for a file of `size` bytes.
pub fn parse_range(value: &str, size: u64) -> RangeAnswer {
    if value.len() > MAX_RANGE_HEADER {
        return RangeAnswer::Unsatisfiable;
    }
    let value = value.trim_matches([' ', '\t']);
    let Some((unit, spec)) = value.split_once('=') else {
        return RangeAnswer::Whole;
    };
    if !unit.trim_matches([' ', '\t']).eq_ignore_ascii_case("bytes") {
        return RangeAnswer::Whole; // a unit we do not serve: ignored
    }
    let specs: Vec<&str> = spec.split(',').collect();
    if specs.len() > MAX_RANGES {
        return RangeAnswer::Unsatisfiable;
    }
    let mut ranges = Vec::with_capacity(specs.len());
    for s in &specs {
        match one(s, size) {
            Some(r) => ranges.push(r),
            None => return RangeAnswer::Unsatisfiable,
        }
    }
    match ranges.as_slice() {
        [r] => RangeAnswer::Part(r.clone()),
        _ => RangeAnswer::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use RangeAnswer::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Part(0..10));
        assert_eq!(parse_range("bytes=90-", 100), Part(90..100));
        assert_eq!(parse_range("bytes=-10", 100), Part(90..100));
        assert_eq!(parse_range("bytes=50-500", 100), Part(50..100));
        assert_eq!(parse_range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=5-2", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Whole);
        assert_eq!(parse_range("items=0-1", 100), Whole);
        assert_eq!(parse_range("bytes=0-0", 0), Unsatisfiable);
    }

    /// The hostile ones: absurd lists, overflowing numbers, suffixes larger than the file.
    #[test]
    fn hostile_ranges_are_refused_or_clamped_to_the_file() {
        let many = format!("bytes={}", vec!["0-0"; 1000].join(","));
        assert_eq!(parse_range(&many, 100), Unsatisfiable);
        let nine = format!("bytes={}", ["0-0"; 9].join(","));
        assert_eq!(parse_range(&nine, 100), Unsatisfiable);
        assert_eq!(
            parse_range("bytes=99999999999999999999-", 100),
            Unsatisfiable
        );
        assert_eq!(
            parse_range("bytes=0-99999999999999999999", 100),
            Unsatisfiable
        );
        assert_eq!(parse_range("bytes=-99999999", 100), Part(0..100));
        assert_eq!(parse_range("bytes=-18446744073709551615", 7), Part(0..7));
        assert_eq!(parse_range("bytes=18446744073709551615-", 7), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-18446744073709551615", 7), Part(0..7));
        assert_eq!(parse_range("bytes=+1-2", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=--1", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), Unsatisfiable);
    }

    proptest! {
        #![proptest_config(offsite_testkit::fuzz::config())]
        /// Arbitrary headers never panic; any range served lies inside the file, never more
        /// bytes than it has.
        #[test]
        fn fuzz_agent_range_header(
            value in prop_oneof![
                ".{0,300}",
                "(bytes|BYTES|items)=[-0-9, ]{0,40}",
                ("[0-9]{1,22}", "[0-9]{0,22}").prop_map(|(a, b)| format!("bytes={a}-{b}")),
                "[0-9]{1,22}".prop_map(|n| format!("bytes=-{n}")),
            ],
            size in prop_oneof![Just(0u64), 0u64..2048, Just(u64::MAX)],
        ) {
            match parse_range(&value, size) {
                Part(r) => {
                    prop_assert!(r.start < r.end, "{value:?} {size}: {r:?}");
                    prop_assert!(r.end <= size, "{value:?} {size}: {r:?}");
                }
                Whole | Unsatisfiable => {}
            }
        }
    }
}
