//! Projects: add (from a URL or from separate fields), change, remove, test the connection, set
//! the password — the same requests for the window, the command line and the agent — and the
//! project summaries the project list shows.

use crate::catalog::{BackupRecord, NewProject, Project};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::ops::runner;
use crate::postgres::conn::{ConnSpec, TlsMode};
use crate::secrets::project_password_key;
use crate::sources::{DatabaseSource, PostgresSource};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub use crate::postgres::conn::ProjectConnection;

/// A project to add (the window's add form, `offsite project add`, an import into a new
/// project).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename = "NewProjectRequest")]
pub struct AddProject {
    pub name: String,
    pub connection: ProjectConnection,
    /// Overrides the URL's sslmode.
    pub tls: Option<TlsMode>,
    /// Stored in the OS keychain; never returned. Wins over a password in the URL.
    pub password: Option<String>,
    /// Where its backups go; `null`: the app's default folder.
    pub backup_dir: Option<PathBuf>,
    /// Add it without connecting first (`project add --no-test`): by default a project whose
    /// database does not let us in is refused, saying why, and nothing is kept.
    #[serde(default)]
    pub skip_test: bool,
}

impl AddProject {
    /// A project at `url` (a password in it is moved to the keychain).
    pub fn url(name: impl Into<String>, url: impl Into<String>) -> Self {
        AddProject {
            name: name.into(),
            connection: ProjectConnection::Url(url.into()),
            ..Default::default()
        }
    }
}

/// Changes to a project; `null` keeps the current value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename = "ProjectChanges")]
pub struct UpdateProject {
    pub name: Option<String>,
    pub connection: Option<ProjectConnection>,
    pub tls: Option<TlsMode>,
    /// A new password (stored in the OS keychain; never returned).
    pub password: Option<String>,
    /// `""` resets it to the app's default folder.
    pub backup_dir: Option<PathBuf>,
}

pub use crate::sources::ConnectionReport;

/// A project with its newest backup.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ProjectSummary {
    pub project: Project,
    /// The newest local backup (time, size, status), if any; without its `manifest_json` (see
    /// `list_backups` or `inspect_archive` for that).
    pub last_backup: Option<BackupRecord>,
    /// How many backups the catalog records.
    pub backup_count: u32,
    /// The newest restore drill (when, verdict, RTO), if any.
    #[serde(default)]
    pub last_drill: Option<crate::catalog::DrillSummary>,
    /// The newest drill that passed: "proven restorable 3 days ago · RTO 4 min" (`None`:
    /// never proven).
    #[serde(default)]
    pub last_passed_drill: Option<crate::catalog::DrillSummary>,
}

/// A non-empty password.
fn given(password: Option<String>) -> Option<String> {
    password.filter(|p| !p.is_empty())
}

/// The catalog row `req` asks for (its connection checked), the password to store, and the
/// connection to try before adding it (`None`: `skip_test`).
pub(crate) fn new_project(
    req: AddProject,
) -> Result<(NewProject, Option<String>, Option<ConnSpec>)> {
    let (spec, url_password) = req.connection.parse(req.tls)?;
    let password = given(req.password).or(url_password);
    let to_test = (!req.skip_test).then(|| spec.clone());
    let new = NewProject {
        name: req.name,
        db_url: spec.to_url(),
        tls_mode: spec.tls.as_str().to_string(),
        backup_dir: req
            .backup_dir
            .map(|d| d.display().to_string())
            .filter(|d| !d.trim().is_empty()),
    };
    Ok((new, password, to_test))
}

/// Add a project without other parts (see [`super::new_project`]): its row exists only if its
/// password could be stored. Registration only, without a connection test: an import into a
/// new project does not need its database to answer (people add projects through
/// [`super::new_project::add`], which tries the connection first).
pub(crate) async fn add(engine: &Engine, mut req: AddProject) -> Result<Project> {
    req.skip_test = true;
    let parts = super::new_project::NewComponents::default();
    Ok(super::new_project::add(engine, req, parts).await?.0)
}

