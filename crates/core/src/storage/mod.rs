//! A project's storage component: the objects of S3-compatible buckets in an archive.
//!
//! * [`layout`]: where objects go in the archive (`storage/<bucket>/<key>`, encoded names for
//!   keys that cannot be safe member paths) and the `storage.json` document that lists them.
//! * [`pull`]: pulling buckets from an [`ObjectSource`](crate::sources::ObjectSource) into an
//!   archive being written (streamed listing, concurrent downloads, incremental reuse).
//! * [`restore`]: putting a backup's objects back into an S3-compatible store or a folder
//!   (plan, then execute).

pub mod changed;
/// The storage document's check lives with the archive it describes.
pub use crate::archive::storage_check as check;
/// The storage document's layout lives with the archive it describes.
pub use crate::archive::storage_layout as layout;
pub mod listing;
pub mod pull;
pub mod restore;

pub use changed::{BucketRules, ChangeRule};
pub use layout::{
    member_name, BucketEntry, BucketSelection, BucketSettings, ObjectEntry, StorageDoc,
    VanishedObject, STORAGE_DOC, STORAGE_PREFIX,
};
pub use pull::{pull_into, PreviousStorage, PullOptions, PullSummary};
pub use restore::{
    plan_storage_restore, restore_storage, BucketOutcome, BucketPlan, ResolveBase, SourceArchive,
    StoragePlan, StorageRestoreOptions, StorageRestoreReport, StorageTargetRef,
};

/// The `storage.json` of an archive (checked against its manifest).
pub fn read_storage_doc(
    path: &std::path::Path,
    cancel: &tokio_util::sync::CancellationToken,
) -> crate::error::Result<StorageDoc> {
    restore::source::open_archive_doc(path, cancel).map(|a| a.doc)
}
