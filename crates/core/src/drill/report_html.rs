//! The drill report as one printable, self-contained HTML page: inline CSS (with print rules),
//! no script, no external resource (a Content-Security-Policy forbids both), every value
//! HTML-escaped. It shows what the signed JSON holds; the JSON envelope is what proves it (the
//! page names the signing key's id and how to verify).

use super::{CheckStatus, DrillReport, Verdict};
use std::fmt::Write as _;

/// `s` safe as HTML text and as a quoted attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{font:14px/1.45 -apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#111;margin:2em auto;max-width:60em;padding:0 1em}
h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.6em 0 .5em;border-bottom:1px solid #ccc}
.verdict{display:inline-block;padding:.2em .8em;border-radius:4px;font-weight:bold;border:2px solid}
.passed{color:#0a5c1f;border-color:#0a5c1f}.failed{color:#9b1111;border-color:#9b1111}
.not_comparable{color:#7a5a00}.skipped{color:#555}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.3em .5em;border-bottom:1px solid #ddd}
th{background:#f3f3f3}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1.2em;margin:0}dt{color:#555}dd{margin:0}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em;word-break:break-all}
.detail{color:#444;font-size:.92em}footer{margin-top:2em;color:#555;font-size:.9em}
@media print{body{margin:0;max-width:none;font-size:11pt}h2{break-after:avoid}tr{break-inside:avoid}a{color:inherit;text-decoration:none}}
";

fn status_word(s: CheckStatus) -> (&'static str, &'static str) {
    match s {
        CheckStatus::Passed => ("passed", "passed"),
        CheckStatus::Failed => ("failed", "FAILED"),
        CheckStatus::NotComparable => ("not_comparable", "not comparable"),
        CheckStatus::Skipped => ("skipped", "skipped"),
    }
}

fn row(out: &mut String, label: &str, value: &str, mono: bool) {
    let class = if mono { " class=\"mono\"" } else { "" };
    let _ = write!(
        out,
        "<dt>{}</dt><dd{class}>{}</dd>",
        escape(label),
        escape(value)
    );
}

fn duration(seconds: f64) -> String {
    if seconds >= 90.0 {
        format!("{:.1} min ({seconds:.1} s)", seconds / 60.0)
    } else {
        format!("{seconds:.1} s")
    }
}

/// The page. `key_id`: the id of the key that signed the report (`None`: not signed).
pub fn render(report: &DrillReport, key_id: Option<&str>) -> String {
    let (vclass, vword) = match report.verdict {
        Verdict::Passed => ("passed", "PASSED"),
        Verdict::Failed => ("failed", "FAILED"),
    };
    let mut h = String::with_capacity(8 * 1024 + report.checks.len() * 400);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Restore drill {} — {}</title><style>{STYLE}</style></head><body>\n",
        escape(&report.project),
        vword
    );
    let _ = writeln!(
        h,
        "<h1>Restore drill: {}</h1><p><span class=\"verdict {vclass}\">{vword}</span> \
         finished {}</p>",
        escape(&report.project),
        escape(&report.finished_at)
    );
    if let Some(f) = report.first_failure() {
        let _ = writeln!(h, "<p>First failed check: <b>{}</b></p>", escape(&f.title));
    }
    h.push_str("<h2>Backup</h2><dl>");
    row(&mut h, "Project", &report.project, false);
    row(&mut h, "Backup id", &report.backup_id, true);
    row(&mut h, "Backup made", &report.backup_created_at, false);
    row(&mut h, "Archive", &report.archive_name, true);
    row(&mut h, "Archive SHA-256", &report.archive_sha256, true);
    row(
        &mut h,
        "Archive size",
        &format!("{} bytes", report.archive_bytes),
        false,
    );
    if let Some(v) = &report.source_server_version {
        row(&mut h, "Source server", &format!("PostgreSQL {v}"), false);
    }
    h.push_str("</dl>\n<h2>Drill</h2><dl>");
    row(&mut h, "Drill id", &report.drill_id, true);
    row(&mut h, "Started", &report.started_at, false);
    row(&mut h, "Finished", &report.finished_at, false);
    row(
        &mut h,
        "Restored into",
        &format!(
            "{} ({}), {}",
            report.target.kind, report.target.location, report.target.server_version
        ),
        false,
    );
    row(
        &mut h,
        "RTO (measured)",
        &duration(report.rto_seconds),
        false,
    );
    let rpo = match report.rpo_hours {
        Some(r) => format!("{r:.1} h (age of the newest data at the backup's time)"),
        None => "not measured (no freshness query)".to_string(),
    };
    row(&mut h, "RPO (measured)", &rpo, false);
    if let Some(b) = report.restored_database_bytes {
        row(&mut h, "Restored database", &format!("{b} bytes"), false);
    }
    h.push_str(
        "</dl>\n<h2>Checks</h2>\n<table><thead><tr><th>Check</th><th>Status</th>\
                <th>Expected</th><th>Actual</th></tr></thead><tbody>\n",
    );
    for c in &report.checks {
        let (class, word) = status_word(c.status);
        let detail = c
            .detail
            .as_deref()
            .map(|d| format!("<div class=\"detail\">{}</div>", escape(d)))
            .unwrap_or_default();
        let _ = writeln!(
            h,
            "<tr><td>{}<div class=\"detail mono\">{}</div>{detail}</td><td class=\"{class}\">{word}</td>\
             <td>{}</td><td>{}</td></tr>",
            escape(&c.title),
            escape(&c.id),
            escape(c.expected.as_deref().unwrap_or("")),
            escape(c.actual.as_deref().unwrap_or("")),
        );
    }
    h.push_str("</tbody></table>\n<h2>Ran by</h2><dl>");
    row(&mut h, "Machine", &report.ran_by.hostname, false);
    row(&mut h, "System", &report.ran_by.os, false);
    row(&mut h, "Offsite", &report.ran_by.offsite_version, false);
    if let Some(p) = &report.ran_by.pg_restore {
        row(&mut h, "pg_restore", p, false);
    }
    let signed = match key_id {
        Some(k) => format!("Ed25519, key id {k}"),
        None => "not signed".to_string(),
    };
    row(&mut h, "Signature", &signed, true);
    h.push_str(
        "</dl>\n<footer>This page shows the drill report; the signed JSON file beside it \
                (<code>.signed.json</code>, a DSSE envelope) proves it. Check it with \
                <code>offsite drill verify-report FILE --public-key KEY</code>, or without Offsite \
                as docs/drills.md shows.</footer>\n</body></html>\n",
    );
    h
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::drill::{DrillCheck, DrillTargetInfo, RanBy, REPORT_FORMAT};

    pub(crate) fn sample() -> DrillReport {
        DrillReport {
            format: REPORT_FORMAT,
            drill_id: "d-1".into(),
            project: "shop".into(),
            backup_id: "b-1".into(),
            archive_name: "shop.tar.gz".into(),
            archive_sha256: "ab".repeat(32),
            backup_created_at: "2024-05-02T10:00:00.000Z".into(),
            started_at: "2024-05-03T04:00:00.000Z".into(),
            finished_at: "2024-05-03T04:03:00.000Z".into(),
            source_server_version: Some("15.18".into()),
            target: DrillTargetInfo {
                kind: "throwaway".into(),
                server_version: "PostgreSQL 16.4".into(),
                location: "private socket".into(),
            },
            checks: vec![
                DrillCheck {
                    id: "table:public.<script>alert(1)</script>".into(),
                    title: "Table public.<script>alert(1)</script>: rows and content".into(),
                    status: CheckStatus::Failed,
                    expected: Some("3 rows & \"sha\"".into()),
                    actual: Some("2 rows".into()),
                    detail: Some("rows differ <b>".into()),
                },
                DrillCheck {
                    id: "rto".into(),
                    title: "RTO".into(),
                    status: CheckStatus::Passed,
                    expected: None,
                    actual: Some("180.0 s".into()),
                    detail: None,
                },
            ],
            verdict: Verdict::Failed,
            rto_seconds: 180.0,
            archive_bytes: 1234,
            restored_database_bytes: Some(99),
            rpo_hours: Some(12.0),
            ran_by: RanBy {
                hostname: "laptop".into(),
                os: "linux x86_64".into(),
                offsite_version: "offsite 0.1.0".into(),
                pg_restore: Some("pg_restore (PostgreSQL) 16.4".into()),
            },
        }
    }

    #[test]
    fn every_value_is_escaped_and_the_page_has_no_script() {
        let html = render(&sample(), Some("k1d"));
        assert!(!html.contains("<script"), "{html}");
        assert!(
            html.contains("Table public.&lt;script&gt;alert(1)&lt;/script&gt;: rows and content")
        );
        assert!(html.contains("3 rows &amp; &quot;sha&quot;"));
        assert!(html.contains("rows differ &lt;b&gt;"));
        assert!(
            !html.contains("src=") && !html.contains("href="),
            "nothing external"
        );
        assert!(html.contains("default-src 'none'"));
        assert!(html.contains("@media print"));
        for needle in [
            "shop",
            "b-1",
            &"ab".repeat(32),
            "FAILED",
            "3.0 min",
            "12.0 h",
            "laptop",
            "offsite 0.1.0",
            "PostgreSQL 16.4",
            "key id k1d",
            "First failed check",
        ] {
            assert!(html.contains(needle), "{needle}");
        }
        assert!(render(&sample(), None).contains("not signed"));
        assert_eq!(escape("a\u{7}b'"), "a\u{fffd}b&#39;");
    }
}
