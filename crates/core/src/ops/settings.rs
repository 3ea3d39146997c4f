//! Settings (saved in the catalog: the app and the command line share them) and the
//! pg_dump/pg_restore tools on this machine.
//!
//! The engine's own settings ([`EngineSettings`]: backup folder, pg_dump folder) are checked
//! before they are saved; other keys (the desktop's preferences) are plain values, read and
//! written through [`get`] and [`set`].

use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::postgres::tools;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Catalog setting: the folder holding pg_dump/pg_restore (absent: search).
pub const PG_BIN_SETTING: &str = "pg_bin";
/// Catalog setting: the folder for backups of projects without a folder of their own.
pub const BACKUP_DIR_SETTING: &str = "default_backup_dir";

/// The engine's settings, saved in the catalog (the app and the command line share them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EngineSettings {
    /// Backups of a project without its own folder go to `<this>/<project>`; `None`:
    /// `<data folder>/backups/<project>`.
    pub default_backup_dir: Option<String>,
    /// The folder of pg_dump/pg_restore; `None`: search PATH and the usual install locations.
    pub pg_bin: Option<String>,
}

/// pg_dump/pg_restore pairs found on this machine.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ToolsReport {
    /// The folder in use when one is configured (setting, `--pg-bin` or `OFFSITE_PG_BIN`).
    pub configured: Option<String>,
    /// Whether `configured` comes from the command line or environment (the setting is then
    /// ignored).
    pub configured_outside: bool,
    /// Every pair found (the configured folder first), with its version.
    pub found: Vec<tools::PgTools>,
}

/// The engine's settings as saved in the catalog.
pub(crate) async fn load(catalog: &crate::catalog::Catalog) -> Result<EngineSettings> {
    Ok(EngineSettings {
        default_backup_dir: catalog.setting(BACKUP_DIR_SETTING).await?,
        pg_bin: catalog.setting(PG_BIN_SETTING).await?,
    })
}

