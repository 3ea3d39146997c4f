//! `restore PROJECT --at TIME --to URL --as-role ROLE` (issue 62): the base is restored and the
//! captured changes replayed with ROLE's rights only, through a temporary login role that is a
//! member of ROLE alone (dropped afterwards), as `restore --as-role` restores (`--no-owner`:
//! the objects of the backup's owner are restored owned by ROLE); the result is the project as
//! it was at TIME, owned by ROLE. A ROLE with server powers is refused.

mod common;

use common::pg::{ok, ok_json, refused, run, server_now, wait_past};
use common::pitr::{project_with, sql};

#[test]
fn a_restore_to_a_time_as_a_role_replays_with_its_rights() {
    let db = "pitr_asrole";
    let (pg, data) = project_with(
        db,
        "CREATE TABLE public.orders (id serial PRIMARY KEY, note text);
         INSERT INTO public.orders (note) VALUES ('base');",
    );
    let d = data.path();
    ok(run(d, &pg, &["pitr", "enable", "shop"]), "pitr enable");
    sql(&pg, db, "INSERT INTO public.orders (note) VALUES ('after')");
    sql(
        &pg,
        db,
        "UPDATE public.orders SET note = 'changed' WHERE note = 'base'",
    );
    let at = server_now(&pg);
    // The window ends a second before the last pass (commits not yet flushed).
    wait_past(&pg, &at);
    ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");

    pg.psql("postgres", "CREATE ROLE asrole_restorer NOLOGIN");
    let target = "pitr_asrole_to";
    pg.create_db(target);
    pg.psql(
        "postgres",
        &format!("ALTER DATABASE {target} OWNER TO asrole_restorer"),
    );
    let done = ok_json(
        run(
            d,
            &pg,
            &[
                "--json",
                "restore",
                "shop",
                "--at",
                &at,
                "--to",
                &pg.url(target),
                "--as-role",
                "asrole_restorer",
                "--no-owner",
            ],
        ),
        "restore --at --as-role",
    );
    assert_eq!(done["replayed"]["commits"], 2, "{done}");
    assert_eq!(
        pg.psql(
            target,
            "SELECT string_agg(note, ',' ORDER BY id) FROM public.orders"
        )
        .trim(),
        "changed,after"
    );
    assert_eq!(
        pg.psql(
            target,
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = 'orders'"
        )
        .trim(),
        "asrole_restorer",
        "restored and replayed as the role"
    );
    assert_eq!(
        pg.psql(
            "postgres",
            "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'offsite_restore_%'"
        )
        .trim(),
        "0",
        "the temporary login role is dropped"
    );

    // A role with server powers is refused before anything is restored.
    pg.create_db("pitr_asrole_su");
    pg.psql("postgres", "CREATE ROLE asrole_super SUPERUSER NOLOGIN");
    refused(
        run(
            d,
            &pg,
            &[
                "restore",
                "shop",
                "--at",
                &at,
                "--to",
                &pg.url("pitr_asrole_su"),
                "--as-role",
                "asrole_super",
            ],
        ),
        "asrole_super holds SUPERUSER",
    );
    assert_eq!(
        pg.psql(
            "pitr_asrole_su",
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
        .trim(),
        "0"
    );
}
