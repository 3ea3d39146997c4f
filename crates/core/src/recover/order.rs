//! The order tables are written in: a table after the tables it references, so that every
//! foreign key holds after each statement (the target's constraints stay immediate). A cycle
//! between tables is entered through a foreign key that may wait: one whose columns may be NULL
//! (written NULL first, set once the other side is in) or one that is deferrable.

use super::schema::Schema;
use super::select::Graph;
use crate::error::{Error, Result};

/// The order, and how each cycle is entered.
#[derive(Debug, Clone, Default)]
pub(super) struct Order {
    /// Node indices, parents first.
    pub tables: Vec<usize>,
    /// Edges (indices into `Graph::edges`) written NULL first and set after every insert.
    pub nulled: Vec<usize>,
    /// Edges whose constraint is deferred to the end of the transaction.
    pub deferred: Vec<usize>,
}

pub(super) fn insert_order(_schema: &Schema, g: &Graph) -> Result<Order> {
    let n = g.nodes.len();
    // A key inferred for a partition is no constraint: nothing waits on it.
    let mut live: Vec<bool> = g
        .edges
        .iter()
        .map(|e| e.child != e.parent && !e.inferred)
        .collect();
    let mut done = vec![false; n];
    let mut order = Order::default();
    while order.tables.len() < n {
        let ready = (0..n).find(|&i| {
            !done[i]
                && !g
                    .edges
                    .iter()
                    .enumerate()
                    .any(|(k, e)| live[k] && e.child == i && !done[e.parent])
        });
        if let Some(i) = ready {
            done[i] = true;
            order.tables.push(i);
            continue;
        }
        // Every table left waits on another: a cycle. Enter it through a key that may wait.
        let stuck = |k: usize| {
            let e = &g.edges[k];
            live[k] && !done[e.child] && !done[e.parent]
        };
        let way_in = (0..g.edges.len())
            .filter(|&k| stuck(k))
            .find(|&k| g.edges[k].nullable)
            .map(|k| (k, false))
            .or_else(|| {
                (0..g.edges.len())
                    .filter(|&k| stuck(k))
                    .find(|&k| g.edges[k].deferrable)
                    .map(|k| (k, true))
            });
        match way_in {
            Some((k, deferred)) => {
                live[k] = false;
                if deferred {
                    order.deferred.push(k);
                } else {
                    order.nulled.push(k);
                }
            }
            None => {
                let keys: Vec<String> = (0..g.edges.len())
                    .filter(|&k| stuck(k))
                    .map(|k| {
                        let e = &g.edges[k];
                        format!(
                            "{} ({}) → {}",
                            g.nodes[e.child].label(),
                            e.child_cols.join(", "),
                            g.nodes[e.parent].label()
                        )
                    })
                    .collect();
                return Err(Error::invalid(format!(
                    "the foreign keys {} form a cycle with no way in: none of their columns may \
                     be NULL and none is deferrable, so no row of it can be inserted first; \
                     nothing was written",
                    keys.join(", ")
                ))
                .with_hint(
                    "make one of these foreign keys DEFERRABLE (or one of its columns \
                     nullable) in the target, or recover into a database restored from the backup",
                ));
            }
        }
    }
    Ok(order)
}
