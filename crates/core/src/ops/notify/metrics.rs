//! Prometheus metrics per project, in the text exposition format (version 0.0.4): what the
//! agent serves at `GET /metrics` and what `offsite daemon|run-due --metrics-file FILE` writes
//! for node_exporter's textfile collector. Documented in docs/notifications.md.
//!
//! Every sample carries `project` (its name) and `project_id`. A value Offsite does not know
//! (no successful backup yet, no drill) has no sample rather than a made-up one.

use crate::catalog::{parse_timestamp, ProjectMetricsRow};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ops::notify::watch::space::{stored_and_space, StoredAndSpace};
use crate::ops::ProjectStatus;
use std::fmt::Write as _;
use std::path::Path;
use time::OffsetDateTime;

/// The content type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One project's values, as rendered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectMetrics {
    pub row: ProjectMetricsRow,
    /// The project has an active (not paused) backup schedule.
    pub scheduled: bool,
    /// Overdue by the schedules' rule (`schedule::overdue`, as `offsite status` says).
    pub overdue: bool,
    /// Its backups and its backup folder's room (`None`: could not be read).
    pub stored: Option<StoredAndSpace>,
    /// Its retention's count rules that are set (`keep-daily`, 7); empty: keeps everything
    /// (or only `keep-within`).
    pub retention: Vec<(&'static str, u32)>,
}

/// A metric family: name, type, help; and how to read its value from a project.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    value: fn(&ProjectMetrics) -> Option<f64>,
}

fn ts(s: &Option<String>) -> Option<f64> {
    let t = parse_timestamp(s.as_deref()?).ok()?;
    Some(t.unix_timestamp_nanos() as f64 / 1e9)
}

fn duration(p: &ProjectMetrics) -> Option<f64> {
    let start = ts(&p.row.last_success_started_at)?;
    let end = ts(&p.row.last_success_at)?;
    Some((end - start).max(0.0))
}

fn flag(b: bool) -> Option<f64> {
    Some(if b { 1.0 } else { 0.0 })
}

