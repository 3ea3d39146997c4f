//! `offsite project …`: add (one engine call with every part asked for), components, parts,
//! list, show, test, remove, password.

use crate::output::Out;
use crate::{components_cmd, exit, read_password_stdin, remote_cmd, warn_password_in_url};
use clap::Subcommand;
use offsite_core::postgres::conn::TlsMode;
use offsite_core::{AddProject, Engine, Error, ProjectConnection, Result};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ProjectCmd {
    /// Add a project, after connecting to its database (--no-test: without). A password in the
    /// URL is moved to the OS keychain. Without --db and --host, the connection comes from
    /// PGHOST, PGPORT, PGUSER and PGDATABASE.
    #[command(
        after_help = "Examples:\n  offsite project add shop --db postgres://postgres@db.example.com:5432/shop --password-stdin\n  offsite project add shop --host /var/run/postgresql --user postgres --dbname shop\n  offsite project add shop --supabase https://abcdefghijklmnop.supabase.co --supabase-ca prod-ca-2021.crt --password-stdin\n  offsite project add shop --db postgres://postgres@db.example.com:5432/shop --no-test"
    )]
    Add {
        /// A name for the project (how every other command refers to it).
        name: String,
        /// A libpq URL: postgres://USER@HOST:PORT/DATABASE[?sslmode=disable|prefer|require|verify-full],
        /// or with a socket folder postgresql://USER@/DATABASE?host=/var/run/postgresql[&port=5432].
        /// A password written into the URL (postgres://USER:PASSWORD@…) is visible to every
        /// local user in `ps` while offsite runs, and stays in the shell's history: leave it out
        /// and give it with --password-stdin.
        #[arg(long, value_name = "URL", conflicts_with_all = ["host", "port", "user", "dbname"])]
        db: Option<String>,
        /// Instead of --db: the server's host name or address, or a Unix socket folder (an
        /// absolute path such as /var/run/postgresql). Default: $PGHOST.
        #[arg(long)]
        host: Option<String>,
        /// The port (default: $PGPORT, then 5432).
        #[arg(long)]
        port: Option<u16>,
        /// The role to connect as (default: $PGUSER, then postgres).
        #[arg(long)]
        user: Option<String>,
        /// The database (default: $PGDATABASE, then the user name).
        #[arg(long)]
        dbname: Option<String>,
        /// Read the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
        /// TLS mode (overrides the URL's sslmode).
        #[arg(long, value_name = "MODE")]
        tls: Option<String>,
        /// Folder for this project's backups.
        #[arg(long, value_name = "DIR")]
        backup_dir: Option<PathBuf>,
        /// Add it without connecting first (by default a database that does not let us in is
        /// refused, and nothing is kept).
        #[arg(long)]
        no_test: bool,
        #[command(flatten)]
        components: components_cmd::ComponentArgs,
        #[command(flatten)]
        server: remote_cmd::ServerArgs,
    },
    /// Set or show a project's storage and Supabase settings and default backup type (the same
    /// flags as `project add`); without flags, show them.
    #[command(
        after_help = "Examples:\n  offsite project components shop\n  offsite project components shop --s3-endpoint https://s3.example.com --s3-key-id AKIA123 --s3-secret-stdin\n  offsite project components shop --default-type full\n  offsite project components shop --remove-storage"
    )]
    Components {
        /// The project (see `offsite project list`).
        name: String,
        #[command(flatten)]
        components: components_cmd::ComponentArgs,
        /// Remove the project's storage (and its stored secret).
        #[arg(long)]
        remove_storage: bool,
        /// Remove the project's Supabase ref (and its stored token).
        #[arg(long)]
        remove_supabase: bool,
        #[command(flatten)]
        server: remote_cmd::ServerArgs,
        /// Remove the project's backup server (and its stored token).
        #[arg(long)]
        remove_server: bool,
        /// Remove the project's artifact bucket (and its stored secret).
        #[arg(long)]
        remove_artifacts: bool,
    },
    /// List the project's buckets with object counts and sizes, and check the keys can read them.
    #[command(
        after_help = "Examples:\n  offsite project test-storage shop\n  offsite project test-storage shop --json"
    )]
    TestStorage {
        /// The project (see `offsite project list`).
        name: String,
    },
    /// Every part of the project (database, auth, storage, settings, functions, secrets, Vault,
    /// cron jobs, queues, webhooks, publications…) with whether Offsite captures it, restores
    /// it, and how it checks it; what does not apply to this project, or is not set up, is said
    /// (docs/supabase.md). Connects to nothing.
    #[command(
        after_help = "Examples:\n  offsite project parts shop\n  offsite project parts shop --json"
    )]
    Parts {
        /// The project (see `offsite project list`).
        name: String,
    },
    /// List projects.
    #[command(after_help = "Examples:\n  offsite project list\n  offsite project list --json")]
    List,
    /// Show one project.
    #[command(
        after_help = "Examples:\n  offsite project show shop\n  offsite project show shop --json"
    )]
    Show {
        /// The project (see `offsite project list`).
        name: String,
    },
    /// Choose what the project's backups (manual and scheduled) hold: schemas and tables left
    /// out or chosen, tables kept without their rows. Without flags, show it; --clear backs up
    /// the whole database again. Names are exact SCHEMA or SCHEMA.TABLE, double-quoted for
    /// capitals or other characters; chosen schemas and tables must exist at backup time.
    #[command(
        after_help = "Examples:\n  offsite project set-selection shop --exclude-table-data public.logs --exclude-schema audit\n  offsite project set-selection shop --table public.orders --table public.customers\n  offsite project set-selection shop\n  offsite project set-selection shop --clear"
    )]
    SetSelection {
        /// The project (see `offsite project list`).
        name: String,
        #[command(flatten)]
        selection: crate::selection_cmd::SelectionArgs,
        /// Back up the whole database again.
        #[arg(long)]
        clear: bool,
    },
    /// Set the project's recovery targets: the RPO (the newest good backup may be at most this
    /// old, else the project is At risk) and the RTO (a drill whose restore takes longer fails
    /// its RTO check). Durations: 30m, 4h, 24h, 1h30m, 2d, 1w (m is minutes). `none` clears one.
    #[command(
        after_help = "Examples:\n  offsite project set-targets shop --rpo 24h --rto 30m\n  offsite project set-targets shop --rto none"
    )]
    SetTargets {
        /// The project (see `offsite project list`).
        name: String,
        /// Recovery point objective (how old the newest good backup may get), or `none`.
        #[arg(long, value_name = "DURATION")]
        rpo: Option<String>,
        /// Recovery time objective (how long a restore may take), or `none`.
        #[arg(long, value_name = "DURATION")]
        rto: Option<String>,
    },
    /// Connect and report server version, size and permission problems.
    #[command(
        after_help = "Examples:\n  offsite project test shop\n  offsite project test shop --json"
    )]
    Test {
        /// The project (see `offsite project list`).
        name: String,
    },
    /// Remove a project and its stored password (backup files are kept). A project whose key
    /// encrypts backups asks for its name to be typed back, and its key stays in the keychain
    /// (marked orphaned, see `offsite key list`) unless --delete-key.
    #[command(
        after_help = "Examples:\n  offsite project remove shop\n  offsite key export shop > shop-key.txt && offsite project remove shop --yes\n  offsite project remove shop --delete-key\n  offsite project remove shop --leave-slot"
    )]
    Remove {
        /// The project (see `offsite project list`).
        name: String,
        /// Do not ask (headless use): the project's name counts as typed.
        #[arg(long)]
        yes: bool,
        /// Also delete the project's encryption key from the keychain (its backups then open
        /// only with a saved recovery key).
        #[arg(long)]
        delete_key: bool,
        /// Remove it even when its point-in-time capture's slot cannot be dropped (the server
        /// unreachable): the slot stays on that server, keeping WAL until someone drops it.
        #[arg(long)]
        leave_slot: bool,
    },
    /// Replace a project's stored password with the first line of standard input (into the OS
    /// keychain, or nowhere with OFFSITE_SECRET_STORE=env).
    #[command(
        after_help = "Examples:\n  printf %s \"$PGPASSWORD\" | offsite project password shop"
    )]
    Password {
        /// The project (see `offsite project list`).
        name: String,
    },
}

