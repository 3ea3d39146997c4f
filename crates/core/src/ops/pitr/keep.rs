//! Keeping a project captured while something runs always (`offsite serve` with a project's
//! `[projects.<id>.pitr]`, `offsite daemon`; docs/pitr.md): one pass reads what the slot holds,
//! then
//! - a chain whose published tables changed (DDL: a column added, dropped or retyped, a table
//!   created or dropped) ends there, saying so, and a new chain starts with a new base — the
//!   window breaks at the change and goes on from the new base;
//! - with `restart`, a project without an active chain (never enabled here, or its slot was
//!   lost) starts one, with the limits it is given;
//! - the project's server is looked at for stray Offsite slots (at most every few minutes; new
//!   ones are reported once, [`super::stray`]), whatever the pass did — never failing it;
//! - with `restart` and a `mode`, a running chain of the other mode is ended (after a last pass
//!   reads what its slot holds; its windows stay restorable) and a chain of that mode starts —
//!   when the server allows it: otherwise the running chain goes on and the error says why.
//!
//! The schema-change check is the logical capture's: a physical chain holds the whole server's
//! WAL, a schema change is in it.

use super::{active_chain, connect, enable, run_once, PitrEnabled, PitrRun, StoredCoverage};
use crate::catalog::PitrChain;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::pitr::physical::CaptureMode;
use crate::pitr::server;
use crate::pitr::Names;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// What the capture is asked to keep: the limits a new chain gets, and its mode.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeepCapturing {
    /// Start a chain when there is none (the agent's configuration asks for capture).
    pub restart: bool,
    pub max_retained: Option<u64>,
    pub keep_within: Option<i64>,
    /// The capture to keep (the agent's `mode`). `None`: a running chain keeps its mode and a
    /// new one captures as the last chain did (logical when there was none).
    pub mode: Option<CaptureMode>,
}

/// Start capturing project `name` in `mode`.
pub(crate) async fn enable_mode(
    engine: &Engine,
    name: &str,
    mode: CaptureMode,
    max_retained: Option<u64>,
    keep_within: Option<i64>,
) -> Result<PitrEnabled> {
    match mode {
        CaptureMode::Logical => enable(engine, name, max_retained, keep_within).await,
        CaptureMode::Physical => {
            super::physical::enable(engine, name, max_retained, keep_within).await
        }
    }
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
    // A chain whose base a killed process never finished is ended here (and, with
    // want.restart, replaced below); one whose base another process is taking is left alone.
    let settled = super::unfinished::settle(engine, &project, false).await?;
    if settled == super::unfinished::Settled::InProgress {
        return Ok(pass);
    }
    let Some(chain) = active_chain(engine, &project).await? else {
        if !want.restart && settled == super::unfinished::Settled::Ended {
            return Err(Error::new(
                ErrorKind::Interrupted,
                format!(
                    "the point-in-time capture of {name} had no base: {}",
                    super::unfinished::INTERRUPTED_BASE
                ),
            )
            .with_hint(format!("`offsite pitr enable {name}` starts it again")));
        }
        if !want.restart {
            // Says that capture is not enabled, and how to enable it.
            run_once(engine, name, cancel).await?;
            return Ok(pass);
        }
        pass.new_base_why = Some("capture was not running".into());
        // Without a mode asked for, a new chain captures as the last one did (a physical
        // capture stays physical).
        let mode = match want.mode {
            Some(m) => m,
            None => match engine.catalog.pitr_chains(&project.id).await?.last() {
                Some(c) if c.mode == "physical" => CaptureMode::Physical,
                _ => CaptureMode::Logical,
            },
        };
        let (max, keep) = (want.max_retained, want.keep_within);
        pass.started = Some(enable_mode(engine, name, mode, max, keep).await?);
        return Ok(pass);
    };
    if let Some(mode) = want.mode.filter(|m| m.as_str() != chain.mode) {
        if want.restart {
            return switch(engine, name, &chain, mode, want, cancel).await;
        }
        // Held (a switch failed a moment ago): the running chain goes on being captured.
    }
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

/// The running `chain` captures in another mode than `mode` asks: when the server allows
/// `mode`, a last pass reads what the running slot holds, the chain ends saying why (its slot
/// and publication dropped, its windows restorable) and a chain of `mode` starts (the limits
/// asked for, else the running chain's). When it does not, nothing changes and the error says
/// why (the caller tries again later; the running chain is captured meanwhile).
async fn switch(
    engine: &Engine,
    name: &str,
    chain: &PitrChain,
    mode: CaptureMode,
    want: KeepCapturing,
    cancel: &CancellationToken,
) -> Result<KeepPass> {
    let modes = super::physical::modes(engine, name).await?;
    if let Some(why) = modes.why_not(mode) {
        return Err(Error::new(
            ErrorKind::Permission,
            format!("the {mode} capture asked for {name} is not possible: {why}"),
        )
        .with_hint(format!(
            "the running {} capture goes on; it is tried again later",
            chain.mode
        )));
    }
    let mut pass = KeepPass {
        run: run_once(engine, name, cancel).await?,
        ..Default::default()
    };
    if pass.run.dropped.is_some() {
        // The slot is gone and the chain ended: the new one starts after the caller's wait.
        return Ok(pass);
    }
    let why = format!(
        "the {mode} capture is asked for: the {} capture ended",
        chain.mode
    );
    tracing::info!(project = %name, "point-in-time capture: {why}");
    engine
        .catalog
        .end_pitr_chain(&chain.id, &format!("{why} (its slot dropped)"))
        .await?;
    super::disable(engine, name).await?;
    let max = want
        .max_retained
        .or_else(|| u64::try_from(chain.max_retained).ok());
    let keep = want.keep_within.or(chain.keep_within);
    pass.started = Some(enable_mode(engine, name, mode, max, keep).await?);
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
