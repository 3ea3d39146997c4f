//! Everything the CLI prints: human-readable text, or exactly one JSON document on stdout.

use offsite_core::archive::{Manifest, SidecarStatus, VerifyReport};
use offsite_core::catalog::Project;
use offsite_core::ops::{BackupOutcome, ConnectionReport, ListedBackup};
use offsite_core::progress::{Phase, Progress, ProgressUpdate};
use offsite_core::restore::{DatabasePlan, DatabaseReport};
use offsite_core::units::format_bytes as human_size;
use offsite_core::{Error, ErrorPayload};
use serde::Serialize;
use serde_json::json;
use std::path::Path;

#[derive(Clone)]
pub struct Out {
    json: bool,
    /// Added as `"at"` to every JSON document emitted: which state a `PROJECT@TIME` was.
    at: Option<serde_json::Value>,
}

impl Out {
    pub fn new(json: bool) -> Self {
        Out { json, at: None }
    }
    /// This output, with `at` added to every JSON object it emits.
    pub fn with_at<T: Serialize>(&self, at: &T) -> Out {
        Out {
            json: self.json,
            at: serde_json::to_value(at).ok(),
        }
    }
    pub fn json(&self) -> bool {
        self.json
    }

    pub(crate) fn emit<T: Serialize>(&self, value: &T) {
        let text = match (&self.at, serde_json::to_value(value)) {
            (Some(at), Ok(serde_json::Value::Object(mut o))) => {
                o.insert("at".into(), at.clone());
                serde_json::to_string_pretty(&o)
            }
            _ => serde_json::to_string_pretty(value),
        };
        println!("{}", text.expect("serializable"));
    }

    pub fn error(&self, e: &Error) {
        if self.json {
            self.emit(&json!({ "error": ErrorPayload::from(e) }));
        } else {
            eprintln!("error: {}", e.message());
            if let Some(h) = e.hint() {
                eprintln!("hint: {h}");
            }
            if let Some(d) = e.detail() {
                eprintln!("detail: {d}");
            }
        }
    }

    pub fn done(&self, message: &str) {
        if self.json {
            self.emit(&json!({ "ok": true, "message": message }));
        } else {
            println!("{message}");
        }
    }

    pub fn project(&self, p: &Project, backup_dir: &Path) {
        if self.json {
            self.emit(&json!({ "project": p, "backup_dir": backup_dir }));
        } else {
            println!("name:        {}", p.name);
            println!("database:    {}", p.db_url);
            println!("tls:         {}", p.tls_mode);
            println!("backups in:  {}", backup_dir.display());
            println!("added:       {}", p.created_at);
        }
    }

    /// `project show`: the project and what its backups hold.
    pub fn project_shown(
        &self,
        p: &Project,
        backup_dir: &Path,
        selection: &offsite_core::selection::BackupSelection,
        targets: &offsite_core::schedule::Targets,
    ) {
        if self.json {
            self.emit(&json!({ "project": p, "backup_dir": backup_dir, "selection": selection, "targets": targets }));
        } else {
            self.project(p, backup_dir);
            for line in crate::selection_cmd::lines(selection) {
                println!("{line}");
            }
            println!("targets:     {}", crate::project_cmd::targets_line(targets));
        }
    }

    /// A project just added: what `project` shows, and the retention policy it was given.
    pub fn project_added(
        &self,
        p: &Project,
        backup_dir: &Path,
        retention: &offsite_core::ops::RetentionView,
    ) {
        if self.json {
            self.emit(&json!({ "project": p, "backup_dir": backup_dir, "retention": retention }));
        } else {
            self.project(p, backup_dir);
            println!(
                "retention:   {} (recommended; change it with `offsite retention set {}`, no rule keeps everything)",
                retention.rules, p.name
            );
        }
    }

    pub fn projects(&self, ps: &[Project]) {
        if self.json {
            self.emit(&json!({ "projects": ps }));
        } else if ps.is_empty() {
            println!("no projects yet: add one with `offsite project add NAME --db postgres://USER@HOST/DB`");
        } else {
            for p in ps {
                println!("{:<24} {}", p.name, p.db_url);
            }
        }
    }