pub async fn run(engine: &Engine, cmd: ProjectCmd, out: &Out) -> Result<u8> {
    match cmd {
        ProjectCmd::Add {
            name,
            db,
            host,
            port,
            user,
            dbname,
            password_stdin,
            tls,
            backup_dir,
            no_test,
            components,
            server,
        } => {
            let mut stdin = components_cmd::StdinSecrets::read(
                usize::from(password_stdin) + components.stdin_lines() + server.stdin_lines(),
            )?;
            let password = if password_stdin { stdin.next() } else { None };
            let tls = tls.map(|t| t.parse::<TlsMode>()).transpose()?;
            let quick = components
                .supabase
                .as_deref()
                .map(components_cmd::parse_supabase)
                .transpose()?;
            if let Some(url) = &db {
                warn_password_in_url("--db", url);
            }
            let connection = match (db, &quick) {
                (Some(url), _) => ProjectConnection::Url(url),
                (None, Some(q)) if host.is_none() => {
                    let token = if components.supabase_token_stdin {
                        // (the server token, when also read, comes after it)
                        stdin.nth_from_end(server.stdin_lines()).map(str::to_string)
                    } else {
                        std::env::var(offsite_core::ops::components::SUPABASE_TOKEN_ENV).ok()
                    };
                    supabase_connection(q, &components, token, tls).await?
                }
                (None, _) => {
                    fields_from_flags_and_env(host, port, user, dbname, |k| std::env::var(k).ok())?
                }
            };
            // A key kept when a project of this name was removed is taken back (engine rule).
            let kept = engine.orphaned_key(&name).await.ok().flatten();
            let mut parts = components.parts(&mut stdin, quick.as_ref())?;
            parts.server = server.settings(engine, stdin.next()).await?;
            // One engine call: the project exists only with every part it was asked for.
            let (p, _) = engine
                .add_project_with_components(
                    AddProject {
                        name,
                        connection,
                        password,
                        tls,
                        backup_dir,
                        skip_test: no_test,
                    },
                    parts,
                )
                .await?;
            if let Some(k) = kept {
                eprintln!(
                    "note: {} took back the encryption key ({}) kept when a project of that name \
                     was removed ({}): its backups open again",
                    p.name, k.mode, k.removed_at
                );
            }
            let retention = engine.retention(&p.name).await?;
            out.project_added(&p, &engine.backup_dir_of(&p), &retention);
        }
        ProjectCmd::Components {
            name,
            components,
            remove_storage,
            remove_supabase,
            server,
            remove_server,
            remove_artifacts,
        } => {
            let mut stdin = components_cmd::StdinSecrets::read(
                components.stdin_lines() + server.stdin_lines(),
            )?;
            if remove_artifacts {
                engine.set_artifacts(&name, None).await?;
            }
            if remove_server {
                engine.set_server(&name, None).await?;
            }
            if remove_storage {
                engine.set_storage(&name, None).await?;
            }
            if remove_supabase {
                engine.set_supabase(&name, None).await?;
            }
            let quick = components
                .supabase
                .as_deref()
                .map(components_cmd::parse_supabase)
                .transpose()?;
            components
                .apply(engine, &name, &mut stdin, quick.as_ref())
                .await?;
            server.apply(engine, &name, stdin.next()).await?;
            components_cmd::print_components(out, &name, &engine.components(&name).await?);
        }
        ProjectCmd::TestStorage { name } => {
            let report = engine.test_storage(&name).await?;
            components_cmd::print_storage_test(out, &report);
            if !report.missing.is_empty()
                || report
                    .buckets
                    .iter()
                    .any(|b| b.readable == Some(false) || b.error.is_some())
            {
                return Ok(exit::FAILURE);
            }
        }
        ProjectCmd::Parts { name } => {
            let table = engine.project_parts(&name).await?;
            if out.json() {
                out.emit(&table);
            } else {
                print!("{}", parts_text(&table));
            }
        }
        ProjectCmd::List => out.projects(&engine.projects().await?),
        ProjectCmd::Show { name } => {
            let p = engine.project(&name).await?;
            let selection = engine.selection(&name).await?;
            let targets = engine.targets(&name).await?;
            out.project_shown(&p, &engine.backup_dir_of(&p), &selection, &targets);
        }
        ProjectCmd::SetTargets { name, rpo, rto } => {
            let mut t = engine.targets(&name).await?;
            if let Some(v) = rpo {
                t.rpo_seconds = target_arg(&v)?;
            }
            if let Some(v) = rto {
                t.rto_seconds = target_arg(&v)?;
            }
            let t = engine.set_targets(&name, t).await?;
            out.done(&format!("targets of {name}: {}", targets_line(&t)));
        }
        ProjectCmd::SetSelection {
            name,
            selection,
            clear,
        } => crate::selection_cmd::run(engine, &name, &selection, clear, out).await?,
        ProjectCmd::Test { name } => {
            let report = engine.test_project(&name).await?;
            // Which point-in-time capture the server and role allow, and why not the other.
            let modes = engine.pitr_modes(&name).await;
            if out.json() {
                let mut v = serde_json::to_value(&report).unwrap_or_default();
                v["pitr"] = match &modes {
                    Ok(m) => serde_json::to_value(m).unwrap_or_default(),
                    Err(e) => serde_json::json!({ "error": e.message() }),
                };
                out.emit(&v);
            } else {
                out.connection(&report);
                match &modes {
                    Ok(m) => {
                        let say = |why: &Option<String>| match why {
                            None => "possible".to_string(),
                            Some(w) => format!("not possible: {w}"),
                        };
                        println!("point in time: logical {}", say(&m.logical));
                        println!("point in time: physical {}", say(&m.physical));
                    }
                    Err(e) => println!("point in time: not checked ({})", e.message()),
                }
            }
            if !report.can_dump {
                return Ok(exit::FAILURE);
            }
        }
        ProjectCmd::Remove {
            name,
            yes,
            delete_key,
            leave_slot,
        } => remove(engine, &name, yes, (delete_key, leave_slot), out).await?,
        ProjectCmd::Password { name } => {
            let password = read_password_stdin()?;
            engine.set_password(&name, &password).await?;
            out.done(&format!("saved the password of project {name}"));
        }
    }
    Ok(0)
}

