//! `--pitr-objects` (issue 66 item 4): what keeping Storage's objects costs the point-in-time
//! capture, against the floor of fetching the same objects with `rclone copy`.
//!
//! A database with Supabase's storage tables (buckets, objects with `metadata` jsonb) captured
//! by Offsite, its bucket on s3s-fs. Per run: `--pitr-objects-count` new objects of
//! `--pitr-objects-kib` KiB are written into the store and their rows inserted (as Supabase's
//! Storage API does), then one `offsite pitr run --once` is timed: it captures the rows and
//! fetches and keeps every object they name. Beside it, `rclone copy` of the same objects into a
//! fresh folder (4 transfers, its default): the floor of moving those bytes from that store on
//! this machine. Then the rows are all updated without changing their objects (`updated_at`):
//! the next pass must fetch nothing (kept versions are content-addressed and known by ETag).
//!
//! Reported: bytes fetched per changed byte (1.0: each new version once), the pass's wall time
//! against rclone's (ratio rclone / pass, the floor's share), and the files' RPO: a file is kept
//! by the pass that captures its row, so its RPO is the pass interval plus that pass's time.

use crate::measure::{run, Measured};
use crate::report::median;
use crate::storage_fixture::{self, Rng, S3sFs, S3sFsCmd};
use crate::Offsite;
use offsite_testkit::TestCluster;
use std::process::Command;
use std::time::Duration;

const DB: &str = "objects_bench";
const PROJECT: &str = "objects_bench";
const BUCKET: &str = "media";
/// The capture's pass interval (the daemon's and the agent's).
const EVERY_SECS: f64 = 5.0;

const SCHEMA: &str = "
CREATE SCHEMA storage;
CREATE TABLE storage.buckets (id text PRIMARY KEY, name text NOT NULL);
CREATE TABLE storage.objects (id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  bucket_id text REFERENCES storage.buckets(id), name text,
  created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now(), metadata jsonb);
CREATE UNIQUE INDEX bucketid_objname ON storage.objects (bucket_id, name);
INSERT INTO storage.buckets VALUES ('media', 'media');";

fn offsite(o: &Offsite, args: &[&str]) -> Command {
    let mut c = o.cmd();
    c.env("OFFSITE_S3_SECRET_ACCESS_KEY", storage_fixture::SECRET_KEY)
        .args(args);
    c
}

fn json(m: &Measured, what: &str) -> Result<serde_json::Value, String> {
    crate::json_of(m, what)
}

/// The commits are a second old (the cluster commits asynchronously; a pass reads what is
/// flushed).
fn settle_commits() {
    std::thread::sleep(Duration::from_millis(1300));
}

