//! A look inside a backup (see [`crate::browse`]): the engine's entry points. An encrypted
//! archive is opened as restore and verify open it ([`Engine::unlock_archive`]: the key given
//! and the project's own keys).

use crate::browse::{
    self, BrowseTables, CsvExport, ObjectPage, ObjectPreview, ObjectQuery, RowFilter, RowPage,
    SavedObject,
};
use crate::crypto::UserKey;
use crate::engine::Engine;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// Runs `f` on a blocking thread with the archive unlocked.
async fn unlocked<T: Send + 'static>(
    engine: &Engine,
    archive: &Path,
    key: Option<UserKey>,
    f: impl FnOnce(&Path, &CancellationToken) -> Result<T> + Send + 'static,
) -> Result<T> {
    let guard = engine.unlock_archive(archive, key).await?;
    let path = archive.to_path_buf();
    let out = tokio::task::spawn_blocking(move || f(&path, &CancellationToken::new()))
        .await
        .map_err(|e| Error::internal(format!("the browse task failed: {e}")))?;
    drop(guard);
    out
}

impl Engine {
    /// The tables of a backup's database (schemas, row counts, sizes, columns), read from its
    /// dump; `readable` and `note` say when their rows cannot be read.
    pub async fn browse_tables(
        &self,
        archive: &Path,
        key: Option<UserKey>,
    ) -> Result<BrowseTables> {
        unlocked(self, archive, key, browse::list_tables).await
    }

    /// A page of a table's rows (`limit` matching rows after `offset` matching rows).
    #[allow(clippy::too_many_arguments)]
    pub async fn browse_rows(
        &self,
        archive: &Path,
        key: Option<UserKey>,
        schema: &str,
        table: &str,
        offset: u64,
        limit: u32,
        filter: RowFilter,
    ) -> Result<RowPage> {
        let (s, t) = (schema.to_string(), table.to_string());
        unlocked(self, archive, key, move |p, c| {
            browse::rows_page(p, &s, &t, offset, limit, &filter, c)
        })
        .await
    }

    /// A table written to `dest` as `COPY … TO STDOUT WITH (FORMAT csv, HEADER)` writes it.
    pub async fn export_table_csv(
        &self,
        archive: &Path,
        key: Option<UserKey>,
        schema: &str,
        table: &str,
        dest: &Path,
    ) -> Result<CsvExport> {
        let (s, t, d) = (schema.to_string(), table.to_string(), dest.to_path_buf());
        unlocked(self, archive, key, move |p, c| {
            browse::export_table_csv(p, &s, &t, &d, c)
        })
        .await
    }

    /// A page of a backup's storage objects.
    pub async fn browse_objects(
        &self,
        archive: &Path,
        key: Option<UserKey>,
        query: ObjectQuery,
    ) -> Result<ObjectPage> {
        unlocked(self, archive, key, move |p, c| {
            browse::list_objects(p, &query, c)
        })
        .await
    }

    /// A preview of one object (at most `max_bytes`, capped at [`browse::MAX_PREVIEW`]).
    pub async fn object_preview(
        &self,
        archive: &Path,
        key: Option<UserKey>,
        bucket: &str,
        object_key: &str,
        max_bytes: u64,
    ) -> Result<ObjectPreview> {
        let (b, k) = (bucket.to_string(), object_key.to_string());
        unlocked(self, archive, key, move |p, c| {
            browse::object_preview(p, &b, &k, max_bytes, c)
        })
        .await
    }

    /// Saves one object to `dest` (private temporary file, then renamed; mode 0600).
    pub async fn save_object(
        &self,
        archive: &Path,
        key: Option<UserKey>,
        bucket: &str,
        object_key: &str,
        dest: &Path,
    ) -> Result<SavedObject> {
        let (b, k, d): (String, String, PathBuf) = (
            bucket.to_string(),
            object_key.to_string(),
            dest.to_path_buf(),
        );
        unlocked(self, archive, key, move |p, c| {
            browse::save_object(p, &b, &k, &d, c)
        })
        .await
    }
}
