//! `offsite destination add | set | list | remove | test`, `offsite copies` and `offsite sync`: where a
//! project's archives are copied besides its own folder (a folder, an S3-compatible bucket, an
//! rclone remote), each with its own retention; every backup and where its copies are; pushing
//! pending copies and applying each destination's retention.

use crate::keep_args::KeepArgs;
use crate::output::Out;
use clap::{ArgGroup, Args, Subcommand};
use offsite_core::catalog::{CopyState, DestinationSpec, S3Target};
use offsite_core::ops::destinations::ProtectionChange;
use offsite_core::ops::SyncOptions;
use offsite_core::schedule::RetentionPolicy;
use offsite_core::{Engine, Error, JobStart, Result};
use serde_json::json;

/// The variable a headless run may give an S3 destination's secret access key in (instead of
/// standard input).
pub const DEST_SECRET_ENV: &str = "OFFSITE_S3_DESTINATION_SECRET";

#[derive(Subcommand)]
pub enum DestinationCmd {
    /// Add a destination to a project: a folder, an S3-compatible bucket or an rclone remote,
    /// with its own retention (--keep-*; none: it keeps every copy). The S3 secret is read from
    /// standard input (--s3-secret-stdin) or OFFSITE_S3_DESTINATION_SECRET, never from the
    /// command line, and kept in the keychain.
    #[command(
        after_help = "Examples:\n  offsite destination add shop usb --folder /media/usb/offsite --keep-daily 7\n  printf %s \"$SECRET\" | offsite destination add shop bucket --s3 s3://my-backups/offsite --s3-endpoint https://s3.eu-central-1.amazonaws.com --s3-region eu-central-1 --s3-key-id AKIA123 --s3-secret-stdin --keep-monthly 12\n  offsite destination add shop nas --rclone nas:backups/offsite"
    )]
    Add(Box<AddArgs>),
    /// Change an S3 destination's Object Lock and storage class: what is given changes, the
    /// rest is kept (--object-lock off stops locking new copies, --storage-class default goes
    /// back to the bucket's class). Copies already there keep the lock they were given.
    #[command(
        after_help = "Examples:\n  offsite destination set shop bucket --object-lock governance --lock-days 14 --storage-class STANDARD_IA\n  offsite destination set shop bucket --object-lock off --storage-class default"
    )]
    Set(SetArgs),
    /// List a project's destinations with their retention.
    #[command(
        after_help = "Examples:\n  offsite destination list shop\n  offsite destination list shop --json"
    )]
    List {
        /// The project (see `offsite project list`).
        name: String,
    },
    /// Remove a destination. The copies there are left in place; Offsite stops tracking them.
    #[command(after_help = "Examples:\n  offsite destination remove shop usb")]
    Remove {
        /// The project (see `offsite project list`).
        name: String,
        /// The destination's name (see `offsite destination list NAME`).
        dest_name: String,
    },
    /// Test a destination: reachable (a drive not mounted is offline), writable, free space.
    #[command(
        after_help = "Examples:\n  offsite destination test shop usb\n  offsite destination test shop bucket --json"
    )]
    Test {
        /// The project (see `offsite project list`).
        name: String,
        /// The destination's name (see `offsite destination list NAME`).
        dest_name: String,
    },
}

