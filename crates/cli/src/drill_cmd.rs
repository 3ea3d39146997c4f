//! `offsite drill NAME` (restore a backup into a throwaway cluster or a scratch server and prove
//! it; prints the report's path and its checks; exit 0 passed, 9 failed), `offsite drill config
//! NAME` (where drills restore, the storage sample), `offsite drill list NAME`, `offsite drill show ID [--html FILE]`, `offsite drill public-key`, `offsite drill
//! verify-report FILE` (those two and the page: `drill_report_cmd`).

use crate::output::Out;
use clap::{Args, Subcommand};
use offsite_core::catalog::DrillRecord;
use offsite_core::drill::settings::{
    parse_storage_sample, DrillSettings, DrillSettingsChange, TargetSetting,
};
use offsite_core::drill::{CheckStatus, DrillCheck, DrillReport, Verdict};
use offsite_core::ops::drill::DrillOptions;
use offsite_core::{Engine, Error, JobStart, Result};
use serde_json::json;

/// The exit code of a drill that ran and failed a check (8 is `wrong_key`'s).
pub const DRILL_FAILED: u8 = 9;

#[derive(Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    group = clap::ArgGroup::new("project_named").args(["name", "project"]).required(true),
    after_help = "Examples:\n  offsite drill shop\n  offsite drill shop --backup latest --json\n  offsite drill shop@2026-11-26T06:00:00Z\n  \
offsite drill shop --server postgres://drill@localhost:5432/postgres --password-stdin\n  offsite drill run list\n  \
offsite drill --project show --throwaway\n  offsite drill config shop --storage-sample 100\n  offsite drill list shop\n  \
offsite drill show 0b7c9e4e-6a51-4c1e-9a43-5f0d2f6b8a10\n\n\
A project whose name is one of drill's subcommands (list, show, config, run, public-key, \
verify-report) is drilled with `offsite drill run NAME` or `offsite drill --project NAME`."
)]
pub struct DrillArgs {
    #[command(subcommand)]
    pub cmd: Option<DrillCmd>,
    /// The project whose backup to drill (see `offsite project list`; a project named like a
    /// subcommand: `drill run NAME` or --project NAME), or PROJECT@TIME: the project's database
    /// as it was then, from its point-in-time capture (TIME in RFC 3339).
    pub name: Option<String>,
    /// The project whose backup to drill, whatever its name (`list` and `show` too).
    #[arg(long, value_name = "NAME", conflicts_with = "name")]
    pub project: Option<String>,
    #[command(flatten)]
    pub run: RunOptions,
}

/// How a drill runs: which backup, where it restores.
#[derive(Args, Default)]
pub struct RunOptions {
    /// The backup to drill: its id (or a unique start of one) or `latest`. Default: the
    /// project's newest good backup with a database.
    #[arg(long, value_name = "ID")]
    pub backup: Option<String>,
    /// Restore into a scratch server you name (for this run; default: where `drill config`
    /// says, a throwaway cluster unless set): Offsite creates `offsite_drill_<id>` there and
    /// drops it afterwards (the role needs CREATEDB).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// Read the scratch server's password from the first line of standard input (not in the
    /// URL, where other local users can see it).
    #[arg(long)]
    pub password_stdin: bool,
    /// Restore into a throwaway cluster for this run, whatever `drill config` says.
    #[arg(long, conflicts_with = "server")]
    pub throwaway: bool,
}

impl DrillArgs {
    /// The project a drill run names (`drill NAME`, `drill --project NAME`), with its options;
    /// `None` for the other subcommands.
    pub fn run_target(self) -> Option<(String, RunOptions)> {
        match self.cmd {
            Some(DrillCmd::Run { name, run }) => Some((name, run)),
            Some(_) => None,
            None => self.name.or(self.project).map(|n| (n, self.run)),
        }
    }
}

