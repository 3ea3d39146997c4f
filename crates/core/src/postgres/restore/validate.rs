//! Validation after a restore: the row counts of the target against the manifest's.

use super::{quote_ident, RestoreTarget, TableCheck};
use crate::archive::TableCount;
use crate::error::Result;
use sqlx::Connection;

/// Compare row counts in the target with those the manifest recorded.
pub async fn validate(target: &RestoreTarget, expected: &[TableCount]) -> Result<Vec<TableCheck>> {
    validate_counts(target, expected, false).await
}

/// [`validate`]; `own_rows`: the manifest counted every table's own rows (`ONLY`), as archive
/// format 2 does whether or not it holds digests.
pub(crate) async fn validate_counts(
    target: &RestoreTarget,
    expected: &[TableCount],
    own_rows: bool,
) -> Result<Vec<TableCheck>> {
    let mut conn = target.spec.connect(target.password.as_deref()).await?;
    let mut out = Vec::with_capacity(expected.len());
    for t in expected {
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