#[derive(Args)]
#[command(group(ArgGroup::new("where").required(true).args(["folder", "s3", "rclone"])))]
pub struct AddArgs {
    /// The project (see `offsite project list`).
    name: String,
    /// The destination's name (letters, digits, '_', '-', '.'; e.g. usb, nas, bucket).
    dest_name: String,
    /// A folder: an external drive, a NAS mount (an absolute path; when it is not there the
    /// destination is offline and copies wait).
    #[arg(long, value_name = "DIR")]
    folder: Option<String>,
    /// Count this folder as offsite in the 3-2-1 view (a drive kept elsewhere).
    #[arg(long, requires = "folder")]
    offsite: bool,
    /// An S3-compatible bucket and prefix: s3://BUCKET/PREFIX.
    #[arg(long, value_name = "s3://BUCKET/PREFIX", requires_all = ["s3_endpoint", "s3_region", "s3_key_id"])]
    s3: Option<String>,
    /// The bucket's endpoint URL (https://s3.eu-central-1.amazonaws.com, http://127.0.0.1:9000).
    #[arg(long, value_name = "URL", requires = "s3")]
    s3_endpoint: Option<String>,
    /// The bucket's region (us-east-1 for most self-hosted stores).
    #[arg(long, value_name = "REGION", requires = "s3")]
    s3_region: Option<String>,
    /// The access key id (its secret: --s3-secret-stdin or OFFSITE_S3_DESTINATION_SECRET).
    #[arg(long, value_name = "ID", requires = "s3")]
    s3_key_id: Option<String>,
    /// Read the secret access key from standard input (one line).
    #[arg(long, requires = "s3")]
    s3_secret_stdin: bool,
    /// Path-style addressing (endpoint/bucket/key), as MinIO and most self-hosted stores need.
    #[arg(long, requires = "s3")]
    s3_path_style: bool,
    /// Lock every copy uploaded to the bucket (S3 Object Lock; the bucket must have it
    /// enabled): governance (an admin with a special permission can still remove a copy) or
    /// compliance (no one can until its date).
    #[arg(long, value_name = "MODE", requires = "s3", value_parser = ["governance", "compliance"])]
    object_lock: Option<String>,
    /// How many days each copy stays locked (default: the shortest period of the
    /// destination's time-based --keep-* rules).
    #[arg(long, value_name = "N", requires = "object_lock")]
    lock_days: Option<u32>,
    /// The storage class uploads go to: STANDARD, STANDARD_IA, ONEZONE_IA,
    /// INTELLIGENT_TIERING, GLACIER_IR, GLACIER, DEEP_ARCHIVE, … (copies in GLACIER or
    /// DEEP_ARCHIVE must be restored in the provider before they can be fetched).
    #[arg(long, value_name = "CLASS", requires = "s3")]
    storage_class: Option<String>,
    /// An rclone remote from your rclone configuration: REMOTE:PATH.
    #[arg(long, value_name = "REMOTE:PATH")]
    rclone: Option<String>,
    #[command(flatten)]
    keep: KeepArgs,
}

#[derive(Args)]
pub struct SetArgs {
    /// The project (see `offsite project list`).
    name: String,
    /// The destination's name (see `offsite destination list NAME`).
    dest_name: String,
    /// Lock every copy uploaded from now on: governance or compliance (see `destination add`);
    /// off stops locking new copies (those already there keep their lock).
    #[arg(long, value_name = "MODE", value_parser = ["governance", "compliance", "off"])]
    object_lock: Option<String>,
    /// How many days each new copy stays locked (default: kept, or from the destination's
    /// retention when the lock is new).
    #[arg(long, value_name = "N")]
    lock_days: Option<u32>,
    /// The storage class uploads go to (STANDARD, STANDARD_IA, GLACIER, DEEP_ARCHIVE, …), or
    /// default for the bucket's own.
    #[arg(long, value_name = "CLASS")]
    storage_class: Option<String>,
}

impl AddArgs {
    fn retention(&self) -> Result<Option<RetentionPolicy>> {
        let p = self.keep.policy()?;
        Ok((!p.is_empty()).then_some(p))
    }

