//! Replay of captured changes into a restored base, transaction by transaction in commit
//! order, up to the last commit at or before a time. Values go to the server as one JSON
//! parameter per row, turned into the table's own types by `jsonb_populate_record` (PostgreSQL's
//! input functions) — `json` columns from their text as the server sent it (`($1 ->> 'col')::json`:
//! jsonb would reorder keys and drop whitespace and duplicate keys); identifiers are quoted; no
//! value is ever part of the SQL text.

use super::applier::{replay_failed, Applier};
use super::fold::Fold;
use super::fold_apply::{Applied, Temps};
use super::segment::{SegmentReader, SequenceValue};
use super::snapshot::XidSnapshot;
use crate::crypto::UserKey;
use crate::error::{Error, ErrorKind, Result};
use crate::pgoutput::{self, Message, Relation, Tuple, Value};
use crate::postgres::conn::ConnSpec;
use crate::postgres::restore::{quote_ident, quote_literal};
use sqlx::PgConnection;
use std::collections::HashMap;
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Replayed {
    /// Transactions applied, and those skipped because the base already held them.
    pub commits: u64,
    pub skipped: u64,
    pub changes: u64,
    /// The last commit applied (end LSN, time µs).
    pub last_commit: Option<(u64, i64)>,
    /// Statements sent to the target, each a round trip (BEGIN and COMMIT; changes folded by
    /// key: a savepoint, a `COPY` per table and kind, the set-based statements; a batch of
    /// changes run by the session's applier; a statement per change where there is neither).
    pub round_trips: u64,
    /// Changes applied folded by key (set-based, per table), of `changes`.
    pub folded: u64,
}

/// A replay that stopped on an error or was cancelled: the open target transaction rolled
/// back, so the target holds the base and the captured transactions `applied` counts (whole
/// ones, in commit order: the database as it was at `applied.last_commit`). What is left to put
/// right: the triggers this replay disabled, and the sequences ([`put_right`]).
#[derive(Debug)]
pub struct Abandoned {
    pub error: Error,
    pub applied: Replayed,
    pub disabled: HashMap<String, Vec<String>>,
    /// The sequences' values when the segment it stopped in closed (at or past every value the
    /// applied transactions used); `sequences_known` false: that segment's trailer could not be
    /// read, these are the previous segment's.
    pub sequences: Vec<SequenceValue>,
    pub sequences_known: bool,
    /// A COMMIT sent whose answer never came (the connection lost as the target committed, or
    /// before): the target transaction's id, and what the target holds if it did commit.
    /// [`put_right`] asks the target which it was.
    pub in_doubt: Option<(i64, Replayed)>,
    /// The chain's coverage, which the sequences set by [`put_right`] are checked against.
    pub covered: Option<std::collections::HashSet<String>>,
}

/// Replays segments in order; relations carry over from one segment to the next.
pub struct Replayer<'a> {
    conn: &'a mut PgConnection,
    spec: &'a ConnSpec,
    base: XidSnapshot,
    stop_at: i64,
    relations: HashMap<u32, Relation>,
    /// The tables the chain captured (`schema.table`, as its coverage records them); `None`:
    /// the coverage is not known, only the server's own schemas are refused.
    covered: Option<std::collections::HashSet<String>>,
    /// Inside a captured transaction: applying it (true), or passing over one the base already
    /// holds (false).
    open: Option<bool>,
    /// Changes applied in the target's open transaction (`None`: none open). Captured
    /// transactions are applied many to one target transaction (about [`BATCH`] changes,
    /// whole captured transactions): a round trip for BEGIN and one for COMMIT, and the
    /// commit's flush, per captured transaction saved.
    batch: Option<u64>,
    pub done: Replayed,
    /// What the target holds committed (`done` as of the last target commit).
    committed: Replayed,
    stopped: bool,
    sequences: Vec<SequenceValue>,
    /// Whether `sequences` are those of the segment being read (false: an earlier one's).
    sequences_known: bool,
    /// The session's batch applier ([`Applier`]), once made; whether making it was tried.
    applier: Option<Applier>,
    applier_tried: bool,
    /// Whether `session_replication_role = replica` could be set (`None`: not tried yet).
    replica_role: Option<bool>,
    /// Where it could not: the tables whose triggers this replay disabled, and which.
    disabled: HashMap<String, Vec<String>>,
    /// The id of the target's open transaction (asked with its BEGIN, in the same round trip).
    xid: Option<i64>,
    /// See [`Abandoned::in_doubt`].
    in_doubt: Option<(i64, Replayed)>,
    /// Changes held for folding by key ([`super::fold`]), whether folding is on, and the
    /// temporary tables the fold made in the target's open transaction.
    fold: Fold,
    fold_on: bool,
    /// Per relation: whether its target table may be folded ([`super::fold_apply::may_fold`]).
    fold_ok: HashMap<u32, bool>,
    temps: Temps,
    /// Changes a target transaction takes while folding ([`COMMIT_EVERY`]).
    commit_every: u64,
}

