//! pg_cron's jobs into a target whose connecting role may run pg_cron's functions but not write
//! `cron.job` (a Supabase project's `postgres`: the platform leaves it only SELECT there, and
//! `cron.schedule` writes as the extension's owner). pg_dump dumps `cron.job`'s rows (pg_cron
//! marks the table for it), and pg_restore's `COPY cron.job` would be refused there. Instead, in
//! the restore's one transaction:
//!
//! 1. the preamble makes a temporary table shaped like the target's `cron.job`;
//! 2. the backup's `COPY cron.job (…) FROM stdin;` is loaded into it (the statement's table
//!    changed, nothing else: the rows stay data, parsed by PostgreSQL's COPY), and the
//!    `setval`s of `cron.jobid_seq` and `cron.runid_seq` are left out (the jobs get the
//!    target's ids; the run history, `cron.job_run_details`, stays the target's: see
//!    `managed::rows`);
//! 3. the postamble — when replacing — unschedules the target's jobs of the connecting role
//!    (what a replace's `DELETE FROM cron.job` did), then schedules every job of the backup that
//!    ran as the connecting role with `cron.schedule` and sets its database (the backup's own
//!    database becomes the target's) and state with `cron.alter_job`.
//!
//! The jobs' text never enters Offsite's SQL: the postamble reads them from the temporary table.
//! A job of another role is not scheduled — as the connecting role it would run with other
//! privileges than the source's — and the plan says so; the parity report names it.

use super::{Decisions, TargetFacts};
use crate::postgres::restore::toc::FullToc;

/// The temporary table the backup's jobs are loaded into.
const STAGING: &str = "pg_temp.offsite_cron_job";

/// The statement start pg_restore writes for `cron.job`'s rows, and what it becomes.
const COPY_FROM: &str = "COPY cron.job ";
const COPY_INTO: &str = "COPY pg_temp.offsite_cron_job ";

/// Decide how the backup's jobs go in (see the module); nothing when the backup has no rows
/// of `cron.job`, or the connecting role may write it.
pub(crate) fn decide(
    toc: &FullToc,
    f: &TargetFacts,
    replace: bool,
    source_database: Option<&str>,
    d: &mut Decisions,
) {
    let data = toc
        .items
        .iter()
        .find(|i| i.desc == "TABLE DATA" && i.schema == "cron" && i.tag == "job");
    let Some(data) = data else { return };
    if !f.cron_by_functions || d.skip.contains_key(&data.line) {
        return;
    }
    for i in &toc.items {
        if i.desc == "SEQUENCE SET"
            && i.schema == "cron"
            && matches!(i.tag.as_str(), "jobid_seq" | "runid_seq")
        {
            d.skip.insert(
                i.line,
                format!(
                    "cron.{}: pg_cron's ids are the target's (its jobs are scheduled through \
                     pg_cron's functions)",
                    i.tag
                ),
            );
        }
    }
    d.copy_redirect
        .push((COPY_FROM.to_string(), COPY_INTO.to_string()));
    d.preamble.push(format!(
        "CREATE TEMPORARY TABLE {STAGING} (LIKE cron.job) ON COMMIT DROP;"
    ));
    if replace {
        d.postamble.push(
            "SELECT cron.unschedule(jobid) FROM cron.job WHERE username = current_user;".into(),
        );
    }
    d.postamble.push(schedule_sql(source_database));
    d.warnings.push(format!(
        "pg_cron's jobs are scheduled again through pg_cron's functions, as {} (it may run them \
         but not write cron.job){}; a job of another role is not scheduled (it would run with \
         {}'s privileges) and the parity report names it",
        f.user,
        if replace {
            format!(", after {}'s own jobs there are unscheduled", f.user)
        } else {
            String::new()
        },
        f.user
    ));
}

/// The postamble's statement that schedules the staged jobs of the connecting role.
fn schedule_sql(source_database: Option<&str>) -> String {
    let database = match source_database.filter(|s| !s.contains('\0')) {
        Some(db) => format!(
            "CASE WHEN j.database = {} THEN current_database() ELSE j.database END",
            crate::postgres::restore::roles::quote_literal(db)
        ),
        None => "j.database".to_string(),
    };
    format!(
        "SELECT cron.alter_job(
                  CASE WHEN j.jobname IS NULL THEN cron.schedule(j.schedule, j.command)
                       ELSE cron.schedule(j.jobname, j.schedule, j.command) END,
                  database := {database}, active := j.active)
           FROM {STAGING} j WHERE j.username = current_user ORDER BY j.jobid;"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_database_is_a_quoted_literal_and_the_jobs_text_never_enters_the_sql() {
        let sql = schedule_sql(Some("it's\\db"));
        assert!(sql.contains("j.database = E'it''s\\\\db'"), "{sql}");
        assert!(sql.contains("FROM pg_temp.offsite_cron_job j WHERE j.username = current_user"));
        // A name PostgreSQL cannot hold is not compared: the jobs keep their database.
        assert!(schedule_sql(Some("a\0b")).contains("database := j.database,"));
        assert!(schedule_sql(None).contains("database := j.database,"));
    }
}