/// `drill config NAME [...]`: with no option, shows the project's drill settings.
#[derive(Args)]
pub struct ConfigArgs {
    /// The project.
    pub name: String,
    /// Drills restore into a throwaway cluster Offsite starts on this computer (the default).
    #[arg(long)]
    pub throwaway: bool,
    /// Drills restore into this scratch server (`postgres://USER@HOST:PORT/DB`, no password in
    /// it: give that with --password-stdin; it is kept in the OS keychain).
    #[arg(long, value_name = "URL", conflicts_with = "throwaway")]
    pub server: Option<String>,
    /// Read the scratch server's password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// How many storage objects a drill compares one by one with storage.json, chosen at
    /// random for each drill: a number, or `all` (the default).
    #[arg(long, value_name = "N|all")]
    pub storage_sample: Option<String>,
}

#[derive(Subcommand)]
pub enum DrillCmd {
    /// Drill a project: the same as `offsite drill NAME`, for any project name (`list`,
    /// `show`… included).
    #[command(
        after_help = "Examples:\n  offsite drill run shop\n  offsite drill run list --backup latest --throwaway"
    )]
    Run {
        /// The project whose backup to drill.
        name: String,
        #[command(flatten)]
        run: RunOptions,
    },
    /// A project's drills, newest first.
    #[command(
        after_help = "Examples:\n  offsite drill list shop\n  offsite drill list shop --json"
    )]
    List {
        /// The project.
        name: String,
    },
    /// Show or change where a project's drills restore (a throwaway cluster or a scratch
    /// server) and how many storage objects they check; scheduled drills use it too.
    #[command(
        after_help = "Examples:\n  offsite drill config shop\n  printf %s \"$PW\" | offsite drill config shop --server postgres://drill@scratch.example.com:5432/postgres --password-stdin\n  offsite drill config shop --storage-sample 200\n  offsite drill config shop --throwaway --storage-sample all"
    )]
    Config(ConfigArgs),
    /// One drill's report: every check with what was expected and found.
    #[command(
        after_help = "Examples:\n  offsite drill show 0b7c9e4e-6a51-4c1e-9a43-5f0d2f6b8a10\n  offsite drill show 0b7c9e4e-6a51-4c1e-9a43-5f0d2f6b8a10 --json"
    )]
    Show {
        /// The drill's id (see `offsite drill list NAME`).
        id: String,
        /// Also write the report as a printable HTML page to FILE.
        #[arg(long, value_name = "FILE")]
        html: Option<std::path::PathBuf>,
    },
    /// Print this machine's drill report signing key (Ed25519, PEM): give it to whoever checks
    /// the reports.
    #[command(
        after_help = "Examples:\n  offsite drill public-key > offsite-drill-key.pem\n  offsite drill public-key --json"
    )]
    PublicKey,
    /// Check a signed drill report (`<id>.signed.json`): exit 0 when its signature verifies,
    /// 4 when it was edited or another key signed it.
    #[command(
        after_help = "Examples:\n  offsite drill verify-report 0b7c9e4e-6a51-4c1e-9a43-5f0d2f6b8a10.signed.json\n  offsite drill verify-report report.signed.json --public-key offsite-drill-key.pem"
    )]
    VerifyReport {
        /// The signed report (a DSSE envelope, as `offsite drill` writes it beside the report).
        file: std::path::PathBuf,
        /// The public key to check it with: a PEM file or its text (default: this machine's).
        #[arg(long, value_name = "KEY")]
        public_key: Option<String>,
    },
}

