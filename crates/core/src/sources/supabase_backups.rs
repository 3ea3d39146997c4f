//! The platform's own backups of a Supabase project: Management API
//! `GET /v1/projects/{ref}/database/backups` (operation `v1-list-all-backups`, schema
//! `V1BackupsResponse` in the API's OpenAPI document):
//!
//! ```json
//! {"region": "eu-central-1", "walg_enabled": true, "pitr_enabled": false,
//!  "backups": [{"is_physical_backup": true, "status": "COMPLETED",
//!               "inserted_at": "2030-01-01T02:00:00.000Z"}],
//!  "physical_backup_data": {"earliest_physical_backup_date_unix": 1,
//!                           "latest_physical_backup_date_unix": 2}}
//! ```
//!
//! `status` is one of `COMPLETED`, `FAILED`, `PENDING`, `REMOVED`, `ARCHIVED`, `CANCELLED`.
//! Parsed strictly: the answer is bounded by the client ([`super::supabase_api::MAX_ANSWER_BYTES`])
//! and here by [`MAX_BACKUPS_ANSWER`]; unknown fields are ignored; a missing required field or a
//! wrong type is a clear `integrity` error, never a panic.

use crate::error::{Error, Result};
use crate::sources::ApiSource;
use serde::Deserialize;
use time::OffsetDateTime;

/// The largest backup list accepted (a project keeps at most a few dozen daily backups).
pub const MAX_BACKUPS_ANSWER: usize = 1024 * 1024;

/// One backup the platform lists.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PlatformBackup {
    pub status: String,
    pub inserted_at: String,
    #[serde(default)]
    pub is_physical_backup: bool,
}

/// The platform's backups of one project.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PlatformBackups {
    #[serde(default)]
    pub region: Option<String>,
    pub walg_enabled: bool,
    pub pitr_enabled: bool,
    pub backups: Vec<PlatformBackup>,
}

impl PlatformBackups {
    /// The newest backup with status `COMPLETED`, by `inserted_at` (an unreadable time is an
    /// error: a list Offsite cannot read must not look like "no backup").
    pub fn newest_completed(&self) -> Result<Option<OffsetDateTime>> {
        let mut newest = None;
        for b in &self.backups {
            if !b.status.eq_ignore_ascii_case("COMPLETED") {
                continue;
            }
            let at = parse_time(&b.inserted_at)?;
            if newest.is_none_or(|n| at > n) {
                newest = Some(at);
            }
        }
        Ok(newest)
    }
}

/// `inserted_at` as RFC 3339; a time without an offset (`2030-01-01T02:00:00`, or with a space
/// and `+00` as PostgreSQL prints it) is read as UTC.
pub fn parse_time(s: &str) -> Result<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    let t = s.trim().replacen(' ', "T", 1);
    if let Ok(v) = OffsetDateTime::parse(&t, &Rfc3339) {
        return Ok(v);
    }
    let tail = t.get(19..).unwrap_or("");
    let fixed = if tail.ends_with("+00") {
        format!("{t}:00")
    } else if !tail.contains(['Z', 'z', '+', '-']) {
        format!("{t}Z")
    } else {
        t.clone()
    };
    OffsetDateTime::parse(&fixed, &Rfc3339).map_err(|_| {
        Error::integrity(format!(
            "the platform listed a backup at a time Offsite cannot read: {:?}",
            s.chars().take(60).collect::<String>()
        ))
    })
}

/// The answer's JSON as [`PlatformBackups`] (see the module's rules).
pub fn parse(doc: serde_json::Value) -> Result<PlatformBackups> {
    serde_json::from_value(doc).map_err(|e| {
        Error::integrity(format!(
            "GET …/database/backups: an answer Offsite cannot read ({e})"
        ))
        .with_hint("the Management API (or what answers in its place) sent another shape than it documents")
    })
}

