//! The `projects` table: the databases Offsite backs up. A name is unique ignoring case (archive
//! file names start with it); a URL never holds a password.

use super::sql::{changed_a_row, db_error, is_unique_violation, new_id};
use super::validate::{
    non_empty, shorten, validate_db_url, validate_project_name, validate_tls_mode,
};
use super::Catalog;
use crate::error::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};

/// A project to add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewProject {
    pub name: String,
    /// `postgres://user@host:port/db`: never with a password (those go to the keychain).
    pub db_url: String,
    /// One of [`super::TLS_MODES`].
    pub tls_mode: String,
    /// Where its backups go; `None` means the app's default folder.
    pub backup_dir: Option<String>,
}

/// A project in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Project {
    pub id: String,
    pub name: String,
    pub db_url: String,
    pub tls_mode: String,
    pub backup_dir: Option<String>,
    pub created_at: String,
}

/// The columns of [`Project`], in its order.
const PROJECT_COLS: &str = "id, name, db_url, tls_mode, backup_dir, created_at";

const LIST_HINT: &str = "see the projects with `offsite project list`";

impl Catalog {
    /// Add a project. Its name must be free (ignoring case) and its URL must not hold a password.
    pub async fn add_project(&self, p: &NewProject) -> Result<Project> {
        self.add_project_with_components(p, &super::Components::default(), None)
            .await
    }

    /// Add a project and its components in one transaction: both are saved, or neither.
    pub async fn add_project_with_components(
        &self,
        p: &NewProject,
        components: &super::Components,
        retention: Option<(&crate::schedule::RetentionPolicy, &str)>,
    ) -> Result<Project> {
        validate_project_name(&p.name)?;
        if let Some((policy, _)) = retention {
            policy.validate()?;
        }
        let db_url = validate_db_url(&p.db_url)?;
        validate_tls_mode(&p.tls_mode)?;
        let doc = (!components.is_empty())
            .then(|| super::components::component_doc(components))
            .transpose()?;
        let project = Project {
            id: new_id(),
            name: p.name.clone(),
            db_url,
            tls_mode: p.tls_mode.clone(),
            backup_dir: non_empty(p.backup_dir.as_deref()),
            created_at: self.now(),
        };
        let what = format!("adding project {:?}", p.name);
        let mut tx = self.pool().begin().await.map_err(|e| db_error(&what, e))?;
        sqlx::query(&format!(
            "INSERT INTO projects ({PROJECT_COLS}) VALUES (?, ?, ?, ?, ?, ?)"
        ))
        .bind(&project.id)
        .bind(&project.name)
        .bind(&project.db_url)
        .bind(&project.tls_mode)
        .bind(&project.backup_dir)
        .bind(&project.created_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| save_error(&p.name, "adding", e))?;
        if let Some(doc) = doc {
            sqlx::query(
                "INSERT INTO project_components (project_id, doc, updated_at) VALUES (?, ?, ?)",
            )
            .bind(&project.id)
            .bind(&doc)
            .bind(&project.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("saving a project's components", e))?;
        }
        if let Some((policy, zone)) = retention {
            super::schedules::insert_retention(
                &mut tx,
                &project.id,
                policy,
                zone,
                &project.created_at,
            )
            .await?;
        }
        // Dropping `tx` on an error above rolls all of it back.
        tx.commit().await.map_err(|e| db_error(&what, e))?;
        if retention.is_some() {
            self.reset_watch(super::RETENTION_WATCH).await?;
        }
        Ok(project)
    }

    /// Whether a project named `name` may be added: `AlreadyExists` when the name is taken
    /// (ignoring case).
    pub async fn check_name_free(&self, name: &str) -> Result<()> {
        validate_project_name(name)?;
        match self.project(name).await {
            Ok(_) => Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("a project named {name:?} already exists"),
            )
            .with_hint("choose another name (names are compared ignoring case); see the projects with `offsite project list`")),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The project with this name (names match ignoring case).
    pub async fn project(&self, name: &str) -> Result<Project> {
        self.project_where("name", name, &format!("reading project {name:?}"))
            .await?
            .ok_or_else(|| no_project_named(name))
    }

    /// The project with this id.
    pub async fn project_by_id(&self, id: &str) -> Result<Project> {
        self.project_where("id", id, &format!("reading project {id}"))
            .await?
            .ok_or_else(|| {
                Error::not_found(format!("no project with id {id}")).with_hint(LIST_HINT)
            })
    }