pub async fn run(engine: &Engine, args: DrillArgs, out: &Out, start: JobStart) -> Result<u8> {
    if matches!(args.cmd, Some(DrillCmd::Run { .. }) | None) {
        let (name, run) = args
            .run_target()
            .ok_or_else(|| Error::invalid("name the project to drill"))?;
        return drill_now(engine, name, run, out, start).await;
    }
    match args.cmd {
        Some(DrillCmd::List { name }) => {
            let drills = engine.drills(&name).await?;
            let settings = engine.drill_settings(&name).await?;
            list(out, &drills, &settings);
            Ok(0)
        }
        Some(DrillCmd::Config(args)) => config(engine, args, out).await,
        Some(DrillCmd::PublicKey) => crate::drill_report_cmd::public_key(engine, out),
        Some(DrillCmd::VerifyReport { file, public_key }) => {
            crate::drill_report_cmd::verify(engine, &file, public_key.as_deref(), out)
        }
        Some(DrillCmd::Show { id, html }) => {
            let d = engine.drill_record(&id).await?;
            if let Some(file) = &html {
                crate::drill_report_cmd::write_html(engine, &id, file).await?;
            }
            if out.json() {
                out.emit(&json!({ "drill": d }));
            } else {
                if let Some(p) = &d.report_path {
                    println!("report:   {p}");
                }
                report(&d.report);
            }
            Ok(if d.verdict == Verdict::Passed {
                0
            } else {
                DRILL_FAILED
            })
        }
        Some(DrillCmd::Run { .. }) | None => unreachable!("drilled above"),
    }
}

/// `drill NAME`: run a drill now; prints the report's path and its checks.
async fn drill_now(
    engine: &Engine,
    name: String,
    run: RunOptions,
    out: &Out,
    start: JobStart,
) -> Result<u8> {
    if let Some(url) = &run.server {
        crate::warn_password_in_url("--server", url);
    }
    let server_password = run
        .password_stdin
        .then(crate::read_password_stdin)
        .transpose()?;
    let opts = DrillOptions {
        project: name,
        backup: run.backup,
        server: run.server,
        server_password,
        throwaway: run.throwaway,
    };
    let outcome = engine.drill(opts, start).await?;
    // A report written without its signature says so now, with the key to set — not first
    // when someone checks it.
    let unsigned = offsite_core::ops::drill_report::unsigned_note(&outcome.report_path);
    if out.json() {
        out.emit(&json!({
            "drill_id": outcome.report.drill_id,
            "job_id": outcome.job_id,
            "verdict": outcome.report.verdict,
            "report_path": outcome.report_path,
            "signed": unsigned.is_none(),
            "unsigned": unsigned,
            "report": outcome.report,
        }));
    } else {
        println!("{}", outcome.report_path.display());
        report(&outcome.report);
    }
    if let Some(note) = &unsigned {
        eprintln!("warning: {note}");
    }
    Ok(match outcome.report.verdict {
        Verdict::Passed => 0,
        Verdict::Failed => DRILL_FAILED,
    })
}

/// `drill config NAME`: change what the options name, then show the settings.
async fn config(engine: &Engine, args: ConfigArgs, out: &Out) -> Result<u8> {
    let target = match (&args.server, args.throwaway) {
        (Some(url), _) => Some(TargetSetting::Server(url.clone())),
        (None, true) => Some(TargetSetting::Throwaway),
        (None, false) => None,
    };
    let storage_sample = args
        .storage_sample
        .as_deref()
        .map(parse_storage_sample)
        .transpose()?;
    let server_password = args
        .password_stdin
        .then(crate::read_password_stdin)
        .transpose()?;
    let settings = if target.is_none() && storage_sample.is_none() && server_password.is_none() {
        engine.drill_settings(&args.name).await?
    } else {
        let change = DrillSettingsChange {
            target,
            server_password,
            storage_sample,
        };
        engine.set_drill_settings(&args.name, change).await?
    };
    if out.json() {
        out.emit(&json!({ "project": args.name, "settings": settings }));
    } else {
        settings_lines(&settings);
    }
    Ok(0)
}

fn settings_lines(s: &DrillSettings) {
    println!("restore into:   {}", s.target_text());
    if s.server_url.is_some() {
        println!(
            "password:       {}",
            if s.server_password_saved {
                "kept in the keychain"
            } else {
                "none kept (the server may not ask; headless: OFFSITE_PASSWORD_<PROJECT>_DRILL_SERVER_PASSWORD)"
            }
        );
    }
    println!("storage check:  {}", s.storage_text());
}

