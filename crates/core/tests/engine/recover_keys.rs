//! Rows ticked one by one (issue 64): Browse names each row of a page by the dump's primary key
//! (`RowPage::key`, `row_keys`), and `recover` takes those keys (`RecoverRows::keys`) — under
//! any filter, not only `COLUMN=VALUE` — on a real cluster; hostile keys are refused by name
//! with nothing written.

use crate::common::*;
use crate::recover::FIXTURE;
use offsite_core::browse::{ColumnEquals, RowFilter};
use offsite_core::ops::recover::RecoverRequest;
use offsite_core::recover::{OnConflict, RecoverRows, RowKeys, MAX_CHOSEN_ROWS};
use offsite_core::{ErrorKind, JobStart};
use offsite_testkit::TestCluster;

fn keyed(table: &str, values: &[&[&str]]) -> RecoverRows {
    RecoverRows {
        table: table.into(),
        keys: Some(RowKeys {
            columns: vec!["id".into()],
            values: values
                .iter()
                .map(|v| v.iter().map(|x| x.to_string()).collect())
                .collect(),
        }),
        ..RecoverRows::default()
    }
}

async fn recover(
    env: &Env,
    archive: &std::path::Path,
    pg: &TestCluster,
    db: &str,
    rows: RecoverRows,
    dry_run: bool,
) -> offsite_core::Result<offsite_core::recover::RecoverReport> {
    let req = RecoverRequest {
        archive: archive.display().to_string(),
        rows,
        to: target(pg, db),
        dry_run,
    };
    Ok(env
        .engine
        .recover(req, None, JobStart::default())
        .await?
        .report)
}

const TASKS: &str = "SET TimeZone = 'UTC'; SELECT t::text FROM tasks t WHERE id <> 3 ORDER BY id";
const COMMENTS: &str = "SELECT c::text FROM comments c ORDER BY id";

#[tokio::test]
async fn rows_ticked_in_browse_under_a_contains_filter_come_back_by_their_keys() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, archive) = backed_up_with(pg, &env, "recoverticked", FIXTURE).await;
    let (tasks_before, comments_before) = (pg.psql(&db, TASKS), pg.psql(&db, COMMENTS));

    // Browse names every row of a page by the dump's primary key, whole.
    let page = env
        .engine
        .browse_rows(
            &archive,
            None,
            "public",
            "tasks",
            0,
            50,
            RowFilter {
                contains: Some("task 1/".into()),
                column_equals: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.key, vec!["id".to_string()]);
    assert_eq!(page.rows.len(), 4, "{:?}", page.rows);
    assert_eq!(page.row_keys.len(), page.rows.len());
    for (row, key) in page.rows.iter().zip(&page.row_keys) {
        assert_eq!(key.as_ref().unwrap(), &vec![row[0].clone().unwrap()]);
    }
    // A table without a primary key names none: its rows are chosen by a filter.
    let log = env
        .engine
        .browse_rows(
            &archive,
            None,
            "public",
            "task_log",
            0,
            5,
            RowFilter::default(),
        )
        .await
        .unwrap();
    assert!(log.key.is_empty() && log.row_keys.is_empty(), "{log:?}");

    // Two of the page's rows (tasks 2 and 4 of project 1) and their comments are deleted.
    let ticked: Vec<Vec<String>> = vec![
        page.row_keys[1].clone().unwrap(),
        page.row_keys[3].clone().unwrap(),
    ];
    assert_eq!(ticked, vec![vec!["2".to_string()], vec!["4".to_string()]]);
    pg.psql(
        &db,
        "DELETE FROM task_log WHERE task_id IN (2, 4);
         DELETE FROM comments WHERE task_id IN (2, 4) AND parent_id IS NOT NULL AND id > 24;
         DELETE FROM comments WHERE task_id IN (2, 4) AND parent_id IS NOT NULL;
         DELETE FROM comments WHERE task_id IN (2, 4);
         DELETE FROM tasks WHERE id IN (2, 4);
         UPDATE tasks SET title = 'renamed' WHERE id = 3;",
    );
    let rows = RecoverRows {
        table: "public.tasks".into(),
        keys: Some(RowKeys {
            columns: page.key.clone(),
            values: ticked,
        }),
        children: true,
        on_conflict: OnConflict::Keep,
        key_columns: vec![offsite_core::recover::KeyColumns {
            table: Some("public.task_log".into()),
            columns: vec!["task_id".into(), "at".into()],
        }],
        ..RecoverRows::default()
    };
    let plan = recover(&env, &archive, pg, &db, rows.clone(), true)
        .await
        .unwrap();
    let tasks = plan.tables.iter().find(|t| t.table == "tasks").unwrap();
    assert_eq!(
        (tasks.rows, tasks.insert, tasks.update),
        (2, 2, 0),
        "{tasks:#?}"
    );
    let comments = plan.tables.iter().find(|t| t.table == "comments").unwrap();
    assert_eq!(comments.insert, 6, "{comments:#?}");
    recover(&env, &archive, pg, &db, rows, false).await.unwrap();
    assert_eq!(
        pg.psql(&db, TASKS),
        tasks_before,
        "the two ticked tasks are back as they were"
    );
    assert_eq!(
        pg.psql(&db, "SELECT title FROM tasks WHERE id = 3"),
        "renamed",
        "task 3 was not ticked: it keeps its new title"
    );
    assert_eq!(pg.psql(&db, COMMENTS), comments_before);
}