/// `offsite project remove`: the engine says whether the name must be typed back (a key that
/// encrypts backups); on a terminal it is asked for, otherwise `--yes` gives it.
/// `flags`: `--delete-key`, `--leave-slot`.
async fn remove(
    engine: &Engine,
    name: &str,
    yes: bool,
    flags: (bool, bool),
    out: &Out,
) -> Result<()> {
    use offsite_core::ops::{KeyFate, RemoveProject};
    let (delete_key, leave_slot) = flags;
    let opts = |typed: Option<String>| RemoveProject {
        typed_name: typed,
        delete_key,
        leave_slot,
    };
    let typed = yes.then(|| name.to_string());
    let removed = match engine.remove_project_with(name, opts(typed)).await {
        Err(e) if e.kind() == offsite_core::ErrorKind::NeedsConsent && !yes => {
            let fate = if delete_key {
                "--delete-key: the key is deleted too, and its backups then open only with a saved \
                 recovery key."
                    .to_string()
            } else {
                format!(
                    "The key stays in the keychain, marked orphaned (offsite key list); adding a \
                     project named {name} again takes it back."
                )
            };
            let explain = format!(
                "Project {name} encrypts its backups with a key kept in this computer's keychain. \
                 Save it first if you have not: offsite key export {name} > {name}-key.txt\n{fate}"
            );
            let Some(answer) =
                crate::encryption_cmd::ask_name(out, name, &explain, "remove the project")
            else {
                return Err(e);
            };
            engine.remove_project_with(name, opts(Some(answer))).await?
        }
        other => other?,
    };
    let message = match removed.key {
        KeyFate::None => format!("removed project {name} (backup files were kept)"),
        KeyFate::Kept => format!(
            "removed project {name} (backup files were kept); its encryption key stays in the \
             keychain, marked orphaned (offsite key list): adding a project named {name} again \
             takes it back, `offsite key remove {name}` deletes it"
        ),
        KeyFate::Deleted => format!(
            "removed project {name} and its encryption key (backup files were kept; they open \
             only with a saved recovery key)"
        ),
    };
    if out.json() {
        out.emit(&serde_json::json!({
            "ok": true,
            "message": message,
            "project": removed.name,
            "key": removed.key,
        }));
    } else {
        println!("{message}");
    }
    Ok(())
}

