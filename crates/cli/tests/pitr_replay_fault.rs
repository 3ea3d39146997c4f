//! A restore to a time whose replay fails part way (issue 46): the target is not left looking
//! like the time asked for. The replay stops on a captured change the target refuses (a CHECK
//! whose function reads a setting only the target database has), rolls back the open
//! transaction, and says exactly what the target holds: the base and the whole transactions
//! before the last target commit, as the project was at an earlier time, with its sequences set
//! past every value those transactions used (the next insert does not collide) — also when the
//! connection is lost just as the target commits (what it holds is asked of it).

mod common;

use common::pg::{run, run_env, server_now, wait_past};
use common::pitr::{project_with, sql};
use std::time::Duration;

/// The failed restore's words (stdout and stderr): it stopped while replaying, says what the
/// target is left as and to restore again, and says each of `more`.
fn stopped_part_way(out: &std::process::Output, more: &[&str]) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "the replay must fail: {text}");
    let said = [
        "stopped while replaying its changes",
        "is left as shop was at",
        "restore again",
    ];
    for needle in said.iter().chain(more) {
        assert!(text.contains(needle), "{needle:?} not in: {text}");
    }
    text
}

/// How many captured transactions after its base the message says the target holds.
fn said_transactions(text: &str) -> i64 {
    text.split(" transactions after it")
        .next()
        .and_then(|before| before.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of transactions in: {text}"))
}

const COMMIT_EVERY_ENV: &str = "OFFSITE_REPLAY_COMMIT_EVERY";

#[test]
fn a_replay_that_fails_part_way_says_what_the_target_holds_and_sets_its_sequences() {
    let db = "pitr_fault";
    let (pg, data) = project_with(
        db,
        "CREATE FUNCTION public.allowed(v int) RETURNS boolean LANGUAGE sql STABLE
             AS $$ SELECT coalesce(current_setting('offsite_test.block', true), '') <> 'on' OR v < 100 $$;
         CREATE TABLE public.orders (id serial PRIMARY KEY, v int NOT NULL CHECK (public.allowed(v)));
         INSERT INTO public.orders (v) SELECT 1 FROM generate_series(1, 10);",
    );
    let d = data.path();
    common::pg::ok(run(d, &pg, &["pitr", "enable", "shop"]), "pitr enable");
    // 300 transactions the target takes, one it refuses, 20 more: each its own transaction.
    sql(
        &pg,
        db,
        "DO $$ BEGIN
           FOR i IN 1..300 LOOP INSERT INTO public.orders (v) VALUES (1); COMMIT; END LOOP;
           INSERT INTO public.orders (v) VALUES (500); COMMIT;
           FOR i IN 1..20 LOOP INSERT INTO public.orders (v) VALUES (2); COMMIT; END LOOP;
         END $$",
    );
    let after = server_now(&pg);
    wait_past(&pg, &after);
    common::pg::ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");

    pg.create_db("pitr_fault_target");
    pg.psql(
        "postgres",
        "ALTER DATABASE pitr_fault_target SET offsite_test.block = 'on'",
    );
    // A target transaction every 128 changes, so that some commit before the refused one.
    let out = run_env(
        d,
        &pg,
        &[(COMMIT_EVERY_ENV, "128")],
        &[
            "restore",
            "shop",
            "--at",
            &after,
            "--to",
            &pg.url("pitr_fault_target"),
        ],
    );
    let text = stopped_part_way(
        &out,
        &[
            "violates check constraint",
            &format!("not at {}", &after[..19]),
        ],
    );
    assert!(!text.contains("password"), "{text}");

    // The target holds the base (10 rows) and a prefix of the captured transactions: whole
    // ones, in commit order, as many as the message says; none refused nor after it.
    let held: Vec<i64> = pg
        .psql(
            "pitr_fault_target",
            "SELECT count(*), coalesce(max(id), 0), count(*) FILTER (WHERE v <> 1) FROM public.orders",
        )
        .trim()
        .split('|')
        .map(|x| x.parse().unwrap())
        .collect();
    let (rows, max_id, other) = (held[0], held[1], held[2]);
    assert_eq!(rows, max_id, "no gap: {held:?}");
    assert_eq!(
        other, 0,
        "nothing from the refused change or after it: {held:?}"
    );
    assert!(rows > 10 && rows < 311, "part of the changes: {held:?}");
    assert_eq!(
        said_transactions(&text),
        rows - 10,
        "the message counts what the target holds: {text}"
    );

    // Its sequence is past every id used (as the segment closed), so the next insert is new.
    let next: i64 = pg
        .psql(
            "pitr_fault_target",
            "SELECT nextval('public.orders_id_seq')",
        )
        .trim()
        .parse()
        .unwrap();
    assert!(next > 331, "the sequence put right: nextval {next}");
}

/// The changes go to the target in batches (the session's applier), not a round trip each: a
/// replay of 400 single-row transactions takes a few dozen round trips, and gives the rows —
/// also of a table whose names would break out of a dollar-quoted function body or read as
/// PL/pgSQL's own (`$f$`, a quote, `found`, `$1`): its statements reach the target's functions
/// as parameters, never as spliced text.
#[test]
fn a_replay_sends_its_changes_in_batches() {
    let db = "pitr_batches";
    let (pg, data) = project_with(
        db,
        "CREATE TABLE public.orders (id serial PRIMARY KEY, v int NOT NULL, doc json);
         INSERT INTO public.orders (v) SELECT 1 FROM generate_series(1, 10);
         CREATE TABLE public.\"o$f$'; DROP TABLE public.orders; --\"
           (id int PRIMARY KEY, \"found\" int, \"$1\" text, \"a\"\"b\" text);",
    );
    let d = data.path();
    common::pg::ok(run(d, &pg, &["pitr", "enable", "shop"]), "pitr enable");
    sql(
        &pg,
        db,
        "DO $$ BEGIN
           FOR i IN 1..200 LOOP
             INSERT INTO public.orders (v, doc) VALUES (i, ('{\"b\": 1,  \"a\": ' || i || '}')::json); COMMIT;
             UPDATE public.orders SET v = v + 1000 WHERE id = 1 + i % 10; COMMIT;
             INSERT INTO public.\"o$f$'; DROP TABLE public.orders; --\" VALUES (i, i, '$2', 'x''y');
             UPDATE public.\"o$f$'; DROP TABLE public.orders; --\" SET \"found\" = -i WHERE id = i - 1; COMMIT;
           END LOOP;
           DELETE FROM public.orders WHERE id % 7 = 0; COMMIT;
         END $$",
    );
    const DIGEST: &str = "SELECT md5(string_agg(o::text, '|' ORDER BY id)) FROM public.orders o
         UNION ALL SELECT md5(string_agg(w::text, '|' ORDER BY id))
         FROM public.\"o$f$'; DROP TABLE public.orders; --\" w";
    let want = pg.psql(db, DIGEST);
    let after = server_now(&pg);
    wait_past(&pg, &after);
    common::pg::ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");
    pg.create_db("pitr_batches_target");
    let done = common::pg::ok_json(
        run(
            d,
            &pg,
            &[
                "--json",
                "restore",
                "shop",
                "--at",
                &after,
                "--to",
                &pg.url("pitr_batches_target"),
            ],
        ),
        "restore --at",
    );
    let replayed = &done["replayed"];
    let changes = replayed["changes"].as_u64().unwrap();
    let trips = replayed["round_trips"].as_u64().unwrap();
    assert!(changes >= 801, "{done}");
    assert!(
        trips * 10 < changes,
        "{changes} changes in {trips} round trips: {done}"
    );
    let got = pg.psql("pitr_batches_target", DIGEST);
    assert_eq!(got, want, "the rows as at the time");
}

/// The connection to the target lost as the target commits a batch (a fault proxy in front of
/// the target cuts the answer to a COMMIT: the server committed, Offsite never heard it): the
/// error says what the target holds — asked of the target on a fresh connection, not assumed
/// from the last answer it had — and the target holds exactly that: whole transactions, no gap.
#[test]
fn a_connection_lost_as_the_target_commits_says_what_the_target_holds() {
    let db = "pitr_cut";
    let (pg, data) = project_with(
        db,
        "CREATE TABLE public.orders (id serial PRIMARY KEY, v int NOT NULL);
         INSERT INTO public.orders (v) SELECT 1 FROM generate_series(1, 10);",
    );
    let d = data.path();
    common::pg::ok(run(d, &pg, &["pitr", "enable", "shop"]), "pitr enable");
    // Enough single-row transactions that the replay is still running when the test has seen
    // its first batch in the target (a batch commits about every 128 changes).
    sql(
        &pg,
        db,
        "DO $$ BEGIN
           FOR i IN 1..40000 LOOP INSERT INTO public.orders (v) VALUES (1); COMMIT; END LOOP;
         END $$",
    );
    let after = server_now(&pg);
    wait_past(&pg, &after);
    common::pg::ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");

    let target = "pitr_cut_target";
    pg.create_db(target);
    let proxy =
        offsite_testkit::FaultProxy::start(format!("127.0.0.1:{}", pg.port()).parse().unwrap());
    let via_proxy = format!("postgres://postgres@127.0.0.1:{}/{target}", proxy.port());
    let child = common::pg::offsite(
        d,
        &pg,
        &["restore", "shop", "--at", &after, "--to", &via_proxy],
    )
    .env(COMMIT_EVERY_ENV, "128")
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    // Once the replay has committed a first batch (the base holds 10 rows), the next answer
    // to a COMMIT through the proxy — the replay's — is cut.
    let began = std::time::Instant::now();
    loop {
        let rows = pg
            .try_psql(target, "SELECT count(*) FROM public.orders")
            .ok()
            .and_then(|r| r.trim().parse::<i64>().ok())
            .unwrap_or(0);
        if rows > 10 {
            proxy.cut_next_on(b"C\0\0\0\x0bCOMMIT\0");
            break;
        }
        assert!(
            began.elapsed() < Duration::from_secs(120),
            "the replay never committed a batch"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    let text = stopped_part_way(&out, &[]);
    assert_eq!(proxy.cuts(), 1, "a COMMIT's answer was cut: {text}");
    let held: Vec<i64> = pg
        .psql(
            target,
            "SELECT count(*), coalesce(max(id), 0) FROM public.orders",
        )
        .trim()
        .split('|')
        .map(|x| x.parse().unwrap())
        .collect();
    let (rows, max_id) = (held[0], held[1]);
    assert_eq!(
        rows, max_id,
        "whole transactions in order, no gap: {held:?}"
    );
    assert!(rows > 10 && rows < 40_010, "part of the changes: {held:?}");
    assert_eq!(
        said_transactions(&text),
        rows - 10,
        "the message counts what the target holds, the unanswered commit's batch included: {text}"
    );
    let next: i64 = pg
        .psql(target, "SELECT nextval('public.orders_id_seq')")
        .trim()
        .parse()
        .unwrap();
    assert!(next > rows, "the sequence put right: nextval {next}");
}

/// Changes folded by key (issue 67, item 3) give exactly the rows the change-by-change replay
/// gives, and the source had at the time — on the cases where folding must step aside or
/// where the set-based statements are refused and the batch goes change by change: a row
/// changed hundreds of times, unique values swapped between rows (refused set-based), a key
/// changed, rows deleted and inserted again, identity columns `GENERATED ALWAYS`, `json` text
/// kept exactly, unchanged TOAST values, a table of only its key, a foreign key with cascades,
/// a truncate in between; a table with a trigger enabled ALWAYS (not folded: it fires once
/// per change).
#[test]
fn a_replay_folded_by_key_gives_the_rows_change_by_change_gives() {
    let db = "pitr_fold";
    let (pg, data) = project_with(
        db,
        "CREATE TABLE public.acc (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             email text NOT NULL UNIQUE, n int NOT NULL, doc json);
         CREATE TABLE public.docs (id int PRIMARY KEY, v int, body text);
         CREATE TABLE public.tags (a int, b text, PRIMARY KEY (a, b));
         CREATE TABLE public.parent (id int PRIMARY KEY, name text);
         CREATE TABLE public.child (id int PRIMARY KEY,
             p int REFERENCES public.parent ON DELETE CASCADE ON UPDATE CASCADE, note text);
         CREATE TABLE public.scratch (id int PRIMARY KEY, v text);
         CREATE TABLE public.audited (id int PRIMARY KEY, v int);
         CREATE TABLE public.fired (v int);
         CREATE FUNCTION public.note() RETURNS trigger LANGUAGE plpgsql
             AS $$ BEGIN INSERT INTO public.fired VALUES (NEW.v); RETURN NEW; END $$;
         CREATE TRIGGER note AFTER INSERT OR UPDATE ON public.audited
             FOR EACH ROW EXECUTE FUNCTION public.note();
         ALTER TABLE public.audited ENABLE ALWAYS TRIGGER note;
         INSERT INTO public.audited VALUES (1, 0);
         INSERT INTO public.acc (email, n, doc)
             SELECT 'e' || g, 0, '{\"b\": 1,  \"a\": 2}' FROM generate_series(1, 20) g;
         INSERT INTO public.docs
             SELECT g, 0, (SELECT string_agg(md5(g::text || x::text), '') FROM generate_series(1, 400) x)
             FROM generate_series(1, 5) g;
         INSERT INTO public.parent SELECT g, 'p' || g FROM generate_series(1, 10) g;
         INSERT INTO public.child SELECT g, g % 10 + 1, 'c' FROM generate_series(1, 30) g;",
    );
    let d = data.path();
    common::pg::ok(run(d, &pg, &["pitr", "enable", "shop"]), "pitr enable");
    sql(
        &pg,
        db,
        "DO $$ DECLARE first_email text; second_email text; BEGIN
           FOR i IN 1..300 LOOP
             UPDATE public.acc SET n = n + 1 WHERE id = 1; COMMIT;
             UPDATE public.audited SET v = i WHERE id = 1; COMMIT;
             UPDATE public.docs SET v = i WHERE id = 1 + i % 5; COMMIT;
             INSERT INTO public.acc (email, n, doc) VALUES ('new' || i, i, ('{\"z\": ' || i || ',  \"a\": 0}')::json);
             INSERT INTO public.tags VALUES (i % 7, 't' || i % 3) ON CONFLICT DO NOTHING;
             IF i % 3 = 0 THEN DELETE FROM public.tags WHERE a = i % 7; END IF;
             COMMIT;
             IF i % 100 = 0 THEN
               -- Swap two rows' unique emails through a third value: in any order, one
               -- set-based update would meet the other's value.
               SELECT email INTO first_email FROM public.acc WHERE id = 2;
               SELECT email INTO second_email FROM public.acc WHERE id = 3;
               UPDATE public.acc SET email = 'swap' WHERE id = 2;
               UPDATE public.acc SET email = first_email WHERE id = 3;
               UPDATE public.acc SET email = second_email, n = n + 1 WHERE id = 2;
               COMMIT;
             END IF;
             IF i % 25 = 0 THEN
               DELETE FROM public.acc WHERE id = 5 + i / 25;
               DELETE FROM public.parent WHERE id = i / 25;
               UPDATE public.parent SET id = id + 1000 WHERE id = 10 - i / 50;
               UPDATE public.docs SET body = body || i WHERE id = 2;
               COMMIT;
               DELETE FROM public.scratch WHERE id = 1;
               INSERT INTO public.scratch VALUES (1, 'again ' || i);
               UPDATE public.scratch SET v = v || '!' WHERE id = 1;
               COMMIT;
             END IF;
             IF i = 150 THEN TRUNCATE public.scratch; COMMIT; END IF;
           END LOOP;
         END $$",
    );
    const DIGEST: &str = "SELECT (SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM public.acc t)
         || (SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM public.docs t)
         || (SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY a, b)), '-') FROM public.tags t)
         || (SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM public.parent t)
         || (SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM public.child t)
         || (SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY id)), '-') FROM public.scratch t)";
    const FIRED: &str = "SELECT count(*) || ' ' || sum(v) FROM public.fired";
    let want = pg.psql(db, DIGEST);
    let after = server_now(&pg);
    wait_past(&pg, &after);
    common::pg::ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");
    let mut folded = Vec::new();
    for (target, fold) in [("pitr_fold_on", "on"), ("pitr_fold_off", "off")] {
        pg.create_db(target);
        let done = common::pg::ok_json(
            run_env(
                d,
                &pg,
                &[("OFFSITE_REPLAY_FOLD", fold)],
                &[
                    "--json",
                    "restore",
                    "shop",
                    "--at",
                    &after,
                    "--to",
                    &pg.url(target),
                ],
            ),
            "restore --at",
        );
        let changes = done["replayed"]["changes"].as_u64().unwrap();
        assert!(changes > 1500, "{done}");
        folded.push((done["replayed"]["folded"].as_u64().unwrap(), changes));
        assert_eq!(
            pg.psql(target, DIGEST),
            want,
            "folding {fold}: the rows as at the time"
        );
        // A trigger enabled ALWAYS fires on replay too: once per change, as in the sequence
        // (its table is not folded), so its uncaptured table gets a row per change.
        assert_eq!(
            pg.psql(target, FIRED),
            pg.psql(db, FIRED),
            "folding {fold}: the ALWAYS trigger fired once per change"
        );
        // The next identity value is past every one the replay inserted.
        let next = pg.psql(
            target,
            "INSERT INTO public.acc (email, n) VALUES ('after', 0) RETURNING id",
        );
        assert!(next.trim().parse::<i64>().unwrap() > 320, "{next}");
    }
    // Many changes went folded (not: the ALWAYS trigger's table, key changes, the truncate,
    // and the batches the target refused set-based — 791 of 1,902 when written); none when
    // folding is off.
    assert!(folded[0].0 * 3 > folded[0].1, "folded: {folded:?}");
    assert_eq!(folded[1].0, 0, "folded: {folded:?}");
}