/// Before a project is added: its database lets us in with `password` (or the one the secret
/// store already gives its name, e.g. `PGPASSWORD` headless). Refused with the connection's
/// own error (`connection`, `auth`, …) and a hint naming `--no-test`.
pub(crate) async fn test_before_add(
    engine: &Engine,
    name: &str,
    spec: &ConnSpec,
    password: Option<&str>,
) -> Result<()> {
    use crate::secrets::Lookup;
    let (stored, keychain) = match password {
        Some(_) => (None, None),
        None => {
            match crate::secrets::lookup(engine.secrets.as_ref(), &project_password_key(name)) {
                Ok(Lookup::Found(p)) => (Some(p), None),
                Ok(Lookup::Unavailable(k)) => (None, Some(k)),
                _ => (None, None),
            }
        }
    };
    match spec.connect(password.or(stored.as_deref())).await {
        Ok(conn) => {
            let _ = sqlx::Connection::close(conn).await;
            Ok(())
        }
        // No password anywhere and no keychain to keep one: the keychain's error, saying what
        // to set (as a backup of the project would say).
        Err(e) if e.kind() == ErrorKind::Auth && keychain.is_some() => {
            let k = keychain.expect("checked");
            Err(Error::new(
                ErrorKind::KeychainUnavailable,
                format!(
                    "project {name:?} was not added: the server asks for a password ({}), and {}",
                    e.message(),
                    k.message()
                ),
            )
            .with_hint(format!(
                "{} To add it anyway, run again with --no-test",
                k.hint().unwrap_or_default()
            )))
        }
        Err(e) => {
            // No password given anywhere and the server asks for one: said as missing, naming
            // where it is given (with OFFSITE_SECRET_STORE=env, its variable).
            // (With a keychain the password is given to `project add` itself: its own hint.)
            let e = if password.is_none()
                && stored.is_none()
                && engine.secrets.name()
                    == crate::secrets::SecretStore::name(&crate::secrets::EnvStore)
                && crate::ops::password_hint::asks_for_a_password(&e)
            {
                crate::ops::password_hint::no_password_given(
                    e,
                    &spec.user,
                    crate::ops::password_hint::PasswordFrom::Project {
                        store: engine.secrets.as_ref(),
                        project: name,
                    },
                )
            } else {
                e
            };
            let hint = match e.hint() {
                Some(h) => format!("{}. ", h.trim_end_matches('.')),
                None => String::new(),
            };
            let kind = e.kind();
            let retryable = e.is_retryable();
            Err(Error::new(
                kind,
                format!("project {name:?} was not added: {}", e.message()),
            )
            .with_detail(e.detail().unwrap_or_default())
            .with_hint(format!(
                "{hint}To add it anyway (the database is not up yet, or reachable only from \
                 elsewhere), run again with --no-test (in the app: \"Add without testing\"); \
                 check it later with `offsite project test {name}`"
            ))
            .retryable(retryable))
        }
    }
}

/// Change a project: name, connection (a password in a URL is moved to the secret store), TLS
/// mode, backup folder (`Some("")` resets it to the default), password. `None` keeps what is
/// there. A rename moves the stored password along. Refused while a job runs on the project.
pub(crate) async fn update(engine: &Engine, name: &str, change: UpdateProject) -> Result<Project> {
    let (catalog, secrets) = (&engine.catalog, &engine.secrets);
    let mut project = catalog.project(name).await?;
    let _lock = runner::lock_project(engine, &project)?;
    let old_name = project.name.clone();
    let mut password = given(change.password);
    match &change.connection {
        Some(c) => {
            let (spec, url_password) = c.parse(change.tls)?;
            project.db_url = spec.to_url();
            project.tls_mode = spec.tls.as_str().to_string();
            password = password.or(url_password);
        }
        None => {
            if let Some(tls) = change.tls {
                // Only a TLS mode the stored connection can honour (none over a socket).
                let mut spec = engine.spec_of(&project)?;
                spec.tls = tls;
                spec.validate()?;
                // The URL's sslmode follows, so the stored URL says what is used.
                project.db_url = spec.to_url();
                project.tls_mode = tls.as_str().to_string();
            }
        }
    }
    if let Some(dir) = change.backup_dir {
        project.backup_dir = Some(dir.display().to_string()).filter(|d| !d.trim().is_empty());
    }
    if let Some(new_name) = change.name {
        project.name = new_name;
    }
    let old_key = project_password_key(&old_name);
    let new_key = project_password_key(&project.name);
    if old_key == new_key {
        catalog.update_project(&project).await?;
        if let Some(pw) = &password {
            secrets.set(&new_key, pw)?;
        }
    } else {
        // Renamed: the password is stored under the new name first, so it is never lost; that
        // key must not belong to another project.
        crate::catalog::validate_project_name(&project.name)?;
        if catalog.project(&project.name).await.is_ok() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("a project named {:?} already exists", project.name),
            )
            .with_hint("choose another name"));
        }
        let moved = match password {
            Some(pw) => Some(pw),
            None => secrets.get(&old_key)?,
        };
        if let Some(pw) = &moved {
            secrets.set(&new_key, pw)?;
        }
        if let Err(e) = catalog.update_project(&project).await {
            if moved.is_some() {
                let _ = secrets.delete(&new_key);
            }
            return Err(e);
        }
        secrets.delete(&old_key)?;
        // The encryption secrets follow the name (older archives need them).
        super::encryption::rename_secrets(secrets.as_ref(), &old_name, &project.name)?;
        super::drill_settings::rename_secret(secrets.as_ref(), &old_name, &project.name)?;
    }
    catalog.project_by_id(&project.id).await
}

