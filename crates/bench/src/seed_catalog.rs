//! `offsite-seed-catalog`: writes a catalog with one project and N backup records (default
//! 10,000) into a data folder, through the engine's own `Catalog` API (so the schema is always the
//! one the app expects). The archive files do not exist: only the catalog rows do. Used by the
//! desktop performance measurements (tests/perf, tests/e2e/specs/perf.spec.js).
//!
//!   offsite-seed-catalog DATA_DIR [--project NAME] [--backups N] [--manifest-tables T]
//!
//! `--manifest-tables T` stores a manifest in every row (as real backups have: the archive's
//! members with checksums and T tables with row counts; T = 0, the default, stores none).
//!
//! Prints one JSON line: {"data_dir", "project", "project_id", "backups", "seconds"}.

use offsite_core::catalog::{Catalog, NewBackup, NewProject};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn usage() -> ! {
    eprintln!(
        "usage: offsite-seed-catalog DATA_DIR [--project NAME] [--backups N] [--manifest-tables T]"
    );
    std::process::exit(2)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mut data_dir: Option<PathBuf> = None;
    let mut project = "perf10k".to_string();
    let mut count: u64 = 10_000;
    let mut tables: u64 = 0;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--project" => project = args.next().unwrap_or_else(|| usage()),
            "--backups" => {
                count = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--manifest-tables" => {
                tables = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "-h" | "--help" => usage(),
            _ if data_dir.is_none() && !a.starts_with('-') => data_dir = Some(a.into()),
            _ => usage(),
        }
    }
    let data_dir = data_dir.unwrap_or_else(|| usage());
    if let Err(e) = seed(&data_dir, &project, count, tables).await {
        eprintln!("offsite-seed-catalog: {e}");
        std::process::exit(1);
    }
}

async fn seed(data_dir: &PathBuf, name: &str, count: u64, tables: u64) -> offsite_core::Result<()> {
    let started = Instant::now();
    std::fs::create_dir_all(data_dir)
        .map_err(|e| offsite_core::Error::io(format!("creating {}", data_dir.display()), e))?;
    let catalog = Catalog::open(data_dir).await?;
    let project = catalog
        .add_project(&NewProject {
            name: name.to_string(),
            db_url: "postgres://postgres@127.0.0.1:5432/perf".to_string(),
            tls_mode: "disable".to_string(),
            backup_dir: None,
        })
        .await?;
    let backup_dir = data_dir.join("backups").join(name);
    // One backup an hour going back from a fixed instant: deterministic rows.
    let newest = offsite_core::catalog::parse_timestamp("2026-01-01T00:00:00Z")?;
    let types = offsite_core::archive::BackupType::ALL;
    for i in 0..count {
        let at = newest - Duration::from_secs(3600 * i);
        let rec = catalog
            .add_backup(&NewBackup {
                project_id: project.id.clone(),
                path: backup_dir.join(format!("{name}-{i:05}.offsite.tar.gz")),
                size: 1_000_000 + (i * 7919) % 50_000_000,
                sha256: format!("{:064x}", i as u128 * 0x9E37_79B9_7F4A_7C15),
                backup_type: types[(i as usize) % types.len()],
                created_at: offsite_core::catalog::format_timestamp(at),
                manifest_json: (tables > 0).then(|| manifest(name, i, tables)),
                job_id: None,
                origin: Default::default(),
            })
            .await?;
        // Some variety in the status column: every 10th verified, every 97th corrupt.
        if i % 97 == 0 {
            catalog
                .record_verify(
                    &rec.id,
                    false,
                    Some("member data/db.dump: checksum mismatch"),
                )
                .await?;
        } else if i % 10 == 0 {
            catalog.record_verify(&rec.id, true, None).await?;
        }
    }
    catalog.close().await;
    println!(
        "{}",
        serde_json::json!({
            "data_dir": data_dir.display().to_string(),
            "project": name,
            "project_id": project.id,
            "backups": count,
            "manifest_tables": tables,
            "seconds": (started.elapsed().as_secs_f64() * 100.0).round() / 100.0,
        })
    );
    Ok(())
}

/// A manifest shaped like the ones real backups record (see offsite_core::archive::manifest):
/// members with sizes and checksums, component checksums, `tables` tables with row counts, roles.
fn manifest(project: &str, i: u64, tables: u64) -> String {
    let sha = |k: u64| format!("{:064x}", (i as u128) << 64 | k as u128);
    let members = ["database.dump", "globals.sql", "schema.sql", "storage.json", "config.json"]
        .iter()
        .enumerate()
        .map(|(k, m)| serde_json::json!({"name": m, "size": 1000 + 37 * k as u64 + i, "sha256": sha(k as u64)}))
        .collect::<Vec<_>>();
    let schemas = ["public", "auth", "storage", "realtime"];
    let tables = (0..tables)
        .map(|t| {
            serde_json::json!({
                "schema": schemas[(t as usize) % schemas.len()],
                "name": format!("table_{t:03}"),
                "rows": (i * 31 + t * 977) % 1_000_000,
            })
        })
        .collect::<Vec<_>>();
    serde_json::json!({
        "format_version": 1,
        "backup_id": format!("{i:08x}-0000-4000-8000-000000000000"),
        "project": project,
        "type": "full",
        "created_at": "2026-01-01T00:00:00Z",
        "versions": {"offsite": "0.1.0", "pg_dump": "17.2", "server": "15.8"},
        "source": {"host": "db.example.supabase.co", "database": "postgres"},
        "members": members,
        "components": {"database": sha(100), "globals": sha(101)},
        "tables": tables,
        "roles": ["anon", "authenticated", "service_role", "supabase_admin", "postgres"],
        "globals_note": null,
    })
    .to_string()
}