fn list(out: &Out, drills: &[DrillRecord], settings: &DrillSettings) {
    if out.json() {
        let rows: Vec<_> = drills
            .iter()
            .map(offsite_core::catalog::DrillSummary::from)
            .collect();
        out.emit(&json!({ "drills": rows, "settings": settings }));
        return;
    }
    println!(
        "drills restore into {}; storage check: {} (offsite drill config)",
        settings.target_text(),
        settings.storage_text()
    );
    if drills.is_empty() {
        println!("no drills yet");
        return;
    }
    for d in drills {
        println!(
            "{}  {}  {:<6}  RTO {:>6.1} s  backup {}{}",
            d.id,
            d.started_at,
            verdict_word(d.verdict),
            d.rto_seconds,
            d.backup_id,
            d.failed_check_title
                .as_deref()
                .map(|t| format!("  failed: {t}"))
                .unwrap_or_default()
        );
    }
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Passed => "passed",
        Verdict::Failed => "FAILED",
    }
}

/// The report for people: the verdict, then one line per check.
fn report(r: &DrillReport) {
    println!(
        "drill {}: {} (project {}, backup {}, {} on {}, RTO {:.1} s)",
        r.drill_id,
        verdict_word(r.verdict),
        r.project,
        r.backup_id,
        r.target.kind,
        r.target.server_version,
        r.rto_seconds
    );
    for c in &r.checks {
        check_line(c);
    }
}

fn check_line(c: &DrillCheck) {
    let mark = match c.status {
        CheckStatus::Passed => "ok  ",
        CheckStatus::Failed => "FAIL",
        CheckStatus::NotComparable => "n/c ",
        CheckStatus::Skipped => "skip",
    };
    println!("  {mark} {:<28} {}", c.id, c.title);
    if c.status == CheckStatus::Failed {
        if let Some(e) = &c.expected {
            println!("         expected: {e}");
        }
        if let Some(a) = &c.actual {
            println!("         found:    {a}");
        }
    }
    if let Some(d) = &c.detail {
        if c.status != CheckStatus::Passed {
            println!("         {d}");
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    /// The project a command line drills, or clap's error.
    fn drilled(args: &[&str]) -> std::result::Result<Option<String>, String> {
        let words = std::iter::once("offsite").chain(args.iter().copied());
        match crate::Cli::try_parse_from(words)
            .map_err(|e| e.to_string())?
            .command
        {
            crate::Command::Drill(d) => Ok(d.run_target().map(|(name, _)| name)),
            _ => Err("not a drill".into()),
        }
    }

    #[test]
    fn any_project_name_can_be_drilled() {
        for name in [
            "list",
            "show",
            "config",
            "run",
            "public-key",
            "verify-report",
            "shop",
        ] {
            assert_eq!(drilled(&["drill", "run", name]), Ok(Some(name.into())));
            assert_eq!(
                drilled(&["drill", "--project", name]),
                Ok(Some(name.into()))
            );
        }
        // The short form stays where it is unambiguous, with its options.
        assert_eq!(drilled(&["drill", "shop"]), Ok(Some("shop".into())));
        let words = [
            "offsite",
            "drill",
            "run",
            "list",
            "--backup",
            "latest",
            "--throwaway",
        ];
        let crate::Command::Drill(d) = crate::Cli::try_parse_from(words).unwrap().command else {
            panic!("not a drill")
        };
        let (name, run) = d.run_target().unwrap();
        assert_eq!(
            (name.as_str(), run.backup.as_deref()),
            ("list", Some("latest"))
        );
        assert!(run.throwaway);
        // The subcommands are still themselves.
        assert_eq!(drilled(&["drill", "list", "shop"]), Ok(None));
        // A project is named once, and must be named.
        assert!(drilled(&["drill", "shop", "--project", "other"]).is_err());
        assert!(drilled(&["drill"]).is_err());
        assert!(drilled(&["drill", "--backup", "latest"]).is_err());
    }
}