    pub fn connection(&self, r: &ConnectionReport) {
        if self.json {
            self.emit(r);
            return;
        }
        println!("server:       PostgreSQL {}", r.server_version);
        println!("database:     {}", human_size(r.database_size));
        println!(
            "role:         {}{}",
            r.user,
            if r.superuser { " (superuser)" } else { "" }
        );
        match (&r.pg_dump, &r.pg_dump_problem) {
            (Some(t), _) => println!("pg_dump:      {} ({})", t.version_line, t.dir.display()),
            (None, Some(p)) => println!("pg_dump:      none fits: {p}"),
            _ => {}
        }
        if r.unreadable.is_empty() {
            println!("permissions:  can read everything a dump needs");
        } else {
            println!(
                "permissions:  cannot read {}:",
                crate::words::count(r.unreadable.len(), "object")
            );
            for o in &r.unreadable {
                println!("  {o}");
            }
        }
        println!(
            "{}",
            if r.can_dump {
                "ready to back up"
            } else {
                "NOT ready to back up"
            }
        );
    }

    pub fn backup(&self, o: &BackupOutcome) {
        if self.json {
            self.emit(&json!({
                "job_id": o.job_id,
                "id": o.backup.id,
                "path": o.backup.path,
                "size": o.backup.size,
                "sha256": o.backup.sha256,
                "created_at": o.backup.created_at,
                "copies": o.copies,
                "suspicious": o.suspicious,
            }));
        } else {
            println!("{}", o.backup.path);
            if !o.suspicious.is_empty() {
                eprintln!(
                    "offsite: this backup is SUSPICIOUS (compared with the previous good one): {}",
                    o.suspicious.join("; ")
                );
            }
            for c in &o.copies {
                if let Some(e) = &c.error {
                    eprintln!(
                        "offsite: the copy to {} is pending ({}); `offsite sync` tries again",
                        c.destination, e.message
                    );
                }
            }
        }
    }

    pub fn backups(
        &self,
        project: &str,
        listed: &[ListedBackup],
        safety: &[offsite_core::ops::safety::SafetyBackup],
    ) {
        let missing = listed.iter().filter(|b| b.missing).count();
        if self.json {
            self.emit(&json!({ "backups": listed, "safety_backups": safety }));
        } else {
            print_backups(listed, safety);
        }
        // A missing backup with a copy at a destination is fetched back, never forgotten.
        for l in listed.iter().filter(|l| l.missing) {
            if let Some(from) = &l.fetch_from {
                eprintln!(
                    "backup {} is MISSING here, but {from} holds a checked copy: fetch it back \
                     with `offsite fetch-copy {} {} --from {from}`",
                    l.record.id, project, l.record.id
                );
            }
        }
        let missing = missing - listed.iter().filter(|l| l.fetch_from.is_some()).count();
        if missing > 0 {
            eprintln!(
                "{} MISSING: the archive file is no longer at its path, so it cannot \
                 be verified or restored. Put the file back, or remove the entry with \
                 `offsite forget ID` (ids: `offsite backups NAME --json`).",
                crate::words::count(missing, "backup")
            );
        }
    }

