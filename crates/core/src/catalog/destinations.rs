//! The `destinations` table (migration `0009_destinations.sql`): per project, the places its
//! archives are copied to besides its own backup folder — a folder, an S3-compatible bucket or an
//! rclone remote — each with its own retention policy. Nothing secret is stored: an S3 secret
//! access key lives in the keychain (`secrets::destination_s3_secret_key`).
//!
//! What a destination's spec may hold is checked by the engine (`ops::destinations`) before it
//! reaches the catalog; the catalog keeps names unique per project.

use super::sql::{db_error, is_foreign_key_violation, is_unique_violation, new_id};
use super::Catalog;
use crate::destinations::LockMode;
use crate::error::{Error, ErrorKind, Result};
use crate::schedule::{RetentionPolicy, Within};
use crate::text_enum::text_enum;
use serde::{Deserialize, Serialize};

text_enum! {
    /// What kind of place a destination is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "specta", derive(specta::Type))]
    #[serde(rename_all = "snake_case")]
    pub enum DestinationKind as "destination kind" {
        Folder = "folder",
        S3 = "s3",
        Rclone = "rclone",
    }
}

/// An S3-compatible bucket (the secret access key is not here: it goes to the keychain).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct S3Target {
    /// `https://s3.eu-central-1.amazonaws.com`, `http://127.0.0.1:9000`.
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    /// Objects go under this prefix (no leading or trailing `/`; empty: the bucket's root).
    pub prefix: String,
    /// The access key id (not secret).
    pub key_id: String,
    /// Path-style addressing (`endpoint/bucket/key`), as MinIO and most self-hosted stores need.
    pub path_style: bool,
    /// Lock every copy uploaded here in this mode (the bucket must have Object Lock enabled).
    #[serde(default)]
    pub object_lock: Option<LockMode>,
    /// How many days each copy is locked from its upload (set when `object_lock` is).
    #[serde(default)]
    pub lock_days: Option<u32>,
    /// The storage class uploads go to (`STANDARD_IA`, `GLACIER`, …); `None`: the bucket's default.
    #[serde(default)]
    pub storage_class: Option<String>,
}

/// A destination to add: its name, kind and the one place matching the kind, and optionally its
/// own retention policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DestinationSpec {
    pub name: String,
    pub kind: Option<DestinationKind>,
    /// A folder destination: an absolute path (an external drive, a NAS mount).
    pub folder: Option<String>,
    pub s3: Option<S3Target>,
    /// An rclone remote from the user's rclone configuration: `remote:path`.
    pub rclone: Option<String>,
    /// A folder kept away from this computer (a drive taken home): counts as offsite in the
    /// 3-2-1 view. S3 and rclone destinations are always offsite.
    #[serde(default)]
    pub offsite: bool,
    /// The destination's own retention policy (`None`: keep every copy there).
    pub retention: Option<RetentionPolicy>,
}

/// A destination as the catalog keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DestinationRecord {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub kind: DestinationKind,
    /// Where it is, for people: `/media/usb/offsite`, `s3://bucket/prefix (https://…)`,
    /// `rclone nas:backups`.
    pub location: String,
    pub folder: Option<String>,
    pub s3: Option<S3Target>,
    pub rclone: Option<String>,
    /// Counts as offsite in the 3-2-1 view (always for S3 and rclone).
    pub offsite: bool,
    /// Its own retention policy (`None`: it keeps every copy).
    pub retention: Option<RetentionPolicy>,
    /// The IANA zone its retention periods are counted in.
    pub retention_zone: Option<String>,
    pub created_at: String,
}

#[derive(sqlx::FromRow)]
struct DestinationRow {
    id: String,
    project_id: String,
    name: String,
    kind: DestinationKind,
    folder: Option<String>,
    s3_endpoint: Option<String>,
    s3_region: Option<String>,
    s3_bucket: Option<String>,
    s3_prefix: Option<String>,
    s3_key_id: Option<String>,
    s3_path_style: bool,
    s3_object_lock: Option<LockMode>,
    s3_lock_days: Option<u32>,
    s3_storage_class: Option<String>,
    rclone: Option<String>,
    offsite: bool,
    keep_last: Option<u32>,
    keep_hourly: Option<u32>,
    keep_daily: Option<u32>,
    keep_weekly: Option<u32>,
    keep_monthly: Option<u32>,
    keep_yearly: Option<u32>,
    keep_within: Option<String>,
    retention_zone: Option<String>,
    created_at: String,
}

const DEST_COLS: &str = "id, project_id, name, kind, folder, s3_endpoint, s3_region, s3_bucket, \
                         s3_prefix, s3_key_id, s3_path_style, s3_object_lock, s3_lock_days, \
                         s3_storage_class, rclone, offsite, keep_last, \
                         keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly, \
                         keep_within, retention_zone, created_at";

