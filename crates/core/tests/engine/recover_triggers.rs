//! Recovered rows are the backup's rows (issue 63, item 1): the target's BEFORE INSERT triggers
//! set timestamps and user columns from the session (NULL for Offsite, and a NOT NULL column
//! refuses that), an ALWAYS trigger writes an audit row — none of them fires on a recovery or
//! its undo. As a superuser (session_replication_role = replica), as the tables' owner
//! (triggers disabled inside the transaction), and as a role that may do neither (refused,
//! naming --fire-triggers; with it, what the triggers refuse is refused) — the dry run refusing
//! exactly what the run refuses, each time. Foreign keys are checked by Offsite where the
//! replica role turned PostgreSQL's own checks off.

use crate::common::*;
use offsite_core::browse::ColumnEquals;
use offsite_core::ops::recover::RecoverRequest;
use offsite_core::recover::{RecoverReport, RecoverRows, TriggerHandling};
use offsite_core::restore::DatabaseTo;
use offsite_core::{ErrorKind, JobStart};
use offsite_testkit::TestCluster;

/// A starter kit's shape: accounts and their invitations, stamped by triggers from the session.
const KIT: &str = r#"
CREATE TABLE accounts (
    id int PRIMARY KEY, name text NOT NULL,
    created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
    created_by text, updated_by text
);
CREATE TABLE invitations (
    id int PRIMARY KEY,
    account_id int NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    email text NOT NULL,
    invited_by text NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL
);
CREATE TABLE audit_log (id bigserial PRIMARY KEY, what text NOT NULL);
CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.created_at := now();
    NEW.created_by := current_setting('request.jwt.claim.sub', true);
  END IF;
  NEW.updated_at := now();
  NEW.updated_by := current_setting('request.jwt.claim.sub', true);
  RETURN NEW;
END $$;
CREATE TRIGGER accounts_stamp BEFORE INSERT OR UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION stamp();
CREATE FUNCTION invite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.invited_by := current_setting('request.jwt.claim.sub', true);
  NEW.expires_at := now() + interval '7 days';
  NEW.created_at := now();
  NEW.updated_at = now();
  RETURN NEW;
END $$;
CREATE TRIGGER invitations_set BEFORE INSERT ON invitations FOR EACH ROW EXECUTE FUNCTION invite();
CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO audit_log (what) VALUES (TG_OP || ' ' || TG_TABLE_NAME); RETURN NULL; END $$;
CREATE TRIGGER accounts_audit AFTER INSERT OR UPDATE OR DELETE ON accounts FOR EACH ROW EXECUTE FUNCTION audit();
ALTER TABLE accounts ENABLE ALWAYS TRIGGER accounts_audit;
CREATE TRIGGER accounts_off BEFORE INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION stamp();
ALTER TABLE accounts DISABLE TRIGGER accounts_off;

SET request.jwt.claim.sub = 'user-1';
INSERT INTO accounts (id, name) VALUES (1, 'Acme'), (2, 'Beta');
INSERT INTO invitations (id, account_id, email) VALUES
  (10, 1, 'a@acme'), (11, 1, 'b@acme'), (12, 1, 'c@acme'), (13, 1, 'd@acme'), (20, 2, 'x@beta');
-- Values no trigger would write again: the past, an expired invitation, another user.
ALTER TABLE accounts DISABLE TRIGGER USER;
UPDATE accounts SET created_at = '2024-01-02 03:04:05.678901+00', updated_at = '2025-06-07 08:09:10.111213+00',
  created_by = 'founder', updated_by = NULL WHERE id = 1;
ALTER TABLE accounts ENABLE TRIGGER accounts_stamp;
ALTER TABLE accounts ENABLE ALWAYS TRIGGER accounts_audit;
UPDATE invitations SET expires_at = '2025-01-01 00:00:00+00', created_at = '2024-12-25 00:00:00+00' WHERE id = 13;
"#;

/// Account 1 and its invitations, every column as text: what must come back byte for byte.
const ACCOUNT_1: &str = "SELECT 'a', a::text FROM accounts a WHERE id = 1 \
    UNION ALL SELECT 'i', i::text FROM invitations i WHERE account_id = 1 ORDER BY 1, 2";

/// The triggers' names and modes (`O` origin, `A` always, `D` disabled).
const TRIGGER_MODES: &str =
    "SELECT string_agg(tgname || '=' || tgenabled::text, ',' ORDER BY tgname) \
    FROM pg_trigger WHERE NOT tgisinternal";

fn rows(fire: bool) -> RecoverRows {
    RecoverRows {
        table: "public.accounts".into(),
        filters: vec![ColumnEquals {
            column: "id".into(),
            value: "1".into(),
        }],
        children: true,
        fire_triggers: fire,
        ..RecoverRows::default()
    }
}