/// Changes applied before the target's transaction is committed and a new one begun. Measured
/// (docs/benchmarks.md, pgbench, release): 64 or 256 changes replay 1.4 times as fast as a
/// commit per captured transaction; 1,024 is slower again — a row updated many times in one
/// open transaction leaves a chain of versions no one may prune until it commits (pgbench's
/// ten branch rows), and 5,000 was slower than no batching at all.
const BATCH: u64 = 128;

/// Changes a target transaction takes when they are folded by key ([`super::fold`]): a row
/// changed many times in the batch is written once, so the chains of versions that made large
/// batches slow do not grow; what is left per commit (a flush, the temporary tables made again)
/// is spread over many changes.
pub const COMMIT_EVERY: u64 = 20_000;
/// Environment override of [`COMMIT_EVERY`] (tests that need a replay to commit part way).
/// Not a user setting.
pub const COMMIT_EVERY_ENV: &str = "OFFSITE_REPLAY_COMMIT_EVERY";
/// `off` turns folding off (benchmarks and tests comparing the two ways). Not a user setting.
pub const FOLD_ENV: &str = "OFFSITE_REPLAY_FOLD";

const JSON: u32 = 114;
const JSONB: u32 = 3802;

impl<'a> Replayer<'a> {
    pub fn new(
        conn: &'a mut PgConnection,
        spec: &'a ConnSpec,
        base: XidSnapshot,
        stop_at: i64,
    ) -> Self {
        Replayer {
            conn,
            spec,
            base,
            stop_at,
            relations: HashMap::new(),
            covered: None,
            open: None,
            batch: None,
            done: Replayed::default(),
            committed: Replayed::default(),
            stopped: false,
            sequences: Vec::new(),
            sequences_known: true,
            applier: None,
            applier_tried: false,
            replica_role: None,
            disabled: HashMap::new(),
            xid: None,
            in_doubt: None,
            fold: Fold::default(),
            fold_ok: HashMap::new(),
            fold_on: std::env::var(FOLD_ENV).map_or(true, |v| v.trim() != "off"),
            temps: Temps::default(),
            commit_every: std::env::var(COMMIT_EVERY_ENV)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .filter(|&n: &u64| n > 0)
                .unwrap_or(COMMIT_EVERY),
        }
    }

    /// Refuse a change to any table but `covered` (`schema.table`, the chain's recorded
    /// coverage): see [`check_relation`].
    pub fn covering(mut self, covered: Option<Vec<String>>) -> Self {
        self.covered = covered.map(|c| c.into_iter().collect());
        self
    }

    /// Apply `segments` in order up to the stopping point and [`finish`](Self::finish); on an
    /// error or a cancel, what the target was left with ([`Abandoned`]).
    pub async fn all<S: AsRef<Path>>(
        mut self,
        segments: &[S],
        keys: &[UserKey],
        cancel: &CancellationToken,
    ) -> std::result::Result<Replayed, Box<Abandoned>> {
        for s in segments {
            if let Err(e) = self.segment(s.as_ref(), keys, cancel).await {
                return Err(self.abandon(e).await);
            }
            if self.stopped() {
                break;
            }
        }
        if let Err(e) = self.commit_batch().await {
            return Err(self.abandon(e).await);
        }
        let applied = self.committed.clone();
        self.finish().await.map_err(|error| {
            Box::new(Abandoned {
                error,
                applied,
                disabled: HashMap::new(),
                sequences: Vec::new(),
                sequences_known: true,
                in_doubt: None,
                covered: None,
            })
        })
    }

