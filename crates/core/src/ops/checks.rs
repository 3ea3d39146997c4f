//! A project's validation queries (`offsite check add|list|remove`): read before they are saved
//! (one statement, no psql command, an expectation Offsite's parser reads), run by every drill
//! (`drill::queries`).

use crate::catalog::ValidationCheck;
use crate::error::{Error, ErrorKind, Result};
use crate::Engine;

/// The longest title accepted.
const MAX_TITLE: usize = 200;

/// Add a validation query to project `name`: `sql` must be one query returning one value,
/// `expect` one of the forms `drill::expect` reads (stored in its canonical text).
pub async fn add(
    engine: &Engine,
    name: &str,
    title: Option<&str>,
    sql: &str,
    expect: &str,
) -> Result<ValidationCheck> {
    let project = engine.catalog.project(name).await?;
    let title = title.map(str::trim).filter(|t| !t.is_empty());
    if let Some(t) = title {
        if t.chars().count() > MAX_TITLE || t.chars().any(char::is_control) {
            return Err(Error::invalid(format!(
                "a check's title is one line of at most {MAX_TITLE} characters"
            )));
        }
    }
    let (sql, expect) = crate::drill::queries::parse_check(sql, expect)?;
    engine
        .catalog
        .add_validation_check(&project.id, title, &sql, &expect)
        .await
}

/// Project `name`'s validation queries, in the order a drill runs them.
pub async fn list(engine: &Engine, name: &str) -> Result<Vec<ValidationCheck>> {
    let project = engine.catalog.project(name).await?;
    engine.catalog.validation_checks(&project.id).await
}

/// Remove one of project `name`'s validation queries, named by its id or a unique start of it
/// (at least 4 characters). Returns the check removed.
pub async fn remove(engine: &Engine, name: &str, id: &str) -> Result<ValidationCheck> {
    let project = engine.catalog.project(name).await?;
    let id = id.trim();
    let checks = engine.catalog.validation_checks(&project.id).await?;
    let matching: Vec<_> = checks
        .into_iter()
        .filter(|c| c.id == id || (id.len() >= 4 && c.id.starts_with(id)))
        .collect();
    let check = match matching.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(
                Error::not_found(format!("project {name} has no validation query {id:?}"))
                    .with_hint(format!("see its checks with `offsite check list {name}`")),
            )
        }
        _ => {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("{id:?} starts the ids of more than one of {name}'s checks"),
            )
            .with_hint("give more of the id"))
        }
    };
    engine
        .catalog
        .remove_validation_check(&project.id, &check.id)
        .await?;
    Ok(check)
}
