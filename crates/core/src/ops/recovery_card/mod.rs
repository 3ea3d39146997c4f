//! The recovery card (issue 47): one printable page per project saying where its backups and
//! copies are, how to open them without Offsite (`age -d`, `tar`, `pg_restore`), the last drill,
//! the recovery targets, and the people to call. The engine gathers it ([`RecoveryCard`]);
//! [`html`] writes it as a self-contained page (every text escaped); the CLI writes the file.
//! Nothing secret is on it: connection URLs carry no password, keys are named, never shown.

pub mod html;

use crate::archive::manifest::DumpFormat;
use crate::catalog::{BackupStatus, LOCAL_DESTINATION};
use crate::drill::Verdict;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::schedule::Targets;
use serde::Serialize;

/// The most contacts a card lists, and the longest one (characters).
pub const MAX_CONTACTS: usize = 20;
pub const CONTACT_MAX_CHARS: usize = 200;

/// One place a backup is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardCopy {
    /// "This computer" or the destination's name.
    pub place: String,
    /// The file's path, or the destination's location and the object's key.
    pub location: String,
    pub ok: bool,
}

/// One of the newest good backups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardBackup {
    pub id: String,
    pub created_at: String,
    pub backup_type: String,
    pub size: u64,
    pub sha256: String,
    pub file_name: String,
    /// The database is a folder of pg_dump's directory format (`database/`, archive format 2)
    /// rather than one `database.dump`.
    pub dump_directory: bool,
    pub copies: Vec<CardCopy>,
}

/// The newest drill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardDrill {
    pub finished_at: String,
    pub passed: bool,
    pub rto_seconds: f64,
    pub failed_check: Option<String>,
}

/// Everything the card shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecoveryCard {
    pub project: String,
    /// `postgres://user@host:port/db` (never a password).
    pub database: String,
    pub backup_dir: String,
    /// `off`, `passphrase` or `key`.
    pub encryption: String,
    pub targets: Targets,
    pub backups: Vec<CardBackup>,
    /// Destinations: (name, where).
    pub destinations: Vec<(String, String)>,
    pub last_drill: Option<CardDrill>,
    pub contacts: Vec<String>,
    /// RFC 3339 UTC.
    pub made_at: String,
}

/// How many of the newest good backups the card lists.
const BACKUPS_LISTED: usize = 3;

/// Check the contacts a person typed: at most [`MAX_CONTACTS`], each one line of at most
/// [`CONTACT_MAX_CHARS`] characters.
fn clean_contacts(contacts: &[String]) -> Result<Vec<String>> {
    if contacts.len() > MAX_CONTACTS {
        return Err(Error::invalid(format!(
            "{} contacts; a card lists at most {MAX_CONTACTS}",
            contacts.len()
        )));
    }
    contacts
        .iter()
        .map(|c| {
            let c = c.trim();
            if c.is_empty()
                || c.chars().count() > CONTACT_MAX_CHARS
                || c.chars().any(char::is_control)
            {
                return Err(Error::invalid(format!(
                    "a contact must be one line of 1 to {CONTACT_MAX_CHARS} characters"
                )));
            }
            Ok(c.to_string())
        })
        .collect()
}

/// The database's dump format a manifest records (`None`: format 1, always `custom`, or none).
fn dump_format(manifest_json: &str) -> Option<DumpFormat> {
    #[derive(serde::Deserialize)]
    struct Dumped {
        #[serde(default)]
        dump: Option<crate::archive::manifest::DumpLayout>,
    }
    Some(
        serde_json::from_str::<Dumped>(manifest_json)
            .ok()?
            .dump?
            .format,
    )
}

impl Engine {
    /// Write a project's recovery card as a printable page (mode 0600, replaced whole) to `out`,
    /// or, without one, to `recovery-cards/PROJECT-recovery-card.html` in Offsite's data folder
    /// (0700): the app's "Recovery card" and `offsite recovery-card` both write it here. Returns
    /// the card and where it was written.
    pub async fn write_recovery_card(
        &self,
        project: &str,
        contacts: &[String],
        out: Option<std::path::PathBuf>,
    ) -> Result<(RecoveryCard, std::path::PathBuf)> {
        let card = self.recovery_card(project, contacts).await?;
        let path = match out {
            Some(p) => p,
            None => {
                let dir = self.data_dir.join("recovery-cards");
                crate::private_fs::create_dir_all(&dir)
                    .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
                dir.join(format!("{}-recovery-card.html", card.project))
            }
        };
        crate::private_fs::write_atomic(&path, html::render(&card).as_bytes())
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        Ok((card, path))
    }

    /// Gather a project's recovery card, with the contacts given.
    pub async fn recovery_card(&self, project: &str, contacts: &[String]) -> Result<RecoveryCard> {
        let contacts = clean_contacts(contacts)?;
        let p = self.catalog.project(project).await?;
        let destinations = self.catalog.destinations(&p.id).await?;
        let name_of = |id: &str| {
            if id == LOCAL_DESTINATION {
                return ("This computer".to_string(), String::new());
            }
            destinations
                .iter()
                .find(|d| d.id == id)
                .map(|d| (d.name.clone(), d.location.clone()))
                .unwrap_or_else(|| ("a removed destination".into(), String::new()))
        };
        let mut backups = Vec::new();
        let good = |s: BackupStatus| !matches!(s, BackupStatus::Corrupt | BackupStatus::Missing);
        for b in self
            .catalog
            .backup_rows(&p.id)
            .await?
            .into_iter()
            .filter(|b| good(b.status))
            .take(BACKUPS_LISTED)
        {
            let copies = self
                .catalog
                .copies(&b.id)
                .await?
                .into_iter()
                .map(|c| {
                    let (place, root) = name_of(&c.destination);
                    let location = if root.is_empty() {
                        c.location.clone()
                    } else {
                        format!("{root} → {}", c.location)
                    };
                    CardCopy {
                        place,
                        location,
                        ok: good(c.status),
                    }
                })
                .collect();
            let dump_directory = self
                .catalog
                .backup(&b.id)
                .await
                .ok()
                .and_then(|r| dump_format(r.manifest_json.as_deref()?))
                == Some(DumpFormat::Directory);
            backups.push(CardBackup {
                dump_directory,
                file_name: std::path::Path::new(&b.path)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                id: b.id,
                created_at: b.created_at,
                backup_type: b.backup_type.to_string(),
                size: b.size,
                sha256: b.sha256,
                copies,
            });
        }
        let (newest_drill, _) = self.catalog.last_drills(&p.id).await?;
        Ok(RecoveryCard {
            database: p.db_url.clone(),
            backup_dir: self.backup_dir_of(&p).display().to_string(),
            encryption: self
                .catalog
                .encryption(&p.id)
                .await?
                .map(|e| e.mode)
                .unwrap_or_else(|| "off".into()),
            targets: self.catalog.targets(&p.id).await?,
            destinations: destinations
                .iter()
                .map(|d| (d.name.clone(), d.location.clone()))
                .collect(),
            last_drill: newest_drill.map(|d| CardDrill {
                finished_at: d.finished_at,
                passed: d.verdict == Verdict::Passed,
                rto_seconds: d.rto_seconds,
                failed_check: d.failed_check_title,
            }),
            backups,
            contacts,
            made_at: crate::catalog::format_timestamp(self.clock.now()),
            project: p.name,
        })
    }
}