/// How a destination is shown: its folder, its bucket URL with the endpoint, its rclone remote.
pub fn location_of(
    kind: DestinationKind,
    folder: Option<&str>,
    s3: Option<&S3Target>,
    rclone: Option<&str>,
) -> String {
    match kind {
        DestinationKind::Folder => folder.unwrap_or_default().to_string(),
        DestinationKind::S3 => match s3 {
            Some(s) if s.prefix.is_empty() => format!("s3://{} ({})", s.bucket, s.endpoint),
            Some(s) => format!("s3://{}/{} ({})", s.bucket, s.prefix, s.endpoint),
            None => "s3".to_string(),
        },
        DestinationKind::Rclone => format!("rclone {}", rclone.unwrap_or_default()),
    }
}

impl DestinationRow {
    fn record(self) -> Result<DestinationRecord> {
        let s3 = match (self.s3_endpoint, self.s3_bucket) {
            (Some(endpoint), Some(bucket)) => Some(S3Target {
                endpoint,
                region: self.s3_region.unwrap_or_default(),
                bucket,
                prefix: self.s3_prefix.unwrap_or_default(),
                key_id: self.s3_key_id.unwrap_or_default(),
                path_style: self.s3_path_style,
                object_lock: self.s3_object_lock,
                lock_days: self.s3_lock_days,
                storage_class: self.s3_storage_class,
            }),
            _ => None,
        };
        let retention = match &self.retention_zone {
            Some(_) => Some(RetentionPolicy {
                keep_last: self.keep_last,
                keep_hourly: self.keep_hourly,
                keep_daily: self.keep_daily,
                keep_weekly: self.keep_weekly,
                keep_monthly: self.keep_monthly,
                keep_yearly: self.keep_yearly,
                keep_within: self
                    .keep_within
                    .as_deref()
                    .map(str::parse::<Within>)
                    .transpose()?,
            }),
            None => None,
        };
        let location = location_of(
            self.kind,
            self.folder.as_deref(),
            s3.as_ref(),
            self.rclone.as_deref(),
        );
        Ok(DestinationRecord {
            id: self.id,
            project_id: self.project_id,
            name: self.name,
            kind: self.kind,
            location,
            folder: self.folder,
            s3,
            rclone: self.rclone,
            offsite: self.offsite || self.kind != DestinationKind::Folder,
            retention,
            retention_zone: self.retention_zone,
            created_at: self.created_at,
        })
    }
}

fn no_destination(name: &str) -> Error {
    Error::not_found(format!("no destination named {name:?}"))
        .with_hint("see the project's destinations with `offsite destination list PROJECT`")
}

