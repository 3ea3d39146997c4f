//! A project's storage component: the objects of S3-compatible buckets in an archive.
//!
//! * [`layout`]: where objects go in the archive (`storage/<bucket>/<key>`, encoded names for
//!   keys that cannot be safe member paths) and the `storage.json` document that lists them.

pub mod layout;

pub use layout::{
    member_name, BucketEntry, BucketSelection, BucketSettings, ObjectEntry, StorageDoc,
    STORAGE_DOC, STORAGE_PREFIX,
};
