//! A Supabase project's backup restored into a fresh Supabase project as its `postgres` role,
//! both built by Supabase's own init scripts and migrations (`offsite_testkit::SupabaseProject`).
//! What the platform owns stays as the fresh project has it, listed in the plan as kept; the
//! result is the source's schema except the privileges of `pg_catalog` functions and of schema
//! `public`, which stay the target's.

use crate::common::*;
use offsite_core::parity::{Evidence, PartVerdict};
use offsite_core::restore::{DatabaseOptions, DatabaseTo};
use offsite_core::{JobStart, RestoreRequest};
use offsite_testkit::supabase_project::POSTGRES_PASSWORD;
use offsite_testkit::SupabaseProject;

/// What the user adds to their project, as `postgres`: tables, a function, a trigger on the
/// platform's `auth.users`, rows in it.
const USERS_PART: &str = "
    CREATE TABLE public.profiles (id uuid PRIMARY KEY REFERENCES auth.users (id), name text NOT NULL);
    CREATE FUNCTION public.handle_new_user() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
      SET search_path = '' AS $$ BEGIN INSERT INTO public.profiles VALUES (NEW.id, coalesce(NEW.email, '?')); RETURN NEW; END $$;
    CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users
      FOR EACH ROW EXECUTE FUNCTION public.handle_new_user();
    INSERT INTO auth.users (instance_id, id, aud, role, email)
      SELECT '00000000-0000-0000-0000-000000000000', ('00000000-0000-0000-0000-00000000000' || i)::uuid,
             'authenticated', 'authenticated', 'u' || i || '@example.com'
        FROM generate_series(1, 5) AS i;
    ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;
    CREATE POLICY own_profile ON public.profiles FOR SELECT TO authenticated USING (id = auth.uid());
    GRANT SELECT ON public.profiles TO authenticated;
    CREATE FUNCTION extensions.my_helper(x int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT x + 1 $$;
    CREATE PUBLICATION profiles_feed FOR TABLE public.profiles;";

/// Database webhooks as the platform sets them up when a project turns them on: schema
/// `supabase_functions` (the platform's), its `hooks` table and the trigger function
/// `http_request(url, method, headers, params, timeout_ms)`. Written here after Supabase's
/// documentation, not copied: on the platform the function sends each row through pg_net,
/// which is not on the test machines, so this one only records the call in `hooks`. What a
/// backup, a restore and the parity report deal with — the schema, the table, the triggers on
/// the user's tables that call the function — is the same.
const WEBHOOKS_PLATFORM: &str = "
    CREATE SCHEMA supabase_functions AUTHORIZATION supabase_admin;
    GRANT USAGE ON SCHEMA supabase_functions TO postgres, anon, authenticated, service_role;
    CREATE TABLE supabase_functions.hooks (
      id bigserial PRIMARY KEY, hook_table_id integer NOT NULL, hook_name text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(), request_id bigint);
    CREATE FUNCTION supabase_functions.http_request() RETURNS trigger LANGUAGE plpgsql
      SECURITY DEFINER SET search_path = supabase_functions AS $$
      BEGIN
        INSERT INTO supabase_functions.hooks (hook_table_id, hook_name) VALUES (TG_RELID, TG_NAME);
        RETURN NEW;
      END $$;
    GRANT EXECUTE ON FUNCTION supabase_functions.http_request() TO postgres, anon, authenticated, service_role;
    GRANT ALL ON ALL TABLES IN SCHEMA supabase_functions TO postgres, anon, authenticated, service_role;
    GRANT ALL ON ALL SEQUENCES IN SCHEMA supabase_functions TO postgres, anon, authenticated, service_role;";

/// The user's webhook on their table, a pgmq queue with a message, a bucket with two objects'
/// rows and a policy on them, and a pg_cron job, as `postgres`.
const WEBHOOK_AND_QUEUE: &str = "
    INSERT INTO storage.buckets (id, name) VALUES ('avatars', 'avatars');
    INSERT INTO storage.objects (bucket_id, name, owner, metadata)
      SELECT 'avatars', 'u' || i || '.png', ('00000000-0000-0000-0000-00000000000' || i)::uuid,
             jsonb_build_object('eTag', '\"' || md5(i::text) || '\"', 'size', 100 + i)
        FROM generate_series(1, 2) AS i;
    CREATE POLICY own_avatar ON storage.objects FOR SELECT TO authenticated
      USING (bucket_id = 'avatars' AND owner = auth.uid());
    CREATE TRIGGER profile_created AFTER INSERT ON public.profiles FOR EACH ROW
      EXECUTE FUNCTION supabase_functions.http_request(
        'https://hooks.example.com/profile', 'POST', '{\"Content-Type\":\"application/json\"}', '{}', '1000');
    CREATE EXTENSION pgmq;
    SELECT pgmq.create('emails');
    SELECT pgmq.send('emails', '{\"to\": \"u1@example.com\"}');
    SELECT cron.schedule('nightly-profiles', '0 3 * * *', 'DELETE FROM public.profiles WHERE false');";

/// Every routine, event trigger and schema the platform owns, with its owner and privileges.
const PLATFORM_OBJECTS: &str = "
    SELECT string_agg(x, E'\\n' ORDER BY x) FROM (
      SELECT 'function ' || p.oid::regprocedure || ' ' || p.proowner::regrole || ' ' || coalesce(p.proacl::text, '-')
             || ' ' || md5(pg_get_functiondef(p.oid)) AS x
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE p.proowner <> 'postgres'::regrole AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      UNION ALL
      SELECT 'event trigger ' || evtname || ' ' || evtowner::regrole || ' ' || evtfoid::regprocedure FROM pg_event_trigger
      UNION ALL
      SELECT 'schema ' || nspname || ' ' || nspowner::regrole || ' ' || coalesce(nspacl::text, '-')
        FROM pg_namespace
       -- A session's temporary schemas stay listed once made (the restore stages pg_cron's
       -- jobs in a temporary table): the server's, not the platform's.
       WHERE nspname <> 'public' AND nspname !~ '^pg_(toast_)?temp_') s";