/// The quick add's database: the direct host, or the session pooler when it does not answer
/// from here (`token`: the Supabase access token, to ask for the pooler).
async fn supabase_connection(
    q: &components_cmd::SupabaseQuick,
    components: &components_cmd::ComponentArgs,
    token: Option<String>,
    tls: Option<TlsMode>,
) -> Result<ProjectConnection> {
    use offsite_core::ops::supabase_tls::SupabaseTls;
    let check = match (&components.supabase_ca, tls) {
        (Some(ca), None | Some(TlsMode::VerifyFull)) => SupabaseTls::Verify(ca),
        (_, Some(TlsMode::Require)) => SupabaseTls::RequireUnverified,
        (Some(_), Some(other)) => {
            return Err(Error::invalid(format!(
                "--supabase-ca is checked only with verify-full, not --tls {other}"
            ))
            .with_hint("leave out --tls (verify-full), or --supabase-ca with --tls require"))
        }
        (None, _) => SupabaseTls::Unchosen,
    };
    let d = offsite_core::ops::components::supabase_database(
        &q.project_ref,
        token.as_deref(),
        components.supabase_api.as_deref(),
        check,
    )
    .await?;
    if let Some(note) = &d.note {
        eprintln!("note: {note}");
    }
    Ok(ProjectConnection::Url(d.url))
}

