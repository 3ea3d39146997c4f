//! Every part of a project, listed once: where it lives, whether Offsite captures it, restores
//! it, and how it checks it. [`PARTS`] is the one table: `offsite project parts NAME` shows it for
//! one project (`ops::parts` says which rows apply to it), and `docs/supabase.md`'s coverage table
//! is [`markdown_table`] (a test fails when the two differ; `OFFSITE_UPDATE_DOCS=1` rewrites it).
//!
//! Each row says what the code does today, and what it does not: a part the platform does not
//! hand out (a function secret's value) is [`Coverage::NotExposed`], not "no".

use serde::Serialize;

/// How much of a part Offsite captures or restores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Coverage {
    Yes,
    /// Some of it (the row's text says what is left).
    Partly,
    No,
    /// The platform does not hand it out to anyone (its API or SQL answers no value).
    NotExposed,
}

impl Coverage {
    /// The word shown in tables: `yes`, `partly`, `no`, `not exposed`.
    pub fn word(self) -> &'static str {
        match self {
            Coverage::Yes => "yes",
            Coverage::Partly => "partly",
            Coverage::No => "no",
            Coverage::NotExposed => "not exposed",
        }
    }
}

/// Which component of a project a part comes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Needs {
    /// The database: every project, Supabase or plain PostgreSQL.
    Database,
    /// The database of a Supabase project (schemas and extensions Supabase makes).
    SupabaseDatabase,
    /// The project's storage (S3-compatible; Supabase Storage or any other).
    Storage,
    /// The Supabase Management API (the project's ref and an access token).
    ManagementApi,
}

/// One part of a project.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Part {
    /// A stable id (`auth-users`).
    pub id: &'static str,
    pub name: &'static str,
    /// Where it lives (a table, a schema, an API path).
    pub source: &'static str,
    pub needs: Needs,
    pub captured: Coverage,
    /// How it is captured, or why not.
    pub capture: &'static str,
    pub restored: Coverage,
    /// How it is restored, or why not.
    pub restore: &'static str,
    /// How Offsite checks it.
    pub check: &'static str,
}

const DB_CHECK: &str = "verify: the archive's SHA-256 per member; the manifest's row count and \
    SHA-256 of each table's data, which a drill compares after restoring";
const EXT_TABLE_CHECK: &str = "verify: the archive's SHA-256 only (a table of an extension gets \
    no row count or digest in the manifest)";
const CONFIG_CHECK: &str = "the file's SHA-256 in the manifest; `restore --components config` \
    shows each setting that differs from the target project, and its parity report compares \
    them again after the restore";

