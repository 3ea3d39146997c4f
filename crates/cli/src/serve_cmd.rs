//! `offsite serve`: run the agent (crate `offsite-agent`), manage its tokens, show its
//! certificate's fingerprint.
//!
//! ```text
//! offsite serve --config FILE | --data-dir DIR --listen ADDR [--tls-cert F --tls-key F] [--insecure-http]
//! offsite serve [--config FILE | --data-dir DIR] token create [--project P]... [--read-only] | token create --metrics
//! offsite serve [--config FILE | --data-dir DIR] token list | token revoke ID
//! offsite serve [--config FILE | --data-dir DIR] fingerprint
//! ```

use crate::output::Out;
use clap::{Args, Subcommand};
use offsite_agent::{AgentConfig, TokenStore};
use offsite_core::{Error, Result};
use serde_json::json;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

/// Where the agent listens when neither the file nor --listen says.
const DEFAULT_LISTEN: &str = "0.0.0.0:8443";

#[derive(Args)]
#[command(args_conflicts_with_subcommands = false)]
pub struct ServeArgs {
    /// The agent's configuration (TOML: listen, data_dir, tls_cert/tls_key, [projects.<id>]);
    /// its data_dir wins over --data-dir. Without it: --data-dir DIR, whose agent.toml is read
    /// when present.
    #[arg(long, global = true, env = "OFFSITE_AGENT_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on (overrides the file; default 0.0.0.0:8443).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// PEM certificate (chain) to serve; without it a self-signed certificate is made at first
    /// start in the data folder, and its fingerprint printed.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP (tests; loopback behind a TLS-terminating proxy). Never the default.
    #[arg(long)]
    insecure_http: bool,
    #[command(subcommand)]
    command: Option<ServeCmd>,
}

#[derive(Subcommand)]
enum ServeCmd {
    /// Create, list or revoke API tokens (stored hashed in the data folder).
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  offsite serve token create --project shop\n  offsite serve token list"
    )]
    Token(TokenCmd),
    /// Print the SHA-256 fingerprint of the agent's TLS certificate (SHA256:AB:CD:…), making
    /// the self-signed one if there is none yet. Compare it with what the laptop shows.
    #[command(
        after_help = "Examples:\n  offsite serve fingerprint\n  offsite serve fingerprint --config /etc/offsite/agent.toml"
    )]
    Fingerprint,
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Make a token and print it (once: only its hash is kept).
    #[command(
        after_help = "Examples:\n  offsite serve token create\n  offsite serve token create --project shop --read-only\n  offsite serve token create --metrics"
    )]
    Create {
        /// Only for this project (repeatable; default: all projects).
        #[arg(long = "project", value_name = "P")]
        projects: Vec<String>,
        /// Only reads: list, status, download. No backups, deletes or schedules.
        #[arg(long)]
        read_only: bool,
        /// A metrics token: it reads `GET /metrics` and nothing else (for a scrape config).
        #[arg(long, conflicts_with_all = ["projects", "read_only"])]
        metrics: bool,
    },
    /// List tokens (id, projects, read-only, created, revoked; never the token).
    #[command(
        after_help = "Examples:\n  offsite serve token list\n  offsite serve token list --json"
    )]
    List,
    /// Revoke a token by id; it is refused from the next request on.
    #[command(after_help = "Examples:\n  offsite serve token revoke 3f2a9c")]
    Revoke {
        /// The token's id (as `offsite serve token list` shows it).
        id: String,
    },
}

/// The configuration: the file (or DIR/agent.toml), then the flags over it.
fn resolve(
    args: &ServeArgs,
    data_dir: Option<PathBuf>,
    pg_bin: Option<PathBuf>,
) -> Result<AgentConfig> {
    let default_listen: SocketAddr = DEFAULT_LISTEN.parse().expect("address");
    let mut config = match (&args.config, &data_dir) {
        (Some(file), _) => AgentConfig::load(file)?,
        (None, Some(dir)) if dir.join("agent.toml").is_file() => {
            AgentConfig::load(&dir.join("agent.toml"))?
        }
        (None, Some(dir)) => AgentConfig::new(default_listen, dir.clone()),
        (None, None) => {
            return Err(
                Error::invalid("the agent needs --config FILE or --data-dir DIR")
                    .with_hint("offsite serve --config /etc/offsite/agent.toml"),
            )
        }
    };
    // With --config the file's data_dir wins (OFFSITE_DATA_DIR of a shell must not move it).
    if let (None, Some(dir)) = (&args.config, data_dir) {
        config.data_dir = std::path::absolute(&dir).unwrap_or(dir);
    }
    if let Some(l) = args.listen {
        config.listen = l;
    }
    if args.tls_cert.is_some() {
        config.tls_cert = args.tls_cert.clone();
        config.tls_key = args.tls_key.clone();
    }
    if args.insecure_http {
        config.insecure_http = true;
    }
    if pg_bin.is_some() {
        config.pg_bin = pg_bin;
    }
    config.check()?;
    Ok(config)
}