pub(crate) fn run_bench(
    o: &Offsite,
    pg: &TestCluster,
    runs: usize,
    count: usize,
    kib: u64,
) -> Result<(), String> {
    pg.try_psql("postgres", &format!("CREATE DATABASE {DB}"))?;
    pg.try_psql(DB, SCHEMA)?;
    let work = o.data_dir.parent().ok_or("no work folder")?.to_path_buf();
    let root = work.join("s3");
    std::fs::create_dir_all(root.join(BUCKET)).map_err(|e| e.to_string())?;
    let s3 = S3sFs::start(
        &S3sFsCmd {
            bin: storage_fixture::s3s_fs_path(),
            // As the storage bench: s3s-fs answers without TCP_NODELAY otherwise, and rclone's
            // small requests then wait on Nagle (85–105 s for 50 MiB): no floor.
            nodelay_shim: Some(storage_fixture::build_nodelay_shim(&work)),
        },
        &root,
        &work.join("s3s-fs.log"),
    );
    let endpoint = s3.endpoint();
    let url = o.url(DB);
    let setup: [&[&str]; 3] = [
        &[
            "project",
            "add",
            PROJECT,
            "--db",
            &url,
            "--s3-endpoint",
            &endpoint,
            "--s3-key-id",
            storage_fixture::ACCESS_KEY,
            "--buckets",
            BUCKET,
        ],
        &["pitr", "enable", PROJECT],
        &["backup", PROJECT, "--type", "full"],
    ];
    for args in setup {
        run(&mut offsite(o, args), None)?.check(&args.join(" "))?;
    }
    let rclone = storage_fixture::rclone_path();
    let mut rng = Rng::new(66);
    let mut buf = Vec::new();
    let size = kib << 10;
    let mut rows = Vec::new();
    println!(
        "| run | objects | bytes changed | bytes fetched | per changed byte | pass | rclone copy | rclone / pass | files' RPO (every {EVERY_SECS} s) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for n in 1..=runs {
        let mut values = Vec::new();
        for i in 0..count {
            let key = format!("r{n}/{i:05}.bin");
            storage_fixture::write_object(&root, BUCKET, &key, size, &mut rng, &mut buf);
            let etag = storage_fixture::listed_etag(&root, BUCKET, &key).ok_or("no etag")?;
            values.push(format!(
                "('{BUCKET}', '{key}', jsonb_build_object('eTag', '\"{etag}\"', 'size', {size}))"
            ));
        }
        pg.try_psql(
            DB,
            &format!(
                "INSERT INTO storage.objects (bucket_id, name, metadata) VALUES {}",
                values.join(",")
            ),
        )?;
        settle_commits();
        let m = run(&mut offsite(o, &["pitr", "run", PROJECT, "--once"]), None)?
            .check("pitr run --once")?;
        let v = json(&m, "pitr run --once")?;
        let kept = v["objects_kept"].as_u64().unwrap_or(0);
        let fetched = v["object_bytes"].as_u64().unwrap_or(0);
        if kept != count as u64 {
            return Err(format!("the pass kept {kept} of {count} objects: {v}"));
        }
        let dest = work.join(format!("rclone-{n}"));
        let conf = work.join("rclone.conf");
        // The bucket, filtered to this run's folder: `rclone copy :s3:BUCKET/r1` first HEADs
        // `r1` as an object, which s3s-fs answers with a 500 for a folder, and rclone's retries
        // of that took 90 s (not a floor).
        let mut c = storage_fixture::rclone_copy(&rclone, &conf, &endpoint, BUCKET, &dest);
        c.args(["--include", &format!("/r{n}/**")]);
        let r = run(&mut c, None)?.check("rclone copy")?;
        let changed = size * count as u64;
        let (pass, floor) = (m.wall.as_secs_f64(), r.wall.as_secs_f64());
        println!(
            "| {n} | {count} | {changed} | {fetched} | {:.2} | {pass:.2} s | {floor:.2} s | {:.2} | ≤ {:.1} s |",
            fetched as f64 / changed as f64,
            floor / pass,
            EVERY_SECS + pass
        );
        rows.push((pass, floor));
    }
    // Rows rewritten, objects unchanged: nothing to fetch.
    pg.try_psql(DB, "UPDATE storage.objects SET updated_at = now()")?;
    settle_commits();
    let m = run(&mut offsite(o, &["pitr", "run", PROJECT, "--once"]), None)?
        .check("pitr run --once")?;
    let v = json(&m, "pitr run --once (rows only)")?;
    println!(
        "\nevery row updated, no object changed: {} commit(s) captured, {} object(s) and {} bytes fetched, pass {:.2} s",
        v["commits"],
        v["objects_kept"],
        v["object_bytes"],
        m.wall.as_secs_f64()
    );
    let p = median(&rows.iter().map(|r| r.0).collect::<Vec<_>>());
    let f = median(&rows.iter().map(|r| r.1).collect::<Vec<_>>());
    println!(
        "median: pass {p:.2} s, rclone copy {f:.2} s, rclone / pass {:.2}",
        f / p
    );
    drop(s3);
    Ok(())
}