async fn recover(
    env: &Env,
    archive: &std::path::Path,
    to: DatabaseTo,
    rows: RecoverRows,
    dry_run: bool,
) -> offsite_core::Result<RecoverReport> {
    let req = RecoverRequest {
        archive: archive.display().to_string(),
        rows,
        to,
        dry_run,
    };
    Ok(env
        .engine
        .recover(req, None, JobStart::default())
        .await?
        .report)
}

fn utc(pg: &TestCluster, db: &str, sql: &str) -> String {
    pg.psql(db, &format!("SET TimeZone = 'UTC';\n{sql}"))
}

/// A new login role with a password, and the target as it connects.
fn login(pg: &TestCluster, db: &str, role: &str) -> DatabaseTo {
    pg.psql(
        "postgres",
        &format!("CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}'"),
    );
    as_role(pg, db, role)
}

/// The target as role `role` (password `pw-ROLE`) connects.
fn as_role(pg: &TestCluster, db: &str, role: &str) -> DatabaseTo {
    let url = pg
        .url(db)
        .replacen("postgres@", &format!("{role}:pw-{role}@"), 1);
    DatabaseTo::url_or_project(&url, None)
}

/// A database holding the kit, backed up; account 1 deleted since (its invitations cascade).
async fn kit(
    pg: &TestCluster,
    env: &Env,
    name: &str,
    owner: Option<&str>,
) -> (String, std::path::PathBuf, String) {
    let db = pg.unique_db(name);
    if let Some(o) = owner {
        pg.psql(
            "postgres",
            &format!("CREATE ROLE {o} LOGIN PASSWORD 'pw-{o}'"),
        );
        pg.psql(
            &db,
            &format!("GRANT ALL ON SCHEMA public TO {o}; SET ROLE {o};\n{KIT}"),
        );
    } else {
        pg.psql(&db, KIT);
    }
    let archive = back_up(pg, env, name, &db).await;
    let before = utc(pg, &db, ACCOUNT_1);
    assert_eq!(before.lines().count(), 5, "{before}");
    pg.psql(
        &db,
        "SET request.jwt.claim.sub = 'cleanup'; DELETE FROM accounts WHERE id = 1;",
    );
    (db, archive, before)
}

#[tokio::test]
async fn as_a_superuser_the_rows_come_back_as_backed_up_and_no_trigger_fires() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, archive, backed_up) = kit(pg, &env, "rcvtrig_super", None).await;
    let audit = pg.psql(&db, "SELECT count(*) FROM audit_log");
    let modes = pg.psql(&db, TRIGGER_MODES);
    let state = utc(
        pg,
        &db,
        "SELECT a::text FROM accounts a UNION ALL SELECT i::text FROM invitations i ORDER BY 1",
    );

    let plan = recover(&env, &archive, target(pg, &db), rows(false), true)
        .await
        .unwrap();
    assert_eq!(plan.trigger_handling, TriggerHandling::ReplicaRole);
    let inv = plan
        .tables
        .iter()
        .find(|t| t.table == "invitations")
        .unwrap();
    assert_eq!(inv.insert, 4);
    let note = &inv.trigger_notes[0];
    assert_eq!(note.name, "invitations_set");
    assert_eq!(note.fires, "BEFORE INSERT, FOR EACH ROW");
    for e in [
        "sets invited_by",
        "sets expires_at",
        "sets created_at",
        "sets updated_at",
    ] {
        assert!(note.effects.iter().any(|x| x == e), "{e} not in {note:?}");
    }
    let acc = plan.tables.iter().find(|t| t.table == "accounts").unwrap();
    assert_eq!(
        acc.triggers,
        vec!["accounts_audit", "accounts_stamp"],
        "a disabled trigger is not listed"
    );
    assert!(plan.foreign_keys_checked >= 1, "{plan:?}");
    assert_eq!(
        utc(
            pg,
            &db,
            "SELECT a::text FROM accounts a UNION ALL SELECT i::text FROM invitations i ORDER BY 1"
        ),
        state,
        "a dry run writes nothing"
    );
    assert_eq!(pg.psql(&db, "SELECT count(*) FROM audit_log"), audit);

    let done = recover(&env, &archive, target(pg, &db), rows(false), false)
        .await
        .unwrap();
    assert_eq!(done.trigger_handling, TriggerHandling::ReplicaRole);
    assert_eq!(
        utc(pg, &db, ACCOUNT_1),
        backed_up,
        "the backup's rows, byte for byte"
    );
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM audit_log"),
        audit,
        "the ALWAYS trigger did not fire"
    );
    assert_eq!(
        pg.psql(&db, TRIGGER_MODES),
        modes,
        "every trigger as it was"
    );
    // The triggers work for everyone else again: a new row is stamped.
    pg.psql(
        &db,
        "SET request.jwt.claim.sub = 'user-2'; INSERT INTO accounts (id, name) VALUES (3, 'New')",
    );
    assert_eq!(
        pg.psql(&db, "SELECT created_by FROM accounts WHERE id = 3"),
        "user-2"
    );
    pg.psql(&db, "DELETE FROM accounts WHERE id = 3");
    let audit = pg.psql(&db, "SELECT count(*) FROM audit_log");

    let undone = env
        .engine
        .recover_undo(
            done.undo_id.as_deref().unwrap(),
            Some(pg.superuser_password().into()),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(undone.report.trigger_handling, TriggerHandling::ReplicaRole);
    assert!(undone.report.foreign_keys_checked >= 1);
    assert_eq!(utc(pg, &db, ACCOUNT_1), "");
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM audit_log"),
        audit,
        "no trigger fired on undo"
    );
    assert_eq!(pg.psql(&db, TRIGGER_MODES), modes);
}

