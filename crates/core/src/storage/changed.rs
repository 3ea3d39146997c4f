//! Whether a listed object changed since the previous backup, and by which rule that was told.
//!
//! * **ETag**: the listing and the previous backup both have the object's ETag: same size and
//!   same ETag is unchanged.
//! * **Size and last-modified**: some S3-compatible servers leave ETags out of ListObjectsV2
//!   (s3s-fs as installed, for one). Same size and same last-modified is unchanged, as rclone
//!   compares, unless the last-modified falls in or after the second the previous backup began:
//!   the object may have been written again within that second, after it was read. The times
//!   are compared at the precision both sides have: the previous backup records what a GET
//!   answered (`Last-Modified`, whole seconds) while a listing may give fractions of a second
//!   (s3s-fs does), so a side without fractions makes the comparison one of whole seconds.
//! * **HEAD**: that ambiguous case asks the server (a HEAD carries the ETag): unchanged when
//!   size and ETag match the previous backup's. A source that cannot say: changed (downloaded).
//!
//! Each bucket's tally of the rules that decided goes to the job's log and [`PullSummary`].
//!
//! [`PullSummary`]: super::PullSummary

use super::layout::ObjectEntry;
use crate::sources::ObjectInfo;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The rule that compared an object with the previous backup's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeRule {
    Etag,
    SizeAndModified,
    Head,
}

impl ChangeRule {
    pub fn label(self) -> &'static str {
        match self {
            ChangeRule::Etag => "size and ETag",
            ChangeRule::SizeAndModified => "size and last-modified (the listing has no ETags)",
            ChangeRule::Head => "a HEAD's ETag (same size and last-modified in the second the previous backup began)",
        }
    }
}

/// What the listing row says about an object the previous backup holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Unchanged(ChangeRule),
    Changed(ChangeRule),
    /// Same size and last-modified, too close to the previous backup to tell: ask for a HEAD.
    Ambiguous,
}

/// Compares a listing row with the previous backup's entry. `since`: when the previous backup
/// began (its manifest's `created_at`); `None` makes every size-and-time match ambiguous.
pub fn compare(prev: &ObjectEntry, info: &ObjectInfo, since: Option<OffsetDateTime>) -> Verdict {
    if let (Some(a), Some(b)) = (&prev.etag, &info.etag) {
        return if prev.size == info.size && a == b {
            Verdict::Unchanged(ChangeRule::Etag)
        } else {
            Verdict::Changed(ChangeRule::Etag)
        };
    }
    let rule = ChangeRule::SizeAndModified;
    let before = prev
        .last_modified
        .as_deref()
        .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
    let (Some(before), Some(now)) = (before, info.last_modified) else {
        return Verdict::Changed(rule);
    };
    if prev.size != info.size || !same_time(before, now) {
        return Verdict::Changed(rule);
    }
    match since {
        Some(since) if now.unix_timestamp() < since.unix_timestamp() => Verdict::Unchanged(rule),
        _ => Verdict::Ambiguous,
    }
}

/// The same instant at the precision both have: to the nanosecond when both carry fractions of
/// a second, else to the whole second (an HTTP `Last-Modified` has no fractions).
fn same_time(a: OffsetDateTime, b: OffsetDateTime) -> bool {
    if a.nanosecond() != 0 && b.nanosecond() != 0 {
        a == b
    } else {
        a.unix_timestamp() == b.unix_timestamp()
    }
}

/// The verdict of a HEAD for an [`Verdict::Ambiguous`] object (`None`: absent, or the source
/// cannot say).
pub fn after_head(prev: &ObjectEntry, head: Option<&ObjectInfo>) -> Verdict {
    let same = head.is_some_and(|h| {
        h.size == prev.size && h.etag.is_some() && prev.etag.is_some() && h.etag == prev.etag
    });
    if same {
        Verdict::Unchanged(ChangeRule::Head)
    } else {
        Verdict::Changed(ChangeRule::Head)
    }
}

/// One bucket's objects compared with the previous backup, by rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BucketRules {
    pub bucket: String,
    /// (rule, objects it compared, of which unchanged), in rule order.
    pub rules: Vec<(ChangeRule, u64, u64)>,
}

impl BucketRules {
    pub fn new(bucket: &str) -> Self {
        BucketRules {
            bucket: bucket.to_string(),
            rules: Vec::new(),
        }
    }

    pub fn count(&mut self, v: Verdict) {
        let (rule, unchanged) = match v {
            Verdict::Unchanged(r) => (r, 1),
            Verdict::Changed(r) => (r, 0),
            Verdict::Ambiguous => return,
        };
        match self.rules.iter_mut().find(|(r, _, _)| *r == rule) {
            Some(e) => {
                e.1 += 1;
                e.2 += unchanged;
            }
            None => {
                self.rules.push((rule, 1, unchanged));
                self.rules.sort();
            }
        }
    }

