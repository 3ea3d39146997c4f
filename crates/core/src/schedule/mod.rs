//! Schedules and retention: when a project's backups and verifications run, what is due now
//! (wall clock, never timers), catch-up after sleep, overdue projects, and which backups a
//! retention policy keeps. Everything here is a pure function of its inputs (a spec, a time
//! zone, what the catalog recorded, `now`), so it is tested by moving a clock, not by waiting.
//!
//! | file           | what                                                               |
//! |----------------|--------------------------------------------------------------------|
//! | `zone.rs`      | IANA time zones; wall-clock times on the days the clocks change   |
//! | `spec.rs`      | every N hours / daily / weekly / monthly / cron, parsed and shown  |
//! | `when.rs`      | a spec as a typed value (IPC both ways), validated by `spec.rs`    |
//! | `next.rs`      | the next runs, a preview, the newest missed slot, the longest gap |
//! | `due.rs`       | what is due now (`schedule` or `catch_up`), overdue               |
//! | `status.rs`    | a project's schedule state (last good, next run, overdue)          |
//! | `retention.rs` | keep-last / hourly / daily / weekly / monthly / yearly / within    |
//!
//! Running what is due (claiming a slot in the catalog, the jobs, pruning) is `ops/schedule.rs`
//! and `ops/prune.rs`; the catalog's tables are `catalog/schedules.rs`.

mod cron_fields;
pub mod due;
pub mod next;
pub mod retention;
pub mod spec;
mod spec_words;
pub mod status;
pub mod targets;
pub mod when;
pub mod zone;

pub use due::{due, next_run, overdue, Due, DEFAULT_GRACE, ON_TIME};
pub use next::{latest_in, longest_gap, next_after, preview};
pub use retention::{Candidate, Decision, KeepRule, RetentionPolicy, Within};
pub use spec::{ScheduleSpec, TimeOfDay, Weekdays};
pub use spec_words::schedule_words;
pub use status::ProjectStatus;
pub use targets::{format_target, parse_target, Targets};
pub use when::ScheduleWhen;
pub use zone::Zone;
/// After a temporary failure a scheduled run is tried again this much later (then 15 and 60
/// minutes); when the last retry fails too, the failure is escalated.
pub const RETRY_BACKOFF: [time::Duration; 3] = [
    time::Duration::minutes(5),
    time::Duration::minutes(15),
    time::Duration::minutes(60),
];