#[tokio::test]
async fn as_the_owner_triggers_are_disabled_inside_the_transaction_only() {
    let pg = TestCluster::shared();
    let env = env().await;
    let owner = format!("kit_owner_{}", std::process::id());
    let (db, archive, backed_up) = kit(pg, &env, "rcvtrig_owner", Some(&owner)).await;
    let to = as_role(pg, &db, &owner);
    let audit = pg.psql(&db, "SELECT count(*) FROM audit_log");
    let modes = pg.psql(&db, TRIGGER_MODES);

    let plan = recover(&env, &archive, to.clone(), rows(false), true)
        .await
        .unwrap();
    assert_eq!(plan.trigger_handling, TriggerHandling::Disabled);
    let done = recover(&env, &archive, to, rows(false), false)
        .await
        .unwrap();
    assert_eq!(done.trigger_handling, TriggerHandling::Disabled);
    assert_eq!(
        utc(pg, &db, ACCOUNT_1),
        backed_up,
        "the backup's rows, byte for byte"
    );
    assert_eq!(pg.psql(&db, "SELECT count(*) FROM audit_log"), audit);
    assert_eq!(
        pg.psql(&db, TRIGGER_MODES),
        modes,
        "enabled again, each with its own mode"
    );
}

#[tokio::test]
async fn a_role_that_cannot_quiet_the_triggers_is_refused_and_the_dry_run_says_the_same() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, archive, _) = kit(pg, &env, "rcvtrig_plain", None).await;
    let role = format!("kit_writer_{}", std::process::id());
    let to = login(pg, &db, &role);
    pg.psql(
        &db,
        &format!(
            "GRANT USAGE ON SCHEMA public TO {role};
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
             GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role};"
        ),
    );
    let state = pg.psql(&db, "SELECT count(*) FROM accounts")
        + &pg.psql(&db, "SELECT count(*) FROM invitations");
    let modes = pg.psql(&db, TRIGGER_MODES);

    for dry_run in [true, false] {
        let e = recover(&env, &archive, to.clone(), rows(false), dry_run)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Permission, "dry run {dry_run}: {e}");
        let said = format!("{} {}", e.message(), e.hint().unwrap_or_default());
        for w in [
            "accounts",
            "session_replication_role",
            "--fire-triggers",
            "nothing was written",
        ] {
            assert!(said.contains(w), "dry run {dry_run}: {w:?} not in {said}");
        }
    }
    // With --fire-triggers the triggers run: invited_by comes from the session, NULL, and the
    // NOT NULL column refuses it — in the dry run as in the run.
    for dry_run in [true, false] {
        let e = recover(&env, &archive, to.clone(), rows(true), dry_run)
            .await
            .unwrap_err();
        assert!(e.message().contains("invited_by"), "dry run {dry_run}: {e}");
    }
    let now = pg.psql(&db, "SELECT count(*) FROM accounts")
        + &pg.psql(&db, "SELECT count(*) FROM invitations");
    assert_eq!(now, state, "nothing written");
    assert_eq!(pg.psql(&db, TRIGGER_MODES), modes);
    assert!(!env
        .dir
        .path()
        .join("data/recoveries")
        .read_dir()
        .map(|mut d| d.next().is_some())
        .unwrap_or(false));
}

