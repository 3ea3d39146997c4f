//! The Diff view: two backups (or a backup and the project's database now) compared table by
//! table, and a table's changed rows a page at a time. FROM and TO are what `offsite diff`
//! takes: a backup's path or id, `PROJECT:latest~N`, `PROJECT:live`.

use super::{err, CmdResult};
use crate::Shell;
use offsite_core::diff::{DiffOptions, DiffReport};
use tauri::State;
use tokio_util::sync::CancellationToken;

/// Compares `from` with `to` (only `options.tables` when given; with `options.rows`, a page of
/// their changed rows).
#[tauri::command]
#[specta::specta]
pub async fn diff_backups(
    shell: State<'_, Shell>,
    from: String,
    to: String,
    options: DiffOptions,
) -> CmdResult<DiffReport> {
    let engine = shell.engine()?;
    engine
        .diff(&from, &to, &options, None, &CancellationToken::new())
        .await
        .map_err(err)
}