    pub fn verify(&self, r: &VerifyReport) {
        if self.json {
            self.emit(r);
            return;
        }
        for m in &r.members {
            let state = if m.ok { "ok" } else { "BAD" };
            println!(
                "{state:<4} {:<40} {}",
                m.name,
                m.problem.as_deref().unwrap_or("")
            );
        }
        match &r.sidecar {
            SidecarStatus::Match => println!("ok   {:<40} whole file matches", "<archive>.sha256"),
            SidecarStatus::Missing => println!(
                "--   {:<40} not present (members were checked)",
                "<archive>.sha256"
            ),
            SidecarStatus::Mismatch { .. } => println!(
                "BAD  {:<40} whole-file checksum differs",
                "<archive>.sha256"
            ),
        }
        for p in &r.problems {
            println!("problem: {p}");
        }
        if let Some(t) = r.manifest.as_ref().and_then(|m| m.tenant.as_ref()) {
            println!("tenant:  {}={} ({}.{})", t.name, t.value, t.root, t.key);
            println!("{}", t.isolation_line());
        }
        if let Some(note) = &r.contents_not_checked {
            println!("note: {note} (give the key with --key-stdin to check them)");
        }
        match &r.first_bad {
            None if r.ok && r.contents_not_checked.is_some() => println!(
                "ciphertext intact (contents not checked): {}",
                r.archive.display()
            ),
            None if r.ok => println!("intact: {}", r.archive.display()),
            Some(bad) => println!("DAMAGED: first damaged file in the archive: {bad}"),
            None => println!("DAMAGED: {}", r.archive.display()),
        }
    }

    /// An archive's manifest; `catalog_id`: the catalog's id of the backup, when known.
    pub fn inspect(&self, path: &Path, m: &Manifest, catalog_id: Option<&str>) {
        if self.json {
            self.emit(m);
            return;
        }
        println!("archive:     {}", path.display());
        println!("format:      v{}", m.format_version);
        println!("backup id:   {} (the archive's own)", m.backup_id);
        if let Some(id) = catalog_id {
            println!("catalog id:  {id}");
        }
        println!("project:     {}", m.project);
        println!("type:        {}", m.backup_type.as_str());
        println!("created:     {}", m.created_at);
        println!("made by:     {}", m.versions.tool);
        if let Some(v) = &m.versions.server {
            println!("server:      PostgreSQL {v}");
        }
        if let Some(v) = &m.versions.pg_dump {
            println!("pg_dump:     {v}");
        }
        if let (Some(h), Some(d)) = (&m.source.host, &m.source.database) {
            println!("source:      {h}:{}/{d}", m.source.port.unwrap_or(5432));
        }
        if let Some(t) = &m.tenant {
            println!(
                "tenant:      {}={} (root {}, key {})",
                t.name, t.value, t.root, t.key
            );
            if let Some(id) = &t.source_backup_id {
                println!("split from:  {id}");
            }
            println!(
                "{:<13}{}",
                "isolation:",
                t.isolation_line().trim_start_matches("isolation: ")
            );
        }
        if let Some(sel) = &m.selection {
            for line in crate::selection_cmd::lines(sel) {
                println!("{line}");
            }
        }
        if let Some(note) = &m.tables_note {
            println!("note:        {note}");
        }
        if let Some(note) = &m.globals_note {
            println!("note:        {note}");
        }
        println!("files in the archive:");
        for e in &m.members {
            println!(
                "  {:<32} {:>12}  sha256 {}",
                e.name,
                human_size(e.size),
                e.sha256
            );
        }
        if m.tables.is_empty() && !m.dump_tables.is_empty() {
            println!(
                "tables:      {} (row counts not recorded)",
                m.dump_tables.len()
            );
            for t in &m.dump_tables {
                println!("  {t}");
            }
            return;
        }
        let rows: u64 = m.tables.iter().map(|t| t.rows).sum();
        println!("tables:      {} ({} rows)", m.tables.len(), rows);
        for t in &m.tables {
            println!("  {}.{}: {}", t.schema, t.table, t.rows);
        }
    }