/// Every part, in the order shown.
pub const PARTS: &[Part] = &[
    // The database.
    Part {
        id: "schemas",
        name: "Your schemas, tables and rows",
        source: "the database (public and every schema of yours)",
        needs: Needs::Database,
        captured: Coverage::Yes,
        capture: "pg_dump of the whole database (or the project's selection)",
        restored: Coverage::Yes,
        restore: "plan, consent, one transaction (`restore --components database`)",
        check: DB_CHECK,
    },
    Part {
        id: "functions-triggers-policies",
        name: "Functions, triggers, views, RLS policies",
        source: "the database",
        needs: Needs::Database,
        captured: Coverage::Yes,
        capture: "in the dump",
        restored: Coverage::Yes,
        restore: "with the database; into a fresh Supabase project, yours are added beside the \
            platform's (a policy on storage.objects, a trigger on auth.users)",
        check: "verify: the archive's SHA-256; a drill restores them and, like a restore's \
            parity report, compares every policy and trigger with the source's",
    },
    Part {
        id: "roles",
        name: "Roles",
        source: "the server's roles (pg_dumpall --roles-only)",
        needs: Needs::Database,
        captured: Coverage::Partly,
        capture: "globals.sql when the role may read it: attributes, memberships and settings, \
            never password hashes",
        restored: Coverage::Partly,
        restore: "`--create-roles` creates the roles the backup needs; passwords are set again \
            by hand (the plan lists the roles that log in)",
        check: "the plan names every role the backup needs that the target lacks",
    },
    Part {
        id: "extensions",
        name: "Extensions",
        source: "CREATE EXTENSION in the database",
        needs: Needs::Database,
        captured: Coverage::Yes,
        capture: "in the dump (the extension, not its files)",
        restored: Coverage::Partly,
        restore: "created when the target's server has the extension installed; one the target \
            already has is kept",
        check: "a drill refuses with tool_missing when its server lacks an extension the backup \
            uses",
    },
    Part {
        id: "publications",
        name: "Publications (Realtime's supabase_realtime)",
        source: "pg_publication and its tables",
        needs: Needs::Database,
        captured: Coverage::Yes,
        capture: "in the dump, with each table's membership",
        restored: Coverage::Yes,
        restore: "a publication the target has is kept and the backup's tables are added to it",
        check: "verify: the archive's SHA-256; a restore's parity report compares each \
            publication's tables with the source's",
    },
    Part {
        id: "pg-cron",
        name: "pg_cron jobs",
        source: "cron.job (pg_cron marks it for pg_dump)",
        needs: Needs::Database,
        captured: Coverage::Yes,
        capture: "cron.job's rows in the dump",
        restored: Coverage::Yes,
        restore: "rows go into the target's cron.job when the connecting role may write it \
            (replacing a database replaces its jobs); where it may only read it (Supabase's \
            `postgres`) the jobs are scheduled again through cron.schedule and cron.alter_job \
            in the restore's transaction, with their schedule, command, database and state, \
            replacing that role's own jobs; a job of another role is not (it would run with \
            other privileges) and the parity report names it; the run history stays the \
            target's",
        check: "verify: the archive's SHA-256 (cron.job, a table of the extension, gets no \
            row digest); a restore's parity report compares each job's schedule, command, role \
            and state with the source's (a drill restores the extension, its server preloading \
            pg_cron, but its role may not read the jobs)",
    },
    Part {
        id: "pgmq",
        name: "pgmq queues and their messages",
        source: "pgmq.meta, pgmq.q_<queue>, pgmq.a_<queue>",
        needs: Needs::Database,
        captured: Coverage::Partly,
        capture: "pgmq 1.6 and later: in the dump — the queue list (pgmq.meta, which pgmq marks \
            for pg_dump) and each queue's tables with their messages; before 1.6 pgmq made the \
            queue tables members of its extension, which pg_dump leaves out: the list only",
        restored: Coverage::Partly,
        restore: "pgmq 1.6 and later: the queues with their messages, when the target's server \
            has pgmq (replacing a database replaces its queues); before 1.6, create each queue \
            again with pgmq.create(name)",
        check: "the manifest's row count and SHA-256 of each queue's tables (1.6 and later), \
            which a drill compares; a restore's parity report and a drill compare the queue \
            list with the source's",
    },
    // The Supabase platform's schemas.
    Part {
        id: "auth-users",
        name: "Auth users, password hashes and identities",
        source: "auth.users, auth.identities (and auth's other tables)",
        needs: Needs::SupabaseDatabase,
        captured: Coverage::Yes,
        capture: "in the dump, hashes included",
        restored: Coverage::Yes,
        restore: "into a fresh project, the backup's rows go into the platform's empty tables \
            (a table already holding rows is kept and listed)",
        check: "the manifest's row count and SHA-256 of each table, which a drill and a \
            restore's parity report compare with the restored rows",
    },
    Part {
        id: "storage-schema",
        name: "Storage buckets and object rows, with their policies",
        source: "storage.buckets, storage.objects",
        needs: Needs::SupabaseDatabase,
        captured: Coverage::Yes,
        capture: "in the dump: buckets' settings (public, size limit, MIME types), object rows, \
            your policies",
        restored: Coverage::Yes,
        restore: "with the database, as for auth; the files come with storage",
        check: "the manifest's row count and SHA-256 of each table, which a drill and a \
            restore's parity report compare with the restored rows; the parity report also \
            compares the policies",
    },
    Part {
        id: "webhooks",
        name: "Database webhooks",
        source: "supabase_functions.hooks and the triggers on your tables that call \
            supabase_functions.http_request (pg_net)",
        needs: Needs::SupabaseDatabase,
        captured: Coverage::Yes,
        capture: "in the dump (the triggers with your tables)",
        restored: Coverage::Partly,
        restore:
            "the triggers come with your tables; they call the target's pg_net, which must be \
            enabled there (tested against the platform's webhook schema as Supabase documents it, \
            without pg_net, which is not on the test machines: the triggers and the hooks' \
            rows come across and compare)",
        check: "verify: the archive's SHA-256; a restore's parity report compares the \
            hooks' rows and the triggers that call them with the source's",
    },
    Part {
        id: "vault",
        name: "Vault secrets",
        source: "vault.secrets (encrypted with the project's root key)",
        needs: Needs::SupabaseDatabase,
        captured: Coverage::Yes,
        capture: "the encrypted rows, in the dump (the root key that decrypts them is its own \
            part)",
        restored: Coverage::Partly,
        restore: "the rows come back; they decrypt in the project they came from, or in another \
            project once its root key is set to the backup's (an encrypted backup's, when the \
            restore is asked to)",
        check: EXT_TABLE_CHECK,
    },
    Part {
        id: "vault-root-key",
        name: "Vault's root key",
        source: "GET /v1/projects/{ref}/pgsodium → config/supabase/vault-root-key.json",
        needs: Needs::ManagementApi,
        captured: Coverage::Partly,
        capture: "in encrypted backups only; an unencrypted backup never asks for it and \
            records why it lacks it",
        restored: Coverage::Yes,
        restore: "set in another project (PUT, same path) before the database is restored, when \
            asked (`--vault-key`; the app's review asks): it replaces that project's own key",
        check: "the restore's plan and its parity report compare the backup's key with the \
            target's (the same, or not), never showing either",
    },
    // Storage.
    Part {
        id: "storage-objects",
        name: "Storage objects (the files)",
        source: "the S3 endpoint (Supabase: <ref>.storage.supabase.co/storage/v1/s3)",
        needs: Needs::Storage,
        captured: Coverage::Yes,
        capture: "every object of the chosen buckets with its content type, cache control and \
            metadata; incrementals hold what changed; with point-in-time capture, each version \
            its storage.objects rows name, kept as the rows are captured (an agent's kept \
            versions brought here by `offsite pull`)",
        restored: Coverage::Yes,
        restore: "`--components storage`: into a project's store (missing buckets created) or a \
            folder; `--mirror` deletes what the backup lacks; `restore --at TIME` with the \
            database: the objects as the rows restored say at TIME",
        check: "verify: each object's SHA-256 and size against storage.json; a drill samples \
            objects; a restore's parity report compares every key, size and checksum with the \
            target's",
    },
    // The Management API.
    Part {
        id: "project",
        name: "The project (name, region, Postgres version)",
        source: "GET /v1/projects/{ref} → config/supabase/project.json",
        needs: Needs::ManagementApi,
        captured: Coverage::Yes,
        capture: "as answered",
        restored: Coverage::No,
        restore: "a record: create the new project by hand with the same region and version",
        check: CONFIG_CHECK,
    },
    Part {
        id: "auth-config",
        name: "Auth settings (providers, SMTP, hooks, MFA)",
        source: "GET /v1/projects/{ref}/config/auth → config/supabase/auth.json",
        needs: Needs::ManagementApi,
        captured: Coverage::Yes,
        capture: "as answered; secret fields (smtp_pass, external_*_secret, …) only in an \
            encrypted archive, redacted otherwise",
        restored: Coverage::Yes,
        restore: "`--config-settings`: every setting the API takes, by PATCH; never a redacted \
            value",
        check: CONFIG_CHECK,
    },
    Part {
        id: "postgrest-config",
        name: "Data API (PostgREST) settings",
        source: "GET /v1/projects/{ref}/postgrest → config/supabase/postgrest.json",
        needs: Needs::ManagementApi,
        captured: Coverage::Yes,
        capture: "as answered (jwt_secret redacted unless encrypted)",
        restored: Coverage::Partly,
        restore: "`--config-settings`: db_schema, max_rows, db_extra_search_path, db_pool",
        check: CONFIG_CHECK,
    },
    Part {
        id: "storage-config",
        name: "Storage settings",
        source: "GET /v1/projects/{ref}/config/storage → config/supabase/storage.json",
        needs: Needs::ManagementApi,
        captured: Coverage::Yes,
        capture: "as answered",
        restored: Coverage::Partly,
        restore: "`--config-settings`: fileSizeLimit, features, external",
        check: CONFIG_CHECK,
    },
    Part {
        id: "realtime-config",
        name: "Realtime settings",
        source: "GET /v1/projects/{ref}/config/realtime → config/supabase/realtime.json",
        needs: Needs::ManagementApi,
        captured: Coverage::Yes,
        capture: "as answered",
        restored: Coverage::Yes,
        restore: "`--config-settings`: the limits, private_only, presence, suspend",
        check: CONFIG_CHECK,
    },
    Part {
        id: "pooler-config",
        name: "Connection pooler (Supavisor)",
        source: "GET /v1/projects/{ref}/config/database/pooler → config/supabase/pooler.json",
        needs: Needs::ManagementApi,
        captured: Coverage::Yes,
        capture: "as answered",
        restored: Coverage::No,
        restore: "shown, not written back (set it in the dashboard)",
        check: CONFIG_CHECK,
    },
    Part {
        id: "postgres-config",
        name: "Postgres settings",
        source: "GET /v1/projects/{ref}/config/database/postgres → config/supabase/postgres.json",
        needs: Needs::ManagementApi,
        captured: Coverage::Yes,
        capture: "as answered",
        restored: Coverage::No,
        restore: "shown, not written back: writing them may restart the database",
        check: CONFIG_CHECK,
    },
    Part {
        id: "network-restrictions",
        name: "Network restrictions",
        source: "GET /v1/projects/{ref}/network-restrictions → \
            config/supabase/network-restrictions.json",
        needs: Needs::ManagementApi,
        captured: Coverage::Yes,
        capture: "as answered",
        restored: Coverage::No,
        restore: "shown, not written back",
        check: CONFIG_CHECK,
    },
    Part {
        id: "ssl-enforcement",
        name: "SSL enforcement",
        source: "GET /v1/projects/{ref}/ssl-enforcement → config/supabase/ssl-enforcement.json",
        needs: Needs::ManagementApi,
        captured: Coverage::Yes,
        capture: "as answered",
        restored: Coverage::No,
        restore: "shown, not written back",
        check: CONFIG_CHECK,
    },
    Part {
        id: "sso-providers",
        name: "SSO (SAML) providers",
        source: "GET /v1/projects/{ref}/config/auth/sso/providers → \
            config/supabase/sso-providers.json",
        needs: Needs::ManagementApi,
        captured: Coverage::Yes,
        capture: "as answered (a project without SAML: recorded as missing)",
        restored: Coverage::No,
        restore: "shown, not written back",
        check: CONFIG_CHECK,
    },
    Part {
        id: "third-party-auth",
        name: "Third-party auth",
        source: "GET /v1/projects/{ref}/config/auth/third-party-auth → \
            config/supabase/third-party-auth.json",
        needs: Needs::ManagementApi,
        captured: Coverage::Yes,
        capture: "as answered",
        restored: Coverage::No,
        restore: "shown, not written back",
        check: CONFIG_CHECK,
    },
    Part {
        id: "edge-functions",
        name: "Edge Functions and their deployed bundles",
        source: "GET /v1/projects/{ref}/functions (and each one's metadata and body) → \
            config/supabase/functions.json, config/supabase/functions/<slug>/",
        needs: Needs::ManagementApi,
        captured: Coverage::Yes,
        capture: "each function's settings and its eszip bundle as deployed",
        restored: Coverage::Yes,
        restore: "`--functions SLUG,…` or `--functions all`: deployed again (created or updated)",
        check: "the plan and the restore's parity report compare each function's bundle \
            SHA-256 and settings (verify_jwt, entry point, import map) with the target's",
    },
    Part {
        id: "function-secrets",
        name: "Edge Function secrets",
        source: "GET /v1/projects/{ref}/secrets → config/supabase/secrets.json",
        needs: Needs::ManagementApi,
        captured: Coverage::Partly,
        capture: "names and SHA-256 digests only",
        restored: Coverage::No,
        restore: "set them again (`supabase secrets set`); the names are in the backup",
        check: "a restore's parity report names each secret to enter again in the target (by \
            name and digest)",
    },
    Part {
        id: "function-secret-values",
        name: "Edge Function secrets' values",
        source: "none: the API answers digests, never values",
        needs: Needs::ManagementApi,
        captured: Coverage::NotExposed,
        capture: "the platform does not hand them out",
        restored: Coverage::NotExposed,
        restore: "keep them where you keep your other secrets",
        check: "none",
    },
    Part {
        id: "api-keys",
        name: "API keys and the JWT secret",
        source: "GET /v1/projects/{ref}/api-keys",
        needs: Needs::ManagementApi,
        captured: Coverage::No,
        capture: "not fetched: a new project has its own keys",
        restored: Coverage::No,
        restore: "give your applications the new project's URL and keys",
        check: "none",
    },
];

