//! A look inside a backup without restoring it: its tables, a table's rows page by page, a
//! table as CSV, its storage objects, an object's preview, an object saved. The archive is the
//! backup's path as the backup list shows it; an encrypted one opens with the project's own keys
//! (as verify and restore open it). Saving asks where in a native save dialog.

use super::{err, pick_save_path, CmdResult};
use crate::Shell;
use offsite_core::browse::{
    BrowseTables, CsvExport, ObjectPage, ObjectPreview, ObjectQuery, RowFilter, RowPage,
    SavedObject,
};
use std::path::Path;
use tauri::{AppHandle, Runtime, State};

/// The tables of a backup's database: schemas, row counts and sizes as recorded, columns; and
/// whether their rows can be read from this archive (`note` says why not).
#[tauri::command]
#[specta::specta]
pub async fn browse_tables(shell: State<'_, Shell>, archive: String) -> CmdResult<BrowseTables> {
    let engine = shell.engine()?;
    engine
        .browse_tables(Path::new(&archive), None)
        .await
        .map_err(err)
}

/// A page of a table's rows: `limit` rows matching `filter` after the first `offset` of them.
#[tauri::command]
#[specta::specta]
pub async fn browse_rows(
    shell: State<'_, Shell>,
    archive: String,
    schema: String,
    table: String,
    offset: u64,
    limit: u32,
    filter: RowFilter,
) -> CmdResult<RowPage> {
    let engine = shell.engine()?;
    engine
        .browse_rows(
            Path::new(&archive),
            None,
            &schema,
            &table,
            offset,
            limit,
            filter,
        )
        .await
        .map_err(err)
}

/// Ask where to save a table as CSV (as `COPY … TO … (FORMAT csv, HEADER)` writes it), then
/// write it; `null` when the dialog was cancelled.
#[tauri::command]
#[specta::specta]
pub async fn export_table_csv<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    archive: String,
    schema: String,
    table: String,
) -> CmdResult<Option<CsvExport>> {
    let engine = shell.engine()?;
    let name = format!("{}.{}.csv", safe_name(&schema), safe_name(&table));
    let Some(dest) = pick_save_path(&app, "Export the table as CSV", &name).await? else {
        return Ok(None);
    };
    engine
        .export_table_csv(Path::new(&archive), None, &schema, &table, &dest)
        .await
        .map(Some)
        .map_err(err)
}

/// A page of a backup's storage objects.
#[tauri::command]
#[specta::specta]
pub async fn browse_objects(
    shell: State<'_, Shell>,
    archive: String,
    query: ObjectQuery,
) -> CmdResult<ObjectPage> {
    let engine = shell.engine()?;
    engine
        .browse_objects(Path::new(&archive), None, query)
        .await
        .map_err(err)
}

/// Largest preview the window asks for: images are shown whole up to this size.
const PREVIEW_BYTES: u64 = 2 << 20;

/// A preview of one object: the start of a text, or a small image (base64).
#[tauri::command]
#[specta::specta]
pub async fn object_preview(
    shell: State<'_, Shell>,
    archive: String,
    bucket: String,
    key: String,
) -> CmdResult<ObjectPreview> {
    let engine = shell.engine()?;
    engine
        .object_preview(Path::new(&archive), None, &bucket, &key, PREVIEW_BYTES)
        .await
        .map_err(err)
}

/// Ask where to save one object, then write it (its SHA-256 checked); `null` when cancelled.
#[tauri::command]
#[specta::specta]
pub async fn save_object<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    archive: String,
    bucket: String,
    key: String,
) -> CmdResult<Option<SavedObject>> {
    let engine = shell.engine()?;
    let name = safe_name(key.rsplit('/').next().unwrap_or(&key));
    let Some(dest) = pick_save_path(&app, "Save the object", &name).await? else {
        return Ok(None);
    };
    engine
        .save_object(Path::new(&archive), None, &bucket, &key, &dest)
        .await
        .map(Some)
        .map_err(err)
}

/// A name from the archive as a suggested file name: no folders, no control characters.
fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| c == '.' || c.is_whitespace());
    if trimmed.is_empty() {
        "object".into()
    } else {
        trimmed.chars().take(120).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::safe_name;

    #[test]
    fn suggested_file_names_hold_no_folders_or_control_characters() {
        assert_eq!(
            safe_name("avatars/../../etc/passwd"),
            "avatars_.._.._etc_passwd"
        );
        assert_eq!(safe_name(".."), "object");
        assert_eq!(safe_name("a\u{0}b\nc.png"), "a_b_c.png");
        assert_eq!(safe_name("report.pdf"), "report.pdf");
    }
}
