//! A project's selective backups ([`crate::selection`]): which schemas and tables its database
//! backups hold. Stored with its components; every scheduled and manual backup of the project
//! uses it unless the run gives its own (`offsite backup P --exclude-table-data …`).

use crate::engine::Engine;
use crate::error::Result;
use crate::selection::BackupSelection;

/// The project's selection (empty: the whole database).
pub(crate) async fn selection(engine: &Engine, project: &str) -> Result<BackupSelection> {
    let p = engine.catalog.project(project).await?;
    Ok(engine
        .catalog
        .components(&p.id)
        .await?
        .selection
        .unwrap_or_default())
}

/// Save the project's selection (checked first); the empty one backs up the whole database.
pub(crate) async fn set_selection(
    engine: &Engine,
    project: &str,
    selection: BackupSelection,
) -> Result<BackupSelection> {
    selection.validate()?;
    let p = engine.catalog.project(project).await?;
    let mut c = engine.catalog.components(&p.id).await?;
    c.selection = (!selection.is_empty()).then_some(selection.clone());
    engine.catalog.set_components(&p.id, &c).await?;
    Ok(selection)
}
