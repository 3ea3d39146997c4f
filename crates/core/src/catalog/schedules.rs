//! The `schedules` and `retention_policies` tables (migrations 0006, 0026): per project backup
//! schedules by name (`default` is the one the single-schedule commands edit; each may have its
//! own type, selection, destinations and retention: [`SchedulePlan`]), one verify schedule and
//! one drill schedule, and one retention policy. Setting one replaces it.
//!
//! A runner (the app, `offsite run-due`, `offsite daemon`) claims a slot before running it with
//! one conditional UPDATE ([`Catalog::claim_schedule_slot`]): of two runners racing for one slot,
//! exactly one gets it. Specs are stored as text (`daily 02:30`); `crate::schedule` parses them.

use super::sql::{changed_a_row, db_error, is_foreign_key_violation, new_id};
use super::Catalog;
use crate::error::{Error, Result};
use crate::schedule::{RetentionPolicy, Within};
use crate::text_enum::text_enum;
use serde::{Deserialize, Serialize};

text_enum! {
    /// What a schedule runs.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "specta", derive(specta::Type))]
    #[serde(rename_all = "snake_case")]
    pub enum ScheduleKind as "schedule kind" {
        Backup = "backup",
        Verify = "verify",
        /// A restore drill of the newest good backup (issue 26).
        Drill = "drill",
    }
}

text_enum! {
    /// What a backup schedule's backups hold (issue 47): an archive type, or `tenant` (a
    /// database backup followed by one archive per tenant of the schedule's tenant).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "specta", derive(specta::Type))]
    #[serde(rename_all = "snake_case")]
    pub enum ScheduleType as "schedule type" {
        Database = "database",
        Full = "full",
        Storage = "storage",
        Config = "config",
        Tenant = "tenant",
    }
}

/// The name of the schedule the single-schedule commands (`schedule set NAME --daily …`) edit,
/// and that every schedule made before version 26 got.
pub const DEFAULT_SCHEDULE: &str = "default";

/// What a backup schedule's runs make beyond when they run; `None`: the project's (its default
/// type, its selection, every destination, its retention policy).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulePlan {
    pub backup_type: Option<ScheduleType>,
    pub selection: Option<crate::selection::BackupSelection>,
    /// Destination ids its backups are copied to.
    pub destinations: Option<Vec<String>>,
    /// Its own retention (periods in the schedule's zone), pruning only its own backups.
    pub retention: Option<RetentionPolicy>,
}

/// The longest JSON text a schedule's plan column is read from (a selection of 5 × 200 names).
const MAX_PLAN_JSON: usize = 256 * 1024;

fn json_column<T: serde::de::DeserializeOwned>(
    what: &str,
    text: Option<&str>,
) -> Result<Option<T>> {
    let Some(text) = text else { return Ok(None) };
    if text.len() > MAX_PLAN_JSON {
        return Err(Error::new(
            crate::error::ErrorKind::Catalog,
            format!("a schedule's {what} is too long to read"),
        ));
    }
    serde_json::from_str(text).map(Some).map_err(|e| {
        Error::new(
            crate::error::ErrorKind::Catalog,
            format!("a schedule's {what} cannot be read: {e}"),
        )
    })
}

fn json_text<T: Serialize>(v: Option<&T>) -> Result<Option<String>> {
    v.map(|v| {
        serde_json::to_string(v).map_err(|e| Error::internal(format!("encoding a schedule: {e}")))
    })
    .transpose()
}