    /// Roll the open target transaction back and say what the target holds.
    async fn abandon(mut self, error: Error) -> Box<Abandoned> {
        self.rollback().await;
        Box::new(Abandoned {
            error,
            applied: self.committed,
            disabled: std::mem::take(&mut self.disabled),
            sequences: std::mem::take(&mut self.sequences),
            sequences_known: self.sequences_known,
            in_doubt: self.in_doubt.take(),
            covered: self.covered.take(),
        })
    }

    /// Whether the stopping point was reached (later segments hold nothing to apply).
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Apply one segment (its checksum verified by the caller), decrypted with `keys` when it
    /// is encrypted.
    pub async fn segment(
        &mut self,
        path: &Path,
        keys: &[UserKey],
        cancel: &CancellationToken,
    ) -> Result<()> {
        let mut r = SegmentReader::open(path, keys)?;
        if let Err(e) = self.records(&mut r, cancel).await {
            // The sequences as this segment closed, for the target left part way.
            while let Ok(Some(_)) = r.next_record() {}
            self.sequences_known = r.info().is_some();
            if let Some(info) = r.info() {
                self.sequences = info.sequences.clone();
            }
            return Err(e);
        }
        if self.open.is_some() {
            self.rollback().await;
            return Err(Error::integrity(format!(
                "change segment {} ends inside a transaction",
                path.display()
            )));
        }
        if let Some(info) = r.info() {
            // Refused here, before any is set: the previous segment's stay for put_right.
            check_sequences(self.conn, self.spec, &info.sequences, self.covered.as_ref()).await?;
            self.sequences = info.sequences.clone();
        } else if !self.stopped {
            return Err(Error::integrity(format!(
                "change segment {}: no trailer",
                path.display()
            )));
        }
        Ok(())
    }

    async fn records(&mut self, r: &mut SegmentReader, cancel: &CancellationToken) -> Result<()> {
        while let Some(rec) = r.next_record()? {
            if cancel.is_cancelled() {
                return Err(Error::cancelled());
            }
            // Past the stopping point the rest is only read for the trailer (the sequences).
            if !self.stopped {
                self.message(pgoutput::decode(&rec.data)?).await?;
            }
        }
        Ok(())
    }

    async fn rollback(&mut self) {
        if let Some(a) = self.applier.as_mut() {
            a.rolled_back();
        }
        self.fold.take();
        self.temps.ended();
        if self.batch.take().is_some() {
            let _ = sqlx::query("ROLLBACK").execute(&mut *self.conn).await;
        }
        self.open = None;
    }

    /// Commit the target's open transaction, if one is open.
    async fn commit_batch(&mut self) -> Result<()> {
        if self.batch.is_some() {
            self.flush_fold().await?;
            self.flush().await?;
        }
        if self.batch.take().is_some() {
            let result = self.exec("COMMIT", &[]).await;
            self.temps.ended();
            if let Err(e) = result {
                // Refused, or sent and never answered: the target may hold this batch or not.
                self.in_doubt = self.xid.take().map(|x| (x, self.done.clone()));
                return Err(e);
            }
            self.xid = None;
            self.committed = self.done.clone();
            if let Some(a) = self.applier.as_mut() {
                a.committed();
            }
        }
        Ok(())
    }

    /// Run a change's statement: held for the applier when the session has one, else at once.
    async fn apply(&mut self, sql: String, args: Vec<serde_json::Value>) -> Result<()> {
        match self.applier.as_mut() {
            Some(a) => {
                a.push(self.conn, self.spec, sql, args, &mut self.done.round_trips)
                    .await
            }
            None => self.exec(&sql, &args).await,
        }
    }

