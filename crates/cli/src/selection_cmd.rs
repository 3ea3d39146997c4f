//! What a selective backup holds, as flags: `offsite project set-selection` (the project's, for
//! every backup and schedule) and `offsite backup` (one run). The engine parses and checks the
//! names ([`offsite_core::selection`]); here they are only collected and shown.

use crate::output::Out;
use crate::shown;
use clap::Args;
use offsite_core::selection::BackupSelection;
use offsite_core::{Engine, Result};

/// The flags of a selection (each may be repeated).
#[derive(Args, Debug, Default, Clone)]
pub struct SelectionArgs {
    /// Only this schema (repeatable; pg_dump --schema). Not with --table.
    #[arg(long = "schema", value_name = "SCHEMA")]
    pub schemas: Vec<String>,
    /// Leave this schema out (repeatable; pg_dump --exclude-schema).
    #[arg(long = "exclude-schema", value_name = "SCHEMA")]
    pub exclude_schemas: Vec<String>,
    /// Only this table, SCHEMA.TABLE (repeatable; pg_dump --table: nothing else of the
    /// database, no functions or types). Not with --schema/--exclude-schema.
    #[arg(long = "table", value_name = "SCHEMA.TABLE")]
    pub tables: Vec<String>,
    /// Leave this table out, SCHEMA.TABLE (repeatable; pg_dump --exclude-table).
    #[arg(long = "exclude-table", value_name = "SCHEMA.TABLE")]
    pub exclude_tables: Vec<String>,
    /// Keep this table without its rows, SCHEMA.TABLE (repeatable; restored empty; pg_dump
    /// --exclude-table-data). Names are exact, not patterns: double-quote a name with capitals
    /// or other characters ('public."Audit Log"').
    #[arg(long = "exclude-table-data", value_name = "SCHEMA.TABLE")]
    pub exclude_table_data: Vec<String>,
}

impl SelectionArgs {
    /// Whether any flag was given.
    pub fn given(&self) -> bool {
        !(self.schemas.is_empty()
            && self.exclude_schemas.is_empty()
            && self.tables.is_empty()
            && self.exclude_tables.is_empty()
            && self.exclude_table_data.is_empty())
    }

    /// The selection the flags name, parsed and checked by the engine's rules.
    pub fn parse(&self) -> Result<BackupSelection> {
        BackupSelection::parse(
            &self.schemas,
            &self.exclude_schemas,
            &self.tables,
            &self.exclude_tables,
            &self.exclude_table_data,
        )
    }

    /// The run's own selection when a flag was given (`None`: the project's).
    pub fn for_run(&self) -> Result<Option<BackupSelection>> {
        self.given().then(|| self.parse()).transpose()
    }
}

/// `offsite project set-selection NAME [flags] [--clear]`: without flags (and without --clear)
/// show it; with flags replace it; --clear backs up the whole database again.
pub async fn run(
    engine: &Engine,
    name: &str,
    args: &SelectionArgs,
    clear: bool,
    out: &Out,
) -> Result<()> {
    if clear && args.given() {
        return Err(offsite_core::Error::invalid(
            "--clear backs up the whole database: give it without the other flags",
        ));
    }
    let selection = if clear {
        engine
            .set_selection(name, BackupSelection::default())
            .await?
    } else if args.given() {
        engine.set_selection(name, args.parse()?).await?
    } else {
        engine.selection(name).await?
    };
    if out.json() {
        out.emit(&serde_json::json!({ "project": name, "selection": selection }));
    } else {
        for line in lines(&selection) {
            println!("{line}");
        }
    }
    Ok(())
}

/// `selection:  whole database`, or one line per choice, safe for a terminal (a manifest's
/// selection is text from an archive).
pub fn lines(selection: &BackupSelection) -> Vec<String> {
    let mut out = Vec::new();
    if selection.is_empty() {
        out.push("selection:   whole database".to_string());
    }
    for (i, line) in selection.lines().iter().enumerate() {
        let head = if i == 0 { "selection:" } else { "" };
        out.push(format!("{head:<13}{}", shown::text(line)));
    }
    out
}