    /// The database section of a restore plan, for people.
    pub fn plan(&self, p: &DatabasePlan) {
        println!("restore plan");
        println!(
            "  backup:      {} ({}, {})",
            p.archive.display(),
            p.project,
            p.created_at
        );
        println!("  target:      {}", p.target);
        println!("  server:      PostgreSQL {}", p.target_server_version);
        // The tool that will run: psql for a plain SQL dump, else pg_restore.
        let tool = Path::new(&p.pg_restore)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "pg_restore".into());
        println!("  {:<12} {}", format!("{tool}:"), p.pg_restore_version);
        println!("  target is:   {}", target_state(p));
        println!(
            "  will create: {} (tables, views, functions), {}",
            crate::words::count(p.will_create.len(), "object"),
            if p.rows_recorded {
                crate::words::plural(p.rows, "row")
            } else {
                "row counts unknown (the backup is an imported dump that recorded none)".into()
            }
        );
        if !p.will_replace.is_empty() {
            println!(
                "  will REPLACE {} (tables, views, functions): {}",
                crate::words::count(p.will_replace.len(), "object"),
                p.will_replace.join(", ")
            );
        }
        if !p.will_keep.is_empty() {
            println!("  will keep:   {}", p.will_keep.join(", "));
        }
        if !p.will_drop.is_empty() {
            println!(
                "  will DROP {} not in the backup that depend on replaced ones: {}",
                crate::words::count(p.will_drop.len(), "object"),
                p.will_drop.join("; ")
            );
        }
        println!(
            "  connecting as: {}{}",
            p.connecting_role,
            if p.connecting_superuser {
                " (superuser)"
            } else {
                " (not a superuser)"
            }
        );
        plan_roles(p);
        for m in &p.managed_schemas {
            println!(
                "  schema {} (owned by {}): kept as the target has it ({})",
                m.schema,
                m.owner,
                crate::words::plural(m.kept_objects, "object")
            );
            if !m.load_rows.is_empty() {
                println!("    rows loaded into: {}", m.load_rows.join(", "));
            }
            for k in &m.kept_rows {
                println!("    rows kept: {k}");
            }
            if !m.added.is_empty() {
                println!("    added: {}", m.added.join("; "));
            }
            for n in &m.notes {
                println!("    note: {n}");
            }
        }
        for o in &p.owned_by_others {
            println!(
                "  owned by {} ({} cannot act for it){}: {}",
                o.role,
                p.connecting_role,
                if p.no_owner {
                    ", restored as yours"
                } else {
                    ""
                },
                o.objects.join(", ")
            );
        }
        if !p.superuser_only.is_empty() {
            println!("  needs a superuser: {}", p.superuser_only.join(", "));
        }
        if !p.platform_privileges.is_empty() {
            println!(
                "  privileges kept as the target has them (what the platform owns that {} may not grant on, or a power over the server the backup would grant):\n    {}",
                p.connecting_role,
                p.platform_privileges.join("\n    ")
            );
        }
        for l in &p.left_out {
            println!("  left out: {l}");
        }
        if let Some(sel) = &p.selection {
            println!(
                "  selection:   {} ({}){}",
                sel.tables.join(", "),
                match sel.what {
                    offsite_core::postgres::restore::SelectWhat::Both => "definitions and rows",
                    offsite_core::postgres::restore::SelectWhat::Data => "rows only",
                    offsite_core::postgres::restore::SelectWhat::Schema => "definitions only",
                },
                sel.into_schema
                    .as_deref()
                    .map(|s| format!(", into new schema {s}"))
                    .unwrap_or_default()
            );
            if !sel.dependencies.is_empty() {
                println!("    with what it needs: {}", sel.dependencies.join(", "));
            }
            for k in &sel.left_out_keys {
                println!("    note: {}", k.sentence());
            }
            for n in &sel.notes {
                println!("    note: {n}");
            }
        }
        if p.safety_backup {
            println!("  a safety backup of the target is taken first");
        }
        for w in &p.warnings {
            println!("  warning: {w}");
        }
        if p.arbitrary_sql_total > 0 {
            println!(
                "  SQL pg_dump never writes: {}{}",
                crate::words::plural(p.arbitrary_sql_total, "statement"),
                if p.allow_arbitrary_sql {
                    " (will run: --allow-arbitrary-sql)"
                } else {
                    " (--allow-arbitrary-sql runs them)"
                }
            );
            for a in &p.arbitrary_sql {
                println!("    {}", a.sentence());
            }
            let more = p.arbitrary_sql_total - p.arbitrary_sql.len() as u64;
            if more > 0 {
                println!("    … and {more} more");
            }
        }
        for b in &p.blockers {
            println!("  BLOCKED: {b}");
        }
    }

    /// The database section of a restore report, for people.
    /// `waited`: the wall time the user waited for the whole command (the report's own
    /// duration is the restore and validation alone).
    pub fn restore(&self, r: &DatabaseReport, waited: std::time::Duration) {
        for t in &r.tables {
            let actual = t
                .actual
                .map(|a| a.to_string())
                .unwrap_or_else(|| "missing".into());
            println!(
                "{:<4} {}.{}: expected {}, found {}",
                if t.ok { "ok" } else { "BAD" },
                t.schema,
                t.table,
                t.expected,
                actual
            );
        }
        if let Some(s) = &r.safety_backup {
            println!("safety backup: {}", s.display());
        }
        let own = std::time::Duration::from_millis(r.duration_ms);
        let waited = waited.max(own);
        println!(
            "{} in {} ({} restoring and validating, {} reading the archive and planning)",
            if r.rows_not_recorded.is_some() {
                "restored; row counts not recorded, so not validated"
            } else if r.ok {
                "restored and validated"
            } else {
                "restored, but row counts DIFFER from the backup"
            },
            offsite_core::units::format_duration(waited),
            offsite_core::units::format_duration(own),
            offsite_core::units::format_duration(waited - own)
        );
    }
}