/// `project add` without `--db`: each part from its flag, else from libpq's variable (`PGHOST`,
/// `PGPORT`, `PGUSER`, `PGDATABASE`), else the default (port 5432, user postgres, database = user).
/// There is no default host: without `--host` and `PGHOST` nothing is guessed.
fn fields_from_flags_and_env(
    host: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    dbname: Option<String>,
    var: impl Fn(&str) -> Option<String>,
) -> Result<ProjectConnection> {
    let var = |k: &str| var(k).filter(|v| !v.trim().is_empty());
    let host = host.or_else(|| var("PGHOST")).ok_or_else(|| {
        Error::invalid("no database given: neither --db nor --host, and PGHOST is not set")
            .with_hint("give --db URL, or --host HOST (a host name, or a socket folder such as /var/run/postgresql), or set PGHOST")
    })?;
    let port = match port {
        Some(p) => p,
        None => match var("PGPORT") {
            None => 5432,
            Some(p) => p.trim().parse().ok().filter(|p| *p > 0).ok_or_else(|| {
                Error::invalid("PGPORT is not a port number")
                    .with_hint("set PGPORT to a number from 1 to 65535, or give --port")
            })?,
        },
    };
    let user = user
        .or_else(|| var("PGUSER"))
        .unwrap_or_else(|| "postgres".to_string());
    let database = dbname
        .or_else(|| var("PGDATABASE"))
        .unwrap_or_else(|| user.clone());
    Ok(ProjectConnection::Fields {
        host,
        port: Some(port),
        user,
        database,
    })
}

/// `project parts` for a reader: one block per part, those that do not apply last.
fn parts_text(t: &offsite_core::ops::parts::ProjectParts) -> String {
    use offsite_core::ops::parts::ProjectKind;
    let kind = match t.kind {
        ProjectKind::Supabase => "a Supabase project",
        ProjectKind::Postgres => "a PostgreSQL project (not Supabase)",
    };
    let mut out = format!("{}: {kind}\n", t.project);
    let (applies, other): (Vec<_>, Vec<_>) = t.parts.iter().partition(|p| p.applies);
    for p in &applies {
        out.push_str(&format!("\n{}\n  where:    {}\n", p.name, p.source));
        if let Some(note) = &p.note {
            out.push_str(&format!("  {note}\n"));
        }
        out.push_str(&format!(
            "  captured: {}: {}\n",
            p.captured.word(),
            p.capture
        ));
        out.push_str(&format!(
            "  restored: {}: {}\n",
            p.restored.word(),
            p.restore
        ));
        out.push_str(&format!("  checked:  {}\n", p.check));
    }
    if !other.is_empty() {
        let names: Vec<&str> = other.iter().map(|p| p.name.as_str()).collect();
        out.push_str(&format!(
            "\nNot a Supabase project, so these do not apply: {}\n",
            names.join("; ")
        ));
    }
    out
}