/// The saved settings (as this engine last loaded or saved them).
pub(crate) fn current(engine: &Engine) -> EngineSettings {
    match engine.settings.read() {
        Ok(s) => s.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

/// Check and save the settings; returns them as saved. A backup folder must be an absolute
/// path that can be created and written; a pg_bin folder must hold pg_dump and pg_restore
/// that run. Nothing is saved when either is wrong.
pub(crate) async fn save(engine: &Engine, new: EngineSettings) -> Result<EngineSettings> {
    save_all(
        engine,
        SettingsChange {
            engine: new,
            ..Default::default()
        },
    )
    .await
}

/// Everything a settings screen saves at once: the engine's settings, plain settings (the
/// desktop's preferences) and how many scheduled runs may run at once.
#[derive(Debug, Clone, Default)]
pub struct SettingsChange {
    pub engine: EngineSettings,
    /// Never the engine's own keys (those are `engine`).
    pub plain: Vec<(String, String)>,
    /// `None` keeps it.
    pub schedule_concurrency: Option<u32>,
}

/// Check every part of `change`, then save it all in one catalog transaction: when any part is
/// wrong (a folder that cannot be written, no pg_dump, an engine key among the plain ones, a
/// concurrency out of range) nothing is saved. Returns the engine's settings as saved.
pub(crate) async fn save_all(engine: &Engine, change: SettingsChange) -> Result<EngineSettings> {
    let new = checked(change.engine).await?;
    for (key, _) in &change.plain {
        check_key(key)?;
        if key.is_empty() {
            return Err(Error::invalid("a setting needs a name"));
        }
    }
    let concurrency = change
        .schedule_concurrency
        .map(|n| super::schedule::check_concurrency(n).map(|_| n.to_string()))
        .transpose()?;
    let mut values: Vec<(&str, Option<&str>)> = vec![
        (BACKUP_DIR_SETTING, new.default_backup_dir.as_deref()),
        (PG_BIN_SETTING, new.pg_bin.as_deref()),
    ];
    values.extend(
        change
            .plain
            .iter()
            .map(|(k, v)| (k.as_str(), Some(v.as_str()))),
    );
    if let Some(n) = &concurrency {
        values.push((super::schedule::CONCURRENCY_SETTING, Some(n.as_str())));
    }
    engine.catalog.set_settings_together(&values).await?;
    match engine.settings.write() {
        Ok(mut s) => *s = new.clone(),
        Err(poisoned) => *poisoned.into_inner() = new.clone(),
    }
    Ok(new)
}

/// The engine's settings cleaned and checked (nothing saved).
async fn checked(new: EngineSettings) -> Result<EngineSettings> {
    let clean = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let new = EngineSettings {
        default_backup_dir: clean(new.default_backup_dir),
        pg_bin: clean(new.pg_bin),
    };
    if let Some(dir) = &new.default_backup_dir {
        let dir = PathBuf::from(dir);
        tokio::task::spawn_blocking(move || check_writable_dir(&dir))
            .await
            .map_err(|e| Error::internal(format!("checking the folder failed: {e}")))??;
    }
    if let Some(bin) = &new.pg_bin {
        let bin = PathBuf::from(bin);
        if !bin.is_absolute() {
            return Err(Error::invalid(format!(
                "the pg_dump folder must be an absolute path, not {}",
                bin.display()
            ))
            .with_hint("choose the folder that holds pg_dump and pg_restore"));
        }
        let found = tokio::task::spawn_blocking({
            let bin = bin.clone();
            move || tools::discover(Some(&bin))
        })
        .await
        .map_err(|e| Error::internal(format!("looking for pg_dump failed: {e}")))?;
        if !found.iter().any(|t| t.dir == bin) {
            return Err(Error::new(
                ErrorKind::ToolMissing,
                format!("no working pg_dump and pg_restore in {}", bin.display()),
            )
            .with_hint(
                "choose the folder that holds both (e.g. /usr/lib/postgresql/16/bin), or \
                 clear the setting to search the usual places",
            ));
        }
    }
    Ok(new)
}

/// The engine's own keys are saved only through [`save`] (checked, and cached by the engine).
fn check_key(key: &str) -> Result<()> {
    if key == PG_BIN_SETTING || key == BACKUP_DIR_SETTING {
        return Err(Error::invalid(format!(
            "the setting {key:?} is saved with the engine's settings"
        ))
        .with_hint("use set_settings, which checks the folder first"));
    }
    Ok(())
}

/// A plain setting's value (the desktop's preferences). Settings are never secrets.
pub(crate) async fn get(engine: &Engine, key: &str) -> Result<Option<String>> {
    engine.catalog.setting(key).await
}

/// Save plain settings (not the engine's own: see [`save`]); none is saved when a key is one of
/// the engine's.
pub(crate) async fn set(engine: &Engine, values: &[(&str, &str)]) -> Result<()> {
    for (key, _) in values {
        check_key(key)?;
    }
    for (key, value) in values {
        engine.catalog.set_setting(key, value).await?;
    }
    Ok(())
}

/// The pg_dump/pg_restore pairs on this machine, with their versions (runs each
/// `pg_dump --version`).
pub(crate) async fn tools(engine: &Engine) -> Result<ToolsReport> {
    let configured = engine.pg_bin();
    let outside = engine.pg_bin_configured.is_some();
    let dir = configured.clone();
    let found = tokio::task::spawn_blocking(move || {
        let mut found = match &dir {
            Some(d) => tools::discover(Some(d)),
            None => Vec::new(),
        };
        for t in tools::discover(None) {
            if !found.iter().any(|f| f.dir == t.dir) {
                found.push(t);
            }
        }
        found
    })
    .await
    .map_err(|e| Error::internal(format!("looking for pg_dump failed: {e}")))?;
    Ok(ToolsReport {
        configured: configured.map(|d| d.display().to_string()),
        configured_outside: outside,
        found,
    })
}

/// An absolute folder that exists (or can be made) and can be written to.
fn check_writable_dir(dir: &Path) -> Result<()> {
    let hint = "choose a folder you can write to (native folder dialog: Choose…)";
    if !dir.is_absolute() {
        return Err(Error::invalid(format!(
            "the backup folder must be an absolute path, not {}",
            dir.display()
        ))
        .with_hint(hint));
    }
    crate::private_fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e).with_hint(hint))?;
    crate::private_fs::tempfile_in(dir, ".offsite-write-test-")
        .map(drop)
        .map_err(|e| Error::io(format!("writing in {}", dir.display()), e).with_hint(hint))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MemoryStore;
    use crate::EngineConfig;
    use std::sync::Arc;

    #[tokio::test]
    async fn one_wrong_part_leaves_every_setting_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(
            EngineConfig::new(Arc::new(MemoryStore::new())).data_dir(Some(dir.path().into())),
        )
        .await
        .unwrap();
        let first = dir.path().join("first");
        let good = SettingsChange {
            engine: EngineSettings {
                default_backup_dir: Some(first.display().to_string()),
                pg_bin: None,
            },
            plain: vec![("desktop.theme".into(), "dark".into())],
            schedule_concurrency: Some(2),
        };
        save_all(&engine, good.clone()).await.unwrap();
        let snapshot = || async {
            (
                engine.settings().default_backup_dir,
                engine.catalog.setting(BACKUP_DIR_SETTING).await.unwrap(),
                engine.catalog.setting("desktop.theme").await.unwrap(),
                engine.catalog.setting("desktop.other").await.unwrap(),
                engine
                    .catalog
                    .setting(super::super::schedule::CONCURRENCY_SETTING)
                    .await
                    .unwrap(),
            )
        };
        let before = snapshot().await;
        assert_eq!(before.2.as_deref(), Some("dark"));
        assert_eq!(before.4.as_deref(), Some("2"));
        // Each change below is fine but for one part; each is refused whole.
        let changed = |f: &dyn Fn(&mut SettingsChange)| {
            let mut c = SettingsChange {
                engine: EngineSettings {
                    default_backup_dir: Some(dir.path().join("second").display().to_string()),
                    pg_bin: None,
                },
                plain: vec![
                    ("desktop.theme".into(), "light".into()),
                    ("desktop.other".into(), "x".into()),
                ],
                schedule_concurrency: Some(3),
            };
            f(&mut c);
            c
        };
        let wrong = [
            changed(&|c| c.schedule_concurrency = Some(9)),
            changed(&|c| c.engine.pg_bin = Some("relative/bin".into())),
            changed(&|c| c.engine.default_backup_dir = Some("not/absolute".into())),
            changed(&|c| c.plain.push((PG_BIN_SETTING.into(), "/usr/bin".into()))),
        ];
        for c in wrong {
            let e = save_all(&engine, c.clone()).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{c:?}: {e}");
            assert_eq!(snapshot().await, before, "{c:?}");
        }
        // And the same change without the wrong part is saved whole.
        save_all(&engine, changed(&|_| {})).await.unwrap();
        let after = snapshot().await;
        assert_eq!(after.2.as_deref(), Some("light"));
        assert_eq!(after.3.as_deref(), Some("x"));
        assert_eq!(after.4.as_deref(), Some("3"));
        assert!(after.1.unwrap().ends_with("second"));
    }
}
