//! `offsite project parts NAME`: the engine's one table of a project's parts ([`crate::parts`]),
//! each row said for this project — whether it applies, and when it would but is not set up,
//! the command that sets it up. Nothing is connected to: what applies follows from the project's
//! saved components and its database's host.

use crate::catalog::Components;
use crate::engine::Engine;
use crate::error::Result;
use crate::parts::{Coverage, Needs, PARTS};
use serde::Serialize;

/// What kind of project it is, as far as its parts go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum ProjectKind {
    /// A Supabase project: its Supabase ref is set, or its database is a Supabase host.
    Supabase,
    /// A PostgreSQL database elsewhere.
    Postgres,
}

/// One part, for one project.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ProjectPart {
    pub id: String,
    pub name: String,
    pub source: String,
    pub needs: Needs,
    pub captured: Coverage,
    pub capture: String,
    pub restored: Coverage,
    pub restore: String,
    pub check: String,
    /// Whether the part is one this project has (or may have).
    pub applies: bool,
    /// Why it does not apply, or what is not set up for it (with the command that sets it up).
    pub note: Option<String>,
}

/// A project's parts.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ProjectParts {
    pub project: String,
    pub kind: ProjectKind,
    pub parts: Vec<ProjectPart>,
}

/// The parts of project `name`.
pub async fn parts(engine: &Engine, name: &str) -> Result<ProjectParts> {
    let project = engine.project(name).await?;
    let components = engine.components(&project.name).await?;
    Ok(project_parts(&project.name, &project.db_url, &components))
}

/// Whether `db_url`'s host is one of Supabase's (`db.REF.supabase.co`, a pooler's
/// `….pooler.supabase.com`).
fn supabase_host(db_url: &str) -> bool {
    let Ok(url) = url::Url::parse(db_url) else {
        return false;
    };
    url.host_str().is_some_and(|h| {
        let h = h.to_ascii_lowercase();
        h.ends_with(".supabase.co") || h.ends_with(".supabase.com")
    })
}

/// The table for a project with these components.
pub fn project_parts(name: &str, db_url: &str, components: &Components) -> ProjectParts {
    let kind = if components.supabase.is_some() || supabase_host(db_url) {
        ProjectKind::Supabase
    } else {
        ProjectKind::Postgres
    };
    let parts = PARTS
        .iter()
        .map(|p| {
            let note = match (p.needs, kind) {
                (Needs::Database, _) => None,
                (Needs::SupabaseDatabase | Needs::ManagementApi, ProjectKind::Postgres) => {
                    Some("does not apply: not a Supabase project".to_string())
                }
                (Needs::SupabaseDatabase, ProjectKind::Supabase) => None,
                (Needs::ManagementApi, ProjectKind::Supabase) => {
                    components.supabase.is_none().then(|| {
                        format!(
                            "not set up: give the project's ref and an access token \
                             (offsite project components {name} --supabase-ref REF \
                             --supabase-token-stdin)"
                        )
                    })
                }
                (Needs::Storage, _) => components.storage.is_none().then(|| {
                    format!(
                        "not set up: give the project's storage (offsite project components \
                         {name} --s3-endpoint URL --s3-key-id ID --s3-secret-stdin)"
                    )
                }),
            };
            let applies = !(kind == ProjectKind::Postgres
                && matches!(p.needs, Needs::SupabaseDatabase | Needs::ManagementApi));
            ProjectPart {
                id: p.id.into(),
                name: p.name.into(),
                source: p.source.into(),
                needs: p.needs,
                captured: p.captured,
                capture: p.capture.into(),
                restored: p.restored,
                restore: p.restore.into(),
                check: p.check.into(),
                applies,
                note,
            }
        })
        .collect();
    ProjectParts {
        project: name.to_string(),
        kind,
        parts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{StorageComponent, SupabaseComponent};

    fn row<'a>(t: &'a ProjectParts, id: &str) -> &'a ProjectPart {
        t.parts.iter().find(|p| p.id == id).unwrap()
    }

    #[test]
    fn a_plain_postgres_project_is_told_what_applies() {
        let t = project_parts(
            "shop",
            "postgres://app@db.example.com:5432/shop",
            &Components::default(),
        );
        assert_eq!(t.kind, ProjectKind::Postgres);
        assert_eq!(t.parts.len(), PARTS.len());
        assert!(row(&t, "schemas").applies && row(&t, "schemas").note.is_none());
        assert!(row(&t, "pg-cron").applies);
        for id in [
            "auth-users",
            "vault",
            "edge-functions",
            "function-secret-values",
        ] {
            let r = row(&t, id);
            assert!(!r.applies, "{id}");
            assert_eq!(
                r.note.as_deref(),
                Some("does not apply: not a Supabase project")
            );
        }
        // Storage applies to any project, set up or not.
        let s = row(&t, "storage-objects");
        assert!(s.applies);
        assert!(
            s.note.as_deref().unwrap().contains("--s3-endpoint"),
            "{s:?}"
        );
        // A host that only looks like Supabase's is not one.
        let t = project_parts(
            "x",
            "postgres://u@db.supabase.co.example.com/x",
            &Components::default(),
        );
        assert_eq!(t.kind, ProjectKind::Postgres);
    }

    #[test]
    fn a_supabase_project_is_told_what_is_not_set_up() {
        let t = project_parts(
            "shop",
            "postgres://postgres@db.abcdefghijklmnopqrst.supabase.co:5432/postgres",
            &Components::default(),
        );
        assert_eq!(t.kind, ProjectKind::Supabase);
        assert!(row(&t, "auth-users").applies && row(&t, "auth-users").note.is_none());
        let f = row(&t, "edge-functions");
        assert!(f.applies);
        assert!(
            f.note.as_deref().unwrap().contains("--supabase-ref"),
            "{f:?}"
        );
        let with = Components {
            supabase: Some(SupabaseComponent {
                project_ref: "abcdefghijklmnopqrst".into(),
                api_url: None,
            }),
            storage: Some(StorageComponent {
                endpoint: None,
                region: "us-east-1".into(),
                access_key_id: "AK".into(),
                path_style: true,
                buckets: Default::default(),
                concurrency: None,
            }),
            ..Default::default()
        };
        // Set up through the components, whatever the host.
        let t = project_parts("shop", "postgres://postgres@127.0.0.1/postgres", &with);
        assert_eq!(t.kind, ProjectKind::Supabase);
        assert!(t.parts.iter().all(|p| p.applies && p.note.is_none()));
        let v = row(&t, "function-secret-values");
        assert_eq!(v.captured, Coverage::NotExposed);
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["kind"], "supabase");
        assert_eq!(json["parts"][0]["captured"], "yes");
    }
}