/// A `--rpo`/`--rto` value: a duration, or `none` to clear it.
fn target_arg(v: &str) -> Result<Option<u32>> {
    if v.trim().eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    offsite_core::schedule::parse_target(v).map(Some)
}

/// "RPO 24h, RTO 30m" (or "none set").
pub fn targets_line(t: &offsite_core::schedule::Targets) -> String {
    use offsite_core::schedule::format_target;
    let part = |name: &str, v: Option<u32>| v.map(|s| format!("{name} {}", format_target(s)));
    let parts: Vec<String> = [part("RPO", t.rpo_seconds), part("RTO", t.rto_seconds)]
        .into_iter()
        .flatten()
        .collect();
    if parts.is_empty() {
        "none set (offsite project set-targets NAME --rpo 24h --rto 30m)".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use offsite_core::ErrorKind;

    fn env_of<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn parts_say_each_part_and_what_does_not_apply() {
        use offsite_core::ops::parts::project_parts;
        let plain = project_parts(
            "shop",
            "postgres://app@db.example.com/shop",
            &Default::default(),
        );
        let text = parts_text(&plain);
        assert!(
            text.starts_with("shop: a PostgreSQL project (not Supabase)\n"),
            "{text}"
        );
        assert!(
            text.contains("\nYour schemas, tables and rows\n  where:    the database"),
            "{text}"
        );
        assert!(text.contains("  captured: yes: pg_dump"), "{text}");
        let (_, tail) = text.split_once("\nNot a Supabase project").unwrap();
        assert!(tail.contains("Auth users, password hashes and identities"));
        assert!(tail.contains("Edge Function secrets' values"));
        assert!(!tail.contains("Your schemas"), "{tail}");
        let supa = project_parts(
            "shop",
            "postgres://postgres@db.abcdefghijklmnopqrst.supabase.co/postgres",
            &Default::default(),
        );
        let text = parts_text(&supa);
        assert!(text.starts_with("shop: a Supabase project\n"), "{text}");
        assert!(!text.contains("do not apply"), "{text}");
        assert!(text.contains("captured: not exposed: "), "{text}");
        assert!(
            text.contains("not set up: give the project's ref and an access token"),
            "{text}"
        );
    }

    fn fields(host: &str, port: u16, user: &str, database: &str) -> ProjectConnection {
        ProjectConnection::Fields {
            host: host.into(),
            port: Some(port),
            user: user.into(),
            database: database.into(),
        }
    }

    #[test]
    fn flags_win_then_libpq_variables_then_defaults() {
        let pg = [
            ("PGHOST", "/var/run/postgresql"),
            ("PGPORT", "5433"),
            ("PGUSER", "app"),
            ("PGDATABASE", "shop"),
        ];
        // Nothing given: all from the environment.
        let c = fields_from_flags_and_env(None, None, None, None, env_of(&pg)).unwrap();
        assert_eq!(c, fields("/var/run/postgresql", 5433, "app", "shop"));
        // Flags win over variables, one by one.
        let c = fields_from_flags_and_env(
            Some("db.example.com".into()),
            Some(6543),
            None,
            Some("other".into()),
            env_of(&pg),
        )
        .unwrap();
        assert_eq!(c, fields("db.example.com", 6543, "app", "other"));
        // No variables: the defaults (database = user).
        let c =
            fields_from_flags_and_env(Some("h".into()), None, Some("me".into()), None, env_of(&[]))
                .unwrap();
        assert_eq!(c, fields("h", 5432, "me", "me"));
        let c = fields_from_flags_and_env(
            Some("h".into()),
            None,
            None,
            None,
            env_of(&[("PGUSER", "")]),
        )
        .unwrap();
        assert_eq!(c, fields("h", 5432, "postgres", "postgres"));
    }

    #[test]
    fn no_host_anywhere_and_a_bad_pgport_are_refused() {
        let e = fields_from_flags_and_env(None, None, None, None, env_of(&[("PGHOST", " ")]))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.message().contains("PGHOST"), "{}", e.message());
        assert!(e.hint().unwrap().contains("--host"));
        let e = fields_from_flags_and_env(
            Some("h".into()),
            None,
            None,
            None,
            env_of(&[("PGPORT", "fivefour")]),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.message().contains("PGPORT"), "{}", e.message());
    }
}
