//! The live side of a diff: a project's database as it is now, read in one `REPEATABLE READ
//! READ ONLY` transaction (one snapshot for every table) under the session settings of the
//! backup it is compared with, so a value the backup holds unchanged is the same COPY text.

use super::lockstep::{Batcher, Msg};
use super::run::TableMeta;
use crate::archive::ContentDigests;
use crate::browse::MAX_ROW;
use crate::drill::content::{apply_settings, quote_ident};
use crate::error::{Error, ErrorKind, Result};
use crate::postgres::conn::ConnSpec;
use futures::TryStreamExt;
use sqlx::{Connection, PgConnection};
use std::collections::{BTreeMap, BTreeSet};
use tokio_util::sync::CancellationToken;

/// An open snapshot of a live database.
pub struct Live {
    conn: PgConnection,
    spec: ConnSpec,
}

impl Live {
    /// Connects, sets `content`'s settings, and opens the read-only snapshot. The settings that
    /// could not be set are returned (said in the report's notes).
    pub async fn open(
        spec: &ConnSpec,
        password: Option<&str>,
        content: &ContentDigests,
    ) -> Result<(Live, Vec<String>)> {
        let mut conn = spec.connect(password).await?;
        let unset = apply_settings(&mut conn, content).await?;
        sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut conn)
            .await
            .map_err(|e| spec.map_sqlx(e))?;
        Ok((
            Live {
                conn,
                spec: spec.clone(),
            },
            unset,
        ))
    }

    /// The ordinary tables in `schemas` with their columns as COPY lists them (generated
    /// columns left out, as pg_dump leaves them out), column types and primary keys.
    pub async fn tables(
        &mut self,
        schemas: &BTreeSet<String>,
    ) -> Result<BTreeMap<(String, String), TableMeta>> {
        let schemas: Vec<String> = schemas.iter().cloned().collect();
        let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT n.nspname::text, c.relname::text, a.attname::text, \
                    pg_catalog.format_type(a.atttypid, a.atttypmod), \
                    COALESCE(pg_catalog.pg_table_size(c.oid), 0)::int8 \
             FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid \
             WHERE c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped \
               AND a.attgenerated = '' AND n.nspname = ANY($1) \
             ORDER BY n.nspname, c.relname, a.attnum",
        )
        .bind(&schemas)
        .fetch_all(&mut self.conn)
        .await
        .map_err(|e| self.spec.map_sqlx(e))?;
        let mut out: BTreeMap<(String, String), TableMeta> = BTreeMap::new();
        for (schema, table, column, ty, size) in rows {
            let t = out.entry((schema, table)).or_default();
            t.columns.push(column);
            t.types.push(Some(ty));
            t.bytes = Some(size.max(0) as u64);
        }
        let keys: Vec<(String, String, Vec<String>)> = sqlx::query_as(
            "SELECT n.nspname::text, c.relname::text, \
                    pg_catalog.array_agg(a.attname::text ORDER BY k.ord) \
             FROM pg_catalog.pg_index i \
             JOIN pg_catalog.pg_class c ON c.oid = i.indrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             CROSS JOIN LATERAL pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
             WHERE i.indisprimary AND n.nspname = ANY($1) \
             GROUP BY n.nspname, c.relname",
        )
        .bind(&schemas)
        .fetch_all(&mut self.conn)
        .await
        .map_err(|e| self.spec.map_sqlx(e))?;
        for (schema, table, key) in keys {
            if let Some(t) = out.get_mut(&(schema, table)) {
                t.key = Some(key);
            }
        }
        Ok(out)
    }

    /// Streams `schema.table`'s `columns` with `COPY … TO STDOUT` through `batcher` to `tx`,
    /// line by line (the last, partial batch is left in `batcher`). `false`: the receiver
    /// stopped taking them.
    pub async fn stream(
        &mut self,
        schema: &str,
        table: &str,
        columns: &[String],
        batcher: &mut Batcher,
        tx: &tokio::sync::mpsc::Sender<Msg>,
        cancel: &CancellationToken,
    ) -> Result<bool> {
        let cols: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
        let statement = format!(
            "COPY {}.{} ({}) TO STDOUT",
            quote_ident(schema),
            quote_ident(table),
            cols.join(", ")
        );
        let failed = |e: sqlx::Error| {
            Error::new(
                ErrorKind::ToolFailed,
                format!("reading {schema}.{table} from the live database: {e}"),
            )
        };
        let mut stream = self.conn.copy_out_raw(&statement).await.map_err(failed)?;
        let mut line: Vec<u8> = Vec::new();
        loop {
            let next = tokio::select! {
                next = stream.try_next() => next,
                _ = cancel.cancelled() => return Err(Error::cancelled()),
            };
            let Some(bytes) = next.map_err(failed)? else {
                break;
            };
            let mut rest: &[u8] = &bytes;
            while let Some(nl) = memchr::memchr(b'\n', rest) {
                line.extend_from_slice(&rest[..nl]);
                if let Some(b) = batcher.push(&line)? {
                    if tx.send(Msg::Rows(b)).await.is_err() {
                        return Ok(false);
                    }
                }
                line.clear();
                rest = &rest[nl + 1..];
            }
            line.extend_from_slice(rest);
            if line.len() > MAX_ROW {
                return Err(Error::new(
                    ErrorKind::UnsupportedFormat,
                    format!(
                        "a row of {schema}.{table} is larger than {} MiB; it is not read here",
                        MAX_ROW >> 20
                    ),
                ));
            }
        }
        if !line.is_empty() {
            if let Some(b) = batcher.push(&line)? {
                if tx.send(Msg::Rows(b)).await.is_err() {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Ends the snapshot (nothing was written: it only reads).
    pub async fn close(mut self) {
        let _ = sqlx::query("ROLLBACK").execute(&mut self.conn).await;
        let _ = self.conn.close().await;
    }
}
