//! The engine's operations, one module per operation. Each job operation has one entry point
//! taking an options struct and a [`JobStart`] (id, trigger, progress, cancellation), and runs
//! through the one job runner (`runner`): lock, job record, progress, finish. [`crate::Engine`]
//! opens things and hands off to these modules in one line per method.
//!
//! | module       | what                                                                  |
//! |--------------|-----------------------------------------------------------------------|
//! | `job`        | [`JobStart`], [`JobTrigger`]                                           |
//! | `runner`     | the job runner, project and job locks, interrupted jobs at start-up  |
//! | `interrupted` | a job's journal; what an interrupted job left, settled at the next start |
//! | `interrupted_storage` | a storage restore's journal, and what an interrupted one left |
//! | `backup`     | back up a project's database                                          |
//! | `backup_marks` | pin / unpin a backup; a project's canary thresholds                 |
//! | `delete_backup` | `offsite delete`: a backup here and, asked, at every destination; the last good copy guarded |
//! | `stats`      | a project's backup statistics: count, size, per type, growth; per destination |
//! | `canary`     | the canary after every backup: compared with the previous good one, flagged, alerted |
//! | `checks`     | a project's validation queries (run by drills): add, list, remove     |
//! | `components` | a project's storage and Supabase settings, default type; test storage |
//! | `verify`     | verify an archive (and record the result)                            |
//! | `restore`    | the restore job: one plan, then database, storage, configuration      |
//! | `import`     | import a file as a backup of a project                                |
//! | `drill`      | restore drills: run one (a job), list them, read one back             |
//! | `delete`     | delete a backup (and its file, when it is still that backup)          |
//! | `destinations` | a project's destinations: add (checked), list, remove, test        |
//! | `copy_out`   | copies to destinations after a backup, pending ones, `sync` + retention |
//! | `copies_view`| where every backup lives; the 3-2-1 state                            |
//! | `fetch_copy` | fetch a copy back from a destination as the local archive            |
//! | `prune`      | apply a retention policy: preview, or a prune job removing backups   |
//! | `schedule`   | schedules, retention policies, run what is due, project status       |
//! | `schedule_drill` | a drill schedule's run: a drill of the newest good backup; a failed drill fails the run naming its check |
//! | `due_loop`   | the background loop every front end runs schedules with              |
//! | `password_hint` | the hint of a rejected database password, per secret store          |
//! | `projects`   | add / change / remove / test projects; the shared requests; summaries |
//! | `settings`   | the engine's settings, plain settings, pg_dump tools                  |
//! | `queries`    | projects, backups and jobs as lists                                   |
//! | `resolve`    | which archive a path, a backup id or `PROJECT:latest` names           |
//! | `backup_inputs` | what a backup takes from the project's components (type, storage, Supabase) |
//! | `browse`     | look inside a backup: tables, rows, objects (encrypted ones unlocked)  |
//! | `artifacts`  | a project's artifact bucket: dumps made elsewhere, pulled and imported |
//! | `drill_report` | a drill report's signature and printable page                      |
//! | `drill_settings` | a project's drill settings (scratch server password in the keychain) |
//! | `encrypted_read` | the keys that read an encrypted archive                            |
//! | `encryption` | a project's encryption: off, passphrase or key, recipients, the recovery key |
//! | `keys`       | a project's key when the project is removed, and when it comes back   |
//! | `new_project` | add a project with its parts, all or nothing                         |
//! | `notify`     | channels, routes, the outbox, delivery, watchers, metrics             |
//! | `remote`     | a project's backup server: set, trigger a backup there, pull          |
//! | `remote_name` | the local name of a backup pulled from a backup server              |
//! | `restore_parity` | the parity report of a restore: database, storage and configuration
//! | `restore_parts` | each component's target, plan and execution within a restore       |
//! | `reveal`     | which file "Show in folder" may reveal                                |
//! | `safety`     | safety backups: taken before a replace, listed, pruned                |
//! | `supabase_project` | a Supabase project as pasted (ref, URL, host, connection string) |
//! | `supabase_tls` | how the Supabase quick add checks the database server              |
//! | `sweep`      | start-up: remove temporary files a killed run left                    |
//! | `tested_sources` | when each of a project's sources was last tested, and how        |
//! | `updates`    | the rules of the desktop's update checks                              |

