//! Small shared words about jobs and backups that several floors use (the schedule's due runs,
//! retention, the catalog that stores them, the operations): ground floor, so every floor may
//! name them. The catalog stores them as their fixed words (see [`crate::text_enum`]).

use crate::text_enum::text_enum;
use serde::{Deserialize, Serialize};

text_enum! {
    /// What started a job; recorded in the job's row (`jobs.trigger`).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "specta", derive(specta::Type))]
    #[serde(rename_all = "snake_case")]
    pub enum JobTrigger as "job trigger" {
        /// A person, in the window (or a test).
        #[default]
        Manual = "manual",
        /// A schedule came due.
        Schedule = "schedule",
        /// A schedule missed while the computer slept or Offsite was closed.
        CatchUp = "catch_up",
        /// Another attempt after a failure.
        Retry = "retry",
        /// The `offsite` command line.
        Cli = "cli",
        /// The retention policy.
        Retention = "retention",
    }
}

text_enum! {
    /// What a job does. `pull`: one backup a backup server or artifact bucket had that this
    /// computer did not, downloaded, verified and registered.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "specta", derive(specta::Type))]
    #[serde(rename_all = "snake_case")]
    pub enum JobKind as "job kind" {
        Backup = "backup",
        Verify = "verify",
        Restore = "restore",
        Import = "import",
        Prune = "prune",
        Pull = "pull",
        /// Pending copies pushed to the project's destinations, and each destination's
        /// retention applied.
        Sync = "sync",
        /// A copy of a backup fetched back from a destination as its local archive.
        FetchCopy = "fetch_copy",
        /// A restore drill: the backup restored into a throwaway cluster or scratch server
        /// and checked (issue 26).
        Drill = "drill",
        /// Chosen rows of a backup recovered into a live database, or a recovery undone
        /// (issue 45; `offsite recover`).
        Recover = "recover",
    }
}

text_enum! {
    /// What is known about a backup file.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "specta", derive(specta::Type))]
    #[serde(rename_all = "snake_case")]
    pub enum BackupStatus as "backup status" {
        Unverified = "unverified",
        Verified = "verified",
        Corrupt = "corrupt",
        Missing = "missing",
    }
}