/// The plan's missing roles, and what `--create-roles` makes of them.
fn plan_roles(p: &DatabasePlan) {
    if !p.missing_roles.is_empty() {
        println!(
            "  missing roles: {}{}",
            p.missing_roles.join(", "),
            if p.create_roles {
                " (will be created)"
            } else {
                " (--create-roles creates them)"
            }
        );
        for r in &p.roles_to_create {
            let mut line = format!("    {}: {}", r.name, r.attributes.join(" "));
            if !r.member_of.is_empty() {
                line.push_str(&format!("; member of {}", r.member_of.join(", ")));
            }
            if !r.left_out.is_empty() {
                line.push_str(&format!("; WITHOUT {}", r.left_out.join(", ")));
            }
            if !r.settings.is_empty() {
                line.push_str(&format!(
                    "; {}",
                    crate::words::count(r.settings.len(), "setting")
                ));
            }
            if r.needs_password {
                line.push_str("; needs a password afterwards");
            }
            println!("{line}");
        }
    }
}

/// What the plan found in the target, in words: what it holds, and what the restore meets.
fn target_state(p: &DatabasePlan) -> String {
    let into = p
        .selection
        .as_ref()
        .and_then(|s| s.into_schema.as_deref())
        .map(|s| format!(" (the selection goes into the new schema {s})"))
        .unwrap_or_default();
    if p.database_missing {
        return if p.creates_database {
            "does not exist yet: created empty first (--create-database)".to_string()
        } else if p.may_create_database {
            "does not exist yet (--create-database creates it, empty)".to_string()
        } else {
            "does not exist yet, and the connecting role may not create databases".to_string()
        };
    }
    match (p.target_empty, p.target_objects) {
        (true, 0) => "empty".to_string(),
        (true, n) => format!("NOT empty ({n} objects); the restore touches none of them{into}"),
        (false, n) if p.selection.is_none() => format!("NOT empty ({n} objects)"),
        (false, _) => format!(
            "NOT empty ({} of the selected objects exist)",
            p.existing.len()
        ),
    }
}

/// A progress bar on stderr: bytes, speed and time left; a percentage while a backup server
/// makes the backup (its phase counts percent, not bytes).
pub struct ProgressBar {
    bar: indicatif::ProgressBar,
    percent: std::sync::atomic::AtomicBool,
}

const BYTES_TEMPLATE: &str =
    "{prefix} {msg:16} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}";
const PERCENT_TEMPLATE: &str = "{prefix} {msg:16} [{bar:30}] {pos}% {eta}";