    /// Take a captured change: held for folding when it may be, else (once what is held is
    /// applied) run the old way.
    async fn take_change(&mut self, m: Message) -> Result<()> {
        let oid = match &m {
            Message::Insert { relation, .. }
            | Message::Update { relation, .. }
            | Message::Delete { relation, .. } => Some(*relation),
            _ => None,
        };
        let m = match oid {
            Some(oid) if self.fold_on && self.fold_ok.get(&oid) == Some(&true) => {
                let r = self.relations.get(&oid).ok_or_else(|| {
                    Error::integrity(format!("a change to relation {oid} before its description"))
                })?;
                match self.fold.push(r, m) {
                    Ok(()) => {
                        // Statements held before it run first.
                        if self.applier.as_ref().is_some_and(|a| !a.is_empty()) {
                            self.flush().await?;
                        }
                        if self.fold.full() {
                            self.flush_fold().await?;
                        }
                        return Ok(());
                    }
                    Err(m) => m,
                }
            }
            _ => m,
        };
        // What is held of this table goes first. Of the others too, unless the triggers are
        // quiet by session_replication_role: then no foreign key is checked and no trigger
        // fires, and tables do not see each other's order.
        match oid {
            Some(oid) if self.replica_role == Some(true) => {
                if let Some(held) = self.fold.take_table(oid) {
                    self.apply_fold(held).await?;
                }
            }
            _ => self.flush_fold().await?,
        }
        self.change(m).await
    }

    /// Apply the changes held for folding: set-based, or — when the target refuses that, or
    /// the batch holds a change whose sequence is an error — one by one in their order.
    async fn flush_fold(&mut self) -> Result<()> {
        if self.fold.is_empty() {
            return Ok(());
        }
        let held = self.fold.take();
        self.apply_fold(held).await
    }

    async fn apply_fold(&mut self, held: Fold) -> Result<()> {
        if !held.conflict() {
            let applied = super::fold_apply::apply(
                self.conn,
                self.spec,
                &held,
                &mut self.temps,
                &mut self.done.round_trips,
            )
            .await?;
            match applied {
                Applied::Done => {
                    self.done.folded += held.len();
                    return Ok(());
                }
                Applied::Refused => {}
                Applied::Unavailable => self.fold_on = false,
            }
        }
        for m in held.into_messages() {
            self.change(m).await?;
        }
        Ok(())
    }

    /// Run the statements the applier holds.
    async fn flush(&mut self) -> Result<()> {
        match self.applier.as_mut() {
            Some(a) => {
                a.flush(self.conn, self.spec, &mut self.done.round_trips)
                    .await
            }
            None => Ok(()),
        }
    }

    /// Begin a target transaction and learn its id, in one round trip (the id decides, should
    /// its COMMIT go unanswered, whether the target holds it: [`put_right`]).
    async fn begin(&mut self) -> Result<()> {
        self.done.round_trips += 1;
        // A query without parameters goes by the simple protocol: both statements, one trip.
        let row =
            sqlx::Executor::fetch_one(&mut *self.conn, "BEGIN; SELECT pg_catalog.txid_current()")
                .await
                .map_err(|e| replay_failed(self.spec, e))?;
        self.xid = sqlx::Row::try_get::<i64, _>(&row, 0).ok();
        Ok(())
    }

    async fn exec(&mut self, sql: &str, args: &[serde_json::Value]) -> Result<()> {
        self.done.round_trips += 1;
        let mut q = sqlx::query(sql);
        for a in args {
            q = q.bind(sqlx::types::Json(a));
        }
        q.execute(&mut *self.conn)
            .await
            .map_err(|e| replay_failed(self.spec, e))?;
        Ok(())
    }

    async fn message(&mut self, m: Message) -> Result<()> {
        match m {
            Message::Begin {
                commit_time, xid, ..
            } => {
                if self.open.is_some() {
                    return Err(Error::integrity("a transaction begins inside another"));
                }
                self.quiet_triggers().await;
                if self.base.sees(xid) {
                    self.open = Some(false);
                    self.done.skipped += 1;
                } else if commit_time > self.stop_at {
                    self.stopped = true;
                } else {
                    if self.batch.is_none() {
                        self.begin().await?;
                        self.batch = Some(0);
                    }
                    self.open = Some(true);
                }
            }
            Message::Commit {
                end_lsn,
                commit_time,
                ..
            } => match self.open.take() {
                Some(true) => {
                    self.done.commits += 1;
                    self.done.last_commit = Some((end_lsn, commit_time));
                    let limit = if self.fold_on {
                        self.commit_every
                    } else {
                        BATCH
                    };
                    if self.batch.is_some_and(|n| n >= limit) {
                        self.commit_batch().await?;
                    }
                }
                Some(false) => {}
                None => return Err(Error::integrity("a commit outside a transaction")),
            },
            Message::Relation(r) => {
                if r.columns.is_empty() && r.name.is_empty() {
                    return Err(Error::integrity("a relation without a name"));
                }
                check_relation(&r, self.covered.as_ref())?;
                if self.fold.holds_other(&r) {
                    self.flush_fold().await?;
                }
                if self.replica_role == Some(false) {
                    self.disable_triggers(&r).await?;
                }
                if self.fold_on && !self.fold_ok.contains_key(&r.oid) {
                    let ok = super::fold_apply::may_fold(self.conn, &table(&r)).await;
                    self.fold_ok.insert(r.oid, ok);
                }
                self.relations.insert(r.oid, r);
            }
            m @ (Message::Insert { .. }
            | Message::Update { .. }
            | Message::Delete { .. }
            | Message::Truncate { .. }) => match self.open {
                Some(true) => {
                    self.take_change(m).await?;
                    self.done.changes += 1;
                    if let Some(n) = self.batch.as_mut() {
                        *n += 1;
                    }
                }
                Some(false) => {}
                None => return Err(Error::integrity("a change outside a transaction")),
            },
            Message::Origin { .. } | Message::Type { .. } | Message::Message { .. } => {}
        }
        Ok(())
    }

