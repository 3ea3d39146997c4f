//! Pagila, a third-party schema nobody here wrote (`fixtures/pagila/`, see its `README.md`): its
//! own `last_updated` and full-text triggers, a table partitioned by month (`payment`, 55
//! partitions, six of them with foreign keys), a domain, an enum, arrays, tsvector, bytea, a
//! materialized view. The data is Offsite's own small deterministic generator
//! (`fixtures/pagila/pagila-data.sql`), not Pagila's sample data.

use crate::TestCluster;
use std::collections::BTreeMap;

/// Pagila's schema, unchanged (`fixtures/pagila/pagila-schema.sql`).
pub fn schema_sql() -> &'static str {
    include_str!("../fixtures/pagila/pagila-schema.sql")
}

/// The data generator (`fixtures/pagila/pagila-data.sql`).
pub fn data_sql() -> &'static str {
    include_str!("../fixtures/pagila/pagila-data.sql")
}

/// The partitions of `public.payment`, one a month from 2022-01 to 2026-07.
pub const PAYMENT_PARTITIONS: usize = 55;
/// Rows the generator writes into each partition of `payment`.
pub const PAYMENTS_PER_PARTITION: usize = 6;
/// Films whose `fulltext` the generator set to a value `film_fulltext_trigger` would not compute
/// (`film_id % 10 = 0`): a restore or recovery that fires the trigger changes them.
pub const FILMS_WITH_OWN_FULLTEXT: usize = 20;

/// A table's row count and the MD5 of its rows' text, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDigest {
    pub rows: u64,
    pub md5: String,
}

impl TestCluster {
    /// Loads Pagila's schema and the generator's data into `db` (new and empty), as the
    /// superuser. Panics with psql's error on failure.
    pub fn load_pagila(&self, db: &str) {
        for (what, sql) in [("schema", schema_sql()), ("data", data_sql())] {
            if let Err(e) = self.try_psql(db, sql) {
                panic!("loading Pagila's {what} into {db:?} failed: {e}");
            }
        }
    }
}

/// Every table and populated materialized view of `public` in `db` (each partition on its own, read with
/// `ONLY`): its row count and a digest of its rows. Read as the superuser.
pub fn table_digests(pg: &TestCluster, db: &str) -> BTreeMap<String, TableDigest> {
    let out = pg.psql(
        db,
        "SELECT c.oid::regclass::text, \
           (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM ONLY %s', c.oid::regclass), false, true, '')))[1]::text, \
           (xpath('/row/d/text()', query_to_xml(format('SELECT md5(coalesce(string_agg(t::text, E''\\n'' ORDER BY t::text), '''')) AS d FROM ONLY %s t', c.oid::regclass), false, true, '')))[1]::text \
         FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND (c.relkind = 'r' OR (c.relkind = 'm' AND c.relispopulated)) \
         ORDER BY 1",
    );
    out.lines()
        .map(|l| {
            let mut f = l.split('|');
            let name = f.next().unwrap().to_string();
            let rows = f.next().unwrap().parse().unwrap();
            let md5 = f.next().unwrap().to_string();
            (name, TableDigest { rows, md5 })
        })
        .collect()
}

/// The user triggers of `public` in `db`: `table.trigger enabled-mode`, sorted.
pub fn user_triggers(pg: &TestCluster, db: &str) -> Vec<String> {
    pg.psql(
        db,
        "SELECT t.tgrelid::regclass || '.' || t.tgname || ' ' || t.tgenabled::text FROM pg_trigger t \
         JOIN pg_class c ON c.oid = t.tgrelid \
         WHERE NOT t.tgisinternal AND c.relnamespace = 'public'::regnamespace ORDER BY 1",
    )
    .lines()
    .map(str::to_string)
    .collect()
}