fn style(template: &str) -> indicatif::ProgressStyle {
    use indicatif::ProgressState;
    use std::fmt::Write;
    // Sizes in the one convention (offsite_core::units), not indicatif's own.
    indicatif::ProgressStyle::with_template(template)
        .expect("template")
        .with_key("bytes", |s: &ProgressState, w: &mut dyn Write| {
            let _ = w.write_str(&human_size(s.pos()));
        })
        // A total not known yet (nor one smaller than what is done) shows as unknown.
        .with_key("total_bytes", |s: &ProgressState, w: &mut dyn Write| {
            let _ = match s.len() {
                Some(len) if len >= s.pos() && len > 0 => w.write_str(&human_size(len)),
                _ => w.write_str("?"),
            };
        })
        .with_key("eta", |s: &ProgressState, w: &mut dyn Write| {
            if s.len().is_some() {
                let _ = write!(w, "{:#}", indicatif::HumanDuration(s.eta()));
            }
        })
        .with_key("bytes_per_sec", |s: &ProgressState, w: &mut dyn Write| {
            let _ = write!(w, "{}/s", human_size(s.per_sec() as u64));
        })
        .progress_chars("=> ")
}

/// Set by the first Ctrl-C: the progress bars stop moving.
static CANCELLING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// The progress bars shown, to clear when the user cancels.
static BARS: std::sync::Mutex<Vec<indicatif::WeakProgressBar>> = std::sync::Mutex::new(Vec::new());

/// The first Ctrl-C: stop and clear the progress bars and say, at once, that the job is
/// cancelling (it may take a moment to stop its tools and remove what it wrote).
pub fn cancelling() {
    CANCELLING.store(true, std::sync::atomic::Ordering::SeqCst);
    let bars = std::mem::take(&mut *BARS.lock().unwrap_or_else(|p| p.into_inner()));
    for bar in bars.iter().filter_map(indicatif::WeakProgressBar::upgrade) {
        bar.finish_and_clear();
    }
    eprintln!("cancelling… (press Ctrl-C again to stop at once)");
}

/// What a command whose work is committed says to a Ctrl-C that comes afterwards (set once the
/// engine has returned its result: cancelling can change nothing any more).
static COMMITTED: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// The command's work is committed (`what`: "the restore is complete"): a Ctrl-C from now on
/// is told so and cancels nothing (issue 63, item 6).
pub fn committed(what: &'static str) {
    let _ = COMMITTED.set(what);
}

/// A Ctrl-C after the commit: says so and returns true (the command goes on to its report and
/// exits as the success it is); false before the commit.
pub fn too_late() -> bool {
    match COMMITTED.get() {
        Some(what) => {
            eprintln!("already committed: {what} (the Ctrl-C came after its commit; nothing was cancelled)");
            true
        }
        None => false,
    }
}

/// The command succeeded although a Ctrl-C asked it to cancel: the press came after the point
/// where cancelling could change anything (said after "cancelling…", which was premature).
pub fn cancelled_too_late() {
    if let Some(what) = COMMITTED.get() {
        eprintln!("already committed: {what} (the Ctrl-C came too late to cancel it)");
    }
}

/// The second Ctrl-C: everything was killed where it stood.
pub fn stopped_at_once() {
    eprintln!(
        "stopped at once: the running tools were killed where they stood and nothing was \
         cleaned up (a restore's target may be partly restored; a backup's unfinished files may \
         remain)"
    );
}