    /// The target's triggers must not fire again on replay: what they did at the source was
    /// captured as changes of its own (an audit row, an `updated_at`), so firing them would
    /// write it twice or differently. As a subscriber does, `session_replication_role =
    /// replica`; a role that may not set it gets [`disable_triggers`](Self::disable_triggers).
    async fn quiet_triggers(&mut self) {
        if self.replica_role.is_none() {
            let set = sqlx::query("SET session_replication_role = replica")
                .execute(&mut *self.conn)
                .await
                .is_ok();
            self.replica_role = Some(set);
        }
        if !self.applier_tried {
            self.applier_tried = true;
            self.applier = Applier::set_up(self.conn).await;
        }
    }

    /// Disable the enabled user triggers of `r`'s table in the target while the replay runs
    /// ([`finish`](Self::finish) enables them again); a role that may not is refused, saying so.
    async fn disable_triggers(&mut self, r: &Relation) -> Result<()> {
        let t = table(r);
        if self.disabled.contains_key(&t) {
            return Ok(());
        }
        // The held statements ran before a trigger of this table is touched.
        self.flush_fold().await?;
        self.flush().await?;
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT tgname::text FROM pg_catalog.pg_trigger WHERE tgrelid = pg_catalog.to_regclass($1) \
             AND NOT tgisinternal AND tgenabled = 'O' ORDER BY 1",
        )
        .bind(&t)
        .fetch_all(&mut *self.conn)
        .await
        .map_err(|e| {
            self.spec
                .map_sqlx(e)
                .context("reading the target's triggers")
        })?;
        for n in &names {
            let sql = format!("ALTER TABLE {t} DISABLE TRIGGER {}", quote_ident(n));
            if let Err(e) = sqlx::query(&sql).execute(&mut *self.conn).await {
                return Err(Error::new(
                    ErrorKind::Permission,
                    format!(
                        "{t} has trigger {n}, which would fire again on every replayed change; \
                         this role may neither set session_replication_role nor disable it: {}",
                        self.spec.map_sqlx(e).message()
                    ),
                )
                .with_hint("restore as the table's owner or a superuser"));
            }
        }
        self.disabled.insert(t, names);
        Ok(())
    }

    fn relation(&self, oid: u32) -> Result<&Relation> {
        self.relations.get(&oid).ok_or_else(|| {
            Error::integrity(format!("a change to relation {oid} before its description"))
        })
    }

    async fn change(&mut self, m: Message) -> Result<()> {
        let (sql, args) = match m {
            Message::Insert { relation, new } => {
                let r = self.relation(relation)?;
                let cols = present(r, &new)?;
                let list = cols
                    .iter()
                    .map(|&i| quote_ident(&r.columns[i].name))
                    .collect::<Vec<_>>();
                let from = cols
                    .iter()
                    .map(|&i| value_of(&r.columns[i], 1))
                    .collect::<Vec<_>>();
                let t = table(r);
                (
                    format!(
                        "INSERT INTO {t} ({}) OVERRIDING SYSTEM VALUE SELECT {} FROM pg_catalog.jsonb_populate_record(NULL::{t}, $1) r",
                        list.join(", "),
                        from.join(", ")
                    ),
                    vec![row(r, &new)?],
                )
            }
            Message::Update { relation, old, new } => {
                let r = self.relation(relation)?;
                let key = old.as_ref().unwrap_or(&new);
                // Without an old key the key did not change: its columns are left as they are
                // (an identity column GENERATED ALWAYS may not be set, even to its own value).
                let set = present(r, &new)?
                    .into_iter()
                    .filter(|&i| old.is_some() || !r.columns[i].key || r.replica_identity == b'f')
                    .map(|i| {
                        let c = &r.columns[i];
                        format!("{} = {}", quote_ident(&c.name), value_of(c, 1))
                    })
                    .collect::<Vec<_>>();
                if set.is_empty() {
                    // Only the key, unchanged: the row stays as it is.
                    return Ok(());
                }
                let t = table(r);
                (
                    format!(
                        "UPDATE {t} SET {} FROM pg_catalog.jsonb_populate_record(NULL::{t}, $1) r WHERE {t}.ctid = ({})",
                        set.join(", "),
                        find(r, key, 2)?
                    ),
                    vec![row(r, &new)?, row(r, key)?],
                )
            }
            Message::Delete { relation, old } => {
                let r = self.relation(relation)?;
                let t = table(r);
                (
                    format!("DELETE FROM {t} WHERE ctid = ({})", find(r, &old, 1)?),
                    vec![row(r, &old)?],
                )
            }
            Message::Truncate {
                cascade,
                restart_identity,
                relations,
            } => {
                let names = relations
                    .iter()
                    .map(|&o| self.relation(o).map(table))
                    .collect::<Result<Vec<_>>>()?;
                let mut sql = format!("TRUNCATE {}", names.join(", "));
                if restart_identity {
                    sql.push_str(" RESTART IDENTITY");
                }
                if cascade {
                    sql.push_str(" CASCADE");
                }
                (sql, vec![])
            }
            _ => return Ok(()),
        };
        self.apply(sql, args).await
    }

    /// Commit what is applied, enable the triggers this replay disabled, and set the sequences
    /// to their values when the last segment applied closed.
    pub async fn finish(mut self) -> Result<Replayed> {
        self.commit_batch().await?;
        enable_triggers(self.conn, self.spec, &std::mem::take(&mut self.disabled)).await?;
        set_sequences(self.conn, self.spec, &self.sequences, self.covered.as_ref()).await?;
        Ok(self.done)
    }
}