const FAMILIES: &[Family] = &[
    Family {
        name: "offsite_backup_last_success_timestamp_seconds",
        kind: "gauge",
        help: "Unix time the newest successful backup of the project finished.",
        value: |p| ts(&p.row.last_success_at),
    },
    Family {
        name: "offsite_backup_last_duration_seconds",
        kind: "gauge",
        help: "How long the newest successful backup took, in seconds.",
        value: duration,
    },
    Family {
        name: "offsite_backup_last_size_bytes",
        kind: "gauge",
        help: "Size of the newest successful backup's archive, in bytes.",
        value: |p| p.row.last_success_size.map(|s| s as f64),
    },
    Family {
        name: "offsite_backup_failures_total",
        kind: "counter",
        help: "Failed backups recorded in the catalog.",
        value: |p| Some(p.row.failures_total as f64),
    },
    Family {
        name: "offsite_backup_consecutive_failures",
        kind: "gauge",
        help: "Failed backups since the newest successful one.",
        value: |p| Some(p.row.consecutive_failures as f64),
    },
    Family {
        name: "offsite_backup_scheduled",
        kind: "gauge",
        help: "1 when the project has an active (not paused) backup schedule.",
        value: |p| flag(p.scheduled),
    },
    Family {
        name: "offsite_backup_overdue",
        kind: "gauge",
        help: "1 when the project is overdue: no good backup for the schedule's longest gap plus the grace.",
        value: |p| flag(p.overdue),
    },
    Family {
        name: "offsite_copies_pending",
        kind: "gauge",
        help: "Copies of the project's backups waiting for their destination.",
        value: |p| Some(p.row.copies_pending as f64),
    },
    Family {
        name: "offsite_copies_pending_oldest_timestamp_seconds",
        kind: "gauge",
        help: "Unix time since which the oldest pending copy waits.",
        value: |p| ts(&p.row.oldest_pending_since),
    },
    Family {
        name: "offsite_drill_last_timestamp_seconds",
        kind: "gauge",
        help: "Unix time the newest restore drill of the project finished.",
        value: |p| ts(&p.row.last_drill_at),
    },
    Family {
        name: "offsite_drill_last_passed",
        kind: "gauge",
        help: "1 when the newest restore drill passed, 0 when it failed.",
        value: |p| p.row.last_drill_passed.and_then(flag),
    },
    Family {
        name: "offsite_drill_last_rto_seconds",
        kind: "gauge",
        help: "The recovery time the newest restore drill measured, in seconds.",
        value: |p| p.row.last_drill_rto_seconds,
    },
    Family {
        name: "offsite_backups_stored",
        kind: "gauge",
        help: "Backups of the project in the catalog (what retention keeps).",
        value: |p| p.stored.as_ref().map(|s| s.backups as f64),
    },
    Family {
        name: "offsite_backups_stored_bytes",
        kind: "gauge",
        help: "Bytes of the project's backups in the catalog.",
        value: |p| p.stored.as_ref().map(|s| s.bytes as f64),
    },
    Family {
        name: "offsite_backup_folder_free_bytes",
        kind: "gauge",
        help: "Free bytes of the file system holding the project's backup folder.",
        value: |p| p.stored.as_ref().map(|s| s.space.free_bytes as f64),
    },
    Family {
        name: "offsite_backup_folder_total_bytes",
        kind: "gauge",
        help: "Size of the file system holding the project's backup folder, in bytes.",
        value: |p| p.stored.as_ref().map(|s| s.space.total_bytes as f64),
    },
    Family {
        name: "offsite_backup_folder_days_until_full",
        kind: "gauge",
        help: "Days until the backup folder's file system is full at the last 14 days' growth (no sample when not growing).",
        value: |p| p.stored.as_ref().and_then(|s| s.space.days_until_full),
    },
    Family {
        name: "offsite_backup_folder_space_low",
        kind: "gauge",
        help: "1 when the space watcher's rule holds for the backup folder (less free than the next backup needs, under the floor, or full soon).",
        value: |p| p.stored.as_ref().and_then(|s| flag(s.low)),
    },
];

/// The retention rules, one sample per rule that is set (`rule` label).
fn render_retention(out: &mut String, projects: &[ProjectMetrics]) {
    let _ = writeln!(
        out,
        "# HELP offsite_retention_keep A count rule of the project's retention policy (rule: keep_last, keep_daily, …); none: everything is kept.\n# TYPE offsite_retention_keep gauge"
    );
    for p in projects {
        for (rule, n) in &p.retention {
            let _ = writeln!(
                out,
                "offsite_retention_keep{{project=\"{}\",project_id=\"{}\",rule=\"{}\"}} {n}",
                escape_label(&p.row.name),
                escape_label(&p.row.project_id),
                rule.replace('-', "_")
            );
        }
    }
}

/// The text exposition of `projects` at `now`.
pub fn render(projects: &[ProjectMetrics], now: OffsetDateTime) -> String {
    let mut out = String::with_capacity(256 + projects.len() * 1200);
    for f in FAMILIES {
        let _ = writeln!(out, "# HELP {} {}", f.name, escape_help(f.help));
        let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind);
        for p in projects {
            if let Some(v) = (f.value)(p) {
                let _ = writeln!(
                    out,
                    "{}{{project=\"{}\",project_id=\"{}\"}} {}",
                    f.name,
                    escape_label(&p.row.name),
                    escape_label(&p.row.project_id),
                    number(v)
                );
            }
        }
    }
    render_retention(&mut out, projects);
    let _ = writeln!(
        out,
        "# HELP offsite_projects Projects in the catalog.\n# TYPE offsite_projects gauge\noffsite_projects {}",
        projects.len()
    );
    let _ = writeln!(
        out,
        "# HELP offsite_metrics_generated_timestamp_seconds Unix time these metrics were read from the catalog.\n\
         # TYPE offsite_metrics_generated_timestamp_seconds gauge\n\
         offsite_metrics_generated_timestamp_seconds {}",
        number(now.unix_timestamp_nanos() as f64 / 1e9)
    );
    out
}

