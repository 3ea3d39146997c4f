//! Validation after a restore: the row counts of the target against the manifest's.

use super::{quote_ident, RestoreTarget, TableCheck};
use crate::archive::TableCount;
use crate::error::Result;
use sqlx::Connection;

/// Compare row counts in the target with those the manifest recorded.
pub async fn validate(target: &RestoreTarget, expected: &[TableCount]) -> Result<Vec<TableCheck>> {
    validate_counts(target, expected, false, 1).await
}

/// [`validate`]; `own_rows`: the manifest counted every table's own rows (`ONLY`), as archive
/// format 2 does whether or not it holds digests. The tables are counted on up to `conns`
/// connections at once (each `count(*)` is a scan of its table: a large restore's validation is
/// as parallel as its restore), the largest tables first, each to the connection with the
/// fewest rows to count; the checks come back in `expected`'s order.
pub(crate) async fn validate_counts(
    target: &RestoreTarget,
    expected: &[TableCount],
    own_rows: bool,
    conns: usize,
) -> Result<Vec<TableCheck>> {
    let groups = split(expected, conns);
    let counted = futures::future::try_join_all(
        groups
            .iter()
            .map(|group| count_group(target, expected, group, own_rows)),
    )
    .await?;
    let mut out: Vec<Option<TableCheck>> = vec![None; expected.len()];
    for (group, checks) in groups.iter().zip(counted) {
        for (&i, check) in group.iter().zip(checks) {
            out[i] = Some(check);
        }
    }
    Ok(out.into_iter().flatten().collect())
}

/// `expected`'s indexes in at most `conns` groups: largest first, each to the group with the
/// fewest rows so far (an empty list gives no group).
fn split(expected: &[TableCount], conns: usize) -> Vec<Vec<usize>> {
    let n = conns.clamp(1, expected.len().max(1));
    let mut order: Vec<usize> = (0..expected.len()).collect();
    order.sort_by(|&a, &b| expected[b].rows.cmp(&expected[a].rows).then(a.cmp(&b)));
    let mut groups: Vec<(u64, Vec<usize>)> = vec![(0, Vec::new()); n];
    for i in order {
        if let Some(g) = groups.iter_mut().min_by_key(|g| g.0) {
            g.0 = g.0.saturating_add(expected[i].rows.max(1));
            g.1.push(i);
        }
    }
    groups
        .into_iter()
        .map(|(_, g)| g)
        .filter(|g| !g.is_empty())
        .collect()
}

/// The row counts of `expected[i]` for each `i` in `group`, on one connection.
async fn count_group(
    target: &RestoreTarget,
    expected: &[TableCount],
    group: &[usize],
    own_rows: bool,
) -> Result<Vec<TableCheck>> {
    let mut conn = target.spec.connect(target.password.as_deref()).await?;
    let mut out = Vec::with_capacity(group.len());
    for t in group.iter().map(|&i| &expected[i]) {
        // Archives with digests count a table's own rows (`ONLY`: an inheritance parent's
        // children are counted in their own entries, as COPY and the digests see them); older
        // ones counted the children's rows in the parent too.
        let only = if own_rows || t.lines.is_some() {
            "ONLY "
        } else {
            ""
        };
        let q = format!(
            "SELECT count(*) FROM {only}{}.{}",
            quote_ident(&t.schema),
            quote_ident(&t.table)
        );
        let actual = match sqlx::query_scalar::<_, i64>(&q).fetch_one(&mut conn).await {
            Ok(n) => Some(n as u64),
            Err(sqlx::Error::Database(_)) => None, // missing table
            Err(e) => return Err(target.spec.map_sqlx(e)),
        };
        out.push(TableCheck {
            schema: t.schema.clone(),
            table: t.table.clone(),
            expected: t.rows,
            actual,
            ok: actual == Some(t.rows),
        });
    }
    let _ = conn.close().await;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(rows: u64) -> TableCount {
        TableCount {
            schema: "public".into(),
            table: format!("t{rows}"),
            rows,
            sha256: None,
            lines: None,
            columns: None,
            dump_offset: None,
            dump_length: None,
            dump_member: None,
        }
    }

    #[test]
    fn tables_are_split_largest_first_onto_the_least_loaded_connection() {
        let expected: Vec<TableCount> = [5, 100, 7, 60, 0, 45].into_iter().map(t).collect();
        let groups = split(&expected, 2);
        assert_eq!(groups, vec![vec![1, 2, 4], vec![3, 5, 0]]);
        // Every table once, whatever the connections.
        for conns in [0, 1, 2, 3, 6, 50] {
            let groups = split(&expected, conns);
            assert!(groups.len() <= conns.max(1) && groups.len() <= expected.len());
            let mut all: Vec<usize> = groups.concat();
            all.sort();
            assert_eq!(all, (0..expected.len()).collect::<Vec<_>>(), "{conns}");
        }
        assert!(split(&[], 4).is_empty());
    }
}