/// `GET /v1/projects/{project_ref}/database/backups`, parsed.
pub async fn fetch(api: &dyn ApiSource, project_ref: &str) -> Result<PlatformBackups> {
    if project_ref.is_empty()
        || project_ref.len() > 64
        || !project_ref.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(Error::invalid(format!(
            "{project_ref:?} is not a Supabase project ref"
        )));
    }
    let doc = api
        .get_json(&format!("/v1/projects/{project_ref}/database/backups"))
        .await?;
    let size = serde_json::to_vec(&doc).map(|v| v.len()).unwrap_or(0);
    if size > MAX_BACKUPS_ANSWER {
        return Err(Error::integrity(format!(
            "GET …/database/backups: the answer is larger than {} KiB",
            MAX_BACKUPS_ANSWER / 1024
        )));
    }
    parse(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use serde_json::json;

    #[test]
    fn the_documented_shape_parses_and_unknown_fields_are_ignored() {
        let b = parse(json!({
            "region": "eu-central-1", "walg_enabled": true, "pitr_enabled": false,
            "backups": [
                {"is_physical_backup": true, "status": "COMPLETED",
                 "inserted_at": "2030-01-01T02:00:00.000Z", "id": 7, "extra": [1]},
                {"is_physical_backup": true, "status": "COMPLETED",
                 "inserted_at": "2030-01-02T02:00:00"},
                {"is_physical_backup": true, "status": "FAILED",
                 "inserted_at": "2030-01-03T02:00:00Z"}
            ],
            "physical_backup_data": {}, "something_new": {"a": 1}
        }))
        .unwrap();
        assert!(b.walg_enabled && !b.pitr_enabled);
        assert_eq!(b.backups.len(), 3);
        let newest = b.newest_completed().unwrap().unwrap();
        assert_eq!(
            newest,
            time::macros::datetime!(2030-01-02 02:00 UTC),
            "FAILED is not a backup"
        );
    }

    #[test]
    fn hostile_answers_are_clear_errors_never_panics() {
        let wrong = [
            json!(null),
            json!([]),
            json!("backups"),
            json!({"walg_enabled": "yes", "pitr_enabled": false, "backups": []}),
            json!({"walg_enabled": true, "pitr_enabled": false}),
            json!({"walg_enabled": true, "pitr_enabled": false, "backups": {}}),
            json!({"walg_enabled": true, "pitr_enabled": false, "backups": [{"status": 1, "inserted_at": "x"}]}),
            json!({"walg_enabled": true, "pitr_enabled": false, "backups": [{"status": "COMPLETED"}]}),
        ];
        for doc in wrong {
            let e = parse(doc.clone()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Integrity, "{doc}");
            assert!(e.message().contains("cannot read"), "{e:?}");
        }
        // A list whose time cannot be read is an error, not "no backup".
        let b = parse(json!({"walg_enabled": true, "pitr_enabled": false,
            "backups": [{"status": "COMPLETED", "inserted_at": "yesterday"}]}))
        .unwrap();
        assert_eq!(
            b.newest_completed().unwrap_err().kind(),
            ErrorKind::Integrity
        );
        // Huge: many entries parse (bounded by size before), a deep nest is refused by serde.
        let many: Vec<_> = (0..10_000)
            .map(|_| json!({"status": "PENDING", "inserted_at": "2030-01-01T00:00:00Z"}))
            .collect();
        let b =
            parse(json!({"walg_enabled": true, "pitr_enabled": false, "backups": many})).unwrap();
        assert_eq!(b.newest_completed().unwrap(), None);
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(serde_json::from_str::<serde_json::Value>(&deep).is_err());
    }

    #[test]
    fn times_are_read_in_the_forms_the_api_uses() {
        let want = time::macros::datetime!(2030-01-01 02:00 UTC);
        for s in [
            "2030-01-01T02:00:00Z",
            "2030-01-01T02:00:00.000Z",
            "2030-01-01T02:00:00",
            "2030-01-01 02:00:00+00",
            "2030-01-01T03:00:00+01:00",
        ] {
            assert_eq!(parse_time(s).unwrap(), want, "{s}");
        }
        assert!(parse_time("").is_err());
    }
}