/// Under the replica role PostgreSQL checks no foreign key: Offsite does. A recovered row whose
/// parent the target lacks and the backup does not give (a table made since the backup, which
/// the backup has no data for) is refused, dry run and run alike, naming the key.
#[tokio::test]
async fn a_foreign_key_that_would_not_hold_is_refused_though_postgres_did_not_check_it() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, archive) = backed_up_with(
        pg,
        &env,
        "rcvtrig_fk",
        "CREATE TABLE shops (id int PRIMARY KEY, region_id int);
         INSERT INTO shops VALUES (1, 7), (2, 7);",
    )
    .await;
    pg.psql(
        &db,
        "CREATE TABLE regions (id int PRIMARY KEY); DELETE FROM shops;
         ALTER TABLE shops ADD FOREIGN KEY (region_id) REFERENCES regions(id);",
    );
    let rows = RecoverRows {
        table: "public.shops".into(),
        filters: vec![ColumnEquals {
            column: "id".into(),
            value: "1".into(),
        }],
        ..RecoverRows::default()
    };
    for dry_run in [true, false] {
        let e = recover(&env, &archive, target(pg, &db), rows.clone(), dry_run)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
        for w in [
            "public.shops",
            "shops_region_id_fkey",
            "public.regions",
            "1 row",
            "nothing was changed",
        ] {
            assert!(e.message().contains(w), "{w:?} not in {e}");
        }
    }
    assert_eq!(pg.psql(&db, "SELECT count(*) FROM shops"), "0");
    // With the region there, the same recovery runs (and says what it checked).
    pg.psql(&db, "INSERT INTO regions VALUES (7)");
    let done = recover(&env, &archive, target(pg, &db), rows, false)
        .await
        .unwrap();
    assert_eq!(done.foreign_keys_checked, 1);
    assert_eq!(pg.psql(&db, "SELECT count(*) FROM shops"), "1");
}

/// As the owner, a cycle entered through deferred foreign keys: their checks wait for the
/// commit, queued on the tables whose triggers the recovery disabled; enabling those again
/// runs the checks first (a table with pending trigger events cannot be altered).
#[tokio::test]
async fn as_the_owner_a_deferred_cycle_is_checked_before_its_triggers_come_back() {
    let pg = TestCluster::shared();
    let env = env().await;
    let owner = format!("cyc_owner_{}", std::process::id());
    pg.psql(
        "postgres",
        &format!("CREATE ROLE {owner} LOGIN PASSWORD 'pw-{owner}'"),
    );
    let db = pg.unique_db("rcvtrig_cycle");
    pg.psql(
        &db,
        &format!(
            "GRANT ALL ON SCHEMA public TO {owner}; SET ROLE {owner};
             CREATE TABLE teams (id int PRIMARY KEY, lead_id int NOT NULL, stamped text);
             CREATE TABLE members (id int PRIMARY KEY, team_id int NOT NULL
               REFERENCES teams(id) DEFERRABLE INITIALLY DEFERRED, stamped text);
             ALTER TABLE teams ADD FOREIGN KEY (lead_id) REFERENCES members(id) DEFERRABLE INITIALLY DEFERRED;
             CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN NEW.stamped := 'by trigger'; RETURN NEW; END $$;
             CREATE TRIGGER members_stamp BEFORE INSERT ON members FOR EACH ROW EXECUTE FUNCTION stamp();
             CREATE TRIGGER teams_stamp BEFORE INSERT ON teams FOR EACH ROW EXECUTE FUNCTION stamp();
             ALTER TABLE members DISABLE TRIGGER members_stamp; ALTER TABLE teams DISABLE TRIGGER teams_stamp;
             BEGIN; INSERT INTO teams VALUES (1, 10, 'backed up'); INSERT INTO members VALUES (10, 1, 'backed up'), (11, 1, 'backed up'); COMMIT;
             ALTER TABLE members ENABLE TRIGGER members_stamp; ALTER TABLE teams ENABLE TRIGGER teams_stamp;"
        ),
    );
    let archive = back_up(pg, &env, "rcvtrig_cycle", &db).await;
    pg.psql(
        &db,
        "BEGIN; DELETE FROM members; DELETE FROM teams; COMMIT;",
    );
    let rows = RecoverRows {
        table: "public.teams".into(),
        filters: vec![ColumnEquals {
            column: "id".into(),
            value: "1".into(),
        }],
        children: true,
        ..RecoverRows::default()
    };
    let done = recover(&env, &archive, as_role(pg, &db, &owner), rows, false)
        .await
        .unwrap();
    assert_eq!(done.trigger_handling, TriggerHandling::Disabled);
    assert_eq!(
        pg.psql(
            &db,
            "SELECT string_agg(stamped, ',') FROM (SELECT stamped FROM teams UNION ALL SELECT stamped FROM members) s"
        ),
        "backed up,backed up,backed up"
    );
    assert_eq!(pg.psql(&db, TRIGGER_MODES), "members_stamp=O,teams_stamp=O");
}