/// Replace a project's stored password.
pub(crate) async fn set_password(engine: &Engine, name: &str, password: &str) -> Result<()> {
    let project = engine.catalog.project(name).await?;
    engine
        .secrets
        .set(&project_password_key(&project.name), password)
}

/// Remove a project, its catalog rows and its stored password (backup files stay). Refused
/// while a job runs on it.
pub(crate) async fn remove(engine: &Engine, name: &str) -> Result<()> {
    let project = engine.catalog.project(name).await?;
    let _lock = runner::lock_project(engine, &project)?;
    let destinations = engine.catalog.destinations(&project.id).await?;
    engine.catalog.remove_project(&project.name).await?;
    // The components' and destinations' secrets go with it (best effort, as the password below).
    for d in destinations {
        let key = crate::secrets::destination_s3_secret_key(&project.name, &d.name);
        let _ = engine.secrets.delete(&key);
    }
    for key in [
        crate::secrets::project_s3_secret_key(&project.name),
        crate::secrets::project_supabase_token_key(&project.name),
        super::remote::project_server_token_key(&project.name),
        super::artifacts::project_artifacts_secret_key(&project.name),
        crate::drill::settings::server_password_key(&project.name),
    ] {
        let _ = engine.secrets.delete(&key);
    }
    match engine.secrets.delete(&project_password_key(&project.name)) {
        // Headless, without a keychain: the project is gone; a password it may have had in a
        // keychain this process cannot reach stays there (nothing else can be done from here).
        Err(e) if e.kind() == ErrorKind::KeychainUnavailable => {
            tracing::warn!(project = %project.name, "project removed; its keychain entry (if any) was not: {e}");
            Ok(())
        }
        other => other,
    }
}

/// Undo [`add`] after a failed job that created the project (best effort).
pub(crate) async fn remove_created(engine: &Engine, project: &Project) {
    let _ = engine.catalog.remove_project(&project.name).await;
    let _ = engine.secrets.delete(&project_password_key(&project.name));
}

/// "Test connection" of a saved project.
pub(crate) async fn test(engine: &Engine, name: &str) -> Result<ConnectionReport> {
    let project = engine.catalog.project(name).await?;
    let r = async {
        let spec = engine.spec_of(&project)?;
        let password = engine.password_of(&project).await?;
        test_spec(&spec, password.as_deref(), engine.pg_bin().as_deref())
            .await
            .map_err(|e| engine.password_hint(&project.name, e))
    }
    .await;
    use super::tested_sources::{note, Tried};
    note(
        engine,
        &project.id,
        crate::catalog::SourceKind::Database,
        Tried::ByTest,
        &r,
    )
    .await;
    r
}

/// "Test connection" of a connection that is not (yet) a project, as typed into a form.
pub(crate) async fn test_unsaved(
    engine: &Engine,
    connection: &ProjectConnection,
    tls: Option<TlsMode>,
    password: Option<String>,
) -> Result<ConnectionReport> {
    let (spec, url_password) = connection.parse(tls)?;
    let password = given(password).or(url_password);
    test_spec(&spec, password.as_deref(), engine.pg_bin().as_deref()).await
}

async fn test_spec(
    spec: &ConnSpec,
    password: Option<&str>,
    pg_bin: Option<&Path>,
) -> Result<ConnectionReport> {
    PostgresSource::new(
        spec.clone(),
        password.map(str::to_string),
        pg_bin.map(Path::to_path_buf),
    )
    .describe()
    .await
}

/// A project with its newest backup and its number of backups (no project's backups are read in
/// full for a card).
pub(crate) async fn summary(engine: &Engine, project: Project) -> Result<ProjectSummary> {
    let (count, last_backup) = engine.catalog.backup_summary(&project.id).await?;
    let (last_drill, last_passed_drill) = engine.catalog.last_drills(&project.id).await?;
    Ok(ProjectSummary {
        last_drill,
        last_passed_drill,
        backup_count: u32::try_from(count).unwrap_or(u32::MAX),
        last_backup,
        project,
    })
}

