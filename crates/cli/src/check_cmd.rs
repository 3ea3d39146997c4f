//! `offsite check add | list | remove`: a project's own validation queries, which every restore
//! drill runs on its restored copy (one query, one value, an expectation such as `>= 1000` or
//! `within 26h`).

use crate::output::Out;
use clap::Subcommand;
use offsite_core::catalog::ValidationCheck;
use offsite_core::{Engine, Result};
use serde_json::json;

#[derive(Subcommand)]
pub enum CheckCmd {
    /// Add a validation query: one read-only query returning one value, and what the value must
    /// be (= != < <= > >= NUMBER, between A and B, within 26h|2d|90m|1w of the backup's time,
    /// is [not] null, is true|false).
    #[command(
        after_help = "Examples:\n  offsite check add shop --sql \"select count(*) from auth.users\" --expect \">= 1000\"\n  offsite check add shop --sql \"select max(created_at) from orders\" --expect \"within 26h\" --title \"orders are fresh\""
    )]
    Add {
        /// The project (see `offsite project list`).
        name: String,
        /// The query: one statement returning one row with one column.
        #[arg(long, value_name = "SQL")]
        sql: String,
        /// What its value must satisfy, e.g. ">= 1000", "within 26h", "is not null".
        #[arg(long, value_name = "EXPECTATION")]
        expect: String,
        /// What the drill report calls it (default: the query).
        #[arg(long, value_name = "TEXT")]
        title: Option<String>,
    },
    /// List a project's validation queries, in the order a drill runs them.
    #[command(
        after_help = "Examples:\n  offsite check list shop\n  offsite check list shop --json"
    )]
    List {
        /// The project (see `offsite project list`).
        name: String,
    },
    /// Remove a validation query (its id from `check list`, or a unique start of it).
    #[command(after_help = "Examples:\n  offsite check remove shop 3f2a9c1e")]
    Remove {
        /// The project (see `offsite project list`).
        name: String,
        /// The check's id (or a unique start of it, at least 4 characters).
        id: String,
    },
}

fn line(c: &ValidationCheck) -> String {
    let sql = c.sql.split_whitespace().collect::<Vec<_>>().join(" ");
    match &c.title {
        Some(t) => format!("{}  {}  [{t}]  {sql}", c.id, c.expect),
        None => format!("{}  {}  {sql}", c.id, c.expect),
    }
}

pub async fn check(engine: &Engine, cmd: CheckCmd, out: &Out) -> Result<u8> {
    match cmd {
        CheckCmd::Add {
            name,
            sql,
            expect,
            title,
        } => {
            let c = engine
                .add_validation_check(&name, title.as_deref(), &sql, &expect)
                .await?;
            if out.json() {
                out.emit(&json!({ "check": c }));
            } else {
                println!("added check {}: {}", c.id, c.expect);
            }
        }
        CheckCmd::List { name } => {
            let checks = engine.validation_checks(&name).await?;
            if out.json() {
                out.emit(&json!({ "checks": checks }));
            } else if checks.is_empty() {
                println!("{name} has no validation queries (add one with `offsite check add {name} --sql … --expect …`)");
            } else {
                for c in &checks {
                    println!("{}", line(c));
                }
            }
        }
        CheckCmd::Remove { name, id } => {
            let c = engine.remove_validation_check(&name, &id).await?;
            if out.json() {
                out.emit(&json!({ "removed": c }));
            } else {
                println!("removed check {}", c.id);
            }
        }
    }
    Ok(0)
}