    /// The job log's line: which rule told changed objects from unchanged ones.
    pub fn describe(&self) -> String {
        if self.rules.is_empty() {
            return format!(
                "bucket {}: nothing to compare with the previous backup",
                self.bucket
            );
        }
        let parts: Vec<String> = self
            .rules
            .iter()
            .map(|(r, n, same)| format!("{} for {n} objects ({same} unchanged)", r.label()))
            .collect();
        format!(
            "bucket {}: changes found by {}",
            self.bucket,
            parts.join("; ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(size: u64, etag: Option<&str>, lm: &str) -> ObjectEntry {
        ObjectEntry {
            bucket: "b".into(),
            key: "k".into(),
            size,
            etag: etag.map(str::to_string),
            last_modified: Some(lm.into()),
            ..Default::default()
        }
    }

    fn listed(size: u64, etag: Option<&str>, lm: &str) -> ObjectInfo {
        let mut i = ObjectInfo::listed("k", size);
        i.etag = etag.map(str::to_string);
        i.last_modified = Some(OffsetDateTime::parse(lm, &Rfc3339).unwrap());
        i
    }

    const T: &str = "2026-01-01T10:00:00Z";
    const LATER: &str = "2026-01-01T10:00:05Z";

    #[test]
    fn etags_decide_when_both_sides_have_them() {
        let since = Some(OffsetDateTime::parse(LATER, &Rfc3339).unwrap());
        let p = entry(3, Some("e1"), T);
        assert_eq!(
            compare(&p, &listed(3, Some("e1"), LATER), since),
            Verdict::Unchanged(ChangeRule::Etag)
        );
        assert_eq!(
            compare(&p, &listed(3, Some("e2"), T), since),
            Verdict::Changed(ChangeRule::Etag)
        );
    }

    #[test]
    fn without_etags_size_and_time_decide_and_the_same_second_is_ambiguous() {
        let since = Some(OffsetDateTime::parse(LATER, &Rfc3339).unwrap());
        let p = entry(3, Some("e1"), T);
        let r = ChangeRule::SizeAndModified;
        assert_eq!(
            compare(&p, &listed(3, None, T), since),
            Verdict::Unchanged(r)
        );
        assert_eq!(compare(&p, &listed(4, None, T), since), Verdict::Changed(r));
        assert_eq!(
            compare(&p, &listed(3, None, LATER), since),
            Verdict::Changed(r)
        );
        // Written in the second the previous backup began: it may have changed after the read.
        let p2 = entry(3, Some("e1"), LATER);
        assert_eq!(
            compare(&p2, &listed(3, None, LATER), since),
            Verdict::Ambiguous
        );
        assert_eq!(compare(&p, &listed(3, None, T), None), Verdict::Ambiguous);
        // No time on either side: changed.
        let mut no_time = listed(3, None, T);
        no_time.last_modified = None;
        assert_eq!(compare(&p, &no_time, since), Verdict::Changed(r));
    }

    #[test]
    fn times_compare_at_the_precision_both_sides_have() {
        let since = Some(OffsetDateTime::parse(LATER, &Rfc3339).unwrap());
        let r = ChangeRule::SizeAndModified;
        // The previous backup kept a GET's whole second; the listing has the fraction.
        let p = entry(3, Some("e1"), T);
        assert_eq!(
            compare(&p, &listed(3, None, "2026-01-01T10:00:00.734512Z"), since),
            Verdict::Unchanged(r)
        );
        // Another second, or another size in the same second: changed.
        assert_eq!(
            compare(&p, &listed(3, None, "2026-01-01T10:00:01.2Z"), since),
            Verdict::Changed(r)
        );
        assert_eq!(
            compare(&p, &listed(4, None, "2026-01-01T10:00:00.734512Z"), since),
            Verdict::Changed(r)
        );
        // Both with fractions: they must agree to the fraction.
        let fine = entry(3, Some("e1"), "2026-01-01T10:00:00.5Z");
        assert_eq!(
            compare(&fine, &listed(3, None, "2026-01-01T10:00:00.5Z"), since),
            Verdict::Unchanged(r)
        );
        assert_eq!(
            compare(&fine, &listed(3, None, "2026-01-01T10:00:00.6Z"), since),
            Verdict::Changed(r)
        );
    }

    #[test]
    fn a_head_settles_by_etag_and_a_silent_source_means_changed() {
        let p = entry(3, Some("e1"), T);
        let h = ChangeRule::Head;
        assert_eq!(
            after_head(&p, Some(&listed(3, Some("e1"), T))),
            Verdict::Unchanged(h)
        );
        assert_eq!(
            after_head(&p, Some(&listed(3, Some("e2"), T))),
            Verdict::Changed(h)
        );
        assert_eq!(
            after_head(&p, Some(&listed(3, None, T))),
            Verdict::Changed(h)
        );
        assert_eq!(after_head(&p, None), Verdict::Changed(h));
    }

    #[test]
    fn the_log_line_names_each_rule() {
        let mut b = BucketRules::new("avatars");
        b.count(Verdict::Unchanged(ChangeRule::SizeAndModified));
        b.count(Verdict::Changed(ChangeRule::SizeAndModified));
        b.count(Verdict::Unchanged(ChangeRule::Head));
        let line = b.describe();
        assert!(line.contains("avatars"), "{line}");
        assert!(line.contains("size and last-modified"), "{line}");
        assert!(line.contains("for 2 objects (1 unchanged)"), "{line}");
        assert!(line.contains("HEAD"), "{line}");
    }
}