/// A schedule in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ScheduleRecord {
    pub id: String,
    pub project_id: String,
    pub kind: ScheduleKind,
    /// Its name in the project (`default` for the one the single-schedule commands edit).
    pub name: String,
    /// When it runs, as text (`daily 02:30`; see `schedule::ScheduleSpec`).
    pub spec: String,
    /// The IANA zone the spec's times are in.
    pub time_zone: String,
    /// A verify schedule: how many of the newest backups it checks (`None`: all).
    pub verify_newest: Option<u32>,
    pub paused: bool,
    pub created_at: String,
    pub updated_at: String,
    /// The newest slot a runner claimed.
    pub last_slot: Option<String>,
    pub last_claimed_at: Option<String>,
    /// How many retries of the last slot's run were scheduled (0: none).
    pub retry_attempt: u32,
    /// When the last slot's run is tried again (after a temporary failure).
    pub retry_at: Option<String>,
    /// The backup job of the last run (to retry it when its process was killed).
    pub last_job_id: Option<String>,
    /// A backup schedule's tenant: after each backup, one archive per tenant of it
    /// (`backup --tenant NAME`).
    #[cfg_attr(feature = "specta", specta(skip))]
    pub tenant: Option<String>,
    /// How many archives of each tenant it keeps (locally and at destinations); `None`: 4.
    #[cfg_attr(feature = "specta", specta(skip))]
    pub tenant_keep_last: Option<u32>,
    /// [`SchedulePlan::backup_type`] as stored.
    #[cfg_attr(feature = "specta", specta(skip))]
    pub backup_type: Option<ScheduleType>,
    /// [`SchedulePlan::selection`], JSON.
    #[cfg_attr(feature = "specta", specta(skip))]
    pub selection: Option<String>,
    /// [`SchedulePlan::destinations`], JSON.
    #[cfg_attr(feature = "specta", specta(skip))]
    pub destinations: Option<String>,
    /// [`SchedulePlan::retention`], JSON.
    #[cfg_attr(feature = "specta", specta(skip))]
    pub retention: Option<String>,
}

impl ScheduleRecord {
    /// What its runs make ([`SchedulePlan`]), read from its columns.
    pub fn plan(&self) -> Result<SchedulePlan> {
        Ok(SchedulePlan {
            backup_type: self.backup_type,
            selection: json_column("selection", self.selection.as_deref())?,
            destinations: json_column("destinations", self.destinations.as_deref())?,
            retention: json_column("retention", self.retention.as_deref())?,
        })
    }
}

/// A schedule to set (replacing the project's schedule of that kind and name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSchedule {
    pub project_id: String,
    pub kind: ScheduleKind,
    /// Its name ([`DEFAULT_SCHEDULE`] for the single-schedule commands').
    pub name: String,
    pub spec: String,
    pub time_zone: String,
    pub verify_newest: Option<u32>,
    /// What its runs make: `Some` replaces the schedule's plan, `None` keeps the one it has (a
    /// new schedule: the project's).
    pub plan: Option<SchedulePlan>,
}

/// A project's retention policy as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct RetentionRecord {
    pub project_id: String,
    pub keep_last: Option<u32>,
    pub keep_hourly: Option<u32>,
    pub keep_daily: Option<u32>,
    pub keep_weekly: Option<u32>,
    pub keep_monthly: Option<u32>,
    pub keep_yearly: Option<u32>,
    pub keep_within: Option<String>,
    /// The IANA zone its periods are counted in.
    pub time_zone: String,
    pub updated_at: String,
}

impl RetentionRecord {
    /// The policy it stores.
    pub fn policy(&self) -> Result<RetentionPolicy> {
        Ok(RetentionPolicy {
            keep_last: self.keep_last,
            keep_hourly: self.keep_hourly,
            keep_daily: self.keep_daily,
            keep_weekly: self.keep_weekly,
            keep_monthly: self.keep_monthly,
            keep_yearly: self.keep_yearly,
            keep_within: self
                .keep_within
                .as_deref()
                .map(str::parse::<Within>)
                .transpose()?,
        })
    }
}

const SCHEDULE_COLS: &str = "id, project_id, kind, name, spec, time_zone, verify_newest, paused, \
                             created_at, updated_at, last_slot, last_claimed_at, retry_attempt, \
                             retry_at, last_job_id, tenant, backup_type, selection, \
                             destinations, retention, tenant_keep_last";
