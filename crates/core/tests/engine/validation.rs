//! A project's validation queries: saved only when they read (`check add`), run by a drill on a
//! real PostgreSQL database (`drill::queries::run_validation`).

use crate::common::env;
use offsite_core::drill::queries::{run_validation, run_validation_with};
use offsite_core::drill::CheckStatus;
use offsite_core::{AddProject, ErrorKind};
use offsite_testkit::TestCluster;
use sqlx::Connection;
use std::time::Duration;
use time::macros::datetime;

const SHOP: &str = "create table users (id int primary key);
insert into users select generate_series(1, 3);
create table orders (id int, created_at timestamptz);
insert into orders values (1, '2024-04-20 08:00+00'), (2, '2024-05-01 22:00+00');";

#[tokio::test]
async fn validation_queries_pass_fail_and_measure_freshness_on_a_real_database() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("validate");
    pg.psql(&db, SHOP);
    let env = env().await;
    env.engine
        .add_project(AddProject::url("shop", pg.url_with_password(&db)))
        .await
        .unwrap();
    let add = |title: Option<&'static str>, sql: &'static str, expect: &'static str| {
        let engine = env.engine.clone();
        async move {
            engine
                .add_validation_check("shop", title, sql, expect)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        }
    };
    let holds = add(Some("users"), "select count(*) from users", ">= 3").await;
    let no_longer = add(None, "select count(*) from users;", ">= 1000").await;
    let fresh = add(None, "select max(created_at) from orders", "within 26h").await;
    let stale = add(None, "select max(created_at) from orders", "within 2h").await;
    let two_rows = add(None, "select id from users", "> 0").await;
    let two_cols = add(None, "select 1, 2", "> 0").await;
    let writes = add(None, "select count(*) from (select nextval('s')) x", "> 0").await;
    let broken = add(None, "select count(*) from no_such_table", "> 0").await;
    let slow = add(None, "select pg_sleep(5)::text", "is not null").await;
    let after_slow = add(None, "select 'x'::text", "is not null").await;
    pg.psql(&db, "create sequence s");

    let checks = env.engine.validation_checks("shop").await.unwrap();
    assert_eq!(checks.len(), 10);
    let mut conn = sqlx::PgConnection::connect(&pg.url_with_password(&db))
        .await
        .unwrap();
    let backup_at = datetime!(2024-05-02 10:00 UTC);
    let (results, rpo) =
        run_validation_with(&mut conn, &checks, backup_at, Duration::from_secs(1)).await;
    let by = |c: &offsite_core::catalog::ValidationCheck| {
        results
            .iter()
            .find(|r| r.id == format!("query:{}", c.id))
            .unwrap_or_else(|| panic!("no result for {}", c.sql))
            .clone()
    };
    let r = by(&holds);
    assert_eq!(r.status, CheckStatus::Passed, "{r:?}");
    assert_eq!(r.title, "users");
    assert_eq!(
        (r.expected.as_deref(), r.actual.as_deref()),
        (Some(">= 3"), Some("3"))
    );
    let r = by(&no_longer);
    assert_eq!(r.status, CheckStatus::Failed, "{r:?}");
    assert_eq!(r.title, "Query: select count(*) from users;");
    assert_eq!(
        (r.expected.as_deref(), r.actual.as_deref()),
        (Some(">= 1000"), Some("3"))
    );
    let r = by(&fresh);
    assert_eq!(r.status, CheckStatus::Passed, "{r:?}");
    assert_eq!(
        r.actual.as_deref(),
        Some("2024-05-01T22:00:00.000Z (12.0 h before the backup)")
    );
    let r = by(&stale);
    assert_eq!(r.status, CheckStatus::Failed, "{r:?}");
    assert!(
        r.detail.as_deref().unwrap().contains("12.0 h older"),
        "{r:?}"
    );
    assert_eq!(
        rpo,
        Some(12.0),
        "the age of the newest row at the backup's time"
    );
    for (c, why) in [
        (&two_rows, "more than one row"),
        (&two_cols, "2 columns"),
        (&writes, "read-only transaction"),
        (&broken, "no_such_table"),
        (&slow, "statement timeout"),
    ] {
        let r = by(c);
        assert_eq!(r.status, CheckStatus::Failed, "{r:?}");
        assert!(r.detail.as_deref().unwrap().contains(why), "{why}: {r:?}");
    }
    let r = by(&after_slow);
    assert_eq!(
        r.status,
        CheckStatus::Passed,
        "a failed query leaves the next one runnable: {r:?}"
    );
    // Nothing the queries did stayed: the sequence was never advanced.
    assert_eq!(pg.psql(&db, "select last_value from s").trim(), "1");
    assert_eq!(pg.psql(&db, "select is_called from s").trim(), "f");

    // The default timeout is the long one; the good queries pass with it too.
    let (results, _) = run_validation(&mut conn, &checks[..1], backup_at).await;
    assert_eq!(results[0].status, CheckStatus::Passed);
}

#[tokio::test]
async fn a_malformed_expectation_or_a_second_statement_is_refused_at_check_add() {
    let env = env().await;
    env.engine
        .add_project(AddProject::url(
            "shop",
            "postgres://postgres@127.0.0.1:1/shop".to_string(),
        ))
        .await
        .unwrap();
    for (sql, expect, says) in [
        ("select count(*) from users", ">= many", "expectation"),
        ("select count(*) from users", "count >= 5", "expectation"),
        (
            "select count(*) from users",
            "within 26 years",
            "expectation",
        ),
        (
            "select 1; drop table users",
            ">= 1",
            "more than one statement",
        ),
        ("select 1 \\gexec", ">= 1", "validation query"),
        ("  ", ">= 1", "is empty"),
    ] {
        let e = env
            .engine
            .add_validation_check("shop", None, sql, expect)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{sql} / {expect}");
        assert!(e.message().contains(says), "{says}: {e}");
    }
    assert!(env
        .engine
        .validation_checks("shop")
        .await
        .unwrap()
        .is_empty());
    let c = env
        .engine
        .add_validation_check("shop", Some("recent"), "select now()", "WITHIN 2 days")
        .await
        .unwrap();
    assert_eq!(c.expect, "within 2d", "stored in its canonical text");
    let e = env
        .engine
        .add_validation_check("nope", None, "select 1", "= 1")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = env
        .engine
        .remove_validation_check("shop", "abc")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let removed = env
        .engine
        .remove_validation_check("shop", &c.id[..8])
        .await
        .unwrap();
    assert_eq!(removed.id, c.id);
    assert!(env
        .engine
        .validation_checks("shop")
        .await
        .unwrap()
        .is_empty());
}