#[tokio::test]
async fn keys_and_a_filter_must_both_match_and_a_key_is_read_as_its_type() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, archive) = backed_up_with(pg, &env, "recoverkeysfilter", FIXTURE).await;
    pg.psql(
        &db,
        "DELETE FROM task_log; DELETE FROM comments WHERE parent_id IS NOT NULL AND id > 24;
         DELETE FROM comments WHERE parent_id IS NOT NULL; DELETE FROM comments; DELETE FROM tasks;",
    );
    // Task 5 is of project 2: the filter leaves it out. ' 02' is read as the integer 2.
    let mut rows = keyed("public.tasks", &[&[" 02"], &["5"], &["999"]]);
    rows.filters = vec![ColumnEquals {
        column: "project_id".into(),
        value: "1".into(),
    }];
    let plan = recover(&env, &archive, pg, &db, rows, true).await.unwrap();
    let tasks = plan.tables.iter().find(|t| t.table == "tasks").unwrap();
    assert_eq!((tasks.rows, tasks.insert), (1, 1), "{tasks:#?}");
    assert_eq!(tasks.sample.len(), 1);
    assert_eq!(tasks.sample[0][0].as_deref(), Some("2"));
}

#[tokio::test]
async fn hostile_keys_are_refused_by_name_with_nothing_written() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, archive) = backed_up_with(pg, &env, "recoverkeyshostile", FIXTURE).await;
    pg.psql(&db, "DELETE FROM task_log WHERE task_id = 1");
    let everything = "SELECT (SELECT string_agg(t::text, ',' ORDER BY id) FROM tasks t) || \
                      (SELECT count(*) FROM task_log)::text";
    let before = pg.psql(&db, everything);
    let with = |f: &dyn Fn(&mut RowKeys)| {
        let mut r = keyed("public.tasks", &[&["1"]]);
        f(r.keys.as_mut().unwrap());
        r
    };
    let too_many: Vec<Vec<String>> = (0..=MAX_CHOSEN_ROWS).map(|i| vec![i.to_string()]).collect();
    let cases: Vec<(RecoverRows, Vec<&str>)> = vec![
        (
            with(&|k| k.values = vec![vec!["abc".into()]]),
            vec!["id", "integer", "abc"],
        ),
        (
            with(&|k| k.columns = vec!["nope".into()]),
            vec!["nope", "tasks"],
        ),
        (with(&|k| k.columns = vec![]), vec!["no key column"]),
        (
            with(&|k| k.columns = vec!["id".into(), "id".into()]),
            vec!["twice"],
        ),
        (with(&|k| k.values = vec![]), vec!["no rows are chosen"]),
        (
            with(&|k| k.values = vec![vec!["1".into(), "2".into()]]),
            vec!["2 values", "the key has 1"],
        ),
        (
            with(&|k| k.values = too_many.clone()),
            vec!["10001 rows", "at most 10000"],
        ),
        (
            with(&|k| k.values = vec![vec!["1".repeat(70_000)]]),
            vec!["too long"],
        ),
        // A quote or a cast in a value is data, never SQL.
        (
            with(&|k| k.values = vec![vec!["1'); DROP TABLE tasks; --".into()]]),
            vec!["integer"],
        ),
    ];
    for (rows, words) in cases {
        let what = format!(
            "{:?}",
            rows.keys.as_ref().map(|k| (&k.columns, k.values.len()))
        );
        for dry_run in [true, false] {
            let e = recover(&env, &archive, pg, &db, rows.clone(), dry_run)
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{what}: {e}");
            let said = format!("{} {}", e.message(), e.hint().unwrap_or_default());
            for w in &words {
                assert!(said.contains(w), "{what}: {w:?} not in {said:?}");
            }
            assert!(said.len() < 2000, "{what}: the message holds no long value");
        }
        assert_eq!(pg.psql(&db, everything), before, "{what} wrote something");
    }
}
