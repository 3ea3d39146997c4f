//! `offsite encryption set|confirm|show|default` and `offsite key export`: a project's
//! encryption (age), its recovery key shown once and entered back.

use crate::output::Out;
use clap::{Args, Subcommand};
use offsite_core::crypto::UserKey;
use offsite_core::ops::encryption::{EncryptionMode, EncryptionSettings, SetEncryption};
use offsite_core::{Engine, Error, Result};
use std::io::Read;

/// The most read from standard input for a key, a passphrase or an identity file.
const MAX_STDIN_KEY: u64 = 64 << 10;

#[derive(Subcommand)]
pub enum EncryptionCmd {
    /// Turn encryption on (a passphrase, or a key Offsite generates) or off. A key prints its
    /// recovery key once; enter it back with `encryption confirm` before the next backup.
    #[command(
        after_help = "Examples:\n  offsite encryption set shop --generate-key > shop-key.txt\n  offsite encryption set shop --generate-key --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n  printf %s \"$PASSPHRASE\" | offsite encryption set shop --passphrase-stdin\n  offsite encryption set shop --off"
    )]
    Set(SetArgs),
    /// Enter the recovery key back (read from standard input: the AGE-SECRET-KEY-1… line, or
    /// the passphrase); encrypted backups run once it is confirmed.
    #[command(
        after_help = "Examples:\n  offsite encryption confirm shop < shop-recovery-key.txt\n  printf %s \"$PASSPHRASE\" | offsite encryption confirm shop"
    )]
    Confirm {
        /// The project whose recovery key to confirm.
        name: String,
    },
    /// Show a project's encryption: mode, public keys, whether the recovery key was confirmed.
    #[command(
        after_help = "Examples:\n  offsite encryption show shop\n  offsite encryption show shop --json"
    )]
    Show {
        /// The project whose encryption to show.
        name: String,
    },
    /// The encryption mode new projects start with (off, passphrase or key); without MODE,
    /// print it.
    #[command(
        after_help = "Examples:\n  offsite encryption default key\n  offsite encryption default"
    )]
    Default {
        /// off, passphrase or key.
        mode: Option<String>,
    },
}

#[derive(Args)]
#[group(skip)]
pub struct SetArgs {
    /// The project to encrypt.
    name: String,
    /// Encrypt with a passphrase (age scrypt) read from standard input (the first line).
    #[arg(long, group = "how")]
    passphrase_stdin: bool,
    /// Encrypt to a new X25519 key Offsite generates (kept in the keychain); prints its
    /// recovery key once.
    #[arg(long, group = "how")]
    generate_key: bool,
    /// Stop encrypting new backups (keys stay in the keychain for older archives).
    #[arg(long, group = "how")]
    off: bool,
    /// Also encrypt to this public key (age1… or an "ssh-ed25519 …" / "ssh-rsa …" line); any one
    /// recipient opens an archive alone. Repeat for several. Key mode only.
    #[arg(long = "recipient", value_name = "PUBLIC_KEY")]
    recipients: Vec<String>,
}

#[derive(Subcommand)]
pub enum KeyCmd {
    /// Print a project's recovery key (its age identity file, or its passphrase) from the
    /// keychain: keep it somewhere safe; it opens every encrypted archive of the project.
    #[command(
        after_help = "Examples:\n  offsite key export shop > shop-key.txt\n  offsite key export shop --json"
    )]
    Export {
        /// The project (or removed project, see `key list`) whose key to print.
        name: String,
    },
    /// List the encryption keys Offsite keeps: the projects', and those of removed projects
    /// (orphaned: kept in the keychain so their backups still open).
    #[command(after_help = "Examples:\n  offsite key list\n  offsite key list --json")]
    List,
    /// Delete the kept key of a removed project from the keychain (its backups then open only
    /// with a saved recovery key); asks for the name to be typed back.
    #[command(
        after_help = "Examples:\n  offsite key export shop > shop-key.txt\n  offsite key remove shop\n  offsite key remove shop --yes"
    )]
    Remove {
        /// The removed project whose kept key to delete (see `offsite key list`).
        name: String,
        /// Do not ask (headless use): the name counts as typed.
        #[arg(long)]
        yes: bool,
    },
}