/// Run `offsite serve …`.
pub async fn run(
    args: &ServeArgs,
    data_dir: Option<PathBuf>,
    pg_bin: Option<PathBuf>,
    out: &Out,
    cancel: CancellationToken,
) -> Result<u8> {
    let config = resolve(args, data_dir, pg_bin)?;
    match &args.command {
        None => serve(config, cancel).await,
        Some(ServeCmd::Fingerprint) => {
            let fp = offsite_agent::fingerprint(&config)?;
            if out.json() {
                out.emit(&json!({ "fingerprint": fp }));
            } else {
                println!("{fp}");
            }
            Ok(0)
        }
        Some(ServeCmd::Token(cmd)) => token(&config, cmd, out),
    }
}

fn token(config: &AgentConfig, cmd: &TokenCmd, out: &Out) -> Result<u8> {
    offsite_core::private_fs::create_dir_all(&config.data_dir)
        .map_err(|e| Error::io(format!("creating {}", config.data_dir.display()), e))?;
    let store = TokenStore::new(&config.data_dir);
    match cmd {
        TokenCmd::Create { metrics: true, .. } => {
            let (rec, token) = store.create_metrics()?;
            if out.json() {
                out.emit(&json!({ "token": token, "record": rec }));
            } else {
                println!("{token}");
                eprintln!(
                    "metrics token {} created: it reads GET /metrics only; it is shown only now",
                    rec.id
                );
            }
        }
        TokenCmd::Create {
            projects,
            read_only,
            ..
        } => {
            for p in projects {
                if !config.projects.contains_key(p) {
                    return Err(Error::not_found(format!(
                        "no project {p:?} in the agent's configuration"
                    ))
                    .with_hint("give --config FILE, or one of the ids under [projects]"));
                }
            }
            let projects = (!projects.is_empty()).then(|| projects.clone());
            let (rec, token) = store.create(projects, *read_only)?;
            if out.json() {
                out.emit(&json!({ "token": token, "record": rec }));
            } else {
                println!("{token}");
                eprintln!(
                    "token {} created ({}{}); it is shown only now: store it in the laptop's keychain",
                    rec.id,
                    rec.projects
                        .as_ref()
                        .map(|p| format!("projects {}", p.join(", ")))
                        .unwrap_or_else(|| "all projects".into()),
                    if rec.read_only { ", read-only" } else { "" }
                );
            }
        }
        TokenCmd::List => {
            let tokens = store.list()?;
            if out.json() {
                out.emit(&json!({ "tokens": tokens }));
            } else {
                println!(
                    "{:<14} {:<24} {:<10} {:<22} REVOKED",
                    "ID", "PROJECTS", "ACCESS", "CREATED"
                );
                for t in tokens {
                    println!(
                        "{:<14} {:<24} {:<10} {:<22} {}",
                        t.id,
                        t.projects
                            .map(|p| p.join(","))
                            .unwrap_or_else(|| "*".into()),
                        if t.metrics {
                            "metrics"
                        } else if t.read_only {
                            "read"
                        } else {
                            "read-write"
                        },
                        t.created_at,
                        t.revoked_at.unwrap_or_else(|| "-".into())
                    );
                }
            }
        }
        TokenCmd::Revoke { id } => {
            let rec = store.revoke(id)?;
            out.done(&format!("revoked token {}", rec.id));
        }
    }
    Ok(0)
}

async fn serve(config: AgentConfig, cancel: CancellationToken) -> Result<u8> {
    #[cfg(unix)]
    {
        // systemd and Kubernetes stop services with SIGTERM.
        let cancel = cancel.clone();
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::spawn(async move {
                term.recv().await;
                cancel.cancel();
            });
        }
    }
    offsite_agent::serve(config, cancel, |info| {
        let mut o = std::io::stdout().lock();
        let _ = writeln!(o, "offsite agent listening on {}", info.url);
        if let Some(fp) = &info.fingerprint {
            let _ = writeln!(o, "TLS certificate fingerprint: {fp}");
        }
        let _ = o.flush();
    })
    .await?;
    Ok(0)
}
