//! Rows only into tables the target already defines: the target's foreign keys are there while
//! the rows load, so the tables are loaded parents first. A dump lists its data by name
//! (`actor`, `address`, … `city`), and a key of the target (`address.city_id` → `city`) refuses a
//! row whose parent comes later in the list: restoring Pagila's `public` rows into a database
//! holding its schema failed on the first table. pg_restore loads the entries of `--use-list` in
//! the list's order, so the data entries are moved, within the places they hold, into the order
//! of the target's keys. A partition counts as its partitioned table (a key may reference the
//! partitioned table, whose rows the dump holds in its partitions). Tables in a cycle of keys
//! come after every table that can go first, in the dump's order.

use super::toc::FullToc;
use crate::error::Result;
use std::collections::{BTreeMap, BTreeSet, HashMap};

type Name = (String, String);

/// The selected tables in loading order (parents first), from the target's foreign keys
/// between them.
pub(super) async fn read(
    conn: &mut sqlx::PgConnection,
    spec: &crate::postgres::conn::ConnSpec,
    tables: &[Name],
) -> Result<Vec<Name>> {
    // Each selected table's group: its partition root, else itself.
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT cn.nspname::text, c.relname::text, pn.nspname::text, p.relname::text \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace \
         JOIN pg_catalog.pg_class p ON p.oid = coalesce(pg_catalog.pg_partition_root(c.oid), c.oid) \
         JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace \
         WHERE c.relkind IN ('r', 'p')",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e))?;
    let group: HashMap<Name, Name> = rows
        .into_iter()
        .map(|(a, b, c, d)| ((a, b), (c, d)))
        .collect();
    let keys: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT cn.nspname::text, c.relname::text, pn.nspname::text, p.relname::text \
         FROM pg_catalog.pg_constraint k \
         JOIN pg_catalog.pg_class c ON c.oid = k.conrelid JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace \
         JOIN pg_catalog.pg_class p ON p.oid = k.confrelid JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace \
         WHERE k.contype = 'f'",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e))?;
    let of = |n: Name| group.get(&n).cloned().unwrap_or(n);
    let edges: Vec<(Name, Name)> = keys
        .into_iter()
        .map(|(a, b, c, d)| (of((a, b)), of((c, d))))
        .collect();
    Ok(order(tables, |t| of(t.clone()), &edges))
}

/// `tables` in loading order: a table after the groups its group references (`edges`: child
/// group → parent group); otherwise as given. When no group is ready (a cycle), the first one
/// left in the given order goes next.
fn order(tables: &[Name], group_of: impl Fn(&Name) -> Name, edges: &[(Name, Name)]) -> Vec<Name> {
    let groups: Vec<Name> = {
        let mut seen = BTreeSet::new();
        tables
            .iter()
            .map(&group_of)
            .filter(|g| seen.insert(g.clone()))
            .collect()
    };
    let present: BTreeSet<&Name> = groups.iter().collect();
    let mut parents: BTreeMap<&Name, BTreeSet<&Name>> = BTreeMap::new();
    for (child, parent) in edges {
        if child != parent && present.contains(child) && present.contains(parent) {
            parents.entry(child).or_default().insert(parent);
        }
    }
    let mut done: Vec<Name> = Vec::new();
    let mut left: Vec<&Name> = groups.iter().collect();
    while !left.is_empty() {
        let ready = left.iter().position(|g| {
            parents
                .get(g)
                .is_none_or(|ps| ps.iter().all(|p| done.contains(p)))
        });
        // A cycle: the first left, in the dump's order.
        let next = left.remove(ready.unwrap_or(0));
        done.push(next.clone());
    }
    let rank: HashMap<&Name, usize> = done.iter().enumerate().map(|(i, g)| (g, i)).collect();
    let mut out: Vec<Name> = tables.to_vec();
    out.sort_by_key(|t| rank[&group_of(t)]);
    out
}

/// The list (one line per entry, as built for `--use-list`) with the data entries of `order`'s
/// tables moved, within the lines they hold, into `order`'s order.
pub(super) fn reorder(list: &str, toc: &FullToc, order: &[Name]) -> String {
    let rank: HashMap<Name, usize> = order
        .iter()
        .enumerate()
        .map(|(i, n)| (n.clone(), i))
        .collect();
    let mut data: Vec<(usize, usize)> = toc
        .items
        .iter()
        .filter(|i| i.desc == "TABLE DATA")
        .filter_map(|i| {
            rank.get(&(i.schema.clone(), i.tag.clone()))
                .map(|r| (i.line, *r))
        })
        .collect();
    let mut lines: Vec<&str> = list.lines().collect();
    let slots: Vec<usize> = {
        let mut s: Vec<usize> = data.iter().map(|(l, _)| *l).collect();
        s.sort_unstable();
        s
    };
    data.sort_by_key(|(line, r)| (*r, *line));
    let moved: Vec<&str> = data.iter().map(|(l, _)| lines[*l]).collect();
    for (slot, line) in slots.iter().zip(moved) {
        lines[*slot] = line;
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(t: &str) -> Name {
        ("public".into(), t.into())
    }

    #[test]
    fn parents_come_first_partitions_go_with_their_table_and_a_cycle_comes_last() {
        let tables: Vec<Name> = [
            "actor", "address", "b", "city", "country", "a", "pay_1", "pay_2", "rental",
        ]
        .iter()
        .map(|t| n(t))
        .collect();
        let group = |t: &Name| {
            if t.1.starts_with("pay_") {
                n("pay")
            } else {
                t.clone()
            }
        };
        let edges = vec![
            (n("address"), n("city")),
            (n("city"), n("country")),
            (n("pay"), n("rental")),
            (n("a"), n("b")),
            (n("b"), n("a")),
            (n("rental"), n("outside")),
        ];
        let got: Vec<String> = order(&tables, group, &edges)
            .into_iter()
            .map(|t| t.1)
            .collect();
        assert_eq!(
            got,
            ["actor", "country", "city", "address", "rental", "pay_1", "pay_2", "b", "a"]
        );
    }

    #[test]
    fn data_lines_move_within_their_places() {
        let list = "1; 0 0 TABLE public t1 o\n2; 0 0 TABLE DATA public child o\n3; 0 0 TABLE DATA public other o\n;4; 0 0 TABLE DATA public skipped o\n5; 0 0 TABLE DATA public parent o\n";
        let toc = FullToc {
            list: list.into(),
            items: list
                .lines()
                .enumerate()
                .filter_map(|(i, l)| super::super::toc::parse_line(l, i))
                .collect(),
            ..Default::default()
        };
        let got = reorder(list, &toc, &[n("parent"), n("child")]);
        assert_eq!(
            got,
            "1; 0 0 TABLE public t1 o\n5; 0 0 TABLE DATA public parent o\n3; 0 0 TABLE DATA public other o\n;4; 0 0 TABLE DATA public skipped o\n2; 0 0 TABLE DATA public child o\n"
        );
    }
}