    /// The project whose `column` (`name` or `id`) is `value`, if any.
    async fn project_where(
        &self,
        column: &str,
        value: &str,
        what: &str,
    ) -> Result<Option<Project>> {
        sqlx::query_as::<_, Project>(&format!(
            "SELECT {PROJECT_COLS} FROM projects WHERE {column} = ?"
        ))
        .bind(value)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| db_error(what, e))
    }

    /// All projects, by name.
    pub async fn projects(&self) -> Result<Vec<Project>> {
        sqlx::query_as::<_, Project>(&format!(
            "SELECT {PROJECT_COLS} FROM projects ORDER BY name, id"
        ))
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("listing projects", e))
    }

    /// Save a project's name, URL, TLS mode and backup folder (found by id; `created_at` is kept).
    ///
    /// Renaming changes [`crate::secrets::project_password_key`]: the caller moves the password.
    pub async fn update_project(&self, p: &Project) -> Result<()> {
        validate_project_name(&p.name)?;
        let db_url = validate_db_url(&p.db_url)?;
        validate_tls_mode(&p.tls_mode)?;
        let done = sqlx::query(
            "UPDATE projects SET name = ?, db_url = ?, tls_mode = ?, backup_dir = ? WHERE id = ?",
        )
        .bind(&p.name)
        .bind(&db_url)
        .bind(&p.tls_mode)
        .bind(non_empty(p.backup_dir.as_deref()))
        .bind(&p.id)
        .execute(self.pool())
        .await
        .map_err(|e| save_error(&p.name, "saving", e))?;
        changed_a_row(done, || {
            Error::not_found(format!("no project with id {}", p.id))
                .with_hint("it may have been removed; see the projects with `offsite project list`")
        })
    }

    /// Remove a project with its backup and job rows. Backup files on disk are not touched.
    pub async fn remove_project(&self, name: &str) -> Result<()> {
        let what = format!("removing project {name:?}");
        let mut tx = self.pool().begin().await.map_err(|e| db_error(&what, e))?;
        // Writes only, so the transaction takes the write lock at its first statement (a read
        // first could fail with SQLITE_BUSY on upgrade instead of waiting). A backup's copies go
        // with it (ON DELETE CASCADE).
        for table in ["backups", "jobs"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE project_id IN (SELECT id FROM projects WHERE name = ?)"
            ))
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(&what, e))?;
        }
        let done = sqlx::query("DELETE FROM projects WHERE name = ?")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(&what, e))?;
        // When nothing was deleted, dropping `tx` rolls back.
        changed_a_row(done, || no_project_named(name))?;
        tx.commit().await.map_err(|e| db_error(&what, e))
    }
}

fn no_project_named(name: &str) -> Error {
    Error::not_found(format!("no project named {:?}", shorten(name))).with_hint(LIST_HINT)
}