/// Enable again the triggers a replay disabled (`table → names`).
async fn enable_triggers(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    disabled: &HashMap<String, Vec<String>>,
) -> Result<()> {
    for (t, names) in disabled {
        for n in names {
            let sql = format!("ALTER TABLE {t} ENABLE TRIGGER {}", quote_ident(n));
            sqlx::query(&sql)
                .execute(&mut *conn)
                .await
                .map_err(|e| spec.map_sqlx(e).context("enabling a trigger again"))?;
        }
    }
    Ok(())
}

/// Sets each sequence to its value as the segment closed — once every one is checked
/// ([`check_sequences`]): none is set when one is refused.
async fn set_sequences(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    sequences: &[SequenceValue],
    covered: Option<&std::collections::HashSet<String>>,
) -> Result<()> {
    check_sequences(conn, spec, sequences, covered).await?;
    for s in sequences {
        sqlx::query("SELECT pg_catalog.setval(pg_catalog.format('%I.%I', $1::text, $2::text)::pg_catalog.regclass, $3, true)")
            .bind(&s.schema)
            .bind(&s.name)
            .bind(s.value)
            .execute(&mut *conn)
            .await
            .map_err(|e| spec.map_sqlx(e).context("setting a sequence"))?;
    }
    Ok(())
}

