//! `offsite tenant add|show|list|remove`: a project's tenant roots (the engine checks them
//! against the project's database and walks the foreign keys; this prints the result).

use crate::output::Out;
use crate::shown;
use clap::Subcommand;
use offsite_core::ops::tenants::TenantDetail;
use offsite_core::{Engine, Result};

#[derive(Subcommand)]
pub enum TenantCmd {
    /// Name a tenant root: a table and its key column (its primary key, or a unique NOT NULL
    /// column); one value of the key is one tenant. Checked against the project's database.
    #[command(
        after_help = "Examples:\n  offsite tenant add shop orgs --table public.organizations --key id\n  offsite tenant add shop orgs --table public.organizations --key id --member-writes 'public.tasks(assignee)'\n  offsite tenant add shop teams --table 'app.\"Team.Accounts\"' --key team_id --json"
    )]
    Add {
        /// The project.
        project: String,
        /// The tenant's name (letters, digits, - and _; it names a folder too).
        name: String,
        /// The root table, SCHEMA.TABLE (quote a part holding dots or capitals).
        #[arg(long, value_name = "SCHEMA.TABLE")]
        table: String,
        /// The root's key column.
        #[arg(long, value_name = "COLUMN")]
        key: String,
        /// A foreign key whose value the tenant's members can choose (SCHEMA.TABLE(COLUMN), its
        /// referencing columns): a row reached only through it is left out of the tenant's
        /// archives and counted. Repeat for each.
        #[arg(long = "member-writes", value_name = "SCHEMA.TABLE(COLUMN)")]
        member_writes: Vec<String>,
    },
    /// Show a tenant: the tables reached from its root through foreign keys (with the path),
    /// the tables they reference, and the tables not reached.
    #[command(
        after_help = "Examples:\n  offsite tenant show shop orgs\n  offsite tenant show shop orgs --json"
    )]
    Show {
        /// The project.
        project: String,
        /// The tenant.
        name: String,
    },
    /// List a project's tenants.
    #[command(after_help = "Examples:\n  offsite tenant list shop")]
    List {
        /// The project.
        project: String,
    },
    /// Forget a tenant (its backups stay).
    #[command(after_help = "Examples:\n  offsite tenant remove shop orgs")]
    Remove {
        /// The project.
        project: String,
        /// The tenant.
        name: String,
    },
}

pub async fn tenant(engine: &Engine, cmd: TenantCmd, out: &Out) -> Result<u8> {
    match cmd {
        TenantCmd::Add {
            project,
            name,
            table,
            key,
            member_writes,
        } => {
            let d = engine
                .tenant_add_with(&project, &name, &table, &key, &member_writes)
                .await?;
            show(out, &d);
        }
        TenantCmd::Show { project, name } => show(out, &engine.tenant_show(&project, &name).await?),
        TenantCmd::List { project } => {
            let ts = engine.tenants(&project).await?;
            if out.json() {
                out.emit(&ts);
            } else if ts.is_empty() {
                println!("{project} has no tenants (offsite tenant add {project} NAME --table SCHEMA.TABLE --key COLUMN)");
            } else {
                for t in ts {
                    println!(
                        "{}\t{}({})",
                        t.name,
                        shown::table(&t.schema, &t.table),
                        shown::ident(&t.key)
                    );
                }
            }
        }
        TenantCmd::Remove { project, name } => {
            engine.tenant_remove(&project, &name).await?;
            out.done(&format!("removed tenant {name} of {project}"));
        }
    }
    Ok(0)
}

fn show(out: &Out, d: &TenantDetail) {
    if out.json() {
        out.emit(d);
        return;
    }
    let s = &d.shape;
    println!(
        "tenant {}: {} ({})",
        d.tenant.name,
        s.root.label(),
        s.root.key
    );
    for m in &d.tenant.member_writes {
        println!(
            "members write {}: rows reached only through it are left out of its archives",
            shown::text(&m.label())
        );
    }
    println!("reached ({}):", s.reached.len());
    for t in &s.reached {
        if t.path.is_empty() {
            println!("  {}  (root)", shown::table(&t.schema, &t.table));
        } else {
            println!(
                "  {}  via {}",
                shown::table(&t.schema, &t.table),
                shown::text(&t.path.join(" ← "))
            );
        }
    }
    if !s.referenced.is_empty() {
        println!(
            "referenced, only the rows the tenant's rows point at ({}):",
            s.referenced.len()
        );
        for t in &s.referenced {
            println!(
                "  {}  via {}",
                shown::table(&t.schema, &t.table),
                shown::text(&t.path.join(", "))
            );
        }
    }
    println!("not reached ({}):", s.not_reached.len());
    for t in &s.not_reached {
        println!("  {}", shown::text(t));
    }
}

/// `offsite backup PROJECT --tenant NAME[=VALUE]`: one archive per tenant value.
pub async fn backup(
    engine: &Engine,
    project: &str,
    given: &str,
    out: &Out,
    job: offsite_core::ops::job::JobStart,
) -> Result<u8> {
    let (name, value) = match given.split_once('=') {
        Some((n, v)) => (n, Some(v.to_string())),
        None => (given, None),
    };
    let o = engine.tenant_backup(project, name, value, job).await?;
    if out.json() {
        out.emit(&o);
        return Ok(0);
    }
    if o.backups.is_empty() {
        println!("tenant {name}: the backup has no tenant rows; nothing written");
    }
    for b in &o.backups {
        let rows: u64 = b.dump.tables.iter().map(|t| t.rows).sum();
        println!(
            "{}\t{} rows in {} tables\tisolation: {} rows checked, {} outside\t{}",
            shown::text(&b.value),
            rows,
            b.dump.tables.len(),
            b.dump.rows_checked,
            b.dump.outside,
            shown::text(&b.backup.path)
        );
        for t in &b.dump.left_out {
            println!(
                "  left out: {} row(s) of {} reached only through a key the tenant's members set",
                t.rows,
                shown::text(&t.table)
            );
        }
    }
    Ok(0)
}
