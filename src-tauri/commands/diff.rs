//! The Diff view: two backups (or a backup and the project's database now) compared table by
//! table, and a table's changed rows a page at a time. FROM and TO are what `offsite diff`
//! takes: a backup's path or id, `PROJECT:latest~N`, `PROJECT:live`.
//!
//! A comparison of big tables takes a while: the view names each call with a ticket of its own
//! and Cancel (or leaving the view) stops it through `cancel_diff`; the engine then ends it with
//! the error code `cancelled` and removes its temporary files.

use super::{err, CmdResult};
use crate::Shell;
use offsite_core::diff::{DiffOptions, DiffReport};
use std::collections::HashMap;
use std::sync::Mutex;
use tauri::State;
use tokio_util::sync::CancellationToken;

/// The comparisons running in this app, by the ticket their view gave. Managed state.
#[derive(Default)]
pub struct DiffTickets(Mutex<HashMap<String, CancellationToken>>);

impl DiffTickets {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancellationToken>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A token for `ticket`, registered until the returned guard drops.
    fn register<'a>(&'a self, ticket: Option<String>) -> (CancellationToken, TicketGuard<'a>) {
        let token = CancellationToken::new();
        if let Some(t) = &ticket {
            self.map().insert(t.clone(), token.clone());
        }
        (
            token,
            TicketGuard {
                tickets: self,
                ticket,
            },
        )
    }

    /// Stops the comparison `ticket`; false when none runs under it (any more).
    pub fn cancel(&self, ticket: &str) -> bool {
        match self.map().remove(ticket) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }
}

struct TicketGuard<'a> {
    tickets: &'a DiffTickets,
    ticket: Option<String>,
}

impl Drop for TicketGuard<'_> {
    fn drop(&mut self) {
        if let Some(t) = &self.ticket {
            self.tickets.map().remove(t);
        }
    }
}

/// Compares `from` with `to` (only `options.tables` when given; with `options.rows`, a page of
/// their changed rows). `ticket`: a name of the caller's choosing for `cancel_diff`.
#[tauri::command]
#[specta::specta]
pub async fn diff_backups(
    shell: State<'_, Shell>,
    tickets: State<'_, DiffTickets>,
    from: String,
    to: String,
    options: DiffOptions,
    ticket: Option<String>,
) -> CmdResult<DiffReport> {
    let engine = shell.engine()?;
    let (cancel, _registered) = tickets.register(ticket);
    engine
        .diff(&from, &to, &options, None, &cancel)
        .await
        .map_err(err)
}

/// Stops the comparison started with `ticket` (it ends with error code `cancelled`). False
/// when none runs under that ticket (any more).
#[tauri::command]
#[specta::specta]
pub fn cancel_diff(tickets: State<'_, DiffTickets>, ticket: String) -> CmdResult<bool> {
    Ok(tickets.cancel(&ticket))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_cancels_its_own_comparison_only_while_it_runs() {
        let tickets = DiffTickets::default();
        let (a, guard_a) = tickets.register(Some("a".into()));
        let (b, _guard_b) = tickets.register(Some("b".into()));
        assert!(tickets.cancel("a"));
        assert!(a.is_cancelled());
        assert!(!b.is_cancelled());
        // Cancelled once: the ticket is gone.
        assert!(!tickets.cancel("a"));
        drop(guard_a);
        // Finished: cancelling it again does nothing.
        let (c, guard_c) = tickets.register(Some("c".into()));
        drop(guard_c);
        assert!(!tickets.cancel("c"));
        assert!(!c.is_cancelled());
        // No ticket: nothing registered.
        let (_d, _g) = tickets.register(None);
        assert_eq!(tickets.map().len(), 1);
    }
}