/// A segment's trailer sets sequences, and sets only its own: a sequence in the server's own
/// schemas ([`system_schema`]), or — when the chain's coverage is known — one the target does not
/// tie to a covered table (owned by it, or called by one of its column defaults; the capture
/// records only those: `server::sequences`) ends the replay as an integrity error naming it. A
/// genuine capture never writes one; a crafted trailer could otherwise move any sequence of the
/// target (an application's ids reused, or used up).
pub(crate) async fn check_sequences(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    sequences: &[SequenceValue],
    covered: Option<&std::collections::HashSet<String>>,
) -> Result<()> {
    let refuse = |s: &SequenceValue, what: &str| {
        let name = format!("{}.{}", s.schema, s.name);
        let shown: String = name.chars().take(200).collect();
        Error::integrity(format!(
            "a change segment sets sequence {}, {what}: the segments were not written by \
             Offsite's capture; no sequence was set from it",
            shown.escape_debug()
        ))
        .with_hint("restore to a time before this segment, and find out who wrote it")
    };
    if let Some(s) = sequences.iter().find(|s| system_schema(&s.schema)) {
        return Err(refuse(s, "a sequence of the server's own catalogs"));
    }
    let Some(covered) = covered else {
        return Ok(());
    };
    if sequences.is_empty() {
        return Ok(());
    }
    let tables = super::server::sequence_tables(conn, spec).await?;
    for s in sequences {
        let ok = tables
            .get(&(s.schema.clone(), s.name.clone()))
            .is_some_and(|ts| ts.iter().any(|t| covered.contains(t)));
        if !ok {
            return Err(refuse(
                s,
                "which belongs with no table its chain captured (not in the chain's recorded \
                 coverage)",
            ));
        }
    }
    Ok(())
}

/// After an [`Abandoned`] replay, on a fresh connection to the target: enable the triggers it
/// disabled and set the sequences (so that the next value after the transactions it holds is
/// never one they used). What could not be done, in words (empty: all of it).
pub async fn put_right(conn: &mut PgConnection, spec: &ConnSpec, a: &mut Abandoned) -> Vec<String> {
    let mut not_done = Vec::new();
    if let Some((xid, held)) = a.in_doubt.take() {
        match committed(conn, xid).await {
            Some(true) => a.applied = held,
            Some(false) => {}
            None => not_done.push(format!(
                "whether its last {} transactions were committed could not be learnt (the \
                 target's transaction {xid})",
                held.commits - a.applied.commits
            )),
        }
    }
    if let Err(e) = enable_triggers(conn, spec, &a.disabled).await {
        let tables: Vec<&str> = a.disabled.keys().map(String::as_str).collect();
        not_done.push(format!(
            "the triggers of {} are still disabled ({})",
            tables.join(", "),
            e.message()
        ));
    }
    if let Err(e) = set_sequences(conn, spec, &a.sequences, a.covered.as_ref()).await {
        not_done.push(format!(
            "its sequences are as the base left them ({})",
            e.message()
        ));
    }
    not_done
}

/// Whether the target committed its transaction `xid` (`None`: it could not be learnt). A
/// transaction whose session the server has not yet seen end is waited for, a few seconds.
async fn committed(conn: &mut PgConnection, xid: i64) -> Option<bool> {
    for _ in 0..100 {
        let status: Option<String> = sqlx::query_scalar("SELECT pg_catalog.txid_status($1)")
            .bind(xid)
            .fetch_one(&mut *conn)
            .await
            .ok()?;
        match status.as_deref() {
            Some("committed") => return Some(true),
            Some("aborted") => return Some(false),
            Some("in progress") => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            _ => return None,
        }
    }
    None
}

/// Whether the server's own schemas hold `namespace`: `pg_catalog`, `pg_toast`, every
/// `pg_temp_N` and `pg_toast_temp_N` (PostgreSQL reserves `pg_` for itself: no user schema
/// starts with it) and `information_schema`.
pub fn system_schema(namespace: &str) -> bool {
    namespace.starts_with("pg_") || namespace == "information_schema"
}

/// A replay writes only what its chain captured: a relation in the server's own schemas
/// ([`system_schema`]), or outside `covered` when the coverage is known, ends the replay as an
/// integrity error naming it (a genuine capture never sends one: its publication lists only
/// the covered tables; a stream that does was crafted, by a compromised source or agent).
pub fn check_relation(
    r: &Relation,
    covered: Option<&std::collections::HashSet<String>>,
) -> Result<()> {
    let name = format!("{}.{}", r.namespace, r.name);
    let shown = name
        .chars()
        .take(200)
        .collect::<String>()
        .escape_debug()
        .to_string();
    if system_schema(&r.namespace) {
        return Err(Error::integrity(format!(
            "the change stream names {shown}, a table of the server's own catalogs, which no \
             capture records: the segments were not written by Offsite's capture; the replay \
             stopped before writing it"
        ))
        .with_hint("restore to a time before this segment, and find out who wrote it"));
    }
    if let Some(c) = covered {
        if !c.contains(&name) {
            return Err(Error::integrity(format!(
                "the change stream names {shown}, a table its chain did not capture (not in the \
                 chain's recorded coverage): the segments were not written by Offsite's capture; \
                 the replay stopped before writing it"
            ))
            .with_hint("restore to a time before this segment, and find out who wrote it"));
        }
    }
    Ok(())
}

