//! Keeping a project captured while something runs always (`offsite serve` with a project's
//! `[projects.<id>.pitr]`, `offsite daemon`; docs/pitr.md): one pass reads what the slot holds,
//! then
//! - a chain whose published tables changed (DDL: a column added, dropped or retyped, a table
//!   created or dropped) ends there, saying so, and a new chain starts with a new base — the
//!   window breaks at the change and goes on from the new base;
//! - with `restart`, a project without an active chain (never enabled here, or its slot was
//!   lost) starts one, with the limits it is given;
//! - the project's server is looked at for stray Offsite slots (at most every few minutes; new
//!   ones are reported once, [`super::stray`]), whatever the pass did — never failing it.

use super::{active_chain, connect, enable, run_once, PitrEnabled, PitrRun, StoredCoverage};
use crate::engine::Engine;
use crate::error::Result;
use crate::pitr::server;
use crate::pitr::Names;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// What the capture is asked to keep: the limits a new chain gets.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeepCapturing {
    /// Start a chain when there is none (the agent's configuration asks for capture).
    pub restart: bool,
    pub max_retained: Option<u64>,
    pub keep_within: Option<i64>,
}

/// What one pass of [`keep`] did.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct KeepPass {
    /// The capture pass (empty when there was no chain to read).
    #[serde(flatten)]
    pub run: PitrRun,
    /// Why a new chain started (`None`: none did).
    pub new_base_why: Option<String>,
    pub started: Option<PitrEnabled>,
}

/// One pass for project `name`: capture, then a new base when the tables changed, or (with
/// `want.restart`) when there is no chain; then, while capture is on, stray slots reported.
pub(crate) async fn keep(
    engine: &Engine,
    name: &str,
    want: KeepCapturing,
    cancel: &CancellationToken,
) -> Result<KeepPass> {
    let project = engine.catalog.project(name).await?;
    let capturing = want.restart || active_chain(engine, &project).await?.is_some();
    let pass = keep_pass(engine, name, want, cancel).await;
    if capturing && !cancel.is_cancelled() {
        super::stray::check(engine, &project).await;
    }
    pass
}

async fn keep_pass(
    engine: &Engine,
    name: &str,
    want: KeepCapturing,
    cancel: &CancellationToken,
) -> Result<KeepPass> {
    let project = engine.catalog.project(name).await?;
    let mut pass = KeepPass::default();
    let Some(chain) = active_chain(engine, &project).await? else {
        if !want.restart {
            // Says that capture is not enabled, and how to enable it.
            run_once(engine, name, cancel).await?;
            return Ok(pass);
        }
        pass.new_base_why = Some("capture was not running".into());
        // A new chain captures as the last one did (a physical capture stays physical).
        let physical = engine
            .catalog
            .pitr_chains(&project.id)
            .await?
            .last()
            .is_some_and(|c| c.mode == "physical");
        let (max, keep) = (want.max_retained, want.keep_within);
        pass.started = Some(if physical {
            super::physical::enable(engine, name, max, keep).await?
        } else {
            enable(engine, name, max, keep).await?
        });
        return Ok(pass);
    };
    pass.run = run_once(engine, name, cancel).await?;
    // A physical chain holds the whole server's WAL: a schema change is in it.
    if pass.run.dropped.is_some() || chain.mode == "physical" {
        // The slot is gone: restarting at once would take a base and fill the same disk again.
        return Ok(pass);
    }
    let (spec, mut conn) = connect(engine, &project).await?;
    let names = Names {
        slot: chain.slot.clone(),
        publication: chain.publication.clone(),
    };
    let stored: StoredCoverage = serde_json::from_str(&chain.coverage).unwrap_or_default();
    let Some(why) = schema_change(&mut conn, &spec, &names, &stored).await? else {
        return Ok(pass);
    };
    let reason = format!("{why}: the window ends at the change and a new base starts the next");
    tracing::info!(project = %name, "point-in-time capture: {reason}");
    server::disable(&mut conn, &spec, &names).await?;
    engine.catalog.end_pitr_chain(&chain.id, &reason).await?;
    let max = u64::try_from(chain.max_retained).ok();
    pass.started = Some(enable(engine, name, max, chain.keep_within).await?);
    pass.new_base_why = Some(why);
    Ok(pass)
}

/// Whether the tables the chain captures changed since its base: their definitions (the
/// fingerprint recorded with the chain) or which tables can be captured.
async fn schema_change(
    conn: &mut sqlx::PgConnection,
    spec: &crate::postgres::conn::ConnSpec,
    names: &Names,
    stored: &StoredCoverage,
) -> Result<Option<String>> {
    let (now, _) = server::coverage(conn, spec).await?;
    if now.covered != stored.covered {
        let added: Vec<_> = now
            .covered
            .iter()
            .filter(|t| !stored.covered.contains(t))
            .collect();
        let gone: Vec<_> = stored
            .covered
            .iter()
            .filter(|t| !now.covered.contains(t))
            .collect();
        let mut what = Vec::new();
        if !added.is_empty() {
            what.push(format!("new: {}", join(&added)));
        }
        if !gone.is_empty() {
            what.push(format!("gone: {}", join(&gone)));
        }
        return Ok(Some(format!(
            "the captured tables changed ({})",
            what.join("; ")
        )));
    }
    let fingerprint = server::fingerprint(conn, spec, &names.publication).await?;
    Ok((fingerprint != stored.fingerprint).then(|| {
        if stored.fingerprint.starts_with(server::FINGERPRINT_V) {
            "the captured tables' definitions changed (DDL)".to_string()
        } else {
            "Offsite's check of the tables' definitions was widened (an update)".to_string()
        }
    }))
}

fn join(names: &[&String]) -> String {
    const SHOWN: usize = 5;
    let mut s = names
        .iter()
        .take(SHOWN)
        .map(|n| n.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        s.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    s
}
