//! Copies attackers cannot delete, and storage tiers, at an S3 destination (issue 47, item 6).
//!
//! - **Object Lock**: a destination may ask that every copy it uploads is locked in `governance`
//!   or `compliance` mode until a date (`x-amz-object-lock-mode` and
//!   `x-amz-object-lock-retain-until-date`, set through the SDK's own fields). The bucket must
//!   have been created with Object Lock enabled (`destination test` checks it with
//!   `GetObjectLockConfiguration`). A locked object version cannot be deleted or overwritten until
//!   its date, whoever holds the keys (compliance), or except by someone with the
//!   `s3:BypassGovernanceRetention` permission who asks for it (governance).
//! - **Storage class**: `STANDARD`, `STANDARD_IA`, `GLACIER`, `DEEP_ARCHIVE`, … (the list AWS
//!   documents, [`STORAGE_CLASSES`]), sent with every upload. A copy in an archive class
//!   (`GLACIER`, `DEEP_ARCHIVE`) cannot be read until it is restored in the provider; reading one
//!   says so ([`archived`]) instead of S3's raw `InvalidObjectState`.

use crate::error::{Error, ErrorKind, Result};
use crate::schedule::RetentionPolicy;
use crate::text_enum::text_enum;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

text_enum! {
    /// How an uploaded copy is locked.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "specta", derive(specta::Type))]
    #[serde(rename_all = "snake_case")]
    pub enum LockMode as "object lock mode" {
        /// Nobody deletes it before the date, except a user with the special
        /// `s3:BypassGovernanceRetention` permission who asks for it.
        Governance = "governance",
        /// Nobody deletes it before the date: not the keys Offsite holds, not the account's root.
        Compliance = "compliance",
    }
}

impl LockMode {
    /// What the mode means, in plain words.
    pub fn meaning(self) -> &'static str {
        match self {
            LockMode::Governance => {
                "governance mode: each copy is locked until its date; an administrator with the special s3:BypassGovernanceRetention permission can still remove it, anyone else (these keys too) cannot"
            }
            LockMode::Compliance => {
                "compliance mode: each copy is locked until its date; no one can remove or shorten it before then, not these keys, not the account's root user"
            }
        }
    }

    pub(super) fn sdk(self) -> aws_sdk_s3::types::ObjectLockMode {
        match self {
            LockMode::Governance => aws_sdk_s3::types::ObjectLockMode::Governance,
            LockMode::Compliance => aws_sdk_s3::types::ObjectLockMode::Compliance,
        }
    }
}

/// The lock every upload of one destination (opened once) carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectLock {
    pub mode: LockMode,
    pub retain_until: OffsetDateTime,
}

impl super::S3Destination {
    /// The date the current version of `name` is locked until, as the store says (HEAD's
    /// `x-amz-object-lock-retain-until-date`): a lock Offsite set, or one the bucket's default
    /// retention set without Offsite knowing. `None`: no such object, or not locked.
    pub async fn lock_of(&self, name: &str) -> Result<Option<OffsetDateTime>> {
        use aws_sdk_s3::error::SdkError;
        let key = self.key_of(name);
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .object_lock_retain_until_date()
                .and_then(|d| OffsetDateTime::from_unix_timestamp(d.secs()).ok())),
            Err(SdkError::ServiceError(se)) if se.raw().status().as_u16() == 404 => Ok(None),
            // The plain HEAD says why (a 403 has no body: keys or rights); never "not locked".
            Err(e) => match self.head(name).await {
                Err(why) => Err(why),
                Ok(_) => Err(self.error(&format!("looking up the lock of {name}"), e)),
            },
        }
    }
}

/// The storage classes AWS documents for `PutObject` (`x-amz-storage-class`).
pub const STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "GLACIER_IR",
    "DEEP_ARCHIVE",
    "EXPRESS_ONEZONE",
    "OUTPOSTS",
    "SNOW",
];

/// Check a storage class against [`STORAGE_CLASSES`] (any case in, upper case out).
pub fn parse_storage_class(s: &str) -> Result<String> {
    let up = s.trim().to_ascii_uppercase();
    if STORAGE_CLASSES.contains(&up.as_str()) {
        return Ok(up);
    }
    Err(Error::invalid(format!("{s:?} is not an S3 storage class"))
        .with_hint(format!("use one of {}", STORAGE_CLASSES.join(", "))))
}

/// The longest Object Lock Offsite sets (S3 takes up to 100 years; a typo of 36500 should not
/// lock copies for a century).
pub const MAX_LOCK_DAYS: u32 = 3660;