/// Everything on standard input (bounded).
pub fn read_stdin_secret(what: &str) -> Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .lock()
        .take(MAX_STDIN_KEY + 1)
        .read_to_string(&mut text)
        .map_err(|e| Error::io(format!("reading {what} from standard input"), e))?;
    if text.len() as u64 > MAX_STDIN_KEY {
        return Err(Error::invalid(format!(
            "{what} on standard input is too long"
        )));
    }
    if text.trim().is_empty() {
        return Err(
            Error::invalid(format!("no {what} on standard input")).with_hint(
                "pipe it in: offsite … < key.txt, or printf %s \"$PASSPHRASE\" | offsite …",
            ),
        );
    }
    Ok(text)
}

/// The key of `verify --key-stdin`.
pub fn key_from_stdin() -> Result<UserKey> {
    UserKey::parse(&read_stdin_secret("the key or passphrase")?)
}

/// The settings as lines for people.
fn settings_lines(name: &str, s: &EncryptionSettings) -> String {
    let mut t = format!("project:     {name}\nencryption:  {}\n", s.mode);
    if let Some(k) = &s.public_key {
        t.push_str(&format!("public key:  {k}\n"));
    }
    for r in &s.recipients {
        t.push_str(&format!("recipient:   {r}\n"));
    }
    if s.mode != EncryptionMode::Off {
        let confirmed = if s.confirmed {
            "yes"
        } else {
            "NO: run `offsite encryption confirm` before the next backup"
        };
        t.push_str(&format!("confirmed:   {confirmed}\n"));
    }
    t
}

fn show(out: &Out, name: &str, s: &EncryptionSettings) {
    if out.json() {
        out.emit(s);
        return;
    }
    print!("{}", settings_lines(name, s));
}

pub async fn encryption(engine: &Engine, cmd: EncryptionCmd, out: &Out) -> Result<u8> {
    match cmd {
        EncryptionCmd::Set(a) => set(engine, a, out).await?,
        EncryptionCmd::Confirm { name } => {
            let item = read_stdin_secret("the recovery key")?;
            let s = engine.confirm_recovery(&name, &item).await?;
            if out.json() {
                out.emit(&s);
            } else {
                println!("confirmed: encrypted backups of {name} can run");
            }
        }
        EncryptionCmd::Show { name } => show(out, &name, &engine.encryption(&name).await?),
        EncryptionCmd::Default { mode: None } => {
            let mode = engine.default_encryption().await?;
            if out.json() {
                out.emit(&mode);
            } else {
                println!("{mode}");
            }
        }
        EncryptionCmd::Default { mode: Some(m) } => {
            let mode: EncryptionMode = m.parse()?;
            engine.set_default_encryption(mode).await?;
            out.done(&format!("new projects start with encryption: {mode}"));
        }
    }
    Ok(0)
}