/// A label value: `\`, `"` and line feeds escaped, as the format asks.
pub fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A HELP text: `\` and line feeds escaped.
fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A sample value as the format writes it (integers without a fraction, milliseconds kept).
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Write `text` to `path` as a whole or not at all, for node_exporter's textfile collector: a
/// temporary file beside it (private while written; its name does not end in `.prom`, so the
/// collector never reads it half-written), fsynced, made readable by others (the collector runs
/// as another user; the file holds project names and numbers, nothing secret), renamed over
/// `path`.
pub fn write_textfile(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let io =
        |e: std::io::Error| Error::io(format!("writing the metrics file {}", path.display()), e);
    let mut tmp = crate::private_fs::tempfile_in(dir, ".offsite-metrics-").map_err(io)?;
    tmp.as_file_mut().write_all(text.as_bytes()).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io)?;
    }
    tmp.as_file_mut().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

impl Engine {
    /// Every project's metrics now, in the Prometheus text format.
    pub async fn metrics_text(&self) -> Result<String> {
        let now = self.clock.now();
        let rows = self.catalog.metrics_rows().await?;
        let statuses = crate::ops::schedule::status(self, None, now).await?;
        let mut projects = combine(rows, &statuses);
        for p in &mut projects {
            self.add_retention_and_space(p).await;
        }
        Ok(render(&projects, now))
    }

    /// [`Self::metrics_text`] written to `path` atomically ([`write_textfile`]).
    pub async fn write_metrics_file(&self, path: &Path) -> Result<()> {
        let text = self.metrics_text().await?;
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || write_textfile(&path, &text))
            .await
            .map_err(|e| Error::internal(format!("writing the metrics file: {e}")))?
    }
}

impl Engine {
    /// What retention keeps and the room left, into `p` (a project that cannot be read keeps
    /// no sample, and is logged).
    async fn add_retention_and_space(&self, p: &mut ProjectMetrics) {
        let Ok(project) = self.catalog.project(&p.row.name).await else {
            return;
        };
        match stored_and_space(self, &project).await {
            Ok(s) => p.stored = Some(s),
            Err(e) => tracing::warn!(project = %project.name, "metrics: space not read: {e}"),
        }
        if let Ok(r) = crate::ops::schedule::retention(self, &project.name).await {
            p.retention = r.policy.count_rules();
        }
    }
}

/// The catalog's rows with the schedules' verdicts (matched by project name).
fn combine(rows: Vec<ProjectMetricsRow>, statuses: &[ProjectStatus]) -> Vec<ProjectMetrics> {
    rows.into_iter()
        .map(|row| {
            let s = statuses.iter().find(|s| s.name == row.name);
            ProjectMetrics {
                scheduled: s.is_some_and(|s| s.schedule.is_some() && !s.paused),
                overdue: s.is_some_and(|s| s.overdue),
                row,
                ..Default::default()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn labels_and_numbers_are_written_as_the_format_asks() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(1764000000.25), "1764000000.25");
        assert_eq!(number(0.1234), "0.123");
        assert_eq!(number(f64::INFINITY), "+Inf");
        let p = ProjectMetrics {
            row: ProjectMetricsRow {
                project_id: "id-1".into(),
                name: "we\"ird\\name".into(),
                failures_total: 2,
                ..Default::default()
            },
            scheduled: true,
            overdue: true,
            ..Default::default()
        };
        let text = render(&[p], datetime!(2026-11-24 10:00 UTC));
        assert!(text.contains(
            "offsite_backup_failures_total{project=\"we\\\"ird\\\\name\",project_id=\"id-1\"} 2\n"
        ));
        assert!(text.contains("# TYPE offsite_backup_failures_total counter\n"));
        assert!(text.contains(
            "offsite_backup_overdue{project=\"we\\\"ird\\\\name\",project_id=\"id-1\"} 1\n"
        ));
        // Unknown values have no sample.
        assert!(!text.contains("offsite_drill_last_passed{"));
        assert!(text.ends_with("offsite_metrics_generated_timestamp_seconds 1795514400\n"));
    }
}
