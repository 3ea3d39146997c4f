//! What a superuser of a source server can plant in its catalog for the day Offsite starts a
//! server from its physical base (a restore to a time, a drill or a look inside at a time):
//! triggers and rules on the system catalogs Offsite's single-user step touches (a superuser
//! may `SET allow_system_table_mods = on` in a session since PostgreSQL 12), event triggers on
//! every event, and settings of every kind (all roles, one role, one database, one role in one
//! database). Each hook, when it runs in a server reached by no TCP connection (a throwaway
//! server's socket, or single-user mode), adds a row to `public.hook_marker`: a restored
//! database with a row there ran a hook.

/// The table the hooks write to.
pub const MARKER: &str = "public.hook_marker";

/// The SQL (run as a superuser in database `db`) that plants every hook; `role`: a role of the
/// source that gets settings of its own.
pub fn plant(db: &str, role: &str) -> String {
    plant_on(15, db, role)
}

/// [`plant`] for a server of PostgreSQL `major`: before 12, `allow_system_table_mods` is set
/// only at a server's start, so the triggers and rules on the catalogs are left out (the event
/// triggers and the settings are planted on every major).
pub fn plant_on(major: u32, db: &str, role: &str) -> String {
    let catalogs = [
        "pg_db_role_setting",
        "pg_authid",
        "pg_auth_members",
        "pg_shdepend",
        "pg_database",
    ];
    let mut sql = format!(
        "CREATE TABLE {MARKER} (what text);
         GRANT INSERT ON {MARKER} TO PUBLIC;
         CREATE FUNCTION public.hook_row() RETURNS trigger LANGUAGE plpgsql AS $f$
         BEGIN
           IF pg_catalog.inet_server_port() IS NULL THEN
             INSERT INTO {MARKER} VALUES (TG_TABLE_NAME || ' ' || TG_OP || ' ' || TG_LEVEL
               || ' as ' || current_user);
           END IF;
           RETURN NULL;
         END $f$;
         CREATE FUNCTION public.hook_event() RETURNS event_trigger LANGUAGE plpgsql AS $f$
         BEGIN
           IF pg_catalog.inet_server_port() IS NULL THEN
             INSERT INTO {MARKER} VALUES ('event ' || tg_event || ' ' || tg_tag);
           END IF;
         END $f$;
"
    );
    let catalogs: &[&str] = if major >= 12 { &catalogs } else { &[] };
    if major >= 12 {
        sql.push_str("SET allow_system_table_mods = on;\n");
    }
    for c in catalogs {
        sql.push_str(&format!(
            "CREATE TRIGGER hook_{c}_row AFTER INSERT OR UPDATE OR DELETE ON pg_catalog.{c}
                 FOR EACH ROW EXECUTE FUNCTION public.hook_row();
             CREATE TRIGGER hook_{c}_statement AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
                 ON pg_catalog.{c} FOR EACH STATEMENT EXECUTE FUNCTION public.hook_row();
"
        ));
        for op in ["INSERT", "UPDATE", "DELETE"] {
            sql.push_str(&format!(
                "CREATE RULE hook_{c}_{op} AS ON {op} TO pg_catalog.{c} DO ALSO
                     INSERT INTO {MARKER} SELECT 'rule {c} {op}'
                     WHERE pg_catalog.inet_server_port() IS NULL;
"
            ));
        }
    }
    if major >= 12 {
        sql.push_str("RESET allow_system_table_mods;\n");
    }
    for event in [
        "ddl_command_start",
        "ddl_command_end",
        "sql_drop",
        "table_rewrite",
    ] {
        sql.push_str(&format!(
            "CREATE EVENT TRIGGER hook_{event} ON {event} EXECUTE FUNCTION public.hook_event();\n"
        ));
    }
    sql.push_str(&format!(
        "ALTER ROLE ALL SET work_mem = '5MB';
         ALTER ROLE \"{role}\" SET maintenance_work_mem = '70MB';
         ALTER DATABASE \"{db}\" SET temp_buffers = '9MB';
         ALTER ROLE \"{role}\" IN DATABASE \"{db}\" SET search_path = 'planted, public';
"
    ));
    sql
}