const RETENTION_COLS: &str = "project_id, keep_last, keep_hourly, keep_daily, keep_weekly, \
                              keep_monthly, keep_yearly, keep_within, time_zone, updated_at";

/// Write (replace) project `project_id`'s retention policy on `conn` (a transaction's, when it is
/// saved with the project).
pub(super) async fn insert_retention(
    conn: &mut sqlx::SqliteConnection,
    project_id: &str,
    policy: &RetentionPolicy,
    time_zone: &str,
    now: &str,
) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO retention_policies ({RETENTION_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (project_id) DO UPDATE SET keep_last = excluded.keep_last, \
         keep_hourly = excluded.keep_hourly, keep_daily = excluded.keep_daily, \
         keep_weekly = excluded.keep_weekly, keep_monthly = excluded.keep_monthly, \
         keep_yearly = excluded.keep_yearly, keep_within = excluded.keep_within, \
         time_zone = excluded.time_zone, updated_at = excluded.updated_at"
    ))
    .bind(project_id)
    .bind(policy.keep_last)
    .bind(policy.keep_hourly)
    .bind(policy.keep_daily)
    .bind(policy.keep_weekly)
    .bind(policy.keep_monthly)
    .bind(policy.keep_yearly)
    .bind(policy.keep_within.map(|w| w.to_string()))
    .bind(time_zone)
    .bind(now)
    .execute(conn)
    .await
    .map_err(|e| {
        if is_foreign_key_violation(&e) {
            no_project(project_id)
        } else {
            db_error("saving a retention policy", e)
        }
    })?;
    Ok(())
}

fn no_schedule(kind: ScheduleKind, name: &str) -> Error {
    if name == DEFAULT_SCHEDULE {
        Error::not_found(format!("the project has no {kind} schedule"))
            .with_hint("set one first: offsite schedule set PROJECT --daily 02:30")
    } else {
        Error::not_found(format!("the project has no {kind} schedule named {name:?}"))
            .with_hint("see its schedules with `offsite schedule list PROJECT`")
    }
}

fn no_project(project_id: &str) -> Error {
    Error::not_found(format!("no project with id {project_id}"))
        .with_hint("see the projects with `offsite project list`")
}

impl Catalog {
    /// Set a project's schedule of `s.kind` named `s.name`, replacing the one it had (which is
    /// forgotten with the slot it last ran: the new schedule waits for its first slot). Not
    /// paused. Its plan is replaced when `s.plan` is given, else kept.
    pub async fn set_schedule(&self, s: &NewSchedule) -> Result<ScheduleRecord> {
        if s.spec.trim().is_empty() || s.time_zone.trim().is_empty() {
            return Err(Error::invalid("a schedule needs a spec and a time zone"));
        }
        if s.kind != ScheduleKind::Backup && s.name != DEFAULT_SCHEDULE {
            return Err(Error::invalid(format!(
                "only backup schedules have names; a {} schedule is the project's one",
                s.kind
            )));
        }
        let now = self.now();
        let id = new_id();
        let plan = s.plan.clone().unwrap_or_default();
        let plan_update = if s.plan.is_some() {
            ", backup_type = excluded.backup_type, selection = excluded.selection, \
             destinations = excluded.destinations, retention = excluded.retention"
        } else {
            ""
        };
        sqlx::query(&format!(
            "INSERT INTO schedules (id, project_id, kind, name, spec, time_zone, verify_newest, \
             paused, created_at, updated_at, backup_type, selection, destinations, retention) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (project_id, kind, name) DO UPDATE SET id = excluded.id, \
             spec = excluded.spec, time_zone = excluded.time_zone, \
             verify_newest = excluded.verify_newest, paused = 0, \
             created_at = excluded.created_at, updated_at = excluded.updated_at, \
             last_slot = NULL, last_claimed_at = NULL, retry_attempt = 0, retry_at = NULL, \
             last_job_id = NULL{plan_update}"
        ))
        .bind(&id)
        .bind(&s.project_id)
        .bind(s.kind)
        .bind(&s.name)
        .bind(&s.spec)
        .bind(&s.time_zone)
        .bind(s.verify_newest)
        .bind(&now)
        .bind(&now)
        .bind(plan.backup_type)
        .bind(json_text(plan.selection.as_ref())?)
        .bind(json_text(plan.destinations.as_ref())?)
        .bind(json_text(plan.retention.as_ref())?)
        .execute(self.pool())
        .await
        .map_err(|e| {
            if is_foreign_key_violation(&e) {
                no_project(&s.project_id)
            } else {
                db_error("saving a schedule", e)
            }
        })?;
        self.schedule(&s.project_id, s.kind, &s.name)
            .await?
            .ok_or_else(|| Error::internal("a schedule just saved is not there"))
    }

