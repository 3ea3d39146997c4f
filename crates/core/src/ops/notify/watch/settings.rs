//! The thresholds of the copy and space watchers (issue 27), saved in the catalog's settings
//! table (the app and the command line share them): `offsite notify settings`.

use crate::catalog::Catalog;
use crate::engine::Engine;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Setting: a copy pending longer than this many hours raises `copy_pending`.
pub const COPY_PENDING_HOURS_SETTING: &str = "notify.copy_pending_hours";
/// Setting: a backup folder (or folder destination) with less free space than this many MiB
/// raises `space_low` (an absolute floor: a percentage of a big disk can be plenty of room).
pub const SPACE_FREE_MIB_SETTING: &str = "notify.space_min_free_mib";
/// Setting: fewer days until full than this, at the current growth, raises `space_low`.
pub const SPACE_DAYS_SETTING: &str = "notify.space_min_days_to_full";

/// Defaults: 24 hours, 1 GiB free, 14 days until full.
pub const DEFAULT_COPY_PENDING_HOURS: u32 = 24;
pub const DEFAULT_SPACE_FREE_MIB: u32 = 1024;
pub const DEFAULT_SPACE_DAYS: u32 = 14;

/// The watchers' thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchSettings {
    /// Hours a copy may stay pending before `copy_pending` (1 to 8760).
    pub copy_pending_hours: u32,
    /// Minimum free space in MiB (0 to 16,777,216, i.e. 16 TiB; 0: no floor). Whatever this says,
    /// less free space than the next backup needs (twice the newest backup) is low too.
    pub space_min_free_mib: u32,
    /// Minimum days until full at the current growth (0 to 3650; 0: never by growth).
    pub space_min_days_to_full: u32,
}

impl Default for WatchSettings {
    fn default() -> Self {
        WatchSettings {
            copy_pending_hours: DEFAULT_COPY_PENDING_HOURS,
            space_min_free_mib: DEFAULT_SPACE_FREE_MIB,
            space_min_days_to_full: DEFAULT_SPACE_DAYS,
        }
    }
}

/// What to change (`None`: keep).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchSettingsChange {
    pub copy_pending_hours: Option<u32>,
    pub space_min_free_mib: Option<u32>,
    pub space_min_days_to_full: Option<u32>,
}

const LIMITS: [(&str, u32, u32); 3] = [
    ("copy pending hours", 1, 8760),
    ("minimum free MiB", 0, 16 * 1024 * 1024),
    ("minimum days to full", 0, 3650),
];

fn checked(i: usize, v: u32) -> Result<u32> {
    let (what, lo, hi) = LIMITS[i];
    if v < lo || v > hi {
        return Err(
            Error::invalid(format!("{what} must be between {lo} and {hi}, not {v}"))
                .with_hint("see `offsite notify settings --help`"),
        );
    }
    Ok(v)
}

async fn read(catalog: &Catalog, key: &str, i: usize, default: u32) -> Result<u32> {
    let Some(raw) = catalog.setting(key).await? else {
        return Ok(default);
    };
    // A value the catalog holds but this version cannot read falls back to the default.
    match raw
        .trim()
        .parse::<u32>()
        .ok()
        .and_then(|v| checked(i, v).ok())
    {
        Some(v) => Ok(v),
        None => {
            tracing::warn!(setting = key, "unreadable value {raw:?}; using {default}");
            Ok(default)
        }
    }
}

/// The saved thresholds (defaults for those not set).
pub async fn load(catalog: &Catalog) -> Result<WatchSettings> {
    Ok(WatchSettings {
        copy_pending_hours: read(
            catalog,
            COPY_PENDING_HOURS_SETTING,
            0,
            DEFAULT_COPY_PENDING_HOURS,
        )
        .await?,
        space_min_free_mib: read(catalog, SPACE_FREE_MIB_SETTING, 1, DEFAULT_SPACE_FREE_MIB)
            .await?,
        space_min_days_to_full: read(catalog, SPACE_DAYS_SETTING, 2, DEFAULT_SPACE_DAYS).await?,
    })
}

/// Check and save `change` (all or nothing); returns the thresholds as saved.
pub async fn save(catalog: &Catalog, change: WatchSettingsChange) -> Result<WatchSettings> {
    let wanted = [
        (COPY_PENDING_HOURS_SETTING, change.copy_pending_hours),
        (SPACE_FREE_MIB_SETTING, change.space_min_free_mib),
        (SPACE_DAYS_SETTING, change.space_min_days_to_full),
    ];
    let mut values = Vec::new();
    for (i, (key, v)) in wanted.iter().enumerate() {
        if let Some(v) = v {
            values.push((*key, checked(i, *v)?.to_string()));
        }
    }
    let pairs: Vec<(&str, Option<&str>)> =
        values.iter().map(|(k, v)| (*k, Some(v.as_str()))).collect();
    if !pairs.is_empty() {
        catalog.set_settings_together(&pairs).await?;
    }
    load(catalog).await
}

impl Engine {
    /// The copy and space watchers' thresholds (`offsite notify settings`).
    pub async fn notify_watch_settings(&self) -> Result<WatchSettings> {
        load(&self.catalog).await
    }

    /// Change the copy and space watchers' thresholds; returns them as saved.
    pub async fn set_notify_watch_settings(
        &self,
        change: WatchSettingsChange,
    ) -> Result<WatchSettings> {
        save(&self.catalog, change).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[tokio::test]
    async fn thresholds_default_save_and_refuse_nonsense() {
        let c = Catalog::open_in_memory().await.unwrap();
        assert_eq!(load(&c).await.unwrap(), WatchSettings::default());
        let saved = save(
            &c,
            WatchSettingsChange {
                copy_pending_hours: Some(6),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(saved.copy_pending_hours, 6);
        assert_eq!(saved.space_min_free_mib, DEFAULT_SPACE_FREE_MIB);
        let bad = WatchSettingsChange {
            copy_pending_hours: Some(12),
            space_min_free_mib: Some(16 * 1024 * 1024 + 1),
            ..Default::default()
        };
        let e = save(&c, bad).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(load(&c).await.unwrap().copy_pending_hours, 6, "all or none");
        let zero = WatchSettingsChange {
            copy_pending_hours: Some(0),
            ..Default::default()
        };
        assert!(save(&c, zero).await.is_err());
        c.set_setting(SPACE_DAYS_SETTING, "soon").await.unwrap();
        assert_eq!(
            load(&c).await.unwrap().space_min_days_to_full,
            DEFAULT_SPACE_DAYS
        );
    }
}