    fn spec(&self) -> Result<(DestinationSpec, Option<String>)> {
        let mut spec = DestinationSpec {
            name: self.dest_name.clone(),
            folder: self.folder.clone(),
            rclone: self.rclone.clone(),
            offsite: self.offsite,
            retention: self.retention()?,
            ..Default::default()
        };
        let mut secret = None;
        if let Some(url) = &self.s3 {
            let (bucket, prefix) = offsite_core::ops::destinations::parse_s3_url(url)?;
            spec.s3 = Some(S3Target {
                endpoint: self.s3_endpoint.clone().unwrap_or_default(),
                region: self.s3_region.clone().unwrap_or_default(),
                bucket,
                prefix,
                key_id: self.s3_key_id.clone().unwrap_or_default(),
                path_style: self.s3_path_style,
                object_lock: self.object_lock.as_deref().map(str::parse).transpose()?,
                lock_days: self.lock_days,
                storage_class: self.storage_class.clone(),
            });
            secret = if self.s3_secret_stdin {
                Some(crate::read_password_stdin()?)
            } else {
                std::env::var(DEST_SECRET_ENV)
                    .ok()
                    .filter(|s| !s.is_empty())
            };
            if secret.is_none() {
                return Err(
                    Error::invalid("an S3 destination needs its secret access key").with_hint(
                        format!("pipe it in with --s3-secret-stdin, or set {DEST_SECRET_ENV}"),
                    ),
                );
            }
        }
        Ok((spec, secret))
    }
}

pub async fn destination(engine: &Engine, cmd: DestinationCmd, out: &Out) -> Result<u8> {
    match cmd {
        DestinationCmd::Add(a) => {
            let (spec, secret) = a.spec()?;
            let d = engine.add_destination(&a.name, spec, secret).await?;
            if out.json() {
                out.emit(&json!({ "destination": d }));
            } else {
                println!(
                    "added destination {} ({}) to {}",
                    d.name, d.location, a.name
                );
            }
        }
        DestinationCmd::Set(a) => {
            let lock = match a.object_lock.as_deref() {
                None => None,
                Some("off") => Some(None),
                Some(mode) => Some(Some(mode.parse()?)),
            };
            let storage_class = a
                .storage_class
                .as_deref()
                .map(|c| (!c.eq_ignore_ascii_case("default")).then(|| c.to_string()));
            let change = ProtectionChange {
                lock,
                lock_days: a.lock_days,
                storage_class,
            };
            let d = engine
                .set_destination_protection(&a.name, &a.dest_name, change)
                .await?;
            if out.json() {
                out.emit(&json!({ "destination": d }));
            } else {
                let s3 = d.s3.unwrap_or_default();
                let lock = match (s3.object_lock, s3.lock_days) {
                    (Some(m), Some(days)) => format!("{m} lock for {days} days"),
                    _ => "no lock".to_string(),
                };
                let class = s3
                    .storage_class
                    .as_deref()
                    .unwrap_or("the bucket's default class");
                println!("destination {} of {}: {lock}, {class}", d.name, a.name);
            }
        }
        DestinationCmd::List { name } => {
            let list = engine.destinations(&name).await?;
            if out.json() {
                out.emit(&json!({ "destinations": list }));
            } else if list.is_empty() {
                println!("{name} has no destinations (add one with `offsite destination add`)");
            } else {
                for d in list {
                    let rules = d
                        .retention
                        .as_ref()
                        .map(|r| r.describe())
                        .unwrap_or_else(|| "keep everything".into());
                    let offsite = if d.offsite { ", offsite" } else { "" };
                    let lock =
                        d.s3.as_ref()
                            .map(|s| {
                                let mut v = Vec::new();
                                if let (Some(m), Some(days)) = (s.object_lock, s.lock_days) {
                                    v.push(format!("{m} lock {days} days"));
                                }
                                if let Some(c) = &s.storage_class {
                                    v.push(c.clone());
                                }
                                v.iter().map(|x| format!(", {x}")).collect::<String>()
                            })
                            .unwrap_or_default();
                    println!(
                        "{}\t{}\t{}\t{rules}{offsite}{lock}",
                        d.name, d.kind, d.location
                    );
                }
            }
        }
        DestinationCmd::Remove { name, dest_name } => {
            let r = engine.remove_destination(&name, &dest_name).await?;
            if out.json() {
                out.emit(&json!({ "removed": r }));
            } else {
                println!("removed destination {}: {}", r.name, r.note);
            }
        }
        DestinationCmd::Test { name, dest_name } => {
            let t = engine.test_destination(&name, &dest_name).await?;
            if out.json() {
                out.emit(&json!({ "test": t }));
            } else {
                let state = if t.offline {
                    "offline".to_string()
                } else if t.writable {
                    "writable".to_string()
                } else {
                    "not writable".to_string()
                };
                let free = t
                    .free_bytes
                    .map(|b| format!(", {} MiB free", b / (1024 * 1024)))
                    .unwrap_or_default();
                println!("{} ({}): {state}{free}", t.name, t.location);
                if let Some(lock) = &t.lock {
                    println!("  {lock}");
                }
                if let Some(same) = &t.same_disk {
                    println!("  {same}");
                }
                if let Some(e) = &t.error {
                    println!("  {}", e.message);
                    if let Some(h) = &e.hint {
                        println!("  {h}");
                    }
                }
            }
            if !t.writable {
                return Ok(3);
            }
        }
    }
    Ok(0)
}