async fn set(engine: &Engine, a: SetArgs, out: &Out) -> Result<()> {
    let (mode, passphrase) = if a.passphrase_stdin {
        let text = read_stdin_secret("the passphrase")?;
        let first = text.lines().next().unwrap_or("").to_string();
        (EncryptionMode::Passphrase, Some(first))
    } else if a.generate_key {
        (EncryptionMode::Key, None)
    } else if a.off {
        (EncryptionMode::Off, None)
    } else {
        return Err(Error::invalid(
            "choose one of --passphrase-stdin, --generate-key or --off",
        ));
    };
    let setup = engine
        .set_encryption(
            &a.name,
            SetEncryption {
                mode: Some(mode),
                passphrase,
                recipients: a.recipients,
            },
        )
        .await?;
    let name = &a.name;
    if out.json() {
        out.emit(&setup);
    } else if let Some(item) = &setup.recovery_item {
        // Only the key goes to standard output, so `> key.txt` keeps exactly an identity file
        // that `encryption confirm` and `age -d -i` read; everything else goes to stderr.
        eprint!("{}", settings_lines(name, &setup.settings));
        println!("{}", item.trim_end());
    } else {
        show(out, name, &setup.settings);
    }
    match (&setup.recovery_item, mode) {
        (Some(_), _) => eprintln!(
            "\nThe line starting AGE-SECRET-KEY-1 is the recovery key of {name}. It is shown once: \
             save it now (print it, or put it in a password manager), away from this computer. \
             Without it nobody can recover the data if this computer's keychain is lost.\n\
             Only the key is written to standard output: `> {name}-key.txt` saves exactly it.\n\
             Then enter it back: offsite encryption confirm {name} < {name}-key.txt"
        ),
        (None, EncryptionMode::Passphrase) => eprintln!(
            "\nKeep the passphrase safe: without it nobody can recover the data. Enter it back \
             to confirm: printf %s \"$PASSPHRASE\" | offsite encryption confirm {name}"
        ),
        _ => {}
    }
    if mode == EncryptionMode::Key && headless_store() {
        let var = offsite_core::secrets::env_var_for_key(
            &offsite_core::secrets::project_encryption_identity_key(name),
        );
        eprintln!(
            "\nWithout a keychain ({}=env) the key is not kept on this computer: backups need \
             only its public half. To restore or verify them here, give the recovery key in {var}, \
             or save it in a file only you may read (chmod 600) and name that file in {var}{}.",
            offsite_core::secrets::SECRET_STORE_ENV,
            offsite_core::secrets::FILE_SUFFIX
        );
    }
    Ok(())
}

/// Whether secrets come from the environment (read-only): `OFFSITE_SECRET_STORE=env`.
fn headless_store() -> bool {
    std::env::var(offsite_core::secrets::SECRET_STORE_ENV)
        .is_ok_and(|v| v.trim().eq_ignore_ascii_case("env"))
}

/// On a terminal (and without --json): `explain` on stderr, then the name typed back (`None`
/// when nobody can be asked).
pub fn ask_name(out: &Out, name: &str, explain: &str, action: &str) -> Option<String> {
    use std::io::{BufRead, IsTerminal, Write};
    if out.json() || !std::io::stdin().is_terminal() {
        return None;
    }
    eprintln!("{explain}");
    eprint!("Type the name ({name}) to {action}: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).ok()?;
    Some(answer.trim().to_string())
}

fn list_keys(out: &Out, keys: &[offsite_core::ops::KeyListing]) {
    if out.json() {
        out.emit(&keys);
        return;
    }
    if keys.is_empty() {
        println!("no encryption keys");
        return;
    }
    for k in keys {
        let state = match &k.removed_at {
            Some(at) if k.orphaned => format!("orphaned (project removed {at})"),
            _ => "project".to_string(),
        };
        println!(
            "{:<24} {:<10} {:<64} {state}",
            k.name,
            k.mode,
            k.public_key.as_deref().unwrap_or("-")
        );
    }
}

pub async fn key(engine: &Engine, cmd: KeyCmd, out: &Out) -> Result<u8> {
    match cmd {
        KeyCmd::List => list_keys(out, &engine.keys().await?),
        KeyCmd::Remove { name, yes } => {
            let typed = if yes { Some(name.clone()) } else { None };
            match engine.remove_kept_key(&name, typed.as_deref()).await {
                Err(e) if e.kind() == offsite_core::ErrorKind::NeedsConsent && !yes => {
                    let explain = format!(
                        "The kept key of the removed project {name} opens its backups. Deleted, \
                         they open only with a saved recovery key. Save it first if you have \
                         not: offsite key export {name} > {name}-key.txt"
                    );
                    let Some(answer) = ask_name(out, &name, &explain, "delete the key") else {
                        return Err(e);
                    };
                    engine.remove_kept_key(&name, Some(&answer)).await?;
                }
                other => other?,
            }
            out.done(&format!("deleted the kept encryption key of {name}"));
        }
        KeyCmd::Export { name } => {
            let item = engine.export_key(&name).await?;
            if out.json() {
                out.emit(&serde_json::json!({ "project": name, "recovery_item": item }));
            } else {
                println!("{}", item.trim_end());
            }
        }
    }
    Ok(0)
}