impl ProgressBar {
    pub fn new(label: &str) -> Self {
        let bar = indicatif::ProgressBar::no_length();
        bar.set_style(style(BYTES_TEMPLATE));
        bar.set_prefix(label.to_string());
        BARS.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(bar.downgrade());
        ProgressBar {
            bar,
            percent: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

impl Progress for ProgressBar {
    fn report(&self, u: &ProgressUpdate) {
        if CANCELLING.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        if u.finished {
            self.bar.finish_and_clear();
            return;
        }
        let percent = u.phase == Phase::OnServer;
        if self
            .percent
            .swap(percent, std::sync::atomic::Ordering::Relaxed)
            != percent
        {
            self.bar.set_style(style(if percent {
                PERCENT_TEMPLATE
            } else {
                BYTES_TEMPLATE
            }));
        }
        match &u.retry {
            Some(wait) => self.bar.set_message(wait.to_string()),
            None => self.bar.set_message(u.phase.label()),
        }
        // The position first: a length is never below it. A total not known yet (or zero, or
        // below what is done) is unknown: an empty bar and `?`, never a full one.
        self.bar.set_position(u.bytes_done);
        match u.bytes_total {
            Some(total) if total > 0 && total >= u.bytes_done => self.bar.set_length(total),
            _ => self.bar.unset_length(),
        }
    }
}

/// `offsite backups` for people: the safety backups, then the project's own.
fn print_backups(listed: &[ListedBackup], safety: &[offsite_core::ops::safety::SafetyBackup]) {
    // Taken before `--replace` restores into the project's database (origin "safety").
    for b in safety {
        println!(
            "{:<36}  {}  {:>10}  {:<14}  {:<28}  {}",
            "-",
            b.created_at,
            human_size(b.size),
            b.origin,
            if b.encrypted { "encrypted" } else { "" },
            b.path.display()
        );
    }
    if listed.is_empty() {
        println!("no backups yet: run `offsite backup NAME`");
    } else {
        for l in listed {
            let b = &l.record;
            let verified = match (&b.verified_at, crate::words::backup_status(b.status)) {
                _ if l.missing => "MISSING (file deleted)".to_string(),
                (Some(at), s) => format!("{s} {at}"),
                (None, s) => s.to_string(),
            };
            println!(
                "{}  {}  {:>10}  {:<14}  {:<28}  {}",
                b.id,
                b.created_at,
                human_size(b.size),
                crate::words::origin(b.origin),
                verified,
                b.path
            );
            print_marks(&l.marks);
        }
    }
}

/// A backup's marks under its line: the canary's verdict, the pin, the note and who took it.
fn print_marks(m: &offsite_core::catalog::BackupMarks) {
    if !m.suspicious.is_empty() {
        println!("    SUSPICIOUS: {}", m.suspicious.join("; "));
    }
    if m.pinned {
        println!("    pinned");
    }
    let by = m
        .started_by
        .as_deref()
        .map(|u| format!(" by {u}"))
        .unwrap_or_default();
    match (&m.note, m.trigger) {
        (Some(note), _) => println!("    note{by}: {note}"),
        (None, Some(t)) if !by.is_empty() => println!("    {}{by}", t.as_str()),
        _ => {}
    }
}

#[cfg(test)]
mod progress_bar_tests {
    use super::*;

    fn update(bytes_done: u64, bytes_total: Option<u64>) -> ProgressUpdate {
        ProgressUpdate {
            job_id: "job".into(),
            phase: Phase::Restoring,
            bytes_done,
            bytes_total,
            bytes_per_sec: 0.0,
            finished: false,
            retry: None,
            component: None,
        }
    }

    /// Issue 42: the bar started full at "0 B/0 B" and showed "4.0 MB/1 B".
    #[test]
    fn a_total_not_known_yet_is_unknown_never_smaller_than_what_is_done() {
        let p = ProgressBar::new("restore");
        p.bar
            .set_draw_target(indicatif::ProgressDrawTarget::hidden());
        p.report(&update(0, None));
        assert_eq!(p.bar.length(), None, "nothing known: not a full bar");
        p.report(&update(0, Some(0)));
        assert_eq!(p.bar.length(), None, "a zero total is not known either");
        p.report(&update(4 << 20, None));
        assert_eq!(p.bar.length(), None);
        assert_eq!(p.bar.position(), 4 << 20);
        p.report(&update(4 << 20, Some(1)));
        assert_eq!(p.bar.length(), None, "a total below what is done");
        p.report(&update(5 << 20, Some(8 << 20)));
        assert_eq!(p.bar.length(), Some(8 << 20));
        assert_eq!(p.bar.position(), 5 << 20);
    }
}