    /// Names the tenant whose per-tenant archives follow each backup of the project's backup
    /// schedule `name` (`None`: none), and how many archives of each of its tenants are kept
    /// (`None`: 4). NotFound when the project has no such schedule.
    pub async fn set_schedule_tenant(
        &self,
        project_id: &str,
        name: &str,
        tenant: Option<&str>,
        keep_last: Option<u32>,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE schedules SET tenant = ?, tenant_keep_last = ?, updated_at = ? \
             WHERE project_id = ? AND kind = ? AND name = ?",
        )
        .bind(tenant)
        .bind(keep_last.filter(|_| tenant.is_some()))
        .bind(self.now())
        .bind(project_id)
        .bind(ScheduleKind::Backup)
        .bind(name)
        .execute(self.pool())
        .await
        .map_err(|e| db_error("saving a schedule's tenant", e))?;
        if done.rows_affected() == 0 {
            return Err(no_schedule(ScheduleKind::Backup, name));
        }
        Ok(())
    }

    /// A project's schedule of this kind and name.
    pub async fn schedule(
        &self,
        project_id: &str,
        kind: ScheduleKind,
        name: &str,
    ) -> Result<Option<ScheduleRecord>> {
        sqlx::query_as::<_, ScheduleRecord>(&format!(
            "SELECT {SCHEDULE_COLS} FROM schedules WHERE project_id = ? AND kind = ? AND name = ?"
        ))
        .bind(project_id)
        .bind(kind)
        .bind(name)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| db_error("reading a schedule", e))
    }

    /// Every schedule (of one project, or of all), by project name, backup before verify, the
    /// `default` one of a kind first, then by name.
    pub async fn schedules(&self, project_id: Option<&str>) -> Result<Vec<ScheduleRecord>> {
        let cols = SCHEDULE_COLS
            .split(", ")
            .map(|c| format!("s.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        sqlx::query_as::<_, ScheduleRecord>(&format!(
            "SELECT {cols} FROM schedules s JOIN projects p ON p.id = s.project_id \
             WHERE (? IS NULL OR s.project_id = ?) \
             ORDER BY p.name COLLATE NOCASE, s.kind, s.name <> 'default', s.name"
        ))
        .bind(project_id)
        .bind(project_id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("listing schedules", e))
    }

    /// Remove a project's schedule of this kind and name. Returns whether there was one.
    pub async fn remove_schedule(
        &self,
        project_id: &str,
        kind: ScheduleKind,
        name: &str,
    ) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM schedules WHERE project_id = ? AND kind = ? AND name = ?")
                .bind(project_id)
                .bind(kind)
                .bind(name)
                .execute(self.pool())
                .await
                .map_err(|e| db_error("removing a schedule", e))?;
        Ok(done.rows_affected() > 0)
    }

    /// Pause or resume a schedule. NotFound when the project has none of this kind and name.
    pub async fn set_schedule_paused(
        &self,
        project_id: &str,
        kind: ScheduleKind,
        name: &str,
        paused: bool,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE schedules SET paused = ?, updated_at = ? \
             WHERE project_id = ? AND kind = ? AND name = ?",
        )
        .bind(paused)
        .bind(self.now())
        .bind(project_id)
        .bind(kind)
        .bind(name)
        .execute(self.pool())
        .await
        .map_err(|e| db_error("pausing a schedule", e))?;
        changed_a_row(done, || no_schedule(kind, name))
    }

    /// Claim `slot` (an RFC 3339 UTC time, as the catalog writes them) of schedule `id` for this
    /// runner: true when it was not claimed yet (no slot as new or newer was) and the schedule is
    /// not paused — one UPDATE, so of two runners racing exactly one wins.
    pub async fn claim_schedule_slot(&self, id: &str, slot: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE schedules SET last_slot = ?, last_claimed_at = ?, retry_attempt = 0, \
             retry_at = NULL, last_job_id = NULL \
             WHERE id = ? AND paused = 0 AND (last_slot IS NULL OR last_slot < ?)",
        )
        .bind(slot)
        .bind(self.now())
        .bind(id)
        .bind(slot)
        .execute(self.pool())
        .await
        .map_err(|e| db_error("claiming a scheduled run", e))?;
        Ok(done.rows_affected() == 1)
    }

    /// Try the run of the last slot `slot` again at `at` (retry number `attempt`), unless a newer
    /// slot was claimed meanwhile.
    pub async fn schedule_retry(&self, id: &str, slot: &str, attempt: u32, at: &str) -> Result<()> {
        sqlx::query(
            "UPDATE schedules SET retry_attempt = ?, retry_at = ? WHERE id = ? AND last_slot = ?",
        )
        .bind(attempt)
        .bind(at)
        .bind(id)
        .bind(slot)
        .execute(self.pool())
        .await
        .map_err(|e| db_error("scheduling a retry", e))?;
        Ok(())
    }

    /// Claim the retry due at `retry_at` of schedule `id` (one UPDATE: one runner wins).
    pub async fn claim_schedule_retry(&self, id: &str, retry_at: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE schedules SET retry_at = NULL, last_claimed_at = ? \
             WHERE id = ? AND paused = 0 AND retry_at = ?",
        )
        .bind(self.now())
        .bind(id)
        .bind(retry_at)
        .execute(self.pool())
        .await
        .map_err(|e| db_error("claiming a retry", e))?;
        Ok(done.rows_affected() == 1)
    }

    /// Record the job that runs the claimed slot `slot` of schedule `id`.
    pub async fn set_schedule_job(&self, id: &str, slot: &str, job_id: &str) -> Result<()> {
        sqlx::query("UPDATE schedules SET last_job_id = ? WHERE id = ? AND last_slot = ?")
            .bind(job_id)
            .bind(id)
            .bind(slot)
            .execute(self.pool())
            .await
            .map_err(|e| db_error("recording a scheduled job", e))?;
        Ok(())
    }

    /// Claim the retry of a run whose job `old_job` was interrupted (its process killed): the
    /// schedule's job becomes `new_job` and its retry count goes up — one UPDATE, so of two
    /// runners noticing it exactly one retries.
    pub async fn claim_interrupted_retry(
        &self,
        id: &str,
        old_job: &str,
        new_job: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE schedules SET last_job_id = ?, retry_attempt = retry_attempt + 1, \
             retry_at = NULL, last_claimed_at = ? WHERE id = ? AND paused = 0 AND last_job_id = ?",
        )
        .bind(new_job)
        .bind(self.now())
        .bind(id)
        .bind(old_job)
        .execute(self.pool())
        .await
        .map_err(|e| db_error("claiming the retry of an interrupted run", e))?;
        Ok(done.rows_affected() == 1)
    }

    /// Give a claimed slot back (the run could not start: the project was busy), restoring the
    /// slot claimed before it. Only while `slot` is still the newest claim.
    pub async fn release_schedule_slot(
        &self,
        id: &str,
        slot: &str,
        previous: Option<&str>,
    ) -> Result<()> {
        sqlx::query("UPDATE schedules SET last_slot = ? WHERE id = ? AND last_slot = ?")
            .bind(previous)
            .bind(id)
            .bind(slot)
            .execute(self.pool())
            .await
            .map_err(|e| db_error("releasing a scheduled run", e))?;
        Ok(())
    }

    /// Set a project's retention policy (replacing the whole policy), its periods counted in
    /// `time_zone`. The policy must be valid (counts ≥ 1).
    pub async fn set_retention(
        &self,
        project_id: &str,
        policy: &RetentionPolicy,
        time_zone: &str,
    ) -> Result<RetentionRecord> {
        policy.validate()?;
        let mut conn = self
            .pool()
            .acquire()
            .await
            .map_err(|e| db_error("saving a retention policy", e))?;
        insert_retention(&mut conn, project_id, policy, time_zone, &self.now()).await?;
        drop(conn);
        self.reset_watch(super::RETENTION_WATCH).await?;
        self.retention(project_id)
            .await?
            .ok_or_else(|| Error::internal("a retention policy just saved is not there"))
    }

    /// A project's retention policy (`None`: none set, everything is kept).
    pub async fn retention(&self, project_id: &str) -> Result<Option<RetentionRecord>> {
        sqlx::query_as::<_, RetentionRecord>(&format!(
            "SELECT {RETENTION_COLS} FROM retention_policies WHERE project_id = ?"
        ))
        .bind(project_id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| db_error("reading a retention policy", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testing::{catalog_at, kind, shop, AT};
    use crate::error::ErrorKind;

    fn daily(project_id: &str, kind: ScheduleKind) -> NewSchedule {
        NewSchedule {
            project_id: project_id.to_string(),
            kind,
            name: DEFAULT_SCHEDULE.to_string(),
            spec: "daily 02:30".to_string(),
            time_zone: "Europe/Berlin".to_string(),
            verify_newest: None,
            plan: None,
        }
    }

    #[tokio::test]
    async fn one_schedule_per_kind_setting_replaces_and_forgets_the_last_slot() {
        let (c, clock) = catalog_at(AT).await;
        let (_dir, p) = shop(&c).await;
        let s = c
            .set_schedule(&daily(&p.id, ScheduleKind::Backup))
            .await
            .unwrap();
        assert_eq!(s.created_at, "2030-01-02T03:04:05.000Z");
        assert!(!s.paused);
        assert!(c
            .claim_schedule_slot(&s.id, "2030-01-03T01:30:00.000Z")
            .await
            .unwrap());
        let mut v = daily(&p.id, ScheduleKind::Verify);
        v.verify_newest = Some(3);
        c.set_schedule(&v).await.unwrap();
        assert_eq!(c.schedules(None).await.unwrap().len(), 2);
        clock.advance(time::Duration::hours(1));
        let mut again = daily(&p.id, ScheduleKind::Backup);
        again.spec = "every 6h".to_string();
        let s2 = c.set_schedule(&again).await.unwrap();
        assert_ne!(s2.id, s.id);
        assert_eq!(s2.spec, "every 6h");
        assert_eq!(s2.last_slot, None);
        assert_eq!(s2.created_at, "2030-01-02T04:04:05.000Z");
        let all = c.schedules(Some(&p.id)).await.unwrap();
        assert_eq!(
            all.iter().map(|s| s.kind.as_str()).collect::<Vec<_>>(),
            vec!["backup", "verify"]
        );
        assert_eq!(all[1].verify_newest, Some(3));
        assert!(c
            .remove_schedule(&p.id, ScheduleKind::Verify, DEFAULT_SCHEDULE)
            .await
            .unwrap());
        assert!(!c
            .remove_schedule(&p.id, ScheduleKind::Verify, DEFAULT_SCHEDULE)
            .await
            .unwrap());
        assert_eq!(
            kind(c.set_schedule(&daily("nope", ScheduleKind::Backup)).await),
            ErrorKind::NotFound
        );
    }

    #[tokio::test]
    async fn a_slot_is_claimed_once_and_never_when_paused() {
        let (c, _clock) = catalog_at(AT).await;
        let (_dir, p) = shop(&c).await;
        let s = c
            .set_schedule(&daily(&p.id, ScheduleKind::Backup))
            .await
            .unwrap();
        let slot = "2030-01-03T01:30:00.000Z";
        let (a, b) = tokio::join!(
            c.claim_schedule_slot(&s.id, slot),
            c.claim_schedule_slot(&s.id, slot)
        );
        assert!(a.unwrap() ^ b.unwrap(), "exactly one claim wins");
        // An older slot cannot be claimed after a newer one.
        assert!(!c
            .claim_schedule_slot(&s.id, "2030-01-02T01:30:00.000Z")
            .await
            .unwrap());
        // Given back, it can be claimed again.
        c.release_schedule_slot(&s.id, slot, None).await.unwrap();
        assert!(c.claim_schedule_slot(&s.id, slot).await.unwrap());
        c.set_schedule_paused(&p.id, ScheduleKind::Backup, DEFAULT_SCHEDULE, true)
            .await
            .unwrap();
        assert!(!c
            .claim_schedule_slot(&s.id, "2030-01-04T01:30:00.000Z")
            .await
            .unwrap());
        c.set_schedule_paused(&p.id, ScheduleKind::Backup, DEFAULT_SCHEDULE, false)
            .await
            .unwrap();
        assert!(c
            .claim_schedule_slot(&s.id, "2030-01-04T01:30:00.000Z")
            .await
            .unwrap());
        assert_eq!(
            kind(
                c.set_schedule_paused(&p.id, ScheduleKind::Verify, DEFAULT_SCHEDULE, true)
                    .await
            ),
            ErrorKind::NotFound
        );
    }

    #[tokio::test]
    async fn retention_is_replaced_whole_and_feeds_the_change_feed() {
        let (c, _clock) = catalog_at(AT).await;
        let (_dir, p) = shop(&c).await;
        assert_eq!(c.retention(&p.id).await.unwrap(), None);
        let seq = c.last_change_seq().await.unwrap();
        let policy = RetentionPolicy {
            keep_last: Some(3),
            keep_within: Some("30d".parse().unwrap()),
            ..Default::default()
        };
        let r = c.set_retention(&p.id, &policy, "UTC").await.unwrap();
        assert_eq!(r.policy().unwrap(), policy);
        let only_daily = RetentionPolicy {
            keep_daily: Some(7),
            ..Default::default()
        };
        let r = c
            .set_retention(&p.id, &only_daily, "Europe/Berlin")
            .await
            .unwrap();
        assert_eq!(r.policy().unwrap(), only_daily);
        assert_eq!(r.time_zone, "Europe/Berlin");
        let bad = RetentionPolicy {
            keep_last: Some(0),
            ..Default::default()
        };
        assert_eq!(
            kind(c.set_retention(&p.id, &bad, "UTC").await),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            c.retention(&p.id).await.unwrap().unwrap().policy().unwrap(),
            only_daily
        );
        let batch = c.changes_since(seq, 100).await.unwrap();
        assert_eq!(batch.changes.len(), 2);
        assert!(batch.changes.iter().all(|ch| ch.id == p.id));
        // Removing the project takes its schedules and policy along, with one delete in the feed.
        c.set_schedule(&daily(&p.id, ScheduleKind::Backup))
            .await
            .unwrap();
        let seq = c.last_change_seq().await.unwrap();
        c.remove_project("shop").await.unwrap();
        assert!(c.schedules(None).await.unwrap().is_empty());
        assert_eq!(c.retention(&p.id).await.unwrap(), None);
        let batch = c.changes_since(seq, 100).await.unwrap();
        assert_eq!(batch.changes.len(), 1, "{:?}", batch.changes);
        assert_eq!(batch.changes[0].op.as_str(), "delete");
    }
}
