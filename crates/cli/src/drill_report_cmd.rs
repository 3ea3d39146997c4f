//! `offsite drill public-key`, `offsite drill verify-report FILE [--public-key KEY]` and the
//! page `offsite drill show ID --html FILE` writes.

use crate::output::Out;
use offsite_core::drill::Verdict;
use offsite_core::{Engine, Result};
use serde_json::json;
use std::path::Path;

pub fn public_key(engine: &Engine, out: &Out) -> Result<u8> {
    let pem = engine.drill_public_key()?;
    if out.json() {
        let key = offsite_core::drill::sign::PublicKey::parse(&pem)?;
        out.emit(&json!({ "public_key": pem, "key_id": key.key_id() }));
    } else {
        print!("{pem}");
    }
    Ok(0)
}

pub fn verify(engine: &Engine, file: &Path, public_key: Option<&str>, out: &Out) -> Result<u8> {
    let v = engine.verify_drill_report(file, public_key)?;
    let r = &v.report;
    if out.json() {
        out.emit(&json!({ "valid": true, "key_id": v.key_id, "report": r }));
    } else {
        let verdict = match r.verdict {
            Verdict::Passed => "passed",
            Verdict::Failed => "FAILED",
        };
        println!(
            "valid: signed by key {}\ndrill {} of project {}, backup {} ({}): {verdict}, finished {}",
            v.key_id, r.drill_id, r.project, r.backup_id, r.archive_sha256, r.finished_at
        );
    }
    Ok(0)
}

pub async fn write_html(engine: &Engine, id: &str, file: &Path) -> Result<()> {
    engine.save_drill_report_html(id, file).await?;
    eprintln!("wrote {}", file.display());
    Ok(())
}