/// Every project's summary, by name.
pub(crate) async fn summaries(engine: &Engine) -> Result<Vec<ProjectSummary>> {
    let mut out = Vec::new();
    for p in engine.catalog.projects().await? {
        out.push(summary(engine, p).await?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(host: &str) -> ProjectConnection {
        ProjectConnection::Fields {
            host: host.into(),
            port: None,
            user: "app".into(),
            database: "shop".into(),
        }
    }

    #[test]
    fn fields_become_the_url_the_catalog_stores() {
        let (spec, pw) = fields(" db.example.com ")
            .parse(Some(TlsMode::Require))
            .unwrap();
        assert_eq!(pw, None);
        assert_eq!(
            spec.to_url(),
            "postgres://app@db.example.com:5432/shop?sslmode=require"
        );
        let (spec, _) = fields("::1").parse(None).unwrap();
        assert_eq!(spec.host, "::1");
        assert_eq!(ConnSpec::parse_url(&spec.to_url()).unwrap().0, spec);
    }

    #[test]
    fn a_host_that_cannot_be_written_into_a_url_is_refused_not_made_localhost() {
        for host in [
            "my host",
            "fe80::1%eth0",
            "var/run/postgresql",
            "@abstract",
            "a,b",
        ] {
            let e = fields(host).parse(None).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{host}");
            assert!(
                e.message().contains("not a host name"),
                "{host}: {}",
                e.message()
            );
            assert!(e.hint().unwrap().contains("socket folder"), "{host}");
        }
        let e = fields("").parse(None).unwrap_err();
        assert_eq!(e.message(), "host, user and database are required");
    }

    #[test]
    fn a_socket_folder_in_the_host_field_is_a_socket_and_stays_one() {
        let (spec, _) = fields(" /var/run/postgresql ").parse(None).unwrap();
        assert!(spec.is_socket());
        assert_eq!(spec.host, "/var/run/postgresql");
        assert_eq!(spec.tls, TlsMode::Prefer);
        let url = spec.to_url();
        assert_eq!(
            url,
            "postgres://app@/shop?host=/var/run/postgresql&port=5432"
        );
        // The stored URL, given back as the window's URL field, is the same connection.
        let (again, _) = ProjectConnection::Url(url.clone()).parse(None).unwrap();
        assert_eq!(again, spec);
        assert_eq!(
            ProjectConnection::Url(url).label(),
            "shop on /var/run/postgresql"
        );
        let (spec, _) = fields("/tmp").parse(Some(TlsMode::Disable)).unwrap();
        assert_eq!(
            spec.to_url(),
            "postgres://app@/shop?host=/tmp&port=5432&sslmode=disable"
        );
        // TLS cannot be had over a socket: refused, not silently dropped.
        for tls in [TlsMode::Require, TlsMode::VerifyFull] {
            let e = fields("/tmp").parse(Some(tls)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
            assert!(
                e.message().contains(&format!("sslmode={tls}")),
                "{}",
                e.message()
            );
        }
        // A URL that asks for TLS over a socket is refused as written, whatever the TLS mode.
        let c = ProjectConnection::Url("postgresql:///d?host=/tmp&sslmode=require".into());
        assert_eq!(
            c.parse(Some(TlsMode::Disable)).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn a_url_keeps_its_password_apart_and_tls_overrides_its_sslmode() {
        let c = ProjectConnection::Url("postgres://u:pw@h:1/d?sslmode=require".into());
        let (spec, pw) = c.parse(Some(TlsMode::Disable)).unwrap();
        assert_eq!(pw.as_deref(), Some("pw"));
        assert_eq!(spec.tls, TlsMode::Disable);
        assert_eq!(c.label(), "d on h");
        assert_eq!(fields("h2").label(), "shop on h2");
    }

    #[test]
    fn requests_keep_the_window_s_shape() {
        let json = serde_json::json!({
            "name": "shop",
            "connection": { "fields": { "host": "h", "port": null, "user": "u", "database": "d" } },
            "tls": null,
            "password": null,
            "backup_dir": null,
            "skip_test": false,
        });
        let req: AddProject = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&req).unwrap(), json);
        // Without `skip_test` (an older window): the connection is tested.
        let mut older = json.clone();
        older.as_object_mut().unwrap().remove("skip_test");
        let req: AddProject = serde_json::from_value(older).unwrap();
        assert!(!req.skip_test);
        let url: ProjectConnection =
            serde_json::from_value(serde_json::json!({ "url": "postgres://h/d" })).unwrap();
        assert_eq!(url, ProjectConnection::Url("postgres://h/d".into()));
    }
}