impl Catalog {
    /// Add a destination (already checked by the engine) to a project; its retention periods
    /// are counted in `zone`. `already_exists` when the project has one of that name.
    pub async fn add_destination(
        &self,
        project_id: &str,
        spec: &DestinationSpec,
        zone: &str,
    ) -> Result<DestinationRecord> {
        let kind = spec
            .kind
            .ok_or_else(|| Error::invalid("a destination needs a kind"))?;
        let s3 = spec.s3.clone().unwrap_or_default();
        let some = |s: &str| (kind == DestinationKind::S3).then(|| s.to_string());
        let r = spec.retention.clone();
        let p = r.clone().unwrap_or_default();
        sqlx::query(&format!(
            "INSERT INTO destinations ({DEST_COLS}) VALUES \
             (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(new_id())
        .bind(project_id)
        .bind(&spec.name)
        .bind(kind)
        .bind(spec.folder.as_deref())
        .bind(some(&s3.endpoint))
        .bind(some(&s3.region))
        .bind(some(&s3.bucket))
        .bind(some(&s3.prefix))
        .bind(some(&s3.key_id))
        .bind(s3.path_style)
        .bind(s3.object_lock.filter(|_| kind == DestinationKind::S3))
        .bind(s3.lock_days.filter(|_| kind == DestinationKind::S3))
        .bind(
            s3.storage_class
                .as_deref()
                .filter(|_| kind == DestinationKind::S3),
        )
        .bind(spec.rclone.as_deref())
        .bind(spec.offsite)
        .bind(p.keep_last)
        .bind(p.keep_hourly)
        .bind(p.keep_daily)
        .bind(p.keep_weekly)
        .bind(p.keep_monthly)
        .bind(p.keep_yearly)
        .bind(p.keep_within.map(|w| w.to_string()))
        .bind(r.map(|_| zone.to_string()))
        .bind(self.now())
        .execute(self.pool())
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                Error::new(
                    ErrorKind::AlreadyExists,
                    format!(
                        "the project has a destination named {:?} already",
                        spec.name
                    ),
                )
                .with_hint("choose another name, or remove that destination first")
            } else if is_foreign_key_violation(&e) {
                Error::not_found(format!("no project with id {project_id}"))
            } else {
                db_error("saving a destination", e)
            }
        })?;
        self.destination(project_id, &spec.name).await
    }

    /// Replace an S3 destination's Object Lock (mode, days) and storage class (already checked
    /// by the engine); copies already uploaded keep the lock they were given.
    pub async fn set_destination_protection(
        &self,
        destination_id: &str,
        lock: Option<LockMode>,
        lock_days: Option<u32>,
        storage_class: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE destinations SET s3_object_lock = ?, s3_lock_days = ?, s3_storage_class = ? \
             WHERE id = ? AND kind = 's3'",
        )
        .bind(lock)
        .bind(lock_days)
        .bind(storage_class)
        .bind(destination_id)
        .execute(self.pool())
        .await
        .map_err(|e| db_error("saving a destination's lock and storage class", e))?;
        Ok(())
    }

    /// A project's destinations, by name.
    pub async fn destinations(&self, project_id: &str) -> Result<Vec<DestinationRecord>> {
        sqlx::query_as::<_, DestinationRow>(&format!(
            "SELECT {DEST_COLS} FROM destinations WHERE project_id = ? ORDER BY name COLLATE NOCASE"
        ))
        .bind(project_id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("listing destinations", e))?
        .into_iter()
        .map(DestinationRow::record)
        .collect()
    }

    /// A project's destination by name (`not_found` when it has none of that name).
    pub async fn destination(&self, project_id: &str, name: &str) -> Result<DestinationRecord> {
        sqlx::query_as::<_, DestinationRow>(&format!(
            "SELECT {DEST_COLS} FROM destinations WHERE project_id = ? AND name = ?"
        ))
        .bind(project_id)
        .bind(name)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| db_error("reading a destination", e))?
        .ok_or_else(|| no_destination(name))?
        .record()
    }

    /// Remove a destination and forget the copies the catalog records there (their files are
    /// left where they are). Returns how many copies were stored there (forgotten, their files
    /// left in place) and how many were still pending (never written there: dropped).
    pub async fn remove_destination(&self, project_id: &str, name: &str) -> Result<(u64, u64)> {
        let d = self.destination(project_id, name).await?;
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(|e| db_error("removing a destination", e))?;
        let mut counted = [0u64; 2];
        for (i, state) in ["stored", "pending"].into_iter().enumerate() {
            counted[i] =
                sqlx::query("DELETE FROM backup_copies WHERE destination = ? AND state = ?")
                    .bind(&d.id)
                    .bind(state)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| db_error("forgetting a destination's copies", e))?
                    .rows_affected();
        }
        // Any other state a later schema adds: forgotten with the destination.
        sqlx::query("DELETE FROM backup_copies WHERE destination = ?")
            .bind(&d.id)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("forgetting a destination's copies", e))?;
        let copies = (counted[0], counted[1]);
        sqlx::query("DELETE FROM destinations WHERE id = ?")
            .bind(&d.id)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("removing a destination", e))?;
        tx.commit()
            .await
            .map_err(|e| db_error("removing a destination", e))?;
        Ok(copies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testing::{catalog, kind, shop};

    fn folder(name: &str, dir: &str) -> DestinationSpec {
        DestinationSpec {
            name: name.into(),
            kind: Some(DestinationKind::Folder),
            folder: Some(dir.into()),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn destinations_round_trip_without_secrets_and_names_are_unique() {
        let c = catalog().await;
        let (_dir, p) = shop(&c).await;
        let usb = c
            .add_destination(&p.id, &folder("usb", "/media/usb"), "UTC")
            .await
            .unwrap();
        assert_eq!(usb.kind, DestinationKind::Folder);
        assert_eq!(usb.location, "/media/usb");
        assert!(!usb.offsite);
        assert_eq!(usb.retention, None);
        let bucket = DestinationSpec {
            name: "bucket".into(),
            kind: Some(DestinationKind::S3),
            s3: Some(S3Target {
                endpoint: "http://127.0.0.1:9000".into(),
                region: "us-east-1".into(),
                bucket: "b".into(),
                prefix: "shop".into(),
                key_id: "AKIA".into(),
                path_style: true,
                ..Default::default()
            }),
            retention: Some(RetentionPolicy {
                keep_monthly: Some(12),
                keep_within: Some("30d".parse().unwrap()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let b = c
            .add_destination(&p.id, &bucket, "Europe/Berlin")
            .await
            .unwrap();
        assert_eq!(b.s3, bucket.s3);
        assert_eq!(b.retention, bucket.retention);
        assert_eq!(b.retention_zone.as_deref(), Some("Europe/Berlin"));
        assert!(b.offsite);
        assert_eq!(b.location, "s3://b/shop (http://127.0.0.1:9000)");
        let names: Vec<_> = c
            .destinations(&p.id)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(names, ["bucket", "usb"]);
        assert_eq!(
            kind(c.add_destination(&p.id, &folder("usb", "/x"), "UTC").await),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            kind(c.destination(&p.id, "nope").await),
            ErrorKind::NotFound
        );
        assert_eq!(c.remove_destination(&p.id, "usb").await.unwrap(), (0, 0));
        assert_eq!(kind(c.destination(&p.id, "usb").await), ErrorKind::NotFound);
        // Gone with its project.
        c.remove_project("shop").await.unwrap();
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM destinations")
            .fetch_one(c.pool())
            .await
            .unwrap();
        assert_eq!(left, 0);
    }
}
