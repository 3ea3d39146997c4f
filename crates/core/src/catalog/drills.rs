//! The `drills` table (migration `0010_drills.sql`): one row per restore drill, with its whole
//! report as JSON. The newest passed drill's backup is what retention never removes.

use super::sql::db_error;
use super::Catalog;
use crate::drill::{DrillReport, Verdict};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// A drill as the catalog keeps it (the report is in [`DrillRecord::report`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DrillRecord {
    pub id: String,
    pub project_id: String,
    pub backup_id: String,
    pub job_id: Option<String>,
    pub started_at: String,
    pub finished_at: String,
    pub verdict: Verdict,
    pub rto_seconds: f64,
    /// The first failed check (what a notification names).
    pub failed_check_id: Option<String>,
    pub failed_check_title: Option<String>,
    /// The report file written beside the catalog (`drills/<project>/<drill id>.json`).
    pub report_path: Option<String>,
    pub report: DrillReport,
}

/// A drill without its report: what a list and a project card show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DrillSummary {
    pub id: String,
    pub backup_id: String,
    pub started_at: String,
    pub finished_at: String,
    pub verdict: Verdict,
    pub rto_seconds: f64,
    pub failed_check_id: Option<String>,
    pub failed_check_title: Option<String>,
    pub report_path: Option<String>,
}

impl From<&DrillRecord> for DrillSummary {
    fn from(r: &DrillRecord) -> Self {
        DrillSummary {
            id: r.id.clone(),
            backup_id: r.backup_id.clone(),
            started_at: r.started_at.clone(),
            finished_at: r.finished_at.clone(),
            verdict: r.verdict,
            rto_seconds: r.rto_seconds,
            failed_check_id: r.failed_check_id.clone(),
            failed_check_title: r.failed_check_title.clone(),
            report_path: r.report_path.clone(),
        }
    }
}

type Row = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    f64,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);

type SummaryRow = (
    String,
    String,
    String,
    String,
    String,
    f64,
    Option<String>,
    Option<String>,
    Option<String>,
);

const COLS: &str = "id, project_id, backup_id, job_id, started_at, finished_at, verdict, \
    rto_seconds, failed_check_id, failed_check_title, report_path, report_json";

fn verdict_str(v: Verdict) -> &'static str {
    match v {
        Verdict::Passed => "passed",
        Verdict::Failed => "failed",
    }
}

fn record(row: Row) -> Result<DrillRecord> {
    let report: DrillReport = serde_json::from_str(&row.11).map_err(|e| {
        Error::new(
            crate::error::ErrorKind::Catalog,
            format!("drill {}: its report does not parse ({e})", row.0),
        )
    })?;
    Ok(DrillRecord {
        id: row.0,
        project_id: row.1,
        backup_id: row.2,
        job_id: row.3,
        started_at: row.4,
        finished_at: row.5,
        verdict: if row.6 == "passed" {
            Verdict::Passed
        } else {
            Verdict::Failed
        },
        rto_seconds: row.7,
        failed_check_id: row.8,
        failed_check_title: row.9,
        report_path: row.10,
        report,
    })
}

impl Catalog {
    /// Record a finished drill of project `project_id`.
    pub async fn insert_drill(
        &self,
        project_id: &str,
        job_id: Option<&str>,
        report: &DrillReport,
        report_path: Option<&str>,
    ) -> Result<DrillRecord> {
        let json = serde_json::to_string(report)
            .map_err(|e| Error::internal(format!("drill report to JSON: {e}")))?;
        let failed = report.first_failure();
        sqlx::query(&format!(
            "INSERT INTO drills ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(&report.drill_id)
        .bind(project_id)
        .bind(&report.backup_id)
        .bind(job_id)
        .bind(&report.started_at)
        .bind(&report.finished_at)
        .bind(verdict_str(report.verdict))
        .bind(report.rto_seconds)
        .bind(failed.map(|c| c.id.as_str()))
        .bind(failed.map(|c| c.title.as_str()))
        .bind(report_path)
        .bind(&json)
        .execute(self.pool())
        .await
        .map_err(|e| db_error("recording a drill", e))?;
        self.drill(&report.drill_id).await
    }

    /// One drill by id.
    pub async fn drill(&self, id: &str) -> Result<DrillRecord> {
        let row: Option<Row> = sqlx::query_as(&format!("SELECT {COLS} FROM drills WHERE id = ?"))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| db_error("reading a drill", e))?;
        match row {
            Some(r) => record(r),
            None => Err(Error::not_found(format!("no drill {id:?}"))
                .with_hint("`offsite drill list PROJECT` lists a project's drills")),
        }
    }

    /// A project's drills, newest first.
    pub async fn drills(&self, project_id: &str) -> Result<Vec<DrillRecord>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLS} FROM drills WHERE project_id = ? ORDER BY started_at DESC, id DESC"
        ))
        .bind(project_id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("listing drills", e))?;
        rows.into_iter().map(record).collect()
    }

    /// The newest drill of a project, and its newest passed one (no report read).
    pub async fn last_drills(
        &self,
        project_id: &str,
    ) -> Result<(Option<DrillSummary>, Option<DrillSummary>)> {
        let newest = |only_passed: bool| {
            format!(
                "SELECT id, backup_id, started_at, finished_at, verdict, rto_seconds, \
                 failed_check_id, failed_check_title, report_path FROM drills \
                 WHERE project_id = ? {} ORDER BY started_at DESC, id DESC LIMIT 1",
                if only_passed {
                    "AND verdict = 'passed'"
                } else {
                    ""
                }
            )
        };
        let mut out = [None, None];
        for (i, only_passed) in [false, true].into_iter().enumerate() {
            let row: Option<SummaryRow> = sqlx::query_as(&newest(only_passed))
                .bind(project_id)
                .fetch_optional(self.pool())
                .await
                .map_err(|e| db_error("reading the newest drill", e))?;
            out[i] = row.map(|r| DrillSummary {
                id: r.0,
                backup_id: r.1,
                started_at: r.2,
                finished_at: r.3,
                verdict: if r.4 == "passed" {
                    Verdict::Passed
                } else {
                    Verdict::Failed
                },
                rto_seconds: r.5,
                failed_check_id: r.6,
                failed_check_title: r.7,
                report_path: r.8,
            });
        }
        let [last, passed] = out;
        Ok((last, passed))
    }

    /// The backup of the project's newest passed drill (what retention keeps).
    pub async fn newest_passed_drill_backup(&self, project_id: &str) -> Result<Option<String>> {
        sqlx::query_scalar(
            "SELECT backup_id FROM drills WHERE project_id = ? AND verdict = 'passed' \
             ORDER BY started_at DESC, id DESC LIMIT 1",
        )
        .bind(project_id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| db_error("reading the newest passed drill", e))
    }
}