/// How many days each copy is locked when the destination does not say (`--lock-days`): the
/// shortest period any time-based rule of its retention keeps a copy — `keep-within` (rounded up
/// to whole days), `keep-hourly N` (N hours, rounded up), `keep-daily N` (N days),
/// `keep-weekly N` (7·N), `keep-monthly N` (30·N), `keep-yearly N` (365·N). `None` when the
/// retention has no time-based rule (only `keep-last`, or none): then the days must be given.
pub fn default_lock_days(r: Option<&RetentionPolicy>) -> Option<u32> {
    let r = r?;
    let within = r.keep_within.as_ref().map(|w| {
        let hours = u64::from(w.hours)
            + 24 * (u64::from(w.days)
                + 7 * u64::from(w.weeks)
                + 30 * u64::from(w.months)
                + 365 * u64::from(w.years));
        hours.div_ceil(24).min(u64::from(u32::MAX)) as u32
    });
    let n = |v: Option<u32>, days: u32| v.filter(|n| *n > 0).map(|n| n.saturating_mul(days));
    [
        within,
        r.keep_hourly.filter(|n| *n > 0).map(|n| n.div_ceil(24)),
        n(r.keep_daily, 1),
        n(r.keep_weekly, 7),
        n(r.keep_monthly, 30),
        n(r.keep_yearly, 365),
    ]
    .into_iter()
    .flatten()
    .filter(|d| *d > 0)
    .min()
}

/// The days each copy is locked: `explicit`, or derived from the retention; checked.
pub fn lock_days(explicit: Option<u32>, retention: Option<&RetentionPolicy>) -> Result<u32> {
    let days = match explicit {
        Some(d) => d,
        None => default_lock_days(retention).ok_or_else(|| {
            Error::invalid("Object Lock needs a period and this destination's retention has no time-based rule to take it from")
                .with_hint("give --lock-days N, or a --keep-daily/--keep-weekly/--keep-monthly/--keep-within rule")
        })?,
    };
    if days == 0 || days > MAX_LOCK_DAYS {
        return Err(Error::invalid(format!(
            "a lock of {days} days: use 1 to {MAX_LOCK_DAYS} days"
        )));
    }
    Ok(days)
}

/// Whether a storage class keeps objects offline until restored.
pub fn is_archive_class(class: &str) -> bool {
    matches!(class, "GLACIER" | "DEEP_ARCHIVE")
}

/// The error for reading a copy that sits in an archive class (S3's `InvalidObjectState`).
pub fn archived(name: &str, location: &str, class: Option<&str>) -> Error {
    let class = class.unwrap_or("an archive storage class (GLACIER or DEEP_ARCHIVE)");
    Error::new(
        ErrorKind::Archived,
        format!(
            "this copy is in {class}: restore it in the provider first ({name} in {location} cannot be read until it is restored)"
        ),
    )
    .with_hint(
        "restore the object in the provider's console or with `aws s3api restore-object` (GLACIER: minutes to hours; DEEP_ARCHIVE: up to 48 hours), then fetch it again",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_classes_are_checked_against_the_list() {
        assert_eq!(parse_storage_class("glacier").unwrap(), "GLACIER");
        assert_eq!(parse_storage_class(" STANDARD_IA ").unwrap(), "STANDARD_IA");
        for bad in ["", "COLD", "GLACIER; rm", "standard-ia"] {
            assert_eq!(
                parse_storage_class(bad).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_lock_period_is_the_shortest_time_rule_or_given() {
        let r = RetentionPolicy::recommended(); // 7 daily, 4 weekly, 12 monthly
        assert_eq!(default_lock_days(Some(&r)), Some(7));
        let r = RetentionPolicy {
            keep_monthly: Some(12),
            keep_within: Some("2w".parse().unwrap()),
            ..Default::default()
        };
        assert_eq!(default_lock_days(Some(&r)), Some(14));
        let r = RetentionPolicy {
            keep_hourly: Some(36),
            ..Default::default()
        };
        assert_eq!(default_lock_days(Some(&r)), Some(2));
        let last = RetentionPolicy {
            keep_last: Some(5),
            ..Default::default()
        };
        assert_eq!(default_lock_days(Some(&last)), None);
        assert_eq!(default_lock_days(None), None);
        assert_eq!(
            lock_days(None, Some(&last)).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(lock_days(Some(30), Some(&last)).unwrap(), 30);
        assert!(lock_days(Some(0), None).is_err());
        assert!(lock_days(Some(MAX_LOCK_DAYS + 1), None).is_err());
    }
}