/// `pg_dump --schema-only` of the project as `supabase_admin`, without its random `\restrict`
/// key and without the sections the restore leaves as the target has them: the privileges of
/// `pg_catalog` functions and of schema `public`.
fn schema_of(p: &SupabaseProject) -> String {
    let out = p
        .cluster
        .command("pg_dump")
        .args(p.cluster.conn_args())
        .args(["--schema-only", "-d", "postgres"])
        .output()
        .expect("run pg_dump");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.split("\n--\n-- Name: ")
        .filter(|section| {
            let header = section.lines().next().unwrap_or("");
            let acl = header.contains("; Type: ACL;");
            !(acl
                && (header.contains("; Schema: pg_catalog;")
                    || header.starts_with("SCHEMA public;")))
        })
        .collect::<Vec<_>>()
        .join("\n--\n-- Name: ")
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `p` added as project `name` (its `postgres` URL) and backed up whole: the archive's path.
async fn back_up_project(env: &Env, name: &str, p: &SupabaseProject) -> String {
    env.engine
        .add_project(offsite_core::AddProject::url(name, p.postgres_url()))
        .await
        .unwrap();
    env.engine
        .backup(
            offsite_core::BackupOptions::project(name),
            JobStart::default(),
        )
        .await
        .unwrap()
        .backup
        .path
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_supabase_project_keeps_what_its_platform_owns_and_gets_the_sources_schema() {
    let src = SupabaseProject::start_with_pg_cron();
    src.psql(WEBHOOKS_PLATFORM);
    src.psql_as_postgres(USERS_PART);
    src.psql_as_postgres(WEBHOOK_AND_QUEUE);
    let env = env().await;
    let archive = back_up_project(&env, "supa_src", &src).await;

    // As a user would: replacing what the fresh project holds, and also with `--no-owner` (the
    // way past "postgres cannot act for supabase_admin" before the platform's objects were kept).
    for no_owner in [false, true] {
        restore_into_a_fresh_project(&env, &src, std::path::Path::new(&archive), no_owner).await;
    }
}

async fn restore_into_a_fresh_project(
    env: &Env,
    src: &SupabaseProject,
    archive: &std::path::Path,
    no_owner: bool,
) {
    let target = SupabaseProject::start_with_pg_cron();
    target.psql(WEBHOOKS_PLATFORM);
    let platform_before = target.psql(PLATFORM_OBJECTS);
    assert!(
        platform_before.contains("grant_pg_graphql_access() supabase_admin"),
        "{platform_before}"
    );
    let to = DatabaseTo::url_or_project(&target.postgres_url(), Some(POSTGRES_PASSWORD.into()));
    let req = RestoreRequest::new(archive, to).options(DatabaseOptions {
        replace: true,
        no_owner,
        ..Default::default()
    });
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert!(!plan.connecting_superuser);
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    assert!(plan.left_out.is_empty(), "{:?}", plan.left_out);
    // pg_dump's own privilege lines on the platform's functions are not calls: no consent asked.
    assert_eq!(plan.arbitrary_sql_total, 0, "{:?}", plan.arbitrary_sql);
    // The platform's routines in `extensions` (a schema `postgres` owns) are kept, and said so,
    // as are those the platform's event triggers run.
    for kept in [
        "extensions.grant_pg_graphql_access()",
        "extensions.pgrst_ddl_watch()",
        "extensions.set_graphql_placeholder()",
        "extensions.grant_pg_net_access()",
    ] {
        assert!(
            plan.will_keep.iter().any(|k| k.contains(kept)),
            "{kept} not kept: {:?}",
            plan.will_keep
        );
        assert!(
            !plan.will_replace.iter().any(|k| k.contains(kept)),
            "{kept} replaced: {:?}",
            plan.will_replace
        );
    }
    assert!(
        plan.platform_privileges
            .iter()
            .any(|p| p.starts_with("default privileges of supabase_admin in schema extensions")),
        "{:?}",
        plan.platform_privileges
    );
    assert!(
        !plan.will_drop.iter().any(|d| d.contains("event trigger")),
        "the platform's event triggers are dropped: {:?}",
        plan.will_drop
    );

    let out = env
        .engine
        .restore(req.clone(), JobStart::default())
        .await
        .unwrap();
    assert!(out.report.ok, "{:?}", out.report.database);
    // Less the schema of the backup's own pgmq extension, which the restore created.
    let platform_after: Vec<String> = target
        .psql(PLATFORM_OBJECTS)
        .lines()
        .filter(|l| !l.starts_with("schema pgmq postgres "))
        .map(str::to_string)
        .collect();
    assert_eq!(
        platform_after.join("\n"),
        platform_before,
        "what the platform owns is as the fresh project had it"
    );
    let (want, got) = (schema_of(src), schema_of(&target));
    assert!(want == got, "schema differs: {}", first_diff(&want, &got));
    assert_eq!(target.psql("SELECT count(*) FROM auth.users"), "5");
    assert_eq!(target.psql("SELECT count(*) FROM public.profiles"), "5");

    // The parity report (issue 66, item 3): every part the same, part by part.
    let parity = out
        .report
        .parity
        .clone()
        .expect("a whole database's restore has one");
    let verdict = |p: &offsite_core::parity::ParityReport, id: &str| {
        let part = p
            .parts
            .iter()
            .find(|x| x.part == id)
            .unwrap_or_else(|| panic!("no part {id}: {p:#?}"));
        (part.verdict, part.differences.clone())
    };
    assert!(parity.equal && parity.note.is_none(), "{parity:#?}");
    let triggers = parity
        .parts
        .iter()
        .find(|x| x.part == "webhooks" && x.evidence == Evidence::Objects)
        .unwrap_or_else(|| panic!("no census of the webhooks: {parity:#?}"));
    assert_eq!(
        (triggers.verdict, triggers.compared.as_str()),
        (PartVerdict::Equal, "1 item"),
        "{triggers:?}"
    );
    for id in [
        "auth-users",
        "storage-schema",
        "publications",
        "functions-triggers-policies",
        "webhooks",
        "pgmq",
        "pg-cron",
    ] {
        assert_eq!(
            verdict(&parity, id).0,
            PartVerdict::Equal,
            "{id}: {parity:#?}"
        );
    }
    let users = parity
        .parts
        .iter()
        .find(|p| p.part == "auth-users")
        .unwrap();
    assert!(users.compared.contains("5 rows"), "{users:?}");

    assert_eq!(
        target.psql("SELECT count(*) FROM pgmq.q_emails"),
        "1",
        "the queue's message came with it"
    );

    // Broken on purpose: a user's password hash, a policy, the publication's table, the
    // webhook, the queue.
    target.psql_as_postgres(
        "DROP POLICY own_profile ON public.profiles;
         ALTER PUBLICATION profiles_feed DROP TABLE public.profiles;
         DROP TRIGGER profile_created ON public.profiles;
         SELECT pgmq.drop_queue('emails');",
    );
    target.psql(
        "UPDATE auth.users SET encrypted_password = 'changed' \
         WHERE id = '00000000-0000-0000-0000-000000000001'",
    );
    let again = env.engine.restore_parity(&req).await.unwrap();
    assert!(!again.equal, "{again:#?}");
    let (v, d) = verdict(&again, "auth-users");
    assert_eq!(v, PartVerdict::Differs);
    assert!(d.iter().any(|x| x.contains("auth.users")), "{d:?}");
    let (v, d) = verdict(&again, "functions-triggers-policies");
    assert_eq!(v, PartVerdict::Differs);
    assert_eq!(
        d,
        ["missing in the target: policy public.profiles: own_profile"]
    );
    let (v, d) = verdict(&again, "publications");
    assert_eq!(v, PartVerdict::Differs);
    assert!(
        d.contains(&"missing in the target: profiles_feed: public.profiles".to_string())
            && d.contains(&"only in the target: profiles_feed".to_string()),
        "{d:?}"
    );
    assert_eq!(verdict(&again, "storage-schema").0, PartVerdict::Equal);
    // The bucket's object rows and their policy compare too: one row changed, the policy gone.
    target.psql(
        "UPDATE storage.objects SET metadata = metadata || '{\"size\": 1}' WHERE name = 'u1.png';
         DROP POLICY own_avatar ON storage.objects;",
    );
    let storage_parts: Vec<_> = env
        .engine
        .restore_parity(&req)
        .await
        .unwrap()
        .parts
        .into_iter()
        .filter(|p| p.part == "storage-schema")
        .collect();
    assert!(
        storage_parts
            .iter()
            .all(|p| p.verdict == PartVerdict::Differs),
        "{storage_parts:#?}"
    );
    let said: Vec<&String> = storage_parts.iter().flat_map(|p| &p.differences).collect();
    assert!(
        said.iter().any(|d| d.contains("storage.objects"))
            && said
                .iter()
                .any(|d| d.as_str() == "missing in the target: policy storage.objects: own_avatar"),
        "{said:?}"
    );
    // The webhooks' part is two lines: the hooks' rows (the same) and the triggers.
    let hooks = |p: &offsite_core::parity::ParityReport, evidence| {
        p.parts
            .iter()
            .find(|x| x.part == "webhooks" && x.evidence == evidence)
            .map(|x| (x.verdict, x.differences.clone()))
            .unwrap_or_else(|| panic!("no webhooks part of {evidence:?}: {p:#?}"))
    };
    assert_eq!(hooks(&again, Evidence::Rows).0, PartVerdict::Equal);
    assert_eq!(
        hooks(&again, Evidence::Objects),
        (
            PartVerdict::Differs,
            vec!["missing in the target: trigger public.profiles: profile_created".to_string()]
        )
    );
    assert_eq!(
        verdict(&again, "pgmq"),
        (
            PartVerdict::Differs,
            vec!["missing in the target: emails".to_string()]
        )
    );
}

/// The jobs of a project's pg_cron, as `cron.job` lists them.
const CRON_JOBS: &str =
    "SELECT string_agg(jobname || ' | ' || schedule || ' | ' || command || ' | ' \
     || username || ' | ' || database || ' | ' || active, E'\\n' ORDER BY jobname) FROM cron.job";

/// pg_cron's jobs move into a fresh project, where `postgres` may only read `cron.job` (the
/// platform's event trigger revoked its writes when the extension was enabled): the restore
/// schedules them there through pg_cron's own functions, replacing the target's jobs, and the
/// parity report compares them job by job.
#[tokio::test(flavor = "multi_thread")]
async fn cron_jobs_move_into_a_fresh_supabase_project() {
    let src = SupabaseProject::start_with_pg_cron();
    src.psql_as_postgres(
        "CREATE TABLE public.sessions (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT now());
         SELECT cron.schedule('nightly-cleanup', '0 3 * * *',
                              $$DELETE FROM public.sessions WHERE at < now() - interval '7 days'$$);
         SELECT cron.schedule('paused', '*/5 * * * *', 'SELECT 1');
         SELECT cron.alter_job(jobid, active := false) FROM cron.job WHERE jobname = 'paused';",
    );
    let want = src.psql(CRON_JOBS);
    assert_eq!(want.lines().count(), 2, "{want}");
    let env = env().await;
    let archive = back_up_project(&env, "cron_src", &src).await;

    let target = SupabaseProject::start_with_pg_cron();
    target.psql_as_postgres("SELECT cron.schedule('targets-own', '0 1 * * *', 'SELECT 2');");
    assert_eq!(
        target.psql_as_postgres("SELECT has_table_privilege('cron.job', 'INSERT')"),
        "f",
        "the fixture's postgres may not write cron.job, as on the platform"
    );
    let to = DatabaseTo::url_or_project(&target.postgres_url(), Some(POSTGRES_PASSWORD.into()));
    let req = RestoreRequest::new(std::path::Path::new(&archive), to).options(DatabaseOptions {
        replace: true,
        ..Default::default()
    });
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    assert!(
        plan.warnings.iter().any(|w| w.starts_with(
            "pg_cron's jobs are scheduled again through pg_cron's functions, as postgres"
        )),
        "{:?}",
        plan.warnings
    );
    let out = env
        .engine
        .restore(req.clone(), JobStart::default())
        .await
        .unwrap();
    assert!(out.report.ok, "{:?}", out.report.database);
    assert_eq!(target.psql(CRON_JOBS), want);
    let parity = out.report.parity.clone().expect("a parity report");
    let cron = parity
        .parts
        .iter()
        .find(|p| p.part == "pg-cron")
        .unwrap_or_else(|| panic!("no pg-cron part: {parity:#?}"));
    assert_eq!(cron.verdict, PartVerdict::Equal, "{cron:?}");
    assert!(parity.equal, "{parity:#?}");

    // Broken on purpose: a job unscheduled, the paused one turned on.
    target.psql_as_postgres(
        "SELECT cron.unschedule('nightly-cleanup');
         SELECT cron.alter_job(jobid, active := true) FROM cron.job WHERE jobname = 'paused';",
    );
    let again = env.engine.restore_parity(&req).await.unwrap();
    let cron = again.parts.iter().find(|p| p.part == "pg-cron").unwrap();
    assert_eq!(cron.verdict, PartVerdict::Differs, "{cron:?}");
    assert!(
        cron.differences
            .iter()
            .any(|d| d.contains("nightly-cleanup"))
            && cron.differences.iter().any(|d| d.contains("paused")),
        "{:?}",
        cron.differences
    );
}
