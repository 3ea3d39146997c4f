//! A project's drill settings: where its drills restore (a private throwaway cluster, the
//! default, or a scratch server named by URL) and how many storage objects a drill compares one
//! by one against `storage.json` (every object, the default, or a sample chosen at random per
//! drill). The URL is kept in the catalog without a password (one that carries it is refused);
//! the password is kept in the OS keychain under [`server_password_key`] (headless: the variable
//! [`crate::secrets::env_var_for_key`] names, `OFFSITE_PASSWORD_PROJECT_<NAME>_DRILL_SERVER_PASSWORD`).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The most objects a storage sample may name (the report lists each one checked).
pub const MAX_STORAGE_SAMPLE: u32 = 10_000;

/// The keychain key of the password of a project's saved scratch server:
/// `project:<name>:drill-server-password`.
pub fn server_password_key(project_name: &str) -> String {
    format!("project:{project_name}:drill-server-password")
}

/// A project's drill settings as the front ends show them (never a password).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DrillSettings {
    /// The scratch server drills restore into (no password); `None`: a throwaway cluster
    /// Offsite starts itself.
    pub server_url: Option<String>,
    /// A password for that server is kept (keychain, or the environment when headless).
    pub server_password_saved: bool,
    /// How many storage objects a drill checks, chosen at random; `None`: every object.
    pub storage_sample: Option<u32>,
}

impl DrillSettings {
    /// "a throwaway cluster" / "the scratch server db.example.com:5432/postgres".
    pub fn target_text(&self) -> String {
        match &self.server_url {
            None => "a throwaway cluster on this computer".into(),
            Some(url) => match crate::postgres::conn::ConnSpec::parse_url(url) {
                Ok((spec, _)) => {
                    format!("the scratch server {}/{}", spec.location(), spec.database)
                }
                Err(_) => "a scratch server".into(),
            },
        }
    }

    /// "every object" / "a random sample of 20 objects".
    pub fn storage_text(&self) -> String {
        match self.storage_sample {
            None => "every object".into(),
            Some(n) => format!(
                "a random sample of {n} object{}",
                if n == 1 { "" } else { "s" }
            ),
        }
    }
}

/// Where a project's drills restore, as saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSetting {
    Throwaway,
    /// A scratch server's URL without a password.
    Server(String),
}

/// A change of a project's drill settings: what is `None` stays as it is.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DrillSettingsChange {
    pub target: Option<TargetSetting>,
    /// The scratch server's password, kept in the keychain (with a server, named here or saved).
    /// A new server without one forgets the old server's password.
    pub server_password: Option<String>,
    /// `Some(None)`: every object; `Some(Some(n))`: `n` objects chosen at random per drill.
    pub storage_sample: Option<Option<u32>>,
}

impl std::fmt::Debug for DrillSettingsChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DrillSettingsChange")
            .field("target", &self.target)
            .field(
                "server_password",
                &self.server_password.as_ref().map(|_| "<redacted>"),
            )
            .field("storage_sample", &self.storage_sample)
            .finish()
    }
}

/// A storage sample size from the command line or the app: `all` (every object) or a number of
/// objects from 1 to [`MAX_STORAGE_SAMPLE`].
pub fn parse_storage_sample(s: &str) -> Result<Option<u32>> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    match t.parse::<u32>() {
        Ok(n) => check_storage_sample(n).map(Some),
        Err(_) => Err(Error::invalid(format!(
            "{:?} is not a storage sample size",
            t.chars().take(40).collect::<String>()
        ))
        .with_hint(format!(
            "give `all` (every object) or a number of objects from 1 to {MAX_STORAGE_SAMPLE}"
        ))),
    }
}

/// A sample size between 1 and [`MAX_STORAGE_SAMPLE`].
pub fn check_storage_sample(n: u32) -> Result<u32> {
    if n == 0 || n > MAX_STORAGE_SAMPLE {
        return Err(
            Error::invalid(format!("a storage sample of {n} objects is out of range")).with_hint(
                format!(
                    "give a number from 1 to {MAX_STORAGE_SAMPLE}, or `all` to check every object"
                ),
            ),
        );
    }
    Ok(n)
}

/// A scratch server URL to save: parsed as a connection and without a password (the error never
/// repeats the URL). Returns it trimmed.
pub fn check_server_url(url: &str) -> Result<String> {
    crate::postgres::conn::validate_db_url(url).map_err(|e| {
        if e.message().contains("password") {
            Error::invalid(
                "the scratch server URL contains a password; Offsite keeps passwords in the OS keychain, never in its catalog",
            )
            .with_hint("remove it from the URL (postgres://USER@HOST:5432/postgres) and give it separately (--password-stdin, or the app's password field)")
        } else {
            e
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_sizes_are_all_or_a_bounded_count() {
        assert_eq!(parse_storage_sample("all").unwrap(), None);
        assert_eq!(parse_storage_sample(" ALL ").unwrap(), None);
        assert_eq!(parse_storage_sample("25").unwrap(), Some(25));
        for bad in ["0", "-1", "ten", "", "10001"] {
            let e = parse_storage_sample(bad).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn a_server_url_with_a_password_is_refused_without_repeating_it() {
        let e = check_server_url("postgres://drill:s3cret-pw@db.example.com/postgres").unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::InvalidInput);
        assert!(!format!("{e} {:?}", e.hint()).contains("s3cret-pw"));
        assert!(e.message().contains("password"));
        assert_eq!(
            check_server_url(" postgres://drill@db.example.com:5433/postgres ").unwrap(),
            "postgres://drill@db.example.com:5433/postgres"
        );
        let change = DrillSettingsChange {
            server_password: Some("s3cret-pw".into()),
            ..Default::default()
        };
        assert!(!format!("{change:?}").contains("s3cret-pw"));
    }

    #[test]
    fn settings_say_where_and_how_much_in_words() {
        let s = DrillSettings::default();
        assert_eq!(s.target_text(), "a throwaway cluster on this computer");
        assert_eq!(s.storage_text(), "every object");
        let s = DrillSettings {
            server_url: Some("postgres://drill@db.example.com:5433/postgres".into()),
            server_password_saved: true,
            storage_sample: Some(1),
        };
        assert_eq!(
            s.target_text(),
            "the scratch server db.example.com:5433/postgres"
        );
        assert_eq!(s.storage_text(), "a random sample of 1 object");
    }
}