pub mod artifacts;
pub mod backup;
pub(crate) mod backup_inputs;
pub(crate) mod backup_marks;
pub mod browse;
pub(crate) mod canary;
pub mod checks;
pub mod components;
pub mod copies_view;
pub mod copy_out;
pub mod delete;
pub mod delete_backup;
pub mod destinations;
pub mod diff;
pub mod drill;
pub mod drill_report;
pub(crate) mod drill_settings;
pub mod due_loop;
pub(crate) mod encrypted_read;
pub mod encryption;
pub mod fetch_copy;
pub mod import;
pub(crate) mod interrupted;
pub(crate) mod interrupted_storage;
pub mod job;
pub mod job_steps;
pub mod keys;
pub mod new_project;
pub mod notify;
pub mod parts;
pub mod password_hint;
pub mod pitr;
pub mod projects;
pub mod prune;
pub(crate) mod queries;
pub mod recover;
pub mod recovery_card;
pub mod remote;
pub(crate) mod remote_name;
pub mod resolve;
pub(crate) mod restore;
pub(crate) mod restore_parity;
pub(crate) mod restore_parts;
pub(crate) mod reveal;
pub(crate) mod runner;
pub mod safety;
pub mod schedule;
pub(crate) mod schedule_drill;
mod schedule_plans;
mod schedule_run;
pub(crate) mod selection;
pub mod settings;
pub mod stats;
pub mod supabase_project;
pub mod supabase_tls;
pub(crate) mod sweep;
pub mod tenant_backup;
pub mod tenants;
pub(crate) mod tested_sources;
pub mod updates;
pub mod verify;

pub use artifacts::ArtifactsSettings;
pub use backup::{BackupOptions, BackupOutcome, ScheduledBy};
pub use backup_inputs::{parse_backup_type, BackupInputs, ProvidedInputs};
pub use components::{BucketTest, StorageSettings, StorageTestReport, SupabaseSettings};
pub use copies_view::{BackupCopies, CopyView, PendingCopy, Protection};
pub use copy_out::{CopyResult, PrunedCopy, SyncOptions, SyncOutcome};
pub use delete::{DeleteOptions, DeleteOutcome};
pub use destinations::{DestinationTest, RemovedDestination};
pub use due_loop::{run_schedules, DueListener, LoopOptions};
pub use fetch_copy::{FetchCopyOptions, FetchCopyOutcome};
pub use import::{ImportInto, ImportOptions, ImportOutcome};
pub use job::{new_job_id, JobStart, JobTrigger};
pub use keys::{KeyFate, KeyListing, RemoveProject, RemovedProject};
pub use new_project::NewComponents;
pub use projects::{
    AddProject, ConnectionReport, ProjectConnection, ProjectSummary, UpdateProject,
};
pub use prune::{KeptBackup, PruneOptions, PruneOutcome, RemovedBackup, SkippedBackup};
pub use queries::{JobFilter, ListedBackup, HISTORY_LIMIT};
pub use remote::ServerSettings;
pub use resolve::{ResolvedArchive, ResolvedBy};
pub use runner::ProjectLock;
pub use schedule::{
    DueRun, DueRunState, ProjectStatus, PrunedBackup, RetentionView, RunDueReport, SchedulePreview,
    ScheduleView, ScheduleWhat, SetSchedule,
};
pub use schedule_plans::{NamedSchedule, ScheduleEdit, MAX_SCHEDULE_NAME};
pub use settings::{EngineSettings, ToolsReport, BACKUP_DIR_SETTING, PG_BIN_SETTING};
pub use verify::{VerifyOptions, VerifyOutcome};