/// The part with id `id`.
pub fn part(id: &str) -> Option<&'static Part> {
    PARTS.iter().find(|p| p.id == id)
}

/// The coverage table as it stands in `docs/supabase.md` (between its `parts` markers).
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| part | where it lives | captured | restored | checked |\n|---|---|---|---|---|\n",
    );
    for p in PARTS {
        out.push_str(&format!(
            "| {} | {} | **{}**: {} | **{}**: {} | {} |\n",
            md(p.name),
            md(p.source),
            p.captured.word(),
            md(p.capture),
            p.restored.word(),
            md(p.restore),
            md(p.check)
        ));
    }
    out
}

/// `text` for a Markdown cell: outside `code spans`, `<`, `>` and `*` are written so that they
/// show as themselves (not as HTML or emphasis).
fn md(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(i, piece)| {
            if i % 2 == 1 {
                return piece.to_string();
            }
            piece
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('*', "\\*")
        })
        .collect::<Vec<_>>()
        .join("`")
}

/// The marker lines around the table in `docs/supabase.md`.
pub const DOC_BEGIN: &str = "<!-- parts table: generated from crates/core/src/parts.rs -->";
pub const DOC_END: &str = "<!-- end of the parts table -->";

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::Path;

    #[test]
    fn ids_are_unique_and_texts_fit_a_table() {
        let mut ids = BTreeSet::new();
        for p in PARTS {
            assert!(ids.insert(p.id), "two parts are {}", p.id);
            for text in [p.name, p.source, p.capture, p.restore, p.check] {
                assert!(!text.is_empty(), "{}: an empty cell", p.id);
                assert!(
                    !text.contains('|') && !text.contains('\n') && !text.contains("  "),
                    "{}: {text:?} breaks the table",
                    p.id
                );
            }
        }
        assert_eq!(part("vault").unwrap().name, "Vault secrets");
        assert_eq!(
            md("pgmq.q_<queue>, external_*_secret, `a <b> *c`"),
            "pgmq.q_&lt;queue&gt;, external_\\*_secret, `a <b> *c`"
        );
        assert!(part("nothing").is_none());
    }

    /// Every file `config` fetches is one part's source: a new endpoint gets its row here.
    #[test]
    fn every_configuration_file_is_a_part() {
        use crate::config::{FUNCTIONS, PROJECT, SECRETS, SETTINGS};
        for ep in std::iter::once(&PROJECT)
            .chain(SETTINGS)
            .chain([&FUNCTIONS, &SECRETS])
        {
            let file = format!("config/{}", ep.file);
            let p = PARTS
                .iter()
                .find(|p| p.source.contains(&file))
                .unwrap_or_else(|| panic!("no part names {file}: add its row to PARTS"));
            assert_eq!(p.needs, Needs::ManagementApi, "{}", p.id);
            assert!(
                p.source.contains(&format!("GET {} ", ep.path)),
                "{}: the source should name GET {}",
                p.id,
                ep.path
            );
            // What the API takes back is said as restored; what it does not, as not (functions
            // go back by deploying, not by PATCH).
            let writable =
                !matches!(ep.writable, crate::config::Writable::No) || ep.file == FUNCTIONS.file;
            assert_eq!(
                writable,
                matches!(p.restored, Coverage::Yes | Coverage::Partly),
                "{}: restored is {:?} but the endpoint's writable is {:?}",
                p.id,
                p.restored,
                ep.writable
            );
        }
    }

    /// `docs/supabase.md`'s coverage table is this module's table. After changing [`PARTS`]:
    /// `OFFSITE_UPDATE_DOCS=1 cargo test -p offsite-core --lib parts::` rewrites it.
    #[test]
    fn docs_supabase_md_holds_this_table() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/supabase.md");
        let doc = std::fs::read_to_string(&path).expect("docs/supabase.md");
        let (before, rest) = doc
            .split_once(&format!("{DOC_BEGIN}\n"))
            .expect("docs/supabase.md has the table's first marker");
        let (table, after) = rest
            .split_once(DOC_END)
            .expect("docs/supabase.md has the table's end marker");
        let want = markdown_table();
        if table != want && std::env::var_os("OFFSITE_UPDATE_DOCS").is_some() {
            std::fs::write(
                &path,
                format!("{before}{DOC_BEGIN}\n{want}{DOC_END}{after}"),
            )
            .unwrap();
            return;
        }
        assert_eq!(
            table, want,
            "docs/supabase.md's coverage table differs from crates/core/src/parts.rs: run \
             OFFSITE_UPDATE_DOCS=1 cargo test -p offsite-core --lib parts::"
        );
    }
}
