//! A project's storage component: the objects of S3-compatible buckets in an archive.
//!
//! * [`layout`]: where objects go in the archive (`storage/<bucket>/<key>`, encoded names for
//!   keys that cannot be safe member paths) and the `storage.json` document that lists them.
//! * [`pull`]: pulling buckets from an [`ObjectSource`](crate::sources::ObjectSource) into an
//!   archive being written (streamed listing, concurrent downloads, incremental reuse).

pub mod check;
pub mod layout;
pub mod pull;

pub use layout::{
    member_name, BucketEntry, BucketSelection, BucketSettings, ObjectEntry, StorageDoc,
    VanishedObject, STORAGE_DOC, STORAGE_PREFIX,
};
pub use pull::{pull_into, PreviousStorage, PullOptions, PullSummary};