fn table(r: &Relation) -> String {
    format!("{}.{}", quote_ident(&r.namespace), quote_ident(&r.name))
}

/// The columns a tuple carries a value for (unchanged TOAST values are left alone).
fn present(r: &Relation, t: &Tuple) -> Result<Vec<usize>> {
    if t.len() != r.columns.len() {
        return Err(Error::integrity(format!(
            "a row of {}.{} with {} values for {} columns",
            r.namespace,
            r.name,
            t.len(),
            r.columns.len()
        )));
    }
    Ok((0..t.len()).filter(|&i| t[i] != Value::Unchanged).collect())
}

/// The tuple as one JSON object (column → text value; jsonb as JSON; json as its text, kept
/// exactly: see [`value_of`]).
fn row(r: &Relation, t: &Tuple) -> Result<serde_json::Value> {
    present(r, t)?;
    let mut m = serde_json::Map::new();
    for (col, v) in r.columns.iter().zip(t) {
        let text = match v {
            Value::Unchanged => continue,
            Value::Null => serde_json::Value::Null,
            Value::Text(b) => {
                let s = std::str::from_utf8(b).map_err(|_| {
                    Error::integrity(format!("a value of {} is not UTF-8", col.name))
                })?;
                if col.type_oid == JSONB {
                    serde_json::from_str(s).map_err(|_| {
                        Error::integrity(format!("a value of {} is not JSON", col.name))
                    })?
                } else {
                    serde_json::Value::String(s.to_string())
                }
            }
        };
        m.insert(col.name.clone(), text);
    }
    Ok(serde_json::Value::Object(m))
}

/// The SQL giving column `c`'s new value from the row parameter `$n` (through the record `r`):
/// a `json` column from its text in the parameter, the others from the populated record.
fn value_of(c: &pgoutput::Column, n: usize) -> String {
    if c.type_oid == JSON {
        format!("(${n} ->> {})::json", quote_literal(&c.name))
    } else {
        format!("r.{}", quote_ident(&c.name))
    }
}

/// A subquery finding one row matching the key columns of `key` (parameter `$n`): the
/// replica identity's columns, or every column for `REPLICA IDENTITY FULL`.
fn find(r: &Relation, key: &Tuple, n: usize) -> Result<String> {
    let t = table(r);
    let full = r.replica_identity == b'f' || !r.columns.iter().any(|c| c.key);
    let mut conds = Vec::new();
    for (i, c) in r.columns.iter().enumerate() {
        if !(full || c.key) || key.get(i) == Some(&Value::Unchanged) {
            continue;
        }
        let q = quote_ident(&c.name);
        conds.push(if key.get(i) == Some(&Value::Null) {
            format!("o.{q} IS NULL")
        } else if c.key && !full {
            format!("o.{q} = k.{q}")
        } else if c.type_oid == JSON {
            // json has no equality operator: its text, exactly as the server sent it.
            format!("o.{q}::text = (${n} ->> {})", quote_literal(&c.name))
        } else {
            // REPLICA IDENTITY FULL compares every column, some of types without an equality
            // operator (point, xml): by their text, which the server wrote for both sides.
            format!("o.{q}::text = k.{q}::text")
        });
    }
    if conds.is_empty() {
        return Err(Error::integrity(format!("a change to {t} without a key")));
    }
    Ok(format!(
        "SELECT o.ctid FROM {t} o, pg_catalog.jsonb_populate_record(NULL::{t}, ${n}) k WHERE {} LIMIT 1",
        conds.join(" AND ")
    ))
}

#[cfg(test)]
#[path = "replay_tests.rs"]
mod tests;