/// `offsite copies NAME`: every backup and where its copies are.
pub async fn copies(engine: &Engine, name: &str, out: &Out) -> Result<u8> {
    let all = engine.copies(name).await?;
    let protection = engine.protection(name).await?;
    if out.json() {
        out.emit(&json!({ "backups": all, "protection": protection }));
        return Ok(0);
    }
    println!("{}: {}", protection.project, protection.summary);
    for b in &all {
        // The id `fetch-copy` takes (or a unique start of it).
        println!("{}  {}  {}", b.created_at, b.backup_id, b.path);
        for c in &b.copies {
            let state = match c.state {
                CopyState::Stored => crate::words::backup_status(c.status).to_string(),
                CopyState::Pending => format!(
                    "pending since {}{}",
                    c.pending_since.as_deref().unwrap_or("?"),
                    c.last_error
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                ),
            };
            let lock = c
                .retain_until
                .as_deref()
                .map(|u| format!(" (locked until {u})"))
                .unwrap_or_default();
            println!("  {:<12} {state}{lock}\t{}", c.destination, c.location);
        }
    }
    Ok(0)
}

/// `offsite sync NAME`: push pending copies, apply each destination's retention.
pub async fn sync(engine: &Engine, name: String, out: &Out, job: JobStart) -> Result<u8> {
    let s = engine.sync(SyncOptions { project: name }, job).await?;
    if out.json() {
        out.emit(&json!({ "sync": s }));
    } else {
        for c in &s.copies {
            match &c.error {
                None => println!("copied to {}: {}", c.destination, c.location),
                Some(e) => println!("pending at {}: {}", c.destination, e.message),
            }
        }
        for p in &s.pruned {
            println!(
                "removed from {} by its retention: {}",
                p.destination, p.location
            );
        }
        for l in &s.locked {
            println!(
                "kept at {} (its retention would remove it): {}, {}",
                l.destination, l.location, l.note
            );
        }
        let g = &s.segments;
        for c in &g.copies {
            match &c.error {
                None => println!("copied change segment to {}: {}", c.destination, c.location),
                Some(e) => println!(
                    "change segment pending at {}: {}: {e}",
                    c.destination, c.segment
                ),
            }
        }
        for r in &g.removed {
            println!("removed a pruned window's change segment from {r}");
        }
        for l in &g.locked {
            println!("kept a pruned window's change segment at {l}");
        }
        println!("{} copies pending", s.pending);
        if g.pending > 0 {
            println!("{} change segment copies pending", g.pending);
        }
    }
    Ok(if s.pending > 0 || s.segments.pending > 0 {
        3
    } else {
        0
    })
}
