//! `offsite recovery-card P [--out FILE.html] [--contact "Name <mail>"]…`: the project's
//! printable recovery card (the engine gathers it and writes the page; this writes the file).

use crate::output::Out;
use clap::Args;
use offsite_core::{Engine, Result};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct RecoveryCardArgs {
    /// The project (see `offsite project list`).
    pub project: String,
    /// Where to write the page (mode 0600, replaced whole). Default: PROJECT-recovery-card.html
    /// in the current folder.
    #[arg(long, value_name = "FILE.html")]
    pub out: Option<PathBuf>,
    /// A person to call, as it should be printed ("Ann Lee <ann@example.com>, +44 20 7946 0000");
    /// repeat for more. Given per card: nothing is stored.
    #[arg(long = "contact", value_name = "TEXT")]
    pub contacts: Vec<String>,
}

pub async fn run(engine: &Engine, args: RecoveryCardArgs, out: &Out) -> Result<u8> {
    let out_path = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("{}-recovery-card.html", args.project)));
    let (card, path) = engine
        .write_recovery_card(&args.project, &args.contacts, Some(out_path))
        .await?;
    if out.json() {
        out.emit(&serde_json::json!({ "path": path, "card": card }));
    } else {
        out.done(&format!(
            "wrote the recovery card of {} to {} (print it; keep it away from this computer)",
            card.project,
            path.display()
        ));
    }
    Ok(0)
}