/// The error of an insert or update of project `name` (`doing`: "adding", "saving").
fn save_error(name: &str, doing: &str, e: sqlx::Error) -> Error {
    if is_unique_violation(&e) {
        Error::new(ErrorKind::AlreadyExists, format!("a project named {name:?} already exists"))
            .with_hint("choose another name (names are compared ignoring case); see the projects with `offsite project list`")
    } else {
        db_error(&format!("{doing} project {name:?}"), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testing::{catalog, catalog_at, kind, new_backup, new_project, AT};
    use crate::catalog::{parse_timestamp, JobKind, JobOutcome};

    #[tokio::test]
    async fn add_and_get_project() {
        let c = catalog().await;
        let mut np = new_project("shop_prod-1.eu");
        np.backup_dir = Some("/srv/backups".into());
        let p = c.add_project(&np).await.unwrap();
        assert_eq!(p.name, "shop_prod-1.eu");
        assert_eq!(p.tls_mode, "require");
        assert_eq!(p.backup_dir.as_deref(), Some("/srv/backups"));
        assert!(uuid::Uuid::parse_str(&p.id).is_ok());
        parse_timestamp(&p.created_at).unwrap();
        assert_eq!(c.project("shop_prod-1.eu").await.unwrap(), p);
        assert_eq!(c.project_by_id(&p.id).await.unwrap(), p);
        // Names match ignoring case.
        assert_eq!(c.project("SHOP_PROD-1.EU").await.unwrap().id, p.id);
    }

    #[tokio::test]
    async fn created_at_comes_from_the_catalogs_clock() {
        let (c, clock) = catalog_at(AT).await;
        let p = c.add_project(&new_project("shop")).await.unwrap();
        assert_eq!(p.created_at, "2030-01-02T03:04:05.000Z");
        clock.advance(time::Duration::days(1));
        // Saving keeps the time it was added.
        c.update_project(&p).await.unwrap();
        assert_eq!(
            c.project("shop").await.unwrap().created_at,
            "2030-01-02T03:04:05.000Z"
        );
    }

    #[tokio::test]
    async fn duplicate_project_name_is_already_exists() {
        let c = catalog().await;
        c.add_project(&new_project("shop")).await.unwrap();
        for name in ["shop", "Shop"] {
            let e = c.add_project(&new_project(name)).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{name}: {e}");
            assert!(e.message().contains(name));
            assert!(e.hint().unwrap().contains("another name"));
        }
        assert_eq!(c.projects().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn missing_project_is_not_found_with_hint() {
        let c = catalog().await;
        let e = c.project("nope").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.hint().unwrap().contains("offsite project list"));
        assert_eq!(kind(c.project_by_id("nope").await), ErrorKind::NotFound);
        assert_eq!(kind(c.remove_project("nope").await), ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn projects_are_listed_by_name() {
        let c = catalog().await;
        for name in ["zeta", "alpha", "mid"] {
            c.add_project(&new_project(name)).await.unwrap();
        }
        let names: Vec<_> = c
            .projects()
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["alpha", "mid", "zeta"]);
    }

    #[tokio::test]
    async fn update_project_saves_changes_and_checks_them() {
        let c = catalog().await;
        let mut p = c.add_project(&new_project("shop")).await.unwrap();
        c.add_project(&new_project("other")).await.unwrap();
        p.name = "shop2".into();
        p.db_url = "postgres://admin@new.example.com:6543/app".into();
        p.tls_mode = "verify-full".into();
        p.backup_dir = Some("/mnt/backups".into());
        c.update_project(&p).await.unwrap();
        assert_eq!(c.project("shop2").await.unwrap(), p);
        assert_eq!(kind(c.project("shop").await), ErrorKind::NotFound);

        let mut taken = p.clone();
        taken.name = "other".into();
        assert_eq!(
            kind(c.update_project(&taken).await),
            ErrorKind::AlreadyExists
        );
        let mut with_pw = p.clone();
        with_pw.db_url = "postgres://admin:pw@new.example.com/app".into();
        assert_eq!(
            kind(c.update_project(&with_pw).await),
            ErrorKind::InvalidInput
        );
        let mut bad_name = p.clone();
        bad_name.name = "bad name".into();
        assert_eq!(
            kind(c.update_project(&bad_name).await),
            ErrorKind::InvalidInput
        );
        let mut gone = p.clone();
        gone.id = new_id();
        gone.name = "gone".into();
        assert_eq!(kind(c.update_project(&gone).await), ErrorKind::NotFound);
        assert_eq!(c.project("shop2").await.unwrap(), p);
    }

    #[tokio::test]
    async fn remove_project_removes_its_backups_and_jobs_only() {
        let c = catalog().await;
        let dir = tempfile::tempdir().unwrap();
        let a = c.add_project(&new_project("a")).await.unwrap();
        let b = c.add_project(&new_project("b")).await.unwrap();
        let job_a = c.start_job(JobKind::Backup, Some(&a.id)).await.unwrap();
        let mut nb = new_backup(&a.id, &dir.path().join("a.tar.gz"), "2024-05-01T10:00:00Z");
        nb.job_id = Some(job_a.id.clone());
        let backup_a = c.add_backup(&nb).await.unwrap();
        c.finish_job(
            &job_a.id,
            JobOutcome::Succeeded {
                backup_id: Some(backup_a.id.clone()),
            },
        )
        .await
        .unwrap();
        let job_b = c.start_job(JobKind::Verify, Some(&b.id)).await.unwrap();
        c.add_backup(&new_backup(
            &b.id,
            &dir.path().join("b.tar.gz"),
            "2024-05-01T10:00:00Z",
        ))
        .await
        .unwrap();
        let global_job = c.start_job(JobKind::Restore, None).await.unwrap();

        c.remove_project("a").await.unwrap();
        assert_eq!(kind(c.project("a").await), ErrorKind::NotFound);
        assert!(c.backups(&a.id).await.unwrap().is_empty());
        assert_eq!(kind(c.backup(&backup_a.id).await), ErrorKind::NotFound);
        assert_eq!(kind(c.job(&job_a.id).await), ErrorKind::NotFound);
        // The other project's rows and the project-less job stay.
        assert_eq!(c.backups(&b.id).await.unwrap().len(), 1);
        c.job(&job_b.id).await.unwrap();
        c.job(&global_job.id).await.unwrap();
        assert_eq!(c.jobs(None, 10).await.unwrap().len(), 2);
    }
}
