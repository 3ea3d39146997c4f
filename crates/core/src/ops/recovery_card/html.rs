//! The recovery card as one self-contained HTML page (no scripts, no outside resources; printed
//! on paper it says everything). Every text from the catalog or the user is escaped.

use super::RecoveryCard;
use crate::drill::report_html::escape;
use crate::schedule::format_target;
use crate::units::format_bytes;
use std::fmt::Write;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:50em;margin:2em auto;color:#111}\
h1{font-size:1.5em}h2{font-size:1.15em;border-bottom:1px solid #999;margin-top:1.5em}\
table{border-collapse:collapse;width:100%}td,th{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}\
code,pre{font-family:ui-monospace,monospace;font-size:.9em}pre{background:#f4f4f4;padding:.5em;white-space:pre-wrap}\
.bad{color:#a00}@media print{body{margin:0}}";

fn row(out: &mut String, k: &str, v: &str) {
    let _ = write!(out, "<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(v));
}

/// The page.
pub fn render(card: &RecoveryCard) -> String {
    let mut o = String::new();
    let name = escape(&card.project);
    let _ = write!(
        o,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>Recovery card: {name}</title><style>{STYLE}</style></head><body>\
         <h1>Recovery card: {name}</h1><p>Made {} by Offsite. Keep it printed, away from this computer. \
         The steps for each kind of loss are in Offsite's docs/recovery.md.</p>",
        escape(&card.made_at)
    );
    o.push_str("<h2>Who to call</h2>");
    if card.contacts.is_empty() {
        o.push_str("<p>No contacts given (offsite recovery-card PROJECT --contact \"Name &lt;mail&gt;\").</p>");
    } else {
        o.push_str("<ul>");
        for c in &card.contacts {
            let _ = write!(o, "<li>{}</li>", escape(c));
        }
        o.push_str("</ul>");
    }
    o.push_str("<h2>The project</h2><table>");
    row(&mut o, "Database", &card.database);
    row(&mut o, "Backup folder", &card.backup_dir);
    let enc = match card.encryption.as_str() {
        "off" => "off: archives are plain .tar.zst files".to_string(),
        "key" => "on (age key): the recovery key (AGE-SECRET-KEY-1…) printed or saved when encryption was set up is needed".to_string(),
        "passphrase" => "on (passphrase): the passphrase is needed".to_string(),
        other => other.to_string(),
    };
    row(&mut o, "Encryption", &enc);
    let t = |v: Option<u32>| v.map(format_target).unwrap_or_else(|| "not set".into());
    row(
        &mut o,
        "Recovery point target (RPO)",
        &t(card.targets.rpo_seconds),
    );
    row(
        &mut o,
        "Recovery time target (RTO)",
        &t(card.targets.rto_seconds),
    );
    let drill = match &card.last_drill {
        None => "never: no drill has restored a backup yet".to_string(),
        Some(d) if d.passed => format!(
            "passed {}, restored and checked in {:.1} s",
            d.finished_at, d.rto_seconds
        ),
        Some(d) => format!(
            "FAILED {}{}",
            d.finished_at,
            d.failed_check
                .as_deref()
                .map(|c| format!(": {c}"))
                .unwrap_or_default()
        ),
    };
    row(&mut o, "Last drill", &drill);
    o.push_str("</table>");
    backups(&mut o, card);
    how_to_open(&mut o, card);
    o.push_str("</body></html>\n");
    o
}

fn backups(o: &mut String, card: &RecoveryCard) {
    o.push_str("<h2>Where the backups are</h2>");
    if !card.destinations.is_empty() {
        o.push_str("<p>Destinations:</p><ul>");
        for (n, at) in &card.destinations {
            let _ = write!(o, "<li>{}: <code>{}</code></li>", escape(n), escape(at));
        }
        o.push_str("</ul>");
    }
    if card.backups.is_empty() {
        o.push_str("<p class=\"bad\">No good backup yet.</p>");
        return;
    }
    o.push_str("<table><tr><th>Backup</th><th>Copies</th></tr>");
    for b in &card.backups {
        let _ = write!(
            o,
            "<tr><td>{} · {} · {}<br><code>{}</code><br>id <code>{}</code><br>SHA-256 <code>{}</code></td><td><ul>",
            escape(&b.created_at),
            escape(&b.backup_type),
            escape(&format_bytes(b.size)),
            escape(&b.file_name),
            escape(&b.id),
            escape(&b.sha256)
        );
        for c in &b.copies {
            let _ = write!(
                o,
                "<li{}>{}: <code>{}</code>{}</li>",
                if c.ok { "" } else { " class=\"bad\"" },
                escape(&c.place),
                escape(&c.location),
                if c.ok { "" } else { " (damaged or missing)" }
            );
        }
        o.push_str("</ul></td></tr>");
    }
    o.push_str("</table>");
}

fn how_to_open(o: &mut String, card: &RecoveryCard) {
    let file = card
        .backups
        .first()
        .map(|b| b.file_name.clone())
        .unwrap_or_else(|| format!("{}_YYYYMMDD_HHMMSS_database.tar.zst", card.project));
    let plain = file.strip_suffix(".age").unwrap_or(&file).to_string();
    let mut steps = String::new();
    let _ = writeln!(
        steps,
        "sha256sum {}   # compare with the SHA-256 above",
        shell_word(&file)
    );
    if file.ends_with(".age") {
        let _ = writeln!(
            steps,
            "age -d -i recovery-key.txt -o {} {}   # a passphrase: age -d -o … (asks for it)",
            shell_word(&plain),
            shell_word(&file)
        );
    }
    let _ = writeln!(
        steps,
        "mkdir backup && tar {} {} -C backup",
        tar_flags(&plain),
        shell_word(&plain)
    );
    steps.push_str("createdb restored\n");
    // Read, never run: a file from elsewhere may hold psql commands (`\!` runs a program here)
    // that only Offsite's gate refuses.
    steps.push_str(
        "cat backup/globals.sql   # the roles it names: read them and create the ones you need yourself (CREATE ROLE …); never psql -f it unread — with Offsite, restore --create-roles reads it through its parser\n",
    );
    if card.backups.first().is_some_and(|b| b.dump_directory) {
        steps.push_str(
            "pg_restore --no-owner -j 4 -d restored backup/database   # a folder: pg_dump's directory format\n",
        );
    } else {
        steps.push_str(
            "pg_restore --no-owner -d restored backup/database.dump   # an older backup may hold backup/database (a folder) instead\n",
        );
    }
    let _ = write!(
        o,
        "<h2>Opening a backup without Offsite</h2><p>With Offsite: <code>offsite restore {} --to postgres://…</code>. \
         Without it, with age, tar (with zstd for a <code>.tar.zst</code>) and PostgreSQL's client tools:</p><pre>{}</pre>\
         <p><code>backup/{}</code> (the archive's manifest) lists every member with its SHA-256 and every table's row count.</p>",
        escape(&file),
        escape(&steps),
        crate::archive::manifest::MANIFEST_NAME
    );
}

/// tar's flags to extract `file` by its compression: `.tar.gz` is gzip (`-xzf`), anything else
/// Offsite writes is zstd (`--zstd -xf`, GNU tar 1.31 or later).
fn tar_flags(file: &str) -> &'static str {
    if file.ends_with(".tar.gz") || file.ends_with(".tgz") {
        "-xzf"
    } else {
        "--zstd -xf"
    }
}

/// A file name as one shell word (single-quoted unless it is plain).
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-+:/".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::recovery_card::{CardBackup, CardCopy};

    #[test]
    fn every_text_is_escaped() {
        let card = RecoveryCard {
            project: "<script>alert(1)</script>".into(),
            database: "postgres://u@h/db\"><img src=x>".into(),
            backup_dir: "/b".into(),
            encryption: "key".into(),
            targets: Default::default(),
            backups: vec![CardBackup {
                id: "1".into(),
                created_at: "t".into(),
                backup_type: "database".into(),
                size: 1,
                sha256: "ab".into(),
                file_name: "x'<b>.tar.zst.age".into(),
                dump_directory: false,
                copies: vec![CardCopy {
                    place: "<i>usb".into(),
                    location: "/m".into(),
                    ok: true,
                }],
            }],
            destinations: vec![("<u>".into(), "&".into())],
            last_drill: None,
            contacts: vec!["Ann <ann@example.com>".into()],
            made_at: "now".into(),
        };
        let html = render(&card);
        for raw in ["<script>", "<img", "<b>", "<i>", "<u>", "<ann@"] {
            assert!(!html.contains(raw), "{raw} unescaped");
        }
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("Ann &lt;ann@example.com&gt;"));
        assert!(html.contains("age -d -i recovery-key.txt"));
        assert!(html.contains("tar --zstd -xf"), "a .tar.zst archive");
    }

    #[test]
    fn the_tar_line_follows_the_archive_s_compression() {
        assert_eq!(tar_flags("shop_20261121_101500_database.tar.gz"), "-xzf");
        assert_eq!(
            tar_flags("shop_20261121_101500_database.tar.zst"),
            "--zstd -xf"
        );
        let mut card = RecoveryCard {
            project: "shop".into(),
            database: "postgres://u@h/db".into(),
            backup_dir: "/b".into(),
            encryption: "key".into(),
            targets: Default::default(),
            backups: vec![CardBackup {
                id: "1".into(),
                created_at: "t".into(),
                backup_type: "database".into(),
                size: 1,
                sha256: "ab".into(),
                file_name: "shop_20261121_101500_database.tar.gz.age".into(),
                dump_directory: true,
                copies: vec![],
            }],
            destinations: vec![],
            last_drill: None,
            contacts: vec![],
            made_at: "now".into(),
        };
        let html = render(&card);
        assert!(
            html.contains("tar -xzf shop_20261121_101500_database.tar.gz -C backup"),
            "{html}"
        );
        assert!(!html.contains("--zstd"), "{html}");
        assert!(html.contains("pg_restore --no-owner -j 4 -d restored backup/database "));
        card.backups[0].dump_directory = false;
        card.backups[0].file_name = "shop_20261121_101500_database.tar.zst".into();
        let html = render(&card);
        assert!(html.contains("tar --zstd -xf shop_20261121_101500_database.tar.zst -C backup"));
        assert!(!html.contains("age -d"), "not encrypted: no age line");
        assert!(html.contains("pg_restore --no-owner -d restored backup/database.dump "));
    }

    /// The card's manual steps read the archive's `globals.sql`; none runs it with psql (which
    /// would run any `\!` line of a file from elsewhere, outside Offsite's gate).
    #[test]
    fn the_steps_read_globals_sql_and_never_run_it() {
        let card = RecoveryCard {
            project: "shop".into(),
            database: "postgres://u@h/db".into(),
            backup_dir: "/b".into(),
            encryption: "off".into(),
            targets: Default::default(),
            backups: vec![],
            destinations: vec![],
            last_drill: None,
            contacts: vec![],
            made_at: "now".into(),
        };
        let html = render(&card);
        assert!(html.contains("cat backup/globals.sql"), "{html}");
        assert!(!html.contains("-f backup/globals.sql"), "{html}");
        assert!(
            !html.lines().any(|l| l.trim_start().starts_with("psql")),
            "no step runs psql: {html}"
        );
    }
}
